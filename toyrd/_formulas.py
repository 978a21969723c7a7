"""The one implementation of every formula, written once for numpy, jax.numpy and torch.

These functions do no validation (the public wrappers in :mod:`toyrd.quantities` do) and work on
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

import math

from toyrd._backend import xlogy

__all__ = [
    "entropy",
    "kl",
    "mutual_information",
    "encoder_joint",
    "generative_joint",
    "distortion",
    "rate",
    "rate_distortion",
    "generative_bound_e",
    "generative_bound_g",
    "reparam_u",
    "reparam_s",
    "exp",
    "mul_log",
    "rate_distortion_log",
    "quantities",
    "xlogy",
]


def entropy(p):
    """H(p) = -sum p log p."""
    return -xlogy(p, p).sum()


def kl(p, q):
    """KL(p || q) = sum p log(p / q); +inf where q = 0 < p."""
    return xlogy(p, p).sum() - xlogy(p, q).sum()


def mutual_information(joint):
    """I of a 2-D joint table: sum j log j - sum a log a - sum b log b (a, b its marginals)."""
    return (
        xlogy(joint, joint).sum()
        - xlogy(joint.sum(1), joint.sum(1)).sum()
        - xlogy(joint.sum(0), joint.sum(0)).sum()
    )


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


# ----------------------------------------------------------------------------- log domain


def _backend(a) -> str:
    return type(a).__module__.split(".")[0]


def exp(a):
    """``exp`` dispatched on the array type of ``a`` (numpy, jax, torch)."""
    mod = _backend(a)
    if mod in ("jax", "jaxlib"):
        import jax.numpy as jnp

        return jnp.exp(a)
    if mod == "torch":
        return a.exp()
    import numpy as np

    return np.exp(a)


def mul_log(a, log_b):
    """``a · log_b`` with ``0 · log_b = 0`` even where ``log_b = -inf`` (the log-domain xlogy).

    ``log_b`` is already a log, so no log is taken. Where a = 0 the log is replaced by 0
    *before* the product, so the value is 0 and both gradients are finite (∂/∂log_b = a = 0,
    ∂/∂a = 0); where a > 0 and log_b = -inf the value is -inf (a required log 0), as xlogy.
    """
    zero = a == 0
    mod = _backend(log_b)
    if mod in ("jax", "jaxlib"):
        import jax.numpy as jnp

        safe = jnp.where(zero, 0.0, log_b)
    elif mod == "torch":
        import torch

        safe = torch.where(zero, torch.zeros((), dtype=log_b.dtype, device=log_b.device), log_b)
    else:
        import numpy as np

        safe = np.where(zero, 0.0, log_b)
    return a * safe


def _swap01(a):
    """Swap the first two axes (x ↔ z), keeping any trailing batch axes in place."""
    if _backend(a) == "torch":
        return a.transpose(0, 1)
    if a.ndim == 2:
        return a.T
    if _backend(a) in ("jax", "jaxlib"):
        import jax.numpy as jnp

        return jnp.swapaxes(a, 0, 1)
    import numpy as np

    return np.swapaxes(a, 0, 1)


def rate_distortion_log(px, log_enc, log_dec, log_mar, enc=None):
    """(R, D) from log-tables: the same R and D as :func:`rate_distortion`, without a log of a
    table.

    R = Σ_{x,z} p_e(x,z) log e(z|x) − Σ_z q(z) log m(z)   (q(z) = Σ_x p_e(x,z): n_z logs of m
    instead of n_x·n_z), D = −Σ_{x,z} p_e(x,z) log d(x|z), with p_e = p*(x) e(z|x) and
    e = exp(log_enc) unless the table ``enc`` is given. Shapes: px (n_x,), log_enc (n_x, n_z),
    log_dec (n_z, n_x), log_mar (n_z,); log-probabilities may be -inf (zero entries). Nats.
    Optional *trailing* batch axes (the same on log_enc, log_dec, log_mar and enc, e.g.
    (n_x, n_z, B)) give R and D of shape (B,): the JAX trainer keeps its batch last so that the
    sums over x and z run across contiguous rows of B models.
    Convention (via :func:`mul_log`): terms with weight 0 vanish, so R or D is +inf only where a
    required probability is 0, never NaN; gradients stay finite where a weight is 0.

    Identity (example): with log_mar = log q, R = I_e; with log_dec = log p_e(x|z),
    R + D = H (tested to 1e-12 against :func:`rate_distortion` in ``tests/test_formulas_log.py``).
    """
    e = exp(log_enc) if enc is None else enc
    pe = px.reshape(px.shape + (1,) * (e.ndim - 1)) * e
    q = pe.sum(0)
    r = mul_log(pe, log_enc).sum((0, 1)) - mul_log(q, log_mar).sum(0)
    d = -mul_log(pe, _swap01(log_dec)).sum((0, 1))
    return r, d


def quantities(px, enc, dec, mar, ref, pzx=None):
    """Every scalar of :func:`toyrd.evaluate` for one model (no validation), as a dict of 0-d
    arrays: H, D, R, ELBO, I_e, I_d, E, G, U, S, kl_q_m, kl_pstar_g, kl_pstar_dbar and, when the
    true joint ``pzx`` (|z*| × n_x) is given, I_zstar. ``ref`` is the reference density r(x).

    numpy arrays take :func:`_quantities_numpy` (the same sums, each table's log taken once)."""
    if _backend(enc) == "numpy":
        return _quantities_numpy(px, enc, dec, mar, ref, pzx)
    pe = encoder_joint(px, enc)
    q = pe.sum(0)
    r, d = rate_distortion(px, enc, dec, mar)
    out = {
        "H": entropy(px),
        "D": d,
        "R": r,
        "ELBO": -(r + d),
        "I_e": mutual_information(pe),
        "I_d": mutual_information(generative_joint(dec, mar)),
        "E": generative_bound_e(enc, dec, mar),
        "G": generative_bound_g(dec, mar, ref),
        "U": reparam_u(px, enc, dec, ref),
        "S": reparam_s(px, ref),
        "kl_q_m": kl(q, mar),
        "kl_pstar_g": kl(px, mar @ dec),
        "kl_pstar_dbar": kl(px, q @ dec),
    }
    if pzx is not None:
        out["I_zstar"] = mutual_information(pzx @ enc)
    return out


def _quantities_numpy(px, enc, dec, mar, ref, pzx=None):
    """:func:`quantities` for numpy: the same terms (each ``xlogy(a, b).sum()`` above is
    ``_wsum(a, log b)`` here), every table's log taken once and reused, each weighted sum one
    ``np.vdot`` and each marginal one matrix-vector product (g = Σ_z p_d(z, ·) is m @ d) — a
    third of the generic path's numpy calls. Agrees with it to float64 rounding (summation
    order); tested in tests/quantities/test_info.py."""
    import numpy as np

    with np.errstate(divide="ignore"):  # log 0 = -inf, as xlogy's convention needs
        pe, pd = px[:, None] * enc, mar[:, None] * dec
        q, g = px @ enc, mar @ dec  # q(z), and g(x) = Σ_z p_d(z, x)
        dbar = q @ dec
        pe_x, m_sum = pe @ np.ones(enc.shape[1]), pd @ np.ones(dec.shape[1])  # the row marginals
        le, ld, lpe, lpd = np.log(enc), np.log(dec), np.log(pe), np.log(pd)
        lm, lpx, lref, lq, lg, ldbar = (np.log(a) for a in (mar, px, ref, q, g, dbar))
        h_neg = _wsum(px, lpx)  # Σ p* log p* = −H
        b_m, q_lq, px_lref = _wsum(q, lm), _wsum(q, lq), _wsum(px, lref)
        d = -_wsum(pe, ld.T)
        r = _wsum(pe, le) - b_m
        out = {
            "H": -h_neg,
            "D": d,
            "R": r,
            "ELBO": -(r + d),
            "I_e": _wsum(pe, lpe) - _wsum(pe_x, np.log(pe_x)) - q_lq,
            "I_d": _wsum(pd, lpd) - _wsum(m_sum, np.log(m_sum)) - _wsum(g, lg),
            "E": _wsum(pd, le.T) - _wsum(mar, lm),
            "G": _wsum(pd, ld) - _wsum(g, lref),
            "U": -d - px_lref,
            "S": h_neg - px_lref,
            "kl_q_m": q_lq - b_m,
            "kl_pstar_g": h_neg - _wsum(px, lg),
            "kl_pstar_dbar": h_neg - _wsum(px, ldbar),
        }
        if pzx is not None:
            j = pzx @ enc
            out["I_zstar"] = sum(
                _wsum(a, np.log(a)) * sign for a, sign in ((j, 1), (j.sum(1), -1), (j.sum(0), -1))
            )
    return out


def _wsum(a, log_b):
    """Σ a · log_b with 0 · log_b = 0 (numpy; ``a`` >= 0, ``log_b`` in [-inf, inf)): one dot
    product, redone elementwise only when a 0 meets a log 0 (the dot's NaN)."""
    import numpy as np

    s = np.vdot(a, log_b)
    if math.isnan(s):
        s = np.vdot(a, np.where(a == 0, 0.0, log_b))
    return s
