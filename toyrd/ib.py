"""The information-bottleneck frontier of the chain z* → x → z: how much of the true latent a code
of a given rate can keep.

For a joint p(z*, x) (``pzx``, shape n_s × n_x; the toy's is 2 × 30) and an encoder e(z|x),

    rate       I(x; z)  of p*(x) e(z|x),                     p*(x) = Σ_{z*} p(z*, x)
    relevance  I(z; z*) of p(z*, z) = Σ_x p(z*, x) e(z|x)     (nats)

and the frontier is F(r) = max { I(z; z*) : I(x; z) ≤ r }. It is non-decreasing, concave
(time-sharing two encoders on disjoint latent states mixes their points linearly), starts at
F(0) = 0 with slope s* = sup_r D(r_s ‖ p_s) / D(r ‖ p*) (r a distribution on x, r_s its image
through p(z*|x)), and is capped: F(r) ≤ min(s* r, I(x; z*)). When z* is a function of x,
F(r) = min(r, H(z*)) exactly.

:func:`ib_frontier` returns the upper concave envelope of the exact points of encoders it finds:

* hard clusterings: a greedy agglomeration (merge the two clusters that lose the least relevance
  per nat of rate), which reaches the top (H(x), I(x; z*)) exactly when n_z ≥ n_x; with fewer
  states, the best n_z-clustering found by sequential single-point moves from the greedy one and
  from random ones;
* the slope at zero rate: s* is a maximum over the tilts r ∝ p*(x) exp(t · p(·|x)) (the closest
  r to p* for a given r_s), found by a grid and a local search; two-state encoders that peel off a
  small cluster with that posterior reach slope s* as their rate goes to 0;
* Blahut–Arimoto for the Lagrangian min I(x;z) - β I(z;z*) (Tishby, Pereira & Bialek 1999),
  e(z|x) ∝ q(z) exp(-β KL(p(z*|x) ‖ p(z*|z))), accelerated by SQUAREM and vectorised over runs:
  first over a β sweep, from the finest hard clustering and (``restarts`` > 1) random encoders —
  with n_z below n_x also three more random ones per β, since several branches of codes then
  compete; then in refinement passes, for every interval whose chord bound exceeds ``tol``, at
  β = 1/(chord slope) — the β whose optimum is the point of the curve farthest above the chord —
  started from the time-shared midpoint of the two end encoders (from each end when n_z is too
  small for time-sharing). Latent states with equal p(z*|z) are merged (they are
  interchangeable), which keeps the runs small.

What is guaranteed, and what is not:

1. Inner bound: every vertex is the exact point of an encoder with n_z states
   (:meth:`IBFrontier.encoder`), every point between two vertices the point of time-sharing their
   encoders (at most 2 n_z states). So the envelope never exceeds the true frontier with that
   many states.
2. ``bounds[i]``: if the vertices it rests on lie on the true frontier F, F exceeds the envelope
   in interval i by at most Δr (c⁻ - c)(c - c⁺)/(c⁻ - c⁺), the height of the triangle between
   the chord (slope c) and the extended neighbouring chords (slopes c⁻ > c > c⁺; at r = 0 the
   line s*·r, beyond the last vertex the flat cap). The bounds rest on a skeleton of the vertices:
   a Blahut–Arimoto vertex that another vertex beats at its own β (a run stuck on a worse branch)
   is a real point of the envelope but no support for a bound. Refinement stops when every bound
   is ≤ ``tol`` (``gap_bound`` ≤ ``tol``), when the runs at the chords' β find nothing above the
   remaining chords (the curve may be straight there, e.g. when z* = f(x), or, with n_z < n_x,
   the restricted frontier not concave), or after ``refine`` passes.
3. Not guaranteed: that the vertices lie on F. Blahut–Arimoto finds stationary points, s* and the
   clusterings come from local searches; nothing certifies a global optimum. The tests check the
   envelope against every hard clustering of small joints, against random encoders and encoders
   optimised independently (plain Blahut–Arimoto and L-BFGS from random starts) and against Mrs
   Gerber's closed form (symmetric and with unequal classes): no point beats it by more than
   1e-6 nats (measured ≤ 4e-7) on the toy (n_z = 30, 3, 2) and on binary symmetric, random
   2 × 5 and 3 × 8 joints. With n_z below n_x the top end is the best clustering found, not a
   certified maximum.

Cost: the toy takes about 0.7 s (one core) at the defaults, with about 1,050 vertices; a run
grows like the number of vertices times n_x times the latent states in use, which near the top
of a joint with many bins approaches n_x (a 2 × 300 joint takes minutes). Memory stays O(n_x²)
plus batches of at most 2^20 encoder entries.

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
from scipy import optimize, special

from . import _formulas as F
from ._validate import TableError, ToyrdError, as_conditional, as_joint, check_int

__all__ = ["BA_MAX_ITER", "BA_TOL", "FRONTIER_TOL", "N_BETAS", "REFINE", "IBFrontier",
           "default_betas", "ib_frontier", "ib_frontier_at", "ib_gap", "ib_point",
           "maximal_correlation", "zero_rate_slope"]

#: Number of β values of the first sweep (see :func:`default_betas`); refinement adds the rest.
N_BETAS = 24

#: Refinement stops when every interval's chord bound (see :class:`IBFrontier`) is at most this.
FRONTIER_TOL = 1e-6
#: ...or after this many passes.
REFINE = 60

#: Blahut–Arimoto stops when no encoder entry moves by more than this in an update...
BA_TOL = 1e-10
#: ...or after this many updates (runs that have not converged still give reachable points).
BA_MAX_ITER = 300

#: Rates below this (nats) are rounding noise around the trivial encoder's 0.
RATE_FLOOR = 1e-12

#: Points closer than this in rate (nats) are one vertex (the higher one): the chord between two
#: such points has a slope made of rounding errors. Dropping one lowers the envelope by at most
#: this times a slope ≤ 1.
SAME_RATE = 1e-10

#: A Blahut–Arimoto vertex that another vertex beats by more than this (nats, above the line of
#: slope 1/β through it) is left out of the skeleton the chord bounds rest on (see _skeleton).
SKELETON_TOL = 1e-9

#: Latent states whose log p(z*|z) agree to this are merged: states with equal p(z*|z) have
#: proportional columns, stay so under the update and together act as one state (same point);
#: merging near-equal ones early only changes which valid encoder a run goes through.
MERGE_TOL = 1e-6

#: The time-shared start of a refinement run gives its two halves the weights
#: (1 ± SPLIT_SEED·f(x))/2, f the maximal-correlation function scaled to [-1, 1]: the two copies
#: of each cluster then differ along the direction in which clusters split first, so a run past
#: a split does not stay on the unsplit branch (a saddle there) for want of asymmetry.
SPLIT_SEED = 0.1

_ROUND_CYCLES = 4  # SQUAREM cycles (3 updates each) before the runs are regrouped by width
_LOG_FLOOR = -745.0  # log of the smallest positive float64; stands in for log 0 inside BA
_MAX_ENTRIES = 1 << 20  # encoder entries per Blahut–Arimoto batch (8 MiB per array)
_SIB_STARTS = 4  # random starts of the sequential clustering, besides the greedy one
_RESTRICTED_STARTS = 3  # extra random Blahut–Arimoto starts per β when n_z < n_x
_SIB_SWEEPS = 50
_SPLIT_SIZES = np.geomspace(1.0, 1e-5, 11)  # cluster weights (× the largest) of the peeled codes


class IBFrontier(NamedTuple):
    """The upper concave envelope of the (rate, relevance) points found, in nats.

    ``rate`` (n,) strictly increasing from 0; ``relevance`` (n,) increasing and concave in rate;
    ``betas`` (n,) the β of the Blahut–Arimoto run that gave each vertex (nan for clusterings,
    peeled two-state codes and the trivial encoder); ``info`` = I(x; z*), the ceiling;
    ``candidates`` (m, 2) every point found, vertices or not; ``bounds`` (n - 1,) the chord bound
    of each interval (module docstring, item 2); ``slope0`` the zero-rate slope s* used at r = 0;
    ``pzx`` the joint and ``n_z`` the latent size; ``codes`` a compact description of each
    vertex's encoder (hard labels, a peeled cluster, or a Blahut–Arimoto update), read back by
    :meth:`encoder` — a dense encoder per vertex would cost n · n_x · n_z numbers.
    """

    rate: np.ndarray
    relevance: np.ndarray
    betas: np.ndarray
    info: float
    candidates: np.ndarray
    bounds: np.ndarray
    slope0: float
    pzx: np.ndarray
    n_z: int
    codes: tuple

    @property
    def gap_bound(self) -> float:
        """The largest chord bound: how far F may lie above the envelope if the vertices are on F."""
        return float(self.bounds.max()) if self.bounds.size else 0.0

    def encoder(self, i: int) -> np.ndarray:
        """The encoder e(z|x) (n_x × n_z) whose exact point is vertex ``i``."""
        e = _decode(self.pzx, self.codes[i])
        out = np.zeros((e.shape[0], self.n_z))
        out[:, :e.shape[1]] = e
        return out


def ib_point(pzx, encoder) -> tuple[float, float]:
    """(I(x; z), I(z; z*)) of one encoder (n_x × n_z) for the joint ``pzx`` (n_s × n_x), nats."""
    joint = _check_pzx(pzx)
    e = as_conditional("encoder", encoder)
    if e.shape[0] != joint.shape[1]:
        raise TableError(f"encoder: has {e.shape[0]} rows, expected n_x = {joint.shape[1]} "
                         "to match pzx")
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


def zero_rate_slope(pzx) -> tuple[float, np.ndarray | None]:
    """The frontier's slope at r = 0, s* = sup_r D(r_s ‖ p_s) / D(r ‖ p*), and the r reaching it.

    For a given image r_s the smallest D(r ‖ p*) is reached by a tilt r ∝ p*(x) exp(Σ_s t_s
    p(s|x)) (an I-projection), so the supremum runs over t ∈ R^{n_s}: a grid, then a local search.
    As t → 0 the ratio tends to at most ρ_m² (:func:`maximal_correlation`); when nothing beats
    that limit the function returns (ρ_m², None). s* bounds every encoder: I(z;z*) ≤ s* I(x;z)
    (each cluster's posterior r = p(x|z) obeys the ratio); the binary symmetric pair has
    s* = ρ_m² = (1 - 2ε)². Found by local search, so a lower estimate when several maxima exist.
    """
    joint = _check_pzx(pzx)
    rho2 = maximal_correlation(joint) ** 2
    t, ratio = _best_tilt(joint)
    if t is None or ratio <= rho2 * (1 + 1e-12):  # no better than the limit, up to rounding
        return rho2, None
    return ratio, _tilt(joint, t)


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
                tol: float = FRONTIER_TOL, refine: int = REFINE, max_iter: int = BA_MAX_ITER,
                ba_tol: float = BA_TOL) -> IBFrontier:
    """The IB frontier F(r) = max {I(z;z*) : I(x;z) ≤ r} of ``pzx`` = p(z*, x) (n_s × n_x).

    ``n_z`` latent states (default n_x); ``betas`` the first Blahut–Arimoto sweep (default
    :func:`default_betas`); ``restarts`` runs per β of that sweep (one from the finest hard
    clustering, the rest random from ``seed``, which also seeds the clustering's random starts;
    with n_z < n_x three more random runs per β join them).
    Then at most ``refine`` passes add runs at β = 1/(chord slope) on every interval whose chord
    bound exceeds ``tol`` nats; ``max_iter`` (updates) and ``ba_tol`` stop each run. See the
    module docstring for what the result guarantees. The toy (2 × 30) takes about 0.7 s at the
    defaults, with about 1,050 vertices.

    Identity: F(r) ≤ min(s* r, I(x; z*)) with s* = ``slope0`` (data processing).
    """
    joint = _check_pzx(pzx)
    n_x = joint.shape[1]
    n_z = n_x if n_z is None else check_int("n_z", n_z, 1)
    restarts = check_int("restarts", restarts, 1)
    refine = check_int("refine", refine, 0)
    max_iter = check_int("max_iter", max_iter, 1)
    seed = check_int("seed", seed, 0)
    betas = default_betas(joint) if betas is None else np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ToyrdError("betas: expected a non-empty vector of finite numbers >= 0")
    for name, val in (("tol", tol), ("ba_tol", ba_tol)):
        if not (isinstance(val, (int, float, np.floating)) and np.isfinite(val) and val > 0):
            raise ToyrdError(f"{name}: {val!r}, expected a finite number > 0 (nats)")
    betas = np.unique(betas)
    rng = np.random.default_rng(seed)
    ps_x = _posteriors(joint)
    pool = _Pool(joint, n_z)

    # Hard clusterings: every stage of the agglomeration with at most n_z clusters, and with
    # fewer states than distinct data states the best clustering found by sequential moves.
    parent, stage_pts = _agglomerate(joint)
    n_stage = min(n_z, n_x)
    for c in range(n_stage, 0, -1):
        pool.add(stage_pts[n_x - c], ("stage", c, parent), np.nan)
    top = _stage_labels(parent, n_x, n_stage)
    if n_stage < n_x:
        top = _best_clustering(joint, top, n_z, rng)
        pool.add(_hard_point(joint, top), ("hard", top), np.nan)

    # The slope at zero rate and the two-state codes that reach it.
    slope0, r_star = zero_rate_slope(joint)
    if r_star is not None and n_z >= 2:
        px = joint.sum(0)
        lam_max = 1.0 / np.max(np.divide(r_star, px, out=np.zeros(n_x), where=px > 0))
        for lam in lam_max * _SPLIT_SIZES:
            code = ("split", float(lam), r_star)
            pool.add(_point(joint, _decode(joint, code)), code, np.nan)

    # The first Blahut–Arimoto sweep: from the finest clustering and from random encoders; with
    # fewer states than data states, _RESTRICTED_STARTS more random ones per β, since then several
    # branches of soft clusterings compete and continuation from the top keeps to one of them.
    hard_top = _one_hot(top, int(top.max()) + 1)
    n_rand = restarts - 1 + (_RESTRICTED_STARTS if n_stage < n_x else 0)
    inits = [hard_top] * betas.size
    inits += [rng.dirichlet(np.ones(n_z), size=n_x) for _ in range(betas.size * n_rand)]
    run_b = np.concatenate([betas, np.repeat(betas, n_rand)])
    pts, codes = _ba_runs(joint, ps_x, inits, run_b, max_iter, ba_tol)
    pool.add_many(pts, codes, run_b)

    tilt = _split_direction(joint)
    settled = set()
    for _ in range(refine):
        pool.prune()
        sk = _skeleton(pool.points, np.array(pool.betas))
        bounds, _ = _chord_bounds(pool.points[sk], slope0)
        # Refine each skeleton interval whose bound exceeds tol, and inside it every interval of
        # the envelope (vertices left out of the skeleton lie on other branches worth following).
        pairs = []
        for i in np.flatnonzero(bounds > tol):
            pairs.append((sk[i], sk[i + 1]))
            if sk[i + 1] - sk[i] > 1:
                pairs += [(j, j + 1) for j in range(sk[i], sk[i + 1])]
        pts_now = pool.points
        pairs = [(a, b) for a, b in pairs if (pts_now[a, 0], pts_now[b, 0]) not in settled]
        if not pairs:
            break
        inits, run_b = [], []
        for ia, ib_ in pairs:
            settled.add((pts_now[ia, 0], pts_now[ib_, 0]))
            beta = (pts_now[ib_, 0] - pts_now[ia, 0]) / (pts_now[ib_, 1] - pts_now[ia, 1])
            a, b = _decode(joint, pool.codes[ia]), _decode(joint, pool.codes[ib_])
            if a.shape[1] + b.shape[1] <= n_z:  # time-sharing, tilted to seed cluster splits
                w = 0.5 + SPLIT_SEED / 2 * tilt[:, None]
                inits.append(np.concatenate([a * w, b * (1 - w)], axis=1))
                run_b.append(beta)
            else:
                inits += [a, b]
                run_b += [beta] * 2
        run_b = np.array(run_b)
        pts, codes = _ba_runs(joint, ps_x, inits, run_b, max_iter, ba_tol)
        pool.add_many(pts, codes, run_b)

    pool.prune()
    sk = _skeleton(pool.points, np.array(pool.betas))
    bounds_sk, _ = _chord_bounds(pool.points[sk], slope0)
    # each interval of the envelope lies inside one of the skeleton's, whose bound it inherits
    bounds = bounds_sk[np.searchsorted(sk, np.arange(pool.points.shape[0] - 1), side="right") - 1]
    return IBFrontier(rate=pool.points[:, 0].copy(), relevance=pool.points[:, 1].copy(),
                      betas=np.array(pool.betas), info=float(F.mutual_information(joint)),
                      candidates=np.array(pool.candidates), bounds=bounds, slope0=float(slope0),
                      pzx=joint, n_z=int(n_z), codes=tuple(_freeze(c) for c in pool.codes))


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
    rate = F.mutual_information(F.encoder_joint(px, e))
    return float(rate), float(F.mutual_information(joint @ e))


def _points(joint, enc) -> np.ndarray:
    """(rate, relevance) of a stack of encoders (N, n_x, K), as an (N, 2) array."""
    px, ps = joint.sum(0), joint.sum(1)
    pe = px[None, :, None] * enc
    q = pe.sum(1)
    hq = special.xlogy(q, q).sum(1)
    rate = special.xlogy(pe, enc).sum((1, 2)) - hq
    psz = np.matmul(joint, enc)
    rel = special.xlogy(psz, psz).sum((1, 2)) - hq - special.xlogy(ps, ps).sum()
    return np.stack([rate, rel], axis=1)


def _hard_point(joint, labels) -> tuple[float, float]:
    """(H(z), I(z;z*)) of a hard clustering, from the cluster sums."""
    k = int(labels.max()) + 1
    pc = np.bincount(labels, weights=joint.sum(0), minlength=k)
    jc = np.stack([np.bincount(labels, weights=row, minlength=k) for row in joint])
    xl = special.xlogy
    ps = joint.sum(1)
    return float(-xl(pc, pc).sum()), float(xl(jc, jc).sum() - xl(pc, pc).sum() - xl(ps, ps).sum())


def _one_hot(labels, k):
    e = np.zeros((labels.size, k))
    e[np.arange(labels.size), labels] = 1.0
    return e


def _split_direction(joint):
    """The maximal-correlation function f(x) on x (second singular vector of p(s,x)/sqrt(p(s)p(x))
    over sqrt(p(x))), scaled to max |f| = 1 (0 where p*(x) = 0 or without dependence)."""
    ps, px = joint.sum(1), joint.sum(0)
    rs, cx = ps > 0, px > 0
    f = np.zeros(joint.shape[1])
    b = joint[np.ix_(rs, cx)] / np.sqrt(np.outer(ps[rs], px[cx]))
    _, sv, vt = np.linalg.svd(b, full_matrices=False)
    if sv.size > 1 and sv[1] > 0:
        f[cx] = vt[1] / np.sqrt(px[cx])
        f /= np.abs(f).max()
    return f


def _posteriors(joint):
    """p(s|x) as (n_x, n_s); rows of data states with p*(x) = 0 get p(s) (they carry no weight)."""
    px = joint.sum(0)
    return np.where(px > 0, joint / np.where(px > 0, px, 1.0), joint.sum(1)[:, None]).T


class _Pool:
    """The points found (all kept as candidates) and the envelope's vertices with their codes."""

    def __init__(self, joint, n_z):
        self.candidates = [(0.0, 0.0)]
        self.points = np.zeros((1, 2))
        self.codes = [("hard", np.zeros(joint.shape[1], dtype=np.intp))]
        self.betas = [np.nan]

    def add(self, point, code, beta):
        self.add_many(np.asarray([point], dtype=np.float64), [code], [beta])

    def add_many(self, pts, codes, betas):
        # Points that rounding puts at rate below RATE_FLOOR are the trivial point itself (their
        # relevance/rate ratio is noise): the exact anchor (0, 0) stands for them.
        live = np.flatnonzero(pts[:, 0] > RATE_FLOOR)
        self.candidates.extend(map(tuple, pts[live]))
        self.points = np.concatenate([self.points, pts[live]])
        self.codes += [codes[i] for i in live]
        self.betas += [betas[i] for i in live]

    def prune(self):
        keep = _upper_envelope(self.points)
        self.points = self.points[keep]
        self.codes = [self.codes[i] for i in keep]
        self.betas = [self.betas[i] for i in keep]


def _skeleton(points, betas):
    """Indices of the vertices (of a concave chain) that the chord bounds may rest on: the ends,
    the vertices not from Blahut–Arimoto, and the Blahut–Arimoto ones that are optimal at their
    own β among the vertices, i.e. no vertex lies more than SKELETON_TOL above the line of slope
    1/β through them. A vertex failing this is no tangent point of the curve: a run that stopped
    on a worse branch (a local optimum) or short of its fixed point. It stays in the envelope (it
    is a real point) but a chord bound resting on it could hide the better branch."""
    n = points.shape[0]
    keep = np.ones(n, dtype=bool)
    if n < 3:
        return np.arange(n)
    r, y = points[:, 0], points[:, 1]
    c = np.diff(y) / np.diff(r)  # decreasing
    ba = np.flatnonzero(np.isfinite(betas) & (betas > 0))
    s = 1.0 / betas[ba]
    k = np.searchsorted(-c, -s, side="left")  # the vertex where the chain's slope passes s
    excess = (y[k] - s * r[k]) - (y[ba] - s * r[ba])
    keep[ba[excess > SKELETON_TOL]] = False
    keep[[0, n - 1]] = True
    return np.flatnonzero(keep)


def _chord_bounds(points, slope0):
    """Per interval of a concave chain: the triangle height Δr (c⁻ - c)(c - c⁺)/(c⁻ - c⁺) between
    the chord (slope c) and the neighbouring chords (the line slope0·r before the first, the flat
    cap after the last); and the chord slopes."""
    if points.shape[0] < 2:
        return np.zeros(0), np.zeros(0)
    r, y = points[:, 0], points[:, 1]
    dr = np.diff(r)
    c = np.diff(y) / dr
    # The neighbouring chords reach at least half the interval's length beyond it (a slope over a
    # much shorter one is mostly the rounding of its two ends); any chord from a vertex to a farther
    # vertex on the same side also bounds the curve, only more loosely.
    m = r.size
    far_l = np.searchsorted(r, r[:-1] - dr / 2, side="right") - 1  # last vertex ≤ r_i - Δr/2
    far_r = np.searchsorted(r, r[1:] + dr / 2, side="left")  # first vertex ≥ r_{i+1} + Δr/2
    left, right = np.arange(m - 1), np.arange(1, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_prev = np.where(far_l >= 0, (y[left] - y[np.maximum(far_l, 0)])
                          / (r[left] - r[np.maximum(far_l, 0)]), max(slope0, c[0]))
        c_next = np.where(far_r < m, (y[np.minimum(far_r, m - 1)] - y[right])
                          / (r[np.minimum(far_r, m - 1)] - r[right]), 0.0)
    c_prev = np.maximum(c_prev, c)  # the first interval: slope0 ≥ c (or c itself if s* was missed)
    den = c_prev - c_next
    safe = np.where(den > 0, den, 1.0)
    tri = np.maximum(c_prev - c, 0.0) * np.maximum(c - c_next, 0.0) * dr / safe
    return np.where(den > 0, tri, 0.0), c


def _upper_envelope(points) -> np.ndarray:
    """Indices of the vertices of the upper concave envelope of ``points`` (m, 2) from (0, 0) to
    the highest point (ties: the lowest rate), i.e. of r ↦ max{y : rate ≤ r} made concave; points
    within SAME_RATE of a vertex's rate count as that rate."""
    order = np.lexsort((-points[:, 1], points[:, 0]))  # by rate, then higher relevance first
    top = points[:, 1].max()
    hull = []
    for i in order:
        x, y = points[i]
        if hull and y <= points[hull[-1], 1]:
            continue  # no higher than a vertex of lower (or equal) rate: dominated
        if hull and x - points[hull[-1], 0] <= SAME_RATE:
            if len(hull) == 1:
                continue  # the first vertex (the origin) stays; this point is no higher than
                # the origin's line of slope ≤ 1 by more than SAME_RATE
            hull.pop()  # the same rate to rounding, and higher: it replaces that vertex
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = points[hull[-2]], points[hull[-1]]
            if (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1) >= 0:  # last vertex on/below the chord
                hull.pop()
            else:
                break
        hull.append(i)
        if y >= top:
            break
    return np.array(hull)


# ----------------------------------------------------------------------------- encoder codes


def _decode(joint, code) -> np.ndarray:
    """The encoder (n_x × K, K its live states) described by a code."""
    kind = code[0]
    if kind == "hard":
        return _one_hot(code[1], int(code[1].max()) + 1)
    if kind == "stage":
        _, c, parent = code
        return _one_hot(_stage_labels(parent, joint.shape[1], c), c)
    if kind == "split":
        _, lam, r = code
        px = joint.sum(0)
        peel = np.minimum(lam * np.divide(r, px, out=np.zeros_like(px), where=px > 0), 1.0)
        return np.stack([1.0 - peel, peel], axis=1)
    _, beta, log_q, log_ps_z = code
    return _ba_map(_posteriors(joint), log_q[None], log_ps_z[None], np.array([beta]))[0]


def _freeze(code):
    """A code as the frontier keeps it: agglomeration stages as their labels."""
    if code[0] == "stage":
        _, c, parent = code
        return ("hard", _stage_labels(parent, parent.shape[1], c))
    return code


# ----------------------------------------------------------------------------- Blahut–Arimoto


def _ba_params(joint, enc):
    """log q(z) (N, K) and log p(s|z) (N, n_s, K) of encoders (N, n_x, K); dead states (q = 0)
    get log q = -inf and log p(s|z) = 0, the others log p(s|z) floored at log of the smallest
    float."""
    px = joint.sum(0)
    q = np.matmul(px, enc)
    psz = np.matmul(joint, enc)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(q)
        log_ps_z = np.log(psz) - log_q[:, None, :]
    np.maximum(log_ps_z, _LOG_FLOOR, out=log_ps_z)
    dead = q == 0
    if dead.any():
        log_ps_z[np.broadcast_to(dead[:, None, :], log_ps_z.shape)] = 0.0
    return log_q, log_ps_z


def _ba_map(ps_x, log_q, log_ps_z, beta):
    """The update e(z|x) ∝ q(z) exp(β Σ_s p(s|x) log p(s|z)), as (N, n_x, K).

    The dropped factor exp(-β Σ_s p(s|x) log p(s|x)) is constant in z, so this is the IB update
    e ∝ q exp(-β KL(p(s|x) ‖ p(s|z))). Dead states (log q = -inf) stay empty.
    """
    logits = np.matmul(ps_x, log_ps_z)  # (n_x, n_s) · (N, n_s, K)
    logits *= beta[:, None, None]
    logits += log_q[:, None, :]
    logits -= logits.max(-1, keepdims=True)
    new = np.exp(logits, out=logits)
    new /= new.sum(-1, keepdims=True)
    return new


def _merge_states(log_q, log_ps_z, enc):
    """Merge the latent states of each run whose log p(s|z) agree to MERGE_TOL (sorted by the
    first coordinate, neighbours compared) and drop dead ones. Returns the encoders with the
    fewest columns that hold every run's merged states, or ``enc`` itself if nothing merges."""
    n, n_x, k = enc.shape
    live = np.isfinite(log_q)
    key = np.where(live, log_ps_z[:, 0, :], np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    lp = np.take_along_axis(log_ps_z, order[:, None, :], axis=2)
    lv = np.take_along_axis(live, order, axis=1)
    same = np.zeros((n, k), dtype=bool)
    same[:, 1:] = (np.abs(np.diff(lp, axis=2)).max(axis=1) <= MERGE_TOL) & lv[:, 1:] & lv[:, :-1]
    group = np.cumsum(~same, axis=1) - 1
    n_groups = np.where(lv, group + 1, 0).max(axis=1)
    k_new = int(max(n_groups.max(), 1))
    if k_new == k:
        return enc
    target = np.empty((n, k), dtype=np.intp)
    np.put_along_axis(target, order, np.where(lv, group, k_new), axis=1)  # dead → a spare column
    idx = (np.arange(n * n_x).reshape(n, n_x, 1) * (k_new + 1) + target[:, None, :]).ravel()
    out = np.bincount(idx, weights=enc.ravel(), minlength=n * n_x * (k_new + 1))
    return out.reshape(n, n_x, k_new + 1)[..., :k_new]


def _ba_runs(joint, ps_x, inits, betas, max_iter, tol):
    """Run Blahut–Arimoto from each init (n_x × K_i) at its β. Runs go in batches of similar K
    (at most _MAX_ENTRIES encoder entries) for _ROUND_CYCLES cycles at a time, then are regrouped
    by the K left after merging, so a batch is not padded to its widest run for long. Returns the
    exact points (N, 2) of the final encoders and their codes ("ba", β, log q, log p(s|z)) over
    the live states, from which the update rebuilds them."""
    n_x = joint.shape[1]
    betas = np.asarray(betas, dtype=np.float64)
    pts = np.empty((len(inits), 2))
    codes = [None] * len(inits)
    queue = [(i, e, 0) for i, e in enumerate(inits)]
    while queue:
        queue.sort(key=lambda item: item[1].shape[1])
        rest, lo = [], 0
        while lo < len(queue):
            hi = lo + 1
            while hi < len(queue) and (hi + 1 - lo) * n_x * queue[hi][1].shape[1] <= _MAX_ENTRIES:
                hi += 1
            part = queue[lo:hi]
            enc = np.zeros((len(part), n_x, part[-1][1].shape[1]))
            for j, (_, e, _) in enumerate(part):
                enc[j, :, :e.shape[1]] = e
            idx = np.array([item[0] for item in part])
            used = np.array([item[2] for item in part])
            done, left = _ba_batch(joint, ps_x, enc, betas[idx], used, max_iter, tol)
            for j, point, code in done:
                pts[idx[j]], codes[idx[j]] = point, code
            rest += [(idx[j], e, u) for j, e, u in left]
            lo = hi
        queue = rest
    return pts, codes


def _ba_batch(joint, ps_x, enc, beta, used, max_iter, tol):
    """Iterate a stack of encoders (N, n_x, K), accelerated by SQUAREM (Varadhan & Roland 2008).

    A cycle takes two plain updates θ0 → θ1 → θ2 of the parameters θ = (log q, log p(s|z)), then
    one update from the extrapolation θ0 - 2α r + α² v (r = θ1 - θ0, v = θ2 - 2θ1 + θ0, α =
    -|r|/|v| ≤ -1; α = -1 is a plain third update); the extrapolated run is kept where its
    Lagrangian I(x;z) - β I(z;z*) is no larger than the plain one's. Any θ gives a valid encoder
    through the update, so every result is an exact point of a real encoder. A run is done when
    no entry moved by ``tol`` in its last plain update, or after ``max_iter`` updates (``used``
    counts those made before); at the start of every cycle interchangeable states are merged
    (:func:`_merge_states`). Returns the done runs as (row, point, code) and, after
    _ROUND_CYCLES cycles, the others as (row, encoder over its live states, updates used).
    """
    active = np.arange(enc.shape[0])
    done_out = []
    for _ in range(_ROUND_CYCLES):
        log_q0, lps0 = _ba_params(joint, enc)
        merged = _merge_states(log_q0, lps0, enc)
        if merged is not enc:
            enc = merged
            log_q0, lps0 = _ba_params(joint, enc)
        e1 = _ba_map(ps_x, log_q0, lps0, beta)
        log_q1, lps1 = _ba_params(joint, e1)
        e2 = _ba_map(ps_x, log_q1, lps1, beta)
        log_q2, lps2 = _ba_params(joint, e2)
        moving = np.abs(e2 - e1).reshape(e2.shape[0], -1).max(1)
        live = np.isfinite(log_q2)
        dq1, dq2 = _finite_diff(log_q1, log_q0, live), _finite_diff(log_q2, log_q1, live)
        dp1, dp2 = lps1 - lps0, lps2 - lps1
        r2 = (dq1 ** 2).sum(1) + (dp1 ** 2).sum((1, 2))
        v2 = ((dq2 - dq1) ** 2).sum(1) + ((dp2 - dp1) ** 2).sum((1, 2))
        alpha = -np.sqrt(np.divide(r2, v2, out=np.ones_like(r2), where=v2 > 0))
        alpha = np.minimum(alpha, -1.0)
        a1, a2 = (-2 * alpha)[:, None], (alpha * alpha)[:, None]
        log_qx = np.where(live, log_q0 + a1 * dq1 + a2 * (dq2 - dq1), -np.inf)
        lpsx = lps0 + a1[..., None] * dp1 + a2[..., None] * (dp2 - dp1)
        e3 = _ba_map(ps_x, log_qx, lpsx, beta)
        used = used + 3
        p2, p3 = _points(joint, e2), _points(joint, e3)
        take3 = p3[:, 0] - beta * p3[:, 1] <= p2[:, 0] - beta * p2[:, 1]
        enc = np.where(take3[:, None, None], e3, e2)
        done = (moving < tol) | (used + 3 > max_iter)
        if done.any():
            for j in np.flatnonzero(done):
                pre_q, pre_p = (log_qx[j], lpsx[j]) if take3[j] else (log_q1[j], lps1[j])
                lv = np.isfinite(pre_q)
                code = ("ba", float(beta[j]), pre_q[lv].copy(), pre_p[:, lv].copy())
                done_out.append((active[j], p3[j] if take3[j] else p2[j], code))
            keep = ~done
            active, enc, beta, used = active[keep], enc[keep], beta[keep], used[keep]
            if active.size == 0:
                break
    q = np.matmul(joint.sum(0), enc)
    left = [(active[j], enc[j][:, q[j] > 0].copy(), used[j]) for j in range(active.size)]
    return done_out, left


def _finite_diff(a, b, live):
    """a - b where ``live``, else 0 (dead states hold -inf)."""
    return np.where(live, a - np.where(live, b, 0.0), 0.0)


# ----------------------------------------------------------------------------- hard clusterings


def _merge_cost(pa, ja, pb, jb):
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


def _agglomerate(joint):
    """Greedy merges from the identity (each x its own cluster) down to one cluster, merging the
    pair with the least relevance lost per nat of rate lost; O(n_x²) memory, a row-minimum cache.

    Returns ``parent`` (n_x,): merge t (t = 0, 1, ...) absorbed the cluster whose first member is
    ``absorbed[t]`` into another (see :func:`_stage_labels`), stored as parent[absorbed] = kept and
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
        cost[lo:lo + 256] = _merge_cost(pc[lo:lo + 256, None], jc[lo:lo + 256, None],
                                        pc[None], jc[None])
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
        row = _merge_cost(pc[a], jc[a], pc, jc)
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


def _stage_labels(parent, n_x, c):
    """Labels 0..c-1 of the agglomeration stage with c clusters (from :func:`_agglomerate`)."""
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


def _best_clustering(joint, labels, n_z, rng):
    """The clustering with at most n_z clusters of highest I(z;z*) found by sequential moves from
    ``labels`` and from _SIB_STARTS random ones (labels 0..c-1, c ≤ n_z; ties: lower rate)."""
    n_x = joint.shape[1]
    best, best_pt = None, None
    starts = [labels] + [rng.integers(0, n_z, n_x) for _ in range(_SIB_STARTS)]
    for start in starts:
        lab = _sequential_moves(joint, start, n_z, rng)
        lab = np.unique(lab, return_inverse=True)[1].astype(np.intp)
        pt = _hard_point(joint, lab)
        if best is None or pt[1] > best_pt[1] or (pt[1] == best_pt[1] and pt[0] < best_pt[0]):
            best, best_pt = lab, pt
    return best


def _sequential_moves(joint, labels, n_z, rng):
    """Move one data state at a time to the cluster that maximises I(z;z*) (Slonim, Friedman &
    Tishby's sequential IB for hard clusterings), in random order, until a sweep moves nothing."""
    xl = special.xlogy
    jx = joint.T
    lab = labels.astype(np.intp).copy()
    jc = np.zeros((n_z, joint.shape[0]))
    np.add.at(jc, lab, jx)

    def value(j):  # Σ_s j_s log(j_s / Σ_s j_s) per cluster: I(z;z*) = Σ_z value - Σ_s p_s log p_s
        return (xl(j, j) - xl(j, j.sum(-1, keepdims=True))).sum(-1)

    for _ in range(_SIB_SWEEPS):
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


def _tilt(joint, t):
    """r ∝ p*(x) exp(t · p(·|x)) on the support of p*."""
    px = joint.sum(0)
    a = np.where(px > 0, t @ _posteriors(joint).T + np.log(np.where(px > 0, px, 1.0)), -np.inf)
    return np.exp(a - special.logsumexp(a))


def _excess_kl(u):
    """(1 + u) log(1 + u) - u ≥ 0 without cancellation (a series where |u| < 1e-3)."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1e-3
    big = np.where(small, 0.0, u)
    series = u * u * (1 / 2 - u * (1 / 6 - u * (1 / 12 - u * (1 / 20 - u / 30))))
    return np.where(small, series, special.xlogy(1 + big, 1 + big) - big)


def _tilt_ratio(joint, t):
    """D(r_s ‖ p_s) / D(r ‖ p*) for the tilt r of ``t`` (0 where D(r ‖ p*) = 0). Both
    divergences are written Σ p f(u) with f(u) = (1 + u) log(1 + u) - u and u = r/p - 1, u =
    expm1(t·p(·|x) - A) over x and its image Σ_x p(s, x) u(x) / p(s) over z*, so nothing
    cancels even for tilts so small that D(r ‖ p*) ~ 1e-20."""
    px, ps = joint.sum(0), joint.sum(1)
    cx = px > 0
    a = t @ _posteriors(joint)[cx].T  # t · p(·|x) on the support
    shift = a.max()
    m = np.expm1(a - shift)  # exp(a - shift) - 1
    log_mean = np.log1p(px[cx] @ m)  # A - shift, A = log Σ_x p(x) exp(a_x)
    u = np.expm1(a - shift - log_mean)
    d_x = float(px[cx] @ _excess_kl(u))
    rs = ps > 0
    v = (joint[np.ix_(rs, cx)] @ u) / ps[rs]
    d_s = float(ps[rs] @ _excess_kl(v))
    return d_s / d_x if d_x > 0 else 0.0


def _best_tilt(joint):
    """The tilt t of largest ratio: a grid of ±scales along each z* axis (a line for n_s = 2),
    then a local search from the best few. Returns (t, ratio), or (None, 0) if nothing is > 0."""
    n_s = joint.shape[0]
    if n_s < 2:
        return None, 0.0
    scales = np.concatenate([-np.geomspace(1e3, 1e-2, 51), np.geomspace(1e-2, 1e3, 51)])
    axes = [np.eye(n_s)[0]] if n_s == 2 else list(np.eye(n_s))
    grid = [s * ax for ax in axes for s in scales]
    vals = np.array([_tilt_ratio(joint, t) for t in grid])
    if not vals.max() > 0:
        return None, 0.0
    best_t, best_v = None, -np.inf
    for i in np.argsort(-vals)[:3 if n_s > 2 else 1]:
        if n_s == 2:  # a bracketed line search between the grid neighbours
            j = i % scales.size
            lo, hi = sorted((scales[max(j - 1, 0)], scales[min(j + 1, scales.size - 1)]))
            res = optimize.minimize_scalar(lambda s: -_tilt_ratio(joint, s * axes[0]),
                                           bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-12 * max(1.0, abs(scales[j]))})
            t, v = res.x * axes[0], -res.fun
        else:
            res = optimize.minimize(lambda u: -_tilt_ratio(joint, u), grid[i], method="Nelder-Mead",
                                    options={"xatol": 1e-10, "fatol": 1e-15, "maxiter": 4000})
            t, v = res.x, -res.fun
        if vals[i] > v:
            t, v = grid[i], vals[i]
        if v > best_v:
            best_t, best_v = t, v
    return best_t, float(best_v)
