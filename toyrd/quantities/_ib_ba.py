"""Blahut–Arimoto for the information bottleneck, batched over β and starts (log domain)."""

from __future__ import annotations

import numpy as np

from toyrd.quantities._ib_points import (  # noqa: F401
    LOG_FLOOR,
    MAX_ENTRIES,
    MERGE_TOL,
    ROUND_CYCLES,
    points_of,
)

__all__ = ["ba_params", "ba_map", "merge_states", "ba_runs", "ba_batch", "finite_diff"]


def ba_params(joint, enc):
    """log q(z) (N, K) and log p(s|z) (N, n_s, K) of encoders (N, n_x, K); dead states (q = 0)
    get log q = -inf and log p(s|z) = 0, the others log p(s|z) floored at log of the smallest
    float."""
    px = joint.sum(0)
    q = np.matmul(px, enc)
    psz = np.matmul(joint, enc)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(q)
        log_ps_z = np.log(psz) - log_q[:, None, :]
    np.maximum(log_ps_z, LOG_FLOOR, out=log_ps_z)
    dead = q == 0
    if dead.any():
        log_ps_z[np.broadcast_to(dead[:, None, :], log_ps_z.shape)] = 0.0
    return log_q, log_ps_z


def ba_map(ps_x, log_q, log_ps_z, beta):
    """The update e(z|x) ∝ q(z) exp(β Σ_s p(s|x) log p(s|z)), as (N, n_x, K).

    The dropped factor exp(-β Σ_s p(s|x) log p(s|x)) is constant in z, so this is the IB update
    e ∝ q exp(-β KL(p(s|x) ‖ p(s|z))). Dead states (log q = -inf) stay empty.
    """
    logits = np.matmul(ps_x, log_ps_z)  # (n_x, n_s) · (N, n_s, K)
    logits *= beta[:, None, None]
    logits += log_q[:, None, :]
    logits -= logits.max(-1, keepdims=True)
    new = np.exp(logits, out=logits)
    new /= new.sum(-1, keepdims=True)
    return new


def merge_states(log_q, log_ps_z, enc):
    """Merge the latent states of each run whose log p(s|z) agree to MERGE_TOL (sorted by the
    first coordinate, neighbours compared) and drop dead ones. Returns the encoders with the
    fewest columns that hold every run's merged states, or ``enc`` itself if nothing merges."""
    n, n_x, k = enc.shape
    live = np.isfinite(log_q)
    key = np.where(live, log_ps_z[:, 0, :], np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    lp = np.take_along_axis(log_ps_z, order[:, None, :], axis=2)
    lv = np.take_along_axis(live, order, axis=1)
    same = np.zeros((n, k), dtype=bool)
    same[:, 1:] = (np.abs(np.diff(lp, axis=2)).max(axis=1) <= MERGE_TOL) & lv[:, 1:] & lv[:, :-1]
    group = np.cumsum(~same, axis=1) - 1
    n_groups = np.where(lv, group + 1, 0).max(axis=1)
    k_new = int(max(n_groups.max(), 1))
    if k_new == k:
        return enc
    target = np.empty((n, k), dtype=np.intp)
    np.put_along_axis(target, order, np.where(lv, group, k_new), axis=1)  # dead → a spare column
    idx = (np.arange(n * n_x).reshape(n, n_x, 1) * (k_new + 1) + target[:, None, :]).ravel()
    out = np.bincount(idx, weights=enc.ravel(), minlength=n * n_x * (k_new + 1))
    return out.reshape(n, n_x, k_new + 1)[..., :k_new]


def ba_runs(joint, ps_x, inits, betas, max_iter, tol):
    """Run Blahut–Arimoto from each init (n_x × K_i) at its β. Runs go in batches of similar K
    (at most MAX_ENTRIES encoder entries) for ROUND_CYCLES cycles at a time, then are regrouped
    by the K left after merging, so a batch is not padded to its widest run for long. Returns the
    exact points (N, 2) of the final encoders and their codes ("ba", β, log q, log p(s|z)) over
    the live states, from which the update rebuilds them."""
    n_x = joint.shape[1]
    betas = np.asarray(betas, dtype=np.float64)
    pts = np.empty((len(inits), 2))
    codes = [None] * len(inits)
    queue = [(i, e, 0) for i, e in enumerate(inits)]
    while queue:
        queue.sort(key=lambda item: item[1].shape[1])
        rest, lo = [], 0
        while lo < len(queue):
            hi = lo + 1
            while hi < len(queue) and (hi + 1 - lo) * n_x * queue[hi][1].shape[1] <= MAX_ENTRIES:
                hi += 1
            part = queue[lo:hi]
            enc = np.zeros((len(part), n_x, part[-1][1].shape[1]))
            for j, (_, e, _) in enumerate(part):
                enc[j, :, : e.shape[1]] = e
            idx = np.array([item[0] for item in part])
            used = np.array([item[2] for item in part])
            done, left = ba_batch(joint, ps_x, enc, betas[idx], used, max_iter, tol)
            for j, point, code in done:
                pts[idx[j]], codes[idx[j]] = point, code
            rest += [(idx[j], e, u) for j, e, u in left]
            lo = hi
        queue = rest
    return pts, codes


def ba_batch(joint, ps_x, enc, beta, used, max_iter, tol):
    """Iterate a stack of encoders (N, n_x, K), accelerated by SQUAREM (Varadhan & Roland 2008).

    A cycle takes two plain updates θ0 → θ1 → θ2 of the parameters θ = (log q, log p(s|z)), then
    one update from the extrapolation θ0 - 2α r + α² v (r = θ1 - θ0, v = θ2 - 2θ1 + θ0, α =
    -|r|/|v| ≤ -1; α = -1 is a plain third update); the extrapolated run is kept where its
    Lagrangian I(x;z) - β I(z;z*) is no larger than the plain one's. Any θ gives a valid encoder
    through the update, so every result is an exact point of a real encoder. A run is done when
    no entry moved by ``tol`` in the second plain update of a cycle (θ1 → θ2; the encoder it
    returns is the cycle's last one, the extrapolated or the plain), or when another cycle would
    take it past ``max_iter`` updates (``used`` counts those made before; a run makes at least
    one cycle, 3 updates, even when ``max_iter`` < 3); at the start of every cycle
    interchangeable states are merged
    (:func:`merge_states`). Returns the done runs as (row, point, code) and, after
    ROUND_CYCLES cycles, the others as (row, encoder over its live states, updates used).
    """
    active = np.arange(enc.shape[0])
    done_out = []
    for _ in range(ROUND_CYCLES):
        log_q0, lps0 = ba_params(joint, enc)
        merged = merge_states(log_q0, lps0, enc)
        if merged is not enc:
            enc = merged
            log_q0, lps0 = ba_params(joint, enc)
        e1 = ba_map(ps_x, log_q0, lps0, beta)
        log_q1, lps1 = ba_params(joint, e1)
        e2 = ba_map(ps_x, log_q1, lps1, beta)
        log_q2, lps2 = ba_params(joint, e2)
        moving = np.abs(e2 - e1).reshape(e2.shape[0], -1).max(1)
        live = np.isfinite(log_q2)
        dq1, dq2 = finite_diff(log_q1, log_q0, live), finite_diff(log_q2, log_q1, live)
        dp1, dp2 = lps1 - lps0, lps2 - lps1
        r2 = (dq1**2).sum(1) + (dp1**2).sum((1, 2))
        v2 = ((dq2 - dq1) ** 2).sum(1) + ((dp2 - dp1) ** 2).sum((1, 2))
        alpha = -np.sqrt(np.divide(r2, v2, out=np.ones_like(r2), where=v2 > 0))
        alpha = np.minimum(alpha, -1.0)
        a1, a2 = (-2 * alpha)[:, None], (alpha * alpha)[:, None]
        log_qx = np.where(live, log_q0 + a1 * dq1 + a2 * (dq2 - dq1), -np.inf)
        lpsx = lps0 + a1[..., None] * dp1 + a2[..., None] * (dp2 - dp1)
        e3 = ba_map(ps_x, log_qx, lpsx, beta)
        used = used + 3
        p2, p3 = points_of(joint, e2), points_of(joint, e3)
        take3 = p3[:, 0] - beta * p3[:, 1] <= p2[:, 0] - beta * p2[:, 1]
        enc = np.where(take3[:, None, None], e3, e2)
        done = (moving < tol) | (used + 3 > max_iter)
        if done.any():
            for j in np.flatnonzero(done):
                pre_q, pre_p = (log_qx[j], lpsx[j]) if take3[j] else (log_q1[j], lps1[j])
                lv = np.isfinite(pre_q)
                code = ("ba", float(beta[j]), pre_q[lv].copy(), pre_p[:, lv].copy())
                done_out.append((active[j], p3[j] if take3[j] else p2[j], code))
            keep = ~done
            active, enc, beta, used = active[keep], enc[keep], beta[keep], used[keep]
            if active.size == 0:
                break
    q = np.matmul(joint.sum(0), enc)
    left = [(active[j], enc[j][:, q[j] > 0].copy(), used[j]) for j in range(active.size)]
    return done_out, left


def finite_diff(a, b, live):
    """a - b where ``live``, else 0 (dead states hold -inf)."""
    return np.where(live, a - np.where(live, b, 0.0), 0.0)


# ----------------------------------------------------------------------------- hard clusterings
