"""The data layer: the paper's toy (two classes, 30 bins) and other binned mixtures."""

from __future__ import annotations

from toyrd.data._toy import (  # noqa: F401
    INFO_TOL,
    ToyData,
    binned_mixture,
    toy_data,
)

__all__ = [
    "ToyData",
    "toy_data",
    "binned_mixture",
    "INFO_TOL",
]
