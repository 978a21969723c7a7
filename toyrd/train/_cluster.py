"""Sweeps on a Dask cluster: ``run_sweep(..., cluster="local:N" | ADDRESS)``.

The grid is cut into the same batches as on one machine (:func:`toyrd.train._sweep.plan`); a
task is a run of consecutive batches of one static group, packed to about
:data:`TASK_MODEL_STEPS` model-steps so that it takes seconds. Workers train and return JSON
lines; results stream back as tasks finish (``as_completed``) and the client alone appends them,
under the sweep file's lock, so every single-machine promise holds: one line per run with the same
fields, resume, a partial line set aside, two writers refused, diverged runs recorded. At most
:data:`IN_FLIGHT_PER_WORKER` tasks per worker are submitted at a time, so the client's memory does
not grow with the grid. A worker lost mid-task costs only that task: Dask reruns it elsewhere (the
scheduler's ``allowed-failures`` bounds how often).

Bit-identical to the single-machine sweep: a row's last bits depend on its batch (size and place),
which is the same here; and on the compiled program, so every task returns the worker's
:func:`environment` (toyrd's source, JAX and jaxlib versions, backend, toyrd's XLA options,
``XLA_FLAGS``) and the client refuses results from an environment other than its own.

Needs the ``cluster`` extra (``dask[distributed]``); nothing here is imported by ``import toyrd``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys

from toyrd.errors import ToyrdError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "TASK_MODEL_STEPS",
    "IN_FLIGHT_PER_WORKER",
    "parse_cluster",
    "connect",
    "environment",
    "pack",
    "run_on_cluster",
]

#: Seconds to reach a scheduler (and for a first worker to join) before giving up in one line.
CONNECT_TIMEOUT_S = 10.0
#: Work per task, in model-steps (rows × (warm-up + steps)): ~2.5-4 µs each on one idle CPU core
#: (docs/benchmarks.md), so a task takes one to a few seconds (more on a loaded machine): long
#: against Dask's per-task overhead (milliseconds, benchmarks/bench_cluster.py) and short enough
#: that a lost worker costs little.
TASK_MODEL_STEPS = 300_000
#: Tasks submitted per worker at a time: one running, one queued (no idle gap between tasks).
IN_FLIGHT_PER_WORKER = 2


def parse_cluster(spec) -> tuple:
    """``("local", n_workers)`` for "local" (one worker per CPU core) or "local:N", else
    ``("address", spec)`` for a scheduler address ("tcp://host:port", "host:port")."""
    if not isinstance(spec, str) or not spec.strip():
        raise ToyrdError(f"--cluster: {spec!r}, expected local, local:N or a scheduler address")
    spec = spec.strip()
    if spec == "local":
        return "local", os.cpu_count() or 1
    m = re.fullmatch(r"local:(\d+)", spec)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ToyrdError(f"--cluster: {spec}: the number of workers must be >= 1")
        return "local", n
    if spec.startswith("local"):
        raise ToyrdError(f"--cluster: {spec!r}, expected local or local:N with N >= 1")
    return "address", spec


def _host_port(address: str):
    """(host, port) of a tcp address, or None for other protocols (checked by Dask itself)."""
    m = re.fullmatch(r"(?:tcp://)?\[?([^\[\]]+?)\]?:(\d+)", address)
    return (m.group(1), int(m.group(2))) if m else None


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ToyrdError("--cluster needs dask.distributed: pip install 'toyrd[cluster]'") from None
    return distributed


def connect(spec, *, timeout: float = CONNECT_TIMEOUT_S) -> tuple:
    """(client, the LocalCluster started here or None). A bad address fails within ``timeout``
    (a refused or unresolvable tcp address at once) with a one-line :class:`ToyrdError`."""
    import logging
    import socket

    kind, value = parse_cluster(spec)
    distributed = _distributed()
    if kind == "local":
        cluster = distributed.LocalCluster(
            n_workers=value,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
        return distributed.Client(cluster), cluster
    hp = _host_port(value)
    if hp is not None:
        try:
            socket.create_connection(hp, timeout=timeout).close()
        except OSError as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ToyrdError(f"--cluster: no Dask scheduler at {value} ({reason})") from None
    try:
        client = distributed.Client(value, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ToyrdError(f"--cluster: no Dask scheduler at {value} ({exc})") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        client.close()
        raise ToyrdError(
            f"--cluster: the scheduler at {value} has no worker after {timeout:g} s"
        ) from None
    return client, None


@functools.cache
def _source_digest() -> str:
    """sha256 of toyrd's Python source (file names and contents, sorted)."""
    import toyrd

    root = os.path.dirname(os.path.abspath(toyrd.__file__))
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                h.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def environment() -> dict:
    """What a trained row's bits depend on besides its batch: toyrd's source digest, JAX and
    jaxlib versions, the JAX backend, toyrd's XLA compiler options and ``XLA_FLAGS``."""
    import jax
    import jaxlib

    from toyrd._backend import compiler_options

    return dict(
        toyrd=_source_digest(),
        jax=jax.__version__,
        jaxlib=jaxlib.__version__,
        backend=jax.default_backend(),
        options=[list(o) for o in compiler_options()],
        xla_flags=os.environ.get("XLA_FLAGS", ""),
    )


def _task(batches) -> tuple:
    """Worker side: (environment, [lines of each batch]) for a list of batches of config dicts."""
    from toyrd.train._sweep import train_batch

    return environment(), [train_batch(rows) for rows in batches]


def pack(todo, configs, *, target: int = TASK_MODEL_STEPS, n_tasks_min: int = 1) -> list:
    """Tasks: lists of consecutive batches (of index lists) from one static group, each about
    ``target`` model-steps (at least one batch), and at least ``n_tasks_min`` tasks where there
    are that many batches."""
    from toyrd.train._sweep import STATIC_FIELDS

    def cost(b):
        c = configs[b[0]]
        return len(b) * (int(c["steps"]) + int(c["warmup"]))

    total = sum(cost(b) for b in todo)
    if n_tasks_min > 1 and total:
        target = max(1, min(target, -(-total // n_tasks_min)))
    tasks, cur, cur_cost, cur_group = [], [], 0, None
    for b in todo:
        group = tuple(configs[b[0]].get(k) for k in STATIC_FIELDS)
        if cur and (group != cur_group or cur_cost >= target):
            tasks.append(cur)
            cur, cur_cost = [], 0
        cur.append(b)
        cur_cost += cost(b)
        cur_group = group
    if cur:
        tasks.append(cur)
    return tasks


def run_on_cluster(spec, configs, todo, writer, *, progress: bool = True) -> dict:
    """Train the batches ``todo`` (index lists into ``configs``) on the cluster ``spec``,
    passing each finished batch's lines to ``writer.write(batch, lines)`` as tasks complete.
    Returns {"workers": n, "dashboard": link or None, "tasks": n}."""
    if not todo:
        return dict(workers=0, dashboard=None, tasks=0)
    mine = environment()
    client, own = connect(spec)
    futures = []
    try:
        distributed = _distributed()
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        link = getattr(client, "dashboard_link", None) if _has_dashboard(client) else None
        if link:
            print(f"sweep: Dask dashboard at {link}", file=sys.stderr)
        tasks = pack(todo, configs, n_tasks_min=IN_FLIGHT_PER_WORKER * n_workers)
        pending = iter(range(len(tasks)))
        ac = distributed.as_completed()
        which = {}

        def submit_next():
            t = next(pending, None)
            if t is None:
                return
            batches = [[configs[i] for i in b] for b in tasks[t]]
            fut = client.submit(_task, batches, pure=False)
            which[fut.key] = t
            futures.append(fut)
            ac.add(fut)

        for _ in range(IN_FLIGHT_PER_WORKER * n_workers):
            submit_next()
        for fut in ac:
            try:
                env, lines = fut.result()
            except distributed.KilledWorker as exc:
                raise ToyrdError(
                    f"--cluster: a task lost more workers than Dask's allowed-failures ({exc}); "
                    "the finished lines are kept, rerun to resume"
                ) from None
            except (OSError, distributed.comm.CommClosedError) as exc:
                raise ToyrdError(
                    f"--cluster: lost the scheduler ({exc}); the finished lines are kept, rerun "
                    "to resume"
                ) from None
            if env != mine:
                diff = sorted(k for k in mine if env.get(k) != mine[k])
                raise ToyrdError(
                    f"--cluster: a worker's {', '.join(diff)} differ(s) from this client's; "
                    "results would not be bit-identical (install the same toyrd and JAX there)"
                )
            t = which.pop(fut.key)
            for b, batch_lines in zip(tasks[t], lines):
                writer.write(b, batch_lines)
            futures.remove(fut)
            fut.release()
            if writer.left == 0:  # max_runs reached
                break
            submit_next()
        return dict(workers=n_workers, dashboard=link, tasks=len(tasks))
    finally:
        for fut in futures:
            fut.cancel()
        client.close()
        if own is not None:
            own.close()


def _has_dashboard(client) -> bool:
    try:
        return "dashboard" in client.scheduler_info().get("services", {})
    except Exception:  # an old scheduler without services info
        return False
