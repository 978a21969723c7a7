"""One array-namespace dispatch for numpy, jax.numpy and torch arrays, cached by type.

The formulas (:mod:`toyrd._formulas`) and the families call these few primitives; nothing else
in toyrd looks at the type of an array.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "backend",
    "xlogy",
    "log",
    "softmax",
    "log_softmax",
    "jit",
    "compiler_options",
    "CPU_COMPILER_OPTIONS",
]


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
    r"""log softmax :math:`\ell - \max \ell - \log \sum \exp(\ell - \max \ell)` of the logits
    :math:`\ell` along ``axis``.

    Finite wherever the logits are: exp(log_softmax) = softmax, but a log-probability of −800
    stays −800 where the softmax entry is an exact 0.
    """
    return _normaliser(backend(logits), "log_softmax")(logits, axis)


#: XLA:CPU compiler options of toyrd's compiled programs: YNNPACK fusions for dots only, so that
#: XLA emits the reductions and elementwise loops itself. Measured on the 2-core AMD EPYC
#: (docs/benchmarks.md §2a, one thread, B = 64): toyrd's mixed-precision run 1.3× faster (one
#: YNN reduce fusion alone took a fifth of a float32 step). Not general advice: the plain JAX
#: loop of the same benchmark is about 10 % slower with it.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"}


@functools.cache
def compiler_options() -> tuple:
    """The options :func:`jit` passes, as sorted (name, value) pairs: :data:`CPU_COMPILER_OPTIONS`
    when JAX runs on the CPU and its XLA accepts them (checked once per process by compiling a
    one-op program), else none (GPU, or a JAX whose XLA dropped the experimental option)."""
    import jax

    if jax.default_backend() != "cpu":
        return ()
    try:
        jax.jit(lambda x: x + 1, compiler_options=CPU_COMPILER_OPTIONS).lower(0.0).compile()
    except Exception:  # jax.errors.JaxRuntimeError: INVALID_ARGUMENT, an unknown option
        return ()
    return tuple(sorted(CPU_COMPILER_OPTIONS.items()))


class _Tuned:
    """A jitted function compiled with :func:`compiler_options` at top level; called on tracers
    (inside the caller's own ``jax.jit``, where JAX refuses nested compiler options) it runs as a
    plain ``jax.jit``. Attributes (``lower``, ``__wrapped__``, …) are the tuned function's."""

    def __init__(self, fn, options: dict, kwargs: dict):
        import jax

        self._tuned = jax.jit(fn, compiler_options=options, **kwargs)
        self._plain = jax.jit(fn, **kwargs)
        self._tracer = jax.core.Tracer

    def __call__(self, *args, **kwargs):
        import jax

        traced = any(isinstance(x, self._tracer) for x in jax.tree.leaves((args, kwargs)))
        return (self._plain if traced else self._tuned)(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._tuned, name)


def jit(fn, **kwargs):
    """``jax.jit(fn, **kwargs)`` with toyrd's :func:`compiler_options` (when there are any)."""
    import jax

    options = dict(compiler_options())
    return _Tuned(fn, options, kwargs) if options else jax.jit(fn, **kwargs)
