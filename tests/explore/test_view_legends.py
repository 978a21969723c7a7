"""The explorer's view (``toyrd.explore._view``; its redraw helpers in ``_redraw``): legends
that BokehJS never rebuilds, and Figure 2's rows (i)–(ii) scaled from their data when it
arrives, not while painting.

Both were redraw costs of the static page (issue 26): BokehJS rebuilds a legend whenever anything
reachable from its items changes, and a ``DataRange1d`` paints its plot twice per change.
"""

from __future__ import annotations

import math

import pytest

from toyrd.explore import _model as M

pytest.importorskip("bokeh")


@pytest.fixture(scope="module")
def view():
    from toyrd.explore import _view as V

    up = M.optimal_update()
    s = up.settings
    data = V.panel_data(up.px, up.pzx, up.encoder, up.decoder, up.marginal, up.quantities,
                        objective=s.objective, hyper=s.hyper, label="a")  # fmt: skip
    parts, sources = V.figures(up.quantities["H"], M.frontier())
    V.show(parts, sources, data)
    return V, parts, sources, data


def _plots(parts):
    return {k: f for k, f in parts.items() if k != "table"}


def test_no_legend_reaches_a_source_that_changes(view):
    _, parts, sources, _ = view
    moving = {s.id for s in sources.values()}
    n = 0
    for name, fig in _plots(parts).items():
        for legend in fig.legend:
            n += 1
            reached = {m.id for m in legend.references()}
            assert not reached & moving, name
    assert n == 4  # the two planes and rows (i), (ii)


def test_each_stand_in_is_its_renderers_glyph_and_drawn_nowhere(view):
    _, parts, sources, _ = view
    moving = set(sources.values())
    seen = 0
    for fig in _plots(parts).values():
        by_id = {r.id: r for r in fig.renderers}
        for legend in fig.legend:
            for item in legend.items:
                for proxy in item.renderers:
                    if not proxy.tags:  # a renderer of fixed data keeps its own entry
                        assert proxy.data_source not in moving
                        continue
                    seen += 1
                    real = by_id[proxy.tags[0]]
                    assert real.data_source in moving and real is not proxy
                    assert type(proxy.glyph) is type(real.glyph)
                    assert (
                        proxy.glyph.properties_with_values() == real.glyph.properties_with_values()
                    )
                    cols = proxy.data_source.data
                    assert cols and all(len(v) == 1 and math.isnan(v[0]) for v in cols.values())
                    (cb,) = proxy.js_property_callbacks["change:visible"]
                    assert "cb_obj.tags[0]" in cb.code and not cb.args
    assert seen == 14  # rd: iso, trail, sweep, current; ib: three; (i): 3; (ii): 4


def test_fig2_rows_scale_to_their_visible_data(view):
    from toyrd.explore import _redraw as RD

    V, parts, sources, data = view
    for name, key, cols in (
        ("fig2_i", "fig2_data", ("px", "g", "dbar")),
        ("fig2_ii", "fig2_latent", ("w0", "top", "q", "m")),
    ):
        fig, d = parts[name], data[key]
        tallest = max(max(d[c]) for c in cols)
        assert fig.y_range.end == RD.TOP_PAD[name] * tallest
        # hide the renderer that draws the tallest column: the bound drops to the others
        top_col = max(cols, key=lambda c: max(d[c]))
        (r,) = [
            r for r in fig.renderers if r.data_source is sources[key]
            and RD._y_column(r.glyph) == top_col
        ]  # fmt: skip
        r.visible = False
        try:
            rest = max(max(d[c]) for c in cols if c != top_col)
            assert RD.top_of(fig, sources[key], d) == RD.TOP_PAD[name] * rest
        finally:
            r.visible = True
