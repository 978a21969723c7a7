"""toyrd.train.torch model, export and boundary checks: the torch model is the family map, exported
tables are valid float64 and round-trip through the model file, and bad input raises ToyrdError."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import toyrd  # noqa: E402
from toyrd import tables as fam  # noqa: E402
from toyrd.testing import IDENTITY_TOL, assert_identity
from toyrd.train import TORCH_DEFAULTS  # noqa: E402
from toyrd.train.torch import (  # noqa: E402  # noqa: E402
    TorchVAE,
    check_estimator,
    draw_minibatch,
    export_tables,
    save_torch_model,
    train,
)

#: torch float64 softmax vs scipy float64 softmax: a few ulps per entry.
TABLE_TOL = 1e-14
#: float64 identities.


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("family", ["tabular", "bump"])
def test_torch_tables_are_the_family_map(family):
    f = fam.get_family(family)
    params = f.init(7, 30, 12, 1.3)
    vae = TorchVAE(family, seed=7, n_x=30, n_z=12, scale=1.3)
    ref = f.tables(params, 30)
    with torch.no_grad():
        got = vae.tables()
    for a, b in zip(got, ref):
        assert a.dtype == torch.float64
        np.testing.assert_allclose(a.numpy(), b, rtol=0, atol=TABLE_TOL)
    for a, b in zip(export_tables(vae), ref):  # export recomputes with numpy: identical
        assert np.array_equal(a, b)
    assert sorted(vae.encoder.params) == sorted(k for k in params if k.startswith("enc_"))
    assert sorted(vae.decoder.params) == sorted(k for k in params if k.startswith("dec_"))
    assert sorted(vae.marginal.params) == ["mar_logits"]


def test_float32_model_exports_valid_float64_tables():
    vae = TorchVAE("bump", seed=2, dtype=torch.float32)
    enc, dec, mar = export_tables(vae)
    assert enc.dtype == dec.dtype == mar.dtype == np.float64
    assert np.max(np.abs(enc.sum(1) - 1)) <= toyrd.SUM_TOL
    assert np.max(np.abs(dec.sum(1) - 1)) <= toyrd.SUM_TOL
    assert abs(mar.sum() - 1) <= toyrd.SUM_TOL


def test_saved_model_evaluates_like_the_exported_tables(tmp_path):
    toy = toyrd.toy_data()
    res = train(steps=20, batch_size=8, seed=3, history_stride=10)
    path = tmp_path / "m.npz"
    save_torch_model(path, res.model, px=toy.px, pzx=toy.pzx)
    m = toyrd.load_model(path)
    a = toyrd.evaluate(m.px, m.encoder, m.decoder, m.marginal, pzx=m.pzx)
    b = toyrd.evaluate(toy.px, *res.tables, pzx=toy.pzx)
    assert a == b
    # the file keeps the log-tables; evaluated from them it is exactly the trainer's final row,
    # and the tables' own values agree to rounding (no entry underflows here)
    c = toyrd.evaluate_logs(m.px, *m.logs, pzx=m.pzx)
    assert c == {k: v for k, v in res.final.items() if k != "loss"}
    for k in a:
        assert_identity(a[k], c[k], what=k)


def test_import_toyrd_does_not_import_torch():
    code = (
        "import sys, toyrd, toyrd.cli; toyrd.cli.build_parser(); "
        "assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_minibatch_draw_is_reproducible_and_in_range():
    px = torch.as_tensor(toyrd.toy_data().px)
    a = draw_minibatch(torch.Generator().manual_seed(5), px, (3, 4), 7)
    b = draw_minibatch(torch.Generator().manual_seed(5), px, (3, 4), 7)
    assert torch.equal(a.x, b.x) and torch.equal(a.gumbel, b.gumbel)
    assert a.x.shape == (3, 4) and a.gumbel.shape == (3, 4, 7)
    assert int(a.x.min()) >= 0 and int(a.x.max()) < 30 and bool(torch.isfinite(a.gumbel).all())


def test_training_is_reproducible_from_the_seed():
    a = train(estimator="reinforce", steps=15, batch_size=4, seed=11, history_stride=5)
    b = train(estimator="reinforce", steps=15, batch_size=4, seed=11, history_stride=5)
    assert all(np.array_equal(x, y) for x, y in zip(a.tables, b.tables))
    assert np.array_equal(a.history.batch["R"], b.history.batch["R"])


def test_history_keeps_r_and_d_separately():
    res = train(
        estimator="gumbel-st", steps=25, batch_size=8, seed=1, history_stride=10, temperature=0.7
    )
    hb, he = res.history.batch, res.history.exact
    assert set(hb) == {"step", "R", "D", "loss"} and hb["R"].shape == (25,)
    # the minibatch loss of the ELBO objective is R̂ + D̂, logged separately
    np.testing.assert_allclose(hb["loss"], hb["R"] + hb["D"], rtol=0, atol=IDENTITY_TOL)
    assert he["step"].tolist() == [0, 10, 20, 25]
    np.testing.assert_allclose(he["ELBO"], -(he["R"] + he["D"]), rtol=0, atol=IDENTITY_TOL)
    assert he["R"][-1] == res.final["R"] and he["D"][-1] == res.final["D"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(estimator="sgd"), "estimator"),
        (dict(estimator="reinforce", batch_size=1), "batch_size >= 2"),
        (dict(baseline="mean"), "baseline"),
        (dict(temperature=0.0), "temperature"),
        (dict(lr=-1.0), "lr"),
        (dict(objective="target_rate"), "sigma"),
        (dict(objective="beta", hyper=-1.0), "must be finite and >= 0"),
        (dict(schedule="step"), "schedule"),
        (dict(family="mlp"), "family"),
        (dict(history_stride=0), "history_stride"),
    ],
)
def test_bad_config_raises_toyrd_error(kwargs, words):
    with pytest.raises(toyrd.ToyrdError, match=words):
        train(TORCH_DEFAULTS._replace(steps=2, **kwargs))


def test_check_estimator_accepts_valid_configs():
    check_estimator("reinforce", "ema", 1, 1.0)
    check_estimator("gumbel", "loo", 1, 0.1)  # the baseline only matters for reinforce


def test_progress_bar_shows_r_and_d(capsys):
    train(steps=12, batch_size=4, seed=0, history_stride=6, progress=True)
    err = capsys.readouterr().err
    assert "R_hat=" in err and "D_hat=" in err and " R=" in err and " D=" in err
