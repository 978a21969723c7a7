"""The mutation-testing page (docs/mutation.md) and what it is built from.

The committed reports (docs/data/mutation/*.json, written by tools/mutate.py and trimmed by
docs/scripts/mutation_page.py) must cover every module of tools/mutate.py's TARGETS, each made
from the module's current source (its sha256); every surviving mutant must have an explanation in
docs/data/equivalent_mutants.toml and every explanation must match a survivor; and the page must
be the rendering of the two. The checker itself is shown to catch each fault on doctored data.
"""

import copy

import pytest
from repo_scripts import load_script

mutation_page = load_script("docs/scripts/mutation_page.py")


@pytest.fixture(scope="module")
def reports():
    return mutation_page.load_reports()


@pytest.fixture(scope="module")
def entries():
    return mutation_page.load_explanations()


def test_every_survivor_is_explained_and_every_report_is_current(reports, entries):
    assert mutation_page.problems(reports, entries) == []


def test_the_page_is_the_rendering_of_the_reports(reports, entries):
    page = mutation_page.PAGE.read_text(encoding="utf-8")
    assert page == mutation_page.render(reports, entries), (
        "docs/mutation.md is stale: run python docs/scripts/mutation_page.py"
    )


def test_the_reports_count_what_they_hold(reports):
    """Every mutant found was run (the IB modules: a seeded sample of them, recorded), and the
    counts are those of the verdicts listed."""
    for r in reports:
        assert r["mutants_run"] == len(r["mutants"]) <= r["mutants_found"]
        assert r["mutants_run"] == r["mutants_found"] or r["sample_seed"] is not None
        assert r["killed"] == sum(m["status"] == "killed" for m in r["mutants"])
        assert r["survived"] == sum(m["status"] == "survived" for m in r["mutants"])


def test_the_total_score_meets_the_bar(reports, entries):
    """The issue's bar on the conservative reading: the score without equivalent mutants,
    estimated over every mutant (the sampled IB modules weighted by their size), at least
    mutation_page.BAR; rounding and search survivors count as not killed."""
    sc = mutation_page.scores(reports, entries)
    assert sc["total"] > 0 and sc["estimate"] >= mutation_page.BAR, sc


def _report(module, found, killed, kinds):
    """A report of ``module``: ``found`` mutants, ``killed`` killed, survivors of ``kinds``."""
    mutants = [{"status": "killed"}] * killed + [
        {"status": "survived", "original": f"x{i} = {k}", "line": i, "operator": "op"}
        for i, k in enumerate(kinds)
    ]
    return {
        "module": module,
        "killed": killed,
        "survived": len(kinds),
        "mutants": mutants,
        "mutants_found": found,
        "mutants_run": len(mutants),
    }


def test_scores_leave_equivalent_mutants_out_and_weight_a_sample_by_its_module():
    entries = [
        {"module": m, "original": f"x{i} = {k}", "operators": ["op"], "kind": k, "why": ""}
        for m, kinds in (("a", ["equivalent", "rounding"]), ("b", ["search"] * 2))
        for i, k in enumerate(kinds)
    ]
    full = _report("a", 10, 8, ["equivalent", "rounding"])  # every mutant run
    sample = _report("b", 40, 8, ["search"] * 2)  # 10 of 40 run
    sc = mutation_page.scores([full, sample], entries)
    assert (sc["raw"], sc["score"], sc["detectable"]) == (16 / 20, 16 / 19, 16 / 18)
    # strata: a, 9 non-equivalent found, score 8/9; b, 40 estimated, score 8/10
    assert sc["estimate"] == pytest.approx((8 + 40 * 0.8) / 49, rel=1e-12)
    fpc = 1 - 10 / 40  # without replacement; a, run in full, adds no variance
    half = mutation_page.Z95 * (40**2 * fpc * 0.8 * 0.2 / 9) ** 0.5 / 49
    assert sc["half_width"] == pytest.approx(half, rel=1e-12)
    assert mutation_page.scores([full], entries)["half_width"] == 0.0


def _doctored(reports, entries, tmp_path):
    """A module of one survivor and its explanation, on a copy of the source tree's layout."""
    src = tmp_path / "pkg" / "mod.py"
    src.parent.mkdir()
    src.write_text("x = 1 + 2\n")
    import hashlib

    rep = {
        "module": "pkg/mod.py",
        "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "killed": 1,
        "survived": 1,
        "mutants": [
            {"line": 1, "operator": "Add->Sub", "status": "killed"},
            {
                "line": 1,
                "operator": "constant 2->3",
                "status": "survived",
                "original": "x = 1 + 2",
                "mutated": "x = 1 + 3",
            },
        ],
    }
    ent = {
        "module": "pkg/mod.py",
        "original": "x = 1 + 2",
        "operators": ["constant 2->3"],
        "kind": "equivalent",
        "why": "for the test",
    }
    return [rep], [ent], src


def test_the_checker_catches_each_fault(reports, entries, tmp_path):
    reps, ents, src = _doctored(reports, entries, tmp_path)

    def check(reps, ents):
        return mutation_page.problems(reps, ents, modules=["pkg/mod.py"], root=tmp_path)

    assert check(reps, ents) == []
    assert any("without an explanation" in p for p in check(reps, []))
    stale = copy.deepcopy(ents) + [dict(ents[0], operators=["drop USub"])]
    assert any("matches no survivor" in p for p in check(reps, stale))
    assert any("kind" in p for p in check(reps, [dict(ents[0], kind="probably")]))
    assert any("missing why" in p for p in check(reps, [dict(ents[0], why="")]))
    assert any("no mutation report" in p for p in check([], ents))
    src.write_text("x = 1 + 2  # edited\n")
    assert any("changed since its mutation report" in p for p in check(reps, ents))
    moved = copy.deepcopy(reps)
    moved[0]["mutants"][1]["line"] = 7  # a line that moved keeps its explanation
    src.write_text("x = 1 + 2\n")
    assert check(moved, ents) == []
