"""Figure 2's drawing: three columns (optimal, ELBO, target rate) of five panels each."""

from __future__ import annotations

import os

from toyrd.experiments.figure2 import MODELS, REPORT_KEYS, Figure2Result
from toyrd.plot._panels import panel_data, plot_columns

__all__ = ["figure2_figure"]


def figure2_figure(result: Figure2Result, path, fmt: str = "png") -> str:
    """Draw the three columns (median-R seed of each trained model) to ``path``."""
    cols, subs = [], []
    titles = [
        "(a) optimal",
        "(b) ELBO",
        f"(c) target rate σ = {result.settings.sigma:g}",
    ]
    for name in MODELS:
        run = result.runs[name]
        i = run.median_index
        cols.append(
            panel_data(
                result.toy.px, result.toy.pzx, run.encoder[i], run.decoder[i], run.marginal[i]
            )
        )
        m = {k: run.metrics[k][i] for k in REPORT_KEYS}
        seed = (
            "closed form"
            if run.seeds[i] is None
            else f"seed {run.seeds[i]}: median R of {int(run.finite.sum())}"
        )
        # short lines: a column is ~2 inches wide (the page's table has every number)
        subs.append(f"{seed}\nR = {m['R']:.4f}\nI(z;z*) = {m['I_zstar']:.4f}")
    st = result.settings
    sup = (
        f"toyrd figure2: {st.family}\n{st.steps} steps (+{st.warmup} warm-up), lr {st.lr}, "
        f"init scale {st.init_scale}; H = {result.toy.entropy:.4f} nats"
    )
    os.makedirs(os.path.dirname(os.path.abspath(str(path))), exist_ok=True)
    return plot_columns(cols, titles, subtitles=subs, path=path, fmt=fmt, suptitle=sup)
