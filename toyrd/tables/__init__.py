"""The tables layer: model families (parameters → e, d, m tables), the model file and JSON.

A :class:`Family` maps parameters to the three tables; :class:`Model` holds four float64 tables
(p*, e, d, m) as they are saved and loaded.
"""

from __future__ import annotations

from toyrd.tables._families import (  # noqa: F401
    BUMP,
    BUMPFREE,
    FAMILIES,
    FIGURE2_FAMILY,
    MAPS,
    MARGINALS,
    ONEHOT,
    READINGS,
    TABULAR,
    Family,
    TableMap,
    bin_coordinates,
    bump,
    bump_map,
    get_family,
    get_map,
    log_softmax,
    softmax,
    tabular,
)
from toyrd.tables._io import (  # noqa: F401
    Model,
    dumps,
    load_model,
    save_model,
)

__all__ = [
    "Family",
    "TableMap",
    "FAMILIES",
    "MAPS",
    "get_family",
    "get_map",
    "bump_map",
    "tabular",
    "bump",
    "softmax",
    "log_softmax",
    "bin_coordinates",
    "TABULAR",
    "BUMP",
    "ONEHOT",
    "BUMPFREE",
    "MARGINALS",
    "FIGURE2_FAMILY",
    "READINGS",
    "Model",
    "load_model",
    "save_model",
    "dumps",
]
