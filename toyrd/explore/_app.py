"""The explorer page (Panel on Bokeh): controls, RD plane, I(z;z*) panel, Figure 2, the table.

This module holds the page's state and its retrain loop (:class:`Explorer`, :func:`app`); the
pieces it shows (HTML snippets, widget helpers, the Bokeh planes) are in
:mod:`toyrd.explore._view`.

Served by ``toyrd explore`` (:mod:`toyrd.explore._serve`, one :func:`app` per browser session) or
shown in a notebook as the value of ``toyrd.explore.app()``. Each control change is validated
(:func:`toyrd.explore._model.check_settings`; a bad value shows its one-line message and keeps
the last model) and retrains the model exactly (:func:`toyrd.explore._model.compute`). Under a
server the retrain runs on a worker thread, so the page shows its progress; a change made
while training waits, and only the latest one runs next. In a notebook it runs inline.

Stable hooks for tests and scripts: element ids ``toyrd-status`` (``data-state`` = ready /
training / compiling / error, ``data-key`` = :func:`~toyrd.explore._model.settings_key` of the
model shown), ``toyrd-message``, ``q-<name>`` for every quantity of the table (text: 6 decimals;
``data-value``: the float64 ``repr``); Bokeh renderers named ``rd-current`` (x = R, y = D) and
``ib-current`` (x = R, y = I(z;z*)); controls carry the CSS classes ``toyrd-<control>``.
"""

from __future__ import annotations

import threading
from functools import partial

from toyrd.errors import ToyrdError
from toyrd.explore import _model as M
from toyrd.explore import _view as V

__all__ = ["app", "Explorer", "TRAIL_LENGTH"]

#: Previous models kept on the planes.
TRAIL_LENGTH = 30


def _guarded(fn, arg):
    """``(fn(arg), None)``, or ``(None, message)`` if it raised: a failed run is shown, never
    allowed to take the page down."""
    try:
        return fn(arg), None
    except ToyrdError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 -- shown on the page instead of lost in a log
        return None, f"{fn.__name__} failed: {type(exc).__name__}: {exc}"


class Explorer:
    """One page: widgets, plots and the retrain loop. ``layout`` is the Panel object to show."""

    def __init__(self, export_dir: str = "explore_out"):
        import panel as pn

        from toyrd.data import toy_data
        from toyrd.objectives import KINDS
        from toyrd.tables import FAMILIES, READINGS

        self.toy = toy_data()
        self.export_dir = export_dir
        self.current = None  # the Update on display
        self._hyper = dict(M.DEFAULT_HYPER)  # last value per hyperparameter name
        self._suspend = False
        self._lock = threading.Lock()
        self._pending = None
        self._worker = None
        doc = pn.state.curdoc
        self._doc = doc if doc is not None and doc.session_context is not None else None

        d = M.Settings()
        w = pn.widgets
        self.objective = V.widget(
            w.Select,
            "objective",
            value=d.objective,
            width=260,
            options={M.objective_label(k): k for k in KINDS},
            css_classes=["toyrd-objective"],
        )
        self.hyper = V.widget(
            w.EditableFloatSlider,
            "β",
            start=0.0,
            end=3.0,
            step=0.05,
            value=1.0,
            width=260,
            css_classes=["toyrd-hyper"],
        )
        self.family = V.widget(
            w.Select,
            "family",
            options=list(READINGS)
            + sorted(set(FAMILIES) - set(READINGS) - {"tabular/tabular", "bump/bump"}),
            value=d.family,
            width=260,
            css_classes=["toyrd-family"],
        )
        self.init_scale = V.widget(
            w.EditableFloatSlider,
            "init scale",
            start=0.0,
            end=3.0,
            step=0.05,
            value=d.init_scale,
            width=260,
            css_classes=["toyrd-init-scale"],
        )
        self.seed = V.widget(
            w.IntInput, "seed", value=d.seed, width=125, css_classes=["toyrd-seed"]
        )
        self.steps = V.widget(
            w.IntInput, "steps", value=d.steps, step=100, width=125, css_classes=["toyrd-steps"]
        )
        self.export_button = V.widget(
            w.Button, "Export model + figure", width=260, css_classes=["toyrd-export"]
        )
        self.clear_button = V.widget(
            w.Button, "Clear trail", width=260, css_classes=["toyrd-clear"]
        )
        self.progress = pn.indicators.Progress(active=True, value=-1, width=260, visible=False)
        self.status = pn.pane.HTML(V.status_html("starting", "", "starting…"), width=260)
        self.message = pn.pane.HTML(V.message_html("none", ""), width=260)
        self.table = pn.pane.HTML("", width=520)
        self.figure = pn.pane.PNG(None, width=234, height=860)
        self.rd, self.ib, self._trail, self._current = V.planes(self.toy.entropy, M.frontier())

        self._sync_hyper_widget()
        for widget in (
            self.objective,
            self.hyper,
            self.family,
            self.init_scale,
            self.seed,
            self.steps,
        ):
            widget.param.watch(self._on_change, "value")
        self.export_button.on_click(self._on_export)
        self.clear_button.on_click(self._on_clear)

        controls = pn.Column(
            pn.pane.HTML(
                "<h2 style='margin:0'>toyrd explore</h2><div>exact retraining on the "
                "30-bin toy of Alemi et al. (2018)</div>",
                width=260,
            ),
            self.objective,
            self.hyper,
            self.family,
            self.init_scale,
            pn.Row(self.seed, self.steps),
            self.status,
            self.progress,
            self.message,
            self.export_button,
            self.clear_button,
            width=290,
        )
        planes = pn.Column(
            pn.Row(pn.pane.Bokeh(self.rd), pn.pane.Bokeh(self.ib)), pn.Row(self.table)
        )
        self.layout = pn.Row(controls, planes, self.figure, name="toyrd explore")

    # ---------------------------------------------------------------- controls

    def settings(self) -> M.Settings:
        """The controls as (unvalidated) :class:`~toyrd.explore._model.Settings`."""
        return M.Settings(
            self.objective.value,
            self.hyper.value,
            self.family.value,
            self.init_scale.value,
            self.seed.value,
            self.steps.value,
        )

    def _sync_hyper_widget(self):
        """Name, value and state of the β/λ/σ control for the chosen objective."""
        from toyrd.objectives import HYPER_NAMES

        name = HYPER_NAMES[self.objective.value]
        self._suspend = True
        try:
            if name is None:
                V.relabel(self.hyper, "(no hyperparameter)", disabled=True)
            else:
                V.relabel(
                    self.hyper,
                    M.hyper_label(self.objective.value),
                    disabled=False,
                    value=self._hyper.get(name, 1.0),
                )
        finally:
            self._suspend = False

    def _on_change(self, event):
        if self._suspend:
            return
        from toyrd.objectives import HYPER_NAMES

        if event.obj is self.objective:
            self._sync_hyper_widget()
        elif event.obj is self.hyper and HYPER_NAMES[self.objective.value] is not None:
            self._hyper[HYPER_NAMES[self.objective.value]] = event.new
        self.request()

    def request(self, settings: M.Settings | None = None):
        """Validate ``settings`` (default: the controls) and retrain, or show why not."""
        try:
            s = M.check_settings(self.settings() if settings is None else settings)
        except ToyrdError as exc:
            self._error(str(exc))
            return
        self.message.object = V.message_html("none", "")
        self._busy(s)
        if self._doc is None:  # notebook or script: retrain inline
            up, err = _guarded(M.train_model, s)
            self._apply_numbers(s, up, err)
            if err is None:
                self._apply_figure(s, *_guarded(M.draw, up))
            return
        with self._lock:
            self._pending = s
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="toyrd-explore", daemon=True
                )
                self._worker.start()

    # ---------------------------------------------------------------- retrain loop

    def _work(self):
        """Worker thread: train the latest request; draw its figure unless a newer one waits."""
        while True:
            with self._lock:
                s, self._pending = self._pending, None
                if s is None:
                    self._worker = None
                    return
            up, err = _guarded(M.train_model, s)
            self._doc.add_next_tick_callback(partial(self._apply_numbers, s, up, err))
            if err is None and not self._waiting():
                self._doc.add_next_tick_callback(
                    partial(self._apply_figure, s, *_guarded(M.draw, up))
                )

    def _waiting(self) -> bool:
        with self._lock:
            return self._pending is not None

    def _busy(self, s):
        if M.is_compiled(s):
            text = f"training {M.describe(s)}…"
            state = "training"
        else:
            text = (
                f"compiling the training run for {s.objective} / {s.family} / {s.steps} "
                "steps (once per process, a few seconds)…"
            )
            state = "compiling"
        self.status.object = V.status_html(state, M.settings_key(s), text)
        self.progress.visible = True

    def _apply_numbers(self, s, up, err):
        """The planes and the table (first: they are ready before the figure)."""
        if err is not None:
            self._error(err)
            return
        self._show(up)
        if not self._waiting():
            self.status.object = V.status_html(
                "drawing", M.settings_key(s), f"trained in {up.train_s:.2f} s; drawing Figure 2…"
            )

    def _apply_figure(self, s, up, err):
        if err is not None:
            self._error(err)
            return
        if self.current is None or self.current.settings != s:
            return  # a newer model is on display
        self.current = up
        self.figure.object = up.png
        self.table.object = V.table_html(up)
        if not self._waiting():
            self.progress.visible = False
            self.status.object = V.status_html(
                "ready",
                M.settings_key(s),
                f"ready: trained in {up.train_s:.2f} s, drawn in {up.draw_s:.2f} s",
            )

    def _show(self, up):
        prev = self.current
        if prev is not None:
            q = prev.quantities
            data = dict(self._trail.data)
            row = dict(R=q["R"], D=q["D"], I=q["I_zstar"], label=M.describe(prev.settings))
            self._trail.data = {k: (list(data[k]) + [row[k]])[-TRAIL_LENGTH:] for k in row}
        q = up.quantities
        self._current.data = dict(
            R=[q["R"]], D=[q["D"]], I=[q["I_zstar"]], label=[M.describe(up.settings)]
        )
        top = max(self.rd.x_range.end, 1.05 * q["R"]), max(self.rd.y_range.end, 1.05 * q["D"])
        if top != (self.rd.x_range.end, self.rd.y_range.end):
            self.rd.x_range.end, self.rd.y_range.end = top
        self.current = up
        self.table.object = V.table_html(up)

    def _error(self, text: str):
        self.message.object = V.message_html("error", text)
        key = "" if self.current is None else M.settings_key(self.current.settings)
        self.status.object = V.status_html("error", key, "not retrained: see the message below")
        self.progress.visible = False

    # ---------------------------------------------------------------- buttons

    def _on_export(self, _event=None):
        if self.current is None:
            self._error("export: no model trained yet")
            return
        try:
            paths = M.export(self.current, self.export_dir)
        except ToyrdError as exc:
            self._error(str(exc))
            return
        self.message.object = V.message_html("info", "wrote " + " and ".join(paths))

    def _on_clear(self, _event=None):
        self._trail.data = dict(R=[], D=[], I=[], label=[])


def app(export_dir: str = "explore_out"):
    """The explorer as a Panel layout (show it in a notebook, or serve it with ``toyrd explore``).

    The first model (the controls' defaults) trains when the page loads. ``export_dir``: where
    the Export button writes the model ``.npz`` and the Figure 2 PNG.
    """
    import panel as pn

    ex = Explorer(export_dir)
    if ex._doc is None:
        pn.extension()
        ex.request()
    else:
        pn.state.onload(ex.request)
    ex.layout.explorer = ex  # reachable from the returned object (notebooks, tests)
    return ex.layout
