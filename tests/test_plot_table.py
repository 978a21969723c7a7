"""toyrd.plot.Table: the lessons' tables, an HTML table in a notebook and aligned text in print."""

from __future__ import annotations

import html.parser

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from toyrd.errors import ToyrdError  # noqa: E402
from toyrd.plot import Table, show  # noqa: E402


def _table():
    return Table(
        [
            ("identity", 0.12345678, np.float64(-1.5e-15), True),
            ("class <posterior>", 3.4, 2, False),
        ],
        ["encoder", "R", "residual", "ok?"],
        formats=[None, ".4f", ".1e", None],
        caption="nats",
    )


def test_cells_are_written_with_their_column_format_and_nothing_else():
    t = _table()
    assert t.cells == [
        ["identity", "0.1235", "-1.5e-15", "True"],
        ["class <posterior>", "3.4000", "2.0e+00", "False"],
    ]
    # one spec for all, or a mapping by column name; text is never formatted
    assert Table([("a", 1.0)], ["x", "y"], formats=".2f").cells == [["a", "1.00"]]
    assert Table([("a", 1.0)], ["x", "y"], formats={"y": ".1e"}).cells == [["a", "1.0e+00"]]
    assert Table([("a", 0.5)], ["x", "y"], formats=[None, lambda v: f"{v:.0%}"]).cells == [
        ["a", "50%"]
    ]


def test_text_is_aligned_numbers_right_text_left():
    lines = str(_table()).splitlines()
    assert lines[0] == "nats"
    header, rule, *rows = lines[1:]
    assert header.split() == ["encoder", "R", "residual", "ok?"]
    assert set(rule) <= {"-", " "}
    # number columns end at the same place (their widths differ), text columns start together
    narrow = str(Table([("a", 0.5), ("bcd", 12.25)], ["name", "value"], formats=".2f"))
    one, two = narrow.splitlines()[2:]
    assert one.endswith(" 0.50") and two.endswith("12.25") and len(one) == len(two)
    assert one.startswith("a  ") and two.startswith("bcd")
    assert rows[0].startswith("identity ") and rows[1].startswith("class <posterior>")
    assert rows[0].index("True") == rows[1].index("False")
    assert repr(_table()) == str(_table())


class _Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.tags, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._in = (tag, dict(attrs).get("style", ""))
            self.cells.append([tag, self._in[1], ""])

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.cells[-1][2] += data


def test_html_is_a_table_in_its_own_scroll_box_with_escaped_text():
    out = _table()._repr_html_()
    parser = _Cells()
    parser.feed(out)
    assert parser.tags.count("table") == 1 and "overflow-x:auto" in out
    heads = [c for c in parser.cells if c[0] == "th"]
    data = [c for c in parser.cells if c[0] == "td"]
    assert [c[2] for c in heads] == ["encoder", "R", "residual", "ok?"]
    assert [c[2] for c in data[4:]] == ["class <posterior>", "3.4000", "2.0e+00", "False"]
    assert "class &lt;posterior&gt;" in out  # escaped in the HTML
    right = [c[2] for c in data if "right" in c[1]]
    assert right == ["0.1235", "-1.5e-15", "3.4000", "2.0e+00"]
    assert "nats" in out


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(rows=[(1, 2)], columns=["a"]), "row 0 has 2 values for 1 columns"),
        (dict(rows=[(1,)], columns=["a"], formats=[".1f", ".2f"]), "2 formats for 1 columns"),
        (dict(rows=[(1,)], columns=["a"], formats={"b": ".1f"}), "do not exist: ['b']"),
    ],
)
def test_a_malformed_table_is_refused_in_one_line(kwargs, words):
    with pytest.raises(ToyrdError) as err:
        Table(**kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_show_prints_a_table_in_plain_python_and_leaves_other_objects_alone(capsys):
    show(_table())
    assert capsys.readouterr().out == str(_table()) + "\n"
    show(object())
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "tex, text",
    [
        (r"$I(z;z^*)$", "I(z;z*)"),
        (r"max $\mathrm{KL}(p^*\|g)$", "max KL(p*‖g)"),
        (r"bias$^2$/se", "bias²/se"),
        (
            r"$\mathbb{E}_x\,\mathrm{KL}(e(\cdot\mid x)\,\|\,p_d(\cdot\mid x))$",
            "E_x KL(e(·|x) ‖ p_d(·|x))",
        ),
        (r"$\mathrm{IWAE}_{10}$", "IWAE_10"),
        (r"log-likelihood $\sum_x p^*(x) \log g(x)$", "log-likelihood Σ_x p*(x) log g(x)"),
        ("R + D − H", "R + D − H"),  # no math: unchanged
    ],
)
def test_math_is_tex_in_html_and_plain_text_when_printed(tex, text):
    from toyrd.plot._table import as_text

    assert as_text(tex) == text
    table = Table([(0.5, tex)], [tex, "label"], formats=".1f", caption=tex)
    printed = str(table).splitlines()
    assert printed[0] == text  # the caption
    assert printed[1].startswith(text) and printed[1].endswith("label")  # the header
    assert printed[-1].endswith(text)  # the text cell
    assert html.escape(tex) in table._repr_html_()  # the TeX itself, for MathJax
    assert "$" not in str(table)
