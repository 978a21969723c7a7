r"""Exact information quantities of a finite VAE, validated, float64, nats by default.

The definitions are on the [Concepts][concepts] page of the documentation.

Every function takes the tables it needs, checks them (:mod:`toyrd._validate`) and evaluates the
shared formula from :mod:`toyrd._formulas`. ``base`` converts the result: ``base=2`` gives bits.

Example — the rate splits into the representational information and a marginal mismatch,
:math:`R = I_e + \mathrm{KL}(q \Vert m)`:

>>> import numpy as np, toyrd
>>> px = np.array([0.5, 0.5]); e = np.array([[0.9, 0.1], [0.2, 0.8]]); m = np.array([0.5, 0.5])
>>> q = toyrd.aggregate_posterior(px, e)
>>> bool(np.isclose(toyrd.rate(px, e, m), toyrd.representational_mi(px, e) + toyrd.kl(q, m)))
True
"""

from __future__ import annotations

import math

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import (
    as_conditional,
    as_distribution,
    as_joint,
    check_generative,
    check_model,
)
from toyrd.errors import TableError, ToyrdError
from toyrd.quantities._logeval import table_rate_distortion

__all__ = [
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
    "check_base",
    "scaled",
    "reference_density",
]


def check_base(base):
    """``base`` if it is None (nats) or a finite real number > 0 other than 1, else ToyrdError."""
    if base is None:
        return None
    ok = isinstance(base, (int, float, np.integer, np.floating)) and not isinstance(base, bool)
    if not ok or not (math.isfinite(base) and base > 0 and base != 1):
        raise ToyrdError(
            f"base: {base!r}, expected None (nats) or a finite number > 0 other than 1 (2 for bits)"
        )
    return float(base)


def scaled(value, base) -> float:
    value = float(value)
    return value if base is None else value / math.log(check_base(base))


def reference_density(r, px):
    """Default r(x) for G, U and S is :math:`p^*(x)`; see :func:`generative_bound_g`."""
    return px if r is None else as_distribution("r", r)


# ----------------------------------------------------------------------------- generic


def entropy(p, *, base=None) -> float:
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log p_i` of a probability vector
    (:math:`0 \log 0 = 0`).

    Args:
        p: a probability vector, shape ``(n,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`H(p) \ge 0`, in nats (or ``base`` units); at most :math:`\log n`.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    return scaled(F.entropy(as_distribution("p", p)), base)


def kl(p, q, *, base=None) -> float:
    r""":math:`\mathrm{KL}(p \Vert q) = \sum_i p_i \log(p_i/q_i)`; +inf when q = 0 somewhere p > 0.

    Args:
        p: a probability vector, shape ``(n,)``.
        q: a probability vector of the same shape.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`\mathrm{KL}(p \Vert q) \ge 0` (up to rounding, ~1e-16), in nats; may be +inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or q and p differ in length.
    """
    p, q = as_distribution("p", p), as_distribution("q", q)
    if p.shape != q.shape:
        raise TableError(f"q: has {q.shape[0]} entries, expected {p.shape[0]} to match p")
    return scaled(F.kl(p, q), base)


def mutual_information(joint, *, base=None) -> float:
    r""":math:`I(A; B)` of a joint table :math:`p(a, b)` whose entries sum to 1.

    Args:
        joint: :math:`p(a, b)`, shape ``(n_a, n_b)``, all entries summing to 1.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`I(A; B) = \sum_{a,b} p(a, b) \log[p(a, b) / (p(a)\, p(b))] \ge 0`, in nats.

    Raises:
        TableError: ``joint`` is not rank 2, has a negative or non-finite entry, or does not
            sum to 1 within ``SUM_TOL``.
    """
    return scaled(F.mutual_information(as_joint("joint", joint)), base)


# ----------------------------------------------------------------------------- the VAE


def data_entropy(px, *, base=None) -> float:
    r""":math:`H = -\sum_x p^*(x) \log p^*(x)`, the entropy of the data.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: H in nats (3.0184 for the toy); the least value of R + D.

    Raises:
        TableError: ``px`` is not a probability vector.
    """
    return scaled(F.entropy(as_distribution("px", px)), base)


def distortion(px, encoder, decoder, *, base=None) -> float:
    r""":math:`D = -\sum_x p^*(x) \sum_z e(z|x) \log d(x|z)`; +inf if :math:`d(x|z) = 0` where
    :math:`p_e(x, z) > 0`.

    Identity:
    :math:`D = (H - I_e) + \sum_z q(z)\, \mathrm{KL}(p_e(\cdot|z) \Vert d(\cdot|z)) \ge H - I_e`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`D \ge 0` in nats (or ``base`` units); may be +inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, d, _ = check_model(px, encoder, decoder)
    return scaled(table_rate_distortion(px, e, d)[1], base)


def rate(px, encoder, marginal, *, base=None) -> float:
    r""":math:`R = \sum_x p^*(x) \sum_z e(z|x) \log[e(z|x)/m(z)]`; +inf if :math:`m(z) = 0` where
    :math:`q(z) > 0`.

    Identity: :math:`R = I_e + \mathrm{KL}(q \Vert m) \ge I_e`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`R \ge 0` in nats (or ``base`` units); may be +inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, _, m = check_model(px, encoder, marginal=marginal)
    return scaled(table_rate_distortion(px, e, mar=m)[0], base)


def elbo(px, encoder, decoder, marginal, *, base=None) -> float:
    r""":math:`\mathrm{ELBO} = -(D + R) = \sum_{x,z} p_e(x, z) \log[m(z)\, d(x|z) / e(z|x)]`
    :math:`\le \sum_x p^*(x) \log g(x) \le -H`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: the ELBO in nats, :math:`\le -H`; may be -inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, d, m = check_model(px, encoder, decoder, marginal)
    r, dist = table_rate_distortion(px, e, d, m)
    return scaled(-(r + dist), base)


def representational_mi(px, encoder, *, base=None) -> float:
    r""":math:`I_e = I(X; Z)` under :math:`p_e(x, z) = p^*(x)\, e(z|x)`.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`I_e` in nats, :math:`0 \le I_e \le \min(H, \log n_z)`.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, _, _ = check_model(px, encoder)
    return scaled(F.mutual_information(F.encoder_joint(px, e)), base)


def generative_mi(decoder, marginal, *, base=None) -> float:
    r""":math:`I_d = I(X; Z)` under :math:`p_d(x, z) = m(z)\, d(x|z)`.

    Args:
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`I_d` in nats, :math:`\ge 0`.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    d, m = check_generative(decoder, marginal)
    return scaled(F.mutual_information(F.generative_joint(d, m)), base)


def generative_bound_e(encoder, decoder, marginal, *, base=None) -> float:
    r""":math:`E = \sum_z m(z) \sum_x d(x|z) \log[e(z|x)/m(z)] \le I_d` (paper eq. 9).

    -inf if :math:`e(z|x) = 0` where :math:`p_d(x, z) > 0`.

    Args:
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: E in nats, a lower bound on :math:`I_d`; may be -inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    e = as_conditional("encoder", encoder)
    d, m = check_generative(decoder, marginal)
    if e.shape != d.T.shape:
        raise TableError(
            f"encoder: shape {e.shape}, expected (n_x, n_z) = {d.T.shape} to match the decoder"
        )
    return scaled(F.generative_bound_e(e, d, m), base)


def generative_bound_g(decoder, marginal, r=None, *, base=None) -> float:
    r""":math:`G = \sum_z m(z) \sum_x d(x|z) \log[d(x|z)/r(x)]`
    :math:`= I_d + \mathrm{KL}(g \Vert r) \ge I_d` (paper eq. 10).

    Any density r(x) gives an upper bound. Default: r = g itself would make :math:`G = I_d`
    trivially,
    so toyrd's default (in :func:`evaluate`) is :math:`r = p^*`, which makes the gap
    :math:`G - I_d = \mathrm{KL}(g \Vert p^*)`
    a measure of how far the generative model is from the data. Here ``r`` is required unless
    you call through :func:`evaluate`; pass ``r=px`` for the default.

    Args:
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        r: the reference density r(x), shape ``(n_x,)``; required here.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: G in nats, an upper bound on :math:`I_d`; may be +inf where :math:`r(x) = 0 < g(x)`.

    Raises:
        TableError: ``r`` is missing or has the wrong length, or a table is not a
            probability table.
    """
    d, m = check_generative(decoder, marginal)
    if r is None:
        raise TableError(
            "r: required here (toyrd's default reference is r = px; pass it explicitly)"
        )
    r = as_distribution("r", r)
    if r.shape[0] != d.shape[1]:
        raise TableError(f"r: has {r.shape[0]} entries, expected n_x = {d.shape[1]}")
    return scaled(F.generative_bound_g(d, m, r), base)


def reparam_u(px, encoder, decoder, r=None, *, base=None) -> float:
    r""":math:`U = \sum_{x,z} p_e(x, z) \log[d(x|z)/r(x)]` (eq. 13); default :math:`r = p^*`.
    :math:`U - S = H - D` (eq. 15).

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        r: the reference density r(x), shape ``(n_x,)``; default p*.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: U in nats; may be -inf.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
    """
    px, e, d, _ = check_model(px, encoder, decoder)
    return scaled(F.reparam_u(px, e, d, reference_density(r, px)), base)


def reparam_s(px, r=None, *, base=None) -> float:
    r""":math:`S = \sum_x p^*(x) \log[p^*(x)/r(x)] = \mathrm{KL}(p^* \Vert r)` (eq. 14); default
    :math:`r = p^*` gives S = 0.

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        r: the reference density r(x), shape ``(n_x,)``; default p*.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`S \ge 0` in nats; may be +inf.

    Raises:
        TableError: ``px`` or ``r`` is not a probability vector.
    """
    px = as_distribution("px", px)
    return scaled(F.reparam_s(px, reference_density(r, px)), base)


def latent_information(pzx, encoder, *, base=None) -> float:
    r""":math:`I(z; z^*)` of :math:`p(z^*, z) = \sum_x p(z^*, x)\, e(z|x)`: how much of the true
    latent the code keeps.

    Args:
        pzx: the true joint :math:`p(z^*, x)`, shape ``(n_class, n_x)`` (2 × 30 for the toy).
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        base: logarithm base of the result: None (default) for nats, 2 for bits.

    Returns:
        float: :math:`I(z; z^*)` in nats; at most :math:`I(x; z^*)` (data processing; 0.5 for the
            toy).

    Raises:
        TableError: ``pzx`` is not a joint table, or its columns do not match the
            encoder's rows.
    """
    joint = as_joint("pzx", pzx)
    e = as_conditional("encoder", encoder)
    if joint.shape[1] != e.shape[0]:
        raise TableError(
            f"pzx: has {joint.shape[1]} columns, expected n_x = {e.shape[0]} to match the encoder"
        )
    return scaled(F.mutual_information(joint @ e), base)
