"""Claims of the sources that no other test checks: the slope of the frontier is −β (paper Sec. 2,
"Connection to β-VAE"), the ELBO cannot pick between points of equal slope, R = 0 forces
e(z|x) = m(z) = q(z) (Sec. 2, "Phase Diagram"), and Chu's M-step read literally.

The frontier with a nontrivial slope used here is exact: hold the decoder d(x|z) fixed (a
restricted family — e and m free, d a fixed Appendix E bump table). Minimising D + βR over
(e, m) is then Shannon's rate–distortion problem for the source p* with distortion measure
ρ(x, z) = −log d(x|z) and reproduction alphabet Z: D is E ρ and R (at m = q) is I(x; z). Its
minimiser is the Blahut–Arimoto fixed point e(z|x) ∝ m(z) d(x|z)^{1/β}, m = q (convex problem,
global optimum), and along the curve dR/dD = −1/β, i.e. β = −∂D/∂R — the Legendre reading of
the β-VAE. With every table free the frontier is R + D = H (slope −1 everywhere), which is why
β = 1 cannot choose a point on it.
"""

import numpy as np
import pytest
from hypothesis import given

import toyrd
from toyrd.testing import IDENTITY_TOL, models

#: Relative error allowed on the slope −∂D/∂R against β. Central differences at β(1 ± H_STEP)
#: err by O(H_STEP²) · curvature; the Blahut–Arimoto fixed point is iterated until m moves by
#: < 1e-15. Measured |slope/β + 1| = 4.6e-8 (β = 0.5), 3.7e-8 (β = 1); 1e-6 leaves 20×, while a
#: rate or distortion off by even 0.1 % would move the slope by 1e-3.
SLOPE_TOL = 1e-6
#: Relative half-width of the central difference in β.
H_STEP = 1e-3
#: Stop Blahut–Arimoto when no entry of m moves by more than this.
BA_TOL = 1e-15


def _fixed_decoder(toy):
    fam = toyrd.tables.bump
    _, d, _ = fam.tables(fam.init(0, 30, 30, 1.0), 30)
    return d


def _blahut_arimoto(px, d, beta, max_iter=50_000):
    """argmin over (e, m) of D + βR with d fixed: e ∝ m · d^{1/β} (rows), m ← q, to BA_TOL."""
    log_d = np.log(d).T  # (n_x, n_z), d > 0 (bump tables are strictly positive)
    m = np.full(d.shape[0], 1.0 / d.shape[0])
    for _ in range(max_iter):
        with np.errstate(divide="ignore"):  # states of m that died: log 0 = −inf, e = 0 there
            logits = np.log(m)[None, :] + log_d / beta
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        e /= e.sum(1, keepdims=True)
        new = px @ e
        if np.max(np.abs(new - m)) < BA_TOL:
            return e, new
        m = new
    raise AssertionError(f"Blahut–Arimoto did not converge at beta={beta}")


def _rd(px, e, d, m):
    return toyrd.rate(px, e, m), toyrd.distortion(px, e, d)


def _frontier_point(px, d, beta):
    e, m = _blahut_arimoto(px, d, beta)
    return _rd(px, e, d, m)


@pytest.mark.parametrize("beta", [0.5, 0.7, 1.0])
def test_beta_is_minus_the_slope_of_the_fixed_decoder_frontier(toy, beta):
    """β = −∂D/∂R at the β-VAE optimum (paper Sec. 2, Legendre transform), by central
    differences along the exact frontier of the fixed-decoder family."""
    d = _fixed_decoder(toy)
    (r_lo, d_lo), (r_hi, d_hi) = (
        _frontier_point(toy.px, d, b) for b in (beta * (1 - H_STEP), beta * (1 + H_STEP))
    )
    assert r_lo > r_hi and d_lo < d_hi  # larger β: less rate, more distortion
    slope = (d_hi - d_lo) / (r_hi - r_lo)
    assert abs(-slope / beta - 1.0) < SLOPE_TOL, (beta, slope)


def test_the_fixed_decoder_frontier_is_the_minimum_and_not_a_line(toy):
    """The curve the slope is taken on is the optimum of D + βR (random encoders with m = q do
    worse) and is curved: its points are not on one line of slope −1 (unlike R + D = H)."""
    d = _fixed_decoder(toy)
    rng = np.random.default_rng(0)
    points = {}
    for beta in (0.5, 1.0):
        e, m = _blahut_arimoto(toy.px, d, beta)
        r, dist = _rd(toy.px, e, d, m)
        points[beta] = (r, dist)
        for _ in range(20):
            other = rng.dirichlet(np.full(30, 0.3), size=30)
            ro, do = _rd(toy.px, other, d, toyrd.aggregate_posterior(toy.px, other))
            assert do + beta * ro > dist + beta * r
        # the optimal m is the aggregate posterior (Appendix D.3) at the fixed point
        np.testing.assert_allclose(m, toyrd.aggregate_posterior(toy.px, e), rtol=0, atol=1e-14)
    (r1, d1), (r2, d2) = points[0.5], points[1.0]
    chord = (d2 - d1) / (r2 - r1)
    assert -1.0 < chord < -0.5  # between the end slopes −1 and −0.5, so not a line
    assert d1 + r1 - toy.entropy > 0.1  # the restricted frontier lies above R + D = H


def test_elbo_cannot_pick_between_points_of_equal_slope(toy):
    """On the free-table frontier R + D = H every point has slope −1: encoders from R = 0 to
    R = H (with optimal m, d) all have the ELBO loss H, so β = 1 is indifferent (paper Sec. 2:
    "does not distinguish between any of the points along the diagonal"); for β ≠ 1 the loss
    H + (β − 1)R is linear in R, so the β-VAE selects an end point, never an interior one."""
    n = toy.px.shape[0]
    rng = np.random.default_rng(1)
    encoders = [
        np.full((n, n), 1.0 / n),
        np.eye(n),
        toyrd.experiments.optimal_model(toy)[0],
        rng.dirichlet(np.full(n, 0.5), size=n),
    ]
    rates, losses = [], []
    for e in encoders:
        dec, mar = toyrd.optimize_generative(toy.px, e)
        r, dist = _rd(toy.px, e, dec, mar)
        rates.append(r)
        losses.append(dist + r)
        for beta in (0.5, 2.0):
            assert abs((dist + beta * r) - (toy.entropy + (beta - 1.0) * r)) < IDENTITY_TOL
    assert max(rates) - min(rates) > toy.entropy - IDENTITY_TOL  # from R = 0 to R = H
    assert max(losses) - min(losses) < IDENTITY_TOL  # one ELBO for all of them
    assert abs(losses[0] - toy.entropy) < IDENTITY_TOL


@given(models(support="any"))
def test_rate_bounds_the_distance_of_every_encoder_row_from_the_marginal(model):
    """Pinsker: R ≥ ½ Σ_x p*(x) ‖e(·|x) − m‖₁² (nats), so R = 0 ⇒ e(z|x) = m(z) wherever
    p*(x) > 0, and then q = Σ_x p*(x) e(·|x) = m (paper Sec. 2: R = 0 ⟹ e(z|x) = m(z))."""
    px, e, m = model.px, model.encoder, model.marginal
    r = toyrd.rate(px, e, m)
    l1 = np.abs(e - m[None, :]).sum(1)
    pinsker = 0.5 * float(px @ l1**2)
    assert r >= pinsker - IDENTITY_TOL * max(1.0, pinsker)


def test_zero_rate_forces_encoder_equal_marginal_equal_aggregate(toy):
    """The exact case both ways: e rows = m gives R = 0 and q = m; and the fixed-decoder
    β-VAE past its critical slope (β = 2) ends at R = 0 with e(·|x) = m = q for every x."""
    m = np.random.default_rng(2).dirichlet(np.ones(30))
    e = np.tile(m, (30, 1))
    assert toyrd.rate(toy.px, e, m) == 0.0
    np.testing.assert_allclose(toyrd.aggregate_posterior(toy.px, e), m, rtol=0, atol=1e-15)
    e2, m2 = _blahut_arimoto(toy.px, _fixed_decoder(toy), 2.0)
    r2 = toyrd.rate(toy.px, e2, m2)
    assert 0.0 <= r2 < 1e-13
    # Pinsker turns R < 1e-13 into max_x ‖e(·|x) − m‖₁ ≤ sqrt(2R / min p*) ≈ 1e-5 at worst
    assert np.abs(e2 - m2[None, :]).max() < np.sqrt(2 * max(r2, 1e-300) / toy.px.min())
    np.testing.assert_allclose(toyrd.aggregate_posterior(toy.px, e2), m2, rtol=0, atol=1e-15)


def test_chu_delta_prior_m_step_is_not_the_elbo_optimum_measured(toy):
    """Chu writes that in the M-step "the ELBO is maximized when p(z) is set to δ(z − z*)".
    Read literally for the prior of a VAE this is contradicted (Appendix D.3: the optimal prior is
    the aggregate posterior q): on the toy's hand-built model, m = q gives ELBO = −H, the best
    point mass gives −inf (q charges several states, and log δ = −inf there)."""
    e = toyrd.experiments.optimal_model(toy)[0]
    dec, q = toyrd.optimize_generative(toy.px, e)
    assert abs(toyrd.elbo(toy.px, e, dec, q) + toy.entropy) < IDENTITY_TOL
    assert np.count_nonzero(q > 0) >= 2
    delta = np.zeros_like(q)
    delta[np.argmax(q)] = 1.0
    assert toyrd.elbo(toy.px, e, dec, delta) == -np.inf
