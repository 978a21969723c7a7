"""Sweeps on Dask (issue 27): a LocalCluster of two worker processes on the loopback address gives
the single-machine sweep's lines bit for bit, survives a killed worker and an interrupted client
with every run written exactly once, and a bad address fails at once in one line."""

import logging
import os
import signal
import threading
import time

import pytest

pytest.importorskip("jax")
distributed = pytest.importorskip("distributed")

from toyrd.cli import main
from toyrd.errors import ToyrdError
from toyrd.train import _cluster, grid, run_sweep

#: Two objectives (mixed and float64 programs), 6 seeds in batches of 4: four batches of 4 and 2
#: rows, so batch size and place both matter for the bits.
GRID = dict(
    objectives=("elbo", "target_rate"),
    families=("tabular",),
    sigmas=(0.5,),
    seeds=range(6),
    steps=200,
    lr=0.05,
    warmup=0,
    init_scales=(1.0,),
)
BATCH = 4


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def local_lines(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "s.jsonl"
    run_sweep(grid(**GRID), out, batch=BATCH, progress=False)
    return sorted(out.read_text().splitlines())


def _sweep(out, cluster, **kw):
    return run_sweep(
        grid(**GRID), out, batch=BATCH, progress=False, cluster=cluster.scheduler_address, **kw
    )


def test_cluster_lines_equal_the_local_sweep_bit_for_bit(cluster, local_lines, tmp_path):
    out = tmp_path / "c.jsonl"
    summary = _sweep(out, cluster)
    assert (summary["ran"], summary["remaining"], summary["workers"]) == (12, 0, 2)
    assert sorted(out.read_text().splitlines()) == local_lines
    assert _sweep(out, cluster)["ran"] == 0  # resumable: nothing left to do


def test_a_killed_worker_costs_only_its_task(cluster, tmp_path):
    """SIGKILL a worker process while it holds a task: Dask reruns the task elsewhere and every
    run is written exactly once, with the local sweep's bits. The grid has its own learning rate,
    so the workers must compile its program first: each task runs for seconds, and the kill
    lands inside one."""
    own = {**GRID, "objectives": ("elbo",), "seeds": range(8), "lr": 0.045}  # one program
    local = tmp_path / "l.jsonl"
    run_sweep(grid(**own), local, batch=BATCH, progress=False)
    killed = {}

    def killer():
        with distributed.Client(cluster.scheduler_address, timeout="10s") as c:
            for _ in range(1200):  # up to ~60 s for a task to start
                busy = {w: t for w, t in c.processing().items() if t}
                if busy:
                    w = next(iter(busy))
                    os.kill(c.run(os.getpid, workers=[w])[w], signal.SIGKILL)
                    killed["tasks"] = len(busy[w])
                    return
                time.sleep(0.05)

    t = threading.Thread(target=killer)
    t.start()
    out = tmp_path / "k.jsonl"
    try:
        summary = run_sweep(
            grid(**own), out, batch=BATCH, progress=False, cluster=cluster.scheduler_address
        )
    finally:
        t.join()
    assert killed.get("tasks", 0) >= 1  # the worker died holding a task
    assert summary["ran"] == 8
    lines = out.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 8
    assert sorted(lines) == sorted(local.read_text().splitlines())


def test_an_interrupted_client_resumes(cluster, local_lines, tmp_path):
    out = tmp_path / "i.jsonl"

    def interrupt(n):
        raise KeyboardInterrupt  # the client is stopped after its first append

    with pytest.raises(KeyboardInterrupt):
        _sweep(out, cluster, on_write=interrupt)
    first = out.read_text().splitlines()
    assert 1 <= len(first) < 12 and set(first) <= set(local_lines)
    summary = _sweep(out, cluster)
    assert (summary["done_before"], summary["ran"]) == (len(first), 12 - len(first))
    lines = out.read_text().splitlines()
    assert lines[: len(first)] == first and sorted(lines) == local_lines


def test_a_worker_with_another_environment_is_refused(cluster, tmp_path, monkeypatch):
    """Bits depend on the compiled program: results from a worker whose toyrd/JAX/XLA setup
    differs from the client's are refused, not written."""
    real = _cluster.environment()
    monkeypatch.setattr(_cluster, "environment", lambda: {**real, "jax": "0.0.0"})
    out = tmp_path / "e.jsonl"
    with pytest.raises(ToyrdError, match="a worker's jax differ"):
        _sweep(out, cluster)
    assert out.read_text() == ""


#: A refused loopback connection is reported by the first connect, well inside the timeout.
def test_a_bad_address_fails_fast_in_one_line(capsys, tmp_path):
    out = tmp_path / "b.jsonl"
    t0 = time.monotonic()
    args = ["sweep", "--out", str(out), "--seeds", "1", "--steps", "10", "--warmup", "0"]
    assert main(args + ["--no-progress", "--cluster", "tcp://127.0.0.1:1"]) == 2
    assert time.monotonic() - t0 < _cluster.CONNECT_TIMEOUT_S
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Dask scheduler at tcp://127.0.0.1:1" in err
    assert main(args + ["--cluster", "local:0"]) == 2
    assert "the number of workers must be >= 1" in capsys.readouterr().err
    assert out.read_text() == ""


def test_tasks_are_whole_batches_of_one_group():
    configs = grid(**GRID)
    from toyrd.train._sweep import plan

    batches = plan(configs, BATCH)
    assert [len(b) for b in batches] == [4, 2, 4, 2]
    tasks = _cluster.pack(batches, configs, target=10**9)
    assert tasks == [batches[:2], batches[2:]]  # never across a static group
    assert _cluster.pack(batches, configs, n_tasks_min=4) == [[b] for b in batches]


@pytest.mark.slow
def test_cli_local_cluster(tmp_path, local_lines, capsys):
    out = tmp_path / "l.jsonl"
    args = ["sweep", "--out", str(out), "--objective", "elbo", "target_rate", "--seeds", "6"]
    args += ["--steps", "200", "--lr", "0.05", "--warmup", "0", "--init-scale", "1.0"]
    args += ["--family", "tabular"]  # local_lines' family
    assert main(args + ["--batch", str(BATCH), "--cluster", "local:2"]) == 0
    assert "Dask dashboard at http://127.0.0.1:" in capsys.readouterr().err
    assert sorted(out.read_text().splitlines()) == local_lines
