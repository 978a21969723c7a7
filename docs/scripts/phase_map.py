"""The collapse phase map of docs/phase.md: verdicts over decoder power × initialisation scale.

    python docs/scripts/phase_map.py --run --cluster local:2   # train (resumable), then draw
    python docs/scripts/phase_map.py                           # redraw from the committed data

``--run`` trains the grid below with ``toyrd.train.run_sweep`` on a Dask cluster (the sweep's
``--cluster`` mode) into docs/data/phase/phase.jsonl; finished runs in that file are skipped, so
an interrupted run resumes. Then (and without ``--run``) it writes docs/data/phase/cells.json
(counts per cell), the figure docs/data/phase/phase_map.svg and the generated part of
docs/phase.md between ``<!-- phase:start -->`` and ``<!-- phase:end -->``.

The grid: the Figure 2 encoder (``bump(w0=2)``) with three decoders of increasing power —
``bump`` (one Gaussian bump per row: cannot be p*, so the collapsed model is not an ELBO
optimum), ``bump+free`` (a bump plus one free distribution shared by every row: the collapsed
model is an ELBO optimum, the z-dependent part of a row is still one bump; the Figure 2 family),
``tabular`` (free rows) — × init scale × {ELBO, target rate σ = 0.5} × seeds. Training budget:
1000 Adam steps after a 200-step warm-up at lr 0.03 (cosine), chosen so that the whole grid fits
about half an hour on two shared cores (docs/phase.md says how it compares with the Figure 2
budget of 3000 + 500 steps at lr 0.01).

Verdicts per run are docs/scripts/robustness.py's (``claim``): ELBO collapses (R < 0.01 nats,
class-0 block mass > 0.99, KL(p*‖g) < 1e-3); target rate recovers z* and fits p*
(|R − 0.5| < 0.01, block mass within 0.05 of 0.7, I(z;z*) ≥ 0.9 × the optimum, KL < 1e-3).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "scripts"))
import robustness  # noqa: E402  (the verdicts of docs/robustness.md, one definition)

DATA = ROOT / "docs" / "data" / "phase"
RUNS = DATA / "phase.jsonl"
CELLS = DATA / "cells.json"
FIG = DATA / "phase_map.svg"
PAGE = ROOT / "docs" / "phase.md"
START, END = "<!-- phase:start -->", "<!-- phase:end -->"

ENCODER = "bump(w0=2)"
#: Decoder maps in order of power (the y axis), with a short label.
DECODERS = (
    ("bump", "bump"),
    ("bump+free", "bump+free"),
    ("tabular", "tabular"),
)
INIT_SCALES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
SEEDS = 280
SETTINGS = dict(steps=1000, lr=0.03, warmup=200, sigmas=(0.5,))
#: The paper's setting as toyrd reproduces Figure 2 (docs/figure2.md): bump+free decoder,
#: init scale 0.01.
PAPER = ("bump+free", 0.01)


def families():
    return [f"{ENCODER}/{d}" for d, _ in DECODERS]


def configs():
    from toyrd.train import grid

    return grid(
        ("elbo", "target_rate"),
        families=families(),
        init_scales=INIT_SCALES,
        seeds=range(SEEDS),
        **SETTINGS,
    )


def run(cluster):
    from toyrd.cli import enable_jax_cache
    from toyrd.train import run_sweep

    enable_jax_cache()  # the workers inherit it: a rerun skips XLA compilation
    DATA.mkdir(parents=True, exist_ok=True)
    summary = run_sweep(configs(), RUNS, cluster=cluster, progress=True)
    print(json.dumps(summary), file=sys.stderr)
    return summary


def load(path=RUNS):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def decoder_of(family: str) -> str:
    return family.split("/", 1)[1]


def cells(rows) -> list:
    """One dict per (decoder, init scale): runs, verdict counts and medians per objective, and
    the seeds whose ELBO run collapses *and* whose target-rate run recovers z* (Figure 2's
    contrast, seed by seed)."""
    i_opt = robustness.i_zstar_optimal()
    by = defaultdict(dict)
    for r in rows:
        by[(decoder_of(r["family"]), r["init_scale"])].setdefault(r["objective"], {})[r["seed"]] = r
    out = []
    order = [d for d, _ in DECODERS]
    for (dec, sc), objs in sorted(by.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        cell = dict(decoder=dec, init_scale=sc)
        ok = {}
        for obj in ("elbo", "target_rate"):
            runs = objs.get(obj, {})
            ok[obj] = {s for s, r in runs.items() if robustness.claim(r, i_opt)}
            fin = [r for r in runs.values() if robustness.finite(r)]
            cell[obj] = dict(
                runs=len(runs),
                claim=len(ok[obj]),
                diverged=len(runs) - len(fin),
                median_R=float(np.median([r["R"] for r in fin])) if fin else None,
                median_I_zstar=float(np.median([r["I_zstar"] for r in fin])) if fin else None,
            )
        both = set(objs.get("elbo", {})) & set(objs.get("target_rate", {}))
        cell["both"] = dict(seeds=len(both), claim=len(ok["elbo"] & ok["target_rate"] & both))
        out.append(cell)
    return out


def share_interval(k: int, n: int) -> tuple:
    """Wilson 95 % interval of a share k/n."""
    if not n:
        return (float("nan"), float("nan"))
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


PANELS = (
    ("elbo", "ELBO collapses (R < 0.01, one cluster, g ≈ p*)"),
    ("target_rate", "target rate σ = 0.5 recovers z* and fits p*"),
    ("both", "both, same seed: Figure 2's contrast"),
)


def figure(cs, path=FIG):
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    from toyrd.plot import new_figure, save_figure

    decs = [d for d, _ in DECODERS]
    labels = [lab for _, lab in DECODERS]
    fig = new_figure(figsize=(7.0, 7.6))
    axes = fig.subplots(3, 1)
    cmap = LinearSegmentedColormap.from_list("share", ["#f7f7f7", "#6baed6", "#08306b"])
    for ax, (key, title) in zip(axes, PANELS):
        grid = np.full((len(decs), len(INIT_SCALES)), np.nan)
        text = {}
        for c in cs:
            i, j = decs.index(c["decoder"]), INIT_SCALES.index(c["init_scale"])
            k, n = (c[key]["claim"], c[key]["runs"] if key != "both" else c[key]["seeds"])
            if n:
                grid[i, j] = k / n
                text[i, j] = (f"{100 * k / n:.0f}%", f"{k}/{n}")
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, origin="lower", aspect="auto")
        for (i, j), (pct, frac) in text.items():
            dark = grid[i, j] > 0.55
            ax.text(
                j,
                i + 0.12,
                pct,
                ha="center",
                va="center",
                fontsize=11,
                color="white" if dark else "black",
                fontweight="bold",
            )
            ax.text(
                j,
                i - 0.22,
                frac,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "#333333",
            )
        pi, pj = decs.index(PAPER[0]), INIT_SCALES.index(PAPER[1])
        ax.add_patch(Rectangle((pj - 0.5, pi - 0.5), 1, 1, fill=False, lw=2.5, ec="#d62728"))
        ax.set_xticks(range(len(INIT_SCALES)), [f"{s:g}" for s in INIT_SCALES], fontsize=10)
        ax.set_yticks(range(len(decs)), labels, fontsize=10)
        ax.set_title(title, fontsize=10.5, loc="left")
        ax.set_xlim(-0.5, len(INIT_SCALES) - 0.5)
    axes[-1].set_xlabel(
        "initialisation scale (red box: the paper's setting as toyrd reproduces Figure 2)",
        fontsize=10,
    )
    for ax in axes:
        ax.set_ylabel("decoder (power ↑)", fontsize=10)
    fig.subplots_adjust(left=0.16, right=0.98, top=0.96, bottom=0.07, hspace=0.42)
    save_figure(fig, path, fmt="svg")
    return path


def page_section(rows, cs) -> str:
    n = len(rows)
    div = sum(not robustness.finite(r) for r in rows)
    out = [
        f"**{n:,} runs** ({len(cs)} cells × 2 objectives × {SEEDS} seeds; {div} ended "
        "non-finite and count as meeting no criterion), from `docs/data/phase/phase.jsonl`.",
        "",
        "![Phase map](data/phase/phase_map.svg)",
        "",
        "| decoder | init scale | ELBO collapses | target rate recovers | both (same seed) "
        "| ELBO median R | TR median R | TR median $I(z; z^*)$ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cs:
        e, t, b = c["elbo"], c["target_rate"], c["both"]

        def share(k, m):
            lo, hi = share_interval(k, m)
            return f"{k}/{m} ({100 * lo:.0f}–{100 * hi:.0f} %)"

        def num(x, f):
            return "–" if x is None else format(x, f)

        mark = " **(paper)**" if (c["decoder"], c["init_scale"]) == PAPER else ""
        out.append(
            f"| {c['decoder']}{mark} | {c['init_scale']:g} | {share(e['claim'], e['runs'])} | "
            f"{share(t['claim'], t['runs'])} | {share(b['claim'], b['seeds'])} | "
            f"{num(e['median_R'], '.4f')} | {num(t['median_R'], '.4f')} | "
            f"{num(t['median_I_zstar'], '.3f')} |"
        )
    out.append("")
    out.append("*Shares with their Wilson 95 % intervals. Nats.*")
    return "\n".join(out)


def write(rows):
    cs = cells(rows)
    CELLS.write_text(json.dumps(dict(runs=len(rows), settings=SETTINGS, cells=cs), indent=1))
    figure(cs)
    text = PAGE.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    PAGE.write_text(text[:a] + "\n" + page_section(rows, cs) + "\n" + text[b:])
    return cs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="store_true", help="train the grid first (resumable)")
    p.add_argument("--cluster", default="local:2", help="Dask cluster for --run")
    args = p.parse_args(argv)
    if args.run:
        run(args.cluster)
    write(load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
