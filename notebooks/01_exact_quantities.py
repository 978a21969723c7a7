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
# # 1. The toy and its exact quantities
#
# A variational autoencoder has three parts: an **encoder** $e(z|x)$, a **decoder** $d(x|z)$ and a
# **marginal** (prior) $m(z)$. On real data every quantity that describes such a model is an
# expectation we can only estimate. On the toy of Alemi et al. (2018, Section 4) the data take 30
# values and the code takes 30 values, so every expectation is a finite sum — we can compute
# everything *exactly*, in float64, and look at the theory without Monte-Carlo noise.
#
# In this lesson:
#
# 1. build the toy data $p^*(x)$ and its hidden class $z^*$;
# 2. compute the data entropy $H$, the distortion $D$ and the rate $R$ of a few hand-made models;
# 3. check the **sandwich** $H - D \le I_e \le R$;
# 4. draw the **rate–distortion plane**.
#
# Every number below is computed by `toyrd`; none is typed in. The folded setup cell imports
# numpy, matplotlib and `toyrd`, and sets the tolerance of the checks ($10^{-12}$: exact
# identities hold to float64 rounding); in fast mode (`TOYRD_FAST=1`, which the site build uses)
# the RD plane below draws fewer random models (50 instead of 200).

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np

import toyrd
from toyrd.plot import Table, show

FAST = os.environ.get("TOYRD_FAST") == "1"  # the test suite and the docs build set this
N_WIDTHS = 15 if FAST else 60  # encoders on the smoothed-identity path of the RD plane
N_RANDOM = 50 if FAST else 200  # random models in the RD plane
np.set_printoptions(precision=4, suppress=True)
# Every claim the text makes is checked by an assert below. Exact identities hold to TOL: each
# side is a float64 sum of at most 900 terms of size <= ~4 nats, so rounding stays near 1e-15.
TOL = 1e-12

# %% [markdown]
# ## The toy data
#
# A hidden class $z^* \in \{0, 1\}$ with $p(z^*=0) = 0.7$; a continuous value
# $h \mid z^* \sim \mathcal N(\mu_{z^*}, s^2)$; the observation $x$ is the index of the bin of $h$
# among 30 equal bins. The paper fixes only that $I(x; z^*) = 0.5$ nats; `toyrd` places the means at
# 1/3 and 2/3 of the range and **solves for the noise** $s$ so that the mutual information is exactly
# 0.5 nats.

# %%
toy = toyrd.toy_data()
px, pzx = toy.px, toy.pzx
show(
    Table(
        [
            ("solved noise s", f"{toy.noise:.10f}", ""),
            (r"$I(x;z^*)$", f"{toy.info:.12f}", "nats"),
            ("H(x)", f"{toy.entropy:.12f}", "nats"),
            ("sum of p*(x)", f"{px.sum():.15f}", ""),
        ],
        ["quantity", "value", "unit"],
    )
)

# %% tags=["check"]
assert abs(toy.info - 0.5) < TOL and abs(px.sum() - 1.0) < TOL

# %%
fig, ax = plt.subplots(figsize=(7, 3))
bins = np.arange(toy.n_bins)
ax.bar(bins, pzx[0], label="$p(z^*=0, x)$", color="tab:purple")
ax.bar(bins, pzx[1], bottom=pzx[0], label="$p(z^*=1, x)$", color="gold")
ax.step(bins, px, where="mid", color="k", lw=1, label="$p^*(x)$")
ax.set(xlabel="bin $x$", ylabel="probability", title="The toy: two overlapping classes, 30 bins")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Three quantities
#
# For a model $(e, d, m)$ on data $p^*$ (natural logs, so nats):
#
# $$H = -\sum_x p^*(x)\log p^*(x), \qquad
#   D = -\sum_x p^*(x)\sum_z e(z|x)\log d(x|z),$$
#
# $$R = \sum_x p^*(x)\sum_z e(z|x)\log\frac{e(z|x)}{m(z)}.$$
#
# $H$ belongs to the data alone. $D$ is the expected code length of $x$ after seeing its code $z$
# (a reconstruction error), $R$ the expected extra cost of describing $z$ with $m$ instead of
# $e(\cdot|x)$. The negative ELBO is $D + R$.
#
# The encoder also defines a joint $p_e(x, z) = p^*(x)e(z|x)$ whose mutual information $I_e$ is how
# much the code actually says about the data. Two exact decompositions tie everything together:
#
# $$R = I_e + \mathrm{KL}(q \,\|\, m), \qquad
#   D = (H - I_e) + \sum_z q(z)\,\mathrm{KL}\big(p_e(\cdot|z)\,\|\,d(\cdot|z)\big),$$
#
# with $q(z) = \sum_x p^*(x)e(z|x)$ the aggregate posterior. Both KL terms are $\ge 0$, hence the
# **sandwich** (paper eq. 2):
#
# $$H - D \;\le\; I_e \;\le\; R .$$
#
# Let us build a few encoders by hand.

# %%
n = toy.n_bins
rng = np.random.default_rng(0)


def smoothed_identity(width):
    """e(z|x) ∝ exp(-(z - x)² / (2 width²)): a noisy copy of x."""
    idx = np.arange(n)
    logits = -((idx[None, :] - idx[:, None]) ** 2) / (2.0 * width**2)
    e = np.exp(logits - logits.max(1, keepdims=True))
    # Subnormal entries become exact zeros: p*(x)·e(z|x) would underflow to 0, the Bayes
    # decoder would then hold d(x|z) = 0 where e(z|x) > 0, and D = +inf for those tables.
    e[e < np.finfo(float).tiny] = 0.0
    return e / e.sum(1, keepdims=True)


encoders = {
    "identity": np.eye(n),
    "smoothed (width 3)": smoothed_identity(3.0),
    # two code states that carry the class posterior p(z*|x): states 2..29 are never used
    "class posterior": np.pad((pzx / px).T, ((0, 0), (0, n - 2))),
    "collapsed": np.full((n, n), 1.0 / n),
}

# %% [markdown]
# First pair each encoder with a *bad* decoder and marginal (uniform tables), then with the best
# ones for that encoder (lesson 2 derives them). `toyrd.evaluate` returns every quantity at once.

# %%
uniform_d = np.full((n, n), 1.0 / n)
uniform_m = np.full(n, 1.0 / n)
rows = []
for name, e in encoders.items():
    bad = toyrd.evaluate(px, e, uniform_d, uniform_m, pzx=pzx)
    d_opt, m_opt = toyrd.optimize_generative(px, e)
    good = toyrd.evaluate(px, e, d_opt, m_opt, pzx=pzx)
    rows.append((name, bad, good))

show(
    Table(
        [
            (name, label, o["H"] - o["D"], o["I_e"], o["R"], o["R"] + o["D"], o["I_zstar"])
            for name, bad, good in rows
            for label, o in (("uniform", bad), ("optimal", good))
        ],
        ["encoder", "m and d", "H − D", r"$I_e$", "R", "R + D", r"$I(z;z^*)$"],
        formats=".4f",
        caption="nats; m and d: uniform tables, or the optimal ones for the encoder",
    )
)
good = {name: g for name, _, g in rows}

# %% tags=["check"]
# the claims of the next paragraph: the sandwich in every row, equalities with optimal tables
for name, bad, good_o in rows:
    for o in (bad, good_o):
        assert o["H"] - o["D"] <= o["I_e"] + TOL and o["I_e"] <= o["R"] + TOL, name
    assert abs(good_o["R"] - good_o["I_e"]) < TOL
    assert abs(good_o["H"] - good_o["D"] - good_o["I_e"]) < TOL
    assert abs(good_o["R"] + good_o["D"] - good_o["H"]) < TOL, name
assert abs(good["identity"]["I_zstar"] - toy.info) < TOL  # keeps all of I(x; z*)
assert abs(good["identity"]["R"] - toy.entropy) < TOL  # at a rate of H
assert abs(good["class posterior"]["R"] - toy.info) < TOL  # rate exactly I(x; z*) = 0.5
assert good["class posterior"]["I_zstar"] < toy.info - 0.01  # ... yet keeps less of z*

# %% [markdown]
# Read the table column by column: $H - D \le I_e \le R$ in every row, and with the optimal tables
# both inequalities become equalities and $R + D = H$ exactly.
#
# The last column, $I(z; z^*)$, is how much of the hidden class the code keeps. The identity encoder
# keeps all of $I(x; z^*) = 0.5$ nats (nothing is lost), but at a rate of $H$. The "class posterior"
# encoder draws $z$ from $p(z^*|x)$: its joint $p_e(x, z)$ *is* $p(x, z^*)$, so its rate is exactly
# $I(x; z^*) = 0.5$ nats — the target rate of the paper's Figure 2 — yet a sample from the posterior
# is not the class itself, and it keeps less than 0.5 nats of $z^*$. Lesson 4 asks how much of $z^*$
# a code of a given rate can keep at best.
#
# ## The identities, to float64 precision
#
# The decompositions are identities, not bounds: their residuals are rounding errors.

# %%
# the three identities, named as the table shows them (TeX: typeset on the site)
RES_R = r"$R - I_e - \mathrm{KL}(q\|m)$"
RES_D = r"$D - (H - I_e) - \mathbb{E}_q\,\mathrm{KL}$"
RES_ELBO = r"$-\mathrm{ELBO} - (R + D)$"
worst = dict.fromkeys((RES_R, RES_D, RES_ELBO), 0.0)
for seed in range(20):
    g = np.random.default_rng(seed)
    e = g.dirichlet(np.ones(n), size=n)
    d = g.dirichlet(np.ones(n), size=n)
    m = g.dirichlet(np.ones(n))
    out = toyrd.evaluate(px, e, d, m, distributions=True)
    q = out["q"]
    post = toyrd.bayes_posterior(px, e)  # p_e(x|z), one row per z
    e_kl = sum(q[z] * toyrd.kl(post[z], d[z]) for z in range(n))
    worst[RES_R] = max(worst[RES_R], abs(out["R"] - out["I_e"] - out["kl_q_m"]))
    worst[RES_D] = max(worst[RES_D], abs(out["D"] - (out["H"] - out["I_e"]) - e_kl))
    worst[RES_ELBO] = max(worst[RES_ELBO], abs(-out["ELBO"] - out["R"] - out["D"]))
show(
    Table(
        list(worst.items()),
        ["residual of the identity", "largest |residual| over 20 random models"],
        formats=".2e",
    )
)

# %% tags=["check"]
assert max(worst.values()) < TOL  # identities, not bounds

# %% [markdown]
# ## The rate–distortion plane
#
# Put every model at the point $(R, D)$. Since $R \ge I_e \ge H - D$, no model lies below the line
# $R + D = H$; and $R \ge 0$, $D \ge 0$. The line is reached exactly when $m$ and $d$ are optimal
# for the encoder. Along it, the left end ($R = 0$, $D = H$) is the **auto-decoding** limit (the code
# is ignored) and the right end ($R = H$, $D = 0$) is the **auto-encoding** limit (the code is a
# lossless copy of $x$).
#
# Below: a path of smoothed-identity encoders with optimal tables (on the line), the same encoders
# with uniform $m$ (above it), and random models: random encoders whose $m$ and $d$ are mixed
# part-way with random tables (above it, the more so the further from optimal).

# %%
widths = np.geomspace(0.05, 40.0, N_WIDTHS)
path_opt, path_um = [], []
for w in widths:
    e = smoothed_identity(w)
    d_opt, m_opt = toyrd.optimize_generative(px, e)
    path_opt.append((toyrd.rate(px, e, m_opt), toyrd.distortion(px, e, d_opt)))
    path_um.append((toyrd.rate(px, e, uniform_m), toyrd.distortion(px, e, d_opt)))
path_opt, path_um = np.array(path_opt), np.array(path_um)

rand = []
for seed in range(N_RANDOM):
    g = np.random.default_rng(1000 + seed)
    e = g.dirichlet(np.full(n, 10.0 ** g.uniform(-2, 1)), size=n)  # from sharp to nearly uniform
    d_opt, m_opt = toyrd.optimize_generative(px, e)
    a, b = g.uniform(0, 1, 2) ** 2  # how far m, d are from optimal
    d = (1 - a) * d_opt + a * g.dirichlet(np.ones(n), size=n)
    m = (1 - b) * m_opt + b * g.dirichlet(np.ones(n))
    out = toyrd.evaluate(px, e, d, m)
    rand.append((out["R"], out["D"]))
rand = np.array(rand)

H = toy.entropy
fig, ax = plt.subplots(figsize=(5.5, 5))
ax.fill_between([0, H], [H, 0], 0, color="0.85", label="infeasible: $R + D < H$")
ax.plot([0, H], [H, 0], "k-", lw=1)
ax.plot(*path_opt.T, "o-", ms=3, label="smoothed identity, optimal $m, d$")
ax.plot(*path_um.T, "s-", ms=3, label="same encoders, uniform $m$")
ax.plot(*rand.T, ".", color="tab:red", alpha=0.4, label="random models")
ax.axvline(toy.info, color="tab:green", ls="--", lw=1, label=f"$I(x;z^*)$ = {toy.info:.2f} nats")
ax.set(
    xlabel="rate $R$ (nats)",
    ylabel="distortion $D$ (nats)",
    xlim=(0, H + 0.6),
    ylim=(0, H + 0.6),
    title="The rate–distortion plane of the toy",
    aspect="equal",
)
ax.legend(loc="upper right")
fig.tight_layout()

# %%
show(
    Table(
        [
            ("optimal path", "largest |R + D − H|", np.max(np.abs(path_opt.sum(1) - H))),
            ("random models", "smallest R + D − H (never negative)", np.min(rand.sum(1) - H)),
        ],
        ["models", "measure", "nats"],
        formats=".2e",
    )
)

# %% tags=["check"]
assert np.max(np.abs(path_opt.sum(1) - H)) < TOL  # optimal m, d: on the line
assert np.min(rand.sum(1) - H) > -TOL and np.min(path_um.sum(1) - H) > -TOL  # never below it

# %% [markdown]
# ## Bits or nats
#
# Every quantity takes `base=2` for bits. The entropy of the toy data in bits:

# %%
print(f"H = {toyrd.data_entropy(px, base=2):.6f} bits = {toyrd.data_entropy(px):.6f} nats")

# %% tags=["check"]
assert abs(toyrd.data_entropy(px, base=2) * np.log(2) - toyrd.data_entropy(px)) < TOL

# %% [markdown]
# ## Exercises
#
# 1. **A deterministic lossy code.** Build the encoder that maps bins $0..14$ to code 0 and bins
#    $15..29$ to code 1. Predict $I_e$ before computing it (hint: it is the entropy of a coin with
#    bias $\sum_{x<15} p^*(x)$). Check your prediction with `toyrd.representational_mi`, then place
#    the model with optimal tables in the RD plane. How much of $z^*$ does it keep
#    (`toyrd.latent_information`)?
# 2. **Which KL is which?** For a random model, compute the gap $R - I_e$ and the gap
#    $I_e - (H - D)$. Change only $m$: which gap moves? Change only $d$: which one moves? Explain
#    with the two decompositions above.
# 3. **The corners.** Which encoder and tables reach the point $(R, D) = (H, 0)$? Which reach
#    $(0, H)$? Can any model reach $(R, D) = (0, 0)$? Use `toyrd.evaluate` to confirm.
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** A deterministic code puts all of $e(\cdot|x)$ on one state, so $H(z|x) = 0$ and
# $I_e = H(z)$: the entropy of a coin with $P(z = 0) = \sum_{x<15} p^*(x)$. With the optimal
# tables $R = I_e$ and $D = H - I_e$, a point on the line $R + D = H$. By data processing
# ($z^* \to x \to z$) the code keeps at most $\min(I_e, I(x;z^*))$ of $z^*$.
#
# **2.** $R - I_e = \mathrm{KL}(q\,\|\,m)$ involves $m$ and not $d$;
# $I_e - (H - D) = \sum_z q(z)\,\mathrm{KL}(p_e(\cdot|z)\,\|\,d(\cdot|z))$ involves $d$ and not $m$.
# Changing only $m$ moves the first gap, changing only $d$ the second; both are KLs, so both are
# $\ge 0$.
#
# **3.** $(H, 0)$: the identity encoder $e(z|x) = [z = x]$ with $d(x|z) = [x = z]$ and $m = q = p^*$
# (relabelled): $R = I_e = H$, $D = 0$. $(0, H)$: any encoder that ignores $x$, $e(z|x) = m(z)$,
# with $d(x|z) = p^*(x)$: $R = 0$, $D = H$. $(0, 0)$ is out of reach: $D \ge H - I_e \ge H - R$, so
# $R + D \ge H > 0$ for every model.
#
# </details>
