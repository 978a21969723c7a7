"""The benchmark runner works end to end in quick mode on its smallest case (no timing asserts).

Checks the contracts: one JSON envelope per case plus summary.json, strict JSON, failures
recorded rather than raised, the page rendered from the JSON, and ``toyrd bench`` argument errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(
    os.environ,
    JAX_PLATFORMS="cpu",
    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
)

sys.path.insert(0, str(ROOT))
from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import report  # noqa: E402


@pytest.fixture(scope="module")
def quick_eval(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # an earlier run's entry for another case: --only must keep it
    (out / "summary.json").write_text(
        json.dumps(
            {
                "quick": True,
                "machine": {"cpu": "earlier"},
                "cases": {"ib": {"status": "ok", "wall_s": 1.0, "file": "ib.json"}},
            }
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "eval",
            "--out",
            str(out),
            "--json",
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


@pytest.mark.long  # long tier: a quick benchmark run
def test_quick_eval_writes_envelopes_and_summary(quick_eval):
    out, summary = quick_eval
    assert summary["cases"] == {
        "ib": {"status": "ok", "wall_s": 1.0, "file": "ib.json"},
        "eval": {"status": "ok", "wall_s": summary["cases"]["eval"]["wall_s"], "file": "eval.json"},
    }
    assert summary["machine"] == {"cpu": "earlier"} and summary["rerun"][0]["cases"] == ["eval"]
    env = json.loads((out / "eval.json").read_text())
    assert env["case"] == "eval" and env["quick"] is True and env["status"] == "ok"
    assert env["machine"]["cpu"] and env["machine"]["versions"]["numpy"]
    res = env["result"]
    assert [r["B"] for r in res["batch"]] == [1, 8]
    for r in res["batch"]:
        assert r["padded_B"] == 8
        assert r["jax_s"] > 0 and r["numpy_s"] > 0
        assert r["jax_models_per_s"] == pytest.approx(r["B"] / r["jax_s"], rel=1e-12)
    assert res["single"]["evaluate_us"] > 0
    assert json.loads((out / "summary.json").read_text())["quick"] is True
    assert (out / "bench_eval.png").stat().st_size > 0


@pytest.mark.long  # long tier: a quick benchmark run
def test_page_is_rendered_from_the_json(quick_eval, tmp_path):
    out, _ = quick_eval
    docs = report.write_docs(out, docs=tmp_path / "benchmarks.md", img=tmp_path / "img")
    page = docs.read_text()
    env = json.loads((out / "eval.json").read_text())
    assert "## Machine" in page and "Re-run** later with `--only`: eval" in page
    assert "## 1. Exact evaluation throughput" in page
    assert report.fmt(env["result"]["single"]["evaluate_us"]) in page
    assert (tmp_path / "img" / "bench_eval.png").exists()


def test_failing_case_is_recorded_not_raised(tmp_path):
    env = runner.run_case("does_not_exist", True, tmp_path, ENV)
    assert env["status"] == "error" and env["returncode"] == 1
    assert "bench_does_not_exist" in env["stderr_tail"]
    assert json.loads((tmp_path / "does_not_exist.json").read_text())["status"] == "error"


def test_report_targets_and_generic_tables(tmp_path):
    """Rendering logic on hand-made envelopes: targets read from the JSON, unknown cases generic."""
    from benchmarks import write_json

    write_json(tmp_path / "summary.json", {"quick": False, "machine": {"cpu": "X"}, "cases": {}})
    write_json(
        tmp_path / "scaling.json",
        {
            "status": "ok",
            "wall_s": 1.0,
            "result": {
                "points": [],
                "skipped": [],
                "fits": {"B1": {"n>=100": {"exponent": 1.04, "sizes": [100, 300]}, "all": None}},
            },
        },
    )
    write_json(
        tmp_path / "figure2.json",
        {
            "status": "ok",
            "wall_s": 1.0,
            "result": {
                "command": "toyrd figure2",
                "runs": 1,
                "wall_s": [20.0],
                "cold_s": 20.0,
                "min_s": 20.0,
                "files": ["a.png"],
                "target_s": 15.0,
            },
        },
    )
    write_json(
        tmp_path / "other.json",
        {
            "status": "ok",
            "wall_s": 1.0,
            "result": {"speed": 2.5, "rows": [{"B": 1, "us": 3.0}, {"B": 64, "us": 0.5}]},
        },
    )
    rows = {r[0]: r[1:] for r in report.targets(report.load(tmp_path))}
    assert rows["cost linear in $n_x n_z$ (B = 1, $n \\ge 100$, wall clock)"] == ["α = 1.04", True]
    assert rows["`toyrd figure2` ≤ 15 s cold"] == ["20.0 s", False]
    page = report.render_page(tmp_path)
    assert "| speed | 2.50 |" in page and "| 64 | 0.500 |" in page


def test_fmt_significant_digits():
    assert report.fmt(0.00123456) == "0.00123" and report.fmt(0.000123456) == "1.23e-04"
    assert report.fmt(1234.7) == "1235"
    assert report.fmt(1.5e7) == "1.50e+07"
    assert report.fmt(None) == "—" and report.fmt(True) == "yes"


def test_cli_bench_rejects_unknown_case():
    proc = subprocess.run(
        [sys.executable, "-m", "toyrd.cli", "bench", "--only", "nope"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--only: unknown case(s) ['nope']" in lines[0]


def test_peers_section_and_targets_from_hand_made_json(tmp_path):
    """bench_peers' JSON renders as the same-threads table, the quality table and its targets."""
    from benchmarks import write_json

    peers = [
        {
            "peer": name,
            "batch": 64,
            "us_per_model_step": us,
            "cpu_us_per_model_step": us,
            "x_toyrd_float64": us / 8.0,
            "x_toyrd_mixed": us / 2.5,
            "x_jax_naive": us / 12.0,
        }
        for name, us in (("toyrd_float64", 8.0), ("toyrd_mixed", 2.5), ("jax_naive", 12.0))
    ]
    quality = [
        {
            "objective": "elbo",
            "hyper": None,
            "dtype": "mixed",
            "seeds": 64,
            "steps": 2000,
            "gap_max": 1e-15,
            "gap_median": 0.0,
            "R_mean": 0.04,
            "train_s": 1.0,
        }
    ]
    process = {
        "sweep_mixed_cold_s": 7.0,
        "sweep_mixed_warm_s": 4.0,
        "sweep_float64_cold_s": 8.0,
        "sweep_float64_warm_s": 6.0,
        "plain_jax_script_s": 9.0,
        "ratio_plain_over_sweep_mixed_warm": 2.25,
        "ratio_plain_over_sweep_float64_warm": 1.5,
    }
    write_json(tmp_path / "summary.json", {"quick": False, "machine": {"cpu": "X"}, "cases": {}})
    write_json(
        tmp_path / "peers.json",
        {
            "status": "ok",
            "wall_s": 1.0,
            "result": {
                "batch": 64,
                "threads": 2,
                "steps": 2000,
                "torch_steps": 200,
                "peers": peers,
                "quality": quality,
                "process": process,
                "torch_compile": "ok",
                "jax_backend": "cpu",
                "loadavg_start": [0.5, 0.5, 0.5],
            },
        },
    )
    rows = {r[0]: r[1:] for r in report.targets(report.load(tmp_path))}
    assert rows["default training path ≥ 4× the plain JAX float64 loop (same threads)"] == [
        "4.80×",
        True,
    ]
    assert rows["`toyrd sweep` process ≥ 2× the plain JAX script (warm cache)"] == ["2.25×", True]
    page = report.render_page(tmp_path)
    assert "**2 thread(s)**" in page
    assert "| plain JAX loop (vmap + scan + grad + optax) | 64 |" in page
    assert "| elbo | mixed | 64 |" in page


def test_cluster_section_and_plan_from_hand_made_json(tmp_path):
    """bench_cluster's JSON renders as the rate table, the efficiencies and the 10⁶-run plan
    computed from the measured rate (10 runs per CPU second → 10⁶ runs = 27.8 core-hours)."""
    from benchmarks import write_json

    rows = [
        dict(
            workers=0,
            runs=512,
            wall_s=60.0,
            cpu_s=50.0,
            runs_per_s=8.5,
            runs_per_cpu_s=10.2,
            first_batch_s=5.0,
        ),
        dict(
            workers=1,
            runs=512,
            tasks=8,
            wall_s=62.0,
            cpu_s=51.0,
            runs_per_s=8.3,
            runs_per_cpu_s=10.0,
            first_batch_s=6.0,
            cluster_start_s=2.0,
        ),
        dict(
            workers=2,
            runs=512,
            tasks=8,
            wall_s=33.0,
            cpu_s=51.2,
            runs_per_s=15.5,
            runs_per_cpu_s=10.0,
            first_batch_s=6.5,
            cluster_start_s=2.5,
            overhead=dict(tasks=60, s_per_task=0.004),
        ),
    ]
    result = dict(
        settings=dict(
            steps=1000, lr=0.03, warmup=200, objective="elbo", family="tabular", batch=64
        ),
        model_steps_per_run=1200,
        task_model_steps=300000,
        in_flight_per_worker=2,
        load_avg=1.0,
        rows=rows,
        bit_identical=True,
        efficiency_2_vs_1=0.93,
        efficiency_1_vs_local=0.98,
        efficiency_2_vs_local=0.91,
        cpu_efficiency_2_vs_local=0.98,
        s_per_task=0.004,
    )
    write_json(tmp_path / "summary.json", {"quick": False, "machine": {"cpu": "X"}, "cases": {}})
    write_json(tmp_path / "cluster.json", {"status": "ok", "wall_s": 1.0, "result": result})
    page = report.render_page(tmp_path)
    assert "## 6. Sweeps on a Dask cluster" in page and "### Plan: a million runs" in page
    assert "`--cluster local:2`" in page and "27.8 core-hours" in page
    assert "| 64 | 16 | 1\u2009024 | 0.0271 |" in page  # 27.8 core-hours over 1024 workers


def test_tex_words_turn_formula_words_of_a_description_into_tex():
    """A JSON description (bench_ib's IWAE model) is shown in the page's one math style: ``p*``
    and ``u^3`` become TeX; words, numbers and TeX already there stay as they are."""
    from benchmarks.report import _tex_words

    assert _tex_words("toy p*, tables u^3 normalised (u uniform), seed 3") == (
        "toy $p^*$, tables $u^{3}$ normalised (u uniform), seed 3"
    )
    assert _tex_words("x^2y, ab^2, p**, $p^*$ kept") == "x^2y, ab^2, p**, $p^*$ kept"
