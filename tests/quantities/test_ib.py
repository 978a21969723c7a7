"""The information-bottleneck frontier (toyrd.quantities) against closed forms and its defining properties:
F(r) = max{I(z;z*) : I(x;z) ≤ r} is non-decreasing, concave, F(0) = 0, F ≤ min(r, I(x;z*))."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import toyrd
from toyrd.quantities import (
    IBFrontier,
    default_betas,
    ib_frontier,
    ib_frontier_at,
    ib_gap,
    ib_point,
    maximal_correlation,
)
from toyrd.testing import IDENTITY_TOL

#: float64 identities: mutual informations of ≤ 10^3-entry tables recomputed, hull arithmetic.
VERTEX_TOL = 1e-10


def _h(p):
    return -sum(v * math.log(v) for v in (p, 1.0 - p) if v > 0)


def _h_inv(y):
    """The p in [0, 1/2] with h(p) = y (nats)."""
    return 0.0 if y <= 0 else brentq(lambda p: _h(p) - y, 0.0, 0.5, xtol=1e-17, rtol=8.9e-16)


@pytest.fixture(scope="module")
def toy_frontier(toy):
    return ib_frontier(toy.pzx)


def test_deterministic_latent_gives_min_of_rate_and_entropy():
    """z* = f(x): any channel from z* to z has I(x;z) = I(z;z*), so F(r) = min(r, H(z*))."""
    rng = np.random.default_rng(11)
    px = rng.dirichlet(np.ones(8))
    f = np.array([0, 0, 1, 2, 1, 0, 2, 2])
    pzx = np.zeros((3, 8))
    pzx[f, np.arange(8)] = px
    h_z = toyrd.entropy(pzx.sum(1))
    fr = ib_frontier(pzx, betas=np.geomspace(1, 100, 20))
    r = np.linspace(0, 2 * h_z, 101)
    assert np.max(np.abs(ib_frontier_at(fr, r) - np.minimum(r, h_z))) < IDENTITY_TOL
    assert abs(fr.info - h_z) < IDENTITY_TOL


def test_binary_symmetric_source_follows_mrs_gerbers_lemma():
    """z* ~ Bern(1/2), x = z* ⊕ Bern(ε): F(r) = log 2 - h(ε ⋆ h⁻¹(log 2 - r)) with a ⋆ b =
    a(1-b) + b(1-a) (Wyner–Ziv's Mrs. Gerber's Lemma; the BSC test channel attains it with
    n_z = 2), slope F'(r) = (1-2ε) h'(c)/h'(δ). Every vertex lies on the curve; the envelope
    never exceeds it, and between vertices with curve slopes s1 > s2 it is at most
    (r2 - r1)(s1 - s2)/4 below (the chord against the two tangents of a concave curve)."""
    eps = 0.1
    pzx = 0.5 * np.array([[1 - eps, eps], [eps, 1 - eps]])

    def curve(r):
        d = _h_inv(max(math.log(2) - r, 0.0))
        c = eps * (1 - d) + d * (1 - eps)
        slope = 0.0 if d == 0 else ((1 - 2 * eps) ** 2 if d == 0.5 else
                                   (1 - 2 * eps) * math.log((1 - c) / c) / math.log((1 - d) / d))
        return math.log(2) - _h(c), slope

    assert abs(maximal_correlation(pzx) - (1 - 2 * eps)) < IDENTITY_TOL
    fr = ib_frontier(pzx, n_z=2)
    on_curve = np.array([curve(r)[0] for r in fr.rate])
    assert np.max(np.abs(fr.relevance - on_curve)) < VERTEX_TOL
    assert abs(fr.rate[-1] - math.log(2)) < IDENTITY_TOL
    assert abs(fr.relevance[-1] - (math.log(2) - _h(eps))) < IDENTITY_TOL
    slopes = np.array([curve(r)[1] for r in fr.rate])
    slopes[0] = (1 - 2 * eps) ** 2  # at r = 0: δ = 1/2
    for i in range(len(fr.rate) - 1):
        r = np.linspace(fr.rate[i], fr.rate[i + 1], 7)
        exact = np.array([curve(x)[0] for x in r])
        below = exact - ib_frontier_at(fr, r)
        assert below.min() > -IDENTITY_TOL
        assert below.max() <= (r[-1] - r[0]) * (slopes[i] - slopes[i + 1]) / 4 + IDENTITY_TOL


def test_independent_joint_has_a_flat_frontier():
    pzx = np.outer([0.3, 0.7], [0.2, 0.5, 0.3])
    assert maximal_correlation(pzx) < IDENTITY_TOL
    fr = ib_frontier(pzx, betas=[1.0, 10.0, 1e3])
    assert np.max(np.abs(fr.candidates[:, 1])) < IDENTITY_TOL
    assert ib_frontier_at(fr, 1.0) < IDENTITY_TOL


def test_toy_frontier_is_monotone_concave_and_capped(toy, toy_frontier):
    fr = toy_frontier
    assert isinstance(fr, IBFrontier)
    assert fr.rate[0] == 0.0 and fr.relevance[0] == 0.0
    assert np.all(np.diff(fr.rate) > 0)
    assert np.all(np.diff(fr.relevance) > 0)
    slopes = np.diff(fr.relevance) / np.diff(fr.rate)
    assert np.all(np.diff(slopes) < 0)  # strictly concave vertices (collinear ones are dropped)
    assert slopes[0] <= 1.0 + IDENTITY_TOL  # I(z;z*) ≤ I(x;z)
    assert np.all(fr.relevance <= np.minimum(fr.rate, toy.info) + IDENTITY_TOL)
    # the identity encoder keeps all of x, hence all of I(x;z*) (no two bins share a posterior)
    assert abs(fr.relevance[-1] - toy.info) < IDENTITY_TOL
    assert abs(fr.rate[-1] - toy.entropy) < IDENTITY_TOL
    # every point found lies on or below the envelope
    env = ib_frontier_at(fr, fr.candidates[:, 0])
    assert np.all(fr.candidates[:, 1] <= env + IDENTITY_TOL)
    # flat beyond the last vertex
    assert ib_frontier_at(fr, 10.0) == fr.relevance[-1]


def test_vertices_are_reached_by_their_encoders(toy, toy_frontier):
    fr = toy_frontier
    assert fr.encoders.shape == (fr.rate.size, 30, 30)
    for i in range(0, fr.rate.size, 7):
        e = fr.encoders[i]
        assert abs(toyrd.representational_mi(toy.px, e) - fr.rate[i]) < IDENTITY_TOL
        assert abs(toyrd.latent_information(toy.pzx, e) - fr.relevance[i]) < IDENTITY_TOL
        assert np.allclose(ib_point(toy.pzx, e), (fr.rate[i], fr.relevance[i]), rtol=0, atol=IDENTITY_TOL)
        assert abs(ib_gap(toy.pzx, e, fr)) < IDENTITY_TOL


def test_gap_of_a_random_encoder(toy, toy_frontier):
    rng = np.random.default_rng(4)
    e = rng.random((30, 30)) ** 3
    e /= e.sum(1, keepdims=True)
    rate, rel = ib_point(toy.pzx, e)
    gap = ib_gap(toy.pzx, e, toy_frontier)
    assert abs(gap - (ib_frontier_at(toy_frontier, rate) - rel)) < IDENTITY_TOL
    assert gap > 0.01  # a random code wastes rate on within-class detail


def test_gap_computes_its_own_frontier_with_the_encoders_latent_size():
    """A BSC test channel on the DSBS is IB-optimal (Mrs. Gerber's Lemma), so the envelope — an
    inner bound — is at most 0 above it, and at most the chord error below: between vertices
    r1 < r2 the concave curve's slopes lie within the neighbouring chords' c_prev ≥ c_next, so
    the chord is at most (r2 - r1)(c_prev - c_next)/4 under it."""
    pzx = 0.5 * np.array([[0.8, 0.2], [0.2, 0.8]])
    e = np.array([[0.9, 0.1], [0.1, 0.9]])
    gap = ib_gap(pzx, e)
    fr = ib_frontier(pzx, n_z=2)
    assert gap == ib_gap(pzx, e, fr)
    assert gap <= IDENTITY_TOL
    rate, _ = ib_point(pzx, e)
    i = np.searchsorted(fr.rate, rate) - 1
    c = np.diff(fr.relevance) / np.diff(fr.rate)
    assert 1 <= i < c.size - 1
    assert gap >= -(fr.rate[i + 1] - fr.rate[i]) * (c[i - 1] - c[i + 1]) / 4 - IDENTITY_TOL


def test_reproducible_from_the_seed():
    pzx = np.random.default_rng(2).dirichlet(np.ones(10)).reshape(2, 5)
    a = ib_frontier(pzx, restarts=3, seed=5, betas=np.geomspace(1, 50, 12))
    b = ib_frontier(pzx, restarts=3, seed=5, betas=np.geomspace(1, 50, 12))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_default_betas_span_three_decades_past_the_last_possible_transition(toy):
    b = default_betas(toy.pzx)
    rho2 = maximal_correlation(toy.pzx) ** 2
    assert b.size == 100 and b[0] == 1.0 and abs(b[-1] * rho2 - 1e3) < 1e-9
    assert 0 < rho2 < 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_z=0), "n_z"), (dict(restarts=0), "restarts"), (dict(refine=-1), "refine"),
    (dict(betas=[-1.0]), "betas"), (dict(betas=[]), "betas"), (dict(betas=[np.inf]), "betas"),
])
def test_bad_arguments(toy, kwargs, match):
    with pytest.raises(toyrd.ToyrdError, match=match):
        ib_frontier(toy.pzx, **kwargs)


def test_bad_tables(toy, toy_frontier):
    with pytest.raises(toyrd.TableError, match=r"pzx: .*sum.* to 1\.1"):
        ib_frontier(toy.pzx * 1.1)
    with pytest.raises(toyrd.TableError, match=r"pzx: expected a .*rank 2"):
        ib_frontier(toy.px)
    with pytest.raises(toyrd.TableError, match="encoder: has 29 rows"):
        ib_gap(toy.pzx, np.full((29, 3), 1 / 3), toy_frontier)
    with pytest.raises(toyrd.ToyrdError, match="rate"):
        ib_frontier_at(toy_frontier, -0.1)
