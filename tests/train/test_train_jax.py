"""The JAX trainer: exact history, the bound closes, target rate, β ordering, vmap = loop,
float32, determinism and input errors. Runs are small; compiled runs are shared via fixtures."""

import numpy as np
import pytest

import toyrd
from toyrd.testing import IDENTITY_TOL
from toyrd.train import jax as tj

pytest.importorskip("jax")  # the JAX trainer (the `jax` extra)

#: The settings the tolerances below were measured with — the trainer's defaults until issue 28
#: made the Figure 2 settings toyrd's one set of defaults: tabular family, init scale 0.3, 2000
#: steps after 300 warm-up steps. Passed explicitly, so these tests do not move with the defaults.
MEASURED = dict(family="tabular", init_scale=0.3, steps=2000, warmup=300)

#: float64 identity tolerance (sums of ~900 terms of size ~1).
BOUND_TOL = 1e-6
#: Target rate with the MEASURED settings: R − σ in (0, OVERSHOOT_MAX]. Adam overshoots σ = 0.5
#: and nothing pulls R back (the loss is flat for R > σ on R + D = H); measured on seeds 0–3:
#: R = 0.5080, 0.5164, 0.5218, 0.5182 (overshoot 0.008–0.022). 0.025 leaves 0.003 above the worst
#: seed. (Was |R − σ| < 0.03.)
OVERSHOOT_MAX = 0.025
#: Appendix C: G − E of trained β-VAEs is larger at β far from 1 than at β = 1 by at least this
#: factor. Measured (2 seeds, defaults): tabular β = 1: 2.6e-10–3.9e-10, β = 0.3: 5.6e-4–6.0e-4,
#: β = 3: 5.0e-8–2.3e-7; bump β = 1: 7.3e-5–1.1e-4, β = 0.3: 0.014, β = 3: 0.105. The smallest
#: ratio is 130 (tabular β = 3); 10 leaves an order of magnitude.
LOOSEN_FACTOR = 10.0
H = toyrd.toy_data().entropy


@pytest.fixture(scope="module")
def elbo_run():
    """ELBO from random inits (init scale 1, no generative warm-up: nothing starts optimal)."""
    return tj.train(
        "elbo",
        family="tabular",
        seeds=range(4),
        init_scale=1.0,
        steps=2000,
        lr=0.05,
        warmup=0,
        history_stride=100,
        progress=False,
    )


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
    fam = toyrd.tables.tabular
    for i, c in enumerate(elbo_run.configs):
        e, d, m = fam.tables(fam.init(c["seed"], 30, 30, c["init_scale"]), 30)
        q = toyrd.evaluate(elbo_run.px, e, d, m)
        assert (
            abs(h["R"][i, 0] - q["R"]) < IDENTITY_TOL and abs(h["D"][i, 0] - q["D"]) < IDENTITY_TOL
        )
        # the last entry is the exact value of the returned tables
        qf = toyrd.evaluate(
            elbo_run.px, elbo_run.encoder[i], elbo_run.decoder[i], elbo_run.marginal[i]
        )
        assert (
            abs(h["R"][i, -1] - qf["R"]) < IDENTITY_TOL
            and abs(h["D"][i, -1] - qf["D"]) < IDENTITY_TOL
        )
    assert [c["seed"] for c in elbo_run.configs] == [0, 1, 2, 3]
    assert elbo_run.encoder.dtype == np.float64 and elbo_run.encoder.shape == (4, 30, 30)
    assert elbo_run.decoder.shape == (4, 30, 30) and elbo_run.marginal.shape == (4, 30)
    assert "I_zstar" in elbo_run.evaluate()[0]


def test_rerun_is_bitwise_identical_and_rows_are_independent(elbo_run):
    again = tj.train(
        "elbo",
        family="tabular",
        seeds=range(4),
        init_scale=1.0,
        steps=2000,
        lr=0.05,
        warmup=0,
        history_stride=100,
        progress=False,
    )
    assert np.array_equal(again.encoder, elbo_run.encoder)
    assert np.array_equal(again.history["loss"], elbo_run.history["loss"])
    # a row trained alone equals the same row of the batch (vmap changes nothing)
    alone = tj.train(
        "elbo",
        family="tabular",
        seeds=(2,),
        init_scale=1.0,
        steps=2000,
        lr=0.05,
        warmup=0,
        history_stride=100,
        progress=False,
    )
    np.testing.assert_allclose(alone.history["R"][0], elbo_run.history["R"][2], rtol=0, atol=1e-10)
    np.testing.assert_allclose(alone.encoder[0], elbo_run.encoder[2], rtol=0, atol=1e-10)


def test_target_rate_defaults_end_near_sigma():
    """With the MEASURED settings: starts below σ = 0.5, ends just above it (by at most
    OVERSHOOT_MAX), on the bound (warm-up fits m and d first, so R + D = H up to rounding)."""
    res = tj.train("target_rate", hyper=0.5, seeds=range(4), progress=False, **MEASURED)
    q = res.table()
    assert np.all(res.history["R"][:, 0] < 0.5)
    assert np.all((q["R"] - 0.5 > 0) & (q["R"] - 0.5 <= OVERSHOOT_MAX)), q["R"]
    assert np.all(np.abs(q["R"] + q["D"] - H) < BOUND_TOL)
    assert np.all(q["kl_pstar_g"] < BOUND_TOL)


def test_beta_sweep_rate_non_increasing_in_beta():
    betas = [0.3, 0.7, 1.0, 1.5, 3.0]
    res = tj.train(
        "beta",
        hyper=betas,
        family="tabular",
        seeds=range(2),
        init_scale=1.0,
        steps=1000,
        lr=0.05,
        warmup=0,
        progress=False,
    )
    r = res.table()["R"].reshape(len(betas), 2)  # rows: hyper-major, then seed
    assert [c["hyper"] for c in res.configs[::2]] == betas
    assert np.all(np.diff(r, axis=0) <= 0), r
    assert np.all(r[-1] < 0.05) and np.all(r[0] > 2.0)  # β > 1 collapses, β < 1 codes ~all of H


@pytest.mark.parametrize("family", ["tabular", "bump"])
def test_generative_bounds_loosen_away_from_beta_one(family):
    """Appendix C: "models trained with the β-VAE objective [tend] to have loose bounds on the
    generative mutual information when β varies away from 1" — G − E (≥ 0, eq. 11) of trained
    β-VAEs at β = 0.3 and β = 3 exceeds its value at β = 1 by LOOSEN_FACTOR, seed by seed."""
    betas = [0.3, 1.0, 3.0]
    kw = {**MEASURED, "family": family}
    res = tj.train("beta", hyper=betas, seeds=range(2), progress=False, **kw)
    q = res.table()
    gap = (q["G"] - q["E"]).reshape(len(betas), 2)  # rows: hyper-major, then seed
    assert np.all(gap > -IDENTITY_TOL)
    at_one = gap[1].max()
    assert np.all(gap[0] > LOOSEN_FACTOR * at_one) and np.all(gap[2] > LOOSEN_FACTOR * at_one), gap


def test_float32_gives_valid_float64_tables_close_to_float64():
    kw = dict(seeds=(0,), hyper=0.7, init_scale=1.0, steps=200, lr=0.05, warmup=0, progress=True)
    kw["family"] = "tabular"
    r32 = tj.train("rda", dtype="float32", **kw)
    r64 = tj.train("rda", dtype="float64", **kw)
    assert r32.encoder.dtype == np.float64
    q32, q64 = r32.evaluate()[0], r64.evaluate()[0]  # validation passes: rows sum to 1 ± 1e-10
    assert abs(q32["R"] - q64["R"]) < 1e-3 and abs(q32["D"] - q64["D"]) < 1e-3
    assert r32.configs[0]["dtype"] == "float32"


#: dtype="mixed" ELBO runs must end on the bound as tightly as issue 15's bar (R + D − H <= 1e-9,
#: what a float64 run of the default 2000 steps reaches; the float64 finish with a fresh Adam
#: gets ~1e-15).
MIXED_GAP_TOL = 1e-9


def test_mixed_precision_ends_on_the_bound_with_a_float64_history():
    res = tj.train("elbo", seeds=range(3), dtype="mixed", progress=False, **MEASURED)
    q = res.table()
    gap = q["R"] + q["D"] - H
    assert np.all(gap < MIXED_GAP_TOL) and np.all(gap > -IDENTITY_TOL)
    assert res.history["R"].dtype == np.float64 and res.history["R"].shape == (3, 101)
    assert res.configs[0]["dtype"] == "mixed" and res.configs[0]["f64_steps"] == 60
    # the last history entry is the exact value of the returned float64 tables
    np.testing.assert_allclose(res.history["R"][:, -1], q["R"], rtol=0, atol=IDENTITY_TOL)


def test_mixed_float64_phase_is_float64():
    """The last f64_steps run in float64: a mixed run whose float64 phase is the whole run
    equals the pure float64 run bit for bit (the same program, the same numbers)."""
    kw = dict(seeds=(0,), steps=100, history_stride=10, warmup=0, progress=False)
    kw["family"] = "tabular"
    a = tj.train("elbo", dtype="float64", **kw)
    b = tj.train("elbo", dtype="mixed", f64_steps=100, **kw)
    assert np.array_equal(a.encoder, b.encoder)


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(objective="nope"), "is not one of"),
        (dict(steps=0), "steps: 0, expected an integer >= 1"),
        (dict(steps=10, history_stride=3), "must be >= 1 and divide steps"),
        (dict(dtype="float16"), "dtype"),
        (dict(lr=-1.0), "lr"),
        (dict(seeds=(-1,)), "seeds"),
        (dict(init_scale=-0.5), "init_scale"),
        (dict(objective="target_rate"), "needs its hyperparameter"),
        (dict(family="nope"), "family"),
        (dict(px=[0.5, 0.6]), "px: sums to"),
        (dict(warmup=-1), "warmup"),
        (dict(dtype="mixed", steps=100, f64_steps=0), "f64_steps: 0, dtype='mixed' needs"),
        (dict(dtype="mixed", steps=100, f64_steps=101), "f64_steps: 101"),
        (
            dict(dtype="mixed", steps=100, history_stride=10, f64_steps=15),
            "multiple of history_stride",
        ),
    ],
)
def test_bad_input_raises(kw, msg):
    kw = {"objective": "elbo", "progress": False, **kw}
    with pytest.raises(toyrd.ToyrdError, match=msg):
        tj.train(kw.pop("objective"), **kw)


# ---------------------------------------------------------------------- log domain, fast path

#: Closed-form vs autodiff gradients: the same sums in another order (terms ~1, 900 of them).
GRAD_TOL = 1e-12


def _batch_last_logits(seed, batch=3, steep=False):
    rng = np.random.default_rng(seed)
    a = 2.0 * rng.standard_normal((30, 30, batch))
    b = 2.0 * rng.standard_normal((30, 30, batch))
    c = rng.standard_normal((30, batch))
    if steep:  # logit gaps > 745: softmax entries underflow to exact zeros
        a[:, :, 0] *= 600.0
        b[:, :, 0] *= 600.0
    return a, b, c


@pytest.mark.parametrize("steep", [False, True])
def test_closed_form_gradient_matches_autodiff(steep):
    """rd_batch_last's custom_vjp = autodiff of the log-domain formula on log_softmax tables."""
    import jax
    import jax.numpy as jnp

    from toyrd import _formulas as F
    from toyrd.tables import log_softmax

    toy = toyrd.toy_data()
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        px = jnp.asarray(toy.px)
        a, b, c = (jnp.asarray(v) for v in _batch_last_logits(0, steep=steep))
        wr, wd = jnp.asarray(rng.standard_normal(3)), jnp.asarray(rng.standard_normal(3))
        rd = tj.rd_batch_last()

        def fast(a, b, c):
            r, d = rd(px, a, b, c)
            return (wr * r + wd * d).sum()

        def reference(a, b, c):
            def one(a, b, c):
                return F.rate_distortion_log(px, log_softmax(a), log_softmax(b), log_softmax(c))

            r, d = jax.vmap(one, in_axes=-1)(a, b, c)
            return (wr * r + wd * d).sum()

        assert abs(float(fast(a, b, c) - reference(a, b, c))) < GRAD_TOL * 10
        g_fast = jax.grad(fast, argnums=(0, 1, 2))(a, b, c)
        g_ref = jax.grad(reference, argnums=(0, 1, 2))(a, b, c)
        for gf, gr in zip(g_fast, g_ref):
            gf, gr = np.asarray(gf), np.asarray(gr)
            assert np.all(np.isfinite(gf))
            np.testing.assert_allclose(gf, gr, rtol=0, atol=GRAD_TOL)
        if not steep:  # and against central finite differences (jax.test_util)
            from jax.test_util import check_grads

            check_grads(fast, (a, b, c), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_rd_from_logits_is_batch_first_and_matches_the_evaluator():
    """The public form: logits (..., n_x, n_z), (..., n_z, n_x), (..., n_z) with any leading
    axes → R, D of those axes, equal to toyrd.evaluate on the softmax tables, with the gradient
    of the log-domain formula; mismatched leading axes are refused."""
    import jax
    import jax.numpy as jnp

    from toyrd import _formulas as F
    from toyrd.errors import ToyrdError
    from toyrd.tables import log_softmax

    toy = toyrd.toy_data()
    rng = np.random.default_rng(2)
    a, b, c = (
        rng.normal(size=(2, 3, 30, 30)),
        rng.normal(size=(2, 3, 30, 30)),
        rng.normal(size=(2, 3, 30)),
    )
    with jax.enable_x64(True):
        r, d = tj.rd_from_logits(toy.px, a, b, c)
        assert r.shape == d.shape == (2, 3) and r.dtype == jnp.float64
        for i, j in [(0, 0), (1, 2), (0, 1)]:
            e, dd, m = (np.exp(np.asarray(log_softmax(jnp.asarray(v[i, j])))) for v in (a, b, c))
            out = toyrd.evaluate(toy.px, e, dd, m)
            assert abs(float(r[i, j]) - out["R"]) < IDENTITY_TOL
            assert abs(float(d[i, j]) - out["D"]) < IDENTITY_TOL
        r0, d0 = tj.rd_from_logits(toy.px, a[1, 2], b[1, 2], c[1, 2])  # no batch axis
        assert r0.shape == () and abs(float(r0 - r[1, 2])) < IDENTITY_TOL

        def ref(a, b, c):
            rr, dd = F.rate_distortion_log(
                jnp.asarray(toy.px), log_softmax(a), log_softmax(b), log_softmax(c)
            )
            return rr + 2.0 * dd

        args = (jnp.asarray(a[0, 1]), jnp.asarray(b[0, 1]), jnp.asarray(c[0, 1]))
        g = jax.grad(
            lambda *p: sum(w * v for w, v in zip((1.0, 2.0), tj.rd_from_logits(toy.px, *p))),
            argnums=(0, 1, 2),
        )(*args)
        for gf, gr in zip(g, jax.grad(ref, argnums=(0, 1, 2))(*args)):
            np.testing.assert_allclose(np.asarray(gf), np.asarray(gr), rtol=0, atol=GRAD_TOL)
        with pytest.raises(ToyrdError, match="same leading axes"):
            tj.rd_from_logits(toy.px, a, b[0], c)


def test_fast_path_equals_generic_path():
    """Tabular with logits (batch-last, closed-form gradient) = the same family without logits
    (per-row log_tables, autodiff, batch first): same float64 run up to rounding."""
    from toyrd.tables import Family, tabular

    generic = Family("tabular-generic", tabular.init, tabular.tables, tabular.log_tables)
    kw = dict(
        seeds=range(3),
        hyper=0.7,
        init_scale=1.0,
        steps=300,
        lr=0.05,
        warmup=50,
        history_stride=30,
        progress=False,
    )
    fast = tj.train("beta", family="tabular", **kw)
    slow = tj.train("beta", family=generic, **kw)
    for k in ("R", "D", "loss"):
        np.testing.assert_allclose(fast.history[k], slow.history[k], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.encoder, slow.encoder, rtol=0, atol=1e-9)
    for k in fast.params:
        assert fast.params[k].shape == slow.params[k].shape  # batch first in the result either way


def test_bump_underflow_at_init_trains_finite():
    """Bump seed 5 at init scale 2 starts with encoder entries that underflow to exact 0 (slope
    34): the table-space loss had NaN gradients there and the run diverged (robustness study).
    In log domain it trains: finite history, R + D ≥ H, history end = exact value of the tables."""
    from toyrd.tables import bump

    e0, _, _ = bump.tables(bump.init(5, 30, 30, 2.0), 30)
    assert np.any(e0 == 0.0)
    res = tj.train(
        "elbo",
        family="bump",
        seeds=(5,),
        init_scale=2.0,
        steps=300,
        lr=0.05,
        warmup=0,
        progress=False,
    )
    assert np.all(np.isfinite(res.history["R"])) and np.all(np.isfinite(res.history["D"]))
    q = res.evaluate()[0]
    assert q["R"] + q["D"] >= H - IDENTITY_TOL
    assert abs(res.history["D"][0, -1] - q["D"]) < IDENTITY_TOL
    assert abs(res.history["R"][0, -1] - q["R"]) < IDENTITY_TOL


def test_default_float64_finish_is_about_50_steps_on_the_stride():
    """default_f64_steps: F64_STEPS rounded up to the stride, at most a tenth of the run (rounded
    down to the stride), never under one stride — and what TrainConfig.validate() fills in."""
    from toyrd.train import F64_STEPS, TrainConfig, default_f64_steps

    assert F64_STEPS == 50
    assert default_f64_steps(3000, 30) == 60  # 50 rounded up to the stride
    assert default_f64_steps(2000, 20) == 60
    assert default_f64_steps(5000, 50) == 50
    assert default_f64_steps(200, 2) == 20  # a tenth of a short run
    assert default_f64_steps(10, 1) == 1
    assert default_f64_steps(100, 100) == 100  # one stride at least
    cfg = TrainConfig(steps=3000, dtype="mixed").validate()
    assert cfg.history_stride == 30 and cfg.f64_steps == 60


# ---------------------------------------------------------------------- Adam, compiler options

#: toyrd's Adam vs optax.adam over 200 float64 steps of one trajectory each: the same update in
#: another order of operations (relative rounding ~1e-16 per step; Adam's normalised steps keep
#: parameter differences at that size times lr per step, far below this bound).
ADAM_TOL = 1e-12


@pytest.mark.parametrize("schedule", [False, True])
def test_adam_matches_optax(schedule):
    import jax
    import jax.numpy as jnp
    import optax

    from toyrd.train.jax._runner import adam

    with jax.enable_x64(True):
        lr = optax.cosine_decay_schedule(0.05, 200, alpha=0.01) if schedule else 0.05
        target = jnp.asarray(np.random.default_rng(0).standard_normal((30, 7)))

        def run(opt):
            def step(carry, _):
                p, s = carry
                g = jax.grad(lambda p: ((p["w"] - target) ** 4).sum())(p)  # moments of many scales
                u, s = opt.update(g, s, p)
                return (optax.apply_updates(p, u), s), p

            p0 = {"w": jnp.zeros((30, 7))}
            return jax.lax.scan(step, (p0, opt.init(p0)), None, length=200)

        (mine, s_mine), path_mine = run(adam(lr, b1=0.8))
        (ref, s_ref), path_ref = run(optax.adam(lr, b1=0.8))
        assert s_mine.count == s_ref[0].count == 200
        moved = float(jnp.abs(path_ref["w"][-1] - path_ref["w"][0]).max())
        assert moved > 0.5  # the trajectory goes somewhere
        np.testing.assert_allclose(path_mine["w"], path_ref["w"], rtol=0, atol=ADAM_TOL)
        for a, b in ((s_mine.mu, s_ref[0].mu), (s_mine.nu, s_ref[0].nu)):
            np.testing.assert_allclose(a["w"], b["w"], rtol=ADAM_TOL, atol=0)


def _run_args(seed, batch=3):
    """The arguments of a tabular compiled_run on the toy (batch-last logits, lr 0.05, β = 0)."""
    import jax.numpy as jnp

    a, b, c = _batch_last_logits(seed, batch=batch)
    return (
        {"enc_logits": a, "dec_logits": b, "mar_logits": c},
        jnp.zeros(batch),
        jnp.asarray(toyrd.toy_data().px),
        jnp.asarray(0.05),
        jnp.asarray(0, jnp.int32),
    )


def test_compiler_options_reach_the_compiled_run():
    """On the CPU, the trainer's program is compiled without YNNPACK reduce fusions."""
    import jax

    from toyrd import _backend
    from toyrd.tables import tabular
    from toyrd.train import TrainConfig

    if jax.default_backend() != "cpu":
        pytest.skip("XLA:CPU options")
    assert dict(_backend.compiler_options()) == _backend.CPU_COMPILER_OPTIONS
    run = tj.compiled_run(TrainConfig(steps=10, history_stride=5, warmup=0), tabular, 30)
    with jax.enable_x64(True):
        args = _run_args(0, batch=64)  # at B = 3 XLA forms no YNN fusion anyway
        tuned = run.lower(*args).compile().as_text()
        plain = jax.jit(run.__wrapped__).lower(*args).compile().as_text()
    assert "__ynn_fusion" in plain  # JAX's default would use them here
    assert "__ynn_fusion" not in tuned


def test_compiled_run_also_runs_inside_a_callers_jit():
    """JAX refuses compiler options on a nested jit: traced, the run falls back to a plain one
    and gives the same numbers as at top level."""
    import jax

    from toyrd.tables import tabular
    from toyrd.train import TrainConfig

    run = tj.compiled_run(TrainConfig(steps=20, history_stride=10, warmup=0), tabular, 30)
    with jax.enable_x64(True):
        args = _run_args(1)
        top = run(*args)
        nested = jax.jit(lambda *xs: run(*xs))(*args)
    for x, y in zip(jax.tree.leaves(top), jax.tree.leaves(nested)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=IDENTITY_TOL)


def test_compiler_options_fall_back_when_xla_refuses_them_or_on_another_backend(monkeypatch):
    """A JAX whose XLA lacks the experimental option (here: an unknown one) or a GPU backend
    gets no options, and toyrd._backend.jit is then a plain jax.jit that still runs."""
    import jax
    import jax.numpy as jnp

    from toyrd import _backend

    if jax.default_backend() != "cpu":
        pytest.skip("XLA:CPU options")
    try:
        monkeypatch.setattr(_backend, "CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option": "1"})
        _backend.compiler_options.cache_clear()
        assert _backend.compiler_options() == ()
        assert float(_backend.jit(lambda x: 2 * x)(jnp.asarray(3.0))) == 6.0
        monkeypatch.undo()
        monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
        _backend.compiler_options.cache_clear()
        assert _backend.compiler_options() == ()
    finally:
        monkeypatch.undo()
        _backend.compiler_options.cache_clear()
    assert dict(_backend.compiler_options()) == _backend.CPU_COMPILER_OPTIONS
