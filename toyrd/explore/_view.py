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

The column-making half (:func:`panel_data`, :func:`fmt`, :func:`iso_loss`, :func:`trail_row`,
:func:`table_html`, the notes) lives in :mod:`toyrd.explore._columns` (no Bokeh) and is
re-exported here.

Hooks for tests and scripts: renderers named ``rd-current`` (x = R, y = D), ``ib-current``
(x = R, y = I(z;z*)), ``rd-iso`` (the iso-loss line); table cells with ids ``q-<name>`` whose
text is :func:`fmt` of the value and whose ``data-value`` is its ``repr``; sources named as in
:data:`SOURCE_NAMES`.
"""

from __future__ import annotations

from toyrd.explore._columns import (
    FAMILY_NOTES,
    FONT,
    MODEL_SOURCES,
    OBJECTIVE_NOTES,
    QUANTITY_NOTES,
    SOURCE_NAMES,
    TABLE_CSS,
    TABLE_JS,
    fmt,
    iso_loss,
    panel_data,
    plane_top,
    table_html,
    trail_row,
)
from toyrd.explore._redraw import TOP_PAD, static_legend, steady_labels, top_of, track_top

__all__ = [
    "figures",
    "panel_data",
    "show",
    "trail_row",
    "fmt",
    "iso_loss",
    "set_scale",
    "LEGEND_MAX_SCALE",
    "table_html",
    "SOURCE_NAMES",
    "MODEL_SOURCES",
    "QUANTITY_NOTES",
    "FAMILY_NOTES",
    "OBJECTIVE_NOTES",
]

#: Legends scale with the type up to this factor (beyond it they cover a narrow plot).
LEGEND_MAX_SCALE = 1.15
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


def figures(H: float, frontier, *, n_x: int = 30, n_z: int = 30, scale: float = 1.0):
    """Every plot of the explorer, empty, and the sources that feed them (see the module
    docstring). ``H``: the data entropy (nats); ``frontier``: :func:`toyrd.quantities.ib_frontier`
    of the data (its ``rate``, ``relevance`` and ``info``). Plots stretch to their container's
    width (``sizing_mode="stretch_width"``) at fixed heights; :func:`set_scale` resizes type."""
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        Div,
        HoverTool,
        LinearColorMapper,
        Range1d,
    )
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    top = plane_top(H)
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
            tags=[8],  # the marker size at scale 1 (set_scale)
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
            tags=[7],  # the marker size at scale 1 (set_scale)
            color=_COLORS["sweep"],
            legend_label="this sweep",
            name=f"{tag}-sweep",
        )
        c = fig.scatter(
            "R",
            y,
            source=sources["current"],
            size=16,
            tags=[16],  # the marker size at scale 1 (set_scale)
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
        stylesheets=[TABLE_CSS],
        tags=[scale],
        sizing_mode="stretch_width",
    )
    sources["quantities"].js_on_change(
        "data",
        CustomJS(
            args=dict(src=sources["quantities"], div=table, base=FONT["table"]), code=TABLE_JS
        ),
    )

    parts = {"rd": rd, "ib": ib, "table": table}
    small = dict(
        tools="pan,wheel_zoom,reset,save",
        toolbar_location=None,
        sizing_mode="stretch_width",
        min_width=180,
    )

    def curves(name, n, xlabel):  # rows (i) and (ii): n states on x, a y range set from the data
        return figure(
            height=240,
            x_range=(-0.5, n - 0.5),
            y_range=Range1d(0, 1, name=f"{name}-y"),
            x_axis_label=xlabel,
            title=_FIG2_TITLES[name],
            name=name,
            **small,
        )

    f1 = curves("fig2_i", n_x, "x (bin)")
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
    f2 = curves("fig2_ii", n_z, "z (sorted by mean x)")
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
    for f, key in ((f1, "fig2_data"), (f2, "fig2_latent")):
        track_top(f, sources[key], TOP_PAD[f.name])
        f.yaxis.formatter = steady_labels()
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
        bar = ColorBar(
            color_mapper=mapper,
            width=10,
            padding=2,
            title="probability",
            formatter=steady_labels(),
        )
        f.add_layout(bar, "right")
        f.toolbar.logo = None
        f.grid.visible = False
        # a tick every 10 states or bins: the panels are narrow, and Bokeh's every-5 ran together
        f.xaxis.ticker = list(range(0, n_cols + 1, 10))
        f.yaxis.ticker = list(range(0, n_rows + 1, 10))
        sources[key].js_on_change(
            "data",
            CustomJS(
                args=dict(src=sources[key], m=mapper),
                code="const v = src.data.vmax; if (v.length && v[0] > 0) m.high = v[0];",
            ),
        )
        parts[name] = f
    for name, fig in parts.items():
        if name != "table":
            static_legend(fig, set(sources.values()))
    set_scale(parts, scale)
    return parts, sources


def set_scale(parts: dict, scale: float) -> None:
    """Type sizes of every plot and of the table, and the models' markers, times ``scale``
    (1: a screen; 1.6: a projector)."""
    px = {k: f"{round(v * scale)}px" for k, v in FONT.items()}
    for name, fig in parts.items():
        if name == "table":
            fig.tags = [scale]
            continue
        fig.title.text_font_size = px["title"]
        for ax in fig.axis:
            ax.axis_label_text_font_size = px["label"]
            ax.major_label_text_font_size = px["tick"]
        for leg in fig.legend:  # legends grow less: they sit inside the plot area
            leg.label_text_font_size = f"{round(FONT['legend'] * min(scale, LEGEND_MAX_SCALE))}px"
            leg.glyph_height = leg.glyph_width = round(14 * min(scale, LEGEND_MAX_SCALE))
        for r in fig.renderers:  # markers of the models (their size at scale 1 in tags)
            g = getattr(r, "glyph", None)
            if g is not None and g.tags and type(g).__name__ == "Scatter":
                g.size = round(g.tags[0] * scale)
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
    for name, key in (("fig2_i", "fig2_data"), ("fig2_ii", "fig2_latent")):
        parts[name].y_range.end = top_of(parts[name], sources[key], data[key])
    for key, name in (
        ("fig2_encoder", "fig2_iii"),
        ("fig2_decoder", "fig2_iv"),
        ("fig2_channel", "fig2_v"),
    ):
        vmax = data[key]["vmax"][0]
        if vmax > 0:
            for m in parts[name].select(type=LinearColorMapper):
                m.high = vmax
