"""Rewrite the generated tables of docs/figure2.md from the committed figure2 JSON files.

    toyrd figure2 --out docs/data/figure2 --no-progress       # bump(w0=2)/bump+free (default)
    toyrd figure2 --family tabular --out docs/data/figure2_tabular --no-progress
    toyrd figure2 --family bump --out docs/data/figure2_bump --no-progress
    python docs/scripts/figure2_tables.py

Each ``<!-- figure2:NAME:start -->`` … ``<!-- figure2:NAME:end -->`` block of the page is
replaced by the table of ``docs/data/NAME/figure2.json``: median [min, max] over seeds per
quantity and model, next to the paper's value.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "figure2.md"
RUNS = ("figure2", "figure2_tabular", "figure2_bump")
#: Quantities that are >= 0 by theorem: a float64 residue below 0 is printed as 0.
NONNEGATIVE = {"R", "I_e", "I_zstar", "kl_pstar_g", "kl_pstar_dbar", "class0_mass"}
#: How far below 0 a residue of a non-negative quantity may be (float64 sums of ~900 terms).
RESIDUE = 1e-12
KEYS = ("R", "D", "ELBO", "I_e", "I_zstar", "kl_pstar_g", "kl_pstar_dbar", "class0_mass")
LABELS = {
    "R": "R",
    "D": "D",
    "ELBO": "ELBO",
    # TeX for MathJax, as in the prose (no "|" in a table cell: \Vert is the norm bar)
    "I_e": "$I_e$",
    "I_zstar": "$I(z; z^*)$",
    "kl_pstar_g": "$\\mathrm{KL}(p^* \\Vert g)$",
    "kl_pstar_dbar": "$\\mathrm{KL}(p^* \\Vert \\bar d)$",
    "class0_mass": "class-0 block mass",
}


def _num(v: float, key: str = "") -> str:
    """4 decimals; small values in scientific notation; a residue −1e-12 < v < 0 of a quantity
    that is non-negative by theorem prints as 0 (the JSON keeps the exact float)."""
    if key in NONNEGATIVE and -RESIDUE < v < 0:
        v = 0.0
    if v == 0:
        return "0"
    return f"{v:.2g}" if abs(v) < 1e-3 else f"{v:.4f}"


def table(data: dict) -> str:
    st = data["settings"]
    n = len(data["elbo"]["seeds"])
    head = (
        f"*{n} seeds; {st['family']} family, init scale {st['init_scale']}, lr {st['lr']}, "
        f"{st['steps']} steps + {st['warmup']} warm-up ({st['schedule']}), σ = {st['sigma']}; "
        f"figure: ELBO seed {data['elbo']['shown_seed']}, target-rate seed "
        f"{data['target_rate']['shown_seed']} (median R). Nats.*"
    )
    rows = [
        "| quantity | (a) optimal | (b) ELBO median [min, max] | paper (b) | "
        "(c) target rate median [min, max] | paper (c) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for k in KEYS:
        cells = []
        for name in ("elbo", "target_rate"):
            s = data[name]["summary"][k]
            p = data["paper"][name].get(k)
            cells += [
                f"{_num(s['median'], k)} [{_num(s['min'], k)}, {_num(s['max'], k)}]",
                "" if p is None else f"{p:g}",
            ]
        rows.append(
            f"| {LABELS[k]} | {_num(data['optimal'][k][0], k)} | " + " | ".join(cells) + " |"
        )
    return head + "\n\n" + "\n".join(rows)


def main() -> int:
    text = PAGE.read_text()
    for name in RUNS:
        data = json.loads((ROOT / "docs" / "data" / name / "figure2.json").read_text())
        start, end = f"<!-- figure2:{name}:start -->", f"<!-- figure2:{name}:end -->"
        block = f"{start}\n{table(data)}\n{end}"
        pattern = re.escape(start) + ".*?" + re.escape(end)
        text, n = re.subn(pattern, lambda _, block=block: block, text, flags=re.S)
        if n != 1:
            raise SystemExit(f"{PAGE}: expected one block {start} … {end}, found {n}")
    PAGE.write_text(text)
    print(f"rewrote the tables of {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
