"""Closed-form optima for a fixed encoder (paper Appendix D.3, D.4) and EM's E-step.

For a fixed encoder :math:`e(z|x)`:

* the marginal minimising R is the aggregate posterior, :math:`m^* = q`, and then :math:`R = I_e`;
* the decoder minimising D is the Bayes posterior, :math:`d^* = p_e(x|z)`, and then
  :math:`D = H - I_e`;

so with both, R + D = H whatever the encoder (McAllester's consistency) and :math:`g = p^*`.
The functions below give the optima and the gradients that prove them numerically: on the
simplex, a point is a minimum of a convex function exactly when the gradient is constant across
the free coordinates, so its projection onto the simplex's tangent space vanishes.

>>> import numpy as np, toyrd
>>> px = np.array([0.2, 0.3, 0.5]); e = np.array([[.5, .5], [.9, .1], [.2, .8]])
>>> d, m = toyrd.optimal_decoder(px, e), toyrd.optimal_marginal(px, e)
>>> out = toyrd.evaluate(px, e, d, m)
>>> abs(out["R"] + out["D"] - out["H"]) < 1e-12
True
"""

from __future__ import annotations

import numpy as np

from toyrd._validate import check_model
from toyrd.quantities._distributions import aggregate_posterior, bayes_posterior, model_posterior

__all__ = [
    "optimal_marginal",
    "optimal_decoder",
    "optimize_generative",
    "e_step",
    "rate_gradient_marginal",
    "distortion_gradient_decoder",
    "tangent_projection",
]


def optimal_marginal(px, encoder) -> np.ndarray:
    r""":math:`m^* = \arg\min_m R = q(z) = \sum_x p^*(x)\, e(z|x)` (Appendix D.3).

    With it, :math:`R = I_e`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.

    Returns:
        ndarray: :math:`m^* = q`, float64, shape ``(n_z,)``, summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    return aggregate_posterior(px, encoder)


def optimal_decoder(px, encoder) -> np.ndarray:
    r""":math:`d^* = \arg\min_d D = p_e(x|z)` (Appendix D.4).

    With it, :math:`D = H - I_e`. Rows with :math:`q(z) = 0` (never used) are set to :math:`p^*(x)`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.

    Returns:
        ndarray: :math:`d^*`, float64, shape ``(n_z, n_x)``, rows summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    return bayes_posterior(px, encoder)


def optimize_generative(px, encoder):
    """(d*, m*): the decoder and marginal that close the bound, R + D = H.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.

    Returns:
        tuple: (decoder, marginal): float64 arrays of shapes ``(n_z, n_x)`` and ``(n_z,)``.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    return optimal_decoder(px, encoder), optimal_marginal(px, encoder)


def e_step(decoder, marginal) -> np.ndarray:
    """EM's E-step: the encoder that makes the ELBO tight, :math:`e(z|x) = p_d(z|x)`.

    Rows with :math:`g(x)` = 0 are set to :math:`m(z)`.

    Args:
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.

    Returns:
        ndarray: e, float64, shape ``(n_x, n_z)``, rows summing to 1.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    return model_posterior(decoder, marginal)


def rate_gradient_marginal(px, encoder, marginal) -> np.ndarray:
    """∂R/∂:math:`m(z)` = -:math:`q(z)`/:math:`m(z)` (entries with q = 0 have gradient 0).

    At m = q it is -1 everywhere: its tangent projection vanishes, so q is the minimum.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.

    Returns:
        ndarray: the gradient, float64, shape ``(n_z,)``, nats per unit of :math:`m(z)`; -inf where
            :math:`m(z)` = 0 < :math:`q(z)`.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, _, m = check_model(px, encoder, marginal=marginal)
    q = (px[:, None] * e).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, -q / m, 0.0)


def distortion_gradient_decoder(px, encoder, decoder) -> np.ndarray:
    r""":math:`\partial D / \partial d(x|z) = -p_e(x, z) / d(x|z)`.

    At :math:`d = p_e(x|z)` row z is constant, :math:`-q(z)`, so each row's tangent projection
    vanishes.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.

    Returns:
        ndarray: the gradient, float64, shape ``(n_z, n_x)``, nats per unit of :math:`d(x|z)`; 0
                where :math:`p_e(x, z) = 0`, -inf where :math:`d(x|z) = 0 < p_e(x, z)`.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, d, _ = check_model(px, encoder, decoder)
    pe = (px[:, None] * e).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pe > 0, -pe / d, 0.0)


def tangent_projection(grad, support=None) -> np.ndarray:
    """Project a gradient onto the tangent space of the simplex (per row for a table).

    Subtracts the mean over each row's ``support`` (default: all entries). It vanishes at an
    interior minimum of a convex function over the simplex (the KKT conditions with equal
    multipliers); on a face, restrict ``support`` to the face.

    Args:
        grad: a gradient, shape (n,) for a vector or (rows, n) for a table, per row.
        support: bool array of the same shape: the entries that are free (default all).

    Returns:
        ndarray: the projection, float64, shape of ``grad``; 0 outside ``support``.
    """
    g = np.atleast_2d(np.asarray(grad, dtype=np.float64))
    s = np.ones_like(g, dtype=bool) if support is None else np.atleast_2d(support)
    mean = np.where(s, g, 0.0).sum(1, keepdims=True) / np.maximum(s.sum(1, keepdims=True), 1)
    out = np.where(s, g - mean, 0.0)
    return out.reshape(np.shape(grad))
