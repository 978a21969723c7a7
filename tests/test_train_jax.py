"""The JAX trainer: exact history, the bound closes, target rate, β ordering, vmap = loop,
float32, determinism and input errors. Runs are small; compiled runs are shared via fixtures."""

import numpy as np
import pytest

import toyrd
from toyrd import train_jax as tj

#: float64 identity tolerance (sums of ~900 terms of size ~1).
IDENTITY_TOL = 1e-12
#: The ELBO trainer must close the bound to this (issue 3): R + D − H < 1e-6.
BOUND_TOL = 1e-6
H = toyrd.toy_data().entropy


@pytest.fixture(scope="module")
def elbo_run():
    """ELBO from random inits (init scale 1, no generative warm-up: nothing starts optimal)."""
    return tj.train("elbo", seeds=range(4), init_scale=1.0, steps=2000, lr=0.05, warmup=0,
                    history_stride=100, progress=False)


def test_elbo_closes_the_bound_from_random_inits(elbo_run):
    q = elbo_run.table()
    gap0 = elbo_run.history["R"][:, 0] + elbo_run.history["D"][:, 0] - H
    assert np.all(gap0 > 0.5)  # far from the bound at the start
    assert np.all(q["R"] + q["D"] - H < BOUND_TOL) and np.all(q["R"] + q["D"] - H > -IDENTITY_TOL)
    assert np.all(q["kl_pstar_g"] < BOUND_TOL)  # and g = p*
    assert np.all(q["kl_q_m"] < BOUND_TOL)  # m = q
    assert np.all(q["R"] > 0.05)  # from scale-1 inits the runs keep a rate (not all collapse)


def test_history_is_exact_and_shaped(elbo_run):
    h = elbo_run.history
    assert np.array_equal(h["step"], np.arange(0, 2001, 100))
    assert h["R"].shape == h["D"].shape == h["loss"].shape == (4, 21)
    np.testing.assert_allclose(h["loss"], h["R"] + h["D"], rtol=0, atol=IDENTITY_TOL)
    # step 0 is the exact loss of the seeded initial tables
    fam = toyrd.families.tabular
    for i, c in enumerate(elbo_run.configs):
        e, d, m = fam.tables(fam.init(c["seed"], 30, 30, c["init_scale"]), 30)
        q = toyrd.evaluate(elbo_run.px, e, d, m)
        assert abs(h["R"][i, 0] - q["R"]) < IDENTITY_TOL and abs(h["D"][i, 0] - q["D"]) < IDENTITY_TOL
        # the last entry is the exact value of the returned tables
        qf = toyrd.evaluate(elbo_run.px, elbo_run.encoder[i], elbo_run.decoder[i], elbo_run.marginal[i])
        assert abs(h["R"][i, -1] - qf["R"]) < IDENTITY_TOL and abs(h["D"][i, -1] - qf["D"]) < IDENTITY_TOL
    assert [c["seed"] for c in elbo_run.configs] == [0, 1, 2, 3]
    assert elbo_run.encoder.dtype == np.float64 and elbo_run.encoder.shape == (4, 30, 30)
    assert elbo_run.decoder.shape == (4, 30, 30) and elbo_run.marginal.shape == (4, 30)
    assert "I_zstar" in elbo_run.evaluate()[0]


def test_rerun_is_bitwise_identical_and_rows_are_independent(elbo_run):
    again = tj.train("elbo", seeds=range(4), init_scale=1.0, steps=2000, lr=0.05, warmup=0,
                     history_stride=100, progress=False)
    assert np.array_equal(again.encoder, elbo_run.encoder)
    assert np.array_equal(again.history["loss"], elbo_run.history["loss"])
    # a row trained alone equals the same row of the batch (vmap changes nothing)
    alone = tj.train("elbo", seeds=(2,), init_scale=1.0, steps=2000, lr=0.05, warmup=0,
                     history_stride=100, progress=False)
    np.testing.assert_allclose(alone.history["R"][0], elbo_run.history["R"][2], rtol=0, atol=1e-10)
    np.testing.assert_allclose(alone.encoder[0], elbo_run.encoder[2], rtol=0, atol=1e-10)


def test_target_rate_defaults_end_near_sigma():
    """The figure helper's call (defaults): starts below σ = 0.5, ends within 0.03 nats of it,
    on the bound (warm-up fits m and d first, so R + D = H up to rounding)."""
    res = tj.train("target_rate", hyper=0.5, seeds=range(4), progress=False)
    q = res.table()
    assert np.all(res.history["R"][:, 0] < 0.5)
    assert np.all(np.abs(q["R"] - 0.5) < 0.03)
    assert np.all(np.abs(q["R"] + q["D"] - H) < BOUND_TOL)
    assert np.all(q["kl_pstar_g"] < BOUND_TOL)


def test_beta_sweep_rate_non_increasing_in_beta():
    betas = [0.3, 0.7, 1.0, 1.5, 3.0]
    res = tj.train("beta", hyper=betas, seeds=range(2), init_scale=1.0, steps=1000, lr=0.05,
                   warmup=0, progress=False)
    r = res.table()["R"].reshape(len(betas), 2)  # rows: hyper-major, then seed
    assert [c["hyper"] for c in res.configs[::2]] == betas
    assert np.all(np.diff(r, axis=0) <= 0), r
    assert np.all(r[-1] < 0.05) and np.all(r[0] > 2.0)  # β > 1 collapses, β < 1 codes ~all of H


def test_float32_gives_valid_float64_tables_close_to_float64():
    kw = dict(seeds=(0,), hyper=0.7, init_scale=1.0, steps=200, lr=0.05, warmup=0, progress=True)
    r32 = tj.train("rda", dtype="float32", **kw)
    r64 = tj.train("rda", dtype="float64", **kw)
    assert r32.encoder.dtype == np.float64
    q32, q64 = r32.evaluate()[0], r64.evaluate()[0]  # validation passes: rows sum to 1 ± 1e-10
    assert abs(q32["R"] - q64["R"]) < 1e-3 and abs(q32["D"] - q64["D"]) < 1e-3
    assert r32.configs[0]["dtype"] == "float32"


@pytest.mark.parametrize("kw,msg", [
    (dict(objective="nope"), "is not one of"), (dict(steps=0), "steps: 0 must be >= 1"),
    (dict(steps=10, history_stride=3), "must be >= 1 and divide steps"),
    (dict(dtype="float16"), "dtype"), (dict(lr=-1.0), "lr"), (dict(seeds=(-1,)), "seeds"),
    (dict(init_scale=-0.5), "init_scale"), (dict(objective="target_rate"), "needs its hyperparameter"),
    (dict(family="nope"), "family"), (dict(px=[0.5, 0.6]), "px: sums to"), (dict(warmup=-1), "warmup")])
def test_bad_input_raises(kw, msg):
    kw = {"objective": "elbo", "progress": False, **kw}
    with pytest.raises(toyrd.ToyrdError, match=msg):
        tj.train(kw.pop("objective"), **kw)
