"""The remedies' losses and their compiled training (see :mod:`toyrd.experiments.remedies`).

Each :class:`Remedy` is a static, hashable spec; :func:`remedy_loss` is its written loss at
(R, D); :func:`remedy_weights` the stop-gradient weights that route the exact gradients of R and
D so that the surrogate of :func:`remedy_loss_builder` has that loss's gradient (tested against
autodiff); :func:`train_remedies` trains remedies × seeds of one family in one compiled run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toyrd.errors import ToyrdError
from toyrd.train import TrainConfig

__all__ = [
    "KINDS",
    "Remedy",
    "remedy_loss",
    "remedy_loss_builder",
    "remedy_weights",
    "train_remedies",
]

#: The remedy kinds, in display order.
KINDS = (
    "elbo",
    "beta",
    "kl_anneal",
    "kl_cyclic",
    "free_bits",
    "aggressive",
    "info_vae",
    "target",
    "dual",
    "autonomy",
)


class Remedy(NamedTuple):
    """One remedy: ``kind`` (of :data:`KINDS`) and its constants (static, hashable).

    ``value``: β (beta), λ (free_bits), α (info_vae), σ (target, dual, autonomy); ``steps``: the
    annealing length :math:`T_a` (kl_anneal), the cycle length C (kl_cyclic), the aggressive phase
    :math:`T_g`; ``inner``: encoder-only steps per decoder step K (aggressive); ``rho``: ρ (dual).
    """

    name: str
    kind: str
    value: float = 0.0
    steps: int = 0
    inner: int = 0
    rho: float = 0.0


# ----------------------------------------------------------------------------- the losses


def _beta_t(rem: Remedy, t, xp):
    """β_t of the annealing schedules (1 for every other kind)."""
    if rem.kind == "kl_anneal":
        return xp.minimum(1.0, t / rem.steps) if rem.steps > 0 else xp.ones_like(t)
    if rem.kind == "kl_cyclic":
        return xp.minimum(1.0, 2.0 * (t % rem.steps) / rem.steps)
    return xp.ones_like(t)


def _xp(*values):
    for v in values:
        if type(v).__module__.startswith("jax"):
            import jax.numpy as jnp

            return jnp
    return np


def remedy_loss(rem: Remedy, R, D, *, step=0, lam=0.0, I_e=0.0):
    """The loss of remedy ``rem`` at (R, D) (numpy or jax values), as in the module table.

    ``step``: t (annealing schedules); ``lam``: the dual multiplier λ (dual); ``I_e``: the
    representational MI (info_vae). aggressive and autonomy report the ELBO loss D + R (what
    their generative side minimises) — their difference is in the gradient routing.
    """
    xp = _xp(R, D, step, lam, I_e)
    t = xp.asarray(step, dtype=xp.float64) * 1.0
    k = rem.kind
    if k in ("elbo", "aggressive", "autonomy"):
        return D + R
    if k in ("beta",):
        return D + rem.value * R
    if k in ("kl_anneal", "kl_cyclic"):
        return D + _beta_t(rem, t, xp) * R
    if k == "free_bits":
        return D + xp.maximum(rem.value, R)
    if k == "info_vae":
        return D + R - rem.value * I_e
    if k == "target":
        return D + abs(rem.value - R)
    if k == "dual":
        return D + lam * (R - rem.value) + 0.5 * rem.rho * (R - rem.value) ** 2
    raise ToyrdError(f"remedy: {k!r} is not one of {list(KINDS)}")


def remedy_weights(rem: Remedy, R, D, *, step=0, lam=0.0):
    r"""(a, b, c, u): the stop-gradient weights of :math:`\partial_e D`, :math:`\partial_e R`,
    :math:`\partial_d D` and :math:`\partial_m R` in the gradient of remedy ``rem`` at (R, D) (the
    info_vae term :math:`-\alpha\, \partial_e I_e` and the dual's λ term are added
    separately by the surrogate). Values, not traced through: the caller stops their gradient.
    """
    xp = _xp(R, D, step, lam)
    t = xp.asarray(step, dtype=xp.float64) * 1.0
    one = xp.ones_like(R * 1.0)
    k = rem.kind
    if k in ("elbo", "info_vae"):
        return one, one, one, one
    if k == "beta":
        return one, rem.value * one, one, rem.value * one
    if k in ("kl_anneal", "kl_cyclic"):
        b = _beta_t(rem, t, xp) * one
        return one, b, one, b
    if k == "free_bits":
        b = xp.where(R > rem.value, one, 0.0 * one)
        return one, b, one, b
    if k == "target":
        s = xp.sign(R - rem.value) * one
        return one, s, one, s
    if k == "dual":
        b = lam + rem.rho * (R - rem.value)
        return one, b, one, b
    if k == "autonomy":  # the encoder's own loss D + |σ − R|; m and d minimise R + D
        return one, xp.sign(R - rem.value) * one, one, one
    if k == "aggressive":
        enc, gen = _aggressive_phase(rem, t, xp)
        e = xp.where(enc, one, xp.where(gen, 0.0 * one, one))
        g = xp.where(enc, 0.0 * one, one)
        return e, e, g, g
    raise ToyrdError(f"remedy: {k!r} is not one of {list(KINDS)}")


def _aggressive_phase(rem: Remedy, t, xp):
    """(encoder-only step?, generative-only step?) at step t of the aggressive remedy."""
    in_phase = t < rem.steps
    pos = t % (rem.inner + 1)
    return in_phase & (pos < rem.inner), in_phase & (pos >= rem.inner)


def _gate(x, w):
    """Value x, gradient w · ∂x (w a stop-gradient weight)."""
    from jax import lax

    sx = lax.stop_gradient(x)
    return sx + lax.stop_gradient(w) * (x - sx)


def _info(px, le):
    """I_e = Σ_x p*(x) Σ_z e(z|x) [log e(z|x) − log q(z)] from the log-encoder (jax)."""
    import jax.numpy as jnp

    from toyrd import _formulas as F

    pe = px[:, None] * jnp.exp(le)
    q = pe.sum(0)
    return F.mul_log(pe, le).sum() - F.mul_log(q, jnp.log(q)).sum()


def remedy_loss_builder(key, family, n_x: int):
    """Loss builder for :func:`toyrd.train.jax.train_configs` (``takes_step``, ``update_mask``).

    ``key`` = (remedy tuple, encoder leaf names); a row's ``hyper`` is its remedy's index.
    ``f(params, hyper, px, step) -> (surrogate, (loss, R, D))`` with the gradient routing of
    the module docstring; ``family`` is the dual-augmented family (:func:`_with_dual`).
    """
    import jax.numpy as jnp
    from jax import lax

    from toyrd import _formulas as F

    rems, _ = key

    def f(params, hyper, px, step):
        le, ld, lm = family.logs(params, n_x)
        t = step.astype(px.dtype)
        idx = hyper.astype(jnp.int32)
        lam = params["dual"]
        r, d = F.rate_distortion_log(px, le, ld, lm)
        r0, d0, lam0 = lax.stop_gradient(r), lax.stop_gradient(d), lax.stop_gradient(lam)
        w = jnp.stack([jnp.stack(remedy_weights(m, r0, d0, step=t, lam=lam0)) for m in rems])
        a, b, c, u = w[idx]
        _, d_s = F.rate_distortion_log(px, _gate(le, a), _gate(ld, c), lax.stop_gradient(lm))
        r_s, _ = F.rate_distortion_log(px, _gate(le, b), lax.stop_gradient(ld), _gate(lm, u))
        kinds = [m.kind for m in rems]
        ie = _info(px, le) if "info_vae" in kinds else jnp.zeros_like(r)
        alpha = jnp.asarray([m.value if m.kind == "info_vae" else 0.0 for m in rems])[idx]
        sigma = jnp.asarray([m.value if m.kind == "dual" else 0.0 for m in rems])[idx]
        is_dual = jnp.asarray([m.kind == "dual" for m in rems])[idx]
        surrogate = d_s + r_s - alpha * ie - jnp.where(is_dual, lam * (r0 - sigma), 0.0)
        losses = jnp.stack(
            [remedy_loss(m, r, d, step=t, lam=lam0, I_e=lax.stop_gradient(ie)) for m in rems]
        )
        loss = lax.stop_gradient(losses[idx])
        return surrogate, (loss, r, d)

    return f


def _update_mask(key, family, n_x: int):
    """Per-leaf update weights: the aggressive rows freeze the side that does not train."""
    import jax.numpy as jnp

    rems, enc_leaves = key

    def w(params, hyper, step):
        t = step.astype(jnp.float64) * 1.0
        idx = hyper.astype(jnp.int32)
        enc = jnp.ones(len(rems))
        gen = jnp.ones(len(rems))
        for i, m in enumerate(rems):
            if m.kind == "aggressive":
                e_only, g_only = _aggressive_phase(m, t, jnp)
                enc = enc.at[i].set(jnp.where(g_only, 0.0, 1.0))
                gen = gen.at[i].set(jnp.where(e_only, 0.0, 1.0))
        return {
            k: (enc[idx] if k in enc_leaves else gen[idx]) * jnp.ones((), v.dtype)
            for k, v in params.items()
        }

    return w


remedy_loss_builder.takes_step = True
remedy_loss_builder.update_mask = _update_mask


# ----------------------------------------------------------------------------- training


_DUAL_FAMILIES: dict = {}


def _with_dual(family):
    """The family with one more parameter leaf, ``"dual"`` (the multiplier λ, initial 0), that
    its tables ignore; cached, so the compiled run of a family is built once per process."""
    from toyrd.tables import Family, get_family

    base = get_family(family)
    if base.name in _DUAL_FAMILIES and _DUAL_FAMILIES[base.name][0] is base:
        return _DUAL_FAMILIES[base.name][1]

    def strip(p):
        return {k: v for k, v in p.items() if k != "dual"}

    def init(seed, n_x, n_z, scale):
        return {**base.init(seed, n_x, n_z, scale), "dual": np.zeros(())}

    def log_tables(p, n_x):
        return base.logs(strip(p), n_x)

    fam = Family(base.name, init, lambda p, n_x: base.tables(strip(p), n_x), log_tables)
    _DUAL_FAMILIES[base.name] = (base, fam)
    return fam


def _encoder_leaves(family, n_x: int, n_z: int) -> tuple:
    """Names of the parameter leaves the log-encoder depends on (found by a gradient probe)."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        p0 = {k: jnp.asarray(v) for k, v in family.init(0, n_x, n_z, 1.0).items()}
        w = jnp.asarray(np.random.default_rng(0).standard_normal((n_x, n_z)))
        g = jax.grad(lambda p: (family.logs(p, n_x)[0] * w).sum())(p0)
        g = {k: np.asarray(v) for k, v in g.items()}
    return tuple(sorted(k for k, v in g.items() if np.any(v != 0)))


def train_remedies(
    rems, family, *, config: TrainConfig, seeds, px, pzx=None, progress: bool = False, rows=None
):
    """Train every remedy of ``rems`` × every seed of ``seeds`` in ONE compiled run of
    ``family``; rows are remedy-major. Returns the :class:`toyrd.train.jax.TrainResult`
    (its ``params["dual"]`` holds each row's final multiplier λ).

    ``rows``: (remedy index, seed) pairs to train instead (in that order), e.g. a sample of a
    grid; the compiled loss still knows every remedy of ``rems``, so a row trained here equals
    the same row trained among all the others."""
    from toyrd.train.jax import train_configs

    rems = tuple(rems)
    fam = _with_dual(family)
    n_x = int(np.asarray(px).shape[0])
    key = (rems, _encoder_leaves(fam, n_x, config.n_z))
    base = config._replace(family=fam)
    if rows is None:
        rows = [(i, s) for i in range(len(rems)) for s in seeds]
    configs = [base._replace(hyper=float(i), seed=int(s)) for i, s in rows]
    return train_configs(
        configs, px=px, pzx=pzx, progress=progress, loss_builder=remedy_loss_builder, loss_key=key
    )
