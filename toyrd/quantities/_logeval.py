"""Every exact quantity from log-tables: a model is what its logs say, not its rounded tables.

A model defined by logits has d(x|z) = exp(log d(x|z)) > 0 everywhere, but the float64 table can
hold an exact 0 where log d < −745; the table formula then multiplies the posterior mass there
(say 5e-87) by log 0 and reports D = +inf for a model whose D is finite. Here every sum
Σ a·log b takes its weight a as exp(log a) and decides "a = 0" from log a = −inf, never from the
rounded a; q, g and d̄ are log-sum-exps of log-joints, so no product underflows either:

    D = −Σ p_e(x,z) log d(x|z),  R = Σ p_e log e − Σ q log m,  with log p_e = log p* + log e.

A weight that is positive but underflows to 0 (p*(x) e(z|x) = 1e-304 · 1e-24) meeting a required
log 0 gives −inf, as the exact sum does: the table of probabilities and the table of its logs
give the same R and D, which is what makes ELBO ≤ IWAE_k ≤ Σ p* log g hold on every valid input.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "log_quantities",
    "log_table",
    "log_sum_exp",
    "weighted_log_sum",
    "table_rate_distortion",
]


def log_table(a) -> np.ndarray:
    """log of a probability table, −inf (no warning) where an entry is 0."""
    with np.errstate(divide="ignore"):
        return np.log(a)


def log_sum_exp(a, axis: int) -> np.ndarray:
    """log Σ exp(a) along ``axis``; −inf entries allowed (an all −inf slice gives −inf)."""
    top = a.max(axis=axis, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top).sum(axis=axis)) + top.squeeze(axis)


def weighted_log_sum(log_w, log_b, w=None) -> float:
    """Σ exp(log_w) · log_b: 0 where log_w = −inf, ±inf where a positive weight (even one that
    underflows to 0) meets log_b = ±inf. ``w`` = exp(log_w) when already at hand."""
    w = np.exp(log_w) if w is None else w
    s = float(np.vdot(w, log_b))
    if s != s:  # NaN: a weight of 0 met log 0; redo term by term
        with np.errstate(invalid="ignore"):
            log_b = np.where(log_w == -np.inf, 0.0, log_b)
            terms = w * log_b
        s = float(np.where(np.isnan(terms), log_b, terms).sum())
    return s


def log_quantities(px, log_enc, log_dec, log_mar, ref=None, pzx=None) -> dict:
    """The scalars of :func:`toyrd.evaluate` (no validation) from p*(x) (n_x,) and the log-tables
    log e (n_x, n_z), log d (n_z, n_x), log m (n_z,); ``ref`` is r(x) (default p*), ``pzx`` the
    true joint (n_class, n_x). Nats. Identity: with log m = log q and log d = log p_e(x|z),
    R + D = H."""
    W = weighted_log_sum
    lpx = log_table(px)
    lref = lpx if ref is None else log_table(ref)
    lpe, lpd = lpx[:, None] + log_enc, log_mar[:, None] + log_dec  # log p_e(x,z), log p_d(z,x)
    lq, lg = log_sum_exp(lpe, 0), log_sum_exp(lpd, 0)
    ldbar = log_sum_exp(lq[:, None] + log_dec, 0)
    pe, q, pd, g = np.exp(lpe), np.exp(lq), np.exp(lpd), np.exp(lg)  # each weight once
    pe_le, q_lq, q_lm, pd_ld = (
        W(lpe, log_enc, pe),
        W(lq, lq, q),
        W(lq, log_mar, q),
        W(lpd, log_dec, pd),
    )
    px_lpx, px_lref = W(lpx, lpx, px), W(lpx, lref, px)
    d, r = -W(lpe, log_dec.T, pe), pe_le - q_lm
    out = {
        "H": -px_lpx,
        "D": d,
        "R": r,
        "ELBO": -(r + d),
        "I_e": pe_le - q_lq,
        "I_d": pd_ld - W(lg, lg, g),
        "E": W(lpd, log_enc.T, pd) - W(log_mar, log_mar),
        "G": pd_ld - W(lg, lref, g),
        "U": -d - px_lref,
        "S": px_lpx - px_lref,
        "kl_q_m": q_lq - q_lm,
        "kl_pstar_g": px_lpx - W(lpx, lg, px),
        "kl_pstar_dbar": px_lpx - W(lpx, ldbar, px),
    }
    if pzx is not None:  # I(z; z*) of p(z*, z) = Σ_x p(z*, x) e(z|x), from logs as well
        lj = log_sum_exp(log_table(pzx)[:, :, None] + log_enc[None], 1)
        lc, lz = log_sum_exp(lj, 1), log_sum_exp(lj, 0)
        out["I_zstar"] = W(lj, lj) - W(lc, lc) - W(lz, lz)
    return out


def table_rate_distortion(px, enc, dec=None, mar=None):
    """(R, D) of probability tables by the sums above (None for a table not given): a weight
    p*(x) e(z|x) that underflows to 0 still meets log d(x|z) = log 0 as −inf."""
    lpe = log_table(px)[:, None] + log_table(enc)
    pe = np.exp(lpe)
    d = None if dec is None else -weighted_log_sum(lpe, log_table(dec).T, pe)
    if mar is None:
        return None, d
    with np.errstate(invalid="ignore"):  # −inf − (−inf) only where p_e = 0: weight 0 there
        r = weighted_log_sum(lpe, log_table(enc) - log_table(mar)[None, :], pe)  # one sum: e = m
    return r, d  # gives R = 0 exactly
