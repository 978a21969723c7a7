"""The quantities layer: every exact number of a finite VAE, written once.

Rate, distortion, entropy, the bounds E ≤ I_d ≤ G, the closed-form optima for a fixed encoder,
batched evaluation, IWAE_k and the information-bottleneck frontier — float64, nats unless a
``base`` is given.
"""

from __future__ import annotations

from toyrd.quantities._info import (  # noqa: F401
    entropy, kl, mutual_information, data_entropy, distortion, rate, elbo, representational_mi, generative_mi, generative_bound_e, generative_bound_g, reparam_u, reparam_s, latent_information, check_base,
)
from toyrd.quantities._distributions import (  # noqa: F401
    aggregate_posterior, bayes_posterior, generative_marginal, model_posterior, reconstruction_distribution, reconstruction_channel,
)
from toyrd.quantities._evaluate import (  # noqa: F401
    QUANTITY_NAMES, evaluate, check_true_joint,
)
from toyrd.quantities._optimal import (  # noqa: F401
    optimal_marginal, optimal_decoder, optimize_generative, e_step, rate_gradient_marginal, distortion_gradient_decoder, tangent_projection,
)
from toyrd.quantities._batch import (  # noqa: F401
    evaluate_batch, batch_program, padded_size, unvalidated_quantities, NUMPY_MAX_B, BACKENDS,
)
from toyrd.quantities._iwae import (  # noqa: F401
    IWAEResult, iwae_bound, log_likelihood_bound, multiset_count, EXACT_MAX_TERMS, QUAD_STEP, METHODS,
)
from toyrd.quantities._ib import (  # noqa: F401
    IBFrontier, ib_frontier, ib_frontier_at, ib_gap, ib_point, maximal_correlation, default_betas, N_BETAS, BA_TOL, BA_MAX_ITER,
)
from toyrd.quantities._clusters import class_block_mass  # noqa: F401

__all__ = [
    "class_block_mass",
    "entropy",
    "kl",
    "mutual_information",
    "data_entropy",
    "distortion",
    "rate",
    "elbo",
    "representational_mi",
    "generative_mi",
    "generative_bound_e",
    "generative_bound_g",
    "reparam_u",
    "reparam_s",
    "latent_information",
    "aggregate_posterior",
    "bayes_posterior",
    "generative_marginal",
    "model_posterior",
    "reconstruction_distribution",
    "reconstruction_channel",
    "evaluate",
    "QUANTITY_NAMES",
    "check_true_joint",
    "optimal_marginal",
    "optimal_decoder",
    "optimize_generative",
    "e_step",
    "rate_gradient_marginal",
    "distortion_gradient_decoder",
    "tangent_projection",
    "evaluate_batch",
    "batch_program",
    "padded_size",
    "unvalidated_quantities",
    "NUMPY_MAX_B",
    "BACKENDS",
    "IWAEResult",
    "iwae_bound",
    "log_likelihood_bound",
    "multiset_count",
    "EXACT_MAX_TERMS",
    "QUAD_STEP",
    "METHODS",
    "IBFrontier",
    "ib_frontier",
    "ib_frontier_at",
    "ib_gap",
    "ib_point",
    "maximal_correlation",
    "default_betas",
    "N_BETAS",
    "BA_TOL",
    "BA_MAX_ITER",
]
