"""Small traps of the command line and the API (issue 29, item 7): each ends in one clear line or
in quiet success, never a crash, a traceback, a warning storm or a silent no-op."""

import contextlib
import io
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import toyrd
from toyrd.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _one_line(code, err, *words):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


def test_ascii_terminal_gets_escapes_not_a_crash():
    """`PYTHONIOENCODING=ascii toyrd …` used to die on σ (UnicodeEncodeError)."""
    p = subprocess.run([sys.executable, "-m", "toyrd", "train", "--help"], capture_output=True,
                       env=_env(PYTHONIOENCODING="ascii"), timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr.decode()
    assert b"\\u03c3 (target_rate)" in p.stdout


def test_closed_pipe_is_not_an_error():
    """`toyrd data --json | head -c 10`: exit 0, nothing on stderr (was "error: Broken pipe")."""
    cmd = (
        f"{sys.executable} -m toyrd data --bins 100000 --json | head -c 10; exit ${{PIPESTATUS[0]}}"
    )
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, env=_env(), timeout=300)
    assert p.stdout == b'{"n_bins": '[:10]
    assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()


@pytest.mark.parametrize("command", ["train", "train-torch"])
def test_empty_out_is_refused(command, tmp_path):
    code, out, err = _run([command, "--out", "", "--steps", "1"])
    _one_line(code, err, "--out: an empty path")


def test_explore_refuses_an_unwritable_out_before_serving(tmp_path):
    pytest.importorskip("panel")
    code, out, err = _run(["explore", "--out", "/proc/x", "--no-browser", "--port", "0"])
    _one_line(code, err, "--out: cannot write /proc/x")
    code, out, err = _run(["explore", "--out", __file__, "--no-browser", "--port", "0"])
    _one_line(code, err, "it is a file, not a folder")


def test_text_file_is_named_as_such(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("encoder, decoder, marginal\n")
    code, out, err = _run(["evaluate", str(path)])
    _one_line(code, err, "not an .npz archive (a file starting with b'encode'")
    assert "pickle" not in err


def test_float32_tables_get_the_rule_and_the_fix(tmp_path):
    toy = toyrd.toy_data()
    e = np.random.default_rng(0).dirichlet(np.ones(30), 30).astype(np.float32)
    np.savez(tmp_path / "f32.npz", encoder=e, decoder=e, marginal=toy.px.astype(np.float32))
    code, out, err = _run(["evaluate", str(tmp_path / "f32.npz")])
    _one_line(code, err, "expected 1 ± 1e-10", "as float32", "save them as float64")
    m = toyrd.load_model(tmp_path / "f32.npz", normalize=True)  # the fix the message names
    assert m.encoder.dtype == np.float64


def test_train_takes_an_int_seed():
    pytest.importorskip("jax")
    from toyrd.train.jax import train

    res = train("elbo", seeds=5, steps=10, warmup=0, progress=False)
    assert [c["seed"] for c in res.configs] == [5]


def test_unwritable_jax_cache_is_one_line_and_no_jax_warnings(tmp_path):
    pytest.importorskip("jax")
    p = subprocess.run([sys.executable, "-m", "toyrd", "train", "--steps", "10", "--warmup", "0",
                        "--json"], capture_output=True, text=True, timeout=300,
                       env=_env(TOYRD_JAX_CACHE="/proc/toyrd-cache"))  # fmt: skip
    assert p.returncode == 0, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "JAX cache /proc/toyrd-cache is not usable" in lines[0], p.stderr


def test_huge_init_scale_gives_the_error_without_a_warning():
    pytest.importorskip("jax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would raise here
        code, out, err = _run(["train", "--family", "bump", "--init-scale", "1e4", "--steps",
                               "10", "--json"])  # fmt: skip
    _one_line(code, err, "is not finite; lower init_scale")
