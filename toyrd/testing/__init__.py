"""Hypothesis strategies for finite VAEs: random sizes, probability vectors and row-stochastic
tables — dense or sparse with exact zeros — and whole models whose tables match in size.

Requires ``hypothesis`` (the ``test`` extra); ``import toyrd`` does not import this module.

Hypothesis draws the *structure* of an example (sizes, how sparse, how peaked, which support
rule) and a 32-bit seed; numpy's ``default_rng(seed)`` then fills in the values. That keeps
1,000-example runs fast on 40 × 40 tables while every example stays reproducible and the
structural parts still shrink (a failing case reports small sizes and its seed).

Values: each row is a Dirichlet draw with concentration ``alpha`` ∈ {0.05, …, 10} (small alpha
gives peaked rows with entries down to ~1e-30), then a random subset of entries is set to exactly
0 (each with probability ``zero_frac`` ∈ {0, 0.1, …, 0.9}; at least one entry of every row stays
positive), and the row is divided by its sum, so rows sum to 1 within a few ulps (far inside
``SUM_TOL``).

>>> from hypothesis import given
>>> import numpy as np
>>> @given(models())
... def test_rows_sum_to_one(m):
...     assert np.allclose(m.encoder.sum(1), 1.0, rtol=0, atol=1e-14)
>>> test_rows_sum_to_one()
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

__all__ = [
    "MAX_SIZE",
    "ModelTables",
    "sizes",
    "seeds",
    "simplex_rows",
    "adversarial_rows",
    "distributions",
    "conditionals",
    "models",
    "true_joints",
    "SUPPORT_RULES",
    "IDENTITY_TOL",
    "assert_identity",
    "assert_leq",
]

#: Largest number of data or latent states drawn (the toy has 30).
MAX_SIZE = 40

#: "compatible": d(x|z) > 0 wherever p_e(x,z) > 0 and m(z) > 0 wherever q(z) > 0, so D and R are
#: finite; "any": zeros anywhere, so D and R may be +inf (a required log 0).
SUPPORT_RULES = ("compatible", "any")


#: Tolerance of the exact float64 identities, relative to max(1, |lhs|, |rhs|). Each side is a sum
#: of at most 40 × 40 = 1,600 products; numpy's pairwise summation errs by about
#: log2(1600)·ε ≈ 11 × 2.2e-16 ≈ 2.4e-15 of the sum of the terms' magnitudes, and those sums stay
#: within a few times the quantity itself (entropies ≤ log 1600 ≈ 7.4; large R or D come from a
#: few large log terms). So an exact identity errs by ≲ 1e-14 × scale — measured worst case over
#: 3,000 random sparse models: 3.7e-16 relative, 1.4e-14 absolute at values ≈ 70 nats — and 1e-12
#: leaves a 100× margin while a wrong term (≥ 1e-6 for any real bug seen so far) cannot pass.
IDENTITY_TOL = 1e-12


def _scale(*values) -> float:
    return max([1.0] + [abs(float(v)) for v in values])


def assert_identity(lhs, rhs, tol: float = IDENTITY_TOL, what: str = "identity") -> None:
    """Assert lhs == rhs to ``tol`` · max(1, |lhs|, |rhs|); infinities must match exactly; no
    NaN."""
    lhs, rhs = float(lhs), float(rhs)
    assert not (np.isnan(lhs) or np.isnan(rhs)), f"{what}: NaN ({lhs} vs {rhs})"
    if np.isinf(lhs) or np.isinf(rhs):
        assert lhs == rhs, f"{what}: {lhs} != {rhs}"
        return
    err = abs(lhs - rhs)
    assert err <= tol * _scale(lhs, rhs), f"{what}: {lhs!r} vs {rhs!r} differ by {err:.3g}"


def assert_leq(lhs, rhs, tol: float = IDENTITY_TOL, what: str = "inequality") -> None:
    """Assert lhs <= rhs up to ``tol`` · max(1, |lhs|, |rhs|) (finite parts); no NaN."""
    lhs, rhs = float(lhs), float(rhs)
    assert not (np.isnan(lhs) or np.isnan(rhs)), f"{what}: NaN ({lhs} vs {rhs})"
    if np.isinf(lhs) or np.isinf(rhs):
        assert lhs <= rhs, f"{what}: {lhs} > {rhs}"
        return
    assert lhs <= rhs + tol * _scale(lhs, rhs), f"{what}: {lhs!r} > {rhs!r} by {lhs - rhs:.3g}"


class ModelTables(NamedTuple):
    """:math:`p^*(x)` ``(n_x,)``, :math:`e(z|x)` ``(n_x, n_z)``, :math:`d(x|z)` ``(n_z, n_x)``,
    :math:`m(z)` ``(n_z,)`` — all float64."""

    px: np.ndarray
    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray


_SIZES = st.integers(1, MAX_SIZE)
_SEEDS = st.integers(0, 2**32 - 1)
# Strategies are built once: Hypothesis re-validates a strategy object on its first draw, which
# costs more than the whole example when done per draw.
_ALPHAS = (1.0, 0.05, 0.1, 0.2, 0.5, 2.0, 5.0, 10.0)  # first = what failures shrink to
_ZERO_FRACS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
# (alpha, zero_frac) pairs drawn as one choice: fewer draws per example, same coverage.
_SPARSE = st.sampled_from([(a, z) for z in _ZERO_FRACS for a in _ALPHAS])
_DENSE = st.sampled_from([(a, 0.0) for a in _ALPHAS])
_SUPPORTS = st.sampled_from(SUPPORT_RULES)


def sizes(min_size: int = 1, max_size: int = MAX_SIZE):
    """Number of states, an integer in [min_size, max_size] (default 1–40)."""
    if (min_size, max_size) == (1, MAX_SIZE):
        return _SIZES
    return st.integers(min_size, max_size)


def seeds():
    """A 32-bit seed for ``numpy.random.default_rng``."""
    return _SEEDS


def adversarial_rows(draw, shape: tuple[int, int], specials) -> np.ndarray:
    """Inside a ``@st.composite`` strategy: a float64 ``shape`` table whose rows sum to 1 (to
    rounding), built from ``specials`` (exact zeros, subnormals, ~1e-300 …) and floats in [0, 1],
    each row divided by its sum; an all-zero row gets a 1 at a drawn place."""
    entry = st.one_of(st.sampled_from(list(specials)), st.floats(0.0, 1.0))
    n = shape[0] * shape[1]
    a = np.array(draw(st.lists(entry, min_size=n, max_size=n)), dtype=np.float64).reshape(shape)
    for i in range(shape[0]):
        s = a[i].sum()
        if s == 0:
            a[i, draw(st.integers(0, shape[1] - 1))] = 1.0
        else:
            a[i] /= s
    return a


def simplex_rows(
    rng: np.random.Generator,
    n_rows: int,
    n_cols: int,
    *,
    alpha: float = 1.0,
    zero_frac: float = 0.0,
    required=None,
) -> np.ndarray:
    """``n_rows`` probability rows of length ``n_cols`` (float64), with exact zeros.

    Dirichlet(alpha) rows; each entry is then zeroed with probability ``zero_frac``, except
    where the boolean mask ``required`` (n_rows, n_cols) is True; a row left all-zero gets one
    random positive entry back. Finally each row is divided by its sum.
    """
    raw = rng.gamma(alpha, size=(n_rows, n_cols))
    # Gamma draws with small alpha can underflow to 0.0; give such entries a tiny positive value so
    # that the only exact zeros are the ones placed on purpose below.
    raw = np.where(raw > 0, raw, np.finfo(np.float64).tiny * 1e10)
    zero = rng.random((n_rows, n_cols)) < zero_frac
    if required is not None:
        zero &= ~np.asarray(required, dtype=bool)
    empty = zero.all(axis=1)
    if empty.any():
        keep = rng.integers(0, n_cols, size=n_rows)
        zero[np.flatnonzero(empty), keep[empty]] = False
    raw = np.where(zero, 0.0, raw)
    return raw / raw.sum(axis=1, keepdims=True)


@st.composite
def distributions(draw, n=None, *, sparse: bool = True):
    """A float64 probability vector of ``n`` entries (default: a drawn size 1–40)."""
    n = draw(_SIZES) if n is None else n
    alpha, zero_frac = draw(_SPARSE if sparse else _DENSE)
    seed = draw(_SEEDS)
    return simplex_rows(np.random.default_rng(seed), 1, n, alpha=alpha, zero_frac=zero_frac)[0]


@st.composite
def conditionals(draw, n_rows=None, n_cols=None, *, sparse: bool = True):
    """A float64 row-stochastic table (n_rows, n_cols) (default: drawn sizes 1–40)."""
    n_rows = draw(_SIZES) if n_rows is None else n_rows
    n_cols = draw(_SIZES) if n_cols is None else n_cols
    alpha, zero_frac = draw(_SPARSE if sparse else _DENSE)
    seed = draw(_SEEDS)
    return simplex_rows(
        np.random.default_rng(seed), n_rows, n_cols, alpha=alpha, zero_frac=zero_frac
    )


@st.composite
def models(draw, n_x=None, n_z=None, *, sparse: bool = True, support: str | None = None):
    """A whole model (:class:`ModelTables`) with matching sizes.

    ``support``: one of :data:`SUPPORT_RULES`, or None to let Hypothesis choose. With
    ``sparse=False`` every table is strictly positive (then D, R, E, G are all finite).
    """
    if support is not None and support not in SUPPORT_RULES:
        raise ValueError(f"support: {support!r} is not one of {SUPPORT_RULES}")
    n_x = draw(_SIZES) if n_x is None else n_x
    n_z = draw(_SIZES) if n_z is None else n_z
    support = draw(_SUPPORTS) if support is None else support
    alpha, zero_frac = draw(_SPARSE if sparse else _DENSE)
    seed = draw(_SEEDS)
    rng = np.random.default_rng(seed)
    px = simplex_rows(rng, 1, n_x, alpha=alpha, zero_frac=zero_frac)[0]
    enc = simplex_rows(rng, n_x, n_z, alpha=alpha, zero_frac=zero_frac)
    pe = px[:, None] * enc
    compatible = support == "compatible"
    dec = simplex_rows(
        rng, n_z, n_x, alpha=alpha, zero_frac=zero_frac, required=(pe.T > 0) if compatible else None
    )
    mar = simplex_rows(
        rng,
        1,
        n_z,
        alpha=alpha,
        zero_frac=zero_frac,
        required=(pe.sum(0) > 0)[None, :] if compatible else None,
    )[0]
    return ModelTables(px, enc, dec, mar)


@st.composite
def true_joints(draw, px, n_classes: int = 2):
    """A joint :math:`p(z^*, x)` ``(n_classes, n_x)`` whose column sums are ``px`` (to a few ulps).

    Built as :math:`p^*(x)` · :math:`p(z^*|x)` with a random (possibly sparse) class posterior.
    """
    post = draw(conditionals(len(px), n_classes))
    return (np.asarray(px)[:, None] * post).T
