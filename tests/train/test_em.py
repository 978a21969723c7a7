"""EM for the tabular family: monotone ELBO at every half-step, exact E- and M-step identities."""

import numpy as np
import pytest

import toyrd
from toyrd.testing import IDENTITY_TOL
from toyrd.train import em

#: float64 rounding of R + D (~3 nats, 900 terms): an ELBO "decrease" below this is rounding.
MONOTONE_TOL = 1e-12
H = toyrd.toy_data().entropy


@pytest.mark.parametrize("learn_marginal", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_elbo_non_decreasing_every_half_step(seed, learn_marginal):
    res = em(seed=seed, iters=40, learn_marginal=learn_marginal, init_scale=1.5)
    assert res.elbo.shape == (81,) and res.loglik.shape == (41,)
    assert np.all(np.diff(res.elbo) >= -MONOTONE_TOL)
    assert np.all(np.diff(res.loglik) >= -MONOTONE_TOL)
    assert np.all(res.elbo <= -H + IDENTITY_TOL)  # ELBO ≤ log-likelihood ≤ −H
    assert res.elbo[0] < -H - 0.5  # a random start is far from the optimum


def test_e_step_makes_the_bound_tight():
    res = em(seed=4, iters=5, learn_marginal=False)
    # after each E-step (odd entries) the ELBO equals the log-likelihood of the current (d, m)
    np.testing.assert_allclose(res.elbo[1::2], res.loglik[:-1], rtol=0, atol=IDENTITY_TOL)


def test_learned_marginal_reaches_minus_H_after_one_m_step():
    res = em(seed=5, iters=3, learn_marginal=True)
    np.testing.assert_allclose(res.elbo[2:], -H, rtol=0, atol=IDENTITY_TOL)
    q = toyrd.evaluate(toyrd.toy_data().px, res.encoder, res.decoder, res.marginal)
    assert q["kl_pstar_g"] < IDENTITY_TOL and q["kl_q_m"] < IDENTITY_TOL


def test_fixed_prior_climbs_gradually_and_keeps_m():
    m = np.full(30, 1 / 30)
    res = em(seed=6, iters=60, learn_marginal=False, marginal=m)
    assert np.array_equal(res.marginal, m)
    assert res.elbo[2] < -H - 1e-4  # not solved by one M-step ...
    assert res.elbo[-1] > res.elbo[2] and res.elbo[-1] > -H - 1e-6  # ... but converging to −H


def test_given_tables_and_errors():
    e = np.full((30, 4), 0.25)
    res = em(encoder=e, iters=1)
    assert res.encoder.shape == (30, 4)
    with pytest.raises(toyrd.ToyrdError, match="decoder row 0: sums to"):
        em(decoder=np.full((4, 30), 0.5))
    with pytest.raises(toyrd.ToyrdError, match="do not match"):
        em(decoder=np.full((4, 30), 1 / 30), marginal=np.full(5, 0.2))
    with pytest.raises(toyrd.ToyrdError, match="iters"):
        em(iters=-1)
