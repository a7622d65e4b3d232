"""`segur demo` (make demo): a passing proof against the reference RIS, then a seeded defect caught."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segur.cli import app


def test_the_demo_passes_the_reference_ris_and_catches_the_seeded_defect(tmp_path, cda_pack):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--size", "small", "--pack", str(cda_pack)])
    assert result.exit_code == 0, result.output
    assert "official CI-SIS pack" in result.output
    assert "verdict PASS" in result.output and "verdict FAIL" in result.output
    assert "FAIL qualified-ins-only [INS/va1.35" in result.output  # the check and the REM id it breaks
    clean = json.loads((tmp_path / "reference-ris" / "evidence.json").read_text(encoding="utf-8"))
    broken = json.loads((tmp_path / "reference-ris-provisional-as-qualified" / "evidence.json").read_text())
    assert (clean["verdict"], broken["verdict"]) == ("pass", "fail")
    assert (tmp_path / "reference-ris" / "index.html").is_file()


@dataclass
class _Outcome:
    exit_code: int
    verdict: str
    out: Path
    evidence: dict


def _fake_run_proof(verdicts):
    def run_proof(sut, couloir, out, **kwargs):
        verdict = verdicts[sut]
        checks = {"c": {"id": "c", "passed": verdict == "pass", "rem": ["X/1"], "problems": ["p"]}}
        evidence = {"requirements": {"X/1": {"verdict": verdict}}, "checks": checks}
        return _Outcome(0 if verdict == "pass" else 1, verdict, Path(out), evidence)
    return run_proof


@pytest.mark.parametrize(("clean", "defect", "args", "message"), [
    ("pass", "pass", ["--size", "small"], "was NOT caught"),  # a harness that passes a broken product
    ("fail", "fail", ["--defect", "none"], "reference RIS FAILED"),
], ids=["defect-not-caught", "reference-ris-fails"])
def test_the_demo_fails_when_the_harness_misjudges(tmp_path, monkeypatch, clean, defect, args, message):
    import segur.scenarios.proof as proof

    monkeypatch.setattr(proof, "run_proof", _fake_run_proof(
        {"reference-ris": clean, "reference-ris:provisional-as-qualified": defect}))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), *args])
    assert result.exit_code == 1
    assert message in result.output


def test_an_unknown_defect_is_refused_with_the_valid_names_before_anything_starts(tmp_path, monkeypatch):
    import segur.up

    monkeypatch.setattr(segur.up, "start_stack", lambda *a, **k: pytest.fail("the mocks were started"))
    result = CliRunner().invoke(app, ["demo", "--defect", "no-such-defect", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown defect 'no-such-defect'" in result.output
    assert "provisional-as-qualified" in result.output and "swallow-outage" in result.output
    assert "Traceback" not in result.output


def test_the_help_lists_the_defects():
    result = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "wrong-ins-oid" in result.output and "citizen-wrong-address" in result.output


def test_a_reference_ris_that_cannot_be_found_is_refused_before_the_mocks_start(tmp_path, monkeypatch):
    import segur.up

    monkeypatch.setattr(segur.up, "start_stack", lambda *a, **k: pytest.fail("the mocks were started"))
    monkeypatch.setenv("SEGUR_REFERENCE_RIS", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["demo", "--defect", "none", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "your command could not start: the reference RIS is not at" in result.stderr
