"""toyrd — an exact laboratory for the rate–distortion view of variational autoencoders.

The package is layered; each layer imports only the ones above it in this list:

* :mod:`toyrd.errors` — the one exception family;
* :mod:`toyrd.data` — the toy (two classes, 30 bins) and other binned mixtures;
* :mod:`toyrd.tables` — model families (parameters → e, d, m), the model file, JSON;
* :mod:`toyrd.quantities` — every exact quantity, the optima, IWAE_k, the IB frontier;
* :mod:`toyrd.objectives` — ELBO, β-VAE, RDA, target rate as functions of (R, D);
* :mod:`toyrd.train` — the JAX trainer (:mod:`toyrd.train.jax`), the PyTorch trainers
  (:mod:`toyrd.train.torch`), EM, encoder autonomy, sweeps;
* :mod:`toyrd.experiments` — Figure 2 and the RD plane as computations (JSON, tables);
* :mod:`toyrd.plot` — every figure (matplotlib); :mod:`toyrd.cli` — the ``toyrd`` command.

``import toyrd`` needs only numpy and scipy and loads the first four layers; the others are
imported on first attribute access (``toyrd.train``, ``toyrd.plot``, …), so neither jax, torch
nor matplotlib is loaded until used.
"""

from __future__ import annotations

import importlib

from toyrd._validate import SUM_TOL
from toyrd.data import ToyData, binned_mixture, toy_data
from toyrd.errors import DivergenceError, TableError, ToyrdError
from toyrd.quantities import (
    QUANTITY_NAMES,
    IBFrontier,
    IWAEResult,
    aggregate_posterior,
    bayes_posterior,
    data_entropy,
    distortion,
    distortion_gradient_decoder,
    e_step,
    elbo,
    entropy,
    evaluate,
    evaluate_batch,
    evaluate_logs,
    generative_bound_e,
    generative_bound_g,
    generative_marginal,
    generative_mi,
    ib_frontier,
    ib_frontier_at,
    ib_gap,
    iwae_bound,
    kl,
    latent_information,
    log_likelihood_bound,
    model_posterior,
    mutual_information,
    optimal_decoder,
    optimal_marginal,
    optimize_generative,
    rate,
    rate_gradient_marginal,
    reconstruction_channel,
    reconstruction_distribution,
    reparam_s,
    reparam_u,
    representational_mi,
    tangent_projection,
)
from toyrd.tables import Family, Model, get_family, load_model, save_model

__version__ = "0.2.0"

#: Subpackages and modules loaded on first attribute access (PEP 562).
_LAZY = ("objectives", "train", "experiments", "plot", "cli", "testing", "explore")

__all__ = [
    "SUM_TOL",
    "ToyrdError",
    "TableError",
    "DivergenceError",
    "ToyData",
    "binned_mixture",
    "toy_data",
    "QUANTITY_NAMES",
    "aggregate_posterior",
    "bayes_posterior",
    "data_entropy",
    "distortion",
    "elbo",
    "entropy",
    "evaluate",
    "evaluate_logs",
    "evaluate_batch",
    "generative_bound_e",
    "generative_bound_g",
    "generative_marginal",
    "generative_mi",
    "kl",
    "latent_information",
    "model_posterior",
    "mutual_information",
    "rate",
    "reconstruction_channel",
    "reconstruction_distribution",
    "reparam_s",
    "reparam_u",
    "representational_mi",
    "distortion_gradient_decoder",
    "e_step",
    "optimal_decoder",
    "optimal_marginal",
    "optimize_generative",
    "rate_gradient_marginal",
    "tangent_projection",
    "IBFrontier",
    "ib_frontier",
    "ib_frontier_at",
    "ib_gap",
    "IWAEResult",
    "iwae_bound",
    "log_likelihood_bound",
    "Family",
    "Model",
    "get_family",
    "load_model",
    "save_model",
    "data",
    "tables",
    "quantities",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"toyrd.{name}")
    raise AttributeError(f"module 'toyrd' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
