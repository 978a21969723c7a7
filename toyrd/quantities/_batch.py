r"""Every exact quantity of a whole batch of models at once: ``evaluate_batch``.

The same quantities as :func:`toyrd.evaluate` (see [Concepts][concepts]), for B models that
share the data distribution :math:`p^*(x)`: encoders ``(B, n_x, n_z)``, decoders ``(B, n_z, n_x)``,
marginals ``(B, n_z)``. The result is a dict of ``(B,)`` float64 numpy arrays keyed like
``evaluate`` (``H``, ``D``, ``R``, ``ELBO``, ``I_e``, ``I_d``, ``E``, ``G``, ``U``, ``S``,
``kl_q_m``, ``kl_pstar_g``, ``kl_pstar_dbar``, and ``I_zstar`` when ``pzx`` is given), in nats.

Two backends share one per-model function, itself built only from :mod:`toyrd._formulas`:

``"jax"``
    ``jax.jit(jax.vmap(...))`` under ``jax.enable_x64(True)`` (float64; JAX is imported on first
    use, never by ``import toyrd``). The batch is padded up to the next power of two (repeating
    model 0, results sliced off) so that a sweep over many batch sizes compiles a handful of
    programs instead of one per B.
``"numpy"``
    A Python loop over the models with scipy's ``xlogy``: no compilation, the cheaper choice
    for a few models (see ``benchmarks/bench_eval.py`` for the crossover, :data:`NUMPY_MAX_B`).
``"auto"`` (default)
    JAX when its program for this padded size is already compiled in this process or the
    batch has at least :data:`NUMPY_MAX_B` models; numpy otherwise (and when JAX is not
    installed). So a one-off call never waits for a compilation that costs more than it saves.

Tables are validated once, at the boundary, with the rules of :mod:`toyrd._validate` (never
renormalised); a broken table is named with its batch index: ``encoders[3] row 7: sums to ...``.

Example — the identity :math:`R = I_e + \mathrm{KL}(q \Vert m)` holds row by row:

>>> import numpy as np, toyrd
>>> from toyrd.quantities import evaluate_batch
>>> rng = np.random.default_rng(0)
>>> def stack(*shape):
...     t = rng.random(shape)
...     return t / t.sum(-1, keepdims=True)
>>> px = np.full(4, 0.25)
>>> out = evaluate_batch(px, stack(5, 4, 3), stack(5, 3, 4), stack(5, 3), backend="numpy")
>>> out["R"].shape, bool(np.allclose(out["R"], out["I_e"] + out["kl_q_m"], rtol=0, atol=1e-12))
((5,), True)
"""

from __future__ import annotations

import functools

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import SUM_TOL, as_conditional, as_distribution, read_real_array
from toyrd.errors import TableError, ToyrdError
from toyrd.quantities._evaluate import check_true_joint

__all__ = [
    "evaluate_batch",
    "batch_program",
    "padded_size",
    "unvalidated_quantities",
    "NUMPY_MAX_B",
    "BACKENDS",
    "CHUNK",
]

#: Under ``backend="auto"``, batches below this many models go to the numpy loop unless the JAX
#: program for their padded size is already compiled in this process. Measured by
#: ``python -m benchmarks --only eval`` (30×30 models, 2-core CPU): once compiled, JAX is faster
#: from B ≈ 8, but its first call at a new padded size spends 1.5–3 s compiling, while the loop
#: costs 0.2–0.4 ms per model; compilation only pays off for a one-off call above a few
#: thousand models.
NUMPY_MAX_B = 4096

BACKENDS = ("auto", "jax", "numpy")


def unvalidated_quantities(px, enc, dec, mar, ref, pzx):
    """Every quantity of one model from the shared formulas (numpy or jax.numpy arrays), with
    no validation: the arithmetic that :func:`toyrd.evaluate` wraps."""
    return F.quantities(px, enc, dec, mar, ref, pzx)


# ----------------------------------------------------------------------------- validation


def _as_stack(name: str, value, ndim: int) -> np.ndarray:
    """A float64 stack of probability vectors (ndim 2) or row-stochastic tables (ndim 3)."""
    arr = read_real_array(name, value)
    if arr.ndim != ndim:
        want = "a stack of vectors (B, n)" if ndim == 2 else "a stack of tables (B, rows, cols)"
        raise TableError(
            f"{name}: expected {want} (rank {ndim}), got rank {arr.ndim} with shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise TableError(f"{name}: the batch is empty (shape {arr.shape})")
    arr = arr.astype(np.float64)
    axes = tuple(range(1, ndim))
    with np.errstate(invalid="ignore"):
        off = np.abs(arr.sum(-1) - 1.0) > SUM_TOL
        bad = (~np.isfinite(arr) | (arr < 0)).any(axis=axes)
        bad |= off.any(axis=tuple(range(1, ndim - 1))) if ndim == 3 else off
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        check = as_distribution if ndim == 2 else as_conditional
        check(f"{name}[{b}]", arr[b])  # raises, naming the entry or row and the rule
        raise TableError(f"{name}[{b}]: not a valid probability table")  # pragma: no cover
    return arr


def _check_batch(px, encoders, decoders, marginals, pzx, r):
    px = as_distribution("px", px)
    enc = _as_stack("encoders", encoders, 3)
    dec = _as_stack("decoders", decoders, 3)
    mar = _as_stack("marginals", marginals, 2)
    b, n_x, n_z = enc.shape
    if n_x != px.shape[0]:
        raise TableError(
            f"encoders: have {n_x} rows (data states) but px has {px.shape[0]} entries"
        )
    if dec.shape != (b, n_z, n_x):
        raise TableError(
            f"decoders: shape {dec.shape}, expected (B, n_z, n_x) = {(b, n_z, n_x)} "
            "to match the encoders"
        )
    if mar.shape != (b, n_z):
        raise TableError(
            f"marginals: shape {mar.shape}, expected (B, n_z) = {(b, n_z)} to match the encoders"
        )
    ref = px if r is None else as_distribution("r", r)
    if ref.shape != px.shape:
        raise TableError(f"r: has {ref.shape[0]} entries, expected n_x = {px.shape[0]}")
    joint = None if pzx is None else check_true_joint(pzx, px)
    return px, enc, dec, mar, ref, joint


# ----------------------------------------------------------------------------- backends


def _numpy_batch(px, enc, dec, mar, ref, joint) -> dict:
    rows = [
        unvalidated_quantities(px, enc[i], dec[i], mar[i], ref, joint) for i in range(enc.shape[0])
    ]
    return {k: np.array([row[k] for row in rows], dtype=np.float64) for k in rows[0]}


#: Models per vmapped block inside the compiled program: larger batches run as a ``lax.map``
#: over blocks of this size, which keeps the intermediates cache-resident (measured: CPU time per
#: model halves at B = 4096 against one 4096-wide vmap).
CHUNK = 256


@functools.cache
def batch_program(with_pzx: bool):
    """The jitted batch evaluator ``program(px, enc, dec, mar, ref, joint) -> {name: (B,)}``
    behind ``evaluate_batch(backend="jax")`` (no validation; B a power of two)."""
    import jax

    def one(px, e, d, m, ref, joint):
        return unvalidated_quantities(px, e, d, m, ref, joint if with_pzx else None)

    block = jax.vmap(one, in_axes=(None, 0, 0, 0, None, None))

    def program(px, enc, dec, mar, ref, joint):
        b = enc.shape[0]  # static: a power of two, so divisible by CHUNK when larger
        if b <= CHUNK:
            return block(px, enc, dec, mar, ref, joint)
        split = [a.reshape(b // CHUNK, CHUNK, *a.shape[1:]) for a in (enc, dec, mar)]
        out = jax.lax.map(lambda t: block(px, *t, ref, joint), tuple(split))
        return {k: v.reshape(b) for k, v in out.items()}

    return jax.jit(program)


#: (padded B, n_x, n_z, with pzx) of every program compiled so far in this process.
_COMPILED: set = set()


def padded_size(b: int) -> int:
    r"""The next power of two :math:`\ge b` (at least 8): the compiled batch sizes."""
    return max(8, 1 << (b - 1).bit_length())


def _jax_batch(px, enc, dec, mar, ref, joint) -> dict:
    import jax

    b = enc.shape[0]
    pad = padded_size(b) - b
    if pad:
        enc, dec, mar = (
            np.concatenate([a, np.repeat(a[:1], pad, axis=0)]) for a in (enc, dec, mar)
        )
    _COMPILED.add((b + pad, enc.shape[1], enc.shape[2], joint is not None))
    program = batch_program(joint is not None)
    if joint is None:
        joint = np.zeros((1, px.shape[0]))  # unused placeholder, keeps one signature
    with jax.enable_x64(True):  # the float64 numpy arrays enter jit as float64
        out = jax.block_until_ready(program(px, enc, dec, mar, ref, joint))
    return {k: np.asarray(v, dtype=np.float64)[:b] for k, v in out.items()}


def _have_jax() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def evaluate_batch(
    px, encoders, decoders, marginals, pzx=None, *, r=None, backend: str = "auto"
) -> dict:
    r"""Every exact quantity of B models at once, as a dict of ``(B,)`` float64 arrays (nats).

    Args:
        px: ``(n_x,)`` :math:`p^*(x)`, shared by every model.
        encoders: ``(B, n_x, n_z)`` :math:`e(z|x)`, one encoder per model.
        decoders: ``(B, n_z, n_x)`` :math:`d(x|z)`.
        marginals: ``(B, n_z)`` :math:`m(z)`.
        pzx: optional ``(|z*|, n_x)`` joint :math:`p(z^*, x)` whose x-marginal is ``px``;
            adds ``I_zstar``.
        r: reference density for G, U, S (default p*, as in :func:`toyrd.evaluate`).
        backend: "auto", "jax" or "numpy" (see the module docstring).

    Row b of the result equals ``toyrd.evaluate(px, encoders[b], decoders[b], marginals[b])``
    to float64 rounding (~1e-13), including +inf for D or R where a needed log 0 occurs.
    """
    if backend not in BACKENDS:
        raise ToyrdError(f"backend: {backend!r} is not one of {list(BACKENDS)}")
    tables = _check_batch(px, encoders, decoders, marginals, pzx, r)
    b = tables[1].shape[0]
    if backend == "auto":
        key = (padded_size(b), *tables[1].shape[1:], pzx is not None)
        big = b >= NUMPY_MAX_B or key in _COMPILED
        backend = "jax" if big and _have_jax() else "numpy"
    if backend == "jax":
        return _jax_batch(*tables)
    return _numpy_batch(*tables)
