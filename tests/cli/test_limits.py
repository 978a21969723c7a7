"""Nothing lost, nothing wrong (issue 29 items 1, 5, 6; issue 28 item 7): exact values for models
whose tables underflow, divergence as an error, and absurd sizes refused before allocating.

The size cases run with the available memory fixed at ``FAKE_MEMORY`` (the refusal then does not
depend on the machine); each request asks for hundreds of GiB, so it is refused on any machine.
"""

import contextlib
import io
import json
import math
import time

import numpy as np
import pytest

import toyrd
import toyrd._memory
from toyrd.cli import main

pytest.importorskip("jax")

#: The memory the size checks see in these tests: 16 GiB, an ordinary laptop.
FAKE_MEMORY = 16 * 2**30
#: A refusal happens before any work: far below the seconds the old runs took (minutes).
REFUSE_WITHIN_S = 30.0
#: The trainer's own float64 R, D (log domain, same parameters) and the evaluator's agree to
#: rounding of sums of ~900 terms of size ≤ ~1000 nats: 1e-9 relative is a wide margin.
TRAINER_REL_TOL = 1e-9


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _one_line_error(code, err, *words):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])


# ----------------------------------------------------------------------------- item 1


def test_underflowing_bump_model_is_evaluated_from_its_logs(tmp_path):
    """Bump family at init scale 3: 7 encoder and 2 decoder entries underflow to 0 while their
    logs stay finite. R and D are those of the trainer, finite; the table formula said D = +inf.
    """
    from toyrd.train.jax import train

    res = train("elbo", family="bump", init_scale=3.0, steps=10, warmup=0, dtype="float64",
                progress=False)  # fmt: skip
    assert (res.encoder[0] == 0).any() and (res.decoder[0] == 0).any()  # the case is the case
    q = res.evaluate()[0]
    for k in ("R", "D"):
        want = res.history[k][0, -1]
        assert math.isfinite(q[k]) and abs(q[k] - want) <= TRAINER_REL_TOL * max(1, abs(want)), k
    path = str(tmp_path / "m.npz")
    argv = "train --family bump --init-scale 3 --steps 10 --warmup 0 --dtype float64 --json"
    code, out, err = _run(argv.split() + ["--out", path])
    assert code == 0, err
    trained = json.loads(out)
    assert trained["underflowed"].keys() == {"encoder", "decoder"}
    code, out, err = _run(["evaluate", path, "--json"])
    assert code == 0, err
    got = json.loads(out)
    assert got["underflowed"] == trained["underflowed"]
    for k in ("R", "D", "ELBO"):
        assert isinstance(got[k], float) and got[k] == trained[k], k
    code, out, err = _run(["evaluate", path])
    assert code == 0 and out.count("underflow to 0") == 2, out


def test_model_file_log_tables_are_checked(tmp_path):
    px = np.array([0.5, 0.5])
    e = np.array([[0.9, 0.1], [0.2, 0.8]])
    logs = tuple(np.log(t) for t in (e, e, px))
    path = toyrd.save_model(tmp_path / "m", e, e, px, px=px, logs=logs)
    assert toyrd.load_model(path).underflowed() == {}
    bad = (logs[0] + 0.01, logs[1], logs[2])  # exp(log) no longer the stored table
    with pytest.raises(toyrd.TableError, match="log_encoder: exp of entry"):
        toyrd.save_model(tmp_path / "b", e, e, px, px=px, logs=bad)
    nan = (logs[0], np.full((2, 2), np.nan), logs[2])
    with pytest.raises(toyrd.TableError, match="log_decoder: entry .* expected a log"):
        toyrd.save_model(tmp_path / "b", e, e, px, px=px, logs=nan)
    np.savez(tmp_path / "part.npz", encoder=e, decoder=e, marginal=px, px=px, log_encoder=logs[0])
    with pytest.raises(toyrd.TableError, match="store all three log-tables"):
        toyrd.load_model(tmp_path / "part.npz")


def test_evaluate_logs_rejects_bad_logs_naming_them():
    px = np.array([0.5, 0.5])
    le = np.log(np.array([[0.9, 0.1], [0.2, 0.8]]))
    with pytest.raises(toyrd.TableError, match=r"log_marginal: entry \(1,\) is inf"):
        toyrd.evaluate_logs(px, le, le, np.array([0.0, np.inf]))
    with pytest.raises(toyrd.TableError, match=r"exp\(log_decoder\) row 0: sums to"):
        toyrd.evaluate_logs(px, le, le + np.array([[0.1], [0.0]]), np.log(px))


# ----------------------------------------------------------------------------- item 5


def test_train_divergence_is_an_error_and_writes_nothing(tmp_path):
    path = tmp_path / "d.npz"
    code, out, err = _run(["train", "--lr", "1e9", "--steps", "20", "--warmup", "0",
                           "--out", str(path), "--json"])  # fmt: skip
    _one_line_error(code, err, "diverged", "lower lr")
    assert not path.exists() and out == ""


def test_train_torch_divergence_is_an_error_and_writes_nothing(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "d.npz"
    code, out, err = _run(["train-torch", "--lr", "1e8", "--steps", "5", "--eval-every", "5",
                           "--out", str(path)])  # fmt: skip
    _one_line_error(code, err, "diverged", "lower lr")
    assert not path.exists()


# ----------------------------------------------------------------------------- item 6 / 28.7


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--n-z", "1000000000"], ["n_z = 1000000000", "use n_z <="]),
        (["train-torch", "--batch-size", "100000000"], ["batch_size 100000000", "use batch_size"]),
        (["sweep", "--out", "{tmp}/s.jsonl", "--seeds", "100000000", "--max-runs", "0"],
         ["--seeds 100000000", "use --seeds <="]),
        (["data", "--bins", "100000000"], ["--bins 100000000", "use --bins <="]),
        (["figure2", "--seeds", "1000000", "--out", "{tmp}/f2"], ["--seeds 1000000"]),
    ],
)  # fmt: skip
def test_absurd_sizes_are_refused_in_one_line_before_allocating(argv, words, tmp_path, monkeypatch):
    if argv[0] == "train-torch":
        pytest.importorskip("torch")
    monkeypatch.setattr(toyrd._memory, "available_bytes", lambda: FAKE_MEMORY)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    t0 = time.perf_counter()
    code, out, err = _run(argv)
    _one_line_error(code, err, "of memory, more than the 16 GiB available", *words)
    assert time.perf_counter() - t0 < REFUSE_WITHIN_S
    assert not (tmp_path / "s.jsonl").exists() and not (tmp_path / "f2").exists()


def test_a_request_that_fits_passes_the_check(monkeypatch):
    monkeypatch.setattr(toyrd._memory, "available_bytes", lambda: FAKE_MEMORY)
    toyrd._memory.check_train_batch(64, 30, 30)  # 64 runs of the toy: ~15 MiB
    with pytest.raises(toyrd.ToyrdError, match="use at most 73343 runs"):
        toyrd._memory.check_train_batch(10**6, 30, 30)
