"""IWAE_k on tables whose products underflow (issue 13, item 3): the bound works in logs.

ELBO = IWAE_1 ≤ IWAE_k (Burda et al. 2016) must hold on every table where both are defined,
and the quadrature must equal the enumeration, also when m(z)·d(x|z) is below the smallest
float (1e-200 · 1e-200), an entry is subnormal (5e-324) or exactly 0.

The property test's example count comes from the environment variable
``TOYRD_IWAE_EXAMPLES`` (default 200, the CI size); the longer run of the issue is
``TOYRD_IWAE_EXAMPLES=10000 python -m pytest -m slow tests/quantities/test_iwae_underflow.py``.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toyrd.quantities import elbo, iwae_bound
from toyrd.testing import IDENTITY_TOL, adversarial_rows

#: How far quadrature may sit from enumeration, relative to 1 + |IWAE_k|. On the toy the two
#: agree to ~2e-15 nats (QUAD_STEP docstring); here values reach ~-2000 nats (log of
#: 1e-300 · 1e-300 / 5e-324) and float64 rounding of such logs is ~2000 · 2.2e-16 ~ 5e-13, so
#: 1e-11 relative leaves a margin of 20 while a lost term (the old -inf, or a dropped plateau
#: of the integrand worth p^k · log w) is many orders larger.
QUAD_REL_TOL = 1e-11
#: ELBO ≤ IWAE_k up to float64 rounding of sums of |log w| up to ~2000: relative 1e-12.
ORDER_REL_TOL = 1e-12

N_EXAMPLES = int(os.environ.get("TOYRD_IWAE_EXAMPLES", "200"))

#: Entries an adversary picks: exact zeros, subnormals, values near 1e-300 and ordinary ones.
_NASTY = [0.0, 5e-324, 1e-310, 1e-300, 1e-250, 1e-200, 1e-100, 1e-20, 1e-10, 0.5, 1.0]


def test_issue_case_is_finite_and_above_the_elbo():
    """px = [1, 0]: the only data state draws z = 0, whose p_d(x, z) = 1e-200 · 1e-200 = 1e-400
    underflows as a product; in logs log w = -921.03 and IWAE_2 = ELBO = -921.03 (one state)."""
    px = np.array([1.0, 0.0])
    e = np.array([[1.0, 0.0], [1.0, 0.0]])
    d = np.array([[1e-200, 1 - 1e-200], [0.5, 0.5]])
    m = np.array([1e-200, 1 - 1e-200])
    lb = elbo(px, e, d, m)
    assert lb == pytest.approx(-400 * math.log(10), rel=1e-15)
    for method in ("exact", "quad", "auto"):
        v = iwae_bound(px, e, d, m, 2, method=method).value
        assert math.isfinite(v), method
        assert v >= lb - ORDER_REL_TOL * abs(lb), method
        assert v == pytest.approx(lb, rel=1e-14), method  # one state: every draw is the same


def test_tiny_products_keep_the_gain_over_the_elbo():
    """Two states per x with weights e^{-1380} and e^{-690}: IWAE_3 > ELBO, quad = exact."""
    px = np.array([0.5, 0.5])
    e = np.array([[0.5, 0.5], [0.3, 0.7]])
    d = np.array([[1e-300, 1 - 1e-300], [1 - 1e-300, 1e-300]])
    m = np.array([1e-200, 1 - 1e-200])
    lb = elbo(px, e, d, m)
    a = iwae_bound(px, e, d, m, 3, method="exact").value
    b = iwae_bound(px, e, d, m, 3, method="quad").value
    assert math.isfinite(a) and a > lb + 1.0  # the gain is hundreds of nats, not rounding
    assert abs(a - b) <= QUAD_REL_TOL * (1 + abs(a))


def test_subnormal_encoder_entry_no_domain_error():
    """e(z|x) = 5e-324 makes the normalised weight e^{744} overflow; quad used to raise
    'math domain error' here. It now equals the enumeration."""
    px = np.array([0.5, 0.5])
    e = np.array([[5e-324, 1 - 5e-324], [0.5, 0.5]])
    d = np.array([[0.75, 0.25], [0.25, 0.75]])
    a = iwae_bound(px, e, d, px, 2, method="exact").value
    b = iwae_bound(px, e, d, px, 2, method="quad").value
    assert math.isfinite(b) and abs(a - b) <= QUAD_REL_TOL * (1 + abs(a))


def test_exact_zero_product_is_minus_infinity_not_an_underflow():
    """m(z) = 0 with e(z|x) > 0 is a true zero weight: IWAE_k = ELBO = -inf. A product that only
    underflows (1e-200 · 1e-200) must not be mistaken for it."""
    px = np.array([1.0])
    e = np.array([[0.5, 0.5]])
    d = np.array([[1.0], [1.0]])
    assert iwae_bound(px, e, d, np.array([0.0, 1.0]), 2).value == -math.inf
    assert math.isfinite(iwae_bound(px, e, d, np.array([1e-200, 1 - 1e-200]), 2).value)


@st.composite
def adversarial_models(draw):
    n_x, n_z = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    px = adversarial_rows(draw, (1, n_x), _NASTY)[0]
    e = adversarial_rows(draw, (n_x, n_z), _NASTY)
    d = adversarial_rows(draw, (n_z, n_x), _NASTY)
    m = adversarial_rows(draw, (1, n_z), _NASTY)[0]
    return px, e, d, m, draw(st.integers(2, 4))


@pytest.mark.slow
@settings(
    max_examples=N_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(adversarial_models())
def test_property_elbo_below_iwae_and_quad_equals_exact(model):
    """On adversarial tables: no exception, no NaN; ELBO ≤ IWAE_k wherever both are defined;
    quad = exact.

    IWAE_k = ELBO = -inf exactly when some x with p*(x) > 0 puts e(z|x) > 0 on a z with
    m(z) d(x|z) = 0 (a zero factor, not an underflowing product); otherwise both are finite.
    (The ELBO's own float64 sum can miss that -inf when p*(x) e(z|x) underflows to 0, e.g.
    1e-304 · 1e-24, so the structural rule, not the computed ELBO, decides.)"""
    px, e, d, m, k = model
    a = iwae_bound(px, e, d, m, k, method="exact").value
    b = iwae_bound(px, e, d, m, k, method="quad").value
    assert not (math.isnan(a) or math.isnan(b))
    zero_weight = (px[:, None] > 0) & (e > 0) & ((m[None, :] == 0) | (d.T == 0))
    if zero_weight.any():
        assert a == b == -math.inf
        return
    lb = elbo(px, e, d, m)
    assert math.isfinite(lb) and math.isfinite(a) and math.isfinite(b), (lb, a, b)
    assert a >= lb - ORDER_REL_TOL * (1 + abs(lb)), (lb, a)
    assert abs(a - b) <= QUAD_REL_TOL * (1 + abs(a)), (a, b)
    assert a <= IDENTITY_TOL  # IWAE_k ≤ Σ p* log g ≤ 0: a bound on a log-likelihood
