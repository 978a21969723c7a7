"""MkDocs hooks for the toyrd site (listed under ``hooks:`` in mkdocs.yml).

* ``TOYRD_FAST=1`` for the notebook kernels, so the rendered lessons build in seconds
  (set ``TOYRD_FAST=0`` in the environment to render the full-size runs).
* The notebook kernels draw with IPython's inline backend, whatever ``MPLBACKEND`` says (CI sets
  ``Agg``, under which ``plt.show()`` shows nothing and ``display(fig)`` prints the figure's
  repr): a kernel profile of the build's own (``IPYTHONDIR``) turns the inline backend on at
  start-up and makes it emit SVG with text kept as text (``svg.fonttype: none``), so the figures
  are sharp at any zoom and the site check can read their font sizes.
* The teaching notebooks live in ``notebooks/`` at the repository root, not in ``docs/``; they are
  added to the site as ``notebooks/<name>.py`` pages, which mkdocs-jupyter executes and renders.
* The command-line page (cli.md) gets the help of every ``toyrd`` command at build time.
* The home page picture ``assets/rd_plane.svg`` is computed by toyrd at build time (never a
  hand-made file): the rate–distortion plane of the toy with a few exact models on it.
* MathJax is served by the site itself (``assets/mathjax/``), copied from the
  ``django-static-mathjax`` package of the ``docs`` extra (MathJax 3.2.2, Apache-2.0, no
  Django needed): nothing is fetched when a page is viewed, so the site reads offline.
* A one-letter name followed by ``*`` (``p*(x)``, ``I(x; z*)``, ``d*``) is a star, never the
  start of emphasis, on every Markdown page and in every docstring (``StarExtension``).
* The static explorer (``toyrd explore --static``, issue 26) is written at build time by that
  same command into ``static-explorer/`` of the site, which the Explore page embeds: its models
  come from the committed grid (``toyrd/explore/grid``), so the build trains nothing.
* A lesson's ``setup``-tagged cell (imports, fast mode, tolerances) and its ``check``-tagged
  cells (asserts) are folded into closed ``<details>`` blocks, out of the reading flow.
* Each lesson page gets a box with its downloads (``.ipynb`` made here by jupytext, and the
  ``py:percent`` source) and links to the previous and next lesson.
"""

from __future__ import annotations

import html
import importlib.util
import io
import json
import os
import pathlib
import posixpath
import re
import tempfile
import time

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: Where the site serves MathJax from (mkdocs.yml loads ``assets/mathjax/tex-chtml.js``).
MATHJAX_DEST = "assets/mathjax"
#: What of MathJax's es5 build the site needs: the TeX-to-HTML component, the TeX extensions it
#: loads on demand (e.g. ``\boldsymbol``), its fonts, and the menu with its accessibility parts.
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "sre")


#: The IPython kernel configuration of the lesson kernels (see :func:`kernel_profile`).
KERNEL_CONFIG = """\
# written by docs/_hooks/toyrd_docs.py for the lesson kernels of the docs build
c.IPKernelApp.matplotlib = "inline"  # overrides MPLBACKEND, e.g. CI's Agg
c.InlineBackend.figure_formats = {"svg"}
# 11 pt: a sub- or superscript of the labels (70 %) is still 10 px on the page
c.InlineBackend.rc = {"svg.fonttype": "none", "svg.hashsalt": "toyrd", "font.size": 11}
"""


def kernel_profile() -> str:
    """A fresh IPYTHONDIR whose default profile is :data:`KERNEL_CONFIG` (the build's only)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="toyrd-docs-ipython-"))
    (root / "profile_default").mkdir()
    (root / "profile_default" / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    return str(root)


@event_priority(100)  # before mkdocstrings copies the Markdown extensions for the docstrings
def on_config(config):
    os.environ.setdefault("TOYRD_FAST", "1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ["IPYTHONDIR"] = kernel_profile()  # the kernels mkdocs-jupyter starts read it
    config.markdown_extensions.append(StarExtension())
    return config


@event_priority(100)  # before mkdocs-jupyter wraps the notebook files
def on_files(files, config):
    for path in lessons():
        # a plain File rooted at the repository (mkdocs-jupyter's wrapper needs a real src_dir)
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
        # the lesson as a notebook, next to the page and its .py (mkdocs-jupyter's include_source)
        files.append(
            File.generated(
                config, lesson_dir(path, config) + f"/{path.stem}.ipynb", content=lesson_ipynb(path)
            )
        )
    files.append(File.generated(config, "assets/rd_plane.svg", content=rd_plane_svg()))
    for name, path in static_explorer_files():
        files.append(File.generated(config, f"{STATIC_EXPLORER}/{name}", abs_src_path=str(path)))
    for rel, src in mathjax_files():
        files.append(File.generated(config, f"{MATHJAX_DEST}/{rel}", abs_src_path=str(src)))
    return files


#: Where the site serves the static explorer (docs/explore.md embeds its index.html).
STATIC_EXPLORER = "static-explorer"
#: Folders the build wrote the static explorer into (removed once the site is written).
_TEMP_DIRS: list = []


def _remove_temp_dirs() -> None:
    import shutil

    while _TEMP_DIRS:
        shutil.rmtree(_TEMP_DIRS.pop(), ignore_errors=True)


def static_explorer_files() -> list[tuple[str, pathlib.Path]]:
    """(name, file) of the page ``toyrd explore --static`` writes into a temporary folder."""
    import tempfile

    from toyrd.cli import main

    out = pathlib.Path(tempfile.mkdtemp(prefix="toyrd-static-explorer-"))
    _TEMP_DIRS.append(out)
    rc = main(["explore", "--static", str(out)])
    if rc != 0:
        raise PluginError(f"toyrd explore --static {out} failed (exit status {rc})")
    return [(p.name, p) for p in sorted(out.iterdir()) if p.is_file()]


def lessons() -> list[pathlib.Path]:
    """The lesson files, in course order (their names start with the lesson number)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def lesson_dir(path: pathlib.Path, config) -> str:
    """The folder of a lesson's page in the site (where mkdocs-jupyter copies its .py too)."""
    return f"notebooks/{path.stem}" if config.use_directory_urls else "notebooks"


def lesson_ipynb(path: pathlib.Path) -> bytes:
    """The lesson as an .ipynb (no outputs: Jupyter runs it), converted by jupytext.

    The source's jupytext metadata (``formats: py:percent``) is dropped: the download is a
    notebook of its own, paired with no .py file.
    """
    import jupytext

    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    return jupytext.writes(nb, fmt="ipynb").encode()


def lesson_title(path: pathlib.Path) -> str:
    """The lesson's title: the text of its first Markdown heading (``# # 3. ELBO ...``)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s+#\s+(.+)", line)
        if m:
            return m.group(1).strip()
    raise PluginError(f"lesson {path.name} has no '# # title' line")


def mathjax_files() -> list[tuple[str, pathlib.Path]]:
    """(path under assets/mathjax, source file) for the parts of MathJax the site serves."""
    spec = importlib.util.find_spec("mathjax")
    root = pathlib.Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if root is None or not (root / "es5" / "tex-chtml.js").is_file():
        raise PluginError(
            "MathJax not found: the docs build serves it from the "
            "django-static-mathjax package; install it with pip install -e '.[docs]'"
        )
    version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    if not version.startswith("3."):
        raise PluginError(f"MathJax {version} found; docs/js/mathjax-config.js is for MathJax 3")
    es5 = root / "es5"
    out = [("LICENSE", root / "LICENSE")]
    for part in MATHJAX_PARTS:
        src = es5 / part
        paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        out += [(p.relative_to(es5).as_posix(), p) for p in paths]
    return out


class _StarProcessor(InlineProcessor):
    """``p*``: a one-letter name and its star, kept as text so the star opens no emphasis.

    The letter must start a word, and must not itself follow a lone ``*`` (``*x*`` stays x in
    italics); ``**p*(x)**`` is bold p*(x). Code spans and arithmatex math are matched first.
    """

    def handleMatch(self, m, data):
        return m.group(1) + "*", m.start(0), m.end(0)


class StarExtension(Extension):
    """Markdown extension: ``p*``, ``z*``, ``m*`` ... are names with a star, not emphasis."""

    PATTERN = r"(?<![\w\\])(?<!(?<!\*)\*)([A-Za-z])\*(?!\*)"

    def extendMarkdown(self, md):
        # after code (190), escapes (180), arithmatex (189.9), links and raw HTML (90);
        # before emphasis (60)
        md.inlinePatterns.register(_StarProcessor(self.PATTERN, md), "toyrd-star", 65)


CLI_MARKER = "<!-- toyrd-cli-help -->"


#: Seconds each lesson took to execute and render in this build (lesson stem -> s).
LESSON_SECONDS: dict = {}
_LESSON_START: dict = {}


def _lesson_stem(page) -> str | None:
    src = page.file.src_uri
    if src.startswith("notebooks/") and src.endswith(".py"):
        return posixpath.basename(src)[:-3]
    return None


def on_page_markdown(markdown, page, config, files):
    """Fill docs/cli.md with the help of every ``toyrd`` command (never stale); start a lesson's
    clock (mkdocs-jupyter executes it between this event and ``on_page_content``)."""
    stem = _lesson_stem(page)
    if stem is not None:
        _LESSON_START[stem] = time.perf_counter()
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if CLI_TABLE_MARKER in markdown:
        markdown = markdown.replace(CLI_TABLE_MARKER, cli_commands())
    return markdown


_TIME_SPAN = re.compile(r'(<span class="toyrd-lesson-time" data-lesson="([\w-]+)">)[^<]*(</span>)')


def on_post_build(config):
    """Remove the static explorer's temporary folder; write each lesson's measured build time
    into the pages that show it (start.md)."""
    _remove_temp_dirs()
    if not LESSON_SECONDS:
        return
    for path in pathlib.Path(config.site_dir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if "toyrd-lesson-time" not in text:
            continue

        def fill(m: re.Match) -> str:
            sec = LESSON_SECONDS.get(m.group(2))
            shown = "—" if sec is None else f"{sec:.0f} s"
            return f"{m.group(1)}{shown}{m.group(3)}"

        path.write_text(_TIME_SPAN.sub(fill, text), encoding="utf-8")


#: nbconvert's template loads MathJax 2 from an empty URL (``<script src="">``) and configures it;
#: the site loads MathJax 3 once for every page instead.
_NB_MATHJAX = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL
)


def on_page_content(html_text, page, config, files):
    """Lesson pages: drop nbconvert's MathJax 2 block; add downloads and previous/next links."""
    src = page.file.src_uri
    if not (src.startswith("notebooks/") and src.endswith(".py")):
        return html_text
    stem = _lesson_stem(page)
    if stem in _LESSON_START:
        LESSON_SECONDS[stem] = time.perf_counter() - _LESSON_START.pop(stem)
    html_text = _NB_MATHJAX.sub("", html_text)
    html_text = collapse_checks(collapse_setup(html_text))
    # code as wide as the prose: the lesson pages give the right-hand table of contents' room to
    # the cells (the left navigation and the lesson box link the sections' neighbours)
    page.meta.setdefault("hide", []).append("toc")
    return (
        lesson_box(page, config, files, top=True)
        + html_text
        + lesson_box(page, config, files, top=False)
    )


def _tagged_cell(tag: str) -> re.Pattern:
    """The opening ``<div>`` of a code cell that carries the Jupyter cell tag ``tag``."""
    return re.compile(rf'<div[^>]*class="jp-Cell jp-CodeCell[^"]*\bcelltag_{tag}\b[^"]*"[^>]*>')


_CHECK_CELL = _tagged_cell("check")
_SETUP_CELL = _tagged_cell("setup")
#: The summary line of a lesson's collapsed checks.
CHECK_SUMMARY = "Checks: the asserts that make this lesson fail if a claim above is false"
#: The summary line of a lesson's folded setup cell (the sentence above it says what it sets).
SETUP_SUMMARY = "Setup code: imports, settings (fast mode) and the tolerances of the checks"


def _div_end(text: str, start: int) -> int:
    """The index just after the ``</div>`` that closes the ``<div`` opening at ``start``."""
    depth = 0
    for m in re.finditer(r"<div\b|</div>", text[start:]):
        depth += 1 if m.group(0) == "<div" else -1
        if depth == 0:
            return start + m.end()
    raise PluginError("a lesson cell's <div> is never closed")


def fold_cells(html_text: str, cell: re.Pattern, css_class: str, summary: str) -> str:
    """Fold each run of consecutive code cells matched by ``cell`` into a closed ``<details>``
    block of class ``css_class`` (the cells still run when the lesson runs)."""
    out, pos = [], 0
    while True:
        m = cell.search(html_text, pos)
        if m is None:
            break
        end = _div_end(html_text, m.start())
        while True:  # the next cell, if it is tagged too, joins the block
            nxt = cell.match(html_text, end + len(html_text[end:]) - len(html_text[end:].lstrip()))
            if nxt is None:
                break
            end = _div_end(html_text, nxt.start())
        out.append(html_text[pos : m.start()])
        out.append(
            f'<details class="{css_class}"><summary>{summary}</summary>'
            f"{html_text[m.start() : end]}</details>"
        )
        pos = end
    out.append(html_text[pos:])
    return "".join(out)


def collapse_checks(html_text: str) -> str:
    """Fold each run of ``check``-tagged code cells (the lesson's asserts, which still run when
    the lesson runs) into a closed ``<details>`` block, out of the reading flow."""
    return fold_cells(html_text, _CHECK_CELL, "toyrd-checks", CHECK_SUMMARY)


def collapse_setup(html_text: str) -> str:
    """Fold a lesson's ``setup``-tagged code cell (imports, fast mode, tolerances) into a closed
    ``<details>`` block: the sentence before it says what it sets; the code is one click away."""
    return fold_cells(html_text, _SETUP_CELL, "toyrd-setup", SETUP_SUMMARY)


def lesson_box(page, config, files, top: bool) -> str:
    """HTML: the lesson's number, its downloads (top) and links to its neighbours."""
    paths = lessons()
    names = [p.name for p in paths]
    i = names.index(posixpath.basename(page.file.src_uri))
    stem = paths[i].stem

    def link(j: int) -> str:
        target = files.get_file_from_path(f"notebooks/{names[j]}")
        url = get_relative_url(target.url, page.url)
        return f'<a href="{html.escape(url)}">{html.escape(lesson_title(paths[j]))}</a>'

    prev = f"← previous: {link(i - 1)}" if i > 0 else ""
    nxt = f"next: {link(i + 1)} →" if i + 1 < len(paths) else ""
    neighbours = " &nbsp;·&nbsp; ".join(x for x in (prev, nxt) if x)
    if not top:
        return f'<nav class="toyrd-lesson-nav" aria-label="lessons"><hr><p>{neighbours}</p></nav>'
    howto = files.get_file_from_path("lessons.md")
    howto_url = get_relative_url(howto.url, page.url) + "#open-a-lesson-in-jupyter"
    return (
        '<div class="admonition abstract toyrd-lesson-nav">'
        f'<p class="admonition-title">Lesson {i + 1} of {len(paths)}</p>'
        f'<p>Download: <a href="{stem}.ipynb" download>{stem}.ipynb</a> (notebook, no outputs) '
        f'&nbsp;·&nbsp; <a href="{stem}.py" download>{stem}.py</a> (jupytext '
        f'<code>py:percent</code> source; <a href="{howto_url}">open it in JupyterLab</a>)</p>'
        f"<p>{neighbours}</p></div>"
    )


CLI_TABLE_MARKER = "<!-- toyrd-cli-commands -->"
#: The formulas of the commands' one-line help (terminal text) as the page typesets them, so the
#: table of commands keeps the site's one math style (check_site's ``formula text`` check fails
#: on a formula a new help line brings in until it is listed here).
CLI_HELP_MATH = {"I(x;z*)": "$I(x; z^*)$", "I(z;z*)": "$I(z; z^*)$"}


def cli_commands() -> str:
    """Markdown: a table of the ``toyrd`` commands, each linked to its help section."""
    import argparse

    from toyrd.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    rows = ["| command | what it does |", "|---|---|"]
    for name in sub.choices:
        text = " ".join((helps.get(name) or "").split()).replace("|", "\\|")
        for plain, tex in CLI_HELP_MATH.items():
            text = text.replace(plain, tex)
        rows.append(f"| [`toyrd {name}`](#toyrd-{name}) | {text} |")
    return "\n".join(rows)


#: Width (characters) the command-line help is wrapped to: a code block of the content column
#: holds ~85 characters of the theme's monospace font at 1280 px.
CLI_COLUMNS = 78


def _fit(text: str, width: int = CLI_COLUMNS) -> str:
    """Help text with every line at most ``width`` characters: a longer line (argparse does not
    break a ``{a,b,c}`` token) is broken after a comma or space, its rest indented under it."""
    out = []
    for line in text.rstrip().split("\n"):
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        while len(line) > width:
            cut = max(line.rfind(",", 0, width), line.rfind(" ", 0, width))
            if cut <= len(indent):
                break
            out.append(line[: cut + 1].rstrip())
            line = indent + line[cut + 1 :].lstrip()
        out.append(line)
    return "\n".join(out)


def cli_reference() -> str:
    """Markdown: one section per command with its argparse help, wrapped to fit the column."""
    import argparse

    from toyrd.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(CLI_COLUMNS)  # argparse wraps to the terminal width: fix it
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["## toyrd", "", "```text", _fit(parser.format_help()), "```", ""]
        for name, p in sub.choices.items():
            parts += [f"## toyrd {name}", "", "```text", _fit(p.format_help()), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def rd_plane_svg() -> bytes:
    """The RD plane of the toy: the line R + D = H and four exact models (SVG bytes, drawn for
    the content column: 7 inches wide, the legend beside the plane, not on it)."""
    import numpy as np

    import toyrd

    toy = toyrd.toy_data()
    px, n, H = toy.px, toy.n_bins, toy.entropy
    idx = np.arange(n)

    def smooth(width):
        logits = -((idx[None, :] - idx[:, None]) ** 2) / (2.0 * width**2)
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    models = {
        "collapsed: e(z|x) = m(z)": np.full((n, n), 1.0 / n),
        "class posterior e = p(z*|x)": np.pad((toy.pzx / px).T, ((0, 0), (0, n - 2))),
        "smoothed identity": smooth(2.0),
        "identity": np.eye(n),
    }
    rng = np.random.default_rng(0)
    cloud = []
    for _ in range(200):  # random encoders; m, d part-way between their optima and random tables
        e = rng.dirichlet(np.full(n, 10.0 ** rng.uniform(-2, 1)), size=n)
        d_opt, m_opt = toyrd.optimize_generative(px, e)
        a, b = rng.uniform(0, 1, 2) ** 2
        d = (1 - a) * d_opt + a * rng.dirichlet(np.ones(n), size=n)
        m = (1 - b) * m_opt + b * rng.dirichlet(np.ones(n))
        out = toyrd.evaluate(px, e, d, m)
        cloud.append((out["R"], out["D"]))
    cloud = np.array(cloud)

    from toyrd.plot import new_figure, save_figure

    fig = new_figure(figsize=(7.0, 3.9), layout="constrained")
    ax = fig.subplots()
    ax.fill_between([0, H], [H, 0], 0, color="0.88", label="impossible: R + D < H")
    ax.plot([0, H], [H, 0], "k-", lw=1.2, label="R + D = H (optimal m, d)")
    ax.plot(*cloud.T, ".", color="tab:red", alpha=0.35, label="random models")
    for (name, e), mk in zip(models.items(), "os^D"):
        out = toyrd.evaluate(px, e, *toyrd.optimize_generative(px, e))
        ax.plot(out["R"], out["D"], mk, ms=8, label=name)
    ax.axvline(toy.info, color="tab:green", ls="--", lw=1, label=f"I(x; z*) = {toy.info:.2f} nats")
    ax.set(
        xlabel="rate R (nats)",
        ylabel="distortion D (nats)",
        xlim=(0, 4.6),
        ylim=(0, 4.6),
        title=f"The toy's rate–distortion plane (H = {H:.4f} nats)",
    )
    ax.set_aspect("equal")
    fig.legend(loc="outside right upper", fontsize=10, frameon=False)
    buf = io.BytesIO()
    save_figure(fig, buf, "svg")
    return buf.getvalue()
