"""The docs build's own pieces, without a browser: the p* rule, MathJax files, the page checks.

The browser check itself (``docs/scripts/check_site.py`` on a built site) runs in ``.ci/run``
after ``mkdocs build --strict``; these tests pin the rules it and the build hook apply.
"""

from __future__ import annotations

import re

import pytest
from repo_scripts import ROOT, load_script

markdown = pytest.importorskip("markdown")
pytest.importorskip("mkdocs")
pytest.importorskip("pymdownx")


hook = load_script("docs/_hooks/toyrd_docs.py", "toyrd_docs_hook")
check = load_script("docs/scripts/check_site.py", "toyrd_check_site")


def _html(text: str) -> str:
    md = markdown.Markdown(
        extensions=["pymdownx.arithmatex", hook.StarExtension()],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    return md.convert(text)


@pytest.mark.parametrize(
    "text, html",
    [
        # a one-letter name and its star are text, however many follow on the line
        ("(i) p*(x), g(x) and p*(x') e", "<p>(i) p*(x), g(x) and p*(x') e</p>"),
        ("KL(p*‖g) and I(z; z*)", "<p>KL(p*‖g) and I(z; z*)</p>"),
        ("Σ_{z*} p(z*|x)", "<p>Σ_{z*} p(z*|x)</p>"),
        ("**p*(x) ≈ g(x)** here", "<p><strong>p*(x) ≈ g(x)</strong> here</p>"),
        # emphasis stays emphasis, a one-letter word included
        ("a *z* b and *fresh*", "<p>a <em>z</em> b and <em>fresh</em></p>"),
        # code and math are not touched
        ("`p*(x)` and `z*`", "<p><code>p*(x)</code> and <code>z*</code></p>"),
        (
            "$a*b$ and $p^*$",
            (
                '<p><span class="arithmatex">\\(a*b\\)</span> and '
                '<span class="arithmatex">\\(p^*\\)</span></p>'
            ),
        ),
    ],
)
def test_star_after_a_one_letter_name_is_not_emphasis(text, html):
    assert _html(text) == html


def test_mathjax_is_shipped_with_its_fonts_and_tex_extensions():
    rel = {r for r, _ in hook.mathjax_files()}
    assert "tex-chtml.js" in rel  # the component mkdocs.yml loads
    assert "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff" in rel
    assert "input/tex/extensions/boldsymbol.js" in rel  # loaded on demand by \boldsymbol
    assert "LICENSE" in rel


def test_mkdocs_loads_no_script_from_the_network():
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    js = text.split("extra_javascript:")[1].split("\n\n")[0]
    assert "http" not in js and "assets/mathjax/tex-chtml.js" in js


@pytest.mark.parametrize(
    "text, n",
    [
        ("the rate $R$ is", 2),
        ("a \\(x\\) b", 2),
        ("\\[ y \\]", 2),
        ("sum \\sum_z here", 1),
        ("p*(x) = 0.5 nats, I(x; z*)", 0),
        ("e(z|x) and d(x|z)", 0),
    ],
)
def test_raw_tex_finds_delimiters_and_commands(text, n):
    assert len(check.raw_tex([text])) == n


def test_raw_tables_finds_an_unrendered_pipe_table():
    assert check.raw_tables(["| a | b |\n|---|---|\n| 1 | 2 |"])
    assert check.raw_tables(["| a | b |\n|:--|--:|"])
    assert check.raw_tables(["a | b\n--- | ---\n1 | 2"])  # pipes at the ends are optional
    assert not check.raw_tables(["R | D, and |R − σ| is small", "a --- b", "x |-1| y"])


def test_missing_downloads_resolves_links_from_the_page(tmp_path):
    (tmp_path / "notebooks" / "01_x").mkdir(parents=True)
    (tmp_path / "notebooks" / "01_x" / "01_x.py").write_text("# %%\n")
    page = "notebooks/01_x/index.html"
    assert check.missing_downloads(tmp_path, page, ["01_x.py"]) == []
    assert check.missing_downloads(tmp_path, page, ["01_x.ipynb", "../01_x.py"]) == [
        "01_x.ipynb",
        "../01_x.py",
    ]


# ------------------------------------------------------------------ figures, markup, lessons


@pytest.mark.parametrize(
    "text, n",
    [
        ("p*(x) = Σ_{z*} p(z*, x)", 1),
        ("IWAE_{k+1} ≥ IWAE_k and e^{-70}", 2),
        ("\\mathrm{KL}", 1),
        ("IWAE₍ₖ₊₁₎ ≥ IWAEₖ, e⁻⁷⁰, x_1 and a^2", 0),
    ],
)
def test_tex_like_finds_markup_left_as_text(text, n):
    assert len(check.tex_like([text])) == n


@pytest.mark.parametrize(
    "text, markers",
    [
        ("g(x) = Σ_z m(z) d(x|z)", ["sum", "subscript", "conditional"]),
        ("KL(p*‖g) < 1e-3", ["KL", "KL"]),
        ("I_e and X_c, u_c", ["subscript", "subscript", "subscript"]),
        ("the bounds E ≤ I_d", ["subscript", "inequality"]),
        ("(I(z; z*) ≥ 0.9", ["information", "inequality"]),
        ("(b, s²), 10⁶ runs", ["sub/superscript", "sub/superscript"]),
        # keys, names, versions and prose are no formulas
        ("I_zstar, kl_pstar_g and class0_mass", []),
        ("toyrd needs Python ≥ 3.10; a | b; (1, 2); e.g. x (a thing); n = 4", []),
    ],
)
def test_formula_text_finds_formulas_written_as_text(text, markers):
    assert sorted(name for name, _ in check.formula_text([text])) == sorted(markers)


def _png(tmp_path, text_px=None):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.text(0.5, 0.5, "x", fontsize=9)
    meta = {"Software": None}
    if text_px is not None:
        meta["toyrd:text_px"] = f"{text_px:.2f}"
    path = tmp_path / "f.png"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(path, dpi=100, metadata=meta)
    return path


def test_png_text_size_is_read_from_its_text_chunk(tmp_path):
    assert check.png_text_px(_png(tmp_path, 12.5).read_bytes()) == 12.5
    assert check.png_text_px(_png(tmp_path).read_bytes()) is None  # unknown: the check fails it
    assert check.png_text_px(b"<svg></svg>") is None


def test_figure_text_scales_with_the_displayed_width(tmp_path):
    (tmp_path / "img").mkdir()
    svg = (
        '<svg width="100pt" height="50pt" viewBox="0 0 100 50">'
        "<text style=\"font: 8px 'DejaVu Sans'\">a</text>"
        "<text style=\"font: 10px 'DejaVu Sans'\">b</text></svg>"
    )
    (tmp_path / "img" / "f.svg").write_text(svg)
    fig = {"src": "../img/f.svg", "shown": 200.0, "natural": 133.0, "text_px": None}
    # the smallest font (8 user units) drawn at 200 px for a 100-unit-wide view box: 16 px
    assert check.figure_text_px(tmp_path, "page/index.html", fig) == pytest.approx(16.0)
    fig["shown"] = 100.0
    assert check.figure_text_px(tmp_path, "page/index.html", fig) == pytest.approx(8.0)
    png = _png(tmp_path, 12.0)
    (tmp_path / "img" / "f.png").write_bytes(png.read_bytes())
    fig = {"src": "../img/f.png", "shown": 100.0, "natural": 200.0, "text_px": None}
    assert check.figure_text_px(tmp_path, "page/index.html", fig) == pytest.approx(6.0)
    fig["src"] = "../img/missing.png"
    assert check.figure_text_px(tmp_path, "page/index.html", fig) is None


def test_lesson_checks_fold_into_details_and_other_cells_stay():
    cell = '<div class="jp-Cell jp-CodeCell jp-Notebook-cell {}"><div><pre>{}</pre></div></div>'
    html = "\n".join(
        [
            cell.format("", "a = 1"),
            cell.format("celltag_check", "assert a == 1"),
            cell.format("celltag_check", "assert a > 0"),
            cell.format("", "b = 2"),
        ]
    )
    out = hook.collapse_checks(html)
    assert out.count("<details") == 1 and out.count("</details>") == 1
    inside = out[out.index("<details") : out.index("</details>")]
    assert "assert a == 1" in inside and "assert a > 0" in inside
    assert "a = 1" not in inside.replace("assert a == 1", "") and "b = 2" not in inside
    assert hook.collapse_checks(cell.format("", "x")) == cell.format("", "x")


def test_lesson_setup_folds_into_its_own_details_and_checks_stay_apart():
    cell = '<div class="jp-Cell jp-CodeCell jp-Notebook-cell {}"><div><pre>{}</pre></div></div>'
    html = "\n".join(
        [
            cell.format("celltag_setup", "FAST = os.environ.get('TOYRD_FAST') == '1'"),
            cell.format("", "a = 1"),
            cell.format("celltag_check", "assert a == 1"),
        ]
    )
    out = hook.collapse_checks(hook.collapse_setup(html))
    assert out.count('<details class="toyrd-setup">') == 1
    assert out.count('<details class="toyrd-checks">') == 1
    setup = out[out.index('<details class="toyrd-setup">') : out.index("</details>")]
    assert "TOYRD_FAST" in setup and "a = 1" not in setup and hook.SETUP_SUMMARY in setup


@pytest.mark.parametrize(
    "text, table",
    [
        # a table printed as text: header and rows in aligned columns
        ("name         R       D\nident   0.5000  3.0184\ncollap  0.0000  3.0184", True),
        ("solved s     = 0.0997\nI(x; z*)     = 0.5000 nats\nH(x)         = 3.0184 nats", True),
        ("seed  0: R = 0.0009  I = 0.0\nseed  1: R = 0.0008  I = 0.0\nseed  2: R = 0.001", True),
        # not tables: too few lines, single spaces, or columns that do not line up
        ("a      b\nc      d", False),
        ("H = 4.35 bits = 3.01 nats\nL-BFGS: R = 0.70 (I_e = 0.70)\nmax |g - p*| = 4e-17", False),
        ("one  two\nthree   four\nfive      six", False),
        ("R = 0.5 and D = 2.5\nR = 0.7 and D = 2.3\nR = 0.9 and D = 2.1", False),  # words
    ],
)
def test_text_tables_finds_columns_printed_as_text(text, table):
    assert bool(check.text_tables([text])) is table


def test_setup_first_names_the_fast_mode_plumbing():
    assert check.setup_first("import os\nFAST = os.environ.get('TOYRD_FAST') == '1'") == [
        "TOYRD_FAST",
        "os.environ",
    ]
    assert check.setup_first("toy = toyrd.toy_data()") == []
    assert check.setup_first(None) == []


# ------------------------------------------------------------------ the API pages' docstrings

griffe = pytest.importorskip("griffe")
roles = load_script("docs/_hooks/griffe_toyrd.py", "toyrd_griffe_ext")


@pytest.fixture(scope="module")
def loaded():
    """toyrd as mkdocstrings sees it (static analysis by griffe, nothing imported)."""
    loader = griffe.GriffeLoader(search_paths=[str(ROOT)])
    return loader.load("toyrd"), loader.modules_collection


def _objects(obj, seen=None):
    seen = set() if seen is None else seen
    if obj.is_alias or id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    for member in list(obj.members.values()):
        yield from _objects(member, seen)


def test_doctests_become_fenced_code():
    text = "Intro:\n>>> x = 1\n>>> x\n1\n\nAfter.\n    >>> y\n    2"
    assert roles.fence_doctests(text) == (
        "Intro:\n\n```pycon\n>>> x = 1\n>>> x\n1\n```\n\nAfter.\n\n    ```pycon\n    >>> y\n    2\n"
        "    ```"
    )
    fenced = "```python\n>>> inside a fence\n```"
    assert roles.fence_doctests(fenced) == fenced
    section = "Text.\n\nExamples:\n    >>> 1 + 1\n    2\n\nMore:\n>>> x"  # griffe renders Examples
    assert roles.fence_doctests(section) == (
        "Text.\n\nExamples:\n    >>> 1 + 1\n    2\n\nMore:\n\n```pycon\n>>> x\n```"
    )
    admonition = "Example:\n    >>> 1 + 1\n    2"  # an admonition: Markdown, so fenced
    assert roles.fence_doctests(admonition) == (
        "Example:\n    ```pycon\n    >>> 1 + 1\n    2\n    ```"
    )


def test_roles_resolve_like_sphinx(loaded):
    pkg, collection = loaded
    fig2 = pkg["experiments.figure2"]
    # a re-exported name, written as in the docstring, resolves to where it is defined
    assert (
        roles.resolve("toyrd.evaluate", fig2, collection) == "toyrd.quantities._evaluate.evaluate"
    )
    here = "toyrd.experiments.figure2.optimal_model"
    assert roles.resolve("optimal_model", fig2, collection) == here
    assert roles.resolve("toyrd.no_such_name", fig2, collection) is None
    html = roles.rewrite_roles(":func:`~toyrd.evaluate` and :mod:`toyrd.nothing`", fig2, collection)
    assert html == (
        '<autoref identifier="toyrd.quantities._evaluate.evaluate" optional>'
        "<code>evaluate()</code></autoref> and `toyrd.nothing`"
    )


def test_every_role_in_the_docstrings_names_an_object(loaded):
    """A role naming a module of an old layout (toyrd.optimal, toyrd.io, ...) is a dead link."""
    pkg, collection = loaded
    dead = [
        (obj.path, m.group(0))
        for obj in _objects(pkg)
        if obj.docstring
        for m in roles._ROLE.finditer(obj.docstring.value)
        if roles.resolve(m.group(3), obj, collection) is None
    ]
    assert not dead, f"roles naming nothing: {dead}"


def test_no_docstring_cites_a_document_the_site_lacks(loaded):
    pkg, _ = loaded
    cites = [obj.path for obj in _objects(pkg) if obj.docstring and "DESIGN" in obj.docstring.value]
    assert not cites, f"docstrings citing DESIGN (not on the site; link the Concepts page): {cites}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("p*(x) = Σ_{z*} p(z*, x), float64", "p*(x) = \\(Σ_{z^*}\\) p(z*, x), float64"),
        ("h | z* ~ N(μ_{z*}, s²), > 0", "h | z* ~ \\(N(μ_{z^*}, s²)\\), > 0"),
        ("≤ IWAE_{k+1} ≤", "≤ \\(\\mathrm{IWAE}_{k+1}\\) ≤"),
        ("runs over t ∈ R^{n_s}: a grid", "runs over t ∈ \\(R^{n_s}\\): a grid"),
        ("(bounded by e^{-70}).", "(bounded by \\(e^{-70}\\))."),
        ("code `a_{b}` stays", "code `a_{b}` stays"),
        ("Text:\n\n    x_{1} = 2\n\nafter", "Text:\n\n    x_{1} = 2\n\nafter"),
        ("```\ne^{-t}\n```", "```\ne^{-t}\n```"),
    ],
)
def test_plain_text_formulas_become_inline_math(text, expected):
    assert roles.math_markup(text) == expected


def test_sphinx_math_becomes_arithmatex():
    text = (
        "Data :math:`g(x) = \\sum_z m(z)\\, d(x|z)`, `:math:`code``, IWAE_{k+1}.\n\n"
        ".. math::\n\n    e(z|x) = \\sum_{z^*} p(z^*|x)\n\n    R = I_e\n\nAfter."
    )
    out = roles.math_markup(roles.sphinx_math(text))
    assert out.startswith("Data \\(g(x) = \\sum_z m(z)\\, d(x|z)\\), `:math:`code``")
    assert "\\(\\mathrm{IWAE}_{k+1}\\)" in out  # the TeX-word rewriting still runs outside
    assert "$$\ne(z|x) = \\sum_{z^*} p(z^*|x)\n$$\n\n$$\nR = I_e\n$$\n\nAfter." in out
    # inside TeX nothing is rewritten again
    assert roles.math_markup("\\(\\sum_{z^*} u_{z^*}\\)") == "\\(\\sum_{z^*} u_{z^*}\\)"


def test_the_extension_typesets_the_sphinx_math_of_every_docstring():
    """As mkdocstrings loads toyrd (the extension wired in): no ``:math:`` role or ``.. math::``
    directive reaches the page, and a known formula arrives as arithmatex math."""
    loader = griffe.GriffeLoader(
        search_paths=[str(ROOT)], extensions=griffe.load_extensions(roles.ToyrdDocstrings())
    )
    pkg = loader.load("toyrd")
    left = [
        obj.path
        for obj in _objects(pkg)
        if obj.docstring and re.search(r"(?<!`):math:`|^\s*\.\. math::", obj.docstring.value, re.M)
    ]
    assert not left, f"Sphinx math left for the page in: {left[:5]}"
    rate = pkg["quantities._info.rate"].docstring.value
    assert rate.startswith("\\(R = \\sum_x p^*(x) \\sum_z e(z|x) \\log[e(z|x)/m(z)]\\)"), rate[:80]


def test_rest_simple_table_becomes_a_markdown_table():
    text = (
        "Intro.\n\n"
        "========== ========== ====\n"
        "kind       loss       note\n"
        "========== ========== ====\n"
        "elbo       D + R      none\n"
        "target_rate D + |σ − R| σ ≥ 0\n"
        "========== ========== ====\n\nAfter."
    )
    out = roles.rst_tables(text)
    assert "| kind | loss | note |" in out and "|---|---|---|" in out
    assert "| elbo | D + R | none |" in out
    assert "| target_rate | D + \\|σ − R\\| | σ ≥ 0 |" in out
    assert "=====" not in out and out.endswith("After.")
