"""Rewrite the generated tables of docs/remedies.md from the committed remedies JSON.

    toyrd remedies --out docs/data/remedies --no-progress     # every family, 16 seeds
    python docs/scripts/remedies_table.py

The ``<!-- remedies:verdicts:start -->`` … ``end`` block becomes the remedy × family matrix of
the two verdicts; the ``<!-- remedies:table:start -->`` … ``end`` block one table per family:
median [min, max] over seeds of R and I(z; z*), and the medians of the class-0 block mass,
KL(p* || g) and -ELBO - H (the likelihood cost). Nothing is typed by hand but ``TEX_LOSS``: the
page's TeX of each remedy's loss (the JSON keeps the plain-text form; a loss missing from it is
an error, so a new remedy cannot reach the page as plain text).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "remedies.md"
DATA = ROOT / "docs" / "data" / "remedies" / "remedies.json"


#: Each remedy's loss (its plain-text ``loss`` in the JSON) as the page typesets it. No "|" in a
#: table cell: the absolute value is \lvert \rvert.
TEX_LOSS = {
    "D + R": r"$D + R$",
    "D + βR": r"$D + \beta R$",
    "D + min(1, t/T_a) R": r"$D + \min(1, t/T_a)\, R$",
    "D + min(1, 2 (t mod C)/C) R": r"$D + \min(1, 2 (t \bmod C)/C)\, R$",
    "D + max(λ, R)": r"$D + \max(\lambda, R)$",
    "D + R; K encoder steps per decoder step for t < T_g": (
        r"$D + R$; $K$ encoder steps per decoder step for $t < T_g$"
    ),
    "D + R − α I_e": r"$D + R - \alpha I_e$",
    "D + |σ − R|": r"$D + \lvert\sigma - R\rvert$",
    "D + λ(R − σ) + ρ/2 (R − σ)², λ by ascent": (
        r"$D + \lambda(R - \sigma) + \tfrac{\rho}{2} (R - \sigma)^2$, $\lambda$ by ascent"
    ),
    "m, d: R + D; e: D + |σ − R|": r"$m, d$: $R + D$; $e$: $D + \lvert\sigma - R\rvert$",
}


def _tex_loss(loss: str) -> str:
    if loss not in TEX_LOSS:
        raise SystemExit(f"remedies_table: no TeX for the loss {loss!r}: add it to TEX_LOSS")
    return TEX_LOSS[loss]


def _num(v: float) -> str:
    """4 decimals; small values in scientific notation (float64 residues ~1e-16 print as 0)."""
    if abs(v) < 5e-13:
        return "0"
    return f"{v:.2g}" if abs(v) < 1e-3 else f"{v:.4f}"


def _range(s: dict) -> str:
    return f"{_num(s['median'])} [{_num(s['min'])}, {_num(s['max'])}]"


def verdicts(data: dict) -> str:
    fams = data["settings"]["families"]
    names = [r["name"] for r in data["remedies"]]
    by = {(r["family"], r["remedy"]): r for r in data["rows"]}
    head = "| remedy | loss | source | " + " | ".join(fams) + " |"
    rows = [head, "|---|---|---|" + "---|" * len(fams)]
    for rem in data["remedies"]:
        cells = []
        for f in fams:
            r = by[(f, rem["name"])]
            z = "recovers z*" if r["recovers_zstar"] else "loses z*"
            fit = "fits" if r["fits_data"] else "misfits"
            cells.append(
                f"{'**' if r['recovers_zstar'] and r['fits_data'] else ''}{z}, {fit}"
                f"{'**' if r['recovers_zstar'] and r['fits_data'] else ''}"
            )
        loss = _tex_loss(rem["loss"])
        rows.append(f"| {rem['name']} | {loss} | {rem['source']} | " + " | ".join(cells) + " |")
    assert len(rows) == 2 + len(names)
    return "\n".join(rows)


def tables(data: dict) -> str:
    st, th = data["settings"], data["thresholds"]
    out = [
        f"*{st['n_seeds']} seeds per remedy; {st['steps']} steps + {st['warmup']} warm-up, "
        f"lr {st['lr']}, init scale {st['init_scale']}. Recovers $z^*$: $I(z; z^*) \\ge "
        f"{th['recovers_zstar']:.4f}$ every seed; fits: $\\mathrm{{KL}}(p^* \\Vert g) < "
        f"{th['fits_data']:g}$ "
        f"every seed. Nats; wall time per family: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in data["wall_s"].items())
        + ".*"
    ]
    for fam in st["families"]:
        out += [
            "",
            f"**{fam}**",
            "",
            (
                "| remedy | R median [min, max] | $I(z; z^*)$ median [min, max] | class-0 mass | "
                "$\\mathrm{KL}(p^* \\Vert g)$ median [max] | $-\\mathrm{ELBO} - H$ median [max] | "
                "recovers | fits |"
            ),
            "|---|---|---|---:|---|---|:-:|:-:|",
        ]
        for r in (r for r in data["rows"] if r["family"] == fam):
            out.append(
                f"| {r['remedy']} | {_range(r['R'])} | {_range(r['I_zstar'])} | "
                f"{_num(r['class0_mass']['median'])} | {_num(r['kl_pstar_g']['median'])} "
                f"[{_num(r['kl_pstar_g']['max'])}] | {_num(r['elbo_gap']['median'])} "
                f"[{_num(r['elbo_gap']['max'])}] | {'yes' if r['recovers_zstar'] else 'no'} | "
                f"{'yes' if r['fits_data'] else 'no'} |"
            )
    return "\n".join(out)


def main() -> int:
    data = json.loads(DATA.read_text())
    text = PAGE.read_text()
    for name, block in (("verdicts", verdicts(data)), ("table", tables(data))):
        start, end = f"<!-- remedies:{name}:start -->", f"<!-- remedies:{name}:end -->"
        new = f"{start}\n{block}\n{end}"
        text, n = re.subn(
            re.escape(start) + ".*?" + re.escape(end),
            new.replace("\\", "\\\\"),
            text,
            flags=re.DOTALL,
        )
        if n != 1:
            raise SystemExit(f"{PAGE}: expected one block {start} … {end}, found {n}")
    PAGE.write_text(text)
    print(f"rewrote the tables of {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
