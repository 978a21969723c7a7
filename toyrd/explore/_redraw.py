"""What keeps a redraw of the explorer cheap: one paint per plot, no layout, no legend rebuilt.

Measured on the static page (``benchmarks/bench_static.py``), each change repainted seven plots
at a cost of 61 ms (median, slider) before these and 40 ms after, side by side:

* legends that BokehJS never rebuilds (:func:`static_legend`): it rebuilds a legend — new DOM
  elements and a canvas per entry — on any change reachable from its items, the renderers' data
  included;
* Figure 2's rows (i)–(ii) scaled from their data when it arrives (:func:`track_top`), not by a
  ``DataRange1d``, which finds its bounds while painting and so paints its plot twice;
* tick labels of a fixed width on the axes that follow the model (:func:`steady_labels`): a
  label one character wider re-laid out the whole row.
"""

from __future__ import annotations

__all__ = ["TOP_PAD", "TICK_DECIMALS", "top_of", "track_top", "steady_labels", "static_legend"]


#: Headroom above the tallest visible line or bar of Figure 2's rows (i) and (ii): room for the
#: legend (row (ii)'s mass often spreads to the right edge, under its four-entry legend).
TOP_PAD = {"fig2_i": 1.25, "fig2_ii": 1.7}
_TOP_JS = """
let m = 0;
for (let k = 0; k < rs.length; k++) {
  if (!rs[k].visible) continue;
  for (const v of src.data[cols[k]]) if (Number.isFinite(v) && v > m) m = v;
}
y.start = 0;
y.end = m > 0 ? pad * m : 1;
"""


def _y_column(glyph) -> str:
    """The data column a line, step or bar glyph draws upward."""
    spec = glyph.top if hasattr(glyph, "top") else glyph.y
    return spec if isinstance(spec, str) else spec.field


def track_top(fig, source, pad: float) -> None:
    """``fig``'s y range runs from 0 to ``pad`` × the largest value its visible
    renderers of ``source`` draw, set when the data or a visibility changes (a ``DataRange1d``
    would find the same bound only while painting, and paint the plot a second time)."""
    from bokeh.models import CustomJS

    rs = [r for r in fig.renderers if r.data_source is source]
    cb = CustomJS(
        args=dict(src=source, y=fig.y_range, rs=rs, cols=[_y_column(r.glyph) for r in rs], pad=pad),
        code=_TOP_JS,
    )
    source.js_on_change("data", cb)
    for r in rs:
        r.js_on_change("visible", cb)


def top_of(fig, source, data: dict) -> float:
    """What the page's callback sets ``fig.y_range.end`` to when ``source`` gets ``data``
    (see :func:`track_top`)."""
    import math

    m = 0.0
    for r in fig.renderers:
        if r.data_source is source and r.visible:
            m = max([m] + [v for v in data[_y_column(r.glyph)] if math.isfinite(v)])
    return TOP_PAD[fig.name] * m if m > 0 else 1.0


#: Decimals of every tick label on an axis whose range follows the model (Figure 2's probability
#: axes and colour bars): fixed, so that labels keep their width and a new model repaints the
#: plots without laying the page out again (a label one character wider re-lays out the whole
#: row). Three suffice on the toy: each of these axes tops a distribution over 30 states, so its
#: top is at least 1/30 and its ticks at least 0.005 apart; finer ticks get the decimals they need.
TICK_DECIMALS = 3
_STEADY_JS = """
const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
const need = step > 0 ? Math.ceil(-Math.log10(step) - 1e-9) : 0;
return tick.toFixed(Math.min(12, Math.max(decimals, need)));
"""


def steady_labels():
    """A tick formatter with :data:`TICK_DECIMALS` decimals on every label (more where the
    ticks are closer than that)."""
    from bokeh.models import CustomJSTickFormatter

    return CustomJSTickFormatter(args=dict(decimals=TICK_DECIMALS), code=_STEADY_JS)


#: A legend entry's stand-in follows its entry's visibility onto the real renderer, found by id
#: (an id in ``tags``, not a reference, keeps the legend free of the data it would follow).
_FOLLOW_JS = (
    "const r = cb_obj.document.get_model_by_id(cb_obj.tags[0]); if (r) r.visible = cb_obj.visible;"
)


def static_legend(fig, moving) -> None:
    """Point each legend entry of a renderer fed by a ``moving`` source at a stand-in: the same
    glyph on a one-row source of NaNs (drawn nowhere), whose visibility (a legend click) is
    passed on to the renderer.

    BokehJS rebuilds a legend's entries (new DOM elements and a canvas per entry) on any change
    reachable from its items, the renderers' data included; with seven plots, that was a third
    of a static page's redraw time. A stand-in's source never changes, so the legends are built
    once; drawn and clicked, they look and act as before."""
    import math

    from bokeh.models import ColumnDataSource, CustomJS, GlyphRenderer

    for legend in fig.legend:
        for item in legend.items:
            stand_ins = []
            for r in item.renderers:
                if r.data_source not in moving:
                    stand_ins.append(r)
                    continue
                # one row (BokehJS draws no legend swatch for an empty source), off the plot
                nowhere = ColumnDataSource({k: [math.nan] for k in r.data_source.column_names})
                proxy = GlyphRenderer(data_source=nowhere, glyph=r.glyph.clone(), tags=[r.id])
                proxy.js_on_change("visible", CustomJS(code=_FOLLOW_JS))
                fig.renderers.append(proxy)
                stand_ins.append(proxy)
            item.renderers = stand_ins
