"""Objectives: values as pure functions of (R, D), validation, agreement with the exact core,
and exact gradients checked against finite differences (float64)."""

import pytest

import toyrd
from toyrd import _formulas as F
from toyrd.objectives import Objective, check_hyper, loss_from_rd, make_objective, objective_loss
from toyrd.tables import tabular
from toyrd.testing import IDENTITY_TOL

#: float64 identities (a few ulps of the ~3-nat totals).
GRAD_TOL = 1e-6


@pytest.mark.parametrize(
    "kind,value,expected",
    [
        ("elbo", None, 0.4 + 2.6),
        ("beta", 2.0, 2.6 + 2.0 * 0.4),
        ("rda", 3.0, 0.4 + 3.0 * 2.6),
        ("target_rate", 0.5, 2.6 + 0.1),
        ("target_rate", 0.1, 2.6 + 0.3),
    ],
)
def test_loss_values(kind, value, expected):
    assert loss_from_rd(kind, 0.4, 2.6, value) == pytest.approx(expected, abs=1e-15)
    assert Objective(kind, value)(0.4, 2.6) == pytest.approx(expected, abs=1e-15)


def test_beta_one_and_lambda_one_are_the_elbo():
    r, d = 0.37, 2.71
    assert loss_from_rd("beta", r, d, 1.0) == loss_from_rd("elbo", r, d)
    assert loss_from_rd("rda", r, d, 1.0) == loss_from_rd("elbo", r, d)


@pytest.mark.parametrize(
    "kind,value,msg",
    [
        ("nope", None, "is not one of"),
        ("target_rate", None, "needs its hyperparameter sigma"),
        ("beta", -1.0, "must be finite and >= 0"),
        ("rda", float("nan"), "must be finite"),
        ("beta", "abc", "is not a number"),
    ],
)
def test_bad_specs_raise(kind, value, msg):
    with pytest.raises(toyrd.ToyrdError, match=msg):
        make_objective(kind, value)


def test_defaults():
    assert check_hyper("elbo", 7.0) is None
    assert make_objective("beta") == Objective("beta", 1.0)
    assert make_objective("rda").value == 1.0


def _random_model(seed, n_x=30, n_z=30):
    e, d, m = tabular.tables(tabular.init(seed, n_x, n_z, 1.0), n_x)
    return toyrd.toy_data().px, e, d, m


@pytest.mark.parametrize(
    "kind,value", [("elbo", None), ("beta", 0.3), ("rda", 2.0), ("target_rate", 0.5)]
)
def test_objective_loss_matches_exact_core(kind, value):
    px, e, d, m = _random_model(3)
    loss, r, dist = objective_loss(kind, px, e, d, m, value)
    q = toyrd.evaluate(px, e, d, m)
    assert abs(r - q["R"]) < IDENTITY_TOL and abs(dist - q["D"]) < IDENTITY_TOL
    assert abs(loss - loss_from_rd(kind, q["R"], q["D"], value)) < IDENTITY_TOL


def test_elbo_loss_is_H_on_the_optimal_manifold():
    px, e, _, _ = _random_model(5)
    d, m = toyrd.optimize_generative(px, e)
    loss, _, _ = objective_loss("elbo", px, e, d, m)
    assert abs(loss - F.entropy(px)) < IDENTITY_TOL


#: (kind, value) pairs whose gradients are checked together; σ = 0.2 and 3.0 sit on either side
#: of the model's R (≈ 0.5–1.5 at these inits), away from the kink of |σ − R|.
GRAD_CASES = [
    ("elbo", 0.0),
    ("beta", 0.3),
    ("rda", 2.0),
    ("target_rate", 0.2),
    ("target_rate", 3.0),
]


@pytest.mark.parametrize("family", ["tabular", "bump"])
def test_gradients_match_finite_differences(family):
    """jax.test_util.check_grads (forward and reverse mode, float64) on the vector of all the
    exact objective losses as a function of the family's parameters."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    from toyrd.tables import get_family

    fam = get_family(family)
    px_np = toyrd.toy_data().px
    with jax.enable_x64(True):
        params = {k: jnp.asarray(v) for k, v in fam.init(1, 30, 30, 1.0).items()}
        px = jnp.asarray(px_np)

        def f(p):
            enc, dec, mar = fam.tables(p, 30)
            return jnp.stack([objective_loss(k, px, enc, dec, mar, v)[0] for k, v in GRAD_CASES])

        r = float(objective_loss("elbo", px, *fam.tables(params, 30))[1])
        assert min(abs(r - v) for k, v in GRAD_CASES if k == "target_rate") > 0.1
        check_grads(
            jax.jit(f),
            (params,),
            order=1,
            modes=("fwd", "rev"),
            atol=GRAD_TOL,
            rtol=GRAD_TOL,
            eps=1e-6,
        )


def test_hyperparameter_boundaries():
    """β = 0 is accepted (paper Sec. 2: "a general β ≥ 0"), so are λ = 0 and σ = 0; the negative
    float nearest 0 (−5e-324) is rejected, for every kind that has a hyperparameter."""
    for kind in ("beta", "rda", "target_rate"):
        assert check_hyper(kind, 0.0) == 0.0
        assert check_hyper(kind, 0) == 0.0
        with pytest.raises(toyrd.ToyrdError, match=r"must be finite and >= 0$"):
            check_hyper(kind, -5e-324)
    assert make_objective("beta", 0.0)(0.7, 2.0) == 2.0  # β = 0: D alone
