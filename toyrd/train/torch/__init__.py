"""PyTorch VAE trainers for toyrd, checked against the exact values (needs ``torch``).

``import toyrd`` does not import this subpackage; ``import toyrd.train.torch`` does (and torch).

* :class:`TorchVAE` — encoder / decoder / marginal ``nn.Module`` s over a family
  (``tabular`` or the Appendix E ``bump``), tables from :mod:`toyrd.tables`;
* :func:`estimate_rd` — minibatch (R̃, D̃) for the estimators ``exact``, ``enumerate``,
  ``reinforce``, ``gumbel``, ``gumbel-st``;
* :func:`train` — the minibatch Adam loop with R and D logged (minibatch and exact);
* :func:`export_tables`, :func:`save_torch_model` — float64 tables / a model ``.npz``;
* :func:`gradient_samples`, :func:`gradient_stats`, :func:`expected_gradient`,
  :func:`gradient_variance`, :func:`gumbel_bias` — estimator gradients against the exact gradient.
"""

from toyrd.train.torch._estimators import (
    BASELINES,
    ESTIMATORS,
    Minibatch,
    check_estimator,
    draw_minibatch,
    estimate_rd,
)
from toyrd.train.torch._gradients import (
    GradientStats,
    bonferroni_k,
    exact_gradient,
    expected_gradient,
    gradient_samples,
    gradient_stats,
    gradient_variance,
    gumbel_bias,
)
from toyrd.train.torch._model import (
    PART_PREFIXES,
    TablePart,
    TorchVAE,
    export_log_tables,
    export_tables,
    save_torch_model,
)
from toyrd.train.torch._trainer import EXACT_KEYS, History, TrainResult, train

__all__ = [
    "BASELINES",
    "ESTIMATORS",
    "Minibatch",
    "check_estimator",
    "draw_minibatch",
    "estimate_rd",
    "GradientStats",
    "bonferroni_k",
    "exact_gradient",
    "expected_gradient",
    "gradient_samples",
    "gradient_stats",
    "gradient_variance",
    "gumbel_bias",
    "PART_PREFIXES",
    "TablePart",
    "TorchVAE",
    "export_tables",
    "export_log_tables",
    "save_torch_model",
    "EXACT_KEYS",
    "History",
    "TrainResult",
    "train",
]
