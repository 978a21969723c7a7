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
# # 4. β-VAE and the frontier
#
# The ELBO scores a model by $D + R$ only. In the RD plane its level sets are the diagonal lines
# $R + D = c$, so **models with identical ELBO can have very different rates** — and, as we will
# see, very different codes. The β-VAE (paper eq. 6) tilts the level sets: its loss is $D + \beta R$.
# In this lesson:
#
# 1. models with identical ELBO and different rates;
# 2. what $D + \beta R$ selects on the line $R + D = H$ — and why, with a flexible model, it can only
#    select an end;
# 3. the frontier of representation: at a given rate, how much of the true class $z^*$ can a code
#    keep at best?
#
# The folded setup cell imports the libraries and sets the training: 8 seeds per β and 3000
# steps, or 2 seeds and 800 steps in fast mode (`TOYRD_FAST=1`, which the site build uses); and the
# tolerances of the checks.

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np

import toyrd
from toyrd.plot import Table, show
from toyrd.train import jax as tj

FAST = os.environ.get("TOYRD_FAST") == "1"
SEEDS = list(range(2 if FAST else 8))
STEPS = 800 if FAST else 3000
toy = toyrd.toy_data()
px, pzx, H, n = toy.px, toy.pzx, toy.entropy, toy.n_bins
# Every claim the text makes is checked by an assert. Exact identities hold to TOL (float64 sums
# of at most 900 terms); the bisection below pins the ELBO to BISECT_TOL (80 halvings of the
# mixing weight leave only the ELBO's rounding, ~1e-15, but its slope may be a few nats).
TOL, BISECT_TOL = 1e-12, 1e-9

# %% [markdown]
# ## 1. Identical ELBO, different rates
#
# Take two very different encoders — the class posterior (rate $I(x;z^*)$) and a smoothed copy of
# $x$ (a high rate) — and complete each with its optimal marginal and decoder (lesson 2). Both sit
# on the line; both have $\mathrm{ELBO} = -H$.
#
# Off the line the same happens: mix each optimal marginal with a uniform one until the ELBO drops
# to a common value $-H - 0.3$ (bisection on the mixing weight), and the two models still differ
# in rate by the same amount.

# %%
idx = np.arange(n)


def smoothed_identity(width):
    logits = -((idx[None, :] - idx[:, None]) ** 2) / (2.0 * width**2)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


enc_pair = {
    "class posterior": np.pad((pzx / px).T, ((0, 0), (0, n - 2))),
    "smoothed copy of x": smoothed_identity(1.5),
}
uniform = np.full(n, 1.0 / n)
GAP = 0.3  # target -ELBO - H for the off-line pair


def with_gap(e, gap):
    """Optimal d; m = (1 - t) q + t uniform with t chosen by bisection so that -ELBO - H = gap."""
    d, q = toyrd.optimize_generative(px, e)
    lo, hi = 0.0, 1.0
    for _ in range(80):
        t = 0.5 * (lo + hi)
        m = (1 - t) * q + t * uniform
        lo, hi = (t, hi) if -toyrd.elbo(px, e, d, m) - H < gap else (lo, t)
    return d, (1 - lo) * q + lo * uniform


pair_points = []
for name, e in enc_pair.items():
    for where, (d, m) in (("line", toyrd.optimize_generative(px, e)), ("off", with_gap(e, GAP))):
        o = toyrd.evaluate(px, e, d, m, pzx=pzx)
        pair_points.append((name, where, o))
show(
    Table(
        [(name, where, o["ELBO"], o["R"], o["D"], o["I_zstar"]) for name, where, o in pair_points],
        ["encoder", "where", "ELBO", "R", "D", r"$I(z;z^*)$"],
        formats=[None, None, ".6f", ".4f", ".4f", ".4f"],
        caption=f"nats; line: optimal m and d; off: ELBO = −H − {GAP}",
    )
)
pts = {(name, where): o for name, where, o in pair_points}
rates = {w: [pts[name, w]["R"] for name in enc_pair] for w in ("line", "off")}

# %% tags=["check"]
for name in enc_pair:
    assert abs(pts[name, "line"]["ELBO"] + H) < TOL  # on the line: ELBO = -H
    assert abs(pts[name, "off"]["ELBO"] + H + GAP) < BISECT_TOL  # off it: the common value
assert abs(rates["line"][1] - rates["line"][0]) > 0.5  # very different rates ...
assert abs((rates["off"][1] - rates["off"][0]) - (rates["line"][1] - rates["line"][0])) < BISECT_TOL

# %% [markdown]
# ## 2. What the β-VAE selects
#
# On the line $D = H - R$, so the β-VAE loss is
#
# $$D + \beta R = H + (\beta - 1)\,R .$$
#
# For $\beta < 1$ it falls with the rate: the best model on the line is the one with the *largest*
# rate, $R = H$ (a lossless copy of $x$). For $\beta > 1$ it rises with the rate: the best model is
# the collapsed one, $R = 0$. At $\beta = 1$ (the ELBO) every point is optimal. With a flexible model
# the β-VAE is therefore all-or-nothing; it cannot aim at $R = 0.5$. (A less flexible model — a curved
# frontier instead of a straight line — is what gives β its usual intermediate solutions.)
#
# Train the tabular model for a range of β in one batched run and look where it ends.

# %%
betas = [0.25, 0.5, 0.9, 1.0, 1.1, 2.0, 4.0]
res = tj.train(
    "beta",
    hyper=betas,
    family="tabular",
    seeds=SEEDS,
    init_scale=1.0,
    steps=STEPS,
    warmup=300,
    progress=False,
)
tab = res.table()
beta_of_row = np.array([c["hyper"] for c in res.configs])
beta_rows = []
for b in betas:
    sel = beta_of_row == b
    beta_rows.append(
        (
            b,
            tab["R"][sel].mean(),
            tab["R"][sel].min(),
            tab["R"][sel].max(),
            (tab["R"][sel] + tab["D"][sel] - H).mean(),
            tab["I_zstar"][sel].mean(),
        )
    )
show(
    Table(
        beta_rows,
        ["β", "mean R", "min R", "max R", "mean R + D − H", r"mean $I(z;z^*)$"],
        formats=[".2f", ".4f", ".4f", ".4f", ".2e", ".4f"],
        caption=f"{len(SEEDS)} seeds per β, {STEPS} steps (nats)",
    )
)
mean_rate = {b: tab["R"][beta_of_row == b].mean() for b in betas}

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
ax = axes[0]
ax.fill_between([0, H], [H, 0], 0, color="0.88")
ax.plot([0, H], [H, 0], "k-", lw=1, label="$R + D = H$")
for c in (H + GAP,):
    ax.plot([0, c], [c, 0], "k:", lw=1, label=f"ELBO = $-H - {GAP}$")
for name, where, o in pair_points:
    ax.plot(
        o["R"],
        o["D"],
        "o" if name.startswith("class") else "s",
        ms=7,
        mfc="none" if where == "off" else None,
        color="tab:purple" if name.startswith("class") else "tab:green",
        label=f"{name} ({where})",
    )
sc = ax.scatter(
    tab["R"],
    tab["D"],
    c=np.log(beta_of_row),
    cmap="coolwarm",
    s=40,
    edgecolors="k",
    linewidths=0.5,
    zorder=3,
    label="trained β-VAEs",
)
fig.colorbar(sc, ax=ax, label="ln β")
ax.set(
    xlabel="rate $R$ (nats)",
    ylabel="distortion $D$ (nats)",
    xlim=(0, H + 0.4),
    ylim=(0, H + 0.4),
    title="Same ELBO, different rates; trained β-VAEs",
)
ax.legend(loc="upper right")
ax = axes[1]
ax.plot(beta_of_row, tab["R"], "o", alpha=0.6)
ax.set_xscale("log")
ax.minorticks_off()
major = [b for b in betas if b not in (0.9, 1.1)]  # 0.9, 1.0, 1.1 are too close to label all
ax.set_xticks(major, [f"{b:g}" for b in major])
ax.set_xticks([0.9, 1.1], ["", ""], minor=True)  # unlabelled: "0.9" and "1.1" would overlap "1"
ax.tick_params(axis="x", which="minor", length=3)
ax.axvline(1.0, color="0.5", ls=":")
ax.set(xlabel="β", ylabel="final rate $R$ (nats)", title="β-VAE: final rate against β")
fig.tight_layout()

# %% tags=["check"]
# below β = 1 the rates are pushed up, above it down (the β = 1 runs stay where they went)
assert min(mean_rate[b] for b in betas if b < 1) > mean_rate[1.0]
assert max(mean_rate[b] for b in betas if b > 1) < mean_rate[1.0]
assert mean_rate[0.25] > H - 0.5 and mean_rate[4.0] < 0.05  # the ends: towards H, towards 0

# %% [markdown]
# Read the β table with the formula in mind: below β = 1 the rates are pushed up towards $H$,
# above it down towards 0, and only near β = 1 does the initialisation still matter (how far each
# run gets in a finite number of steps depends on how steep $(\beta - 1)$ is).
#
# ## 3. The frontier: how much of $z^*$ can a code keep?
#
# Both losses see only $(R, D)$. Which code, among all those with the same rate, keeps the most of
# the true class? Because $z$ is computed from $x$, the chain $z^* \to x \to z$ gives
# $I(z; z^*) \le I(x; z^*) = 0.5$ nats, and a code of rate $R$ with optimal tables has $I(x;z) = R$.
# The best trade-off is the **information bottleneck** curve
#
# $$F(R) = \max_{e(z|x)\,:\, I(x;z) \le R} I(z; z^*),$$
#
# a concave, non-decreasing curve from $F(0) = 0$ up to $I(x;z^*)$. `toyrd.quantities.ib_frontier` finds it
# with Blahut–Arimoto iterations over a sweep of Lagrange multipliers plus hard clusterings; every
# vertex is the exact point of an encoder it returns, so the curve is reachable (an inner bound).
# `toyrd.quantities.ib_gap` measures how far below the curve a code is: $F(I(x;z)) - I(z;z^*)$.

# %%
from toyrd import quantities as ib

frontier = ib.ib_frontier(pzx)
print(
    f"frontier: {frontier.rate.size} vertices, F(H) = {frontier.relevance[-1]:.12f}, "
    f"I(x;z*) = {frontier.info:.12f}"
)
print(
    f"F(0.5) = {ib.ib_frontier_at(frontier, 0.5):.4f} nats: the most of z* a code of rate 0.5 keeps"
)

gaps = np.array([ib.ib_gap(pzx, res.encoder[i], frontier) for i in range(len(res.configs))])
gap_rows = []
for b in betas:
    sel = beta_of_row == b
    gap_rows.append(
        (f"β = {b:.2f}", tab["R"][sel].mean(), tab["I_zstar"][sel].mean(), gaps[sel].mean())
    )
for name, where, o in pair_points:
    if where == "line":
        gap_rows.append((name, o["R"], o["I_zstar"], ib.ib_gap(pzx, enc_pair[name], frontier)))
show(
    Table(
        gap_rows,
        ["code", "R", r"$I(z;z^*)$", "gap to the frontier"],
        formats=".4f",
        caption="β-VAEs: means over their seeds; the two codes of section 1 with optimal tables",
    )
)

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(frontier.rate, frontier.relevance, "k-", lw=1.5, label="IB frontier $F(R)$")
ax.plot([0, toy.info], [0, toy.info], ":", color="0.5", lw=1, label="$I(z;z^*) \\leq I(x;z)$")
ax.axhline(toy.info, color="tab:green", ls="--", lw=1, label="$I(x;z^*)$")
ax.plot(tab["R"], tab["I_zstar"], "o", alpha=0.6, label="trained β-VAEs")
for name, where, o in pair_points:
    if where == "line":
        ax.plot(o["R"], o["I_zstar"], "*", ms=11, label=name)
ax.set(
    xlabel="rate $R = I(x;z)$ (nats)",
    ylabel="$I(z; z^*)$ (nats)",
    xlim=(0, H + 0.2),
    title="How much of the true class a code keeps",
)
ax.legend()
fig.tight_layout()

# %% tags=["check"]
# the frontier runs from F(0) = 0, non-decreasing, up to I(x; z*); no code beats I(x; z*)
assert frontier.rate[0] == 0.0 and abs(frontier.relevance[0]) < TOL
assert np.diff(frontier.relevance).min() > -TOL and abs(frontier.relevance[-1] - toy.info) < TOL
assert tab["I_zstar"].max() <= toy.info + TOL
# the class-posterior code is not the best code of its rate (the gap is far above rounding)
assert ib.ib_gap(pzx, enc_pair["class posterior"], frontier) > 0.005

# %% [markdown]
# Read the gaps. At the two ends the frontier is easy to reach: a collapsed code ($R = 0$) keeps
# nothing and needs nothing, and a near-copy of $x$ keeps almost everything. In between, look at the
# β = 1 rows — the ELBO — and at the two hand-made codes: at the same rate a better code would keep
# more of $z^*$. Even the class-posterior code, whose rate is exactly $I(x;z^*)$, is not the best
# code of its rate: a code that *samples* the class is beaten by one that thresholds $x$ more
# cleverly. The ELBO and the β-VAE see only $(R, D)$, so these gaps are invisible to them.
#
# ## Exercises
#
# 1. **A level set of the ELBO.** Build three models with ELBO exactly $-H - 0.5$ and rates 0.2, 1
#    and 2 nats (hint: start from encoders of those rates with optimal tables, then spoil $m$ or $d$).
#    Plot them with the line $R + D = H + 0.5$.
# 2. **The slope of β.** Show that along the line the gradient of $D + \beta R$ with respect to $R$
#    is $\beta - 1$. Train with β = 0.99 and β = 1.01 for twice as many steps: how far do they move
#    from where the ELBO stopped?
# 3. **A deterministic code on the frontier.** A code that thresholds $x$ at bin $k$ (two states) has
#    rate $H_2(\sum_{x<k} p^*(x))$. Compute its $(R, I(z;z^*))$ for every $k$ and add the points to
#    the last plot. How close to the frontier do they come?
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** Take encoders of rate 0.2, 1 and 2 nats with their optimal tables ($R + D = H$). Keep $m$
# (so $R$ stays) and spoil the decoder, $d_t = (1 - t)\, d^* + t\, u$: $D$ grows by
# $\sum_z q(z)\,\mathrm{KL}(p_e(\cdot|z)\,\|\,d_t(\cdot|z))$, which rises continuously from 0 as
# $t$ grows, so a bisection on $t$ finds the $t$ that adds exactly 0.5 nats. The three models then
# lie on $R + D = H + 0.5$.
#
# **2.** On the line $D = H - R$, so $D + \beta R = H + (\beta - 1) R$, whose derivative in $R$ is
# $\beta - 1$. At $\beta = 0.99$ and $1.01$ the slope is only $\mp 0.01$ nats per nat of rate: a
# weak push towards higher rate ($\beta < 1$) or lower rate ($\beta > 1$), so the models move
# little from where the ELBO stopped.
#
# **3.** A threshold code is deterministic, so $R = I_e = H_2(P(x < k))$ with optimal tables, and
# $I(z;z^*)$ comes from the 2 × 2 joint $p(z^*, z) = (\sum_{x<k} p(z^*, x), \sum_{x\ge k}
# p(z^*, x))$ (`toyrd.latent_information`). Every such point lies on or below the frontier, which
# is the best over all codes of that rate.
#
# </details>
