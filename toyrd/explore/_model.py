"""What the explorer computes, without any web framework: settings, one exact retrain, export.

Every update of the page is one validated :class:`Settings` → :func:`train_model` (one model
trained by :func:`toyrd.train.jax.train` with exact gradients — the run for a given objective
kind, family and number of steps is compiled once per process, later runs with new β / σ, init
scale or seed reuse it — and evaluated by :func:`toyrd.evaluate`) → :func:`draw` (one column of
Figure 2 by :func:`toyrd.plot.panel_data` and :func:`toyrd.plot.plot_columns`, the slower
half). :func:`compute` does both. Nats throughout.

>>> s = check_settings(Settings(objective="beta", hyper=0.5, family="bump"))   # doctest: +SKIP
>>> up = compute(s)                                                            # doctest: +SKIP
>>> abs(up.quantities["ELBO"] + up.quantities["R"] + up.quantities["D"]) < 1e-12  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import io
import math
import os
import time
from typing import NamedTuple

import numpy as np

from toyrd._validate import check_int
from toyrd.errors import ToyrdError
from toyrd.train import TrainConfig

_DEFAULTS = TrainConfig()

__all__ = [
    "Settings",
    "Update",
    "check_settings",
    "train_model",
    "draw",
    "compute",
    "export",
    "frontier",
    "is_compiled",
    "settings_key",
    "describe",
    "hyper_label",
    "objective_label",
    "DEFAULT_HYPER",
]

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
    """One point of the controls. ``hyper`` is β, λ or σ (ignored for "elbo")."""

    objective: str = "elbo"
    hyper: float | None = None
    family: str = "tabular"
    init_scale: float = _DEFAULTS.init_scale
    seed: int = 0
    steps: int = _DEFAULTS.steps


def check_settings(s: Settings) -> Settings:
    """The settings with the hyperparameter as float (None for elbo), or a one-line ToyrdError.

    Rules: the objective is one of :data:`toyrd.objectives.KINDS` and its hyperparameter a finite
    number >= 0 (an empty box is an error, not the default); the family is known to
    :func:`toyrd.tables.get_family`; init scale finite >= 0; seed an integer >= 0; steps >= 1.
    """
    from toyrd.objectives import HYPER_NAMES, check_hyper, check_kind
    from toyrd.tables import get_family

    check_kind(s.objective)
    if HYPER_NAMES[s.objective] is not None and s.hyper is None:
        raise ToyrdError(f"{hyper_label(s.objective)}: empty; type a number >= 0")
    hyper = check_hyper(s.objective, s.hyper)
    family = get_family(s.family).name
    scale = s.init_scale
    if scale is None or not (
        isinstance(scale, (int, float, np.number)) and math.isfinite(scale) and scale >= 0
    ):
        raise ToyrdError(f"init scale: {scale!r}, expected a finite number >= 0")
    seed = check_int("seed", s.seed, 0)
    steps = check_int("steps", s.steps, 1)
    return Settings(s.objective, hyper, family, float(scale), seed, steps)


def settings_key(s: Settings) -> str:
    """A stable one-line name of validated settings: the page's ``data-key`` (tests wait on it)."""
    h = "-" if s.hyper is None else repr(float(s.hyper))
    return (
        f"objective={s.objective} hyper={h} family={s.family} init_scale={s.init_scale!r} "
        f"seed={s.seed} steps={s.steps}"
    )


def describe(s: Settings) -> str:
    """'beta β=0.5 · bump · init 0.3 · seed 0 · 2000 steps' (for titles and the trail)."""
    sym = hyper_label(s.objective)
    head = s.objective if sym is None else f"{s.objective} {sym}={s.hyper:g}"
    return f"{head} · {s.family} · init {s.init_scale:g} · seed {s.seed} · {s.steps} steps"


# The compiled runs this process has made, by the static part of the configuration (the trainer
# caches its jitted scan on the same things: objective kind, family, steps).
_COMPILED: set = set()


def is_compiled(s: Settings) -> bool:
    """Whether a run with the static configuration of ``s`` was already compiled here."""
    return (s.objective, s.family, s.steps) in _COMPILED


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
    _COMPILED.add((s.objective, s.family, s.steps))
    e, d, m = res.encoder[0], res.decoder[0], res.marginal[0]
    q = evaluate(toy.px, e, d, m, pzx=toy.pzx)
    return Update(s, e, d, m, toy.px, toy.pzx, q, time.perf_counter() - t0, first)


def draw(up: Update, *, dpi: int = 80) -> Update:
    """``up`` with its Figure 2 column (:func:`toyrd.plot.plot_columns`) and a PNG of it."""
    from toyrd.plot import panel_data, plot_columns

    t0 = time.perf_counter()
    q = up.quantities
    col = panel_data(up.px, up.pzx, up.encoder, up.decoder, up.marginal)
    sub = f"R = {q['R']:.4f}, D = {q['D']:.4f}, I(z;z*) = {q['I_zstar']:.4f}"
    fig = plot_columns([col], [describe(up.settings).replace(" · init", "\ninit")], subtitles=[sub])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return up._replace(figure=fig, png=buf.getvalue(), draw_s=time.perf_counter() - t0)


def compute(s: Settings, toy=None) -> Update:
    """:func:`train_model` then :func:`draw`: one whole update."""
    return draw(train_model(s, toy))


@functools.cache
def frontier():
    """The information-bottleneck frontier of the toy's p(z*, x)
    (:func:`toyrd.quantities.ib_frontier`), computed once per process (about 0.2 s)."""
    from toyrd.data import toy_data
    from toyrd.quantities import ib_frontier

    return ib_frontier(toy_data().pzx)


def _slug(s: Settings) -> str:
    h = "" if s.hyper is None else f"_{s.hyper:g}"
    return f"{s.objective}{h}_{s.family}_init{s.init_scale:g}_seed{s.seed}_steps{s.steps}"


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
