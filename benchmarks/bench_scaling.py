"""Scaling of the JAX trainer with the table size: n_x = n_z ∈ {30, 100, 300, 1000}.

For each size and batch B ∈ {1, 64} (tabular ELBO, float64, Adam, ``toyrd.train.jax.train``),
a fresh subprocess trains twice at two step counts S1 < S2 (each program once for compilation,
then timed), so the fixed costs (initialisation, transfers, final tables) cancel:

    time per step = (T(S2) − T(S1)) / (S2 − S1),   per model-step = that / B,

and reports its peak resident memory (``ru_maxrss``; the process starts with jax imported, so the
baseline is reported too). The data distribution at size n is the toy re-binned to n bins
(``toyrd.toy_data(n_bins=n)``). A (size, B) whose memory, extrapolated from the largest measured
size at the same B, exceeds ``TOYRD_BENCH_MEM_GB`` (default 4 GiB) is skipped with that estimate.

The exponent α of time ∝ (n_x·n_z)^α is fitted by least squares on log–log points with
n ≥ 100 (at n = 30 the fixed per-step dispatch dominates); α ≈ 1 means cost linear in the
table size. Run alone: ``python -m benchmarks.bench_scaling [--quick]``.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import subprocess
import sys
import time

from benchmarks import ROOT, max_rss_mb

SIZES = [30, 100, 300, 1000]
SIZES_QUICK = [30, 60]
BATCHES = [1, 64]
BATCHES_QUICK = [1]


def _steps(n: int, b: int, quick: bool) -> tuple[int, int]:
    """Two step counts whose difference takes about ``target`` seconds at every size.

    Rough model of one step: max(10 µs, 10 ns per table entry); only the step counts depend on
    it, never the reported numbers.
    """
    target = 0.1 if quick else 1.0
    est = max(1e-5, 1e-8 * b * 2 * n * n)
    diff = int(min(20000, max(4, target / est)))
    return diff // 4 + 1, diff + diff // 4 + 1


def _child(n: int, b: int, s1: int, s2: int) -> dict:
    import jax  # noqa: F401  (baseline memory includes the import)

    import toyrd
    from toyrd.train import jax as train_jax

    px = toyrd.toy_data(n_bins=n).px
    base = max_rss_mb()
    kw = dict(px=px, n_z=n, seeds=range(b), dtype="float64", progress=False, history_stride=1)
    if "warmup" in inspect.signature(train_jax.train).parameters:
        kw["warmup"] = 0  # no separate warm-up phase: every timed step is a main-loop step
    times, cpu, compile_s = {}, {}, {}
    for s in (s1, s2):
        kw["history_stride"] = s  # history only at the start and the end
        t0 = time.perf_counter()
        train_jax.train("elbo", steps=s, **kw)
        compile_s[s] = time.perf_counter() - t0
        runs = []
        for _ in range(3 if b * n * n < 10**6 else 2):
            c0, t0 = time.process_time(), time.perf_counter()
            train_jax.train("elbo", steps=s, **kw)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
        times[s], cpu[s] = min(runs)
    step = (times[s2] - times[s1]) / (s2 - s1)
    ok = step > 0  # a non-positive difference means the load on the machine swamped the steps
    fixed = times[s1] - s1 * step if ok else None  # init, transfers, final tables, history
    cpu_step = (cpu[s2] - cpu[s1]) / (s2 - s1)  # CPU seconds of all threads: steadier when shared
    cpu_ok = cpu_step > 0
    return {
        "n": n,
        "B": b,
        "steps": [s1, s2],
        "wall_s": [times[s1], times[s2]],
        "first_call_s": [compile_s[s1], compile_s[s2]],
        "step_s": step if ok else None,
        "model_step_us": 1e6 * step / b if ok else None,
        "ns_per_entry_step": 1e9 * step / (b * 2 * n * n) if ok else None,
        "fixed_s": fixed,
        "cpu_model_step_us": 1e6 * cpu_step / b if cpu_ok else None,
        "rss_baseline_mb": base,
        "rss_peak_mb": max_rss_mb(),
    }


def _fit(points, key: str = "model_step_us") -> dict | None:
    """Least-squares slope of log(time per model-step) against log(n_x·n_z)."""
    points = [p for p in points if p.get(key) is not None]
    if len(points) < 2:
        return None
    xs = [math.log(p["n"] ** 2) for p in points]
    ys = [math.log(p[key]) for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return {"exponent": slope, "sizes": [p["n"] for p in points]}


#: Elementwise HLO ops whose cost per element dominates a training step (everything else XLA fuses
#: into them: adds, multiplies, selects are cheaper by a wide margin).
COSTLY_OPS = ("exponential", "log", "sqrt", "divide")
_OP_RE = re.compile(r"= (f64|f32)\[([\d,]*)\][^ ]* (" + "|".join(COSTLY_OPS) + r")\(")


def hlo_op_elements(hlo_text: str) -> dict:
    """Elements computed by each costly op in an optimised (post-CSE, post-fusion) HLO module."""
    counts = dict.fromkeys(COSTLY_OPS, 0)
    for m in _OP_RE.finditer(hlo_text):
        dims = [int(x) for x in m.group(2).split(",") if x]
        counts[m.group(3)] += math.prod(dims)
    return counts


def _ns_per_element(dtype: str, quick: bool) -> dict:
    """Measured ns per element of each costly op: inside one jitted loop, ``reps`` passes over an
    array the size of one 64-model table batch (64·30·30 entries, shifted each pass so nothing is
    hoisted), minus the same loop with the identity — so dispatch and accumulation cancel. Each
    cost is the smaller of the wall-clock (minimum) and CPU-time (median) estimates, so load from
    other processes inflates it as little as possible: the floor stays a lower bound."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks import measure

    ops = {"exponential": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt, "divide": lambda v: 1.0 / v}
    size, reps = 64 * 30 * 30, (4 if quick else 32)
    x = jnp.asarray(np.random.default_rng(0).random(size) + 0.5, dtype=dtype)

    def t(f):
        def body(i, acc):
            return acc + f(x + i.astype(x.dtype) * 1e-6)

        g = jax.jit(lambda v: jax.lax.fori_loop(0, reps, body, jnp.zeros_like(v)).sum())
        m = measure(lambda: jax.block_until_ready(g(x)), repeat=3 if quick else 7)
        return m["min_s"], m["cpu_median_s"]

    base = t(lambda v: v)
    out = {}
    for name, op in ops.items():  # the cheaper of the wall-clock and the CPU-time estimate
        cost = t(op)
        out[name] = max(0.0, 1e9 * min(cost[0] - base[0], cost[1] - base[1]) / (size * reps))
    return out


def _trainer_step(n: int, dtype: str, px):
    """One Adam step of the trainer's ELBO for ONE model, as the trainer builds it: the fast
    path (``train_jax.rd_batch_last`` on batch-last logits, closed-form gradient) when the
    trainer and family provide it, else the generic ``objective_loss_fn``. Returns
    (step(params, state), params, state, path name)."""
    import jax
    import jax.numpy as jnp
    import optax

    from toyrd import tables as families
    from toyrd.train import jax as train_jax

    fam = families.tabular
    init = fam.init(0, n, n, 1.0)
    opt = optax.adam(0.05)
    pxd = jnp.asarray(px, dtype)
    if hasattr(train_jax, "rd_batch_last") and getattr(fam, "logits", None) is not None:
        rd = train_jax.rd_batch_last()
        logits = jax.vmap(lambda p: fam.logits(p, n), in_axes=-1, out_axes=-1)
        params = {k: jnp.asarray(v[..., None], dtype) for k, v in init.items()}  # batch-last, B = 1

        def loss(p):
            r, d = rd(pxd, *logits(p))
            return (r + d).sum()

        path = "fast: train_jax.rd_batch_last (one exp per logit, closed-form gradient)"
    else:
        f = train_jax.objective_loss_fn("elbo", fam, n)
        params = {k: jnp.asarray(v, dtype) for k, v in init.items()}

        def loss(p):
            return f(p, jnp.asarray(0.0, dtype), pxd)[0]

        path = "generic: train_jax.objective_loss_fn + autodiff"

    def step(p, st):
        upd, st = opt.update(jax.grad(loss)(p), st, p)
        return optax.apply_updates(p, upd), st

    return step, params, opt.init(params), path


def transcendental_floor(n: int = 30, quick: bool = False) -> dict:
    """Lower bound on one trainer model-step from its costly elementwise ops.

    Compiles one step of the trainer's ELBO (tabular, Adam; :func:`_trainer_step`), counts the
    exp / log / sqrt / divide elements in the optimised HLO and prices each at its measured ns
    per element: floor = Σ_op count_op · ns_op.
    """
    import jax

    import toyrd

    px = toyrd.toy_data(n_bins=n).px
    out = {"n": n, "by_dtype": {}}
    with jax.enable_x64(True):
        for dtype in ("float64", "float32"):
            step, params, state, path = _trainer_step(n, dtype, px)
            counts = hlo_op_elements(jax.jit(step).lower(params, state).compile().as_text())
            ns = _ns_per_element(dtype, quick)
            floor_us = sum(counts[k] * ns[k] for k in COSTLY_OPS) / 1e3
            out["by_dtype"][dtype] = {
                "elements": counts,
                "ns_per_element": ns,
                "floor_us_per_model_step": floor_us,
            }
            out["path"] = path
    return out


def run(quick: bool = False) -> dict:
    sizes = SIZES_QUICK if quick else SIZES
    budget_mb = 1024 * float(os.environ.get("TOYRD_BENCH_MEM_GB", "4"))
    env = dict(
        os.environ,
        JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    batches = BATCHES_QUICK if quick else BATCHES
    points, skipped = [], []
    for b in batches:
        last = None
        for n in sizes:
            if last is not None:
                growth = (last["rss_peak_mb"] - last["rss_baseline_mb"]) * (n / last["n"]) ** 2
                estimate = last["rss_baseline_mb"] + growth
                if estimate > budget_mb:
                    skipped.append(
                        {
                            "n": n,
                            "B": b,
                            "estimated_rss_mb": estimate,
                            "budget_mb": budget_mb,
                            "from_n": last["n"],
                        }
                    )
                    continue
            s1, s2 = _steps(n, b, quick)
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.bench_scaling",
                "--child",
                str(n),
                str(b),
                str(s1),
                str(s2),
            ]
            proc = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
            )
            if proc.returncode != 0:
                raise RuntimeError(f"n={n} B={b} failed:\n{proc.stderr[-2000:]}")
            last = json.loads(proc.stdout.strip().splitlines()[-1])
            points.append(last)
    fits = {}
    for b in batches:
        rows = [p for p in points if p["B"] == b]
        big = [p for p in rows if p["n"] >= 100]
        fits[f"B{b}"] = {
            "n>=100": _fit(big),
            "all": _fit(rows),
            "cpu n>=100": _fit(big, "cpu_model_step_us"),
        }
    return {
        "objective": "elbo",
        "family": "tabular",
        "dtype": "float64",
        "trainer": "toyrd.train.jax.train",
        "points": points,
        "skipped": skipped,
        "fits": fits,
        "mem_budget_mb": budget_mb,
        "floor": transcendental_floor(30, quick),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        n, b, s1, s2 = (int(a) for a in sys.argv[2:6])
        print(json.dumps(_child(n, b, s1, s2)))
    else:
        from toyrd.cli import dumps

        print(dumps(run(quick="--quick" in sys.argv), indent=1))
