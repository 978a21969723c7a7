# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Remedies for posterior collapse, by hand
#
# Lesson 3 showed the ELBO's flat valley: once $m$ and $d$ are optimal for the encoder,
# $R + D = H$ whatever the encoder is, so the ELBO loss $D + R$ equals $H$ at *every* rate. A
# model that starts near the collapsed code ($R \approx 0$) has no reason to leave it. The field
# has proposed many fixes; `toyrd remedies` trains ten of them on the exact toy. This lesson walks
# through three by hand — **KL annealing**, **free bits** and a **constrained rate by dual
# ascent** — first as curves on the line $D = H - R$, then as trained models.
#
# On that line each remedy's loss is a function of $R$ alone:
#
# | remedy | loss | on $D = H - R$ |
# |---|---|---|
# | ELBO | $D + R$ | $H$ (flat) |
# | KL annealing at weight $\beta_t$ | $D + \beta_t R$ | $H - (1 - \beta_t) R$ |
# | free bits $\lambda$ | $D + \max(\lambda, R)$ | $H - R + \max(\lambda, R)$ |
# | aug. Lagrangian | $D + \lambda c + \rho c^2/2$ | $H-\lambda\sigma+(\lambda-1)R+\rho c^2/2$ |
#
# (with $c = R - \sigma$ the constraint).
#
# The folded setup cell imports the libraries and sets the training: every run starts near
# collapse (initial scale 0.01) with 300 warm-up steps, then 3000 steps for 8 seeds, or 800 steps
# for 2 seeds in fast mode (`TOYRD_FAST=1`, which the site build uses).

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np

import toyrd
from toyrd.experiments import model_metrics
from toyrd.experiments import remedies as rm
from toyrd.plot import Table, show

FAST = os.environ.get("TOYRD_FAST") == "1"
SEEDS = list(range(2 if FAST else 8))
STEPS = 800 if FAST else 3000
toy = toyrd.toy_data()
H = toy.entropy
config = toyrd.train.TrainConfig(objective="remedies", steps=STEPS, warmup=300, init_scale=0.01)

# %% [markdown]
# ## The losses on the line $D = H - R$
#
# `rm.remedy_loss` is the formula each remedy trains with. Evaluate it along the line: KL
# annealing tilts the valley towards high rate while $\beta_t < 1$; free bits makes every rate
# below $\lambda$ cost as much as $\lambda$ itself, so only $D$ acts there and pushes the rate up;
# the augmented Lagrangian at its KKT multiplier $\lambda^* = 1$ is a bowl centred at $\sigma$.

# %%
r = np.linspace(0.0, H, 301)
d = H - r
curves = {
    "ELBO": rm.remedy_loss(rm.Remedy("elbo", "elbo"), r, d),
    "KL annealing, β_t = 0.5": rm.remedy_loss(
        rm.Remedy("a", "kl_anneal", steps=100), r, d, step=50
    ),
    "free bits λ = 0.5": rm.remedy_loss(rm.Remedy("f", "free_bits", 0.5), r, d),
    "dual, λ = 1, ρ = 4, σ = 0.5": rm.remedy_loss(
        rm.Remedy("g", "dual", 0.5, rho=4.0), r, d, lam=1.0
    ),
}
# Each loss minus H, so the ELBO is the zero line; the y range is the ±1 nat the effects live in
# (the dual's bowl leaves it far from σ). The ELBO is drawn last, dashed, over free bits, which
# equals it above λ.
STYLE = {
    "ELBO": {"color": "k", "ls": "--", "lw": 1.6, "zorder": 5},
    "free bits λ = 0.5": {"color": "C1", "lw": 4, "alpha": 0.6},
}
fig, ax = plt.subplots(figsize=(7, 3.6))
for name, y in sorted(curves.items(), key=lambda kv: kv[0] == "ELBO"):
    ax.plot(r, y - H, label=name, **STYLE.get(name, {"lw": 1.6}))
ax.set(xlabel="rate R on D = H − R (nats)", ylabel="loss − H (nats)", ylim=(-1.6, 1.0))
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
plt.show()

# %% tags=["check"]
# the claims, checked: ELBO flat; annealing's slope −(1 − β_t); free bits flat above λ and
# sloping down below it; the bowl's minimum at σ
assert np.ptp(curves["ELBO"]) < 1e-12
assert np.allclose(np.diff(curves["KL annealing, β_t = 0.5"]) / np.diff(r), -0.5)
fb = curves["free bits λ = 0.5"]
assert np.ptp(fb[r >= 0.5]) < 1e-12 and np.all(np.diff(fb[r < 0.5]) < 0)
assert abs(r[np.argmin(curves["dual, λ = 1, ρ = 4, σ = 0.5"])] - 0.5) < r[1]

# %% [markdown]
# ## Training them
#
# `rm.train_remedies` trains a tuple of remedies × seeds in one compiled run (exact gradients,
# Adam). Each row starts near collapse (init scale 0.01). The ELBO is the baseline.

# %%
rems = (
    rm.Remedy("elbo", "elbo"),
    rm.Remedy("KL annealing", "kl_anneal", steps=STEPS // 2),
    rm.Remedy("free bits 0.5", "free_bits", 0.5),
    rm.Remedy("dual ascent 0.5", "dual", 0.5, rho=4.0),
)
res = rm.train_remedies(rems, "tabular", config=config, seeds=SEEDS, px=toy.px, pzx=toy.pzx)
n = len(SEEDS)
out = {}
for i, rem in enumerate(rems):
    ms = [
        model_metrics(toy, res.encoder[j], res.decoder[j], res.marginal[j])
        for j in range(i * n, (i + 1) * n)
    ]
    out[rem.name] = {k: np.array([m[k] for m in ms]) for k in ("R", "D", "I_zstar", "kl_pstar_g")}
    out[rem.name]["lam"] = res.params["dual"][i * n : (i + 1) * n]
show(
    Table(
        [
            (name, np.median(v["R"]), np.median(v["I_zstar"]), np.median(v["kl_pstar_g"]))
            for name, v in out.items()
        ],
        ["remedy", "R", r"$I(z;z^*)$", r"$\mathrm{KL}(p^*\|g)$"],
        formats=[None, ".4f", ".4f", ".1e"],
        caption=f"medians over {n} seeds (nats)",
    )
)

# %% [markdown]
# **KL annealing** leaves the collapsed code: while $\beta_t < 1$ the rate is cheap, the encoder
# climbs towards the auto-encoding end, and when $\beta_t$ reaches 1 the valley is flat again —
# nothing brings the rate back. The model ends on the line at a high rate, and such a code
# keeps much of $z^*$ (at $R = H$ it keeps all of $I(x; z^*)$) — recovering $z^*$ by keeping
# *everything*, not by finding the two clusters.
#
# **Free bits** ends at its floor: below $\lambda$ only $D$ acts, above it the ELBO is flat.
#
# **Dual ascent** learns its multiplier: $\lambda \to 1 = -\mathrm{d}D/\mathrm{d}R$ and $R \to
# \sigma$. But in the tabular family a rate of 0.5 nats says nothing about *which* 0.5 nats:
# free bits and dual ascent both end at the right rate with a random partition of $x$, and
# $I(z; z^*)$ stays small.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for i, (name, v) in enumerate(out.items()):
    ax.plot(v["R"], v["I_zstar"], "os^D"[i], mfc="none", label=name)
ax.axhline(0.9 * 0.378, color="C3", ls="--", lw=0.8, label="recovers z* threshold")
ax.set(xlabel="rate R (nats)", ylabel="I(z; z*) (nats)")
ax.legend()
plt.show()

# %% tags=["check"]
elbo, ann, fbits, dual = (out[m.name] for m in rems)
assert np.all(elbo["R"] < 1e-2)  # the baseline stays collapsed
assert np.all(ann["R"] > 0.5) and np.all(ann["I_zstar"] > 10 * elbo["I_zstar"])
assert np.all(fbits["R"] >= 0.5 - 1e-3)  # at or above the floor
assert np.all(np.abs(dual["R"] - 0.5) < 0.1) and np.all(np.abs(dual["lam"] - 1.0) < 0.2)
assert np.all(fbits["I_zstar"] < 0.2) and np.all(dual["I_zstar"] < 0.2)  # a rate, not z*
for v in out.values():  # every remedy keeps the model of the data (m, d near their optima)
    assert np.all(v["R"] + v["D"] - H > -1e-9)

# %% [markdown]
# ## What to take away
#
# Every remedy here changes *the rate* the model ends at; none of them, in the tabular family,
# says *what* the code should keep. Reaching a rate is easy to fix; recovering $z^*$ needs the
# family (the bump family's local encoder, see `docs/remedies.md`) or a very high rate.
#
# ## Exercises
#
# 1. Shorten the annealing schedule to `steps=STEPS // 10`. Does the final rate go up or down?
#    Explain it with the slope $-(1 - \beta_t)$ and the number of steps spent at $\beta_t < 1$.
# 2. Set the dual's $\rho$ to 0 and plot the history `res.history["R"]` of the dual rows. Why does
#    the plain Lagrangian circle the saddle $(R, \lambda) = (\sigma, 1)$ instead of converging?
# 3. Rerun the training cell with `"bump"` instead of `"tabular"`. Which of the four remedies
#    now recover $z^*$, and why does the ELBO baseline too?
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** While $\beta_t < 1$ the loss on the line slopes down by $-(1 - \beta_t)$ towards higher
# rate, and once $\beta_t = 1$ the ELBO is flat and leaves the rate where it is. A schedule ten
# times shorter spends ten times fewer steps being pushed, so expect the final rate to be lower.
#
# **2.** With $\rho = 0$ the loss is $D + \lambda (R - \sigma)$: gradient descent in the model and
# ascent in $\lambda$ on a bilinear coupling. Linearised at the saddle $(\sigma, 1)$ the dynamics
# rotate (purely imaginary eigenvalues), so the iterates circle it instead of converging; the
# quadratic term $(\rho/2)(R - \sigma)^2$ adds the damping that makes them spiral in.
#
# **3.** In the bump family a collapsed code does not reach the line: its best collapsed model
# costs more than $H$ (see the RD plane on the Figure 2 page), so the ELBO itself prefers a code
# that keeps $z^*$. On the Remedies page of the docs (16 seeds, 3000 steps) the ELBO, KL
# annealing, free bits and dual ascent all recover $z^*$ in the bump family.
#
# </details>
