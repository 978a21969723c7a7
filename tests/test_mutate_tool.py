"""tools/mutate.py's guards that need no mutation run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mutate():
    spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
