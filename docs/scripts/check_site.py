"""Open every page of the built docs site in headless Chromium, offline, and check what it shows.

    python docs/scripts/check_site.py SITE_DIR [--file] [--shots DIR PAGE ...] [--timeout 300]

Each HTML page of SITE_DIR (the output of ``mkdocs build``) is loaded from a local http.server on
127.0.0.1 (or, with ``--file``, from ``file://``). Chromium resolves no host but 127.0.0.1, so a
page that still needs a CDN fails here as it would on a laptop without network. Per page:

* ``formulas``: the number of ``mjx-container`` elements (formulas MathJax typeset) is at least
  the page's floor in ``FLOORS``;
* ``raw TeX``: no TeX delimiter (``$``, ``\\(``, ``\\)``, ``\\[``, ``\\]``) and no TeX command
  (``\\sum``, ``\\mathrm``, ...) is left in the text a reader sees (code, pre and scripts excepted;
  the navigation and table of contents included);
* ``images``: every ``<img>`` has loaded, with ``naturalWidth > 0``;
* ``console``: the browser logged no error (level SEVERE: failed scripts, fonts, exceptions);
* ``tables``: no Markdown table is left as raw text (a ``|---|---|`` line outside a table);
* ``stars``: no emphasis opens right after a one-letter word, the sign of ``p*(x) ... z*`` whose
  asterisks Markdown took for italics;
* ``downloads``: every ``<a download>`` link points to a file that exists in the site;
* ``figures``: the page shows at least its floor of figures (``FIGURE_FLOORS``: ``<img>`` in the
  content, and the inline ``<svg>`` figures of the lessons);
* ``repr``: no matplotlib repr (``<Figure size 640x480 with 1 Axes>``) where a figure should be;
* ``figure scale`` / ``figure text``: every figure is shown at ``MIN_SCALE`` of its own size or
  more, and its smallest text is at least ``MIN_TEXT_PX`` CSS pixels high as displayed. The text
  size comes from the figure itself: the font sizes of an SVG's ``<text>`` elements times the
  scale it is drawn at, or a PNG's ``toyrd:text_px`` tEXt chunk (its smallest font in image
  pixels, from the font size in points and the dpi; written by :func:`toyrd.plot.save_figure`)
  times its displayed scale. A figure whose text size cannot be known fails;
* ``zoom``: every figure can be opened at full size: it sits in a link, or the site's lightbox
  (``docs/js/zoom.js``) marked it ``data-toyrd-zoom``;
* ``math width``: no typeset formula is wider than the content column (a clipped equation);
* ``table width``: no table is wider than the column unless it scrolls inside its own box with
  its first column kept in view (``position: sticky``);
* ``tex markup``: no TeX-like markup (``_{``, ``^{``, ``\\mathrm``) left in the text a reader
  sees (code excepted: ``Σ_{z*}`` in a docstring is math a reader cannot read);
* ``code cut``: no code block hides part of its lines behind a scroll bar;
* ``text table``: no cell output of a lesson is a table printed as text (a ``<pre>`` output of
  three or more lines whose columns line up: :func:`text_tables`); a lesson shows its tables
  as HTML tables (:class:`toyrd.plot.Table`);
* ``setup first``: the first code cell a reader sees on a lesson page (outside a folded
  ``<details>``) is part of the story, not the fast-mode plumbing (``TOYRD_FAST``,
  ``os.environ``): the lesson's setup cell is folded away (``tags=["setup"]``).
* ``formula text``: no formula written as plain Unicode text (one math style on every page): no
  text a reader sees outside MathJax, code, pre, kbd and samp holds a marker of
  ``FORMULA_MARKERS`` — a sum sign, ``KL(`` or a norm bar ``‖``, a one-letter subscript
  (``I_e``, ``X_c``; snake_case keys such as ``I_zstar`` are no match), a conditional of a
  one-letter function (``e(z|x)``), a mutual information ``I(x; z*)``, an inequality sign or a
  Unicode sub/superscript. On the API pages, the docstrings of modules under the mutation gate
  (``tools/mutate.py`` TARGETS: a changed docstring means a new mutation run) are counted apart
  (``formula text, gated``) and do not fail the page (:func:`formula_text_problems`); nor do
  the pages of ``FORMULA_UNCHECKED`` (``formula text, unchecked``: a debt listed on every run).

Then the static explorer (``static-explorer/index.html``, written by ``toyrd explore --static``)
is driven as a student would (:func:`check_static_explorer`): each control moved through several
positions by real key and mouse events; after each change the R, D and I(z;z*) it shows (table
text and ``data-value``, and the current point of the RD plane) must equal the grid's float64
values read from the site's own ``toyrd-grid.js``; no console error; no request leaves the site.

Prints one line per page and ``N passed, N failed`` (pages); exits 1 if any page fails or the
whole run takes longer than ``--timeout`` seconds. Needs selenium and Debian's ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import gzip
import http.server
import json
import pathlib
import posixpath
import re
import shutil
import sys
import threading
import time
import urllib.parse

#: Least number of typeset formulas per page (path of the page in the site; the table of contents
#: counts too): 80 % of the count measured in the fast-mode build of issue 12, so an edit may
#: drop a formula or two but not a page's math. An unlisted page has floor 0; the raw-TeX check
#: still makes it typeset whatever math it has.
FLOORS = {
    "index.html": 14,  # 18 measured
    "concepts/index.html": 118,  # 148 measured
    "lessons/index.html": 10,  # 13 measured
    "notebooks/01_exact_quantities/index.html": 66,  # 83 measured
    "notebooks/02_optimal_marginal_decoder/index.html": 63,  # 79 measured
    "notebooks/03_elbo_vs_target_rate/index.html": 52,  # 65 measured
    "notebooks/04_beta_vae_frontier/index.html": 50,  # 63 measured
    "notebooks/05_perspectives/index.html": 48,  # 61 measured
    "notebooks/06_encoder_autonomy/index.html": 37,  # 47 measured
    "notebooks/07_monte_carlo_vs_truth/index.html": 37,  # 47 measured
}

#: Least number of figures per page: the figures each page is about (lessons: measured 2-4 when
#: the notebooks embed their plots; a lesson whose plots print as text has 0).
FIGURE_FLOORS = {
    "index.html": 1,
    "benchmarks/index.html": 1,
    "explore/index.html": 1,
    "figure2/index.html": 4,
    "remedies/index.html": 1,
    "robustness/index.html": 1,
    "notebooks/01_exact_quantities/index.html": 2,
    "notebooks/02_optimal_marginal_decoder/index.html": 2,
    "notebooks/03_elbo_vs_target_rate/index.html": 3,
    "notebooks/04_beta_vae_frontier/index.html": 2,
    "notebooks/05_perspectives/index.html": 2,
    "notebooks/06_encoder_autonomy/index.html": 2,
    "notebooks/07_monte_carlo_vs_truth/index.html": 2,
    "notebooks/08_remedies/index.html": 2,
}
#: A figure shown at less than this fraction of its own width was drawn for another width.
MIN_SCALE = 0.75
#: Smallest text of a figure, in CSS pixels as displayed (the issue's "at least ~10 px": body
#: text of the theme is 13.6 px, its smallest captions ~10 px).
MIN_TEXT_PX = 10.0
#: Screenshots of a whole application page (path in the site): a picture of a layout, not a
#: figure drawn for the column, so they are exempt from the scale and text floors; they must
#: still open at full size (``zoom``).
SCREENSHOTS = {
    "img/explore.png",
    "img/explore_1024.png",
    "img/explore_presentation.png",
    "img/explore_presentation_1024.png",
}
#: Markup of TeX written as text: a subscript or superscript group, or \mathrm.
TEX_LIKE = r"_\{|\^\{|\\mathrm"

#: Seconds to wait for one page (load, MathJax's first typeset, images).
PAGE_TIMEOUT_S = 30
#: Seconds to wait for MathJax to appear on a page before calling it missing.
MATHJAX_APPEAR_S = 5

# Runs in the page after load: waits for MathJax's start-up typeset (when MathJax is there) and
# for every image, then reports what a reader sees. Returns a dict (see `_check_page`).
_INSPECT_JS = r"""
const done = arguments[arguments.length - 1];
const appearMs = arguments[0];
const t0 = Date.now();
document.querySelectorAll("img").forEach(img => { img.loading = "eager"; });
function imagesDone() { return [...document.images].every(img => img.complete); }
function inspect(mathjax) {
  const SKIP = new Set(["SCRIPT", "STYLE", "PRE", "CODE", "TEXTAREA", "NOSCRIPT", "MJX-CONTAINER",
                        "KBD", "SAMP"]);
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el; el = el.parentElement) {
        if (SKIP.has(el.tagName)) return NodeFilter.FILTER_REJECT;
        // mkdocs-jupyter's hidden copy of each code cell, for its copy button
        if (el.classList.contains("clipboard-copy-txt")) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }
  });
  while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
  // emphasis that opens right after a one-letter word: "p<em>(x) ... p</em>(x)" is an eaten p*
  const stars = [];
  document.querySelectorAll("em, strong").forEach(el => {
    if (el.closest("pre, code, mjx-container")) return;
    const prev = el.previousSibling;
    if (prev && prev.nodeType === Node.TEXT_NODE && /(^|[\s(\[{;,=])[A-Za-z]$/.test(prev.nodeValue)
        && !/^\s/.test(el.textContent)) {
      stars.push(prev.nodeValue.slice(-12) + "<" + el.tagName.toLowerCase() + ">"
                 + el.textContent.slice(0, 40));
    }
  });
  const downloads = [...document.querySelectorAll("a[download]")].map(a => a.getAttribute("href"));
  // the content column: the article's content box
  const art = document.querySelector("article.md-content__inner") || document.body;
  const cs = getComputedStyle(art);
  const colW = art.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const figures = [];
  document.querySelectorAll(".md-content img, .md-content .jp-RenderedSVG svg, "
                            + ".md-content svg.toyrd-figure").forEach(el => {
    const r = el.getBoundingClientRect();
    if (el.closest(".toyrd-zoom-overlay") || r.width === 0) return;
    let natural, textPx = null;
    if (el.tagName === "IMG") {
      natural = el.naturalWidth;
    } else {
      natural = el.width.baseVal.value;
      let least = Infinity;
      el.querySelectorAll("text").forEach(t => {
        const ctm = t.getScreenCTM();
        const fs = parseFloat(getComputedStyle(t).fontSize);
        if (ctm && fs > 0 && (t.textContent || "").trim()) {
          least = Math.min(least, fs * Math.hypot(ctm.a, ctm.b));
        }
      });
      textPx = isFinite(least) ? least : null;
    }
    const src = el.tagName === "IMG" ? (el.getAttribute("src") || "") : "inline svg";
    figures.push({src: src, shown: r.width, natural: natural, text_px: textPx,
                  zoom: !!(el.closest("a[href]") || el.closest("[data-toyrd-zoom]"))});
  });
  const wideMath = [];
  document.querySelectorAll("mjx-container").forEach(c => {
    const m = c.firstElementChild;
    if (!m) return;
    const w = m.getBoundingClientRect().width;
    if (w > colW + 1) wideMath.push([(c.textContent || "").slice(0, 40), Math.round(w)]);
  });
  const wideTables = [];
  document.querySelectorAll(".md-content table").forEach(t => {
    if (t.closest(".highlighttable, .highlight, mjx-container")) return;
    const w = Math.max(t.scrollWidth, t.getBoundingClientRect().width);
    if (w <= colW + 1) return;
    let box = null;
    for (let el = t; el && el !== art; el = el.parentElement) {
      const ox = getComputedStyle(el).overflowX;
      // a box that scrolls: narrower than the table (the theme's own wrapper sits 0.8rem
      // outside the column on each side)
      if ((ox === "auto" || ox === "scroll") && el.clientWidth < w - 1) { box = el; break; }
    }
    const first = t.querySelector("tr > :first-child");
    const sticky = !!first && getComputedStyle(first).position === "sticky";
    if (!box || !sticky) {
      wideTables.push([(t.textContent || "").trim().slice(0, 30), Math.round(w),
                       box ? "no sticky first column" : "no scroll box"]);
    }
  });
  // the theme scrolls the <code> inside a <pre>; nbconvert scrolls the <pre> itself
  const cutCode = [...document.querySelectorAll(".md-content pre")]
    .filter(p => [p, ...p.querySelectorAll(":scope > code")]
      .some(el => el.scrollWidth > el.clientWidth + 1))
    .map(p => (p.textContent || "").trim().slice(0, 40));
  // lessons: the text outputs of the cells, and the first code cell a reader sees (not folded)
  const textOutputs = [...document.querySelectorAll(".md-content .jp-OutputArea-output pre")]
    .map(p => p.textContent || "");
  const shownCode = [...document.querySelectorAll(".md-content .jp-CodeCell .jp-InputArea pre")]
    .filter(p => !p.closest("details:not([open])"));
  const firstCode = shownCode.length ? (shownCode[0].textContent || "") : null;
  const bodyText = document.body.innerText;
  const reprs = (bodyText.match(/<Figure size [^>]*>|<matplotlib\.[\w.]+ object at 0x/g) || []);
  return {
    column: colW,
    figures: figures,
    wide_math: wideMath,
    wide_tables: wideTables,
    cut_code: cutCode,
    text_outputs: textOutputs,
    first_code: firstCode,
    reprs: reprs,
    mathjax: mathjax,
    formulas: document.querySelectorAll("mjx-container").length,
    mathjax_errors: document.querySelectorAll("mjx-merror").length,
    texts: texts,
    images: [...document.images].map(img => [(img.getAttribute("src") || "").slice(0, 80),
                                             img.complete, img.naturalWidth]),
    stars: stars,
    downloads: downloads,
    tables: document.querySelectorAll("article table, .md-content table").length,
  };
}
function finish(mathjax) {
  (function waitImages() {
    if (imagesDone() || Date.now() - t0 > 20000) done(inspect(mathjax));
    else setTimeout(waitImages, 50);
  })();
}
(function poll() {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    mj.startup.promise.then(() => finish("typeset"), err => finish("error: " + err));
  } else if (Date.now() - t0 > appearMs) {
    finish("missing");
  } else {
    setTimeout(poll, 50);
  }
})();
"""


def raw_tex(texts: list[str]) -> list[str]:
    """Snippets of TeX left as text: delimiters $ \\( \\) \\[ \\] or a command such as \\sum."""
    import re

    pat = re.compile(r"\$|\\[()\[\]]|\\[A-Za-z]+")
    hits = []
    for t in texts:
        for m in pat.finditer(t):
            hits.append(t[max(0, m.start() - 25) : m.end() + 25].replace("\n", " ").strip())
    return hits


def raw_tables(texts: list[str]) -> list[str]:
    """Snippets of Markdown pipe tables left as text: a line that is a |---|:--:| separator row."""
    import re

    pat = re.compile(r"^[ \t]*\|?([ \t]*:?-+:?[ \t]*\|)+([ \t]*:?-+:?)?[ \t]*$", re.MULTILINE)
    return [t[:60].replace("\n", " ").strip() for t in texts if pat.search(t)]


def tex_like(texts: list[str]) -> list[str]:
    """Snippets with TeX-like markup written as text: ``_{``, ``^{`` or ``\\mathrm``."""
    import re

    pat = re.compile(TEX_LIKE)
    hits = []
    for t in texts:
        for m in pat.finditer(t):
            hits.append(t[max(0, m.start() - 20) : m.end() + 20].replace("\n", " ").strip())
    return hits


#: Lines a text output needs before its aligned columns make it a table.
TEXT_TABLE_LINES = 3
#: What a lesson's first visible code cell must not hold: the fast-mode plumbing.
SETUP_MARKERS = ("TOYRD_FAST", "os.environ")


def text_tables(texts: list[str]) -> list[str]:
    """The text outputs that are tables printed as text: at least :data:`TEXT_TABLE_LINES`
    non-blank lines, of which that many share a column edge (a field that starts, or ends, at
    the same position after or before a run of two or more spaces). Returns each one's first
    line."""
    import collections
    import re

    hits = []
    for t in texts:
        lines = [line.rstrip() for line in t.splitlines() if line.strip()]
        if len(lines) < TEXT_TABLE_LINES:
            continue
        edges: collections.Counter = collections.Counter()
        for line in lines:
            here = set()
            for m in re.finditer(r"(?<=\S) {2,}(?=\S)", line):
                here.update({("start", m.end()), ("end", m.start())})
            edges.update(here)
        if edges and max(edges.values()) >= TEXT_TABLE_LINES:
            hits.append(lines[0].strip()[:60])
    return hits


def setup_first(first_code: str | None) -> list[str]:
    """The markers of :data:`SETUP_MARKERS` found in a lesson's first visible code cell."""
    if not first_code:
        return []
    return [m for m in SETUP_MARKERS if m in first_code]


#: Formulas written as text (the ``formula text`` check): name -> pattern, searched in each text
#: node a reader sees outside MathJax and code. Each is a formula, never a word or a key: a
#: subscript needs one letter before ``_`` and one character after it, then no word character
#: (``I_e``, ``x_j``, ``u_c``; not ``I_zstar`` or ``class0_mass``).
FORMULA_MARKERS = {
    "sum": r"[Σ∑]",
    "KL": r"\bKL ?\(|‖",
    "subscript": r"(?<![\w.])[A-Za-zΑ-Ωα-ω]_[A-Za-z0-9]\*?(?![\w])",
    "conditional": r"(?<![\w])[A-Za-z]\*?\((?:[^()|\n]|\([^()\n]*\)){0,30}\|",
    "information": r"\bI\([^()\n]{1,20};",
    # a relation with a symbol on one side (a one-letter name or a closing bracket): "E ≤ I_d",
    # "I(z; z*) ≥ 0.9"; a version or a count ("Python ≥ 3.10") is no formula
    "inequality": r"(?:(?<![\w])[A-Za-z]\*?|\))\s*[≤≥]|[≤≥]\s*[A-Za-z]\*?(?![A-Za-z0-9])",
    "sub/superscript": r"[₀-₉ₐ-ₜᵢ-ᵪ⁰¹²³⁴-⁹⁺⁻]",
}

#: Pages whose formula text is counted (``formula text, unchecked``) but fails nothing, with why.
#: Each entry is a debt, printed on every run; remove it once the page is converted.
FORMULA_UNCHECKED = {
    # an application page: Bokeh widgets, no MathJax (its labels are plain text by design)
    "static-explorer/index.html": "application",
}

# Each text node a reader sees outside math and code, with the id of the API object (mkdocstrings
# heading) whose documentation holds it, or null.
_FORMULA_TEXT_JS = r"""
const SKIP = "script, style, pre, code, textarea, noscript, mjx-container, kbd, samp, "
  + ".clipboard-copy-txt, .arithmatex";
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode, el = node.parentElement;
  if (!el || el.closest(SKIP) || !node.nodeValue.trim()) continue;
  const obj = el.closest(".doc-object");
  let id = null;
  if (obj) {
    const h = obj.querySelector(":scope > .doc-heading, :scope > h1, :scope > h2, :scope > h3, "
                                + ":scope > h4, :scope > h5");
    id = h ? h.id : null;
  }
  out.push([node.nodeValue, id]);
}
return out;
"""


def formula_text(texts: list[str]) -> list[tuple[str, str]]:
    """(marker name, snippet) for each formula written as plain text in ``texts``."""
    hits = []
    for t in texts:
        for name, pat in FORMULA_MARKERS.items():
            for m in re.finditer(pat, t):
                snippet = t[max(0, m.start() - 20) : m.end() + 20].replace("\n", " ").strip()
                hits.append((name, snippet))
    return hits


@functools.cache
def mutation_gated_files() -> frozenset[str]:
    """The modules under the mutation gate (``"module"`` entries of tools/mutate.py TARGETS)."""
    text = (pathlib.Path(__file__).resolve().parents[2] / "tools" / "mutate.py").read_text()
    return frozenset(re.findall(r'"module": "(toyrd/[\w/]+\.py)"', text))


@functools.cache
def _defining_file(path: str) -> str | None:
    """The file (relative to the repository) that defines the API object ``path``, or None."""
    import griffe

    root = pathlib.Path(__file__).resolve().parents[2]
    pkg = _griffe_toyrd(str(root))
    try:
        obj = pkg[path.removeprefix("toyrd.")] if path != "toyrd" else pkg
        obj = obj.final_target if obj.is_alias else obj
        return pathlib.Path(obj.filepath).resolve().relative_to(root).as_posix()
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError):
        return None


@functools.cache
def _griffe_toyrd(root: str):
    import griffe

    loader = griffe.GriffeLoader(search_paths=[root])
    pkg = loader.load("toyrd")
    loader.resolve_aliases(implicit=True, external=False)
    return pkg


def formula_text_problems(drv, page: str) -> tuple[list[str], dict[str, int]]:
    """The ``formula text`` check of the loaded page: (problems, counts). On an API page, a text
    in the documentation of an object defined in a mutation-gated module is counted under
    ``formula text, gated`` and is no problem (its docstring waits for a mutation run)."""
    failing, gated, unchecked = [], [], []
    for text, obj in drv.execute_script(_FORMULA_TEXT_JS):
        hits = formula_text([text])
        if not hits:
            continue
        if page in FORMULA_UNCHECKED:
            unchecked += hits
        elif page.startswith("api/") and obj and _defining_file(obj) in mutation_gated_files():
            gated += hits
        else:
            failing += hits
    problems = []
    if failing:
        by = {}
        for name, _ in failing:
            by[name] = by.get(name, 0) + 1
        problems.append(
            f"formula text: {len(failing)} formulas as plain text ({by}), e.g. "
            f"{[snip for _, snip in failing[:3]]}"
        )
    return problems, {
        "formula text": len(failing),
        "formula text, gated": len(gated),
        "formula text, unchecked": len(unchecked),
    }


def png_text_px(data: bytes) -> float | None:
    """The ``toyrd:text_px`` tEXt chunk of a PNG (its smallest font in image pixels), or None."""
    import struct

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i = 8
    while i + 8 <= len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        if kind == b"tEXt":
            key, _, value = data[i + 8 : i + 8 + n].partition(b"\0")
            if key == b"toyrd:text_px":
                return float(value)
        if kind == b"IEND":
            break
        i += 12 + n
    return None


def svg_text_units(text: str) -> tuple[float, float] | None:
    """(smallest font size, width) of an SVG file in its own user units, or None without text."""
    import re

    sizes = [
        float(x)
        for x in re.findall(r"font(?:-size)?\s*[:=]\s*\"?\s*(?:[a-z]+\s+)*([\d.]+)px", text)
    ]
    vb = re.search(r'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)', text)
    if not sizes or not vb:
        return None
    return min(sizes), float(vb.group(1))


def _site_path(page: str, src: str) -> str | None:
    """The path in the site of an image ``src`` of ``page`` (None for a data: URI)."""
    if src.startswith("data:"):
        return None
    return posixpath.normpath(
        posixpath.join(posixpath.dirname(page), urllib.parse.unquote(src.split("#")[0]))
    )


def figure_text_px(site: pathlib.Path, page: str, fig: dict) -> float | None:
    """The smallest text of a figure in CSS pixels as displayed, or None when unknown."""
    import base64

    if fig["text_px"] is not None:  # inline SVG, measured in the browser
        return fig["text_px"]
    src = fig["src"]
    scale = fig["shown"] / fig["natural"] if fig["natural"] else 0.0
    if src.startswith("data:"):
        head, _, body = src.partition(",")
        data = (
            base64.b64decode(body)
            if head.endswith(";base64")
            else urllib.parse.unquote_to_bytes(body)
        )
    else:
        path = site / _site_path(page, src)
        if not path.is_file():
            return None
        data = path.read_bytes()
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or b"<svg" in data[:500]:
        got = svg_text_units(data.decode("utf-8", "replace"))
        return None if got is None else got[0] * fig["shown"] / got[1]
    px = png_text_px(data)
    return None if px is None else px * scale


def missing_downloads(site: pathlib.Path, page: str, hrefs: list[str]) -> list[str]:
    """The download links of ``page`` (a path in the site) whose target file is not in the site."""
    out = []
    for href in hrefs:
        target = posixpath.normpath(
            posixpath.join(posixpath.dirname(page), urllib.parse.unquote(href))
        )
        if not (site / target).is_file():
            out.append(href)
    return out


def _driver(window: tuple[int, int]):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={window[0]},{window[1]}",
        "--hide-scrollbars",
        # offline: every host name but the loopback fails to resolve
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    drv = webdriver.Chrome(options=opts, service=service)
    drv.set_page_load_timeout(PAGE_TIMEOUT_S)
    drv.set_script_timeout(PAGE_TIMEOUT_S)
    return drv


@contextlib.contextmanager
def _serve(site: pathlib.Path):
    """A quiet http.server for ``site`` on 127.0.0.1 (a free port); yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _check_page(drv, base: str, site: pathlib.Path, page: str) -> tuple[dict, list[str]]:
    drv.get_log("browser")  # drop what earlier pages logged
    drv.get(urllib.parse.urljoin(base, page))
    info = drv.execute_async_script(_INSPECT_JS, MATHJAX_APPEAR_S * 1000)
    console = [e["message"][:160] for e in drv.get_log("browser") if e["level"] == "SEVERE"]
    problems = []
    floor = FLOORS.get(page, 0)
    if info["formulas"] < floor:
        problems.append(
            f"formulas: {info['formulas']} typeset, floor {floor} (MathJax {info['mathjax']})"
        )
    if info["mathjax_errors"]:
        problems.append(f"formulas: {info['mathjax_errors']} TeX errors (mjx-merror)")
    tex = raw_tex(info["texts"])
    if tex:
        problems.append(f"raw TeX: {len(tex)} left, e.g. {tex[:3]}")
    bad_img = [src for src, complete, width in info["images"] if not complete or width == 0]
    if bad_img:
        problems.append(f"images: {len(bad_img)} not loaded: {bad_img[:3]}")
    if console:
        problems.append(f"console: {len(console)} errors, e.g. {console[:2]}")
    tables = raw_tables(info["texts"])
    if tables:
        problems.append(f"tables: {len(tables)} left as text: {tables[:2]}")
    if info["stars"]:
        problems.append(f"stars: {len(info['stars'])} eaten as emphasis: {info['stars'][:3]}")
    missing = missing_downloads(site, page, info["downloads"])
    if missing:
        problems.append(f"downloads: {missing} not in the site")
    nfig = len(info["figures"])
    fig_floor = FIGURE_FLOORS.get(page, 0)
    if nfig < fig_floor:
        problems.append(f"figures: {nfig} shown, floor {fig_floor}")
    if info["reprs"]:
        problems.append(
            f"repr: {len(info['reprs'])} figure reprs as text, e.g. {info['reprs'][:2]}"
        )
    small, tiny, nozoom = [], [], []
    for fig in info["figures"]:
        name = fig["src"][:60]
        if not fig["zoom"]:
            nozoom.append(name)
        if _site_path(page, fig["src"]) in SCREENSHOTS:
            continue
        scale = fig["shown"] / fig["natural"] if fig["natural"] else 0.0
        if scale < MIN_SCALE:
            small.append(f"{name} at {scale:.0%}")
        text_px = figure_text_px(site, page, fig)
        if text_px is None or text_px < MIN_TEXT_PX:
            tiny.append(f"{name}: " + ("unknown" if text_px is None else f"{text_px:.1f} px"))
    if small:
        problems.append(f"figure scale: {len(small)} under {MIN_SCALE:.0%}: {small[:3]}")
    if tiny:
        problems.append(f"figure text: {len(tiny)} under {MIN_TEXT_PX} px: {tiny[:3]}")
    if nozoom:
        problems.append(f"zoom: {len(nozoom)} figures cannot be enlarged: {nozoom[:3]}")
    if info["wide_math"]:
        problems.append(
            f"math width: {len(info['wide_math'])} formulas wider than the "
            f"{info['column']:.0f} px column: {info['wide_math'][:2]}"
        )
    if info["wide_tables"]:
        problems.append(
            f"table width: {len(info['wide_tables'])} tables wider than the "
            f"{info['column']:.0f} px column: {info['wide_tables'][:2]}"
        )
    markup = tex_like(info["texts"])
    if markup:
        problems.append(f"tex markup: {len(markup)} as text, e.g. {markup[:3]}")
    if info["cut_code"]:
        problems.append(
            f"code cut: {len(info['cut_code'])} code blocks scroll: {info['cut_code'][:2]}"
        )
    printed = text_tables(info["text_outputs"])
    if printed:
        problems.append(f"text table: {len(printed)} outputs printed as text tables: {printed[:2]}")
    plumbing = setup_first(info["first_code"])
    if plumbing:
        problems.append(f"setup first: the first code cell shown holds {plumbing}")
    formula_problems, formula_counts = formula_text_problems(drv, page)
    problems += formula_problems
    info.update(raw_tex=len(tex), console=len(console))
    info["counts"] = {
        **formula_counts,
        "figures": int(nfig < fig_floor),
        "repr": len(info["reprs"]),
        "figure scale": len(small),
        "figure text": len(tiny),
        "zoom": len(nozoom),
        "math width": len(info["wide_math"]),
        "table width": len(info["wide_tables"]),
        "tex markup": len(markup),
        "code cut": len(info["cut_code"]),
        "text table": len(printed),
        "setup first": int(bool(plumbing)),
    }
    return info, problems


def _screenshot(drv, base: str, spec: str, out: pathlib.Path) -> pathlib.Path:
    """Load ``PAGE[#anchor]``, scroll the anchor to the top, save a viewport PNG."""
    page, _, anchor = spec.partition("#")
    drv.get(urllib.parse.urljoin(base, page))
    drv.execute_async_script(_INSPECT_JS, MATHJAX_APPEAR_S * 1000)
    if anchor:
        drv.execute_script(
            "const el = document.getElementById(arguments[0]);if (el) el.scrollIntoView();", anchor
        )
        time.sleep(0.3)
    name = page.replace("/index.html", "").replace("/", "_").replace(".html", "") or "home"
    path = out / f"{name}{'_' + anchor if anchor else ''}.png"
    drv.save_screenshot(str(path))
    return path


#: Where the docs hook writes the static explorer in the site.
STATIC_EXPLORER = "static-explorer/index.html"
#: Seconds to wait for the static explorer's first model, and for each redraw.
STATIC_READY_S = 30
#: The quantities the static explorer check compares after every control change.
STATIC_CHECKED = ("R", "D", "I_zstar")


def static_grid(page_dir: pathlib.Path):
    """(manifest, exact float64 values (N, Q)) of the grid a static explorer page ships (its
    ``toyrd-grid.js``: the manifest as JSON and the gzip bytes as base64)."""
    import numpy as np

    text = (page_dir / "toyrd-grid.js").read_text(encoding="utf-8")
    manifest = json.loads(re.search(r"^window\.TOYRD_GRID = (.*);$", text, re.M).group(1))
    b64 = re.search(r'^window\.TOYRD_GRID_GZ = "([A-Za-z0-9+/=]*)";$', text, re.M).group(1)
    raw = gzip.decompress(base64.b64decode(b64))
    n, q = manifest["n_models"], len(manifest["quantities"])
    return manifest, np.frombuffer(raw, dtype="<f8", count=n * q).reshape(n, q)


def static_index(manifest: dict, o: int, f: int, v: int, s: int) -> int:
    """The storage index of a grid position (objective, family, value, seed), as the page's."""
    ax = manifest["axes"]
    n_f, n_s = len(ax["families"]), len(ax["seeds"])
    start = sum(len(ob["values"]) for ob in ax["objectives"][:o]) * n_f
    return (start + f * len(ax["objectives"][o]["values"]) + v) * n_s + s


def _fmt6(v: float) -> str:
    text = f"{v:.6f}"
    return "0.000000" if text == "-0.000000" else text


_STATIC_STATE_JS = """
const st = document.getElementById('toyrd-status'), S = window.TOYRD_STATIC || {};
const deep = (root, sel) => {  // querySelector through Bokeh's shadow roots
  const hit = root.querySelector(sel);
  if (hit) return hit;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const h = deep(el.shadowRoot, sel); if (h) return h; }
  }
  return null;
};
const cell = (k) => { const c = deep(document, '#q-' + k);
  return c ? [c.textContent, c.getAttribute('data-value')] : null; };
const doc = window.Bokeh && Bokeh.documents.length ? Bokeh.documents[Bokeh.documents.length - 1]
  : null;
const cur = doc ? doc.get_model_by_name('current').data : null;
return {state: st.dataset.state, index: +st.dataset.index, ms: +st.dataset.ms, error: S.error,
  ready: !!S.ready, first_ms: S.first_ready_ms, paint_ms: S.first_paint_ms,
  cells: Object.fromEntries(arguments[0].map((k) => [k, cell(k)])),
  current: cur ? [cur.R[0], cur.D[0], cur.I[0]] : null,
  controls: ['ctl-objective', 'ctl-family', 'ctl-param', 'ctl-seed'].map(
  (id) => document.getElementById(id).value),
  requests: performance.getEntriesByType('resource').map((e) => e.name)};
"""


# What the wait polls: cheap (the full state walks the shadow roots: read once, when ready).
_STATIC_POLL_JS = """
const st = document.getElementById('toyrd-status'), S = window.TOYRD_STATIC || {};
return [!!S.error, !!S.ready && st.dataset.state === 'ready', +st.dataset.index];
"""


def _static_state(drv, want_index: int | None, timeout: float = STATIC_READY_S) -> dict:
    """The page's state once it shows model ``want_index`` (any model if None), ready."""
    t0 = time.monotonic()
    while True:
        error, ready, index = drv.execute_script(_STATIC_POLL_JS)
        if error or (ready and (want_index is None or index == want_index)):
            return drv.execute_script(_STATIC_STATE_JS, list(STATIC_CHECKED))
        if time.monotonic() - t0 > timeout:
            st = drv.execute_script(_STATIC_STATE_JS, list(STATIC_CHECKED))
            raise TimeoutError(f"static explorer: not ready with model {want_index}: {st}")
        time.sleep(0.02)


def static_moves():
    """The walk: (control, action) pairs. Actions: ``("key", KEY, times)`` presses a key on the
    focused slider; ``("select", value)`` picks an option of a select with the mouse."""
    from selenium.webdriver.common.keys import Keys

    return [
        ("ctl-param", ("key", Keys.HOME, 1)),
        ("ctl-param", ("key", Keys.END, 1)),
        ("ctl-param", ("key", Keys.ARROW_LEFT, 7)),
        ("ctl-param", ("key", Keys.PAGE_DOWN, 1)),
        ("ctl-seed", ("select", "1")),
        ("ctl-family", ("select", "1")),
        ("ctl-param", ("key", Keys.ARROW_RIGHT, 3)),
        ("ctl-family", ("select", "2")),
        ("ctl-seed", ("select", "0")),
        ("ctl-objective", ("select", "0")),
        ("ctl-objective", ("select", "2")),
        ("ctl-param", ("key", Keys.HOME, 1)),
        ("ctl-param", ("key", Keys.ARROW_RIGHT, 10)),
        ("ctl-objective", ("select", "3")),
        ("ctl-family", ("select", "0")),
        ("ctl-objective", ("select", "4")),
        ("ctl-param", ("key", Keys.END, 1)),
        ("ctl-objective", ("select", "5")),
        ("ctl-param", ("key", Keys.ARROW_LEFT, 5)),
        ("ctl-objective", ("select", "1")),
        ("ctl-family", ("select", "1")),
    ]


def _move(drv, control: str, action) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    el = drv.find_element(By.ID, control)
    if action[0] == "select":
        Select(el).select_by_value(action[1])
        return
    _, key, times = action
    drv.execute_script("arguments[0].focus()", el)
    for _ in range(times):
        el.send_keys(key)
        if times > 1:  # one redraw per key press, as a student holding the key
            _static_state(drv, None)


def _browser_log(drv) -> list:
    """The browser console's entries since the last call (a Chrome driver's ``get_log``; a
    Remote driver, as :func:`toyrd.explore._browser.chromium` makes, through the raw command)."""
    if hasattr(drv, "get_log"):
        return drv.get_log("browser")
    from selenium.webdriver.remote.command import Command

    return drv.execute(Command.GET_LOG, {"type": "browser"})["value"]


def check_static_explorer(drv, url: str, page_dir: pathlib.Path) -> tuple[dict, list[str]]:
    """Drive the static explorer at ``url`` (its files in ``page_dir``): load it, walk
    :func:`static_moves`, and compare what it shows with its grid. Returns (info, problems);
    info holds the visited model indices, the first-ready time and each redraw's ms."""
    manifest, exact = static_grid(page_dir)
    names = manifest["quantities"]
    _browser_log(drv)
    drv.get(url)
    st = _static_state(drv, None)
    problems, visited, ms = [], [], []
    if st["error"]:
        return {"visited": [], "ms": [], "first_ms": None, "paint_ms": None}, [
            f"page error: {st['error']}"
        ]
    first_ms, paint_ms = st["first_ms"], st["paint_ms"]
    base = url.rsplit("/", 1)[0] + "/"

    def compare(st, where):
        o, f, v, s = (int(x) for x in st["controls"])
        i = static_index(manifest, o, f, v, s)
        if st["index"] != i:
            problems.append(f"{where}: controls at model {i}, page shows {st['index']}")
            return
        visited.append(i)
        for k in STATIC_CHECKED:
            want = float(exact[i, names.index(k)])
            text, value = st["cells"][k] or (None, None)
            if value is None or float(value) != want or text != _fmt6(want):
                problems.append(f"{where}: {k} shows {text!r} ({value}), grid {want!r}")
        if st["current"] != [float(exact[i, names.index(k)]) for k in STATIC_CHECKED]:
            problems.append(f"{where}: current point {st['current']} is not the grid's")

    compare(st, "first model")
    for n, (control, action) in enumerate(static_moves()):
        before = len(visited)
        _move(drv, control, action)
        st = _static_state(drv, None)
        o, f, v, s = (int(x) for x in st["controls"])
        st = _static_state(drv, static_index(manifest, o, f, v, s))
        compare(st, f"move {n} ({control} {action[1]!r})")
        if len(visited) > before:
            ms.append(st["ms"])
    st = drv.execute_script(_STATIC_STATE_JS, list(STATIC_CHECKED))
    outside = [r for r in st["requests"] if not r.startswith(base)]
    if outside:
        problems.append(f"requests: {len(outside)} left the page's folder: {outside[:3]}")
    console = [e["message"][:160] for e in _browser_log(drv) if e["level"] == "SEVERE"]
    if console:
        problems.append(f"console: {len(console)} errors, e.g. {console[:2]}")
    if len(set(visited)) < 15:
        problems.append(f"walk: only {len(set(visited))} distinct models visited")
    return {"visited": visited, "ms": ms, "first_ms": first_ms, "paint_ms": paint_ms}, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("site", type=pathlib.Path, help="the built site (mkdocs build --site-dir)")
    ap.add_argument("--file", action="store_true", help="load pages from file:// (no server)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole run")
    ap.add_argument("--shots", type=pathlib.Path, help="folder for screenshots of --shot pages")
    ap.add_argument(
        "--shot",
        action="append",
        default=[],
        metavar="PAGE[#ANCHOR]",
        help="a page to screenshot (e.g. figure2/index.html#column-c); repeatable",
    )
    args = ap.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").is_file():
        print(f"check_site: {site} has no index.html; build the site first", file=sys.stderr)
        return 2
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not p.relative_to(site).as_posix().startswith("assets/")
    )
    if args.file:  # 404.html links to /assets/... from the server's root: it is for servers only
        pages.remove("404.html")
    t0 = time.monotonic()
    failed = passed = 0
    totals: dict[str, int] = {}
    server = contextlib.nullcontext(site.as_uri() + "/") if args.file else _serve(site)
    with server as base:
        drv = _driver((1280, 1000))
        try:
            print(f"{'page':<52} {'formulas':>8} {'floor':>5}  result")
            for page in pages:
                if time.monotonic() - t0 > args.timeout:
                    print(f"check_site: over {args.timeout:.0f} s, stopped before {page}")
                    failed += 1
                    break
                info, problems = _check_page(drv, base, site, page)
                status = "ok" if not problems else "FAIL"
                print(f"{page:<52} {info['formulas']:>8} {FLOORS.get(page, 0):>5}  {status}")
                for p in problems:
                    print(f"    {p}")
                failed += bool(problems)
                passed += not problems
                for key, n in info["counts"].items():
                    totals[key] = totals.get(key, 0) + n
            if (site / STATIC_EXPLORER).is_file():
                url = urllib.parse.urljoin(base, STATIC_EXPLORER)
                info, problems = check_static_explorer(drv, url, (site / STATIC_EXPLORER).parent)
                ms = sorted(info["ms"])
                print(
                    f"static explorer: {len(set(info['visited']))} models visited, "
                    f"first model drawn at {info['paint_ms'] or 0:.0f} ms, controls ready at "
                    f"{info['first_ms'] or 0:.0f} ms, redraw median "
                    f"{ms[len(ms) // 2] if ms else 0:.1f} ms, max {max(ms, default=0):.1f} ms  "
                    + ("ok" if not problems else "FAIL")
                )
                for p in problems:
                    print(f"    {p}")
                failed += bool(problems)
                passed += not problems
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                for spec in args.shot:
                    print(f"screenshot: {_screenshot(drv, base, spec, args.shots)}")
        finally:
            drv.quit()
    print(f"site check: {len(pages)} pages in {time.monotonic() - t0:.0f} s")
    print(
        "new checks (pages under the figure floor; otherwise items): "
        + ", ".join(f"{k} {v}" for k, v in totals.items())
    )
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
