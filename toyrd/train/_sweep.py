"""Resumable grids of training runs, written as JSON lines.

A sweep is the grid objective × hyperparameter (β for "beta", λ for "rda", σ for "target_rate",
none for "elbo") × family × init scale × seed, at fixed steps / lr / schedule / warmup / n_z /
dtype. Each finished run is one line of the output file: its configuration (the fields of
:data:`CONFIG_FIELDS`) and its final exact H, R, D, ELBO, I_e, I_zstar = I(z;z*) and
kl_pstar_g = KL(p*‖g) in nats (from :func:`toyrd.evaluate` on the float64 tables), and
class0_mass, the mass of q on the class-0 states (:func:`toyrd.quantities.class_block_mass`).

Runs are trained in vmapped batches (:func:`toyrd.train.jax.train_configs`) grouped by everything
that is static in the jitted scan; each batch's lines are appended and flushed as soon as it
finishes. A run is keyed by its configuration (:func:`config_key`), so re-running the same sweep
skips every finished run: an interrupted sweep keeps its finished lines and resumes. A partial
last line (a kill during a write) is dropped on resume.

A run that ends non-finite (NaN/inf parameters, tables that fail validation, or an infinite
R or D) does not abort the batch: its line carries ``"status": "diverged"`` and the last R and D
of its history (non-finite numbers written as the strings "nan" / "inf" by
:func:`toyrd.cli.dumps`; ELBO = −(R + D), H, and the other results "nan"). Every other line has
``"status": "ok"``. A diverged run is a result (the same configuration diverges again) and is not
redone on resume.

Identity the results obey (checked in the tests): R + D ≥ H for every "ok" line (−ELBO ≥ H).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time

from toyrd.errors import ToyrdError
from toyrd.objectives import check_hyper, check_kind
from toyrd.train._config import TrainConfig, check_real, default_dtype

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
]

#: The configuration of one run, in output order.
CONFIG_FIELDS = (
    "objective",
    "hyper",
    "family",
    "init_scale",
    "seed",
    "steps",
    "lr",
    "schedule",
    "warmup",
    "n_z",
    "dtype",
)
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
    families=("tabular",),
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

    ``dtype=None``: each objective's :func:`toyrd.train.default_dtype` ("mixed" or "float64");
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
    if f64_steps is not None:
        fixed["f64_steps"] = base.f64_steps
    scales = [
        check_real("init_scale", s)
        for s in ([base.init_scale] if init_scales is None else init_scales)
    ]
    grids = {"betas": betas, "lams": lams, "sigmas": sigmas}
    for fam in families:
        get_family(fam)
    if not objectives or not families or not scales or not list(seeds):
        raise ToyrdError("sweep: objectives, families, init scales and seeds must be non-empty")
    out = []
    for obj in objectives:
        check_kind(obj)
        opt = HYPER_OPTION[obj]
        hypers = [None] if opt is None else [check_hyper(obj, h) for h in grids[opt]]
        if not hypers:
            raise ToyrdError(f"sweep: objective {obj} needs at least one value in {opt}")
        for h, fam, sc, seed in itertools.product(hypers, families, scales, seeds):
            row = dict(
                objective=obj, hyper=h, family=str(fam), init_scale=sc, seed=int(seed), **fixed
            )
            if dtype is None:
                row["dtype"] = default_dtype(obj)
                TrainConfig(**row).validate()  # mixed checks f64_steps against the stride
            out.append(row)
    return out


def config_key(config: dict) -> str:
    """The canonical identity of a run: its configuration fields as sorted, compact JSON."""
    return json.dumps({k: config[k] for k in CONFIG_FIELDS}, sort_keys=True, separators=(",", ":"))


#: The longest line a sweep file may hold (a result line is ~400 bytes): a longer one is not a
#: sweep result, and reading it whole could exhaust memory.
MAX_LINE_BYTES = 1 << 16


def read_done(path) -> dict:
    """{key: status} of the finished runs in ``path`` (missing file: empty), read line by line.

    Memory is bounded by the number of finished runs, not the file: a line longer than
    :data:`MAX_LINE_BYTES`, a byte sequence that is not UTF-8 or a line that is not a sweep
    result raises a one-line :class:`ToyrdError`. A last line without its newline (an
    interrupted write) is removed from the file.
    """
    from toyrd._output import os_reason

    if not os.path.exists(path):
        return {}
    if not os.path.isfile(path):
        raise ToyrdError(f"{path}: not a regular file; a sweep appends to a file on disk")
    done = {}
    try:
        with open(path, "rb") as f:
            end, n = 0, 0
            while True:
                raw = f.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                n += 1
                if not raw.endswith(b"\n"):
                    if len(raw) > MAX_LINE_BYTES:
                        raise ToyrdError(
                            f"{path}: line {n} is longer than {MAX_LINE_BYTES} "
                            "bytes, not a sweep result; refusing to append to it"
                        )
                    break  # a partial trailing line: dropped below
                end += len(raw)
                _read_line(path, n, raw, done)
        if end != os.path.getsize(path):  # drop a partial trailing line so appends start fresh
            with open(path, "r+b") as f:
                f.truncate(end)
    except OSError as exc:
        raise ToyrdError(f"{path}: cannot be read ({os_reason(exc)})") from None
    return done


def _read_line(path, n: int, raw: bytes, done: dict) -> None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToyrdError(
            f"{path}: line {n} is not UTF-8 text (byte {exc.start + 1}); not a "
            "sweep file, refusing to append to it"
        ) from None
    if not line.strip():
        return
    try:
        row = json.loads(line)
        done[config_key(row)] = row.get("status", "ok")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise ToyrdError(
            f"{path}: line {n} is not a sweep result (JSON object with "
            f"{', '.join(CONFIG_FIELDS)}); refusing to append to it"
        ) from None


@contextlib.contextmanager
def _locked(path):
    """Hold an exclusive, non-blocking ``flock`` on ``path`` (created if missing)."""
    import fcntl

    from toyrd._output import check_out_file, os_reason

    check_out_file("out", path)
    try:
        fh = open(path, "ab")  # noqa: SIM115 (closed by the with below; open errors first)
    except OSError as exc:
        raise ToyrdError(f"{path}: cannot be opened for appending ({os_reason(exc)})") from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ToyrdError(
                f"another sweep is writing {path}; wait for it to finish or use another --out"
            ) from None
        except OSError as exc:
            raise ToyrdError(f"{path}: cannot be locked ({os_reason(exc)})") from None
        yield


def row_results(res, i: int) -> dict:
    """The :data:`RESULT_FIELDS` and ``status`` of row ``i`` of a
    :class:`~toyrd.train.jax.TrainResult`.

    "ok": every exact quantity of :func:`toyrd.evaluate` on the row's tables is available and R,
    D are finite. "diverged": otherwise; R and D are then the last history entries (maybe
    nan/inf), ELBO = −(R + D), H the entropy of p*, the rest NaN.
    """
    import math

    import numpy as np

    from toyrd._formulas import entropy
    from toyrd.quantities import class_block_mass, evaluate

    tables = (res.encoder[i], res.decoder[i], res.marginal[i])
    q = None
    if all(np.all(np.isfinite(t)) for t in tables):
        try:
            q = evaluate(res.px, *tables, pzx=res.pzx)
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


def run_sweep(configs, out, *, batch: int = 64, max_runs=None, progress: bool = True) -> dict:
    """Run every configuration not yet in ``out`` (JSONL), appending one line per run.

    batch: the most rows trained together in one vmapped scan. max_runs: stop after this many
    new runs (None: all). Returns a summary dict: total, done_before, ran, remaining, wall_s, out
    (diverged runs are among ``ran``; their lines say ``"status": "diverged"``).
    """
    if int(batch) < 1:
        raise ToyrdError(f"batch: {batch} must be >= 1")
    if max_runs is not None and int(max_runs) < 0:
        raise ToyrdError(f"max_runs: {max_runs} must be >= 0")
    t0 = time.perf_counter()
    keys = [config_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise ToyrdError("sweep: the grid lists the same run twice")
    with _locked(out):
        return _run_locked(
            configs, keys, out, batch=int(batch), max_runs=max_runs, progress=progress, t0=t0
        )


def _run_locked(configs, keys, out, *, batch, max_runs, progress, t0) -> dict:
    from toyrd._output import os_reason
    from toyrd.tables import dumps
    from toyrd.train.jax import train_configs

    done = read_done(out)
    todo = [c for c, k in zip(configs, keys) if k not in done]
    if max_runs is not None:
        todo = todo[: int(max_runs)]
    static = ("objective", "family", "steps", "lr", "schedule", "warmup", "n_z", "dtype")
    groups = {}
    for c in todo:  # an explicit f64_steps (mixed runs) is part of a run's static setup too
        groups.setdefault(tuple(c[k] for k in static) + (c.get("f64_steps"),), []).append(c)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="sweep", unit="run")
    ran = 0
    try:
        for rows in groups.values():
            for i in range(0, len(rows), int(batch)):
                chunk = rows[i : i + int(batch)]
                res = train_configs(
                    [
                        TrainConfig(
                            **{k: c[k] for k in CONFIG_FIELDS}, f64_steps=c.get("f64_steps")
                        )
                        for c in chunk
                    ],
                    progress=False,
                    on_divergence="keep",
                )
                lines = []
                for j, c in enumerate(chunk):
                    row = {k: c[k] for k in CONFIG_FIELDS}
                    row.update(row_results(res, j))
                    lines.append(dumps(row) + "\n")
                try:
                    with open(out, "a", encoding="utf-8") as f:
                        f.write("".join(lines))
                        f.flush()
                        os.fsync(f.fileno())
                except OSError as exc:
                    raise ToyrdError(f"{out}: cannot append results ({os_reason(exc)})") from None
                ran += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    before = sum(k in done for k in keys)
    return dict(
        out=str(out),
        total=len(configs),
        done_before=before,
        ran=ran,
        remaining=len(configs) - before - ran,
        wall_s=time.perf_counter() - t0,
    )
