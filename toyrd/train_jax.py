"""Exact-gradient training in JAX: a whole run is ONE jitted ``lax.scan``; seeds and
hyperparameters are ``vmap``-ed rows of a batch.

The loss of a row is an objective of :mod:`toyrd.objectives` evaluated on the exact log-tables
of a :class:`toyrd.families.Family`, through the one shared log-domain formula
:func:`toyrd._formulas.rate_distortion_log` — no sampling, so the gradient is exact, and no log
of a softmax, so a table entry that underflows to 0 (bump family, large slopes) leaves R, D and
the gradient finite.

Two paths compute the same numbers (tested to 1e-9 over a 300-step run):

* fast (built-in objectives, families with ``logits``: tabular, bump): parameters stored
  batch-last (each leaf (..., B)) so sums over x and z run across contiguous rows of B models;
  one exp per logit shared by log_softmax and softmax; the gradient w.r.t. the logits in closed
  form (:func:`rd_from_logits`, a ``jax.custom_vjp``);
* generic (custom ``loss_builder``, e.g. autonomy and Figure 2; families without ``logits``):
  the per-row loss vmapped batch-first, autodiff.

Shapes: a batch of B rows (one per (hyper, init scale, seed) configuration), tables of the
toy's n_x = 30 data states and ``n_z`` latent states. Units: nats.

* Adam (optax) on the batched parameter pytree. Adam is elementwise, so one Adam over the batch
  is B independent Adams; the gradient of Σ_b loss_b is the per-row gradient.
* Learning rate: ``lr`` with a cosine decay to ``lr·LR_FLOOR`` over the run
  (``schedule="constant"`` keeps it fixed).
* Warm-up: first ``warmup`` Adam steps on R + D with the encoder behind a stop-gradient, so m
  and d move toward their best responses q and p_e(x|z) for the initial encoder (the bound
  closes before the objective starts; see :data:`DEFAULTS` for why). Not in the history.
* History: R, D and the loss at steps 0, s, 2s, …, steps (s = ``history_stride``), taken at the
  parameters before the update of that step (the final entry after the last update).
* float64: tracing and execution happen inside ``with jax.enable_x64(True):``; the global flag is
  never flipped. ``dtype="float32"`` trains in float32.
* Results: final tables recomputed from the final parameters in float64 (so float32 runs still
  give valid tables), returned as numpy, and evaluated by the exact core (:func:`toyrd.evaluate`).

Example identity — the ELBO trainer closes the bound, R + D = H (see ``tests/test_train_jax.py``):

>>> import toyrd.train_jax as tj                                   # doctest: +SKIP
>>> res = tj.train("elbo", seeds=range(4), progress=False)          # doctest: +SKIP
>>> max(abs(q["R"] + q["D"] - q["H"]) for q in res.evaluate()) < 1e-6   # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from typing import Callable, NamedTuple

import numpy as np

from . import _formulas as F
from ._validate import ToyrdError, as_distribution
from .families import Family, get_family
from .objectives import check_hyper, loss_from_rd

__all__ = ["TrainResult", "train", "train_rows", "rd_from_logits", "DEFAULTS", "LR_FLOOR"]

#: Defaults of :func:`train`. Chosen on the toy (tabular, 32 seeds) so that the figure runs
#: converge: ``train("elbo")`` ends with R + D − H and KL(p*‖g) below 1e-9 (at R ≈ 0.04: small
#: inits stay near collapse, as in the paper's Fig. 2b), and ``train("target_rate", hyper=0.5)``
#: ends at R = 0.508–0.522 on the bound. Why these values:
#:
#: * ``warmup`` = 300 steps fit only m and d to the initial encoder (encoder behind a
#:   stop-gradient) — without it the random decoder makes D dominate early and target-rate runs
#:   overshoot σ to R ≈ 0.55–0.7 (above σ the loss is flat along R + D = H, nothing pulls back);
#: * ``lr`` = 0.01 (0.02–0.05 also overshoot σ), cosine decay to 1 % for a clean finish;
#: * ``init_scale`` = 0.3 starts every seed below σ = 0.5 (R₀ ≈ 0.04–0.1; scale 1 gives 0.7–1.2);
#: * ``steps`` = 2000: the ELBO gap is ~1e-9 (3000 steps: ~1e-13).
DEFAULTS = dict(steps=2000, lr=0.01, init_scale=0.3, schedule="cosine", b1=0.9, warmup=300)
#: Final learning rate of the cosine schedule, as a fraction of ``lr``.
LR_FLOOR = 0.01


class TrainResult(NamedTuple):
    """Output of :func:`train`: float64 numpy tables, history and per-row configuration.

    encoder (B, n_x, n_z) = e(z|x); decoder (B, n_z, n_x) = d(x|z); marginal (B, n_z) = m(z);
    history: ``step`` (T,) and ``R``, ``D``, ``loss`` (B, T); configs: B dicts (objective,
    hyper, family, init_scale, seed, steps, lr, schedule, dtype, n_z); params: the final
    parameter pytree (float64, leading axis B); px (n_x,) and pzx (2, n_x) or None;
    wall_s: seconds of the training call (compile included).
    """

    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray
    history: dict
    configs: list
    params: dict
    px: np.ndarray
    pzx: np.ndarray | None
    wall_s: float

    def evaluate(self) -> list:
        """Every exact quantity of every row (:func:`toyrd.evaluate`, incl. I_zstar if pzx)."""
        from .info import evaluate

        return [evaluate(self.px, self.encoder[i], self.decoder[i], self.marginal[i], pzx=self.pzx)
                for i in range(len(self.configs))]

    def table(self) -> dict:
        """The quantities of :meth:`evaluate` as a dict of float64 (B,) arrays."""
        rows = self.evaluate()
        return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}


# ----------------------------------------------------------------------------- progress bar

_BAR = {"bar": None}


def _tick(k):
    bar = _BAR["bar"]
    if bar is not None:
        bar.n = int(k) + 1
        bar.refresh()


# ----------------------------------------------------------------------------- losses


def objective_loss_fn(kind: str, family: Family, n_x: int) -> Callable:
    """``f(params, hyper, px) -> (loss, (loss, R, D))`` for one row (unbatched) of objective ``kind``.

    The generic path (families without ``logits``; the fast path computes the same numbers).
    """

    def f(params, hyper, px):
        r, d = F.rate_distortion_log(px, *family.logs(params, n_x))
        loss = loss_from_rd(kind, r, d, hyper)
        return loss, (loss, r, d)

    return f


def _lsm(a, axis):
    """(log softmax, softmax) of ``a`` along ``axis`` from ONE exp per entry (max-shifted)."""
    import jax.numpy as jnp
    from jax import lax

    s = a - lax.stop_gradient(a.max(axis, keepdims=True))
    ex = jnp.exp(s)
    z = ex.sum(axis, keepdims=True)
    return s - jnp.log(z), ex * (1.0 / z)


@functools.cache
def rd_from_logits():
    """``rd(px, a, b, c) -> (R, D)`` from batch-last logits, with a closed-form gradient.

    Shapes: px (n_x,), a (n_x, n_z, B) encoder logits (softmax over z, axis 1), b (n_z, n_x, B)
    decoder logits (softmax over x, axis 1), c (n_z, B) marginal logits (axis 0); R, D (B,).
    Forward: :func:`toyrd._formulas.rate_distortion_log` on (log_softmax, softmax) sharing one
    exp. Gradient (``jax.custom_vjp``, cotangents ḡ_R, ḡ_D; p_e = p* e, q = Σ_x p_e):

    * ∂/∂a = p_e ⊙ (f − Σ_z e f),   f = ḡ_R (log e − log m) − ḡ_D log d(x|z)
    * ∂/∂b = ḡ_D (q(z) d(x|z) − p_e(x,z))
    * ∂/∂c = ḡ_R (m Σ_z q − q)

    (the softmax Jacobians applied by hand: no second pass of exps, no log of a table); px gets
    no gradient (a zero cotangent). Checked against autodiff of the log-domain formula and
    against finite differences in ``tests/test_train_jax.py``.
    """
    import jax

    def fwd(px, a, b, c):
        (le, e), (ld, d), (lm, m) = _lsm(a, 1), _lsm(b, 1), _lsm(c, 0)
        return F.rate_distortion_log(px, le, ld, lm, enc=e), (px, e, d, m, le, ld, lm)

    @jax.custom_vjp
    def rd(px, a, b, c):
        return fwd(px, a, b, c)[0]

    def bwd(res, g):
        px, e, d, m, le, ld, lm = res
        gr, gd = g
        pe = px[:, None, None] * e
        q = pe.sum(0)
        f = gr * (le - lm[None]) - gd * ld.transpose(1, 0, 2)
        ga = pe * (f - (e * f).sum(1, keepdims=True))
        gb = gd * (q[:, None] * d - pe.transpose(1, 0, 2))
        gc = gr * (m * q.sum(0) - q)
        return None, ga, gb, gc

    rd.defvjp(fwd, bwd)
    return rd


def _fast(loss_builder, family: Family) -> bool:
    """The fast path: a built-in objective (no custom loss builder) and a family with logits."""
    return loss_builder is None and family.logits is not None


@functools.lru_cache(maxsize=32)
def _runner(loss_builder, loss_key, family: Family, n_x: int, steps: int, stride: int,
            schedule: str, b1: float, warmup: int, progress: bool):
    """The jitted run for one static configuration (cached: a second call does not recompile).

    ``loss_builder=None``: objective ``loss_key`` through :func:`rd_from_logits` with parameters
    stored batch-last (each leaf (..., B)) if the family has ``logits``, else through
    :func:`objective_loss_fn`; otherwise the builder's per-row loss, vmapped, batch first.
    """
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    if _fast(loss_builder, family):
        rd = rd_from_logits()
        logits = jax.vmap(lambda p: family.logits(p, n_x), in_axes=-1, out_axes=-1)

        def batched(params, hyper, px):
            r, d = rd(px, *logits(params))
            loss = loss_from_rd(loss_key, r, d, hyper)
            return loss, (loss, r, d)

        def generative_total(params, px):  # m and d minimise R + D; the encoder is held fixed
            a, b, c = logits(params)
            r, d = rd(px, lax.stop_gradient(a), b, c)
            return (r + d).sum()
    else:
        loss_fn = (objective_loss_fn if loss_builder is None else loss_builder)(loss_key, family, n_x)
        batched = jax.vmap(loss_fn, in_axes=(0, 0, None))

        def generative_total(params, px):  # m and d minimise R + D; the encoder is held fixed
            def one(p):
                le, ld, lm = family.logs(p, n_x)
                r, d = F.rate_distortion_log(px, lax.stop_gradient(le), ld, lm)
                return r + d
            return jax.vmap(one)(params).sum()

    def total(params, hyper, px):
        surrogate, aux = batched(params, hyper, px)
        return surrogate.sum(), aux

    grad = jax.grad(total, has_aux=True)
    n_chunks = steps // stride
    warm_grad = jax.grad(generative_total)

    def run(params, hyper, px, lr):
        if schedule == "cosine":
            rate = optax.cosine_decay_schedule(lr, steps, alpha=LR_FLOOR)
        else:
            rate = lr
        opt = optax.adam(rate, b1=b1)

        def step(carry, _):
            p, s = carry
            g, _ = grad(p, hyper, px)
            upd, s = opt.update(g, s, p)
            return (optax.apply_updates(p, upd), s), None

        def chunk(carry, k):
            _, aux = batched(carry[0], hyper, px)
            carry, _ = lax.scan(step, carry, None, length=stride)
            if progress:
                jax.debug.callback(_tick, k)
            return carry, aux

        if warmup:
            warm_opt = optax.adam(lr, b1=b1)

            def warm_step(carry, _):
                p, s = carry
                upd, s = warm_opt.update(warm_grad(p, px), s, p)
                return (optax.apply_updates(p, upd), s), None

            (params, _), _ = lax.scan(warm_step, (params, warm_opt.init(params)), None, length=warmup)
        (p, _), hist = lax.scan(chunk, (params, opt.init(params)), jnp.arange(n_chunks))
        _, last = batched(p, hyper, px)
        hist = tuple(jnp.concatenate([h.T, l[:, None]], axis=1) for h, l in zip(hist, last))
        return p, hist

    return jax.jit(run)


# ----------------------------------------------------------------------------- public API


def _rows(seq, name):
    if seq is None:
        return [None]
    if np.ndim(seq) == 0:
        return [np.asarray(seq).item()]
    out = np.asarray(list(seq)).tolist()
    if not out or np.ndim(out) != 1:
        raise ToyrdError(f"{name}: expected a scalar or a non-empty 1-D sequence, got {seq!r}")
    return out


def _default_stride(steps: int) -> int:
    s = max(1, steps // 100)
    while steps % s:
        s -= 1
    return s


def train(objective: str = "elbo", *, family="tabular", px=None, pzx=None, n_z: int = 30,
          seeds=(0,), hyper=None, init_scale=None, steps: int | None = None,
          lr: float | None = None, dtype: str = "float64", history_stride: int | None = None,
          schedule: str | None = None, b1: float | None = None, warmup: int | None = None,
          progress: bool = True) -> TrainResult:
    """Train B = len(hyper) × len(init_scale) × len(seeds) models in one jitted scan.

    objective: "elbo" (D + R), "beta" (D + βR), "rda" (R + λD), "target_rate" (D + |σ − R|).
    family: "tabular", "bump" or a :class:`~toyrd.families.Family`. px: p*(x) (default: the
    toy; then pzx defaults to the toy's p(z*, x) so I_zstar is reported). hyper: β / λ / σ,
    a scalar or a sequence (vmapped); init_scale: scalar or sequence; seeds: ints.
    Rows are ordered hyper-major, then init scale, then seed. steps / lr / warmup /
    schedule ("cosine" | "constant") / b1 (Adam's first-moment decay): see :data:`DEFAULTS`.
    dtype: "float64" or "float32" (training precision; results are float64 either way).
    history_stride: steps between history entries (must divide steps; default ~steps/100).
    progress: a tqdm bar, advanced from inside the scan by ``jax.debug.callback`` once per
    history stride (cost within timing noise, see ``benchmarks/bench_train.py``).

    >>> res = train("beta", hyper=[0.5, 2.0], seeds=range(3), progress=False)  # doctest: +SKIP
    >>> res.encoder.shape, res.history["R"].shape                              # doctest: +SKIP
    ((6, 30, 30), (6, 101))
    """
    from .objectives import check_kind

    check_kind(objective)
    hypers = [check_hyper(objective, h) for h in _rows(hyper, "hyper")]
    scales = _rows(DEFAULTS["init_scale"] if init_scale is None else init_scale, "init_scale")
    seed_list = _rows(list(seeds), "seeds")
    rows = list(itertools.product(hypers, scales, seed_list))
    return train_rows(objective, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                      family=family, px=px, pzx=pzx, n_z=n_z, steps=steps, lr=lr, dtype=dtype,
                      history_stride=history_stride, schedule=schedule, b1=b1, warmup=warmup,
                      progress=progress)


def train_rows(objective, hypers, init_scales, seeds, *, family="tabular", px=None, pzx=None,
               n_z: int = 30, steps=None, lr=None, dtype="float64", history_stride=None,
               schedule=None, b1=None, warmup=None, progress=True, loss_builder=None, loss_key=None,
               config_extra=None) -> TrainResult:
    """Train one row per (hyper, init scale, seed) triple (the lists have equal lengths).

    The general entry point behind :func:`train`, :mod:`toyrd.sweep` and :mod:`toyrd.autonomy`:
    ``loss_builder(loss_key, family, n_x)`` may replace the objective's loss with any
    ``f(params, hyper, px) -> (surrogate, (reported_loss, R, D))`` (both must be hashable).
    """
    fam = get_family(family)
    steps = int(DEFAULTS["steps"] if steps is None else steps)
    lr = float(DEFAULTS["lr"] if lr is None else lr)
    schedule = DEFAULTS["schedule"] if schedule is None else schedule
    b1 = float(DEFAULTS["b1"] if b1 is None else b1)
    warmup = int(DEFAULTS["warmup"] if warmup is None else warmup)
    if warmup < 0:
        raise ToyrdError(f"warmup: {warmup} must be >= 0")
    if not 0.0 <= b1 < 1.0:
        raise ToyrdError(f"b1: {b1} must be in [0, 1) (Adam's first-moment decay)")
    if schedule not in ("cosine", "constant"):
        raise ToyrdError(f"schedule: {schedule!r} is not one of ['cosine', 'constant']")
    if steps < 1:
        raise ToyrdError(f"steps: {steps} must be >= 1")
    if not (math.isfinite(lr) and lr > 0):
        raise ToyrdError(f"lr: {lr} must be finite and > 0")
    stride = _default_stride(steps) if history_stride is None else int(history_stride)
    if stride < 1 or steps % stride:
        raise ToyrdError(f"history_stride: {stride} must be >= 1 and divide steps = {steps}")
    if dtype not in ("float64", "float32"):
        raise ToyrdError(f"dtype: {dtype!r} is not one of ['float64', 'float32']")
    if not (len(hypers) == len(init_scales) == len(seeds)) or not seeds:
        raise ToyrdError("rows: hypers, init_scales and seeds must be non-empty and of equal length")
    if int(n_z) < 1:
        raise ToyrdError(f"n_z: {n_z} must be >= 1")
    if px is None:
        from .data import toy_data

        toy = toy_data()
        px, pzx = toy.px, (toy.pzx if pzx is None else pzx)
    px = as_distribution("px", px)
    if pzx is not None:
        pzx = np.asarray(pzx, dtype=np.float64)
    n_x = px.shape[0]
    for s in init_scales:
        if not (isinstance(s, (int, float, np.floating, np.integer)) and math.isfinite(s) and s >= 0):
            raise ToyrdError(f"init_scale: {s!r} must be a finite number >= 0")
    for s in seeds:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ToyrdError(f"seeds: {s!r} must be a non-negative integer")

    inits = [fam.init(int(s), n_x, int(n_z), float(c)) for s, c in zip(seeds, init_scales)]
    params0 = {k: np.stack([p[k] for p in inits]) for k in inits[0]}
    hyper_arr = np.array([0.0 if h is None else h for h in hypers], dtype=np.float64)

    import jax
    import jax.numpy as jnp

    key = objective if loss_builder is None else loss_key
    last = _fast(loss_builder, fam)  # the fast path keeps the batch axis last
    if last:
        params0 = {k: np.moveaxis(v, 0, -1) for k, v in params0.items()}
    t0 = time.perf_counter()
    with jax.enable_x64(True):
        run = _runner(loss_builder, key, fam, n_x, steps, stride, schedule, b1, warmup, bool(progress))
        dt = jnp.dtype(dtype)
        args = ({k: jnp.asarray(v, dt) for k, v in params0.items()}, jnp.asarray(hyper_arr, dt),
                jnp.asarray(px, dt), jnp.asarray(lr, dt))
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps // stride, desc=f"{objective} ×{len(seeds)}", unit="chunk",
                       leave=False)
        _BAR["bar"] = bar
        try:
            p_final, hist = jax.block_until_ready(run(*args))
        finally:
            _BAR["bar"] = None
            if bar is not None:
                bar.close()
        p64 = {k: jnp.moveaxis(jnp.asarray(v, jnp.float64), -1, 0) if last else jnp.asarray(v, jnp.float64)
               for k, v in p_final.items()}
        enc, dec, mar = jax.vmap(lambda p: fam.tables(p, n_x))(p64)
        enc, dec, mar = (np.asarray(a, dtype=np.float64) for a in (enc, dec, mar))
        hist = [np.asarray(h, dtype=np.float64) for h in hist]
        p_np = {k: np.asarray(v, dtype=np.float64) for k, v in p64.items()}
    wall = time.perf_counter() - t0
    configs = [dict(objective=objective, hyper=h, family=fam.name, init_scale=float(c), seed=int(s),
                    steps=steps, lr=lr, schedule=schedule, b1=b1, warmup=warmup, dtype=dtype, n_z=int(n_z),
                    **(config_extra or {}))
               for h, c, s in zip(hypers, init_scales, seeds)]
    history = {"step": np.arange(0, steps + 1, stride), "loss": hist[0], "R": hist[1], "D": hist[2]}
    return TrainResult(enc, dec, mar, history, configs, p_np, px, pzx, wall)

