"""The static explorer's grid: every model it can show, trained once, exactly, from seeds.

The grid is objective × its parameter (41 values; the ELBO has none) × family reading × seed.
Every model is trained by the exact JAX trainer (:func:`toyrd.train.jax.train_configs`, one
compiled run per objective × family, rows vmapped) with the ONE configuration :data:`CONFIG` —
the collapse regime of ``toyrd remedies`` (init scale 0.01, 3000 steps, warm-up 500), where the
objectives and remedies differ — and evaluated by :func:`toyrd.evaluate` in float64.

Bit for bit: the same command trains the same groups (one compiled run per objective ×
family, its rows in storage order) and writes the same bytes. A row trained in a batch of
another size can differ in its last bits (XLA vectorises the batch axis by its length; the
collapse dynamics can amplify that to 1e-3), so ``tests/explore/test_static_grid.py``
retrains whole groups, never lone rows.

Objectives (the parameter's grid in brackets):

* ``elbo``: D + R (no parameter);
* ``beta``: D + βR, β = 10^(k/20), k = −20 … 20 (0.1 … 10, β = 1 in the middle);
* ``target_rate``: D + |σ − R|, σ = 0.075 k nats, k = 0 … 40 (0 … 3.0 ≈ H);
* remedies of :mod:`toyrd.experiments.remedies` (same gradient routing, same trainer):
  ``free_bits`` D + max(λ, R), λ on the σ grid; ``info_vae`` D + R − α I_e, α = k/40 ∈ [0, 1];
  ``kl_anneal`` D + min(1, t/T_a) R with T_a = (k/40) T, the fraction f = T_a/T ∈ [0, 1].
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from toyrd.errors import ToyrdError
from toyrd.train import TrainConfig

__all__ = [
    "CONFIG",
    "FAMILIES",
    "OBJECTIVES",
    "SEEDS",
    "GridObjective",
    "ModelKey",
    "model_keys",
    "train_keys",
]

#: The training configuration of every model of the grid (the remedies experiment's defaults).
CONFIG = TrainConfig(steps=3000, lr=0.01, init_scale=0.01, warmup=500)

#: The family readings (the Figure 2 family first: the page opens on it).
FAMILIES = ("bump(w0=2)/bump+free", "tabular", "bump")

#: The initialisation seeds of every (objective, parameter, family).
SEEDS = (0, 1)

_K = np.arange(41)


class GridObjective(NamedTuple):
    """One objective of the grid: ``key``; ``label`` (loss written out); ``symbol`` of its
    parameter (None: no parameter); the parameter's ``values``; ``remedy``: True if trained by
    the remedies' loss builder (then ``values`` are the remedy's constants)."""

    key: str
    label: str
    symbol: str | None
    values: tuple
    remedy: bool = False


OBJECTIVES = (
    GridObjective("elbo", "ELBO: D + R", None, (None,)),
    GridObjective("beta", "β-VAE: D + βR", "β", tuple(float(v) for v in 10.0 ** ((_K - 20) / 20))),
    GridObjective("target_rate", "target rate: D + |σ − R|", "σ", tuple(0.075 * _K.astype(float))),
    GridObjective(
        "free_bits", "free bits: D + max(λ, R)", "λ", tuple(0.075 * _K.astype(float)), True
    ),
    GridObjective("info_vae", "InfoVAE: D + R − α I_e", "α", tuple(_K / 40.0), True),
    GridObjective(
        "kl_anneal", "KL annealing: D + min(1, t/T_a) R", "T_a/T", tuple(_K / 40.0), True
    ),
)


class ModelKey(NamedTuple):
    """The grid position of one model (indices into OBJECTIVES, its values, FAMILIES, SEEDS)."""

    objective: int
    value: int
    family: int
    seed: int


def model_keys(seeds=SEEDS) -> list:
    """Every model of the grid in storage order: objective, family, value, seed (seed fastest)."""
    return [
        ModelKey(o, v, f, s)
        for o, obj in enumerate(OBJECTIVES)
        for f in range(len(FAMILIES))
        for v in range(len(obj.values))
        for s in range(len(seeds))
    ]


def _remedies(obj: GridObjective) -> tuple:
    """The Remedy specs of a remedy objective, one per grid value (a row's hyper: its index)."""
    from toyrd.experiments.remedies import Remedy

    if obj.key == "kl_anneal":
        # T_a = f T, rounded to whole steps (f = 0: β_t = 1, the ELBO)
        return tuple(
            Remedy(f"KL annealing {v:g}", "kl_anneal", steps=round(v * CONFIG.steps))
            for v in obj.values
        )
    return tuple(Remedy(f"{obj.key} {v:g}", obj.key, v) for v in obj.values)


def _train_block(o: int, f: int, rows, seeds, toy):
    """Train the (value index, seed index) ``rows`` of objective ``o`` × family ``f`` in one
    compiled run; returns the float64 tables (encoder, decoder, marginal), each (B, …)."""
    from toyrd.train.jax import train_configs

    obj, family = OBJECTIVES[o], FAMILIES[f]
    if obj.remedy:
        from toyrd.experiments.remedies import train_remedies

        res = train_remedies(
            _remedies(obj),
            family,
            config=CONFIG._replace(objective="remedies", family=family),
            seeds=seeds,
            px=toy.px,
            pzx=toy.pzx,
            rows=[(v, int(seeds[s])) for v, s in rows],
        )
    else:
        base = CONFIG._replace(objective=obj.key, family=family)
        configs = [base._replace(hyper=obj.values[v], seed=int(seeds[s])) for v, s in rows]
        res = train_configs(configs, px=toy.px, pzx=toy.pzx, progress=False)
    return res.encoder, res.decoder, res.marginal


def train_keys(keys, seeds=SEEDS, *, log=None):
    """Train the models ``keys`` (:class:`ModelKey`), grouped into one run per objective ×
    family. Returns (encoder ``(N, n_x, n_z)``, decoder ``(N, n_z, n_x)``, marginal ``(N, n_z)``)
    float64 in the order of ``keys``, and the wall time per group {(objective, family): seconds}."""
    from toyrd.data import toy_data

    toy = toy_data()
    keys = [ModelKey(*k) for k in keys]
    for k in keys:
        if not (
            0 <= k.objective < len(OBJECTIVES)
            and 0 <= k.value < len(OBJECTIVES[k.objective].values)
            and 0 <= k.family < len(FAMILIES)
            and 0 <= k.seed < len(seeds)
        ):
            raise ToyrdError(f"grid: {k} is not a position of the grid")
    n = len(keys)
    n_x, n_z = toy.px.shape[0], CONFIG.n_z
    enc, dec, mar = np.empty((n, n_x, n_z)), np.empty((n, n_z, n_x)), np.empty((n, n_z))
    times = {}
    groups: dict = {}
    for i, k in enumerate(keys):
        groups.setdefault((k.objective, k.family), []).append(i)
    for (o, f), idx in groups.items():
        t0 = time.perf_counter()
        e, d, m = _train_block(o, f, [(keys[i].value, keys[i].seed) for i in idx], seeds, toy)
        enc[idx], dec[idx], mar[idx] = e, d, m
        times[(o, f)] = time.perf_counter() - t0
        if log is not None:
            log(f"{OBJECTIVES[o].key} × {FAMILIES[f]}: {len(idx)} models, {times[(o, f)]:.1f} s")
    return (enc, dec, mar), times
