"""Every exact quantity from log-tables (toyrd/quantities/_logeval.py, issue 29 item 1).

The log path must give the quantities of the tables exp(log) — the same numbers as the named
formulas of toyrd/_formulas.py where no product underflows — and finite R, D where a table entry
underflows to 0 while its log is finite."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import toyrd
from toyrd import _formulas as F
from toyrd.quantities import QUANTITY_NAMES, evaluate, evaluate_logs
from toyrd.quantities._logeval import log_quantities, log_sum_exp, weighted_log_sum
from toyrd.testing import assert_identity, models, true_joints

#: exp(log t) returns t to within |log t| · ε relative (the rounding of the log, amplified by
#: exp): |log t| ≤ ~70 for the strategy's entries (≥ ~1e-30), so ≤ 70 · 1.1e-16 ≈ 8e-15; 1e-13
#: leaves a margin while a wrong table (a missing normalisation, a swapped axis) is off by O(1).
EXP_LOG_RTOL = 1e-13


def _logs(t):
    with np.errstate(divide="ignore"):
        return tuple(np.log(a) for a in (t.encoder, t.decoder, t.marginal))


@given(models(), st.data())
def test_log_path_equals_the_named_formulas(t, data):
    """Each key of log_quantities equals the generic (xlogy) definition, infinities included,
    on sparse tables whose products do not underflow (the strategy's entries stay ≥ ~1e-30)."""
    pzx = data.draw(true_joints(t.px))
    # r > 0: with r(x) = 0 < p*(x) both paths give U = −D − Σ p* log r = −inf + inf (as before)
    ref = data.draw(st.sampled_from([None, np.full(t.px.size, 1.0 / t.px.size)]))
    got = log_quantities(t.px, *_logs(t), ref, pzx)
    want = F._quantities_generic(t.px, t.encoder, t.decoder, t.marginal,
                                 t.px if ref is None else ref, pzx)  # fmt: skip
    assert set(got) == set(QUANTITY_NAMES)
    for k in QUANTITY_NAMES:
        assert_identity(got[k], want[k], what=k)


@given(models(sparse=False))
def test_evaluate_logs_equals_evaluate_of_the_tables(t):
    a = evaluate(t.px, t.encoder, t.decoder, t.marginal, base=2, distributions=True)
    b = evaluate_logs(t.px, *_logs(t), base=2, distributions=True)
    for k in QUANTITY_NAMES[:-1]:
        assert_identity(a[k], b[k], what=k)
    for k in ("q", "g", "dbar", "recon_channel", "bayes_posterior", "model_posterior"):
        np.testing.assert_allclose(a[k], b[k], rtol=EXP_LOG_RTOL, atol=0)


def test_underflowing_decoder_gives_finite_distortion():
    """d(x|z) = exp(−800) underflows to 0; e(z|x) = 0.01 there: D = 0.5·2·(0.01·800 −
    0.99·log 1) = 8 nats exactly in logs, +inf from the table."""
    px = np.array([0.5, 0.5])
    le = np.log(np.array([[0.99, 0.01], [0.01, 0.99]]))
    ld = np.array([[0.0, -800.0], [-800.0, 0.0]])
    lm = np.log(px)
    out = evaluate_logs(px, le, ld, lm)
    assert out["D"] == pytest.approx(8.0, rel=1e-15)
    assert math.isfinite(out["ELBO"]) and out["R"] == pytest.approx(
        math.log(2) + 0.99 * math.log(0.99) + 0.01 * math.log(0.01), rel=1e-14
    )
    assert evaluate(px, np.exp(le), np.exp(ld), np.exp(lm))["D"] == math.inf  # the old answer


def test_rate_of_a_collapsed_encoder_is_exactly_zero_and_infinite_off_support():
    """e(·|x) = m for every x: one sum of p_e (log e − log m) gives R = 0 exactly; a weight
    1e-300 · 1e-30 that underflows still meets m(z) = 0 as R = +inf."""
    m = np.random.default_rng(2).dirichlet(np.ones(7))
    px = np.random.default_rng(3).dirichlet(np.ones(5))
    assert toyrd.rate(px, np.tile(m, (5, 1)), m) == 0.0
    e = np.array([[1 - 1e-30, 1e-30], [1.0, 0.0]])
    assert toyrd.rate(np.array([1e-300, 1 - 1e-300]), e, np.array([1.0, 0.0])) == math.inf


def test_weighted_sum_conventions():
    lw = np.array([-np.inf, -800.0, math.log(0.5)])
    # a zero weight meeting log 0 counts 0; a weight that only underflows meeting log 0 is −inf
    assert weighted_log_sum(lw[[0, 2]], np.array([-np.inf, -2.0])) == -1.0
    assert weighted_log_sum(lw, np.array([-np.inf, -np.inf, -2.0])) == -math.inf
    assert weighted_log_sum(lw, np.array([0.0, -1.0, -2.0])) == -1.0  # e^-800·(−1) rounds away
    assert weighted_log_sum(lw[1:], np.array([np.inf, -2.0])) == math.inf  # R: log e − log 0
    assert log_sum_exp(np.array([[-np.inf, -np.inf], [-np.inf, 0.0]]), 1).tolist() == [-np.inf, 0.0]
    v = log_sum_exp(np.array([[-1000.0, -1000.0]]), 1)[0]
    assert v == pytest.approx(-1000.0 + math.log(2), rel=1e-15)


def test_bad_logs_are_refused_naming_them():
    px = np.array([0.5, 0.5])
    le = np.log(np.array([[0.9, 0.1], [0.2, 0.8]]))
    with pytest.raises(toyrd.TableError, match=r"log_marginal: entry \(1,\) is inf"):
        evaluate_logs(px, le, le, np.array([0.0, np.inf]))
    with pytest.raises(toyrd.TableError, match=r"log_encoder: entry \(0, 1\) is nan"):
        evaluate_logs(px, np.array([[0.0, np.nan], [0.0, -np.inf]]), le, np.log(px))
    with pytest.raises(toyrd.TableError, match=r"exp\(log_decoder\) row 0: sums to"):
        evaluate_logs(px, le, le + np.array([[0.1], [0.0]]), np.log(px))
    with pytest.raises(toyrd.TableError, match="decoder"):
        evaluate_logs(px, le, le[:1], np.log(px))
