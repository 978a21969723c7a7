"""``toyrd explore``: a live classroom explorer (Panel on Bokeh) that retrains one exact model on
every control change. Needs the ``explore`` extra (panel, bokeh); ``import toyrd.explore`` does
not import them, :func:`app` and :func:`serve` do.

In a notebook: ``toyrd.explore.app()`` (the value of a cell shows the page). From a shell:
``toyrd explore`` (binds 127.0.0.1, serves its own JavaScript, no network needed).
"""

from __future__ import annotations

__all__ = ["app", "serve", "write_static", "write_grid"]


def app(export_dir: str = "explore_out"):
    """The explorer page as a Panel layout; see :func:`toyrd.explore._app.app`."""
    from toyrd.explore._app import app as _app

    return _app(export_dir=export_dir)


def serve(
    port: int = 5006,
    host: str = "127.0.0.1",
    *,
    show: bool = True,
    export_dir: str = "explore_out",
    ready=None,
) -> None:
    """Serve the explorer until interrupted; see :func:`toyrd.explore._serve.serve`."""
    from toyrd.explore._serve import serve as _serve

    _serve(port, host, show=show, export_dir=export_dir, ready=ready)


def write_static(out_dir, grid_dir=None) -> dict:
    """Write the static explorer page into ``out_dir`` (needs bokeh only; the models come from
    the committed grid); see :func:`toyrd.explore._static.write_static`."""
    from toyrd.explore import _static

    return _static.write_static(out_dir, _static.GRID_DIR if grid_dir is None else grid_dir)


def write_grid(out_dir, *, tables_cache=None, log=print) -> dict:
    """Train the static explorer's grid and write it into ``out_dir``; see
    :func:`toyrd.explore._static.write_grid` (needs jax; minutes)."""
    from toyrd.explore import _static

    return _static.write_grid(out_dir, tables_cache=tables_cache, log=log)
