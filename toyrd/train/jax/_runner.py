r"""The compiled JAX run: losses of the fast and generic paths, and the jitted ``lax.scan``.

Two paths compute the same numbers (tested to 1e-9 over a 300-step run):

* fast (built-in objectives, families with ``logits``): parameters stored batch-last (each leaf
  ``(..., B)``) so sums over x and z run across contiguous rows of B models; one exp per logit
  shared by log_softmax and softmax; the gradient w.r.t. the logits in closed form
  (:func:`rd_batch_last`, a ``jax.custom_vjp``; :func:`rd_from_logits` is its public,
  batch-first form);
* generic (a custom ``loss_builder``, e.g. autonomy and Figure 2; families without ``logits``):
  the per-row loss vmapped batch-first, autodiff.

Step-dependent losses (KL annealing, alternating phases, remedies of ``toyrd remedies``): a loss
builder with the attribute ``takes_step = True`` returns ``f(params, hyper, px, step)``, where
``step`` is the int32 index of the Adam step after the warm-up (0, 1, …, steps − 1; the history
entry of chunk k is evaluated at step k·stride, the final one at ``steps``). A builder may also
carry ``update_mask(loss_key, family, n_x) -> w(params, hyper, step)``: a pytree like one row's
params of scalar weights that multiply that row's Adam update (0 freezes a leaf for the step,
so its momentum does not move it either). Builders without these attributes run as before.

Adam (optax) runs on the batched parameter pytree: Adam is elementwise, so one Adam over the batch
is B independent Adams, and the gradient of :math:`\sum_b \mathrm{loss}_b` is the per-row
gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from toyrd import _formulas as F
from toyrd._backend import jit
from toyrd.objectives import loss_from_rd
from toyrd.tables import Family
from toyrd.train._config import LR_FLOOR, TrainConfig
from toyrd.train.jax._progress import tick

__all__ = [
    "objective_loss_fn",
    "rd_from_logits",
    "rd_batch_last",
    "is_fast",
    "compiled_run",
    "adam",
    "MIXED_ADAM",
]


def objective_loss_fn(kind: str, family: Family, n_x: int) -> Callable:
    """``f(params, hyper, px) -> (loss, (loss, R, D))`` for one row (unbatched) of objective
    ``kind``.

    The generic path (families without ``logits``; the fast path computes the same numbers).
    """

    def f(params, hyper, px):
        r, d = F.rate_distortion_log(px, *family.logs(params, n_x))
        loss = loss_from_rd(kind, r, d, hyper)
        return loss, (loss, r, d)

    return f


def _lsm(a, axis):
    """(log softmax, softmax) of ``a`` along ``axis`` from ONE exp per entry (max-shifted)."""
    import jax.numpy as jnp
    from jax import lax

    s = a - lax.stop_gradient(a.max(axis, keepdims=True))
    ex = jnp.exp(s)
    z = ex.sum(axis, keepdims=True)
    return s - jnp.log(z), ex * (1.0 / z)


def rd_from_logits(px, enc_logits, dec_logits, mar_logits):
    """Exact (R, D) in nats from logits, with the trainer's closed-form gradient.

    Args:
        px: :math:`p^*(x)`, shape ``(n_x,)``.
        enc_logits: encoder logits, shape ``(..., n_x, n_z)`` (softmax over z gives :math:`e(z|x)`).
        dec_logits: decoder logits, shape ``(..., n_z, n_x)`` (softmax over x gives :math:`d(x|z)`).
        mar_logits: marginal logits, shape ``(..., n_z)`` (softmax gives :math:`m(z)`).

    Any leading (batch) axes, the same for the three, give R and D of that shape; none give
    scalars. Differentiable with ``jax.grad`` (the gradient of :func:`rd_batch_last`, the
    trainer's fast path). Needs the ``jax`` extra.

    >>> import jax, numpy as np, toyrd
    >>> from toyrd.train.jax import rd_from_logits
    >>> toy = toyrd.toy_data()
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(30, 30)), rng.normal(size=(30, 30))
    >>> c = rng.normal(size=30)
    >>> with jax.enable_x64(True):
    ...     r, d = rd_from_logits(toy.px, a, b, c)
    >>> e, dd, m = (np.exp(v - v.max(-1, keepdims=True)) for v in (a, b, c))
    >>> e, dd = e / e.sum(1, keepdims=True), dd / dd.sum(1, keepdims=True)
    >>> m = m / m.sum()
    >>> out = toyrd.evaluate(toy.px, e, dd, m)
    >>> bool(abs(float(r) - out["R"]) < 1e-12 and abs(float(d) - out["D"]) < 1e-12)
    True
    """
    import jax.numpy as jnp

    a, b, c = (jnp.asarray(v) for v in (enc_logits, dec_logits, mar_logits))
    lead = c.shape[:-1]
    if a.ndim < 2 or b.ndim < 2 or a.shape[:-2] != lead or b.shape[:-2] != lead:
        from toyrd.errors import ToyrdError

        raise ToyrdError(
            "rd_from_logits: enc_logits (..., n_x, n_z), dec_logits (..., n_z, n_x) and "
            f"mar_logits (..., n_z) need the same leading axes; got {a.shape}, {b.shape}, "
            f"{c.shape}"
        )

    def last(v, k):  # (..., *k trailing axes) -> (*k axes, B)
        v = v.reshape((-1,) + v.shape[v.ndim - k :])
        return jnp.moveaxis(v, 0, -1)

    r, d = rd_batch_last()(jnp.asarray(px), last(a, 2), last(b, 2), last(c, 1))
    return r.reshape(lead), d.reshape(lead)


@functools.cache
def rd_batch_last():
    r"""``rd(px, a, b, c) -> (R, D)`` from batch-last logits, with a closed-form gradient (the
    trainer's fast path; :func:`rd_from_logits` is the batch-first form).

    Shapes: px ``(n_x,)``, a ``(n_x, n_z, B)`` encoder logits (softmax over z, axis 1),
    b ``(n_z, n_x, B)`` decoder logits (softmax over x, axis 1), c ``(n_z, B)`` marginal logits
    (axis 0); R, D ``(B,)``. Forward: :func:`toyrd._formulas.rate_distortion_log` on
    (log_softmax, softmax) sharing one exp. Gradient (``jax.custom_vjp``, cotangents
    :math:`\bar g_R, \bar g_D`; :math:`p_e = p^* e`, :math:`q = \sum_x p_e`):

    .. math::

        \partial / \partial a = p_e \odot (f - \textstyle\sum_z e f), \quad
        f = \bar g_R (\log e - \log m) - \bar g_D \log d(x|z)

        \partial / \partial b = \bar g_D\, (q(z)\, d(x|z) - p_e(x, z))

        \partial / \partial c = \bar g_R\, (m \textstyle\sum_x p^* - q)
        \quad (\textstyle\sum_z q = \sum_x p^*, \text{ as } \sum_z e = 1)

    (the softmax Jacobians applied by hand: no second pass of exps, no log of a table); px gets
    no gradient (a zero cotangent). Checked against autodiff of the log-domain formula and
    against finite differences in ``tests/train/test_train_jax.py``.
    """
    import jax

    def fwd(px, a, b, c):
        (le, e), (ld, d), (lm, m) = _lsm(a, 1), _lsm(b, 1), _lsm(c, 0)
        return F.rate_distortion_log(px, le, ld, lm, enc=e), (px, e, d, m, le, ld, lm)

    @jax.custom_vjp
    def rd(px, a, b, c):
        return fwd(px, a, b, c)[0]

    def bwd(res, g):
        px, e, d, m, le, ld, lm = res
        gr, gd = g
        pe = px[:, None, None] * e
        q = pe.sum(0)
        f = gr * (le - lm[None]) - gd * ld.transpose(1, 0, 2)
        ga = pe * (f - (e * f).sum(1, keepdims=True))
        gb = gd * (q[:, None] * d - pe.transpose(1, 0, 2))
        gc = gr * (m * px.sum() - q)  # Σ_z q = Σ_x p*(x): a scalar, not a pass over pe
        return None, ga, gb, gc

    rd.defvjp(fwd, bwd)
    return rd


def is_fast(loss_builder, family: Family) -> bool:
    """The fast path: a built-in objective (no custom loss builder) and a family with logits."""
    return loss_builder is None and family.logits is not None


def _fast_losses(loss_key, family: Family, n_x: int):
    """(batched loss, generative loss) of the fast path: batch-last parameters, closed-form
    gradient through :func:`rd_batch_last`."""
    import jax
    from jax import lax

    rd = rd_batch_last()
    logits = jax.vmap(lambda p: family.logits(p, n_x), in_axes=-1, out_axes=-1)

    def batched(params, hyper, px):
        r, d = rd(px, *logits(params))
        loss = loss_from_rd(loss_key, r, d, hyper)
        return loss, (loss, r, d)

    def generative_total(params, px):  # m and d minimise R + D; the encoder is held fixed
        a, b, c = logits(params)
        r, d = rd(px, lax.stop_gradient(a), b, c)
        return (r + d).sum()

    return batched, generative_total


def _generic_losses(loss_builder, loss_key, family: Family, n_x: int):
    """(batched loss, generative loss) of the generic path: the per-row loss vmapped batch
    first, autodiff."""
    import jax
    from jax import lax

    loss_fn = (objective_loss_fn if loss_builder is None else loss_builder)(loss_key, family, n_x)
    takes_step = getattr(loss_builder, "takes_step", False)
    batched = jax.vmap(loss_fn, in_axes=(0, 0, None) + ((None,) if takes_step else ()))

    def generative_total(params, px):  # m and d minimise R + D; the encoder is held fixed
        def one(p):
            le, ld, lm = family.logs(p, n_x)
            r, d = F.rate_distortion_log(px, lax.stop_gradient(le), ld, lm)
            return r + d

        return jax.vmap(one)(params).sum()

    return batched, generative_total


def adam(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    r"""Adam as an optax ``GradientTransformation`` with optax's state (``ScaleByAdamState``), the
    bias corrections applied as two scalars per step.

    ``lr``: a number or a schedule ``lr(count)`` (count = 0 at the first update, as in
    ``optax.adam``). Update: :math:`-\mathrm{lr}(t - 1)\, c_1 \mu / (\sqrt\nu\, s_2 + \epsilon)`
    with :math:`c_1 = 1 / (1 - b_1^t)` and :math:`s_2 = 1 / \sqrt{1 - b_2^t}` at step
    t = 1, 2, …: optax's :math:`\hat\mu / (\sqrt{\hat\nu} + \epsilon)` in exact arithmetic, with one
    division and one square root per entry where optax's form takes three divisions (XLA does
    not turn division by a scalar into a multiplication). Agrees with ``optax.adam`` to rounding
    (tests/train/test_train_jax.py). With :math:`\sum_z q = \sum_x p^*` in :func:`rd_batch_last` and
    the XLA option of :func:`toyrd._backend.jit`, a float32 step of 64 toy models went from 3.6 to
    2.5 µs per model-step (one thread; 3.3 µs with the option alone).
    """
    import jax
    import jax.numpy as jnp
    import optax

    schedule = lr if callable(lr) else (lambda count: lr)

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=zeros, nu=zeros)

    def update(grads, state, params=None):
        del params
        t = state.count + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * (g * g), state.nu, grads)

        def step(m, v):
            tt = t.astype(m.dtype)
            scale = -schedule(state.count) / (1 - b1**tt)  # −lr · c₁
            return scale.astype(m.dtype) * m / (jnp.sqrt(v) * (1 / jnp.sqrt(1 - b2**tt)) + eps)

        return jax.tree.map(step, mu, nu), optax.ScaleByAdamState(count=t, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def _adam(lr, config: TrainConfig, offset: int = 0):
    """:func:`adam` of ``config`` (its cosine schedule, if any, read ``offset`` steps on)."""
    import optax

    if config.schedule == "cosine":
        cosine = optax.cosine_decay_schedule(lr, config.steps, alpha=LR_FLOOR)
        lr = cosine if not offset else (lambda count: cosine(count + offset))
    return adam(lr, b1=config.b1)


#: dtype="mixed": how Adam enters the float64 phase — "carry" (the float32 moments cast up, the
#: step count kept) or "reset" (fresh moments, bias correction restarted; the cosine schedule
#: continues where the float32 phase left it). Measured on the toy (64 seeds, 2000 steps, last
#: 200 in float64): "carry" ends where float32 does (ELBO gap max 9.1e-10, as float64's 8.9e-10);
#: "reset" closes the bound to 1e-15 (its first, bias-corrected steps are full-size moves at the
#: small final lr). Hence "reset".
MIXED_ADAM = "reset"


def _phases(config: TrainConfig) -> list:
    """[(dtype name, number of history chunks)] of a run: one phase, or float32 then float64."""
    n_chunks = config.steps // config.history_stride
    if config.dtype != "mixed":
        return [(config.dtype, n_chunks)]
    k64 = config.f64_steps // config.history_stride
    return [(name, k) for name, k in (("float32", n_chunks - k64), ("float64", k64)) if k]


def _cast(tree, dtype):
    """Floating leaves of ``tree`` as ``dtype`` (Adam's integer step count left alone)."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(
        lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree
    )


def compiled_run(
    config: TrainConfig,
    family: Family,
    n_x: int,
    loss_builder=None,
    loss_key=None,
    progress: bool = False,
):
    """The jitted run ``run(params, hyper, px, lr, token) -> (params, (loss, R, D) history)``
    for one static configuration (cached: a second call does not recompile).

    ``config``: a validated :class:`~toyrd.train.TrainConfig` whose row fields (hyper, seed,
    init_scale) are ignored. ``loss_builder=None``: the objective ``config.objective`` (or
    ``loss_key``) through the fast path when :func:`is_fast`, with parameters stored batch-last
    (each leaf ``(..., B)``); otherwise the builder's (or the objective's) per-row loss, vmapped,
    batch first. ``token``: the :class:`RunProgress` token its progress callback reports to.
    Inputs: float64 for ``dtype`` "float64" and "mixed" (a mixed run casts them to float32 for
    its first phase), float32 for "float32"; the history comes back float64 for "mixed".
    """
    static = config._replace(hyper=None, seed=0, init_scale=0.0, family=family.name)
    if static.dtype != "mixed":
        static = static._replace(f64_steps=0)
    key = config.objective if loss_key is None else loss_key
    return _build(static, family, n_x, loss_builder, key, bool(progress), MIXED_ADAM)


@functools.lru_cache(maxsize=32)
def _build(
    config: TrainConfig,
    family: Family,
    n_x: int,
    loss_builder,
    key,
    progress: bool,
    mixed_adam: str,
):
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    if is_fast(loss_builder, family):
        batched, generative_total = _fast_losses(key, family, n_x)
    else:
        batched, generative_total = _generic_losses(loss_builder, key, family, n_x)

    takes_step = getattr(loss_builder, "takes_step", False)
    mask_builder = getattr(loss_builder, "update_mask", None)
    mask = (
        None
        if mask_builder is None
        else jax.vmap(mask_builder(key, family, n_x), in_axes=(0, 0, None))
    )

    def loss_at(params, hyper, px, t):  # the builder's loss, with the step when it takes one
        return batched(params, hyper, px, t) if takes_step else batched(params, hyper, px)

    def total(params, hyper, px, t):
        surrogate, aux = loss_at(params, hyper, px, t)
        return surrogate.sum(), aux

    grad = jax.grad(total, has_aux=True)
    warm_grad = jax.grad(generative_total)
    stride = config.history_stride
    phases = _phases(config)

    def run(params, hyper, px, lr, token):
        state, hists, done = None, [], 0
        for name, n_chunks in phases:
            dt = jnp.dtype(name)
            params, h, p_, lr_ = (_cast(a, dt) for a in (params, hyper, px, lr))
            reset = state is None or mixed_adam == "reset"
            opt = _adam(lr_, config, offset=done * stride if reset else 0)
            state = opt.init(params) if reset else _cast(state, dt)

            def step(carry, t, opt=opt, h=h, p_=p_):
                p, s = carry
                g, _ = grad(p, h, p_, t)
                upd, s = opt.update(g, s, p)
                if mask is not None:  # per-row weights (B,) on batch-first leaves (B, ...)
                    upd = jax.tree.map(
                        lambda u, w: u * w.reshape(w.shape + (1,) * (u.ndim - 1)).astype(u.dtype),
                        upd,
                        mask(p, h, t),
                    )
                return (optax.apply_updates(p, upd), s), None

            def chunk(carry, k, step=step, h=h, p_=p_):
                _, aux = loss_at(carry[0], h, p_, k * stride)
                ts = k * stride + jnp.arange(stride, dtype=jnp.int32)
                carry, _ = lax.scan(step, carry, ts)
                if progress:
                    jax.debug.callback(tick, token, k)
                return carry, aux

            if config.warmup and not done:
                warm_opt = adam(lr_, b1=config.b1)

                def warm_step(carry, _, p_=p_, warm_opt=warm_opt):
                    p, s = carry
                    upd, s = warm_opt.update(warm_grad(p, p_), s, p)
                    return (optax.apply_updates(p, upd), s), None

                (params, _), _ = lax.scan(
                    warm_step, (params, warm_opt.init(params)), None, length=config.warmup
                )
            (params, state), hist = lax.scan(
                chunk, (params, state), jnp.arange(done, done + n_chunks, dtype=jnp.int32)
            )
            hists.append(hist)
            done += n_chunks
        _, last = loss_at(params, h, p_, jnp.asarray(config.steps, jnp.int32))
        out_dt = last[0].dtype
        hist = tuple(
            jnp.concatenate([hh[i].astype(out_dt).T for hh in hists] + [x[:, None]], axis=1)
            for i, x in enumerate(last)
        )
        return params, hist

    return jit(run)
