"""Encoder autonomy: whatever the encoder's own loss, m and d make the bound tight and g = p*."""

import numpy as np
import pytest

import toyrd
from toyrd.train import jax as tj
from toyrd.train import train_autonomous

pytest.importorskip("jax")  # the JAX trainer (the `jax` extra)

H = toyrd.toy_data().entropy
#: The generative players trail a moving encoder, so the bound closes to this, not to rounding.
GAME_TOL = 1e-3
#: KL(p* ‖ g) after the game.
FIT_TOL = 1e-5
KW = dict(
    family="tabular", seeds=range(2), init_scale=1.0, steps=3000, lr=0.05, warmup=0, progress=False
)


def _spread(px, enc, dec, mar, hyper):
    """A loss that ignores (R, D): −H(q) + hyper·H(Z|X) — spread the codes, make them sharp."""
    import jax.numpy as jnp

    q = px @ enc
    return jnp.sum(q * jnp.log(q)) - hyper * jnp.sum(px[:, None] * enc * jnp.log(enc))


def test_opposite_encoder_losses_both_end_consistent():
    """β = 0.1 pulls the encoder to high rate, β = 5 to collapse; a third loss ignores R and D."""
    beta = train_autonomous("beta", hyper=[0.1, 5.0], **KW)
    spread = train_autonomous(_spread, hyper=0.5, **KW)
    qb, qs = beta.table(), spread.table()
    for q in (qb, qs):
        assert np.all(np.abs(q["R"] + q["D"] - H) < GAME_TOL)
        assert np.all(q["kl_pstar_g"] < FIT_TOL)
    r = qb["R"].reshape(2, 2)
    assert np.all(r[0] > 2.5) and np.all(r[1] < 0.01)  # the encoders went opposite ways
    assert np.all(qs["R"] > 2.5)
    assert (
        beta.configs[0]["encoder_loss"] == "beta" and spread.configs[0]["encoder_loss"] == "_spread"
    )
    assert beta.configs[0]["objective"] == "autonomy"


def test_elbo_encoder_loss_is_exactly_elbo_training():
    """With ℓ = R + D the game's gradients are the ELBO's partial gradients, block by block."""
    kw = dict(seeds=(3,), init_scale=1.0, steps=200, lr=0.05, warmup=0, progress=False)
    kw["family"] = "tabular"
    game = train_autonomous("elbo", **kw)
    plain = tj.train("elbo", **kw)
    np.testing.assert_allclose(game.encoder, plain.encoder, rtol=0, atol=1e-12)
    np.testing.assert_allclose(game.history["R"], plain.history["R"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(game.history["loss"], plain.history["loss"], rtol=0, atol=1e-12)


def test_bad_encoder_loss():
    with pytest.raises(toyrd.ToyrdError, match="encoder_loss"):
        train_autonomous("nope", progress=False)
    with pytest.raises(toyrd.ToyrdError, match="encoder_loss"):
        train_autonomous(3.0, progress=False)
    with pytest.raises(toyrd.ToyrdError, match="needs its hyperparameter"):
        train_autonomous("target_rate", progress=False)
