"""The remedies' drawing: per family, every run on the RD plane and on the I(z;z*)-vs-R plane
against the information-bottleneck frontier (two rows of panels, one column per family)."""

from __future__ import annotations

import math

import numpy as np

from toyrd.experiments.rdplane import feasible_boundary
from toyrd.experiments.remedies import RECOVER_FRACTION, RemediesResult
from toyrd.plot._panels import new_figure, save_figure

__all__ = ["remedies_figure"]

_MARKERS = "osD^v<>pPX*h"


def remedies_figure(result: RemediesResult, path, fmt: str = "png") -> str:
    """Draw the 2 × (number of families) panels to ``path`` (byte-reproducible for identical
    inputs, see :func:`toyrd.plot.save_figure`)."""
    H, info = result.toy.entropy, result.toy.info
    pts = [p for p in result.points if math.isfinite(p["R"])]
    r_max = max([H * 1.1] + [p["R"] * 1.05 for p in pts])
    n = len(result.families)
    fig = new_figure(figsize=(3.6 * n + 1.8, 7.0))
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    rb, db = feasible_boundary(H, r_max)
    thr = RECOVER_FRACTION * result.optimal["I_zstar"]
    o = result.optimal
    for col, fam in enumerate(result.families):
        top, bottom = axes[0, col], axes[1, col]
        top.fill_between(rb, 0, db, color="0.88", label="infeasible: D < H − R")
        top.plot(rb, db, color="k", lw=1.0, label="D = H − R (optimal m, d)")
        x, y = result.ib["I_xz"], result.ib["I_zy"]
        bottom.plot(
            np.append(x, r_max), np.append(y, y[-1]), color="k", lw=1.2, label="IB frontier"
        )
        bottom.axhline(info, color="k", lw=0.8, ls=":", label=f"I(x;z*) = {info:.2f}")
        bottom.axhline(
            thr,
            color="C3",
            lw=0.8,
            ls="--",
            label=f"recovers z*: {RECOVER_FRACTION:g} × {o['I_zstar']:.3f}",
        )
        for i, rem in enumerate(result.remedies):
            sub = [p for p in pts if p["family"] == fam and p["remedy"] == rem.name]
            style = {
                "marker": _MARKERS[i % len(_MARKERS)],
                "ls": "none",
                "ms": 4.5,
                "mfc": "none",
                "mew": 1.0,
                "color": f"C{i % 10}",
                "alpha": 0.8,
                "label": rem.name,
            }
            top.plot([p["R"] for p in sub], [p["D"] for p in sub], **style)
            bottom.plot([p["R"] for p in sub], [p["I_zstar"] for p in sub], **style)
        for ax, yv in ((top, o["D"]), (bottom, o["I_zstar"])):
            ax.plot([o["R"]], [yv], "*", ms=11, color="C3", label="hand-built optimum")
        top.set(
            xlim=(-0.05, r_max),
            ylim=(-0.05, H * 1.15),
            xlabel="rate R (nats)",
            ylabel="distortion D (nats)",
            title=f"{fam}: RD plane",
        )
        bottom.set(
            xlim=(-0.05, r_max),
            ylim=(-0.02, info * 1.25),
            xlabel="rate R (nats)",
            ylabel="I(z; z*) (nats)",
            title=f"{fam}: knowledge of z*",
        )
        for ax in (top, bottom):
            ax.tick_params(labelsize=7)
    handles, labels = axes[1, 0].get_legend_handles_labels()
    h0, l0 = axes[0, 0].get_legend_handles_labels()
    seen = {}
    for h, lab in zip(h0[:2] + handles, l0[:2] + labels):
        seen.setdefault(lab, h)
    fig.legend(
        list(seen.values()), list(seen.keys()), loc="center right", fontsize=7, frameon=False
    )
    st = result.settings
    fig.suptitle(
        f"toyrd remedies: H = {H:.4f} nats; {st.n_seeds} seeds per remedy, {st.steps} "
        f"steps + {st.warmup} warm-up, lr {st.lr}, init scale {st.init_scale}",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1 - 1.7 / (3.6 * n + 1.8), 0.97))
    return save_figure(fig, path, fmt)
