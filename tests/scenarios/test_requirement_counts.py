"""The counts of requirements a user sees agree: the evidence pack's "N/M requirements" and `segur rem
coverage`'s "covered by tests: K of T" each say what they count, and UNDER_REVIEW is explained where shown."""

from __future__ import annotations

from typer.testing import CliRunner

from segur.cli import app
from segur.scenarios.evidence_pack import UNDER_REVIEW_NOTE, requirement_counts, requirements_note
from segur.scenarios.evidence_pack.html import render


def _evidence() -> dict:
    """Two requirements the checks carry: one APPROVED in the RIS coverage map, one UNDER_REVIEW."""
    catalogue = {"RIS.DMP/va1.13": {"status": "APPROVED"}, "INS/va1.35": {"status": "UNDER_REVIEW"}}
    return {"verdict": "pass", "meta": {"couloir": "RIS", "sut": "reference-ris", "size": "full",
                                        "generated": "2026-11-23T12:00:00+00:00", "timings": {},
                                        "validation": {"pack": "/ans"}, "selection": []},
            "run": {"plan": {"counts": {}}, "tasks": []}, "checks": {}, "tests": [],
            "requirements": {rem_id: {"id": rem_id, "tests": [], "checks": [], "verdict": "pass",
                                      "catalogue": cat} for rem_id, cat in catalogue.items()}}


def test_the_pack_counts_every_id_its_checks_carry_and_says_how_many_the_coverage_map_has():
    counts = requirement_counts(_evidence())
    assert counts["carried"] == 2 and counts["pass"] == 2
    assert counts["in_coverage_map"] == 1  # INS/va1.35 is UNDER_REVIEW: not in the APPROVED map
    assert counts["coverage_map"] >= 60
    note = requirements_note(_evidence())
    assert note.startswith("2 requirements = every REM id the RIS checks carry")
    assert f"1 of them are among the {counts['coverage_map']} APPROVED RIS requirements" in note


def test_index_html_explains_the_count_and_under_review():
    html = render(_evidence())
    assert "2 requirements = every REM id the RIS checks carry" in html
    assert "UNDER_REVIEW: ANS had not yet approved this requirement" in html
    evidence = _evidence()
    del evidence["requirements"]["INS/va1.35"]
    assert "UNDER_REVIEW: ANS" not in render(evidence)  # said only where the status is shown


def test_rem_coverage_says_what_the_evidence_pack_counts_more():
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", "RIS"])
    assert result.exit_code == 0, result.output
    assert "a proof's evidence pack counts " in result.output
    assert "socle (SC.*), UNDER_REVIEW and document-content ids" in result.output


def test_rem_show_explains_under_review_and_only_there():
    shown = CliRunner().invoke(app, ["rem", "show", "INS/va1.35", "--couloir", "RIS"]).output
    assert "status UNDER_REVIEW" in shown and UNDER_REVIEW_NOTE in shown
    approved = CliRunner().invoke(app, ["rem", "show", "RIS.DMP/va1.13"]).output
    assert UNDER_REVIEW_NOTE not in approved
