"""Sweeps: JSON lines, each configuration once, resume after an interruption without redoing runs."""

import json

import pytest

import toyrd
from toyrd import sweep
from toyrd.cli import main

H = toyrd.toy_data().entropy
GRID = dict(objectives=("elbo", "beta"), betas=(0.5, 2.0), seeds=(0, 1), steps=100, lr=0.05,
            warmup=0, init_scales=(1.0,))


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_interrupt_and_resume(tmp_path, monkeypatch):
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(**GRID)
    assert len(configs) == 6
    first = sweep.run_sweep(configs, out, max_runs=2, progress=False)
    assert first == dict(out=str(out), total=6, done_before=0, ran=2, remaining=4, wall_s=first["wall_s"])
    done_keys = [sweep.config_key(r) for r in _lines(out)]
    assert done_keys == [sweep.config_key(c) for c in configs[:2]]

    # resume: record what gets trained; no finished run may be trained again
    trained = []
    real = toyrd.train_jax.train_rows

    def spy(objective, hypers, scales, seeds, **kw):
        trained.extend((objective, h, s) for h, s in zip(hypers, seeds))
        return real(objective, hypers, scales, seeds, **kw)

    monkeypatch.setattr(toyrd.train_jax, "train_rows", spy)
    second = sweep.run_sweep(configs, out, batch=3, progress=False)
    assert (second["done_before"], second["ran"], second["remaining"]) == (2, 4, 0)
    assert ("elbo", None, 0) not in trained and ("elbo", None, 1) not in trained and len(trained) == 4
    rows = _lines(out)
    keys = [sweep.config_key(r) for r in rows]
    assert sorted(keys) == sorted(sweep.config_key(c) for c in configs) and len(set(keys)) == 6
    for r in rows:
        assert set(sweep.CONFIG_FIELDS + sweep.RESULT_FIELDS) <= set(r)
        assert r["R"] + r["D"] >= r["H"] - 1e-12 and abs(r["ELBO"] + r["R"] + r["D"]) < 1e-12
        assert r["H"] == pytest.approx(H, abs=1e-12)
    # a third call has nothing to do
    assert sweep.run_sweep(configs, out, progress=False)["ran"] == 0


def test_results_match_a_direct_run(tmp_path):
    out = tmp_path / "s.jsonl"
    configs = sweep.grid(objectives=("beta",), betas=(0.5,), seeds=(1,), steps=100, lr=0.05,
                         warmup=0, init_scales=(1.0,))
    sweep.run_sweep(configs, out, progress=False)
    row = _lines(out)[0]
    direct = toyrd.train_jax.train("beta", hyper=0.5, seeds=(1,), steps=100, lr=0.05, warmup=0,
                                   init_scale=1.0, progress=False).evaluate()[0]
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


def test_foreign_file_is_refused(tmp_path):
    out = tmp_path / "s.jsonl"
    out.write_text("not json\n")
    with pytest.raises(toyrd.ToyrdError, match="line 1 is not a sweep result"):
        sweep.run_sweep(sweep.grid(**GRID), out, progress=False)


def test_cli_sweep_and_train(tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    args = ["sweep", "--out", str(out), "--objective", "rda", "--lam", "0.5", "2", "--seeds", "2",
            "--steps", "100", "--lr", "0.05", "--warmup", "0", "--init-scale", "1.0", "--json",
            "--seed", "5"]
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
    assert main(["train", "--objective", "rda", "--hyper", "0.5", "--steps", "100", "--lr", "0.05",
                 "--warmup", "0", "--init-scale", "1.0", "--seed", "5", "--out", str(model), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["hyper"] == 0.5 and r["seed"] == 5)
    assert abs(trained["R"] - row["R"]) < 1e-10  # same configuration, same result
    assert main(["evaluate", str(model), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert abs(ev["R"] - trained["R"]) < 1e-12 and abs(ev["I_zstar"] - trained["I_zstar"]) < 1e-12
