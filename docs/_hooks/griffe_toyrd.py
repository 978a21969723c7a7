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
                value = fence_doctests(rewrite_roles(obj.docstring.value, obj, collection))
                obj.docstring.value = value
            for member in list(obj.members.values()):
                walk(member)

        walk(pkg)
