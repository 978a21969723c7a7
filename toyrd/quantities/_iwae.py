"""The importance-weighted bound IWAE_k of a finite VAE: exact, by quadrature, or by Monte Carlo.

With importance weights w(x, z) = p_d(x, z) / e(z|x) = m(z) d(x|z) / e(z|x) (defined where
e(z|x) > 0),

    IWAE_k = Σ_x p*(x) E_{z_1..z_k iid e(·|x)} log (1/k) Σ_i w(x, z_i)        (nats)

and ELBO = IWAE_1 ≤ IWAE_k ≤ IWAE_{k+1} ≤ Σ_x p*(x) log g(x) (Burda et al. 2016; see
[Concepts][concepts]).
The outer sum over x is always exact; only the inner expectation over the k samples needs a
scheme. Three are offered, all float64:

``exact``
    Enumerate the multisets {z_1..z_k} of the support of e(·|x): C(s+k-1, k) of them for s
    states, each with its multinomial probability k!/Π m_j! Π e(z|x)^{m_j}. States with
    identical log-weights are merged first (exactly), so an optimal or collapsed model costs
    nothing. 40,920 multisets per x for the 30 × 30 toy at k = 4.
``quad``
    Deterministic for any k at a cost independent of k, from the Frullani-type identity
    log y = ∫_0^∞ (e^{-t} - e^{-t y}) dt / t:

        E log(S/k) = log c + ∫_{-∞}^{∞} [e^{-t} - φ(t/k)^k] dv,   t = e^v,  S = Σ_i w_i,

    with c = E w (the mean weight) and φ(u) = Σ_z e(z|x) exp(-u w(x,z)/c). The integrand is
    written as -e^{-t} expm1(k ψ(t/k)), ψ(u) = log φ(u) + u ≥ 0, so nothing cancels. Evaluated
    with the trapezoid rule in v (geometrically convergent for this analytic, fast-decaying
    integrand); the tests hold it to the enumeration at ``1e-11``.
``mc``
    Stratified over x: ``n_samples`` draws of k states per x from an explicit seed, the
    per-x sample means combined with weights p*(x); ``stderr`` = sqrt(Σ_x p*(x)² s_x² / n).

Everything runs on log-weights log w = log m(z) + log d(x|z) - log e(z|x): the product
m(z) d(x|z) is never formed, so weights far below the smallest float (1e-200 · 1e-200) or
subnormal entries leave the value finite, and ELBO ≤ IWAE_k holds wherever both are defined
(``tests/quantities/test_iwae_underflow.py``).

``method="auto"`` enumerates when the total number of multisets is at most ``max_terms``
(the toy at k ≤ 4), and uses quadrature beyond.

If some state z has e(z|x) > 0 but p_d(x, z) = 0 for an x with p*(x) > 0, the k draws all land
on such states with positive probability, so IWAE_k = -inf exactly, whatever the method.

>>> import numpy as np, toyrd
>>> from toyrd.quantities import iwae_bound
>>> px = np.array([0.5, 0.5]); e = np.array([[0.9, 0.1], [0.2, 0.8]])
>>> d = np.array([[0.7, 0.3], [0.4, 0.6]]); m = np.array([0.5, 0.5])
>>> abs(iwae_bound(px, e, d, m, 1).value - toyrd.elbo(px, e, d, m)) < 1e-12   # IWAE_1 = ELBO
True
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import special

from toyrd._validate import as_conditional, as_distribution, check_int, check_model
from toyrd.errors import TableError, ToyrdError
from toyrd.quantities._logeval import log_sum_exp, log_table, weighted_log_sum

__all__ = [
    "IWAEResult",
    "iwae_bound",
    "log_likelihood_bound",
    "multiset_count",
    "EXACT_MAX_TERMS",
    "QUAD_STEP",
    "METHODS",
]

#: ``auto`` enumerates when Σ_x C(s_x + k - 1, k) is at most this (the 30 × 30 toy at k = 4
#: needs 30 · 40,920 = 1,227,600); ``exact`` refuses more than 50 times this.
EXACT_MAX_TERMS = 2_000_000

#: Step of the trapezoid rule in v = log t for ``quad`` (see :func:`_quad_one`). Already at
#: 1/8 the rule matches enumeration on random toy models to ~2e-15 nats; 1/16 keeps a margin.
QUAD_STEP = 1.0 / 16

METHODS = ("auto", "exact", "quad", "mc")


class IWAEResult(NamedTuple):
    r""":math:`\mathrm{IWAE}_k` in nats. ``stderr`` is the Monte-Carlo standard error (0 for exact
    and quad)."""

    value: float
    stderr: float
    exact: bool  # True when no sampling is involved (enumeration or quadrature)
    k: int
    method: str  # the scheme actually used: "exact", "quad", "mc" or "infinite"
    n_samples: int  # draws of k states per data state (0 unless method == "mc")


def multiset_count(s: int, k: int) -> int:
    r""":math:`\binom{s + k - 1}{k}`: the number of multisets of size k from s states."""
    return math.comb(s + k - 1, k)


def log_likelihood_bound(px, decoder, marginal) -> float:
    r"""The limit of the chain as :math:`k \to \infty`:
    :math:`\sum_x p^*(x) \log g(x) = -(H + \mathrm{KL}(p^* \Vert g))` (nats).

    :math:`\mathrm{IWAE}_k` converges to :math:`\sum_x p^*(x) \log \sum_{z: e(z|x)>0} p_d(x, z)`,
    which equals this when the encoder's support covers the model posterior's. Computed from
    log m + log d, so a :math:`g(x)` below the smallest float (products 1e-200 · 1e-200) stays
    finite.
    """
    px = as_distribution("px", px)
    d = as_conditional("decoder", decoder)
    m = as_distribution("marginal", marginal)
    if d.shape != (m.shape[0], px.shape[0]):
        raise TableError(
            f"decoder: shape {d.shape}, expected (n_z, n_x) = {(m.shape[0], px.shape[0])}"
        )
    # log g(x) = log Σ_z exp(log m(z) + log d(x|z)): g may underflow where its log does not
    lg = log_sum_exp(log_table(m)[:, None] + log_table(d), 0)
    return weighted_log_sum(log_table(px), lg, px)


def iwae_bound(
    px,
    encoder,
    decoder,
    marginal,
    k: int,
    *,
    method: str = "auto",
    n_samples: int = 4096,
    seed: int = 0,
    max_terms: int = EXACT_MAX_TERMS,
) -> IWAEResult:
    r""":math:`\mathrm{IWAE}_k = \sum_x p^*(x)\, E \log \frac1k \sum_i p_d(x, z_i)/e(z_i|x)`,
    :math:`z_i \sim e(\cdot|x)` iid (nats).

    Shapes: ``px`` ``(n_x,)``, ``encoder`` ``(n_x, n_z)``, ``decoder`` ``(n_z, n_x)``, ``marginal``
    ``(n_z,)``. ``method``: "auto" | "exact" | "quad" | "mc" (see the module docstring);
    ``n_samples`` and ``seed`` are used by "mc" only. Identity:
    :math:`\mathrm{IWAE}_1 = \mathrm{ELBO} = -(D + R)`.
    """
    px, e, d, m = check_model(px, encoder, decoder, marginal)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ToyrdError(f"k: {k!r}, expected an integer >= 1")
    k = int(k)
    if method not in METHODS:
        raise ToyrdError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    if method == "mc" and (
        isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2
    ):
        raise ToyrdError(f"n_samples: {n_samples!r}, expected an integer >= 2")
    max_terms = check_int("max_terms", max_terms, 1)
    if method == "mc":
        seed = check_int("seed", seed, 0)

    # log w = log m(z) + log d(x|z) - log e(z|x), each a log of a table entry: m(z) d(x|z) is
    # never formed, so a product below the smallest float (1e-200 · 1e-200) stays finite.
    with np.errstate(divide="ignore"):
        log_m, log_d = np.log(m), np.log(d)
    rows = []  # (p*(x), probabilities on the support, log-weights on the support)
    for x in np.flatnonzero(px > 0):
        sup = e[x] > 0
        lpd = log_m[sup] + log_d[sup, x]
        if np.any(np.isneginf(lpd)):  # a draw of k such states has probability > 0, weight 0
            return IWAEResult(-math.inf, 0.0, True, k, "infinite", 0)
        rows.append((px[x], e[x, sup], lpd - np.log(e[x, sup])))

    if method == "auto":
        terms = sum(multiset_count(np.unique(lw).size, k) for _, _, lw in rows)
        method = "exact" if terms <= max_terms else "quad"
    if method == "exact":
        rows = [(p, *_merge(pe, lw)) for p, pe, lw in rows]
        terms = sum(multiset_count(lw.size, k) for _, _, lw in rows)
        if terms > 50 * max_terms:
            raise ToyrdError(
                f"k: exact enumeration needs {terms} multisets (limit {50 * max_terms}); "
                "use method='quad' or 'mc'"
            )
        value = math.fsum(p * _exact_one(pe, lw, k) for p, pe, lw in rows)
        return IWAEResult(value, 0.0, True, k, "exact", 0)
    if method == "quad":
        value = math.fsum(p * _quad_one(pe, lw, k) for p, pe, lw in rows)
        return IWAEResult(value, 0.0, True, k, "quad", 0)

    rng = np.random.default_rng(seed)
    means, variances = [], []
    for p, pe, lw in rows:
        mean, var = _mc_one(pe, lw, k, int(n_samples), rng)
        means.append(p * mean)
        variances.append(p * p * var)
    stderr = math.sqrt(math.fsum(variances) / n_samples)
    return IWAEResult(math.fsum(means), stderr, False, k, "mc", int(n_samples))


# ----------------------------------------------------------------------------- one data state


def _lse(a, axis=-1):
    """log Σ exp(a) along ``axis``; entries may be -inf (all -inf: -inf). Plain numpy: scipy's
    is slow on small rows and overflows on subnormal weights ``b``."""
    mx = a.max(axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    with np.errstate(divide="ignore"):
        return (np.log(np.exp(a - mx).sum(axis=axis, keepdims=True)) + mx).squeeze(axis)


def _merge(pe, logw):
    """Merge states whose log-weights are equal (exactly): their draws are interchangeable."""
    vals, inv = np.unique(logw, return_inverse=True)
    return np.bincount(inv, weights=pe, minlength=vals.size), vals


@lru_cache(maxsize=64)
def _multisets(s: int, k: int):
    """All multisets of size k of range(s), as the columns of a (k, C(s+k-1, k)) index array
    (each column sorted), and log k!/Π m_j! for each."""
    rows = np.arange(s)[:, None]
    for _ in range(k - 1):
        last = rows[:, -1]
        reps = s - last
        start = np.repeat(last, reps)
        offset = np.arange(start.size) - np.repeat(np.cumsum(reps) - reps, reps)
        rows = np.hstack([np.repeat(rows, reps, axis=0), (start + offset)[:, None]])
    # Σ_j log m_j! = Σ_i log r_i, r_i the 1-based position of column i within its run of equals
    run = np.ones(rows.shape[0])
    log_coef = np.full(rows.shape[0], special.gammaln(k + 1))
    for i in range(1, k):
        run = np.where(rows[:, i] == rows[:, i - 1], run + 1, 1.0)
        log_coef -= np.log(run)
    cols = np.ascontiguousarray(rows.T)  # (k, C): reductions over the k draws run along axis 0
    cols.setflags(write=False)
    log_coef.setflags(write=False)
    return cols, log_coef


def _exact_one(pe, logw, k):
    """E log (1/k) Σ_i w_i by enumeration of multisets with multinomial probabilities."""
    cols, log_coef = _multisets(logw.size, k)
    logp = np.log(pe)
    out = []
    step = 1 << 18  # chunks bound the memory at k · 2^18 entries
    for lo in range(0, cols.shape[1], step):
        c = cols[:, lo : lo + step]
        prob = np.exp(log_coef[lo : lo + c.shape[1]] + logp[c].sum(0))
        out.append(prob @ (_lse(logw[c], axis=0) - math.log(k)))
    return math.fsum(out)


def _quad_one(pe, logw, k):
    """E log (1/k) Σ_i w_i = log c + ∫ -e^{-t} expm1(k ψ(t/k)) dv, t = e^v (module docstring).

    The integrand is analytic in v and decays like e^{2v} on the left and doubly exponentially
    on the right, so the trapezoid rule on a uniform grid of step ``QUAD_STEP`` converges
    geometrically (its error falls like exp(-π²/step)); the range is cut where the neglected
    tails are below 1e-30.
    """
    log_pe = np.log(pe)  # pe > 0 on the support; subnormal entries stay finite in logs
    log_c = float(_lse(logw + log_pe))
    y = logw - log_c  # log of the normalised weights w (E w = 1); w itself may overflow
    # log |w - 1| without forming w: y + log(1 - e^{-y}) above 0, log(1 - e^{y}) below
    with np.errstate(divide="ignore"):
        log_a = np.where(y > 0, y + np.log(-np.expm1(-np.abs(y))), np.log(-np.expm1(-np.abs(y))))
    if np.all(np.isneginf(log_a)):
        return log_c
    log_span = float(log_a.max())
    log_var = float(_lse(2.0 * log_a + log_pe))  # log Σ e (w - 1)², no overflow
    log_w_min = float(y.min())
    # Left: k ψ(t/k) ≈ t² Var/(2k) while (t/k)·max|w - 1| < 1/2, so the tail below t_lo
    # contributes < t_lo² Var/(4k) ≤ 1e-30; t_lo also stays inside that range of validity.
    v_lo = min(0.5 * (math.log(1e-30) - log_var), math.log(0.5 * k) - log_span)
    # Right: φ(u) ≤ e^{-u w_min}, so e^{-t} and φ(t/k)^k are both below e^{-70} beyond t_hi.
    v_hi = math.log(70.0) - min(0.0, log_w_min)
    v = np.arange(v_lo, v_hi + QUAD_STEP, QUAD_STEP)
    log_u = v - math.log(k)
    with np.errstate(over="ignore"):  # t = e^v = +inf far right: e^{-t} = 0 there, as it should
        t = np.exp(v)
        # u·w = exp(log u + log w) = +inf is the right limit: that term of φ is 0
        lphi = _lse(log_pe[None, :] - np.exp(log_u[:, None] + y[None, :]))
    # k ψ(t/k) = k log φ(t/k) + t; near t = 0 from log1p (nothing cancels against t), elsewhere
    # from log φ itself, which also gives φ^k = exp(k log φ) directly where k ψ is large.
    small = log_u < math.log(0.5) - log_span
    kpsi = np.full_like(v, np.inf)
    if small.any():  # u·(w - 1) from logs: |u (w - 1)| < 1/2 there even where w overflows
        ua = np.sign(y)[None, :] * np.exp(log_u[small, None] + log_a[None, :])
        kpsi[small] = k * np.log1p(np.expm1(-ua) @ pe)
    with np.errstate(invalid="ignore"):  # -inf + inf: both terms of f are 0 (kpsi stays inf)
        big = k * lphi[~small] + t[~small]
    kpsi[~small] = np.where(np.isnan(big), np.inf, big)
    hot = kpsi > 1.0  # there e^{-t} expm1(kψ) = φ^k - e^{-t} loses nothing
    f = np.empty_like(v)
    f[~hot] = -np.exp(-t[~hot]) * np.expm1(kpsi[~hot])
    f[hot] = np.exp(-t[hot]) - np.exp(k * lphi[hot])
    return log_c + QUAD_STEP * math.fsum(f)


def _mc_one(pe, logw, k, n, rng):
    """Sample mean and variance (ddof 1) of log (1/k) Σ_i w_i over n draws of k states.

    Drawn in blocks of rows (at most 2^22 uniforms at a time), which consumes the generator in
    the same order as one (n, k) draw, so the result does not depend on the block size.
    """
    cdf = np.cumsum(pe)
    cdf[-1] = 1.0
    rows = max(1, (1 << 22) // k)
    vals = np.empty(n)
    for lo in range(0, n, rows):
        u = rng.random((min(rows, n - lo), k))
        idx = np.minimum(np.searchsorted(cdf, u, side="right"), pe.size - 1)
        vals[lo : lo + u.shape[0]] = _lse(logw[idx]) - math.log(k)
    return float(vals.mean()), float(vals.var(ddof=1))
