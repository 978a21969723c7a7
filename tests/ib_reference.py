"""Independent references for the information-bottleneck frontier (tests/test_ib.py).

Nothing here imports :mod:`toyrd`: the points of encoders are computed from their definitions
with numpy, and the encoders come from solvers that share no code with ``toyrd.quantities``:

* every hard clustering of a small joint (restricted-growth strings, at most ``n_z`` blocks);
* every clustering of a binary-z* joint into at most ``k`` runs of data states sorted by
  p(z* = 0 | x) (for binary z* the best clusterings are such runs);
* random encoders (Dirichlet rows);
* encoders optimised by plain Blahut–Arimoto from random starts (no acceleration, no merging of
  states, many iterations) and by L-BFGS on the IB Lagrangian I(x;z) - β I(z;z*) over softmax
  logits with its exact gradient;
* Mrs Gerber's curve for a binary x seen through a binary symmetric channel.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import softmax, xlogy


def points(pzx, enc):
    """(I(x;z), I(z;z*)) of a stack of encoders (M, n_x, n_z), as (M, 2), nats."""
    pzx = np.asarray(pzx, dtype=np.float64)
    enc = np.asarray(enc, dtype=np.float64)
    px, ps = pzx.sum(0), pzx.sum(1)
    pxz = px[None, :, None] * enc
    q = pxz.sum(1)
    psz = np.einsum("sx,mxz->msz", pzx, enc)
    h_z = -xlogy(q, q).sum(1)
    rate = xlogy(pxz, pxz).sum((1, 2)) - xlogy(px, px).sum() + h_z
    rel = xlogy(psz, psz).sum((1, 2)) - xlogy(ps, ps).sum() + h_z
    return np.stack([rate, rel], axis=1)


def _one_hot(labels, n_z):
    labels = np.asarray(labels)
    enc = np.zeros(labels.shape + (n_z,))
    np.put_along_axis(enc, labels[..., None], 1.0, axis=-1)
    return enc


def all_clusterings(n_x, n_z):
    """Every partition of range(n_x) into at most n_z blocks, as labels (restricted growth)."""
    out = []

    def grow(prefix, used):
        if len(prefix) == n_x:
            out.append(prefix)
            return
        for v in range(min(used + 1, n_z)):
            grow(prefix + [v], max(used, v + 1))

    grow([0], 1)
    return np.array(out)


def hard_points(pzx, n_z):
    """The points of every hard clustering of the data states into at most n_z clusters."""
    labels = all_clusterings(np.shape(pzx)[1], n_z)
    return points(pzx, _one_hot(labels, n_z))


def run_points(pzx, k):
    """Points of every clustering into at most k runs of x sorted by p(z*=0|x) (binary z*)."""
    pzx = np.asarray(pzx, dtype=np.float64)
    n_x = pzx.shape[1]
    order = np.argsort(pzx[0] / pzx.sum(0), kind="stable")
    labels = []
    for c in range(1, k + 1):
        for cuts in itertools.combinations(range(1, n_x), c - 1):
            lab = np.zeros(n_x, dtype=int)
            for cut in cuts:
                lab[order[cut:]] += 1
            labels.append(lab)
    return points(pzx, _one_hot(np.array(labels), k))


def random_points(pzx, n_z, m, rng, concentration=0.3):
    """Points of m random encoders with Dirichlet(concentration) rows."""
    enc = rng.dirichlet(np.full(n_z, concentration), size=(m, np.shape(pzx)[1]))
    return points(pzx, enc)


def blahut_arimoto(pzx, beta, enc, iters):
    """Plain Blahut–Arimoto: e(z|x) ∝ q(z) exp(β Σ_s p(s|x) log p(s|z)), ``iters`` updates."""
    pzx = np.asarray(pzx, dtype=np.float64)
    px = pzx.sum(0)
    ps_x = (pzx / px).T
    for _ in range(iters):
        q = px @ enc
        psz = pzx @ enc
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ps_z = np.where(psz > 0, np.log(psz / q), -745.0)
            logits = np.log(q)[None, :] + beta * (ps_x @ log_ps_z)
        logits -= logits.max(1, keepdims=True)
        new = np.exp(logits)
        new /= new.sum(1, keepdims=True)
        if np.abs(new - enc).max() < 1e-15:
            return new
        enc = new
    return enc


def _lagrangian(theta, pzx, beta, n_x, n_z):
    """I(x;z) - β I(z;z*) of e = softmax(θ) and its gradient in θ."""
    e = softmax(theta.reshape(n_x, n_z), axis=1)
    px, ps = pzx.sum(0), pzx.sum(1)
    q = px @ e
    psz = pzx @ e
    with np.errstate(divide="ignore", invalid="ignore"):
        log_e = np.log(e)
        log_q = np.log(q)
        log_ps_z = np.where(psz > 0, np.log(psz) - log_q, 0.0)
        # ∂I(x;z)/∂e = p(x) log(e/q);  ∂I(z;z*)/∂e = Σ_s p(s,x) log p(s|z)
        g = px[:, None] * np.where(e > 0, log_e - log_q[None, :], 0.0) - beta * (pzx.T @ log_ps_z)
    rate = np.sum(xlogy(px[:, None] * e, e)) - np.sum(xlogy(q, q))
    rel = np.sum(xlogy(psz, psz)) - np.sum(xlogy(q, q)) - np.sum(xlogy(ps, ps))
    grad = e * (g - (e * g).sum(1, keepdims=True))
    return rate - beta * rel, grad.ravel()


def lbfgs(pzx, beta, enc, iters=300):
    """A local minimum of I(x;z) - β I(z;z*) by L-BFGS over softmax logits, from ``enc``."""
    pzx = np.asarray(pzx, dtype=np.float64)
    n_x, n_z = enc.shape
    theta0 = np.maximum(np.log(np.maximum(enc, 1e-300)), -50.0).ravel()
    with np.errstate(over="ignore"):
        res = minimize(
            _lagrangian,
            theta0,
            args=(pzx, beta, n_x, n_z),
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=iters, gtol=1e-11, ftol=1e-15),
        )
    return softmax(res.x.reshape(n_x, n_z), axis=1)


def optimised_points(
    pzx, n_z, betas, rng, *, starts=2, iters=2000, solvers=("ba", "lbfgs"), lbfgs_iters=300
):
    """Points of encoders optimised at each β from ``starts`` random starts by each solver
    (``iters`` plain Blahut–Arimoto updates, ``lbfgs_iters`` L-BFGS iterations)."""
    pzx = np.asarray(pzx, dtype=np.float64)
    n_x = pzx.shape[1]
    encs = []
    for beta in betas:
        for j in range(starts):
            e0 = rng.dirichlet(np.full(n_z, 0.3 if j % 2 else 1.0), size=n_x)
            if "ba" in solvers:
                encs.append(blahut_arimoto(pzx, beta, e0, iters))
            if "lbfgs" in solvers:
                encs.append(lbfgs(pzx, beta, e0, lbfgs_iters))
    return points(pzx, np.stack(encs))


def h2(p):
    """Binary entropy in nats."""
    return -sum(v * math.log(v) for v in (p, 1.0 - p) if v > 0)


def h2_inv(y):
    """The p in [0, 1/2] with h2(p) = y (nats)."""
    if y <= 0:
        return 0.0
    if y >= math.log(2):
        return 0.5
    return brentq(lambda p: h2(p) - y, 0.0, 0.5, xtol=1e-17, rtol=8.9e-16)


def gerber(eps, a, r):
    """Mrs Gerber's bound for x ~ Bern(a), z* = x ⊕ Bern(ε): I(z;z*) ≤ H(z*) - h(ε ⋆ δ) with
    h(δ) = H(x) - I(x;z) (a ⋆ b = a(1-b) + b(1-a)); equal to the frontier where δ ≤ min(a, 1-a)
    (two clusters with p(x=1|z) ∈ {δ, 1-δ} then reach it)."""
    s = a * (1 - eps) + (1 - a) * eps
    d = h2_inv(max(h2(a) - r, 0.0))
    return h2(s) - h2(eps * (1 - d) + d * (1 - eps))
