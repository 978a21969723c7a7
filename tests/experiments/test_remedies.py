"""``toyrd remedies`` (issue 16): each remedy's loss against its formula, its gradient routing
against autodiff of that formula, the schedules' edge cases, the dual multiplier, the update mask
of the aggressive phase, reproducibility, and the quick CLI run's JSON and PNG.

One ``toyrd remedies --quick`` run (tabular and bump, 2 seeds, 600 steps) is shared; the other
training runs are small single-family runs of :func:`train_remedies`.
"""

import json
import math

import numpy as np
import pytest

import toyrd
from toyrd.cli import main
from toyrd.experiments import remedies as rm
from toyrd.testing import IDENTITY_TOL

jax = pytest.importorskip("jax")  # the JAX trainer (the `jax` extra)
pytest.importorskip("matplotlib")  # the figure (the `plot` extra)

#: Gradients of the routed surrogate and of the written loss are the same float64 sums taken in
#: different orders: they agree to a few ulps of the largest entry (~1e-3).
GRAD_TOL = 1e-12
#: Free bits leaves the rate hovering at its floor λ: below λ only D acts (pushing R up), above
#: it the ELBO is flat along R + D = H while m's fit pulls R down; Adam's last steps (lr decayed
#: to 1e-4) move R by less than this.
FLOOR_TOL = 1e-3
#: Dual ascent: after 3000 steps the multiplier is within this of its KKT value λ* = 1 ...
LAMBDA_TOL = 0.05
#: ... and the rate within this of σ (the augmented Lagrangian's fixed point is R = σ exactly).
RATE_TOL = 0.01


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    d = tmp_path_factory.mktemp("remedies")
    assert main(["remedies", "--quick", "--out", str(d), "--no-progress"]) == 0
    return d, json.loads((d / "remedies.json").read_text())


def _rem(kind, **kw):
    return rm.Remedy(kind, kind, **kw)


# ----------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    "rem, kw, want",
    [
        (_rem("elbo"), {}, 2.5 + 0.2),
        (_rem("beta", value=0.5), {}, 2.5 + 0.1),
        (_rem("kl_anneal", steps=100), {"step": 25}, 2.5 + 0.25 * 0.2),
        (_rem("kl_anneal", steps=100), {"step": 300}, 2.5 + 0.2),  # β_t capped at 1
        (_rem("kl_anneal", steps=0), {"step": 0}, 2.5 + 0.2),  # zero-length schedule: the ELBO
        (_rem("kl_cyclic", steps=100), {"step": 125}, 2.5 + 0.5 * 0.2),  # τ = 0.25: β = 0.5
        (_rem("kl_cyclic", steps=100), {"step": 180}, 2.5 + 0.2),  # second half of a cycle: β = 1
        (_rem("free_bits", value=0.5), {}, 2.5 + 0.5),  # R = 0.2 below the floor
        (_rem("aggressive", steps=10, inner=3), {}, 2.7),
        (_rem("info_vae", value=0.5), {"I_e": 0.1}, 2.5 + 0.2 - 0.05),
        (_rem("target", value=0.5), {}, 2.5 + 0.3),
        (_rem("dual", value=0.5, rho=2.0), {"lam": 1.5}, 2.5 + 1.5 * (-0.3) + 0.09),
        (_rem("autonomy", value=0.5), {}, 2.7),  # the generative side's R + D
    ],
)
def test_loss_matches_its_formula(rem, kw, want):
    """Hand-computed at (R, D) = (0.2, 2.5) nats."""
    assert abs(rm.remedy_loss(rem, 0.2, 2.5, **kw) - want) < 1e-15


def test_free_bits_above_the_floor_is_the_elbo():
    assert rm.remedy_loss(_rem("free_bits", value=0.5), 0.8, 2.1) == 0.8 + 2.1


def test_unknown_kind_is_an_error():
    with pytest.raises(toyrd.ToyrdError, match="remedy"):
        rm.remedy_loss(_rem("nope"), 0.2, 2.5)


def _loss_and_grad(rem, params, step, lam, toy):
    """(written loss, its autodiff gradient) and (surrogate gradient) for one tabular row."""
    import jax.numpy as jnp

    from toyrd import _formulas as F

    fam = rm._with_dual("tabular")
    rems = (rem,)
    f = rm.remedy_loss_builder((rems, ("enc_logits",)), fam, 30)
    px = jnp.asarray(toy.px)
    p = {**{k: jnp.asarray(v) for k, v in params.items()}, "dual": jnp.asarray(lam)}
    t = jnp.asarray(step, jnp.int32)

    def written(p):
        le, ld, lm = fam.logs(p, 30)
        r, d = F.rate_distortion_log(px, le, ld, lm)
        return rm.remedy_loss(
            rem, r, d, step=t.astype(px.dtype), lam=p["dual"], I_e=rm._info(px, le)
        )

    g_written = jax.grad(written)(p)
    g_sur = jax.grad(lambda p: f(p, jnp.asarray(0.0), px, t)[0])(p)
    return g_written, g_sur


@pytest.mark.parametrize(
    "rem, step",
    [
        (_rem("elbo"), 0),
        (_rem("beta", value=0.5), 0),
        (_rem("kl_anneal", steps=100), 37),
        (_rem("kl_cyclic", steps=100), 137),
        (_rem("free_bits", value=0.01), 0),
        (_rem("free_bits", value=2.0), 0),
        (_rem("info_vae", value=0.5), 0),
        (_rem("target", value=0.01), 0),
        (_rem("target", value=2.0), 0),
        (_rem("dual", value=0.3, rho=1.0), 0),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_routed_gradient_is_the_gradient_of_the_formula(rem, step, toy):
    """The surrogate of :func:`remedy_loss_builder` has the gradient of the written loss for
    every remedy without stop-gradients (for dual: of the model parameters; λ gets −(R − σ))."""
    with jax.enable_x64(True):
        params = toyrd.tables.tabular.init(3, 30, 30, 1.0)
        gw, gs = _loss_and_grad(rem, params, step, 0.7, toy)
        for k in ("enc_logits", "dec_logits", "mar_logits"):
            assert np.max(np.abs(np.asarray(gw[k]) - np.asarray(gs[k]))) < GRAD_TOL, k
        if rem.kind == "dual":  # ascent: the gradient on λ is minus the constraint
            from toyrd import _formulas as F

            le, ld, lm = toyrd.tables.tabular.logs(
                {k: jax.numpy.asarray(v) for k, v in params.items()}, 30
            )
            r, _ = F.rate_distortion_log(jax.numpy.asarray(toy.px), le, ld, lm)
            assert abs(float(gs["dual"]) + (float(r) - rem.value)) < GRAD_TOL


def test_aggressive_and_autonomy_route_by_phase():
    """Weights (a, b, c, u) of ∂_e D, ∂_e R, ∂_d D, ∂_m R: aggressive encoder-only steps give
    (1, 1, 0, 0), its decoder step (0, 0, 1, 1), after the phase the ELBO; autonomy's encoder
    sees sign(R − σ) ∂R."""
    agg = _rem("aggressive", steps=10, inner=3)
    w = [tuple(float(x) for x in rm.remedy_weights(agg, 0.2, 2.5, step=t)) for t in (0, 2, 3, 11)]
    assert w == [(1, 1, 0, 0), (1, 1, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1)]
    aut = tuple(float(x) for x in rm.remedy_weights(_rem("autonomy", value=0.5), 0.2, 2.5))
    assert aut == (1, -1, 1, 1)


# ----------------------------------------------------------------------------- training


def _cfg(**kw):
    base = {"objective": "remedies", "steps": 300, "warmup": 100, "init_scale": 0.01}
    return toyrd.train.TrainConfig(**{**base, **kw})


def test_zero_length_annealing_is_the_elbo_bit_for_bit(toy):
    rems = (rm.Remedy("elbo", "elbo"), rm.Remedy("anneal 0", "kl_anneal", steps=0))
    res = rm.train_remedies(rems, "tabular", config=_cfg(), seeds=[0, 1], px=toy.px, pzx=toy.pzx)
    for a in (res.encoder, res.decoder, res.marginal):
        assert np.array_equal(a[:2], a[2:])
    assert np.array_equal(res.history["R"][:2], res.history["R"][2:])


def test_aggressive_encoder_only_steps_leave_the_generative_side_unmoved(toy):
    """The update mask. With K = 3, steps 0–2 train the encoder, step 3 the decoder and marginal,
    steps 4–6 the encoder again: after step 3 Adam's first moment of the generative side is not
    0, so without the mask its momentum would move it during 4–6. A 7-step run must end with the
    generative side of a 4-step run, bit for bit (constant learning rate, no warm-up), and the
    encoder moved on."""
    rems = (rm.Remedy("agg", "aggressive", steps=1000, inner=3),)

    def run(steps):
        return rm.train_remedies(
            rems,
            "tabular",
            config=_cfg(warmup=0, steps=steps, init_scale=1.0, schedule="constant"),
            seeds=[4],
            px=toy.px,
        ).params

    four, seven = run(4), run(7)
    p0 = toyrd.tables.tabular.init(4, 30, 30, 1.0)
    for k in ("dec_logits", "mar_logits"):
        assert not np.array_equal(four[k][0], p0[k])  # step 3 moved it ...
        assert np.array_equal(seven[k][0], four[k][0])  # ... and nothing after
    assert not np.array_equal(seven["enc_logits"], four["enc_logits"])


def test_dual_multiplier_converges_where_the_constraint_is_feasible(toy):
    """Every σ ≥ 0 is feasible on this toy (R = I_e + KL(q ‖ m) exceeds H(x) when m is off q),
    and the multiplier converges to its KKT value λ* = −dD/dR at the constrained optimum:
    σ = 0.5 < H lies on D = H − R, so λ* = 1; σ = 4 > H is met with D = 0 (I_e = H, the rest of
    the rate spent as KL(q ‖ m)), where D can fall no further, so λ* = 0."""
    rems = (
        rm.Remedy("on the line", "dual", 0.5, rho=1.0),
        rm.Remedy("past H", "dual", 4.0, rho=1.0),
    )
    res = rm.train_remedies(
        rems,
        "tabular",
        config=_cfg(steps=3000, warmup=500, init_scale=0.3),
        seeds=[0, 1],
        px=toy.px,
        pzx=toy.pzx,
    )
    lam = res.params["dual"]
    tab = res.table()
    assert np.all(np.abs(lam - [1.0, 1.0, 0.0, 0.0]) < LAMBDA_TOL), lam
    assert np.all(np.abs(tab["R"] - [0.5, 0.5, 4.0, 4.0]) < RATE_TOL), tab["R"]
    # D heads for 0 but slowly (the auto-encoding limit is approached at a shrinking rate)
    assert np.all(tab["D"][2:] < 0.5 * tab["D"][:2].min()), tab["D"]


def test_autonomy_rows_match_train_autonomous(toy):
    """The routed autonomy row and :func:`toyrd.train.train_autonomous` with the target-rate
    encoder loss are the same game (sums in another order: 1e-8 on the tables)."""
    cfg = _cfg(steps=200, init_scale=0.3)
    res = rm.train_remedies(
        (rm.Remedy("aut", "autonomy", 0.5),), "tabular", config=cfg, seeds=[2], px=toy.px
    )
    ref = toyrd.train.train_autonomous(
        "target_rate",
        hyper=0.5,
        family="tabular",
        config=cfg,
        seeds=[2],
        px=toy.px,
        progress=False,
    )
    for a, b in (
        (res.encoder, ref.encoder),
        (res.decoder, ref.decoder),
        (res.marginal, ref.marginal),
    ):
        assert np.max(np.abs(a - b)) < 1e-8


# ----------------------------------------------------------------------------- the command


@pytest.mark.long  # long tier: shares the quick remedies run
def test_quick_run_writes_json_and_png(quick):
    d, out = quick
    assert (d / "remedies.png").read_bytes()[:4] == b"\x89PNG"
    st = rm.QUICK
    assert len(out["rows"]) == len(rm.KINDS) * len(st.families)
    keys = {
        "remedy",
        "family",
        "R",
        "I_zstar",
        "class0_mass",
        "kl_pstar_g",
        "elbo_gap",
        "recovers_zstar",
        "fits_data",
    }
    for row in out["rows"]:
        assert keys <= set(row)
        for k in rm.STAT_KEYS:
            s = row[k]
            assert set(s) == {"median", "min", "max"} and s["min"] <= s["median"] <= s["max"]
    assert len(out["points"]) == len(rm.KINDS) * len(st.families) * st.n_seeds
    assert abs(out["thresholds"]["recovers_zstar"] - 0.9 * out["optimal"]["I_zstar"]) < 1e-15


@pytest.mark.long  # long tier: shares the quick remedies run
def test_verdicts_follow_their_definitions(quick):
    _, out = quick
    thr, fit = out["thresholds"]["recovers_zstar"], out["thresholds"]["fits_data"]
    for row in out["rows"]:
        ps = [
            p
            for p in out["points"]
            if p["family"] == row["family"] and p["remedy"] == row["remedy"]
        ]
        assert row["recovers_zstar"] == all(p["I_zstar"] >= thr for p in ps)
        assert row["fits_data"] == all(p["kl_pstar_g"] < fit for p in ps)


@pytest.mark.long  # long tier: shares the quick remedies run
def test_every_point_is_feasible(quick):
    """Eq. 2 (R + D ≥ H) and data processing (I(z;z*) ≤ min(I_e, I(x;z*)))."""
    _, out = quick
    for p in out["points"]:
        assert p["elbo_gap"] >= -IDENTITY_TOL, p
        assert p["I_zstar"] <= min(p["I_e"], out["I_x_zstar"]) + IDENTITY_TOL, p


@pytest.mark.long  # long tier: shares the quick remedies run
def test_free_bits_ends_at_or_above_its_floor(quick):
    _, out = quick
    lam = rm.QUICK.free_bits
    fb = [p for p in out["points"] if p["kind"] == "free_bits"]
    assert fb and all(p["R"] >= lam - FLOOR_TOL for p in fb), [p["R"] for p in fb]


@pytest.mark.long  # long tier: shares the quick remedies run
def test_elbo_collapses_in_the_tabular_family(quick):
    """The baseline the remedies are measured against: from a near-collapsed start the tabular
    ELBO stays collapsed (R < 1e-3, no knowledge of z*)."""
    _, out = quick
    row = next(r for r in out["rows"] if r["kind"] == "elbo" and r["family"] == "tabular")
    assert row["R"]["max"] < 1e-3 and not row["recovers_zstar"]


@pytest.mark.long  # long tier: shares the quick remedies run
def test_reproducible_from_the_seed(quick, tmp_path, capsys):
    _, out = quick
    assert (
        main(
            [
                "remedies",
                "--quick",
                "--out",
                str(tmp_path),
                "--json",
                "--no-progress",
                "--family",
                "tabular",
            ]
        )
        == 0
    )
    again = json.loads(capsys.readouterr().out)
    want = [p for p in out["points"] if p["family"] == "tabular"]
    assert again["points"] == want  # same seed, same numbers (also with fewer families)
    assert (
        main(
            [
                "remedies",
                "--quick",
                "--out",
                str(tmp_path),
                "--json",
                "--no-progress",
                "--family",
                "tabular",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    other = json.loads(capsys.readouterr().out)
    assert [p["seed"] for p in other["points"][:2]] == [5, 6]
    assert other["points"][0]["R"] != want[0]["R"]


def test_families_default_to_the_readings():
    """One family per reading of Appendix E (toyrd.tables.READINGS), the Figure 2 family included;
    an explicit list is taken as given."""
    from toyrd.tables import FIGURE2_FAMILY, READINGS

    assert rm.family_names(rm.Settings()) == tuple(READINGS)
    assert FIGURE2_FAMILY in READINGS and "tabular" in READINGS and "bump" in READINGS
    assert rm.family_names(rm.Settings(families=("bump/tabular",))) == ("bump/tabular",)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--family", "nope"], "family"),
        (["--seeds", "0"], "n_seeds"),
        (["--steps", "0"], "steps"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys, tmp_path):
    assert main(["remedies", "--quick", "--no-progress", "--out", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


@pytest.mark.long  # long tier: shares the quick remedies run
def test_format_table_has_a_line_per_row(quick):
    _, out = quick
    text = rm.format_table(_result_from(out))
    assert len(text.splitlines()) == 2 + len(out["rows"]) + 1
    assert not any(math.isnan(r["R"]["median"]) for r in out["rows"])


def _result_from(out):
    st = rm.QUICK
    return rm.RemediesResult(
        toyrd.toy_data(),
        st,
        rm.remedies(st),
        tuple(st.families),
        out["points"],
        out["optimal"],
        {k: np.array(v) for k, v in out["ib_frontier"].items()},
        {},
    )
