"""Training throughput: microseconds per model-step of the exact-gradient trainers.

A *model-step* is one Adam update of one model (one row of a vmapped batch): the tabular family
on the toy (n_x = n_z = 30, 1,830 logits), ELBO loss D + R through the shared log-domain formula
:func:`toyrd._formulas.rate_distortion_log`. Cases:

* ``jax``: the jitted ``lax.scan`` of :mod:`toyrd.train.jax` (the real runner on its fast path:
  parameters batch-last, one exp per logit, closed-form gradient; history stride steps/10, no
  warm-up, no progress bar) at B = 1, 16, 64, 256 rows in float32 and float64.
  Compile time (``lower().compile()``) is reported separately; the run time is the best of
  ``repeats`` executions of the compiled scan (``jax.block_until_ready``). Wall and CPU time:
  XLA:CPU may run one fusion on several threads, so CPU µs can exceed wall µs.
* ``forward_us_per_model_eval_dispatch``: the same batch, loss only (no gradient, no Adam), per
  model-evaluation, one dispatch per evaluation.
* ``jax_generic``: the runner's generic path (per-row loss vmapped batch-first, autodiff) — what
  a family without ``logits`` or a custom loss builder gets; B = 64 and 256.
* ``jax_logsoftmax``: a benchmark-only loop with autodiff through ``log_softmax`` (batch first,
  plain optax) — the reference the fast path is compared with.
* ``primitives``: CPU ns per element of log / exp / mul / div in XLA (f32, f64), the cost of
  Adam alone on 1,830 parameters per model, their sum (1,830 exps + Adam, in CPU time summed over
  XLA's threads: not a bound on a step's wall time) and the op counts of the compiled run.
* ``progress``: B = 64, float64, with and without the progress callback (100 ticks).
* ``torch``: a plain PyTorch eager loop (``torch.optim.Adam``), the same R + D written with
  ``torch.xlogy`` broadcast over the batch axis (``torch.func.vmap`` of the shared formula
  was ~100× slower), float32 and float64, one intra-op thread (faster than 2 for 30×30 ops).

Goal (issue 3): ≤ 2 µs per model-step amortised at 64 seeds in float64.
Run alone: ``python -m benchmarks.bench_train [--quick] [--out FILE]`` (JSON to stdout / FILE).
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

BATCHES = (1, 16, 64, 256)
DTYPES = ("float32", "float64")


def _params(batch: int, n: int = 30, scale: float = 1.0, last: bool = False):
    """Stacked tabular inits, batch first (the generic path) or batch last (the fast path)."""
    import numpy as np

    from toyrd.tables import tabular

    inits = [tabular.init(s, n, n, scale) for s in range(batch)]
    return {k: np.moveaxis(np.stack([p[k] for p in inits]), 0, -1 if last else 0) for k in inits[0]}


def _best(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls; the CPU time (all threads) of that call is kept in
    ``_LAST_CPU`` — on a shared machine CPU seconds are the steadier number."""
    out = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = min(out)
    _LAST_CPU[0] = cpu
    return wall


_LAST_CPU = [float("nan")]


def bench_progress(batch: int, steps: int, repeats: int) -> dict:
    """The cost of the progress callback: the same float64 run with and without it (100 ticks)."""
    import jax
    import jax.numpy as jnp

    from toyrd.data import toy_data
    from toyrd.tables import tabular
    from toyrd.train import TrainConfig
    from toyrd.train import jax as tj

    out = {"batch": batch, "steps": steps, "ticks": 100}
    with jax.enable_x64(True):
        args = (
            {k: jnp.asarray(v) for k, v in _params(batch, last=True).items()},
            jnp.zeros(batch),
            jnp.asarray(toy_data().px),
            jnp.asarray(0.05),
            jnp.asarray(0, jnp.int32),
        )
        for flag in (False, True):
            cfg = TrainConfig(steps=steps, history_stride=steps // 100, warmup=0)
            run = tj.compiled_run(cfg, tabular, 30, progress=flag)
            jax.block_until_ready(run(*args))
            out["with_progress_s" if flag else "without_progress_s"] = _best(
                lambda: jax.block_until_ready(run(*args)), repeats
            )
    return out


def _adam_cost(dtype: str, n_iter: int) -> float:
    """CPU µs per model-step of optax Adam (cosine schedule) alone on 64 × 1,830 parameters, with
    a gradient that costs one multiply-add: the update's sqrt, divides and memory passes."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    x = jnp.linspace(-1.0, 1.0, 64 * 1830, dtype=jnp.dtype(dtype)).reshape(1830, 64)
    opt = optax.adam(optax.cosine_decay_schedule(0.05, n_iter, 0.01))

    def go(x):
        def step(c, _):
            p, s = c
            u, s = opt.update(p * 0.1 - 0.01, s, p)
            return (optax.apply_updates(p, u), s), None

        return lax.scan(step, (x, opt.init(x)), None, length=n_iter)[0][0]

    g = jax.jit(go)
    jax.block_until_ready(g(x))
    c0 = time.process_time()
    jax.block_until_ready(g(x))
    return 1e6 * (time.process_time() - c0) / (n_iter * 64)


def bench_primitives(n_iter: int) -> dict:
    """What bounds a step: CPU ns per element of XLA's log, exp, multiply and divide (64×900
    arrays, inside a scan); Adam alone; their sum, 1,830 exps (the softmax tables e, d, m: one
    exp per logit) + Adam, in CPU µs per model-step — CPU time summed over every thread XLA
    uses, so a step's wall time can be below it; and the number of fusions / logs / exps in the
    compiled B = 64 run."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    from toyrd.data import toy_data
    from toyrd.tables import tabular
    from toyrd.train import TrainConfig
    from toyrd.train import jax as tj

    out = {}
    with jax.enable_x64(True):
        for dtype in DTYPES:
            x = jnp.linspace(0.1, 2.0, 64 * 900, dtype=jnp.dtype(dtype)).reshape(64, 900)
            for name, f in (
                ("log", jnp.log),
                ("exp", jnp.exp),
                ("mul", lambda v: v * 1.0000001),
                ("div", lambda v: 1.0 / v),
            ):
                g = jax.jit(
                    lambda x, f=f: lax.scan(
                        lambda c, _: (f(c) * 0.5 + 0.6, None), x, None, length=n_iter
                    )[0]
                )
                jax.block_until_ready(g(x))
                c0 = time.process_time()
                jax.block_until_ready(g(x))
                out[f"{dtype}_{name}_ns_per_element"] = (
                    1e9 * (time.process_time() - c0) / (n_iter * x.size)
                )
            out[f"{dtype}_adam_us_per_model_step"] = _adam_cost(dtype, n_iter)
            exp_us = 1830 * out[f"{dtype}_exp_ns_per_element"] / 1e3
            out[f"{dtype}_exp_adam_cpu_us_per_model_step"] = (
                exp_us + out[f"{dtype}_adam_us_per_model_step"]
            )
        run = tj.compiled_run(TrainConfig(steps=100, history_stride=10, warmup=0), tabular, 30)
        args = (
            {k: jnp.asarray(v) for k, v in _params(64, last=True).items()},
            jnp.zeros(64),
            jnp.asarray(toy_data().px),
            jnp.asarray(0.05),
            jnp.asarray(0, jnp.int32),
        )
        hlo = run.lower(*args).compile().as_text()
    out["compiled_run_counts"] = {
        op: hlo.count(op + "(") for op in ("fusion", "log", "exponential", "divide", "while")
    }
    return out


def bench_jax(batch: int, dtype: str, steps: int, repeats: int, path: str = "fast") -> dict:
    """The trainer's runner: ``path`` "fast" (batch-last, closed-form gradient) or "generic"."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from toyrd.data import toy_data
    from toyrd.tables import tabular
    from toyrd.train import TrainConfig
    from toyrd.train import jax as tj

    px = toy_data().px
    fast = path == "fast"
    with jax.enable_x64(True):
        dt = jnp.dtype(dtype)
        cfg = TrainConfig(steps=steps, history_stride=max(1, steps // 10), warmup=0)
        run = tj.compiled_run(cfg, tabular, 30, None if fast else tj.objective_loss_fn)
        args = (
            {k: jnp.asarray(v, dt) for k, v in _params(batch, last=fast).items()},
            jnp.zeros(batch, dt),
            jnp.asarray(px, dt),
            jnp.asarray(0.05, dt),
            jnp.asarray(0, jnp.int32),
        )
        t0 = time.perf_counter()
        compiled = run.lower(*args).compile()
        compile_s = time.perf_counter() - t0
        jax.block_until_ready(compiled(*args))  # first execution (allocations)
        run_s = _best(lambda: jax.block_until_ready(compiled(*args)), repeats)
        cpu_s = _LAST_CPU[0]

        if fast:
            rd = tj.rd_batch_last()
            fwd = jax.jit(
                lambda p: sum(rd(args[2], p["enc_logits"], p["dec_logits"], p["mar_logits"]))
            )
        else:
            loss = tj.objective_loss_fn("elbo", tabular, 30)
            fwd = jax.jit(lambda p: jax.vmap(loss, in_axes=(0, 0, None))(p, args[1], args[2])[0])
        jax.block_until_ready(fwd(args[0]))
        n_eval = 200
        fwd_s = _best(lambda: [jax.block_until_ready(fwd(args[0])) for _ in range(n_eval)], repeats)
        final_loss = np.asarray(compiled(*args)[1][0][:, -1], dtype=np.float64)
    return dict(
        batch=batch,
        dtype=dtype,
        path=path,
        steps=steps,
        compile_s=compile_s,
        run_s=run_s,
        us_per_model_step=1e6 * run_s / (steps * batch),
        cpu_us_per_model_step=1e6 * cpu_s / (steps * batch),
        us_per_step=1e6 * run_s / steps,
        forward_us_per_model_eval_dispatch=1e6 * fwd_s / (n_eval * batch),
        final_loss_mean=float(final_loss.mean()),
    )


def bench_jax_logsoftmax(batch: int, dtype: str, steps: int, repeats: int) -> dict:
    """Benchmark-only: the same ELBO by autodiff through log_softmax, batch first, plain optax."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    from toyrd.data import toy_data

    px_np = toy_data().px

    def loss(p, px):
        le = jax.nn.log_softmax(p["enc_logits"], -1)
        ld = jax.nn.log_softmax(p["dec_logits"], -1)
        lm = jax.nn.log_softmax(p["mar_logits"], -1)
        pe = px[:, None] * jnp.exp(le)
        return jnp.sum(pe * (le - lm[None, :] - ld.T))

    def run(params, px):
        opt = optax.adam(optax.cosine_decay_schedule(0.05, steps, 0.01))
        g = jax.grad(lambda p: jax.vmap(loss, in_axes=(0, None))(p, px).sum())

        def step(c, _):
            p, s = c
            u, s = opt.update(g(p), s, p)
            return (optax.apply_updates(p, u), s), None

        (p, _), _ = lax.scan(step, (params, opt.init(params)), None, length=steps)
        return p

    with jax.enable_x64(True):
        dt = jnp.dtype(dtype)
        args = ({k: jnp.asarray(v, dt) for k, v in _params(batch).items()}, jnp.asarray(px_np, dt))
        compiled = jax.jit(run).lower(*args).compile()
        jax.block_until_ready(compiled(*args))
        run_s = _best(lambda: jax.block_until_ready(compiled(*args)), repeats)
    return dict(
        batch=batch,
        dtype=dtype,
        steps=steps,
        run_s=run_s,
        us_per_model_step=1e6 * run_s / (steps * batch),
        cpu_us_per_model_step=1e6 * _LAST_CPU[0] / (steps * batch),
    )


def bench_torch(batch: int, dtype: str, steps: int, repeats: int) -> dict:
    import torch

    from toyrd import _formulas as F
    from toyrd.data import toy_data
    from toyrd.tables import tabular

    torch.set_num_threads(1)  # tiny ops: extra intra-op threads only add overhead
    dt = getattr(torch, dtype)
    px = torch.as_tensor(toy_data().px, dtype=dt)
    p0 = {k: torch.as_tensor(v, dtype=dt) for k, v in _params(batch).items()}

    def batched(e, d, m):  # the formula of F.rate_distortion, broadcast over the batch axis
        pe = px[None, :, None] * e
        r = F.xlogy(pe, e).sum() - F.xlogy(pe, m[:, None, :]).sum()
        return r - F.xlogy(pe, d.transpose(1, 2)).sum()

    def go():
        params = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
        opt = torch.optim.Adam(list(params.values()), lr=0.05)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            enc, dec, mar = tabular.tables(params, 30)
            loss = batched(enc, dec, mar)
            loss.backward()
            opt.step()
        return float(loss.detach()) / batch

    go_s = _best(go, repeats)
    return dict(
        batch=batch,
        dtype=dtype,
        steps=steps,
        run_s=go_s,
        threads=torch.get_num_threads(),
        us_per_model_step=1e6 * go_s / (steps * batch),
        cpu_us_per_model_step=1e6 * _LAST_CPU[0] / (steps * batch),
    )


def run(quick: bool = False) -> dict:
    import jax

    steps = 200 if quick else 2000
    torch_steps = 20 if quick else 200
    repeats = 1 if quick else 3
    batches = (1, 16) if quick else BATCHES
    out = {
        "unit": "microseconds per model-step (one Adam update of one 30x30 tabular model)",
        "goal_us_per_model_step_at_64_float64": 2.0,
        "steps": steps,
        "torch_steps": torch_steps,
        "repeats": repeats,
        "jax": [],
        "jax_generic": [],
        "jax_logsoftmax": [],
        "torch": [],
        "jax_version": jax.__version__,
        "cpu_count": os.cpu_count(),
    }
    try:
        out["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    for dtype in DTYPES:
        for b in batches:
            out["jax"].append(bench_jax(b, dtype, steps, repeats))
            out["jax_logsoftmax"].append(bench_jax_logsoftmax(b, dtype, steps, repeats))
            out["torch"].append(bench_torch(b, dtype, torch_steps, repeats))
            print(
                f"{dtype} B={b}: jax {out['jax'][-1]['us_per_model_step']:.2f} µs "
                f"(cpu {out['jax'][-1]['cpu_us_per_model_step']:.2f}), "
                f"logsoftmax {out['jax_logsoftmax'][-1]['us_per_model_step']:.2f} µs, "
                f"torch {out['torch'][-1]['us_per_model_step']:.2f} µs",
                file=sys.stderr,
                flush=True,
            )
    for b in batches[-1:] if quick else (64, 256):
        out["jax_generic"].append(bench_jax(b, "float64", steps, repeats, path="generic"))
    out["progress"] = bench_progress(64, steps, repeats)
    out["primitives"] = bench_primitives(100 if quick else 1000)
    at64 = [r for r in out["jax"] if r["batch"] == 64 and r["dtype"] == "float64"]
    if at64:
        out["us_per_model_step_at_64_float64"] = at64[0]["us_per_model_step"]
        out["goal_met"] = at64[0]["us_per_model_step"] <= 2.0
    prim = out["primitives"]
    out["exp_adam_cpu_us_per_model_step_float64"] = prim.get(
        "float64_exp_adam_cpu_us_per_model_step"
    )
    try:
        out["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    result = run(quick=a.quick)
    text = json.dumps(result, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)
