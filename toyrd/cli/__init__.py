"""The ``toyrd`` command line. Each command lives in a small module with a ``register(sub)``
function; this file only assembles them, handles errors and prints results.

Exit status: 0 on success; 2 with one line on stderr for any bad input or failed read/write
(no traceback); 130 when interrupted (Ctrl-C). See docs/cli.md, "Errors and exit codes".
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from pathlib import Path

from toyrd.errors import ToyrdError
from toyrd.tables import dumps

__all__ = [
    "main",
    "dumps",
    "common_parser",
    "build_parser",
    "COMMAND_MODULES",
    "family_name",
    "FAMILY_HELP",
    "jax_cache_dir",
    "enable_jax_cache",
    "CACHE_ENV",
    "CACHE_MIN_COMPILE_S",
]

#: Environment variable naming the JAX compilation cache folder of the CLI ("0" / "off": none).
CACHE_ENV = "TOYRD_JAX_CACHE"
#: Compilations shorter than this are not written to the cache (JAX's default is 1 s, which
#: would skip most of toyrd's scans; a cached entry loads in milliseconds).
CACHE_MIN_COMPILE_S = 0.1

#: Modules that contribute commands, in help order. Each defines ``register(subparsers, common)``.
COMMAND_MODULES = [
    "toyrd.cli._core",
    "toyrd.cli._figure",
    "toyrd.cli._bench",
    "toyrd.cli._torch",
    "toyrd.cli._train",
    "toyrd.cli._remedies",
    "toyrd.cli._explore",
]


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; the contract is one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def family_name(text: str) -> str:
    """argparse type of ``--family``: any name :func:`toyrd.tables.get_family` accepts."""
    from toyrd.tables import get_family

    try:
        get_family(text)
    except ToyrdError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("family: ")) from None
    return text


#: Help text of every ``--family`` option.
FAMILY_HELP = (
    "model family: tabular, bump, or encoder/decoder of the maps tabular, bump, "
    "bump(w0=X), onehot, bump+free (e.g. bump/tabular)"
)


def common_parser() -> argparse.ArgumentParser:
    """Options every computing command takes: --json and --seed."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="toyrd", description="Exact rate–distortion laboratory for VAEs.")
    from toyrd import __version__

    parser.add_argument("--version", action="version", version=f"toyrd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    common = common_parser()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def jax_cache_dir():
    """The CLI's persistent JAX compilation cache folder, or None when disabled.

    ``$TOYRD_JAX_CACHE`` if set ("0", "off", "false", "no" or empty: disabled), else
    ``$XDG_CACHE_HOME/toyrd/jax`` (default ``~/.cache/toyrd/jax``).
    """
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "false", "no") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "toyrd" / "jax"


def _unwritable(folder: Path) -> str:
    """Why ``folder`` cannot hold the cache ("" when it can): created if missing, probed."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".toyrd-probe-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""


def enable_jax_cache():
    """Point JAX's persistent compilation cache at :func:`jax_cache_dir` (a second run of the
    same shapes skips XLA compilation). Sets the ``JAX_*`` environment defaults, so JAX is not
    imported here (commands without JAX stay fast); updates the config if JAX is loaded.
    Returns the folder or None."""
    folder = jax_cache_dir()
    if folder is None:
        return None
    reason = _unwritable(folder)
    if reason:  # one line, then no cache (JAX would warn at every read and write)
        print(f"toyrd: note: JAX cache {folder} is not usable ({reason}); running without it "
              f"(set {CACHE_ENV} to a writable folder, or 0)", file=sys.stderr)  # fmt: skip
        return None
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": CACHE_MIN_COMPILE_S,
    }
    for key, value in settings.items():
        os.environ.setdefault(key.upper(), str(value))
    if "jax" in sys.modules:
        jax = sys.modules["jax"]
        for key, value in settings.items():
            jax.config.update(key, type(value)(os.environ[key.upper()]))
    return folder


def _tolerant_streams() -> None:
    """Never crash on a character the terminal's encoding lacks (σ, β under
    PYTHONIOENCODING=ascii): such characters are written as escapes instead."""
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if enc and enc != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _quiet_closed_stdout() -> None:
    """The reader of stdout has gone (``toyrd data --json | head -c 10``): send what is left to
    /dev/null, so neither this process nor the interpreter's exit reports the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def main(argv=None) -> int:
    _tolerant_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (status 2, one line) and --help / --version (0)
        return int(exc.code or 0)
    try:
        enable_jax_cache()
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return code
    except BrokenPipeError:  # the reader closed the pipe: not an error, as for Unix tools
        _quiet_closed_stdout()
        return 0
    except ToyrdError as exc:
        print(f"toyrd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"toyrd {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a write or read the command did not foresee: still one line
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"toyrd {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
