"""Sweeps: JSON lines, each configuration once, resume after an interruption without redoing
runs."""

import json
import math
import tracemalloc

import pytest

import toyrd
from toyrd import train as sweep
from toyrd.cli import main

pytest.importorskip("jax")  # the JAX trainer (the `jax` extra)

H = toyrd.toy_data().entropy
GRID = dict(
    objectives=("elbo", "beta"),
    families=("tabular",),
    betas=(0.5, 2.0),
    seeds=(0, 1),
    steps=100,
    lr=0.05,
    warmup=0,
    init_scales=(1.0,),
)


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_interrupt_and_resume(tmp_path, monkeypatch):
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(**GRID)
    assert len(configs) == 6
    first = sweep.run_sweep(configs, out, max_runs=2, progress=False)
    assert first == dict(
        out=str(out),
        total=6,
        done_before=0,
        ran=2,
        remaining=4,
        wall_s=first["wall_s"],
        rejected=None,
    )
    done_keys = [sweep.config_key(r) for r in _lines(out)]
    assert done_keys == [sweep.config_key(c) for c in configs[:2]]

    # resume: record what gets trained; no finished run may be trained again
    trained = []
    real = toyrd.train.jax.train_configs

    def spy(configs, **kw):
        trained.extend((c.objective, c.hyper, c.seed) for c in configs)
        return real(configs, **kw)

    monkeypatch.setattr(toyrd.train.jax, "train_configs", spy)
    second = sweep.run_sweep(configs, out, batch=3, progress=False)
    assert (second["done_before"], second["ran"], second["remaining"]) == (2, 4, 0)
    assert (
        ("elbo", None, 0) not in trained and ("elbo", None, 1) not in trained and len(trained) == 4
    )
    rows = _lines(out)
    keys = [sweep.config_key(r) for r in rows]
    assert sorted(keys) == sorted(sweep.config_key(c) for c in configs) and len(set(keys)) == 6
    for r in rows:
        assert set(sweep.CONFIG_FIELDS + sweep.RESULT_FIELDS) <= set(r)
        assert r["R"] + r["D"] >= r["H"] - 1e-12 and abs(r["ELBO"] + r["R"] + r["D"]) < 1e-12
        assert r["H"] == pytest.approx(H, abs=1e-12)
    # a third call has nothing to do
    assert sweep.run_sweep(configs, out, progress=False)["ran"] == 0


#: Rows of a dtype="mixed" run trained in different batches: float32 rounding (~1e-7 relative)
#: in the first phase, contracted by the float64 finish; measured 4e-10 in R (100 steps, rda).
MIXED_BATCH_TOL = 1e-8


def test_results_match_a_direct_run(tmp_path):
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(
        objectives=("beta",),
        betas=(0.5,),
        families=("tabular",),
        seeds=(1,),
        steps=100,
        lr=0.05,
        warmup=0,
        init_scales=(1.0,),
    )
    sweep.run_sweep(configs, out, progress=False)
    row = _lines(out)[0]
    assert row["dtype"] == "mixed"  # the sweep's default precision for beta
    res = toyrd.train.jax.train(
        "beta",
        hyper=0.5,
        family="tabular",  # the grid's default family
        seeds=(1,),
        steps=100,
        lr=0.05,
        warmup=0,
        init_scale=1.0,
        dtype="mixed",
        progress=False,
    )
    direct = {
        **res.evaluate()[0],
        "class0_mass": toyrd.quantities.class_block_mass(res.pzx, res.encoder[0]),
    }
    for k in sweep.RESULT_FIELDS:
        assert abs(row[k] - direct[k]) < 1e-10


def test_partial_last_line_is_dropped_and_redone(tmp_path):
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(**GRID)
    sweep.run_sweep(configs, out, max_runs=1, progress=False)
    with open(out, "a") as f:
        f.write('{"objective": "elbo", "hyp')  # killed mid-write
    assert len(sweep.read_done(out)) == 1 and out.read_text().endswith("\n")
    sweep.run_sweep(configs, out, max_runs=1, progress=False)
    assert len(_lines(out)) == 2


def test_complete_last_line_without_newline_is_kept(tmp_path):
    """Issue 29 item 4: a finished file whose last newline is missing loses no line on resume."""
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(**GRID)
    sweep.run_sweep(configs, out, progress=False)
    full = out.read_text()
    out.write_text(full[:-1])  # the final newline gone, the last result complete
    summary = sweep.run_sweep(configs, out, max_runs=0, progress=False)
    assert (summary["done_before"], summary["ran"], summary["rejected"]) == (6, 0, None)
    assert out.read_text() == full  # the newline is back, no line lost
    assert not (tmp_path / "s.jsonl.rejected").exists()


def test_unparsable_last_line_is_kept_aside(tmp_path):
    """Issue 29 item 4: only a last line that does not parse is cut, and it goes to a side
    file (appended, never deleted); the run it belonged to is redone."""
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(**GRID)
    sweep.run_sweep(configs, out, max_runs=2, progress=False)
    body = out.read_text()
    cut = body.splitlines()[1][:-7]  # the second line, truncated mid-write
    out.write_text(body.splitlines(keepends=True)[0] + cut)
    summary = sweep.run_sweep(configs, out, max_runs=1, progress=False)
    side = tmp_path / "s.jsonl.rejected"
    assert summary["rejected"] == str(side) and side.read_text() == cut + "\n"
    assert out.read_text() == body  # the same bits: the batch is retrained whole
    out.write_text(body + "{broken")  # a second fragment is appended, the first kept
    sweep.run_sweep(configs, out, max_runs=0, progress=False)
    assert side.read_text() == cut + "\n{broken\n" and out.read_text() == body


def test_every_setting_is_part_of_a_runs_identity(tmp_path):
    """Issue 29 item 3: a rerun with another f64_steps (or steps, lr, warmup, precision, …)
    trains its own runs instead of reusing another configuration's lines."""
    out = tmp_path / "s.jsonl"
    base = dict(objectives=("elbo",), seeds=(0,), steps=100, lr=0.05, warmup=0)
    assert sweep.run_sweep(sweep.grid(**base, f64_steps=10), out, progress=False)["ran"] == 1
    again = sweep.run_sweep(sweep.grid(**base, f64_steps=10), out, progress=False)
    assert again["ran"] == 0
    for change in (
        dict(f64_steps=50),
        dict(steps=120),
        dict(lr=0.04),
        dict(warmup=5),
        dict(dtype="float64"),
        dict(init_scales=(0.5,)),
        dict(families=("bump",)),
        dict(schedule="constant"),
    ):
        grid = sweep.grid(**{**base, "f64_steps": 10, **change})
        assert sweep.run_sweep(grid, out, progress=False)["ran"] == 1, change
    rows = _lines(out)
    assert [r["f64_steps"] for r in rows[:2]] == [10, 50] and rows[0]["R"] != rows[1]["R"]
    assert rows[5]["dtype"] == "float64" and rows[5]["f64_steps"] is None
    # the default float64 finish is recorded as resolved, so a later default cannot match it
    assert sweep.grid(**base)[0]["f64_steps"] == toyrd.train.default_f64_steps(100, 1)


def test_lines_without_f64_steps(tmp_path):
    """Files written before f64_steps was recorded: a float64 line still matches its run (it has
    no float64 finish); a mixed line matches nothing (kept, not reused)."""
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(
        objectives=("elbo",),
        families=("tabular",),
        seeds=(0,),
        steps=100,
        warmup=0,
        dtype="float64",
    )
    mixed = sweep.grid(objectives=("elbo",), families=("tabular",), seeds=(0,), steps=100, warmup=0)
    old = [{k: v for k, v in c.items() if k != "f64_steps"} for c in configs + mixed]
    out.write_text("".join(toyrd.tables.dumps({**r, "status": "ok"}) + "\n" for r in old))
    done = sweep.read_done(out)
    assert sweep.config_key(configs[0]) in done and sweep.config_key(mixed[0]) not in done


#: Memory a refused grid may take before its refusal: a few validated configurations and the
#: JAX-free imports; listing the 10**8 seeds alone would take ~4 GB.
REFUSAL_PEAK_BYTES = 50 * 2**20


def test_a_grid_too_large_to_list_is_refused_before_listing(monkeypatch):
    """Issue 29 item 6: --seeds 100000000 is refused in one line, without building the list."""
    from toyrd.train import _sweep

    with monkeypatch.context() as m:
        m.setattr(_sweep, "_physical_memory", lambda: 64 * _sweep.BYTES_PER_RUN)
        assert len(sweep.grid(seeds=range(32), steps=10)) == 32
        with pytest.raises(toyrd.ToyrdError, match="the grid has 33 runs"):
            sweep.grid(seeds=range(33), steps=10)
    tracemalloc.start()
    try:
        with pytest.raises(toyrd.ToyrdError, match="the grid has 100000000 runs, about"):
            sweep.grid(seeds=range(10**8), steps=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < REFUSAL_PEAK_BYTES  # the seeds were not listed (10**8 ints: ~4 GB)


def test_foreign_file_is_refused(tmp_path):
    out = tmp_path / "s.jsonl"
    out.write_text("not json\n")
    with pytest.raises(toyrd.ToyrdError, match="line 1 is not a sweep result"):
        sweep.run_sweep(sweep.grid(**GRID), out, progress=False)


def test_cli_sweep_and_train(tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    args = [
        "sweep",
        "--out",
        str(out),
        "--objective",
        "rda",
        "--lam",
        "0.5",
        "2",
        "--seeds",
        "2",
        "--steps",
        "100",
        "--lr",
        "0.05",
        "--warmup",
        "0",
        "--init-scale",
        "1.0",
        "--json",
        "--seed",
        "5",
    ]
    assert main(args + ["--max-runs", "3"]) == 0
    s1 = json.loads(capsys.readouterr().out)
    assert (s1["ran"], s1["remaining"]) == (3, 1)
    assert main(args) == 0
    s2 = json.loads(capsys.readouterr().out)
    assert (s2["done_before"], s2["ran"], s2["remaining"]) == (3, 1, 0)
    rows = _lines(out)
    assert sorted((r["hyper"], r["seed"]) for r in rows) == [(0.5, 5), (0.5, 6), (2.0, 5), (2.0, 6)]
    assert main(["sweep", "--out", str(out), "--objective", "beta", "--beta", "-1"]) == 2
    assert "beta = -1.0 must be finite and >= 0" in capsys.readouterr().err

    model = tmp_path / "m.npz"
    assert (
        main(
            [
                "train",
                "--objective",
                "rda",
                "--hyper",
                "0.5",
                "--steps",
                "100",
                "--lr",
                "0.05",
                "--warmup",
                "0",
                "--init-scale",
                "1.0",
                "--seed",
                "5",
                "--dtype",
                "mixed",  # the sweep's default for rda (toyrd train's is float64)
                "--out",
                str(model),
                "--json",
            ]
        )
        == 0
    )
    trained = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["hyper"] == 0.5 and r["seed"] == 5)
    # same configuration, same result: both train in dtype "mixed", whose float32 phase rounds
    # differently in a batch of 3 rows (the sweep) than alone (train) — XLA vectorises the batch
    # axis — so they agree to MIXED_BATCH_TOL, not bit for bit (float64 runs agree to 1e-10)
    assert row["dtype"] == trained["config"]["dtype"] == "mixed"
    assert abs(trained["R"] - row["R"]) < MIXED_BATCH_TOL
    assert main(["evaluate", str(model), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert abs(ev["R"] - trained["R"]) < 1e-12 and abs(ev["I_zstar"] - trained["I_zstar"]) < 1e-12


def test_diverged_runs_are_recorded_not_fatal(tmp_path):
    """lr = 1e200 overflows the bump family's (w t − b)² to inf → NaN parameters. In the same
    sweep, sane tabular runs end "ok"; the sweep finishes, writes the bump lines with status
    "diverged" and "nan" strings (strict JSON), and does not redo them on resume."""
    out = tmp_path / "d.jsonl"
    configs = sweep.grid(
        objectives=("elbo",), seeds=(0, 1), steps=20, lr=0.05, warmup=0, init_scales=(1.0,)
    ) + sweep.grid(
        objectives=("elbo",),
        families=("bump",),
        seeds=(0, 1),
        steps=20,
        lr=1e200,
        warmup=0,
        init_scales=(1.0,),
    )
    summary = sweep.run_sweep(configs, out, progress=False)
    assert (summary["ran"], summary["remaining"]) == (4, 0)
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    rows = _lines(out)
    assert [r["status"] for r in rows] == ["ok", "ok", "diverged", "diverged"]
    for r in rows[2:]:
        assert r["family"] == "bump" and r["R"] == "nan" and r["D"] == "nan" and r["ELBO"] == "nan"
        assert r["I_e"] == "nan" and r["H"] == pytest.approx(H, abs=1e-12)
    for r in rows[:2]:
        assert r["R"] + r["D"] >= r["H"] - 1e-12
    assert sweep.run_sweep(configs, out, progress=False)["ran"] == 0  # a result, not redone


def test_row_results_infinite_distortion_is_diverged():
    """A decoder entry that is exactly 0 where p_e > 0 gives D = +inf: recorded as "inf"."""
    import numpy as np

    from toyrd.cli import dumps
    from toyrd.train.jax import TrainResult

    toy = toyrd.toy_data()
    e = np.full((1, 30, 30), 1 / 30)
    d = np.full((1, 30, 30), 1 / 29)
    d[0, :, 0] = 0.0  # x = 0 has p* > 0 but d(0|z) = 0 for every z
    m = np.full((1, 30), 1 / 30)
    ok = toyrd.evaluate(toy.px, e[0], d[0], m[0])
    assert ok["D"] == np.inf
    hist = {
        "step": np.array([0, 1]),
        "R": np.array([[0.1, 0.0]]),
        "D": np.array([[3.0, np.inf]]),
        "loss": np.array([[3.1, np.inf]]),
    }
    res = TrainResult(e, d, m, hist, [{}], {}, toy.px, toy.pzx, 0.0)
    row = sweep.row_results(res, 0)
    assert row["status"] == "diverged" and row["D"] == np.inf and row["R"] == 0.0
    line = json.loads(dumps(row))
    assert line["D"] == "inf" and line["ELBO"] == "-inf" and line["kl_pstar_g"] == "nan"


def test_underflowing_run_is_ok_and_exact(tmp_path):
    """Bump family at init scale 3: decoder entries underflow to 0 while their logs stay finite
    (tests/cli/test_limits.py). The sweep judges the run from its log-tables: "ok", with the
    trainer's finite R and D (the table formula said D = +inf and the run was labelled
    "diverged", issue 29 item 1)."""
    out = tmp_path / "u.jsonl"
    configs = sweep.grid(
        objectives=("elbo",),
        families=("bump",),
        seeds=(0,),
        steps=10,
        warmup=0,
        init_scales=(3.0,),
        dtype="float64",
    )
    sweep.run_sweep(configs, out, progress=False)
    (row,) = _lines(out)
    assert row["status"] == "ok", row
    assert math.isfinite(row["D"]) and math.isfinite(row["R"])
    assert row["R"] + row["D"] >= row["H"] - 1e-12  # the ELBO bound (eq. 2) holds


def test_default_precision_per_objective_and_explicit_override():
    rows = sweep.grid(objectives=("elbo", "target_rate"), sigmas=(0.5,), seeds=(0,), steps=100)
    assert [r["dtype"] for r in rows] == ["mixed", "float64"]  # target_rate stays float64
    rows = sweep.grid(objectives=("elbo",), seeds=(0,), steps=100, dtype="float64")
    assert rows[0]["dtype"] == "float64"
    with pytest.raises(toyrd.ToyrdError, match="f64_steps"):
        sweep.grid(objectives=("elbo",), seeds=(0,), steps=100, f64_steps=500)
