"""toyrd — an exact laboratory for the rate–distortion view of variational autoencoders.

``import toyrd`` needs only numpy and scipy. The JAX trainers (:mod:`toyrd.train_jax`,
:mod:`toyrd.families`, :mod:`toyrd.objectives`) and the PyTorch trainers (:mod:`toyrd.torch`)
are imported on first use.
"""

from ._validate import SUM_TOL, TableError, ToyrdError
from .data import ToyData, binned_mixture, toy_data
from .info import (
    QUANTITY_NAMES, aggregate_posterior, bayes_posterior, data_entropy, distortion, elbo, entropy,
    evaluate, generative_bound_e, generative_bound_g, generative_marginal, generative_mi, kl,
    latent_information, model_posterior, mutual_information, rate, reconstruction_channel,
    reconstruction_distribution, reparam_s, reparam_u, representational_mi,
)
from .ib import IBFrontier, ib_frontier, ib_frontier_at, ib_gap
from .io import Model, load_model, save_model
from .iwae import IWAEResult, iwae_bound, log_likelihood_bound
from .optimal import (
    distortion_gradient_decoder, e_step, optimal_decoder, optimal_marginal, optimize_generative,
    rate_gradient_marginal, tangent_projection,
)

__version__ = "0.1.0"

__all__ = [
    "SUM_TOL", "TableError", "ToyrdError", "ToyData", "binned_mixture", "toy_data",
    "QUANTITY_NAMES", "aggregate_posterior", "bayes_posterior", "data_entropy", "distortion",
    "elbo", "entropy", "evaluate", "generative_bound_e", "generative_bound_g",
    "generative_marginal", "generative_mi", "kl", "latent_information", "model_posterior",
    "mutual_information", "rate", "reconstruction_channel", "reconstruction_distribution",
    "reparam_s", "reparam_u", "representational_mi", "Model", "load_model", "save_model",
    "distortion_gradient_decoder", "e_step", "optimal_decoder", "optimal_marginal",
    "optimize_generative", "rate_gradient_marginal", "tangent_projection",
    "IBFrontier", "ib_frontier", "ib_frontier_at", "ib_gap", "IWAEResult", "iwae_bound",
    "log_likelihood_bound",
]
