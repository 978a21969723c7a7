"""Gradient estimators against the exact gradient (autograd of the exact objective built on
toyrd._formulas) at fixed parameters.

Unbiasedness (enumerate, reinforce) is first an identity: summing the estimator's gradient over
every minibatch and latent draw, weighted by its probability, gives ∇L to float64 rounding.
Then by Monte Carlo, per coordinate: with N independent minibatch
gradients, z_j = |ḡ_j − g*_j| / (s_j/√N) is ≈ |N(0,1)| for an unbiased estimator (CLT; the
per-minibatch gradients are bounded at fixed parameters), so by the union (Bonferroni) bound
max_j z_j ≤ k = bonferroni_k(P, ALPHA) fails with probability ≤ ALPHA = 1e-6 over all P
coordinates. The small problem (n_x = 8, n_z = 5, every p*(x) ≥ 0.03, every p*(x)e(z|x) seen
≥ 100 times) keeps each coordinate's mean close to normal (rare (x, z) pairs seen a handful of
times make the studentised z heavy-tailed and the bound meaningless): on the 30-bin toy some
bins have p*(x) ≈ 4e-4 and are seen only a few times, so there the test uses M random
projections u·ĝ (linear, so unbiased, and dominated by well-sampled coordinates) with
k = bonferroni_k(M, ALPHA).

The same statistic shows the Gumbel-softmax bias is measurable (it exceeds k by far) and that
it changes with the temperature (paired differences between τ values with common noise).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import toyrd  # noqa: E402
import toyrd.tables as fam  # noqa: E402
from toyrd.testing import IDENTITY_TOL
from toyrd.train.torch import (  # noqa: E402
    bonferroni_k,
    exact_gradient,
    expected_gradient,
    gradient_samples,
    gradient_stats,
    gradient_variance,  # noqa: E402
    gumbel_bias,
)

ALPHA = 1e-6
#: Agreement of the exact estimator's vmapped gradient with autograd (float64 rounding).
K_BIAS = 5.0
PX_SMALL = np.random.default_rng(0).dirichlet(np.full(8, 5.0))
N_X, N_Z = 8, 5


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _params(family, seed=1):
    return fam.get_family(family).init(seed, N_X, N_Z, 1.0)


@pytest.mark.parametrize("family", ["tabular", "bump"])
def test_exact_gradient_passes_gradcheck(family):
    """Autograd of the exact objective agrees with finite differences (torch.autograd.gradcheck)."""
    params = _params(family)
    keys = sorted(params)
    f = fam.get_family(family)
    px = torch.as_tensor(PX_SMALL)
    obj = toyrd.objectives.make_objective("beta", 0.7)

    def loss(*arrays):
        r, d = toyrd._formulas.rate_distortion(px, *f.tables(dict(zip(keys, arrays)), N_X))
        return obj(r, d)

    inputs = tuple(torch.as_tensor(params[k]).requires_grad_(True) for k in keys)
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-7, rtol=1e-6)
    g = exact_gradient(params, PX_SMALL, family=family, objective="beta", value=0.7)
    auto = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss(*inputs), inputs)]).numpy()
    np.testing.assert_allclose(g, auto, rtol=0, atol=IDENTITY_TOL)


def test_exact_estimator_samples_are_the_exact_gradient():
    params = _params("tabular")
    g = exact_gradient(params, PX_SMALL)
    s = gradient_samples(params, PX_SMALL, "exact", n=3, batch_size=2)
    np.testing.assert_allclose(s, np.broadcast_to(g, s.shape), rtol=0, atol=IDENTITY_TOL)


@pytest.mark.parametrize("family", ["tabular", "bump"])
@pytest.mark.parametrize(
    "estimator, batch_size, baseline, objective, value",
    [
        ("enumerate", 1, "none", "elbo", None),
        ("enumerate", 2, "none", "beta", 0.5),
        ("reinforce", 1, "none", "elbo", None),
        ("reinforce", 1, "ema", "beta", 2.0),
        ("reinforce", 2, "loo", "elbo", None),
        ("reinforce", 2, "loo", "rda", 0.5),
    ],
)
def test_expected_gradient_by_enumeration_is_the_exact_gradient(
    family, estimator, batch_size, baseline, objective, value
):
    """E[ĝ] summed over every minibatch (and latent draw) equals ∇L: unbiasedness as an identity."""
    params = _params(family)
    g = exact_gradient(params, PX_SMALL, family=family, objective=objective, value=value)
    mean = expected_gradient(
        params,
        PX_SMALL,
        estimator,
        batch_size=batch_size,
        family=family,
        objective=objective,
        value=value,
        baseline=baseline,
        baseline_value=(1.0, 2.0),
    )
    np.testing.assert_allclose(mean, g, rtol=0, atol=IDENTITY_TOL)


#: Monte Carlo version: a well-conditioned tabular problem (init scale 0.5) on which every (x, z)
#: pair is expected ≥ MIN_COUNT times among the N·B draws, so each coordinate's mean is near normal.
MIN_COUNT = 100


@pytest.mark.parametrize(
    "estimator, batch_size, n, baseline, objective, value",
    [
        ("enumerate", 4, 2000, "loo", "elbo", None),
        ("reinforce", 4, 8000, "loo", "elbo", None),
        ("reinforce", 1, 32000, "none", "beta", 2.0),
        ("reinforce", 2, 16000, "ema", "rda", 0.5),
    ],
)
def test_estimators_a_and_b_are_unbiased_monte_carlo(
    estimator, batch_size, n, baseline, objective, value
):
    params = fam.tabular.init(2, N_X, N_Z, 0.5)
    enc = fam.tabular.tables(params, N_X)[0]
    rarest = PX_SMALL.min() if estimator == "enumerate" else (PX_SMALL[:, None] * enc).min()
    assert (
        rarest * n * batch_size >= MIN_COUNT
    )  # enumerate samples only x; reinforce samples (x, z)
    g = exact_gradient(params, PX_SMALL, objective=objective, value=value)
    s = gradient_samples(
        params,
        PX_SMALL,
        estimator,
        n=n,
        batch_size=batch_size,
        seed=7,
        objective=objective,
        value=value,
        baseline=baseline,
        baseline_value=(1.0, 2.0),
    )
    st = gradient_stats(s, g, batch_size)
    assert st.variance > 0
    assert st.z_max <= bonferroni_k(g.size, ALPHA), (st.z_max, bonferroni_k(g.size, ALPHA))


@pytest.mark.parametrize("family", ["tabular", "bump"])
def test_unbiased_on_the_toy_by_random_projections(family):
    toy = toyrd.toy_data()
    params = fam.get_family(family).init(2, 30, 30, 1.0)
    g = exact_gradient(params, toy.px, family=family)
    directions = np.random.default_rng(11).standard_normal((16, g.size))
    k = bonferroni_k(directions.shape[0], ALPHA)
    for estimator, n in (("enumerate", 600), ("reinforce", 1500)):
        s = (
            gradient_samples(params, toy.px, estimator, n=n, batch_size=8, seed=3, family=family)
            @ directions.T
        )
        z = np.abs(s.mean(0) - directions @ g) / (s.std(0, ddof=1) / np.sqrt(n))
        assert z.max() <= k, (estimator, z.max(), k)


#: Gumbel checks: the well-conditioned problem of the Monte Carlo test, N_GUMBEL single-example
#: gradients (every (x, z) pair expected ≥ 46 times: z is the Gumbel-max sample).
N_GUMBEL = 8000


def _wc_params():
    return fam.tabular.init(2, N_X, N_Z, 0.5)


@pytest.mark.parametrize("straight_through", [False, True])
def test_the_test_has_power_gumbel_softmax_bias_is_measurable(straight_through):
    """Gumbel-softmax (relaxed and straight-through, τ = 3) fails the unbiasedness test that (a) and
    (b) pass, and its squared bias exceeds K_BIAS standard errors."""
    stats = gumbel_bias(
        _wc_params(), PX_SMALL, [3.0], straight_through=straight_through, n=N_GUMBEL, seed=5
    )[3.0]
    assert stats.z_max > bonferroni_k(stats.exact.size, ALPHA)
    assert stats.bias_sq > K_BIAS * stats.bias_sq_se


@pytest.mark.parametrize("straight_through", [False, True])
def test_gumbel_bias_changes_with_temperature(straight_through):
    """Paired (same noise) gradients at τ = 0.3 and τ = 3 differ in mean, and so do their biases."""
    params = _wc_params()
    name = "gumbel-st" if straight_through else "gumbel"
    g = exact_gradient(params, PX_SMALL)
    a = gradient_samples(params, PX_SMALL, name, n=N_GUMBEL, batch_size=1, seed=5, temperature=0.3)
    b = gradient_samples(params, PX_SMALL, name, n=N_GUMBEL, batch_size=1, seed=5, temperature=3.0)
    diff = a - b
    sd = diff.std(0, ddof=1)
    z = np.abs(diff.mean(0))[sd > 0] / (sd[sd > 0] / np.sqrt(N_GUMBEL))
    assert z.max() > bonferroni_k(diff.shape[1], ALPHA)
    lo, hi = gradient_stats(a, g, 1), gradient_stats(b, g, 1)
    assert abs(lo.bias_sq - hi.bias_sq) > K_BIAS * np.hypot(lo.bias_sq_se, hi.bias_sq_se)


#: REINFORCE with the leave-one-out baseline vs none, exact variance by enumeration (B = 2, the
#: small problem, init seed 1): measured Var(loo)/Var(none) = 0.36 (tabular, elbo), 0.42
#: (tabular, target rate), 0.51, 0.52 (bump). A baseline must lower it by at least this factor.
LOO_MAX_RATIO = 0.6
#: Regression pin of the exact Var(loo) (tabular, elbo): float64 enumeration of 1,600 minibatches,
#: reproducible to ~1e-15 relative; a baseline divided by B instead of B − 1, or taken from the
#: wrong sample, changes it at the percent level.
VAR_LOO_TABULAR_ELBO = 2.431753077016987
PIN_RTOL = 1e-9


@pytest.mark.parametrize("family", ["tabular", "bump"])
@pytest.mark.parametrize("objective, value", [("elbo", None), ("target_rate", 0.5)])
def test_loo_baseline_lowers_the_exact_reinforce_variance(family, objective, value):
    """A baseline leaves REINFORCE unbiased (the identity above) and exists to cut its variance:
    Σ_j Var ĝ_j, exact by enumeration, with ``loo`` is below LOO_MAX_RATIO × that without."""
    params = _params(family)
    var = {
        b: gradient_variance(
            params,
            PX_SMALL,
            "reinforce",
            batch_size=2,
            baseline=b,
            family=family,
            objective=objective,
            value=value,
        )
        for b in ("none", "loo")
    }
    assert 0 < var["loo"] < LOO_MAX_RATIO * var["none"], var
    if (family, objective) == ("tabular", "elbo"):
        assert abs(var["loo"] / VAR_LOO_TABULAR_ELBO - 1) < PIN_RTOL, var["loo"]


def test_exact_variance_is_what_gradient_stats_estimates():
    """gradient_stats' ``variance`` from N = 4000 minibatches agrees with the enumerated value
    within K_BIAS standard errors (taken from 20 disjoint groups of the samples); enumerate
    (exact sum over z, x sampled) has far less variance than reinforce (measured 0.24 vs 2.43)."""
    params = _params("tabular")
    exact_var = gradient_variance(params, PX_SMALL, "reinforce", batch_size=2, baseline="loo")
    s = gradient_samples(
        params, PX_SMALL, "reinforce", n=4000, batch_size=2, seed=11, baseline="loo"
    )
    st = gradient_stats(s, exact_gradient(params, PX_SMALL), 2)
    groups = [float(np.sum(b.var(0, ddof=1))) for b in np.array_split(s, 20)]
    se = np.std(groups, ddof=1) / np.sqrt(20)
    assert abs(st.variance - exact_var) <= K_BIAS * se, (st.variance, exact_var, se)
    enum_var = gradient_variance(params, PX_SMALL, "enumerate", batch_size=2)
    assert 0 < enum_var < 0.2 * exact_var
