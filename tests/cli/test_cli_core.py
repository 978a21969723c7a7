"""``toyrd evaluate`` and ``toyrd data`` (DESIGN §4): JSON values against the independent loop
reference (tests/reference.py) to ``CLI_TOL`` = 1e-10, and bad input → exit 2 with exactly one
line on stderr and no traceback.

Most cases call ``toyrd.cli.main`` in-process (fast); a few run the installed entry point in a
subprocess to check the real exit status and streams.
"""

import contextlib
import io
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import reference  # tests/reference.py
from hypothesis import given, settings
from hypothesis import strategies as st

import toyrd
from toyrd.cli import main
from toyrd.testing import models, true_joints

#: JSON round-trips float64 exactly (repr); the slack covers the two implementations' summation
#: order, ~1e-14 at the sizes here (see toyrd.testing.IDENTITY_TOL), as the issue asks.
CLI_TOL = 1e-10


def _run(argv):
    """Call the CLI in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors exit through SystemExit
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _strict_json(text):
    def reject(name):
        raise AssertionError(f"non-standard JSON token {name}")

    return json.loads(text, parse_constant=reject)


def _as_float(v):
    return float(v)  # "inf" / "-inf" strings (strict JSON) read back as floats


def _assert_matches(got, want, tol=CLI_TOL):
    assert set(want) <= set(got), set(want) - set(got)
    for k, w in want.items():
        g = _as_float(got[k])
        if math.isinf(w) or math.isinf(g):
            assert g == w, (k, g, w)
        else:
            assert abs(g - w) <= tol * max(1.0, abs(w)), (k, g, w)


def _save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@settings(max_examples=25)  # each example writes a file and runs the CLI; the reference test
@given(models(), st.data(), st.booleans())  # in test_properties.py covers the values at scale
def test_evaluate_json_matches_reference(tmp_path_factory, m, data, bits):
    """``toyrd evaluate MODEL.npz --json [--bits] --optimal`` equals the loop reference, for the
    model and for its optimal m*, d* (Appendix D.3–D.4), including I(z; z*) from pzx."""
    pzx = data.draw(true_joints(m.px), label="pzx")
    path = _save(
        tmp_path_factory.mktemp("m") / "model.npz",
        px=m.px,
        encoder=m.encoder,
        decoder=m.decoder,
        marginal=m.marginal,
        pzx=pzx,
    )
    code, out, err = _run(["evaluate", path, "--json", "--optimal"] + (["--bits"] if bits else []))
    assert (code, err) == (0, "")
    got = _strict_json(out)
    base = 2 if bits else None
    assert got["unit"] == ("bits" if bits else "nats")
    _assert_matches(got, reference.evaluate(*m, pzx=pzx, base=base))
    d_star = reference.optimal_decoder(m.px, m.encoder)
    m_star = reference.optimal_marginal(m.px, m.encoder)
    _assert_matches(
        got["optimal"], reference.evaluate(m.px, m.encoder, d_star, m_star, pzx=pzx, base=base)
    )


def test_evaluate_subprocess_and_strict_json(tmp_path):
    """The installed entry point: a model with D = R = +inf prints strict JSON ("inf" strings)."""
    px = np.array([0.5, 0.5])
    path = _save(
        tmp_path / "inf.npz", px=px, encoder=np.eye(2), decoder=np.eye(2)[::-1], marginal=[1.0, 0.0]
    )
    proc = subprocess.run(
        [sys.executable, "-m", "toyrd.cli", "evaluate", path, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = _strict_json(proc.stdout)
    assert got["D"] == "inf" and got["R"] == "inf" and got["ELBO"] == "-inf"
    assert got["H"] == math.log(2)
    _assert_matches(got, reference.evaluate(px, np.eye(2), np.eye(2)[::-1], [1.0, 0.0]))


def test_evaluate_defaults_to_the_toy(tmp_path):
    """Without px (and pzx) a 30-state model is evaluated on the toy's p*, with I(z; z*)."""
    toy = toyrd.toy_data()
    e = np.eye(30)
    path = _save(tmp_path / "toy.npz", encoder=e, decoder=e, marginal=toy.px)
    code, out, err = _run(["evaluate", path, "--json"])
    assert (code, err) == (0, "")
    got = _strict_json(out)
    _assert_matches(got, reference.evaluate(toy.px, e, e, toy.px, pzx=toy.pzx))
    assert abs(got["I_zstar"] - 0.5) <= CLI_TOL  # the identity code keeps all of I(x; z*)
    # with pzx but no px, p* is pzx's column sum
    pzx = np.array([[0.1, 0.2], [0.3, 0.4]])
    path = _save(
        tmp_path / "p.npz", encoder=np.eye(2), decoder=np.eye(2), marginal=[0.4, 0.6], pzx=pzx
    )
    got = _strict_json(_run(["evaluate", path, "--json"])[1])
    _assert_matches(got, reference.evaluate([0.4, 0.6], np.eye(2), np.eye(2), [0.4, 0.6], pzx=pzx))


def test_evaluate_text_output(tmp_path):
    """Without --json: a table with one row per quantity and the unit."""
    toy = toyrd.toy_data()
    path = _save(tmp_path / "toy.npz", encoder=np.eye(30), decoder=np.eye(30), marginal=toy.px)
    code, out, err = _run(["evaluate", path, "--optimal", "--bits"])
    assert (code, err) == (0, "")
    assert "(bits)" in out and "optimal m, d" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert set(rows) == set(toyrd.QUANTITY_NAMES)
    assert abs(float(rows["H"][0]) - toy.entropy / math.log(2)) < 1e-11


# ----------------------------------------------------------------------------- bad input

GOOD = dict(
    px=np.array([0.2, 0.3, 0.5]),
    encoder=np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]),
    decoder=np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]),
    marginal=np.array([0.4, 0.6]),
)


def _bad(**changes):
    arrays = {**GOOD, **changes}
    return {k: v for k, v in arrays.items() if v is not None}


BAD_FILES = [
    (
        "row sum",
        _bad(encoder=np.array([[0.5, 0.5], [0.9, 0.07], [0.2, 0.8]])),
        r"encoder row 1: sums to 0\.97",
    ),
    (
        "negative",
        _bad(decoder=np.array([[-0.1, 0.4, 0.7], [0.6, 0.3, 0.1]])),
        r"decoder: entry \(0, 0\) is -0\.1, probabilities must be >= 0",
    ),
    (
        "nan",
        _bad(marginal=np.array([np.nan, 0.6])),
        r"marginal: entry 0 is nan, entries must be finite",
    ),
    ("inf", _bad(px=np.array([0.2, np.inf, 0.5])), r"px: entry 1 is inf, entries must be finite"),
    (
        "rank",
        _bad(encoder=np.array([0.5, 0.5])),
        r"encoder: expected a table \(rank 2\), got rank 1",
    ),
    (
        "scalar encoder, no px",
        _bad(px=None, encoder=np.float64(1.0)),
        r"encoder: expected a table \(rank 2\), got rank 0",
    ),
    (
        "shape",
        _bad(decoder=np.full((3, 2), 0.5)),
        r"decoder: shape \(3, 2\), expected \(n_z, n_x\) = \(2, 3\)",
    ),
    (
        "sizes",
        _bad(marginal=np.array([0.2, 0.3, 0.5])),
        r"marginal: has 3 entries, expected n_z = 2",
    ),
    ("empty", _bad(px=np.zeros(0)), r"px: is empty"),
    (
        "strings",
        _bad(marginal=np.array(["a", "b"])),
        r"marginal: dtype <U1 is not a real number type",
    ),
    ("missing", _bad(decoder=None), r"missing array 'decoder'"),
    (
        "no px, not 30 states",
        _bad(px=None),
        r"no 'px' array, and the default p\* .* does not fit an encoder with 3 rows",
    ),
    (
        "bad pzx",
        _bad(pzx=np.array([["x", "y", "z"], ["x", "y", "z"]])),
        r"pzx: dtype <U1 is not a real number type",
    ),
    (
        "bad pzx, no px",
        _bad(px=None, pzx=np.array([0.2, 0.3, 0.5])),
        r"pzx: expected a table \(rank 2\), got rank 1",
    ),
    ("pzx columns", _bad(pzx=np.full((2, 2), 0.25)), r"pzx: has 2 columns, expected n_x = 3"),
    (
        "pzx vs px",
        _bad(pzx=np.array([[0.1, 0.1, 0.3], [0.2, 0.1, 0.2]])),
        r"pzx: its column sums .* differ from px",
    ),
]


@pytest.mark.parametrize("what, arrays, rule", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_model_file_exits_2_with_one_line(tmp_path, what, arrays, rule):
    """Each bad table: exit status 2, stdout empty, one stderr line naming the array and the
    rule."""
    path = _save(tmp_path / "bad.npz", **arrays)
    code, out, err = _run(["evaluate", path, "--json"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("toyrd evaluate: error: "), err
    assert "Traceback" not in err
    assert re.search(rule, err), err


def _corrupt_files(tmp_path):
    _save(tmp_path / "good.npz", **GOOD)
    data = (tmp_path / "good.npz").read_bytes()
    files = {
        "missing file": tmp_path / "nope.npz",
        "directory": tmp_path,
        "text": tmp_path / "text.npz",
        "truncated": tmp_path / "truncated.npz",
        "flipped": tmp_path / "flipped.npz",
        "npy": tmp_path / "single.npy",
        "pickled": tmp_path / "pickled.npz",
        "empty": tmp_path / "empty.npz",
    }
    files["text"].write_text("encoder,decoder\n1,2\n")
    files["truncated"].write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    start = data.index(b"\x93NUMPY") + 200  # inside the first member's array data
    for i in range(start, start + 16):
        flipped[i] ^= 0xFF
    files["flipped"].write_bytes(bytes(flipped))
    np.save(files["npy"], GOOD["encoder"])
    np.savez(files["pickled"], **{**GOOD, "marginal": np.array([0.4, 0.6], dtype=object)})
    files["empty"].write_bytes(b"")
    return files


CORRUPT = ["missing file", "directory", "text", "truncated", "flipped", "npy", "pickled", "empty"]


@pytest.mark.parametrize("what", CORRUPT)
def test_unreadable_file_exits_2_with_one_line(tmp_path, what):
    """Missing, corrupt or wrong-kind files: exit 2, one stderr line naming the file, no
    traceback."""
    path = str(_corrupt_files(tmp_path)[what])
    code, out, err = _run(["evaluate", path])
    assert code == 2 and out == "", (code, out)
    assert err.count("\n") == 1 and err.startswith(f"toyrd evaluate: error: {path}: "), err
    if what == "missing file":
        assert err.endswith("no such file\n")


def test_bad_input_through_the_real_entry_point(tmp_path):
    """Subprocess: the exit status and stderr of the process itself (no traceback printed)."""
    files = _corrupt_files(tmp_path)
    bad = _save(tmp_path / "bad.npz", **BAD_FILES[0][1])
    for path in (bad, files["flipped"], files["missing file"]):
        proc = subprocess.run(
            [sys.executable, "-m", "toyrd.cli", "evaluate", str(path), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_usage_errors_are_one_line():
    """argparse errors (missing argument, unknown option) also exit 2 with one line."""
    for argv in (["evaluate"], ["evaluate", "m.npz", "--frobnicate"], ["data", "--bins", "many"]):
        code, out, err = _run(argv)
        assert code == 2 and out == "" and err.count("\n") == 1, (argv, err)


# ----------------------------------------------------------------------------- toyrd data


def test_data_json_has_the_toy():
    """``toyrd data --json``: px (30,) and pzx (2, 30) equal to toy_data(), I(x; z*) = 0.5."""
    code, out, err = _run(["data", "--json"])
    assert (code, err) == (0, "")
    got = _strict_json(out)
    toy = toyrd.toy_data()
    px, pzx = np.array(got["px"]), np.array(got["pzx"])
    assert px.shape == (30,) and pzx.shape == (2, 30)
    np.testing.assert_array_equal(px, toy.px)  # JSON floats round-trip exactly
    np.testing.assert_array_equal(pzx, toy.pzx)
    assert abs(reference.mutual_information(pzx) - 0.5) <= CLI_TOL
    assert abs(got["I_x_zstar"] - 0.5) <= CLI_TOL and got["p0"] == 0.7
    assert abs(pzx[0].sum() - 0.7) <= 1e-15


def test_data_options_and_errors():
    """--bins/--p0/--info/--tails reach the calibration; an impossible target exits 2."""
    code, out, err = _run(
        ["data", "--json", "--bins", "10", "--p0", "0.5", "--info", "0.3", "--tails", "truncate"]
    )
    assert (code, err) == (0, "")
    got = _strict_json(out)
    assert np.shape(got["pzx"]) == (2, 10) and got["tails"] == "truncate"
    assert abs(reference.mutual_information(got["pzx"]) - 0.3) <= CLI_TOL
    assert abs(sum(got["pzx"][0]) - 0.5) <= 1e-15
    code, out, err = _run(["data", "--info", "0.9"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "target_info" in err
    code, out, err = _run(["data"])
    assert code == 0 and "I(x;z*) = 0.500000000000 nats" in out
