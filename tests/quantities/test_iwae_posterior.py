"""The implicit IWAE posterior q^(k)(z|x) of Chu's "Importance sampling" perspective, exact by
enumeration of the k draws.

Chu: sample z_1..z_k iid from e(·|x) and return z_j with probability ∝ w_j = p_d(x, z_j)/e(z_j|x);
the law of the returned state is q^(k)(z|x), and IWAE_k is an ELBO computed with it, so it
"converges to the true posterior p_d(z|x) as k → ∞". Exactly,
q^(k)(z|x) = Σ_{(z_1..z_k) ∈ Z^k} Π_i e(z_i|x) · Σ_j [z_j = z] w_j / Σ_i w_i, and (Domke &
Sheldon 2018, Thm. 2, via the chain rule for KL) KL(q^(k)(·|x) ‖ p_d(·|x)) ≤ log g(x) − IWAE_k(x):
the IWAE gap bounds the posterior error, so q^(k) → p_d(z|x) at the rate the IWAE gap closes.
"""

import itertools

import numpy as np
import pytest

import toyrd
from toyrd.testing import IDENTITY_TOL

K_MAX = 6


def _model(seed, n_x=5, n_z=4, alpha=0.7):
    rng = np.random.default_rng(seed)
    px = rng.dirichlet(np.ones(n_x))
    e = rng.dirichlet(np.full(n_z, alpha), size=n_x)
    d = rng.dirichlet(np.full(n_x, alpha), size=n_z)
    m = rng.dirichlet(np.ones(n_z))
    return px, e, d, m


def implicit_posterior(e, d, m, k):
    """q^(k)(z|x) (n_x, n_z) and the per-x IWAE_k(x) (n_x,), both by enumerating Z^k."""
    n_x, n_z = e.shape
    joint = (m[:, None] * d).T  # p_d(x, z), (n_x, n_z)
    w_all = joint / e  # importance weights (e > 0 here)
    q = np.zeros((n_x, n_z))
    iwae = np.zeros(n_x)
    for zs in itertools.product(range(n_z), repeat=k):
        zs = np.array(zs)
        prob = np.prod(e[:, zs], axis=1)  # (n_x,)
        w = w_all[:, zs]  # (n_x, k)
        total = w.sum(1)
        iwae += prob * np.log(total / k)
        for j in range(k):
            q[np.arange(n_x), zs[j]] += prob * w[:, j] / total
    return q, iwae


def _kl_rows(p, q):
    return np.array([toyrd.kl(a, b) for a, b in zip(p, q)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iwae_gap_bounds_the_kl_of_the_implicit_posterior_and_both_shrink_with_k(seed):
    px, e, d, m = _model(seed)
    post = toyrd.model_posterior(d, m)  # p_d(z|x), (n_x, n_z)
    log_g = np.log(toyrd.generative_marginal(d, m))
    kls = []
    for k in range(1, K_MAX + 1):
        q, iwae_x = implicit_posterior(e, d, m, k)
        np.testing.assert_allclose(q.sum(1), 1.0, rtol=0, atol=IDENTITY_TOL)  # 4^6 terms
        # the enumeration's IWAE_k is the library's (exact scheme), averaged over p*
        ref = toyrd.iwae_bound(px, e, d, m, k, method="exact").value
        assert abs(float(px @ iwae_x) - ref) < IDENTITY_TOL
        kl_x = _kl_rows(q, post)
        gap_x = log_g - iwae_x
        assert np.all(kl_x <= gap_x + IDENTITY_TOL), (k, kl_x, gap_x)
        if k == 1:  # q^(1) = e: the bound is the ELBO's gap, with equality
            np.testing.assert_allclose(q, e, rtol=0, atol=1e-15)
            np.testing.assert_allclose(kl_x, gap_x, rtol=0, atol=IDENTITY_TOL)
        kls.append(float(px @ kl_x))
    kls = np.array(kls)
    # measured on these three models (p*-averaged KL, nats, k = 1..6): 1.97 → 0.25,
    # 4.57 → 2.20, 0.70 → 0.069: strictly decreasing, KL_6 / KL_1 = 0.10–0.48
    assert np.all(np.diff(kls) < 0), kls
    assert kls[-1] < 0.6 * kls[0], kls


def test_posterior_encoder_gives_the_posterior_for_every_k():
    """If e(z|x) = p_d(z|x) every weight equals g(x), so q^(k) = p_d(z|x) for all k."""
    px, _, d, m = _model(3)
    post = toyrd.model_posterior(d, m)
    for k in (1, 2, 4):
        q, iwae_x = implicit_posterior(post, d, m, k)
        np.testing.assert_allclose(q, post, rtol=0, atol=1e-14)
        np.testing.assert_allclose(
            iwae_x, np.log(toyrd.generative_marginal(d, m)), rtol=0, atol=IDENTITY_TOL
        )
