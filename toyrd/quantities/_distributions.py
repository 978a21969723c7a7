"""The distributions around a finite VAE: aggregate and Bayes posteriors, the generative
marginal and model posterior, and the reconstruction distribution and channel (float64 tables)."""

from __future__ import annotations

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import as_conditional, check_generative, check_model
from toyrd.errors import TableError

__all__ = [
    "aggregate_posterior",
    "bayes_posterior",
    "generative_marginal",
    "model_posterior",
    "reconstruction_distribution",
    "reconstruction_channel",
]


# ----------------------------------------------------------------------------- distributions


def aggregate_posterior(px, encoder) -> np.ndarray:
    r""":math:`q(z) = \sum_x p^*(x)\, e(z|x)`. The optimal marginal for this encoder.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.

    Returns:
        ndarray: q, float64, shape ``(n_z,)``, summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, _, _ = check_model(px, encoder)
    return F.encoder_joint(px, e).sum(0)


def bayes_posterior(px, encoder) -> np.ndarray:
    r""":math:`p_e(x|z) = p^*(x)\, e(z|x) / q(z)`, like a decoder. The optimal decoder.

    Rows with :math:`q(z) = 0` never enter D; they are set to :math:`p^*(x)` so the result is a
    valid table.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.

    Returns:
        ndarray: :math:`p_e(x|z)`, float64, shape ``(n_z, n_x)``, rows summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, _, _ = check_model(px, encoder)
    joint = F.encoder_joint(px, e).T
    q = joint.sum(1, keepdims=True)
    return np.where(q > 0, joint / np.where(q > 0, q, 1.0), px[None, :])


def generative_marginal(decoder, marginal) -> np.ndarray:
    r""":math:`g(x) = \sum_z m(z)\, d(x|z)`, the model's distribution of the data.

    Args:
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.

    Returns:
        ndarray: g, float64, shape ``(n_x,)``, summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    d, m = check_generative(decoder, marginal)
    return m @ d


def model_posterior(decoder, marginal) -> np.ndarray:
    r""":math:`p_d(z|x) = m(z)\, d(x|z) / g(x)`, like an encoder (EM's E-step).

    Rows with :math:`g(x)` = 0 are set to :math:`m(z)`.

    Args:
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.

    Returns:
        ndarray: :math:`p_d(z|x)`, float64, shape ``(n_x, n_z)``, rows summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    d, m = check_generative(decoder, marginal)
    joint = F.generative_joint(d, m).T
    g = joint.sum(1, keepdims=True)
    return np.where(g > 0, joint / np.where(g > 0, g, 1.0), m[None, :])


def reconstruction_distribution(px, encoder, decoder) -> np.ndarray:
    r""":math:`\bar d(x') = \sum_x \sum_z p^*(x)\, e(z|x)\, d(x'|z)`: what encoding then decoding
    the data gives.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.

    Returns:
        ndarray: :math:`\bar d`, float64, shape ``(n_x,)``, summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, d, _ = check_model(px, encoder, decoder)
    return px @ e @ d


def reconstruction_channel(encoder, decoder) -> np.ndarray:
    r""":math:`p(x'|x) = \sum_z e(z|x)\, d(x'|z)`: encode x, decode x'.

    Args:
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.

    Returns:
        ndarray: :math:`p(x'|x)`, float64, shape ``(n_x, n_x)``, row-stochastic.

    Raises:
        TableError: a table is not row-stochastic, or the decoder's shape is not the
            transpose of the encoder's.
    """
    e = as_conditional("encoder", encoder)
    d = as_conditional("decoder", decoder)
    if d.shape != e.T.shape:
        raise TableError(
            f"decoder: shape {d.shape}, expected (n_z, n_x) = {e.T.shape} to match the encoder"
        )
    return e @ d
