"""The experiments layer: the paper's figures as computations — results, JSON and text tables.

No drawing here (that is :mod:`toyrd.plot`). Each experiment is a public module with the same
shape: ``Settings`` (what to run), ``run_*`` (train and evaluate exactly), ``to_json`` and
``format_table``.

* :mod:`toyrd.experiments.figure2` — Figure 2: the optimal, ELBO and target-rate models;
* :mod:`toyrd.experiments.rdplane` — the exact rate–distortion plane and the IB panel;
* :mod:`toyrd.experiments.remedies` — every posterior-collapse remedy × model family.
"""

from __future__ import annotations

from toyrd.experiments import figure2, rdplane, remedies  # noqa: F401
from toyrd.experiments._metrics import (  # noqa: F401
    REPORT_KEYS,
    class_block_mass,
    model_metrics,
    stack_metrics,
)
from toyrd.experiments.figure2 import optimal_model, run_figure2  # noqa: F401
from toyrd.experiments.rdplane import run_rdplane  # noqa: F401
from toyrd.experiments.remedies import run_remedies  # noqa: F401

__all__ = [
    "figure2",
    "rdplane",
    "remedies",
    "REPORT_KEYS",
    "class_block_mass",
    "model_metrics",
    "stack_metrics",
    "optimal_model",
    "run_figure2",
    "run_rdplane",
    "run_remedies",
]
