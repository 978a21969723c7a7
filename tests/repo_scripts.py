"""The repository's scripts (docs/scripts, docs/_hooks, tools), which are not packages, loaded
as modules for their tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relpath: str, name: str | None = None):
    """A fresh module executed from ``ROOT / relpath``, named ``name`` (default: the stem)."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
