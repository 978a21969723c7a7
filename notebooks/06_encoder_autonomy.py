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
# # 6. Encoder autonomy
#
# David McAllester's notes derive the VAE without the ELBO. Fix *any* encoder $e(z|x)$; it defines
# the joint $p_e(x,z) = p^*(x)e(z|x)$, and for that joint the exact identity
#
# $$H(x) = I_e(x; z) + H_e(x \mid z)$$
#
# holds. Neither term on the right is computable on real data, but each has a cross-entropy upper
# bound that is: the rate $R \ge I_e$ with a model $m(z)$ of the codes, and the distortion
# $D \ge H_e(x|z)$ with a model $d(x|z)$ of the data given the code. So
#
# $$R + D \;\ge\; H(x),$$
#
# and minimising the right-hand bounds **over $m$ and $d$ alone** makes them tight whatever $e$ is
# (lesson 2: $m = q$, $d = p_e(x|z)$, and then $g = p^*$). The consequence: the encoder is free. It
# can be trained by *its own* objective — a rate–distortion trade-off, a target rate, anything —
# while $m$ and $d$ keep the model of the data consistent.
#
# `toyrd.train.train_autonomous` plays this two-player game with exact gradients:
# $m$ and $d$ minimise $R + D$ with the encoder behind a stop-gradient; the encoder minimises its own
# loss with $m$ and $d$ behind a stop-gradient.
#
# The folded setup cell imports the libraries and sets the game: free tables from a broad start
# (initial scale 0.3, 300 warm-up steps), 8 seeds and 3000 steps per setting, or 2 seeds and 800
# steps in fast mode (`TOYRD_FAST=1`, which the site build uses); and the tolerances of the checks.

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np

import toyrd
from toyrd import _formulas as F
from toyrd import train as autonomy
from toyrd.plot import Table, show

FAST = os.environ.get("TOYRD_FAST") == "1"
SEEDS = list(range(2 if FAST else 8))
STEPS = 800 if FAST else 3000
# free tables from a broad start (toyrd's defaults are the Figure 2 settings: docs/cli.md)
GAME = dict(family="tabular", init_scale=0.3, warmup=300)
toy = toyrd.toy_data()
px, pzx, H = toy.px, toy.pzx, toy.entropy
# Every claim the text makes is checked by an assert. Exact identities hold to TOL (float64 sums of
# at most 900 terms). Trained games hold theirs to GAME_TOL nats: the generative side chases a
# moving encoder for a finite number of steps (measured: ≤ 3e-3 nats at 800 steps, less at 3000).
TOL, GAME_TOL = 1e-12, 1e-2

# %% [markdown]
# ## The generative side alone: consistency for a frozen encoder
#
# Before any game: freeze three encoders (random, sharp and collapsed) and give each its best
# response. The bound closes and the model reproduces the data, though the three codes carry very
# different information.


# %%
def nonneg(v, tol=1e-12):
    """A quantity >= 0 by theorem, for printing: a rounding residue in [-tol, 0] shows as 0."""
    return 0.0 if -tol <= v <= 0.0 else v


rng = np.random.default_rng(0)
frozen = {
    "random": rng.dirichlet(np.full(30, 0.5), size=30),
    "sharp (identity)": np.eye(30),
    "collapsed": np.full((30, 30), 1.0 / 30),
}
best = {
    name: toyrd.evaluate(px, e, *toyrd.optimize_generative(px, e), pzx=pzx)
    for name, e in frozen.items()
}
show(
    Table(
        [
            (name, o["I_e"], o["R"] + o["D"] - H, nonneg(o["kl_pstar_g"]))
            for name, o in best.items()
        ],
        ["frozen encoder", r"$I_e$", "R + D − H", r"$\mathrm{KL}(p^*\|g)$"],
        formats=[None, ".4f", ".1e", ".1e"],
        caption="each with its optimal m and d (nats)",
    )
)

# %% tags=["check"]
for name, o in best.items():
    assert abs(o["R"] + o["D"] - H) < TOL and abs(o["kl_pstar_g"]) < TOL  # closed, g = p*
    info_e = {"random": None, "sharp (identity)": H, "collapsed": 0.0}[name]
    assert info_e is None or abs(o["I_e"] - info_e) < TOL  # very different information

# %% [markdown]
# ## An encoder with a rate–distortion objective
#
# McAllester's example of an encoder objective is the β-VAE trade-off, $\beta R + D$, seen by the
# encoder only. Train the game for several β; each row is one (β, seed).

# %%
betas = [0.1, 0.5, 2.0, 5.0]
res_beta = autonomy.train_autonomous(
    "beta", hyper=betas, seeds=SEEDS, steps=STEPS, progress=False, **GAME
)
tab_beta = res_beta.table()
beta_row = np.array([c["hyper"] for c in res_beta.configs])
beta_rows = []
for b in betas:
    sel = beta_row == b
    beta_rows.append(
        (
            b,
            tab_beta["R"][sel].mean(),
            np.abs(tab_beta["R"][sel] + tab_beta["D"][sel] - H).max(),
            tab_beta["kl_pstar_g"][sel].max(),
        )
    )
show(
    Table(
        beta_rows,
        ["β", "mean R", "max |R + D − H|", r"max $\mathrm{KL}(p^*\|g)$"],
        formats=[".1f", ".4f", ".1e", ".1e"],
        caption=f"{len(SEEDS)} seeds per β (nats)",
    )
)

# %% tags=["check"]
for b in betas:
    sel = beta_row == b
    assert np.abs(tab_beta["R"][sel] + tab_beta["D"][sel] - H).max() < GAME_TOL
    assert tab_beta["kl_pstar_g"][sel].max() < GAME_TOL
    # a high rate for β < 1, collapse for β > 1
    assert tab_beta["R"][sel].min() > H - 0.5 if b < 1 else tab_beta["R"][sel].max() < GAME_TOL

# %% [markdown]
# Whatever β asks of the encoder — a high rate for $\beta < 1$, collapse for $\beta > 1$ — the last
# two columns stay small: the generative side keeps $R + D$ near $H$ and $g$ near $p^*$, up to how far
# it has caught up with the encoder in a finite number of steps.
#
# ## An encoder with an objective of its own design
#
# Any function of the tables will do. Here the encoder wants a *definite* rate: it minimises
# $D + \lambda (R - \sigma)^2$ — unlike $D + |\sigma - R|$ from lesson 3, this pulls the rate down as
# well as up. With the generative side at its best response, $D = H - R$ along the way, so the
# encoder's loss is $H - R + \lambda(R - \sigma)^2$, minimised at $R = \sigma + 1/(2\lambda)$.

# %%
LAM = 10.0


def squared_target(px, enc, dec, mar, sigma):
    """The encoder's own loss D + λ (R - σ)² (jax.numpy; dec and mar arrive stop-gradiented)."""
    r, d = F.rate_distortion(px, enc, dec, mar)
    return d + LAM * (r - sigma) ** 2


sigmas = [0.25, 0.5, 1.5]
res_sq = autonomy.train_autonomous(
    squared_target, hyper=sigmas, seeds=SEEDS, steps=STEPS, progress=False, **GAME
)
tab_sq = res_sq.table()
sigma_row = np.array([c["hyper"] for c in res_sq.configs])
sq_rows = []
for sg in sigmas:
    sel = sigma_row == sg
    sq_rows.append(
        (
            sg,
            tab_sq["R"][sel].mean(),
            sg + 1 / (2 * LAM),
            np.abs(tab_sq["R"][sel] + tab_sq["D"][sel] - H).max(),
            tab_sq["kl_pstar_g"][sel].max(),
            tab_sq["I_zstar"][sel].mean(),
        )
    )
show(
    Table(
        sq_rows,
        [
            "σ",
            "mean R",
            "σ + 1/(2λ)",
            "max |R + D − H|",
            r"max $\mathrm{KL}(p^*\|g)$",
            r"mean $I(z;z^*)$",
        ],
        formats=[".2f", ".4f", ".4f", ".1e", ".1e", ".4f"],
        caption=f"λ = {LAM:g}, {len(SEEDS)} seeds per σ (nats)",
    )
)

# %% tags=["check"]
for sg in sigmas:
    sel = sigma_row == sg
    assert np.abs(tab_sq["R"][sel] - (sg + 1 / (2 * LAM))).max() < GAME_TOL  # R = σ + 1/(2λ)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
ax = axes[0]
ax.fill_between([0, H], [H, 0], 0, color="0.88")
ax.plot([0, H], [H, 0], "k-", lw=1)
sc = ax.scatter(
    tab_beta["R"],
    tab_beta["D"],
    c=np.log(beta_row),
    cmap="coolwarm",
    marker="o",
    label="encoder: βR + D",
)
ax.scatter(tab_sq["R"], tab_sq["D"], c="tab:green", marker="^", label="encoder: D + λ(R − σ)²")
fig.colorbar(sc, ax=ax, label="log β")
ax.set(
    xlabel="rate $R$ (nats)", ylabel="distortion $D$ (nats)", title="The encoder picks the point"
)
ax.legend()
ax = axes[1]
for i in range(len(sigma_row)):
    ax.plot(res_sq.history["step"], res_sq.history["R"][i], lw=1, color="tab:green", alpha=0.7)
for s in sigmas:
    ax.axhline(s + 1 / (2 * LAM), color="k", ls=":", lw=1)
ax.set(
    xlabel="step (after the generative warm-up)",
    ylabel="rate $R$ (nats)",
    title="D + λ(R − σ)²: the rate settles at σ + 1/(2λ)",
)
fig.tight_layout()

# %% [markdown]
# ## The model of the data stays consistent
#
# Put every trained model side by side: its own objective chose the rate, and the model of the data
# $g$ is close to $p^*$ in every case.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
labels = [f"β={b:g}" for b in beta_row] + [f"σ={s:g}" for s in sigma_row]
kls = np.concatenate([tab_beta["kl_pstar_g"], tab_sq["kl_pstar_g"]])
ax.bar(np.arange(len(kls)), np.maximum(kls, 1e-16))
ax.set_xticks(np.arange(len(kls)), labels, rotation=90)
ax.set(
    yscale="log", ylabel="KL(p* || g) (nats)", title="How far g is from the data, per trained model"
)
fig.tight_layout()
print(f"largest KL(p*||g) over all {len(kls)} trained models: {kls.max():.1e} nats")

# %% tags=["check"]
assert kls.max() < GAME_TOL  # g is close to p* in every case

# %% [markdown]
# ## Exercises
#
# 1. **Break the game.** Remove the stop-gradient on the encoder in the generative players' loss
#    (write your own `loss_builder` for `toyrd.train.jax.train_configs`, after
#    `toyrd.train.autonomy_loss_fn`). Now $m$ and $d$ also pull the encoder. What changes for
#    β = 5?
# 2. **A balanced code.** Design an encoder loss that wants $q(z)$ uniform on 2 code states and
#    $D$ small (e.g. $D + \lambda\,\mathrm{KL}(q\,\|\,u_2)$). Which rate does it reach? How much of
#    $z^*$ does the code keep?
# 3. **The optimum of the squared target.** Derive $R^* = \sigma + 1/(2\lambda)$ from the encoder's
#    loss on the line, and check it for λ = 1 and λ = 100. What goes wrong when $\sigma + 1/(2\lambda)$
#    exceeds $H$?
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** Without the stop-gradient the generative players' loss, $R + D$, also trains the encoder,
# so the encoder follows the sum of its own loss and of the ELBO's gradient. On the line the ELBO
# gradient in the rate is zero, so the difference shows off the line and in how fast the models
# reach it; train both versions at $\beta = 5$ with the same seeds and compare their $R$ and
# $I(z;z^*)$.
#
# **2.** With $D + \lambda\, \mathrm{KL}(q\,\|\,u_2)$ and all codes but two unused, a deterministic
# split of $x$ into two halves of mass 1/2 makes the KL zero, and among such codes $D$ is smallest
# when $I_e$ is largest: $R = I_e = \log 2 \approx 0.693$ nats. How much of $z^*$ the split keeps
# depends on where it cuts; compare with the frontier at $\log 2$.
#
# **3.** On the line the encoder's loss is $D + \lambda (\sigma - R)^2 = H - R + \lambda(\sigma - R)^2$;
# its derivative $-1 - 2\lambda(\sigma - R)$ vanishes at $R^* = \sigma + 1/(2\lambda)$: $\sigma + 0.5$
# for $\lambda = 1$ and $\sigma + 0.005$ for $\lambda = 100$. No code has $R > H$ on the line
# ($D \ge 0$), so when $\sigma + 1/(2\lambda) > H$ the optimum is at the edge, $R = H$, $D = 0$:
# the target is never met.
#
# </details>
