"""Every example a reader can copy runs (issue 28 item 3).

* Every docstring example (``>>>``) of every module under ``toyrd/`` is executed with
  :mod:`doctest` (one test per module; modules are found by scanning the source text, so
  collection imports nothing heavy). ``# doctest: +SKIP`` is allowed only where this file lists
  the reason (:data:`SKIP_ALLOWED`).
* Every fenced ```` ```python ```` block of ``README.md`` and of the pages under ``docs/`` is run,
  the blocks of one page in order in one namespace (later blocks may use earlier names), in a
  temporary working folder. A block that is not meant to run is marked on the line just above
  its fence with ``<!-- not run: REASON -->`` (an HTML comment, invisible on the site and on
  GitHub); the marker must give a reason.
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "toyrd"

#: Modules whose docstrings may skip examples, and why (nothing else may use +SKIP).
SKIP_ALLOWED = {
    # the explorer's example trains and draws a Figure 2 (seconds); tests/cli/test_explore.py
    # runs the same calls
    "toyrd.explore._model": "trains and draws a full Figure 2",
}

#: A fenced block of a Markdown page: the line before the fence, the info string, the body.
_FENCE = re.compile(
    r"(?m)^(?P<before>[^\n]*)\n```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S
)
_NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<why>\S.*?)\s*-->")
#: A page whose blocks need optional packages says so once: ``<!-- test needs: pyro numpyro -->``
#: (the test is skipped when one is missing; the test extra installs them all).
_NEEDS = re.compile(r"<!--\s*test needs:\s*(?P<mods>[\w .]+?)\s*-->")


def _doctest_modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append(".".join(parts))
    return out


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(text: str) -> list[tuple[str, str | None]]:
    """(code, reason it is not run or None) for every ```python block of a Markdown text."""
    out = []
    for m in _FENCE.finditer("\n" + text):
        info = m["info"].strip().split()
        if not info or info[0] not in ("python", "py", "pycon"):
            continue
        skip = _NOT_RUN.search(m["before"])
        out.append((m["body"], skip["why"] if skip else None))
    return out


def test_the_block_finder_sees_fences_and_markers():
    text = (
        "intro\n```python\nx = 1\n```\n\n<!-- not run: needs a display -->\n```python\nshow()\n"
        "```\n```bash\nls\n```\n"
    )
    assert python_blocks(text) == [("x = 1\n", None), ("show()\n", "needs a display")]


@pytest.mark.parametrize("name", _doctest_modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name}: source has '>>> ' but doctest found no example"
    skipped = [
        t.name
        for t in tests
        for ex in t.examples
        if ex.options.get(doctest.OPTIONFLAGS_BY_NAME["SKIP"])
    ]
    assert not skipped or name in SKIP_ALLOWED, (
        f"{name}: examples skipped in {sorted(set(skipped))}; make them run (or list the module "
        "in SKIP_ALLOWED with the reason)"
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


#: Pages whose blocks take long (seconds to minutes on the 2-core machine): the long tier.
LONG_PAGES = {
    "docs/explore.md": "builds the explorer page, which trains its first model",
    "docs/recipes.md": "imports torch, Pyro and NumPyro and differentiates through each",
}
_PAGES = [
    pytest.param(p, marks=pytest.mark.long) if str(p.relative_to(ROOT)) in LONG_PAGES else p
    for p in _pages()
    if python_blocks(p.read_text(encoding="utf-8"))
]


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    for needs in _NEEDS.finditer(text):
        for mod in needs["mods"].split():
            pytest.importorskip(mod)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"page:{page.name}"}
    for i, (code, why) in enumerate(python_blocks(text)):
        if why is not None:
            continue
        if code.lstrip().startswith(">>>"):
            parser = doctest.DocTestParser()
            t = parser.get_doctest(code, namespace, f"{page.name}[{i}]", str(page), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(t, clear_globs=False)
            assert runner.summarize(verbose=False).failed == 0, f"{page.name} block {i}"
        else:
            exec(compile(code, f"{page.name}, python block {i}", "exec"), namespace)


def test_every_page_block_runs_or_says_why_not():
    """The escape hatch stays explicit: a marker needs a reason, and it is used sparingly."""
    marked = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        if re.search(r"<!--\s*not run\s*-->", text):
            pytest.fail(f"{page.name}: a 'not run' marker without a reason")
        marked += [(page.name, why) for _, why in python_blocks(text) if why is not None]
    assert len(marked) <= 3, marked
