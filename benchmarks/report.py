"""Render the benchmark JSON into ``docs/benchmarks.md`` and ``docs/img/bench_*.png``.

    python -m benchmarks.report [--results benchmarks/results] [--docs docs/benchmarks.md]

Nothing on the page is typed by hand: the machine, every table and the targets table are
produced from ``RESULTS/*.json`` (written by ``python -m benchmarks``), and the plots are drawn
from the same files. Cases without a dedicated renderer are shown as generic tables.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
from pathlib import Path

from benchmarks import ROOT

DOCS = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"
PLOTS = {"scaling": "bench_scaling.png", "eval": "bench_eval.png"}


# ----------------------------------------------------------------------------- loading


def load(results) -> dict:
    """``{case: envelope}`` for every ``*.json`` in ``results`` (``summary`` under its name)."""
    out = {}
    for path in sorted(Path(results).glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out


def _ok(data, case):
    env = data.get(case)
    if not env or env.get("status") != "ok" or not isinstance(env.get("result"), dict):
        return None
    res = env["result"]
    return None if res.get("status") == "unavailable" else res


# ----------------------------------------------------------------------------- formatting


def fmt(x, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; strings, None and bools as words."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        return f"{x:,}".replace(",", "\u2009")
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if x == 0:
            return "0"
        mag = math.floor(math.log10(abs(x)))
        if -3 <= mag < 6:
            return f"{x:.{max(0, digits - 1 - mag)}f}"
        return f"{x:.{digits - 1}e}"
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in x)
    return str(x)


def _tex_words(text: str) -> str:
    """A description from the JSON with its formula words as TeX (``p*`` -> ``$p^*$``, ``u^3`` ->
    ``$u^{3}$``), so the page shows one math style; the words and numbers are unchanged."""
    text = re.sub(r"(?<![\w$])([A-Za-z])\^(\d+)(?![\w])", r"$\1^{\2}$", text)
    return re.sub(r"(?<![\w$])([A-Za-z])\*(?![\w*])", r"$\1^*$", text)


def table(header, rows) -> str:
    """A markdown table (numbers right-aligned)."""
    first = rows[0] if rows else []
    align = ["---" if isinstance(v, str) else "---:" for v in first] or ["---:"] * len(header)

    def cell(s) -> str:  # a | inside a cell ("max |ΔR|") would split it: escape it
        return str(s).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell(fmt(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def generic(result, depth: int = 0) -> str:
    """Scalars as a key/value table, lists of records as tables, dicts recursively."""
    if not isinstance(result, dict):
        return fmt(result)
    parts, scalars = [], []
    for k, v in result.items():
        if isinstance(v, dict):
            parts.append(f"**{k}**\n\n" + generic(v, depth + 1))
        elif isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
            cols = list(
                dict.fromkeys(
                    c
                    for r in v
                    for c in r
                    if not isinstance(r[c], (dict, list))
                    or (isinstance(r[c], list) and len(r[c]) <= 4)
                )
            )
            parts.append(f"**{k}**\n\n" + table(cols, [[r.get(c) for c in cols] for r in v]))
        elif isinstance(v, list) and len(v) > 12:
            scalars.append((k, f"{len(v)} values, {fmt(v[0])} … {fmt(v[-1])}"))
        else:
            scalars.append((k, v))
    if scalars:
        parts.insert(0, table(["quantity", "value"], scalars))
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------- sections


def section_machine(data) -> str:
    summary = data.get("summary") or next(iter(data.values()), {})
    m = summary.get("machine", {})
    v = m.get("versions", {})
    # toyrd's version as each case recorded it: cases re-run later (--only) ran newer code
    by_version: dict = {}
    for case, env in sorted(data.items()):
        if case == "summary":
            continue
        ver = (env.get("machine") or {}).get("versions", {}).get("toyrd")
        by_version.setdefault(ver or "?", []).append(case)
    toyrd_ver = "; ".join(
        f"{ver} ({', '.join(cases)})" for ver, cases in sorted(by_version.items(), reverse=True)
    )
    versions = ", ".join(
        f"{k} {toyrd_ver if k == 'toyrd' and toyrd_ver else val}" for k, val in v.items() if val
    )
    cases = summary.get("cases", {})
    mode = "quick (smoke) run" if summary.get("quick") else "full run"
    lines = [
        f"- **CPU**: {m.get('cpu', '?')} — {m.get('usable_cores', '?')} usable of "
        f"{m.get('logical_cores', '?')} logical cores, {fmt(m.get('mem_total_gb'))} GiB RAM, "
        "no GPU used",
        f"- **Load** (1-minute average when the run started): {fmt(m.get('loadavg_1m'))}",
        f"- **Software**: Python {m.get('python', '?')}, {versions}; {m.get('os', '?')}",
        f"- **Commit**: `{m.get('commit', '?')}`, measured {m.get('time_utc', '?')} ({mode})",
    ]
    for r in summary.get("rerun", []):
        lines.append(
            f"- **Re-run** later with `--only`: {', '.join(r['cases'])} at {r['time_utc']} "
            f"(load {fmt(r['loadavg_1m'])})"
        )
    if cases:
        lines.append(
            "- **Cases**: "
            + ", ".join(f"{c} ({e['status']}, {fmt(e['wall_s'])} s)" for c, e in cases.items())
        )
    return "\n".join(lines)


def section_eval(res) -> str:
    s = res["single"]
    out = [
        table(
            ["", "µs per model (median)", "µs (min)", "CPU µs (median)", "models / s"],
            [
                [
                    "`toyrd.evaluate` (validated, 14 quantities)",
                    s["evaluate_us"],
                    s["evaluate_min_us"],
                    s.get("evaluate_cpu_us"),
                    s["models_per_s"],
                ],
                [
                    "same quantities, no validation",
                    s["unvalidated_us"],
                    s["unvalidated_min_us"],
                    s.get("unvalidated_cpu_us"),
                    1e6 / s["unvalidated_us"],
                ],
            ],
        )
    ]

    def cpu_per_model(r, k):
        return 1e6 * r[k] / r["B"] if r.get(k) is not None else None

    rows = [
        [
            r["B"],
            r["padded_B"],
            r.get("numpy_models_per_s"),
            r["jax_models_per_s"],
            r.get("jax_speedup"),
            cpu_per_model(r, "numpy_cpu_s"),
            cpu_per_model(r, "jax_cpu_s"),
            r["jax_first_call_s"],
        ]
        for r in res["batch"]
    ]
    out.append(
        "`toyrd.quantities.evaluate_batch` on B models of 30×30, float64, all quantities "
        "including $I(z; z^*)$ (validation included; wall-clock rates, and CPU µs per model):"
        "\n\n"
        + table(
            [
                "B",
                "compiled B",
                "numpy loop models/s",
                "JAX models/s",
                "JAX / numpy",
                "numpy CPU µs/model",
                "JAX CPU µs/model",
                "JAX first call s (compile)",
            ],
            rows,
        )
    )
    fl = res.get("floor")
    if fl:
        e = fl["elements_per_model"]
        out.append(
            f"Floor: the compiled batch program (B = {fl['B']}) computes {fmt(e['log'])} "
            f"logarithms per model after XLA's common-subexpression elimination; at the measured "
            f"{fmt(fl['ns_per_element']['log'])} ns per float64 log that alone is "
            f"{fmt(fl['floor_us_per_model'])} µs per model, i.e. at most "
            f"{fmt(1e6 / fl['floor_us_per_model'])} models/s on this machine."
        )
    out.append(
        f"JAX overtakes the numpy loop from B = {fmt(res.get('jax_faster_from_B'))} once "
        f"compiled, but its first call at a new size compiles for seconds; so "
        f'`backend="auto"` takes the numpy loop below B = {res["auto_numpy_max_B"]} '
        "unless the program for that size is already compiled in the process."
    )
    return "\n\n".join(out)


def section_scaling(res) -> str:
    rows = [
        [
            p["n"],
            p["B"],
            p["n"] ** 2,
            p["model_step_us"],
            p.get("cpu_model_step_us"),
            p["ns_per_entry_step"],
            p["steps"][1] - p["steps"][0],
            p.get("fixed_s"),
            p["first_call_s"][0],
            p["rss_peak_mb"],
            p["rss_baseline_mb"],
        ]
        for p in res["points"]
    ]
    out = [
        table(
            [
                "$n_x = n_z$",
                "B",
                "$n_x n_z$",
                "µs per model-step",
                "CPU µs per model-step",
                "ns per table entry·step",
                "timed steps",
                "fixed s per call",
                "first call s",
                "peak RSS MiB",
                "RSS after import MiB",
            ],
            rows,
        )
    ]
    fits = []
    for key, f in res["fits"].items():
        for which, fit in f.items():
            if fit:
                fits.append([key[1:], which, fit["exponent"], fmt(fit["sizes"])])
    if fits:
        out.append(
            "Fitted exponent $\\alpha$ of (time per model-step) $\\propto (n_x n_z)^\\alpha$:\n\n"
            + table(["B", "points", "$\\alpha$", "sizes"], fits)
        )
    for s in res.get("skipped", []):
        out.append(
            f"Skipped n = {s['n']} with B = {s['B']}: peak memory extrapolated from "
            f"n = {s['from_n']} is {fmt(s['estimated_rss_mb'])} MiB, above the budget of "
            f"{fmt(s['budget_mb'])} MiB (`TOYRD_BENCH_MEM_GB`)."
        )
    out.append("![time per model-step and peak memory against n_x·n_z](img/bench_scaling.png)")
    fl = res.get("floor")
    if fl:
        rows = []
        for dtype, d in fl["by_dtype"].items():
            for op, count in d["elements"].items():
                rows.append(
                    [
                        dtype,
                        op,
                        count,
                        d["ns_per_element"][op],
                        count * d["ns_per_element"][op] / 1e3,
                    ]
                )
            rows.append([dtype, "**floor**", "", "", d["floor_us_per_model_step"]])
        out.append(
            f"**The transcendental floor of one model-step** ($n_x = n_z$ = {fl['n']}, ELBO, "
            f"tabular, Adam; trainer path {fl.get('path', 'generic')}): the costly elementwise "
            "operations left in the optimised XLA program "
            "of one step (after common-subexpression elimination and fusion), each priced at its "
            "measured cost per element on this machine (cache-resident array, the fused "
            "reduction subtracted). The compiled step cannot run faster than this sum:\n\n"
            + table(["dtype", "op", "elements per step", "ns per element", "µs per step"], rows)
        )
        d64 = fl["by_dtype"].get("float64")
        if d64:
            n = fl["n"]
            entries = 2 * n * n + n
            exp_us = entries * d64["ns_per_element"]["exponential"] / 1e3
            out.append(
                f"Of the {d64['elements']['exponential']} exponentials per step, the {entries} "
                "entries of the softmax tables e, d and m are unavoidable (the objective is a "
                f"function of the tables): {fmt(exp_us)} µs per model-step in float64 with XLA on "
                "this CPU, whatever the rest of the implementation does. XLA:CPU evaluates "
                "float64 exp and log several times slower per element than float32 (ns column)."
            )
    return "\n\n".join(out)


def section_figure2(res) -> str:
    return table(
        [
            "command",
            "runs",
            "cold s (new compilation cache)",
            "warm s (second run, same cache)",
            "CPU s (cold run)",
            "usable cores",
            "target s",
            "files",
        ],
        [
            [
                f"`{res['command']}`",
                res["runs"],
                res["cold_s"],
                res.get("warm_s", res["min_s"]),
                res.get("cold_cpu_s"),
                res.get("usable_cores"),
                res["target_s"],
                fmt(res["files"]),
            ]
        ],
    )


def _train_rows(res):
    """{(dtype, B): {"jax": row, "torch": row, "jax_logsoftmax": row}} from bench_train."""
    out = {}
    for kind in ("jax", "torch", "jax_logsoftmax", "jax_generic"):
        for r in res.get(kind, []):
            out.setdefault((r["dtype"], r["batch"]), {})[kind] = r
    return out


def train_ratios(res) -> dict:
    """JAX trainer vs the PyTorch eager loop at 64 seeds, float64: same batch, and one model at
    a time (the loop a user writes for a single model, B = 1)."""
    rows = _train_rows(res)
    at = rows.get(("float64", 64), {})
    one = rows.get(("float64", 1), {})
    if "jax" not in at:
        return {}
    j = at["jax"]["us_per_model_step"]
    out = {"jax_us": j}
    if "torch" in at:
        out["vs_torch_same_B"] = at["torch"]["us_per_model_step"] / j
    if "torch" in one:
        out["vs_torch_B1"] = one["torch"]["us_per_model_step"] / j
    return out


def section_train(res) -> str:
    rows = []
    for (dtype, b), r in sorted(_train_rows(res).items()):
        jx, tr, ls = r.get("jax", {}), r.get("torch", {}), r.get("jax_logsoftmax", {})
        gen = r.get("jax_generic", {})
        ratio = tr["us_per_model_step"] / jx["us_per_model_step"] if tr and jx else None
        rows.append(
            [
                dtype,
                b,
                jx.get("us_per_model_step"),
                jx.get("cpu_us_per_model_step"),
                jx.get("compile_s"),
                gen.get("us_per_model_step"),
                ls.get("us_per_model_step"),
                tr.get("us_per_model_step"),
                ratio,
            ]
        )
    out = [
        f"Unit: {res.get('unit', 'µs per model-step')}. JAX: {res.get('steps')} steps per run "
        f"(one compiled `lax.scan`), PyTorch eager: {res.get('torch_steps')} steps, best of "
        f'{res.get("repeats")}. "JAX" is the trainer\'s own program '
        "(`toyrd.train.jax.compiled_run`); "
        '"generic" is its autodiff path for custom losses.\n\n'
        + table(
            [
                "dtype",
                "B",
                "JAX µs",
                "JAX CPU µs",
                "JAX compile s",
                "JAX generic path µs",
                "log-softmax variant µs",
                "PyTorch eager µs",
                "PyTorch / JAX",
            ],
            rows,
        )
    ]
    summed = res.get("exp_adam_cpu_us_per_model_step_float64")
    if summed is not None:
        out.append(
            "Summed CPU time of the unavoidable work (bench_train: 1,830 exps + Adam alone, "
            f"float64): {fmt(summed)} µs per model-step. It adds the CPU time of every thread "
            "XLA runs, so it is not a bound on a step's wall time: the measured steps above "
            "can be faster."
        )
    rt = train_ratios(res)
    if rt:
        out.append(
            f"At 64 seeds in float64 the JAX trainer takes {fmt(rt['jax_us'])} µs per "
            f"model-step: {fmt(rt.get('vs_torch_same_B'))}× faster than the batched PyTorch "
            f"eager loop at the same B and {fmt(rt.get('vs_torch_B1'))}× faster than the "
            "PyTorch loop training one model (B = 1). The floor of one model-step is "
            "priced in section 3. Note: this PyTorch loop runs on one intra-op thread "
            "while XLA uses every core, so these ratios are not like for like; section "
            "2a measures every peer on the same threads."
        )
    return "\n\n".join(out)


def section_torch(res) -> str:
    out = []
    st = res.get("step_time") or []
    if st:
        out.append(
            f"Time per step of `toyrd.train.torch.train` ({res.get('dtype')}, "
            f"{res.get('threads')} thread):\n\n"
            + table(
                ["family", "estimator", "batch", "ms per step", "examples / s"],
                [
                    [
                        r["family"],
                        r["estimator"],
                        r["batch_size"],
                        r["step_ms"],
                        r["examples_per_s"],
                    ]
                    for r in st
                ],
            )
        )
    gr = (res.get("gradients") or {}).get("estimators") or []
    if gr:
        out.append(
            "Minibatch gradient against the exact gradient (relative RMSE "
            "$= \\sqrt{\\mathbb{E} \\lVert \\hat g - \\nabla L \\rVert^2}"
            " / \\lVert \\nabla L \\rVert$; "
            "squared bias ± its standard error):\n\n"
            + table(
                [
                    "family",
                    "estimator",
                    "batch",
                    "samples",
                    "relative RMSE",
                    "relative bias",
                    "$\\mathrm{bias}^2 \\pm \\mathrm{se}$",
                ],
                [
                    [
                        r["family"],
                        r["estimator"],
                        r["batch_size"],
                        r["n"],
                        r["relative_rmse"],
                        r["relative_bias"],
                        f"{fmt(r['bias_sq'])} ± {fmt(r['bias_sq_se'])}",
                    ]
                    for r in gr
                ],
            )
        )
    gb = (res.get("gumbel") or (res.get("gradients") or {}).get("gumbel")) or []
    if gb:
        out.append(
            "Gumbel-softmax bias against the temperature:\n\n"
            + table(
                ["family", "estimator", "temperature", "relative bias", "relative RMSE"],
                [
                    [
                        r["family"],
                        r["estimator"],
                        r["temperature"],
                        r["relative_bias"],
                        r["relative_rmse"],
                    ]
                    for r in gb
                ],
            )
        )
    ld = (res.get("landing") or {}).get("summary") or []
    if ld:
        land = res["landing"]
        out.append(
            f"Where training lands (tabular, B = {land.get('batch_size')}, "
            f"{land.get('steps')} steps, seeds {fmt(land.get('seeds'))}), PyTorch "
            "minibatch runs against the exact-gradient JAX trainer from the same init:\n\n"
            + table(
                [
                    "objective",
                    "estimator",
                    "mean R torch",
                    "mean R exact",
                    "mean ΔR",
                    "max |ΔR|",
                    "mean Δloss",
                    "max Δloss",
                ],
                [
                    [
                        r["objective"],
                        r["estimator"],
                        r["R_torch_mean"],
                        r["R_exact_mean"],
                        r["dR_mean"],
                        r["dR_absmax"],
                        r["dloss_mean"],
                        r["dloss_max"],
                    ]
                    for r in ld
                ],
            )
        )
    return "\n\n".join(out)


def _secs(t):
    return t["median_s"] if isinstance(t, dict) else t


def section_ib(res) -> str:
    out = []
    tf = res.get("toy_frontier")
    if tf:
        t = tf["seconds"]
        out.append(
            f"`toyrd.quantities.ib_frontier` on the toy's 2 × 30 joint with {tf['n_betas']} β "
            f"(β from {fmt(tf['betas_range'][0])} to {fmt(tf['betas_range'][1])}): "
            f"{fmt(_secs(t))} s per call (median; min {fmt(t.get('min_s'))} s, "
            f"{t.get('repeat')} calls), {tf['vertices']} frontier vertices from "
            f"{tf['candidates']} candidates; the frontier reaches $I(x; z^*)$ = {fmt(tf['info'])} "
            "nats.\n\n"
            + table(
                ["rate $I(x; z)$ nats", "max relevance $I(z; z^*)$ nats"],
                [[float(r), v] for r, v in tf["frontier_at"].items()],
            )
        )
    dt = res.get("dit")
    if dt and dt.get("status") == "ok":
        rows = []
        for name, j in dt["joints"].items():
            for pnt in j["points"]:
                rows.append(
                    [
                        name,
                        pnt["beta"],
                        pnt["dit_seconds"],
                        pnt["dit_rate"],
                        pnt["dit_relevance"],
                        pnt["frontier_minus_dit"],
                        pnt["lagrangian_dit"] - pnt["lagrangian_toyrd"],
                    ]
                )
        out.append(
            f"Against dit {dt['version']} (its information bottleneck, scipy optimiser): "
            "for each β dit's encoder is evaluated exactly and compared with toyrd's "
            "frontier at dit's rate (≥ 0: dit lies on or under toyrd's envelope) and with "
            "toyrd's Blahut–Arimoto at the same β (Lagrangian $I(x; z) - \\beta I(z; z^*)$, lower "
            "is better; ≥ 0 means toyrd found at least as good a point):\n\n"
            + table(
                [
                    "joint",
                    "β",
                    "dit s",
                    "dit rate",
                    "dit relevance",
                    "frontier − dit",
                    "L(dit) − L(toyrd)",
                ],
                rows,
            )
        )
        excess = dt["max_lagrangian_excess_toyrd_over_dit"]
        verdict = (
            "≤ 0 up to rounding: dit never found a better point than toyrd at the same β"
            if excess <= 1e-9
            else "> 0: at some β dit found a better point than toyrd"
        )
        out.append(
            f"Largest |relevance difference| at matched rates: "
            f"{fmt(dt['max_abs_relevance_diff_at_matched_rates'])} nats; largest "
            f"L(toyrd) − L(dit) over all β: {fmt(excess)} nats ({verdict})."
        )
    elif dt:
        out.append(f"dit comparison: {dt.get('status')} ({dt.get('error', '')})")
    bf = res.get("brute_force")
    if bf:
        out.append(
            f"Brute force (no dit): all {bf['encoders']} two-state encoders of a 2 × 3 "
            f"joint on a grid of {bf['grid_per_axis']} per axis; the grid's upper envelope "
            f"is at most {fmt(bf['max_grid_above_toyrd'])} nats above toyrd's frontier and "
            f"toyrd is at most {fmt(bf['max_toyrd_above_grid'])} nats above the grid "
            "(the grid is coarse, so toyrd may exceed it)."
        )
    iw = res.get("iwae")
    if iw:
        rows = [
            [c["k"], c["value"], c["method"], c.get("mc_value"), c.get("mc_stderr"), c.get("mc_z")]
            for c in iw["chain"]
        ]
        out.append(
            f"$\\mathrm{{IWAE}}_k$ chain on {_tex_words(iw['model'])}: ELBO = {fmt(iw['elbo'])}, "
            f"$\\sum p^* \\log g$ = {fmt(iw['log_likelihood_bound'])} nats; increasing in $k$: "
            f"{fmt(iw['chain_increasing'])}.\n\n"
            + table(
                ["$k$", "$\\mathrm{IWAE}_k$ nats", "method", "Monte Carlo", "MC stderr", "z"], rows
            )
        )
        out.append(
            "Seconds per call: "
            + ", ".join(f"{k.removesuffix('_s')} {fmt(_secs(v))}" for k, v in iw["timing"].items())
            + "."
        )
    return "\n\n".join(out)


#: Display names of bench_peers' peers.
PEER_NAMES = {
    "toyrd_float64": "toyrd trainer, float64",
    "toyrd_mixed": "toyrd trainer, mixed (float32 → float64)",
    "toyrd_mixed_default_xla": "same mixed run, compiled with JAX's default XLA options",
    "jax_naive": "plain JAX loop (vmap + scan + grad + optax)",
    "jax_naive_tuned": "same plain JAX loop, compiled with toyrd's XLA options",
    "torch_eager_batched": "PyTorch eager, B = 64 in one tensor",
    "torch_eager_one": "PyTorch eager, one model (B = 1)",
    "torch_compile_batched": "torch.compile, B = 64",
}


def _xla_options_text(res) -> str:
    """How the JSON's run configured XLA (older runs: an XLA_FLAGS string, see bench_peers)."""
    opts = res.get("toyrd_compiler_options")
    if opts is None:
        return f"`XLA_FLAGS={res.get('xla_flags')}` (ignored by XLA, see bench_peers)"
    shown = ", ".join(f"`{k}={v}`" for k, v in opts.items()) or "none"
    return (
        f"toyrd's programs compiled with XLA options {shown}, the plain JAX loop with JAX's "
        "defaults (and once more with toyrd's options, for comparison)"
    )


def section_peers(res) -> str:
    head = (
        f"One process, float64, {res['batch']} tabular models, exact ELBO, Adam. Every peer "
        f"on **{res['threads']} thread(s)**: the process pinned to cores "
        f"{res.get('cores_pinned')} before JAX starts (XLA sizes its pool by them), "
        + _xla_options_text(res)
        + ", PyTorch "
        f"`set_num_threads({res.get('torch_threads')})` (inter-op "
        f"{res.get('torch_interop_threads')}). JAX backend `{res.get('jax_backend')}` "
        f"({res.get('device')}); load average {fmt(res.get('loadavg_start', [None])[0])} at "
        f"the start. JAX: {res['steps']} steps per run; PyTorch: {res['torch_steps']} steps; "
        "best of the repeats. torch.compile: " + str(res.get("torch_compile")) + "."
    )
    rows = [
        [
            PEER_NAMES.get(p["peer"], p["peer"]),
            p["batch"],
            p["us_per_model_step"],
            p["cpu_us_per_model_step"],
            p["x_toyrd_float64"],
            p["x_toyrd_mixed"],
            p["x_jax_naive"],
        ]
        for p in res["peers"]
    ]
    out = [
        head,
        table(
            [
                "peer",
                "B",
                "µs / model-step",
                "CPU µs / model-step",
                "× toyrd float64",
                "× toyrd mixed",
                "× plain JAX",
            ],
            rows,
        ),
    ]
    q = res.get("quality") or []
    if q:
        qrows = [
            [
                r["objective"] + ("" if r["hyper"] is None else f" σ = {r['hyper']}"),
                r["dtype"],
                r["seeds"],
                r["steps"],
                r["gap_max"],
                r["gap_median"],
                r["R_mean"],
                r.get("abs_R_minus_sigma_mean"),
                r.get("max_abs_R_diff_vs_float64"),
                r["train_s"],
            ]
            for r in q
        ]
        out.append(
            "Quality of toyrd's precisions, side by side (same seeds and configuration; "
            "final tables in float64 for all):\n\n"
            + table(
                [
                    "run",
                    "dtype",
                    "seeds",
                    "steps",
                    "max $R + D - H$",
                    "median $R + D - H$",
                    "mean $R$",
                    "mean $\\lvert R - \\sigma \\rvert$",
                    "max $\\lvert R - R_{64} \\rvert$",
                    "train s",
                ],
                qrows,
            )
        )
    pr = res.get("process")
    if pr:
        out.append(
            "Whole processes (start to exit; 64 seeds × 3000 steps, ELBO, no warm-up): "
            f"`toyrd sweep` mixed {fmt(pr['sweep_mixed_cold_s'])} s cold / "
            f"{fmt(pr['sweep_mixed_warm_s'])} s warm cache, float64 "
            f"{fmt(pr['sweep_float64_cold_s'])} s / {fmt(pr['sweep_float64_warm_s'])} s; "
            f"the plain JAX script {fmt(pr['plain_jax_script_s'])} s — "
            f"{fmt(pr['ratio_plain_over_sweep_mixed_warm'])}× the warm mixed sweep, "
            f"{fmt(pr['ratio_plain_over_sweep_float64_warm'])}× the warm float64 sweep."
        )
    return "\n\n".join(out)


def section_cluster(res) -> str:
    """Runs per second on 1 and 2 local Dask workers against one process, and the plan for 10⁶
    runs computed from those numbers."""
    st = res["settings"]
    rows = [
        [
            "one process (`toyrd sweep`)"
            if r["workers"] == 0
            else f"`--cluster local:{r['workers']}`",
            r["runs"],
            r.get("tasks", "—"),
            r["wall_s"],
            r["runs_per_s"],
            r["cpu_s"],
            r["runs_per_cpu_s"],
            r["first_batch_s"],
        ]
        for r in res["rows"]
    ]
    head = (
        f"Grid: {st['family']} {st['objective']}, {st['steps']} steps + {st['warmup']} warm-up, "
        f"lr {st['lr']}, batches of {st['batch']} (the phase map's setting, "
        f"[Phase map](phase.md)); every program compiled before timing. Load average at the start: "
        f"{fmt(res['load_avg'])} on 2 cores. Lines bit-identical to the one-process sweep: "
        f"**{fmt(res['bit_identical'])}**.\n\n"
    )
    t = table(
        ["mode", "runs", "tasks", "wall s", "runs/s", "CPU s", "runs per CPU s", "first batch s"],
        rows,
    )
    loc, one, two = res["rows"]
    per_task = res["s_per_task"]
    task_s = res["task_model_steps"] / (two["runs_per_cpu_s"] * res["model_steps_per_run"])
    eff = (
        f"\n\nEfficiency: 2 workers / (2 × 1 worker) = {fmt(res['efficiency_2_vs_1'])}; "
        f"1 worker / one process = {fmt(res['efficiency_1_vs_local'])}; 2 workers / (2 × one "
        f"process) = {fmt(res['efficiency_2_vs_local'])}; runs per CPU second, 2 workers / one "
        f"process = {fmt(res['cpu_efficiency_2_vs_local'])}. Per-task overhead (empty tasks "
        f"streamed through `as_completed`): {fmt(per_task * 1e3)} ms; a sweep task is "
        f"{fmt(res['task_model_steps'])} model-steps, about {fmt(task_s)} s of one core here, so "
        f"the overhead is {fmt(100 * per_task / task_s)} % of a task."
    )
    # the plan: 10^6 runs at this setting, from the measured CPU rate per worker
    n_runs, steps = 10**6, res["model_steps_per_run"]
    rate_core = two["runs_per_cpu_s"]  # runs per CPU second of one worker, measured
    core_h = n_runs / rate_core / 3600
    plan_rows = []
    for machines, cores in ((1, 2), (1, 16), (8, 16), (64, 16)):
        w = machines * cores
        hours = core_h / w  # the per-core rate was measured inside the 2-worker cluster
        tasks_per_s = w / task_s
        plan_rows.append([machines, cores, w, hours, tasks_per_s])
    from toyrd.train._sweep import BYTES_PER_RUN

    plan = table(
        ["machines", "cores each", "workers", "hours for $10^6$ runs", "tasks/s at the scheduler"],
        plan_rows,
    )
    text = (
        f"\n\n### Plan: a million runs\n\nFrom the measured rate, {fmt(rate_core)} runs per CPU "
        f"second of one worker at {steps} model-steps a run, $10^6$ runs take {fmt(core_h)} "
        "core-hours; spread over N workers (one per core, as `local:N` and `dask worker "
        "--nthreads 1` give):\n\n" + plan + "\n\n"
        "The rate is that of this grid (tabular ELBO, mixed precision); float64 runs (the target "
        "rate's default) and richer decoders cost more per step (§2), so scale the hours by a "
        "grid's mix — the phase map's 10,080 runs (six compiled groups, half in float64) took "
        "36 min on 2 workers of this shared machine under a load average of 15–20.\n\n"
        "What bounds it, in order of arrival:\n\n"
        f"* **The client's memory.** The grid is listed in the client: about {BYTES_PER_RUN} "
        f"bytes a run (2.4 kB measured), so $10^6$ runs need "
        f"~{fmt(n_runs * BYTES_PER_RUN / 2**30)} GiB; a grid above half the client's memory "
        "is refused in one line — split it into "
        "seed ranges (`--seed`, `--seeds`), one sweep (and file) each, run one after another "
        "against the same scheduler.\n"
        f"* **The scheduler.** {fmt(res['task_model_steps'])} model-steps a task gives "
        f"{fmt(n_runs * steps / res['task_model_steps'])} tasks; at {fmt(per_task * 1e3)} ms of "
        f"overhead each the scheduler keeps up with ~{fmt(1 / per_task)} tasks/s, i.e. "
        f"~{fmt(task_s / per_task)} busy workers before tasks wait on it; past that, raise "
        "`TASK_MODEL_STEPS` (or `--batch`, which also changes the last bits of the results).\n"
        "* **The one writer.** The client appends ~420 bytes a line and fsyncs once per "
        "task: $10^6$ lines are ~0.4 GB, far below a disk's rate at these task rates.\n"
        "* **Compilation.** Each worker compiles each static group (objective × family × "
        f"steps × …) once: {fmt(two['first_batch_s'])} s here for a batch of 64; with the "
        "persistent JAX cache on a shared folder a new worker loads it instead.\n"
        "\n**On one GPU (on paper, not measured).** A vmapped batch is limited by memory, not "
        "cores: one tabular model in float32 is 3 × (900 + 900 + 30) parameters with Adam's two "
        "moments (~22 kB) plus ~10 tables of 900 entries per step (~40 kB), so a batch of $10^4$ "
        "models moves ~0.6 GB a step — ~0.3 ms at an H100's ~2 TB/s effective bandwidth. "
        f"$10^6$ runs of {steps} steps are 100 batches × {steps} steps ≈ "
        f"{fmt(100 * steps * 3e-4 / 60)} min of GPU time ({fmt(steps * 3e-4)} s a batch). Then the "
        "bound moves to the host: every trained model is evaluated exactly in float64 on the "
        "worker's CPU (`toyrd.evaluate` in `train_batch`, ~42 µs a model on one core, benchmark "
        "1), ~0.4 s for a batch of $10^4$ — as long as its training — and the client writes ~4 MB "
        "of lines per batch. So one GPU needs large batches (`--batch 10000`), the evaluation "
        "spread over the host's cores, and the cluster mode's value there is many GPUs, one "
        "worker each."
    )
    return head + t + eff + text


RENDERERS = {
    "ib": section_ib,
    "eval": section_eval,
    "train": section_train,
    "torch": section_torch,
    "scaling": section_scaling,
    "figure2": section_figure2,
    "peers": section_peers,
    "cluster": section_cluster,
}
TITLES = {
    "eval": "1. Exact evaluation throughput",
    "train": "2. Training cost per model-step (JAX trainer vs a PyTorch eager loop)",
    "peers": "2a. Fair peers: toyrd against the loops a user writes, same threads",
    "torch": "2b. toyrd's PyTorch trainer",
    "scaling": "3. Scaling with the table size",
    "figure2": "4. `toyrd figure2` end to end",
    "ib": "5. Information-bottleneck frontier (against dit) and the IWAE_k chain",
    "cluster": "6. Sweeps on a Dask cluster (`toyrd sweep --cluster`)",
}


def targets(data) -> list:
    """Rows (target, measured, met?) for every target whose case has results."""
    rows = []
    sc = _ok(data, "scaling")
    if sc:
        for key, f in sc["fits"].items():
            fit, cpu = f.get("n>=100"), f.get("cpu n>=100")
            if fit:
                also = f" (CPU time: α = {fmt(cpu['exponent'])})" if cpu else ""
                rows.append(
                    [
                        f"cost linear in $n_x n_z$ (B = {key[1:]}, $n \\ge 100$, wall clock)",
                        f"α = {fmt(fit['exponent'])}{also}",
                        abs(fit["exponent"] - 1) <= 0.15,
                    ]
                )
    ev = _ok(data, "eval")
    if ev and ev.get("single"):
        one = ev["single"]
        rows.append(
            [
                "`toyrd.evaluate` ≤ 50 µs for one 30 × 30 model (full validation, 14 "
                "quantities and $I(z; z^*)$; median)",
                f"{fmt(one['evaluate_us'])} µs (min {fmt(one['evaluate_min_us'])} µs)",
                one["evaluate_us"] <= 50.0,
            ]
        )
    tr = _ok(data, "train")
    rt = train_ratios(tr) if tr else {}
    if rt:
        floor = ((sc or {}).get("floor") or {}).get("by_dtype", {}).get("float64", {})
        fl = (
            f" (floor of the compiled step: {fmt(floor['floor_us_per_model_step'])} µs, §3)"
            if floor
            else ""
        )
        rows.append(
            [
                "JAX trainer ≤ 2 µs per model-step at 64 seeds, float64",
                f"{fmt(rt['jax_us'])} µs{fl}",
                rt["jax_us"] <= 2.0,
            ]
        )
        if "vs_torch_same_B" in rt:
            rows.append(
                [
                    "JAX trainer ≥ 100× the PyTorch eager loop (same B = 64, float64; "
                    "PyTorch on 1 thread, see §2a)",
                    f"{fmt(rt['vs_torch_same_B'])}×",
                    rt["vs_torch_same_B"] >= 100,
                ]
            )
        if "vs_torch_B1" in rt:
            rows.append(
                [
                    "JAX trainer with B = 64 ≥ 100× the PyTorch eager loop on one model",
                    f"{fmt(rt['vs_torch_B1'])}×",
                    rt["vs_torch_B1"] >= 100,
                ]
            )
    pe = _ok(data, "peers")
    if pe:
        us = {p["peer"]: p["us_per_model_step"] for p in pe["peers"]}
        if "toyrd_mixed" in us:
            rows.append(
                [
                    "default (mixed) training path ≤ 3 µs per model-step, B = 64 (peers)",
                    f"{fmt(us['toyrd_mixed'])} µs",
                    us["toyrd_mixed"] <= 3.0,
                ]
            )
            x = us["jax_naive"] / us["toyrd_mixed"]
            rows.append(
                [
                    "default training path ≥ 4× the plain JAX float64 loop (same threads)",
                    f"{fmt(x)}×",
                    x >= 4.0,
                ]
            )
        pr = pe.get("process")
        if pr:
            x = pr["ratio_plain_over_sweep_mixed_warm"]
            rows.append(
                [
                    "`toyrd sweep` process ≥ 2× the plain JAX script (warm cache)",
                    f"{fmt(x)}×",
                    x >= 2.0,
                ]
            )
    if sc:
        p64 = [p for p in sc["points"] if p["n"] == 30 and p["B"] == 64 and p["model_step_us"]]
        if p64:
            p = p64[0]
            rows.append(
                [
                    "`train_jax.train()` itself ≤ 2 µs per model-step, 64 seeds, float64, "
                    "30×30 (§3)",
                    f"{fmt(p['model_step_us'])} µs (CPU {fmt(p.get('cpu_model_step_us'))} µs)",
                    p["model_step_us"] <= 2.0,
                ]
            )
    ib = _ok(data, "ib")
    if ib and ib.get("toy_frontier"):
        t = _secs(ib["toy_frontier"]["seconds"])
        rows.append(
            [
                f"IB frontier, {ib['toy_frontier']['n_betas']} β on the 30 × 2 toy ≤ 1 s",
                f"{fmt(t)} s",
                t <= 1.0,
            ]
        )
    fg = _ok(data, "figure2")
    if fg:
        cpu = f" (CPU {fmt(fg['cold_cpu_s'])} s)" if fg.get("cold_cpu_s") is not None else ""
        rows.append(
            ["`toyrd figure2` ≤ 15 s cold", f"{fmt(fg['cold_s'])} s{cpu}", fg["cold_s"] <= 15]
        )
        if fg.get("warm_s") is not None:
            rows.append(
                [
                    "`toyrd figure2`, second run (warm compilation cache) faster than cold",
                    f"{fmt(fg['warm_s'])} s",
                    fg["warm_s"] < fg["cold_s"],
                ]
            )
    return rows


def render_page(results) -> str:
    """The whole ``docs/benchmarks.md`` as a string."""
    data = load(results)
    quick = (data.get("summary") or {}).get("quick")
    walls = [e.get("wall_s") or 0 for e in (data.get("summary") or {}).get("cases", {}).values()]
    total_min = fmt(sum(walls) / 60, 2)
    parts = [
        "# Benchmarks",
        "<!-- generated by `python -m benchmarks.report` from benchmarks/results/*.json; "
        "do not edit by hand -->",
        "Every number on this page was measured by the scripts in `benchmarks/`, run side by side "
        "in one invocation of `python -m benchmarks`, written as JSON to `benchmarks/results/`, "
        "and rendered here by `benchmarks/report.py`. No unit test asserts a timing.",
        '!!! note "Small CPU, shared clock"\n    A 2-core virtual machine: timings move by tens of '
        "percent between runs, and XLA may spread one step over both cores (so CPU time can exceed "
        "wall time). The load average when the run started is stated below; compare ratios taken "
        "in the same run, and re-run `python -m benchmarks --docs` to refresh the page.",
        "## Machine\n\n" + section_machine(data),
        f"## How to run\n\n```bash\n# everything ({total_min} min in the run below); JSON in "
        "benchmarks/results/\npython -m benchmarks\n"
        "python -m benchmarks --quick    # smoke run, tiny sizes\n"
        "python -m benchmarks --only eval,scaling --out /tmp/bench\n"
        "python -m benchmarks --docs     # also regenerate this page and its plots\n"
        "toyrd bench --quick --json      # the same runner from the toyrd command\n"
        "# the page only, from the JSON\n"
        "python -m benchmarks.report --results benchmarks/results\n"
        "```\n\n"
        "Each case runs in a fresh process; times are medians (and minima) of repeated rounds "
        "after a warm-up call, with compilation reported separately.",
    ]
    rows = targets(data)
    if rows:
        parts.append("## Targets\n\n" + table(["target", "measured", "met"], rows))
    if quick:
        parts.append("*(quick smoke run: sizes are tiny and numbers are not representative)*")
    order = [c for c in TITLES if c in data] + [
        c for c in data if c not in TITLES and c != "summary"
    ]
    for case in order:
        env = data[case]
        title = TITLES.get(case, case)
        mod = ROOT / "benchmarks" / f"bench_{case}.py"
        head = f"## {title}\n\n*Source: `benchmarks/bench_{case}.py`" + (
            f", {fmt(env.get('wall_s'))} s wall.*" if mod.exists() else ".*"
        )
        res = env.get("result")
        if env.get("status") != "ok":
            body = (
                f"Failed (status {env.get('status')}):\n\n```\n"
                f"{env.get('stderr_tail', '')[-800:]}\n```"
            )
        elif isinstance(res, dict) and res.get("status") == "unavailable":
            body = f"Not measured: {res.get('reason')}"
        else:
            try:
                body = RENDERERS.get(case, generic)(res)
            except (KeyError, TypeError, IndexError):  # a case changed its JSON: show it raw
                body = generic(res)
        parts.append(head + "\n\n" + body)
    return "\n\n".join(parts) + "\n"


def render_summary(results) -> str:
    """A few lines for the terminal: each case's status and the targets."""
    data = load(results)
    lines = []
    for case, e in (data.get("summary") or {}).get("cases", {}).items():
        lines.append(f"{case:>10}: {e['status']:<6} {fmt(e['wall_s'])} s")
    for name, measured, met in targets(data):
        lines.append(
            f"  target {name.replace('`', '')}: {measured} ({'met' if met else 'NOT met'})"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plots


def _save_png(fig, path, dpi: int = 110) -> None:
    """PNG with its smallest text size in image pixels (tEXt ``toyrd:text_px``, read by
    docs/scripts/check_site.py)."""
    from toyrd.plot import smallest_font_pt

    text_px = f"{smallest_font_pt(fig) * dpi / 72:.2f}"
    fig.savefig(path, dpi=dpi, metadata={"Software": None, "toyrd:text_px": text_px})


def write_plots(results, img_dir) -> list:
    """Draw ``bench_scaling.png`` and ``bench_eval.png`` into ``img_dir`` from the JSON."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    data = load(results)
    img_dir = Path(img_dir)
    img_dir.mkdir(parents=True, exist_ok=True)
    written = []
    sc = _ok(data, "scaling")
    if sc and sc["points"]:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.6))  # the docs column
        for b in sorted({p["B"] for p in sc["points"]}):
            pts = [p for p in sc["points"] if p["B"] == b and p["model_step_us"]]
            xs = [p["n"] ** 2 for p in pts]
            ax1.loglog(xs, [p["model_step_us"] for p in pts], "o-", label=f"B = {b}")
            ax2.loglog(xs, [p["rss_peak_mb"] for p in pts], "o-", label=f"B = {b}")
            if pts:
                x0, y0 = xs[-1], pts[-1]["model_step_us"]
                ax1.loglog([xs[0], x0], [y0 * xs[0] / x0, y0], ":", color="grey")
        ax1.plot([], [], ":", color="grey", label="slope 1 (linear)")
        ax1.set(xlabel="n_x · n_z", ylabel="µs per model-step", title="JAX step, float64")
        ax2.set(xlabel="n_x · n_z", ylabel="peak RSS (MiB)", title="peak memory")
        for ax in (ax1, ax2):
            ax.legend(fontsize=8.5)
            ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        path = img_dir / PLOTS["scaling"]
        _save_png(fig, path)
        plt.close(fig)
        written.append(path)
    ev = _ok(data, "eval")
    if ev and ev["batch"]:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        rows = ev["batch"]
        ax.loglog(
            [r["B"] for r in rows],
            [r["jax_models_per_s"] for r in rows],
            "o-",
            label="JAX (jit+vmap)",
        )
        rn = [r for r in rows if "numpy_models_per_s" in r]
        ax.loglog(
            [r["B"] for r in rn], [r["numpy_models_per_s"] for r in rn], "s-", label="numpy loop"
        )
        ax.axhline(ev["single"]["models_per_s"], ls=":", color="grey", label="toyrd.evaluate")
        ax.set(
            xlabel="B (models per call)",
            ylabel="models per second",
            title="exact evaluation, 30×30, float64",
        )
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        path = img_dir / PLOTS["eval"]
        _save_png(fig, path)
        plt.close(fig)
        written.append(path)
    return written


def write_docs(results, page: str | None = None, docs=DOCS, img=IMG) -> Path:
    """Write the page and copy (or draw) its plots next to it."""
    page = render_page(results) if page is None else page
    docs = Path(docs)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(page)
    img = Path(img)
    img.mkdir(parents=True, exist_ok=True)
    for name in PLOTS.values():
        src = Path(results) / name
        if src.exists():
            shutil.copyfile(src, img / name)
    if not all((Path(results) / n).exists() for n in PLOTS.values()):
        write_plots(results, img)
    return docs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--docs", type=Path, default=DOCS)
    p.add_argument("--img", type=Path, default=IMG)
    args = p.parse_args(argv)
    if not (args.results / "summary.json").exists():
        p.exit(
            2,
            f"{p.prog}: error: no summary.json in {args.results}; run python -m benchmarks first\n",
        )
    path = write_docs(args.results, docs=args.docs, img=args.img)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
