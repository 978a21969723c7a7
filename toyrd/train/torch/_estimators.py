r"""Minibatch estimates of (R, D) whose autograd gradient is a chosen gradient estimator.

Every estimator maps (parameters, a minibatch :math:`x_1, \dots, x_B \sim p^*(x)`, Gumbel noise)
to a pair of scalar tensors :math:`(\tilde R, \tilde D)`. Their *values* are minibatch estimates
of the rate and distortion (nats),

.. math::

    \hat R = \frac1B \sum_b r(x_b, z_b), \quad r(x, z) = \log e(z|x) - \log m(z)

    \hat D = \frac1B \sum_b d(x_b, z_b), \quad d(x, z) = -\log d(x|z)

and their *gradients* are the estimator's. Any objective of (R, D) from
:mod:`toyrd.objectives` is then applied to :math:`(\tilde R, \tilde D)`; by the chain rule its
gradient is
:math:`\partial L/\partial R \cdot \nabla\tilde R + \partial L/\partial D \cdot \nabla\tilde D`
with the slopes taken at the minibatch values. For the linear objectives (elbo,
beta, rda) the estimators below marked unbiased give :math:`E[\nabla\tilde L] = \nabla L` exactly
(checked as an identity by :func:`toyrd.train.torch.expected_gradient`). For the target rate
:math:`D + |\sigma - R|` the slope :math:`\mathrm{sign}(\hat R - \sigma)` is taken at the
minibatch :math:`\hat R`, as a practitioner's loop does, so near R = σ that gradient is biased
whatever the estimator.

Estimators (``name``):

* ``exact`` — full enumeration over x and z: :math:`\tilde R = R`, :math:`\tilde D = D` from
  :func:`toyrd._formulas.rate_distortion` (no noise; the reference gradient).
* ``enumerate`` — Monte Carlo over x only, exact sum over z:
  :math:`r_b = \sum_z e(z|x_b) \log[e(z|x_b)/m(z)]`,
  :math:`d_b = -\sum_z e(z|x_b) \log d(x_b|z)`. Unbiased.
* ``reinforce`` — :math:`z_b = \arg\max_z [\log e(z|x_b) + g_{bz}]` (Gumbel-max: an exact
  sample of :math:`e(\cdot|x_b)`) and the score-function estimator with a baseline:
  :math:`\tilde R = \mathrm{mean}[r_b + (r_b - c_b)(\ell_b - \ell_b^\perp)]`,
  :math:`\ell_b = \log e(z_b|x_b)`, :math:`\perp` = stop-gradient (so :math:`\tilde R` has the
  value :math:`\hat R` and the gradient
  :math:`\mathrm{mean}[\nabla r_b + (r_b - c_b) \nabla \ell_b]`). Baselines :math:`c_b`:
  ``loo`` (the mean of the other B − 1 terms — independent of :math:`z_b`, so unbiased;
  needs :math:`B \ge 2`), ``ema`` (a running mean passed in, constant within the step,
  unbiased), ``none``. Unbiased.
* ``gumbel`` — relaxed Gumbel-softmax:
  :math:`y_b = \mathrm{softmax}((\log e(\cdot|x_b) + g_b)/\tau)` on the simplex,
  :math:`r_b = \sum_z y_{bz} (\log e(z|x_b) - \log m(z))`,
  :math:`d_b = -\log \mathrm{softmax}_x(\sum_z y_{bz} \log d(\cdot|z))[x_b]` (the decoder's
  log-table read as logits of a linear layer on the one-hot z). Biased: its value and gradient
  differ from the one-hot ones for τ > 0.
* ``gumbel-st`` — straight-through: the forward pass uses the one-hot y = onehot(argmax) (so the
  values are exact samples, unbiased), the backward pass the relaxed y's gradient. Biased
  gradient.

Noise is drawn outside (:func:`draw_minibatch`) with an explicit ``torch.Generator`` so the
estimators are pure functions (and can be ``torch.func.vmap``-ed).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from toyrd import _formulas as F
from toyrd.errors import ToyrdError
from toyrd.train._config import BASELINES, ESTIMATORS

__all__ = [
    "ESTIMATORS",
    "BASELINES",
    "Minibatch",
    "draw_minibatch",
    "estimate_rd",
    "check_estimator",
]


class Minibatch(NamedTuple):
    """x ``(B,)`` int64 indices drawn from :math:`p^*(x)`; gumbel ``(B, n_z)`` standard Gumbel
    noise."""

    x: torch.Tensor
    gumbel: torch.Tensor


def check_estimator(
    name: str, baseline: str = "loo", batch_size: int = 2, temperature: float = 1.0
):
    """Validate an estimator configuration at the boundary (raises :class:`ToyrdError`)."""
    if name not in ESTIMATORS:
        raise ToyrdError(f"estimator: {name!r} is not one of {list(ESTIMATORS)}")
    if baseline not in BASELINES:
        raise ToyrdError(f"baseline: {baseline!r} is not one of {list(BASELINES)}")
    if int(batch_size) < 1:
        raise ToyrdError(f"batch_size: {batch_size} must be >= 1")
    if name == "reinforce" and baseline == "loo" and int(batch_size) < 2:
        raise ToyrdError(
            "baseline loo: needs batch_size >= 2 (use --baseline ema or none for batch size 1)"
        )
    if not (float(temperature) > 0 and float(temperature) < float("inf")):
        raise ToyrdError(f"temperature: {temperature} must be finite and > 0")


def draw_minibatch(generator: torch.Generator, px: torch.Tensor, shape, n_z: int) -> Minibatch:
    """x ~ :math:`p^*(x)` iid with shape ``shape`` and Gumbel noise of shape ``shape + (n_z,)``.

    Gumbel noise is g = −log E with E ~ Exp(1) (clamped at the smallest normal float so g is
    finite).
    """
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),)
    n = 1
    for s in shape:
        n *= s
    x = torch.multinomial(px, n, replacement=True, generator=generator).reshape(shape)
    e = torch.empty(shape + (n_z,), dtype=px.dtype).exponential_(generator=generator)
    g = -torch.log(e.clamp_min(torch.finfo(px.dtype).tiny))
    return Minibatch(x, g)


def _safe_log(t):
    return torch.log(t.clamp_min(torch.finfo(t.dtype).tiny))


def _loo_baseline(v):
    b = v.shape[-1]
    return (v.sum(-1, keepdim=True) - v) / (b - 1)


def estimate_rd(
    tables,
    batch: Minibatch | None,
    name: str,
    *,
    px=None,
    temperature: float = 1.0,
    baseline: str = "loo",
    baseline_value=None,
    logs=None,
):
    """(R̃, D̃) for estimator ``name`` (see the module docstring); scalars in nats.

    ``tables`` = (enc ``(n_x, n_z)``, dec ``(n_z, n_x)``, mar ``(n_z,)``) tensors; ``px``
    ``(n_x,)`` is needed only by ``exact``; ``baseline_value`` = ``(c_R, c_D)`` for
    ``baseline="ema"``. ``logs``: the log-tables (log e, log d, log m), e.g.
    :meth:`TorchVAE.log_tables`; with them no log of a table is taken, so an entry that
    underflowed to 0 leaves the value and gradient finite (``xlogy``'s gradient at an exact 0 is
    -inf · 0 = NaN).
    """
    enc, dec, mar = tables
    if name == "exact":
        if logs is not None:
            return F.rate_distortion_log(px, *logs, enc=enc)
        return F.rate_distortion(px, enc, dec, mar)
    x, g = batch
    e_rows = enc[x]  # (B, n_z): e(z|x_b)
    d_cols = dec[:, x].T  # (B, n_z): d(x_b|z)
    if name == "enumerate":
        if logs is not None:
            le, ld, lm = logs
            r = F.mul_log(e_rows, le[x] - lm).sum(-1)
            d = -F.mul_log(e_rows, ld[:, x].T).sum(-1)
            return r.mean(), d.mean()
        r = (F.xlogy(e_rows, e_rows) - F.xlogy(e_rows, mar.expand_as(e_rows))).sum(-1)
        d = -F.xlogy(e_rows, d_cols).sum(-1)
        return r.mean(), d.mean()
    log_e = _safe_log(e_rows) if logs is None else logs[0][x]
    log_m = _safe_log(mar) if logs is None else logs[2]
    if name == "reinforce":
        z = torch.argmax(log_e + g, dim=-1, keepdim=True)
        ell = torch.gather(log_e, -1, z).squeeze(-1)
        r = ell - log_m[z.squeeze(-1)]
        d = -torch.gather(_safe_log(d_cols), -1, z).squeeze(-1)
        score = ell - ell.detach()  # value 0, gradient ∇ log e(z_b|x_b)
        if baseline == "loo":
            cr, cd = _loo_baseline(r.detach()), _loo_baseline(d.detach())
        elif baseline == "ema":
            cr, cd = baseline_value[0], baseline_value[1]
        else:
            cr = cd = 0.0
        return (r + (r.detach() - cr) * score).mean(), (d + (d.detach() - cd) * score).mean()
    if name in ("gumbel", "gumbel-st"):
        y = torch.softmax((log_e + g) / temperature, dim=-1)
        if name == "gumbel-st":
            hard = (y == y.max(-1, keepdim=True).values).to(y.dtype)
            y = hard - y.detach() + y
        r = (y * (log_e - log_m)).sum(-1)
        logits = y @ _safe_log(dec)  # (B, n_x)
        d = -torch.gather(torch.log_softmax(logits, -1), -1, x.unsqueeze(-1)).squeeze(-1)
        return r.mean(), d.mean()
    raise ToyrdError(f"estimator: {name!r} is not one of {list(ESTIMATORS)}")
