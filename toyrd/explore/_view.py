"""The explorer's view, written once: native Bokeh plots fed by ColumnDataSources, no Panel and
no server. The live page (:mod:`toyrd.explore._app`) and a static page drive the same objects.

Contract (stable; other pages build on it):

* ``parts, sources = figures(H, frontier, n_x=30, n_z=30)`` builds every plot once.
  ``parts`` maps a name to a Bokeh model: ``"rd"`` (the rate–distortion plane: infeasible
  region, R + D = H, the iso-loss line of the current objective, the trail as points, the
  points of the running sweep joined by a line, the current model), ``"ib"`` (I(z;z*) against R
  with the information-bottleneck frontier), ``"table"`` (a Div: every exact quantity,
  6 decimals), and ``"fig2_i"`` … ``"fig2_v"`` (Figure 2's five rows for the current model:
  (i) p*, g, d̄; (ii) q, m and the two classes' codes; (iii) e(z|x); (iv) d(x|z); (v) p(x'|x)).
  ``sources`` maps a name to the ColumnDataSource the plots read: ``SOURCE_NAMES``.
* ``data = panel_data(px, pzx, encoder, decoder, marginal, quantities, objective=…, hyper=…,
  label=…)`` is a pure function (numpy in, plain float lists out): a dict from the names of
  :data:`MODEL_SOURCES` to column dicts. Setting ``sources[k].data = data[k]`` for each key is
  the whole update of one model — in Python (:func:`show`) or in JavaScript
  (``sources[k].data = data[k]`` in a CustomJS): the table text and the image colour scales
  follow their sources through JavaScript callbacks attached here, so a static page needs no
  Python at run time. The trail (``"trail"``) and the sweep (``"sweep"``) are the page's
  history, not one model's: :func:`trail_row` gives one row of either.
* Every number shown is float64 from :func:`toyrd.evaluate` / :func:`toyrd.plot.panel_data`;
  :func:`fmt` writes them (never ``-0.000000``, never ``nan``). :func:`set_scale` switches the
  type size (1: a screen, ~1.6: a projector).

Hooks for tests and scripts: renderers named ``rd-current`` (x = R, y = D), ``ib-current``
(x = R, y = I(z;z*)), ``rd-iso`` (the iso-loss line); table cells with ids ``q-<name>`` whose
text is :func:`fmt` of the value and whose ``data-value`` is its ``repr``; sources named as in
:data:`SOURCE_NAMES`.
"""

from __future__ import annotations

import html
import math

import numpy as np

__all__ = [
    "figures",
    "panel_data",
    "show",
    "trail_row",
    "fmt",
    "iso_loss",
    "set_scale",
    "table_html",
    "SOURCE_NAMES",
    "MODEL_SOURCES",
    "QUANTITY_NOTES",
    "FAMILY_NOTES",
    "OBJECTIVE_NOTES",
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
#: Every source of :func:`figures`: the model's, then the page's history.
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

_COLORS = {"current": "#d6604d", "trail": "#7f7f7f", "sweep": "#2166ac", "iso": "#1b7837"}
#: Purple for class 0 (70 %), yellow for class 1 (30 %), as in the paper's Figure 2.
_CLASS = ("#6a3d9a", "#e6c619")
_FIG2_TITLES = {
    "fig2_i": "(i) data: p*(x), g(x), d̄(x)",
    "fig2_ii": "(ii) latent: q(z), m(z), classes",
    "fig2_iii": "(iii) encoder e(z|x)",
    "fig2_iv": "(iv) decoder d(x|z)",
    "fig2_v": "(v) reconstruction p(x'|x)",
}
#: Base type sizes (px) at scale 1: titles, axis labels, ticks, legends, the table.
_FONT = {"title": 14, "label": 13, "tick": 12, "legend": 12, "table": 14}


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
    loss = a(R) + c·D, c ≥ 0). Slope −1/β for the β-VAE (D = L − βR… in these axes, D against R:
    slope −β); a vertical line where c = 0 (λ = 0). Columns ``R``, ``D`` (float lists)."""
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
        "iso": iso_loss(objective, hyper, float(q["R"]), float(q["D"]), _top(H)),
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


def _top(H: float) -> float:
    """The RD plane's initial extent: past H on both axes (a collapsed model with a decoder
    that cannot fit p* sits above H)."""
    return 1.2 * H


def table_html(data: dict, scale: float = 1.0) -> str:
    """The table Div's HTML for a ``quantities`` column dict (the JavaScript callback of
    :func:`figures` writes the same markup)."""
    size = round(_FONT["table"] * scale)
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
_TABLE_JS = """
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

_TABLE_CSS = """
.toyrd-table td { padding: 1px 10px 1px 0; border-bottom: 1px solid #eee; }
.toyrd-table td.v { text-align: right; font-family: monospace; }
.toyrd-table td.n { color: #555; }
"""


def figures(H: float, frontier, *, n_x: int = 30, n_z: int = 30, scale: float = 1.0):
    """Every plot of the explorer, empty, and the sources that feed them (see the module
    docstring). ``H``: the data entropy (nats); ``frontier``: :func:`toyrd.quantities.ib_frontier`
    of the data (its ``rate``, ``relevance`` and ``info``). Plots stretch to their container's
    width (``sizing_mode="stretch_width"``) at fixed heights; :func:`set_scale` resizes type."""
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        DataRange1d,
        Div,
        HoverTool,
        LinearColorMapper,
        Range1d,
    )
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    top = _top(H)
    empty = {"R": [], "D": [], "I": [], "label": []}
    sources = {
        "current": ColumnDataSource(dict(empty), name="current"),
        "trail": ColumnDataSource(dict(empty), name="trail"),
        "sweep": ColumnDataSource(dict(empty), name="sweep"),
        "iso": ColumnDataSource({"R": [], "D": []}, name="iso"),
        "quantities": ColumnDataSource(
            {"name": [], "value": [], "text": [], "note": [], "label": []}, name="quantities"
        ),
        "fig2_data": ColumnDataSource({"x": [], "px": [], "g": [], "dbar": []}, name="fig2_data"),
        "fig2_latent": ColumnDataSource(
            {"z": [], "q": [], "m": [], "w0": [], "top": []}, name="fig2_latent"
        ),
    }
    for k in ("fig2_encoder", "fig2_decoder", "fig2_channel"):
        sources[k] = ColumnDataSource({"img": [], "vmax": [], "n": []}, name=k)
    tools = "pan,wheel_zoom,box_zoom,reset,save"
    common = dict(tools=tools, sizing_mode="stretch_width", min_width=240)

    rd = figure(
        height=400,
        x_range=Range1d(0, top, name="rd-x"),
        y_range=Range1d(0, top, name="rd-y"),
        x_axis_label="rate R (nats)",
        y_axis_label="distortion D (nats)",
        title="Rate–distortion plane",
        name="rd-plane",
        **common,
    )
    rd.patch(
        [0, 0, H], [0, H, 0], color="#bbbbbb", alpha=0.45, legend_label="infeasible: D < H − R"
    )
    rd.line([0, H], [H, 0], color="black", line_dash="dashed", legend_label="R + D = H")
    rd.line(
        "R",
        "D",
        source=sources["iso"],
        color=_COLORS["iso"],
        line_width=2,
        line_dash="dotdash",
        legend_label="same loss as the current model",
        name="rd-iso",
    )
    ib = figure(
        height=400,
        x_range=rd.x_range,
        y_range=Range1d(0, 1.25 * float(frontier.info), name="ib-y"),
        x_axis_label="rate R (nats)",
        y_axis_label="I(z;z*) (nats)",
        title="What the code keeps of the class",
        name="ib-plane",
        **common,
    )
    ib.line(
        list(map(float, frontier.rate)),
        list(map(float, frontier.relevance)),
        color="#2166ac",
        line_width=2,
        legend_label="IB frontier (best I(z;z*) at rate I(x;z))",
    )
    ib.line(
        [0, 10 * top],
        [float(frontier.info)] * 2,
        color="black",
        line_dash="dashed",
        legend_label=f"I(x;z*) = {float(frontier.info):.3f}",
    )
    for fig, y, tag in ((rd, "D", "rd"), (ib, "I", "ib")):
        t = fig.scatter(
            "R",
            y,
            source=sources["trail"],
            size=8,
            color=_COLORS["trail"],
            alpha=0.7,
            legend_label="earlier models",
            name=f"{tag}-trail",
        )
        fig.line("R", y, source=sources["sweep"], color=_COLORS["sweep"], line_width=2)
        s = fig.scatter(
            "R",
            y,
            source=sources["sweep"],
            size=7,
            color=_COLORS["sweep"],
            legend_label="this sweep",
            name=f"{tag}-sweep",
        )
        c = fig.scatter(
            "R",
            y,
            source=sources["current"],
            size=16,
            color=_COLORS["current"],
            line_color="black",
            legend_label="current model",
            name=f"{tag}-current",
        )
        fig.add_tools(
            HoverTool(
                renderers=[t, s, c],
                tooltips=[("", "@label"), ("R", "@R{0.0000}"), (y, f"@{y}{{0.0000}}")],
            )
        )
        fig.legend.location = "top_right"
        fig.legend.click_policy = "hide"
        fig.legend.background_fill_alpha = 0.7
        fig.toolbar.logo = None
    # Keep the current model in view: grow the RD plane's extent when a point leaves it.
    sources["current"].js_on_change(
        "data",
        CustomJS(
            args=dict(src=sources["current"], x=rd.x_range, y=rd.y_range),
            code="""
const d = src.data;
if (d.R.length && isFinite(d.R[0]) && d.R[0] > 0.95 * x.end) x.end = 1.1 * d.R[0];
if (d.D.length && isFinite(d.D[0]) && d.D[0] > 0.95 * y.end) y.end = 1.1 * d.D[0];
""",
        ),
    )

    table = Div(
        text=table_html({"name": [], "value": [], "text": [], "note": [], "label": []}, scale),
        name="quantities-table",
        stylesheets=[_TABLE_CSS],
        tags=[scale],
        sizing_mode="stretch_width",
    )
    sources["quantities"].js_on_change(
        "data",
        CustomJS(
            args=dict(src=sources["quantities"], div=table, base=_FONT["table"]), code=_TABLE_JS
        ),
    )

    parts = {"rd": rd, "ib": ib, "table": table}
    small = dict(
        tools="pan,wheel_zoom,reset,save",
        toolbar_location=None,
        sizing_mode="stretch_width",
        min_width=180,
    )
    f1 = figure(
        height=240,
        x_range=(-0.5, n_x - 0.5),
        y_range=DataRange1d(start=0, range_padding=0.25, only_visible=True),
        x_axis_label="x (bin)",
        title=_FIG2_TITLES["fig2_i"],
        name="fig2_i",
        **small,
    )
    src = sources["fig2_data"]
    f1.line("x", "px", source=src, color="black", line_width=5, alpha=0.3, legend_label="p*(x)")
    f1.line("x", "g", source=src, color="#1f77b4", line_width=2, legend_label="g(x)")
    f1.line(
        "x",
        "dbar",
        source=src,
        color="#d62728",
        line_width=2,
        line_dash="dashed",
        legend_label="d̄(x)",
    )
    f2 = figure(
        height=240,
        x_range=(-0.5, n_z - 0.5),
        y_range=DataRange1d(start=0, range_padding=0.25, only_visible=True),
        x_axis_label="z (sorted by mean x)",
        title=_FIG2_TITLES["fig2_ii"],
        name="fig2_ii",
        **small,
    )
    src = sources["fig2_latent"]
    f2.vbar("z", 1.0, "w0", 0.0, source=src, color=_CLASS[0], alpha=0.6, legend_label="class 0")
    f2.vbar("z", 1.0, "top", "w0", source=src, color=_CLASS[1], alpha=0.75, legend_label="class 1")
    f2.step("z", "q", source=src, mode="center", color="black", line_width=2, legend_label="q(z)")
    f2.step(
        "z",
        "m",
        source=src,
        mode="center",
        color="#2ca02c",
        line_width=2,
        line_dash="dashed",
        legend_label="m(z)",
    )
    for f in (f1, f2):
        f.legend.location = "top_right"
        f.legend.click_policy = "hide"
        f.legend.background_fill_alpha = 0.6
        f.legend.spacing = 0
        f.legend.padding = 2
        f.toolbar.logo = None
    parts["fig2_i"], parts["fig2_ii"] = f1, f2
    for key, name, (n_rows, n_cols), (ylab, xlab) in (
        ("fig2_encoder", "fig2_iii", (n_x, n_z), ("x", "z")),
        ("fig2_decoder", "fig2_iv", (n_z, n_x), ("z", "x")),
        ("fig2_channel", "fig2_v", (n_x, n_x), ("x", "x'")),
    ):
        mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0, name=f"{name}-colors")
        f = figure(
            height=280,
            x_range=(0, n_cols),
            y_range=(0, n_rows),
            x_axis_label=xlab,
            y_axis_label=ylab,
            title=_FIG2_TITLES[name],
            name=name,
            **small,
        )
        img = f.image(
            image="img", x=0, y=0, dw=n_cols, dh=n_rows, color_mapper=mapper, source=sources[key]
        )
        f.add_tools(
            HoverTool(
                renderers=[img],
                tooltips=[("col", "$x{0}"), ("row", "$y{0}"), ("p", "@img{0.0000}")],
            )
        )
        bar = ColorBar(color_mapper=mapper, width=10, padding=2, title="probability")
        f.add_layout(bar, "right")
        f.toolbar.logo = None
        f.grid.visible = False
        sources[key].js_on_change(
            "data",
            CustomJS(
                args=dict(src=sources[key], m=mapper),
                code="const v = src.data.vmax; if (v.length && v[0] > 0) m.high = v[0];",
            ),
        )
        parts[name] = f
    set_scale(parts, scale)
    return parts, sources


def set_scale(parts: dict, scale: float) -> None:
    """Type sizes of every plot and of the table times ``scale`` (1: a screen; 1.6: a projector)."""
    px = {k: f"{round(v * scale)}px" for k, v in _FONT.items()}
    for name, fig in parts.items():
        if name == "table":
            fig.tags = [scale]
            continue
        fig.title.text_font_size = px["title"]
        for ax in fig.axis:
            ax.axis_label_text_font_size = px["label"]
            ax.major_label_text_font_size = px["tick"]
        for leg in fig.legend:
            leg.label_text_font_size = px["legend"]
            leg.glyph_height = leg.glyph_width = round(14 * scale)
        for bar in fig.right:
            if type(bar).__name__ == "ColorBar":
                bar.major_label_text_font_size = px["tick"]
                bar.title_text_font_size = px["tick"]


def show(parts: dict, sources: dict, data: dict) -> None:
    """Put one model's :func:`panel_data` on the plots from Python (the server page): the
    sources, plus what the JavaScript callbacks do in a browser (table text, colour scales),
    so the objects agree without a browser too."""
    from bokeh.models import LinearColorMapper

    for key in MODEL_SOURCES:
        sources[key].data = data[key]
    parts["table"].text = table_html(data["quantities"], parts["table"].tags[0])
    for key, name in (
        ("fig2_encoder", "fig2_iii"),
        ("fig2_decoder", "fig2_iv"),
        ("fig2_channel", "fig2_v"),
    ):
        vmax = data[key]["vmax"][0]
        if vmax > 0:
            for m in parts[name].select(type=LinearColorMapper):
                m.high = vmax
