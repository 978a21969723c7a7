r"""Resumable grids of training runs, written as JSON lines.

A sweep is the grid objective × hyperparameter (β for "beta", λ for "rda", σ for "target_rate",
none for "elbo") × family × init scale × seed, at fixed steps / lr / schedule / warmup / ``n_z`` /
dtype / f64_steps. Each finished run is one line of the output file: its configuration (the fields
of :data:`CONFIG_FIELDS`, every setting that changes its result; ``f64_steps`` is the float64
finish of a "mixed" run as resolved, null for the other precisions) and its final exact H, R, D,
ELBO, ``I_e``, ``I_zstar`` = :math:`I(z; z^*)` and
``kl_pstar_g`` = :math:`\mathrm{KL}(p^* \Vert g)` in nats (from :func:`toyrd.evaluate` on the
float64 tables), and class0_mass, the mass of q on the class-0 states
(:func:`toyrd.quantities.class_block_mass`).

Runs are trained in vmapped batches (:func:`toyrd.train.jax.train_configs`): the grid's runs are
grouped by everything that is static in the jitted scan and each group is cut, in grid order, into
batches of ``batch`` rows (:func:`plan`). XLA vectorises the batch axis, so the last bits of a
row depend on the size of its batch and its place in it (measured: float64 and mixed rows differ
in the last bits between batches of 5, 8 and 9 rows); the batches are therefore a function of the
grid and ``batch`` alone, never of what is already done, and a batch with any unfinished run is
trained whole (its finished rows are not written again). So a sweep's lines are the same bits
however often it was interrupted, and on a Dask cluster (:mod:`toyrd.train._cluster`). A rerun
with another ``batch`` reuses the finished lines (their values agree to rounding).

Each batch's lines are appended and flushed as soon as it finishes. A run is keyed by its
configuration (:func:`config_key`), so re-running the same sweep skips every finished run: an
interrupted sweep keeps its finished lines and resumes. On resume a last line without its newline
(a kill during a write) is kept if it is a complete result (its newline is added); one that does
not parse is moved to ``<out>.rejected`` (appended there, never deleted) and cut from the file.

A run that ends non-finite (NaN/inf parameters, tables that fail validation, or an infinite
R or D) does not abort the batch: its line carries ``"status": "diverged"`` and the last R and D
of its history (non-finite numbers written as the strings "nan" / "inf" by
:func:`toyrd.cli.dumps`; ELBO = −(R + D), H, and the other results "nan"). Every other line has
``"status": "ok"``. A diverged run is a result (the same configuration diverges again) and is not
redone on resume.

Identity the results obey (checked in the tests): :math:`R + D \ge H` for every "ok" line
(:math:`-\mathrm{ELBO} \ge H`).
"""

from __future__ import annotations

import itertools
import os
import time

from toyrd.errors import ToyrdError
from toyrd.objectives import check_hyper, check_kind
from toyrd.train._config import TrainConfig, check_real, default_dtype
from toyrd.train._sweepfile import (
    CONFIG_FIELDS,
    MAX_LINE_BYTES,
    _locked,
    _read_done,
    _Writer,
    config_key,
    read_done,
)

__all__ = [
    "CONFIG_FIELDS",
    "RESULT_FIELDS",
    "STATUSES",
    "grid",
    "config_key",
    "read_done",
    "run_sweep",
    "row_results",
    "HYPER_OPTION",
    "MAX_LINE_BYTES",
    "BYTES_PER_RUN",
    "MEMORY_SHARE",
    "plan",
    "STATIC_FIELDS",
    "train_batch",
]

#: Memory of one run while a sweep runs: its configuration dict, its key and its entry among the
#: finished runs (measured 2.4 kB for the first two on CPython 3.12; rounded up).
BYTES_PER_RUN = 4096
#: A grid is refused when listing it would take more than this share of the machine's memory.
MEMORY_SHARE = 0.5
#: The exact results stored per run.
RESULT_FIELDS = ("H", "R", "D", "ELBO", "I_e", "I_zstar", "kl_pstar_g", "class0_mass")
#: Values of the per-line ``status`` field.
STATUSES = ("ok", "diverged")
#: The hyperparameter grid option of each objective.
HYPER_OPTION = {"elbo": None, "beta": "betas", "rda": "lams", "target_rate": "sigmas"}


def grid(
    objectives=("elbo",),
    *,
    betas=(1.0,),
    lams=(1.0,),
    sigmas=(0.5,),
    families=None,
    init_scales=None,
    seeds=(0,),
    steps=None,
    lr=None,
    schedule=None,
    warmup=None,
    n_z=30,
    dtype=None,
    f64_steps=None,
) -> list:
    """The list of run configurations (dicts with :data:`CONFIG_FIELDS`), validated.

    ``families=None`` and ``init_scales=None``: toyrd's defaults (:class:`toyrd.train.TrainConfig`,
    docs/cli.md "Defaults"); ``dtype=None``: each objective's :func:`toyrd.train.default_dtype`
    ("mixed" or "float64");
    ``f64_steps``: the float64 steps of a mixed run (None: :func:`~toyrd.train.default_f64_steps`).

    Order: objective, hyper, family, init scale, seed (the last varies fastest).
    """
    from toyrd.tables import get_family

    base = (
        TrainConfig()
        .replace(
            steps=steps,
            lr=lr,
            schedule=schedule,
            warmup=warmup,
            n_z=n_z,
            dtype=dtype,
            f64_steps=f64_steps,
        )
        .validate()
    )
    fixed = {k: getattr(base, k) for k in ("steps", "lr", "schedule", "warmup", "n_z", "dtype")}
    scales = [
        check_real("init_scale", s)
        for s in ([base.init_scale] if init_scales is None else init_scales)
    ]
    grids = {"betas": betas, "lams": lams, "sigmas": sigmas}
    families = (base.family,) if families is None else families
    for fam in families:
        get_family(fam)
    if not hasattr(seeds, "__len__"):  # a range stays lazy: its length is known without listing
        seeds = list(seeds)
    if not objectives or not families or not scales or not len(seeds):
        raise ToyrdError("sweep: objectives, families, init scales and seeds must be non-empty")
    hyper_lists = {}
    for obj in objectives:
        check_kind(obj)
        opt = HYPER_OPTION[obj]
        hyper_lists[obj] = [None] if opt is None else [check_hyper(obj, h) for h in grids[opt]]
        if not hyper_lists[obj]:
            raise ToyrdError(f"sweep: objective {obj} needs at least one value in {opt}")
    n = sum(len(h) for h in hyper_lists.values()) * len(families) * len(scales) * len(seeds)
    _check_size(n)
    out = []
    resolved = {}  # (dtype) -> f64_steps as the trainer resolves it
    for obj in objectives:
        for h, fam, sc, seed in itertools.product(hyper_lists[obj], families, scales, seeds):
            row = dict(
                objective=obj, hyper=h, family=str(fam), init_scale=sc, seed=int(seed), **fixed
            )
            if dtype is None:
                row["dtype"] = default_dtype(obj)
            if row["dtype"] not in resolved:  # mixed checks f64_steps against the stride
                cfg = TrainConfig(**{**row, "f64_steps": f64_steps}).validate()
                resolved[row["dtype"]] = cfg.f64_steps if row["dtype"] == "mixed" else None
            row["f64_steps"] = resolved[row["dtype"]]
            out.append(row)
    return out


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_size(n: int) -> None:
    """Refuse, before listing it, a grid whose runs would not fit in memory."""
    mem = _physical_memory()
    need = n * BYTES_PER_RUN
    if mem is not None and need > MEMORY_SHARE * mem:
        raise ToyrdError(
            f"sweep: the grid has {n} runs, about {need / 2**30:.1f} GiB to list at "
            f"{BYTES_PER_RUN} bytes a run, more than {MEMORY_SHARE:.0%} of this machine's "
            f"{mem / 2**30:.1f} GiB; split it into several sweeps (e.g. --seed/--seeds ranges)"
        )


def row_results(res, i: int) -> dict:
    """The :data:`RESULT_FIELDS` and ``status`` of row ``i`` of a
    :class:`~toyrd.train.jax.TrainResult`.

    "ok": every exact quantity is available — from the row's log-tables when the result has them
    (:func:`toyrd.evaluate_logs`, finite where a table entry underflows to 0), else from its
    tables (:func:`toyrd.evaluate`) — R and D are finite, and the loss did not blow up
    (:func:`toyrd.train.blew_up`). "diverged": otherwise; R and D are then the last history
    entries (maybe nan/inf), ELBO = −(R + D), H the entropy of p*, the rest NaN.
    """
    import math

    import numpy as np

    from toyrd._formulas import entropy
    from toyrd.quantities import class_block_mass, evaluate, evaluate_logs
    from toyrd.train._config import blew_up

    if res.logs is not None:
        tables, evaluator = tuple(t[i] for t in res.logs), evaluate_logs
    else:
        tables, evaluator = (res.encoder[i], res.decoder[i], res.marginal[i]), evaluate
    q = None
    loss = res.history.get("loss")
    grew = loss is not None and blew_up(float(loss[i, 0]), float(loss[i, -1]))
    if not grew and all(np.all(np.isfinite(t) | (t == -np.inf)) for t in tables):
        try:
            q = evaluator(res.px, *tables, pzx=res.pzx)
        except ToyrdError:
            q = None
    if q is not None and math.isfinite(q["R"]) and math.isfinite(q["D"]):
        if res.pzx is not None:
            q["class0_mass"] = class_block_mass(res.pzx, res.encoder[i])
        return {**{k: q.get(k) for k in RESULT_FIELDS}, "status": "ok"}
    r, d = float(res.history["R"][i, -1]), float(res.history["D"][i, -1])
    out = {k: float("nan") for k in RESULT_FIELDS}
    out.update(H=float(entropy(res.px)), R=r, D=d, ELBO=-(r + d), status="diverged")
    return out


#: The fields of a run's configuration that are static in the jitted scan: runs agreeing on them
#: share a compiled program and may share a batch.
STATIC_FIELDS = (
    "objective",
    "family",
    "steps",
    "lr",
    "schedule",
    "warmup",
    "n_z",
    "dtype",
    "f64_steps",
)


def plan(configs, batch: int) -> list:
    """The grid's batches: lists of indices into ``configs``, each group of runs sharing the
    :data:`STATIC_FIELDS` cut in grid order into runs of ``batch`` (the last may be shorter).
    Groups in order of first appearance. A function of the grid and ``batch`` only."""
    groups = {}
    for i, c in enumerate(configs):
        groups.setdefault(tuple(c.get(k) for k in STATIC_FIELDS), []).append(i)
    return [rows[i : i + batch] for rows in groups.values() for i in range(0, len(rows), batch)]


def train_batch(rows) -> list:
    """Train one batch (configuration dicts sharing :data:`STATIC_FIELDS`) in one vmapped scan:
    its JSON lines (no newline), configuration then results, one per row, in order."""
    from toyrd.tables import dumps
    from toyrd.train.jax import train_configs

    res = train_configs(
        [TrainConfig(**{k: c[k] for k in CONFIG_FIELDS}) for c in rows],
        progress=False,
        on_divergence="keep",
    )
    out = []
    for j, c in enumerate(rows):
        row = {k: c[k] for k in CONFIG_FIELDS}
        row.update(row_results(res, j))
        out.append(dumps(row))
    return out


def run_sweep(
    configs,
    out,
    *,
    batch: int = 64,
    max_runs=None,
    progress: bool = True,
    cluster=None,
    on_write=None,
) -> dict:
    """Run every configuration not yet in ``out`` (JSONL), appending one line per run.

    batch: the most rows trained together in one vmapped scan (see :func:`plan`). max_runs: stop
    after writing this many new runs (None: all; the batches trained are whole). cluster: None
    (this process) or a Dask cluster, ``"local"``, ``"local:N"`` or a scheduler address (see
    :func:`toyrd.train._cluster.connect`; needs the ``cluster`` extra). on_write: called with
    the number of lines after each append (tests interrupt a sweep with it).

    Returns a summary dict: total, done_before, ran, remaining, wall_s, out, rejected (the side
    file a partial last line went to, or None) and, on a cluster, workers and dashboard. Diverged
    runs are among ``ran``; their lines say ``"status": "diverged"``.
    """
    if int(batch) < 1:
        raise ToyrdError(f"batch: {batch} must be >= 1")
    if max_runs is not None and int(max_runs) < 0:
        raise ToyrdError(f"max_runs: {max_runs} must be >= 0")
    if cluster is not None:
        from toyrd.train._cluster import parse_cluster

        parse_cluster(cluster)
    t0 = time.perf_counter()
    configs = list(configs)
    keys = [config_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise ToyrdError("sweep: the grid lists the same run twice")
    with _locked(out):
        done, rejected = _read_done(out)
        missing = [k not in done for k in keys]
        todo, budget = [], None if max_runs is None else int(max_runs)
        for b in plan(configs, int(batch)):
            want = sum(missing[i] for i in b)
            if want and (budget is None or budget > 0):
                todo.append(b)
                budget = None if budget is None else budget - want
        summary = dict(out=str(out), total=len(configs), rejected=rejected)
        before = len(configs) - sum(missing)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(configs), initial=before, desc="sweep", unit="run")
        writer = _Writer(out, keys, missing, max_runs, bar, on_write)
        try:
            if cluster is None:
                for b in todo:
                    writer.write(b, train_batch([configs[i] for i in b]))
            else:
                from toyrd.train._cluster import run_on_cluster

                summary.update(run_on_cluster(cluster, configs, todo, writer, progress=progress))
        finally:
            if bar is not None:
                bar.close()
    summary.update(
        done_before=before,
        ran=writer.ran,
        remaining=len(configs) - before - writer.ran,
        wall_s=time.perf_counter() - t0,
    )
    return summary
