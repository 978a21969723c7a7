"""Hypothesis properties: every identity of DESIGN §2 on random finite models.

Models come from :func:`toyrd.testing.models`: sizes 1–40, dense or sparse tables with exact
zeros, supports either compatible (D, R finite) or arbitrary (D, R may be +inf). Identities are
asserted with :func:`toyrd.testing.assert_identity` at ``IDENTITY_TOL`` = 1e-12 relative to
max(1, |value|) (justified in :mod:`toyrd.testing`). The extra divergence terms on the right-hand
sides are computed here with ``scipy.special.rel_entr`` straight from the tables, not through
``toyrd._formulas``, so the checks are not circular.
"""

import math

import numpy as np
import reference  # tests/reference.py (pytest puts tests/ on sys.path)
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import rel_entr

import toyrd
from toyrd.testing import (
    IDENTITY_TOL,
    assert_identity,
    assert_leq,
    distributions,
    models,
    seeds,
    true_joints,
)

TINY = toyrd.testing.ModelTables(
    np.array([1.0]), np.array([[1.0]]), np.array([[1.0]]), np.array([1.0])
)
# p*(x=0) = 0 and the decoder puts all mass on x = 0: D = +inf, g misses x = 1 (found by
# Hypothesis).
MISSED = toyrd.testing.ModelTables(
    np.array([0.0, 1.0]), np.array([[1.0], [1.0]]), np.array([[1.0, 0.0]]), np.array([1.0])
)


def _kl(p, q):
    return float(rel_entr(p, q).sum())


def _expected_decoder_kl(m):
    """Σ_z q(z) KL(p_e(·|z) ‖ d(·|z)) = Σ_{x,z} p_e(x,z) log[p_e(x,z) / (q(z) d(x|z))]."""
    pe = m.px[:, None] * m.encoder
    q = pe.sum(0)
    return float(rel_entr(pe, q[None, :] * m.decoder.T).sum())


@given(models())
@example(TINY)
def test_rate_is_information_plus_marginal_mismatch(m):
    """R = I_e + KL(q ‖ m) (Appendix D.2–D.3; the gap of the upper bound in eq. 2)."""
    out = toyrd.evaluate(*m)
    q = m.px @ m.encoder
    assert_identity(out["R"], out["I_e"] + _kl(q, m.marginal), what="R = I_e + KL(q||m)")
    assert_identity(out["kl_q_m"], _kl(q, m.marginal), what="kl_q_m")


@given(models())
@example(TINY)
@example(MISSED)
def test_distortion_is_conditional_entropy_plus_decoder_mismatch(m):
    """D = (H − I_e) + Σ_z q(z) KL(p_e(·|z) ‖ d(·|z)) (Appendix D.1, D.4; eq. 2's lower bound)."""
    out = toyrd.evaluate(*m)
    assert_identity(out["D"], out["H"] - out["I_e"] + _expected_decoder_kl(m), what="D split")


@given(models())
def test_eq2_sandwich(m):
    """H − D ≤ I_e ≤ R (paper eq. 2), with 0 ≤ I_e ≤ min(H, log n_z)."""
    out = toyrd.evaluate(*m)
    assert_leq(out["H"] - out["D"], out["I_e"], what="H - D <= I_e")
    assert_leq(out["I_e"], out["R"], what="I_e <= R")
    assert_leq(-IDENTITY_TOL, out["I_e"], what="I_e >= 0")
    assert_leq(
        out["I_e"], min(out["H"], math.log(m.encoder.shape[1])), what="I_e <= min(H, log n_z)"
    )
    assert_leq(out["H"], math.log(len(m.px)), what="H <= log n_x")


@given(models())
@example(MISSED)
def test_negative_elbo_decomposes_and_exceeds_entropy(m):
    """−ELBO = H + KL(q‖m) + E_q KL(p_e(·|z)‖d(·|z)) ≥ H (ELBO = −(D + R), Section 2; eq. 2)."""
    out = toyrd.evaluate(*m)
    q = m.px @ m.encoder
    rhs = out["H"] + _kl(q, m.marginal) + _expected_decoder_kl(m)
    assert_identity(-out["ELBO"], rhs, what="-ELBO decomposition")
    assert_identity(out["ELBO"], -(out["D"] + out["R"]), what="ELBO = -(D + R)")
    assert_leq(out["H"], -out["ELBO"], what="-ELBO >= H")


@given(models(), st.data())
@example(MISSED, None)
def test_generative_sandwich_and_gap(m, data):
    """E ≤ I_d ≤ G (eqs. 9–11) and G = I_d + KL(g ‖ r) (Appendix D.6), for r = p* and a random r."""
    out = toyrd.evaluate(*m)
    g = m.marginal @ m.decoder
    assert_leq(out["E"], out["I_d"], what="E <= I_d")
    assert_leq(out["I_d"], out["G"], what="I_d <= G")
    assert_identity(out["G"], out["I_d"] + _kl(g, m.px), what="G = I_d + KL(g||p*)")
    if data is not None:
        r = data.draw(distributions(len(m.px)), label="r")
        G = toyrd.generative_bound_g(m.decoder, m.marginal, r)
        assert_leq(out["I_d"], G, what="I_d <= G(r)")
        assert_identity(G, out["I_d"] + _kl(g, r), what="G(r) = I_d + KL(g||r)")


@given(models(), st.data())
def test_reparametrised_bound_eq15(m, data):
    """U − S = H − D (paper eq. 15), for r = p* and for a random r > 0 (U, S need r > 0 on p*)."""
    out = toyrd.evaluate(*m)
    assert_identity(out["U"] - out["S"], out["H"] - out["D"], what="U - S = H - D")
    r = data.draw(distributions(len(m.px), sparse=False), label="r")
    out_r = toyrd.evaluate(*m, r=r)
    assert_identity(out_r["U"] - out_r["S"], out["H"] - out["D"], what="U(r) - S(r) = H - D")
    assert_identity(out_r["S"], _kl(m.px, r), what="S = KL(p*||r)")


@given(models())
@example(MISSED)
def test_elbo_below_log_likelihood(m):
    """ELBO ≤ Σ_x p*(x) log g(x) (the evidence lower bound, Section 1; Jensen per x), with
    equality at the model posterior e = p_d(z|x)."""
    out = toyrd.evaluate(*m)
    g = m.marginal @ m.decoder
    loglik = -_kl(m.px, g) - out["H"]  # Σ p* log g = −H − KL(p*‖g)
    assert_leq(out["ELBO"], loglik, what="ELBO <= sum p* log g")
    assert_identity(out["kl_pstar_g"], _kl(m.px, g), what="kl_pstar_g")
    if math.isfinite(loglik):
        # EM's E-step e(z|x) = p_d(z|x) closes the bound: ELBO = Σ p* log g.
        tight = toyrd.evaluate(m.px, toyrd.e_step(m.decoder, m.marginal), m.decoder, m.marginal)
        assert_identity(tight["ELBO"], loglik, what="ELBO at the model posterior")


@given(models(support="any"))
@example(MISSED)
def test_required_log_zero_gives_inf_never_nan(m):
    """D = +inf iff d(x|z) = 0 where p_e(x,z) > 0; R = +inf iff m(z) = 0 where q(z) > 0 (DESIGN §2);
    E = −inf iff e(z|x) = 0 where p_d(x,z) > 0; no quantity is ever NaN."""
    out = toyrd.evaluate(*m)
    assert not any(np.isnan(v) for v in out.values()), out
    pe = m.px[:, None] * m.encoder
    pd = (m.marginal[:, None] * m.decoder).T
    assert (out["D"] == math.inf) == bool(np.any((pe > 0) & (m.decoder.T == 0)))
    assert (out["R"] == math.inf) == bool(np.any((pe.sum(0) > 0) & (m.marginal == 0)))
    assert (out["E"] == -math.inf) == bool(np.any((pd > 0) & (m.encoder == 0)))
    assert (out["ELBO"] == -math.inf) == (out["D"] == math.inf or out["R"] == math.inf)
    for k in ("D", "R", "ELBO", "E"):
        assert math.isfinite(out[k]) or abs(out[k]) == math.inf


@given(models(), st.data())
def test_evaluate_matches_loop_reference(m, data):
    """Every scalar of ``evaluate`` equals the independent loop reference (tests/reference.py),
    which sums the definitions (paper eqs. 1, 3–5, 8–10, 13–14; DESIGN §2) term by term."""
    pzx = data.draw(true_joints(m.px), label="pzx")
    out = toyrd.evaluate(*m, pzx=pzx)
    ref = reference.evaluate(*m, pzx=pzx)
    assert set(out) == set(ref) == set(toyrd.QUANTITY_NAMES)
    for k in ref:
        assert_identity(out[k], ref[k], what=k)
    bits = toyrd.evaluate(*m, pzx=pzx, base=2)  # base=2: every value divided by log 2
    for k in ref:
        assert_identity(bits[k], ref[k] / math.log(2), what=f"{k} in bits")


@given(models(), st.data())
def test_permuting_latent_labels_changes_nothing(m, data):
    """Relabelling z (columns of e, rows of d, entries of m, one permutation) leaves every
    quantity of ``evaluate`` unchanged: eqs. 1, 4, 5, 8–10, 13 are all sums over z."""
    n_z = len(m.marginal)
    perm = np.random.default_rng(data.draw(seeds(), label="perm seed")).permutation(n_z)
    pzx = data.draw(true_joints(m.px), label="pzx")
    out = toyrd.evaluate(*m, pzx=pzx)
    out_p = toyrd.evaluate(m.px, m.encoder[:, perm], m.decoder[perm], m.marginal[perm], pzx=pzx)
    for k in out:
        assert_identity(out_p[k], out[k], what=k)


@given(models())
def test_strategy_gives_valid_matching_tables(m):
    """The generator itself: float64 tables of matching sizes 1–40 whose rows sum to 1 within
    1e-14 (so SUM_TOL never rejects them), and valid for toyrd's own validation."""
    n_x, n_z = m.encoder.shape
    assert 1 <= n_x <= 40 and 1 <= n_z <= 40
    assert m.px.shape == (n_x,) and m.decoder.shape == (n_z, n_x) and m.marginal.shape == (n_z,)
    for t in m:
        assert t.dtype == np.float64 and np.all(t >= 0)
        assert np.all(np.abs(np.atleast_2d(t).sum(1) - 1.0) <= 1e-14)
    toyrd._validate.check_model(*m)


@given(models(support="compatible"))
def test_compatible_support_keeps_distortion_and_rate_finite(m):
    """support="compatible" puts d > 0 on supp p_e and m > 0 on supp q, so D, R are finite."""
    out = toyrd.evaluate(*m)
    assert math.isfinite(out["D"]) and math.isfinite(out["R"])


def test_strategy_reaches_the_corners():
    """Exact zeros, sizes 1 and 40, and infinite D all occur (the properties above see them)."""
    from hypothesis import find, settings

    quick = settings(max_examples=2000, database=None)
    find(models(), lambda m: np.any(m.encoder == 0) and np.any(m.px == 0), settings=quick)
    find(models(), lambda m: m.encoder.shape == (1, 1), settings=quick)
    find(models(), lambda m: max(m.encoder.shape) == 40, settings=quick)
    find(
        models(support="any"),
        lambda m: toyrd.distortion(m.px, m.encoder, m.decoder) == math.inf,
        settings=quick,
    )
