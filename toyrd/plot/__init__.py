"""The plot layer: every matplotlib figure of toyrd (needs the ``plot`` extra), and the tables the
lessons show (:class:`Table`, :func:`show`).

Drawing only: the numbers come from :mod:`toyrd.experiments` and :mod:`toyrd.quantities`.
"""

from __future__ import annotations

from toyrd.plot._figure2 import figure2_figure  # noqa: F401
from toyrd.plot._panels import (  # noqa: F401
    CLASS_COLORS,
    FORMATS,
    PanelData,
    latent_order,
    new_figure,
    panel_data,
    plot_columns,
    save_figure,
    smallest_font_pt,
)
from toyrd.plot._rdplane import rdplane_figure  # noqa: F401
from toyrd.plot._remedies import remedies_figure, remedies_summary_figure  # noqa: F401
from toyrd.plot._table import Table, show  # noqa: F401

__all__ = [
    "figure2_figure",
    "rdplane_figure",
    "remedies_figure",
    "remedies_summary_figure",
    "PanelData",
    "new_figure",
    "panel_data",
    "latent_order",
    "plot_columns",
    "save_figure",
    "smallest_font_pt",
    "FORMATS",
    "CLASS_COLORS",
    "Table",
    "show",
]
