"""The explorer's controls and layout (Panel widgets around the plots of
:mod:`toyrd.explore._view`): what each control shows, its range and its one-line note, and
presentation mode. :class:`toyrd.explore._app.Explorer` adds the retrain loop."""

from __future__ import annotations

import html

from toyrd.explore import _model as M
from toyrd.explore import _view as V

__all__ = [
    "Controls",
    "status_html",
    "message_html",
    "box_text",
    "label_key",
    "make_widget",
    "PRESENTATION_SCALE",
    "PRESENTATION_CSS_HEIGHT",
    "PRESENTATION_HEIGHT",
    "SLIDERS",
]

#: Type size of presentation mode, relative to the screen layout.
PRESENTATION_SCALE = 1.6
#: Plot height in presentation mode: the window's height less a margin, at least
#: PRESENTATION_HEIGHT px (a 1024 × 768 projector shows 700 px of page).
PRESENTATION_CSS_HEIGHT = "calc(100vh - 40px)"
PRESENTATION_HEIGHT = 480
#: Plot heights of the screen layout (those of :func:`toyrd.explore._view.figures`).
#: Figure 2's panels in the page's two rows: the curves, then the three images.
_FIG2_ROWS = (("fig2_i", "fig2_ii"), ("fig2_iii", "fig2_iv", "fig2_v"))
_HEIGHTS = {"rd": 400, "ib": 400, "fig2_i": 240, "fig2_ii": 240} | dict.fromkeys(
    ("fig2_iii", "fig2_iv", "fig2_v"), 280
)
#: The slider range of each hyperparameter (the box takes any value >= 0).
SLIDERS = {"beta": (0.0, 3.0, 0.05), "lambda": (0.0, 3.0, 0.05), "sigma": (0.0, 2.0, 0.05)}

_CONTROL_NOTES = {
    "preset": "jump to a classic model of the paper",
    "init": "spread of the random initial logits (0.01: near the collapsed code)",
    "seed": "which random initialisation (an integer >= 0)",
    "steps": f"Adam steps on exact gradients (1 to {M.MAX_STEPS:,})",
}


def status_html(state: str, key: str, text: str) -> str:
    colour = {"ready": "#1b7837", "error": "#b2182b", "stopped": "#555555"}.get(state, "#8c510a")
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


def box_text(value) -> str:
    """A number as its box shows it (``repr`` of a float: what you type is what you get)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value).removesuffix(".0") if value != 0 else "0"
    return repr(value) if isinstance(value, float) else str(value)


def label_key(widget) -> str:
    """The parameter holding a widget's visible label ("label" from Panel 1.9, else "name")."""
    return "label" if "label" in widget.param else "name"


def make_widget(cls, *args, **kw):
    """``cls(..., label=…)``; Panel before 1.9 calls the label ``name``."""
    if "label" in kw and "label" not in cls.param:
        kw["name"] = kw.pop("label")
    return cls(*args, **kw)


class Controls:
    """The widgets, plots and layout of one page (no callbacks: the subclass wires them)."""

    def build(self, width: int = 270):
        """Create every widget and plot and the layout; needs ``self.in_force``."""
        import panel as pn

        from toyrd.objectives import KINDS
        from toyrd.tables import READINGS

        d = self.in_force
        w = pn.widgets
        self.preset = make_widget(
            w.Select,
            label="preset",
            options=["(choose a preset)", *M.PRESETS],
            value="(choose a preset)",
            width=width,
            description=_CONTROL_NOTES["preset"],
            css_classes=["toyrd-preset"],
        )
        self.objective = make_widget(
            w.Select,
            label="objective",
            value=d.objective,
            width=width,
            options={M.objective_label(k): k for k in KINDS},
            css_classes=["toyrd-objective"],
        )
        self.objective_note = pn.pane.HTML("", width=width, css_classes=["toyrd-note"])
        self.hyper = make_widget(
            w.TextInput, label="β", value="1", width=width, css_classes=["toyrd-hyper"]
        )
        self.hyper_slider = make_widget(
            w.FloatSlider,
            label="",
            start=0.0,
            end=3.0,
            step=0.05,
            value=1.0,
            width=width,
            show_value=False,
            css_classes=["toyrd-hyper-slider"],
        )
        families = [f for f in V.FAMILY_NOTES if f in READINGS]
        self.family = make_widget(
            w.Select,
            label="family",
            options=families + [f for f in READINGS if f not in families],
            value=d.family,
            width=width,
            css_classes=["toyrd-family"],
        )
        self.family_note = pn.pane.HTML("", width=width, css_classes=["toyrd-note"])
        self.init_scale = make_widget(
            w.TextInput,
            label="init scale (≥ 0)",
            value=box_text(d.init_scale),
            width=width,
            description=_CONTROL_NOTES["init"],
            css_classes=["toyrd-init-scale"],
        )
        self.seed = make_widget(
            w.TextInput,
            label="seed (integer ≥ 0)",
            value=str(d.seed),
            width=width // 2 - 5,
            description=_CONTROL_NOTES["seed"],
            css_classes=["toyrd-seed"],
        )
        self.steps = make_widget(
            w.TextInput,
            label=f"steps (1 – {M.MAX_STEPS:,})",
            value=str(d.steps),
            width=width // 2 - 5,
            description=_CONTROL_NOTES["steps"],
            css_classes=["toyrd-steps"],
        )
        self.play = make_widget(
            w.Button, label="▶ sweep β", width=width // 2 - 5, css_classes=["toyrd-play"]
        )
        self.stop = make_widget(
            w.Button,
            label="■ Stop",
            width=width // 2 - 5,
            **({"color": "warning"} if "color" in w.Button.param else {"button_type": "warning"}),
            css_classes=["toyrd-stop"],
        )
        self.presentation = make_widget(
            w.Toggle, label="presentation mode", width=width, css_classes=["toyrd-presentation"]
        )
        self.fig2_choice = make_widget(
            w.RadioButtonGroup,
            options=["i", "ii", "iii", "iv", "v"],
            value="iii",
            width=width,
            visible=False,
            css_classes=["toyrd-fig2-choice"],
        )
        self.export_button = make_widget(
            w.Button, label="Export model + figure", width=width, css_classes=["toyrd-export"]
        )
        self.clear_button = make_widget(
            w.Button, label="Clear trail", width=width, css_classes=["toyrd-clear"]
        )
        self.progress = pn.indicators.Progress(active=True, value=-1, width=width, visible=False)
        self.status = pn.pane.HTML(status_html("starting", "", "starting…"), width=width)
        self.message = pn.pane.HTML(message_html("none", ""), width=width)
        self.readout = pn.pane.HTML("", width=width, visible=False)

        self.parts, self.sources = V.figures(self.toy.entropy, M.frontier())
        # Each plot fills a box whose height the page sets (presentation mode changes it).
        self._panes = {}
        for k, fig in self.parts.items():
            if k == "table":
                self._panes[k] = pn.pane.Bokeh(fig, sizing_mode="stretch_width", min_width=180)
                continue
            fig.sizing_mode, fig.height = "stretch_both", None
            self._panes[k] = pn.Column(
                pn.pane.Bokeh(fig, sizing_mode="stretch_both"),
                sizing_mode="stretch_width",
                min_width=180,
                height=_HEIGHTS[k],
            )
        controls = self._controls = pn.Column(
            pn.pane.HTML(
                "<h2 style='margin:0'>toyrd explore</h2><div>exact retraining on the 30-bin "
                "toy of Alemi et al. (2018)</div>",
                width=width,
            ),
            self.preset,
            self.objective,
            self.objective_note,
            self.hyper,
            self.hyper_slider,
            self.family,
            self.family_note,
            self.init_scale,
            pn.Row(self.seed, self.steps),
            pn.Row(self.play, self.stop),
            self.status,
            self.progress,
            self.message,
            self.presentation,
            self.fig2_choice,
            self.readout,
            self.export_button,
            self.clear_button,
            width=width + 20,
            css_classes=["toyrd-controls"],
        )
        p = self._panes
        # rows (i)-(ii) side by side, then the three images: five in one row were too narrow
        # to read beside the controls (row (ii)'s title was cut)
        self._fig2_rows = tuple(pn.Row(sizing_mode="stretch_width") for _ in _FIG2_ROWS)
        self._fig2_row = pn.Column(*self._fig2_rows, sizing_mode="stretch_width")
        self._fill_fig2()
        self._planes = pn.Row(p["rd"], p["ib"], sizing_mode="stretch_width")
        self.main = pn.Column(self._planes, p["table"], self._fig2_row, sizing_mode="stretch_width")
        self.layout = pn.Row(controls, self.main, sizing_mode="stretch_width", name="toyrd explore")

    # ---------------------------------------------------------------- controls

    def settings(self) -> M.Settings:
        """The controls as (unvalidated) :class:`~toyrd.explore._model.Settings`."""
        return M.Settings(
            self.objective.value,
            M.parse_real(self.hyper.value),
            self.family.value,
            M.parse_real(self.init_scale.value),
            M.parse_int(self.seed.value),
            M.parse_int(self.steps.value),
        )

    def _set_controls(self, s: M.Settings):
        """Show validated settings ``s`` in every control (without triggering a retrain)."""
        from toyrd.objectives import HYPER_NAMES

        self._suspend = True
        try:
            self.objective.value = s.objective
            name = HYPER_NAMES[s.objective]
            if name is not None and s.hyper is not None:
                self._hyper[name] = s.hyper
            if s.family in self.family.options:
                self.family.value = s.family
            self.init_scale.value = box_text(s.init_scale)
            self.seed.value = str(s.seed)
            self.steps.value = str(s.steps)
        finally:
            self._suspend = False
        self._sync_hyper_widget()
        self._sync_notes()

    def _sync_hyper_widget(self):
        """Name, value, range and state of the β/λ/σ box and slider for the chosen objective."""
        from toyrd.objectives import HYPER_NAMES

        name = HYPER_NAMES[self.objective.value]
        self._suspend = True
        try:
            if name is None:
                self.hyper.param.update(
                    **{label_key(self.hyper): "(no hyperparameter)"}, value="", disabled=True
                )
                self.hyper_slider.disabled = True
                self.play.disabled = True
                setattr(self.play, label_key(self.play), "▶ sweep")
            else:
                sym = M.hyper_label(self.objective.value)
                lo, hi, step = SLIDERS.get(name, (0.0, 3.0, 0.05))
                v = self._hyper.get(name, 1.0)
                self.hyper.param.update(
                    **{label_key(self.hyper): f"{sym} (≥ 0; slider {lo:g} – {hi:g})"},
                    value=box_text(v),
                    disabled=False,
                )
                self.hyper_slider.param.update(
                    start=lo, end=hi, step=step, value=min(max(v, lo), hi), disabled=False
                )
                self.play.disabled = False
                setattr(self.play, label_key(self.play), f"▶ sweep {sym}")
        finally:
            self._suspend = False

    def _sync_notes(self):
        self.objective_note.object = (
            f"<small>{html.escape(V.OBJECTIVE_NOTES.get(self.objective.value, ''))}</small>"
        )
        self.family_note.object = (
            f"<small>{html.escape(V.FAMILY_NOTES.get(self.family.value, ''))}</small>"
        )

    def _normalise_boxes(self, s):
        """Write the parsed values back ("  0.50 " → "0.5"): the box shows what is in force."""
        self._suspend = True
        try:
            if s.hyper is not None:
                self.hyper.value = box_text(s.hyper)
                lo, hi = self.hyper_slider.start, self.hyper_slider.end
                self.hyper_slider.value = min(max(s.hyper, lo), hi)
            self.init_scale.value = box_text(s.init_scale)
            self.seed.value = str(s.seed)
            self.steps.value = str(s.steps)
        finally:
            self._suspend = False

    def _on_presentation(self, _event=None):
        """Presentation mode: large type, the RD plane and one Figure 2 panel (chosen by the
        i–v buttons) side by side at :data:`PRESENTATION_HEIGHT`, a large R / D readout; the
        I(z;z*) panel, the table and the other Figure 2 panels step aside."""
        on = self.presentation.value
        V.set_scale(self.parts, PRESENTATION_SCALE if on else 1.0)
        chosen = "fig2_" + self.fig2_choice.value
        p = self._panes
        for k in self.parts:
            if k != "table":
                p[k].param.update(
                    height=None if on else _HEIGHTS[k],
                    min_height=PRESENTATION_HEIGHT if on else None,
                    styles={"height": PRESENTATION_CSS_HEIGHT} if on else {},
                )
        self.fig2_choice.visible = self.readout.visible = on
        # Bokeh's widgets size their text by --bokeh-font-size, inherited through shadow roots
        self._controls.styles = {"--bokeh-font-size": "15px"} if on else {}
        p["ib"].visible = p["table"].visible = not on
        self._planes[:] = [p["rd"], p[chosen]] if on else [p["rd"], p["ib"]]
        self._fill_fig2(skip=chosen if on else None)
        self._fig2_row.visible = not on

    def _fill_fig2(self, skip=None):
        """Figure 2's panels in their two rows (:data:`_FIG2_ROWS`), but ``skip`` (the panel
        that presentation mode shows beside the RD plane)."""
        for row, names in zip(self._fig2_rows, _FIG2_ROWS):
            row[:] = [self._panes[k] for k in names if k != skip]

    def _readout(self, up):
        q = up.quantities
        return (
            "<div id='toyrd-readout' style='font-size:28px;line-height:1.35'>"
            f"R = {V.fmt(q['R'])}<br>D = {V.fmt(q['D'])}<br>"
            f"I(z;z*) = {V.fmt(q['I_zstar'])}<br><small>nats</small></div>"
        )
