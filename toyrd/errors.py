"""The one exception family of toyrd: every error raised on bad input is a :class:`ToyrdError`."""

from __future__ import annotations

__all__ = ["ToyrdError", "TableError", "DivergenceError"]


class ToyrdError(ValueError):
    """Base class of every error toyrd raises on bad input."""


class TableError(ToyrdError):
    """A probability vector or table breaks a rule (shape, sign, finiteness, normalisation)."""


class DivergenceError(ToyrdError):
    """A training run went non-finite: the message names the row, the step and what to change."""
