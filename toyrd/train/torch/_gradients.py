r"""Gradient estimators checked against the exact gradient, for fixed parameters.

For parameters θ (a family's parameter dict) and an objective L(R, D), the exact gradient
:math:`\nabla L(\theta)` is autograd of ``objective(*rate_distortion(px, *family.tables(θ)))`` —
full enumeration over x and z through :mod:`toyrd._formulas`. An estimator gives one random
gradient :math:`\hat g` per minibatch; :func:`gradient_samples` draws N independent minibatches
(explicit generator) and returns the N × P matrix of :math:`\hat g` (torch.func.vmap over
minibatches, flattened in sorted-key order).

:func:`gradient_stats` summarises them against :math:`g^* = \nabla L`:

* ``bias`` = :math:`\bar g - g^*` ``(P,)`` and its squared norm, with the Monte-Carlo part
  removed: ``bias_sq`` = :math:`\lVert\bar g - g^*\rVert^2 - \sum_j s_j^2/N` is an unbiased
  estimate of :math:`\lVert E\hat g - g^*\rVert^2` (:math:`s_j^2` the sample variance of
  coordinate j), with a standard error ``bias_sq_se`` from groups of the samples (see the
  function);
* ``variance`` = :math:`\sum_j s_j^2 = E\lVert\hat g - E\hat g\rVert^2` (total variance, per
  minibatch) and ``mse`` = :math:`E\lVert\hat g - g^*\rVert^2` = variance +
  :math:`\lVert\mathrm{bias}\rVert^2`;
* ``z_max`` = :math:`\max_j |\bar g_j - g^*_j| / (s_j/\sqrt N)`: an unbiased estimator makes each
  :math:`z_j \approx N(0, 1)`, so ``z_max`` stays below the Bonferroni bound :func:`bonferroni_k`
  (P, α) with probability :math:`\ge 1 - \alpha`.

Identity (example): the ``exact`` estimator has no noise, so its samples all equal :math:`g^*` and
``bias_sq == variance == 0``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from toyrd.errors import ToyrdError
from toyrd.objectives import make_objective
from toyrd.tables import get_family
from toyrd.train.torch._estimators import check_estimator, draw_minibatch, estimate_rd

__all__ = [
    "GradientStats",
    "exact_gradient",
    "gradient_samples",
    "gradient_stats",
    "bonferroni_k",
    "gumbel_bias",
    "expected_gradient",
    "gradient_variance",
]

#: Gumbel noise that forces the Gumbel-max sample to a chosen z (log-probabilities are ≥ −745).
_FORCE = 1e4


class GradientStats(NamedTuple):
    n: int  # number of gradient samples (minibatches)
    batch_size: int
    exact: np.ndarray  # g* (P,)
    mean: np.ndarray  # ḡ (P,)
    std: np.ndarray  # s_j (P,), per-minibatch standard deviation
    bias_sq: float  # unbiased estimate of ‖E ĝ − g*‖²
    bias_sq_se: float  # its standard error
    variance: float  # Σ_j s_j²
    mse: float  # variance + bias_sq
    z_max: float  # max_j |ḡ_j − g*_j| √N / s_j
    exact_norm: float  # ‖g*‖


def _as_tensors(params: dict, dtype=torch.float64) -> dict:
    return {
        k: torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype) for k, v in params.items()
    }


def _loss_fn(family, n_x, objective, estimator, px, temperature, baseline, baseline_value):
    def loss(params, x, g):
        tables = family.tables(params, n_x)
        batch = None if estimator == "exact" else (x, g)
        r, d = estimate_rd(
            tables,
            batch,
            estimator,
            px=px,
            temperature=temperature,
            baseline=baseline,
            baseline_value=baseline_value,
        )
        return objective(r, d)

    return loss


def exact_gradient(
    params: dict, px, *, family="tabular", objective="elbo", value=None
) -> np.ndarray:
    """g* = ∇_θ L(R(θ), D(θ)) by autograd through the exact formulas, flattened (sorted keys)."""
    fam, obj = get_family(family), make_objective(objective, value)
    p = {k: v.requires_grad_(True) for k, v in _as_tensors(params).items()}
    px_t = torch.as_tensor(np.asarray(px, dtype=np.float64))
    r, d = estimate_rd(fam.tables(p, px_t.shape[0]), None, "exact", px=px_t)
    grads = torch.autograd.grad(obj(r, d), [p[k] for k in sorted(p)])
    return torch.cat([g.reshape(-1) for g in grads]).numpy()


def gradient_samples(
    params: dict,
    px,
    estimator: str,
    *,
    n: int,
    batch_size: int,
    seed: int = 0,
    family="tabular",
    objective="elbo",
    value=None,
    temperature: float = 1.0,
    baseline: str = "loo",
    baseline_value=(0.0, 0.0),
    chunk_size: int = 256,
) -> np.ndarray:
    """N independent minibatch gradients of ``estimator`` at fixed ``params``: array (N, P).

    Minibatch i uses x_i1..x_iB ~ :math:`p^*(x)` and Gumbel noise from
    ``torch.Generator().manual_seed(seed)``.
    """
    check_estimator(estimator, baseline, batch_size, temperature)
    fam, obj = get_family(family), make_objective(objective, value)
    p = _as_tensors(params)
    px_t = torch.as_tensor(np.asarray(px, dtype=np.float64))
    n_x = px_t.shape[0]
    n_z = int(fam.tables(p, n_x)[2].shape[0])
    gen = torch.Generator().manual_seed(int(seed))
    x, g = draw_minibatch(gen, px_t, (int(n), int(batch_size)), n_z)
    bv = torch.as_tensor(baseline_value, dtype=torch.float64)
    loss = _loss_fn(fam, n_x, obj, estimator, px_t, temperature, baseline, bv)
    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0), chunk_size=chunk_size)(
        p, x, g
    )
    return torch.cat([grads[k].reshape(int(n), -1) for k in sorted(grads)], dim=1).numpy()


def expected_gradient(
    params: dict,
    px,
    estimator: str,
    *,
    batch_size: int = 1,
    family="tabular",
    objective="elbo",
    value=None,
    baseline: str = "none",
    baseline_value=(0.0, 0.0),
    chunk_size: int = 1024,
) -> np.ndarray:
    r""":math:`E[\hat g]` of a discrete-noise estimator (``enumerate``, ``reinforce``) exactly, by
    enumerating every minibatch: the sum over :math:`(x_1, \dots, x_B) \in X^B` [and
    :math:`(z_1, \dots, z_B) \in Z^B` for reinforce] of
    :math:`\prod_b p^*(x_b)\, [e(z_b|x_b)] \cdot \hat g(x, z)`. Unbiasedness is then the identity
    :math:`E[\hat g] = \nabla L` (float64).

    There are :math:`n_x^B` (:math:`n_z^B`) terms: for small problems and :math:`B \le 2` only.
    The reinforce sample :math:`z_b` is forced through its Gumbel noise (:math:`g = 10^4` at
    :math:`z_b`, 0 elsewhere), so the estimator code is the
    one the trainer runs.
    """
    weight, flat = _enumerated(
        params,
        px,
        estimator,
        batch_size,
        family,
        objective,
        value,
        baseline,
        baseline_value,
        chunk_size,
    )
    return (weight[:, None] * flat).sum(0).numpy()


def gradient_variance(
    params: dict,
    px,
    estimator: str,
    *,
    batch_size: int = 1,
    family="tabular",
    objective="elbo",
    value=None,
    baseline: str = "none",
    baseline_value=(0.0, 0.0),
    chunk_size: int = 1024,
) -> float:
    r""":math:`\sum_j \mathrm{Var}[\hat g_j] = E\lVert\hat g - E\hat g\rVert^2` per minibatch,
    exactly, by the enumeration of :func:`expected_gradient` (same arguments and limits). It is the
    ``variance`` that :func:`gradient_stats` estimates from samples; e.g. the ``exact`` estimator
    would give 0.
    """
    weight, flat = _enumerated(
        params,
        px,
        estimator,
        batch_size,
        family,
        objective,
        value,
        baseline,
        baseline_value,
        chunk_size,
    )
    mean = (weight[:, None] * flat).sum(0)
    return float((weight[:, None] * (flat - mean) ** 2).sum())


def _enumerated(
    params,
    px,
    estimator,
    batch_size,
    family,
    objective,
    value,
    baseline,
    baseline_value,
    chunk_size,
):
    """(probability (M,), flattened gradient (M, P)) of every minibatch of a discrete estimator."""
    if estimator not in ("enumerate", "reinforce"):
        raise ToyrdError(f"estimator: {estimator!r} has continuous noise; use gradient_samples")
    check_estimator(estimator, baseline, batch_size)
    fam, obj = get_family(family), make_objective(objective, value)
    p = _as_tensors(params)
    px_t = torch.as_tensor(np.asarray(px, dtype=np.float64))
    n_x, b = px_t.shape[0], int(batch_size)
    with torch.no_grad():
        enc, _, mar = fam.tables(p, n_x)
    n_z = int(mar.shape[0])
    n_lat = n_z if estimator == "reinforce" else 1
    if (n_x * n_lat) ** b > 10**7:
        raise ToyrdError(
            f"expected_gradient: {(n_x * n_lat) ** b} minibatches to enumerate (limit 1e7)"
        )
    combos = torch.cartesian_prod(*([torch.arange(n_x)] * b + [torch.arange(n_lat)] * b)).reshape(
        -1, 2 * b
    )
    x, z = combos[:, :b], combos[:, b:]
    weight = px_t[x].prod(-1)
    if estimator == "reinforce":
        weight = weight * enc[x, z].prod(-1)
    g = _FORCE * torch.nn.functional.one_hot(z, n_z).to(torch.float64)
    bv = torch.as_tensor(baseline_value, dtype=torch.float64)
    loss = _loss_fn(fam, n_x, obj, estimator, px_t, 1.0, baseline, bv)
    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0), chunk_size=chunk_size)(
        p, x, g
    )
    flat = torch.cat([grads[k].reshape(x.shape[0], -1) for k in sorted(grads)], dim=1)
    return weight, flat


def gradient_stats(
    samples: np.ndarray, exact: np.ndarray, batch_size: int = 0, groups: int = 20
) -> GradientStats:
    r"""Bias, variance, MSE and the largest per-coordinate z-score of gradient samples ``(N, P)``
    vs :math:`g^*`.

    With :math:`\delta_j = \bar g_j - g^*_j` and :math:`v_j = s_j^2/N`:
    :math:`E[\delta_j^2] = b_j^2 + \sigma_j^2/N`, so ``bias_sq`` =
    :math:`\sum_j (\delta_j^2 - v_j)` estimates
    :math:`\lVert b\rVert^2 = \lVert E\hat g - g^*\rVert^2` without bias. Its standard error
    ``bias_sq_se`` is taken from ``groups`` disjoint groups of the samples (the same estimate per
    group; the spread of these iid estimates / √groups). That is conservative for the full-sample
    estimate and needs no independence between coordinates (gradient coordinates of one x row are
    strongly correlated, so a per-coordinate formula would understate it).
    """
    samples = np.asarray(samples, dtype=np.float64)
    exact = np.asarray(exact, dtype=np.float64)
    n = samples.shape[0]

    def bias_sq_of(block):
        m = block.shape[0]
        var = block.var(0, ddof=1) if m > 1 else np.zeros(block.shape[1])
        return float(np.sum((block.mean(0) - exact) ** 2 - var / m)), var

    bias_sq, var = bias_sq_of(samples)
    std = np.sqrt(var)
    delta = samples.mean(0) - exact
    g = int(groups) if n >= 4 * int(groups) else 0
    if g >= 2:
        parts = [bias_sq_of(b)[0] for b in np.array_split(samples, g)]
        se = float(np.std(parts, ddof=1) / np.sqrt(g))
    else:
        se = float("nan")
    scale = np.abs(exact).max() + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            std > 0,
            np.abs(delta) / (std / math.sqrt(n)),
            np.where(np.abs(delta) <= 1e-12 * scale, 0.0, np.inf),
        )
    variance = float(np.sum(var))
    return GradientStats(
        n,
        int(batch_size),
        exact,
        samples.mean(0),
        std,
        bias_sq,
        se,
        variance,
        variance + bias_sq,
        float(z.max()),
        float(np.linalg.norm(exact)),
    )


def bonferroni_k(n_coords: int, alpha: float = 1e-6) -> float:
    r"""Two-sided normal quantile k with :math:`P(\max_j |Z_j| > k) \le \alpha` for ``n_coords``
    N(0, 1) variables."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * n_coords)))


def gumbel_bias(
    params: dict,
    px,
    temperatures,
    *,
    straight_through: bool = False,
    n: int = 2000,
    batch_size: int = 1,
    seed: int = 0,
    family="tabular",
    objective="elbo",
    value=None,
) -> dict:
    r"""Bias of the Gumbel-softmax gradient against the exact gradient, for each temperature τ.

    Returns {τ: GradientStats}; ``stats.bias_sq`` (± ``bias_sq_se``) estimates
    :math:`\lVert E\hat g_\tau - \nabla L\rVert^2`
    and ``sqrt(max(bias_sq, 0)) / exact_norm`` is the relative bias. The same seed (common random
    numbers) is used for every τ, so differences between temperatures are not sampling noise alone.
    """
    exact = exact_gradient(params, px, family=family, objective=objective, value=value)
    name = "gumbel-st" if straight_through else "gumbel"
    out = {}
    for tau in temperatures:
        s = gradient_samples(
            params,
            px,
            name,
            n=n,
            batch_size=batch_size,
            seed=seed,
            family=family,
            objective=objective,
            value=value,
            temperature=float(tau),
        )
        out[float(tau)] = gradient_stats(s, exact, batch_size)
    return out
