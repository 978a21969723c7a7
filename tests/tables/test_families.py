"""Model families: valid tables on every backend, seeded inits, the Appendix E readings, and the
composition of encoder × decoder × marginal maps."""

import json

import numpy as np
import pytest

import toyrd
from toyrd import _formulas as F
from toyrd.tables import (
    FAMILIES,
    MAPS,
    Family,
    bin_coordinates,
    bump,
    bump_map,
    get_family,
    get_map,
    tabular,
)
from toyrd.testing import IDENTITY_TOL, assert_identity

#: Every built-in family, plus one bump map with a non-default initial slope.
NAMES = list(FAMILIES) + ["bump(w0=1)/tabular"]

#: Row sums of a float64 softmax are 1 within a few ulps.
SUM_TOL = 1e-13
#: numpy, jax and torch softmaxes of the same float64 logits agree to a few ulps.
BACKEND_TOL = 1e-13


@pytest.mark.parametrize("family", NAMES)
@pytest.mark.parametrize("scale", [0.0, 0.3, 1.0])
def test_tables_are_valid_and_pass_the_exact_core(family, scale):
    fam = get_family(family)
    e, d, m = fam.tables(fam.init(7, 30, 12, scale), 30)
    assert e.shape == (30, 12) and d.shape == (12, 30) and m.shape == (12,)
    for t in (e, d, m[None, :]):
        assert np.all(t >= 0) and np.max(np.abs(t.sum(-1) - 1)) < SUM_TOL
    q = toyrd.evaluate(toyrd.toy_data().px, e, d, m)
    assert np.isfinite(q["R"]) and np.isfinite(q["D"])
    assert q["R"] + q["D"] >= q["H"] - 1e-12  # -ELBO >= H


@pytest.mark.parametrize("family", NAMES)
def test_backends_agree(family):
    import jax
    import jax.numpy as jnp
    import torch

    fam = get_family(family)
    p = fam.init(3, 30, 30, 1.0)
    ref = fam.tables(p, 30)
    with jax.enable_x64(True):
        jx = fam.tables({k: jnp.asarray(v) for k, v in p.items()}, 30)
        jx = [np.asarray(a) for a in jx]
    th = [a.numpy() for a in fam.tables({k: torch.as_tensor(v) for k, v in p.items()}, 30)]
    for a, b, c in zip(ref, jx, th):
        assert b.dtype == np.float64 and c.dtype == np.float64
        assert np.max(np.abs(a - b)) < BACKEND_TOL and np.max(np.abs(a - c)) < BACKEND_TOL


@pytest.mark.parametrize("family", NAMES)
def test_init_is_reproducible_and_seeded(family):
    fam = get_family(family)
    a, b, c = fam.init(11, 30, 30, 1.0), fam.init(11, 30, 30, 1.0), fam.init(12, 30, 30, 1.0)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    assert all(v.dtype == np.float64 for v in a.values())


def test_scale_zero():
    e, d, m = tabular.tables(tabular.init(0, 30, 30, 0.0), 30)
    assert np.max(np.abs(e - 1 / 30)) < 1e-15 and np.max(np.abs(m - 1 / 30)) < 1e-15
    assert toyrd.representational_mi(toyrd.toy_data().px, e) < 1e-15  # collapsed encoder
    _, _, mb = bump.tables(bump.init(0, 30, 30, 0.0), 30)
    assert np.max(np.abs(mb - 1 / 30)) < 1e-15


def test_bump_reading():
    """x_j is the bin coordinate t_j = (j + 1/2)/n_x; d(·|z_i) peaks at the bin nearest b_i/w_i."""
    t = bin_coordinates(30)
    assert t[0] == 0.5 / 30 and t[-1] == 29.5 / 30
    w = np.full(4, 20.0)
    centres = np.array([0.12, 0.37, 0.61, 0.88])
    p = {
        "enc_w": w,
        "enc_b": w * centres,
        "dec_w": w,
        "dec_b": w * centres,
        "mar_logits": np.zeros(4),
    }
    e, d, m = bump.tables(p, 30)
    nearest = np.argmin(np.abs(t[None, :] - centres[:, None]), axis=1)
    assert np.array_equal(np.argmax(d, axis=1), nearest)
    # logit gaps of e(z|x) are -(w t - b)^2 differences, exactly
    x = 7
    lg = -((w * t[x] - w * centres) ** 2)
    assert np.max(np.abs(np.log(e[x]) - (lg - np.log(np.exp(lg).sum())))) < 1e-12


@pytest.mark.parametrize("n", [1, 2, 3, 30, 31])
def test_bin_coordinates_are_the_bin_centres(n):
    """The bump family's x_j is the centre (j + ½)/n of bin j of [0, 1], not an edge: exact in
    float64, symmetric about ½, spaced 1/n."""
    t = bin_coordinates(n)
    assert t.dtype == np.float64 and t.shape == (n,)
    assert np.array_equal(t, (np.arange(n) + 0.5) / n)
    assert t[0] == 0.5 / n and t[-1] == 1.0 - 0.5 / n
    np.testing.assert_allclose(t + t[::-1], 1.0, rtol=0, atol=1e-15)


def test_custom_family_and_errors():
    fam = Family("mine", tabular.init, tabular.tables)
    assert get_family(fam) is fam
    with pytest.raises(toyrd.ToyrdError, match="family: 'nope' is not one of"):
        get_family("nope")


@pytest.mark.parametrize("family", NAMES)
def test_logits_and_log_tables_match_tables(family):
    """tables = softmax(logits) and log_tables = log_softmax(logits) = log(tables) (float64)."""
    from toyrd.tables import log_softmax, softmax

    fam = get_family(family)
    p = fam.init(4, 30, 20, 1.0)
    tables, logs, logits = fam.tables(p, 30), fam.log_tables(p, 30), fam.logits(p, 30)
    assert [a.shape for a in logits] == [(30, 20), (20, 30), (20,)]
    for t, lt, a in zip(tables, logs, logits):
        assert np.max(np.abs(softmax(a) - t)) < SUM_TOL
        assert np.max(np.abs(log_softmax(a) - lt)) < 1e-13 * max(1.0, np.abs(lt).max())
        assert np.max(np.abs(np.log(t) - lt)) < 1e-12 * max(1.0, np.abs(lt).max())
    assert all(np.array_equal(a, b) for a, b in zip(fam.logs(p, 30), logs))


# ----------------------------------------------------------------------------- composition


def test_compose_names_aliases_and_caching():
    assert get_family("tabular/tabular") is tabular and get_family("bump/bump") is bump
    assert Family.compose("tabular", "tabular") is not tabular  # same maps, its own name
    assert Family.compose("bump", "tabular") is get_family("bump/tabular")
    fam = get_family("bump(w0=1)/tabular")
    assert fam.name == "bump(w0=1)/tabular" and fam is get_family("bump(w0=1.0)/tabular")
    assert get_family("bump(w0=3)/onehot") is FAMILIES["bump/onehot"]
    assert bump_map(3) is MAPS["bump"] and get_map("bump(w0=0.5)") is bump_map(0.5)
    assert fam.parts == (bump_map(1.0), MAPS["tabular"], "tabular")


@pytest.mark.parametrize(
    "name, msg",
    [
        ("nope", "family: 'nope' is not one of"),
        ("bump/nope", "family: 'bump/nope' is not one of"),
        ("a/b/c", "family: 'a/b/c' is not one of"),
        ("bump(w0=x)/tabular", "is not one of"),
        (3, "family: 3 is not one of"),
    ],
)
def test_bad_family_names(name, msg):
    with pytest.raises(toyrd.ToyrdError, match=msg.replace("(", r"\(")):
        get_family(name)


def test_bad_parts():
    with pytest.raises(toyrd.ToyrdError, match="encoder: 'nope' is not one of"):
        Family.compose("nope", "tabular")
    with pytest.raises(toyrd.ToyrdError, match="marginal: 'bump' is not one of"):
        Family.compose("tabular", "tabular", marginal="bump")
    with pytest.raises(toyrd.ToyrdError, match="w0 = -1.0 must be a finite number > 0"):
        bump_map(-1)


def test_composed_inits_draw_the_documented_stream():
    """One default_rng(seed) stream, encoder then decoder then marginal: tabular/tabular and
    bump/bump draw exactly what tabular and bump drew before composition (a re-implementation
    of those draws here), and a mixed family's parts draw what that map draws in that slot."""
    seed, n_x, n_z, s = 5, 30, 12, 0.3
    rng = np.random.default_rng(seed)
    want = {
        "enc_logits": s * rng.standard_normal((n_x, n_z)),
        "dec_logits": s * rng.standard_normal((n_z, n_x)),
        "mar_logits": s * rng.standard_normal(n_z),
    }
    got = tabular.init(seed, n_x, n_z, s)
    assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)
    rng = np.random.default_rng(seed)
    want = {}
    for part in ("enc", "dec"):
        c = rng.uniform(0.0, 1.0, n_z)
        w = 3.0 * np.exp(0.5 * s * rng.standard_normal(n_z))
        want[f"{part}_w"], want[f"{part}_b"] = w, w * c
    want["mar_logits"] = s * rng.standard_normal(n_z)
    got = bump.init(seed, n_x, n_z, s)
    assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)
    mixed = get_family("bump/tabular").init(seed, n_x, n_z, s)  # encoder slot = bump's encoder
    assert np.array_equal(mixed["enc_w"], want["enc_w"]) and "dec_logits" in mixed
    assert sorted(mixed) == ["dec_logits", "enc_b", "enc_w", "mar_logits"]


@pytest.mark.parametrize("family", NAMES)
def test_log_domain_equals_table_formula(family):
    """R, D from log_softmax logits (the trainer's loss) = R, D from the tables (DESIGN §2)."""
    fam = get_family(family)
    px = toyrd.toy_data().px
    for seed, scale in ((0, 0.01), (1, 1.0)):
        p = fam.init(seed, 30, 30, scale)
        r_t, d_t = F.rate_distortion(px, *fam.tables(p, 30))
        r_l, d_l = F.rate_distortion_log(px, *fam.logs(p, 30))
        assert_identity(r_l, r_t, what=f"{family} R")
        assert_identity(d_l, d_t, what=f"{family} D")


@pytest.mark.parametrize("family", NAMES)
def test_gradients_are_finite_on_jax_and_torch(family):
    """d(R + D)/dθ is finite and non-zero for every parameter array (jax and torch agree)."""
    import jax
    import jax.numpy as jnp
    import torch

    fam = get_family(family)
    px = toyrd.toy_data().px
    p = fam.init(2, 30, 30, 0.3)

    def loss(q):
        r, d = F.rate_distortion_log(jnp.asarray(px), *fam.logs(q, 30))
        return r + d

    with jax.enable_x64(True):
        g = jax.grad(loss)({k: jnp.asarray(v) for k, v in p.items()})
        g = {k: np.asarray(v) for k, v in g.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    r, d = F.rate_distortion_log(torch.as_tensor(px), *fam.logs(tp, 30))
    (r + d).backward()
    for k in p:
        assert g[k].shape == p[k].shape and np.all(np.isfinite(g[k])) and np.any(g[k] != 0), k
        np.testing.assert_allclose(tp[k].grad.numpy(), g[k], rtol=1e-9, atol=1e-12)


def _gaps(log_rows):
    """Logit gaps along the softmax axis: each entry minus the row's first entry."""
    return log_rows - log_rows[..., :1]


def test_onehot_reading_logit_gaps():
    """Appendix E literally: x_j one-hot, w_i·x_j = W_ij. log e(z_i|x_j) − log e(z_0|x_j) =
    (W_0j − b_0)² − (W_ij − b_i)², and log d(x_j|z_i) − log d(x_0|z_i) =
    (W_i0 − b_i)² − (W_ij − b_i)², exactly (float64 rounding only)."""
    fam = get_family("onehot/onehot")
    rng = np.random.default_rng(0)
    p = {
        "enc_W": rng.normal(size=(7, 30)),
        "enc_b": rng.normal(size=7),
        "dec_W": rng.normal(size=(7, 30)),
        "dec_b": rng.normal(size=7),
        "mar_logits": np.zeros(7),
    }
    le, ld, _ = fam.log_tables(p, 30)
    ue = -((p["enc_W"] - p["enc_b"][:, None]) ** 2)  # (n_z, n_x): logit of latent i at bin j
    ud = -((p["dec_W"] - p["dec_b"][:, None]) ** 2)
    assert np.max(np.abs(_gaps(le) - _gaps(ue.T))) < 1e-12
    assert np.max(np.abs(_gaps(ld) - _gaps(ud))) < 1e-12
    # init: W = 1/2 + scale·ε, b = 0, i.e. logits −(1/2 + scale·ε)²
    q = fam.init(3, 30, 7, 0.2)
    assert np.array_equal(q["enc_b"], np.zeros(7))
    eps = (q["enc_W"] - 0.5) / 0.2
    assert np.max(np.abs(fam.logits(q, 30)[0] - (-((0.5 + 0.2 * eps) ** 2)).T)) < 1e-15


def test_bump_decoder_and_mixed_family_logit_gaps():
    """Bump decoder: log d(x_j|z_i) − log d(x_0|z_i) = (w_i t_0 − b_i)² − (w_i t_j − b_i)²; in
    bump/tabular the encoder has the bump gaps and the decoder the free logits' gaps."""
    t = bin_coordinates(30)
    rng = np.random.default_rng(1)
    w, b, L = rng.uniform(1, 20, 5), rng.uniform(0, 20, 5), rng.normal(size=(5, 30))
    u = -((w[:, None] * t[None, :] - b[:, None]) ** 2)  # (n_z, n_x)
    _, ld, _ = bump.log_tables(
        {"enc_w": w, "enc_b": b, "dec_w": w, "dec_b": b, "mar_logits": np.zeros(5)}, 30
    )
    assert np.max(np.abs(_gaps(ld) - _gaps(u))) < 1e-12
    le, ld, _ = get_family("bump/tabular").log_tables(
        {"enc_w": w, "enc_b": b, "dec_logits": L, "mar_logits": np.zeros(5)}, 30
    )
    assert np.max(np.abs(_gaps(le) - _gaps(u.T))) < 1e-12
    assert np.max(np.abs(_gaps(ld) - _gaps(L))) < 1e-12


def test_bump_slope_sets_initial_information():
    """Documented: median I_e over seeds is ≈ 0.18 nats for a bump encoder at w0 = 3 and ≈ 0.005
    at w0 = 1 (init scale 0.01), so only the smaller slope starts near the collapsed code."""
    px = toyrd.toy_data().px

    def median_ie(name):
        fam = get_family(name)
        encs = [fam.tables(fam.init(s, 30, 30, 0.01), 30)[0] for s in range(8)]
        return np.median([toyrd.representational_mi(px, e) for e in encs])

    assert 0.15 < median_ie("bump/tabular") < 0.21
    assert 0.003 < median_ie("bump(w0=1)/tabular") < 0.007


def test_free_decoders_can_autodecode_and_bump_cannot():
    """A decoder row equal to p* is reachable for tabular (logits log p*) and onehot
    (W_0j = b_0 + sqrt(max log p* − log p*_j)), so the collapsed model has −ELBO = H; the best
    single bump is ≥ 0.05 nats from p* (the measured gap is ≈ 0.09)."""
    from scipy.optimize import minimize

    toy = toyrd.toy_data()
    lp = np.log(toy.px)
    m = np.array([1.0])
    enc = np.ones((30, 1))
    for name, dec_params in (
        ("tabular", {"dec_logits": lp[None, :]}),
        ("onehot", {"dec_W": 2.0 + np.sqrt(lp.max() - lp)[None, :], "dec_b": np.array([2.0])}),
    ):
        fam = Family.compose("tabular", name)
        _, d, _ = fam.tables(
            {"enc_logits": np.zeros((30, 1)), "mar_logits": np.zeros(1), **dec_params}, 30
        )
        q = toyrd.evaluate(toy.px, enc, d, m)
        assert abs(q["R"]) < IDENTITY_TOL and abs(q["D"] - q["H"]) < 1e-12, name
    t = bin_coordinates(30)

    def kl(v):
        row = -((v[0] * t - v[1]) ** 2)
        return float(np.sum(toy.px * (lp - (row - np.log(np.exp(row).sum())))))

    starts = ([3.0, 1.5], [6.0, 3.0], [2.0, 0.5])
    best = min(minimize(kl, x0, method="Nelder-Mead").fun for x0 in starts)
    assert best > 0.05


def test_describe_is_json_and_names_the_parts():
    d = get_family("bump(w0=1)/tabular").describe()
    assert d["encoder"]["map"] == "bump(w0=1)" and "w_i = 1·exp" in d["encoder"]["init"]
    assert d["decoder"] == {"map": "tabular", "init": "logits ~ N(0, scale²) per entry"}
    assert json.loads(json.dumps(d)) == d
    assert Family("mine", tabular.init, tabular.tables).describe() == {"name": "mine"}


def test_composed_family_trains_on_the_fast_path_like_the_generic_path():
    """The trainer's fast path (family.logits) and its autodiff path agree for a composed family."""
    from toyrd.train import jax as tj

    fam = get_family("bump(w0=1)/tabular")
    generic = Family("bump1-tabular-generic", fam.init, fam.tables, fam.log_tables)
    kw = dict(seeds=(0, 1), hyper=0.5, init_scale=0.3, steps=60, warmup=10, progress=False)
    fast = tj.train("target_rate", family=fam, **kw)
    slow = tj.train("target_rate", family=generic, **kw)
    for k in ("R", "D", "loss"):
        np.testing.assert_allclose(fast.history[k], slow.history[k], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.encoder, slow.encoder, rtol=0, atol=1e-9)


def test_bump_free_map_logits_and_autodecoding_limit():
    """bump+free decoder: logit(x_j|z_i) = log(exp[−(w_i t_j − b_i)²] + exp(a_i + v_j)) exactly;
    with the gate a_i → ∞ each row → softmax(v), so v = log p* autodecodes (e^{−a} close)."""
    fam = get_family("tabular/bump+free")
    toy = toyrd.toy_data()
    t = bin_coordinates(30)
    rng = np.random.default_rng(4)
    w, b, a = rng.uniform(1, 10, 3), rng.uniform(0, 10, 3), rng.normal(size=3)
    v = rng.normal(size=30)
    p = {
        "enc_logits": np.zeros((30, 3)),
        "dec_w": w,
        "dec_b": b,
        "dec_a": a,
        "dec_v": v,
        "mar_logits": np.zeros(3),
    }
    bumps = np.exp(-((w[:, None] * t[None, :] - b[:, None]) ** 2))
    want = np.log(bumps + np.exp(a[:, None] + v[None, :]))
    assert np.max(np.abs(fam.logits(p, 30)[1] - want)) < 1e-12
    p.update(dec_a=np.full(3, 50.0), dec_v=np.log(toy.px))
    q = toyrd.evaluate(toy.px, *fam.tables(p, 30))
    assert abs(q["R"]) < IDENTITY_TOL and abs(q["D"] - q["H"]) < 1e-12  # collapsed, −ELBO = H
    enc = get_family("bump+free/tabular").init(0, 30, 5, 0.3)  # encoder role: gate per x, v per z
    assert enc["enc_a"].shape == (30,) and enc["enc_v"].shape == (5,)
