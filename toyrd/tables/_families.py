"""Model families: maps from a parameter pytree (a dict of arrays) to the three tables.

A family is a :class:`Family` with

* ``init(seed, n_x, n_z, scale) -> dict`` of float64 numpy arrays (reproducible from the seed),
* ``tables(params, n_x) -> (encoder, decoder, marginal)`` (``n_x`` static: the bump family
  cannot read it off its parameter shapes), written once for numpy, jax.numpy and
  torch (the softmax dispatches on the array type), so every trainer shares the same map;
* optionally ``log_tables(params, n_x) -> (log e, log d, log m)`` by ``log_softmax`` of the same
  logits: finite wherever the logits are, even where ``tables`` underflows to an exact 0
  (bump slopes with logit gaps > ~745). :meth:`Family.logs` returns them, or the log of
  ``tables`` for a family built without them. The JAX trainer's loss uses :meth:`Family.logs`
  with :func:`toyrd._formulas.rate_distortion_log`;
* optionally ``logits(params, n_x) -> (enc logits (n_x, n_z), dec logits (n_z, n_x), mar logits
  (n_z,))`` when the tables are the softmax over the last axis of these: the JAX trainer then
  takes its fast path (one shared exp per entry, closed-form gradient w.r.t. the logits).

Built in:

``tabular``
    Free logits: ``enc_logits`` (n_x, n_z), ``dec_logits`` (n_z, n_x), ``mar_logits`` (n_z).
    The paper's "very flexible nonparametric" reading; every table is reachable.

``bump`` (paper Appendix E)
    e(z_i|x_j) ∝ exp[-(w^e_i t_j - b^e_i)²], d(x_j|z_i) ∝ exp[-(w^d_i t_j - b^d_i)²],
    m(z_i) = softmax(π)_i: 2K + 2K + K parameters. The paper calls x_j one-hot, which would make
    w_i·x_j pick one weight per bin and the family no longer "of the same form" with 2K
    parameters; toyrd reads x_j as the scalar bin coordinate t_j = (j + 1/2)/n_x ∈ (0, 1), so
    each latent state is a Gaussian bump over the bins centred at b_i/w_i with width ~1/|w_i|.
    (Also the paper's sign erratum is fixed: the minus belongs inside the exponent.)

Users plug in their own family with ``Family(name, init, tables)`` (``log_tables`` and ``logits``
optional).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from toyrd._backend import backend, log, log_softmax, softmax
from toyrd.errors import ToyrdError

__all__ = ["Family", "FAMILIES", "get_family", "tabular", "bump", "softmax", "log_softmax",
           "bin_coordinates"]


class Family(NamedTuple):
    """A model family: a seeded initialiser, a parameter → tables map and (optionally) the
    parameter → log-tables map (``None``: derived as the log of ``tables``)."""

    name: str
    init: Callable[..., dict]
    tables: Callable[[dict, int], tuple]
    log_tables: Callable[[dict, int], tuple] | None = None
    logits: Callable[[dict, int], tuple] | None = None

    def logs(self, params, n_x):
        """(log e, log d, log m): ``log_tables`` if given, else the log_softmax of ``logits`` if
        given, else the log of ``tables``."""
        if self.log_tables is not None:
            return self.log_tables(params, n_x)
        if self.logits is not None:
            return tuple(log_softmax(a, -1) for a in self.logits(params, n_x))
        return tuple(log(t) for t in self.tables(params, n_x))


def bin_coordinates(n_x: int, like=None):
    """t_j = (j + 1/2) / n_x, the scalar coordinate of bin j (as the array type of ``like``)."""
    t = (np.arange(n_x) + 0.5) / n_x
    if like is None:
        return t
    mod = backend(like)
    if mod in ("jax", "jaxlib"):
        import jax.numpy as jnp

        return jnp.asarray(t, dtype=like.dtype)
    if mod == "torch":
        import torch

        return torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.astype(like.dtype)


# ----------------------------------------------------------------------------- tabular


def _tabular_init(seed: int = 0, n_x: int = 30, n_z: int = 30, scale: float = 1.0) -> dict:
    """Logits ~ N(0, scale²), independently per entry."""
    rng = np.random.default_rng(seed)
    return {
        "enc_logits": scale * rng.standard_normal((n_x, n_z)),
        "dec_logits": scale * rng.standard_normal((n_z, n_x)),
        "mar_logits": scale * rng.standard_normal(n_z),
    }


def _tabular_tables(params, n_x=None):
    return (softmax(params["enc_logits"], -1), softmax(params["dec_logits"], -1),
            softmax(params["mar_logits"], -1))


def _tabular_logits(params, n_x=None):
    return params["enc_logits"], params["dec_logits"], params["mar_logits"]


def _tabular_log_tables(params, n_x=None):
    return tuple(log_softmax(a, -1) for a in _tabular_logits(params))


tabular = Family("tabular", _tabular_init, _tabular_tables, _tabular_log_tables, _tabular_logits)


# ----------------------------------------------------------------------------- Appendix E bumps


def _bump_init(seed: int = 0, n_x: int = 30, n_z: int = 30, scale: float = 1.0) -> dict:
    """Bump centres c ~ U(0, 1), slopes w = 3 · exp(scale·N(0,1)/2), b = w·c; π ~ N(0, scale²).

    ``scale`` = 0 gives identical broad bumps (logit range w² = 9 over the bins, so the initial
    rate is small) and a uniform marginal; larger scales spread widths and marginal. Slopes stay
    far below the float64 softmax underflow (logit gaps > ~745 would make table entries exactly 0
    and D infinite) at initialisation; training can still grow them.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for part in ("enc", "dec"):
        centres = rng.uniform(0.0, 1.0, n_z)
        w = 3.0 * np.exp(0.5 * scale * rng.standard_normal(n_z))
        out[f"{part}_w"], out[f"{part}_b"] = w, w * centres
    out["mar_logits"] = scale * rng.standard_normal(n_z)
    return out


def _bump_logits(w, b, t):
    return -((w[:, None] * t[None, :] - b[:, None]) ** 2)  # (n_z, n_x)


def _bump_all_logits(params, n_x):
    t = bin_coordinates(int(n_x), like=params["enc_w"])
    return (_bump_logits(params["enc_w"], params["enc_b"], t).T,  # (n_x, n_z): over z for each x
            _bump_logits(params["dec_w"], params["dec_b"], t),  # (n_z, n_x): over x for each z
            params["mar_logits"])


def _bump_tables(params, n_x):
    return tuple(softmax(a, -1) for a in _bump_all_logits(params, n_x))


def _bump_log_tables(params, n_x):
    return tuple(log_softmax(a, -1) for a in _bump_all_logits(params, n_x))


bump = Family("bump", _bump_init, _bump_tables, _bump_log_tables, _bump_all_logits)

FAMILIES = {"tabular": tabular, "bump": bump}


def get_family(family) -> Family:
    """A :class:`Family` by name ("tabular", "bump") or the Family itself."""
    if isinstance(family, Family):
        return family
    try:
        return FAMILIES[family]
    except KeyError:
        raise ToyrdError(f"family: {family!r} is not one of {sorted(FAMILIES)}") from None
