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
