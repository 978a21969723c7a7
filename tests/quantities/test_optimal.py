"""Closed-form optima for a fixed encoder (paper Appendix D.3, D.4) and their gradients.

Tolerances: identities at ``IDENTITY_TOL`` (see :mod:`toyrd.testing`); finite differences at
``FD_RTOL`` (below).
"""

import doctest

import numpy as np
import reference  # tests/reference.py
from hypothesis import given
from hypothesis import strategies as st

import toyrd
import toyrd.quantities._optimal
from toyrd import _formulas as F
from toyrd.testing import (
    IDENTITY_TOL,
    assert_identity,
    assert_leq,
    distributions,
    models,
    seeds,
    simplex_rows,
)

#: Central differences with step h = 1e-6 · t on a coordinate t ∈ (0, 1]: truncation error
#: ~ h² |f'''| / 6 relative ≈ 1e-12 (f = a log t has f''' / f' = 2 / t², so relative error
#: ≈ (h / t)² / 3 ≈ 3e-13), and rounding ≈ ε |f| / h ≈ 2e-16 · |f| / 1e-6 ≈ 1e-10 · |f| / t — so the
#: derivative is good to ~1e-9 relative to max(1, |f|); 1e-6 is a 1000× margin, and a wrong
#: gradient (a missing factor or sign) is off by O(1).
FD_RTOL = 1e-6


@given(models())
def test_optimal_marginal_and_decoder_close_the_bound(m):
    """m* = q gives R = I_e (D.3); d* = p_e(x|z) gives D = H − I_e (D.4); so R + D = H, the
    ELBO equals −H and g = p* (McAllester's consistency), whatever the encoder."""
    d_star, m_star = toyrd.optimize_generative(m.px, m.encoder)
    out = toyrd.evaluate(m.px, m.encoder, d_star, m_star)
    assert_identity(out["R"], out["I_e"], what="R = I_e at m*")
    assert_identity(out["D"], out["H"] - out["I_e"], what="D = H - I_e at d*")
    assert_identity(out["R"] + out["D"], out["H"], what="R + D = H")
    assert abs(out["kl_q_m"]) <= IDENTITY_TOL and abs(out["kl_pstar_g"]) <= IDENTITY_TOL
    np.testing.assert_allclose(m_star @ d_star, m.px, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(d_star, toyrd.optimal_decoder(m.px, m.encoder))
    np.testing.assert_array_equal(m_star, toyrd.optimal_marginal(m.px, m.encoder))
    np.testing.assert_allclose(
        d_star, np.array(reference.optimal_decoder(m.px, m.encoder)), rtol=1e-13, atol=0
    )
    np.testing.assert_allclose(
        m_star, reference.optimal_marginal(m.px, m.encoder), rtol=1e-13, atol=0
    )


@given(models(), st.data())
def test_any_other_marginal_or_decoder_does_worse(m, data):
    """Random feasible perturbations (mixtures (1 − t)·optimum + t·random table, small and large t)
    only increase R and D: R(m) − R(m*) = KL(q‖m) ≥ 0 and D(d) − D(d*) = E_q KL ≥ 0."""
    d_star, m_star = toyrd.optimize_generative(m.px, m.encoder)
    r_star = toyrd.rate(m.px, m.encoder, m_star)
    dist_star = toyrd.distortion(m.px, m.encoder, d_star)
    t = data.draw(st.sampled_from([1e-6, 1e-3, 0.1, 0.5, 1.0]), label="t")
    other_m = data.draw(distributions(len(m_star)), label="m'")
    rng = np.random.default_rng(data.draw(seeds(), label="seed"))
    other_d = simplex_rows(rng, *d_star.shape, zero_frac=data.draw(st.sampled_from([0.0, 0.5])))
    m_t = (1 - t) * m_star + t * other_m
    d_t = (1 - t) * d_star + t * other_d
    assert_leq(r_star, toyrd.rate(m.px, m.encoder, m_t), what="R(m*) <= R(m_t)")
    assert_leq(dist_star, toyrd.distortion(m.px, m.encoder, d_t), what="D(d*) <= D(d_t)")


@given(models())
def test_projected_gradients_vanish_at_the_optimum(m):
    """At m* the gradient ∂R/∂m = −q/m is −1 on supp(q); at d* row z of ∂D/∂d = −p_e/d is −q(z)
    on supp p_e(·,z): their tangent projections onto the simplex vanish (KKT, D.3–D.4). Off the
    support the gradient is 0 ≥ the multiplier, so no feasible direction descends either."""
    d_star, m_star = toyrd.optimize_generative(m.px, m.encoder)
    q = m_star
    pe = (m.px[:, None] * m.encoder).T  # (n_z, n_x)
    g_m = toyrd.rate_gradient_marginal(m.px, m.encoder, m_star)
    g_d = toyrd.distortion_gradient_decoder(m.px, m.encoder, d_star)
    np.testing.assert_allclose(g_m[q > 0], -1.0, rtol=0, atol=1e-14)
    assert np.all(g_m[q == 0] == 0.0)
    proj_m = toyrd.tangent_projection(g_m, support=q > 0)
    assert proj_m.shape == g_m.shape
    np.testing.assert_allclose(proj_m, 0.0, rtol=0, atol=1e-14)
    on = pe > 0
    np.testing.assert_allclose(
        g_d[on], -np.broadcast_to(q[:, None], pe.shape)[on], rtol=1e-13, atol=0
    )
    proj_d = toyrd.tangent_projection(g_d, support=pe > 0)
    np.testing.assert_allclose(proj_d, 0.0, rtol=0, atol=1e-14)
    assert np.all(g_d[pe == 0] == 0.0)


def test_projected_gradient_does_not_vanish_away_from_the_optimum():
    """A non-optimal marginal has a non-zero projected gradient (the check can fail)."""
    px = np.array([0.5, 0.5])
    e = np.array([[0.9, 0.1], [0.2, 0.8]])
    g = toyrd.rate_gradient_marginal(px, e, np.array([0.5, 0.5]))
    assert np.max(np.abs(toyrd.tangent_projection(g))) > 0.1
    g_d = toyrd.distortion_gradient_decoder(px, e, np.full((2, 2), 0.5))
    assert np.max(np.abs(toyrd.tangent_projection(g_d))) > 0.1


def test_tangent_projection_subtracts_the_row_mean_on_the_support():
    """P(g) = g − mean over the support, 0 off it; a vector stays a vector."""
    g = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 10.0]])
    np.testing.assert_array_equal(
        toyrd.tangent_projection(g), [[-1.0, 0.0, 1.0], [-2.0, -2.0, 4.0]]
    )
    s = np.array([[True, True, False], [True, False, True]])
    np.testing.assert_array_equal(
        toyrd.tangent_projection(g, support=s), [[-0.5, 0.5, 0.0], [-3.0, 0.0, 3.0]]
    )
    np.testing.assert_array_equal(toyrd.tangent_projection(np.array([1.0, 3.0])), [-1.0, 1.0])


def _central_difference(f, x, i, rel_step=1e-6):
    h = rel_step * x[i]
    up, down = x.copy(), x.copy()
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def _interior(rng, n_rows, n_cols):
    """Rows on the simplex with every entry ≥ 1/(2 n_cols): half Dirichlet(1), half uniform."""
    return 0.5 * simplex_rows(rng, n_rows, n_cols) + 0.5 / n_cols


@given(st.integers(1, 8), st.integers(1, 8), seeds())
def test_analytic_gradients_match_finite_differences(n_x, n_z, seed):
    """∂R/∂m(z) = −q(z)/m(z) and ∂D/∂d(x|z) = −p_e(x,z)/d(x|z), as free (unconstrained)
    partial derivatives of R (eq. 5) and D (eq. 4), at a random interior point (entries ≥ 1/16,
    so the relative step of the central difference is safe)."""
    rng = np.random.default_rng(seed)
    px, e = _interior(rng, 1, n_x)[0], _interior(rng, n_x, n_z)
    d, mar = _interior(rng, n_z, n_x), _interior(rng, 1, n_z)[0]
    g_m = toyrd.rate_gradient_marginal(px, e, mar)
    g_d = toyrd.distortion_gradient_decoder(px, e, d).reshape(-1)
    for z in range(n_z):
        fd = _central_difference(lambda v: F.rate(px, e, v), mar, z)
        assert abs(fd - g_m[z]) <= FD_RTOL * max(1.0, abs(g_m[z])), (z, fd, g_m[z])
    flat = d.reshape(-1)
    for k in range(flat.size):
        fd = _central_difference(lambda v: F.distortion(px, e, v.reshape(d.shape)), flat, k)
        assert abs(fd - g_d[k]) <= FD_RTOL * max(1.0, abs(g_d[k])), (k, fd, g_d[k])


@given(models(support="compatible"))
def test_e_step_is_the_model_posterior(m):
    """EM's E-step e(z|x) = p_d(z|x) = m(z) d(x|z) / g(x); rows with g(x) = 0 are m(z)."""
    e = toyrd.e_step(m.decoder, m.marginal)
    np.testing.assert_array_equal(e, toyrd.model_posterior(m.decoder, m.marginal))
    g = m.marginal @ m.decoder
    pd_t = (m.marginal[:, None] * m.decoder).T  # (n_x, n_z)
    want = np.where(g[:, None] > 0, pd_t / np.where(g > 0, g, 1.0)[:, None], m.marginal[None, :])
    np.testing.assert_allclose(e, want, rtol=1e-13, atol=0)


def test_module_docstrings_run():
    """The examples in toyrd.quantities's docstrings are true."""
    result = doctest.testmod(toyrd.quantities._optimal, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
