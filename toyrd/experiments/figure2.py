r"""Figure 2 of Alemi et al. (2018), reproduced exactly: an optimal model, ELBO and target rate.

Three models of the toy (:func:`toyrd.toy_data`), each evaluated exactly (:func:`toyrd.evaluate`):

(a) **optimal** — built by hand from the true generative process (:func:`optimal_model`):
    30 latent states split into a class-0 block of ``round(p0·n_z)`` = 21 states and a class-1
    block of 9, the encoder :math:`e(z|x) = \sum_{z^*} p(z^*|x)\, u_{z^*}(z)` with :math:`u_c`
    uniform on block c, and :math:`m = q`, :math:`d = p_e(x|z)` the closed-form optima for that
    encoder (Appendix D.3–D.4). The code z is "draw a class from the exact posterior
    :math:`p(z^*|x)`, then a uniform state of its block", so
    :math:`I_e = I(x; z) = I(x; z^*) = 0.5` nats, and with the optimal m and d, :math:`R = I_e`
    and :math:`D = H - I_e`: R + D = H exactly — the ELBO is at its global optimum −H — and R hits
    the target σ = 0.5, so :math:`D + |\sigma - R| = H - \sigma` is the least value the
    target-rate loss can take (:math:`D \ge H - R`). Each block has q mass :math:`p(z^* = c)`
    (0.7 and 0.3) and q is uniform (0.7/21 = 0.3/9 = 1/30).
(b) **elbo** — trained with the loss D + R;
(c) **target_rate** — trained with :math:`D + |\sigma - R|`, σ = 0.5 (the paper's Section 4),

both by :func:`toyrd.train.jax.train_configs` (Adam on exact gradients) from the same ``seeds``
random initialisations, in one compiled run. The figure shows the
seed whose R is the median (the lower median for an even count); the JSON holds every seed.

>>> import toyrd
>>> from toyrd.experiments.figure2 import optimal_model
>>> toy = toyrd.toy_data(); e, d, m = optimal_model(toy)
>>> out = toyrd.evaluate(toy.px, e, d, m, pzx=toy.pzx)
>>> abs(out["R"] + out["D"] - out["H"]) < 1e-12, abs(out["R"] - 0.5) < 1e-12
(True, True)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from toyrd._validate import check_int
from toyrd.data import ToyData, toy_data
from toyrd.errors import ToyrdError
from toyrd.experiments._metrics import (
    REPORT_KEYS,
    class_block_mass,
    model_metrics,
    stack_metrics,
)
from toyrd.quantities import optimize_generative
from toyrd.tables import get_family
from toyrd.train import TrainConfig, check_real

__all__ = [
    "Settings",
    "ModelRuns",
    "Figure2Result",
    "optimal_model",
    "class_block_mass",
    "run_figure2",
    "summary",
    "to_json",
    "format_table",
    "MODELS",
    "REPORT_KEYS",
    "PAPER",
    "QUICK",
    "check_settings",
]

#: The three columns, in order.
MODELS = ("optimal", "elbo", "target_rate")
#: What the paper states (Section 4): R of the trained models; the optimal model's R is the
#: target it was built for, I(x; z*) = 0.5; g ≈ p* ≈ d̄ for both trained models; clusters of
#: "about 70 % and 30 %" of the mass for (a) and (c), "a single cluster" for (b).
PAPER = {
    "optimal": {"R": 0.5, "class0_mass": 0.7, "kl_pstar_g": 0.0},
    "elbo": {"R": 0.0002, "class0_mass": 1.0, "kl_pstar_g": 0.0},
    "target_rate": {"R": 0.4999, "class0_mass": 0.7, "kl_pstar_g": 0.0},
}


_TRAIN = TrainConfig()


class Settings(NamedTuple):
    """How the two trained columns are trained (the defaults are toyrd's reproduction settings).

    The training fields are those of :class:`toyrd.train.TrainConfig`; :meth:`train_config`
    builds it, and :func:`check_settings` validates through it.
    """

    n_seeds: int = 32  # number of random initialisations per trained model
    first_seed: int = 0  # seeds are first_seed, first_seed + 1, ...
    # the training fields default to TrainConfig's (toyrd's one set of defaults, docs/cli.md)
    family: str = _TRAIN.family  # bump encoder (w0 = 2), bump+free decoder: docs/figure2.md
    steps: int = _TRAIN.steps
    lr: float = _TRAIN.lr
    init_scale: float = _TRAIN.init_scale  # near the collapsed encoder; docs/robustness.md
    sigma: float = 0.5  # target rate (nats)
    schedule: str = _TRAIN.schedule  # learning-rate schedule ("cosine" or "constant")
    warmup: int = _TRAIN.warmup  # steps fitting only m and d to the initial encoder first

    @property
    def seeds(self) -> list:
        """The seeds of the trained columns: first_seed, …, first_seed + n_seeds − 1."""
        return list(range(self.first_seed, self.first_seed + self.n_seeds))

    def train_config(self) -> TrainConfig:
        """The :class:`~toyrd.train.TrainConfig` of every trained row (hyper and seed per row;
        every field it does not set, e.g. dtype, is TrainConfig's default)."""
        return TrainConfig(
            family=self.family,
            steps=self.steps,
            lr=self.lr,
            init_scale=self.init_scale,
            schedule=self.schedule,
            warmup=self.warmup,
        )


#: The settings of ``--quick`` (tests): 4 seeds at the reproduction settings.
QUICK = Settings(n_seeds=4)


class ModelRuns(NamedTuple):
    """One model over its seeds: exact quantities (each a ``(B,)`` float64 array) and the tables."""

    seeds: list  # B ints (the optimal model: [None])
    metrics: dict  # key -> (B,) float64
    encoder: np.ndarray  # (B, n_x, n_z)
    decoder: np.ndarray  # (B, n_z, n_x)
    marginal: np.ndarray  # (B, n_z)

    @property
    def finite(self) -> np.ndarray:
        """``(B,)`` bool: seeds whose training ended with finite tables (the others diverged)."""
        return np.isfinite(self.metrics["R"])

    @property
    def median_index(self) -> int:
        """Index of the seed with the (lower) median rate R among the finite seeds."""
        ok = np.flatnonzero(self.finite)
        if ok.size == 0:
            raise ToyrdError("every seed diverged (non-finite tables); lower the learning rate")
        order = ok[np.argsort(self.metrics["R"][ok], kind="stable")]
        return int(order[(len(order) - 1) // 2])


class Figure2Result(NamedTuple):
    toy: ToyData
    settings: Settings
    runs: dict  # model name -> ModelRuns


def optimal_model(toy: ToyData | None = None, n_z: int = 30):
    r"""(encoder, decoder, marginal) of column (a): see the module docstring for why it is optimal.

    Block c has :math:`\mathrm{round}(p(z^* = c)\, n_z)` states (at least one);
    :math:`e(z|x) = \sum_c p(z^* = c|x)\, u_c(z)`, :math:`m = q`, :math:`d = p_e(x|z)`. Shapes
    ``(n_x, n_z)``, ``(n_z, n_x)``, ``(n_z,)``.
    """
    toy = toy_data() if toy is None else toy
    if not (isinstance(n_z, (int, np.integer)) and n_z >= toy.pzx.shape[0]):
        raise ToyrdError(
            f"n_z: {n_z!r}, expected an integer >= the number of classes {toy.pzx.shape[0]}"
        )
    p_class = toy.pzx.sum(1)
    sizes = np.maximum(1, np.round(p_class * n_z).astype(int))
    sizes[-1] = n_z - sizes[:-1].sum()
    if sizes[-1] < 1:
        raise ToyrdError(f"n_z: {n_z} is too small to give every class a block")
    u = np.zeros((len(sizes), n_z))
    start = 0
    for c, size in enumerate(sizes):
        u[c, start : start + size] = 1.0 / size
        start += size
    posterior = (toy.pzx / toy.px[None, :]).T  # (n_x, classes) p(z*|x); p*(x) > 0 in every bin
    enc = posterior @ u
    enc = enc / enc.sum(1, keepdims=True)  # rows sum to 1 up to rounding; exact in float64 ~1e-16
    dec, mar = optimize_generative(toy.px, enc)
    return enc, dec, mar


def _paired_loss(key, family, n_x):
    """Loss builder for :func:`toyrd.train.jax.train_configs`: a row with hyper < 0 minimises the
    ELBO loss D + R, a row with hyper = σ ≥ 0 the target-rate loss D + |σ − R|, so both trained
    columns come out of ONE compiled run (half the compile time of two)."""
    import jax.numpy as jnp

    from toyrd import _formulas as F
    from toyrd.objectives import loss_from_rd

    def f(params, hyper, px):
        # log domain: a softmax entry that underflows to 0 gives a finite loss and gradient
        r, d = F.rate_distortion_log(px, *family.logs(params, n_x))
        loss = jnp.where(
            hyper < 0, loss_from_rd("elbo", r, d), loss_from_rd("target_rate", r, d, jnp.abs(hyper))
        )
        return loss, (loss, r, d)

    return f


def _train_both(settings: Settings, toy: ToyData, progress: bool):
    """Train the ELBO and target-rate columns over the same seeds in one jitted run."""
    from toyrd.train.jax import train_configs

    seeds = settings.seeds
    n = len(seeds)
    base = settings.train_config()._replace(objective="elbo|target_rate")
    rows = [
        base._replace(hyper=h, seed=s)
        for h, s in zip([-1.0] * n + [float(settings.sigma)] * n, seeds + seeds)
    ]
    res = train_configs(
        rows,
        px=toy.px,
        pzx=toy.pzx,
        progress=progress,
        loss_builder=_paired_loss,
        loss_key="figure2",
        on_divergence="keep",
    )  # diverged seeds are counted, not fatal
    enc, dec, mar = (
        np.asarray(a, dtype=np.float64) for a in (res.encoder, res.decoder, res.marginal)
    )
    return {
        "elbo": (seeds, enc[:n], dec[:n], mar[:n]),
        "target_rate": (seeds, enc[n:], dec[n:], mar[n:]),
    }


def _stderr_is_tty() -> bool:
    import sys

    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def check_settings(settings: Settings) -> Settings:
    """Validate at the boundary; raises :class:`ToyrdError` naming the broken rule."""
    check_int("n_seeds", settings.n_seeds, 1)
    check_int("first_seed", settings.first_seed, 0)
    check_real("sigma", settings.sigma)
    settings.train_config().validate()
    return settings


def run_figure2(
    settings: Settings | None = None, *, toy: ToyData | None = None, progress=None
) -> Figure2Result:
    """Build (a), train (b) and (c) over ``settings.seeds`` seeds, evaluate all exactly.

    ``settings`` defaults to ``Settings()``. ``progress`` is an optional callable
    ``progress(stage: str)`` called before each stage.
    """
    settings = Settings() if settings is None else settings
    settings = check_settings(settings)
    toy = toy_data() if toy is None else toy
    step = progress or (lambda stage: None)
    runs = {}
    step("optimal model")
    enc, dec, mar = optimal_model(toy, n_z=toy.n_bins)
    runs["optimal"] = ModelRuns(
        [None], stack_metrics([model_metrics(toy, enc, dec, mar)]), enc[None], dec[None], mar[None]
    )
    step(
        f"train ELBO and target rate (σ = {settings.sigma:g}) × {settings.n_seeds} seeds, "
        f"{settings.family}, {settings.steps} steps"
    )
    trained = _train_both(settings, toy, progress is not None and _stderr_is_tty())
    step("evaluate exactly")
    for kind in ("elbo", "target_rate"):
        seeds, enc, dec, mar = trained[kind]
        rows = [model_metrics(toy, enc[i], dec[i], mar[i]) for i in range(len(seeds))]
        runs[kind] = ModelRuns(seeds, stack_metrics(rows), enc, dec, mar)
    return Figure2Result(toy, settings, runs)


def summary(values) -> dict:
    """{"median", "min", "max", "n_finite"} of a 1-D array over its finite entries.

    The median is the lower median for an even count, so it is always a real seed's value.
    """
    v = np.asarray(values, dtype=np.float64)
    v = np.sort(v[np.isfinite(v)])
    if v.size == 0:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "n_finite": 0}
    return {
        "median": float(v[(len(v) - 1) // 2]),
        "min": float(v[0]),
        "max": float(v[-1]),
        "n_finite": int(v.size),
    }


def to_json(result: Figure2Result) -> dict:
    """The JSON object of ``figure2.json``: settings, toy, paper values, and one entry per model."""
    st = result.settings
    # the published schema: "seeds" is the count and "seed" the first seed
    settings = {
        "seeds": st.n_seeds,
        "seed": st.first_seed,
        **{k: getattr(st, k) for k in st._fields[2:]},
    }
    out = {
        "settings": settings,
        "family": get_family(st.family).describe(),
        "units": "nats",
        "toy": {
            "H": result.toy.entropy,
            "I_x_zstar": result.toy.info,
            "noise": result.toy.noise,
            "means": list(result.toy.means),
            "p0": result.toy.p0,
            "tails": result.toy.tails,
        },
        "paper": PAPER,
    }
    for name in MODELS:
        run = result.runs[name]
        entry = {"seeds": run.seeds, "shown_seed": run.seeds[run.median_index]}
        entry.update({k: run.metrics[k].tolist() for k in REPORT_KEYS})
        entry["summary"] = {k: summary(run.metrics[k]) for k in REPORT_KEYS}
        out[name] = entry
    return out


def format_table(result: Figure2Result) -> str:
    """A plain-text table: median [min, max] per model and quantity, with the paper's value."""
    head = (
        f"{'quantity':>13} | {'(a) optimal':>12} | {'(b) ELBO median [min, max]':>34} "
        f"{'paper':>7} | "
        f"{'(c) target rate median [min, max]':>34} {'paper':>7}"
    )
    lines = [head, "-" * len(head)]

    def num(v, width):  # six decimals; a float64 rounding residue (|v| < 5e-7) prints as 0
        return f"{(0.0 if abs(v) < 5e-7 else v):>{width}.6f}"

    def cell(name, k):
        s = summary(result.runs[name].metrics[k])
        return f"{num(s['median'], 10)} [{num(s['min'], 9)}, {num(s['max'], 9)}]"

    def paper(name, k):
        v = PAPER[name].get(k)
        return f"{v:>7.4f}" if v is not None else f"{'':>7}"

    for k in REPORT_KEYS:
        opt = result.runs["optimal"].metrics[k][0]
        lines.append(
            f"{k:>13} | {num(opt, 12)} | {cell('elbo', k):>34} {paper('elbo', k)} | "
            f"{cell('target_rate', k):>34} {paper('target_rate', k)}"
        )
    st = result.settings
    n = len(result.runs["elbo"].seeds)
    lines.append(
        f"nats; {n} seeds per trained model ({st.family}, {st.steps} steps + {st.warmup} warm-up, "
        f"lr {st.lr}, init scale {st.init_scale}, σ = {st.sigma}); "
        f"figure shows seeds elbo={result.runs['elbo'].seeds[result.runs['elbo'].median_index]}, "
        f"target_rate={result.runs['target_rate'].seeds[result.runs['target_rate'].median_index]} "
        f"(median R)"
    )
    return "\n".join(lines)
