"""The one implementation of every formula, written once for numpy, jax.numpy and torch.

These functions do no validation (the public wrappers in :mod:`toyrd.info` do) and work on
whatever array type they are given, so the exact numpy core, the jitted JAX trainer and the
PyTorch trainer all share them. Shapes: ``px`` (n_x,), ``enc`` (n_x, n_z) = e(z|x),
``dec`` (n_z, n_x) = d(x|z), ``mar`` (n_z,) = m(z). Natural logs (nats).

Conventions (the single home of them): ``xlogy(0, y) = 0`` for any y, so 0·log 0 = 0; and
``xlogy(a, 0) = -inf`` for a > 0, so a required log 0 makes D or R equal to +inf, never NaN.
Gradients (jax, torch): where a = 0 < b, ∂/∂b xlogy = a/b = 0 and ∂/∂a = log b, both finite;
where a = b = 0 the library rules give ∂/∂b = 0/0 = NaN (and ∂/∂a = −inf). Tables produced by a
softmax never hold exact zeros, so the trainers do not meet that corner; exact sparse tables
belong to the numpy path, which needs no gradients.
"""

from __future__ import annotations


def xlogy(a, b):
    """``a * log(b)`` with ``0 * log(anything) = 0``, dispatched on the array type of ``a``."""
    mod = type(a).__module__.split(".")[0]
    if mod in ("jax", "jaxlib"):
        from jax.scipy.special import xlogy as f
    elif mod == "torch":
        from torch import xlogy as f
    else:
        from scipy.special import xlogy as f
    return f(a, b)


def entropy(p):
    """H(p) = -sum p log p."""
    return -xlogy(p, p).sum()


def kl(p, q):
    """KL(p || q) = sum p log(p / q); +inf where q = 0 < p."""
    return xlogy(p, p).sum() - xlogy(p, q).sum()


def mutual_information(joint):
    """I of a 2-D joint table: sum j log j - sum a log a - sum b log b (a, b its marginals)."""
    return xlogy(joint, joint).sum() - xlogy(joint.sum(1), joint.sum(1)).sum() - xlogy(
        joint.sum(0), joint.sum(0)
    ).sum()


def encoder_joint(px, enc):
    """p_e(x, z) = p*(x) e(z|x), shape (n_x, n_z)."""
    return px[:, None] * enc


def generative_joint(dec, mar):
    """p_d(z, x) = m(z) d(x|z), shape (n_z, n_x) (note: z first, like the decoder)."""
    return mar[:, None] * dec


def distortion(px, enc, dec):
    """D = -sum_x p*(x) sum_z e(z|x) log d(x|z)."""
    return -xlogy(encoder_joint(px, enc), dec.T).sum()


def rate(px, enc, mar):
    """R = sum_x p*(x) sum_z e(z|x) log[e(z|x) / m(z)]."""
    pe = encoder_joint(px, enc)
    return xlogy(pe, enc).sum() - xlogy(pe, mar[None, :]).sum()


def rate_distortion(px, enc, dec, mar):
    """(R, D) sharing the encoder joint: the pair every objective needs."""
    pe = encoder_joint(px, enc)
    r = xlogy(pe, enc).sum() - xlogy(pe, mar[None, :]).sum()
    d = -xlogy(pe, dec.T).sum()
    return r, d


def generative_bound_e(enc, dec, mar):
    """E = sum_z m(z) sum_x d(x|z) log[e(z|x) / m(z)]  (lower bound on I_d, paper eq. 9)."""
    return xlogy(generative_joint(dec, mar), enc.T).sum() - xlogy(mar, mar).sum()


def generative_bound_g(dec, mar, r):
    """G = sum_z m(z) sum_x d(x|z) log[d(x|z) / r(x)]  (upper bound on I_d, eq. 10)."""
    pd = generative_joint(dec, mar)
    return xlogy(pd, dec).sum() - xlogy(pd.sum(0), r).sum()


def reparam_u(px, enc, dec, r):
    """U = sum p_e(x,z) log[d(x|z) / r(x)]  (eq. 13)."""
    return -distortion(px, enc, dec) - xlogy(px, r).sum()


def reparam_s(px, r):
    """S = sum p*(x) log[p*(x) / r(x)] = KL(p* || r)  (eq. 14)."""
    return kl(px, r)
