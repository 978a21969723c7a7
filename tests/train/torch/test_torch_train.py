"""PyTorch training runs land where the exact-gradient JAX trainer lands (toyrd.train.jax).

Setup (both trainers): the toy, tabular family, init scale 1, Adam (b1 = 0.9) with a cosine
learning rate from LR to LR·0.01 over STEPS steps, no warm-up, seeds 0..N_SEEDS−1.

* With ``estimator="exact"`` the torch loop is the same algorithm as the JAX trainer in float64,
  so the final R and D agree to float64 rounding amplified over the run (JAX_TOL).
* With minibatches (B = 64 draws of x, exact sum over z) the run is noisy. Both objectives have a
  flat valley of optima on the toy's tabular family — every encoder with optimal m, d has
  R + D = H, so the ELBO loss is H everywhere on it, and D + |σ − R| = H − σ for every R ≥ σ — so
  the final R is not identified by the objective and the two trainers stop at different points of
  the valley (the benchmark reports how far apart). What the objective does identify is asserted,
  per seed and for the mean over seeds, within LOSS_TOL: the final exact loss, the bound gap
  R + D − H, and for the target rate R ≥ σ. Measured (3 seeds, both objectives): loss differences
  0.00085–0.00154, gaps 0.00093–0.00162, R 0.594–0.620 for σ = 0.5; LOSS_TOL = 0.003 is ~2× the
  worst (was 0.01 = 0.3 % of H).
* The exact trainer (JAX here; torch ``exact`` equals it to JAX_TOL) after STEPS = 600 steps from
  init scale 1 without warm-up sits EXACT_GAP_TOL from the bound: measured R + D − H =
  7.5e-5–1.6e-4 (the JAX tests' 1e-6 needs 2,000 steps with the warm-up). Was LOSS_TOL = 0.01.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("jax")

import toyrd  # noqa: E402
from toyrd.train.torch import train  # noqa: E402

STEPS, LR, N_SEEDS, BATCH = 600, 0.05, 3, 64
SIGMA = 0.5
JAX_TOL = 1e-9
LOSS_TOL = 0.003
EXACT_GAP_TOL = 3e-4
OBJECTIVES = {"elbo": None, "target_rate": SIGMA}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def jax_runs():
    import toyrd.train.jax as tj

    out = {}
    for objective, value in OBJECTIVES.items():
        res = tj.train(
            objective,
            family="tabular",
            seeds=range(N_SEEDS),
            hyper=value,
            init_scale=1.0,
            steps=STEPS,
            lr=LR,
            schedule="cosine",
            b1=0.9,
            warmup=0,
            progress=False,
        )
        rows = res.evaluate()
        for q in rows:
            q["loss"] = float(toyrd.objectives.make_objective(objective, value)(q["R"], q["D"]))
        out[objective] = rows
    return out


def _torch(objective, seed, estimator):
    return train(
        objective=objective,
        hyper=OBJECTIVES[objective],
        estimator=estimator,
        seed=seed,
        steps=STEPS,
        lr=LR,
        schedule="cosine",
        batch_size=BATCH,
        history_stride=STEPS,
    ).final


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_torch_exact_gradient_trainer_is_the_jax_trainer(jax_runs, objective):
    got = _torch(objective, 0, "exact")
    ref = jax_runs[objective][0]
    for k in ("R", "D", "loss"):
        assert abs(got[k] - ref[k]) <= JAX_TOL, (k, got[k], ref[k])
    H = toyrd.toy_data().entropy
    assert 0 < got["R"] + got["D"] - H <= EXACT_GAP_TOL


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_minibatch_run_lands_where_the_exact_trainer_lands(jax_runs, objective):
    H = toyrd.toy_data().entropy
    mine = [_torch(objective, s, "enumerate") for s in range(N_SEEDS)]
    ref = jax_runs[objective]
    for q, r in zip(mine, ref):
        assert abs(q["loss"] - r["loss"]) <= LOSS_TOL
        assert q["R"] + q["D"] - H <= LOSS_TOL
        if objective == "target_rate":
            assert q["R"] >= SIGMA
    assert abs(np.mean([q["loss"] for q in mine]) - np.mean([r["loss"] for r in ref])) <= LOSS_TOL
    # the exact trainer itself sits on the valley (the identities the comparison relies on)
    for r in ref:
        assert 0 < r["R"] + r["D"] - H <= EXACT_GAP_TOL


def test_mixed_precision_is_refused_by_the_torch_trainer():
    """dtype="mixed" is the JAX trainer's schedule; the PyTorch trainer says so in one line."""
    import toyrd
    from toyrd.train.torch import train

    with pytest.raises(toyrd.ToyrdError, match="dtype: 'mixed' is a JAX-trainer precision"):
        train(dtype="mixed", steps=1000)
