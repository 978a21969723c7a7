"""Tables of numbers for the lessons: an HTML table in a notebook (and on the docs site), aligned
text when printed.

:class:`Table` formats every cell once, from the rows, the column names and a format per column;
:func:`show` makes a table (or a figure) the visible result of a cell in Jupyter, and prints a
table in plain Python, so a lesson reads the same run either way.
"""

from __future__ import annotations

import html
import numbers
import re
from collections.abc import Callable, Mapping, Sequence

from toyrd.errors import ToyrdError

__all__ = ["Table", "show", "as_text"]

#: A cell's text that reads as a number (``0.5000``, ``-1.2e-15``, ``3``, ``0.40–0.52``): set flush
#: right, so the digits of a column line up.
_NUMERIC = re.compile(
    r"^[-+−]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?([–-][-+−]?[\d.]+([eE][-+]?\d+)?)?$"
)


#: How ``str(table)`` writes the TeX of a ``$…$`` cell or header (the site typesets it): the
#: few commands the lessons' tables use, in this order, then braces dropped.
_TEX_AS_TEXT = (
    ("\\mathrm", ""),
    ("\\mathbb", ""),
    ("\\sum", "Σ"),
    ("\\log", "log"),
    ("\\,", " "),
    ("\\|", "‖"),
    ("\\mid ", "|"),
    ("\\mid", "|"),
    ("\\cdot", "·"),
    ("\\pm", "±"),
    ("\\sigma", "σ"),
    ("\\beta", "β"),
    ("\\lambda", "λ"),
    ("\\tau", "τ"),
    ("^*", "*"),
    ("^2", "²"),
)
_MATH = re.compile(r"\$([^$]+)\$")


def as_text(text: str) -> str:
    """``text`` with each ``$…$`` (TeX, typeset on the site and in Jupyter) written as plain
    text for a terminal: ``$\\mathrm{KL}(p^*\\|g)$`` → ``KL(p*‖g)``."""

    def plain(m):
        tex = m.group(1)
        for cmd, txt in _TEX_AS_TEXT:
            tex = tex.replace(cmd, txt)
        return tex.replace("{", "").replace("}", "")

    return _MATH.sub(plain, text)


def _is_number(value) -> bool:
    return (
        isinstance(value, numbers.Number)
        and not isinstance(value, bool)
        and (type(value).__name__ != "bool_")
    )


class Table:
    """Rows of values under named columns, each cell formatted once.

    Args:
        rows: the rows, each a sequence with one value per column.
        columns: the column names (the header). Here and in text cells and the caption,
            ``$…$`` is TeX: typeset in a notebook and on the site, written as plain text by
            ``str`` (:func:`as_text`).
        formats: how numbers are written: one format spec for every column (``".4f"``), or one
            per column (a spec, a callable returning the cell's text, or None), or a mapping from
            column name to either. Text, booleans and columns without a format are written with
            ``str``.
        caption: a line above the table (what every row shares: units, seeds, settings).

    Numbers and cells that read as numbers are set flush right, text flush left. In a notebook
    the table is HTML (``_repr_html_``): a scroll box of its own keeps a wide table inside the
    page, its first column in view. ``str(table)`` is the same table as aligned text.

    Raises:
        ToyrdError: a row without one value per column, or formats for columns that do not exist.
    """

    def __init__(
        self,
        rows: Sequence[Sequence],
        columns: Sequence[str],
        formats: str | Sequence | Mapping | None = None,
        caption: str | None = None,
    ):
        self.columns = [str(c) for c in columns]
        self.caption = caption
        n = len(self.columns)
        if isinstance(formats, Mapping):
            unknown = [k for k in formats if k not in self.columns]
            if unknown:
                raise ToyrdError(f"Table: formats name columns that do not exist: {unknown}")
            specs = [formats.get(c) for c in self.columns]
        elif formats is None or isinstance(formats, str):
            specs = [formats] * n
        else:
            specs = list(formats)
            if len(specs) != n:
                raise ToyrdError(f"Table: {len(specs)} formats for {n} columns")
        self.cells: list[list[str]] = []
        self.numeric: list[list[bool]] = []
        for i, row in enumerate(rows):
            row = list(row)
            if len(row) != n:
                raise ToyrdError(f"Table: row {i} has {len(row)} values for {n} columns")
            texts = [_cell(v, spec) for v, spec in zip(row, specs)]
            self.cells.append(texts)
            self.numeric.append(
                [_is_number(v) or bool(_NUMERIC.match(t)) for v, t in zip(row, texts)]
            )
        # a column is set flush right when every cell in it is a number
        self.right = [bool(self.cells) and all(r[j] for r in self.numeric) for j in range(n)]

    def __str__(self) -> str:
        columns = [as_text(c) for c in self.columns]
        cells = [[as_text(t) for t in row] for row in self.cells]
        widths = [max([len(c)] + [len(r[j]) for r in cells]) for j, c in enumerate(columns)]

        def line(texts):
            parts = [
                t.rjust(w) if right else t.ljust(w)
                for t, w, right in zip(texts, widths, self.right)
            ]
            return "  ".join(parts).rstrip()

        out = [as_text(self.caption)] if self.caption else []
        out += [line(columns), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in cells]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def cell(tag, text, right):
            align = "right" if right else "left"
            return f'<{tag} style="text-align:{align}">{html.escape(text)}</{tag}>'

        head = "".join(cell("th", c, r) for c, r in zip(self.columns, self.right))
        body = "".join(
            "<tr>" + "".join(cell("td", t, r) for t, r in zip(row, self.right)) + "</tr>"
            for row in self.cells
        )
        caption = (
            f'<p class="toyrd-table-caption">{html.escape(self.caption)}</p>'
            if self.caption
            else ""
        )
        return (
            f'<div class="toyrd-table">{caption}'
            '<div class="toyrd-table-box" style="overflow-x:auto;max-width:100%">'
            # a class of its own: the site theme's script leaves it unwrapped (toyrd.css styles it)
            '<table class="toyrd-numbers" '
            'style="font-variant-numeric:tabular-nums;white-space:nowrap">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></div>"
        )


def _cell(value, spec: str | Callable | None) -> str:
    if isinstance(value, str):
        return value
    if callable(spec):
        return str(spec(value))
    if spec is None or not _is_number(value):
        return str(value)
    return format(value, spec)


def show(obj) -> None:
    """Make ``obj`` (a :class:`Table`, a matplotlib figure) the visible result of a cell.

    Under IPython (Jupyter, the docs build) it is displayed; in plain Python a table is printed
    as aligned text and anything else is left alone (a figure drawn without pyplot has no window
    to go to: save it with :func:`save_figure`).
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython installed
        get_ipython = display = None
    if get_ipython is not None and get_ipython() is not None:
        display(obj)
    elif isinstance(obj, Table):
        print(obj)
