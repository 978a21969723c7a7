"""The ``toyrd`` command line. Each command lives in a small module with a ``register(sub)``
function; this file only assembles them, handles errors and prints results.

Exit status 2 with one line on stderr for any bad input (no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys

import numpy as np

from ._validate import ToyrdError

__all__ = ["main", "dumps", "common_parser"]

#: Modules that contribute commands, in help order. Each defines ``register(subparsers, common)``.
COMMAND_MODULES = ["toyrd._cli_core", "toyrd._cli_figure", "toyrd._cli_bench", "toyrd._cli_torch",
                   "toyrd._cli_train", "toyrd._cli_explore"]


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; the contract is one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def common_parser() -> argparse.ArgumentParser:
    """Options every computing command takes: --json and --seed."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def _plain(obj):
    """JSON-ready: numpy → lists/floats; non-finite floats → the strings 'inf', '-inf', 'nan'."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    return obj


def dumps(obj, **kw) -> str:
    """Strict JSON (no NaN/Infinity tokens): non-finite numbers are written as strings."""
    return json.dumps(_plain(obj), allow_nan=False, **kw)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="toyrd", description="Exact rate–distortion laboratory for VAEs.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"toyrd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    common = common_parser()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ToyrdError as exc:
        print(f"toyrd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"toyrd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
