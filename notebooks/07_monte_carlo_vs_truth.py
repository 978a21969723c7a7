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
# # 7. Monte Carlo against the truth
#
# A real VAE never sees $R$ and $D$: it sees minibatch estimates, and it follows *estimated
# gradients*. On the toy we can put every estimate next to the exact value it estimates. This lesson
# uses the PyTorch trainer `toyrd.train.torch`, written the way practitioners write one, with five
# estimators of $(R, D)$ and their gradients:
#
# | name | how $z$ enters | gradient |
# |---|---|---|
# | `exact` | sum over all $x$ and $z$ | the truth (no noise) |
# | `enumerate` | sample $x$, sum over $z$ | unbiased |
# | `reinforce` | sample $x$ and $z \sim e(\cdot\mid x)$; score function with a leave-one-out baseline | unbiased |
# | `gumbel` | relaxed one-hot $y = \mathrm{softmax}((\log e + g)/\tau)$ | biased for $\tau > 0$ |
# | `gumbel-st` | one-hot forward, relaxed backward (straight-through) | biased |
#
# For a minibatch $x_1..x_B \sim p^*$ and codes $z_b$, the value estimates are
# $\hat R = \frac1B\sum_b \log\frac{e(z_b|x_b)}{m(z_b)}$ and $\hat D = -\frac1B\sum_b \log d(x_b|z_b)$.
# We look at (1) the values, (2) the gradients — variance and bias — at a fixed model, and (3) whole
# training runs, logged against the exact $R$ and $D$.
#
# The folded setup cell imports the libraries and sets the sample sizes: 3000 minibatches for the
# value and gradient statistics and 1500 training steps, or 200 minibatches and 60 steps in fast
# mode (`TOYRD_FAST=1`, which the site build uses). A Monte-Carlo check passes when the estimate is
# within $K = 4$ standard errors of the truth. Everything below starts from one fixed random
# tabular model:

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import toyrd
import toyrd.train.torch as tt
from toyrd.plot import Table, show
from toyrd.tables import tabular

FAST = os.environ.get("TOYRD_FAST") == "1"
N_BATCHES = 200 if FAST else 3000  # minibatches for the value and gradient statistics
STEPS = 60 if FAST else 1500  # training steps
K = 4.0  # Monte-Carlo checks: |mean - truth| <= K * sd / sqrt(n)
toy = toyrd.toy_data()
px, n = toy.px, toy.n_bins

# %%
params = tabular.init(0, n, n, 1.0)  # one fixed random model, float64 logits
enc, dec, mar = tabular.tables(params, n)
exact = toyrd.evaluate(px, enc, dec, mar)
print(f"exact:  R = {exact['R']:.6f}  D = {exact['D']:.6f}")

# %% [markdown]
# ## 1. The values: unbiased, and how noisy
#
# Draw many independent minibatches of size $B = 16$ (explicit, seeded `torch.Generator`) and compute
# $\hat R$, $\hat D$ for two estimators: `enumerate` (exact sum over $z$) and `reinforce` (one sampled
# $z$ per $x$ — the values of `gumbel-st` are the same samples). Both are unbiased, so their averages
# must agree with the exact values within a few standard errors.

# %%
B = 16
tables_t = tuple(torch.as_tensor(a) for a in (enc, dec, mar))
px_t = torch.as_tensor(px)
gen = torch.Generator().manual_seed(0)
values = {"enumerate": [], "reinforce": []}
with torch.no_grad():
    for _ in range(N_BATCHES):
        batch = tt.draw_minibatch(gen, px_t, B, n)
        for name in values:
            r, d = tt.estimate_rd(tables_t, batch, name)
            values[name].append((r.item(), d.item()))
values = {k: np.array(v) for k, v in values.items()}

value_rows = []  # (estimator, quantity, mean, exact, sd, |z|, within K se)
for name, v in values.items():
    for j, q in enumerate(("R", "D")):
        mean, sd = v[:, j].mean(), v[:, j].std(ddof=1)
        z = abs(mean - exact[q]) / (sd / np.sqrt(len(v)))
        value_rows.append((name, q, mean, exact[q], sd, z, bool(z <= K)))
show(
    Table(
        value_rows,
        ["estimator", "quantity", "mean", "exact", "sd (one batch)", "|z|", f"within {K:g} se?"],
        formats=[None, None, ".4f", ".4f", ".4f", ".2f", None],
        caption=f"{N_BATCHES} minibatches of B = {B} (nats)",
    )
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, j, q in ((axes[0], 0, "R"), (axes[1], 1, "D")):
    for name, v in values.items():
        ax.hist(v[:, j], bins=40, alpha=0.5, density=True, label=name)
    ax.axvline(exact[q], color="k", lw=1.5, label="exact")
    ax.set(xlabel=f"minibatch estimate of {q} (nats), B = {B}", ylabel="density")
axes[0].legend()
fig.tight_layout()

# %% tags=["check"]
for name, q, *_, z, _within in value_rows:
    # unbiased: within K standard errors (the seeds are fixed, so the check is repeatable;
    # an unbiased estimate leaves K = 4 with probability ~6e-5)
    assert z <= K, (name, q)

# %% [markdown]
# Summing over $z$ removes one source of noise: `enumerate`'s spread comes from $x$ alone. On a real
# VAE with continuous or huge code spaces that sum is impossible; on the toy it is the reference.
#
# ## 2. The gradients at a fixed model
#
# `toyrd.train.torch.gradient_samples` draws $N$ independent minibatch gradients $\hat g$ of the ELBO loss
# with respect to all $30\cdot30 + 30\cdot30 + 30$ logits; `exact_gradient` is autograd through the
# exact sums. `gradient_stats` reports the total variance $\sum_j \mathrm{Var}\,\hat g_j$ and an
# unbiased estimate of the squared bias $\|\mathbb E\hat g - \nabla L\|^2$ with its standard error.
# An unbiased estimator must give a squared bias within a few standard errors of zero.

# %%
g_exact = tt.exact_gradient(params, px)
stats = {}
for name in ("enumerate", "reinforce", "gumbel", "gumbel-st"):
    samples = tt.gradient_samples(params, px, name, n=N_BATCHES, batch_size=B, seed=1)
    stats[name] = tt.gradient_stats(samples, g_exact, B)
print(f"|exact gradient| = {np.linalg.norm(g_exact):.4f}")
show(
    Table(
        [
            (
                name,
                st.variance,
                st.bias_sq,
                st.bias_sq_se,
                st.bias_sq / st.bias_sq_se,
                np.sqrt(max(st.bias_sq, 0.0)) / st.exact_norm,
            )
            for name, st in stats.items()
        ],
        ["estimator", "variance", r"bias$^2$", "± se", r"bias$^2$/se", "rel. bias"],
        formats=[None, ".4f", ".2e", ".1e", ".1f", ".3f"],
        caption=f"{N_BATCHES} minibatches of B = {B}; squared norms of the gradient",
    )
)

fig, ax = plt.subplots(figsize=(6, 3))
names = list(stats)
ax.bar(
    np.arange(4) - 0.2, [stats[k].variance for k in names], 0.4, label="variance (per minibatch)"
)
signif = [stats[k].bias_sq > K * stats[k].bias_sq_se for k in names]
ax.bar(
    np.arange(4) + 0.2,
    [stats[k].bias_sq if sig else K * stats[k].bias_sq_se for k, sig in zip(names, signif)],
    0.4,
    color=["tab:orange" if sig else "none" for sig in signif],
    edgecolor="tab:orange",
    label=f"squared bias (hollow: not above {K:g} se, bar = {K:g} se)",
)
ax.set_xticks(np.arange(4), names)
ax.set(yscale="log", ylabel="squared norm", title=f"ELBO gradient estimators, B = {B}")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1, frameon=False)
fig.tight_layout()

# %% tags=["check"]
for name in ("enumerate", "reinforce"):  # unbiased: squared bias within K se of zero
    assert abs(stats[name].bias_sq) <= K * stats[name].bias_sq_se, name
assert stats["gumbel"].bias_sq > K * stats["gumbel"].bias_sq_se  # the relaxation is biased
# (gumbel-st's bias is smaller; fast mode's few minibatches may not resolve it, so no assert)

# %% [markdown]
# Variance falls like $1/B$ with the minibatch size; bias does not fall at all. That is why a biased
# estimator can stall away from the optimum however long it trains, while an unbiased one only needs
# a small enough learning rate.
#
# ## The temperature of the Gumbel-softmax
#
# The relaxed estimator differentiates a different function: the loss evaluated at a point inside
# the simplex rather than at a one-hot code. As $\tau \to 0$ the relaxation approaches the one-hot
# code, so the bias should shrink; the gradient of the sharper softmax gets noisier.

# %%
temps = [0.1, 0.3, 1.0, 3.0]
gb = tt.gumbel_bias(params, px, temps, n=N_BATCHES, batch_size=B, seed=2)
show(
    Table(
        [
            (
                tau,
                np.sqrt(max(st.bias_sq, 0.0)) / st.exact_norm,
                st.bias_sq,
                st.bias_sq_se,
                st.bias_sq / st.bias_sq_se,
                st.variance,
            )
            for tau, st in gb.items()
        ],
        ["τ", "rel. bias", r"bias$^2$", "± se", r"bias$^2$/se", "variance"],
        formats=[".1f", ".3f", ".2e", ".1e", ".1f", ".3f"],
        caption=f"Gumbel-softmax gradients, {N_BATCHES} minibatches of B = {B}",
    )
)

fig, ax = plt.subplots(figsize=(5, 3))
rel = np.array([np.sqrt(max(gb[t].bias_sq, 0.0)) / gb[t].exact_norm for t in temps])
sig = np.array([gb[t].bias_sq > K * gb[t].bias_sq_se for t in temps])
ax.plot(temps, rel, "-", color="tab:blue")
ax.plot(np.array(temps)[sig], rel[sig], "o", color="tab:blue", label="relative bias")
ax.plot(
    np.array(temps)[~sig],
    rel[~sig],
    "o",
    mfc="none",
    color="tab:blue",
    label=f"relative bias, not above {K:g} se",
)
ax.plot(
    temps, [np.sqrt(gb[t].variance) / gb[t].exact_norm for t in temps], "s-", label="relative sd"
)
ax.set(
    xscale="log",
    xlabel="temperature $\\tau$",
    ylabel="relative to $\\|\\nabla L\\|$",
    title="Gumbel-softmax: bias and noise",
)
ax.legend()
fig.tight_layout()

# %% tags=["check"]
# as τ → 0 the bias shrinks (τ = 3 and 1 are resolved; at 0.1 it is not above K se) ...
assert gb[3.0].bias_sq - gb[1.0].bias_sq > K * (gb[3.0].bias_sq_se + gb[1.0].bias_sq_se)
assert gb[0.1].bias_sq <= K * gb[0.1].bias_sq_se
assert all(gb[a].variance > gb[b].variance for a, b in zip(temps, temps[1:]))  # ... noise grows

# %% [markdown]
# ## 3. Training runs, logged against the truth
#
# `toyrd.train.torch.train` runs minibatch Adam on the ELBO loss. Its history keeps the minibatch
# $\hat R$ (what the practitioner sees) and, every few steps, the exact $R$ of the current model
# (what is really going on).

# %%
runs = {}
for name in ("enumerate", "reinforce", "gumbel"):
    runs[name] = tt.train(
        estimator=name,
        steps=STEPS,
        batch_size=32,
        lr=0.05,
        seed=0,
        history_stride=max(STEPS // 25, 1),
    )

fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), sharey=True)
for ax, (name, res) in zip(axes, runs.items()):
    hb, he = res.history.batch, res.history.exact
    ax.plot(np.arange(1, len(hb["R"]) + 1), hb["R"], lw=0.5, alpha=0.5, label="minibatch $\\hat R$")
    ax.plot(he["step"], he["R"], "k.-", lw=1, label="exact $R$")
    ax.set(title=name, xlabel="step")
axes[0].set_ylabel("rate (nats)")
axes[0].legend()
fig.tight_layout()

H = toy.entropy
show(
    Table(
        [
            (name, r.final["R"], r.final["D"], r.final["R"] + r.final["D"] - H)
            for name, r in runs.items()
        ],
        ["estimator", "exact R", "exact D", "−ELBO − H"],
        formats=[None, ".4f", ".4f", ".4f"],
        caption=f"after {STEPS} steps (nats)",
    )
)

# %% tags=["check"]
for name, res in runs.items():
    f = res.final
    assert f["R"] + f["D"] - H >= -1e-12, name  # -ELBO - H ≥ 0 (to float64 rounding)

# %% [markdown]
# The exact $-\mathrm{ELBO} - H \ge 0$ is how far each run still is from the optimum (lesson 2: the
# optimum is $0$ for every encoder). The minibatch curve alone cannot tell you that number.
#
# ## Exercises
#
# 1. **The $1/B$ law.** Repeat the gradient statistics with $B = 4, 16, 64$. Check that the variance
#    of `enumerate` and `reinforce` scales like $1/B$ and that their squared bias stays within
#    $K$ standard errors of zero. What happens to the Gumbel bias?
# 2. **Baselines.** Compare `reinforce` with `baseline="none"`, `"loo"` and `"ema"` (pass
#    `baseline=` to `gradient_samples`; the EMA baseline needs a `baseline_value`). Which has the
#    least variance? Are all of them unbiased?
# 3. **Bias you can train into.** Train with `gumbel` at $\tau = 3$ for longer. Does the exact
#    $-\mathrm{ELBO} - H$ go to zero? Compare with `enumerate` at the same learning rate.
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** The estimate is a mean of $B$ independent per-example terms, so its variance is the
# per-example variance over $B$: multiplying $B$ by 4 divides it by 4. `enumerate` and `reinforce`
# are unbiased at every $B$. The Gumbel-softmax bias comes from the relaxation at temperature
# $\tau$, not from sampling, so it does not shrink with $B$.
#
# **2.** A baseline that does not depend on the sample it multiplies leaves the estimator unbiased:
# none, the leave-one-out mean of the *other* samples and an EMA of earlier batches all qualify.
# The variance is what differs; measure it with the same number of samples for each.
#
# **3.** Gumbel-softmax training follows the gradient of a relaxed objective, not of the ELBO, so
# it stops where the relaxed gradient vanishes; the exact $-\mathrm{ELBO} - H$ at that point
# measures the bias you trained into. `enumerate` follows the exact gradient.
#
# </details>
