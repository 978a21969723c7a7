"""One array-namespace dispatch for numpy, jax.numpy and torch arrays, cached by type.

The formulas (:mod:`toyrd._formulas`) and the families call these few primitives; nothing else
in toyrd looks at the type of an array.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["backend", "xlogy", "log", "softmax", "log_softmax"]


@functools.cache
def _backend_of(tp: type) -> str:
    root = tp.__module__.split(".")[0]
    if root in ("jax", "jaxlib"):
        return "jax"
    if root == "torch":
        return "torch"
    return "numpy"


def backend(a) -> str:
    """ "numpy", "jax" or "torch": the library the array ``a`` belongs to (numpy for scalars)."""
    return _backend_of(type(a))


@functools.cache
def _xlogy(name: str):
    if name == "jax":
        from jax.scipy.special import xlogy as f
    elif name == "torch":
        from torch import xlogy as f
    else:
        from scipy.special import xlogy as f
    return f


def xlogy(a, b):
    """``a * log(b)`` with ``0 * log(anything) = 0`` (the one home of that convention)."""
    return _xlogy(backend(a))(a, b)


def log(a):
    """Elementwise natural log; log 0 = −inf without a numpy warning."""
    name = backend(a)
    if name == "jax":
        import jax.numpy as jnp

        return jnp.log(a)
    if name == "torch":
        return a.log()
    with np.errstate(divide="ignore"):
        return np.log(a)


@functools.cache
def _normaliser(name: str, kind: str):
    if name == "jax":
        import jax

        fn = getattr(jax.nn, kind)
        return lambda x, axis: fn(x, axis=axis)
    if name == "torch":
        return lambda x, axis: getattr(x, kind)(dim=axis)
    import scipy.special

    fn = getattr(scipy.special, kind)
    return lambda x, axis: fn(x, axis=axis)


def softmax(logits, axis: int = -1):
    """Numerically stable softmax along ``axis`` for numpy, jax.numpy and torch arrays."""
    return _normaliser(backend(logits), "softmax")(logits, axis)


def log_softmax(logits, axis: int = -1):
    """log softmax (logits − max − log Σ exp(logits − max)) along ``axis``.

    Finite wherever the logits are: exp(log_softmax) = softmax, but a log-probability of −800
    stays −800 where the softmax entry is an exact 0.
    """
    return _normaliser(backend(logits), "log_softmax")(logits, axis)
