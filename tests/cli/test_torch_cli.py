"""``toyrd train-torch``: JSON output, the model file it writes, and bad input (exit 2, one
line)."""

import json

import pytest

torch = pytest.importorskip("torch")

import toyrd  # noqa: E402
from toyrd.cli import main  # noqa: E402
from toyrd.testing import IDENTITY_TOL


@pytest.fixture(autouse=True, scope="module")
def _restore_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def test_train_torch_json_and_model_file(tmp_path, capsys):
    out = tmp_path / "m.npz"
    rc = main(
        [
            "train-torch",
            "--estimator",
            "reinforce",
            "--baseline",
            "ema",
            "--batch-size",
            "1",
            "--steps",
            "30",
            "--eval-every",
            "10",
            "--seed",
            "4",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["estimator"] == "reinforce" and res["config"]["seed"] == 4
    assert res["history"]["exact"]["step"] == [0, 10, 20, 30]
    assert set(res["history"]["batch"]) == {"step", "R", "D", "loss"}
    assert main(["evaluate", str(out), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    for k in ("R", "D", "ELBO", "I_e", "I_zstar"):
        assert abs(ev[k] - res["final"][k]) <= IDENTITY_TOL
    assert res["history"]["exact"]["R"][-1] == res["final"]["R"]
    m = toyrd.load_model(out)
    assert m.encoder.shape == (30, 30) and m.pzx is not None


def test_train_torch_text_output(capsys):
    assert (
        main(
            [
                "train-torch",
                "--objective",
                "target_rate",
                "--sigma",
                "0.5",
                "--family",
                "bump",
                "--estimator",
                "gumbel-st",
                "--temperature",
                "0.5",
                "--steps",
                "5",
                "--eval-every",
                "5",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "R exact" in text and "final (exact, nats)" in text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--objective", "target_rate"], "sigma"),
        (["--estimator", "reinforce", "--batch-size", "1"], "batch_size >= 2"),
        (["--estimator", "gumbel", "--temperature", "-1"], "temperature"),
        (["--steps", "-3"], "steps"),
        (["--threads", "0"], "threads"),
    ],
)
def test_train_torch_bad_input_exits_2_with_one_line(argv, words, capsys):
    assert main(["train-torch", "--steps", "2", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and err.startswith("toyrd train-torch: error:")
