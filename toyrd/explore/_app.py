"""The live explorer page (Panel on Bokeh): controls, the plots of :mod:`toyrd.explore._view`,
and the retrain loop.

Served by ``toyrd explore`` (:mod:`toyrd.explore._serve`, one :func:`app` per browser session) or
shown in a notebook as the value of ``toyrd.explore.app()``.

* **Typing.** Number boxes are plain text boxes: select-all replaces, nothing happens until
  Enter or leaving the box. The text is read by :func:`~toyrd.explore._model.parse_real` /
  :func:`~toyrd.explore._model.parse_int` and validated by
  :func:`~toyrd.explore._model.check_settings`; a refused value shows the library's one-line
  message while the box goes back to the value in force (the model on display is kept).
* **Never blocked.** Under a server every retrain runs on a worker thread; the page's event loop
  only applies results. A newer change supersedes the one running (its result is dropped when
  it ends), Stop drops the run in progress and any sweep, steps are bounded by
  :data:`~toyrd.explore._model.MAX_STEPS`, and the status names the expected time before a run
  starts. (A compiled XLA run cannot be interrupted half-way: a dropped run still finishes in the
  background, at most MAX_STEPS steps, while the page stays usable.) In a notebook it runs
  inline.
* **Lecture tools.** Presets (Figure 2 a / b / c, collapse), a sweep of β / λ / σ across the
  slider's range (points of one sweep joined by a line; other earlier models are points), one
  line on each objective and family, and a presentation mode (large type, the RD plane and one
  Figure 2 panel at a time).

Stable hooks for tests and scripts: element ids ``toyrd-status`` (``data-state`` = ready /
training / compiling / error / stopped, ``data-key`` = :func:`~toyrd.explore._model.settings_key`
of the model shown, or of the run in progress while training), ``toyrd-message``
(``data-kind`` = none / error / info), the table cells and renderers of :mod:`toyrd.explore._view`;
controls carry the CSS classes ``toyrd-<control>``.
"""

from __future__ import annotations

import threading
from functools import partial

import numpy as np

from toyrd.errors import ToyrdError
from toyrd.explore import _controls as C
from toyrd.explore import _model as M
from toyrd.explore import _view as V
from toyrd.explore._controls import SLIDERS, box_text, message_html, status_html

__all__ = ["app", "Explorer", "TRAIL_LENGTH", "SWEEP_POINTS"]

#: Earlier models kept on the planes.
TRAIL_LENGTH = 40
#: Models in one sweep of the hyperparameter across its slider's range.
SWEEP_POINTS = 13


def _guarded(fn, *args):
    """``(fn(*args), None)``, or ``(None, message)`` if it raised: a failed run is shown, never
    allowed to take the page down."""
    try:
        return fn(*args), None
    except ToyrdError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 -- shown on the page instead of lost in a log
        return None, f"{getattr(fn, '__name__', 'run')} failed: {type(exc).__name__}: {exc}"


def _model_data(up: M.Update) -> dict:
    s = up.settings
    return V.panel_data(
        up.px,
        up.pzx,
        up.encoder,
        up.decoder,
        up.marginal,
        up.quantities,
        objective=s.objective,
        hyper=s.hyper,
        label=M.describe(s),
    )


def _compute(s):
    """Worker side of one request: the model (trained, or Figure 2a built) and its view data."""
    up = M.optimal_update() if s is None else M.train_model(s)
    return up, _model_data(up)


class Explorer(C.Controls):
    """One page: widgets, plots and the retrain loop. ``layout`` is the Panel object to show."""

    def __init__(self, export_dir: str = "explore_out"):
        import panel as pn

        from toyrd.data import toy_data

        self.toy = toy_data()
        self.export_dir = export_dir
        self.current = None  # the Update on display
        self.in_force = M.check_settings(M.Settings())  # the settings of the last valid request
        self._hyper = dict(M.DEFAULT_HYPER)  # last good value per hyperparameter name
        self._suspend = False
        self._lock = threading.Lock()
        self._gen = 0  # bumped by every request and by Stop: a result of an older one is dropped
        self._pending = None  # (generation, settings) waiting for the worker
        self._worker = None
        self._running = None  # (generation, settings, expected seconds) on the worker now
        self._sweep = []  # values still to train in the running sweep
        self._sweeping = False
        self._sweep_points = []  # trail rows of the running (or last) sweep
        doc = pn.state.curdoc
        self._doc = doc if doc is not None and doc.session_context is not None else None

        self.build()
        self._sync_hyper_widget()
        self._sync_notes()

        self.objective.param.watch(self._on_objective, "value")
        self.family.param.watch(self._on_simple, "value")
        for box in (self.hyper, self.init_scale, self.seed, self.steps):
            box.param.watch(self._on_box, "value")
        self.hyper_slider.param.watch(self._on_slider, "value_throttled")
        self.preset.param.watch(self._on_preset, "value")
        self.presentation.param.watch(self._on_presentation, "value")
        self.fig2_choice.param.watch(self._on_presentation, "value")
        self.play.on_click(self._on_play)
        self.stop.on_click(self._on_stop)
        self.export_button.on_click(self._on_export)
        self.clear_button.on_click(self._on_clear)

    def _on_objective(self, event):
        if self._suspend:
            return
        self._sync_hyper_widget()
        self._sync_notes()
        self._user_change()

    def _on_simple(self, event):
        if self._suspend:
            return
        self._sync_notes()
        self._user_change()

    def _on_box(self, event):
        """Enter or leaving a box (TextInput commits its value only then)."""
        if self._suspend:
            return
        self._user_change(box=event.obj)

    def _on_slider(self, event):
        if self._suspend or self.hyper.disabled:
            return
        self._suspend = True
        try:
            self.hyper.value = box_text(round(float(event.new), 10))
        finally:
            self._suspend = False
        self._user_change()

    def _on_preset(self, event):
        if self._suspend or event.new not in M.PRESETS:
            return
        s = M.PRESETS[event.new]
        self._stop_sweep()
        if s is None:
            self._submit(None)
        else:
            self._set_controls(s)
            self.request(s)
        self._suspend = True
        try:
            self.preset.value = "(choose a preset)"
        finally:
            self._suspend = False

    def _user_change(self, box=None):
        self._stop_sweep()
        self.request(box=box)

    # ---------------------------------------------------------------- requests

    def request(self, settings: M.Settings | None = None, *, box=None):
        """Validate ``settings`` (default: the controls) and retrain, or show why not (the
        controls go back to the settings in force; the model on display stays)."""
        from toyrd.objectives import HYPER_NAMES

        try:
            s = M.check_settings(self.settings() if settings is None else settings)
        except ToyrdError as exc:
            self._error(str(exc))
            self._revert(box)
            return
        name = HYPER_NAMES[s.objective]
        if name is not None:
            self._hyper[name] = s.hyper
        self.in_force = s
        self.message.object = message_html("none", "")
        self._normalise_boxes(s)
        self._submit(s)

    def _revert(self, box):
        """Put the values in force back into the controls (the box that held a refused value
        included); done on the next tick, after the browser's own change has landed."""
        self._later(self._set_controls, self.in_force)

    def _later(self, fn, *args):
        """Run ``fn`` on the page's next tick (under a server), else now."""
        if self._doc is None:
            fn(*args)
        else:
            self._doc.add_next_tick_callback(partial(fn, *args))

    def _submit(self, s):
        """Queue ``s`` (None: the Figure 2a model) for the worker; it supersedes anything queued
        or running."""
        with self._lock:
            self._gen += 1
            gen = self._gen
            running = self._running
        self._busy(s, running)
        if self._doc is None:  # notebook or script: inline
            self._apply(gen, s, *_guarded(_compute, s))
            return
        with self._lock:
            self._pending = (gen, s)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="toyrd-explore", daemon=True
                )
                self._worker.start()

    def _work(self):
        """Worker thread: compute the latest request; hand the result to the event loop."""
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._worker = self._running = None
                    return
                gen, s = job
                self._running = (gen, s, 0.0 if s is None else M.expected_seconds(s))
            out, err = _guarded(_compute, s)
            self._doc.add_next_tick_callback(partial(self._apply, gen, s, out, err))

    def _busy(self, s, running):
        if s is None:
            key, state, text = "optimal", "training", "building the Figure 2 (a) model…"
        else:
            key = M.settings_key(s)
            t = M.expected_seconds(s)
            if M.is_compiled(s):
                state, text = "training", f"training {M.describe(s)} (expected ≈ {t:.1f} s)…"
            else:
                state = "compiling"
                text = (
                    f"compiling and training {s.objective} / {s.family} / {s.steps} steps "
                    f"(first run of these; expected ≈ {t:.0f} s)…"
                )
        if running is not None:
            text += f" — after the superseded run ends (≤ {running[2]:.1f} s)"
        self.status.object = status_html(state, key, text)
        self.progress.visible = True

    def _apply(self, gen, s, out, err):
        """Event loop: show a finished run unless a newer request or Stop superseded it."""
        if gen != self._gen:
            return
        self.progress.visible = False
        if err is not None:
            self._stop_sweep()
            self._error(err)
            return
        up, data = out
        self._show(up, data)
        if self._sweep_next():
            return  # the next model of the sweep is on its way (the status says so)
        if s is None:
            text = "ready: Figure 2 (a), built by hand"
        else:
            text = f"ready: trained in {up.train_s:.2f} s"
            text += " (compile included)" if up.compiled else ""
        self.status.object = status_html("ready", M.settings_key(up.settings), text)

    def _show(self, up, data):
        """The model on the plots; the one it replaces joins the trail (a sweep's models are
        on the sweep's line instead)."""
        prev = self.current
        if self._sweeping:
            self._sweep_points.append(V.trail_row(up.quantities, M.describe(up.settings)))
            pts = self._sweep_points
            self.sources["sweep"].data = {k: [v for r in pts for v in r[k]] for k in pts[0]}
        elif prev is not None:
            self._to_trail(prev)
        V.show(self.parts, self.sources, data)
        self.readout.object = self._readout(up)
        self.current = up

    def _to_trail(self, up):
        t = self.sources["trail"].data
        row = V.trail_row(up.quantities, M.describe(up.settings))
        self.sources["trail"].data = {k: (list(t[k]) + row[k])[-TRAIL_LENGTH:] for k in row}

    def _error(self, text: str):
        self.message.object = message_html("error", text)
        key = "" if self.current is None else M.settings_key(self.current.settings)
        self.status.object = status_html(
            "error", key, "not retrained: the model shown is the last good one"
        )

    # ---------------------------------------------------------------- sweep, stop

    def _on_play(self, _event=None):
        """Sweep the hyperparameter across its slider's range, one model after the other."""
        from toyrd.objectives import HYPER_NAMES

        name = HYPER_NAMES[self.in_force.objective]
        if name is None:
            return
        lo, hi, _ = SLIDERS.get(name, (0.0, 3.0, 0.05))
        self._stop_sweep()
        if self.current is not None:  # the model before the sweep joins the trail
            self._to_trail(self.current)
        self._sweeping = True
        self._sweep_points = []
        self.sources["sweep"].data = {"R": [], "D": [], "I": [], "label": []}
        values = [float(v) for v in np.round(np.linspace(lo, hi, SWEEP_POINTS), 10)]
        self._sweep = values[1:]
        self._sweep_request(values[0])

    def _sweep_request(self, value):
        s = self.in_force._replace(hyper=value)
        self._set_controls(s)
        self.request(s)
        done = SWEEP_POINTS - len(self._sweep)
        self.status.object = self.status.object.replace("…", f"… (sweep {done}/{SWEEP_POINTS})", 1)

    def _sweep_next(self) -> bool:
        """After a result: start the next model of a running sweep; True if one was started."""
        if not self._sweeping:
            return False
        if not self._sweep:
            self._sweeping = False
            return False
        self._sweep_request(self._sweep.pop(0))
        return True

    def _stop_sweep(self):
        self._sweep = []
        self._sweeping = False

    def _on_stop(self, _event=None):
        """Drop the run in progress, anything queued and the sweep; the controls show the model
        on display again."""
        self._stop_sweep()
        with self._lock:
            self._gen += 1
            self._pending = None
        self.progress.visible = False
        if self.current is not None:
            if self.current.settings.family != "optimal":
                self.in_force = self.current.settings
                self._set_controls(self.in_force)
            key = M.settings_key(self.current.settings)
        else:
            key = ""
        self.status.object = status_html(
            "stopped", key, "stopped: the model shown is the last one finished"
        )

    # ---------------------------------------------------------------- presentation, buttons

    def _on_export(self, _event=None):
        if self.current is None:
            self._error("export: no model trained yet")
            return
        try:
            paths = M.export(self.current, self.export_dir)
        except ToyrdError as exc:
            self._error(str(exc))
            return
        self.message.object = message_html("info", "wrote " + " and ".join(paths))

    def _on_clear(self, _event=None):
        empty = {"R": [], "D": [], "I": [], "label": []}
        self.sources["trail"].data = dict(empty)
        self.sources["sweep"].data = dict(empty)
        self._sweep_points = []


def app(export_dir: str = "explore_out"):
    """The explorer as a Panel layout (show it in a notebook, or serve it with ``toyrd explore``).

    The first model (the controls' defaults) trains when the page loads, on the worker thread:
    the page is usable before it arrives. ``export_dir``: where the Export button writes the
    model ``.npz`` and the Figure 2 PNG.
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
