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

import numpy as np

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
    return _quantities_generic(px, enc, dec, mar, ref, pzx)


def _quantities_generic(px, enc, dec, mar, ref, pzx=None):
    """:func:`quantities` from the named formulas, on any backend (the definition the numpy
    path is tested against)."""
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
    """:func:`quantities` for numpy in few calls: every ``xlogy(a, b).sum()`` above is a dot
    product of ``a`` with ``log b``, every table's log is taken once, and the vector sums come
    from two small matrix products — W_z[i, j] = Σ_z Z_i log Z_j over the rows (m, q) and
    W_x[i, j] = Σ_x X_i log X_j over the rows (p*, g, d̄[, r]); g and d̄ are one product (m; q) @ d.

    The two mutual informations use the rows' normalisation (validated to SUM_TOL):
    I_e = Σ p_e log e − Σ q log q and I_d = Σ p_d log d − Σ g log g, which is
    Σ p log(p / (marginal × marginal)) once Σ_z e(z|x) = 1 and Σ_x d(x|z) = 1. A 0 meeting a
    log 0 (the dot products' NaN) is redone elementwise with 0 · log 0 = 0. Agrees with the
    generic path to float64 rounding (tested in tests/quantities/test_info.py)."""
    n_x, n_z = enc.shape
    own_ref = ref is px
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf; 0 · -inf is redone
        pe, pd = px[:, None] * enc, mar[:, None] * dec
        zs = np.empty((2, n_z))  # rows m, q
        zs[0] = mar
        np.matmul(px, enc, out=zs[1])
        xs = np.empty((3 if own_ref else 4, n_x))  # rows p*, g, d̄ (, r)
        xs[0] = px
        np.matmul(zs, dec, out=xs[1:3])
        if not own_ref:
            xs[3] = ref
        le, ld, lz, lx = np.log(enc), np.log(dec), np.log(zs), np.log(xs)
        wz, wx = (zs @ lz.T).tolist(), (xs @ lx.T).tolist()
        pe_le, pe_ld, pd_ld, pd_le = (float(np.vdot(pe, le)), float(np.vdot(pe, ld.T)),
                                      float(np.vdot(pd, ld)), float(np.vdot(pd, le.T)))  # fmt: skip
        if math.isnan(sum(wz[0] + wz[1] + wx[0] + wx[1]) + pe_le + pe_ld + pd_ld + pd_le):
            wz, wx = _xlog_rows(zs, lz).tolist(), _xlog_rows(xs, lx).tolist()
            pe_le, pe_ld, pd_ld, pd_le = (
                float(_wsum(a, b)) for a, b in ((pe, le), (pe, ld.T), (pd, ld), (pd, le.T))
            )
        (m_lm, m_lq), (q_lm, q_lq) = wz
        (h_neg, px_lg, px_ldbar, *px_r), (g_lpx, g_lg, _, *g_r) = wx[0], wx[1]  # h_neg = −H
        px_lref, g_lref = (h_neg, g_lpx) if own_ref else (px_r[0], g_r[0])
        d, r = -pe_ld, pe_le - q_lm
        out = {
            "H": -h_neg,
            "D": d,
            "R": r,
            "ELBO": -(r + d),
            "I_e": pe_le - q_lq,
            "I_d": pd_ld - g_lg,
            "E": pd_le - m_lm,
            "G": pd_ld - g_lref,
            "U": -d - px_lref,
            "S": h_neg - px_lref,
            "kl_q_m": q_lq - q_lm,
            "kl_pstar_g": h_neg - px_lg,
            "kl_pstar_dbar": h_neg - px_ldbar,
        }
        if pzx is not None:
            # I(z; z*) = Σ j log j − Σ p(z*) log p(z*) − Σ q log q, j = p(z*, z) = pzx @ e; its
            # z-marginal is q = p* @ e (pzx's columns sum to p*, validated to SUM_TOL)
            j = pzx @ enc
            pc = j.sum(1)
            out["I_zstar"] = float(_wsum(j, np.log(j)) - _wsum(pc, np.log(pc)) - q_lq)
    return out


def _xlog_rows(v, log_v):
    """W[i, j] = Σ_k v[i, k] log_v[j, k] with 0 · log 0 = 0 (numpy)."""
    prod = v[:, None, :] * log_v[None, :, :]
    return np.where(v[:, None, :] == 0, 0.0, prod).sum(-1)


def _wsum(a, log_b):
    """Σ a · log_b with 0 · log_b = 0 (numpy; ``a`` >= 0, ``log_b`` in [-inf, inf)): one dot
    product, redone elementwise only when a 0 meets a log 0 (the dot's NaN)."""
    s = np.vdot(a, log_b)
    if math.isnan(s):
        s = np.vdot(a, np.where(a == 0, 0.0, log_b))
    return s
