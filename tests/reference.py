"""An independent reference for every quantity of DESIGN §2, in plain Python loops.

Written from the definitions only — it does not import :mod:`toyrd` — so that agreement with
``toyrd.evaluate`` means two different implementations agree. Each quantity is summed term by
term over the support, exactly as its definition reads, with ``math.fsum`` (exactly rounded sums),
with the conventions 0·log(anything) = 0 and a·log 0 = −∞ for a > 0. In every definition below the
infinite terms that can occur all have the same sign, so the results are ±inf, never NaN.

Inputs are anything ``list()`` / ``float()`` can read (numpy arrays included): ``px`` (n_x),
``enc`` (n_x × n_z) = e(z|x), ``dec`` (n_z × n_x) = d(x|z), ``mar`` (n_z) = m(z), ``pzx`` (2 × n_x).
"""

from __future__ import annotations

import math

INF = math.inf


def _vec(v):
    return [float(a) for a in v]


def _mat(t):
    return [[float(a) for a in row] for row in t]


def _log(a):
    return -INF if a == 0.0 else math.log(a)


def _sum(terms):
    terms = list(terms)
    if any(t == INF for t in terms):
        assert not any(t == -INF for t in terms), "reference: inf - inf"
        return INF
    if any(t == -INF for t in terms):
        return -INF
    return math.fsum(terms)


def entropy(p):
    """H(p) = −Σ p log p."""
    return -_sum(a * math.log(a) for a in _vec(p) if a > 0)


def kl(p, q):
    """KL(p‖q) = Σ_{p>0} p (log p − log q)."""
    return _sum(a * (math.log(a) - _log(b)) for a, b in zip(_vec(p), _vec(q)) if a > 0)


def mutual_information(joint):
    """I = Σ_{j>0} j(a,b) log[j(a,b) / (j(a) j(b))] of a rank-2 joint table."""
    j = _mat(joint)
    rows = [math.fsum(r) for r in j]
    cols = [math.fsum(r[k] for r in j) for k in range(len(j[0]))]
    return _sum(
        j[a][b] * (math.log(j[a][b]) - math.log(rows[a]) - math.log(cols[b]))
        for a in range(len(j))
        for b in range(len(j[0]))
        if j[a][b] > 0
    )


def aggregate_posterior(px, enc):
    """q(z) = Σ_x p*(x) e(z|x)."""
    px, enc = _vec(px), _mat(enc)
    return [math.fsum(px[x] * enc[x][z] for x in range(len(px))) for z in range(len(enc[0]))]


def generative_marginal(dec, mar):
    """g(x) = Σ_z m(z) d(x|z)."""
    dec, mar = _mat(dec), _vec(mar)
    return [math.fsum(mar[z] * dec[z][x] for z in range(len(mar))) for x in range(len(dec[0]))]


def reconstruction_distribution(px, enc, dec):
    """d̄(x') = Σ_x Σ_z p*(x) e(z|x) d(x'|z) = Σ_z q(z) d(x'|z) (summing over x first)."""
    q, dec = aggregate_posterior(px, enc), _mat(dec)
    return [math.fsum(q[z] * dec[z][x2] for z in range(len(q))) for x2 in range(len(dec[0]))]


def distortion(px, enc, dec):
    """D = −Σ_x p*(x) Σ_z e(z|x) log d(x|z)."""
    px, enc, dec = _vec(px), _mat(enc), _mat(dec)
    return _sum(
        -px[x] * enc[x][z] * _log(dec[z][x])
        for x in range(len(px))
        for z in range(len(enc[0]))
        if px[x] * enc[x][z] > 0
    )


def rate(px, enc, mar):
    """R = Σ_x p*(x) Σ_z e(z|x) log[e(z|x) / m(z)]."""
    px, enc, mar = _vec(px), _mat(enc), _vec(mar)
    return _sum(
        px[x] * enc[x][z] * (math.log(enc[x][z]) - _log(mar[z]))
        for x in range(len(px))
        for z in range(len(mar))
        if px[x] * enc[x][z] > 0
    )


def bound_e(enc, dec, mar):
    """E = Σ_z m(z) Σ_x d(x|z) log[e(z|x) / m(z)]."""
    enc, dec, mar = _mat(enc), _mat(dec), _vec(mar)
    return _sum(
        mar[z] * dec[z][x] * (_log(enc[x][z]) - math.log(mar[z]))
        for z in range(len(mar))
        for x in range(len(dec[0]))
        if mar[z] * dec[z][x] > 0
    )


def bound_g(dec, mar, r):
    """G = Σ_z m(z) Σ_x d(x|z) log[d(x|z) / r(x)]."""
    dec, mar, r = _mat(dec), _vec(mar), _vec(r)
    return _sum(
        mar[z] * dec[z][x] * (math.log(dec[z][x]) - _log(r[x]))
        for z in range(len(mar))
        for x in range(len(r))
        if mar[z] * dec[z][x] > 0
    )


def reparam_u(px, enc, dec, r):
    """U = Σ_x Σ_z p*(x) e(z|x) log[d(x|z) / r(x)] (needs r > 0 where p_e > 0)."""
    px, enc, dec, r = _vec(px), _mat(enc), _mat(dec), _vec(r)
    return _sum(
        px[x] * enc[x][z] * (_log(dec[z][x]) - math.log(r[x]))
        for x in range(len(px))
        for z in range(len(enc[0]))
        if px[x] * enc[x][z] > 0
    )


def evaluate(px, enc, dec, mar, *, pzx=None, r=None, base=None):
    """Every scalar of ``toyrd.evaluate`` (same keys), from the definitions above."""
    px, enc, dec, mar = _vec(px), _mat(enc), _mat(dec), _vec(mar)
    r = px if r is None else _vec(r)
    n_x, n_z = len(px), len(mar)
    pe = [[px[x] * enc[x][z] for z in range(n_z)] for x in range(n_x)]
    pd = [[mar[z] * dec[z][x] for z in range(n_z)] for x in range(n_x)]  # indexed [x][z]
    d = distortion(px, enc, dec)
    rr = rate(px, enc, mar)
    out = {
        "H": entropy(px),
        "D": d,
        "R": rr,
        "ELBO": -(d + rr),
        "I_e": mutual_information(pe),
        "I_d": mutual_information(pd),
        "E": bound_e(enc, dec, mar),
        "G": bound_g(dec, mar, r),
        "U": reparam_u(px, enc, dec, r),
        "S": kl(px, r),
        "kl_q_m": kl(aggregate_posterior(px, enc), mar),
        "kl_pstar_g": kl(px, generative_marginal(dec, mar)),
        "kl_pstar_dbar": kl(px, reconstruction_distribution(px, enc, dec)),
    }
    if pzx is not None:
        pzx = _mat(pzx)
        joint = [
            [math.fsum(pzx[s][x] * enc[x][z] for x in range(n_x)) for z in range(n_z)]
            for s in range(len(pzx))
        ]
        out["I_zstar"] = mutual_information(joint)
    if base is not None:
        out = {k: v / math.log(base) for k, v in out.items()}
    return out


def optimal_marginal(px, enc):
    """m*(z) = q(z), the aggregate posterior (Appendix D.3)."""
    return aggregate_posterior(px, enc)


def optimal_decoder(px, enc):
    """d*(x|z) = p*(x) e(z|x) / q(z) (Appendix D.4); rows with q(z) = 0 are set to p*(x)."""
    px, enc = _vec(px), _mat(enc)
    q = aggregate_posterior(px, enc)
    return [
        [px[x] * enc[x][z] / q[z] if q[z] > 0 else px[x] for x in range(len(px))]
        for z in range(len(q))
    ]
