"""Griffe extension for the API pages (mkdocs.yml: mkdocstrings ``extensions``).

toyrd's docstrings are written for ``help()`` and a terminal as much as for the site, so they use
two plain-text conventions that Markdown does not know. Before mkdocstrings renders a docstring,
this extension rewrites (in the loaded docstring text only; the source is untouched):

* Sphinx roles — ``:func:`evaluate```, ``:class:`~toyrd.tables.Model```, ``:mod:``, ``:data:``,
  ``:meth:``, ``:attr:``, ``:exc:``, ``:obj:`` — into a cross-reference to the object's page
  (the name is resolved like Sphinx does: as written, then relative to the object's module and
  its parents, then under ``toyrd``); a ``~`` shows the last part only. A name that resolves
  to nothing toyrd documents stays as inline code. The link is an *optional* autoref, so a
  target that no page renders shows as code, never as a broken link.
* Doctest examples — runs of ``>>>`` / ``...`` lines with their output, up to a blank line —
  into fenced ``pycon`` code blocks, so they render as code instead of one run-on paragraph
  (except in a Google ``Examples:`` section, which griffe renders as code itself; a
  singular ``Example:`` is an admonition of Markdown, so its doctests are fenced).
* reST simple tables (``=====  =====`` rules) into Markdown tables, which the theme renders
  (the docstrings keep the plain-text layout that reads well in a terminal).
* Plain-text formulas with TeX-like groups (``Σ_{z*} p(z*|x) u_{z*}(z)``, ``IWAE_{k+1}``,
  ``R^{n_s}``, ``e^{-70}``) into inline math that MathJax typesets, as on every other page: each
  word holding a ``_{...}`` or ``^{...}`` group becomes ``\\( ... \\)``, a starred one-letter
  name gets a superscript star (``z*`` → ``z^*``), and a name of two or more letters before
  ``_``/``^`` becomes upright (``\\mathrm{IWAE}``). Code (fences, indented blocks, inline
  code) is left alone.
* Formulas written as Sphinx math, the scientific-Python convention (numpy, scipy): an inline
  ``:math:`\\sum_z m(z)\\, d(x|z)``` role becomes ``\\( ... \\)`` and a ``.. math::`` directive
  (its indented body, up to the first line indented no deeper than the directive) a ``$$ ... $$``
  display block; arithmatex (``generic: true``) hands both to MathJax, as on every other page.
  The TeX inside is left as written (no role, table or TeX-word rewriting reaches it).
"""

from __future__ import annotations

import html
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|mod|data|meth|attr|exc|obj):`(~?)([^`<>]+)`")


def _lookup(collection, path: str):
    """The object at a dotted ``path`` of the loaded packages, or None."""
    try:
        obj = collection.get_member(path)
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    try:
        return obj.final_target if obj.is_alias else obj
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def resolve(name: str, obj, collection) -> str | None:
    """The canonical path of ``name`` as written in the docstring of ``obj`` (Sphinx order)."""
    name = name.strip().removesuffix("()")
    scopes = []
    scope = obj if obj.is_module or obj.is_class else obj.parent
    while scope is not None:
        scopes.append(scope.path)
        scope = scope.parent
    for candidate in (name, *(f"{s}.{name}" for s in scopes), f"toyrd.{name}"):
        found = _lookup(collection, candidate)
        if found is not None:
            return found.path
    return None


def rewrite_roles(text: str, obj, collection) -> str:
    def sub(m: re.Match) -> str:
        short, name = m.group(2), m.group(3).strip()
        shown = name.rsplit(".", 1)[-1] if short else name
        if m.group(1) in ("func", "meth") and not shown.endswith(")"):
            shown += "()"
        path = resolve(name, obj, collection)
        code = f"<code>{html.escape(shown)}</code>"
        if path is None:
            return f"`{shown}`"
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return _ROLE.sub(sub, text)


def fence_doctests(text: str) -> str:
    """Wrap each doctest run (``>>>`` lines, continuations, output) in a ``pycon`` fence."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    in_fence = False
    examples = None  # indentation of an ``Examples:`` header whose body we are in (griffe's own)
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent_now = len(line) - len(stripped)
        if examples is not None and stripped and indent_now <= examples:
            examples = None
        if re.fullmatch(r"Examples:\s*", stripped):  # ("Example:" is an admonition: fence it)
            examples = indent_now
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence or examples is not None or not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        above = out[-1] if out else ""
        header = re.fullmatch(r"(\s*)[A-Z][\w ]*:\s*", above)
        if above.strip() and not (header and len(header.group(1)) < len(indent)):
            # a fence must not continue the paragraph above; but the body of a section
            # ("Example:" and its indented lines) must follow its header directly
            out.append("")
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


_RST_RULE = re.compile(r"^(\s*)(=+)((?: +=+)+)\s*$")


def _split_row(line: str, starts: list[int]) -> list[str]:
    """Cells of a reST simple-table row; a cell that overruns its column pushes the next on."""
    cells, pos = [], starts[0]
    for k in range(len(starts)):
        end = starts[k + 1] if k + 1 < len(starts) else len(line)
        end = max(end, pos)
        while 0 < end < len(line) and line[end - 1] != " " and k + 1 < len(starts):
            end += 1  # a word crosses the boundary: the column ends after it
        cells.append(line[pos:end].strip())
        pos = end
    return cells


def _md_row(line: str, indent: str, starts: list[int]) -> str:
    cells = _split_row(line[len(indent) :], starts)
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def rst_tables(text: str) -> str:
    """Replace each reST simple table (three ``===`` rules: top, under the header, bottom)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _RST_RULE.match(lines[i])
        rules = [j for j in range(i, len(lines)) if _RST_RULE.match(lines[j])][:3] if m else []
        if len(rules) < 3 or any(not lines[j].strip() for j in range(i, rules[2])):
            out.append(lines[i])
            i += 1
            continue
        indent = m.group(1)
        rule = lines[i][len(indent) :]
        starts = [k for k, ch in enumerate(rule) if ch == "=" and (k == 0 or rule[k - 1] == " ")]

        header = [_md_row(lines[j], indent, starts) for j in range(rules[0] + 1, rules[1])]
        body = [_md_row(lines[j], indent, starts) for j in range(rules[1] + 1, rules[2])]
        if out and out[-1].strip():
            out.append("")
        out += [indent + header[0], indent + "|" + "---|" * len(starts)]
        out += [indent + b for b in body]
        out.append("")
        i = rules[2] + 1
    return "\n".join(out)


#: A word holding a TeX-like group: ``Σ_{z*}``, ``u_{z*}(z)``, ``R^{n_s}``, ``E_{z_1..z_k iid
#: e(·|x)}`` (a group may hold spaces, not another group).
_TEX_WORD = re.compile(r"[^\s`]*?[_^]\{[^{}\n]*\}(?:[^\s`,;:]*?[_^]\{[^{}\n]*\})*[^\s`,;:]*")


def _tex(word: str) -> str:
    word = re.sub(r"(?<=[A-Za-z])\*", "^*", word)  # z* -> z^*
    word = re.sub(r"\b([A-Za-z]{2,})(?=[_^])", r"\\mathrm{\1}", word)  # IWAE_k -> upright
    return word


def _balanced(word: str) -> tuple[str, str, str]:
    """(lead, word, trail): unpaired brackets and end punctuation moved outside the math."""
    lead = trail = ""
    while word and word[-1] in ".,;:":
        word, trail = word[:-1], word[-1] + trail
    while word.endswith(")") and word.count(")") > word.count("("):
        word, trail = word[:-1], ")" + trail
    while word.startswith("(") and word.count("(") > word.count(")"):
        word, lead = word[1:], lead + "("
    return lead, word, trail


def _wrap_math(text: str) -> str:
    out, pos = [], 0
    for m in _TEX_WORD.finditer(text):
        if m.start() < pos:
            continue
        start, end = m.start(), m.end()
        depth = text[start:end].count("(") - text[start:end].count(")")
        while depth > 0 and end < len(text) and end - m.end() < 40:  # N(μ_{z*}, s²): to its ")"
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        if depth > 0:
            end = m.end()
        lead, word, trail = _balanced(text[start:end])
        out.append(text[pos:start])
        out.append(f"{lead}\\({_tex(word)}\\){trail}" if word else text[start:end])
        pos = end
    out.append(text[pos:])
    return "".join(out)


_MATH_ROLE = re.compile(r"(?<!`):math:`([^`]+)`")  # not inside inline code
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")


def sphinx_math(text: str) -> str:
    """Sphinx ``:math:`...``` roles -> ``\\( \\)``; ``.. math::`` directives -> ``$$`` blocks."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        m = None if in_fence else _MATH_DIRECTIVE.match(line)
        if m is None:
            out.append(line if in_fence else _MATH_ROLE.sub(r"\\(\1\\)", line))
            i += 1
            continue
        indent = m.group(1)
        body = [m.group(2)] if m.group(2).strip() else []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        if out and out[-1].strip():
            out.append("")
        # one equation per paragraph of the body, each its own display
        equations = "\n".join(body).strip().split("\n\n")
        for eq in equations:
            out += [f"{indent}$$", *(f"{indent}{x}" for x in eq.split("\n")), f"{indent}$$", ""]
    return "\n".join(out)


def math_markup(text: str) -> str:
    """Wrap each TeX-like word of the prose of ``text`` in ``\\( \\)`` (code left alone)."""
    out: list[str] = []
    in_fence = False
    in_display = False  # inside a $$ ... $$ block (from ``.. math::``)
    prev_blank = True
    code_indent = None  # indentation of the indented code block we are in
    for line in text.split("\n"):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("```"):
            in_fence = not in_fence
        if stripped == "$$" and not in_fence:
            in_display = not in_display
            out.append(line)
            continue
        if in_display:
            out.append(line)
            continue
        if code_indent is not None and stripped and indent < code_indent:
            code_indent = None
        if prev_blank and stripped and indent >= 4 and not in_fence and code_indent is None:
            code_indent = indent  # a block indented after a blank line: Markdown code
        prev_blank = not stripped
        if in_fence or stripped.startswith("```") or code_indent is not None:
            out.append(line)
            continue
        parts = re.split(r"(`[^`]*`|\\\(.*?\\\))", line)  # keep inline code and math as is
        parts[::2] = [_wrap_math(part) for part in parts[::2]]
        out.append("".join(parts))
    return "\n".join(out)


class ToyrdDocstrings(griffe.Extension):
    """Rewrite roles and doctests of every toyrd docstring once the package is loaded."""

    def on_package(self, *, pkg, loader, **kwargs) -> None:
        if pkg.path != "toyrd":
            return
        collection = loader.modules_collection
        seen: set[int] = set()

        def walk(obj) -> None:
            if obj.is_alias or id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                value = sphinx_math(obj.docstring.value)  # first: no rewriting inside TeX
                value = fence_doctests(rewrite_roles(value, obj, collection))
                value = math_markup(rst_tables(value))
                obj.docstring.value = value
            for member in list(obj.members.values()):
                walk(member)

        walk(pkg)
