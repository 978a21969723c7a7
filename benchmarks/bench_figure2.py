"""``toyrd figure2`` end to end: a fresh process, default settings, wall-clock seconds — cold
(a new, empty JAX compilation cache) and warm (the same cache, second run).

Each run is ``python -m toyrd.cli figure2 --out TMP --json --no-progress`` in a new process
(interpreter start, imports, JAX compilation or the cache lookup, training of every seed, exact
evaluation and the figure files all included), with ``TOYRD_JAX_CACHE`` pointing at a cache
folder made for this benchmark: the first run compiles and fills it (*cold*), the later ones load
the compiled programs from it (*warm*), as a user's second ``toyrd figure2`` does. The child's
CPU seconds (user + system, all threads) are reported beside the wall time: on a shared machine
wall time stretches with the other load, CPU time much less. ``--quick`` times ``figure2 --quick``.
Run alone: ``python -m benchmarks.bench_figure2 [--quick]``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import ROOT


def _available() -> str | None:
    """None when ``toyrd figure2`` exists, else why not."""
    proc = subprocess.run(
        [sys.executable, "-m", "toyrd.cli", "figure2", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["?"])[-1]


def run(quick: bool = False) -> dict:
    why = _available()
    if why is not None:
        return {"status": "unavailable", "reason": why}
    runs = 1 if quick else 2
    extra = ["--quick"] if quick else []
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    walls, cpus, files = [], [], []
    cache = tempfile.TemporaryDirectory()
    env["TOYRD_JAX_CACHE"] = os.path.join(cache.name, "jax")
    for _ in range(runs + 1):  # cold, then `runs` warm
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                "-m",
                "toyrd.cli",
                "figure2",
                "--out",
                tmp,
                "--json",
                "--no-progress",
                *extra,
            ]
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            proc = subprocess.run(
                cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=900
            )
            walls.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
                )
            files = sorted(p.name for p in Path(tmp).iterdir())
    cache.cleanup()
    return {
        "command": "toyrd figure2" + (" --quick" if quick else "") + " --json --no-progress",
        "runs": runs + 1,
        "wall_s": walls,
        "cold_s": walls[0],
        "warm_s": min(walls[1:]),
        "min_s": min(walls),
        "cache": "TOYRD_JAX_CACHE: a new folder; run 1 cold (compiles), the others warm",
        "cpu_s": cpus,
        "cold_cpu_s": cpus[0],
        "usable_cores": len(os.sched_getaffinity(0)),
        "files": files,
        "target_s": 15.0,
    }


if __name__ == "__main__":
    from toyrd.cli import dumps

    print(dumps(run(quick="--quick" in sys.argv), indent=1))
