"""Exact evaluation throughput: every quantity of 30×30 models, one at a time and in batches.

Cases (all float64, random tables of the toy's size, toy p* and p(z*, x), so I_zstar included):

* ``single``: ``toyrd.evaluate`` on one model (validation + 14 quantities), and the same
  quantities without validation (the per-model function the numpy batch loop runs);
* ``batch``: ``toyrd.quantities.evaluate_batch`` for B models on the numpy loop and on JAX
  (jit + vmap): steady seconds per call, models per second, and the first-call (compile)
  seconds at each padded size; the crossover B where JAX overtakes the loop.

Run alone: ``python -m benchmarks.bench_eval [--quick]`` prints the JSON.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks import measure, seed


def _stack(rng, *shape):
    t = rng.random(shape)
    return t / t.sum(-1, keepdims=True)


def _models(b: int, n: int = 30):
    rng = np.random.default_rng(seed())
    return _stack(rng, b, n, n), _stack(rng, b, n, n), _stack(rng, b, n)


def _floor(tb, px, pzx, quick: bool) -> dict:
    """Costly elementwise ops per model in the compiled batch program (B = 64), priced at their
    measured ns per element: a lower bound on the JAX time per model."""
    import jax

    from benchmarks.bench_scaling import COSTLY_OPS, _ns_per_element, hlo_op_elements

    b = 64
    enc, dec, mar = _models(b)
    with jax.enable_x64(True):
        text = tb.batch_program(True).lower(px, enc, dec, mar, px, pzx).compile().as_text()
        ns = _ns_per_element("float64", quick)
    per_model = {k: v / b for k, v in hlo_op_elements(text).items()}
    return {
        "B": b,
        "elements_per_model": per_model,
        "ns_per_element": ns,
        "floor_us_per_model": sum(per_model[k] * ns[k] for k in COSTLY_OPS) / 1e3,
    }


def run(quick: bool = False) -> dict:
    import toyrd
    from toyrd import quantities as tb

    toy = toyrd.toy_data()
    px, pzx = toy.px, toy.pzx
    repeat = 3 if quick else 7
    min_time = 0.02 if quick else 0.2

    enc, dec, mar = _models(1)
    single = measure(
        lambda: toyrd.evaluate(px, enc[0], dec[0], mar[0], pzx=pzx),
        repeat=repeat,
        min_time=min_time,
    )
    raw = measure(
        lambda: tb.unvalidated_quantities(px, enc[0], dec[0], mar[0], px, pzx),
        repeat=repeat,
        min_time=min_time,
    )
    out = {
        "n_x": 30,
        "n_z": 30,
        "dtype": "float64",
        "single": {
            "evaluate_us": 1e6 * single["median_s"],
            "evaluate_min_us": 1e6 * single["min_s"],
            "unvalidated_us": 1e6 * raw["median_s"],
            "unvalidated_min_us": 1e6 * raw["min_s"],
            "models_per_s": 1.0 / single["median_s"],
            "evaluate_cpu_us": 1e6 * single["cpu_median_s"],
            "unvalidated_cpu_us": 1e6 * raw["cpu_median_s"],
        },
        "batch": [],
    }

    sizes = [1, 8] if quick else [1, 4, 16, 64, 256, 1024, 4096]
    numpy_max = 64 if quick else 1024  # the loop is linear in B; larger sizes only cost time
    for b in sizes:
        enc, dec, mar = _models(b)
        row = {"B": b, "padded_B": tb.padded_size(b)}
        t0 = time.perf_counter()
        tb.evaluate_batch(px, enc, dec, mar, pzx, backend="jax")
        row["jax_first_call_s"] = time.perf_counter() - t0  # compile (once per padded size) + run
        m = measure(
            lambda: tb.evaluate_batch(px, enc, dec, mar, pzx, backend="jax"),
            repeat=repeat,
            min_time=min_time,
        )
        row["jax_s"], row["jax_min_s"] = m["median_s"], m["min_s"]
        row["jax_models_per_s"] = b / m["median_s"]
        row["jax_cpu_s"] = m["cpu_median_s"]
        if b <= numpy_max:
            m = measure(
                lambda: tb.evaluate_batch(px, enc, dec, mar, pzx, backend="numpy"),
                repeat=repeat,
                min_time=min_time,
            )
            row["numpy_s"], row["numpy_min_s"] = m["median_s"], m["min_s"]
            row["numpy_models_per_s"] = b / m["median_s"]
            row["numpy_cpu_s"] = m["cpu_median_s"]
            row["jax_speedup"] = m["median_s"] / row["jax_s"]
        out["batch"].append(row)

    out["floor"] = _floor(tb, px, pzx, quick)
    faster = [r["B"] for r in out["batch"] if r.get("jax_speedup", 0) > 1]
    out["jax_faster_from_B"] = min(faster) if faster else None
    out["auto_numpy_max_B"] = tb.NUMPY_MAX_B
    return out


if __name__ == "__main__":
    from toyrd.cli import dumps

    print(dumps(run(quick="--quick" in sys.argv), indent=1))
