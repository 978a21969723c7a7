"""Boundary values of every validated TrainConfig number: the edge value itself on the side the
rule allows is accepted, the nearest value beyond it is rejected with a one-line ToyrdError."""

import numpy as np
import pytest

from toyrd.errors import ToyrdError
from toyrd.train import TrainConfig

BELOW_ONE = float(np.nextafter(1.0, 0.0))  # the largest float < 1
TINY = 5e-324  # the smallest positive float


@pytest.mark.parametrize(
    "field, ok, bad, message",
    [
        ("b1", [0.0, BELOW_ONE], [1.0, -TINY], r"^b1: "),
        ("ema_decay", [0.0, BELOW_ONE], [1.0, -TINY], r"^ema_decay: "),
        ("lr", [TINY], [0.0], r"^lr: 0\.0, expected a finite number > 0$"),
        ("init_scale", [0.0], [-TINY], r"^init_scale: "),
        ("steps", [1], [0], r"^steps: 0, expected an integer >= 1$"),
        ("warmup", [0], [-1], r"^warmup: -1, expected an integer >= 0$"),
        ("n_z", [1], [0], r"^n_z: 0, expected an integer >= 1$"),
        ("seed", [0, 2**63 - 1], [-1, 2**63], r"^seed: "),
    ],
)
def test_boundaries(field, ok, bad, message):
    for value in ok:
        TrainConfig(**{field: value}).validate()
    for value in bad:
        with pytest.raises(ToyrdError, match=message):
            TrainConfig(**{field: value}).validate()


def test_beta_zero_is_a_valid_beta_vae():
    """The paper allows β ≥ 0: β = 0 passes the config's validation; −TINY does not."""
    assert TrainConfig(objective="beta", hyper=0.0).validate().hyper == 0.0
    with pytest.raises(ToyrdError, match=r"must be finite and >= 0$"):
        TrainConfig(objective="beta", hyper=-TINY).validate()
