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
# # 5. Perspectives on the VAE
#
# Casey Chu's note "Perspectives on the variational autoencoder" lists several ways to read the same
# objective, the ELBO. Each perspective is an identity or an inequality between quantities that are
# usually out of reach — $\log g(x)$, the model posterior $p_d(z|x)$, the importance-weighted bounds.
# On the toy they are all finite sums, so we can check every one of them exactly:
#
# 1. **maximum likelihood** — the ELBO is a lower bound on the log-likelihood;
# 2. **variational Bayes** — the encoder approximates the model posterior;
# 3. **autoencoder** — reconstruction minus a KL term;
# 4. **importance weighting** — the chain $\mathrm{ELBO} = \mathrm{IWAE}_1 \le \mathrm{IWAE}_2 \le
#    \dots \le \log$-likelihood;
# 5. **expectation–maximisation** — coordinate ascent on the ELBO.
#
# Notation: Chu's $q(z|x)$ is our encoder $e(z|x)$, his $p(z)$ and $p(x|z)$ are our $m(z)$ and
# $d(x|z)$, his $p(x)$ is our $g(x)$, and his data distribution $q(x)$ is our $p^*(x)$.
#
# The folded setup cell imports the libraries, loads the toy and sets the tolerance of the checks
# ($10^{-12}$); in fast mode (`TOYRD_FAST=1`, which the site build uses) the IWAE chain stops at
# $k = 16$ instead of 256, the Monte-Carlo check draws 2,000 samples instead of 20,000, and EM runs
# 15 iterations instead of 60. Everything below starts from one random tabular model.

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np

import toyrd
from toyrd import quantities as iwae
from toyrd import train as em_module
from toyrd.plot import Table, show
from toyrd.tables import tabular

FAST = os.environ.get("TOYRD_FAST") == "1"
KS = [1, 2, 3, 4, 16] if FAST else [1, 2, 3, 4, 8, 16, 64, 256]  # the IWAE chain's k
MC_SAMPLES = 2000 if FAST else 20000  # samples of the Monte-Carlo IWAE_4
EM_ITERS = 15 if FAST else 60  # EM iterations
toy = toyrd.toy_data()
px, H, n = toy.px, toy.entropy, toy.n_bins
# Every claim the text makes is checked by an assert. Exact identities hold to TOL: float64 sums
# of at most 900 terms of a few nats each round off near 1e-15.
TOL = 1e-12

# %%
# one random tabular model (random normal logits)
e, d, m = tabular.tables(tabular.init(0, n, n, 1.0), n)
out = toyrd.evaluate(px, e, d, m, distributions=True)
loglik = iwae.log_likelihood_bound(px, d, m)  # Σ_x p*(x) log g(x) = -(H + KL(p*||g))
print(f"ELBO = {out['ELBO']:.6f}   log-likelihood Σ p* log g = {loglik:.6f}   -H = {-H:.6f}")

# %% tags=["check"]
assert abs(loglik - (-H - out["kl_pstar_g"])) < TOL and out["ELBO"] <= loglik <= -H

# %% [markdown]
# ## 1. Maximum likelihood
#
# The model's data distribution is $g(x) = \sum_z m(z)d(x|z)$. Maximum likelihood maximises
# $\sum_x p^*(x)\log g(x) = -H - \mathrm{KL}(p^*\|g)$, which is out of reach when $g$ is an integral.
# The ELBO is a lower bound with an exact gap:
#
# $$\sum_x p^*(x)\log g(x) - \mathrm{ELBO} = \sum_x p^*(x)\,\mathrm{KL}\big(e(\cdot|x)\,\|\,p_d(\cdot|x)\big) \;\ge 0,$$
#
# where $p_d(z|x) = m(z)d(x|z)/g(x)$ is the model posterior.

# %%
post = out["model_posterior"]  # p_d(z|x), one row per x
gap = sum(px[x] * toyrd.kl(e[x], post[x]) for x in range(n))
show(
    Table(
        [
            ("log-lik − ELBO", loglik - out["ELBO"]),
            (r"$\mathbb{E}_x\,\mathrm{KL}(e(\cdot\mid x)\,\|\,p_d(\cdot\mid x))$", gap),
        ],
        ["quantity", "nats"],
        formats=".12f",
    )
)

# %% tags=["check"]
assert abs((loglik - out["ELBO"]) - gap) < TOL and gap > 0  # a lower bound with an exact gap

# %% [markdown]
# ## 2. Variational Bayes
#
# Now read $m$ and $d$ as a fixed prior and likelihood; the encoder is an approximation of the
# posterior, amortised over $x$. For fixed $m, d$ the log-likelihood is a constant, so maximising the
# ELBO over the encoder *is* minimising the expected KL to the true posterior — and the maximum is
# reached at $e = p_d(z|x)$, where the bound is tight. `toyrd.e_step` computes that encoder.
# Below, random encoders drawn closer and closer to the posterior: their ELBO gap is exactly their
# expected KL.

# %%
rng = np.random.default_rng(1)
mix = np.linspace(0, 1, 11)
noise = rng.dirichlet(np.ones(n), size=n)
gaps, kls = [], []
for t in mix:
    e_t = (1 - t) * noise + t * toyrd.e_step(d, m)
    gaps.append(loglik - toyrd.elbo(px, e_t, d, m))
    kls.append(sum(px[x] * toyrd.kl(e_t[x], post[x]) for x in range(n)))
print(f"max |gap - E KL| along the path: {np.max(np.abs(np.array(gaps) - np.array(kls))):.1e}")
print(f"gap at e = p_d(z|x): {gaps[-1]:.1e}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(mix, gaps, "o-")
ax.set(
    xlabel="t in  e = (1 - t) random + t p_d(z|x)",
    ylabel="log-lik - ELBO (nats)",
    title="Variational Bayes: the gap is the posterior KL",
)
fig.tight_layout()

# %% tags=["check"]
assert np.max(np.abs(np.array(gaps) - np.array(kls))) < TOL  # the gap is the expected KL
assert abs(gaps[-1]) < TOL  # tight at e = p_d(z|x)

# %% [markdown]
# ## 3. Autoencoder
#
# Split the ELBO the other way: $\mathrm{ELBO} = \underbrace{\mathbb E\log d(x|z)}_{-D} -
# \underbrace{\mathbb E_x\mathrm{KL}(e(\cdot|x)\|m)}_{R}$. The first term is a reconstruction score:
# encode $x$, decode, and ask how likely the original is. The reconstruction channel
# $p(x'|x) = \sum_z e(z|x)d(x'|z)$ shows what the autoencoder does; a sharp diagonal means faithful
# reconstruction. Compare a high-rate and a collapsed model, both with optimal tables.


# %%
def nonneg(v, tol=1e-12):
    """A quantity >= 0 by theorem, for printing: a rounding residue in [-tol, 0] shows as 0."""
    return 0.0 if -tol <= v <= 0.0 else v


fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
channels = {}  # code -> (ELBO + H, its reconstruction channel), for the checks
for ax, (name, enc) in zip(
    axes, (("identity code", np.eye(n)), ("collapsed code", np.full((n, n), 1.0 / n)))
):
    dd, mm = toyrd.optimize_generative(px, enc)
    o = toyrd.evaluate(px, enc, dd, mm, distributions=True)
    ax.imshow(o["recon_channel"], origin="lower", cmap="viridis")
    ax.set(title=f"{name}: R = {o['R']:.3f}, D = {nonneg(o['D']):.3f}", xlabel="$x'$", ylabel="$x$")
    channels[name] = (o["ELBO"] + H, o["recon_channel"])
fig.tight_layout()

# %% tags=["check"]
for name, (elbo_gap, channel) in channels.items():
    assert abs(elbo_gap) < TOL  # both: ELBO = -H
    faithful = np.abs(channel - np.eye(n)).max() < TOL  # a perfect copy ...
    ignored = np.abs(channel - px[None, :]).max() < TOL  # ... or x' independent of x
    assert faithful if name == "identity code" else ignored

# %% [markdown]
# Both models have ELBO $= -H$ (lesson 2), yet one reconstructs perfectly and the other not at all:
# the ELBO trades reconstruction for rate one for one.
#
# ## 4. Importance weighting: the IWAE chain, exactly
#
# Draw $k$ codes from the encoder and average the importance weights inside the log:
#
# $$\mathrm{IWAE}_k = \sum_x p^*(x)\,\mathbb E_{z_1..z_k \sim e(\cdot|x)} \log\frac1k\sum_{i=1}^k
#   \frac{m(z_i)d(x|z_i)}{e(z_i|x)} .$$
#
# By Jensen's inequality, $\mathrm{ELBO} = \mathrm{IWAE}_1 \le \mathrm{IWAE}_k \le
# \mathrm{IWAE}_{k+1} \le \sum_x p^*(x)\log g(x)$. On the toy the outer sum over $x$ is finite and
# so is the expectation over $k$ codes: `toyrd.quantities.iwae_bound(px, e, d, m, k)` enumerates the
# multisets of $k$ codes exactly for small $k$ and switches to a deterministic quadrature (no
# sampling) for large $k$. Monte Carlo (`method="mc"`) is there to compare with.

# %%
ks = KS
chain = [iwae.iwae_bound(px, e, d, m, k) for k in ks]
ll = iwae.log_likelihood_bound(px, d, m)
show(
    Table(
        [("ELBO", "", out["ELBO"])]
        + [(rf"$\mathrm{{IWAE}}_{{{r.k}}}$", r.method, r.value) for r in chain]
        + [(r"log-likelihood $\sum_x p^*(x) \log g(x)$", "", ll)],
        ["bound", "method", "nats"],
        formats=".10f",
    )
)
print(
    f"IWAE_1 - ELBO = {chain[0].value - out['ELBO']:.1e};  smallest increment along k: "
    f"{np.min(np.diff([r.value for r in chain])):.2e}"
)
mc = iwae.iwae_bound(px, e, d, m, 4, method="mc", n_samples=MC_SAMPLES, seed=0)
print(
    f"IWAE_4 by Monte Carlo: {mc.value:.5f} ± {mc.stderr:.5f}  (exact {chain[3].value:.5f}, "
    f"|z| = {abs(mc.value - chain[3].value) / mc.stderr:.2f})"
)

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.semilogx(ks, [r.value for r in chain], "o-", label="IWAE$_k$ (exact)")
ax.axhline(out["ELBO"], color="tab:red", ls=":", label="ELBO")
ax.axhline(ll, color="k", ls="--", label="$\\sum p^* \\log g$")
ax.set(xlabel="k", ylabel="nats", title="The importance-weighted chain")
ax.legend()
fig.tight_layout()

# %% tags=["check"]
values = np.array([r.value for r in chain])
assert abs(values[0] - out["ELBO"]) < TOL  # ELBO = IWAE_1
assert np.diff(values).min() > -TOL and values[-1] <= ll + TOL  # ≤ IWAE_k ≤ IWAE_k+1 ≤ log-lik
# the Monte-Carlo estimate agrees with the exact value within its error: |z| < 4 (the chance
# of exceeding it for an unbiased estimate is ~6e-5; seed 0 is fixed, so the check is repeatable)
assert abs(mc.value - chain[3].value) < 4 * mc.stderr

# %% [markdown]
# ## 5. Expectation–maximisation
#
# EM maximises the ELBO by coordinate ascent. The **E-step** sets the encoder to the model
# posterior, $e \leftarrow p_d(z|x)$, closing the gap of section 1 (the ELBO becomes the
# log-likelihood). The **M-step** sets $m$ and $d$ to the optimum for that encoder (lesson 2:
# $m \leftarrow q$, $d \leftarrow p_e(x|z)$). Every half-step can only raise the ELBO.
# `toyrd.train.em` runs it exactly; with a learned marginal the first M-step already reaches $-H$, so we
# also run the classic variant with a fixed uniform prior, which climbs gradually.

# %%
iters = EM_ITERS
runs = {
    "learned m": em_module.em(px, iters=iters, seed=0, learn_marginal=True),
    "fixed uniform m": em_module.em(
        px, iters=iters, seed=0, learn_marginal=False, marginal=np.full(n, 1.0 / n)
    ),
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, r in runs.items():
    ax.plot(np.arange(len(r.elbo)) / 2, np.maximum(-(r.elbo + H), 1e-16), ".-", label=name)
ax.set(
    xlabel="EM iteration (the M-steps at whole numbers)",
    ylabel="$-$ELBO $-$ H (nats, floor 1e-16)",
    yscale="log",
    title="EM: coordinate ascent on the ELBO",
)
ax.legend()
fig.tight_layout()
show(
    Table(
        [
            (name, bool(np.all(np.diff(r.elbo) >= -1e-12)), -r.elbo[-1] - H)
            for name, r in runs.items()
        ],
        ["marginal", "every half-step raised the ELBO (up to 1e-12)", "final −ELBO − H"],
        formats=[None, None, ".1e"],
        caption=f"EM, {iters} iterations (nats)",
    )
)

# %% tags=["check"]
for name, r in runs.items():
    assert np.all(np.diff(r.elbo) >= -TOL), name  # every half-step can only raise the ELBO
assert abs(runs["learned m"].elbo[2] + H) < TOL  # the first M-step already reaches -H
assert -runs["fixed uniform m"].elbo[2] - H > 1e-3  # the fixed prior climbs gradually

# %% [markdown]
# ## Exercises
#
# 1. **Tight in the encoder.** After an E-step, check that `toyrd.elbo` equals the log-likelihood to
#    float64 precision, and that the IWAE$_k$ bounds are then all equal. Why does importance
#    weighting stop helping when the encoder is the exact posterior?
# 2. **Chu's implicit posterior.** IWAE$_k$ is an ELBO with an implicit encoder $q^{(k)}(z|x)$:
#    sample $z_1..z_k \sim e(\cdot|x)$, return $z_j$ with probability proportional to its weight.
#    Compute $q^{(k)}$ exactly for $k = 2$ (enumerate the $30^2$ pairs for each $x$) and show it is
#    closer, in expected KL, to $p_d(z|x)$ than $e$ is.
# 3. **EM with a fixed prior.** Where does EM with a fixed uniform $m$ converge? Is its final
#    log-likelihood $-H$? Relate the answer to $\mathrm{KL}(p^*\|g)$ and the number of code states.
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** After an E-step $e(z|x) = p_d(z|x)$, so every importance weight
# $w(x,z) = m(z)\, d(x|z) / e(z|x) = g(x)$ is the same for every $z$. The log of any average of
# equal weights is $\log g(x)$: the ELBO and every $\mathrm{IWAE}_k$ equal the log-likelihood.
# Importance weighting only helps by averaging out unequal weights.
#
# **2.** For each $x$, enumerate the pairs $(z_1, z_2)$ with probability $e(z_1|x)\, e(z_2|x)$ and
# give $z_1$ the share $w(x,z_1)/(w(x,z_1) + w(x,z_2))$ and $z_2$ the rest; summing these shares
# over the pairs gives $q^{(2)}(z|x)$. Then compare $\sum_x p^*(x)\, \mathrm{KL}(q^{(2)}(\cdot|x)\,\|\,p_d(\cdot|x))$
# with the same sum for $e$.
#
# **3.** With $m$ fixed, EM updates $d$ only, and the log-likelihood
# $\sum_x p^*(x) \log \sum_z m(z)\, d(x|z)$ is concave in $d$ (a log of a linear function) on a
# convex set, so EM does not stall below its maximum. That maximum is $-H$, reached when $g = p^*$
# ($\mathrm{KL}(p^*\,\|\,g) = 0$), for instance by $d(x|z) = p^*(x)$ for every $z$. This needs
# only one code state, so the number of states does not matter.
#
# </details>
