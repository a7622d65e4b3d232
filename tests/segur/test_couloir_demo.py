"""`segur demo --couloir all`: every couloir's proof against its reference product, one line a couloir at the
end (the proofs themselves are faked here: tests/scenarios/test_couloir_proofs.py runs the real ones)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segur.scenarios.proof as proof
import segur.up
from segur.cli import app


@dataclass
class _Outcome:
    exit_code: int
    verdict: str
    out: Path
    evidence: dict


def _fake_run_proof(failing: set[tuple[str, str]], calls: list):
    """A run_proof recording (sut, couloir, folder name), failing for the (sut, couloir) in `failing`."""
    def run_proof(sut, couloir, out, **kwargs):
        calls.append((sut, couloir, Path(out).name))
        verdict = "fail" if (sut, couloir) in failing or ":" in sut else "pass"
        checks = {"c": {"id": "c", "passed": verdict == "pass", "rem": ["X/1"], "problems": ["p"]}}
        requirements = {"X/1": {"verdict": verdict}, "X/2": {"verdict": "pass"}}
        evidence = {"requirements": requirements, "checks": checks, "meta": {"couloir": couloir}}
        return _Outcome(0 if verdict == "pass" else 1, verdict, Path(out), evidence)
    return run_proof


def test_all_runs_each_couloir_against_its_reference_product_and_ends_with_one_line_each(tmp_path,
                                                                                        monkeypatch):
    calls = []
    monkeypatch.setattr(proof, "run_proof", _fake_run_proof(set(), calls))
    result = CliRunner().invoke(app, ["demo", "--couloir", "all", "--out", str(tmp_path), "--size", "small"])
    assert result.exit_code == 0, result.output
    defect = "reference-ris:provisional-as-qualified"
    assert calls == [("reference-ris", "RIS", "reference-ris"), ("reference-ris", "BIO", "reference-ris-bio"),
                     ("reference-lgc", "LGC", "reference-lgc"), ("reference-dpi", "DPI", "reference-dpi"),
                     ("reference-pfi", "PFI", "reference-pfi"), ("reference-ri", "RI", "reference-ri"),
                     (defect, "RIS", "reference-ris-provisional-as-qualified")]
    lines = result.stdout.splitlines()
    table = lines[lines.index("Every couloir, each against its reference product (open index.html in a "
                              "browser):") + 1:][:6]
    assert [line.split()[:4] for line in table] == [
        ["RIS", "reference-ris", "PASS", "2/2"], ["BIO", "reference-ris", "PASS", "2/2"],
        ["LGC", "reference-lgc", "PASS", "2/2"], ["DPI", "reference-dpi", "PASS", "2/2"],
        ["PFI", "reference-pfi", "PASS", "2/2"], ["RI", "reference-ri", "PASS", "2/2"]]
    assert all(line.endswith("index.html") for line in table)


def test_all_fails_naming_the_couloir_whose_reference_product_failed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(proof, "run_proof", _fake_run_proof({("reference-dpi", "DPI")}, calls))
    result = CliRunner().invoke(app, ["demo", "--couloir", "all", "--out", str(tmp_path), "--defect", "none"])
    assert result.exit_code == 1
    assert "the reference product of couloir DPI FAILED" in result.output
    assert [line.split()[:3] for line in result.stdout.splitlines() if line.startswith("   DPI ")] == [
        ["DPI", "reference-dpi", "FAIL"]]


def test_an_unknown_couloir_is_refused_before_the_mocks_start(tmp_path, monkeypatch):
    monkeypatch.setattr(segur.up, "start_stack", lambda *a, **k: pytest.fail("the mocks were started"))
    result = CliRunner().invoke(app, ["demo", "--couloir", "LGO", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "couloir must be one of RIS, BIO, LGC" in result.output
