"""Exact-gradient training in JAX: a whole run is ONE jitted ``lax.scan``; seeds and
hyperparameters are ``vmap``-ed rows of a batch.

The loss of a row is an objective of :mod:`toyrd.objectives` evaluated on the exact log-tables
of a :class:`toyrd.tables.Family`, through the one shared log-domain formula
(``rate_distortion_log``) — no sampling, so the gradient is exact, and no log of a softmax, so
a table entry that underflows to 0 (bump family, large slopes) leaves R, D and the gradient
finite. The compiled program is :func:`toyrd.train.jax.compiled_run`.

Shapes: a batch of B rows (one :class:`~toyrd.train.TrainConfig` each), tables of ``n_x`` data
states and ``n_z`` latent states. Units: nats.

* Learning rate: ``lr`` with a cosine decay to ``lr·LR_FLOOR`` (``schedule="constant"``: fixed).
* Warm-up: first ``warmup`` Adam steps on R + D with the encoder behind a stop-gradient, so m
  and d move toward their best responses q and :math:`p_e(x|z)` for the initial encoder (the bound
  closes before the objective starts). Not in the history.
* History: R, D and the loss at steps 0, s, 2s, …, steps (s = ``history_stride``), taken at the
  parameters before the update of that step (the final entry after the last update).
* float64: tracing and execution happen inside ``with jax.enable_x64(True):``; the global flag is
  never flipped. ``dtype="float32"`` trains in float32; ``dtype="mixed"`` trains the warm-up and
  the first ``steps - f64_steps`` steps in float32, then casts the parameters and Adam's moments
  to float64 and trains the last ``f64_steps`` in float64 (one compiled program).
* Results: final tables recomputed from the final parameters in float64 (so float32 runs still
  give valid tables), returned as numpy, and evaluated by the exact core (:func:`toyrd.evaluate`).

Example identity — the ELBO trainer closes the bound, R + D = H (see ``tests/train``):

>>> from toyrd.train import jax as tj
>>> res = tj.train("elbo", family="tabular", seeds=range(4), progress=False)
>>> max(abs(q["R"] + q["D"] - q["H"]) for q in res.evaluate()) < 1e-6
True
"""

from __future__ import annotations

import itertools
import time
from typing import NamedTuple

import numpy as np

from toyrd._memory import check_train_batch
from toyrd._validate import as_distribution, check_int, check_model
from toyrd.errors import DivergenceError, ToyrdError
from toyrd.tables import get_family
from toyrd.train._config import DIVERGENCE_GROWTH, TrainConfig, as_rows, blew_up, static_config
from toyrd.train.jax._progress import RunProgress
from toyrd.train.jax._runner import compiled_run, is_fast

__all__ = ["RECORD_FIELDS", "ON_DIVERGENCE", "TrainResult", "train", "train_configs"]


class TrainResult(NamedTuple):
    """Output of :func:`train`: float64 numpy tables, history and per-row configuration.

    B is the number of rows (runs), T the number of history entries (steps / stride + 1).

    Attributes:
        encoder: :math:`e(z|x)` of every row, float64, shape ``(B, n_x, n_z)``.
        decoder: :math:`d(x|z)` of every row, float64, shape ``(B, n_z, n_x)``.
        marginal: :math:`m(z)` of every row, float64, shape ``(B, n_z)``.
        history: ``step`` (T,) int and ``R``, ``D``, ``loss`` (B, T) float64, nats.
        configs: B dicts: the fields of :class:`~toyrd.train.TrainConfig` that describe the run
            (``RECORD_FIELDS``), plus any extras.
        params: the final parameter pytree (float64 arrays, leading axis B).
        px: :math:`p^*(x)`, shape ``(n_x,)``.
        pzx: the true joint :math:`p(z^*, x)`, shape ``(2, n_x)``, or None.
        wall_s: seconds of the training call (compile included).
        logs: (log e, log d, log m) of every row from the family's log-tables (the log_softmax
            of the final logits, float64; shapes as the tables): finite where a table entry
            underflows to 0. None for a result built without them.
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
    logs: tuple | None = None

    def evaluate(self) -> list:
        """Every exact quantity of every row, from its log-tables when the result has them
        (:func:`toyrd.evaluate_logs`: R and D finite where a table entry underflows to 0), else
        from its tables (:func:`toyrd.evaluate`); I_zstar too when pzx is known.

        Returns:
            list: B dicts of floats (nats), keyed as :func:`toyrd.evaluate`.
        """
        from toyrd.quantities import evaluate, evaluate_logs

        if self.logs is not None:
            return [
                evaluate_logs(self.px, *(t[i] for t in self.logs), pzx=self.pzx)
                for i in range(len(self.configs))
            ]
        return [
            evaluate(self.px, self.encoder[i], self.decoder[i], self.marginal[i], pzx=self.pzx)
            for i in range(len(self.configs))
        ]

    def table(self) -> dict:
        """The quantities of :meth:`evaluate`, one array per key.

        Returns:
            dict: key -> float64 array of shape ``(B,)``, in nats.
        """
        rows = self.evaluate()
        return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}


#: The config fields a result row records (in this order), as the first round's trainer did.
RECORD_FIELDS = (
    "objective",
    "hyper",
    "family",
    "init_scale",
    "seed",
    "steps",
    "lr",
    "schedule",
    "b1",
    "warmup",
    "dtype",
    "f64_steps",
    "n_z",
)


def train(
    objective: str = "elbo",
    *,
    config: TrainConfig | None = None,
    family=None,
    px=None,
    pzx=None,
    seeds=(0,),
    hyper=None,
    init_scale=None,
    progress: bool = True,
    on_divergence: str = "raise",
    **fields,
) -> TrainResult:
    """Train B = len(hyper) × len(init_scale) × len(seeds) models in one jitted scan.

    Rows are ordered hyper-major, then init scale, then seed.

    Args:
        objective: "elbo" (D + R), "beta" (D + βR), "rda" (R + λD) or "target_rate"
            (D + |σ − R|); R and D in nats.
        config: the base :class:`~toyrd.train.TrainConfig` (default: its defaults).
        family: "tabular", "bump" or a :class:`~toyrd.tables.Family` (default the config's).
        px: :math:`p^*(x)`, shape ``(n_x,)`` (default: the toy; then pzx defaults to the toy's
            :math:`p(z^*, x)` so ``I_zstar`` is reported).
        pzx: the true joint :math:`p(z^*, x)`, shape ``(2, n_x)``, or None.
        seeds: an int ≥ 0 (one seed) or a sequence of them, the initialisation seeds.
        hyper: β / λ / σ (σ in nats): a scalar or a sequence (default the config's).
        init_scale: the initialisation scale: a scalar or a sequence (default the config's).
        progress: show a tqdm bar, advanced from inside the scan once per history stride.
        on_divergence: "raise" or "keep", as in :func:`train_configs`.
        **fields: override any :class:`~toyrd.train.TrainConfig` field (``steps=3000``,
            ``lr=0.02``, ``warmup=0``, ``dtype="float32"``, ``n_z=10``, ``history_stride=10``, …).

    Returns:
        TrainResult: B rows of float64 tables ``(B, n_x, n_z)``, ``(B, n_z, n_x)``,
            ``(B, n_z)`` and the history (B, T).

    Raises:
        ToyrdError: an unknown field or objective, a bad value (negative seed, steps not a
            multiple of ``history_stride``, …), or ``px`` not a probability vector.

    Example:
        >>> res = train("beta", hyper=[0.5, 2.0], seeds=range(3), steps=100, progress=False)
        >>> res.encoder.shape, res.history["R"].shape
        ((6, 30, 30), (6, 101))
    """
    base = (config or TrainConfig()).replace(objective=objective, family=family, **fields)
    hypers = as_rows(base.hyper if hyper is None else hyper, "hyper")
    scales = as_rows(base.init_scale if init_scale is None else init_scale, "init_scale")
    seed_list = [check_int("seeds", s, 0) for s in as_rows(seeds, "seeds")]
    rows = [
        base._replace(hyper=h, init_scale=c, seed=s)
        for h, c, s in itertools.product(hypers, scales, seed_list)
    ]
    return train_configs(rows, px=px, pzx=pzx, progress=progress, on_divergence=on_divergence)


#: What :func:`train_configs` does with a row whose R, D or loss went non-finite.
ON_DIVERGENCE = ("raise", "keep")


def train_configs(
    configs,
    *,
    px=None,
    pzx=None,
    progress: bool = True,
    loss_builder=None,
    loss_key=None,
    extra=None,
    on_divergence: str = "raise",
) -> TrainResult:
    """Train one row per :class:`~toyrd.train.TrainConfig` in one compiled run.

    The rows may differ only in hyper, init_scale and seed. The general entry point behind
    :func:`train`, sweeps, autonomy and Figure 2.

    Args:
        configs: a sequence of B :class:`~toyrd.train.TrainConfig` (or tuples of its fields).
        px: :math:`p^*(x)`, shape ``(n_x,)`` (default: the toy, and then its
            :math:`p(z^*, x)` for ``pzx``).
        pzx: the true joint :math:`p(z^*, x)`, shape ``(2, n_x)``, or None.
        progress: show a tqdm bar, advanced once per history stride.
        loss_builder: ``loss_builder(loss_key, family, n_x)`` may replace the objective's loss
            with any ``f(params, hyper, px) -> (surrogate, (reported_loss, R, D))``; then
            ``objective`` is only a label.
        loss_key: the hashable key passed to ``loss_builder`` (part of the compile cache key).
        extra: a dict added to every row's record.
        on_divergence: "raise" (default): a :class:`~toyrd.errors.DivergenceError` naming the
            first row whose R, D or loss is non-finite at some history step (or whose final
            tables are), the step, what went non-finite and what to change; "keep": return such
            rows as they are (sweeps and the experiments record diverged runs).

    Before training, px and pzx are validated and the family's initial tables of every row are
    checked once (finite, rows summing to 1): a family returning unnormalised tables is refused.

    Returns:
        TrainResult: float64 tables of the B rows, their history (B, T) in nats, and records.

    Raises:
        ToyrdError: a config fails validation, the rows differ in a field other than hyper,
            init_scale and seed, ``history_stride`` does not divide ``steps``, or ``px`` is not
            a probability vector; :class:`~toyrd.errors.DivergenceError` (a subclass) when a
            row diverges and ``on_divergence="raise"``.
    """
    if on_divergence not in ON_DIVERGENCE:
        raise ToyrdError(f"on_divergence: {on_divergence!r} is not one of {list(ON_DIVERGENCE)}")
    custom = loss_builder is not None
    if configs:  # sizes first: nothing is built for a batch that cannot fit
        first = TrainConfig(*configs[0]).validate(custom_loss=custom)
        check_train_batch(len(configs), 30 if px is None else int(np.size(px)), first.n_z)
    configs = [TrainConfig(*c).validate(custom_loss=custom) for c in configs]
    cfg = static_config(configs)
    if cfg.steps % cfg.history_stride:
        raise ToyrdError(
            f"history_stride: {cfg.history_stride} must be >= 1 and divide steps = {cfg.steps}"
        )
    fam = get_family(cfg.family)
    px, pzx = _data(px, pzx)
    n_x = px.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite init is reported below
        inits = [fam.init(c.seed, n_x, cfg.n_z, c.init_scale) for c in configs]
    for c, p in zip(configs, inits):
        _check_initial_tables(fam, p, n_x, c)
    params0 = {k: np.stack([p[k] for p in inits]) for k in inits[0]}
    hyper_arr = np.array([0.0 if c.hyper is None else c.hyper for c in configs], dtype=np.float64)
    last = is_fast(loss_builder, fam)  # the fast path keeps the batch axis last
    if last:
        params0 = {k: np.moveaxis(v, 0, -1) for k, v in params0.items()}

    import jax
    import jax.numpy as jnp

    t0 = time.perf_counter()
    chunks = cfg.steps // cfg.history_stride
    with (
        jax.enable_x64(True),
        RunProgress(chunks, f"{cfg.objective} ×{len(configs)}", progress) as bar,
    ):
        run = compiled_run(cfg, fam, n_x, loss_builder, loss_key, bool(progress))
        dt = jnp.dtype("float64" if cfg.dtype == "mixed" else cfg.dtype)
        args = (
            {k: jnp.asarray(v, dt) for k, v in params0.items()},
            jnp.asarray(hyper_arr, dt),
            jnp.asarray(px, dt),
            jnp.asarray(cfg.lr, dt),
            jnp.asarray(bar.token, jnp.int32),
        )
        p_final, hist = jax.block_until_ready(run(*args))
    # The rest in numpy: eager jax ops here would each compile a small program in every process
    # (too short for the persistent cache), about half a second of a warm `toyrd sweep`.
    p_np = {k: np.asarray(v, dtype=np.float64) for k, v in p_final.items()}
    if last:
        p_np = {k: np.ascontiguousarray(np.moveaxis(v, -1, 0)) for k, v in p_np.items()}
    # A diverged row's parameters are NaN or inf: its tables are too, without numpy's warnings
    # (any family); _raise_on_divergence (or the sweep's "diverged" status) reports that row.
    with np.errstate(invalid="ignore", over="ignore"):
        rows = [fam.tables({k: v[i] for k, v in p_np.items()}, n_x) for i in range(len(configs))]
        lrows = [fam.logs({k: v[i] for k, v in p_np.items()}, n_x) for i in range(len(configs))]
    enc, dec, mar = (np.stack([r[j] for r in rows]).astype(np.float64) for j in range(3))
    logs = tuple(np.stack([r[j] for r in lrows]).astype(np.float64) for j in range(3))
    hist = [np.asarray(h, dtype=np.float64) for h in hist]
    wall = time.perf_counter() - t0
    records = []
    for c in configs:
        rec = {k: getattr(c, k) for k in RECORD_FIELDS}
        rec["family"] = fam.name
        records.append({**rec, **(extra or {})})
    history = {
        "step": np.arange(0, cfg.steps + 1, cfg.history_stride),
        "loss": hist[0],
        "R": hist[1],
        "D": hist[2],
    }
    if on_divergence == "raise":
        _raise_on_divergence(configs, history, (enc, dec, mar), cfg)
    return TrainResult(enc, dec, mar, history, records, p_np, px, pzx, wall, logs)


def _data(px, pzx):
    """(px, pzx) validated; px None → the toy's p* and, unless given, its p(z*, x)."""
    from toyrd.quantities import check_true_joint

    if px is None:
        from toyrd.data import toy_data

        toy = toy_data()
        px, pzx = toy.px, (toy.pzx if pzx is None else pzx)
    px = as_distribution("px", px)
    if pzx is not None:
        pzx = check_true_joint(pzx, px)
    return px, pzx


def _row_name(c: TrainConfig) -> str:
    hyper = "" if c.hyper is None else f", hyper {c.hyper:g}"
    return f"seed {c.seed}{hyper}, init_scale {c.init_scale:g}"


def _check_initial_tables(fam, params, n_x: int, c: TrainConfig) -> None:
    """The family's tables at the initial parameters must be valid (checked once, in numpy)."""
    from toyrd.errors import TableError

    bad = [k for k, v in params.items() if not np.all(np.isfinite(np.asarray(v, np.float64)))]
    if bad:
        raise DivergenceError(
            f"family {fam.name!r} (row {_row_name(c)}): the initial parameter "
            f"{bad[0]!r} is not finite; lower init_scale (now {c.init_scale:g})"
        )
    try:
        with np.errstate(all="ignore"):
            tables = [np.asarray(t, dtype=np.float64) for t in fam.tables(params, n_x)]
        check_model(np.full(n_x, 1.0 / n_x), *tables)
    except TableError as exc:
        raise TableError(
            f"family {fam.name!r} (row {_row_name(c)}): its initial tables are not valid: {exc}"
        ) from None
    except ToyrdError:
        raise
    except Exception as exc:  # noqa: BLE001 (a family whose tables() fails on its own init)
        raise ToyrdError(
            f"family {fam.name!r}: tables(init(...)) failed ({type(exc).__name__}: {exc})"
        ) from None


def _raise_on_divergence(configs, history, tables, cfg: TrainConfig) -> None:
    """:class:`DivergenceError` for the first row whose history or final tables are not finite,
    or whose loss blew up (:func:`toyrd.train.blew_up`) though it stayed finite."""
    for i, c in enumerate(configs):
        bad = {k: ~np.isfinite(history[k][i]) for k in ("R", "D", "loss")}
        steps = [int(np.argmax(b)) for b in bad.values() if b.any()]
        if steps:
            j = min(steps)
            what = ", ".join(f"{k} = {history[k][i, j]}" for k in ("R", "D", "loss") if bad[k][j])
            where = f"at step {int(history['step'][j])} of {cfg.steps}"
        elif not all(np.all(np.isfinite(t[i])) for t in tables):
            what, where = "the final tables", "after the last step"
        elif blew_up(history["loss"][i, 0], history["loss"][i, -1]):
            loss = history["loss"][i]
            raise DivergenceError(
                f"training diverged: row {i} ({_row_name(c)}, {cfg.objective}, family "
                f"{getattr(cfg.family, 'name', cfg.family)}): the loss grew from {loss[0]:.6g} to "
                f"{loss[-1]:.6g} (more than {DIVERGENCE_GROWTH:g} × max(1, |start|)) in "
                f"{cfg.steps} steps; lower lr (now {cfg.lr:g}) or init_scale (now "
                f"{c.init_scale:g}), or pass on_divergence='keep' to get the rows back"
            )
        else:
            continue
        raise DivergenceError(
            f"training diverged: row {i} ({_row_name(c)}, {cfg.objective}, family "
            f"{getattr(cfg.family, 'name', cfg.family)}): {what} went non-finite {where}; lower lr "
            f"(now {cfg.lr:g}) or init_scale (now {c.init_scale:g}), or pass "
            "on_divergence='keep' to get the non-finite rows back"
        )
