"""The README's main command installs no PyTorch (issue 29, item 8): on plain PyPI a Linux
``pip install torch`` resolves to the CUDA build (17 nvidia/cuda/triton packages), and the main
job (``toyrd figure2``, JAX) needs none of it. The command is read as ``.ci/run`` reads it: the
first line of the fenced block after ``<!-- main-command -->``."""

import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra installs tomli
    import tomli as tomllib


def readme_command(marker: str) -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    at = lines.index(f"<!-- {marker} -->")
    fence = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("```"))
    return lines[fence + 1]


def _requirements(command: str) -> list:
    """Every requirement the command's ``pip install`` steps name, extras of this project
    expanded through pyproject.toml (recursively: ``toyrd[all]`` → jax, torch, plot)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    table = extras["optional-dependencies"]
    out = list(extras["dependencies"])

    def expand(names):
        for name in names:
            for req in table[name]:
                m = re.fullmatch(r"toyrd\[([\w,]+)\]", req)
                if m:
                    expand(m.group(1).split(","))
                else:
                    out.append(req)

    for step in command.split("&&"):
        words = shlex.split(step)
        if words[:2] != ["pip", "install"]:
            continue
        for w in words[2:]:
            m = re.fullmatch(r"\.\[([\w,]+)\]", w)
            if m:
                expand(m.group(1).split(","))
            elif not w.startswith("-"):
                out.append(w)
    return out


def _names(reqs) -> set:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in reqs}


def test_main_command_installs_no_pytorch():
    cmd = readme_command("main-command")
    assert cmd.rstrip().endswith("toyrd figure2"), cmd
    names = _names(_requirements(cmd))
    assert {"jax", "matplotlib"} <= names, names  # what the main job does need
    assert not {n for n in names if n == "torch" or n.startswith(("nvidia", "triton"))}, names


def test_test_command_still_installs_pytorch_for_the_torch_tests():
    assert "torch" in _names(_requirements(readme_command("test-command")))


def test_the_main_job_imports_no_torch():
    """Everything ``toyrd figure2`` loads (CLI, experiment, JAX trainer, plots) imports without
    torch: run with torch made unimportable."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import toyrd.cli, toyrd.experiments.figure2, toyrd.plot, toyrd.train.jax\n"
        "toyrd.cli.build_parser(); toyrd.plot.figure2_figure\n"
        "print('ok')"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)  # fmt: skip
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
