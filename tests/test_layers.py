"""The package's layers, checked from the source: no module imports a higher layer, and none
imports another module's private names or another subpackage's private modules.

The order (README, Layout): base (errors, _backend, _validate, _formulas) → data → tables →
quantities → objectives → train → experiments → plot → explore → cli. ``testing`` sits beside
``train`` (strategies over tables and quantities). Imports inside functions count too: a lazy
import of a higher layer is still an inverted dependency.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "toyrd"

#: Layer rank of each top-level part of the package.
LAYERS = {
    "errors": 0,
    "_backend": 0,
    "_validate": 0,
    "_formulas": 0,
    "_output": 0,
    "_memory": 0,
    "data": 1,
    "tables": 2,
    "quantities": 3,
    "objectives": 4,
    "train": 5,
    "testing": 5,
    "experiments": 6,
    "plot": 7,
    "explore": 8,
    "cli": 9,
}
#: Private modules every layer may use (the shared internals at the base).
SHARED_PRIVATE = {
    "toyrd._validate",
    "toyrd._formulas",
    "toyrd._backend",
    "toyrd._output",
    "toyrd._memory",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(path):
    """(imported module, imported name or None, line) for every import in the file."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                yield node.module, a.name, node.lineno


def _layer(module: str):
    parts = module.split(".")
    if parts[0] != "toyrd" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def _subpackage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _violations():
    out = []
    for name, path in _modules():
        if name == "toyrd" or name.endswith("__main__"):
            continue  # the top-level package re-exports and lazily loads every layer
        own = _layer(name)
        for target, imported, line in _imports(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if not target.startswith("toyrd"):
                continue
            full = f"{target}.{imported}" if imported else target
            rank = _layer(full if _layer(full) is not None else target)
            if rank is None and target == "toyrd" and imported:
                rank = LAYERS.get(imported)
            if own is not None and rank is not None and rank > own:
                out.append(f"{where}: layer {name} imports higher layer {full}")
            if imported and imported.startswith("_") and full not in SHARED_PRIVATE:
                if not (imported.startswith("__") or full.startswith(_subpackage(name) + ".")):
                    out.append(f"{where}: {name} imports private {full}")
            private_mod = [p for p in target.split(".")[1:] if p.startswith("_")]
            if private_mod and target not in SHARED_PRIVATE:
                if _subpackage(target) != _subpackage(name):
                    out.append(f"{where}: {name} imports private module {target}")
    return out


def test_no_import_goes_up_a_layer_or_into_private_names():
    bad = sorted(set(_violations()))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("from toyrd.plot import figure2_figure\n", "imports higher layer"),
        ("from toyrd.experiments.figure2 import _paired_loss\n", "imports private"),
        ("from toyrd.quantities._info import evaluate\n", "imports private module"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(tmp_path, monkeypatch, text, expected):
    """Plant one bad import in a copy of the data layer; the checker must report it."""
    copy = tmp_path / "toyrd"
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    (copy / "data").mkdir()
    (copy / "data" / "__init__.py").write_text(text)
    monkeypatch.setattr(f"{__name__}.PACKAGE", copy)
    assert any(expected in v for v in _violations())


def test_module_sizes():
    """Small modules by concept: none above ~400 lines."""
    big = {
        str(p.relative_to(PACKAGE.parent)): n
        for _, p in _modules()
        if (n := len(p.read_text().splitlines())) > 420
    }
    assert not big, big


def test_every_public_name_is_exported():
    """Every module-level name without a leading underscore is in its module's ``__all__``."""
    missing = {}
    for name, path in _modules():
        tree = ast.parse(path.read_text())
        exported, defined = None, []
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "__all__":
                exported = {e.value for e in node.value.elts}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.append(node.name)
            elif isinstance(node, ast.Assign):
                defined += [t.id for t in node.targets if isinstance(t, ast.Name)]
        if exported is None and path.name in ("__init__.py", "__main__.py"):
            continue
        public = [d for d in defined if not d.startswith("_")]
        gap = [d for d in public if exported is None or d not in exported]
        if gap:
            missing[name] = gap
    assert not missing, missing
