r"""Figure 2 of Alemi et al. (2018) for any finite model: the five-row layout, drawn exactly.

For one model (p*, e, d, m) and the true joint :math:`p(z^*, x)`, :func:`panel_data` computes
every curve and image of one column of the paper's Figure 2 (all float64, shapes below), and
:func:`plot_columns` draws several columns side by side. Rows, as in the paper's caption:

(i)   data space: :math:`p^*(x)`, :math:`g(x) = \sum_z m(z)\, d(x|z)` and
      :math:`\bar d(x') = \sum_x \sum_z p^*(x)\, e(z|x)\, d(x'|z)`, each ``(n_x,)``;
(ii)  latent space: :math:`m(z)`, :math:`q(z) = \sum_x p^*(x)\, e(z|x)`, and the code of each
      true class, :math:`e(z|X_c) = \sum_x p(x|z^* = c)\, e(z|x)` ``(2, n_z)``. Shaded purple
      (class 0) and yellow (class 1) with weight :math:`p(z^* = c)`, so the two shaded areas
      stack to :math:`q(z)`: :math:`\sum_c p(z^* = c)\, e(z|X_c) = q(z)` (an identity;
      :func:`panel_data` checks nothing, the tests do);
(iii) :math:`e(z|x)` ``(n_x, n_z)``; (iv) :math:`d(x|z)` ``(n_z, n_x)``;
      (v) :math:`p(x'|x) = \sum_z e(z|x)\, d(x'|z)` ``(n_x, n_x)``.

Latent labels are arbitrary (permuting them changes no quantity), so each column shows its latent
states in the order of :func:`latent_order` — by the mean bin of :math:`p_e(x|z)` — which puts a
code's clusters next to each other. The permutation is part of the returned data.

Every file written is byte-identical for identical inputs (:func:`save_figure` fixes the
metadata that would otherwise hold a date or version string, and the SVG hash salt).
``import toyrd.figures`` does not import matplotlib; the drawing functions do.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import check_model
from toyrd.errors import ToyrdError
from toyrd.quantities import check_true_joint

__all__ = [
    "PanelData",
    "new_figure",
    "panel_data",
    "latent_order",
    "plot_columns",
    "save_figure",
    "smallest_font_pt",
    "FORMATS",
    "CLASS_COLORS",
    "FONT",
]

#: Output formats :func:`save_figure` makes reproducible.
FORMATS = ("png", "pdf", "svg")
#: Purple for class 0 (70 %), yellow for class 1 (30 %), as in the paper's Figure 2.
CLASS_COLORS = ("#6a3d9a", "#e6c619")
#: Font sizes (points) of the Figure 2 panels. Three columns are drawn 7 inches wide, the width
#: of the docs' content column (~700 CSS px at 96 px per inch), so 8 pt is ~10.7 px on the page.
FONT = {"title": 9.0, "label": 8.5, "tick": 8.0, "legend": 8.5}
#: Width (inches) of one Figure 2 column, and of the margin for the labels and colour bars.
COLUMN_IN, MARGIN_IN = 2.1, 0.9


class PanelData(NamedTuple):
    """Everything one column of Figure 2 shows (latent axis already permuted by ``order``)."""

    px: np.ndarray  # (n_x,) p*(x)
    g: np.ndarray  # (n_x,) generative marginal
    dbar: np.ndarray  # (n_x,) reconstruction distribution
    m: np.ndarray  # (n_z,) marginal m(z)
    q: np.ndarray  # (n_z,) aggregate posterior
    e_class: np.ndarray  # (2, n_z) e(z|X_c), each row a distribution
    p_class: np.ndarray  # (2,) p(z*=c)
    encoder: np.ndarray  # (n_x, n_z)
    decoder: np.ndarray  # (n_z, n_x)
    channel: np.ndarray  # (n_x, n_x) p(x'|x)
    order: np.ndarray  # (n_z,) int: displayed latent position k shows state order[k]


def latent_order(px, encoder) -> np.ndarray:
    """Latent states sorted by the mean bin index under :math:`p_e(x|z)` (stable; unused states
    last).

    A display permutation only: every quantity of :func:`toyrd.evaluate` is invariant to it.
    """
    px, e, _, _ = check_model(px, encoder)
    idx = np.arange(px.shape[0], dtype=np.float64)
    joint = px[:, None] * e
    q = joint.sum(0)
    used = q > 0
    mean = np.where(used, (idx @ joint) / np.where(used, q, 1.0), np.inf)
    return np.argsort(mean, kind="stable")


def panel_data(px, pzx, encoder, decoder, marginal, *, reorder: bool = True) -> PanelData:
    """The curves and images of one Figure 2 column (float64; see the module docstring).

    ``pzx`` is the true joint :math:`p(z^*, x)`, shape ``(2, n_x)``, whose column sums must equal
    ``px``.
    """
    px, e, d, m = check_model(px, encoder, decoder, marginal)
    pzx = check_true_joint(pzx, px)
    order = latent_order(px, e) if reorder else np.arange(e.shape[1])
    e, d, m = e[:, order], d[order], m[order]
    p_class = pzx.sum(1)
    e_class = (pzx / p_class[:, None]) @ e  # e(z|X_c) = Σ_x p(x|z*=c) e(z|x)
    return PanelData(
        px=px,
        g=m @ d,
        dbar=px @ e @ d,
        m=m,
        q=F.encoder_joint(px, e).sum(0),
        e_class=e_class,
        p_class=p_class,
        encoder=e,
        decoder=d,
        channel=e @ d,
        order=order,
    )


# ----------------------------------------------------------------------------- drawing


def new_figure(**kw):
    """A matplotlib Figure without pyplot: no global state, no GUI backend, nothing to close."""
    from matplotlib.figure import Figure

    return Figure(**kw)


def save_figure(fig, path, fmt: str = "png") -> str:
    """Write ``fig`` so that the same figure gives the same bytes (no dates, no version strings)."""
    import matplotlib

    if fmt not in FORMATS:
        raise ToyrdError(f"format: {fmt!r} is not one of {list(FORMATS)}")
    dpi = 110
    metadata = {
        # the smallest text in image pixels (docs/scripts/check_site.py reads it to know how
        # large the text is as displayed)
        "png": {"Software": None, "toyrd:text_px": f"{smallest_font_pt(fig) * dpi / 72:.2f}"},
        "pdf": {"Software": None, "CreationDate": None, "Producer": None},
        "svg": {"Date": None, "Creator": None},
    }[fmt]
    # SVG text stays text (selectable, sharp, its font sizes readable by the site check)
    rc = {"svg.hashsalt": "toyrd", "pdf.compression": 6, "svg.fonttype": "none"}
    with matplotlib.rc_context(rc):
        fig.savefig(path, format=fmt, metadata=metadata, dpi=dpi)
    return str(path)


def smallest_font_pt(fig) -> float:
    """The smallest font size (points) of the visible, non-empty texts of ``fig``."""
    from matplotlib.text import Text

    fig.draw_without_rendering()  # tick labels get their text when drawn
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is not None
    ]
    return float(min(sizes)) if sizes else 0.0


def _line_row(ax, x, curves, ylabel):
    for y, label, style in curves:
        ax.plot(x, y, label=label, **style)
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax.set_ylim(0, 1.08 * max(float(np.max(y)) for y, _, _ in curves))
    ax.set_ylabel(ylabel, fontsize=FONT["label"])  # the legend is the figure's, above the panels


def _draw_column(axes, data: PanelData, title: str, subtitle: str, *, vmax_img):
    n_x, n_z = data.encoder.shape
    xs, zs = np.arange(n_x), np.arange(n_z)
    axes[0].set_title(title + ("\n" + subtitle if subtitle else ""), fontsize=FONT["title"])
    _line_row(
        axes[0],
        xs,
        [
            (data.px, "p*(x)", {"color": "k", "lw": 2.4, "alpha": 0.35}),
            (data.g, "g(x)", {"color": "C0", "lw": 1.2}),
            (data.dbar, "d̄(x)", {"color": "C3", "lw": 1.0, "ls": "--"}),
        ],
        "(i)",
    )
    axes[0].set_xlabel("x", fontsize=FONT["label"], labelpad=1)
    ax = axes[1]
    w0 = data.p_class[0] * data.e_class[0]
    w1 = data.p_class[1] * data.e_class[1]
    ax.fill_between(
        zs,
        0,
        w0,
        step="mid",
        color=CLASS_COLORS[0],
        alpha=0.55,
        label=f"{data.p_class[0]:.1f}·e(z|X₀)",
    )
    ax.fill_between(
        zs,
        w0,
        w0 + w1,
        step="mid",
        color=CLASS_COLORS[1],
        alpha=0.7,
        label=f"{data.p_class[1]:.1f}·e(z|X₁)",
    )
    ax.step(zs, data.q, where="mid", color="k", lw=1.0, label="q(z)")
    ax.step(zs, data.m, where="mid", color="C2", lw=1.0, ls="--", label="m(z)")
    ax.set_xlim(-0.5, n_z - 0.5)
    ax.set_ylim(0, 1.08 * max(float(np.max(data.q)), float(np.max(data.m))))
    ax.set_ylabel("(ii)", fontsize=FONT["label"])
    ax.set_xlabel("z (sorted)", fontsize=FONT["label"], labelpad=1)
    images = []
    for ax, img, vmax, lab, (yl, xl) in zip(
        axes[2:],
        (data.encoder, data.decoder, data.channel),
        vmax_img,
        ("(iii) e(z|x)", "(iv) d(x|z)", "(v) p(x'|x)"),
        (("x", "z"), ("z", "x"), ("x", "x'")),
    ):
        images.append(
            ax.imshow(
                img,
                cmap="viridis",
                vmin=0.0,
                vmax=vmax,
                interpolation="nearest",
                origin="lower",
                aspect="equal",
            )
        )
        ax.set_ylabel(f"{lab}\n{yl}", fontsize=FONT["label"])
        ax.set_xlabel(xl, fontsize=FONT["label"], labelpad=1)
    for ax in axes:
        ax.tick_params(labelsize=FONT["tick"])
    return images


def plot_columns(
    columns, titles, *, subtitles=None, path=None, fmt: str = "png", suptitle: str | None = None
):
    """Draw Figure 2: one column per :class:`PanelData`, five rows. Returns the path or the figure.

    ``subtitles`` (one short line per column, e.g. "R = 0.5000, D = 2.5184") go under the titles.
    Each image row shares one colour scale, [0, max over the row], so columns compare directly;
    the row's colour bar, labelled "probability", is at its right end.
    """
    columns = list(columns)
    subtitles = list(subtitles) if subtitles is not None else [""] * len(columns)
    if not (len(columns) == len(titles) == len(subtitles)) or not columns:
        raise ToyrdError("plot_columns: need one title and subtitle per column, and >= 1 column")
    vmax = [
        max(float(np.max(getattr(c, name))) for c in columns)
        for name in ("encoder", "decoder", "channel")
    ]
    fig = new_figure(
        figsize=(COLUMN_IN * len(columns) + MARGIN_IN, 11.5 + 0.15 * len(subtitles[0].split("\n"))),
        layout="constrained",
    )
    axes = fig.subplots(
        5, len(columns), squeeze=False, gridspec_kw={"height_ratios": [1, 1, 1.35, 1.35, 1.35]}
    )
    for j, (col, title, sub) in enumerate(zip(columns, titles, subtitles)):
        images = _draw_column(axes[:, j], col, title, sub, vmax_img=vmax)
    for row, im in zip(axes[2:], images):  # one colour scale per image row: one bar, at its end
        bar = fig.colorbar(im, ax=list(row), location="right", shrink=0.9, pad=0.02, aspect=15)
        bar.set_label("probability", fontsize=FONT["label"])
        bar.ax.tick_params(labelsize=FONT["tick"])
    # one legend for the two line rows, above the panels (never over the curves)
    handles, labels = [], []
    for ax in axes[:2, 0]:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(
        handles, labels, loc="outside upper center", ncol=4, frameon=False, fontsize=FONT["legend"]
    )
    if suptitle:  # under the panels: the legend holds the top
        fig.supxlabel(suptitle, fontsize=FONT["label"])
    if path is None:
        return fig
    return save_figure(fig, path, fmt)
