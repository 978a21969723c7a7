r"""Encoder autonomy (McAllester): a two-player game in which the generative side stays consistent.

Players and losses (all exact, via the log-domain :func:`toyrd._formulas.rate_distortion_log`
on the family's log-tables):

* the marginal m and the decoder d minimise R + D with the encoder behind a stop-gradient
  (so m only sees R and d only sees D);
* the encoder e minimises its OWN loss ℓ(e; sg(d), sg(m)) — any function the user gives:
  an objective kind of :mod:`toyrd.objectives` (evaluated on (R, D) with d and m stopped) or a
  callable ``loss(px, enc, dec, mar, hyper) -> scalar`` (jax.numpy, traceable).

One optimiser step applies each player's gradient to its parameters: the gradient of the
surrogate R(sg e, m) + D(sg e, d) + ℓ(e, sg d, sg m). For any encoder, the best responses are
:math:`m = q` and :math:`d = p_e(x|z)` (Appendix D.3–D.4), which make R + D = H and g = p*; so
whatever the encoder wants, a trained model ends (up to the generative side's lag) on the line
R + D = H with g ≈ p*: the data distribution is learned consistently while the encoder picks the
point on it.

Example (see ``tests/test_autonomy.py``): an encoder pushed to high rate (β = 0.1) and one
pushed to collapse (β = 5) both end with R + D − H and :math:`\mathrm{KL}(p^* \Vert g)` near 0, at
different R.
"""

from __future__ import annotations

from collections.abc import Callable

from toyrd import _formulas as F
from toyrd.errors import ToyrdError
from toyrd.objectives import KINDS, check_hyper, loss_from_rd
from toyrd.train._config import TrainConfig, as_rows
from toyrd.train.jax._trainer import TrainResult, train_configs

__all__ = ["autonomy_loss_fn", "train_autonomous"]


def autonomy_loss_fn(encoder_loss, family, n_x: int) -> Callable:
    """``f(params, hyper, px) -> (surrogate, (encoder loss, R, D))`` for one row.

    ``encoder_loss``: an objective kind (str) or ``callable(px, enc, dec, mar, hyper)``; its
    ``dec`` and ``mar`` arrive stopped, so only the encoder's parameters feel it (a callable
    gets the tables, exp of the family's log-tables).
    """
    import jax.numpy as jnp
    from jax import lax

    def f(params, hyper, px):
        le, ld, lm = family.logs(params, n_x)
        r, d = F.rate_distortion_log(px, lax.stop_gradient(le), ld, lm)
        sld, slm = lax.stop_gradient(ld), lax.stop_gradient(lm)
        if isinstance(encoder_loss, str):
            er, ed = F.rate_distortion_log(px, le, sld, slm)
            own = loss_from_rd(encoder_loss, er, ed, hyper)
        else:
            own = encoder_loss(px, jnp.exp(le), jnp.exp(sld), jnp.exp(slm), hyper)
        return r + d + own, (own, r, d)

    return f


def train_autonomous(
    encoder_loss="beta",
    *,
    hyper=None,
    config: TrainConfig | None = None,
    family=None,
    px=None,
    pzx=None,
    seeds=(0,),
    init_scale=None,
    progress: bool = True,
    **fields,
) -> TrainResult:
    """Train the autonomy game for every (hyper, init scale, seed) row in one jitted scan.

    encoder_loss: "elbo", "beta", "rda", "target_rate" (with ``hyper`` β/λ/σ, scalar or
    sequence; validated as for :func:`toyrd.train.jax.train`) or a callable
    ``(px, enc, dec, mar, hyper) -> scalar`` (``hyper``: floats passed through, default 0).
    Other arguments and the result as in :func:`toyrd.train.jax.train`; the history's ``loss``
    is the encoder's own loss, ``configs[i]["objective"]`` is ``"autonomy"`` and
    ``configs[i]["encoder_loss"]`` names the encoder loss.
    """
    import itertools

    import numpy as np

    if isinstance(encoder_loss, str):
        if encoder_loss not in KINDS:
            raise ToyrdError(
                f"encoder_loss: {encoder_loss!r} is not one of {list(KINDS)} or a callable"
            )
        hypers = [check_hyper(encoder_loss, h) for h in as_rows(hyper, "hyper")]
        name = encoder_loss
    elif callable(encoder_loss):
        hypers = [0.0 if h is None else float(h) for h in as_rows(hyper, "hyper")]
        if not all(np.isfinite(hypers)):
            raise ToyrdError("hyper: values passed to a callable encoder loss must be finite")
        name = getattr(encoder_loss, "__name__", repr(encoder_loss))
    else:
        raise ToyrdError(
            f"encoder_loss: {encoder_loss!r} is neither an objective kind nor callable"
        )
    base = (config or TrainConfig()).replace(objective="autonomy", family=family, **fields)
    scales = as_rows(base.init_scale if init_scale is None else init_scale, "init_scale")
    rows = [
        base._replace(hyper=h, init_scale=c, seed=s)
        for h, c, s in itertools.product(hypers, scales, as_rows(list(seeds), "seeds"))
    ]
    return train_configs(
        rows,
        px=px,
        pzx=pzx,
        progress=progress,
        loss_builder=autonomy_loss_fn,
        loss_key=encoder_loss,
        extra={"encoder_loss": name},
    )
