"""Every teaching notebook runs top to bottom without error (fast mode), and has a lesson's shape.

The notebooks are jupytext ``py:percent`` files. Each one's code cells are executed in order in
a fresh namespace, with matplotlib's Agg backend and ``TOYRD_FAST=1`` (fewer seeds and steps), so
no Jupyter kernel is needed. Figures are closed after each cell. Warnings are errors (pytest's
``filterwarnings = error``), so a notebook that warns fails too.
"""

from __future__ import annotations

import pathlib
import re

import pytest

jupytext = pytest.importorskip("jupytext")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))

#: The lessons the course promises (issue 6); each must exist.
EXPECTED = [
    "01_exact_quantities.py",
    "02_optimal_marginal_decoder.py",
    "03_elbo_vs_target_rate.py",
    "04_beta_vae_frontier.py",
    "05_perspectives.py",
    "06_encoder_autonomy.py",
    "07_monte_carlo_vs_truth.py",
    "08_remedies.py",
]


def _cells(path):
    return jupytext.read(path, fmt="py:percent")["cells"]


def test_every_lesson_exists():
    names = [p.name for p in NOTEBOOKS]
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, f"missing notebooks: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_a_lesson(path):
    """A title, prose with math, a plot, and two or three exercises."""
    cells = _cells(path)
    md = [c["source"] for c in cells if c["cell_type"] == "markdown"]
    code = "\n".join(c["source"] for c in cells if c["cell_type"] == "code")
    assert md and md[0].lstrip().startswith("# "), "the first cell is a markdown title"
    assert any("$" in s for s in md), "no math in the prose"
    assert "plt." in code or "toyrd.plot" in code, "no plot"
    assert "import toyrd" in code
    prose = "\n".join(md)
    sections = re.split(r"^## Exercises[ \t]*$", prose, flags=re.M)
    assert len(sections) == 2, "one '## Exercises' section"
    items = re.findall(r"^\d+\. ", re.split(r"^#{1,2} ", sections[1], flags=re.M)[0], flags=re.M)
    assert 2 <= len(items) <= 3, f"{len(items)} exercises, expected two or three"


#: Each lesson checks the claims its prose makes with at least this many ``assert`` statements
#: (identities to 1e-12, inequalities, bounds), so ``test_notebook_runs`` fails when one is false.
MIN_ASSERTS = 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_checks_its_claims(path):
    code = "\n".join(c["source"] for c in _cells(path) if c["cell_type"] == "code")
    n = len(re.findall(r"^\s*assert\b", code, flags=re.MULTILINE))
    assert n >= MIN_ASSERTS, f"{path.name}: {n} asserts of its claims, expected >= {MIN_ASSERTS}"


#: A format with a field width (``{x:8.4f}``, ``{name:>14}``): the sign of a table padded by hand
#: for print, where a lesson shows a :class:`toyrd.plot.Table` (an HTML table on the site).
PADDED_FIELD = re.compile(r"\{[^{}]*:[<>^]?\d+(\.\d+)?[a-zA-Z%]?\}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_keeps_plumbing_and_checks_out_of_the_story(path):
    """The fast-mode plumbing is the first code cell, tagged ``setup`` (folded on the site, with a
    sentence before it saying what it sets); no other cell reads ``FAST``; every assert sits in a
    ``check`` or ``setup`` cell (folded too); no cell pads columns by hand for a printed table."""
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    tags = [set(c.get("metadata", {}).get("tags", [])) for c in code]
    assert "setup" in tags[0] and "TOYRD_FAST" in code[0]["source"], "first cell: the setup"
    for i, (cell, t) in enumerate(zip(code, tags)):
        src = cell["source"]
        if i > 0:
            assert not re.search(r"\bFAST\b|os\.environ", src), f"code cell {i} reads FAST"
        if not t & {"check", "setup"}:
            assert not re.search(r"^\s*assert\b", src, re.M), f"code cell {i}: assert in the story"
        assert not PADDED_FIELD.search(src), f"code cell {i}: {PADDED_FIELD.search(src).group()}"


@pytest.mark.long  # long tier: runs every lesson end to end
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("TOYRD_FAST", "1")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    namespace = {"__name__": "__main__", "__file__": str(path)}
    try:
        for i, cell in enumerate(_cells(path)):
            if cell["cell_type"] != "code":
                continue
            exec(compile(cell["source"], f"{path.name}:cell{i}", "exec"), namespace)
            plt.close("all")
    finally:
        plt.close("all")


def test_docs_site_lists_every_lesson_and_page():
    """mkdocs.yml's nav renders every lesson, and every page it names exists (checked without a
    build)."""
    root = NOTEBOOK_DIR.parent
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    for name in EXPECTED:
        assert f"notebooks/{name}" in nav, f"{name} is not in the docs nav"
    pages = re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w/.-]+\.md)\s*$", nav, flags=re.M)
    assert "index.md" in pages
    missing = [p for p in pages if not (root / "docs" / p).is_file()]
    assert not missing, f"nav names pages that do not exist: {missing}"
