"""The log-domain (R, D) of :func:`toyrd._formulas.rate_distortion_log` is the table-space
(R, D) of :func:`toyrd._formulas.rate_distortion` — on dense and sparse tables, with +inf where
a required probability is 0, on numpy, jax and torch — and its gradients stay finite where the
table-space ones do not (zero weights, bump tables that underflow to an exact 0)."""

import numpy as np
from hypothesis import given, settings

import toyrd
from toyrd import _formulas as F
from toyrd.tables import Family, bump, log_softmax, softmax, tabular
from toyrd.testing import IDENTITY_TOL, assert_identity, models


def _logs(*tables):
    with np.errstate(divide="ignore"):
        return tuple(np.log(t) for t in tables)


def _check_same(m, **kw):
    r_t, d_t = F.rate_distortion(m.px, m.encoder, m.decoder, m.marginal)
    le, ld, lm = _logs(m.encoder, m.decoder, m.marginal)
    for enc in (None, m.encoder):  # p_e from exp(log e), or from the table itself
        r_l, d_l = F.rate_distortion_log(m.px, le, ld, lm, enc=enc)
        assert_identity(r_l, r_t, what="R log vs table")
        assert_identity(d_l, d_t, what="D log vs table")


@given(models(sparse=False))
def test_dense_models_agree(m):
    _check_same(m)


@given(models(sparse=True))
def test_sparse_models_agree_including_infinities(m):
    """Sparse tables with support "any": R or D may be +inf; both paths give the same inf."""
    _check_same(m)


def test_infinite_cases_by_construction():
    px = np.array([0.5, 0.5, 0.0])
    enc = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    dec = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])  # d(x=0|z=1) = 0, p_e(0,1) = 0: fine
    mar = np.array([0.5, 0.5])
    r, d = F.rate_distortion_log(px, *_logs(enc, dec, mar))
    assert np.isfinite(r) and np.isfinite(d)
    assert_identity(d, -(0.5 * np.log(0.5) + 0.25 * np.log(0.5) + 0.25 * np.log(1.0)))
    dec_bad = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])  # d(x=0|z=0) = 0 where p_e(0,0) = 0.5
    assert F.rate_distortion_log(px, *_logs(enc, dec_bad, mar))[1] == np.inf
    assert F.rate_distortion(px, enc, dec_bad, mar)[1] == np.inf
    mar_bad = np.array([1.0, 0.0])  # m(1) = 0 where q(1) = 0.25
    assert F.rate_distortion_log(px, *_logs(enc, dec, mar_bad))[0] == np.inf
    assert F.rate_distortion(px, enc, dec, mar_bad)[0] == np.inf
    # m(z) = 0 where q(z) = 0 costs nothing
    enc0 = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    r0, _ = F.rate_distortion_log(px, *_logs(enc0, dec, mar_bad))
    assert r0 == 0.0


def test_identity_with_optimal_generative_side():
    """With m = q and d = p_e(x|z): R = I_e and R + D = H (paper App. D.3–D.4), in log domain."""
    toy = toyrd.toy_data()
    enc, _, _ = tabular.tables(tabular.init(5, 30, 30, 1.0), 30)
    q = toyrd.aggregate_posterior(toy.px, enc)
    post = toyrd.bayes_posterior(toy.px, enc)
    r, d = F.rate_distortion_log(toy.px, *_logs(enc, post, q))
    assert_identity(r, toyrd.representational_mi(toy.px, enc))
    assert_identity(r + d, toy.entropy)


@settings(max_examples=50)
@given(models(n_x=12, n_z=9, sparse=True))  # fixed shapes: jax compiles its eager ops once
def test_backends_agree(m):
    import jax
    import jax.numpy as jnp
    import torch

    ref = F.rate_distortion_log(m.px, *_logs(m.encoder, m.decoder, m.marginal))
    arrays = (m.px,) + _logs(m.encoder, m.decoder, m.marginal)
    with jax.enable_x64(True):
        jx = F.rate_distortion_log(*(jnp.asarray(a) for a in arrays))
        jx = [float(v) for v in jx]
    th = [float(v) for v in F.rate_distortion_log(*(torch.as_tensor(a) for a in arrays))]
    for a, b, c in zip(ref, jx, th):
        assert_identity(b, a, what="jax vs numpy")
        assert_identity(c, a, what="torch vs numpy")


def test_gradients_finite_at_zero_weights_and_log_zero():
    """Zero weights times log 0: value 0, gradients 0 (jax and torch); table-space xlogy gives
    NaN."""
    import jax
    import jax.numpy as jnp
    import torch

    px = np.array([0.6, 0.4, 0.0])
    enc = np.array([[1.0, 0.0], [0.5, 0.5], [0.3, 0.7]])
    dec = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])  # log 0 only where p_e(x,z) = 0
    mar = np.array([0.6, 0.4])
    le, ld, lm = _logs(enc, dec, mar)
    with jax.enable_x64(True):

        def f(ld_, lm_):
            r, d = F.rate_distortion_log(jnp.asarray(px), jnp.asarray(le), ld_, lm_)
            return r + d

        g_ld, g_lm = jax.grad(f, argnums=(0, 1))(jnp.asarray(ld), jnp.asarray(lm))
        g_ld, g_lm = np.asarray(g_ld), np.asarray(g_lm)
        # the table-space formula's gradient is NaN at d = 0 where p_e = 0 (0/0): why this path
        # exists
        g_tab = np.asarray(
            jax.grad(
                lambda d_: F.rate_distortion(
                    jnp.asarray(px), jnp.asarray(enc), d_, jnp.asarray(mar)
                )[1]
            )(jnp.asarray(dec))
        )
    assert np.isnan(g_tab).any()
    assert np.all(np.isfinite(g_ld)) and np.all(np.isfinite(g_lm))
    pe = px[:, None] * enc
    np.testing.assert_allclose(g_ld, -pe.T, rtol=0, atol=IDENTITY_TOL)  # ∂D/∂log d = −p_e
    np.testing.assert_allclose(g_lm, -pe.sum(0), rtol=0, atol=IDENTITY_TOL)  # ∂R/∂log m = −q
    t_ld = torch.as_tensor(ld).requires_grad_(True)
    r, d = F.rate_distortion_log(
        torch.as_tensor(px), torch.as_tensor(le), t_ld, torch.as_tensor(lm)
    )
    (r + d).backward()
    np.testing.assert_allclose(t_ld.grad.numpy(), -pe.T, rtol=0, atol=IDENTITY_TOL)


def _steep_bump():
    """Bump parameters whose decoder logit gaps exceed 745: some d(x|z) underflow to exactly 0."""
    p = bump.init(0, 30, 30, 1.0)
    p["dec_w"] = p["dec_w"] * 0 + 200.0
    p["dec_b"] = p["dec_w"] * np.linspace(0.0, 1.0, 30)
    return p


def test_bump_log_tables_at_large_slopes():
    toy = toyrd.toy_data()
    p = _steep_bump()
    enc, dec, mar = bump.tables(p, 30)
    le, ld, lm = bump.log_tables(p, 30)
    assert np.any(dec == 0.0) and np.all(np.isfinite(ld))
    pos = dec > np.finfo(np.float64).tiny  # subnormal table entries have lost digits; logs have not
    assert np.any((dec > 0) & ~pos)
    np.testing.assert_allclose(
        ld[pos], np.log(dec[pos]), rtol=0, atol=1e-12 * np.abs(ld[pos]).max()
    )
    np.testing.assert_allclose(np.exp(le), enc, rtol=0, atol=1e-15)
    d_table = F.rate_distortion(toy.px, enc, dec, mar)[1]
    r_log, d_log = F.rate_distortion_log(toy.px, le, ld, lm)
    assert d_table == np.inf  # underflow: the table path sees a required log 0
    assert np.isfinite(d_log) and np.isfinite(r_log) and d_log > 100.0  # honest, large, finite


def test_bump_gradients_finite_in_log_domain():
    import jax
    import jax.numpy as jnp

    toy = toyrd.toy_data()
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v) for k, v in _steep_bump().items()}
        px = jnp.asarray(toy.px)

        def log_loss(p):
            r, d = F.rate_distortion_log(px, *bump.log_tables(p, 30))
            return r + d

        def table_loss(p):
            r, d = F.rate_distortion(px, *bump.tables(p, 30))
            return r + d

        g_log = jax.grad(log_loss)(p)
        g_tab = jax.grad(table_loss)(p)
    assert all(np.all(np.isfinite(np.asarray(v))) for v in g_log.values())
    assert not all(np.all(np.isfinite(np.asarray(v))) for v in g_tab.values())


def test_log_softmax_backends_and_family_logs():
    import jax
    import jax.numpy as jnp
    import torch

    x = np.random.default_rng(1).standard_normal((5, 7)) * 300
    ref = log_softmax(x)
    with jax.enable_x64(True):
        jx = np.asarray(log_softmax(jnp.asarray(x)))
    th = log_softmax(torch.as_tensor(x)).numpy()
    scale = np.abs(ref).max()
    assert np.max(np.abs(jx - ref)) < 1e-14 * scale and np.max(np.abs(th - ref)) < 1e-14 * scale
    assert np.max(np.abs(np.exp(ref) - softmax(x))) < 1e-15
    # a user family without log_tables: logs() is the log of its tables (backwards compatible)
    mine = Family("mine", tabular.init, tabular.tables)
    assert mine.log_tables is None
    p = tabular.init(2, 30, 30, 1.0)
    for a, b in zip(mine.logs(p, 30), tabular.logs(p, 30)):
        assert np.max(np.abs(a - b)) < 1e-13


def test_trailing_batch_axes_give_each_models_r_and_d():
    """Three models stacked on a trailing axis ((n_x, n_z, 3) encoders, (n_z, n_x, 3) decoders,
    (n_z, 3) marginals, n_x ≠ n_z so a wrong transpose cannot pass): R and D of shape (3,), each
    the one-model value — for numpy (returning numpy float64) and for jax."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(11)
    px = rng.dirichlet(np.ones(4))
    encs = [rng.dirichlet(np.ones(3), 4) for _ in range(3)]
    decs = [rng.dirichlet(np.ones(4), 3) for _ in range(3)]
    mars = [rng.dirichlet(np.ones(3)) for _ in range(3)]
    one = [F.rate_distortion_log(px, *_logs(e, d, m)) for e, d, m in zip(encs, decs, mars)]
    stacked = _logs(np.stack(encs, -1), np.stack(decs, -1), np.stack(mars, -1))
    r, d = F.rate_distortion_log(px, *stacked)
    assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == d.shape == (3,)
    with jax.enable_x64(True):
        rj, dj = F.rate_distortion_log(jnp.asarray(px), *(jnp.asarray(a) for a in stacked))
        rj, dj = np.asarray(rj), np.asarray(dj)
    for b, (r1, d1) in enumerate(one):
        for got in (r[b], rj[b]):
            assert_identity(got, r1, what=f"R of model {b}")
        for got in (d[b], dj[b]):
            assert_identity(got, d1, what=f"D of model {b}")


def test_mul_log_has_zero_gradient_in_a_zero_weight():
    """mul_log(a, log b) at a = 0 is 0 with both gradients 0, also ∂/∂a (the documented
    convention: the log is replaced by 0 before the product), on jax and torch."""
    import jax
    import jax.numpy as jnp
    import torch

    a = np.array([0.0, 0.0, 0.5])
    log_b = np.array([-np.inf, np.log(0.3), np.log(0.2)])
    with jax.enable_x64(True):
        ga, gb = jax.grad(lambda a_, b_: F.mul_log(a_, b_).sum(), argnums=(0, 1))(
            jnp.asarray(a), jnp.asarray(log_b)
        )
        assert float(F.mul_log(jnp.asarray(a), jnp.asarray(log_b)).sum()) == 0.5 * np.log(0.2)
    np.testing.assert_array_equal(np.asarray(ga), [0.0, 0.0, np.log(0.2)])
    np.testing.assert_array_equal(np.asarray(gb), [0.0, 0.0, 0.5])
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(log_b, requires_grad=True)
    F.mul_log(ta, tb).sum().backward()
    np.testing.assert_array_equal(ta.grad.numpy(), [0.0, 0.0, np.log(0.2)])
    np.testing.assert_array_equal(tb.grad.numpy(), [0.0, 0.0, 0.5])
