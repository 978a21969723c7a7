"""One configuration type for every trainer: :class:`TrainConfig`, validated once.

A :class:`TrainConfig` describes ONE training run: what is minimised (objective, hyper), in which
model (family, ``n_z``, seed, ``init_scale``), and how (Adam steps, learning rate and its
schedule, b1, warm-up, precision, history stride). The JAX trainer trains a list of configs in one
compiled scan (they may differ only in :data:`ROW_FIELDS`); the PyTorch trainer trains one, with the
Monte-Carlo fields (:data:`MONTE_CARLO_FIELDS`); sweeps, Figure 2 and the RD plane build their
runs as configs. The checks live in :meth:`TrainConfig.validate` and nowhere else.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from toyrd._validate import check_int
from toyrd.errors import ToyrdError
from toyrd.tables import FIGURE2_FAMILY

__all__ = [
    "TrainConfig",
    "ESTIMATORS",
    "BASELINES",
    "SCHEDULES",
    "DTYPES",
    "LR_FLOOR",
    "ROW_FIELDS",
    "MONTE_CARLO_FIELDS",
    "TORCH_DEFAULTS",
    "MIXED_OBJECTIVES",
    "as_rows",
    "check_real",
    "default_dtype",
    "default_stride",
    "default_f64_steps",
    "F64_STEPS",
    "static_config",
    "DIVERGENCE_GROWTH",
    "blew_up",
]

#: Learning-rate schedules: "cosine" decays from ``lr`` to ``lr * LR_FLOOR`` over the run.
SCHEDULES = ("cosine", "constant")
#: Training precisions (results are float64 either way). "mixed" (JAX trainer only): the first
#: ``steps - f64_steps`` Adam steps (and the warm-up) in float32, the last ``f64_steps`` in
#: float64 from the float32 parameters cast up, with a fresh Adam (see MIXED_ADAM in
#: toyrd.train.jax) whose cosine schedule continues where the float32 phase left it.
DTYPES = ("float64", "float32", "mixed")
#: Objectives whose ``toyrd sweep`` runs default to dtype "mixed" (measured on
#: the toy, 64-128 seeds: the ELBO gap ends below the float64 run's, β / λ final losses agree
#: within seed noise). target_rate stays float64: at 2000 steps its mixed runs end
#: with mean |R − σ| = 0.0157 against 0.0152 in float64 (64 seeds) — a float32 path crosses the
#: kink of |σ − R| differently.
MIXED_OBJECTIVES = ("elbo", "beta", "rda")


def default_dtype(objective: str) -> str:
    """The training precision ``toyrd sweep`` uses for ``objective`` (``toyrd train`` and the
    Python API: float64 unless asked)."""
    return "mixed" if objective in MIXED_OBJECTIVES else "float64"


#: dtype="mixed": the float64 finish by default — about this many Adam steps (rounded up to a
#: multiple of the history stride), at most a tenth of the run. Measured on the toy (64 seeds,
#: 3000 steps, stride 20; re-measured 2026-12-02 with toyrd's Adam): the ELBO bound gap
#: R + D − H ends at 3.0e-10 after 20 float64 steps, 9.1e-12 after 60, 1.7e-13 after 100 and
#: 1.3e-15 after 300 (a float64 run of 2000 steps ends at 8.9e-10). 50 (60 at the
#: stride of 20) keeps the gap 100× below issue 15's bar of 1e-9 and below the float64 run's,
#: at 2-3 % of the steps.
F64_STEPS = 50


def default_f64_steps(steps: int, stride: int) -> int:
    """The default ``f64_steps`` of a mixed run: F64_STEPS rounded up to a multiple of
    ``stride``, at most ``steps // 10`` (rounded down to one), at least one stride."""
    want = -(-F64_STEPS // stride) * stride
    return max(stride, min(want, steps // 10 // stride * stride))


#: Final learning rate of the cosine schedule, as a fraction of ``lr``.
LR_FLOOR = 0.01
#: Gradient estimators of the PyTorch trainer (see :mod:`toyrd.train.torch`).
ESTIMATORS = ("exact", "enumerate", "reinforce", "gumbel", "gumbel-st")
#: REINFORCE baselines: leave-one-out batch mean, exponential moving average, none.
BASELINES = ("loo", "ema", "none")
#: Fields that may differ between the rows of one compiled JAX run.
ROW_FIELDS = ("hyper", "init_scale", "seed")
#: Fields only the PyTorch (Monte-Carlo) trainer reads.
MONTE_CARLO_FIELDS = ("estimator", "batch_size", "temperature", "baseline", "ema_decay")


def check_real(name: str, value, *, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a float if it is a finite real number >= ``minimum`` (> with ``strict``)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v > minimum if strict else v >= minimum)
    if not ok:
        rel = ">" if strict else ">="
        raise ToyrdError(f"{name}: {value!r}, expected a finite number {rel} {minimum:g}")
    return v


def default_stride(steps: int) -> int:
    """The largest divisor of ``steps`` not above steps // 100 (about 100 history entries)."""
    s = max(1, steps // 100)
    while steps % s:
        s -= 1
    return s


class TrainConfig(NamedTuple):
    """One training run. The defaults are toyrd's one set of training settings, the Figure 2
    reproduction's (docs/cli.md, "Defaults"): ``toyrd.train.jax.train``, ``toyrd train``,
    ``toyrd figure2``, ``toyrd sweep`` and the explorer start from them, so one seed of the main
    job is reproduced by naming only the objective and the seed. Why these values
    (docs/figure2.md, docs/robustness.md):

    * ``family`` = :data:`toyrd.tables.FIGURE2_FAMILY` (bump encoder, bump+free decoder): the
      family in which both halves of Figure 2 come out on every seed;
    * ``warmup`` = 500 steps fit only m and d to the initial encoder (the encoder behind a
      stop-gradient) — without it the random decoder makes D dominate early and target-rate runs
      overshoot σ (above σ the loss is flat along R + D = H, nothing pulls back);
    * ``lr`` = 0.01 with a cosine decay to 1 % (0.02–0.05 overshoot σ);
    * ``init_scale`` = 0.01 starts every seed next to the collapsed encoder, below σ = 0.5;
    * ``steps`` = 3000: on the tabular family (init scale 0.3) the ELBO gap R + D − H ends near
      1e-13, against ~1e-9 after 2000 steps.

    ``dtype`` = "float64". The deliberate exceptions: ``toyrd sweep`` trains the objectives of
    :data:`MIXED_OBJECTIVES` in "mixed" precision (:func:`default_dtype`), and the PyTorch
    trainer has its own Monte-Carlo defaults (:data:`TORCH_DEFAULTS`).
    """

    objective: str = "elbo"  # a kind of toyrd.objectives.KINDS
    hyper: float | None = None  # β (beta), λ (rda), σ (target_rate); None for elbo
    family: Any = FIGURE2_FAMILY  # a name of toyrd.tables.FAMILIES or a toyrd.tables.Family
    seed: int = 0  # seeds the family's initialiser (and the minibatch stream in PyTorch)
    init_scale: float = 0.01  # the family's initialisation scale
    n_z: int = 30  # latent states
    steps: int = 3000  # Adam steps after the warm-up
    lr: float = 0.01  # peak learning rate
    schedule: str = "cosine"  # one of SCHEDULES
    b1: float = 0.9  # Adam's first-moment decay, in [0, 1)
    warmup: int = 500  # Adam steps on R + D for m and d only, before training everything
    dtype: str = "float64"  # training precision, one of DTYPES
    f64_steps: int | None = None  # dtype="mixed": the final Adam steps trained in float64
    #                               (None: default_f64_steps — about 50, at most steps // 10)
    history_stride: int | None = None  # steps between history entries (None: ~steps / 100;
    #                                    the JAX trainer needs a divisor of steps)
    # Monte-Carlo trainer (toyrd.train.torch) only:
    estimator: str = "enumerate"  # exact, enumerate, reinforce, gumbel, gumbel-st
    batch_size: int = 64  # minibatch size
    temperature: float = 1.0  # Gumbel-softmax temperature
    baseline: str = "loo"  # REINFORCE baseline
    ema_decay: float = 0.9  # decay of the "ema" baseline

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied; changes whose value is None are ignored (CLI use)."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise ToyrdError(
                f"TrainConfig: unknown field(s) {sorted(unknown)}; fields are {list(self._fields)}"
            )
        return self._replace(**{k: v for k, v in changes.items() if v is not None})

    def validate(self, *, custom_loss: bool = False) -> TrainConfig:
        """The config with every field checked (:class:`ToyrdError` naming the broken rule).

        ``custom_loss``: the run's loss comes from a loss builder, so ``objective`` is only a
        label and ``hyper`` any finite number (or None).
        """
        from toyrd.objectives import check_hyper, check_kind
        from toyrd.tables import get_family

        if custom_loss:
            hyper = (
                None if self.hyper is None else check_real("hyper", self.hyper, minimum=-math.inf)
            )
        else:
            check_kind(self.objective)
            hyper = check_hyper(self.objective, self.hyper)
        get_family(self.family)
        seed = check_int("seed", self.seed, 0)
        if seed >= 2**63:
            raise ToyrdError(f"seed: {seed} must be < 2**63")
        steps = check_int("steps", self.steps, 1)
        stride = default_stride(steps) if self.history_stride is None else self.history_stride
        stride = check_int("history_stride", stride, 1)
        if self.schedule not in SCHEDULES:
            raise ToyrdError(f"schedule: {self.schedule!r} is not one of {list(SCHEDULES)}")
        if self.dtype not in DTYPES:
            raise ToyrdError(f"dtype: {self.dtype!r} is not one of {list(DTYPES)}")
        f64_steps = (
            default_f64_steps(steps, stride)
            if self.f64_steps is None
            else check_int("f64_steps", self.f64_steps, 0)
        )
        if self.dtype == "mixed" and not 1 <= f64_steps <= steps:
            raise ToyrdError(
                f"f64_steps: {f64_steps}, dtype='mixed' needs 1 <= f64_steps <= steps = {steps}"
            )
        if self.dtype == "mixed" and f64_steps % stride:
            raise ToyrdError(
                f"f64_steps: {f64_steps} must be a multiple of history_stride = "
                f"{stride} (dtype='mixed' switches precision between history "
                "entries)"
            )
        b1 = check_real("b1", self.b1)
        if b1 >= 1.0:
            raise ToyrdError(f"b1: {b1} must be in [0, 1) (Adam's first-moment decay)")
        ema = check_real("ema_decay", self.ema_decay)
        if ema >= 1.0:
            raise ToyrdError(f"ema_decay: {ema} must be in [0, 1)")
        return self._replace(
            hyper=hyper,
            seed=seed,
            steps=steps,
            history_stride=stride,
            init_scale=check_real("init_scale", self.init_scale),
            n_z=check_int("n_z", self.n_z, 1),
            lr=check_real("lr", self.lr, strict=True),
            b1=b1,
            warmup=check_int("warmup", self.warmup, 0),
            f64_steps=f64_steps,
            batch_size=check_int("batch_size", self.batch_size, 1),
            temperature=check_real("temperature", self.temperature, strict=True),
            ema_decay=ema,
        )

    def as_dict(self) -> dict:
        """The fields as a plain dict, the family by its name (JSON-ready)."""
        out = self._asdict()
        out["family"] = getattr(self.family, "name", self.family)
        return out


#: The PyTorch trainer's defaults, the one deliberate exception to TrainConfig's: a Monte-Carlo
#: minibatch trainer with a constant learning rate, no warm-up, broad initial tables, the
#: tabular family and 2000 steps (docs/cli.md, "Defaults").
TORCH_DEFAULTS = TrainConfig(
    family="tabular",
    init_scale=1.0,
    steps=2000,
    schedule="constant",
    warmup=0,
    history_stride=100,
)


def static_config(configs) -> TrainConfig:
    """The config shared by the rows of one compiled run: :class:`ToyrdError` unless every
    field outside :data:`ROW_FIELDS` agrees."""
    configs = list(configs)
    if not configs:
        raise ToyrdError("rows: need at least one configuration")
    first = configs[0]
    for i, c in enumerate(configs[1:], 1):
        for f in first._fields:
            if f not in ROW_FIELDS and getattr(c, f) != getattr(first, f):
                raise ToyrdError(
                    f"rows: row {i} has {f} = {getattr(c, f)!r} but row 0 has "
                    f"{getattr(first, f)!r}; only {list(ROW_FIELDS)} may differ"
                )
    return first


def as_rows(seq, name: str) -> list:
    """A scalar or a non-empty 1-D sequence as a list (None → [None])."""
    if seq is None:
        return [None]
    if np.ndim(seq) == 0:
        return [np.asarray(seq).item()]
    out = np.asarray(list(seq)).tolist()
    if not out or np.ndim(out) != 1:
        raise ToyrdError(f"{name}: expected a scalar or a non-empty 1-D sequence, got {seq!r}")
    return out


#: A run whose loss ends more than this many times max(1, |its initial loss|) above its initial
#: loss has diverged, even when every number stays finite (a model defined by logits keeps finite
#: R and D however large its logits grow). The toy's losses are a few nats (H = 3.02; a trained
#: loss rises above its start by at most a few nats: the warm-up closes the bound first), so
#: 1,000× is far beyond any run that trains, while a blown-up one (lr 1e9: loss 1.6e9 after
#: 20 steps, from 3.5) exceeds it a million-fold.
DIVERGENCE_GROWTH = 1e3


def blew_up(initial: float, final: float) -> bool:
    """True when ``final`` is non-finite or exceeds ``initial`` by more than
    ``DIVERGENCE_GROWTH`` · max(1, |initial|) (both losses in nats)."""
    return not math.isfinite(final) or final - initial > DIVERGENCE_GROWTH * max(1.0, abs(initial))
