"""toyrd's trainer against the loops a user would write instead, in ONE process, on the SAME
threads: microseconds per model-step, ratios next to the absolute times, and the quality of
toyrd's precisions side by side.

The job (every peer): float64, B = 64 tabular models on the toy (n_x = n_z = 30, 1,830 logits
each), exact ELBO loss D + R (a finite sum: no sampling), Adam. A *model-step* is one Adam update
of one model. Peers:

* ``toyrd_float64``: :func:`toyrd.train.jax.compiled_run` on its fast path (batch-last
  parameters, one exp per logit, closed-form gradient), cosine schedule, no warm-up;
* ``toyrd_mixed``: the same run with ``dtype="mixed"`` (float32, then the last steps // 10 in
  float64 with a fresh Adam) — the default of ``toyrd train`` / ``toyrd sweep`` for the ELBO;
* ``jax_naive``: what a JAX user writes: ``log_softmax`` tables, the loss of one model,
  ``jax.vmap(jax.grad(loss))`` over the batch, ``optax.adam`` (same cosine schedule) inside a
  jitted ``lax.scan``;
* ``torch_eager_batched``: PyTorch eager, the 64 models as one (64, 30, 30) tensor each,
  ``log_softmax`` tables, the same sums, ``loss.backward()``, ``torch.optim.Adam`` (constant lr:
  a scheduler would only add Python per step);
* ``torch_eager_one``: the same loop for ONE model (B = 1), what a per-model script costs;
* ``torch_compile_batched``: ``torch.compile`` of the batched loss (forward and backward through
  AOTAutograd / inductor), Adam eager — full mode only (its compile takes tens of seconds);
  a failure is recorded, not raised.

Threads: every peer runs on ``threads`` = ``$TOYRD_BENCH_THREADS`` (default 1: on the shared
2-core machine a second thread mostly measures contention — PyTorch's batched loop took 258 µs
per model-step on 2 threads against 35 µs on 1, XLA's wall time exceeded its CPU time by 40 %):
the process is pinned to that many cores (``sched_setaffinity``, before JAX is imported: XLA:CPU
sizes its thread pool by the schedulable cores) and PyTorch gets ``torch.set_num_threads(threads)``,
``set_num_interop_threads(1)``. All stated in the JSON. (Until 2026-12-02 this module also put
``intra_op_parallelism_threads=N`` into ``XLA_FLAGS``: not an XLA flag, and a token without
``--`` made XLA ignore the whole variable; the pinning alone set the threads then as now.)

Compiler options: toyrd's programs are compiled with :data:`toyrd._backend.CPU_COMPILER_OPTIONS`
(no YNNPACK reduce fusions). ``jax_naive`` is the loop as a user writes it, JAX defaults;
``jax_naive_tuned`` is the same loop compiled with toyrd's options, and
``toyrd_mixed_default_xla`` toyrd's mixed run compiled with JAX's defaults, so the page shows
how much of toyrd's lead is the option and how much the program.

Timing: each peer's steady state, best of ``repeats`` (wall; CPU time of that call too). JAX
runs are compiled once first (compile time reported apart). ``quality``: the final bound gap
R + D − H and the final R of 64 seeds (4 seeds, 200 steps in --quick) trained by
:func:`toyrd.train.jax.train` with each dtype, for the ELBO and the target rate σ = 0.5.
``process`` (full mode): the whole
``toyrd sweep`` process (64 seeds × 3000 steps, cold and warm compilation cache) against a plain
JAX script of the same job.

Run alone: ``python -m benchmarks.bench_peers [--quick]`` prints the JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _threads() -> int:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    return int(os.environ.get("TOYRD_BENCH_THREADS", min(1, usable)))


THREADS = _threads()
try:  # before JAX starts its backend, which sizes its thread pool by the schedulable cores
    _cores = sorted(os.sched_getaffinity(0))[:THREADS]
    os.sched_setaffinity(0, _cores)
except (AttributeError, OSError):  # pragma: no cover
    _cores = None

B = 64
N = 30
LR = 0.01


def _best(fn, repeats: int, budget_s: float = 30.0):
    """(best wall seconds, CPU seconds of that call) over ``repeats`` calls (fewer once the calls
    have taken ``budget_s``: a peer slowed by a busy machine does not hold the run up)."""
    out, t_start = [], time.perf_counter()
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0, time.process_time() - c0))
        if time.perf_counter() - t_start > budget_s:
            break
    return min(out)


def _inits(batch: int) -> dict:
    import numpy as np

    from toyrd.tables import tabular

    inits = [tabular.init(s, N, N, 0.3) for s in range(batch)]
    return {k: np.stack([p[k] for p in inits]) for k in inits[0]}  # batch first


def _row(name, wall, cpu, steps, batch, **extra) -> dict:
    return {
        "peer": name,
        "batch": batch,
        "steps": steps,
        "run_s": wall,
        "us_per_model_step": 1e6 * wall / (steps * batch),
        "cpu_us_per_model_step": 1e6 * cpu / (steps * batch),
        **extra,
    }


def bench_toyrd(dtype: str, steps: int, repeats: int, options: bool = True) -> dict:
    """toyrd's compiled run (``options=False``: the same program compiled with JAX's default
    XLA options instead of toyrd's, to show what the options contribute)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from toyrd.data import toy_data
    from toyrd.tables import tabular
    from toyrd.train import TrainConfig
    from toyrd.train import jax as tj

    cfg = TrainConfig(steps=steps, warmup=0, dtype=dtype).validate()
    with jax.enable_x64(True):
        run = tj.compiled_run(cfg, tabular, N)
        if not options:
            run = jax.jit(run.__wrapped__)
        p = {k: jnp.asarray(np.moveaxis(v, 0, -1)) for k, v in _inits(B).items()}
        args = (
            p,
            jnp.zeros(B),
            jnp.asarray(toy_data().px),
            jnp.asarray(LR),
            jnp.asarray(0, jnp.int32),
        )
        t0 = time.perf_counter()
        jax.block_until_ready(run(*args))
        first = time.perf_counter() - t0
        wall, cpu = _best(lambda: jax.block_until_ready(run(*args)), repeats)
    return _row(
        f"toyrd_{dtype}" + ("" if options else "_default_xla"),
        wall,
        cpu,
        steps,
        B,
        first_call_s=first,
        f64_steps=cfg.f64_steps if dtype == "mixed" else None,
    )


def _naive_jax_step_fn(steps: int, tuned: bool = False):
    """The loop a JAX user writes: one model's loss, vmap(grad), optax Adam, jitted lax.scan
    (``tuned``: compiled with toyrd's compiler options instead of JAX's defaults)."""
    import jax
    import jax.numpy as jnp
    import optax

    from toyrd._backend import jit

    def loss(p, px):
        le = jax.nn.log_softmax(p["enc_logits"], -1)  # log e(z|x), (x, z)
        ld = jax.nn.log_softmax(p["dec_logits"], -1)  # log d(x|z), (z, x)
        lm = jax.nn.log_softmax(p["mar_logits"])  # log m(z)
        pe = px[:, None] * jnp.exp(le)
        return jnp.sum(pe * (le - lm[None, :])) - jnp.sum(pe * ld.T)  # R + D

    grad = jax.vmap(jax.grad(loss), in_axes=(0, None))
    opt = optax.adam(optax.cosine_decay_schedule(LR, steps, alpha=0.01))

    def train(p, px):
        def step(carry, _):
            p, s = carry
            upd, s = opt.update(grad(p, px), s, p)
            return (optax.apply_updates(p, upd), s), None

        (p, _), _ = jax.lax.scan(step, (p, opt.init(p)), None, length=steps)
        return p

    return jit(train) if tuned else jax.jit(train)


def bench_jax_naive(steps: int, repeats: int, tuned: bool = False) -> dict:
    import jax
    import jax.numpy as jnp

    from toyrd.data import toy_data

    with jax.enable_x64(True):
        train = _naive_jax_step_fn(steps, tuned)
        p = {k: jnp.asarray(v) for k, v in _inits(B).items()}
        px = jnp.asarray(toy_data().px)
        t0 = time.perf_counter()
        jax.block_until_ready(train(p, px))
        first = time.perf_counter() - t0
        wall, cpu = _best(lambda: jax.block_until_ready(train(p, px)), repeats)
    return _row(
        "jax_naive_tuned" if tuned else "jax_naive", wall, cpu, steps, B, first_call_s=first
    )


def _torch_loss(px):
    import torch

    def loss(enc, dec, mar):  # Σ over the batch of R + D; enc (B, x, z), dec (B, z, x), mar (B, z)
        le = torch.log_softmax(enc, -1)
        ld = torch.log_softmax(dec, -1)
        lm = torch.log_softmax(mar, -1)
        pe = px[None, :, None] * le.exp()
        return (pe * (le - lm[:, None, :])).sum() - (pe * ld.transpose(1, 2)).sum()

    return loss


def bench_torch(name: str, batch: int, steps: int, repeats: int, compiled: bool = False) -> dict:
    import torch

    from toyrd.data import toy_data

    px = torch.as_tensor(toy_data().px, dtype=torch.float64)
    p0 = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in _inits(batch).items()}
    loss_fn = _torch_loss(px)
    compile_s = None
    if compiled:
        loss_fn = torch.compile(loss_fn)

    def go(n):
        params = [
            p0[k].clone().requires_grad_(True) for k in ("enc_logits", "dec_logits", "mar_logits")
        ]
        opt = torch.optim.Adam(params, lr=LR)
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(*params)
            loss.backward()
            opt.step()
        return float(loss.detach())

    t0 = time.perf_counter()
    go(2)  # warm-up (and, compiled, the compile)
    if compiled:
        compile_s = time.perf_counter() - t0
    wall, cpu = _best(lambda: go(steps), repeats)
    return _row(name, wall, cpu, steps, batch, compile_s=compile_s)


def quality(quick: bool) -> list:
    """Final bound gap and R of toyrd's precisions, side by side (same seeds, same config)."""
    import numpy as np

    from toyrd.data import toy_data
    from toyrd.train import jax as tj

    seeds = range(4 if quick else 64)
    steps = 200 if quick else 2000
    h = toy_data().entropy
    rows = []
    for objective, hyper in (("elbo", None), ("target_rate", 0.5)):
        ref_r = None
        for dtype in ("float64", "mixed", "float32"):
            kw = {"seeds": seeds, "hyper": hyper, "steps": steps, "dtype": dtype, "progress": False}
            if not quick:
                tj.train(objective, **kw)  # compile first: train_s is the run alone
            res = tj.train(objective, **kw)
            q = res.table()
            gap = q["R"] + q["D"] - h
            row = {
                "objective": objective,
                "hyper": hyper,
                "dtype": dtype,
                "seeds": len(seeds),
                "steps": steps,
                "train_s": res.wall_s,
                "train_s_includes_compile": quick,
                "gap_max": float(gap.max()),
                "gap_median": float(np.median(gap)),
                "R_mean": float(q["R"].mean()),
                "R_min": float(q["R"].min()),
                "R_max": float(q["R"].max()),
            }
            if hyper is not None:
                dev = np.abs(q["R"] - hyper)
                row.update(
                    abs_R_minus_sigma_mean=float(dev.mean()), abs_R_minus_sigma_max=float(dev.max())
                )
            if ref_r is None:
                ref_r = q["R"]
            else:
                row["max_abs_R_diff_vs_float64"] = float(np.abs(q["R"] - ref_r).max())
            rows.append(row)
            print(
                f"quality {objective} {dtype}: gap max {row['gap_max']:.2e}, "
                f"R mean {row['R_mean']:.6f}",
                file=sys.stderr,
                flush=True,
            )
    return rows


#: The plain JAX script of the ``process`` case: 64 seeds × 3000 steps of the ELBO.
_PLAIN_SCRIPT = """
import jax, jax.numpy as jnp, numpy as np, optax
jax.config.update("jax_enable_x64", True)
from toyrd.data import toy_data
rng = np.random.default_rng(0)
px = toy_data().px
p = {"enc_logits": 0.3 * rng.standard_normal((64, 30, 30)),
     "dec_logits": 0.3 * rng.standard_normal((64, 30, 30)),
     "mar_logits": 0.3 * rng.standard_normal((64, 30))}
def loss(p, px):
    le = jax.nn.log_softmax(p["enc_logits"], -1); ld = jax.nn.log_softmax(p["dec_logits"], -1)
    lm = jax.nn.log_softmax(p["mar_logits"]); pe = px[:, None] * jnp.exp(le)
    return jnp.sum(pe * (le - lm[None, :])) - jnp.sum(pe * ld.T)
grad = jax.vmap(jax.grad(loss), in_axes=(0, None))
opt = optax.adam(optax.cosine_decay_schedule(0.01, 3000, alpha=0.01))
@jax.jit
def train(p, px):
    def step(c, _):
        p, s = c
        u, s = opt.update(grad(p, px), s, p)
        return (optax.apply_updates(p, u), s), None
    return jax.lax.scan(step, (p, opt.init(p)), None, length=3000)[0][0]
out = jax.block_until_ready(train(p, jnp.asarray(px)))
print(float(jax.vmap(loss, in_axes=(0, None))(out, jnp.asarray(px)).mean()))
"""


def process(threads: int) -> dict:
    """Whole processes, start to exit: ``toyrd sweep`` (64 seeds × 3000 steps, ELBO, no warm-up;
    default dtype mixed, then float64; each cold then warm compilation cache) against the plain
    script (the same job: toy p*, 64 random inits, vmap(grad) + optax Adam, float64)."""
    from benchmarks import ROOT

    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env["TOYRD_JAX_CACHE"] = os.path.join(tmp, "cache")
        script = os.path.join(tmp, "plain.py")
        with open(script, "w") as f:
            f.write(textwrap.dedent(_PLAIN_SCRIPT))
        pin = ["taskset", "-c", ",".join(map(str, _cores))] if _cores else []

        def timed(cmd):
            t0 = time.perf_counter()
            subprocess.run(pin + cmd, env=env, check=True, capture_output=True, timeout=600)
            return time.perf_counter() - t0

        sweep = [
            sys.executable,
            "-m",
            "toyrd.cli",
            "sweep",
            "--seeds",
            "64",
            "--steps",
            "3000",
            "--warmup",
            "0",
            "--no-progress",
        ]
        for label, extra in (
            ("sweep_mixed_cold_s", []),
            ("sweep_mixed_warm_s", []),
            ("sweep_float64_cold_s", ["--dtype", "float64"]),
            ("sweep_float64_warm_s", ["--dtype", "float64"]),
        ):
            out[label] = timed(sweep + ["--out", os.path.join(tmp, f"{label}.jsonl")] + extra)
        out["plain_jax_script_s"] = timed([sys.executable, script])
    out["ratio_plain_over_sweep_mixed_warm"] = out["plain_jax_script_s"] / out["sweep_mixed_warm_s"]
    out["ratio_plain_over_sweep_float64_warm"] = (
        out["plain_jax_script_s"] / out["sweep_float64_warm_s"]
    )
    return out


def run(quick: bool = False) -> dict:
    import jax
    import torch

    from toyrd._backend import compiler_options

    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    steps = 200 if quick else 2000
    torch_steps = 10 if quick else 200
    repeats = 1 if quick else 3
    out = {
        "unit": "microseconds per model-step (one Adam update of one 30x30 tabular model), "
        "float64, exact ELBO",
        "batch": B,
        "steps": steps,
        "torch_steps": torch_steps,
        "repeats": repeats,
        "threads": THREADS,
        "cores_pinned": _cores,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "toyrd_compiler_options": dict(compiler_options()),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "jax_backend": jax.default_backend(),
        "device": str(jax.devices()[0]),
        "device_kind": jax.devices()[0].device_kind,
        "torch_device": "cpu",
        "loadavg_start": os.getloadavg(),
    }
    peers = [
        bench_toyrd("float64", steps, repeats),
        bench_toyrd("mixed", steps, repeats),
        bench_toyrd("mixed", steps, repeats, options=False),
        bench_jax_naive(steps, repeats),
        bench_jax_naive(steps, repeats, tuned=True),
        bench_torch("torch_eager_batched", B, torch_steps, repeats),
        bench_torch("torch_eager_one", 1, torch_steps, repeats),
    ]
    if quick:
        out["torch_compile"] = "skipped in --quick (its compile alone takes tens of seconds)"
    else:
        try:
            peers.append(
                bench_torch("torch_compile_batched", B, torch_steps, repeats, compiled=True)
            )
            out["torch_compile"] = "ok"
        except Exception as exc:  # noqa: BLE001 - a missing compiler, an unsupported op: report
            out["torch_compile"] = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
    ref = {p["peer"]: p["us_per_model_step"] for p in peers}
    for p in peers:
        p["x_toyrd_float64"] = p["us_per_model_step"] / ref["toyrd_float64"]
        p["x_toyrd_mixed"] = p["us_per_model_step"] / ref["toyrd_mixed"]
        p["x_jax_naive"] = p["us_per_model_step"] / ref["jax_naive"]
        print(
            f"{p['peer']:>22}: {p['us_per_model_step']:8.2f} µs/model-step "
            f"({p['x_toyrd_float64']:.2f}× toyrd float64, {p['x_toyrd_mixed']:.2f}× mixed)",
            file=sys.stderr,
            flush=True,
        )
    out["peers"] = peers
    out["quality"] = quality(quick)
    if not quick:
        out["process"] = process(THREADS)
    out["loadavg_end"] = os.getloadavg()
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    text = json.dumps(run(quick=a.quick), indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)
