"""MkDocs hooks for the toyrd site (listed under ``hooks:`` in mkdocs.yml).

* ``TOYRD_FAST=1`` for the notebook kernels, so the rendered lessons build in seconds
  (set ``TOYRD_FAST=0`` in the environment to render the full-size runs).
* The teaching notebooks live in ``notebooks/`` at the repository root, not in ``docs/``; they are
  added to the site as ``notebooks/<name>.py`` pages, which mkdocs-jupyter executes and renders.
* The command-line page (cli.md) gets the help of every ``toyrd`` command at build time.
* The home page picture ``assets/rd_plane.png`` is computed by toyrd at build time (never a
  hand-made file): the rate–distortion plane of the toy with a few exact models on it.
"""

from __future__ import annotations

import io
import os
import pathlib

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def on_config(config):
    os.environ.setdefault("TOYRD_FAST", "1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    return config


@event_priority(100)  # before mkdocs-jupyter wraps the notebook files
def on_files(files, config):
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        # a plain File rooted at the repository (mkdocs-jupyter's wrapper needs a real src_dir)
        files.append(File(f"notebooks/{path.name}", src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    files.append(File.generated(config, "assets/rd_plane.png", content=rd_plane_png()))
    return files


CLI_MARKER = "<!-- toyrd-cli-help -->"


def on_page_markdown(markdown, page, config, files):
    """Fill docs/cli.md with the help of every ``toyrd`` command (never stale)."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


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
    ax.axvline(toy.info, color="tab:green", ls="--", lw=1, label=f"$I(x;z^*) = {toy.info:.2f}$ nats")
    ax.set(xlabel="rate $R$ (nats)", ylabel="distortion $D$ (nats)", xlim=(0, 4.6), ylim=(0, 4.6),
           title=f"The toy's rate–distortion plane (H = {H:.4f} nats)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
