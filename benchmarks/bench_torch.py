"""toyrd's PyTorch trainer (:mod:`toyrd.train.torch`): cost per step, gradient noise and bias of
each estimator against the exact gradient, and where training runs land against the exact trainer.

Cases (float64 throughout; ``torch.set_num_threads(1)`` is set here — for 30×30 tables one
thread is fastest and it keeps the numbers stable on a shared machine):

* ``step_time``: seconds per training step of :func:`toyrd.train.torch.train` for every estimator at
  batch sizes 1, 64 and 1024 (tabular and bump; the toy). Measured as the difference of two run
  lengths, so the fixed cost (model build, the stride evaluations) cancels. REINFORCE uses the
  leave-one-out baseline, or the EMA baseline at batch size 1.
* ``gradients``: at fixed parameters (the toy, init seed 0), N minibatch gradients of each
  estimator against the exact gradient ∇L (autograd of the exact ELBO loss): total variance
  E‖ĝ − Eĝ‖², squared bias ‖Eĝ − ∇L‖² (unbiased estimate ± a group-based standard error),
  MSE = E‖ĝ − ∇L‖², and the relative RMSE √MSE/‖∇L‖; Gumbel-softmax over a temperature grid.
* ``landing``: final exact R, D and loss of minibatch runs (each estimator, B = 64) and of the
  exact-gradient JAX trainer (:func:`toyrd.train.jax.train`, same init, Adam, cosine lr, no
  warm-up) for the ELBO and the target rate σ = 0.5, over seeds.

Run alone: ``python -m benchmarks.bench_torch [--quick]`` prints the JSON.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks import seed

ESTIMATORS = ("enumerate", "reinforce", "gumbel", "gumbel-st")
TEMPERATURES = (0.1, 0.3, 0.5, 1.0, 2.0, 5.0)


def _baseline(estimator, batch):
    return "ema" if (estimator == "reinforce" and batch == 1) else "loo"


def step_time(quick: bool) -> list:
    from toyrd.train.torch import train

    s1, s2 = (10, 40) if quick else (100, 400)
    rows = []
    for family in ("tabular", "bump"):
        cases = [("exact", 0)] + [(e, b) for e in ESTIMATORS for b in (1, 64, 1024)]
        for est, batch in cases:

            def run(steps):
                t0 = time.perf_counter()
                train(
                    family=family,
                    estimator=est,
                    batch_size=max(batch, 1),
                    steps=steps,
                    history_stride=10**9,
                    baseline=_baseline(est, batch),
                    seed=seed(),
                )
                return time.perf_counter() - t0

            run(2)  # warm-up (lazy imports)
            t1 = min(run(s1) for _ in range(2))
            t2 = min(run(s2) for _ in range(2))
            per = (t2 - t1) / (s2 - s1)
            rows.append(
                {
                    "family": family,
                    "estimator": est,
                    "batch_size": batch or None,
                    "step_ms": per * 1e3,
                    "examples_per_s": (batch / per) if batch else None,
                }
            )
    return rows


def _stats_row(stats, **extra) -> dict:
    rmse = float(np.sqrt(max(stats.mse, 0.0)))
    return {
        **extra,
        "n": stats.n,
        "batch_size": stats.batch_size,
        "variance": stats.variance,
        "bias_sq": stats.bias_sq,
        "bias_sq_se": stats.bias_sq_se,
        "mse": stats.mse,
        "exact_norm": stats.exact_norm,
        "relative_rmse": rmse / stats.exact_norm,
        "relative_bias": float(np.sqrt(max(stats.bias_sq, 0.0))) / stats.exact_norm,
    }


def gradients(quick: bool) -> dict:
    import toyrd
    import toyrd.tables as fam
    from toyrd.train.torch import exact_gradient, gradient_samples, gradient_stats, gumbel_bias

    toy = toyrd.toy_data()
    n1, n64 = (300, 40) if quick else (4000, 500)
    out = {"estimators": [], "gumbel": []}
    for family in ("tabular", "bump"):
        params = fam.get_family(family).init(seed(), 30, 30, 1.0)
        g = exact_gradient(params, toy.px, family=family)
        for est in ESTIMATORS:
            for batch, n in ((1, n1), (64, n64)):
                s = gradient_samples(
                    params,
                    toy.px,
                    est,
                    n=n,
                    batch_size=batch,
                    seed=seed() + 1,
                    family=family,
                    baseline=_baseline(est, batch),
                    temperature=1.0,
                )
                out["estimators"].append(
                    _stats_row(
                        gradient_stats(s, g, batch),
                        family=family,
                        estimator=est,
                        temperature=1.0 if est.startswith("gumbel") else None,
                        baseline=_baseline(est, batch) if est == "reinforce" else None,
                    )
                )
        for st in (False, True):
            res = gumbel_bias(
                params,
                toy.px,
                TEMPERATURES,
                straight_through=st,
                n=n1,
                seed=seed() + 2,
                family=family,
            )
            for tau, stats in res.items():
                out["gumbel"].append(
                    _stats_row(
                        stats,
                        family=family,
                        estimator="gumbel-st" if st else "gumbel",
                        temperature=tau,
                    )
                )
    return out


def landing(quick: bool) -> dict:
    import toyrd
    import toyrd.train.jax as tj
    from toyrd.objectives import make_objective
    from toyrd.train.torch import train

    steps, n_seeds, lr, batch = (200, 2, 0.05, 64) if quick else (1000, 4, 0.05, 64)
    seeds = [seed() + i for i in range(n_seeds)]
    H = toyrd.toy_data().entropy
    out = {
        "steps": steps,
        "lr": lr,
        "batch_size": batch,
        "schedule": "cosine",
        "seeds": seeds,
        "family": "tabular",
        "H": H,
        "runs": [],
    }
    for objective, value in (("elbo", None), ("target_rate", 0.5)):
        obj = make_objective(objective, value)
        ref = tj.train(
            objective,
            seeds=seeds,
            hyper=value,
            init_scale=1.0,
            steps=steps,
            lr=lr,
            schedule="cosine",
            b1=0.9,
            warmup=0,
            progress=False,
        ).evaluate()
        for s, q in zip(seeds, ref):
            out["runs"].append(
                {
                    "objective": objective,
                    "value": value,
                    "trainer": "jax-exact",
                    "seed": s,
                    "R": q["R"],
                    "D": q["D"],
                    "loss": float(obj(q["R"], q["D"])),
                    "gap": q["R"] + q["D"] - H,
                }
            )
        for est in ESTIMATORS:
            for s in seeds:
                t0 = time.perf_counter()
                f = train(
                    objective=objective,
                    hyper=value,
                    estimator=est,
                    seed=s,
                    steps=steps,
                    lr=lr,
                    schedule="cosine",
                    batch_size=batch,
                    history_stride=steps,
                    temperature=0.5 if est.startswith("gumbel") else 1.0,
                ).final
                out["runs"].append(
                    {
                        "objective": objective,
                        "value": value,
                        "trainer": f"torch-{est}",
                        "seed": s,
                        "R": f["R"],
                        "D": f["D"],
                        "loss": f["loss"],
                        "gap": f["R"] + f["D"] - H,
                        "wall_s": time.perf_counter() - t0,
                    }
                )
    summary = []
    for objective in ("elbo", "target_rate"):
        ref = {
            r["seed"]: r
            for r in out["runs"]
            if r["objective"] == objective and r["trainer"] == "jax-exact"
        }
        for est in ESTIMATORS:
            rows = [
                r
                for r in out["runs"]
                if r["objective"] == objective and r["trainer"] == f"torch-{est}"
            ]
            dr = [r["R"] - ref[r["seed"]]["R"] for r in rows]
            dl = [r["loss"] - ref[r["seed"]]["loss"] for r in rows]
            summary.append(
                {
                    "objective": objective,
                    "estimator": est,
                    "R_torch_mean": float(np.mean([r["R"] for r in rows])),
                    "R_exact_mean": float(np.mean([ref[s]["R"] for s in ref])),
                    "dR_mean": float(np.mean(dr)),
                    "dR_absmax": float(np.max(np.abs(dr))),
                    "dloss_mean": float(np.mean(dl)),
                    "dloss_max": float(np.max(dl)),
                }
            )
    out["summary"] = summary
    return out


def run(quick: bool = False) -> dict:
    import torch

    torch.set_num_threads(1)
    return {
        "threads": 1,
        "dtype": "float64",
        "step_time": step_time(quick),
        "gradients": gradients(quick),
        "landing": landing(quick),
    }


if __name__ == "__main__":  # pragma: no cover
    from toyrd.cli import dumps

    print(dumps(run(quick="--quick" in sys.argv), indent=1))
