"""Boundary validation: one exception family, messages that name the table, the row and the rule.

Tables are checked once, when they enter a public function, and converted to float64 numpy
arrays. Nothing is ever renormalised unless the caller asks for it with ``normalize=True``.
"""

from __future__ import annotations

import functools

import numpy as np

from toyrd.errors import TableError, ToyrdError

__all__ = [
    "SUM_TOL",
    "check_int",
    "read_real_array",
    "check_generative",
    "as_distribution",
    "as_conditional",
    "as_joint",
    "check_model",
    "sums_match",
]

#: How far a probability vector or table row may sum from 1. float64 rounding of a sum of
#: n <= 10^4 terms is below n * 2.2e-16 ~ 2e-12, so 1e-10 never rejects a table computed in
#: float64, while a float32 round-trip (~1e-7) or a real mistake is caught.
SUM_TOL = 1e-10

#: The fast path of the checks (:func:`_valid_float64`) accepts sums within half of SUM_TOL —
#: far from the rule's edge, where rounding of the sum or of its square could decide — and
#: leaves everything else to the full check, which applies SUM_TOL itself.
_FAST_TOL = 0.5 * SUM_TOL


def check_int(name: str, value, minimum: int) -> int:
    """``value`` if it is an integer >= ``minimum``, else :class:`ToyrdError` naming the setting."""
    if not (
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum
    ):
        raise ToyrdError(f"{name}: {value!r}, expected an integer >= {minimum}")
    return int(value)


def read_real_array(name: str, value) -> np.ndarray:
    """``value`` as a numpy array of a real (float or integer) dtype, or :class:`TableError`.

    A masked array is refused (reading it as an array would silently drop its mask); other
    ndarray subclasses (``np.matrix``, memmaps, …) are read as the plain array of their values.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TableError(
            f"{name}: is a masked array; toyrd does not read masks (pass "
            f"np.ma.filled(...) or a plain array of the values you mean)"
        )
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TableError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TableError(f"{name}: dtype {arr.dtype} is not a real number type")
    return arr


def _as_float_array(name: str, value, ndim: int) -> np.ndarray:
    arr = read_real_array(name, value)
    if arr.ndim != ndim:
        want = "a vector (rank 1)" if ndim == 1 else "a table (rank 2)"
        raise TableError(f"{name}: expected {want}, got rank {arr.ndim} with shape {arr.shape}")
    if arr.size == 0:
        raise TableError(f"{name}: is empty (shape {arr.shape})")
    arr = arr.astype(np.float64)
    if arr.min() >= 0.0 and arr.max() < np.inf:  # one min and one max: the common, valid case
        return arr
    bad = ~np.isfinite(arr)  # otherwise name the first bad entry
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise TableError(
            f"{name}: entry {idx if ndim > 1 else idx[0]} is {arr[idx]}, entries must be finite"
        )
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise TableError(
            f"{name}: entry {idx if ndim > 1 else idx[0]} is {arr[idx]:.6g}, "
            "probabilities must be >= 0"
        )
    return arr


def _valid_float64(value, ndim: int, *, rows: bool):
    """The common case in one vectorised pass per rule: ``value`` is already a float64 ndarray of
    rank ``ndim`` with every entry >= 0 (a NaN fails the min) and every sum (each row's, with
    ``rows``, else the total) within SUM_TOL of 1 (an inf fails the sum). Returns a copy, or None
    whenever a rule might be broken: the full check then finds the entry and names it.

    The fast test is stricter than the rule: ‖sums − 1‖₂ <= SUM_TOL / 2 for rows, |sum − 1| <=
    SUM_TOL / 2 for the total. A table that the rule accepts but the fast test does not falls
    through to the full check and passes there.
    """
    if type(value) is not np.ndarray or value.dtype != np.float64 or value.ndim != ndim:
        return None
    if not value.size or not value.min() >= 0.0:
        return None
    if rows:
        ok = sums_match(value @ _ones(value.shape[1]), 1.0)  # row sums: one matrix-vector product
    else:
        ok = abs(value.sum() - 1.0) <= _FAST_TOL
    return value.copy() if ok else None


def sums_match(sums, target) -> bool:
    """The fast accept of a sum rule: ‖sums − target‖₂ <= SUM_TOL / 2, which implies every
    |sums_i − target_i| <= SUM_TOL. False means "check entry by entry", not "broken"."""
    dev = sums - target
    return bool(dev @ dev <= _FAST_TOL * _FAST_TOL)


@functools.lru_cache(maxsize=16)
def _ones(n: int) -> np.ndarray:
    """A read-only vector of n ones (cached: the row sums of the fast path)."""
    out = np.ones(n)
    out.flags.writeable = False
    return out


def _summing_to_one(name: str, value, ndim: int, *, normalize: bool) -> np.ndarray:
    """A float64 array of rank ``ndim`` whose entries, all together, sum to 1."""
    if not normalize and (fast := _valid_float64(value, ndim, rows=False)) is not None:
        return fast
    arr = _as_float_array(name, value, ndim)
    what = "vector" if ndim == 1 else "table"
    total = arr.sum()
    if normalize:
        if total <= 0:
            raise TableError(f"{name}: sums to {total:.6g}; cannot normalize a zero {what}")
        return arr / total
    if abs(total - 1.0) > SUM_TOL:
        sums = "sums" if ndim == 1 else "entries sum"
        raise TableError(f"{name}: {sums} to {total:.15g}, expected 1 ± {SUM_TOL:g}")
    return arr


def as_distribution(name: str, value, *, normalize: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 probability vector, or raise :class:`TableError`."""
    return _summing_to_one(name, value, 1, normalize=normalize)


def as_conditional(name: str, value, *, normalize: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 row-stochastic table, or raise :class:`TableError`."""
    if not normalize and (fast := _valid_float64(value, 2, rows=True)) is not None:
        return fast
    arr = _as_float_array(name, value, 2)
    sums = arr.sum(axis=1)
    if normalize:
        zero = np.flatnonzero(sums <= 0)
        if zero.size:
            raise TableError(f"{name} row {zero[0]}: sums to 0; cannot normalize a zero row")
        return arr / sums[:, None]
    dev = np.abs(sums - 1.0)
    if not dev.max() <= SUM_TOL:
        i = int(np.flatnonzero(~(dev <= SUM_TOL))[0])
        raise TableError(f"{name} row {i}: sums to {sums[i]:.15g}, expected 1 ± {SUM_TOL:g}")
    return arr


def as_joint(name: str, value, *, normalize: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 rank-2 joint table (all entries sum to 1), or raise.

    Like :func:`as_distribution` but bad entries are reported by (row, column).
    """
    return _summing_to_one(name, value, 2, normalize=normalize)


def _valid_model(px, enc, dec, mar):
    """:func:`_valid_float64` of the four tables of a model in one pass per rule: each is stacked
    as a row (p* under the decoder, m under the encoder: their lengths are n_x and n_z), so one
    ``min`` and one matrix-vector product check them all. Returns copies (views of one new
    array), or None whenever a rule or a size might be broken (the full check then names it).
    The stacked test ‖sums − 1‖₂ <= SUM_TOL / 2 over all rows is stricter than each table's."""
    nd, f64 = np.ndarray, np.float64
    if not (type(px) is nd and type(enc) is nd and type(dec) is nd and type(mar) is nd):
        return None
    if not (px.dtype == f64 and enc.dtype == f64 and dec.dtype == f64 and mar.dtype == f64):
        return None
    if px.ndim != 1 or enc.ndim != 2 or dec.ndim != 2 or mar.ndim != 1 or not px.size:
        return None
    n_x, n_z = enc.shape
    if px.shape[0] != n_x or dec.shape != (n_z, n_x) or mar.shape[0] != n_z or not n_z:
        return None
    # m is a row under the encoder (length n_z), p* one under the decoder (n_x): one stack for
    # all four when n_x = n_z (the toy), else two
    top, bottom = (enc, mar[None]), (dec, px[None])
    stacks = (
        [np.concatenate(top + bottom)]
        if n_x == n_z
        else [np.concatenate(top), np.concatenate(bottom)]
    )
    ok = all(a.min() >= 0.0 and sums_match(a @ _ones(a.shape[1]), 1.0) for a in stacks)
    e, m, d, p = stacks[0][:n_x], stacks[0][n_x], stacks[-1][-n_z - 1 : -1], stacks[-1][-1]
    return (p, e, d, m) if ok else None


def check_model(px, encoder, decoder=None, marginal=None, *, normalize: bool = False):
    """Validate p*(x), e(z|x), d(x|z), m(z) together: each alone, then their sizes against each
    other.

    ``decoder`` and ``marginal`` may be ``None`` for functions that need only the encoder.
    Returns float64 arrays in the same order.
    """
    if not normalize and decoder is not None and marginal is not None:
        fast = _valid_model(px, encoder, decoder, marginal)
        if fast is not None:  # the common case: four clean tables of matching sizes
            return fast
    px = as_distribution("px", px, normalize=normalize)
    enc = as_conditional("encoder", encoder, normalize=normalize)
    n_x, n_z = enc.shape
    if px.shape[0] != n_x:
        raise TableError(f"encoder: has {n_x} rows (data states) but px has {px.shape[0]} entries")
    dec = mar = None
    if decoder is not None:
        dec = as_conditional("decoder", decoder, normalize=normalize)
        if dec.shape != (n_z, n_x):
            raise TableError(
                f"decoder: shape {dec.shape}, expected (n_z, n_x) = {(n_z, n_x)} "
                "to match the encoder"
            )
    if marginal is not None:
        mar = as_distribution("marginal", marginal, normalize=normalize)
        if mar.shape[0] != n_z:
            raise TableError(
                f"marginal: has {mar.shape[0]} entries, expected n_z = {n_z} to match the encoder"
            )
    return px, enc, dec, mar


def check_generative(decoder, marginal):
    """(d, m) as float64 tables: the decoder row-stochastic, the marginal a distribution of the
    same n_z; :class:`TableError` naming the table otherwise."""
    d = as_conditional("decoder", decoder)
    m = as_distribution("marginal", marginal)
    if d.shape[0] != m.shape[0]:
        raise TableError(
            f"marginal: has {m.shape[0]} entries, expected n_z = {d.shape[0]} to match the decoder"
        )
    return d, m
