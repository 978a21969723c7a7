r"""A PyTorch VAE training loop written the way practitioners write one, logged against the truth.

Each step draws a minibatch :math:`x_1, \dots, x_B \sim p^*(x)` (and Gumbel noise) from an explicit,
seeded ``torch.Generator``, forms the estimator's (R̃, D̃) (:func:`toyrd.train.torch.estimate_rd`),
applies the objective from :mod:`toyrd.objectives` (elbo D + R, beta D + βR, rda R + λD,
target_rate D + |σ − R|) and takes one Adam step on all parameters.

The history keeps R and D separately, never only the loss:

* every step, the minibatch values R̂, D̂ and the loss at them;
* every ``eval_every`` steps (and at the last step), the exact R, D, ELBO and loss of the current
  model from :func:`toyrd.evaluate_logs` on the exported float64 log-tables (finite where a
  table entry underflows to 0).

Divergence (:class:`~toyrd.errors.DivergenceError`, as the JAX trainer): a non-finite minibatch
value, table or exact R / D, or an exact loss that blew up (:func:`toyrd.train.blew_up`).

Identity (example): the exact ELBO logged equals −(R + D) logged at the same step,
``history.exact["ELBO"] == -(history.exact["R"] + history.exact["D"])`` to float64 rounding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from toyrd._validate import as_distribution
from toyrd.data import toy_data
from toyrd.errors import DivergenceError, ToyrdError
from toyrd.objectives import make_objective
from toyrd.quantities import evaluate_logs
from toyrd.train._config import DIVERGENCE_GROWTH, LR_FLOOR, TORCH_DEFAULTS, TrainConfig, blew_up
from toyrd.train.torch._estimators import check_estimator, draw_minibatch, estimate_rd
from toyrd.train.torch._model import TorchVAE, export_log_tables, export_tables

__all__ = ["History", "TrainResult", "train", "EXACT_KEYS", "TORCH_COPIES"]

#: Exact quantities logged at the stride (toyrd.evaluate keys, plus the objective's loss).
EXACT_KEYS = ("R", "D", "ELBO", "I_e", "loss")


class History(NamedTuple):
    """``batch``: dict of (steps,) arrays step, R, D, loss (minibatch values before each update).
    ``exact``: dict of arrays step and :data:`EXACT_KEYS` at the stride (after ``step`` updates)."""

    batch: dict
    exact: dict


class TrainResult(NamedTuple):
    model: TorchVAE
    history: History
    tables: tuple  # exported float64 (encoder, decoder, marginal)
    final: dict  # toyrd.evaluate_logs of the final log-tables (+ "loss")
    config: TrainConfig


def _check(cfg: TrainConfig) -> TrainConfig:
    cfg = cfg.validate()
    check_estimator(cfg.estimator, cfg.baseline, cfg.batch_size, cfg.temperature)
    if cfg.dtype == "mixed":
        raise ToyrdError(
            "dtype: 'mixed' is a JAX-trainer precision; the PyTorch trainer takes "
            "float64 or float32"
        )
    if cfg.warmup:
        raise ToyrdError(f"warmup: {cfg.warmup}, the PyTorch trainer has no warm-up; expected 0")
    return cfg


#: float64 copies alive at once per minibatch sample (its x, one-hot rows, Gumbel noise, the
#: relaxed samples, log-probabilities and their gradients: ~n_x + n_z entries each) and per table
#: entry (parameters, gradients, Adam's moments, tables, log-tables, exports); an upper estimate.
TORCH_COPIES = 16


def _check_memory(cfg: TrainConfig, n_x: int, model) -> None:
    """Refuse (one line, before any allocation) a run whose minibatch or tables cannot fit."""
    from toyrd._memory import available_bytes, check_fits

    n_z = cfg.n_z if model is None else int(model.tables()[2].shape[0])
    tables = TORCH_COPIES * 8 * (2 * n_x * n_z + n_z)
    per_sample = TORCH_COPIES * 8 * (n_x + n_z)
    fit = max(0, (available_bytes() - tables) // per_sample)
    check_fits(
        f"batch_size {cfg.batch_size} with n_z = {n_z}",
        tables + cfg.batch_size * per_sample,
        f"use batch_size <= {fit}" if fit else "use a smaller n_z",
    )


def _exact_row(px, logs, objective, pzx=None) -> dict:
    out = evaluate_logs(px, *logs, pzx=pzx)
    out["loss"] = float(objective(out["R"], out["D"]))
    return out


def train(
    config: TrainConfig | None = None,
    *,
    px=None,
    pzx=None,
    model: TorchVAE | None = None,
    progress: bool = False,
    **overrides,
) -> TrainResult:
    """Train a :class:`TorchVAE` on :math:`p^*(x)` (default: the toy's) and return the model and
    history.

    config: a :class:`toyrd.train.TrainConfig` (default :data:`toyrd.train.TORCH_DEFAULTS`:
    constant learning rate, init scale 1, exact quantities every 100 steps);
    ``train(estimator="reinforce", steps=500)`` overrides its fields. ``history_stride`` is the
    number of steps between exact evaluations. Reproducible from ``config.seed``: it seeds the
    family init and the one ``torch.Generator``.
    """
    cfg = _check((config or TORCH_DEFAULTS)._replace(**overrides))
    objective = make_objective(cfg.objective, cfg.hyper)
    if px is None:
        toy = toy_data()
        px, pzx = toy.px, toy.pzx if pzx is None else pzx
    px = as_distribution("px", px)
    _check_memory(cfg, px.shape[0], model)
    dtype = getattr(torch, cfg.dtype)
    if model is None:
        model = TorchVAE(
            cfg.family,
            seed=cfg.seed,
            n_x=px.shape[0],
            n_z=cfg.n_z,
            scale=cfg.init_scale,
            dtype=dtype,
        )
    elif model.n_x != px.shape[0]:
        raise ToyrdError(f"model: has n_x = {model.n_x}, expected {px.shape[0]} to match px")
    px_t = torch.as_tensor(px, dtype=dtype)
    n_z = int(model.tables()[2].shape[0])
    gen = torch.Generator().manual_seed(int(cfg.seed))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = None
    if cfg.schedule == "cosine" and int(cfg.steps) > 0:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=int(cfg.steps), eta_min=cfg.lr * LR_FLOOR
        )
    ema = torch.zeros(2, dtype=dtype)
    steps = int(cfg.steps)
    batch_log = {k: np.empty(steps) for k in ("R", "D", "loss")}
    exact_log = {k: [] for k in ("step",) + EXACT_KEYS}

    def diverged(step, what):
        return DivergenceError(
            f"training diverged: seed {cfg.seed}, {cfg.objective}, family "
            f"{getattr(cfg.family, 'name', cfg.family)}, estimator {cfg.estimator}: {what} went "
            f"non-finite at step {step} of {steps}; lower lr (now {cfg.lr:g}) or init_scale "
            f"(now {cfg.init_scale:g})"
            + (
                f" or raise temperature (now {cfg.temperature:g})"
                if cfg.estimator.startswith("gumbel")
                else ""
            )
        )

    def log_exact(step):
        tables = export_tables(model)
        if not all(np.all(np.isfinite(t)) for t in tables):
            raise diverged(step, "the tables")
        row = _exact_row(px, export_log_tables(model), objective)
        if not all(math.isfinite(row[k]) for k in ("R", "D", "loss")):
            raise diverged(step, "the exact " + ", ".join(f"{k} = {row[k]}" for k in ("R", "D")))
        if exact_log["loss"] and blew_up(exact_log["loss"][0], row["loss"]):
            raise DivergenceError(
                f"training diverged: seed {cfg.seed}, {cfg.objective}, estimator "
                f"{cfg.estimator}: the exact loss grew from {exact_log['loss'][0]:.6g} to "
                f"{row['loss']:.6g} (more than {DIVERGENCE_GROWTH:g} × max(1, |start|)) by step "
                f"{step} of {steps}; lower lr (now {cfg.lr:g}) or init_scale "
                f"(now {cfg.init_scale:g})"
            )
        exact_log["step"].append(step)
        for k in EXACT_KEYS:
            exact_log[k].append(row[k])
        return row

    row = log_exact(0)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"{cfg.estimator} {cfg.objective}", unit="step", leave=False)
    for step in range(steps):
        batch = None if cfg.estimator == "exact" else draw_minibatch(gen, px_t, cfg.batch_size, n_z)
        r, d = estimate_rd(
            model.tables(),
            batch,
            cfg.estimator,
            px=px_t,
            temperature=cfg.temperature,
            baseline=cfg.baseline,
            baseline_value=ema,
            logs=model.log_tables(),
        )
        loss = objective(r, d)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        rv, dv, lv = r.item(), d.item(), loss.item()
        bad = [
            f"{k} = {v}" for k, v in (("R", rv), ("D", dv), ("loss", lv)) if not math.isfinite(v)
        ]
        if bad:
            raise diverged(step, "the minibatch " + ", ".join(bad))
        batch_log["R"][step], batch_log["D"][step], batch_log["loss"][step] = rv, dv, lv
        if cfg.baseline == "ema":
            ema = cfg.ema_decay * ema + (1 - cfg.ema_decay) * torch.tensor([rv, dv], dtype=dtype)
        if (step + 1) % cfg.history_stride == 0 or step + 1 == steps:
            row = log_exact(step + 1)
        if bar is not None:
            bar.update(1)
            if step % 10 == 0 or step + 1 == steps:
                bar.set_postfix(
                    R_hat=f"{rv:.3f}", D_hat=f"{dv:.3f}", R=f"{row['R']:.3f}", D=f"{row['D']:.3f}"
                )
    if bar is not None:
        bar.close()
    tables = export_tables(model)
    final = _exact_row(px, export_log_tables(model), objective, pzx)
    hist = History(
        {"step": np.arange(steps), **batch_log},
        {
            k: np.asarray(v, dtype=np.int64 if k == "step" else np.float64)
            for k, v in exact_log.items()
        },
    )
    return TrainResult(model, hist, tables, final, cfg)
