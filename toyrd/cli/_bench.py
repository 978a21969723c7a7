"""``toyrd bench``: run the benchmark suite (``python -m benchmarks``) from the toyrd command.

The benchmarks live in ``benchmarks/`` next to the ``toyrd`` package in a source checkout (they
are not part of the installed wheel); this command finds that folder and runs the suite in a
subprocess with the same interpreter, passing the options through. Numbers land as JSON in
``--out`` (default ``benchmarks/results``); see ``docs/benchmarks.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from toyrd.errors import ToyrdError

__all__ = ["register", "benchmarks_root", "cmd_bench"]


def register(sub, common):
    p = sub.add_parser(
        "bench", parents=[common], help="run the benchmarks (JSON out; a source checkout is needed)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repeats")
    p.add_argument("--out", default=None, help="folder for the JSON (default benchmarks/results)")
    p.add_argument("--only", default=None, help="comma-separated cases, e.g. eval,scaling")
    p.add_argument(
        "--docs", action="store_true", help="also regenerate docs/benchmarks.md and plots"
    )
    p.set_defaults(func=cmd_bench)


def benchmarks_root() -> Path:
    """The checkout holding ``benchmarks/__main__.py`` beside this package, or ToyrdError."""
    root = Path(__file__).resolve().parents[2]  # toyrd/cli/_bench.py -> the checkout
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise ToyrdError(
            f"no benchmarks/ folder next to the toyrd package (looked in {root}); "
            "the benchmarks ship with the source checkout, not the installed wheel"
        )
    return root


def cmd_bench(args) -> int:
    root = benchmarks_root()
    if args.only:
        found = sorted(f.stem[len("bench_") :] for f in (root / "benchmarks").glob("bench_*.py"))
        unknown = [c for c in args.only.split(",") if c.strip() and c.strip() not in found]
        if unknown:
            raise ToyrdError(f"--only: unknown case(s) {unknown}; the cases are {found}")
    cmd = [sys.executable, "-m", "benchmarks", "--seed", str(args.seed)]
    for flag in ("quick", "docs", "json"):
        if getattr(args, flag):
            cmd.append(f"--{flag}")
    if args.out:
        from toyrd._output import check_out_dir

        cmd += ["--out", str(Path(check_out_dir("--out", args.out)).resolve())]
    if args.only:
        cmd += ["--only", args.only]
    return subprocess.run(cmd, cwd=root).returncode
