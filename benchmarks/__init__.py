"""toyrd's benchmarks: one script per question, JSON out, run side by side by one command.

``python -m benchmarks [--quick] [--out DIR] [--only eval,scaling] [--docs]`` (or ``toyrd bench``)
runs every ``benchmarks/bench_*.py`` module in a fresh subprocess and writes ``DIR/<case>.json``;
``python -m benchmarks.report`` renders ``docs/benchmarks.md`` from those files. Numbers are
measured here and read by people; no unit test asserts a timing.

A case module exposes ``run(quick: bool) -> dict`` (JSON-ready). This file holds the helpers the
cases share: the machine description, a timer, and JSON writing.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["ROOT", "machine_info", "measure", "max_rss_mb", "write_json", "seed"]

#: The repository root (the folder holding ``benchmarks/`` and ``toyrd/``).
ROOT = Path(__file__).resolve().parents[1]


def seed() -> int:
    """The seed of every random model a case builds (``--seed``, passed to children by env)."""
    return int(os.environ.get("TOYRD_BENCH_SEED", "0"))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gb():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(module: str):
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def _git_commit():
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _devices() -> dict:
    """The accelerator the JAX code of a case ran on: JAX's backend and first device (and
    whether PyTorch sees CUDA), or the reason they are unknown."""
    out = {}
    try:
        import jax

        dev = jax.devices()[0]
        out.update(jax_backend=jax.default_backend(), device=str(dev), device_kind=dev.device_kind)
    except Exception as exc:  # noqa: BLE001 - no jax, or no usable backend
        out.update(jax_backend=None, device=f"unknown ({type(exc).__name__})")
    if "torch" in sys.modules:
        out["torch_cuda"] = bool(sys.modules["torch"].cuda.is_available())
    return out


def machine_info() -> dict:
    """CPU model, cores usable by this process, memory, load, package versions, git commit,
    JAX backend and device."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "mem_total_gb": _mem_total_gb(),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            m: _version(m)
            for m in (
                "toyrd",
                "numpy",
                "scipy",
                "jax",
                "jaxlib",
                "optax",
                "torch",
                "matplotlib",
                "dit",
            )
        },
        "commit": _git_commit(),
        **_devices(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def measure(fn, *, repeat: int = 5, min_time: float = 0.05, number: int | None = None) -> dict:
    """Seconds per call of ``fn()``: ``repeat`` rounds of ``number`` calls each.

    ``number`` is chosen so that one round lasts at least ``min_time`` seconds (after one
    untimed warm-up call). Returns ``{"min_s", "median_s", "number", "repeat", "cpu_median_s"}``
    per call: wall-clock minimum (least disturbed by other load) and median, and the median CPU
    time of this process (all its threads) — the steadier number on a shared machine.
    """
    fn()
    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = time.perf_counter() - t0
            if dt >= min_time or number >= 1 << 20:
                break
            number *= max(2, min(10, math.ceil(min_time / max(dt, 1e-9))))
    rounds, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - t0) / number)
        cpu.append((time.process_time() - c0) / number)
    return {
        "min_s": min(rounds),
        "median_s": statistics.median(rounds),
        "number": number,
        "repeat": repeat,
        "cpu_median_s": statistics.median(cpu),
    }


def max_rss_mb() -> float:
    """This process's peak resident memory so far (MiB; Linux reports ru_maxrss in KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


def write_json(path, obj) -> Path:
    """Strict JSON (non-finite numbers as strings, like ``toyrd.cli.dumps``), indented."""
    from toyrd.cli import dumps

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj, indent=1) + "\n")
    return path
