"""The claims register (docs/data/claims.toml) and its page (docs/claims.md).

Fails if a claim lacks a field or a test, if a contradicted claim gives no measurement, if a
listed test id does not exist (the listed files are collected by pytest in a subprocess, so a
renamed or deleted test is caught), or if docs/claims.md is not the rendering of the register.
The checker itself is shown to catch each kind of fault on a doctored register.
"""

import subprocess
import sys

import pytest
from repo_scripts import ROOT, load_script

claims_page = load_script("docs/scripts/claims_page.py")

#: The register should cover the sources: at least this many claims.
MIN_CLAIMS = 40


@pytest.fixture(scope="module")
def claims():
    return claims_page.load()


def _collect(files):
    """Every node id pytest collects from ``files`` (run from the repository root)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-m",
            "",  # every tier: a claim may be checked by a test of the long tier
            "-q",
            "-p",
            "no:cacheprovider",
            *sorted(files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {line.strip() for line in proc.stdout.splitlines() if "::" in line}


def problems(claims, collected):
    """Every rule the register breaks, one line each (empty: the register is sound)."""
    out = []
    ids = [c.get("id") for c in claims]
    if len(set(ids)) != len(ids):
        out.append("duplicate claim ids")
    for c in claims:
        cid = c.get("id", "?")
        out += [f"{cid}: missing field {f}" for f in claims_page.FIELDS if not c.get(f)]
        if c.get("source") not in claims_page.SOURCES:
            out.append(f"{cid}: unknown source {c.get('source')!r}")
        if c.get("status") not in claims_page.STATUSES:
            out.append(f"{cid}: unknown status {c.get('status')!r}")
        if c.get("status") == "contradicted" and not c.get("measured"):
            out.append(f"{cid}: contradicted but no measured disagreement")
        for t in c.get("tests") or []:
            if t not in collected and not any(n.startswith(t + "[") for n in collected):
                out.append(f"{cid}: test {t} does not exist")
    return out


@pytest.mark.long  # long tier: collects the claimed tests in a subprocess
def test_every_claim_has_an_existing_check(claims):
    files = {t.split("::")[0] for c in claims for t in c.get("tests") or []}
    collected = _collect(files)
    assert problems(claims, collected) == []
    assert len(claims) >= MIN_CLAIMS
    assert {c["source"] for c in claims} == set(claims_page.SOURCES)  # all four sources


def test_the_checker_catches_each_kind_of_fault(claims):
    good = dict(claims[0])
    collected = set(good["tests"])
    assert problems([good], collected) == []
    cases = {
        "no test": {**good, "tests": []},
        "missing test": {**good, "tests": ["tests/test_claims.py::test_nope"]},
        "bad status": {**good, "status": "maybe"},
        "unmeasured contradiction": {**good, "status": "contradicted", "measured": ""},
        "bad source": {**good, "source": "rumour"},
    }
    for what, bad in cases.items():
        assert problems([bad], collected), what
    assert problems([good, good], collected) == ["duplicate claim ids"]


def test_page_is_generated_from_the_register(claims):
    page = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    assert page == claims_page.render(claims), "run python docs/scripts/claims_page.py"
    doctored = [dict(claims[0], statement="something else")] + claims[1:]
    assert claims_page.render(doctored) != page


def test_page_is_in_the_site_nav():
    assert "claims.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_hypothesis_ci_profile_is_derandomised():
    """The CI profile replays the same examples on every run: derandomize and no database."""
    from hypothesis import settings

    ci = settings.get_profile("ci")
    assert ci.derandomize is True and ci.database is None
