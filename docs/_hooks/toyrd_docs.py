"""MkDocs hooks for the toyrd site (listed under ``hooks:`` in mkdocs.yml).

* ``TOYRD_FAST=1`` for the notebook kernels, so the rendered lessons build in seconds
  (set ``TOYRD_FAST=0`` in the environment to render the full-size runs).
* The teaching notebooks live in ``notebooks/`` at the repository root, not in ``docs/``; they are
  added to the site as ``notebooks/<name>.py`` pages, which mkdocs-jupyter executes and renders.
* The command-line page (cli.md) gets the help of every ``toyrd`` command at build time.
* The home page picture ``assets/rd_plane.png`` is computed by toyrd at build time (never a
  hand-made file): the rate–distortion plane of the toy with a few exact models on it.
* MathJax is served by the site itself (``assets/mathjax/``), copied from the
  ``django-static-mathjax`` package of the ``docs`` extra (MathJax 3.2.2, Apache-2.0, no
  Django needed): nothing is fetched when a page is viewed, so the site reads offline.
* A one-letter name followed by ``*`` (``p*(x)``, ``I(x; z*)``, ``d*``) is a star, never the
  start of emphasis, on every Markdown page and in every docstring (``StarExtension``).
* The static explorer (``toyrd explore --static``, issue 26) is written at build time by that
  same command into ``static-explorer/`` of the site, which the Explore page embeds: its models
  come from the committed grid (``toyrd/explore/grid``), so the build trains nothing.
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


@event_priority(100)  # before mkdocstrings copies the Markdown extensions for the docstrings
def on_config(config):
    os.environ.setdefault("TOYRD_FAST", "1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
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
    files.append(File.generated(config, "assets/rd_plane.png", content=rd_plane_png()))
    for name, path in static_explorer_files():
        files.append(File.generated(config, f"{STATIC_EXPLORER}/{name}", abs_src_path=str(path)))
    for rel, src in mathjax_files():
        files.append(File.generated(config, f"{MATHJAX_DEST}/{rel}", abs_src_path=str(src)))
    return files


#: Where the site serves the static explorer (docs/explore.md embeds its index.html).
STATIC_EXPLORER = "static-explorer"
#: Folders the build wrote the static explorer into (removed once the site is written).
_TEMP_DIRS: list = []


def on_post_build(config):
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


def on_page_markdown(markdown, page, config, files):
    """Fill docs/cli.md with the help of every ``toyrd`` command (never stale)."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


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
    html_text = _NB_MATHJAX.sub("", html_text)
    return (
        lesson_box(page, config, files, top=True)
        + html_text
        + lesson_box(page, config, files, top=False)
    )


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


def cli_reference() -> str:
    """Markdown: one section per subcommand with its argparse help, in help order."""
    import argparse

    from toyrd.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width: fix it for the page
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["## toyrd", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, p in sub.choices.items():
            parts += [f"## toyrd {name}", "", "```text", p.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def rd_plane_png() -> bytes:
    """The RD plane of the toy: the line R + D = H and four exact models (PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
        "collapsed: $e(z|x) = m(z)$": np.full((n, n), 1.0 / n),
        "class posterior $e = p(z^*|x)$": np.pad((toy.pzx / px).T, ((0, 0), (0, n - 2))),
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

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    ax.fill_between([0, H], [H, 0], 0, color="0.88", label="impossible: $R + D < H$")
    ax.plot([0, H], [H, 0], "k-", lw=1.2, label="$R + D = H$ (optimal $m$, $d$)")
    ax.plot(*cloud.T, ".", color="tab:red", alpha=0.35, label="random models")
    for (name, e), mk in zip(models.items(), "os^D"):
        out = toyrd.evaluate(px, e, *toyrd.optimize_generative(px, e))
        ax.plot(out["R"], out["D"], mk, ms=8, label=name)
    ax.axvline(
        toy.info, color="tab:green", ls="--", lw=1, label=f"$I(x;z^*) = {toy.info:.2f}$ nats"
    )
    ax.set(
        xlabel="rate $R$ (nats)",
        ylabel="distortion $D$ (nats)",
        xlim=(0, 4.6),
        ylim=(0, 4.6),
        title=f"The toy's rate–distortion plane (H = {H:.4f} nats)",
    )
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
