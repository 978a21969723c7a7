"""Training objectives of the rate–distortion view (paper Section 4), as pure functions.

Every objective is a function of the pair (R, D) computed by the one shared formula
:func:`toyrd._formulas.rate_distortion`, so it works unchanged on numpy, jax.numpy and torch
values (only arithmetic and ``abs`` are used). All are *minimised*; nats.

========== ===================== ===========================================
kind       loss                  hyperparameter (``value``)
========== ===================== ===========================================
elbo       D + R                 none (``value`` is ignored, stored as None)
beta       D + β R               β ≥ 0 (β = 1 is the ELBO)
rda        R + λ D               λ ≥ 0 (λ = 1 is the ELBO)
target_rate D + |σ − R|          σ ≥ 0, the target rate in nats
========== ===================== ===========================================

The *kind* is static configuration (it chooses the code path); the value may be a traced array
so that the JAX trainer can ``vmap`` over a grid of β, λ or σ.

Identity (example): on the optimal-m, optimal-d manifold R + D = H, the ELBO loss is H for every
encoder, and β-VAE's loss is H + (β − 1) R:

>>> from toyrd.objectives import loss_from_rd
>>> loss_from_rd("beta", 0.5, 2.5, 2.0) == 3.0 + (2.0 - 1.0) * 0.5
True
"""

from __future__ import annotations

from typing import NamedTuple

from toyrd import _formulas as F
from toyrd.errors import ToyrdError

__all__ = [
    "Objective",
    "KINDS",
    "HYPER_NAMES",
    "check_kind",
    "check_hyper",
    "loss_from_rd",
    "objective_loss",
    "make_objective",
]

#: The objective kinds, in display order.
KINDS = ("elbo", "beta", "rda", "target_rate")
#: The name of each kind's hyperparameter (None: the kind has none).
HYPER_NAMES = {"elbo": None, "beta": "beta", "rda": "lambda", "target_rate": "sigma"}
#: The default hyperparameter (None: must be given).
_DEFAULTS = {"elbo": None, "beta": 1.0, "rda": 1.0, "target_rate": None}


class Objective(NamedTuple):
    """A static objective spec: ``kind`` (one of :data:`KINDS`) and its hyperparameter ``value``.

    ``Objective("beta", 0.5)`` is D + 0.5 R. Build validated ones with :func:`make_objective`.
    """

    kind: str
    value: float | None = None

    def __call__(self, rate, distortion):
        """The loss of this objective at (R, D)."""
        return loss_from_rd(self.kind, rate, distortion, self.value)


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known objective, else raise :class:`ToyrdError`."""
    if kind not in KINDS:
        raise ToyrdError(f"objective: {kind!r} is not one of {list(KINDS)}")
    return kind


def check_hyper(kind: str, value):
    """Validate (kind, value) at the boundary; returns the value as float (None for elbo).

    Rules: ``elbo`` takes no value (a given one is ignored); ``beta``/``rda`` default to 1;
    ``target_rate`` needs σ; every value is a finite number ≥ 0.
    """
    import math

    check_kind(kind)
    if kind == "elbo":
        return None
    if value is None:
        value = _DEFAULTS[kind]
        if value is None:
            raise ToyrdError(f"objective {kind}: needs its hyperparameter {HYPER_NAMES[kind]}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ToyrdError(
            f"objective {kind}: {HYPER_NAMES[kind]} = {value!r} is not a number"
        ) from None
    if not math.isfinite(v) or v < 0:
        raise ToyrdError(f"objective {kind}: {HYPER_NAMES[kind]} = {v!r} must be finite and >= 0")
    return v


def make_objective(kind: str, value=None) -> Objective:
    """A validated :class:`Objective` (see :func:`check_hyper` for the rules)."""
    return Objective(kind, check_hyper(kind, value))


def loss_from_rd(kind: str, rate, distortion, value=None):
    """The loss of objective ``kind`` at (R, D) with hyperparameter ``value`` (any array type).

    elbo: D + R;  beta: D + β R;  rda: R + λ D;  target_rate: D + |σ − R|.
    No validation here (it runs inside ``jit``); use :func:`check_hyper` at the boundary.
    """
    if kind == "elbo":
        return distortion + rate
    if kind == "beta":
        return distortion + value * rate
    if kind == "rda":
        return rate + value * distortion
    if kind == "target_rate":
        return distortion + abs(value - rate)
    raise ToyrdError(f"objective: {kind!r} is not one of {list(KINDS)}")


def objective_loss(kind: str, px, encoder, decoder, marginal, value=None):
    """(loss, R, D) of objective ``kind`` for the tables, via
    :func:`toyrd._formulas.rate_distortion`.

    Shapes: px ``(n_x,)``, encoder ``(n_x, n_z)``, decoder ``(n_z, n_x)``, marginal ``(n_z,)``; any
    array type.
    """
    r, d = F.rate_distortion(px, encoder, decoder, marginal)
    return loss_from_rd(kind, r, d, value), r, d
