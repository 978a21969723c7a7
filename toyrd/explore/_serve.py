"""Serve the explorer on a local address, with Bokeh's and Panel's JavaScript served by the app
itself (no CDN): the page loads with no network beyond the loopback address."""

from __future__ import annotations

import socket
import sys
import threading

from toyrd._validate import check_int
from toyrd.errors import ToyrdError

__all__ = ["serve", "LOOPBACK"]

#: The default address: only this machine can open the page.
LOOPBACK = "127.0.0.1"


def serve(
    port: int = 5006,
    host: str = LOOPBACK,
    *,
    show: bool = True,
    export_dir: str = "explore_out",
    ready=None,
) -> None:
    """Serve :func:`toyrd.explore.app` at ``http://host:port/`` until interrupted.

    ``port`` 0 picks a free port. ``ready(url)`` is called once the server listens (default:
    print the address on stdout). Blocks; Ctrl-C stops the server. Sets Bokeh's resource mode
    to "server" for the whole process (so the page needs no CDN).
    """
    check_int("port", port, 0)
    if port > 65535:
        raise ToyrdError(f"port: {port}, expected at most 65535")
    # BokehJS from this server, never a CDN, whatever BOKEH_RESOURCES says (set before the
    # first session renders; this process serves nothing else).
    from bokeh.settings import settings

    settings.resources.set_value("server")
    import panel as pn

    from toyrd.explore._app import app

    try:
        port = _bindable(host, port)
        origins = [f"{host}:{port}"] + ([f"localhost:{port}"] if host == LOOPBACK else [])
        server = pn.serve(
            _session(app, export_dir),
            port=port,
            address=host,
            websocket_origin=origins,
            show=False,
            start=False,
            verbose=False,
            title="toyrd explore",
        )
    except (OSError, ValueError) as exc:  # busy port, unknown host, an address Bokeh rejects
        raise ToyrdError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})"
        ) from None
    url = f"http://{f'[{host}]' if ':' in host else host}:{server.port}/"
    threading.Thread(target=_warm_up, name="toyrd-explore-warm-up", daemon=True).start()
    (ready or _announce)(url)
    if show:
        import webbrowser

        webbrowser.open(url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _bindable(host: str, port: int) -> int:
    """``port`` (0: a free one) after checking that it can be bound on ``host`` now — the
    websocket origin must name the real port, and Bokeh leaks the socket of a failed bind."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tornado binds it
        sock.bind((host, port))
        return sock.getsockname()[1]


def _warm_up() -> None:
    """Before the first page asks: train the default model once, so its compiled run (from JAX's
    persistent cache when warm) and the information-bottleneck frontier are ready. A page that
    opens meanwhile is usable at once and trains on its own worker."""
    from toyrd.explore import _model as M

    try:
        M.frontier()
        M.train_model(M.check_settings(M.Settings()))
    except Exception:  # noqa: BLE001,S110 -- a warm-up only; the page reports its own errors
        pass


def _session(app, export_dir):
    """A session factory: each browser tab gets its own explorer."""
    return lambda: app(export_dir=export_dir)


def _announce(url: str) -> None:
    print(f"toyrd explore: serving {url} (Ctrl-C stops)", flush=True)
    sys.stdout.flush()
