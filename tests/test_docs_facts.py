"""Facts the pages state about the code stay true: counts and versions drift, these tests fail.

* The number of lessons written in words ("Eight lessons") on the README and the docs pages
  equals the number of lesson files in ``notebooks/``; the Start page and the Lessons page link
  every lesson.
* The Install page's extras table lists every extra of ``pyproject.toml``.
* The version of ``pyproject.toml`` is ``toyrd.__version__``; the benchmarks page names, for each
  benchmark result, the toyrd version that produced it (``benchmarks/results/*.json``).
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import toyrd

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()
#: Where the lesson count is written in words.
COUNT_PAGES = ["README.md", "docs/index.md", "docs/lessons.md"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def lesson_counts(text: str) -> list[str]:
    """Every "<number word> [short ]lessons" of ``text``, lower-cased."""
    pat = r"\b(" + "|".join(WORDS) + r")\s+(?:short\s+)?lessons\b"
    return [m.lower() for m in re.findall(pat, text, flags=re.IGNORECASE)]


def test_lesson_count_in_words_matches_the_notebooks():
    expected = WORDS[len(LESSONS)]
    seen = {}
    for rel in COUNT_PAGES:
        found = lesson_counts((ROOT / rel).read_text(encoding="utf-8"))
        assert found, f"{rel}: no '<N> lessons' sentence (update COUNT_PAGES)"
        seen[rel] = found
    wrong = {rel: f for rel, f in seen.items() if any(w != expected for w in f)}
    assert not wrong, f"{len(LESSONS)} lessons in notebooks/, but the pages say {wrong}"


def test_start_and_lessons_pages_link_every_lesson():
    for rel in ("docs/start.md", "docs/lessons.md"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        missing = [p.name for p in LESSONS if f"notebooks/{p.name}" not in text]
        assert not missing, f"{rel} does not link {missing}"


def test_install_page_lists_every_extra():
    extras = _pyproject()["project"]["optional-dependencies"]
    text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\|\s*`([\w-]+)`\s*\|", text, flags=re.MULTILINE))
    assert set(extras) <= listed, f"extras missing from install.md: {sorted(set(extras) - listed)}"


def test_version_is_one():
    assert _pyproject()["project"]["version"] == toyrd.__version__


def test_benchmarks_page_names_the_version_of_each_result():
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("- **Software**"))
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        if path.stem == "summary":
            continue
        env = json.loads(path.read_text(encoding="utf-8"))
        ver = env.get("machine", {}).get("versions", {}).get("toyrd")
        assert ver, f"{path.name} records no toyrd version"
        m = re.search(re.escape(ver) + r" \(([^)]*)\)", line)
        assert m and path.stem in m.group(1).split(", "), (
            f"benchmarks page does not say {path.stem} ran toyrd {ver}: {line[:160]}"
        )
