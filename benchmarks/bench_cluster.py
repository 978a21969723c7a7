"""``toyrd sweep --cluster``: runs per second on 1 and 2 local Dask workers against the sweep in one
process, the per-task overhead, and the efficiency.

The grid is the phase map's setting (docs/phase.md): tabular ELBO runs of 1000 Adam steps after a
200-step warm-up, batches of 64. Every configuration is timed warm: its program is compiled first
(in this process for the local sweep; in every worker, by a batch of the same shape, for the
cluster), so the numbers are the steady rate a long sweep reaches; a fresh worker's compile cost
is reported separately. Wall time and CPU seconds (this process, or the workers' processes) are
both reported: on a shared machine wall time stretches with the other load, CPU time much less.

Per-task overhead: the wall time per task of ``n`` empty tasks streamed through ``as_completed``
on the 2-worker cluster (scheduling, two network hops, the client's loop). Efficiency:
rate(2 workers) / (2 × rate(1 worker)) and rate(N workers) / (N × rate(local sweep)).
Run alone: ``python -m benchmarks.bench_cluster [--quick]``.
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from pathlib import Path

SETTINGS = dict(families=("tabular",), steps=1000, lr=0.03, warmup=200, init_scales=(1.0,))
BATCH = 64


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _configs(first: int, n: int):
    from toyrd.train import grid

    return grid(("elbo",), seeds=range(first, first + n), **SETTINGS)


def _warm(rows) -> float:
    """Compile (and run once) a batch of the benchmark's shape; returns the seconds it took."""
    from toyrd.train._sweep import train_batch

    t0 = time.perf_counter()
    train_batch(rows)
    return time.perf_counter() - t0


def _local(n: int, tmp: Path) -> dict:
    from toyrd.train import run_sweep

    compile_s = _warm(_configs(10**6, BATCH))
    c0, t0 = _cpu_s(), time.perf_counter()
    s = run_sweep(_configs(0, n), tmp / "local.jsonl", batch=BATCH, progress=False)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    assert s["ran"] == n
    return dict(
        workers=0,
        runs=n,
        wall_s=wall,
        cpu_s=cpu,
        runs_per_s=n / wall,
        runs_per_cpu_s=n / cpu,
        first_batch_s=compile_s,
    )


def _cluster(n_workers: int, n: int, tmp: Path) -> dict:
    import distributed

    from toyrd.train import run_sweep

    t_start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        start_s = time.perf_counter() - t_start
        warm = client.run(_warm, _configs(10**6, BATCH))  # every worker compiles the program
        cpu0 = sum(client.run(_cpu_s).values())
        t0 = time.perf_counter()
        s = run_sweep(
            _configs(0, n),
            tmp / f"cluster{n_workers}.jsonl",
            batch=BATCH,
            progress=False,
            cluster=cluster.scheduler_address,
        )
        wall = time.perf_counter() - t0
        cpu = sum(client.run(_cpu_s).values()) - cpu0
        assert s["ran"] == n
        out = dict(
            workers=n_workers,
            runs=n,
            tasks=s["tasks"],
            wall_s=wall,
            cpu_s=cpu,
            runs_per_s=n / wall,
            runs_per_cpu_s=n / cpu,
            cluster_start_s=start_s,
            first_batch_s=max(warm.values()),
        )
        if n_workers == 2:
            out["overhead"] = _overhead(client, 60 if n <= 256 else 200)
        return out


def _noop(i):
    return i


def _overhead(client, n: int) -> dict:
    """Seconds per empty task, streamed as the sweep streams (as_completed, results gathered)."""
    import distributed

    list(distributed.as_completed(client.map(_noop, range(8), pure=False)))  # warm the path
    t0 = time.perf_counter()
    futs = client.map(_noop, range(n), pure=False)
    for f in distributed.as_completed(futs):
        f.result()
    return dict(tasks=n, s_per_task=(time.perf_counter() - t0) / n)


def run(quick: bool = False) -> dict:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return {"status": "unavailable", "reason": "needs dask.distributed (the cluster extra)"}
    from toyrd.cli import enable_jax_cache
    from toyrd.train._cluster import IN_FLIGHT_PER_WORKER, TASK_MODEL_STEPS

    os.environ.setdefault("TOYRD_JAX_CACHE", "off")  # compile costs measured, not cached
    enable_jax_cache()
    n = 128 if quick else 512
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = [_local(n, tmp), _cluster(1, n, tmp), _cluster(2, n, tmp)]
        same = (tmp / "local.jsonl").read_text().splitlines()
        identical = all(
            sorted((tmp / f"cluster{w}.jsonl").read_text().splitlines()) == sorted(same)
            for w in (1, 2)
        )
    local, one, two = rows
    return dict(
        settings={**SETTINGS, "objective": "elbo", "family": "tabular", "batch": BATCH},
        model_steps_per_run=SETTINGS["steps"] + SETTINGS["warmup"],
        task_model_steps=TASK_MODEL_STEPS,
        in_flight_per_worker=IN_FLIGHT_PER_WORKER,
        load_avg=os.getloadavg()[0],
        rows=rows,
        bit_identical=identical,
        efficiency_2_vs_1=two["runs_per_s"] / (2 * one["runs_per_s"]),
        efficiency_1_vs_local=one["runs_per_s"] / local["runs_per_s"],
        efficiency_2_vs_local=two["runs_per_s"] / (2 * local["runs_per_s"]),
        cpu_efficiency_2_vs_local=two["runs_per_cpu_s"] / local["runs_per_cpu_s"],
        s_per_task=two["overhead"]["s_per_task"],
    )


if __name__ == "__main__":
    import argparse
    import json

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    print(json.dumps(run(quick=p.parse_args().quick), indent=1))
