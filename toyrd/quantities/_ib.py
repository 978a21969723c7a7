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
>>> from toyrd.quantities import ib_frontier, ib_frontier_at
>>> pzx = np.array([[0.3, 0.2, 0.0], [0.0, 0.0, 0.5]])   # z* = f(x): F(r) = min(r, H(z*))
>>> fr = ib_frontier(pzx, betas=[2.0, 8.0])
>>> bool(abs(ib_frontier_at(fr, 0.4) - 0.4) < 1e-12 and abs(fr.relevance[-1] - np.log(2)) < 1e-12)
True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import as_conditional, check_int
from toyrd.errors import TableError, ToyrdError
from toyrd.quantities._ib_ba import (  # noqa: F401
    ba_runs,
)
from toyrd.quantities._ib_cluster import (  # noqa: F401
    agglomerate,
    best_clustering,
    best_tilt,
    decode,
    freeze,
    stage_labels,
    tilt,
)
from toyrd.quantities._ib_points import (  # noqa: F401
    BA_MAX_ITER,
    BA_TOL,
    FRONTIER_TOL,
    N_BETAS,
    RATE_FLOOR,
    REFINE,
    RESTRICTED_STARTS,
    SPLIT_SEED,
    SPLIT_SIZES,
    Pool,
    check_pzx,
    chord_bounds,
    hard_point,
    one_hot,
    point_of,
    posteriors,
    skeleton,
    split_direction,
    upper_envelope,
)

__all__ = [
    "BA_MAX_ITER",
    "BA_TOL",
    "FRONTIER_TOL",
    "N_BETAS",
    "REFINE",
    "RATE_FLOOR",
    "IBFrontier",
    "default_betas",
    "ib_frontier",
    "ib_frontier_at",
    "ib_gap",
    "ib_point",
    "maximal_correlation",
    "zero_rate_slope",
    "upper_envelope",
]


class IBFrontier(NamedTuple):
    """The upper concave envelope of the (rate, relevance) points found, in nats.

    ``rate`` ``(n,)`` strictly increasing from 0; ``relevance`` ``(n,)`` increasing and concave in
    rate; ``betas`` ``(n,)`` the β of the Blahut–Arimoto run that gave each vertex (nan for
    clusterings, peeled two-state codes and the trivial encoder); ``info`` = :math:`I(x; z^*)`,
    the ceiling; ``candidates`` ``(m, 2)`` every point found, vertices or not; ``bounds``
    ``(n - 1,)`` the chord bound of each interval (module docstring, item 2); ``slope0`` the
    zero-rate slope :math:`s^*` used at r = 0; ``pzx`` the joint and ``n_z`` the latent size;
    ``codes`` a compact description of each vertex's encoder (hard labels, a peeled cluster, or a
    Blahut–Arimoto update), read back by :meth:`encoder` — a dense encoder per vertex would cost
    n · ``n_x`` · ``n_z`` numbers.
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
        """The largest chord bound: how far F may lie above the envelope, if the vertices are on
        F."""
        return float(self.bounds.max()) if self.bounds.size else 0.0

    def encoder(self, i: int) -> np.ndarray:
        """The encoder :math:`e(z|x)` ``(n_x, n_z)`` whose exact point is vertex ``i``."""
        e = decode(self.pzx, self.codes[i])
        out = np.zeros((e.shape[0], self.n_z))
        out[:, : e.shape[1]] = e
        return out


def ib_point(pzx, encoder) -> tuple[float, float]:
    """:math:`(I(x; z), I(z; z^*))` of one encoder ``(n_x, n_z)`` for the joint ``pzx``
    ``(n_s, n_x)``, nats."""
    joint = check_pzx(pzx)
    e = as_conditional("encoder", encoder)
    if e.shape[0] != joint.shape[1]:
        raise TableError(
            f"encoder: has {e.shape[0]} rows, expected n_x = {joint.shape[1]} to match pzx"
        )
    return point_of(joint, e)


def maximal_correlation(pzx) -> float:
    r""":math:`\rho_m(x; z^*)`, the Hirschfeld–Gebelein–Rényi maximal correlation: the second
    singular value of :math:`p(s, x) / \sqrt{p(s)\, p(x)}` (the first is 1). Example: the binary
    symmetric pair with crossover ε has :math:`\rho_m = |1 - 2\varepsilon|`."""
    joint = check_pzx(pzx)
    ps, px = joint.sum(1), joint.sum(0)
    rs, cx = ps > 0, px > 0
    b = joint[np.ix_(rs, cx)] / np.sqrt(np.outer(ps[rs], px[cx]))
    sv = np.linalg.svd(b, compute_uv=False)
    return float(sv[1]) if sv.size > 1 else 0.0


def zero_rate_slope(pzx) -> tuple[float, np.ndarray | None]:
    r"""The frontier's slope at r = 0,
    :math:`s^* = \sup_r D(r_s \Vert p_s) / D(r \Vert p^*)`, and the r reaching it.

    For a given image :math:`r_s` the smallest :math:`D(r \Vert p^*)` is reached by a tilt
    :math:`r \propto p^*(x) \exp(\sum_s t_s\, p(s|x))` (an I-projection), so the supremum runs
    over :math:`t \in \mathbb{R}^{n_s}`: a grid, then a local search. As :math:`t \to 0` the
    ratio tends to at most :math:`\rho_m^2` (:func:`maximal_correlation`); when nothing beats that
    limit the function returns :math:`(\rho_m^2, \mathrm{None})`. :math:`s^*` bounds every
    encoder: :math:`I(z; z^*) \le s^* I(x; z)` (each cluster's posterior :math:`r = p(x|z)` obeys
    the ratio); the binary symmetric pair has :math:`s^* = \rho_m^2 = (1 - 2\varepsilon)^2`.
    Found by local search, so a lower estimate when several maxima exist.
    """
    joint = check_pzx(pzx)
    rho2 = maximal_correlation(joint) ** 2
    t, ratio = best_tilt(joint)
    if t is None or ratio <= rho2 * (1 + 1e-12):  # no better than the limit, up to rounding
        return rho2, None
    return ratio, tilt(joint, t)


def default_betas(pzx, n: int = N_BETAS) -> np.ndarray:
    r"""``n`` β geometric from 1 to :math:`10^3/\rho_m^2` (:math:`\rho_m`:
    :func:`maximal_correlation`).

    Below β = 1 the trivial encoder is optimal (:math:`I(z; z^*) \le I(x; z)`); the first
    non-trivial solution appears at :math:`\beta_c = 1/s^* \le 1/\rho_m^2`,
    :math:`s^* \ge \rho_m^2` being the frontier's slope at 0, so the sweep spans three decades
    beyond the latest possible :math:`\beta_c`, which weakly dependent joints need.
    """
    rho = maximal_correlation(pzx)
    top = 1e3 / max(rho * rho, 1e-12)
    return np.geomspace(1.0, top, n)


def ib_frontier(
    pzx,
    n_z: int | None = None,
    betas=None,
    restarts: int = 1,
    seed: int = 0,
    *,
    tol: float = FRONTIER_TOL,
    refine: int = REFINE,
    max_iter: int = BA_MAX_ITER,
    ba_tol: float = BA_TOL,
) -> IBFrontier:
    r"""The IB frontier :math:`F(r) = \max \{I(z; z^*) : I(x; z) \le r\}` of ``pzx`` =
    :math:`p(z^*, x)` ``(n_s, n_x)``.

    ``n_z`` latent states (default ``n_x``); ``betas`` the first Blahut–Arimoto sweep (default
    :func:`default_betas`); ``restarts`` runs per β of that sweep (one from the finest hard
    clustering, the rest random from ``seed``, which also seeds the clustering's random starts;
    with ``n_z`` < ``n_x`` three more random runs per β join them).
    Then at most ``refine`` passes add runs at β = 1/(chord slope) on every interval whose chord
    bound exceeds ``tol`` nats; ``max_iter`` (updates) and ``ba_tol`` stop each run. See the
    module docstring for what the result guarantees. The toy (2 × 30) takes about 0.7 s at the
    defaults, with about 1,050 vertices.

    Identity: :math:`F(r) \le \min(s^* r, I(x; z^*))` with :math:`s^*` = ``slope0`` (data
    processing).
    """
    joint = check_pzx(pzx)
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
    ps_x = posteriors(joint)
    pool = Pool(joint, n_z)

    # Hard clusterings: every stage of the agglomeration with at most n_z clusters, and with
    # fewer states than distinct data states the best clustering found by sequential moves.
    parent, stage_pts = agglomerate(joint)
    n_stage = min(n_z, n_x)
    for c in range(n_stage, 0, -1):
        pool.add(stage_pts[n_x - c], ("stage", c, parent), np.nan)
    top = stage_labels(parent, n_x, n_stage)
    if n_stage < n_x:
        top = best_clustering(joint, top, n_z, rng)
        pool.add(hard_point(joint, top), ("hard", top), np.nan)

    # The slope at zero rate and the two-state codes that reach it.
    slope0, r_star = zero_rate_slope(joint)
    if r_star is not None and n_z >= 2:
        px = joint.sum(0)
        lam_max = 1.0 / np.max(np.divide(r_star, px, out=np.zeros(n_x), where=px > 0))
        for lam in lam_max * SPLIT_SIZES:
            code = ("split", float(lam), r_star)
            pool.add(point_of(joint, decode(joint, code)), code, np.nan)

    # The first Blahut–Arimoto sweep: from the finest clustering and from random encoders; with
    # fewer states than data states, RESTRICTED_STARTS more random ones per β, since then several
    # branches of soft clusterings compete and continuation from the top keeps to one of them.
    hard_top = one_hot(top, int(top.max()) + 1)
    n_rand = restarts - 1 + (RESTRICTED_STARTS if n_stage < n_x else 0)
    inits = [hard_top] * betas.size
    inits += [rng.dirichlet(np.ones(n_z), size=n_x) for _ in range(betas.size * n_rand)]
    run_b = np.concatenate([betas, np.repeat(betas, n_rand)])
    pts, codes = ba_runs(joint, ps_x, inits, run_b, max_iter, ba_tol)
    pool.add_many(pts, codes, run_b)

    tilt = split_direction(joint)
    settled = set()
    for _ in range(refine):
        pool.prune()
        sk = skeleton(pool.points, np.array(pool.betas))
        bounds, _ = chord_bounds(pool.points[sk], slope0)
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
            a, b = decode(joint, pool.codes[ia]), decode(joint, pool.codes[ib_])
            if a.shape[1] + b.shape[1] <= n_z:  # time-sharing, tilted to seed cluster splits
                w = 0.5 + SPLIT_SEED / 2 * tilt[:, None]
                inits.append(np.concatenate([a * w, b * (1 - w)], axis=1))
                run_b.append(beta)
            else:
                inits += [a, b]
                run_b += [beta] * 2
        run_b = np.array(run_b)
        pts, codes = ba_runs(joint, ps_x, inits, run_b, max_iter, ba_tol)
        pool.add_many(pts, codes, run_b)

    pool.prune()
    sk = skeleton(pool.points, np.array(pool.betas))
    bounds_sk, _ = chord_bounds(pool.points[sk], slope0)
    # each interval of the envelope lies inside one of the skeleton's, whose bound it inherits
    bounds = bounds_sk[np.searchsorted(sk, np.arange(pool.points.shape[0] - 1), side="right") - 1]
    return IBFrontier(
        rate=pool.points[:, 0].copy(),
        relevance=pool.points[:, 1].copy(),
        betas=np.array(pool.betas),
        info=float(F.mutual_information(joint)),
        candidates=np.array(pool.candidates),
        bounds=bounds,
        slope0=float(slope0),
        pzx=joint,
        n_z=int(n_z),
        codes=tuple(freeze(c) for c in pool.codes),
    )


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
    """:math:`F(I(x; z)) - I(z; z^*)`: how much more of :math:`z^*` the best code of the same rate
    keeps (nats).

    ``frontier`` defaults to ``ib_frontier(pzx, n_z=encoder's n_z, **kwargs)``; pass one to reuse
    it across models. Close to 0 for an IB-optimal encoder; a model beating the frontier found
    would show a (small) negative gap, i.e. the inner bound was not tight there.
    """
    rate, relevance = ib_point(pzx, encoder)
    if frontier is None:
        frontier = ib_frontier(pzx, n_z=np.shape(encoder)[1], **kwargs)
    return ib_frontier_at(frontier, rate) - relevance
