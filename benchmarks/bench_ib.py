"""The information-bottleneck frontier and the IWAE_k chain: speed, and checks against references.

Sections of the JSON:

* ``toy_frontier``: ``toyrd.quantities.ib_frontier`` on the toy's 2 × 30 joint with the default
  100 β (seconds per call, vertices, the frontier sampled at a few rates);
* ``dit``: toyrd's frontier against dit's information bottleneck (``dit.rate_distortion.
  InformationBottleneck``, scipy-optimize backend, seeded) on joints small enough for dit to
  finish: for each β, dit's optimal encoder is evaluated exactly by toyrd (nats), and its
  relevance compared with toyrd's frontier at dit's rate (``frontier - dit``: ≥ 0 means dit's
  point lies on or under toyrd's envelope) and with toyrd's own Blahut–Arimoto solution at the
  same β (the IB Lagrangian I(x;z) - β I(z;z*) of each; lower is better);
* ``brute_force``: an independent reference without dit: every 2-state encoder of a 3-bin joint
  on a grid, its exact (rate, relevance) computed by a separate vectorised formula, and the
  grid's upper envelope compared with toyrd's frontier (n_z = 2);
* ``iwae``: the chain ELBO = IWAE_1 ≤ IWAE_2 ≤ … ≤ Σ p* log g on a trained-like random 30 × 30
  toy model (exact enumeration for k ≤ 4, quadrature beyond, Monte Carlo with its standard
  error for comparison), with seconds per call of each scheme.

Run alone: ``python -m benchmarks.bench_ib [--quick]`` prints the JSON.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks import measure, seed


def _toy_frontier(quick: bool) -> dict:
    import toyrd
    from toyrd.quantities import default_betas, ib_frontier, ib_frontier_at

    toy = toyrd.toy_data()
    fr = ib_frontier(toy.pzx)
    t = measure(lambda: ib_frontier(toy.pzx), repeat=1 if quick else 5, min_time=0.0, number=1)
    c0 = time.process_time()
    ib_frontier(toy.pzx)
    t["cpu_s"] = time.process_time() - c0  # this process's CPU time: robust to a loaded machine
    rates = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0]
    slopes = np.diff(fr.relevance) / np.diff(fr.rate)
    return {
        "n_betas": int(default_betas(toy.pzx).size),
        "betas_range": [float(default_betas(toy.pzx)[0]), float(default_betas(toy.pzx)[-1])],
        "seconds": t,
        "vertices": int(fr.rate.size),
        "candidates": int(fr.candidates.shape[0]),
        "vertices_from_agglomeration": int(np.isnan(fr.betas[1:]).sum()),
        "slope_at_origin": float(slopes[0]),
        "info": fr.info,
        "H": toy.entropy,
        "frontier_at": {str(r): ib_frontier_at(fr, r) for r in rates},
        "rate": fr.rate.tolist(),
        "relevance": fr.relevance.tolist(),
    }


def _dit_point(p_xy: np.ndarray, beta: float, rng_seed: int):
    """dit's IB optimum at β: the encoder p(t|x) it finds, and the seconds it took."""
    import dit
    from dit.rate_distortion import InformationBottleneck

    dist = dit.Distribution.from_ndarray(p_xy)
    t0 = time.perf_counter()
    bn = InformationBottleneck(dist, beta=beta, rvs=[[0], [1]], bound=p_xy.shape[0])
    bn.optimize(rng=np.random.default_rng(rng_seed))
    q = np.asarray(bn.construct_joint(bn._optima))
    sec = time.perf_counter() - t0
    q_xt = q.reshape(q.shape[0], q.shape[1], -1, q.shape[-1]).sum(axis=(1, 2))  # p(x, t)
    enc = q_xt / q_xt.sum(1, keepdims=True)
    return enc, sec


def _dit_section(quick: bool) -> dict:
    try:
        import dit
    except ImportError as exc:  # an optional bench dependency (pip install 'toyrd[bench]')
        return {"status": "dit not installed", "error": str(exc)}
    import toyrd
    from toyrd.quantities import ib_frontier, ib_frontier_at, ib_point

    rng = np.random.default_rng(seed())
    joints = {"random_2x3": rng.dirichlet(np.ones(6)).reshape(2, 3)}
    betas = {"random_2x3": [2.0, 5.0, 20.0] if quick else [1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0]}
    if not quick:
        joints["random_2x4"] = rng.dirichlet(np.ones(8)).reshape(2, 4)
        betas["random_2x4"] = [2.0, 4.0, 8.0, 16.0, 50.0]
        toy = toyrd.toy_data()
        coarse = toyrd.binned_mixture(toy.noise, n_bins=4)  # the toy's classes in 4 bins
        joints["toy_4_bins"] = coarse
        betas["toy_4_bins"] = [1.5, 2.0, 3.0, 5.0, 10.0, 30.0]
    out = {"status": "ok", "version": dit.__version__, "joints": {}}
    worst_match, worst_lagr, dit_above, ours_above = 0.0, -np.inf, -np.inf, -np.inf
    for name, pzx in joints.items():
        fr = ib_frontier(pzx)
        rows = []
        for j, beta in enumerate(betas[name]):
            enc, sec = _dit_point(pzx.T, beta, seed() + j)
            rate, rel = ib_point(pzx, enc)
            f_at = ib_frontier_at(fr, rate)
            own = _toyrd_at_beta(pzx, beta)
            rows.append(
                {
                    "beta": beta,
                    "dit_seconds": sec,
                    "dit_rate": rate,
                    "dit_relevance": rel,
                    "frontier_at_dit_rate": f_at,
                    "frontier_minus_dit": f_at - rel,
                    "toyrd_rate": own[0],
                    "toyrd_relevance": own[1],
                    "lagrangian_dit": rate - beta * rel,
                    "lagrangian_toyrd": own[0] - beta * own[1],
                }
            )
            worst_match = max(worst_match, abs(f_at - rel))
            dit_above, ours_above = max(dit_above, rel - f_at), max(ours_above, f_at - rel)
            worst_lagr = max(worst_lagr, (own[0] - beta * own[1]) - (rate - beta * rel))
        out["joints"][name] = {"pzx": pzx.tolist(), "info": fr.info, "points": rows}
    out["max_abs_relevance_diff_at_matched_rates"] = worst_match
    out["max_dit_relevance_above_toyrd_frontier"] = dit_above  # > 0: toyrd's envelope misses it
    out["max_toyrd_frontier_above_dit"] = ours_above  # > 0: dit stopped at a local optimum
    out["max_lagrangian_excess_toyrd_over_dit"] = worst_lagr  # > 0: dit found a better point
    return out


def _toyrd_at_beta(pzx, beta):
    """toyrd's Blahut–Arimoto at one β (identity start + 3 random restarts): the best point."""
    from toyrd.quantities import ib_frontier

    fr = ib_frontier(pzx, betas=[beta], restarts=4, refine=0, seed=seed())
    pts = fr.candidates[1:]
    best = np.argmin(pts[:, 0] - beta * pts[:, 1])
    return float(pts[best, 0]), float(pts[best, 1])


def _mi_batch(joint):
    """Mutual information of a stack of 2-D joints (B, a, b), nats: an independent reference."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pa, pb = joint.sum(2, keepdims=True), joint.sum(1, keepdims=True)
        terms = np.where(joint > 0, joint * np.log(joint / (pa * pb)), 0.0)
    return terms.sum(axis=(1, 2))


def _brute_force(quick: bool) -> dict:
    from toyrd.quantities import ib_frontier, ib_frontier_at, upper_envelope

    rng = np.random.default_rng(seed() + 1)
    pzx = rng.dirichlet(np.ones(6)).reshape(2, 3)
    n = 21 if quick else 81
    g = np.linspace(0.0, 1.0, n)
    a = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    enc = np.stack([a, 1 - a], -1)  # (M, 3, 2): every 2-state encoder on the grid
    px = pzx.sum(0)
    rate = _mi_batch(px[None, :, None] * enc)
    rel = _mi_batch(np.einsum("sx,mxz->msz", pzx, enc))
    pts = np.concatenate([[[0.0, 0.0]], np.c_[rate, rel][rate > 1e-12]])
    hull = pts[upper_envelope(pts)]
    t0 = time.perf_counter()
    fr = ib_frontier(pzx, n_z=2)
    sec = time.perf_counter() - t0
    diff = ib_frontier_at(fr, hull[:, 0]) - hull[:, 1]
    return {
        "pzx": pzx.tolist(),
        "grid_per_axis": n,
        "encoders": int(enc.shape[0]),
        "grid_hull_vertices": int(hull.shape[0]),
        "toyrd_vertices": int(fr.rate.size),
        "toyrd_seconds": sec,
        "max_grid_above_toyrd": float(max(0.0, -diff.min())),
        "max_toyrd_above_grid": float(max(0.0, diff.max())),
        "grid_max_relevance": float(hull[-1, 1]),
        "toyrd_max_relevance": float(fr.relevance[-1]),
        "info": fr.info,
    }


def _iwae(quick: bool) -> dict:
    import toyrd
    from toyrd.quantities import iwae_bound, log_likelihood_bound

    rng = np.random.default_rng(seed())
    px = toyrd.toy_data().px

    def stoch(*shape):
        t = rng.random(shape) ** 3
        return t / t.sum(-1, keepdims=True)

    e, d, m = stoch(30, 30), stoch(30, 30), stoch(30)
    ks = [1, 2, 3, 4, 8, 16, 64, 256, 1000, 10**4, 10**5]
    chain = []
    for k in ks:
        r = iwae_bound(px, e, d, m, k)
        row = {"k": k, "value": r.value, "method": r.method}
        if k <= 4 or not quick:
            mc = iwae_bound(
                px, e, d, m, k, method="mc", n_samples=2000 if k <= 1000 else 100, seed=seed()
            )
            row.update(
                mc_value=mc.value, mc_stderr=mc.stderr, mc_z=(mc.value - r.value) / mc.stderr
            )
        if k <= 4:
            row["quad_minus_exact"] = iwae_bound(px, e, d, m, k, method="quad").value - r.value
        chain.append(row)
    rep = 1 if quick else 3
    timing = {
        "exact_k4_s": measure(
            lambda: iwae_bound(px, e, d, m, 4, method="exact"), repeat=rep, min_time=0.0, number=1
        ),
        "quad_k4_s": measure(
            lambda: iwae_bound(px, e, d, m, 4, method="quad"), repeat=rep, min_time=0.0, number=1
        ),
        "quad_k1e5_s": measure(
            lambda: iwae_bound(px, e, d, m, 10**5, method="quad"),
            repeat=rep,
            min_time=0.0,
            number=1,
        ),
        "mc_k4_n4096_s": measure(
            lambda: iwae_bound(px, e, d, m, 4, method="mc"), repeat=rep, min_time=0.0, number=1
        ),
    }
    return {
        "model": "toy p*, tables u^3 normalised (u uniform), seed from --seed",
        "elbo": toyrd.elbo(px, e, d, m),
        "log_likelihood_bound": log_likelihood_bound(px, d, m),
        "H": toyrd.data_entropy(px),
        "chain": chain,
        "chain_increasing": bool(np.all(np.diff([c["value"] for c in chain]) > 0)),
        "timing": timing,
    }


def run(quick: bool = False) -> dict:
    return {
        "toy_frontier": _toy_frontier(quick),
        "brute_force": _brute_force(quick),
        "iwae": _iwae(quick),
        "dit": _dit_section(quick),
    }


if __name__ == "__main__":
    from toyrd.cli import dumps

    print(dumps(run(quick="--quick" in sys.argv[1:]), indent=1))
