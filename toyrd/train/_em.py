r"""EM for the tabular family (exact, numpy, float64).

Alternates two closed-form coordinate steps on the ELBO = −(R + D):

* E-step: :math:`e(z|x) \leftarrow p_d(z|x) = m(z)\, d(x|z) / g(x)`
  (:func:`toyrd.quantities.e_step`); the ELBO then equals the log-likelihood
  :math:`\sum_x p^*(x) \log g(x)` — the bound is tight in the encoder;
* M-step: for the fixed encoder, :math:`d(x|z) \leftarrow p_e(x|z)` (the Bayes posterior) and
  :math:`m \leftarrow q`
  (:func:`toyrd.quantities.optimize_generative`); with both, R + D = H exactly.

Each step maximises the ELBO over one block with the others fixed, so the ELBO is
non-decreasing at every half-step. With a learned marginal the first M-step already reaches the
global optimum ELBO = −H (any encoder is consistent; see [Concepts][concepts]); with
``learn_marginal=False``
(a fixed prior m) EM is the classic mixture-fitting iteration and climbs gradually.

>>> import toyrd
>>> res = toyrd.train.em(iters=3, learn_marginal=True)
>>> bool(abs(res.elbo[-1] + toyrd.toy_data().entropy) < 1e-12)
True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import as_conditional, as_distribution, check_int
from toyrd.errors import ToyrdError
from toyrd.quantities import e_step, optimal_decoder, optimal_marginal
from toyrd.tables import tabular
from toyrd.train._config import check_real

__all__ = ["EMResult", "em"]


class EMResult(NamedTuple):
    r"""Final tables and the trace of EM.

    elbo, R, D: (2·iters + 1,) values at the start and after every half-step
    (E, M, E, M, …); loglik: ``(iters + 1,)`` :math:`\sum_x p^*(x) \log g(x)` at the start and after
    every M-step.
    """

    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray
    elbo: np.ndarray
    R: np.ndarray
    D: np.ndarray
    loglik: np.ndarray


def em(
    px=None,
    *,
    decoder=None,
    marginal=None,
    encoder=None,
    seed: int = 0,
    n_z: int = 30,
    init_scale: float = 1.0,
    iters: int = 50,
    learn_marginal: bool = True,
) -> EMResult:
    r"""Run ``iters`` EM iterations (E-step then M-step) from a tabular init or given tables.

    px: :math:`p^*(x)` (default: the toy's). decoder ``(n_z, n_x)``, marginal ``(n_z,)``, encoder
    ``(n_x, n_z)``: initial tables; those not given come from
    ``families.tabular.init(seed, n_x, n_z, init_scale)``. learn_marginal: whether the M-step also
    sets :math:`m \leftarrow q`.
    """
    if px is None:
        from toyrd.data import toy_data

        px = toy_data().px
    px = as_distribution("px", px)
    n_x = px.shape[0]
    iters = check_int("iters", iters, 0)
    seed = check_int("seed", seed, 0)
    init_scale = check_real("init_scale", init_scale)
    e = None if encoder is None else as_conditional("encoder", encoder)
    d = None if decoder is None else as_conditional("decoder", decoder)
    m = None if marginal is None else as_distribution("marginal", marginal)
    n_z = (
        m.shape[0]
        if m is not None
        else d.shape[0]
        if d is not None
        else (e.shape[1] if e is not None else check_int("n_z", n_z, 1))
    )
    e0, d0, m0 = tabular.tables(tabular.init(int(seed), n_x, n_z, float(init_scale)), n_x)
    e, d, m = (e0 if e is None else e), (d0 if d is None else d), (m0 if m is None else m)
    if e.shape != (n_x, n_z) or d.shape != (n_z, n_x) or m.shape != (n_z,):
        raise ToyrdError(
            f"tables: shapes encoder {e.shape}, decoder {d.shape}, marginal {m.shape} "
            f"do not match n_x = {n_x}, n_z = {n_z}"
        )

    def point(e, d, m):
        r, dist = F.rate_distortion(px, e, d, m)
        return -(r + dist), r, dist

    def loglik(d, m):
        return float(F.xlogy(px, m @ d).sum())

    trace = [point(e, d, m)]
    ll = [loglik(d, m)]
    for _ in range(int(iters)):
        e = e_step(d, m)
        trace.append(point(e, d, m))
        d = optimal_decoder(px, e)
        if learn_marginal:
            m = optimal_marginal(px, e)
        trace.append(point(e, d, m))
        ll.append(loglik(d, m))
    elbo, r, dist = (np.array(v, dtype=np.float64) for v in zip(*trace))
    return EMResult(e, d, m, elbo, r, dist, np.array(ll, dtype=np.float64))
