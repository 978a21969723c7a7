"""What a one-line change does to the IB frontier: the measurement behind the explanations of
"equivalent", "rounding" and "search" survivors on docs/mutation.md.

    python tools/mutant_effect.py toyrd/quantities/_ib_cluster.py 70 "argmin(1)" "argmin(0)"
    python tools/mutant_effect.py toyrd/quantities/_ib_cluster.py 245 "n_s > 2" "n_s > 3" --slopes

The change (the first occurrence of OLD on line LINE replaced by NEW) is applied to a copy of
the committed toyrd/ (git archive HEAD) in a temporary folder, never to the tree itself; the
original and the copy each compute, in a fresh interpreter,

* ``--frontiers`` (default): ib_frontier on ten cases — the toy, three random joints (2 × 5,
  3 × 8, 2 × 7) and the binary symmetric pair with crossover 0.1, each with n_z = n_x and
  n_z = 2 — compared bit for bit (where they differ, the largest gap between the two
  piecewise-linear envelopes);
* ``--slopes``: zero_rate_slope on 67 joints — the toy, 60 random 2- and 3-class joints
  (Dirichlet 0.2, 1 or 3), the two peaks beyond 10³ and the far-tilt pair of
  tests/quantities/test_ib.py, each of those three also with its classes swapped — as the
  largest relative change of s* and the joints that moved by more than 1e-12.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FRONTIERS = r"""
import json, numpy as np, toyrd
from toyrd.quantities import ib_frontier
rng = np.random.default_rng(0)
cases = {"toy": toyrd.toy_data().pzx}
for shape in [(2, 5), (3, 8), (2, 7)]:
    cases["x".join(map(str, shape))] = rng.dirichlet(np.ones(shape[0] * shape[1])).reshape(shape)
cases["bsc"] = 0.5 * np.array([[0.9, 0.1], [0.1, 0.9]])
out = {}
for name, pzx in cases.items():
    for label, n_z in (("n_z = n_x", None), ("n_z = 2", 2)):
        fr = ib_frontier(pzx, n_z=n_z)
        out[f"{name}, {label}"] = [fr.rate.tolist(), fr.relevance.tolist()]
print(json.dumps(out))
"""

SLOPES = r"""
import json, numpy as np, toyrd
from toyrd.quantities import zero_rate_slope
rng = np.random.default_rng(0)
cases = [toyrd.toy_data().pzx]
for _ in range(60):
    shape = (int(rng.integers(2, 4)), int(rng.integers(2, 9)))
    alpha = rng.choice([0.2, 1.0, 3.0])
    cases.append(rng.dirichlet(np.full(shape[0] * shape[1], alpha)).reshape(shape))
for q, px in [([1, 1 - 1e-8, 1 - 5e-4], [0.3, 0.25, 0.45]),
              ([1, 1 - 1e-3, 1 - 2e-6], [0.25, 0.35, 0.4]), ([1, 0.999], [0.5, 0.5])]:
    q, px = np.array(q), np.array(px)
    pzx = np.vstack([px * q, px * (1 - q)])
    cases += [pzx, pzx[::-1].copy()]
out = []
for pzx in cases:
    try:
        out.append(zero_rate_slope(pzx)[0])
    except Exception as err:  # a mutant may raise: that is its effect
        out.append(f"{type(err).__name__}: {err}")
print(json.dumps(out))
"""


def run(package_parent: Path, script: str):
    """The JSON the script prints, run with ``package_parent`` first on the path."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=package_parent,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
    )
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise SystemExit(f"mutant_effect.py: the run failed: {tail[0]}")
    return json.loads(done.stdout)


def changed_source(text: str, module: str, line: int, old: str, new: str) -> str:
    """``text`` with the first ``old`` on line ``line`` replaced by ``new``."""
    lines = text.splitlines(keepends=True)
    if not 1 <= line <= len(lines) or old not in lines[line - 1]:
        raise SystemExit(f"mutant_effect.py: {module}:{line} does not contain {old!r}")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


def envelope_gap(a, b) -> float:
    """The largest |F_a(r) − F_b(r)| (nats) over both frontiers' vertex rates, each frontier
    (rates, relevances) the piecewise-linear envelope through its vertices."""
    ra, fa = (np.asarray(x, dtype=float) for x in a)
    rb, fb = (np.asarray(x, dtype=float) for x in b)
    r = np.union1d(ra, rb)
    return float(np.max(np.abs(np.interp(r, ra, fa) - np.interp(r, rb, fb))))


def compare_frontiers(base: dict, mutant: dict) -> list[str]:
    return [
        f"{name}: "
        + (
            "bit-identical"
            if mutant[name] == fr
            else f"differs, by at most {envelope_gap(fr, mutant[name]):.1e} nats"
        )
        for name, fr in base.items()
    ]


def compare_slopes(base: list, mutant: list) -> list[str]:
    worst, moved, same = 0.0, [], 0
    for i, (a, b) in enumerate(zip(base, mutant)):
        same += a == b
        if isinstance(a, str) or isinstance(b, str):
            moved.append(f"joint {i}: {a} -> {b}")
            continue
        rel = abs(b - a) / abs(a) if a else abs(b)
        worst = max(worst, rel)
        if rel > 1e-12:
            moved.append(f"joint {i}: {a!r} -> {b!r}")
    return [
        f"{len(base)} joints: s* identical on {same}, largest relative change {worst:.2e}",
        *moved,
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="path of the module, e.g. toyrd/quantities/_ib_cluster.py")
    ap.add_argument("line", type=int, help="line number (1-based)")
    ap.add_argument("old", help="text on that line to replace (first occurrence)")
    ap.add_argument("new", help="its replacement")
    ap.add_argument("--slopes", action="store_true", help="compare zero_rate_slope on 67 joints")
    args = ap.parse_args(argv)
    if not (ROOT / args.module).is_file() or not args.module.startswith("toyrd/"):
        ap.error(f"module: {args.module!r} is not a file under toyrd/")
    script, compare = (SLOPES, compare_slopes) if args.slopes else (FRONTIERS, compare_frontiers)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        # the committed sources, not the working tree (which may hold a live mutant of a run)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD", "toyrd"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        path = copy / args.module
        text = path.read_text(encoding="utf-8")
        mutated = changed_source(text, args.module, args.line, args.old, args.new)
        print(f"{args.module}:{args.line}: {mutated.splitlines()[args.line - 1].strip()}")
        base = run(copy, script)
        path.write_text(mutated, encoding="utf-8")
        for row in compare(base, run(copy, script)):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
