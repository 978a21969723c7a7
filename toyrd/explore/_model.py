"""What the explorer computes, without any web framework: settings, one exact retrain, export.

Every update of the page is one validated :class:`Settings` → :func:`train_model` (one model
trained by :func:`toyrd.train.jax.train` with exact gradients — the run for a given objective
kind, family and number of steps is compiled once per process, later runs with new β / σ, init
scale or seed reuse it — and evaluated by :func:`toyrd.evaluate`); the page then draws it with
:func:`toyrd.explore._view.panel_data` (native plots, no image per change). :func:`draw` makes
the matplotlib Figure 2 column only for an export. Nats throughout.

Typed text becomes settings through :func:`parse_real` / :func:`parse_int` (no rounding, no
dropped characters: what cannot be read is passed on as text, and :func:`check_settings` refuses
it with the library's own message). Steps are bounded by :data:`MAX_STEPS`.

>>> s = check_settings(Settings(objective="beta", hyper=0.5))                  # doctest: +SKIP
>>> up = train_model(s)                                                        # doctest: +SKIP
>>> abs(up.quantities["ELBO"] + up.quantities["R"] + up.quantities["D"]) < 1e-12  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import time
from typing import NamedTuple

import numpy as np

from toyrd._validate import check_int
from toyrd.errors import ToyrdError
from toyrd.tables import FIGURE2_FAMILY
from toyrd.train import TrainConfig

_DEFAULTS = TrainConfig()

__all__ = [
    "Settings",
    "Update",
    "check_settings",
    "train_model",
    "draw",
    "export",
    "frontier",
    "is_compiled",
    "settings_key",
    "describe",
    "hyper_label",
    "objective_label",
    "DEFAULT_HYPER",
    "MAX_STEPS",
    "PRESETS",
    "parse_real",
    "parse_int",
    "expected_seconds",
    "optimal_update",
]

#: The most Adam steps one retrain may take (a larger number is refused before anything runs).
#: Measured on the 2-core machine: about 70 µs per step after the compile, so 20,000 steps train
#: in about 1.5 s — the longest wait a control can cause, plus a first compile of that length.
MAX_STEPS = 20_000

#: The value the hyperparameter control starts at for each hyperparameter name (β, λ: 1 is the
#: ELBO; σ = 0.5 nats, the paper's target rate).
DEFAULT_HYPER = {"beta": 1.0, "lambda": 1.0, "sigma": 0.5}

_SYMBOLS = {"beta": "β", "lambda": "λ", "sigma": "σ"}
_LOSSES = {"elbo": "D + R", "beta": "D + βR", "rda": "R + λD", "target_rate": "D + |σ − R|"}


def hyper_label(kind: str) -> str | None:
    """The symbol of objective ``kind``'s hyperparameter ("β", "σ", …), None if it has none."""
    from toyrd.objectives import HYPER_NAMES

    name = HYPER_NAMES[kind]
    return None if name is None else _SYMBOLS.get(name, name)


def objective_label(kind: str) -> str:
    """'beta: D + βR' — the kind with its loss where known (new kinds show their bare name)."""
    return f"{kind}: {_LOSSES[kind]}" if kind in _LOSSES else kind


class Settings(NamedTuple):
    """One point of the controls. ``hyper`` is β, λ or σ (ignored for "elbo").

    The defaults are Figure 2's family and initialisation (init scale 0.01, near the collapsed
    encoder) with the ELBO written as the β-VAE at β = 1, so the β control is live at once."""

    objective: str = "beta"
    hyper: float | None = 1.0
    family: str = FIGURE2_FAMILY
    init_scale: float = 0.01
    seed: int = 0
    steps: int = _DEFAULTS.steps


#: What a lecturer reaches for: name → settings (``None``: the hand-built optimal model of
#: Figure 2a, :func:`optimal_update`). The trained ones use Figure 2's family and init scale.
PRESETS = {
    "Figure 2 (a): the optimal model (built, not trained)": None,
    "Figure 2 (b): ELBO, collapses to R ≈ 0": Settings("elbo", None, FIGURE2_FAMILY, 0.01, 0, 2000),
    "Figure 2 (c): target rate σ = 0.5": Settings(
        "target_rate", 0.5, FIGURE2_FAMILY, 0.01, 0, 2000
    ),
    "collapse: β = 2, the code is ignored": Settings("beta", 2.0, FIGURE2_FAMILY, 0.3, 0, 2000),
    "a used code: β = 0.3": Settings("beta", 0.3, FIGURE2_FAMILY, 0.3, 0, 2000),
}

_INT = re.compile(r"[+-]?[0-9]+")


def parse_real(text):
    """Typed text → float, ``None`` for an empty box, or the stripped text itself when it is not
    a number (so :func:`check_settings` names it). ``1e309`` reads as inf (refused there)."""
    if text is None:
        return None
    if not isinstance(text, str):
        return text
    t = text.strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        return t


def parse_int(text):
    """Typed text → int (digits only, no rounding: "1.5" stays text and is refused), ``None``
    for an empty box, else the stripped text."""
    if text is None:
        return None
    if not isinstance(text, str):
        return text
    t = text.strip()
    if not t:
        return None
    return int(t) if _INT.fullmatch(t) else t


def check_settings(s: Settings) -> Settings:
    """The settings with the hyperparameter as float (None for elbo), or a one-line ToyrdError.

    Rules: the objective is one of :data:`toyrd.objectives.KINDS` and its hyperparameter a finite
    number >= 0 (an empty box is an error, not the default); the family is known to
    :func:`toyrd.tables.get_family`; init scale finite >= 0; seed an integer >= 0; steps an
    integer in [1, :data:`MAX_STEPS`]. The messages are the library's (check_hyper, check_int).
    """
    from toyrd.objectives import HYPER_NAMES, check_hyper, check_kind
    from toyrd.tables import get_family

    check_kind(s.objective)
    if HYPER_NAMES[s.objective] is not None and s.hyper is None:
        raise ToyrdError(f"{hyper_label(s.objective)}: empty; type a number >= 0")
    hyper = check_hyper(s.objective, s.hyper)
    family = get_family(s.family).name
    scale = s.init_scale
    if scale is None:
        raise ToyrdError("init scale: empty; type a number >= 0")
    if not (
        isinstance(scale, (int, float, np.number))
        and not isinstance(scale, bool)
        and math.isfinite(scale)
        and scale >= 0
    ):
        raise ToyrdError(f"init scale: {scale!r}, expected a finite number >= 0")
    seed = check_int("seed", s.seed, 0)
    steps = check_int("steps", s.steps, 1)
    if steps > MAX_STEPS:
        raise ToyrdError(
            f"steps: {steps}, expected at most {MAX_STEPS} (the explorer's bound: about "
            f"{MAX_STEPS * _STEP_S:.1f} s of training)"
        )
    return Settings(s.objective, hyper, family, float(scale), seed, steps)


def settings_key(s: Settings) -> str:
    """A stable one-line name of validated settings: the page's ``data-key`` (tests wait on it)."""
    if s.family == "optimal":
        return "optimal"
    h = "-" if s.hyper is None else repr(float(s.hyper))
    return (
        f"objective={s.objective} hyper={h} family={s.family} init_scale={s.init_scale!r} "
        f"seed={s.seed} steps={s.steps}"
    )


def describe(s: Settings) -> str:
    """'beta β=0.5 · bump · init 0.3 · seed 0 · 2000 steps' (for titles and the trail)."""
    if s.family == "optimal":
        return "Figure 2 (a): the optimal model, built by hand (R = I(x;z*), D = H − R)"
    sym = hyper_label(s.objective)
    head = s.objective if sym is None else f"{s.objective} {sym}={s.hyper:g}"
    return f"{head} · {s.family} · init {s.init_scale:g} · seed {s.seed} · {s.steps} steps"


# The compiled runs this process has made, by the static part of the configuration (the trainer
# caches its jitted scan on the same things: objective kind, family, steps).
_COMPILED: set = set()


def is_compiled(s: Settings) -> bool:
    """Whether a run with the static configuration of ``s`` was already compiled here."""
    return (s.objective, s.family, s.steps) in _COMPILED


#: Seconds per Adam step before any run was timed (the 2-core machine, Figure 2 family), and of
#: a first compile (with JAX's persistent cache warm it is mostly a cache read).
_STEP_S = 70e-6
_COMPILE_S = 4.0
# Measured seconds per step of the last run of each family (updated by train_model).
_PER_STEP: dict = {}


def expected_seconds(s: Settings) -> float:
    """How long :func:`train_model` of ``s`` should take: steps × the last measured time per step
    of its family (or :data:`_STEP_S`), plus a compile if this static configuration is new."""
    per = _PER_STEP.get(s.family, _STEP_S)
    return (s.steps + _DEFAULTS.warmup) * per + (0.0 if is_compiled(s) else _COMPILE_S)


class Update(NamedTuple):
    """One retrain: the settings, the tables, every exact quantity, and (once drawn by
    :func:`draw`) the Figure 2 column."""

    settings: Settings
    encoder: np.ndarray  # (n_x, n_z) e(z|x)
    decoder: np.ndarray  # (n_z, n_x) d(x|z)
    marginal: np.ndarray  # (n_z,) m(z)
    px: np.ndarray
    pzx: np.ndarray
    quantities: dict  # toyrd.evaluate(..., pzx=pzx)
    train_s: float  # wall time of train() (compile included on a first run)
    compiled: bool  # True if this run compiled (first of its objective kind / family / steps)
    figure: object = None  # matplotlib Figure (no pyplot), set by draw()
    png: bytes | None = None  # the figure at screen resolution, set by draw()
    draw_s: float = 0.0  # wall time of draw()


def train_model(s: Settings, toy=None) -> Update:
    """Train the model of validated settings ``s`` exactly and evaluate it (no figure yet)."""
    from toyrd.data import toy_data
    from toyrd.quantities import evaluate
    from toyrd.train.jax import train

    toy = toy_data() if toy is None else toy
    t0 = time.perf_counter()
    first = not is_compiled(s)
    res = train(
        s.objective,
        family=s.family,
        px=toy.px,
        pzx=toy.pzx,
        seeds=(s.seed,),
        hyper=s.hyper,
        init_scale=s.init_scale,
        steps=s.steps,
        progress=False,
    )
    wall = time.perf_counter() - t0
    if not first:
        _PER_STEP[s.family] = wall / (s.steps + _DEFAULTS.warmup)
    _COMPILED.add((s.objective, s.family, s.steps))
    e, d, m = res.encoder[0], res.decoder[0], res.marginal[0]
    q = evaluate(toy.px, e, d, m, pzx=toy.pzx)
    return Update(s, e, d, m, toy.px, toy.pzx, q, wall, first)


def optimal_update(toy=None) -> Update:
    """Figure 2a: the optimal model built by hand (:func:`toyrd.experiments.figure2.optimal_model`),
    evaluated exactly; its ``settings`` are the target-rate objective at σ = I(x;z*) = 0.5 it
    solves (for the iso-loss line), and nothing is trained."""
    from toyrd.data import toy_data
    from toyrd.experiments.figure2 import optimal_model
    from toyrd.quantities import evaluate

    toy = toy_data() if toy is None else toy
    t0 = time.perf_counter()
    e, d, m = optimal_model(toy)
    q = evaluate(toy.px, e, d, m, pzx=toy.pzx)
    s = Settings("target_rate", 0.5, "optimal", 0.0, 0, 0)
    return Update(s, e, d, m, toy.px, toy.pzx, q, time.perf_counter() - t0, False)


def draw(up: Update, *, dpi: int = 80) -> Update:
    """``up`` with its Figure 2 column (:func:`toyrd.plot.plot_columns`) and a PNG of it (for an
    export; the page draws natively)."""
    from toyrd.plot import panel_data, plot_columns

    t0 = time.perf_counter()
    q = up.quantities
    col = panel_data(up.px, up.pzx, up.encoder, up.decoder, up.marginal)
    sub = f"R = {q['R']:.4f}, D = {q['D']:.4f}, I(z;z*) = {q['I_zstar']:.4f}"
    fig = plot_columns([col], [describe(up.settings).replace(" · init", "\ninit")], subtitles=[sub])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return up._replace(figure=fig, png=buf.getvalue(), draw_s=time.perf_counter() - t0)


@functools.cache
def frontier():
    """The information-bottleneck frontier of the toy's p(z*, x)
    (:func:`toyrd.quantities.ib_frontier`), computed once per process (about 0.2 s)."""
    from toyrd.data import toy_data
    from toyrd.quantities import ib_frontier

    return ib_frontier(toy_data().pzx)


def _slug(s: Settings) -> str:
    """A file name part (family names like "bump(w0=2)/bump+free" hold a slash)."""
    if s.family == "optimal":
        return "figure2a_optimal"
    h = "" if s.hyper is None else f"_{s.hyper:g}"
    family = re.sub(r"[^A-Za-z0-9.+=-]+", "-", s.family).strip("-")
    return f"{s.objective}{h}_{family}_init{s.init_scale:g}_seed{s.seed}_steps{s.steps}"


def export(up: Update, out_dir) -> tuple[str, str]:
    """Write the model ``.npz`` (readable by ``toyrd evaluate``) and its Figure 2 PNG into
    ``out_dir`` (created if missing); returns the two paths. Same settings, same file names."""
    from toyrd.plot import save_figure
    from toyrd.tables import save_model

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise ToyrdError(f"export folder {out_dir}: cannot be created ({exc.strerror})") from None
    base = os.path.join(out_dir, "explore_" + _slug(up.settings))
    if up.figure is None:
        up = draw(up)
    try:
        save_model(base + ".npz", up.encoder, up.decoder, up.marginal, px=up.px, pzx=up.pzx)
        save_figure(up.figure, base + ".png", "png")
    except OSError as exc:
        raise ToyrdError(f"export to {out_dir}: {exc.strerror or exc}") from None
    return base + ".npz", base + ".png"
