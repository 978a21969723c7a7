"""The rate–distortion plane's drawing: D vs R, −ELBO vs R, I(z;z*) vs R with the IB frontier."""

from __future__ import annotations

import math

import numpy as np

from toyrd.experiments.rdplane import RDPlaneResult, feasible_boundary
from toyrd.plot._panels import new_figure, save_figure

__all__ = ["rdplane_figure"]

_FAMILY_COLORS = {"tabular": "C0", "bump": "C1"}


#: Font sizes (points): the figure is drawn 7 inches wide, the docs column's width.
_RC = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8.5,
}


def rdplane_figure(result: RDPlaneResult, path, fmt: str = "png") -> str:
    """Draw the three panels to ``path`` (byte-reproducible, see :func:`toyrd.plot.save_figure`)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _draw(result)
    return save_figure(fig, path, fmt)


def _draw(result: RDPlaneResult):
    H, info = result.toy.entropy, result.toy.info
    pts = [p for p in result.points if math.isfinite(p["R"])]
    r_max = max([H * 1.15] + [p["R"] * 1.05 for p in pts])
    fig = new_figure(figsize=(7.0, 5.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    # panel 1: D vs R
    rb, db = feasible_boundary(H, r_max)
    ax1.fill_between(rb, 0, db, color="0.85", label="infeasible: D < H − R")
    ax1.plot(rb, db, color="k", lw=1.0, label="D = H − R (optimal m, d)")
    # panel 2: -ELBO vs R
    rr = np.array([0.0, H, r_max])
    ax2.fill_between(rr, 0, np.maximum(H, rr), color="0.85", label="infeasible: R + D < max(H, R)")
    ax2.plot(rr, np.maximum(H, rr), color="k", lw=1.0, label="−ELBO = H (ELBO optima)")
    # panel 3: I(z;z*) vs R
    ax3.axhline(info, color="k", lw=1.0, ls=":", label=f"I(x;z*) = {info:.2f}")
    if result.ib is not None:
        x, y = result.ib["I_xz"], result.ib["I_zy"]
        ax3.plot(
            np.append(x, r_max),
            np.append(y, y[-1]),
            color="k",
            lw=1.2,
            label="IB frontier max I(z;z*) at I(x;z) ≤ R",
        )
    for fam in result.settings.families:
        col = _FAMILY_COLORS.get(fam, "C2")
        beta = sorted(
            (p for p in pts if p["family"] == fam and p["objective"] == "beta"),
            key=lambda p: p["R"],
        )
        for ax, yk in ((ax1, "D"), (ax2, "ELBO"), (ax3, "I_zstar")):
            ys = [(-p["ELBO"] if yk == "ELBO" else p[yk]) for p in beta]
            ax.plot(
                [p["R"] for p in beta],
                ys,
                "o",
                ms=3.5,
                color=col,
                alpha=0.7,
                label=f"{fam}: β-sweep",
            )
            for name, marker, sel in (
                ("ELBO (β = 1)", "s", lambda p: p["objective"] == "beta" and p["hyper"] == 1.0),
                (
                    f"target rate σ = {result.settings.sigma:g}",
                    "^",
                    lambda p: p["objective"] == "target_rate",
                ),
            ):
                sub = [p for p in pts if p["family"] == fam and sel(p)]
                if sub:
                    ax.plot(
                        [p["R"] for p in sub],
                        [(-p["ELBO"] if yk == "ELBO" else p[yk]) for p in sub],
                        marker,
                        ms=7,
                        mfc="none",
                        mew=1.4,
                        color=col,
                        label=f"{fam}: {name}",
                    )
    o = result.optimal
    for ax, y in ((ax1, o["D"]), (ax2, o["R"] + o["D"]), (ax3, o["I_zstar"])):
        ax.plot([o["R"]], [y], "*", ms=11, color="C3", label="hand-built optimal (a)")
    ax1.plot([0.0], [H], "D", color="k", ms=6, label="auto-decoding (0, H)")
    ax1.plot([H], [0.0], "D", color="0.4", ms=6, label="auto-encoding (H, 0)")
    ax1.set(
        xlabel="rate R (nats)",
        ylabel="distortion D (nats)",
        xlim=(-0.05, r_max),
        ylim=(-0.05, H * 1.25),
        title="(1) D against R",
    )
    gap = max([p["R"] + p["D"] - H for p in pts] + [0.0])
    ax2.set(
        xlabel="rate R (nats)",
        ylabel="−ELBO = R + D (nats)",
        xlim=(-0.05, r_max),
        ylim=(H - 0.05, H + max(0.15, 1.15 * gap)),
        title="(2) −ELBO (zoom on H)",
    )
    ax3.set(
        xlabel="rate R (nats)",
        ylabel="I(z; z*) (nats)",
        xlim=(-0.05, r_max),
        ylim=(-0.02, info * 1.3),
        title="(3) I(z; z*) against R",
    )
    # one legend for the three panels, below them (never over the points)
    seen = {}
    for ax in (ax1, ax2, ax3):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(
        list(seen.values()), list(seen.keys()), loc="outside lower center", ncol=2, frameon=False
    )
    st = result.settings
    fig.suptitle(
        f"toyrd rdplane: H = {H:.4f} nats; {st.n_seeds} seed(s) per point,\n{st.steps} steps, "
        f"lr {st.lr}, init scale {st.init_scale}",
        fontsize=9,
    )
    return fig
