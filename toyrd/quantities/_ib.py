"""The information-bottleneck frontier of the chain z* → x → z: how much of the true latent a code
of a given rate can keep.

For a joint p(z*, x) (``pzx``, shape n_s × n_x; the toy's is 2 × 30) and an encoder e(z|x),

    rate       I(x; z)  of p*(x) e(z|x),                     p*(x) = Σ_{z*} p(z*, x)
    relevance  I(z; z*) of p(z*, z) = Σ_x p(z*, x) e(z|x)     (nats)

and the frontier is F(r) = max { I(z; z*) : I(x; z) ≤ r }. It is non-decreasing, concave
(time-sharing two encoders on disjoint latent states mixes their points linearly), starts at
F(0) = 0, and is capped by data processing: F(r) ≤ min(r, I(x; z*)). When z* is a function of
x, F(r) = min(r, H(z*)) exactly.

:func:`ib_frontier` finds encoders, and returns the upper concave envelope of their points:

* Blahut–Arimoto for the IB Lagrangian min I(x;z) - β I(z;z*) (Tishby, Pereira & Bialek 1999),
  vectorised over all β and restarts at once: e(z|x) ∝ q(z) exp(-β KL(p(z*|x) ‖ p(z*|z))).
  The uniform encoder is a fixed point for every β, so the runs start away from it: one from
  the finest hard clustering with at most n_z clusters (the identity when n_z ≥ n_x), the
  others (``restarts`` > 1) from random encoders drawn with an explicit seed. A geometric β grid
  samples the curve sparsely near phase transitions, so ``refine`` passes add β between the
  neighbours whose chord may lie furthest below the curve, started from both neighbours'
  encoders;
* the hard clusterings of a greedy agglomeration (merge the two clusters that lose the least
  relevance per nat of rate), which reach the top end (H(x), I(x; z*)) exactly when n_z ≥ n_x;
* the trivial encoder (0, 0).

Every point is the exact (rate, relevance) of an encoder it keeps, so the envelope is an inner
bound of the true frontier: a vertex is reached by its encoder, a point between two vertices by
time-sharing their encoders on disjoint latent states (the unrestricted frontier needs no more
than n_x + 1 states; Witsenhausen & Wyner 1975).

>>> import numpy as np
>>> from toyrd.ib import ib_frontier, ib_frontier_at
>>> pzx = np.array([[0.3, 0.2, 0.0], [0.0, 0.0, 0.5]])   # z* = f(x): F(r) = min(r, H(z*))
>>> fr = ib_frontier(pzx, betas=[2.0, 8.0])
>>> bool(abs(ib_frontier_at(fr, 0.4) - 0.4) < 1e-12 and abs(fr.relevance[-1] - np.log(2)) < 1e-12)
True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toyrd import _formulas as F
from toyrd.errors import TableError, ToyrdError
from toyrd._validate import as_conditional, as_joint

__all__ = ["IBFrontier", "ib_frontier", "ib_frontier_at", "ib_gap", "ib_point",
           "maximal_correlation", "default_betas", "N_BETAS", "BA_TOL", "BA_MAX_ITER", "RATE_FLOOR"]

#: Number of β values of the default sweep (see :func:`default_betas`).
N_BETAS = 100

#: Blahut–Arimoto stops when no encoder entry moves by more than this in an iteration...
BA_TOL = 1e-10
#: ...or after this many iterations (runs that have not converged still give reachable points).
BA_MAX_ITER = 100

#: Rates below this (nats) are rounding noise around the trivial encoder's 0.
RATE_FLOOR = 1e-12

_CHECK_EVERY = 10
_LOG_FLOOR = -745.0  # log of the smallest positive float64; stands in for log 0 inside BA


class IBFrontier(NamedTuple):
    """The upper concave envelope of the (rate, relevance) points found, in nats.

    ``rate`` (n,) strictly increasing from 0; ``relevance`` (n,) non-decreasing and concave in
    rate, ending at the largest relevance found; ``betas`` (n,) the β of the Blahut–Arimoto run
    that gave each vertex (nan for agglomerative and trivial points); ``encoders`` (n, n_x, n_z)
    the encoder of each vertex; ``info`` = I(x; z*), the ceiling; ``candidates`` (m, 2) every
    point found, vertices or not.
    """

    rate: np.ndarray
    relevance: np.ndarray
    betas: np.ndarray
    encoders: np.ndarray
    info: float
    candidates: np.ndarray


def ib_point(pzx, encoder) -> tuple[float, float]:
    """(I(x; z), I(z; z*)) of one encoder (n_x × n_z) for the joint ``pzx`` (n_s × n_x), nats."""
    joint = _check_pzx(pzx)
    e = as_conditional("encoder", encoder)
    if e.shape[0] != joint.shape[1]:
        raise TableError(f"encoder: has {e.shape[0]} rows, expected n_x = {joint.shape[1]} to match pzx")
    return _point(joint, e)


def maximal_correlation(pzx) -> float:
    """ρ_m(x; z*), the Hirschfeld–Gebelein–Rényi maximal correlation: the second singular value of
    p(s, x) / sqrt(p(s) p(x)) (the first is 1). Example: the binary symmetric pair with crossover ε
    has ρ_m = |1 - 2ε|."""
    joint = _check_pzx(pzx)
    ps, px = joint.sum(1), joint.sum(0)
    rs, cx = ps > 0, px > 0
    b = joint[np.ix_(rs, cx)] / np.sqrt(np.outer(ps[rs], px[cx]))
    sv = np.linalg.svd(b, compute_uv=False)
    return float(sv[1]) if sv.size > 1 else 0.0


def default_betas(pzx, n: int = N_BETAS) -> np.ndarray:
    """``n`` β geometric from 1 to 10³/ρ_m² (ρ_m: :func:`maximal_correlation`).

    Below β = 1 the trivial encoder is optimal (I(z;z*) ≤ I(x;z)); the first non-trivial
    solution appears at β_c = 1/s* ≤ 1/ρ_m², s* ≥ ρ_m² being the frontier's slope at 0, so the
    sweep spans three decades beyond the latest possible β_c, which weakly dependent joints need.
    """
    rho = maximal_correlation(pzx)
    top = 1e3 / max(rho * rho, 1e-12)
    return np.geomspace(1.0, top, n)


def ib_frontier(pzx, n_z: int | None = None, betas=None, restarts: int = 1, seed: int = 0, *,
                refine: int = 3, max_iter: int = BA_MAX_ITER, tol: float = BA_TOL) -> IBFrontier:
    """The IB frontier F(r) = max {I(z;z*) : I(x;z) ≤ r} of ``pzx`` = p(z*, x) (n_s × n_x).

    ``n_z`` latent states (default n_x); ``betas`` the Lagrange multipliers to sweep (default
    :func:`default_betas`); ``restarts`` Blahut–Arimoto runs per β (one from the finest hard
    clustering, the rest random from ``seed``). Then ``refine`` passes add β where the chord
    between neighbouring β-solutions may lie furthest below the curve — (r2 - r1)(1/β1 - 1/β2)/4,
    slope 1/β being the frontier's slope at a β-optimal point (near phase transitions a
    geometric β grid samples the curve sparsely): for the len(betas)//8 largest, two β in
    between, each started from both neighbours' encoders. Cost: about len(betas) · (restarts + refine / 2)
    encoders iterated together, at most ``max_iter`` times.

    Identity: F(r) ≤ min(r, I(x; z*)) (data processing).
    """
    joint = _check_pzx(pzx)
    n_s, n_x = joint.shape
    n_z = n_x if n_z is None else n_z
    for name, val, low in (("n_z", n_z, 1), ("restarts", restarts, 1), ("refine", refine, 0),
                           ("max_iter", max_iter, 1)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise ToyrdError(f"{name}: {val!r}, expected an integer >= {low}")
    betas = default_betas(joint) if betas is None else np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ToyrdError("betas: expected a non-empty vector of finite numbers >= 0")
    n_z, restarts = int(n_z), int(restarts)
    betas = np.unique(betas)

    hard = _agglomerate(joint, n_z)  # list of (n_x, n_z) hard encoders, finest first
    inits = np.empty((betas.size, restarts, n_x, n_z))
    inits[:, 0] = hard[0]
    rng = np.random.default_rng(seed)
    inits[:, 1:] = rng.dirichlet(np.ones(n_z), size=(betas.size, restarts - 1, n_x))
    run_beta = np.repeat(betas, restarts)
    runs = _blahut_arimoto(joint, inits.reshape(-1, n_x, n_z), run_beta, int(max_iter), float(tol))
    run_pts = np.array([_point(joint, e) for e in runs])

    grid_b, grid_e, grid_r = _best_per_beta(run_beta, runs, run_pts)
    all_b, all_e, all_p = [run_beta], [runs], [run_pts]
    for _ in range(int(refine)):
        # A β-optimal point has slope 1/β on the frontier, so the chord between neighbours lies at
        # most (r2 - r1)(1/β1 - 1/β2)/4 below the curve (the triangle under the two tangents).
        bound = np.abs(np.diff(grid_r)) * np.abs(np.diff(1.0 / np.maximum(grid_b, 1e-300))) / 4
        pick = np.argsort(-bound, kind="stable")[:max(1, betas.size // 8)]
        pick = pick[bound[pick] > 0]
        if pick.size == 0:
            break
        mid = np.sqrt(grid_b[pick] * grid_b[pick + 1])
        new_b = np.concatenate([np.sqrt(grid_b[pick] * mid), np.sqrt(mid * grid_b[pick + 1])])
        pair = np.concatenate([pick, pick])
        new_b = np.concatenate([new_b, new_b])
        new_init = np.concatenate([grid_e[pair], grid_e[pair + 1]])
        ref = _blahut_arimoto(joint, new_init, new_b, int(max_iter), float(tol))
        ref_pts = np.array([_point(joint, e) for e in ref])
        all_b.append(new_b), all_e.append(ref), all_p.append(ref_pts)
        grid_b, grid_e, grid_r = _best_per_beta(np.concatenate(all_b), np.concatenate(all_e),
                                                np.concatenate(all_p))

    hard_pts = np.array([_point(joint, e) for e in hard])
    encoders = np.concatenate(all_e + [np.stack(hard)])
    labels = np.concatenate(all_b + [np.full(len(hard), np.nan)])
    points = np.concatenate(all_p + [hard_pts])
    # Points that rounding puts at rate below RATE_FLOOR are the trivial point itself (their
    # relevance/rate ratio is noise): keep the exact anchor (0, 0) instead.
    live = points[:, 0] > RATE_FLOOR
    encoders, labels, points = encoders[live], labels[live], points[live]
    trivial = np.zeros((1, n_x, n_z))
    trivial[..., 0] = 1.0
    encoders = np.concatenate([trivial, encoders])
    labels = np.concatenate([[np.nan], labels])
    points = np.concatenate([[[0.0, 0.0]], points])
    keep = _upper_envelope(points)
    return IBFrontier(rate=points[keep, 0], relevance=points[keep, 1], betas=labels[keep],
                      encoders=encoders[keep], info=float(F.mutual_information(joint)),
                      candidates=points)


def _best_per_beta(beta, enc, pts):
    """For each distinct β (sorted), the run with the lowest IB Lagrangian I(x;z) - β I(z;z*):
    returns (β, encoders, rates)."""
    order = np.lexsort((pts[:, 0] - beta * pts[:, 1], beta))
    b = beta[order]
    first = np.concatenate([[True], b[1:] != b[:-1]])
    idx = order[first]
    return beta[idx], enc[idx], pts[idx, 0]


def ib_frontier_at(frontier: IBFrontier, rate):
    """F(rate): the envelope interpolated linearly between vertices, flat beyond the last (nats).

    Accepts a number (returns a float) or an array (returns an array of the same shape).
    """
    r = np.asarray(rate, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ToyrdError("rate: expected finite values >= 0 (nats)")
    out = np.interp(r, frontier.rate, frontier.relevance)
    return float(out) if out.ndim == 0 else out


def ib_gap(pzx, encoder, frontier: IBFrontier | None = None, **kwargs) -> float:
    """F(I(x;z)) - I(z;z*): how much more of z* the best code of the same rate keeps (nats).

    ``frontier`` defaults to ``ib_frontier(pzx, n_z=encoder's n_z, **kwargs)``; pass one to reuse
    it across models. Close to 0 for an IB-optimal encoder; a model beating the frontier found
    would show a (small) negative gap, i.e. the inner bound was not tight there.
    """
    rate, relevance = ib_point(pzx, encoder)
    if frontier is None:
        frontier = ib_frontier(pzx, n_z=np.shape(encoder)[1], **kwargs)
    return ib_frontier_at(frontier, rate) - relevance


# ----------------------------------------------------------------------------- internals


def _check_pzx(pzx) -> np.ndarray:
    joint = as_joint("pzx", pzx)
    if joint.shape[0] < 1 or joint.shape[1] < 1:
        raise TableError(f"pzx: shape {joint.shape}, expected n_s × n_x with both >= 1")
    return joint


def _point(joint, e) -> tuple[float, float]:
    px = joint.sum(0)
    return float(F.mutual_information(F.encoder_joint(px, e))), float(F.mutual_information(joint @ e))


def _blahut_arimoto(joint, enc, beta, max_iter, tol):
    """Iterate e(z|x) ∝ q(z) exp(β Σ_s p(s|x) log p(s|z)) for a stack of encoders (N, n_x, n_z).

    The dropped factor exp(-β Σ_s p(s|x) log p(s|x)) is constant in z, so this is the IB update
    e ∝ q exp(-β KL(p(s|x) ‖ p(s|z))). Latent states with q(z) = 0 stay empty. Every
    ``_CHECK_EVERY`` iterations the runs whose entries all moved by less than ``tol`` are frozen
    and leave the batch.
    """
    n_s, n_x = joint.shape
    n_z = enc.shape[2]
    px = joint.sum(0)
    ps_x = np.where(px > 0, joint / np.where(px > 0, px, 1.0), joint.sum(1)[:, None]).T  # (n_x, n_s)
    out = enc.copy()
    active = np.arange(enc.shape[0])
    b = beta[:, None, None]
    for it in range(max_iter):
        q = px @ enc  # (N, n_z)
        psz = joint @ enc  # (N, n_s, n_z) = p(s, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_q = np.log(q)
            log_ps_z = np.log(psz) - log_q[:, None, :]
        np.maximum(log_ps_z, _LOG_FLOOR, out=log_ps_z)
        dead = q == 0
        if dead.any():
            log_ps_z[np.broadcast_to(dead[:, None, :], log_ps_z.shape)] = 0.0
        # Σ_s p(s|x) log p(s|z) as one BLAS product: (N, n_z, n_s) · (n_s, n_x)
        logits = np.matmul(log_ps_z.transpose(0, 2, 1).reshape(-1, n_s), ps_x.T)
        logits = logits.reshape(-1, n_z, n_x).transpose(0, 2, 1) * b
        logits += log_q[:, None, :]
        logits -= logits.max(-1, keepdims=True)
        new = np.exp(logits, out=logits)
        new /= new.sum(-1, keepdims=True)
        if (it + 1) % _CHECK_EVERY == 0:
            moving = np.abs(new - enc).max(axis=(1, 2)) >= tol
            out[active[~moving]] = new[~moving]
            active, new, b = active[moving], new[moving], b[moving]
            if active.size == 0:
                return out
        enc = new
    out[active] = enc
    return out


def _agglomerate(joint, n_z):
    """Hard clusterings from the identity (each x its own cluster) down to one cluster, merging
    the pair with the least relevance lost per nat of rate lost. Returns the encoders (n_x, n_z)
    of the stages with at most n_z clusters, finest first."""
    n_s, n_x = joint.shape
    px = joint.sum(0)
    label = np.arange(n_x)
    out = []
    while True:
        used = np.unique(label)
        label = np.searchsorted(used, label)  # relabel 0..c-1
        c = used.size
        if c <= n_z:
            enc = np.zeros((n_x, n_z))
            enc[np.arange(n_x), label] = 1.0
            out.append(enc)
        if c == 1:
            return out
        pc = np.bincount(label, weights=px, minlength=c)
        jc = np.stack([np.bincount(label, weights=row, minlength=c) for row in joint])  # (n_s, c)
        # Merging clusters i and j lowers the rate H(z) by d_rate = xlogy(p_i + p_j) - xlogy(p_i)
        # - xlogy(p_j) ≥ 0 and the relevance I(z;z*) by d_rate + Σ_s [xlogy(j_is) + xlogy(j_js)
        # - xlogy(j_is + j_js)] ≥ 0 (j the cluster × z* joint; xlogy(a) = a log a).
        pm = pc[:, None] + pc[None, :]
        jm = jc[:, :, None] + jc[:, None, :]
        xl = F.xlogy
        d_rate = xl(pm, pm) - xl(pc, pc)[:, None] - xl(pc, pc)[None, :]
        d_rel = (xl(jc, jc)[:, :, None] + xl(jc, jc)[:, None, :] - xl(jm, jm)).sum(0) + d_rate
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(d_rate > 0, d_rel / d_rate, np.where(d_rel > 1e-15, np.inf, 0.0))
        cost[np.diag_indices(c)] = np.inf
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        label = np.where(label == j, i, label)


def _upper_envelope(points) -> np.ndarray:
    """Indices of the vertices of the upper concave envelope of ``points`` (m, 2) from (0, 0) to
    the highest point (ties: the lowest rate), i.e. of r ↦ max{y : rate ≤ r} made concave."""
    order = np.lexsort((-points[:, 1], points[:, 0]))  # by rate, then higher relevance first
    top = points[:, 1].max()
    hull = []
    for i in order:
        x, y = points[i]
        if hull and y <= points[hull[-1], 1]:
            continue  # no higher than a vertex of lower (or equal) rate: dominated
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = points[hull[-2]], points[hull[-1]]
            if (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1) >= 0:  # last vertex on or below the chord
                hull.pop()
            else:
                break
        hull.append(i)
        if y >= top:
            break
    return np.array(hull)
