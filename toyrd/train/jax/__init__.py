"""Exact-gradient training in JAX: one jitted ``lax.scan`` per run, seeds and βs as vmapped rows.

Needs the ``jax`` extra; ``import toyrd.train.jax`` itself imports no JAX (the first training
call does).
"""

from __future__ import annotations

from toyrd.train.jax._progress import RunProgress  # noqa: F401
from toyrd.train.jax._runner import (  # noqa: F401
    compiled_run,
    is_fast,
    objective_loss_fn,
    rd_batch_last,
    rd_from_logits,
)
from toyrd.train.jax._trainer import RECORD_FIELDS, TrainResult, train, train_configs  # noqa: F401

__all__ = [
    "RunProgress",
    "compiled_run",
    "is_fast",
    "objective_loss_fn",
    "rd_from_logits",
    "rd_batch_last",
    "RECORD_FIELDS",
    "TrainResult",
    "train",
    "train_configs",
]
