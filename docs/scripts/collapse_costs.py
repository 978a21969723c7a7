"""ELBO cost of a code in a decoder family: for a fixed encoder e (with m = q), the least
−ELBO − H = E_q KL(p_e(·|z) ‖ d(·|z)) over the decoder map's parameters (Adam, several starts).

Codes: collapsed (e = uniform), the hand-built z* code (Figure 2a), a two-state logistic split at
the threshold that reaches I_e = 0.5 with the softest slope (the I_e-ascent split), and the final
target-rate encoders of `bump(w0=1)/tabular` (seed 0) and of `bump(w0=2)/bump+free` (seed 0).
Decoders: tabular (0 by construction: d = p_e(x|z)), bump, bump+free.
Usage: python docs/scripts/collapse_costs.py   (a few minutes; prints the table of
docs/robustness.md §1–2 and writes docs/data/collapse_costs.json)
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit

import toyrd
from toyrd.experiments.figure2 import Settings, optimal_model, run_figure2
from toyrd.tables import bin_coordinates

toy = toyrd.toy_data()
px, t = toy.px, bin_coordinates(30)


def bayes_rows(enc):
    pe = px[:, None] * enc
    q = pe.sum(0)
    keep = q > 1e-12
    return (pe[:, keep] / q[keep]).T, q[keep]  # rows p_e(x|z), weights q(z)


def split_code(tau, beta):
    p = expit(beta * (t - tau))
    return np.stack([1 - p, p], 1)


def ie(enc):
    return toyrd.representational_mi(px, enc)


def softest_split():
    def beta_at(tau):
        return brentq(lambda b: ie(split_code(tau, b)) - 0.5, 1.0, 3000.0)

    res = minimize_scalar(beta_at, bounds=(0.35, 0.6), method="bounded")
    return res.x, beta_at(res.x)


def fit(rows, wts, kind, steps=4000):
    import jax
    import jax.numpy as jnp
    import optax

    with jax.enable_x64(True):
        R = jnp.asarray(rows)
        W = jnp.asarray(wts)
        tt = jnp.asarray(t)
        lr_ = jnp.where(R > 0, jnp.log(jnp.where(R > 0, R, 1.0)), 0.0)
        mean = (R * tt).sum(1)
        sd = jnp.sqrt((R * (tt - mean[:, None]) ** 2).sum(1)) + 1e-3

        def logits(p):
            bump = -((p["w"][:, None] * tt[None, :] - p["b"][:, None]) ** 2)
            if kind == "bump":
                return bump
            return jnp.logaddexp(bump, p["a"][:, None] + p["v"][None, :])

        def loss(p):
            ld = jax.nn.log_softmax(logits(p), axis=1)
            return (W * (R * (lr_ - ld)).sum(1)).sum()

        def make_step(opt):
            @jax.jit
            def step(p, s):
                g = jax.grad(loss)(p)
                u, s = opt.update(g, s, p)
                return optax.apply_updates(p, u), s

            return step

        best = np.inf
        for a0 in [None] if kind == "bump" else [-6.0, 0.0, 6.0]:
            w0 = 1.0 / (np.sqrt(2.0) * sd)
            p = {"w": w0, "b": w0 * mean}
            if kind != "bump":
                p["a"] = jnp.full(R.shape[0], a0)
                p["v"] = jnp.log(jnp.asarray(px))
            opt = optax.adam(optax.cosine_decay_schedule(0.05, steps, 0.01))
            s = opt.init(p)
            step = make_step(opt)
            for _ in range(steps):
                p, s = step(p, s)
            best = min(best, float(loss(p)))
        return best


def codes():
    out = {"collapsed": np.full((30, 30), 1 / 30)}
    out["z* code (Figure 2a, hand-built)"] = optimal_model(toy)[0]
    tau, beta = softest_split()
    out[f"two-state split, tau={tau:.3f}, beta={beta:.1f} (softest with I_e=0.5)"] = split_code(
        tau, beta
    )
    out["two-state split at the z* boundary (tau=0.525, I_e=0.5)"] = split_code(
        0.525, brentq(lambda b: ie(split_code(0.525, b)) - 0.5, 1.0, 3000.0)
    )
    for fam in ("bump(w0=1)/tabular", "bump(w0=2)/bump+free"):
        res = run_figure2(Settings(family=fam, n_seeds=1))
        out[f"{fam} target-rate encoder, seed 0"] = res.runs["target_rate"].encoder[0]
    return out


OUT = Path(__file__).resolve().parents[2] / "docs" / "data" / "collapse_costs.json"


def main() -> int:
    rows = []
    for name, enc in codes().items():
        r, w = bayes_rows(enc)
        iz = toyrd.evaluate(px, enc, *toyrd.optimize_generative(px, enc), pzx=toy.pzx)["I_zstar"]
        row = {
            "code": name,
            "I_e": ie(enc),
            "I_zstar": iz,
            "tabular": 0.0,
            "bump": fit(r, w, "bump"),
            "bump+free": fit(r, w, "bump+free"),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("| code | I_e | I(z;z*) | tabular / onehot | bump | bump+free |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['code']} | {r['I_e']:.3f} | {r['I_zstar']:.3f} | 0 | {r['bump']:.2e} "
            f"| {r['bump+free']:.2e} |"
        )
    OUT.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
