"""ELBO ≤ IWAE_k ≤ Σ_x p*(x) log g(x) on every valid table, subnormal entries included (issue 29,
item 2; Burda et al. 2016, and DESIGN.md §2: ELBO = IWAE_1 ≤ IWAE_k ≤ Σ p* log g).

The three sides must decide "this weight is 0" the same way: from the tables' zeros, never from a
product that underflows. Before the fix the ELBO dropped p*(x) e(z|x) = 1e-304 · 1e-24 → 0 meeting
d(x|z) = 0 (finite ELBO, IWAE_k = −inf), and Σ p* log g took log of m(z) d(x|z) = 1e-400 → 0
(−inf above a finite ELBO).

Example count: ``TOYRD_ORDER_EXAMPLES`` if set, else the loaded Hypothesis profile's (dev 100,
ci 1,000; tests/conftest.py). The issue's run is
``TOYRD_ORDER_EXAMPLES=10000 python -m pytest -q tests/quantities/test_bound_order.py``.
"""

import math
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toyrd.quantities import elbo, evaluate, iwae_bound, log_likelihood_bound
from toyrd.testing import adversarial_rows, assert_identity, assert_leq, models

#: ELBO ≤ IWAE_k ≤ Σ p* log g up to float64 rounding of sums of |log w| up to ~2000 nats
#: (log of 1e-300 · 1e-300 / 5e-324): relative 1e-12, as tests/quantities/test_iwae_underflow.py.
ORDER_REL_TOL = 1e-12

N_EXAMPLES = int(os.environ.get("TOYRD_ORDER_EXAMPLES", "0")) or settings.default.max_examples

#: Entries an adversary picks: exact zeros, subnormals, values near 1e-300 and ordinary ones.
_NASTY = [0.0, 5e-324, 1e-310, 1e-300, 1e-250, 1e-200, 1e-100, 1e-30, 1e-20, 0.5, 1.0]


@st.composite
def nasty_models(draw):
    n_x, n_z = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    px = adversarial_rows(draw, (1, n_x), _NASTY)[0]
    e = adversarial_rows(draw, (n_x, n_z), _NASTY)
    d = adversarial_rows(draw, (n_z, n_x), _NASTY)
    return px, e, d, adversarial_rows(draw, (1, n_z), _NASTY)[0]


@st.composite
def dirichlet_models(draw):
    """toyrd.testing.models (peaked rows down to ~1e-30, exact zeros) at sizes IWAE enumerates."""
    t = draw(models(n_x=draw(st.integers(1, 8)), n_z=draw(st.integers(1, 8))))
    return t.px, t.encoder, t.decoder, t.marginal


def _check_order(px, e, d, m, k):
    lb = elbo(px, e, d, m)
    iw = iwae_bound(px, e, d, m, k).value
    ll = log_likelihood_bound(px, d, m)
    for name, v in (("ELBO", lb), ("IWAE", iw), ("log-likelihood", ll)):
        assert not math.isnan(v), name
    assert math.isfinite(ll)  # g(x) > 0 wherever p*(x) > 0 for these rows (a log-sum-exp of logs)
    assert_leq(lb, iw, ORDER_REL_TOL, "ELBO <= IWAE_k")
    assert_leq(iw, ll, ORDER_REL_TOL, "IWAE_k <= log-likelihood")
    assert_identity(lb, evaluate(px, e, d, m)["ELBO"], what="elbo() = evaluate()['ELBO']")
    # IWAE_k = −inf exactly when a drawn state has weight 0; the ELBO must then be −inf too
    if iw == -math.inf:
        assert lb == -math.inf


def _g_positive(px, d, m):
    """Σ p* log g is finite unless some x with p*(x) > 0 has m(z) d(x|z) = 0 for every z."""
    return bool(np.all(((m[:, None] > 0) & (d > 0)).any(0)[px > 0]))


@settings(
    max_examples=N_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(nasty_models(), dirichlet_models()), st.integers(2, 4))
def test_property_elbo_below_iwae_below_log_likelihood(model, k):
    px, e, d, m = model
    if not _g_positive(px, d, m):  # Σ p* log g = −inf: then IWAE_k and ELBO are −inf as well
        assert log_likelihood_bound(px, d, m) == iwae_bound(px, e, d, m, k).value == -math.inf
        assert elbo(px, e, d, m) == -math.inf
        return
    _check_order(px, e, d, m, k)


def test_log_likelihood_finite_where_g_underflows():
    """g(x0) = m(z0) d(x0|z0) = 1e-200 · 1e-200 underflows as a product; log g(x0) = −921.03.
    The only state of x0's encoder row is z0, so IWAE_k = ELBO = Σ p* log g here."""
    px = np.array([0.5, 0.5])
    e = np.array([[1.0, 0.0], [0.0, 1.0]])
    d = np.array([[1e-200, 1 - 1e-200], [0.0, 1.0]])
    m = np.array([1e-200, 1 - 1e-200])
    ll = log_likelihood_bound(px, d, m)
    want = 0.5 * (-400 * math.log(10))  # x1: g(x1) = 1 − 1e-400 = 1.0 in float64
    assert math.isfinite(ll) and abs(ll - want) <= 1e-12 * abs(want)
    _check_order(px, e, d, m, 3)


def test_elbo_is_minus_infinity_where_the_weight_only_underflows():
    """p*(x0) e(z0|x0) = 1e-304 · 1e-24 underflows to 0, but it is a positive weight on
    d(x0|z0) = 0: D = +inf, so ELBO = IWAE_k = −inf (they used to disagree: finite vs −inf)."""
    px = np.array([1e-304, 1 - 1e-304])
    e = np.array([[1e-24, 1 - 1e-24], [0.0, 1.0]])
    d = np.array([[0.0, 1.0], [0.5, 0.5]])
    m = np.array([0.5, 0.5])
    assert iwae_bound(px, e, d, m, 2).value == -math.inf
    assert elbo(px, e, d, m) == -math.inf
    out = evaluate(px, e, d, m)
    assert out["D"] == math.inf and out["ELBO"] == -math.inf
