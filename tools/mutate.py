"""One-line mutation testing for toyrd's core modules, with no dependency beyond pytest.

For each module in TARGETS the script lists one-line mutants — an arithmetic or comparison
operator swapped, a numeric constant changed, a term of a sum or difference dropped, an
augmented assignment or a unary minus removed, ``and``/``or`` swapped — applies each in turn to
the file, runs the module's fast tests (``pytest -x`` under a timeout), restores the file, and
writes a JSON report: every mutant with its location, its diff and whether the tests killed it.
A mutant is *killed* when the tests fail or time out, *survived* when they pass.

Usage (from the repository root)::

    python tools/mutate.py                      # every target
    python tools/mutate.py --only ib iwae       # targets whose path contains these words
    python tools/mutate.py --only ib --max-mutants 80 --seed 1 --out mutants.json
    python tools/mutate.py --list --only iwae   # list the mutants, run nothing
    python tools/mutate.py --survivors-of old.json --out new.json   # after adding tests: run
                                                # only old.json's survivors (same sources)
    python tools/mutate.py --extend old.json --max-mutants 120 --seed 0 --out new.json
                                                # grow old.json's seeded sample to 120

The original file is restored after every mutant (also on Ctrl-C, SIGTERM or an error) and
checked byte-for-byte at the end. The module's cached bytecode is deleted before each run and the
runs write none, so a mutant of the same size written within the same second as the original
never runs stale bytecode. A line
holding ``# no mutate`` is skipped. Equivalent mutants (same behaviour) cannot be told apart
automatically: survivors are listed for a person to kill with a test or explain.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import difflib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Modules to mutate and the fast tests that should catch their mutants. Paths are relative to
#: the repository root: when a module moves (the package is being split into subpackages), edit
#: its path here.
_Q = "tests/quantities/"
#: Every fast test file that exercises the module: a mutant first runs only the tests whose
#: coverage reached its line, so a long list costs one baseline run, not one per mutant.
TARGETS = [
    {
        "module": "toyrd/_formulas.py",
        "tests": [
            *(_Q + f for f in ("test_info.py", "test_formulas_log.py", "test_properties.py")),
            *(_Q + f for f in ("test_optimal.py", "test_source_claims.py", "test_batch.py")),
            "tests/test_objectives.py",
            "tests/test_validate.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_info.py",
        "tests": [
            *(_Q + f for f in ("test_info.py", "test_properties.py", "test_source_claims.py")),
            _Q + "test_bound_order.py",
            "tests/test_validate.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_distributions.py",
        "tests": [
            *(_Q + f for f in ("test_info.py", "test_properties.py", "test_source_claims.py")),
            _Q + "test_optimal.py",
            "tests/test_validate.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_evaluate.py",
        "tests": [
            *(_Q + f for f in ("test_info.py", "test_properties.py", "test_source_claims.py")),
            *(_Q + f for f in ("test_batch.py", "test_logeval.py", "test_bound_order.py")),
            "tests/test_validate.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_optimal.py",
        "tests": [
            *(_Q + f for f in ("test_optimal.py", "test_properties.py", "test_source_claims.py")),
            "tests/test_validate.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_iwae.py",
        "tests": [
            *(_Q + f for f in ("test_iwae.py", "test_iwae_underflow.py", "test_iwae_posterior.py")),
            _Q + "test_bound_order.py",
            "tests/test_bad_input.py",
        ],
    },
    {
        "module": "toyrd/quantities/_logeval.py",
        "tests": [
            *(_Q + f for f in ("test_logeval.py", "test_bound_order.py", "test_info.py")),
            *(_Q + f for f in ("test_properties.py", "test_iwae.py")),
            "tests/test_bad_input.py",
        ],
    },
    {"module": "toyrd/quantities/_ib.py", "tests": [_Q + "test_ib.py"]},
    {"module": "toyrd/quantities/_ib_points.py", "tests": [_Q + "test_ib.py"]},
    {"module": "toyrd/quantities/_ib_ba.py", "tests": [_Q + "test_ib.py"]},
    {"module": "toyrd/quantities/_ib_cluster.py", "tests": [_Q + "test_ib.py"]},
    {
        "module": "toyrd/data/_toy.py",
        "tests": ["tests/data/test_toy.py", "tests/test_bad_input.py"],
    },
    {"module": "toyrd/objectives.py", "tests": ["tests/test_objectives.py"]},
    {
        "module": "toyrd/_validate.py",
        "tests": ["tests/test_validate.py", "tests/test_bad_input.py", _Q + "test_info.py"],
    },
]

#: pytest options for every run: stop at the first failure, skip the slow marker, quiet, and the
#: derandomised ``mutation`` Hypothesis profile (tests/conftest.py), so a report is reproducible.
PYTEST_ARGS = [
    "-x",
    "-q",
    "-m",
    "not slow",
    "-p",
    "no:cacheprovider",
    "--no-header",
    "--hypothesis-profile=mutation",
]

#: A mutant's run may take this many times the unmutated run (plus TIMEOUT_PAD seconds) before it
#: counts as killed by a timeout (a mutant that loops forever is caught, not waited for).
TIMEOUT_FACTOR = 3.0
TIMEOUT_PAD = 10.0

_BINOP_SWAP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
}
_CMP_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BOOL_SWAP = {ast.And: ast.Or, ast.Or: ast.And}


def _docstring_lines(tree) -> set[int]:
    """Lines of module, class and function docstrings (strings are never mutated anyway)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                out.update(range(body[0].lineno, body[0].end_lineno + 1))
    return out


def _new_constant(value):
    """The changed constant for a numeric literal, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return 1 if value == 0 else (0 if value == 1 else value + 1)
    return 1.0 if value == 0.0 else value * 10.0


def _candidates(tree):
    """(node, replacement node or None for 'pass', operator name) for every mutation site."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            swap = _BINOP_SWAP.get(type(node.op))
            if swap is not None:
                yield (
                    node,
                    ast.BinOp(node.left, swap(), node.right),
                    f"{type(node.op).__name__}->{swap.__name__}",
                )
            if isinstance(node.op, (ast.Add, ast.Sub)):
                yield node, node.left, f"drop right term of {type(node.op).__name__}"
                if isinstance(node.op, ast.Add):
                    yield node, node.right, "drop left term of Add"
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            swap = _CMP_SWAP.get(type(node.ops[0]))
            if swap is not None:
                yield (
                    node,
                    ast.Compare(node.left, [swap()], node.comparators),
                    f"{type(node.ops[0]).__name__}->{swap.__name__}",
                )
        elif isinstance(node, ast.BoolOp):
            swap = _BOOL_SWAP[type(node.op)]
            yield (
                node,
                ast.BoolOp(swap(), node.values),
                f"{type(node.op).__name__}->{swap.__name__}",
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            yield node, node.operand, f"drop {type(node.op).__name__}"
        elif isinstance(node, ast.Constant):
            new = _new_constant(node.value)
            if new is not None:
                yield node, ast.Constant(new), f"constant {node.value!r}->{new!r}"
        elif isinstance(node, ast.AugAssign):
            yield node, None, "drop augmented assignment"


def mutants(path: Path):
    """Every one-line mutant of a file: dicts with line, col, operator, the original and the
    mutated line (the mutation replaces one node that starts and ends on that line)."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    skip = _docstring_lines(tree)
    out = []
    for node, new, op in _candidates(tree):
        if node.lineno != node.end_lineno or node.lineno in skip:
            continue
        line = lines[node.lineno - 1]
        if "no mutate" in line:
            continue
        # a byte offset in ast is into the UTF-8 encoding of the line
        raw = line.encode()
        start, end = node.col_offset, node.end_col_offset
        if new is None:
            text = "pass"
        else:
            text = ast.unparse(new)
            if not isinstance(new, ast.Constant):
                text = f"({text})"
            elif isinstance(new.value, (int, float)) and not isinstance(new.value, bool):
                text = repr(new.value)
        mutated = (raw[:start] + text.encode() + raw[end:]).decode()
        if mutated == line:
            continue
        try:
            ast.parse("".join(lines[: node.lineno - 1] + [mutated] + lines[node.lineno :]))
        except SyntaxError:
            continue
        out.append(
            {
                "line": node.lineno,
                "col": start,
                "operator": op,
                "original": line.rstrip("\n"),
                "mutated": mutated.rstrip("\n"),
            }
        )
    out.sort(key=lambda m: (m["line"], m["col"], m["operator"]))
    return out


def _drop_bytecode(path: Path):
    """Remove the cached bytecode of one module, so the next import compiles its source."""
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        pyc.unlink()


#: Suffix of the coverage context of a test's setup and teardown (fixtures).
SETUP = "@setup"


class _Recorder:
    """pytest plugin for the baseline run: line coverage of one module, with each line's
    coverage context set to the id of the test that ran it, and every test's duration."""

    def __init__(self, module: Path, data_file: Path):
        import coverage

        self.cov = coverage.Coverage(data_file=str(data_file), include=[str(module)])
        self.module = module
        self.durations: dict[str, float] = {}

    def pytest_configure(self, config):
        self.cov.start()

    # Lines run while fixtures are set up or torn down get the context "<id>@setup": what a
    # fixture computes can reach later tests (session fixtures), so their mutants are checked
    # against the whole test list. Lines run in a test's body get the test's id.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.cov.switch_context(item.nodeid + SETUP)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        self.cov.switch_context(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item):
        self.cov.switch_context(item.nodeid + SETUP)

    def pytest_runtest_logreport(self, report):
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration

    def pytest_unconfigure(self, config):
        self.cov.stop()
        self.cov.save()
        data = self.cov.get_data()
        by_line = data.contexts_by_lineno(str(self.module)) if data.measured_files() else {}
        _, statements, _, missing, _ = self.cov.analysis2(str(self.module))
        self.result = {
            "by_line": {int(k): sorted(v) for k, v in by_line.items()},
            "statements": sorted(statements),
            "missing": sorted(missing),
            "durations": self.durations,
        }


def _child_pytest(args, log_path: Path, recorder=None):
    """In a forked child: run pytest on args with output to log_path; never returns."""
    try:
        os.setpgid(0, 0)  # its own process group, so a timeout kills what it started too
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        sys.dont_write_bytecode = True
        import pytest

        # hypothesis was imported before pytest here, so pytest cannot rewrite its plugin's asserts
        quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        rc = pytest.main([*PYTEST_ARGS, *quiet, *args], plugins=[recorder] if recorder else [])
        if recorder is not None:
            (log_path.with_suffix(".cov.json")).write_text(json.dumps(recorder.result))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(rc))
    except BaseException:  # noqa: BLE001 - a child reports any failure as a failed run
        import traceback

        traceback.print_exc()
        os._exit(99)


def _run_tests(tests, timeout, *, fork=True, recorder=None):
    """Run pytest on ``tests``; returns ('passed' | 'failed' | 'timeout', seconds, tail).

    With ``fork`` (POSIX), a child forked from this process runs ``pytest.main``: numpy, scipy,
    hypothesis, pytest and jax are imported once here, never toyrd, so every child imports the
    module under test afresh from disk and pays no interpreter start-up."""
    t0 = time.perf_counter()
    if not fork:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", *PYTEST_ARGS, *tests],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return "timeout", time.perf_counter() - t0, ""
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
        return ("passed" if proc.returncode == 0 else "failed"), time.perf_counter() - t0, tail[0]
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "pytest.log"
        pid = os.fork()
        if pid == 0:
            _child_pytest(tests, log_path, recorder)
        status = None
        while status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = "passed" if os.waitstatus_to_exitcode(code) == 0 else "failed"
            elif timeout is not None and time.perf_counter() - t0 > timeout:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "timeout"
            else:
                time.sleep(0.01)
        secs = time.perf_counter() - t0
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if recorder is not None and status == "passed":
            result = json.loads(log_path.with_suffix(".cov.json").read_text())
            result["by_line"] = {int(k): v for k, v in result["by_line"].items()}  # JSON keys
            recorder.result = result
    tail = text.strip().splitlines()[-1:] or [""]
    return status, secs, tail[0]


def _preload():
    """Import the heavy dependencies of the tests once, before any fork (never toyrd)."""
    assert "toyrd" not in sys.modules, "the mutation driver must not import toyrd"
    for name in ("numpy", "scipy.special", "scipy.optimize", "hypothesis", "pytest", "jax"):
        with contextlib.suppress(ImportError):
            __import__(name)
    with contextlib.suppress(ImportError):
        import hypothesis.extra.numpy  # noqa: F401


def _selection(m, cov, all_tests):
    """(tests to run first, why, confirm): the tests that executed the mutant's line, fastest
    first. ``confirm``: if they all pass, run the whole list too — needed when the line also ran
    at import time or in a fixture (its effect can reach tests that never ran it); a line run
    only inside test bodies can change no other test, so its covering tests decide. A line never
    executed needs no run; a line coverage does not map (a continuation line) gets the whole
    list."""
    line = m["line"]
    if cov is None:
        return all_tests, "all", False
    contexts = cov["by_line"].get(line, [])
    tests = sorted(
        {c.removesuffix(SETUP) for c in contexts if c},
        key=lambda c: cov["durations"].get(c, 0.0),
    )
    shared = any(not c or c.endswith(SETUP) for c in contexts)
    if tests:
        return tests, "covering" + (", then all" if shared else ""), shared
    if contexts:  # import time only
        return all_tests, "all", False
    if line in cov["missing"]:
        return [], "not executed", False
    return all_tests, "all", False


def _mutant_key(m):
    # a trimmed report (docs/data/mutation/) keeps the mutated line of survivors only
    return m["line"], m["col"], m["operator"], m.get("mutated")


def run_target(
    target, *, max_mutants=None, seed=0, fork=True, log=print, previous=None, extend=False
):
    """Mutate one module; returns its report (baseline, mutants with their status, score).

    A mutant first runs only the tests whose coverage reached its line (fastest first); if they
    all pass, the target's whole test list runs, so a survivor has survived every test.

    ``previous``: this module's report from an earlier run of the same source (the same mutants,
    line for line): only its survivors run again, and the report keeps its other verdicts — a
    test added since can kill a survivor, not revive a killed mutant. ``extend``: ``previous``
    is a seeded sample of the same source, and the sample of ``max_mutants`` with its seed (the
    first ones drawn are the earlier sample's) runs only its new mutants, keeping the earlier
    verdicts."""
    path = ROOT / target["module"]
    original = path.read_bytes()
    found = mutants(path)
    if target.get("lines"):
        found = [m for m in found if m["line"] in target["lines"]]
    chosen = found
    sample_seed = None
    if previous is not None and extend:
        if (
            previous.get("sha256") != hashlib.sha256(original).hexdigest()
            or previous.get("sample_seed") != seed
            or max_mutants is None
            or max_mutants <= previous["mutants_run"]
        ):
            raise SystemExit(
                f"{target['module']}: --extend needs a sampled report of the same source, the "
                f"same --seed ({previous.get('sample_seed')}) and a larger --max-mutants"
            )
        # random.sample draws one by one from the same stream: the first ones drawn for the
        # larger sample are the earlier sample (checked below, as a multiset of mutants) — as
        # long as both sizes use the same of its two methods (for a small sample of a large
        # population it switches to a set of picks, and the check then refuses)
        drawn = random.Random(seed).sample(found, min(max_mutants, len(found)))
        n_old = previous["mutants_run"]

        def keys(ms):  # as multisets, without the mutated text (trimmed reports lack it)
            return sorted(_mutant_key(m)[:3] for m in ms)

        if keys(drawn[:n_old]) != keys(previous["mutants"]):
            raise SystemExit(f"{target['module']}: the earlier sample is not part of this one")
        chosen = sorted(drawn[n_old:], key=lambda m: (m["line"], m["col"], m["operator"]))
        sample_seed = seed
    elif previous is not None:
        before, now = {_mutant_key(m) for m in previous["mutants"]}, {_mutant_key(m) for m in found}
        same = (
            previous["sha256"] == hashlib.sha256(original).hexdigest()
            if previous.get("sha256")
            else before <= now and (before == now or previous["mutants_run"] < len(found))
        )
        if not same or previous["mutants_found"] != len(found):
            raise SystemExit(
                f"{target['module']} changed since the previous report (other mutants): "
                "run it again"
            )
        again = {_mutant_key(m) for m in previous["mutants"] if m["status"] == "survived"}
        chosen = [m for m in found if _mutant_key(m) in again]
    elif max_mutants is not None and len(found) > max_mutants:
        sample_seed = seed
        chosen = sorted(
            random.Random(seed).sample(found, max_mutants),
            key=lambda m: (m["line"], m["col"], m["operator"]),
        )
    recorder = None
    if fork:
        tmp_cov = Path(tempfile.mkdtemp()) / ".coverage"
        recorder = _Recorder(path.resolve(), tmp_cov)
    status, base_s, tail = _run_tests(target["tests"], timeout=None, fork=fork, recorder=recorder)
    cov = getattr(recorder, "result", None)
    report = {
        "module": target["module"],
        "sha256": hashlib.sha256(original).hexdigest(),  # the source the verdicts are about
        "tests": target["tests"],
        "mutants_found": len(found),
        "mutants_run": len(chosen),
        "sample_seed": sample_seed,  # a seeded random sample of the mutants, or None: all
        "baseline_seconds": round(base_s, 2),
        "baseline": status,
        "mutants": [],
    }
    if status != "passed":
        log(f"{target['module']}: the unmutated tests do not pass ({tail}); skipped")
        return report
    timeout = TIMEOUT_FACTOR * base_s + TIMEOUT_PAD
    text = original.decode()
    lines = text.splitlines(keepends=True)
    try:
        for k, m in enumerate(chosen, 1):
            new_lines = list(lines)
            new_lines[m["line"] - 1] = m["mutated"] + (
                "\n" if lines[m["line"] - 1].endswith("\n") else ""
            )
            first, why, confirm = _selection(m, cov, target["tests"])
            path.write_text("".join(new_lines))
            _drop_bytecode(path)  # the mutant never writes bytecode (PYTHONDONTWRITEBYTECODE)
            try:
                if not first:
                    result, secs, tail = "passed", 0.0, "line never executed by the tests"
                else:
                    limit = timeout
                    if cov is not None and first is not target["tests"]:  # the subset's share
                        spent = sum(cov["durations"].get(t, 0.0) for t in first)
                        limit = min(timeout, TIMEOUT_FACTOR * spent + TIMEOUT_PAD)
                    result, secs, tail = _run_tests(first, limit, fork=fork)
                    if result == "passed" and confirm:
                        result, more, tail = _run_tests(target["tests"], timeout, fork=fork)
                        secs += more
            finally:
                path.write_bytes(original)
            m = dict(
                m,
                status="survived" if result == "passed" else "killed",
                result=result,
                first_run=why,
                seconds=round(secs, 2),
                tests_tail=tail,
                diff="".join(
                    difflib.unified_diff(
                        [m["original"] + "\n"],
                        [m["mutated"] + "\n"],
                        f"a/{target['module']}:{m['line']}",
                        f"b/{target['module']}:{m['line']}",
                    )
                ),
            )
            report["mutants"].append(m)
            log(
                f"[{k}/{len(chosen)}] {target['module']}:{m['line']} {m['operator']}: "
                f"{m['status']} ({result}, {why}, {secs:.1f} s)"
            )
    finally:
        path.write_bytes(original)
        _drop_bytecode(path)
    assert path.read_bytes() == original, f"{path} was not restored"
    if previous is not None and extend:
        report["mutants"] = sorted(
            previous["mutants"] + report["mutants"],
            key=lambda m: (m["line"], m["col"], m["operator"]),
        )
        report["mutants_run"] = len(report["mutants"])
        report["extended"] = len(chosen)
    elif previous is not None:
        rerun = {_mutant_key(m): m for m in report["mutants"]}
        report["mutants"] = [rerun.get(_mutant_key(m), m) for m in previous["mutants"]]
        report["mutants_run"] = len(report["mutants"])
        report["rerun"] = len(rerun)
        for k in ("sample_seed",):
            if k in previous:
                report[k] = previous[k]
    killed = sum(m["status"] == "killed" for m in report["mutants"])
    report["killed"], report["survived"] = killed, len(report["mutants"]) - killed
    report["score"] = killed / len(report["mutants"]) if report["mutants"] else None
    return report


def _git(*args) -> str:
    """Output of a git command in the repository ('' when git is unavailable)."""
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="mutate only the targets whose module path contains one of these",
    )
    ap.add_argument(
        "--max-mutants",
        type=int,
        default=None,
        help="per module, run a seeded random sample of at most this many mutants",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of that sample")
    ap.add_argument("--out", default="mutation-report.json", help="JSON report path")
    ap.add_argument(
        "--tests", nargs="*", default=None, help="run these test files instead of each target's own"
    )
    ap.add_argument(
        "--line",
        type=int,
        nargs="*",
        default=None,
        help="mutate only these line numbers (with one target)",
    )
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument(
        "--survivors-of",
        metavar="REPORT",
        default=None,
        help="run again only the survivors of this earlier report (same sources) and write the "
        "merged report",
    )
    ap.add_argument(
        "--extend",
        metavar="REPORT",
        default=None,
        help="grow the seeded sample of this earlier report (same sources, same --seed) to "
        "--max-mutants: run only the new mutants and write the merged report",
    )
    ap.add_argument(
        "--no-fork",
        action="store_true",
        help="run every mutant's whole test list in a fresh interpreter (slower; no coverage)",
    )
    args = ap.parse_args(argv)
    targets = [
        dict(t, tests=args.tests or t["tests"], lines=args.line)
        for t in TARGETS
        if not args.only or any(word in t["module"] for word in args.only)
    ]
    previous = {}
    if args.survivors_of and args.extend:
        ap.error("--survivors-of and --extend: one at a time")
    if args.survivors_of or args.extend:
        before = json.loads(Path(args.survivors_of or args.extend).read_text())
        # a summary of tools/mutate.py, or one module's trimmed report from docs/data/mutation/
        previous = {r["module"]: r for r in before.get("modules", [before])}
        targets = [t for t in targets if t["module"] in previous]
    if not targets:
        ap.error(f"--only {args.only}: no target matches")
    missing = [t["module"] for t in targets if not (ROOT / t["module"]).is_file()]
    if missing:
        ap.error(f"no such module (update TARGETS): {', '.join(missing)}")
    if args.list:
        for t in targets:
            for m in mutants(ROOT / t["module"]):
                print(
                    f"{t['module']}:{m['line']}:{m['col']} {m['operator']}: {m['mutated'].strip()}"
                )
        return 0
    # A mutant is written into the source in place: with uncommitted changes under toyrd/ (a
    # live mutant left by a killed run, an edit in progress) the report would be about other
    # sources, and a later commit could take a mutant along.
    changed = _git("status", "--porcelain", "--", "toyrd")
    if changed:
        first, *more = changed.splitlines()
        raise SystemExit(
            f"mutate.py: toyrd/ has uncommitted changes ({first.strip()}{', ...' if more else ''})"
            ": commit or restore them first"
        )
    # SIGTERM (a timeout, a kill) unwinds like Ctrl-C, so the finally blocks restore the file.
    signal.signal(signal.SIGTERM, _interrupt)
    fork = hasattr(os, "fork") and not args.no_fork
    if fork:
        _preload()
    started = time.time()
    # the commit the run starts from (tests committed later cannot have decided its verdicts)
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", "toyrd", "tests", "tools") or None
    reports = [
        run_target(
            t,
            max_mutants=args.max_mutants,
            seed=args.seed,
            fork=fork,
            previous=previous.get(t["module"]),
            extend=bool(args.extend),
        )
        for t in targets
    ]
    killed = sum(r.get("killed", 0) for r in reports)
    run = sum(len(r["mutants"]) for r in reports)
    summary = {
        "command": " ".join(
            ["python", "tools/mutate.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "dirty": dirty,
        "killed": killed,
        "survived": run - killed,
        "score": killed / run if run else None,
        # the earlier run, and the runs it was merged from in turn (the first one sampled)
        "merged_from": (
            {
                k: before.get(k)
                for k in ("command", "date", "commit", "rerun", "extended", "merged_from")
            }
            if args.survivors_of or args.extend
            else None
        ),
        "seconds": round(time.time() - started, 1),
        "python": sys.version.split()[0],
        "pytest_args": PYTEST_ARGS,
        "modules": reports,
    }
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    for r in reports:
        if r["mutants"]:
            print(
                f"{r['module']}: {r['killed']}/{len(r['mutants'])} killed "
                f"({100 * r['score']:.1f} %) of {r['mutants_found']} found"
            )
    if run:
        print(f"total: {killed}/{run} killed ({100 * killed / run:.1f} %); report in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
