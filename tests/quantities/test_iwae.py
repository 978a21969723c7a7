"""IWAE_k (toyrd.quantities): the chain ELBO = IWAE_1 ≤ IWAE_k ≤ IWAE_{k+1} ≤ Σ p* log g (Concepts),
closed forms, the three schemes against each other, and the boundary errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toyrd
from toyrd.quantities import IWAEResult, iwae_bound, log_likelihood_bound, multiset_count
from toyrd.testing import IDENTITY_TOL

#: float64 identities (sums of ≤ 10^6 terms of size ≤ 10 nats).
QUAD_TOL = 1e-11
#: Monte-Carlo checks: |mc - exact| ≤ K_SIGMA · stderr, fixed seeds.
K_SIGMA = 4.0
#: Monte-Carlo standard error against the exact standard deviation (see its test).
STDERR_RTOL = 0.05


def _stoch(rng, *shape, power=3.0):
    """Random row-stochastic tables, peaked (entries u^power) like a trained model's."""
    t = rng.random(shape) ** power
    return t / t.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def toy_model():
    """A trained-like random 30 × 30 model on the toy's p*."""
    rng = np.random.default_rng(20260)
    px = toyrd.toy_data().px
    return px, _stoch(rng, 30, 30), _stoch(rng, 30, 30), _stoch(rng, 30)


@pytest.fixture(scope="module")
def chain(toy_model):
    px, e, d, m = toy_model
    exact = [iwae_bound(px, e, d, m, k, method="exact") for k in (1, 2, 3, 4)]
    quad = [iwae_bound(px, e, d, m, k, method="quad") for k in (1, 2, 3, 4, 8, 64, 1000, 10**5)]
    return exact, quad


def test_iwae1_is_the_elbo(toy_model, chain):
    px, e, d, m = toy_model
    elbo = toyrd.elbo(px, e, d, m)
    exact, quad = chain
    assert abs(exact[0].value - elbo) < IDENTITY_TOL
    assert abs(quad[0].value - elbo) < QUAD_TOL


def test_chain_is_increasing_and_below_the_likelihood(toy_model, chain):
    """ELBO = IWAE_1 < IWAE_2 < ... < IWAE_{10^5} < Σ p* log g (strict for this model)."""
    px, e, d, m = toy_model
    exact, quad = chain
    values = [r.value for r in exact] + [r.value for r in quad[4:]]
    assert np.all(np.diff(values) > 0)
    assert values[-1] < log_likelihood_bound(px, d, m)
    assert all(r.exact and r.stderr == 0.0 for r in exact + quad)
    assert [r.method for r in exact] == ["exact"] * 4 and quad[-1].method == "quad"


def test_quadrature_matches_enumeration(chain):
    exact, quad = chain
    for a, b in zip(exact, quad[:4], strict=True):
        assert abs(a.value - b.value) < QUAD_TOL


def test_quadrature_survives_weights_spanning_450_decades():
    """e(z|x) = 1e-200 and m(z) = 1e-250 on other states: weights from 1e-250 to 1e200 relative
    to their mean; no overflow, and quadrature still equals enumeration (to 1e-11 relative)."""
    px = np.array([1.0])
    e = np.array([[0.5, 0.5 - 1e-200, 1e-200]])
    d = np.ones((3, 1))
    m = np.array([1e-250, 0.5, 0.5 - 1e-250])
    for k in (1, 2, 3):
        a = iwae_bound(px, e, d, m, k, method="exact").value
        b = iwae_bound(px, e, d, m, k, method="quad").value
        assert abs(a - b) < QUAD_TOL * abs(a)
    assert abs(iwae_bound(px, e, d, m, 1).value - toyrd.elbo(px, e, d, m)) < IDENTITY_TOL * 300


def test_large_k_follows_the_delta_method():
    """IWAE_k = L - Σ p* σ²_x/(2k) + Σ p* (μ3_x/3 - 3σ⁴_x/4)/k² + O(k⁻³) for normalised weights
    w/E w with variance σ² and third central moment μ3 (expanding E log of a sample mean);
    the O(k⁻²) term bounds what is left of the O(1/k) law, with a factor 2 for the O(k⁻³) rest."""
    rng = np.random.default_rng(7)
    px = rng.dirichlet(np.full(6, 5.0))
    e, d, m = (
        rng.dirichlet(np.full(5, 5.0), 6),
        rng.dirichlet(np.full(6, 5.0), 5),
        rng.dirichlet(np.full(5, 5.0)),
    )
    w = (m[:, None] * d).T / e
    a = w / (e * w).sum(1, keepdims=True) - 1
    s2, m3 = (e * a**2).sum(1), (e * a**3).sum(1)
    big = log_likelihood_bound(px, d, m)
    k = 10**4
    gap = big - iwae_bound(px, e, d, m, k).value
    second = abs(px @ (m3 / 3 - 0.75 * s2**2)) / k**2
    assert abs(gap - px @ s2 / (2 * k)) <= 2 * second


def test_two_samples_by_hand():
    """One data state, two latent states: IWAE_2 = a² log w1 + b² log w2 + 2ab log((w1 + w2)/2)."""
    px = np.array([1.0])
    e = np.array([[0.3, 0.7]])
    d = np.array([[1.0], [1.0]])
    m = np.array([0.6, 0.4])
    w1, w2 = 0.6 / 0.3, 0.4 / 0.7
    want = 0.09 * math.log(w1) + 0.49 * math.log(w2) + 0.42 * math.log((w1 + w2) / 2)
    for method in ("exact", "quad"):
        assert abs(iwae_bound(px, e, d, m, 2, method=method).value - want) < IDENTITY_TOL


@pytest.mark.parametrize("k", [1, 3, 50])
def test_optimal_generative_model_makes_every_k_equal_minus_h(toy_model, k):
    """With d = p_e(x|z), m = q: p_d(x,z) = p*(x) e(z|x), so every weight is p*(x) and
    IWAE_k = Σ p* log p* = -H for all k, with zero Monte-Carlo variance."""
    px, e, _, _ = toy_model
    d, m = toyrd.optimize_generative(px, e)
    h = toyrd.data_entropy(px)
    for method in ("auto", "quad", "mc"):
        r = iwae_bound(px, e, d, m, k, method=method, n_samples=16)
        assert abs(r.value + h) < IDENTITY_TOL
        assert r.stderr < IDENTITY_TOL


def test_posterior_encoder_makes_the_bound_tight(toy_model):
    """e = p_d(z|x) gives weights g(x): IWAE_k = Σ p* log g = ELBO for every k."""
    px, _, d, m = toy_model
    e = toyrd.e_step(d, m)
    target = log_likelihood_bound(px, d, m)
    assert abs(toyrd.elbo(px, e, d, m) - target) < IDENTITY_TOL
    for k in (2, 4, 30):
        assert abs(iwae_bound(px, e, d, m, k).value - target) < IDENTITY_TOL


def test_monte_carlo_agrees_with_exact_and_quadrature(toy_model, chain):
    px, e, d, m = toy_model
    exact, quad = chain
    mc3 = iwae_bound(px, e, d, m, 3, method="mc", n_samples=4000, seed=1)
    assert not mc3.exact and mc3.method == "mc" and mc3.n_samples == 4000 and mc3.stderr > 0
    assert abs(mc3.value - exact[2].value) <= K_SIGMA * mc3.stderr
    mc64 = iwae_bound(px, e, d, m, 64, method="mc", n_samples=1000, seed=2)
    assert abs(mc64.value - quad[5].value) <= K_SIGMA * mc64.stderr
    again = iwae_bound(px, e, d, m, 64, method="mc", n_samples=1000, seed=2)
    assert again == mc64  # reproducible from the seed


def test_auto_enumerates_small_cases_and_integrates_large_ones(toy_model):
    px, e, d, m = toy_model
    assert iwae_bound(px, e, d, m, 4).method == "exact"  # 30 · C(33, 4) = 1,227,600 multisets
    assert iwae_bound(px, e, d, m, 5).method == "quad"
    assert multiset_count(30, 4) == 40920
    with pytest.raises(toyrd.ToyrdError, match="exact enumeration needs"):
        iwae_bound(px, e, d, m, 3, method="exact", max_terms=100)


def test_zero_weight_on_the_support_gives_minus_infinity():
    px = np.array([0.5, 0.5])
    e = np.array([[0.5, 0.5], [0.5, 0.5]])
    d = np.array([[1.0, 0.0], [0.5, 0.5]])  # d(x=1|z=0) = 0 while e(z=0|x=1) > 0
    m = np.array([0.5, 0.5])
    assert toyrd.elbo(px, e, d, m) == -math.inf
    for method in ("exact", "quad", "mc"):
        r = iwae_bound(px, e, d, m, 3, method=method)
        assert r.value == -math.inf and r.method == "infinite"


def test_latent_relabelling_changes_nothing(toy_model):
    px, e, d, m = toy_model
    perm = np.random.default_rng(3).permutation(30)
    for k in (2, 7):
        a = iwae_bound(px, e, d, m, k).value
        b = iwae_bound(px, e[:, perm], d[perm], m[perm], k).value
        assert abs(a - b) < IDENTITY_TOL


@settings(max_examples=60)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_property_schemes_agree_and_chain_holds(n_x, n_z, k, seed):
    """Random small models (encoders with zeros included): enumeration = quadrature, and
    IWAE_k ≤ IWAE_{k+1} ≤ Σ p* log g (Burda et al. 2016, Theorem 1)."""
    rng = np.random.default_rng(seed)
    px = rng.dirichlet(np.ones(n_x))
    e = rng.random((n_x, n_z)) * (rng.random((n_x, n_z)) < 0.7)
    e[np.arange(n_x), rng.integers(0, n_z, n_x)] += 0.1  # every row keeps some mass
    e /= e.sum(1, keepdims=True)
    d, m = rng.dirichlet(np.ones(n_x), n_z), rng.dirichlet(np.ones(n_z))
    a = iwae_bound(px, e, d, m, k, method="exact")
    b = iwae_bound(px, e, d, m, k, method="quad")
    assert abs(a.value - b.value) < QUAD_TOL
    nxt = iwae_bound(px, e, d, m, k + 1, method="exact")
    assert nxt.value >= a.value - IDENTITY_TOL
    assert nxt.value <= log_likelihood_bound(px, d, m) + IDENTITY_TOL


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), "k: 0"),
        (dict(k=2.5), "k: 2.5"),
        (dict(k=True), "k: True"),
        (dict(k=2, method="bogus"), "method"),
        (dict(k=2, method="mc", n_samples=1), "n_samples"),
    ],
)
def test_bad_arguments(toy_model, kwargs, match):
    px, e, d, m = toy_model
    with pytest.raises(toyrd.ToyrdError, match=match):
        iwae_bound(px, e, d, m, **kwargs)


def test_bad_tables_are_rejected(toy_model):
    px, e, d, m = toy_model
    with pytest.raises(toyrd.TableError, match="encoder row 0"):
        iwae_bound(px, e * 1.01, d, m, 2)
    with pytest.raises(toyrd.TableError, match="decoder: shape"):
        iwae_bound(px, e, np.full((30, 5), 0.2), m, 2)
    with pytest.raises(toyrd.TableError, match="decoder: shape"):
        log_likelihood_bound(px, d[:5], m)
    assert isinstance(iwae_bound(px, e, d, m, 1), IWAEResult)


def test_monte_carlo_blocks_do_not_change_the_draws():
    """Large k is sampled in blocks of rows; the generator is consumed as by one (n, k) draw."""
    from toyrd.quantities._iwae import _lse, _mc_one

    rng = np.random.default_rng(8)
    pe, logw = rng.dirichlet(np.ones(4)), rng.normal(size=4)
    k, n = (1 << 20) + 1, 4  # blocks of 3 rows
    got = _mc_one(pe, logw, k, n, np.random.default_rng(9))
    cdf = np.cumsum(pe)
    cdf[-1] = 1.0
    idx = np.minimum(np.searchsorted(cdf, np.random.default_rng(9).random((n, k)), side="right"), 3)
    vals = _lse(logw[idx]) - math.log(k)
    assert got == (float(vals.mean()), float(vals.var(ddof=1)))


# ----------------------------------------------------------------------------- mutation survivors


def _exact_sd_of_the_estimate(px, e, d, m, k, n):
    """The true standard deviation of the stratified Monte-Carlo estimate with n draws per x:
    sqrt(Σ_x p*(x)² Var_x / n), Var_x the variance of log (1/k) Σ_i w(x, z_i) under z_i iid
    e(·|x), by enumerating all ordered k-tuples (k ≤ 2 here)."""
    joint = m[:, None] * d  # p_d(z, x)
    total = 0.0
    for x in np.flatnonzero(px > 0):
        sup = np.flatnonzero(e[x] > 0)
        pe, logw = e[x, sup], np.log(joint[sup, x]) - np.log(e[x, sup])
        if k == 1:
            prob, val = pe, logw
        else:
            prob = np.outer(pe, pe).ravel()
            val = (np.logaddexp.outer(logw, logw) - math.log(2)).ravel()
        mean = prob @ val
        total += px[x] ** 2 * (prob @ (val - mean) ** 2)
    return math.sqrt(total / n)


@pytest.mark.parametrize("k", [1, 2])
def test_monte_carlo_stderr_matches_the_exact_variance(toy_model, k):
    """stderr = sqrt(Σ_x p*(x)² s_x² / n) estimates the estimator's true standard deviation,
    which enumeration gives exactly for k ≤ 2. With n = 4,000 draws per x the sample variances
    are within a few per cent (measured ratios 0.99–1.01 over seeds); STDERR_RTOL = 0.05 still
    fails a stderr inflated by √n or weighted by p*(x) instead of p*(x)² (factors ≥ 7), and the
    mean error is held to the true sd, not to the reported one."""
    px, e, d, m = toy_model
    n = 4000
    true_sd = _exact_sd_of_the_estimate(px, e, d, m, k, n)
    exact = iwae_bound(px, e, d, m, k, method="exact").value
    for seed in (1, 2, 3):
        mc = iwae_bound(px, e, d, m, k, method="mc", n_samples=n, seed=seed)
        assert abs(mc.stderr / true_sd - 1) < STDERR_RTOL
        assert abs(mc.value - exact) <= K_SIGMA * true_sd


def test_boundaries_of_the_scheme_choice():
    """``auto`` enumerates when the multisets number at most ``max_terms`` (the boundary itself
    included); ``exact`` refuses more than 50 × max_terms and says so; every exact result reports
    n_samples = 0 and stderr = 0."""
    rng = np.random.default_rng(5)
    px = np.array([1.0])
    e = rng.dirichlet(np.ones(24))[None]  # one data state, 24 distinct log-weights
    d, m = np.ones((24, 1)), rng.dirichlet(np.ones(24))
    terms = multiset_count(24, 2)  # 300 = 50 · 6
    assert iwae_bound(px, e, d, m, 2, max_terms=terms).method == "exact"
    assert iwae_bound(px, e, d, m, 2, max_terms=terms - 1).method == "quad"
    r = iwae_bound(px, e, d, m, 2, method="exact", max_terms=terms // 50)  # exactly 50×: allowed
    assert r.method == "exact" and r.n_samples == 0 and r.stderr == 0.0
    with pytest.raises(toyrd.ToyrdError, match=r"needs 300 multisets \(limit 250\)"):
        iwae_bound(px, e, d, m, 2, method="exact", max_terms=terms // 50 - 1)
    q = iwae_bound(px, e, d, m, 2, method="quad")
    assert q.method == "quad" and q.n_samples == 0 and q.stderr == 0.0 and q.exact


def test_monte_carlo_defaults_and_the_smallest_sample():
    """n_samples defaults to 4096 and seed to 0; two draws per x (the fewest with a variance)
    are accepted, one is not."""
    rng = np.random.default_rng(6)
    px, e = np.array([0.4, 0.6]), rng.dirichlet(np.ones(3), 2)
    d, m = rng.dirichlet(np.ones(2), 3), rng.dirichlet(np.ones(3))
    r = iwae_bound(px, e, d, m, 2, method="mc")
    assert r.n_samples == 4096 and r == iwae_bound(
        px, e, d, m, 2, method="mc", seed=0, n_samples=4096
    )
    two = iwae_bound(px, e, d, m, 2, method="mc", n_samples=2)
    assert two.n_samples == 2 and math.isfinite(two.stderr)
    with pytest.raises(toyrd.ToyrdError, match="n_samples: 1, expected an integer >= 2"):
        iwae_bound(px, e, d, m, 2, method="mc", n_samples=1)


def test_data_states_without_mass_are_ignored():
    """A data state with p*(x) = 0 contributes nothing, even where its own weights would be 0
    (they would make IWAE_k = -inf if it counted)."""
    px = np.array([0.5, 0.5, 0.0])
    e = np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    d = np.array([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])  # d(x=2|z) = 0 on the support of e(·|2)
    m = np.array([0.5, 0.5])
    for method in ("exact", "quad", "mc"):
        r = iwae_bound(px, e, d, m, 3, method=method)
        assert math.isfinite(r.value) and r.method == method
    assert abs(iwae_bound(px, e, d, m, 1).value - toyrd.elbo(px, e, d, m)) < IDENTITY_TOL


def test_enumeration_in_chunks_covers_every_multiset():
    """One data state with 30 states at k = 5 has C(34, 5) = 278,256 multisets, more than one
    chunk of 2^18: the chunked sum still equals quadrature."""
    rng = np.random.default_rng(7)
    px = np.array([1.0])
    e = (rng.random(30) ** 2)[None]
    e /= e.sum()
    d, m = np.ones((30, 1)), rng.dirichlet(np.ones(30))
    assert multiset_count(30, 5) > 1 << 18
    a = iwae_bound(px, e, d, m, 5, method="exact")
    b = iwae_bound(px, e, d, m, 5, method="quad")
    assert abs(a.value - b.value) < QUAD_TOL


def test_monte_carlo_beyond_one_block_row():
    """k > 2^22 draws per row: blocks of one row each (not of zero rows)."""
    from toyrd.quantities._iwae import _mc_one

    pe, logw = np.array([0.25, 0.75]), np.array([0.3, -0.1])
    mean, var = _mc_one(pe, logw, (1 << 22) + 1, 2, np.random.default_rng(1))
    assert abs(mean - math.log(pe @ np.exp(logw))) < 1e-3 and var >= 0


def _binomial_iwae(px, e, d, m, k):
    """IWAE_k of a model whose encoder rows have two states, by the binomial sum: for k draws
    with j on state 0, (1/k) Σ_i w_i = (j w₀ + (k − j) w₁) / k. An implementation independent of
    toyrd's (scipy's binomial pmf; the log taken as log c + log1p(S/(kc) − 1), c = E w, so its
    rounding is relative to the small deviations, not to log c)."""
    from scipy import stats

    total = []
    for x in range(px.size):
        w = m * d[:, x] / e[x]
        c = e[x] @ w
        j = np.arange(k + 1)
        pmf = stats.binom.pmf(j, k, e[x, 0])
        mean = (j * w[0] + (k - j) * w[1]) / (k * c)
        total.append(px[x] * (math.log(c) + math.fsum(pmf * np.log1p(mean - 1.0))))
    return math.fsum(total)


#: Two-state models for the large-k check: the weight spread 1e2–1e4, a rare large weight
#: (e = 1e-4), and marginal likelihoods g(x) from 1e-3 to 0.9 (the weights' mean c is g(x)).
_TWO_STATE = [
    (
        np.array([0.3, 0.7]),
        np.array([[1e-4, 1 - 1e-4], [0.5, 0.5]]),
        np.array([[0.999, 0.001], [0.2, 0.8]]),
        np.array([0.05, 0.95]),
    ),
    (
        np.array([0.5, 0.5]),
        np.array([[0.9, 0.1], [0.01, 0.99]]),
        np.array([[0.998, 0.002], [1e-3, 0.999]]),
        np.array([0.5, 0.5]),
    ),
]

#: Quadrature against the binomial sum for k up to 10^6: measured ≤ 5e-15 on these models;
#: 1e-13 leaves a 20x margin for the k-fold amplification of rounding in k ψ(t/k).
LARGE_K_TOL = 1e-13


@pytest.mark.parametrize("model", range(len(_TWO_STATE)))
def test_quadrature_matches_the_binomial_sum_up_to_k_1e6(model):
    """Quadrature's cost and accuracy do not depend on k: for two-state encoder rows the exact
    IWAE_k is a binomial sum, computable for any k; quadrature matches it to LARGE_K_TOL from
    k = 1 to 10^6 (and the binomial sum matches enumeration where both run)."""
    px, e, d, m = _TWO_STATE[model]
    for k in (1, 2, 5):
        exact = iwae_bound(px, e, d, m, k, method="exact").value
        assert abs(_binomial_iwae(px, e, d, m, k) - exact) < IDENTITY_TOL
    for k in (10, 100, 10**3, 10**4, 10**5, 10**6):
        quad = iwae_bound(px, e, d, m, k, method="quad").value
        assert abs(quad - _binomial_iwae(px, e, d, m, k)) < LARGE_K_TOL, k


def test_infinite_bound_reports_no_sampling():
    """IWAE_k = -inf is exact: stderr 0 and n_samples 0, whatever the method asked for."""
    px, e, m = np.array([0.5, 0.5]), np.full((2, 2), 0.5), np.array([0.5, 0.5])
    d = np.array([[1.0, 0.0], [0.5, 0.5]])
    for method in ("exact", "quad", "mc"):
        r = iwae_bound(px, e, d, m, 3, method=method)
        assert (r.value, r.stderr, r.exact, r.n_samples) == (-math.inf, 0.0, True, 0)


def test_limits_of_the_integer_arguments():
    """max_terms >= 1 (0 refused, 1 accepted); the seed is checked (>= 0) with method='mc', the
    only method that draws."""
    rng = np.random.default_rng(8)
    px, e = np.array([0.4, 0.6]), rng.dirichlet(np.ones(3), 2)
    d, m = rng.dirichlet(np.ones(2), 3), rng.dirichlet(np.ones(3))
    with pytest.raises(toyrd.ToyrdError, match=r"^max_terms: 0, expected an integer >= 1$"):
        iwae_bound(px, e, d, m, 2, max_terms=0)
    assert iwae_bound(px, e, d, m, 2, max_terms=1).method == "quad"
    with pytest.raises(toyrd.ToyrdError, match=r"^seed: -1, expected an integer >= 0$"):
        iwae_bound(px, e, d, m, 2, method="mc", seed=-1)
    assert iwae_bound(px, e, d, m, 2, method="mc", seed=0).method == "mc"


def test_exact_refuses_beyond_exactly_50_times_max_terms():
    """50 states at k = 2 need C(51, 2) = 1275 = 51 × 25 multisets: with max_terms = 25 that is
    over the limit 50 × 25 = 1250 (refused), with max_terms = 26 it is within 1300."""
    rng = np.random.default_rng(9)
    px, e = np.array([1.0]), rng.dirichlet(np.ones(50))[None]
    d, m = np.ones((50, 1)), rng.dirichlet(np.ones(50))
    assert multiset_count(50, 2) == 1275
    with pytest.raises(toyrd.ToyrdError, match=r"needs 1275 multisets \(limit 1250\)"):
        iwae_bound(px, e, d, m, 2, method="exact", max_terms=25)
    assert iwae_bound(px, e, d, m, 2, method="exact", max_terms=26).method == "exact"


def test_auto_enumerates_up_to_two_million_multisets_by_default():
    """The default limit is EXACT_MAX_TERMS = 2,000,000 multisets: four data states with 1999,
    44, 4 and 1 distinct weights need C(2000, 2) + C(45, 2) + C(5, 2) + 1 = 2,000,001 at k = 2
    (integrated); without the last state, exactly 2,000,000 (enumerated)."""
    rng = np.random.default_rng(10)
    sizes = (1999, 44, 4, 1)
    n_z = sizes[0]
    e = np.zeros((4, n_z))
    for x, s in enumerate(sizes):
        e[x, :s] = rng.dirichlet(np.ones(s))
    d, m = rng.dirichlet(np.ones(4), n_z), rng.dirichlet(np.ones(n_z))
    assert sum(multiset_count(s, 2) for s in sizes) == 2_000_001
    assert iwae_bound(np.full(4, 0.25), e, d, m, 2).method == "quad"
    px = np.array([1 / 3, 1 / 3, 1 / 3, 0.0])  # a state without mass is not enumerated
    assert iwae_bound(px, e, d, m, 2).method == "exact"
