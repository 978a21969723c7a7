"""Hard clusterings for the information-bottleneck frontier: agglomeration, sequential moves
and the tilted two-cluster codes near zero rate."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from toyrd.quantities._ib_ba import (  # noqa: F401
    ba_map,
)
from toyrd.quantities._ib_points import (  # noqa: F401
    SIB_STARTS,
    SIB_SWEEPS,
    hard_point,
    one_hot,
    posteriors,
)

__all__ = [
    "merge_cost",
    "agglomerate",
    "stage_labels",
    "best_clustering",
    "sequential_moves",
    "tilt",
    "excess_kl",
    "tilt_ratio",
    "best_tilt",
    "decode",
    "freeze",
]


def merge_cost(pa, ja, pb, jb):
    """Relevance lost per nat of rate lost when clusters a and b merge (broadcasting over the
    leading axes; ``j`` carries z* on the last axis). The rate H(z) drops by d_rate =
    xlogy(p_a + p_b) - xlogy(p_a) - xlogy(p_b) ≥ 0 and I(z;z*) by d_rate + Σ_s [xlogy(j_as) +
    xlogy(j_bs) - xlogy(j_as + j_bs)] ≥ 0 (xlogy(a) = a log a)."""
    xl = special.xlogy
    pm, jm = pa + pb, ja + jb
    d_rate = xl(pm, pm) - xl(pa, pa) - xl(pb, pb)
    d_rel = (xl(ja, ja) + xl(jb, jb) - xl(jm, jm)).sum(-1) + d_rate
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d_rate > 0, d_rel / d_rate, np.where(d_rel > 1e-15, np.inf, 0.0))


def agglomerate(joint):
    """Greedy merges from the identity (each x its own cluster) down to one cluster, merging the
    pair with the least relevance lost per nat of rate lost; O(n_x²) memory, a row-minimum cache.

    Returns ``parent`` (n_x,): merge t (t = 0, 1, ...) absorbed the cluster whose first member is
    ``absorbed[t]`` into another (see :func:`stage_labels`), stored as parent[absorbed] = kept and
    an order array; and the exact points (n_x, 2) of the stages with n_x, n_x - 1, ..., 1
    clusters."""
    n_x = joint.shape[1]
    xl = special.xlogy
    px, ps = joint.sum(0), joint.sum(1)
    pc, jc = px.copy(), joint.T.copy()
    h_s = xl(ps, ps).sum()
    alive = np.ones(n_x, dtype=bool)
    cost = np.empty((n_x, n_x))
    for lo in range(0, n_x, 256):  # row blocks bound the temporaries at 256 · n_x · n_s
        cost[lo : lo + 256] = merge_cost(
            pc[lo : lo + 256, None], jc[lo : lo + 256, None], pc[None], jc[None]
        )
    np.fill_diagonal(cost, np.inf)
    row_min, row_arg = cost.min(1), cost.argmin(1)
    parent = np.arange(n_x)
    when = np.full(n_x, n_x, dtype=np.intp)  # the merge step at which x stopped being a root
    pts = np.empty((n_x, 2))
    for t in range(n_x):
        live_p, live_j = pc[alive], jc[alive]
        hz = xl(live_p, live_p).sum()
        pts[t] = (-hz, xl(live_j, live_j).sum() - hz - h_s)
        if t == n_x - 1:
            break
        i = int(np.argmin(np.where(alive, row_min, np.inf)))
        j = int(row_arg[i])
        a, b = min(i, j), max(i, j)  # keep the lower index: labels stay ordered by first member
        pc[a] += pc[b]
        jc[a] += jc[b]
        alive[b] = False
        parent[b], when[b] = a, t
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        row = merge_cost(pc[a], jc[a], pc, jc)
        row[~alive] = np.inf
        row[a] = np.inf
        cost[a, :] = row
        cost[:, a] = row
        row_min[b] = np.inf
        row_min[a], row_arg[a] = row.min(), row.argmin()
        stale = alive & ((row_arg == a) | (row_arg == b))
        stale[a] = False
        if stale.any():
            rows = np.flatnonzero(stale)
            row_min[rows], row_arg[rows] = cost[rows].min(1), cost[rows].argmin(1)
        better = alive & (row < row_min)
        row_min[better], row_arg[better] = row[better], a
    return np.stack([parent, when]), pts


def stage_labels(parent, n_x, c):
    """Labels 0..c-1 of the agglomeration stage with c clusters (from :func:`agglomerate`)."""
    par, when = parent
    steps = n_x - c  # merges done by that stage
    root = np.arange(n_x)
    # follow parents through merges made before the stage; merges happen to roots only
    for _ in range(n_x):
        up = np.where(when[root] < steps, par[root], root)
        if np.array_equal(up, root):
            break
        root = up
    return np.unique(root, return_inverse=True)[1].astype(np.intp)


def best_clustering(joint, labels, n_z, rng):
    """The clustering with at most n_z clusters of highest I(z;z*) found by sequential moves from
    ``labels`` and from SIB_STARTS random ones (labels 0..c-1, c ≤ n_z; ties: lower rate)."""
    n_x = joint.shape[1]
    best, best_pt = None, None
    starts = [labels] + [rng.integers(0, n_z, n_x) for _ in range(SIB_STARTS)]
    for start in starts:
        lab = sequential_moves(joint, start, n_z, rng)
        lab = np.unique(lab, return_inverse=True)[1].astype(np.intp)
        pt = hard_point(joint, lab)
        if best is None or pt[1] > best_pt[1] or (pt[1] == best_pt[1] and pt[0] < best_pt[0]):
            best, best_pt = lab, pt
    return best


def sequential_moves(joint, labels, n_z, rng):
    """Move one data state at a time to the cluster that maximises I(z;z*) (Slonim, Friedman &
    Tishby's sequential IB for hard clusterings), in random order, until a sweep moves nothing."""
    xl = special.xlogy
    jx = joint.T
    lab = labels.astype(np.intp).copy()
    jc = np.zeros((n_z, joint.shape[0]))
    np.add.at(jc, lab, jx)

    def value(j):  # Σ_s j_s log(j_s / Σ_s j_s) per cluster: I(z;z*) = Σ_z value - Σ_s p_s log p_s
        return (xl(j, j) - xl(j, j.sum(-1, keepdims=True))).sum(-1)

    for _ in range(SIB_SWEEPS):
        moved = False
        for x in rng.permutation(jx.shape[0]):
            k0 = lab[x]
            jc[k0] -= jx[x]
            gain = value(jc + jx[x]) - value(jc)
            k = int(np.argmax(gain))
            if gain[k] <= gain[k0] + 1e-15:
                k = k0
            jc[k] += jx[x]
            if k != k0:
                lab[x], moved = k, True
        if not moved:
            break
    return lab


# ----------------------------------------------------------------------------- zero-rate slope


def tilt(joint, t):
    """r ∝ p*(x) exp(t · p(·|x)) on the support of p*."""
    px = joint.sum(0)
    a = np.where(px > 0, t @ posteriors(joint).T + np.log(np.where(px > 0, px, 1.0)), -np.inf)
    return np.exp(a - special.logsumexp(a))


def excess_kl(u):
    """(1 + u) log(1 + u) - u ≥ 0 to ~5e-14 relative: Σ_{n=2}^{8} (-u)^n / (n (n - 1)) where
    |u| < 1e-2 (the next term is below 3e-16 of the sum there), else (1 + u) log1p(u) - u, whose
    cancellation costs ~2ε/|u| ≤ 4.4e-14 relative. (Forming 1 + u first, as xlogy(1 + u, 1 + u)
    does, would cost ε/u² relative: 2e-10 at |u| = 1e-3.)"""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1e-2
    big = np.where(small, 0.0, u)
    c = (1 / 2, 1 / 6, 1 / 12, 1 / 20, 1 / 30, 1 / 42, 1 / 56)
    series = c[6]
    for coef in c[5::-1]:
        series = coef - u * series
    with np.errstate(divide="ignore", invalid="ignore"):  # u = -1: (1 + u) log1p(u) is 0 · -inf
        closed = np.where(big == -1.0, 1.0, (1 + big) * np.log1p(big) - big)
    return np.where(small, u * u * series, closed)


def tilt_ratio(joint, t):
    """D(r_s ‖ p_s) / D(r ‖ p*) for the tilt r of ``t`` (0 where D(r ‖ p*) = 0). Both
    divergences are written Σ p f(u) with f(u) = (1 + u) log(1 + u) - u and u = r/p - 1, u =
    expm1(t·p(·|x) - A) over x and its image Σ_x p(s, x) u(x) / p(s) over z*, so nothing
    cancels even for tilts so small that D(r ‖ p*) ~ 1e-20."""
    px, ps = joint.sum(0), joint.sum(1)
    cx = px > 0
    a = t @ posteriors(joint)[cx].T  # t · p(·|x) on the support
    shift = a.max()
    m = np.expm1(a - shift)  # exp(a - shift) - 1
    log_mean = np.log1p(px[cx] @ m)  # A - shift, A = log Σ_x p(x) exp(a_x)
    u = np.expm1(a - shift - log_mean)
    d_x = float(px[cx] @ excess_kl(u))
    rs = ps > 0
    v = (joint[np.ix_(rs, cx)] @ u) / ps[rs]
    d_s = float(ps[rs] @ excess_kl(v))
    return d_s / d_x if d_x > 0 else 0.0


def best_tilt(joint):
    """The tilt t of largest ratio: a grid along each z* axis (one line for n_s = 2), then a local
    search from the best few grid points. Returns (t, ratio), or (None, 0) if nothing is > 0.

    Each half-line s·axis, s > 0 or s < 0, is gridded at 10 points per decade from |s| = 10⁻²
    out to the tilt where r reaches its limit as |s| → ∞ (p* restricted to the states of largest
    sign·p(·|x)·axis): 800 / the gap between the largest and the next value, where
    exp(-|s|·gap) underflows (at least 10³, at most 10³⁰⁰). The ratio can peak anywhere on that
    range — at the limit itself (p(s|x) = 1 next to 0.999), or beyond 10³ but short of it
    (1 next to 1 - 10⁻⁸ and 1 - 5·10⁻⁴: a peak near 3·10⁴, 27 % above the ratio at 10³ and twice
    the limit) — so a grid that stops at a fixed scale can miss s*. A line's last point is the
    limit itself: with n_s > 2 it is not refined."""
    n_s = joint.shape[0]
    if n_s < 2:
        return None, 0.0
    axes = [np.eye(n_s)[0]] if n_s == 2 else list(np.eye(n_s))
    post = posteriors(joint)[joint.sum(0) > 0]
    lines = []
    for ax in axes:
        halves = []
        for sign in (-1.0, 1.0):
            a = np.sort(sign * (post @ ax))[::-1]
            gap = a[0] - a[a < a[0]].max() if (a < a[0]).any() else 0.0
            end = max(1e3, min(800.0 / gap, 1e300)) if gap > 0 else 1e3
            halves.append(
                sign * np.geomspace(1e-2, end, 1 + math.ceil(10 * math.log10(end / 1e-2)))
            )
        lines.append(np.concatenate([halves[0][::-1], halves[1]]))
    grid = [s * ax for ax, scales in zip(axes, lines) for s in scales]
    ends = np.cumsum([0] + [scales.size for scales in lines])
    ends = set(ends[:-1]) | set(ends[1:] - 1)  # each line's two limits
    vals = np.array([tilt_ratio(joint, t) for t in grid])
    if not vals.max() > 0:
        return None, 0.0
    best_t, best_v = None, -np.inf
    for i in np.argsort(-vals)[: 3 if n_s > 2 else 1]:
        if n_s == 2:  # a bracketed line search between the grid neighbours
            scales = lines[0]
            lo, hi = sorted((scales[max(i - 1, 0)], scales[min(i + 1, scales.size - 1)]))
            res = optimize.minimize_scalar(
                lambda s: -tilt_ratio(joint, s * axes[0]),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-12 * max(1.0, abs(scales[i]))},
            )
            t, v = res.x * axes[0], -res.fun
        elif i in ends:  # the limit itself: nothing to refine
            t, v = grid[i], vals[i]
        else:
            res = optimize.minimize(
                lambda u: -tilt_ratio(joint, u),
                grid[i],
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-15, "maxiter": 4000},
            )
            t, v = res.x, -res.fun
        if vals[i] > v:
            t, v = grid[i], vals[i]
        if v > best_v:
            best_t, best_v = t, v
    return best_t, float(best_v)


def decode(joint, code) -> np.ndarray:
    """The encoder (n_x × K, K its live states) described by a code."""
    kind = code[0]
    if kind == "hard":
        return one_hot(code[1], int(code[1].max()) + 1)
    if kind == "stage":
        _, c, parent = code
        return one_hot(stage_labels(parent, joint.shape[1], c), c)
    if kind == "split":
        _, lam, r = code
        px = joint.sum(0)
        peel = np.minimum(lam * np.divide(r, px, out=np.zeros_like(px), where=px > 0), 1.0)
        return np.stack([1.0 - peel, peel], axis=1)
    _, beta, log_q, log_ps_z = code
    return ba_map(posteriors(joint), log_q[None], log_ps_z[None], np.array([beta]))[0]


def freeze(code):
    """A code as the frontier keeps it: agglomeration stages as their labels."""
    if code[0] == "stage":
        _, c, parent = code
        return ("hard", stage_labels(parent, parent.shape[1], c))
    return code


# ----------------------------------------------------------------------------- Blahut–Arimoto
