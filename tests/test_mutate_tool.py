"""tools/mutate.py's guards that need no mutation run."""

from __future__ import annotations

import pytest
from repo_scripts import load_script


@pytest.fixture
def mutate():
    return load_script("tools/mutate.py")


def test_refuses_to_start_with_uncommitted_changes_under_toyrd(mutate, monkeypatch, tmp_path):
    """A mutant is written into the source in place, so a run with toyrd/ changed (a live mutant
    of a killed run) would report on other sources: one line, exit before anything runs."""
    asked = []

    def fake_git(*args):
        asked.append(args)
        return " M toyrd/quantities/_ib_ba.py\n?? toyrd/new.py" if "status" in args else "abc"

    def no_run(*args, **kwargs):
        raise AssertionError("a module was mutated")

    monkeypatch.setattr(mutate, "_git", fake_git)
    monkeypatch.setattr(mutate, "run_target", no_run)
    monkeypatch.setattr(mutate, "_preload", lambda: None)
    with pytest.raises(SystemExit) as err:
        mutate.main(["--only", "_ib_ba", "--out", str(tmp_path / "r.json")])
    msg = str(err.value)
    assert "uncommitted changes" in msg and "_ib_ba.py" in msg and "\n" not in msg
    assert ("status", "--porcelain", "--", "toyrd") in asked
    assert not (tmp_path / "r.json").exists()


def test_extend_runs_only_the_new_mutants_of_a_grown_sample(mutate, monkeypatch, tmp_path):
    """--extend: the larger seeded sample starts with the smaller one, so only the mutants
    beyond it run, and the merged report is the larger sample with the earlier verdicts."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "a = 1 + 2\nb = 3 - 4\nc = 5 * 6\nd = a < b\ne = c if d else 7\n"
    )
    target = {"module": "pkg/mod.py", "tests": ["t"]}
    ran = []

    def fake_run(tests, timeout, *, fork=True, recorder=None):
        ran.append((tmp_path / "pkg" / "mod.py").read_text())
        # the baseline (the first call) passes; then every other mutant survives
        return "passed" if len(ran) == 1 or len(ran) % 2 else "failed", 0.0, ""

    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    monkeypatch.setattr(mutate, "_run_tests", fake_run)
    monkeypatch.setattr(mutate, "_drop_bytecode", lambda path: None)

    def run(**kw):
        ran.clear()
        return mutate.run_target(target, seed=0, fork=False, log=lambda *a: None, **kw)

    small = run(max_mutants=3)
    big = run(max_mutants=6, previous=small, extend=True)
    new = ran[1:]  # after the baseline
    full = run(max_mutants=6)

    def key(m):
        return m["line"], m["col"], m["operator"], m["mutated"]

    assert len(new) == 3 and big["extended"] == 3 and big["mutants_run"] == 6
    assert sorted(map(key, big["mutants"])) == sorted(map(key, full["mutants"]))
    kept = {key(m): m["status"] for m in small["mutants"]}
    assert all(m["status"] == kept[key(m)] for m in big["mutants"] if key(m) in kept)
    assert big["killed"] + big["survived"] == 6
    with pytest.raises(SystemExit, match="same --seed"):
        mutate.run_target(target, max_mutants=6, seed=1, fork=False, previous=small, extend=True)
    with pytest.raises(SystemExit, match="larger --max-mutants"):
        mutate.run_target(target, max_mutants=3, seed=0, fork=False, previous=small, extend=True)


@pytest.fixture
def effect():
    return load_script("tools/mutant_effect.py")


# a stand-in for the ten frontiers (seconds): one number that the change below reaches
_ONE_CASE = r"""
import json, numpy as np
from toyrd.quantities import maximal_correlation
rho = maximal_correlation(0.5 * np.array([[0.9, 0.1], [0.1, 0.9]]))  # 0.8
print(json.dumps({"bsc": [[0.0, 1.0], [0.0, rho]]}))  # (rates, relevances) of a frontier
"""


@pytest.mark.long  # long tier: copies toyrd/ and runs IB cases twice
def test_mutant_effect_compares_the_original_and_the_changed_copy(effect, monkeypatch, capsys):
    """tools/mutant_effect.py runs the case script on a copy of the committed toyrd/ before and
    after the one-line change: a change that keeps the numbers reads bit-identical, one that moves
    them reads differs, with the largest gap between the envelopes (ρ_m/2 = 0.4 here), and the
    tree's own file is untouched."""
    module = "toyrd/quantities/_ib.py"
    before = (effect.ROOT / module).read_text(encoding="utf-8")
    line = 1 + before.splitlines().index("    return float(sv[1]) if sv.size > 1 else 0.0")
    monkeypatch.setattr(effect, "FRONTIERS", _ONE_CASE)
    effect.main([module, str(line), "sv.size > 1", "sv.size >= 2"])
    assert capsys.readouterr().out.splitlines()[1:] == ["bsc: bit-identical"]
    effect.main([module, str(line), "float(sv[1])", "float(sv[1]) / 2"])
    assert capsys.readouterr().out.splitlines()[1:] == ["bsc: differs, by at most 4.0e-01 nats"]
    assert (effect.ROOT / module).read_text(encoding="utf-8") == before


def test_mutant_effect_refuses_a_line_without_the_text(effect):
    with pytest.raises(SystemExit) as err:
        effect.main(["toyrd/quantities/_ib.py", "1", "no such text", "x"])
    assert "does not contain 'no such text'" in str(err.value) and "\n" not in str(err.value)


def test_mutant_effect_summarises_slopes(effect):
    """The s* comparison: identical entries counted, the largest relative change, and every joint
    that moved by more than 1e-12 or raised listed."""
    rows = effect.compare_slopes([1.0, 4.0, 0.5, 2.0], [1.0, 4.5, "IndexError: x", 2.0 + 2e-14])
    assert rows[0] == "4 joints: s* identical on 1, largest relative change 1.25e-01"
    assert rows[1:] == ["joint 1: 4.0 -> 4.5", "joint 2: 0.5 -> IndexError: x"]
