"""Closed forms and the public API of :mod:`toyrd.quantities` (DESIGN §2).

Closed forms are exact to ``IDENTITY_TOL`` (float64 sums of a few terms). Every per-quantity
function is checked against :func:`toyrd.evaluate` on random models, and the distributions it
returns against their definitions.
"""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import toyrd
import toyrd.quantities._info
from toyrd.testing import IDENTITY_TOL, assert_identity, distributions, models, seeds, true_joints


def _binary_entropy(p):
    return -sum(a * math.log(a) for a in (p, 1 - p) if a > 0)


# ----------------------------------------------------------------------------- closed forms


def test_fair_coin_has_entropy_log2():
    """H(½, ½) = log 2 nats = 1 bit."""
    coin = np.array([0.5, 0.5])
    assert_identity(toyrd.data_entropy(coin), math.log(2))
    assert_identity(toyrd.entropy(coin, base=2), 1.0)
    assert toyrd.entropy(np.array([1.0, 0.0])) == 0.0  # 0·log 0 = 0


@given(distributions())
def test_identity_encoder_transmits_everything(px):
    """e = identity (z = x): I_e = H; with m* = p*, d* = identity: R = H, D = 0 (paper §2)."""
    eye = np.eye(len(px))
    out = toyrd.evaluate(px, eye, eye, px)
    assert_identity(out["I_e"], out["H"], what="I_e = H")
    assert_identity(out["R"], out["H"], what="R = H")
    assert out["D"] == 0.0
    assert_identity(out["I_d"], out["H"], what="I_d = H")


@given(distributions(), st.integers(1, 40), seeds())
def test_deterministic_encoder_keeps_the_entropy_of_its_image(px, n_z, seed):
    """A deterministic e(z|x) = [z = f(x)] gives I_e = H(f(X)) (I_e = H − H(X|Z), H(Z|X) = 0)."""
    f = np.random.default_rng(seed).integers(0, n_z, size=len(px))
    enc = np.eye(n_z)[f]
    image = np.bincount(f, weights=px, minlength=n_z)
    assert_identity(toyrd.representational_mi(px, enc), toyrd.entropy(image / image.sum()))


@given(models(sparse=False), st.data())
def test_collapsed_encoder_carries_nothing(m, data):
    """e(z|x) = m(z) for every x: I_e = 0 and R = 0; with d* = p*, D = H and ELBO = −H,
    an optimum of the ELBO (paper §2, the autodecoding limit)."""
    mar = data.draw(distributions(len(m.marginal)), label="m")
    enc = np.tile(mar, (len(m.px), 1))
    dec = np.tile(m.px, (len(mar), 1))
    out = toyrd.evaluate(m.px, enc, dec, mar)
    assert abs(out["I_e"]) <= IDENTITY_TOL
    assert abs(out["R"]) <= IDENTITY_TOL
    assert_identity(out["D"], out["H"], what="D = H")
    assert_identity(out["ELBO"], -out["H"], what="ELBO = -H")
    assert abs(out["kl_pstar_g"]) <= IDENTITY_TOL


@pytest.mark.parametrize("eps", [0.0, 1e-9, 0.01, 0.1, 0.25, 0.5, 0.75, 1.0])
def test_binary_symmetric_channel(eps):
    """Uniform bit through a BSC with flip probability ε: I = log 2 − h(ε) (Cover & Thomas
    7.1.4)."""
    px = np.array([0.5, 0.5])
    bsc = np.array([[1 - eps, eps], [eps, 1 - eps]])
    expected = math.log(2) - _binary_entropy(eps)
    assert_identity(toyrd.representational_mi(px, bsc), expected)
    assert_identity(toyrd.generative_mi(bsc, px), expected)  # the channel read backwards
    assert_identity(toyrd.mutual_information(0.5 * bsc), expected)


def test_kl_closed_form_and_infinity():
    """KL(Bern(p) ‖ Bern(q)) = p log(p/q) + (1−p) log((1−p)/(1−q)); +inf when q misses p."""
    p, q = 0.3, 0.6
    expected = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    assert_identity(toyrd.kl([p, 1 - p], [q, 1 - q]), expected)
    assert toyrd.kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert toyrd.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), abs=IDENTITY_TOL)


@given(st.data())
def test_mutual_information_is_symmetric_and_bounded(data):
    """I(A;B) = I(B;A) ≤ min(H(A), H(B)) for any joint table."""
    n_a = data.draw(st.integers(1, 8), label="n_a")
    n_b = data.draw(st.integers(1, 5), label="n_b")
    joint = data.draw(distributions(n_a * n_b), label="joint").reshape(n_a, n_b)
    i = toyrd.mutual_information(joint)
    assert_identity(i, toyrd.mutual_information(joint.T))
    assert i <= min(toyrd.entropy(joint.sum(1)), toyrd.entropy(joint.sum(0))) + IDENTITY_TOL


# ----------------------------------------------------------------------------- the API


@given(models(), st.data())
def test_each_function_agrees_with_evaluate(m, data):
    """The one-quantity functions return exactly what ``evaluate`` reports."""
    pzx = data.draw(true_joints(m.px), label="pzx")
    out = toyrd.evaluate(*m, pzx=pzx)
    px, e, d, mar = m
    pairs = {
        "H": toyrd.data_entropy(px),
        "D": toyrd.distortion(px, e, d),
        "R": toyrd.rate(px, e, mar),
        "ELBO": toyrd.elbo(px, e, d, mar),
        "I_e": toyrd.representational_mi(px, e),
        "I_d": toyrd.generative_mi(d, mar),
        "E": toyrd.generative_bound_e(e, d, mar),
        "G": toyrd.generative_bound_g(d, mar, px),
        "U": toyrd.reparam_u(px, e, d),
        "S": toyrd.reparam_s(px),
        "I_zstar": toyrd.latent_information(pzx, e),
        "kl_q_m": toyrd.kl(toyrd.aggregate_posterior(px, e), mar),
        "kl_pstar_g": toyrd.kl(px, toyrd.generative_marginal(d, mar)),
    }
    for k, v in pairs.items():
        assert_identity(v, out[k], what=k)
    assert toyrd.reparam_s(px) == 0.0  # default r = p*


@given(models())
def test_distributions_match_their_definitions(m):
    """q = p* e, g = m d, d̄ = q d, channel = e d, p_e(x|z) = p_e(x,z)/q(z), p_d(z|x) = p_d/g;
    every conditional row-stochastic; undefined rows (q = 0, g = 0) set to p*, m."""
    px, e, d, mar = m
    out = toyrd.evaluate(*m, distributions=True)
    tol = 1e-14
    q, g = out["q"], out["g"]
    np.testing.assert_allclose(q, np.einsum("x,xz->z", px, e), rtol=0, atol=tol)
    np.testing.assert_allclose(g, np.einsum("z,zx->x", mar, d), rtol=0, atol=tol)
    np.testing.assert_allclose(
        out["dbar"], toyrd.reconstruction_distribution(px, e, d), rtol=0, atol=tol
    )
    np.testing.assert_allclose(out["dbar"], px @ out["recon_channel"], rtol=0, atol=tol)
    np.testing.assert_allclose(
        out["recon_channel"], toyrd.reconstruction_channel(e, d), rtol=0, atol=0
    )
    for name in ("recon_channel", "bayes_posterior", "model_posterior"):
        np.testing.assert_allclose(out[name].sum(1), 1.0, rtol=0, atol=1e-13, err_msg=name)
    pe_t = (px[:, None] * e).T  # (n_z, n_x)
    want = np.where(q[:, None] > 0, pe_t / np.where(q > 0, q, 1.0)[:, None], px[None, :])
    np.testing.assert_allclose(out["bayes_posterior"], want, rtol=1e-13, atol=0)
    pd_t = (mar[:, None] * d).T  # (n_x, n_z)
    want = np.where(g[:, None] > 0, pd_t / np.where(g > 0, g, 1.0)[:, None], mar[None, :])
    np.testing.assert_allclose(out["model_posterior"], want, rtol=1e-13, atol=0)
    assert all(isinstance(out[k], float) for k in toyrd.QUANTITY_NAMES if k in out)


def test_generative_bound_g_needs_r_outside_evaluate():
    """G's reference density is explicit in the one-quantity function (toyrd's default r = p*)."""
    with pytest.raises(toyrd.TableError, match=r"^r: required"):
        toyrd.generative_bound_g(np.eye(2), [0.5, 0.5])


def test_pzx_must_match_px():
    """I(z; z*) needs a joint p(z*, x) whose x-marginal is p*."""
    px = np.array([0.5, 0.5])
    with pytest.raises(toyrd.TableError, match=r"pzx: its column sums .* differ from px"):
        toyrd.evaluate(px, np.eye(2), np.eye(2), px, pzx=[[0.3, 0.2], [0.3, 0.2]])
    with pytest.raises(toyrd.TableError, match=r"pzx: has 3 columns, expected n_x = 2"):
        toyrd.evaluate(px, np.eye(2), np.eye(2), px, pzx=np.full((2, 3), 1 / 6))
    with pytest.raises(toyrd.TableError, match=r"pzx: expected a table \(rank 2\), got rank 1"):
        toyrd.evaluate(px, np.eye(2), np.eye(2), px, pzx=px)


def test_formulas_agree_across_backends():
    """toyrd._formulas is the one implementation for numpy, jax.numpy and torch: on seeded
    sparse models (sizes 1–40, exact zeros, D and R possibly +inf) the three give the same
    values (float64, to IDENTITY_TOL) and the same infinities. Few distinct shapes, because
    eager jax compiles every primitive once per shape."""
    import jax
    import jax.numpy as jnp
    import torch

    from toyrd import _formulas as F
    from toyrd.testing import simplex_rows

    rng = np.random.default_rng(20180213)
    with jax.enable_x64(True):
        for (n_x, n_z), zf in zip([(1, 1), (7, 3), (40, 40), (40, 40)], [0.0, 0.5, 0.0, 0.7]):
            px = simplex_rows(rng, 1, n_x, zero_frac=zf)[0]
            e, d = (
                simplex_rows(rng, n_x, n_z, zero_frac=zf),
                simplex_rows(rng, n_z, n_x, zero_frac=zf),
            )
            m = simplex_rows(rng, 1, n_z, zero_frac=zf)[0]
            calls = {
                "R, D": lambda px, e, d, m: F.rate_distortion(px, e, d, m),
                "D": lambda px, e, d, m: F.distortion(px, e, d),
                "R": lambda px, e, d, m: F.rate(px, e, m),
                "I_e": lambda px, e, d, m: F.mutual_information(F.encoder_joint(px, e)),
                "I_d": lambda px, e, d, m: F.mutual_information(F.generative_joint(d, m)),
                "E": lambda px, e, d, m: F.generative_bound_e(e, d, m),
                "G": lambda px, e, d, m: F.generative_bound_g(d, m, px),
                "U": lambda px, e, d, m: F.reparam_u(px, e, d, px),
                "H": lambda px, e, d, m: F.entropy(px),
                "KL(q||m)": lambda px, e, d, m: F.kl(px @ e, m),
            }
            for name, f in calls.items():
                want = np.atleast_1d(np.asarray(f(px, e, d, m), dtype=np.float64))
                for backend, conv in (("jax", jnp.asarray), ("torch", torch.from_numpy)):
                    got = f(*(conv(a) for a in (px, e, d, m)))
                    got = got if isinstance(got, tuple) else (got,)
                    assert len(got) == len(want)
                    for w, g in zip(want, got):
                        assert_identity(float(g), w, what=f"{name} ({backend})")


def test_module_docstrings_run():
    """The examples in toyrd.quantities's docstrings are true."""
    result = doctest.testmod(toyrd.quantities._info, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_reference_density_of_the_wrong_length_is_named():
    """evaluate(r=…) with an r over other states than p*: one TableError with both sizes (a
    mutant of this message survived tools/mutate.py)."""
    px, e, m = np.array([0.5, 0.5]), np.eye(2), np.array([0.5, 0.5])
    with pytest.raises(toyrd.TableError, match=r"^r: has 3 entries, expected n_x = 2$"):
        toyrd.evaluate(px, e, np.eye(2), m, r=[0.2, 0.3, 0.5])


@given(models(sparse=True), st.booleans(), st.booleans())
def test_numpy_quantities_are_the_generic_formulas(m, other_ref, with_pzx):
    """evaluate's numpy path (few calls: two small matrix products for the vector sums, the
    rows' normalisation in I_e and I_d) gives every quantity of the named formulas, on sparse
    models where 0 meets log 0 and R, D, E, G or a KL may be +inf; with r ≠ p* and with p(z*, x)."""
    from toyrd import _formulas as F

    ref = m.px
    if other_ref:
        ref = np.full(m.px.shape, 1.0 / m.px.size)
    pzx = None
    if with_pzx:
        split = np.linspace(0.0, 1.0, m.px.size)
        pzx = np.stack([m.px * split, m.px * (1.0 - split)])
    with np.errstate(divide="ignore", invalid="ignore"):
        want = F._quantities_generic(m.px, m.encoder, m.decoder, m.marginal, ref, pzx)
    got = F.quantities(m.px, m.encoder, m.decoder, m.marginal, ref, pzx)
    assert set(got) == set(want)
    for key in want:
        assert_identity(got[key], want[key], what=key)


def test_evaluate_returns_python_floats_also_where_zero_meets_log_zero():
    """Every scalar of evaluate is a plain Python float, on dense tables and on one-hot tables
    where the numpy path redoes its sums elementwise (0 · log 0)."""
    toy = toyrd.toy_data()
    n = toy.px.size
    for e in (np.full((n, n), 1.0 / n), np.eye(n)):
        out = toyrd.evaluate(toy.px, e, np.eye(n), toy.px, pzx=toy.pzx)
        assert all(type(out[k]) is float for k in out), {k: type(v) for k, v in out.items()}


def test_evaluate_in_bits_divides_every_quantity_by_log_2():
    """base=2: each quantity is the nats value / ln 2 (the default base=None stays in nats)."""
    toy = toyrd.toy_data()
    n = toy.px.size
    e = np.full((n, n), 1.0 / n)
    e[:, 0] += 0.5 / n
    e /= e.sum(1, keepdims=True)
    nats = toyrd.evaluate(toy.px, e, np.eye(n), toy.px, pzx=toy.pzx)
    bits = toyrd.evaluate(toy.px, e, np.eye(n), toy.px, pzx=toy.pzx, base=2)
    assert set(bits) == set(nats)
    for k in nats:
        assert_identity(bits[k], nats[k] / math.log(2), what=k)
    assert bits["H"] != nats["H"]


def test_true_joint_columns_near_the_tolerance_are_accepted_and_beyond_it_refused():
    """pzx's column sums may differ from px by up to SUM_TOL each: many columns off by 0.8·SUM_TOL
    (past the fast path's 2-norm test, inside the rule) are accepted as given; one column off by
    3·SUM_TOL is refused, naming the column."""
    from toyrd import SUM_TOL
    from toyrd.quantities import check_true_joint

    px = np.full(10, 0.1)
    pzx = np.stack([px * 0.3, px * 0.7])
    near = pzx.copy()
    near[0, :5] += 0.8 * SUM_TOL
    near[0, 5:] -= 0.8 * SUM_TOL  # the total stays 1: only the column sums move
    np.testing.assert_array_equal(check_true_joint(near, px), near)
    far = pzx.copy()
    far[0, 3] += 3 * SUM_TOL
    far[0, np.arange(10) != 3] -= 3 * SUM_TOL / 9  # the total stays 1, the others stay inside
    with pytest.raises(toyrd.TableError, match=r"^pzx: its column sums .* \(column 3: "):
        check_true_joint(far, px)


@pytest.mark.parametrize(
    "base", [0, 0.0, 1, 1.0, -2, -0.5, math.inf, math.nan, True, False, np.True_, "2", [2]]
)
def test_check_base_refuses_each_boundary(base):
    """A base must be a finite real number > 0 other than 1: 0, 1, negatives, inf, NaN, bools
    (True == 1 and False == 0 are not numbers here) and non-numbers are one ToyrdError."""
    with pytest.raises(toyrd.ToyrdError, match=r"^base: .*expected None \(nats\) or a finite"):
        toyrd.quantities.check_base(base)
    with pytest.raises(toyrd.ToyrdError, match=r"^base: "):
        toyrd.entropy([0.5, 0.5], base=base)


@pytest.mark.parametrize("base", [0.5, 1.5, 2, np.int64(10), np.float32(2.0), math.e])
def test_check_base_accepts_every_other_positive_base(base):
    """Bases in (0, 1) are allowed too (logarithms to them are negative): H in base b is
    H / log b, so a fair coin has -1 'bits' in base 1/2."""
    assert toyrd.quantities.check_base(base) == float(base)
    assert_identity(toyrd.entropy([0.5, 0.5], base=base), math.log(2) / math.log(float(base)))
    assert toyrd.quantities.check_base(None) is None


def test_size_mismatches_name_both_sizes():
    """kl, generative_bound_g and latent_information name the two sizes that disagree (with
    non-square tables, so rows and columns cannot be confused)."""
    with pytest.raises(toyrd.TableError, match=r"^q: has 3 entries, expected 2 to match p$"):
        toyrd.kl([0.5, 0.5], [0.2, 0.3, 0.5])
    d = np.full((2, 3), 1 / 3)  # n_z = 2, n_x = 3
    with pytest.raises(toyrd.TableError, match=r"^r: has 4 entries, expected n_x = 3$"):
        toyrd.generative_bound_g(d, [0.5, 0.5], r=np.full(4, 0.25))
    e = np.full((4, 5), 1 / 5)  # n_x = 4, n_z = 5
    with pytest.raises(
        toyrd.TableError, match=r"^pzx: has 3 columns, expected n_x = 4 to match the encoder$"
    ):
        toyrd.latent_information(np.full((2, 3), 1 / 6), e)


def test_true_joint_column_exactly_sum_tol_off_is_accepted():
    """The rule refuses column sums that differ from px by *more* than SUM_TOL: a column of mass
    exactly SUM_TOL where p*(x) = 0 (a gap of exactly 1e-10, representable because px is 0
    there; the other columns give that mass back) is accepted; twice that is refused."""
    from toyrd import SUM_TOL
    from toyrd.quantities import check_true_joint

    px = np.array([0.5, 0.5, 0.0])
    half = 0.25 - SUM_TOL / 2  # the other columns give the mass back, half of it each
    pzx = np.array([[0.25, 0.25, SUM_TOL], [half, half, 0.0]])
    assert abs(pzx.sum(0)[2] - px[2]) == SUM_TOL
    np.testing.assert_array_equal(check_true_joint(pzx, px), pzx)
    pzx[0, 2], pzx[1, :2] = 2 * SUM_TOL, 0.25 - SUM_TOL
    with pytest.raises(toyrd.TableError, match=r"^pzx: its column sums .* \(column 2: "):
        check_true_joint(pzx, px)


#: One kind of zero at a time, so exactly one of the numpy fast path's dot products meets
#: 0 · log 0 (a NaN) while the others stay finite or -inf: each must still send evaluate to the
#: elementwise redo. (q(z) and g(x) stay positive in all three.)
_ONE_ZERO = {
    "encoder": (  # e(z|x) = 0 once: only Σ p_e log e is NaN (Σ p_d log e is -inf: E = -inf)
        np.array([[0.7, 0.3], [0.0, 1.0], [0.5, 0.5]]),
        np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        np.array([0.4, 0.6]),
    ),
    "decoder": (  # d(x|z) = 0 once, where p_e > 0: only Σ p_d log d is NaN (D = +inf)
        np.array([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]]),
        np.array([[0.2, 0.8, 0.0], [0.6, 0.3, 0.1]]),
        np.array([0.4, 0.6]),
    ),
    "marginal": (  # m(z) = 0 once: only Σ m log m is NaN (R = +inf)
        np.array([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]]),
        np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        np.array([0.0, 1.0]),
    ),
}


@pytest.mark.parametrize("which", sorted(_ONE_ZERO))
def test_a_single_zero_gives_the_definitions_not_nan(which):
    """A zero in one table only (encoder, decoder or marginal): every quantity of evaluate equals
    the loop reference of the definitions (0 · log 0 = 0), infinities included, no NaN."""
    import reference  # tests/reference.py

    px = np.array([0.2, 0.3, 0.5])
    e, d, m = _ONE_ZERO[which]
    got = toyrd.evaluate(px, e, d, m)
    want = reference.evaluate(px, e, d, m)
    for key, value in want.items():
        assert_identity(got[key], value, what=f"{which}: {key}")
