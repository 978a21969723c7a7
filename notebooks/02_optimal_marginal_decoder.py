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
# # 2. The optimal marginal and decoder for a fixed encoder
#
# Hold the encoder $e(z|x)$ fixed. Which marginal $m(z)$ and which decoder $d(x|z)$ make the
# negative ELBO $D + R$ as small as possible? Appendix D.3 and D.4 of Alemi et al. (2018) answer in
# closed form, and the answer has a striking consequence: **every** encoder, however useless, can be
# completed into a model whose ELBO is as good as it gets. In this lesson:
#
# 1. the two formulas and why they hold;
# 2. a numerical proof on the toy: gradients, perturbations and a generic optimiser agree;
# 3. the consequence $R + D = H$ for any encoder, and $g = p^*$;
# 4. posterior collapse as an optimum of the ELBO.
#
# The folded setup cell imports numpy, scipy, matplotlib and `toyrd`, loads the toy and sets the
# tolerance of the checks ($10^{-12}$); in fast mode (`TOYRD_FAST=1`, which the site build uses)
# section 3 completes 40 random encoders instead of 300.

# %% tags=["setup"]
import os

import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize, special

import toyrd
from toyrd.plot import Table, show

FAST = os.environ.get("TOYRD_FAST") == "1"
N_ENC = 40 if FAST else 300  # random encoders completed with their optimal tables (section 3)
toy = toyrd.toy_data()
px, H, n = toy.px, toy.entropy, toy.n_bins
# Every claim the text makes is checked by an assert below. Exact identities hold to TOL: float64
# sums of at most 900 terms of a few nats each round off near 1e-15.
TOL = 1e-12

# %% [markdown]
# ## The formulas
#
# **Marginal (D.3).** $m$ enters only the rate, and
# $R = I_e + \mathrm{KL}(q\,\|\,m)$ with $q(z) = \sum_x p^*(x)e(z|x)$. A KL divergence is zero exactly
# when its arguments agree, so
#
# $$m^*(z) = q(z), \qquad R(m^*) = I_e .$$
#
# **Decoder (D.4).** $d$ enters only the distortion, and
# $D = (H - I_e) + \sum_z q(z)\,\mathrm{KL}\big(p_e(\cdot|z)\,\|\,d(\cdot|z)\big)$ with the Bayes
# posterior $p_e(x|z) = p^*(x)e(z|x)/q(z)$. Each KL vanishes when
#
# $$d^*(x|z) = p_e(x|z), \qquad D(d^*) = H - I_e .$$
#
# Adding them: $R + D = H$, whatever $e$ is. `toyrd.optimal_marginal` and `toyrd.optimal_decoder`
# compute $m^*$ and $d^*$ (and `toyrd.optimize_generative` both at once).

# %%
rng = np.random.default_rng(2)
e = rng.dirichlet(np.full(n, 0.5), size=n)  # an arbitrary encoder
m_star = toyrd.optimal_marginal(px, e)
d_star = toyrd.optimal_decoder(px, e)
out = toyrd.evaluate(px, e, d_star, m_star)
show(
    Table(
        [(out["I_e"], out["R"], out["H"] - out["D"], out["R"] + out["D"] - out["H"])],
        [r"$I_e$", "R", "H − D", "R + D − H"],
        formats=[".12f", ".12f", ".12f", ".2e"],
        caption="an arbitrary encoder with m* and d* (nats)",
    )
)

# %% tags=["check"]
assert abs(out["R"] - out["I_e"]) < TOL and abs(out["H"] - out["D"] - out["I_e"]) < TOL
assert abs(out["R"] + out["D"] - out["H"]) < TOL

# %% [markdown]
# ## A numerical proof, three ways
#
# **(a) Stationarity on the simplex.** $m$ lives on the probability simplex, so at an interior
# minimum the gradient $\partial R/\partial m(z) = -q(z)/m(z)$ must be the same in every coordinate
# (a Lagrange multiplier for $\sum_z m(z) = 1$); equivalently its projection onto the simplex's
# tangent space vanishes. Likewise each row of $\partial D/\partial d(x|z) = -p_e(x,z)/d(x|z)$ must
# be constant along $x$. `toyrd.tangent_projection` removes the constant part.

# %%
g_m = toyrd.rate_gradient_marginal(px, e, m_star)
g_d = toyrd.distortion_gradient_decoder(px, e, d_star)
print("dR/dm at m*: min", g_m.min(), " max", g_m.max())
m_unif = np.full(n, 1.0 / n)
g_unif = toyrd.rate_gradient_marginal(px, e, m_unif)
show(
    Table(
        [
            ("dR/dm", "m*", f"{np.abs(toyrd.tangent_projection(g_m)).max():.2e}"),
            ("dD/dd", "d*", f"{np.abs(toyrd.tangent_projection(g_d)).max():.2e}"),
            ("dR/dm", "the uniform m", f"{np.abs(toyrd.tangent_projection(g_unif)).max():.3f}"),
        ],
        ["gradient", "at", "largest |tangent part|"],
    )
)

# %% tags=["check"]
assert np.abs(toyrd.tangent_projection(g_m)).max() < TOL  # stationary at m* ...
assert np.abs(toyrd.tangent_projection(g_d)).max() < TOL  # ... and at d*
assert np.abs(toyrd.tangent_projection(toyrd.rate_gradient_marginal(px, e, m_unif))).max() > 0.1

# %% [markdown]
# **(b) Perturbations.** Stationarity of a convex function is enough, but let us look: move $m$ away
# from $m^*$ along random directions that keep it on the simplex, and $d$ away from $d^*$ along
# random row-wise directions. Both $R$ and $D$ rise, quadratically at first: the slope at $t = 0$ is
# zero.

# %%
ts = np.linspace(0.0, 1.0, 41)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
perturbed = []  # (R curve, D curve, direction of m, direction of d), for the checks
for _ in range(5):
    v_m = rng.dirichlet(np.ones(n)) - m_star  # m* + t v_m stays on the simplex, 0 <= t <= 1
    v_d = rng.dirichlet(np.ones(n), size=n) - d_star  # each row of d* + t v_d too
    r_curve = [toyrd.rate(px, e, m_star + t * v_m) for t in ts]
    d_curve = [toyrd.distortion(px, e, d_star + t * v_d) for t in ts]
    axes[0].plot(ts, np.array(r_curve) - out["R"], lw=1)
    axes[1].plot(ts, np.array(d_curve) - out["D"], lw=1)
    perturbed.append((r_curve, d_curve, v_m, v_d))
axes[0].set(
    xlabel="step $t$ towards a random $m$",
    ylabel="$R(m) - R(m^*)$",
    title="moving $m$ away from $q$",
)
axes[1].set(
    xlabel="step $t$ towards a random $d$",
    ylabel="$D(d) - D(d^*)$",
    title="moving $d$ away from $p_e(x|z)$",
)
fig.tight_layout()

# %% tags=["check"]
for r_curve, d_curve, v_m, v_d in perturbed:
    for curve, best in ((r_curve, out["R"]), (d_curve, out["D"])):
        rise = np.array(curve) - best
        assert rise.min() > -TOL and np.diff(rise, 2).min() > -TOL  # both rise, convexly ...
    # ... with slope zero at t = 0: the directional derivatives vanish (rows of v sum to 0)
    assert abs(g_m @ v_m) < TOL and abs(np.sum(g_d * v_d)) < TOL

# %% [markdown]
# **(c) A generic optimiser.** Forget the formula: parametrise $m = \mathrm{softmax}(\theta)$ and let
# L-BFGS minimise $R$ from a random start. It finds $q$.


# %%
def rate_of_logits(theta):
    return toyrd.rate(px, e, special.softmax(theta))


theta0 = np.random.default_rng(3).standard_normal(n)
res = optimize.minimize(
    rate_of_logits, theta0, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-12}
)
m_found = special.softmax(res.x)
print(
    f"L-BFGS: R = {res.fun:.10f}  (I_e = {out['I_e']:.10f});  max |m_found - q| = "
    f"{np.abs(m_found - m_star).max():.1e}"
)

# %% tags=["check"]
# it finds q: to the optimiser's accuracy (gtol 1e-12 on the logits), far from the formula's 1e-12
assert abs(res.fun - out["I_e"]) < 1e-8 and np.abs(m_found - m_star).max() < 1e-4

# %% [markdown]
# ## The consequence: any encoder gives $R + D = H$ and $g = p^*$
#
# With $m^*$ and $d^*$ the generative model reproduces the data exactly:
# $g(x) = \sum_z q(z)\,p_e(x|z) = \sum_z p^*(x)e(z|x) = p^*(x)$. This is the consistency result of
# McAllester's notes: the encoder may be *anything*; optimal $m$ and $d$ still make the bound tight
# and the model of the data right. Below: random encoders of every sharpness, each completed with its
# optimal tables.

# %%
n_enc = N_ENC
points, worst_sum, worst_g = [], 0.0, 0.0
for seed in range(n_enc):
    g_rng = np.random.default_rng(100 + seed)
    conc = 10.0 ** g_rng.uniform(-2, 1)  # from nearly deterministic to nearly uniform
    enc = g_rng.dirichlet(np.full(n, conc), size=n)
    d_opt, m_opt = toyrd.optimize_generative(px, enc)
    o = toyrd.evaluate(px, enc, d_opt, m_opt)
    points.append((o["R"], o["D"]))
    worst_sum = max(worst_sum, abs(o["R"] + o["D"] - H))
    worst_g = max(worst_g, np.abs(toyrd.generative_marginal(d_opt, m_opt) - px).max())
points = np.array(points)
print(f"{n_enc} random encoders: max |R + D - H| = {worst_sum:.2e},  max |g - p*| = {worst_g:.2e}")

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.fill_between([0, H], [H, 0], 0, color="0.85", label="infeasible")
ax.plot([0, H], [H, 0], "k-", lw=1, label="$R + D = H$")
ax.plot(*points.T, "o", ms=3, alpha=0.6, label="random encoders, optimal $m, d$")
ax.set(
    xlabel="rate $R$ (nats)",
    ylabel="distortion $D$ (nats)",
    aspect="equal",
    xlim=(0, H + 0.3),
    ylim=(0, H + 0.3),
    title="Every encoder lands on the line",
)
ax.legend()
fig.tight_layout()

# %% tags=["check"]
assert worst_sum < TOL and worst_g < TOL  # every encoder: on the line, and g = p*

# %% [markdown]
# ## Posterior collapse is an optimum
#
# The negative ELBO obeys $-\mathrm{ELBO} = D + R \ge H$, and every point above reaches $H$: the
# ELBO **cannot tell these models apart**. The cheapest of them ignores the code altogether: take any
# $m$ and set $e(z|x) = m(z)$ for every $x$. Then $q = m$, $I_e = 0$, $R = 0$, the optimal decoder is
# $d^*(x|z) = p^*(x)$ for every $z$, and $D = H$. The ELBO is at its global optimum, $-H$, and the
# latent variable is useless.


# %%
def nonneg(v, tol=1e-12):
    """A quantity >= 0 by theorem, for printing: a rounding residue in [-tol, 0] shows as 0."""
    return 0.0 if -tol <= v <= 0.0 else v


m_any = np.random.default_rng(4).dirichlet(np.ones(n))
e_collapsed = np.tile(m_any, (n, 1))
d_c, m_c = toyrd.optimize_generative(px, e_collapsed)
oc = toyrd.evaluate(px, e_collapsed, d_c, m_c, pzx=toy.pzx)
e_id = np.eye(n)
oi = toyrd.evaluate(px, e_id, *toyrd.optimize_generative(px, e_id), pzx=toy.pzx)
show(
    Table(
        [
            (
                "collapsed",
                f"{oc['R']:.2e}",
                f"{nonneg(oc['I_e']):.2e}",
                f"{oc['D']:.4f}",
                f"{oc['D'] - H:.2e}",
                f"{oc['ELBO'] + H:.2e}",
                f"{nonneg(oc['I_zstar']):.2e}",
            ),
            (
                "identity",
                f"{oi['R']:.4f}",
                f"{oi['I_e']:.4f}",
                f"{nonneg(oi['D']):.2e}",
                f"{oi['D'] - H:.4f}",
                f"{oi['ELBO'] + H:.2e}",
                f"{oi['I_zstar']:.4f}",
            ),
        ],
        ["encoder", "R", r"$I_e$", "D", "D − H", "ELBO + H", r"$I(z;z^*)$"],
        caption="each with its optimal m and d (nats)",
    )
)
print(f"collapsed: max |d*(x|z) - p*(x)| = {np.abs(d_c - px[None, :]).max():.2e}")

# %% tags=["check"]
for v in (oc["R"], oc["I_e"], oc["D"] - H, oc["ELBO"] + H, oc["I_zstar"]):
    assert abs(v) < TOL  # collapsed: R = I_e = 0, D = H, ELBO = -H, no knowledge of z*
assert np.abs(d_c - px[None, :]).max() < TOL
# the same optimal ELBO; one keeps all 0.5 nats of the class, the other none
assert abs(oi["ELBO"] + H) < TOL and abs(oi["I_zstar"] - toy.info) < TOL

# %% [markdown]
# Both models have the same, optimal ELBO; one keeps all 0.5 nats of the class, the other none.
# Maximising the ELBO alone — with flexible enough $m$ and $d$ — picks the line but not the point
# on it. Lesson 3 shows which point a trainer actually finds, and how a target rate chooses one.
#
# ## Exercises
#
# 1. **The Lagrangian.** Derive $m^* = q$ directly: minimise
#    $-\sum_z q(z)\log m(z) + \lambda(\sum_z m(z) - 1)$. Which value of $\lambda$ do you get, and
#    how does it relate to the output of `toyrd.rate_gradient_marginal` at $m^*$ printed above?
# 2. **A face of the simplex.** Build an encoder that never uses codes 20..29. What is $q$ there,
#    and what does `toyrd.optimal_decoder` return for those rows? Do those rows change $D$? Check that
#    `tangent_projection` with a `support` restricted to the used codes still vanishes.
# 3. **Only one of the two.** Keep the optimal decoder but use a uniform marginal: how far above the
#    line does each random encoder land, and which KL measures the distance? Now keep $m^*$ and use a
#    uniform decoder. Plot both clouds in the RD plane.
#
# <details class="toyrd-solutions"><summary>Solutions</summary>
#
# **1.** The derivative in $m(z)$ is $-q(z)/m(z) + \lambda = 0$, so $m = q/\lambda$; summing over
# $z$ gives $\lambda = \sum_z q(z) = 1$ and $m^* = q$. The gradient of the rate with respect to $m$
# is $-q(z)/m(z)$, which at $m^* = q$ is $-1$ in every coordinate: a constant vector, normal to the
# simplex (its tangent projection vanishes), equal to $-\lambda$.
#
# **2.** $q(z) = \sum_x p^*(x) e(z|x) = 0$ for the unused codes, so $m^*(z) = 0$ there. Their
# decoder rows do not change $D = -\sum_z q(z) \sum_x p_e(x|z) \log d(x|z)$: they are weighted by
# $q(z) = 0$, whatever `optimal_decoder` puts in them. On the used codes the gradient of the rate
# is still $-1$ in every coordinate, so its projection onto the face vanishes.
#
# **3.** Optimal $d$, uniform $m = u$: $D = H - I_e$ as before and $R = I_e + \mathrm{KL}(q\,\|\,u)$,
# so each model lies $\mathrm{KL}(q\,\|\,u)$ to the right of the line. Optimal $m$, uniform $d$:
# $R = I_e$ and $D = H - I_e + \sum_z q(z)\,\mathrm{KL}(p_e(\cdot|z)\,\|\,u)$, so each model lies
# that expected KL above the line.
#
# </details>
