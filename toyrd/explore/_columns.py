"""The explorer's numbers as plain columns: what one model puts in each data source of
:mod:`toyrd.explore._view` (:func:`panel_data`, a pure function), the table's text, the iso-loss
line, and the notes shown beside controls. No Bokeh, no Panel: a static page can compute these
ahead of time and ship them as JSON."""

from __future__ import annotations

import html
import math

import numpy as np

__all__ = [
    "panel_data",
    "trail_row",
    "fmt",
    "iso_loss",
    "table_html",
    "plane_top",
    "SOURCE_NAMES",
    "MODEL_SOURCES",
    "QUANTITY_NOTES",
    "FAMILY_NOTES",
    "OBJECTIVE_NOTES",
    "FONT",
    "TABLE_JS",
    "TABLE_CSS",
]

#: Sources one model fills (:func:`panel_data` returns exactly these keys).
MODEL_SOURCES = (
    "current",
    "iso",
    "quantities",
    "fig2_data",
    "fig2_latent",
    "fig2_encoder",
    "fig2_decoder",
    "fig2_channel",
)
#: Every source of :func:`toyrd.explore._view.figures`: the model's, then the page's history.
SOURCE_NAMES = MODEL_SOURCES + ("trail", "sweep")

#: The quantities the table lists, each with a few words.
QUANTITY_NOTES = {
    "H": "data entropy",
    "D": "distortion",
    "R": "rate",
    "ELBO": "−(D + R)",
    "I_e": "I(x;z) of the encoder",
    "I_d": "I(x;z) of the decoder",
    "E": "lower bound on I_d",
    "G": "upper bound on I_d (r = p*)",
    "U": "U − S = H − D",
    "S": "KL(p*‖r)",
    "kl_q_m": "KL(q‖m)",
    "kl_pstar_g": "KL(p*‖g)",
    "kl_pstar_dbar": "KL(p*‖d̄)",
    "I_zstar": "I(z;z*): what the code keeps of the class",
}

#: One line per objective kind (what it minimises and what it does).
OBJECTIVE_NOTES = {
    "elbo": "D + R: the VAE bound; on a flexible model it may ignore the code (R → 0)",
    "beta": "D + βR: β < 1 buys rate (a used code), β > 1 pushes toward collapse (R = 0)",
    "rda": "R + λD: the rate–distortion Lagrangian; λ weighs distortion against rate",
    "target_rate": "D + |σ − R|: least distortion at the rate σ (nats) — the paper's Figure 2c",
}

#: One line per model family of the explorer's menu ("encoder/decoder" maps).
FAMILY_NOTES = {
    "bump(w0=2)/bump+free": "Figure 2's family: bump encoder (slopes from 2), bump + free decoder",
    "tabular": "free tables for e, d and m: every model of the toy is reachable",
    "bump": "Appendix E as written: e and d are Gaussian bumps over the bin coordinate",
    "bump/tabular": "local (bump) encoder, free decoder: the encoder is the bottleneck",
    "tabular/bump": "free encoder, bump decoder: the decoder cannot fit p* without a code",
    "onehot/onehot": "the paper's literal one-hot reading of w·x (one weight per bin)",
}

#: Base type sizes (px) at scale 1: titles, axis labels, ticks, legends, the table.
FONT = {"title": 14, "label": 13, "tick": 12, "legend": 12, "table": 14}


def fmt(value: float) -> str:
    """``value`` with 6 decimals as the table shows it: ``-0.000000`` is written ``0.000000``
    (a value in (−5e-7, 0) is zero to the digits shown), infinities as ``inf`` / ``-inf``."""
    v = float(value)
    if math.isnan(v):
        raise ValueError("fmt: a NaN quantity reached the page")  # never shown, never silent
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.6f}"
    return "0.000000" if text == "-0.000000" else text


def iso_loss(objective: str, hyper, R: float, D: float, top: float, n: int = 121) -> dict:
    """The iso-loss line through (R, D) of ``objective`` on the plane [0, top]²: the (R, D) with
    the same loss, from :func:`toyrd.objectives.loss_from_rd` (every kind is affine in D:
    loss = a(R) + c·D, c ≥ 0). With R across and D up: slope −β for the β-VAE (D = L − βR), −1/λ
    for RDA, a roof peaking at R = σ for the target rate; a vertical line where c = 0 (λ = 0).
    Columns ``R``, ``D`` (float lists)."""
    from toyrd.objectives import loss_from_rd

    h = None if hyper is None else float(hyper)
    L = float(loss_from_rd(objective, R, D, h))
    grid = np.linspace(0.0, top, n)
    if objective == "target_rate" and 0.0 < h < top:
        grid = np.union1d(grid, [h])  # the kink of |σ − R|
    a = np.array([float(loss_from_rd(objective, r, 0.0, h)) for r in grid])
    c = float(loss_from_rd(objective, 0.0, 1.0, h)) - float(loss_from_rd(objective, 0.0, 0.0, h))
    if c <= 0.0:  # the loss does not see D (rda with λ = 0): the line is R's level set
        return {"R": [R, R], "D": [0.0, top]}
    return {"R": grid.tolist(), "D": ((L - a) / c).tolist()}


def trail_row(quantities: dict, label: str) -> dict:
    """One point of the trail or sweep sources: R, D, I(z;z*) and a label (columns of one)."""
    q = quantities
    return {
        "R": [float(q["R"])],
        "D": [float(q["D"])],
        "I": [float(q["I_zstar"])],
        "label": [label],
    }


def panel_data(
    px, pzx, encoder, decoder, marginal, quantities: dict, *, objective: str, hyper, label: str
) -> dict:
    """Column dicts for every source of one model (:data:`MODEL_SOURCES`); plain float lists,
    ready for ``source.data`` in Python or JSON for JavaScript.

    ``quantities``: :func:`toyrd.evaluate` of the model with ``pzx`` (so it holds I_zstar);
    ``objective`` / ``hyper``: whose iso-loss line to draw; ``label``: the model's one-line name.
    """
    from toyrd.plot import panel_data as figure2_data

    q = quantities
    H = float(q["H"])
    col = figure2_data(px, pzx, encoder, decoder, marginal)
    names = [k for k in QUANTITY_NOTES if k in q]
    n_x, n_z = col.encoder.shape
    w0 = col.p_class[0] * col.e_class[0]
    w1 = col.p_class[1] * col.e_class[1]

    def image(a):
        a = np.asarray(a, dtype=np.float64)
        return {"img": [a], "vmax": [float(a.max()) if a.size else 1.0], "n": [a.shape[0]]}

    return {
        "current": trail_row(q, label),
        "iso": iso_loss(objective, hyper, float(q["R"]), float(q["D"]), plane_top(H)),
        "quantities": {
            "name": names,
            "value": [float(q[k]) for k in names],
            "text": [fmt(q[k]) for k in names],
            "note": [QUANTITY_NOTES[k] for k in names],
            "label": [label] * len(names),
        },
        "fig2_data": {
            "x": list(range(n_x)),
            "px": col.px.tolist(),
            "g": col.g.tolist(),
            "dbar": col.dbar.tolist(),
        },
        "fig2_latent": {
            "z": list(range(n_z)),
            "q": col.q.tolist(),
            "m": col.m.tolist(),
            "w0": w0.tolist(),
            "top": (w0 + w1).tolist(),
        },
        "fig2_encoder": image(col.encoder),
        "fig2_decoder": image(col.decoder),
        "fig2_channel": image(col.channel),
    }


def plane_top(H: float) -> float:
    """The RD plane's initial extent: past H on both axes (a collapsed model with a decoder
    that cannot fit p* sits above H)."""
    return 1.2 * H


def table_html(data: dict, scale: float = 1.0) -> str:
    """The table Div's HTML for a ``quantities`` column dict (the JavaScript callback of
    :func:`toyrd.explore._view.figures` writes the same markup)."""
    size = round(FONT["table"] * scale)
    rows = "".join(
        f'<tr><td>{html.escape(n)}</td><td class="v" id="q-{html.escape(n)}" '
        f'data-value="{v!r}">{html.escape(t)}</td><td class="n">{html.escape(note)}</td></tr>'
        for n, v, t, note in zip(data["name"], data["value"], data["text"], data["note"])
    )
    label = html.escape(data["label"][0]) if data["label"] else ""
    return (
        f'<div class="toyrd-table" style="font-size:{size}px">'
        f"<div><b>exact quantities (nats)</b> — <span id='toyrd-model'>{label}</span></div>"
        f'<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">{rows}'
        "</table></div>"
    )


# The same markup in JavaScript, so a static page's table follows its source.
TABLE_JS = """
const d = src.data, esc = (s) => String(s).replace(/[&<>"']/g,
  (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
const size = Math.round(base * (div.tags.length ? div.tags[0] : 1));
let rows = '';
for (let i = 0; i < d.name.length; i++) {
  rows += `<tr><td>${esc(d.name[i])}</td><td class="v" id="q-${esc(d.name[i])}" ` +
    `data-value="${esc(d.value[i])}">${esc(d.text[i])}</td>` +
    `<td class="n">${esc(d.note[i])}</td></tr>`;
}
const label = d.label.length ? esc(d.label[0]) : '';
div.text = `<div class="toyrd-table" style="font-size:${size}px">` +
  `<div><b>exact quantities (nats)</b> — <span id='toyrd-model'>${label}</span></div>` +
  `<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">${rows}</table></div>`;
"""

TABLE_CSS = """
.toyrd-table td { padding: 1px 10px 1px 0; border-bottom: 1px solid #eee; }
.toyrd-table td.v { text-align: right; font-family: monospace; }
.toyrd-table td.n { color: #555; }
"""
