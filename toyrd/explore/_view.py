"""What the explorer page shows: the HTML of its status line, message and table, the widget
label helpers, and the two Bokeh planes (RD plane and I(z;z*) vs R) with their data sources.

The element ids, ``data-*`` attributes and renderer names made here are the stable hooks listed
in :mod:`toyrd.explore._app`; :class:`toyrd.explore._app.Explorer` updates them.
"""

from __future__ import annotations

import html

from toyrd.explore import _model as M

__all__ = ["status_html", "message_html", "table_html", "widget", "relabel", "planes"]

_QUANTITY_NOTES = {
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

_CSS = """
.toyrd-table { border-collapse: collapse; font: 13px/1.35 monospace; }
.toyrd-table td { padding: 1px 8px; border-bottom: 1px solid #eee; }
.toyrd-table td.v { text-align: right; }
.toyrd-table td.n { color: #666; font-family: sans-serif; }
"""


def status_html(state: str, key: str, text: str) -> str:
    colour = {"ready": "#1b7837", "error": "#b2182b"}.get(state, "#8c510a")  # else: busy
    return (
        f'<div id="toyrd-status" data-state="{state}" data-key="{html.escape(key)}" '
        f'style="color:{colour};font-weight:600">{html.escape(text)}</div>'
    )


def message_html(kind: str, text: str) -> str:
    if not text:
        return '<div id="toyrd-message" data-kind="none"></div>'
    colour = {"error": "#b2182b", "info": "#1b7837"}[kind]
    return (
        f'<div id="toyrd-message" data-kind="{kind}" style="color:{colour};'
        f'border-left:4px solid {colour};padding:2px 6px">{html.escape(text)}</div>'
    )


def table_html(up) -> str:
    from toyrd.quantities import QUANTITY_NAMES

    q = up.quantities
    rows = "".join(
        f'<tr><td>{k}</td><td class="v" id="q-{k}" data-value="{q[k]!r}">{q[k]:.6f}</td>'
        f'<td class="n">{_QUANTITY_NOTES.get(k, "")}</td></tr>'
        for k in QUANTITY_NAMES
        if k in q
    )
    timing = f"trained in {up.train_s:.3f} s" + (" (compile included)" if up.compiled else "")
    if up.png is not None:
        timing += f", Figure 2 drawn in {up.draw_s:.3f} s"
    return (
        f"<style>{_CSS}</style><div><b>exact quantities (nats)</b> — "
        f"{html.escape(M.describe(up.settings))}<br><span id='toyrd-timing' "
        f"data-train='{up.train_s!r}' data-draw='{up.draw_s!r}'>{timing}</span></div>"
        f"<table class='toyrd-table'>{rows}</table>"
    )


def widget(cls, label: str, **kw):
    """``cls(label=label, ...)``; panels before ``label`` existed (< 1.9) call it ``name``."""
    return cls(**{("label" if "label" in cls.param else "name"): label}, **kw)


def relabel(widget, label: str, **kw):
    widget.param.update(**{("label" if "label" in widget.param else "name"): label}, **kw)


def planes(H: float, frontier):
    """The two Bokeh figures and their data sources: RD plane (D vs R) and I(z;z*) vs R."""
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    top = 1.15 * H
    tools = "pan,wheel_zoom,box_zoom,reset,save"
    rd = figure(
        width=410,
        height=380,
        x_range=(0, top),
        y_range=(0, top),
        tools=tools,
        x_axis_label="rate R (nats)",
        y_axis_label="distortion D (nats)",
        title="Rate–distortion plane",
        name="rd-plane",
    )
    rd.patch(
        [0, 0, H], [0, H, 0], color="#bbbbbb", alpha=0.45, legend_label="infeasible: D < H − R"
    )
    rd.line([0, H], [H, 0], color="black", line_dash="dashed", legend_label="R + D = H")
    rd.scatter([0, H], [H, 0], marker="square", size=7, color="black")
    ib = figure(
        width=410,
        height=380,
        x_range=rd.x_range,
        y_range=(0, 1.25 * frontier.info),
        tools=tools,
        x_axis_label="rate R (nats); frontier: I(x;z)",
        y_axis_label="I(z;z*) (nats)",
        title="What the code keeps of the class",
        name="ib-plane",
    )
    ib.line(
        frontier.rate, frontier.relevance, color="#2166ac", line_width=2, legend_label="IB frontier"
    )
    ib.line(
        [0, top],
        [frontier.info, frontier.info],
        color="black",
        line_dash="dashed",
        legend_label=f"I(x;z*) = {frontier.info:.3f}",
    )
    trail = ColumnDataSource(dict(R=[], D=[], I=[], label=[]), name="trail")
    current = ColumnDataSource(dict(R=[], D=[], I=[], label=[]), name="current")
    for fig, y, tag, corner in ((rd, "D", "rd", "top_right"), (ib, "I", "ib", "bottom_right")):
        fig.line("R", y, source=trail, color="#999999", alpha=0.6)
        t = fig.scatter(
            "R", y, source=trail, size=6, color="#999999", alpha=0.8, legend_label="previous models"
        )
        c = fig.scatter(
            "R",
            y,
            source=current,
            size=14,
            color="#d6604d",
            line_color="black",
            legend_label="current model",
            name=f"{tag}-current",
        )
        fig.add_tools(
            HoverTool(
                renderers=[t, c],
                tooltips=[("", "@label"), ("R", "@R{0.0000}"), (y, f"@{y}{{0.0000}}")],
            )
        )
        fig.legend.location = corner
        fig.legend.label_text_font_size = "9pt"
        fig.legend.click_policy = "hide"
        fig.toolbar.logo = None
    return rd, ib, trail, current
