"""The training layer: exact-gradient trainers, EM, encoder autonomy and resumable sweeps.

* :mod:`toyrd.train.jax` — the compiled JAX trainer (exact gradients, one scan per run);
* :mod:`toyrd.train.torch` — PyTorch minibatch VAE trainers with Monte-Carlo estimators, checked
  against the exact values (needs ``torch``; imported on first attribute access);
* :func:`em` — expectation–maximisation on the tables (numpy);
* :func:`train_autonomous` — the encoder with its own loss behind a stop-gradient (JAX);
* :func:`run_sweep` — a resumable grid of runs written as JSON lines.
"""

from __future__ import annotations

import importlib

from toyrd.train._autonomy import autonomy_loss_fn, train_autonomous  # noqa: F401
from toyrd.train._config import (  # noqa: F401
    BASELINES,
    DIVERGENCE_GROWTH,
    DTYPES,
    ESTIMATORS,
    F64_STEPS,
    LR_FLOOR,
    MIXED_OBJECTIVES,
    SCHEDULES,
    TORCH_DEFAULTS,
    TrainConfig,
    as_rows,
    blew_up,
    check_real,
    default_dtype,
    default_f64_steps,
    default_stride,
    static_config,
)
from toyrd.train._em import EMResult, em  # noqa: F401
from toyrd.train._sweep import (  # noqa: F401
    CONFIG_FIELDS,
    RESULT_FIELDS,
    STATUSES,
    config_key,
    grid,
    read_done,
    row_results,
    run_sweep,
)

__all__ = [
    "BASELINES",
    "DIVERGENCE_GROWTH",
    "blew_up",
    "ESTIMATORS",
    "DTYPES",
    "LR_FLOOR",
    "SCHEDULES",
    "TORCH_DEFAULTS",
    "MIXED_OBJECTIVES",
    "TrainConfig",
    "as_rows",
    "default_dtype",
    "check_real",
    "default_stride",
    "default_f64_steps",
    "F64_STEPS",
    "static_config",
    "autonomy_loss_fn",
    "train_autonomous",
    "EMResult",
    "em",
    "CONFIG_FIELDS",
    "RESULT_FIELDS",
    "STATUSES",
    "config_key",
    "grid",
    "read_done",
    "row_results",
    "run_sweep",
    "jax",
    "torch",
]


def __getattr__(name):  # PEP 562: the backends load on first use
    if name in ("jax", "torch"):
        return importlib.import_module(f"toyrd.train.{name}")
    raise AttributeError(f"module 'toyrd.train' has no attribute {name!r}")
