"""`segur proof` options: `--pack` (the official pack the mocks validate with) and how a partial run
(`-k`/`-m`) is shown, on the command line and in index.html."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.scenarios import proof
from segur.scenarios.checks import CHECKS
from segur.scenarios.evidence_pack.html import render
from segur.scenarios.suites import SUITES


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("SEGUR_PACK", "SEGUR_SUT"):
        monkeypatch.delenv(name, raising=False)  # restored (absent) after the test, whatever the CLI set


def test_pack_must_be_an_existing_directory(tmp_path):
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--pack", str(tmp_path / "nope"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


@pytest.fixture
def no_mocks(monkeypatch):
    """Starting the mocks fails the test: a refused --sut must be refused before."""
    def start_stack(*args, **kwargs):
        raise AssertionError("the mocks were started")

    monkeypatch.setattr(proof, "start_stack", start_stack)  # where the proof looks it up


@pytest.fixture
def broken_files(tmp_path):
    (tmp_path / "not-executable.sh").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('missing licence key')\n")
    return tmp_path


@pytest.mark.parametrize(("sut", "reason"), [
    ("nonsense", "expected cmd:<template>"),
    ("reference-ris:no-such-defect", "unknown defect 'no-such-defect'"),
    ("cmd:my-ris {no_such_field}", "no_such_field"),
    ("cmd:no-such-ris-binary --task {task_json_file}", "no-such-ris-binary: no such command on PATH"),
    ("cmd:./no/such/run.sh --task {task_json_file}", "./no/such/run.sh: no such file"),
    ("cmd:{dir}/not-executable.sh {task_json_file}", "not-executable.sh: not executable"),
    ("cmd:python3 -c 'x", "No closing quotation"),
    ("cmd:my-ris --note \"{task_json_file}", "check its quotes"),
    ("plugin:no_such_module:send", "cannot import no_such_module"),
    ("plugin:{dir}/raises_on_import.py:send", "missing licence key"),
    ("http://", "is not a URL"),
    ("http://ris.local:99999/task", "is not a URL"),
    ("https://ris .local/task", "is not a URL"),
], ids=["unknown-kind", "unknown-defect", "unknown-placeholder", "cmd-not-on-path", "cmd-no-such-file",
        "cmd-not-executable", "cmd-unclosed-quote", "cmd-unclosed-double-quote", "plugin-not-importable",
        "plugin-raises-on-import", "url-no-host", "url-bad-port", "url-with-blank"])
def test_a_sut_that_cannot_start_is_refused_before_the_mocks_start(tmp_path, no_mocks, broken_files, sut,
                                                                    reason):
    sut = sut.replace("{dir}", str(broken_files))
    result = CliRunner().invoke(app, ["proof", "--sut", sut, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "your command could not start: " in result.stderr and reason in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sut", ["cmd:sh -c 'exit 0' {task_json_file}", "cmd:{action} {task_json_file}",
                                 "http://127.0.0.1:9/task", "plugin:json:dumps", "reference-ris"])
def test_a_sut_that_can_start_passes_the_check(sut):
    from segur.scenarios.proof import check_sut

    assert check_sut(sut) is None  # no refusal raised; a placeholder as the program is left to the driver


def _evidence(selection: list[str]) -> dict:
    meta = {"couloir": "RIS", "sut": "reference-ris", "size": "small",
            "generated": "2026-11-23T12:00:00+00:00", "timings": {}, "validation": {}, "selection": selection}
    requirements = {rem_id: {"id": rem_id, "tests": [], "checks": [], "verdict": verdict}
                    for rem_id, verdict in (("RIS.DMP/va1.09", "pass"), ("RIS.DMP/va1.13", "not run"))}
    run = {"plan": {"counts": {"dmp": 2}}, "tasks": []}
    return {"verdict": "pass", "meta": meta, "run": run, "checks": {}, "tests": [],
            "requirements": requirements}


def test_the_html_says_when_a_run_is_partial():
    html = render(_evidence(["-m", "rem(id='RIS.DMP/va1.09')"]))
    assert "Partial run, not the full proof" in html
    assert "-m rem(id=&#x27;RIS.DMP/va1.09&#x27;)" in html and "1 requirement(s) not run" in html
    assert "Partial run" not in render(_evidence([]))


def test_the_html_says_a_small_plan_is_not_the_10_10_1_proof():
    shown = render(_evidence([]))
    assert "Small plan (2 DMP, 2 MSSanté, 1 citizen): a quick run, not the 10/10/1 proof" in shown
    full = _evidence([])
    full["meta"]["size"] = "full"
    assert "Small plan" not in render(full)


@pytest.mark.slow
def test_a_proof_with_the_official_pack_and_a_selection(cda_pack, tmp_path):
    out = tmp_path / "evidence"
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--size", "small",
                                      "--pack", str(cda_pack), "-m", "rem(id='MSS/va1.19')", "--quiet",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "partial run (-m rem(id='MSS/va1.19'))" in result.output
    assert "no official pack" not in result.output
    assert result.output.startswith("Proof RIS against reference-ris: PASS (")
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["meta"]["segur_pack"] == str(cda_pack.resolve())
    not_run = sum(1 for r in evidence["requirements"].values() if r["verdict"] == "not run")
    assert not_run and evidence["verdict_label"] == f"PASS (partial run: {not_run} requirement(s) not run)"
    assert [t["check"] for t in evidence["tests"] if t["outcome"] == "passed"] == ["citizen-address"]
    dmp_task = next(t for t in evidence["run"]["tasks"] if t["scenario"] == "dmp")
    stored = dmp_task["observed"]["dmp"][-1]["stored"][0]
    ran = {layer["name"] for layer in stored["validation"]["layers"] if layer["status"] == "ran"}
    assert {"xsd", "schematron"} <= ran


@pytest.mark.slow
def test_quiet_prints_the_verdict_only_and_the_summary_names_failed_and_blocked_checks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/ref/cda beside: a run without the official pack
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris:wrong-format-code", "--size", "small",
                                      "--quiet", "--out", str(tmp_path / "quiet")])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Proof RIS against reference-ris:wrong-format-code: FAIL (")
    # dmp-accepted, xdm-format-code, and the two MSSanté checks since the mock's MSS-XDM-FORMATCODE; blocked:
    # documents-valid, dmp-replacement, outage-retry and (capability histo) dmp-deletion: nothing to delete
    assert "3 blocked; 4 failing check(s), 4 blocked)" in lines[0]
    assert lines[-1].startswith("Evidence pack: ")
    heads = ("Proof ", "  FAIL ", "    fix: ", "  BLOCKED ", "  note: ", "Evidence pack: ")
    assert all(line.startswith(heads) for line in lines), lines
    assert "  note: small plan (2 DMP, 2 MSSanté, 1 citizen): a quick run, not the 10/10/1 proof" in lines
    assert any(line.startswith("  note: no official pack (--pack DIR or SEGUR_PACK)") for line in lines)
    blocked = "  BLOCKED dmp-replacement [RIS.DMP/va1.09]: not evaluated, blocked by dmp-accepted (dmp-01)"
    assert blocked in lines
    failed = "  FAIL dmp-accepted [RIS.DMP/va1.13, RIS.DMP/va1.10]: dmp-01: "
    at = next(n for n, line in enumerate(lines) if line.startswith(failed))
    assert lines[at + 1] == f"    fix: {CHECKS['dmp-accepted'].hint}" and CHECKS["dmp-accepted"].hint
    assert not result.stderr


@pytest.mark.slow
def test_without_quiet_pytests_own_summary_of_the_check_tests_is_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/ref/cda beside: a run without the official pack
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--size", "small", "-k", "citizen",
                                      "--out", str(tmp_path / "loud")])
    assert result.exit_code == 0, result.output
    assert f"1 passed, {len(SUITES['RIS']) - 1} deselected" in result.output  # the RIS suite's other checks
    evidence = json.loads((tmp_path / "loud" / "evidence.json").read_text(encoding="utf-8"))
    not_run = sum(1 for r in evidence["requirements"].values() if r["verdict"] == "not run")
    label = f"PASS (official CDA checks not run; partial run: {not_run} requirement(s) not run)"
    assert not_run and evidence["verdict_label"] == label
    assert f"Proof RIS against reference-ris: {label} (" in result.output
    assert "Not a conformance PASS" in (tmp_path / "loud" / "index.html").read_text(encoding="utf-8")
    junit = (tmp_path / "loud" / "junit.xml").read_text(encoding="utf-8")
    assert f'value="{label}"' in junit and 'type="segur.no-pack"' in junit


@pytest.mark.slow
def test_a_proof_of_the_core_alone_says_it_is_partial(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/ref/cda beside: a run without the official pack
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--size", "small", "--capabilities",
                                      "none", "--quiet", "--out", str(tmp_path / "core")])
    assert result.exit_code == 0, result.output
    partial = [line for line in result.output.splitlines() if line.startswith("  partial run ")]
    assert partial and partial[0].startswith("  partial run (--capabilities none): "), result.output
    evidence = json.loads((tmp_path / "core" / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["plan"]["capabilities"] == []
    assert evidence["meta"]["selection"] == ["--capabilities", "none"]
    not_run = {c for c, r in evidence["checks"].items() if r["status"] == "not run"}
    assert not_run and not_run.isdisjoint(SUITES["RIS"][:26])


def test_capabilities_the_couloir_does_not_take_are_refused_before_anything_runs(tmp_path):
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--couloir", "BIO", "--capabilities",
                                      "psc,nope", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "takes no capability nope, psc" in result.output
    assert not (tmp_path / "out").exists()
