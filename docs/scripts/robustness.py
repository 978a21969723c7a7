"""Regenerate the figure and the tables of docs/robustness.md from docs/data/robustness.jsonl.

    python docs/scripts/robustness.py            # after docs/scripts/robustness_sweep.sh

Writes docs/data/robustness.png (byte-reproducible) and rewrites the part of docs/robustness.md
between the markers ``<!-- robustness:start -->`` and ``<!-- robustness:end -->``. Every
number on the page comes from the JSONL lines written by ``toyrd sweep``.

A line with ``"status": "diverged"`` (training ended non-finite; lines written before the
status field existed are "ok") counts as a seed that meets no criterion; it is left out of the
medians and of the figure, and counted on the page and in the table's *diverged* column.

Criteria (stated on the page, applied per seed):
  ELBO claim     "R = 0.0002, a single mixed cluster":  R < 0.01 nats and I(z;z*) < 0.01 nats;
  target claim   "R = 0.4999, two clusters like the true process":  |R − 0.5| < 0.02 nats and
                 I(z;z*) ≥ 0.9 × I(z;z*) of the hand-built optimal model (0.378 nats);
  fit            "p*(x) ≈ g(x)":  KL(p*‖g) < 1e-3 nats.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "docs" / "data" / "robustness.jsonl"
FIG = ROOT / "docs" / "data" / "robustness.png"
PAGE = ROOT / "docs" / "robustness.md"
START, END = "<!-- robustness:start -->", "<!-- robustness:end -->"

R_ELBO, I_ELBO = 0.01, 0.01
R_TOL, I_FRACTION = 0.02, 0.9
KL_FIT = 1e-3


def load(path=DATA):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def i_zstar_optimal() -> float:
    import toyrd
    from toyrd.experiments.figure2 import optimal_model

    toy = toyrd.toy_data()
    e, d, m = optimal_model(toy)
    return toyrd.evaluate(toy.px, e, d, m, pzx=toy.pzx)["I_zstar"]


def finite(r) -> bool:
    """Whether the run ended with finite, valid tables (status "ok"; absent in older lines)."""
    return r.get("status", "ok") == "ok"


def setting(r) -> tuple:
    return (r["steps"], r["lr"], r["warmup"])


def verdicts(rows, i_opt):
    """Per-seed booleans of the three criteria (a diverged run meets none)."""
    ok_fit = [finite(r) and r["kl_pstar_g"] < KL_FIT for r in rows]
    if rows[0]["objective"] == "elbo":
        claim = [finite(r) and r["R"] < R_ELBO and r["I_zstar"] < I_ELBO for r in rows]
    else:
        claim = [finite(r) and abs(r["R"] - 0.5) < R_TOL and r["I_zstar"] >= I_FRACTION * i_opt
                 for r in rows]
    return claim, ok_fit


def groups(rows):
    g = defaultdict(list)
    for r in rows:
        g[(r["family"], setting(r), r["init_scale"], r["objective"])].append(r)
    return g


def table(rows, i_opt) -> str:
    g = groups(rows)
    out = ["| family | steps | lr | warm-up | init scale | objective | R median [min, max] | "
           "I(z;z*) median | max KL(p*‖g) | seeds meeting the paper's claim | fit | diverged |",
           "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    for key in sorted(g, key=lambda k: (k[0] != "tabular", k[1], k[2], k[3])):
        fam, (steps, lr, wu), sc, obj = key
        rs = g[key]
        fin = [r for r in rs if finite(r)]
        claim, fit = verdicts(rs, i_opt)
        if fin:
            R = np.array([r["R"] for r in fin])
            Iz = np.array([r["I_zstar"] for r in fin])
            kl = np.array([r["kl_pstar_g"] for r in fin])
            stats = (f"{np.median(R):.4f} [{R.min():.4f}, {R.max():.4f}] | {np.median(Iz):.3f} | "
                     f"{kl.max():.1e}")
        else:
            stats = "– | – | –"
        out.append(f"| {fam} | {steps} | {lr:g} | {wu} | {sc:g} | {obj} | {stats} | "
                   f"{sum(claim)}/{len(rs)} | {sum(fit)}/{len(rs)} | {len(rs) - len(fin)}/{len(rs)} |")
    return "\n".join(out)


def summary(rows, i_opt) -> str:
    """Where each claim holds for every seed (and fit), as two bullet lists."""
    g = groups(rows)
    lines = []
    for obj, label in (("elbo", "ELBO claim (R < 0.01, I(z;z*) < 0.01)"),
                       ("target_rate", f"target-rate claim (|R − 0.5| < 0.02, I(z;z*) ≥ {I_FRACTION * i_opt:.3f})")):
        hits = []
        for key, rs in sorted(g.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
            if key[3] != obj:
                continue
            claim, fit = verdicts(rs, i_opt)
            if all(claim) and all(fit):
                fam, (steps, lr, wu), sc, _ = key
                hits.append(f"{fam} (init {sc:g}, lr {lr:g}, warm-up {wu}, {steps} steps)")
        n_all = sum(1 for k in g if k[3] == obj)
        lines.append(f"- **{label}** holds for all seeds in {len(hits)} of {n_all} settings"
                     + (": " + "; ".join(hits) if hits else "."))
    both = []
    for key, rs in g.items():
        if key[3] != "elbo":
            continue
        other = g.get(key[:3] + ("target_rate",))
        if other and all(verdicts(rs, i_opt)[0]) and all(verdicts(other, i_opt)[0]):
            both.append(key)
    lines.append(f"- **Both claims at once** (same family and settings): {len(both)} settings.")
    return "\n".join(lines)


def figure(rows, i_opt, path=FIG):
    from toyrd.plot import _new_figure, save_figure

    fams = ["tabular", "bump"]
    settings = sorted({setting(r) for r in rows})
    scales = sorted({r["init_scale"] for r in rows})
    fig = _new_figure(figsize=(12, 8.5))
    axes = fig.subplots(2, 2, sharex=True, sharey="row")
    width = 0.8 / max(1, len(settings))
    for j, fam in enumerate(fams):
        for si, st in enumerate(settings):
            col = f"C{si}"
            for obj, marker, fill in (("elbo", "o", col), ("target_rate", "^", "none")):
                pts = [r for r in rows if r["family"] == fam and setting(r) == st
                       and r["objective"] == obj and finite(r)]
                if not pts:
                    continue
                x = np.array([scales.index(r["init_scale"]) for r in pts]) - 0.4 + width * (si + 0.5)
                lab = f"{'ELBO' if obj == 'elbo' else 'target rate'}: {st[0]} steps, lr {st[1]:g}, warm-up {st[2]}"
                axes[0, j].plot(x, [max(r["R"], 1e-5) for r in pts], marker, mfc=fill, color=col,
                                ms=4, alpha=0.8, ls="none", label=lab)
                axes[1, j].plot(x, [r["I_zstar"] for r in pts], marker, mfc=fill, color=col, ms=4,
                                alpha=0.8, ls="none")
        for k, sc in enumerate(scales):
            here = [r for r in rows if r["family"] == fam and r["init_scale"] == sc]
            n_div = sum(not finite(r) for r in here)
            if n_div:
                for ax in axes[:, j]:
                    ax.text(k, 0.97, f"{n_div}/{len(here)} diverged", transform=ax.get_xaxis_transform(),
                            ha="center", va="top", fontsize=7, color="0.4")
        ax = axes[0, j]
        ax.set_yscale("log")
        ax.axhline(0.0002, color="k", ls=":", lw=1)
        ax.axhline(0.4999, color="k", ls="--", lw=1)
        ax.text(len(scales) - 0.5, 0.0002, " paper ELBO 0.0002", fontsize=6, va="bottom", ha="right")
        ax.text(len(scales) - 0.5, 0.4999, " paper target rate 0.4999", fontsize=6, va="bottom", ha="right")
        ax.set_ylabel("final rate R (nats, log)")
        ax.set_title(f"{fam} family", fontsize=9)
        ax = axes[1, j]
        ax.axhline(i_opt, color="C3", ls="--", lw=1)
        ax.text(len(scales) - 0.5, i_opt, f" hand-built optimum {i_opt:.3f}", fontsize=6, va="bottom", ha="right")
        ax.set_ylabel("I(z; z*) (nats)")
        ax.set_ylim(-0.01, 0.45)
        ax.set_xlabel("initialisation scale")
        ax.set_xticks(range(len(scales)), [f"{s:g}" for s in scales])
        ax.set_xlim(-0.5, len(scales) - 0.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, frameon=False, loc="lower center", ncol=4)
    fig.suptitle("Figure 2's claims over seeds and settings (each point one seed; filled: ELBO, open: "
                 "target rate σ = 0.5)", fontsize=9)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    save_figure(fig, path, "png")


def main() -> int:
    rows = load()
    i_opt = i_zstar_optimal()
    diverged = [r for r in rows if not finite(r)]
    div_cells = sorted({(r["family"], r["steps"], r["lr"], r["warmup"], r["init_scale"]) for r in diverged})
    figure(rows, i_opt)
    block = [START, "",
             f"*Generated by `python docs/scripts/robustness.py` from {len(rows)} runs in "
             f"`docs/data/robustness.jsonl` (8 seeds per row).*", "",
             summary(rows, i_opt), "",
             f"Diverged runs (`\"status\": \"diverged\"`: training ended with non-finite tables): "
             f"{len(diverged)} of {len(rows)}"
             + (" — in " + "; ".join(f"{f} ({st} steps, lr {lr:g}, warm-up {wu}, init {sc:g})"
                                     for f, st, lr, wu, sc in div_cells) if diverged else "") + ".",
             "", "![Figure 2's claims across settings](data/robustness.png)", "",
             table(rows, i_opt), "", END]
    text = PAGE.read_text() if PAGE.exists() else f"# Robustness\n\n{START}\n{END}\n"
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: "\n".join(block), text, flags=re.S)
    PAGE.write_text(new)
    print(f"wrote {FIG} and the generated block of {PAGE} ({len(rows)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
