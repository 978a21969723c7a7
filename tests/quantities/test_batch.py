"""toyrd.quantities.evaluate_batch against toyrd.evaluate, model by model, on both backends."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import toyrd
from toyrd import TableError, ToyrdError
from toyrd.quantities import NUMPY_MAX_B, evaluate_batch
from toyrd.testing import IDENTITY_TOL

#: float64 agreement of two evaluations of the same formulas (different summation order only).

BACKENDS = ["numpy", "jax"]


def _stack(rng, *shape, zeros=0.0):
    """Random row-stochastic stack; a fraction ``zeros`` of entries set exactly to 0."""
    t = rng.random(shape)
    if zeros:
        t = np.where(rng.random(shape) < zeros, 0.0, t)
        t[..., 0] += 1e-3  # keep every row non-empty
    return t / t.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def batch(toy):
    rng = np.random.default_rng(7)
    b, n = 5, toy.px.shape[0]
    enc = _stack(rng, b, n, n, zeros=0.3)
    dec = _stack(rng, b, n, n)
    mar = _stack(rng, b, n)
    # model 1: optimal marginal and decoder for its encoder (R + D = H); model 2: collapse
    enc[1] = _stack(rng, n, n)
    mar[1] = toyrd.aggregate_posterior(toy.px, enc[1])
    dec[1] = toyrd.bayes_posterior(toy.px, enc[1])
    enc[2] = np.tile(mar[2], (n, 1))
    return enc, dec, mar


def _assert_rows_match(out, px, enc, dec, mar, **kw):
    for b in range(enc.shape[0]):
        ref = toyrd.evaluate(px, enc[b], dec[b], mar[b], **kw)
        assert set(out) == set(ref)
        for k, v in ref.items():
            got = out[k][b]
            if np.isinf(v):
                assert got == v, (k, b)
            else:
                assert abs(got - v) <= IDENTITY_TOL, (k, b, got, v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_evaluate_every_quantity(backend, toy, batch):
    enc, dec, mar = batch
    out = evaluate_batch(toy.px, enc, dec, mar, toy.pzx, backend=backend)
    assert all(v.shape == (5,) and v.dtype == np.float64 for v in out.values())
    _assert_rows_match(out, toy.px, enc, dec, mar, pzx=toy.pzx)
    # the identities hold row by row: R = I_e + KL(q||m); optimal m, d close the bound;
    # collapse I_e = 0
    np.testing.assert_allclose(out["R"], out["I_e"] + out["kl_q_m"], rtol=0, atol=IDENTITY_TOL)
    assert abs(out["R"][1] + out["D"][1] - out["H"][1]) <= IDENTITY_TOL
    assert abs(out["I_e"][2]) <= IDENTITY_TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_pzx_and_with_reference(backend, toy, batch):
    enc, dec, mar = batch
    r = np.full(toy.px.shape, 1.0 / toy.px.shape[0])
    out = evaluate_batch(toy.px, enc, dec, mar, r=r, backend=backend)
    assert "I_zstar" not in out
    _assert_rows_match(out, toy.px, enc, dec, mar, r=r)


@pytest.mark.parametrize("backend", BACKENDS)
def test_infinite_distortion_and_rate(backend):
    """d(x|z) = 0 where p_e(x,z) > 0 gives D = +inf; m(z) = 0 where q(z) > 0 gives R = +inf."""
    px = np.array([0.5, 0.5])
    enc = np.array([np.eye(2), np.eye(2)])
    dec = np.array([[[0.0, 1.0], [0.0, 1.0]], np.eye(2)])
    mar = np.array([[0.5, 0.5], [1.0, 0.0]])
    out = evaluate_batch(px, enc, dec, mar, backend=backend)
    assert out["D"][0] == np.inf and np.isfinite(out["R"][0])
    assert out["R"][1] == np.inf and out["D"][1] == 0.0
    assert np.all(out["ELBO"] == -np.inf)
    _assert_rows_match(out, px, enc, dec, mar)


def test_auto_backend_uses_jax_only_once_compiled(toy, monkeypatch):
    """auto: numpy for a small batch at a new size; JAX once that padded size is compiled."""
    import toyrd.quantities._batch as tb

    rng = np.random.default_rng(3)
    n = toy.px.shape[0]
    b = 11  # padded to 16, a size no other test compiles
    enc, dec, mar = _stack(rng, b, n, n), _stack(rng, b, n, n), _stack(rng, b, n)
    assert b < NUMPY_MAX_B
    monkeypatch.setattr(tb, "_COMPILED", set())
    calls = []
    for name in ("_numpy_batch", "_jax_batch"):
        real = getattr(tb, name)
        monkeypatch.setattr(tb, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    first = evaluate_batch(toy.px, enc, dec, mar)
    forced = evaluate_batch(toy.px, enc, dec, mar, backend="jax")
    again = evaluate_batch(toy.px, enc[:9], dec[:9], mar[:9])  # 9 also pads to 16
    assert calls == ["_numpy_batch", "_jax_batch", "_jax_batch"]
    for k in first:
        assert first[k].shape == (b,) and again[k].shape == (9,)
        np.testing.assert_allclose(forced[k], first[k], rtol=0, atol=IDENTITY_TOL)
        np.testing.assert_allclose(again[k], first[k][:9], rtol=0, atol=IDENTITY_TOL)


def test_rejects_broken_tables_naming_the_batch_index(batch, toy):
    enc, dec, mar = (a.copy() for a in batch)
    px = toy.px
    bad = enc.copy()
    bad[3, 7] *= 1.01
    with pytest.raises(TableError, match=r"encoders\[3\] row 7: sums to"):
        evaluate_batch(px, bad, dec, mar)
    bad = dec.copy()
    bad[1, 2, 4] = -bad[1, 2, 4]
    with pytest.raises(TableError, match=r"decoders\[1\]: entry \(2, 4\) .* must be >= 0"):
        evaluate_batch(px, enc, bad, mar)
    bad = mar.copy()
    bad[4, 0] = np.nan
    with pytest.raises(TableError, match=r"marginals\[4\]: entry 0 is nan"):
        evaluate_batch(px, enc, dec, bad)
    with pytest.raises(TableError, match=r"encoders: expected a stack of tables .* got rank 2"):
        evaluate_batch(px, enc[0], dec, mar)
    with pytest.raises(TableError, match=r"decoders: shape .* expected \(B, n_z, n_x\)"):
        evaluate_batch(px, enc, dec[:4], mar)
    with pytest.raises(
        TableError, match=r"marginals: shape \(4, 30\), expected \(B, n_z\) = \(5, 30\)"
    ):
        evaluate_batch(px, enc, dec, mar[:4])
    with pytest.raises(TableError, match=r"encoders: have 30 rows .* px has 29"):
        evaluate_batch(px[:-1] / px[:-1].sum(), enc, dec, mar)
    with pytest.raises(TableError, match=r"the batch is empty"):
        evaluate_batch(px, enc[:0], dec[:0], mar[:0])
    with pytest.raises(TableError, match=r"dtype"):
        evaluate_batch(px, enc.astype(complex), dec, mar)
    with pytest.raises(TableError, match=r"pzx: has 29 columns, expected n_x = 30"):
        evaluate_batch(px, enc, dec, mar, pzx=toy.pzx[:, :-1])
    shifted = toy.pzx.copy()
    shifted[:, [0, 1]] = shifted[:, [1, 0]]
    with pytest.raises(TableError, match=r"pzx: its column sums"):
        evaluate_batch(px, enc, dec, mar, pzx=shifted)
    with pytest.raises(ToyrdError, match=r"backend: 'cuda'"):
        evaluate_batch(px, enc, dec, mar, backend="cuda")


def test_inputs_are_not_renormalised_or_modified(batch, toy):
    enc, dec, mar = batch
    before = [a.copy() for a in batch]
    evaluate_batch(toy.px, enc, dec, mar, backend="numpy")
    for a, b in zip(batch, before):
        assert np.array_equal(a, b)


def test_import_does_not_pull_jax():
    code = "import sys, toyrd, toyrd.quantities; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_large_batches_run_in_blocks(toy, monkeypatch):
    """Above CHUNK models the program maps over blocks; every row still equals evaluate()."""
    import toyrd.quantities._batch as tb

    monkeypatch.setattr(tb, "CHUNK", 4)  # B = 20 pads to 32 (a size no other test uses): 8 blocks
    rng = np.random.default_rng(11)
    n = toy.px.shape[0]
    enc, dec, mar = _stack(rng, 20, n, n, zeros=0.2), _stack(rng, 20, n, n), _stack(rng, 20, n)
    out = evaluate_batch(toy.px, enc, dec, mar, toy.pzx, backend="jax")
    _assert_rows_match(out, toy.px, enc, dec, mar, pzx=toy.pzx)
