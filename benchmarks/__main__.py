"""Run every benchmark side by side: ``python -m benchmarks`` (also ``toyrd bench``).

    python -m benchmarks [--quick] [--out DIR] [--only eval,scaling] [--docs] [--json] [--seed N]

Each ``benchmarks/bench_<case>.py`` runs in its own fresh Python process (so JIT caches, memory
high-water marks and imports never leak from one case into the next) and its result is written
to ``DIR/<case>.json`` as ``{"case", "quick", "status", "wall_s", "machine", "result"}``;
``DIR/summary.json`` lists every case (``--only`` re-runs the named cases and keeps the other
entries, noting the re-run). A case whose module is missing or fails is recorded with
``status: "error"`` and the tail of its stderr, and the others still run. ``--docs`` then
regenerates ``docs/benchmarks.md`` and ``docs/img/bench_*.png`` from the JSON
(:mod:`benchmarks.report`).

Defaults: ``--out benchmarks/results`` (``benchmarks/results/quick`` with ``--quick``).
Exit status: 0 when every case ran, 1 when one failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import ROOT, machine_info, write_json

#: Display order; any other ``bench_*.py`` found is appended alphabetically.
ORDER = ["eval", "train", "peers", "torch", "scaling", "ib", "figure2", "cluster"]

#: Wall-clock limit per case (seconds) in full and quick mode.
TIMEOUT = {False: 900, True: 300}


def discover() -> list[str]:
    """Case names ``x`` of the modules ``benchmarks/bench_x.py``, in display order."""
    found = sorted(p.stem[len("bench_") :] for p in (ROOT / "benchmarks").glob("bench_*.py"))
    return [c for c in ORDER if c in found] + [c for c in found if c not in ORDER]


def call_case(module, quick: bool):
    """Call a case module by whatever entry point it exposes (``run(quick)`` is the convention)."""
    if hasattr(module, "run"):
        return module.run(quick=quick)
    raise AttributeError(f"{module.__name__} has no run(quick) function")


def _child(case: str, quick: bool, path: Path) -> int:
    """Run one case in this (fresh) process and write its envelope to ``path``."""
    t0 = time.perf_counter()
    module = importlib.import_module(f"benchmarks.bench_{case}")
    result = call_case(module, quick)
    wall = time.perf_counter() - t0
    write_json(
        path,
        {
            "case": case,
            "quick": quick,
            "status": "ok",
            "wall_s": wall,
            "machine": machine_info(),
            "result": result,
        },
    )
    return 0


def run_case(case: str, quick: bool, out: Path, env: dict) -> dict:
    """Run one case in a subprocess; return its envelope (also on disk), errors included."""
    path = out / f"{case}.json"
    if path.exists():
        path.unlink()
    cmd = [sys.executable, "-m", "benchmarks", "--child", case, "--out", str(out)]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT[quick]
        )
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, err = "timeout", f"timed out after {TIMEOUT[quick]} s\n{(exc.stderr or b'')[-2000:]!r}"
    wall = time.perf_counter() - t0
    if rc == 0 and path.exists():
        return json.loads(path.read_text())
    envelope = {
        "case": case,
        "quick": quick,
        "status": "error",
        "wall_s": wall,
        "returncode": rc,
        "stderr_tail": (err or "")[-3000:],
        "machine": machine_info(),
        "result": None,
    }
    write_json(path, envelope)
    return envelope


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repeats")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the JSON (default benchmarks/results[/quick])",
    )
    p.add_argument("--only", default=None, help="comma-separated case names (default: all found)")
    p.add_argument(
        "--docs",
        action="store_true",
        help="regenerate docs/benchmarks.md and docs/img/bench_*.png from the JSON",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON to stdout")
    p.add_argument("--seed", type=int, default=0, help="seed of the random models (default 0)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = args.out or (ROOT / "benchmarks" / "results" / ("quick" if args.quick else ""))
    out = Path(out).resolve()
    if args.child:
        return _child(args.child, args.quick, out / f"{args.child}.json")

    cases = discover()
    if args.only:
        wanted = [c.strip() for c in args.only.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in cases]
        if unknown:
            print(
                f"python -m benchmarks: error: unknown case(s) {unknown}; found {cases}",
                file=sys.stderr,
            )
            return 2
        cases = [c for c in cases if c in wanted]
    env = dict(
        os.environ,
        JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"),
        TOYRD_BENCH_SEED=str(args.seed),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    out.mkdir(parents=True, exist_ok=True)
    summary = {"quick": args.quick, "seed": args.seed, "machine": machine_info(), "cases": {}}
    previous = out / "summary.json"
    if args.only and previous.exists():  # re-running some cases keeps the others' entries
        old = json.loads(previous.read_text())
        if old.get("quick") == args.quick:
            summary["cases"] = {c: e for c, e in old.get("cases", {}).items() if c not in cases}
            summary["machine"] = old.get("machine", summary["machine"])
            summary["rerun"] = old.get("rerun", []) + [
                {
                    "cases": cases,
                    "time_utc": machine_info()["time_utc"],
                    "loadavg_1m": machine_info()["loadavg_1m"],
                }
            ]
    failed = 0
    for case in cases:
        print(f"[bench] {case} ...", file=sys.stderr, flush=True)
        env_case = run_case(case, args.quick, out, env)
        failed += env_case["status"] != "ok"
        summary["cases"][case] = {
            "status": env_case["status"],
            "wall_s": env_case["wall_s"],
            "file": f"{case}.json",
        }
        print(
            f"[bench] {case}: {env_case['status']} in {env_case['wall_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    write_json(out / "summary.json", summary)

    from benchmarks import report

    plots = report.write_plots(out, out)
    if args.docs:
        page = report.render_page(out)
        report.write_docs(out, page)
    if args.json:
        from toyrd.cli import dumps

        print(dumps({**summary, "out": str(out), "plots": [str(p) for p in plots]}))
    else:
        print(report.render_summary(out))
        print(f"JSON in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
