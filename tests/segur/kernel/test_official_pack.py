"""Where the official ANS CDA pack is found: one search (`segur.kernel.official_pack.find_pack`) for
`segur up`, `proof`, `demo` and `validate`, and what a proof says when it ran without the pack."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import junitparser
import pytest
from typer.testing import CliRunner

import segur.up
from segur.cli import app
from segur.kernel.official_pack import BESIDE, find_pack
from segur.scenarios.evidence_pack import annotate_junit, verdict_label
from segur.scenarios.evidence_pack.html import render
from segur.up import load_config
from segur.up_cli import pack_note, settle_pack


@pytest.fixture(autouse=True)
def _no_env_pack(monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)


@pytest.fixture
def beside(tmp_path, monkeypatch):
    """A checkout folder with a pack laid out as ANS publishes it at ../shared/ref/cda; the cwd is the
    checkout."""
    pack = tmp_path / "shared" / "ref" / "cda"
    for folder in ("infrastructure", "schematrons", "jeuxDeValeurs"):
        (pack / folder).mkdir(parents=True)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    return pack


def test_the_option_beats_the_environment_which_beats_the_config_which_beats_the_folder_beside(
        beside, tmp_path, monkeypatch):
    assert find_pack(None).path == beside.resolve()
    assert find_pack(None).source == f"{BESIDE.as_posix()} beside the current directory"
    assert find_pack(None, configured="/from/config", configured_in="[stack] pack in ci.toml").source == \
        "[stack] pack in ci.toml"
    monkeypatch.setenv("SEGUR_PACK", "/from/env")
    assert find_pack(None, configured="/from/config").source == "env SEGUR_PACK"
    assert str(find_pack("/from/option").path) == "/from/option"


def test_no_pack_anywhere_is_none_and_a_folder_that_is_not_a_pack_is_not_taken(tmp_path, monkeypatch):
    (tmp_path / "shared" / "ref" / "cda" / "infrastructure").mkdir(parents=True)  # no schematrons/
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    assert find_pack(None) is None


def test_the_config_is_read_only_when_nothing_before_it_chose(monkeypatch):
    monkeypatch.setenv("SEGUR_PACK", "/from/env")
    assert find_pack(None, config_lookup=lambda: pytest.fail("config read")).source == "env SEGUR_PACK"


def test_segur_up_finds_the_pack_beside_the_checkout_as_make_demo_does(beside):
    settings = load_config()
    found = settle_pack(settings, None, None)
    assert settings["stack"]["pack"] == str(beside.resolve()) and found.source.startswith("../shared/ref/cda")
    assert pack_note(settings) is None


def test_segur_validate_finds_the_pack_beside_the_checkout(cda_pack, tmp_path, monkeypatch):
    (tmp_path / "shared" / "ref").mkdir(parents=True)
    (tmp_path / "shared" / "ref" / "cda").symlink_to(cda_pack)
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    monkeypatch.setenv("HOME", str(tmp_path))  # no user config file
    document = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml"
    result = CliRunner().invoke(app, ["validate", "--profile", "none", "-f", "json", str(document)])
    layers = {layer["name"]: layer["status"] for layer in json.loads(result.stdout)["documents"][0]["layers"]}
    assert layers["xsd"] == "ran", result.output
    assert "no pack directory configured" not in result.stderr


def test_require_pack_refuses_a_proof_without_the_pack_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(segur.up, "start_stack", lambda *a, **k: pytest.fail("the mocks were started"))
    arguments = ["proof", "--sut", "reference-ris", "--require-pack", "--out", "evidence"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "--require-pack: no official CDA pack found" in result.stderr
    assert "ansforge/TestContenuCDA-3-0" in result.stderr
    assert not (tmp_path / "evidence").exists()


def _evidence(verdict: str, pack: str | None) -> dict:
    return {"verdict": verdict, "meta": {"couloir": "RIS", "sut": "reference-ris", "size": "full",
                                         "generated": "2026-11-23T12:00:00+00:00", "timings": {},
                                         "validation": {"pack": pack}, "selection": []},
            "run": {"plan": {"counts": {}}, "tasks": []}, "checks": {}, "tests": [], "requirements": {}}


@pytest.mark.parametrize(("verdict", "pack", "label"), [
    ("pass", None, "PASS (official CDA checks not run)"),
    ("pass", "/ans/cda", "PASS"),
    ("fail", None, "FAIL"),
])
def test_the_verdict_label_says_when_the_official_checks_did_not_run(verdict, pack, label):
    evidence = _evidence(verdict, pack)
    assert verdict_label(evidence) == label
    html = render(evidence)
    assert f"Verdict: <b>{label}</b>" in html
    assert ("Not a conformance PASS" in html) == (label == "PASS (official CDA checks not run)")


@pytest.mark.parametrize(("verdict", "pack", "label"), [
    ("pass", "/ans/cda", "PASS (partial run: 2 requirement(s) not run)"),
    ("pass", None, "PASS (official CDA checks not run; partial run: 2 requirement(s) not run)"),
    ("fail", "/ans/cda", "FAIL"),
])
def test_the_verdict_label_of_a_partial_run_says_how_many_requirements_did_not_run(verdict, pack, label):
    evidence = _evidence(verdict, pack)
    evidence["meta"]["selection"] = ["-k", "citizen"]
    evidence["requirements"] = {"MSS/va1.19": {"verdict": "pass"}, "DMP/va1.01": {"verdict": "not run"},
                                "INS/va1.02": {"verdict": "not run"}}
    assert verdict_label(evidence) == label


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0"
skipped="0" tests="1"><testcase classname="test_ris_proof" name="test_dmp_accepted" time="0.1"/></testsuite>
</testsuites>"""


@pytest.mark.parametrize(("pack", "label"),
                         [(None, "PASS (official CDA checks not run)"), ("/ans/cda", "PASS")])
def test_the_junit_carries_the_verdict_and_a_skipped_case_without_the_pack(tmp_path, pack, label):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT, encoding="utf-8")
    annotate_junit(path, _evidence("pass", pack))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite.find("properties/property[@name='segur.verdict']").get("value") == label
    skipped = [case for case in suite.findall("testcase") if case.find("skipped") is not None]
    assert len(skipped) == (0 if pack else 1)
    assert suite.get("tests") == ("1" if pack else "2")
    cases = [case for suite in junitparser.JUnitXml.fromfile(str(path)) for case in suite]
    assert len(cases) == int(suite.get("tests"))
