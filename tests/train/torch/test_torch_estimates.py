"""Minibatch estimates of R, D and the ELBO agree with the exact values (fixed parameters).

Each sampled estimator's per-example terms r(x, z), d(x, z) are iid with mean R, D (enumerate:
per-x terms, mean over x ~ p*). With n terms, sample standard deviation s and K_SIGMA = 5,
|mean − exact| ≤ K_SIGMA · s/√n fails with probability ≈ 6e-7 per check under the CLT (the
terms are bounded for fixed parameters, n = 20,000), and the seeds are fixed.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import toyrd  # noqa: E402
from toyrd.testing import IDENTITY_TOL
from toyrd.train.torch import TorchVAE, draw_minibatch, estimate_rd, export_tables  # noqa: E402

K_SIGMA = 5.0
N_TERMS = 20_000
#: float64 identity between the exact estimator and toyrd.evaluate.
UNBIASED_VALUES = ("enumerate", "reinforce", "gumbel-st")


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _per_example(tables, name, seed, n=N_TERMS, temperature=1.0):
    px = torch.as_tensor(toyrd.toy_data().px)
    x, g = draw_minibatch(torch.Generator().manual_seed(seed), px, (n, 1), tables[2].shape[0])
    f = torch.func.vmap(
        lambda xi, gi: torch.stack(
            estimate_rd(tables, (xi, gi), name, temperature=temperature, baseline="none")
        )
    )
    with torch.no_grad():
        rd = f(x, g)
    return rd[:, 0].numpy(), rd[:, 1].numpy()


@pytest.mark.parametrize("family, seed", [("tabular", 1), ("bump", 2)])
def test_exact_estimator_is_toyrd_evaluate(family, seed):
    toy = toyrd.toy_data()
    vae = TorchVAE(family, seed=seed)
    with torch.no_grad():
        r, d = estimate_rd(vae.tables(), None, "exact", px=torch.as_tensor(toy.px))
    ref = toyrd.evaluate(toy.px, *export_tables(vae))
    assert abs(float(r) - ref["R"]) <= IDENTITY_TOL and abs(float(d) - ref["D"]) <= IDENTITY_TOL


@pytest.mark.parametrize("name", UNBIASED_VALUES)
@pytest.mark.parametrize("family, seed", [("tabular", 1), ("bump", 2)])
def test_minibatch_estimates_match_exact_values(name, family, seed):
    toy = toyrd.toy_data()
    vae = TorchVAE(family, seed=seed)
    with torch.no_grad():
        tables = vae.tables()
    ref = toyrd.evaluate(toy.px, *export_tables(vae))
    r, d = _per_example(tables, name, seed=100 + seed)
    for terms, exact in ((r, ref["R"]), (d, ref["D"]), (-(r + d), ref["ELBO"])):
        s = terms.std(ddof=1)
        assert s > 0
        assert abs(terms.mean() - exact) <= K_SIGMA * s / np.sqrt(N_TERMS), (
            name,
            terms.mean(),
            exact,
        )


def test_minibatch_mean_is_the_mean_of_per_example_terms():
    """estimate_rd on a batch of B returns the average of the B single-example estimates."""
    vae = TorchVAE("tabular", seed=4)
    with torch.no_grad():
        tables = vae.tables()
    px = torch.as_tensor(toyrd.toy_data().px)
    x, g = draw_minibatch(torch.Generator().manual_seed(9), px, 16, 30)
    for name in ("enumerate", "reinforce", "gumbel", "gumbel-st"):
        with torch.no_grad():
            r, d = estimate_rd(tables, (x, g), name, temperature=0.5, baseline="loo")
            singles = [
                estimate_rd(
                    tables, (x[i : i + 1], g[i : i + 1]), name, temperature=0.5, baseline="none"
                )
                for i in range(16)
            ]
        assert abs(float(r) - np.mean([float(s[0]) for s in singles])) <= IDENTITY_TOL
        assert abs(float(d) - np.mean([float(s[1]) for s in singles])) <= IDENTITY_TOL


def test_relaxed_gumbel_values_tend_to_the_one_hot_sample_as_temperature_falls():
    """At τ → 0 the relaxed y becomes the one-hot Gumbel-max sample, so the relaxed terms become
    the straight-through (one-hot) terms of the same noise; at τ = 1 they differ. Per example the
    gap is ~ exp(−Δ/τ) with Δ the margin between the two largest perturbed logits, so a rare
    near-tie stays relaxed at any τ: the median over examples is compared, not the maximum."""
    vae = TorchVAE("tabular", seed=3)
    with torch.no_grad():
        tables = vae.tables()
    hard = np.stack(_per_example(tables, "gumbel-st", seed=5, n=2000))
    cold = np.stack(_per_example(tables, "gumbel", seed=5, n=2000, temperature=1e-3))
    warm = np.stack(_per_example(tables, "gumbel", seed=5, n=2000, temperature=1.0))
    err_cold = np.median(np.abs(cold - hard), axis=1)
    err_warm = np.median(np.abs(warm - hard), axis=1)
    assert err_cold.max() < 1e-9 and err_warm.min() > 1e-3
