"""The rate–distortion plane (issue 4, part 4): bounds every trained point must obey, the β
ordering of the sweep, the limits, and byte-identical figures.

One ``toyrd rdplane --quick`` run (tabular family, β ∈ {0.5, 1, 2}, one seed, 600 steps) is
shared by the tests; two more runs of the same command check the bytes and the --json output.
"""

import json
import math

import numpy as np
import pytest

import toyrd
from toyrd.cli import main
from toyrd.experiments import rdplane as rd
from toyrd.testing import IDENTITY_TOL

pytest.importorskip("jax")  # the JAX trainer (the `jax` extra)
pytest.importorskip("matplotlib")  # the figures (the `plot` extra)

#: float64 identities and inequalities that hold exactly for any valid model.


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    d = tmp_path_factory.mktemp("rdplane")
    assert main(["rdplane", "--quick", "--out", str(d), "--no-progress"]) == 0
    return d, json.loads((d / "rdplane.json").read_text())


def test_feasible_boundary():
    r, d = rd.feasible_boundary(3.0, 2.0)
    assert r.tolist() == [0.0, 2.0] and d.tolist() == [3.0, 1.0]
    r, d = rd.feasible_boundary(3.0, 4.0)
    assert r.tolist() == [0.0, 3.0, 4.0] and d.tolist() == [3.0, 0.0, 0.0]


def test_json_has_limits_points_and_optimal(quick):
    _, out = quick
    H = toyrd.toy_data().entropy
    assert out["H"] == H
    assert out["limits"] == {
        "auto_decoding": {"R": 0.0, "D": H},
        "auto_encoding": {"R": H, "D": 0.0},
    }
    st = rd.QUICK
    n_beta = sum(p["objective"] == "beta" for p in out["points"])
    n_tr = sum(p["objective"] == "target_rate" for p in out["points"])
    assert n_beta == len(st.betas) * st.n_seeds * len(st.families) and n_tr == st.n_seeds * len(
        st.families
    )
    o = out["optimal"]
    assert abs(o["R"] + o["D"] - H) < IDENTITY_TOL and abs(o["R"] - 0.5) < IDENTITY_TOL


def test_every_point_is_feasible(quick):
    """Eq. 2: H − D ≤ I_e ≤ R, and data processing: I(z;z*) ≤ min(I_e, I(x;z*))."""
    _, out = quick
    H, info = out["H"], out["I_x_zstar"]
    for p in out["points"]:
        assert p["R"] + p["D"] >= H - IDENTITY_TOL, p
        assert H - p["D"] <= p["I_e"] + IDENTITY_TOL and p["I_e"] <= p["R"] + IDENTITY_TOL, p
        assert p["I_zstar"] <= min(p["I_e"], info) + IDENTITY_TOL, p
        assert p["R"] >= -IDENTITY_TOL and p["D"] >= -IDENTITY_TOL


def test_beta_orders_the_rate(quick):
    """β < 1 rewards rate over distortion, β > 1 penalises it: R(β=0.5) > R(β=1) > R(β=2)."""
    _, out = quick
    r = {p["hyper"]: p["R"] for p in out["points"] if p["objective"] == "beta" and p["seed"] == 0}
    assert r[0.5] > r[1.0] > r[2.0], r
    # the far ends head for the limits (the only optima off β = 1): β = 2 to auto-decoding
    # (R = 0; reached to < 1e-3 within 600 steps), β = 0.5 to auto-encoding (R = H; past H/2 by
    # then, the approach slows as the code nears a one-to-one map)
    assert r[2.0] < 1e-3 and r[0.5] > 0.5 * out["H"], r


def test_table_and_figure(quick, tmp_path, capsys):
    d, out = quick
    assert (d / "rdplane.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["rdplane", "--quick", "--out", str(tmp_path), "--json", "--no-progress"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["points"] == out["points"]  # same seed, same numbers
    assert (tmp_path / "rdplane.png").read_bytes() == (d / "rdplane.png").read_bytes()


def test_format_table_lists_every_group(quick):
    _, out = quick
    res = rd.RDPlaneResult(toyrd.toy_data(), rd.QUICK, out["points"], None, out["optimal"])
    text = rd.format_table(res)
    assert (
        len(text.splitlines()) == 1 + len(rd.QUICK.betas) + 1 + 1
    )  # header, β rows, target rate, optimal


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--betas", "a,b"], "betas"),
        (["--betas", "-1"], "betas"),
        (["--families", "nope"], "family"),
        (["--seeds", "0"], "seeds"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys, tmp_path):
    assert main(["rdplane", "--quick", "--no-progress", "--out", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_parse_floats():
    assert rd.parse_floats("betas", "0.5, 1,2") == [0.5, 1.0, 2.0]
    with pytest.raises(toyrd.ToyrdError, match="betas"):
        rd.parse_floats("betas", "inf")
    assert math.isnan(rd._nanmedian([math.nan]))
    assert rd._nanmedian([1.0, math.nan, 3.0]) == 2.0
    assert np.isfinite(rd._nanmedian([0.0]))


#: The IB curve of toyrd.quantities is the concave envelope of reachable points, an inner bound of
#: the true frontier; a trained code may sit above it by the envelope's interpolation error only.
IB_TOL = 1e-3


def test_points_respect_the_ib_frontier(quick):
    _, out = quick
    assert out["ib_frontier"] is not None
    x, y = np.array(out["ib_frontier"]["I_xz"]), np.array(out["ib_frontier"]["I_zy"])
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= -IDENTITY_TOL)  # non-decreasing
    assert np.all(y <= np.minimum(x, out["I_x_zstar"]) + IDENTITY_TOL)  # data processing
    for p in out["points"] + [out["optimal"]]:
        assert p["I_zstar"] <= p["ib_at_I_e"] + IB_TOL, p
