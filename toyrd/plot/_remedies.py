"""The remedies' drawing, read at a glance: two grids, one cell per remedy × family.

Top: how much of the true latent the runs keep — the median over seeds of I(z; z*) as a fraction
of the hand-built optimum's, with a tick where every seed recovers z* (the JSON's
``recovers_zstar``). Bottom: what it costs in likelihood — the median of −ELBO − H (nats, on a log
colour scale), with a tick where every seed fits the data (``fits_data``). The per-seed points are
in the JSON (``points``) and on the lesson of the remedies.
"""

from __future__ import annotations

import math

import numpy as np

from toyrd.experiments.remedies import RemediesResult, rows
from toyrd.plot._panels import new_figure, save_figure

__all__ = ["remedies_figure", "remedies_summary_figure"]

#: Font sizes (points): the figure is drawn 7 inches wide, the docs column's width.
_RC = {
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
}
#: Smallest likelihood cost shown on the log colour scale (nats): below it the cell is "0".
_GAP_FLOOR = 1e-6


def remedies_figure(result: RemediesResult, path, fmt: str = "png") -> str:
    """Draw the summary of ``result`` to ``path`` (byte-reproducible, see
    :func:`toyrd.plot.save_figure`)."""
    st = result.settings
    note = (
        f"{st.n_seeds} seeds per cell, {st.steps} steps + {st.warmup} warm-up, lr {st.lr}, "
        f"init scale {st.init_scale}"
    )
    return remedies_summary_figure(rows(result), result.optimal["I_zstar"], path, fmt, note=note)


def remedies_summary_figure(table, optimal_izstar: float, path, fmt: str = "png", note=""):
    """Draw the two grids from the rows of ``toyrd remedies --json`` (``rows``) to ``path``."""
    import matplotlib
    from matplotlib.colors import LogNorm

    families = list(dict.fromkeys(r["family"] for r in table))
    names = list(dict.fromkeys(r["remedy"] for r in table))
    cell = {(r["remedy"], r["family"]): r for r in table}
    shape = (len(names), len(families))
    frac = np.full(shape, np.nan)
    gap = np.full(shape, np.nan)
    for i, n in enumerate(names):
        for j, f in enumerate(families):
            r = cell.get((n, f))
            if r is not None:
                frac[i, j] = r["I_zstar"]["median"] / optimal_izstar
                gap[i, j] = r["elbo_gap"]["median"]
    with matplotlib.rc_context(_RC):
        height = 2.2 + 0.56 * len(names)
        fig = new_figure(figsize=(7.0, height), layout="constrained")
        top, bottom = fig.subplots(2, 1)
        im = top.imshow(frac, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        fig.colorbar(im, ax=top, label="I(z; z*) / optimum's", pad=0.02)
        shown = np.where(np.isfinite(gap), np.maximum(gap, _GAP_FLOOR), np.nan)
        im2 = bottom.imshow(
            shown,
            cmap="magma_r",
            norm=LogNorm(vmin=_GAP_FLOOR, vmax=max(1.0, float(np.nanmax(shown)))),
            aspect="auto",
        )
        fig.colorbar(im2, ax=bottom, label="−ELBO − H (nats)", pad=0.02)
        for ax, data, flag, fmt_cell in (
            (top, frac, "recovers_zstar", lambda v: f"{v:.2f}"),
            (bottom, gap, "fits_data", lambda v: "0" if abs(v) < _GAP_FLOOR else f"{v:.0e}"),
        ):
            for i, n in enumerate(names):
                for j, f in enumerate(families):
                    v = data[i, j]
                    if not math.isfinite(v):
                        ax.text(j, i, "n/a", ha="center", va="center", color="0.4")
                        continue
                    ok = cell[(n, f)][flag]
                    dark = (v < 0.6) if ax is top else (abs(v) > 3e-3)
                    ax.text(
                        j,
                        i,
                        ("✓ " if ok else "") + fmt_cell(v),
                        ha="center",
                        va="center",
                        color="white" if dark else "black",
                        fontweight="bold" if ok else "normal",
                    )
            ax.set_yticks(range(len(names)), names)
            ax.set_xticks(range(len(families)), families, rotation=20, ha="right")
        top.set_title("Knowledge of z* kept (median; ✓: every seed recovers z*)")
        bottom.set_title("Likelihood cost (median; ✓: every seed fits the data)")
        if note:
            fig.suptitle(f"toyrd remedies: {note}", fontsize=8.5)
    return save_figure(fig, path, fmt)
