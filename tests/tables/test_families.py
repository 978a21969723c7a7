"""Model families: valid tables on every backend, seeded inits, the bump family's reading."""

import numpy as np
import pytest

import toyrd
from toyrd.tables import FAMILIES, Family, bin_coordinates, bump, get_family, tabular

#: Row sums of a float64 softmax are 1 within a few ulps.
SUM_TOL = 1e-13
#: numpy, jax and torch softmaxes of the same float64 logits agree to a few ulps.
BACKEND_TOL = 1e-13


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("scale", [0.0, 0.3, 1.0])
def test_tables_are_valid_and_pass_the_exact_core(family, scale):
    fam = get_family(family)
    e, d, m = fam.tables(fam.init(7, 30, 12, scale), 30)
    assert e.shape == (30, 12) and d.shape == (12, 30) and m.shape == (12,)
    for t in (e, d, m[None, :]):
        assert np.all(t >= 0) and np.max(np.abs(t.sum(-1) - 1)) < SUM_TOL
    q = toyrd.evaluate(toyrd.toy_data().px, e, d, m)
    assert np.isfinite(q["R"]) and np.isfinite(q["D"])
    assert q["R"] + q["D"] >= q["H"] - 1e-12  # -ELBO >= H


@pytest.mark.parametrize("family", list(FAMILIES))
def test_backends_agree(family):
    import jax
    import jax.numpy as jnp
    import torch

    fam = get_family(family)
    p = fam.init(3, 30, 30, 1.0)
    ref = fam.tables(p, 30)
    with jax.enable_x64(True):
        jx = fam.tables({k: jnp.asarray(v) for k, v in p.items()}, 30)
        jx = [np.asarray(a) for a in jx]
    th = [a.numpy() for a in fam.tables({k: torch.as_tensor(v) for k, v in p.items()}, 30)]
    for a, b, c in zip(ref, jx, th):
        assert b.dtype == np.float64 and c.dtype == np.float64
        assert np.max(np.abs(a - b)) < BACKEND_TOL and np.max(np.abs(a - c)) < BACKEND_TOL


@pytest.mark.parametrize("family", list(FAMILIES))
def test_init_is_reproducible_and_seeded(family):
    fam = get_family(family)
    a, b, c = fam.init(11, 30, 30, 1.0), fam.init(11, 30, 30, 1.0), fam.init(12, 30, 30, 1.0)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    assert all(v.dtype == np.float64 for v in a.values())


def test_scale_zero():
    e, d, m = tabular.tables(tabular.init(0, 30, 30, 0.0), 30)
    assert np.max(np.abs(e - 1 / 30)) < 1e-15 and np.max(np.abs(m - 1 / 30)) < 1e-15
    assert toyrd.representational_mi(toyrd.toy_data().px, e) < 1e-15  # collapsed encoder
    _, _, mb = bump.tables(bump.init(0, 30, 30, 0.0), 30)
    assert np.max(np.abs(mb - 1 / 30)) < 1e-15


def test_bump_reading():
    """x_j is the bin coordinate t_j = (j + 1/2)/n_x; d(·|z_i) peaks at the bin nearest b_i/w_i."""
    t = bin_coordinates(30)
    assert t[0] == 0.5 / 30 and t[-1] == 29.5 / 30
    w = np.full(4, 20.0)
    centres = np.array([0.12, 0.37, 0.61, 0.88])
    p = {"enc_w": w, "enc_b": w * centres, "dec_w": w, "dec_b": w * centres, "mar_logits": np.zeros(4)}
    e, d, m = bump.tables(p, 30)
    assert np.array_equal(np.argmax(d, axis=1), np.argmin(np.abs(t[None, :] - centres[:, None]), axis=1))
    # logit gaps of e(z|x) are -(w t - b)^2 differences, exactly
    x = 7
    lg = -((w * t[x] - w * centres) ** 2)
    assert np.max(np.abs(np.log(e[x]) - (lg - np.log(np.exp(lg).sum())))) < 1e-12


@pytest.mark.parametrize("n", [1, 2, 3, 30, 31])
def test_bin_coordinates_are_the_bin_centres(n):
    """The bump family's x_j is the centre (j + ½)/n of bin j of [0, 1], not an edge: exact in
    float64, symmetric about ½, spaced 1/n."""
    t = bin_coordinates(n)
    assert t.dtype == np.float64 and t.shape == (n,)
    assert np.array_equal(t, (np.arange(n) + 0.5) / n)
    assert t[0] == 0.5 / n and t[-1] == 1.0 - 0.5 / n
    np.testing.assert_allclose(t + t[::-1], 1.0, rtol=0, atol=1e-15)


def test_custom_family_and_errors():
    fam = Family("mine", tabular.init, tabular.tables)
    assert get_family(fam) is fam
    with pytest.raises(toyrd.ToyrdError, match="family: 'nope' is not one of"):
        get_family("nope")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_logits_and_log_tables_match_tables(family):
    """tables = softmax(logits) and log_tables = log_softmax(logits) = log(tables) (float64)."""
    from toyrd.tables import log_softmax, softmax

    fam = get_family(family)
    p = fam.init(4, 30, 20, 1.0)
    tables, logs, logits = fam.tables(p, 30), fam.log_tables(p, 30), fam.logits(p, 30)
    assert [a.shape for a in logits] == [(30, 20), (20, 30), (20,)]
    for t, lt, a in zip(tables, logs, logits):
        assert np.max(np.abs(softmax(a) - t)) < SUM_TOL
        assert np.max(np.abs(log_softmax(a) - lt)) < 1e-13 * max(1.0, np.abs(lt).max())
        assert np.max(np.abs(np.log(t) - lt)) < 1e-12 * max(1.0, np.abs(lt).max())
    assert all(np.array_equal(a, b) for a, b in zip(fam.logs(p, 30), logs))
