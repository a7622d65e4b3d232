"""`segur demo` (make demo): a passing proof against the reference RIS, then a seeded defect caught."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segur.scenarios.proof as proof
import segur.up
from segur.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_demo_sample() -> list[str]:
    """The lines of the README's "What `make demo` shows" sample."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## What `make demo` shows"):]
    block = section[section.index("```\n") + 4:]
    return block[:block.index("```")].splitlines()


def _pattern(line: str) -> re.Pattern:
    """A README line as a pattern: `…` stands for anything (a path, a time), and ports change every run."""
    parts = re.split(r"(…|127\.0\.0\.1:\d+)", line)
    return re.compile("".join(".*" if part == "…" else r"127\.0\.0\.1:\d+" if part.startswith("127.0.0.1:")
                              else re.escape(part) for part in parts))


def unmatched_sample_lines(sample: list[str], output: str) -> list[str]:
    """The sample lines the output lacks, each matched as a whole line, in order."""
    lines = output.splitlines()
    missing, position = [], 0
    for line in sample:
        pattern = _pattern(line)
        found = next((i for i in range(position, len(lines)) if pattern.fullmatch(lines[i])), None)
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing


def test_the_sample_matcher_ignores_ports_and_elisions_but_not_words():
    sample = ["   insi      soap=http://127.0.0.1:42859/lps", "   …/evidence/reference-ris/index.html"]
    assert unmatched_sample_lines(sample, "   insi      soap=http://127.0.0.1:1234/lps\n"
                                          "   /tmp/x/evidence/reference-ris/index.html\n") == []
    assert unmatched_sample_lines(sample, "   insi      wsdl=http://127.0.0.1:1234/lps\n") == sample


@pytest.mark.slow
def test_the_demo_passes_the_reference_ris_catches_the_seeded_defect_and_prints_the_readme_sample(
        tmp_path, cda_pack):
    out = tmp_path / "evidence"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--size", "small", "--pack", str(cda_pack)])
    assert result.exit_code == 0, result.output
    assert unmatched_sample_lines(readme_demo_sample(), result.stdout) == [], result.stdout
    assert "passed in" not in result.output  # the check suites' pytest output only with -v
    clean = json.loads((out / "reference-ris" / "evidence.json").read_text(encoding="utf-8"))
    broken = json.loads((out / "reference-ris-provisional-as-qualified" / "evidence.json").read_text())
    assert (clean["verdict"], broken["verdict"]) == ("pass", "fail")
    assert (out / "reference-ris" / "index.html").is_file()


@dataclass
class _Outcome:
    exit_code: int
    verdict: str
    out: Path
    evidence: dict


def _fake_run_proof(verdicts, calls=None):
    def run_proof(sut, couloir, out, **kwargs):
        if calls is not None:
            calls.append(kwargs)
        verdict = verdicts[sut]
        checks = {"c": {"id": "c", "passed": verdict == "pass", "rem": ["X/1"], "problems": ["p"]}}
        requirements = {"X/1": {"verdict": verdict}}
        evidence = {"requirements": requirements, "checks": checks, "meta": {"couloir": couloir}}
        return _Outcome(0 if verdict == "pass" else 1, verdict, Path(out), evidence)
    return run_proof


@pytest.mark.parametrize(("args", "quiet"), [([], True), (["-v"], False)], ids=["default", "verbose"])
def test_the_check_suites_pytest_output_shows_only_with_verbose(tmp_path, monkeypatch, args, quiet):
    calls = []
    monkeypatch.setattr(proof, "run_proof", _fake_run_proof(
        {"reference-ris": "pass", "reference-ris:provisional-as-qualified": "fail"}, calls))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    assert [call["quiet"] for call in calls] == [quiet, quiet]
    assert ("pki " in result.output) == (not quiet)  # every endpoint only with -v


@pytest.mark.parametrize(("clean", "defect", "args", "message"), [
    ("pass", "pass", ["--size", "small"], "was NOT caught"),  # a harness that passes a broken product
    ("fail", "fail", ["--defect", "none"], "reference RIS FAILED"),
], ids=["defect-not-caught", "reference-ris-fails"])
def test_the_demo_fails_when_the_harness_misjudges(tmp_path, monkeypatch, clean, defect, args, message):
    monkeypatch.setattr(proof, "run_proof", _fake_run_proof(
        {"reference-ris": clean, "reference-ris:provisional-as-qualified": defect}))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), *args])
    assert result.exit_code == 1
    assert message in result.output


def test_an_unknown_defect_is_refused_with_the_valid_names_before_anything_starts(tmp_path, monkeypatch):
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
    monkeypatch.setattr(segur.up, "start_stack", lambda *a, **k: pytest.fail("the mocks were started"))
    monkeypatch.setenv("SEGUR_REFERENCE_RIS", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["demo", "--defect", "none", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "your command could not start: the reference RIS is not at" in result.stderr
