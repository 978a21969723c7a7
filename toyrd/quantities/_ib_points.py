"""The information-bottleneck frontier's tolerances and its points: (I(x;z), I(z;z*)) of encoders,
the pool of points found, the skeleton of vertices, chord bounds and the upper envelope."""

from __future__ import annotations

import numpy as np
from scipy import special

from toyrd import _formulas as F
from toyrd._validate import as_joint
from toyrd.errors import TableError

__all__ = [
    "N_BETAS",
    "FRONTIER_TOL",
    "REFINE",
    "BA_TOL",
    "BA_MAX_ITER",
    "RATE_FLOOR",
    "SAME_RATE",
    "SKELETON_TOL",
    "MERGE_TOL",
    "SPLIT_SEED",
    "ROUND_CYCLES",
    "LOG_FLOOR",
    "MAX_ENTRIES",
    "SIB_STARTS",
    "RESTRICTED_STARTS",
    "SIB_SWEEPS",
    "SPLIT_SIZES",
    "check_pzx",
    "point_of",
    "points_of",
    "hard_point",
    "one_hot",
    "split_direction",
    "posteriors",
    "Pool",
    "skeleton",
    "chord_bounds",
    "upper_envelope",
]

#: Number of β values of the first sweep (see :func:`default_betas`); refinement adds the rest.
N_BETAS = 24

#: Refinement stops when every interval's chord bound (see :class:`IBFrontier`) is at most this.
FRONTIER_TOL = 1e-6
#: ...or after this many passes.
REFINE = 60

#: Blahut–Arimoto stops when no encoder entry moves by more than this in the second plain update
#: of a SQUAREM cycle (see :func:`~toyrd.quantities._ib_ba.ba_batch`)...
BA_TOL = 1e-10
#: ...or before a cycle would pass this many updates (runs that have not converged still give
#: reachable points).
BA_MAX_ITER = 300

#: Rates below this (nats) are rounding noise around the trivial encoder's 0.
RATE_FLOOR = 1e-12

#: Points closer than this in rate (nats) are one vertex (the higher one): the chord between two
#: such points has a slope made of rounding errors. Dropping one lowers the envelope by at most
#: this times a slope ≤ 1.
SAME_RATE = 1e-10

#: A Blahut–Arimoto vertex that another vertex beats by more than this (nats, above the line of
#: slope 1/β through it) is left out of the skeleton the chord bounds rest on (see skeleton).
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

ROUND_CYCLES = 4  # SQUAREM cycles (3 updates each) before the runs are regrouped by width
LOG_FLOOR = -745.0  # log of the smallest positive float64; stands in for log 0 inside BA
MAX_ENTRIES = 1 << 20  # encoder entries per Blahut–Arimoto batch (8 MiB per array)
SIB_STARTS = 4  # random starts of the sequential clustering, besides the greedy one
RESTRICTED_STARTS = 3  # extra random Blahut–Arimoto starts per β when n_z < n_x
SIB_SWEEPS = 50
SPLIT_SIZES = np.geomspace(1.0, 1e-5, 11)  # cluster weights (× the largest) of the peeled codes


def check_pzx(pzx) -> np.ndarray:
    joint = as_joint("pzx", pzx)
    if joint.shape[0] < 1 or joint.shape[1] < 1:
        raise TableError(f"pzx: shape {joint.shape}, expected n_s × n_x with both >= 1")
    return joint


def point_of(joint, e) -> tuple[float, float]:
    px = joint.sum(0)
    rate = F.mutual_information(F.encoder_joint(px, e))
    return float(rate), float(F.mutual_information(joint @ e))


def points_of(joint, enc) -> np.ndarray:
    """(rate, relevance) of a stack of encoders (N, n_x, K), as an (N, 2) array."""
    px, ps = joint.sum(0), joint.sum(1)
    pe = px[None, :, None] * enc
    q = pe.sum(1)
    hq = special.xlogy(q, q).sum(1)
    rate = special.xlogy(pe, enc).sum((1, 2)) - hq
    psz = np.matmul(joint, enc)
    rel = special.xlogy(psz, psz).sum((1, 2)) - hq - special.xlogy(ps, ps).sum()
    return np.stack([rate, rel], axis=1)


def hard_point(joint, labels) -> tuple[float, float]:
    """(H(z), I(z;z*)) of a hard clustering, from the cluster sums."""
    k = int(labels.max()) + 1
    pc = np.bincount(labels, weights=joint.sum(0), minlength=k)
    jc = np.stack([np.bincount(labels, weights=row, minlength=k) for row in joint])
    xl = special.xlogy
    ps = joint.sum(1)
    return float(-xl(pc, pc).sum()), float(xl(jc, jc).sum() - xl(pc, pc).sum() - xl(ps, ps).sum())


def one_hot(labels, k):
    e = np.zeros((labels.size, k))
    e[np.arange(labels.size), labels] = 1.0
    return e


def split_direction(joint):
    """The maximal-correlation function f(x) on x (second singular vector of p(s,x)/sqrt(p(s)p(x))
    over sqrt(p(x))), scaled to max |f| = 1 (0 where p*(x) = 0 or without dependence)."""
    ps, px = joint.sum(1), joint.sum(0)
    rs, cx = ps > 0, px > 0
    f = np.zeros(joint.shape[1])
    b = joint[np.ix_(rs, cx)] / np.sqrt(np.outer(ps[rs], px[cx]))
    _, sv, vt = np.linalg.svd(b, full_matrices=False)
    # sv[0] = 1: a second singular value within the SVD's rounding (ε per entry) of 0 has a
    # direction of noise, so an independent joint (computed sv[1] ~ 1e-17, not 0) keeps f = 0
    if sv.size > 1 and sv[1] > b.size * np.finfo(np.float64).eps:
        f[cx] = vt[1] / np.sqrt(px[cx])
        f /= np.abs(f).max()
    return f


def posteriors(joint):
    """p(s|x) as (n_x, n_s); rows of data states with p*(x) = 0 get p(s) (they carry no weight)."""
    px = joint.sum(0)
    return np.where(px > 0, joint / np.where(px > 0, px, 1.0), joint.sum(1)[:, None]).T


class Pool:
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
        keep = upper_envelope(self.points)
        self.points = self.points[keep]
        self.codes = [self.codes[i] for i in keep]
        self.betas = [self.betas[i] for i in keep]


def skeleton(points, betas):
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


def chord_bounds(points, slope0):
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
        c_prev = np.where(
            far_l >= 0,
            (y[left] - y[np.maximum(far_l, 0)]) / (r[left] - r[np.maximum(far_l, 0)]),
            max(slope0, c[0]),
        )
        c_next = np.where(
            far_r < m,
            (y[np.minimum(far_r, m - 1)] - y[right]) / (r[np.minimum(far_r, m - 1)] - r[right]),
            0.0,
        )
    c_prev = np.maximum(c_prev, c)  # the first interval: slope0 ≥ c (or c itself if s* was missed)
    den = c_prev - c_next
    safe = np.where(den > 0, den, 1.0)
    tri = np.maximum(c_prev - c, 0.0) * np.maximum(c - c_next, 0.0) * dr / safe
    return np.where(den > 0, tri, 0.0), c


def upper_envelope(points) -> np.ndarray:
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
