"""The pytest plugin: harmless without a system under test; with one, `-m`/`-k` selection of the checks
and an editor's own scenario written with the fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segur.scenarios.checks import CHECKS

pytest_plugins = ["pytester"]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SUITES = [str(SCENARIOS / "test_ris_proof.py"), str(SCENARIOS / "test_bio_proof.py")]

EDITOR_SCENARIO = '''
import pytest

@pytest.mark.rem("RIS.DMP/va1.13")
def test_my_dmp_reports_carry_the_patient_ins(segur_proof_run, segur_endpoints, segur_evidence):
    """An editor's own check, written with the plugin's fixtures."""
    assert "dmp" in segur_endpoints
    dmp_tasks = [t for t in segur_proof_run["tasks"] if t["scenario"] == "dmp"]
    seen = []
    for task in dmp_tasks:
        for item in task["observed"]["dmp"]:
            if item["operation"] == "ITI-41":
                seen.append({"task": task["task"]["id"], "patient_id": item["patient_id"],
                             "time": item["time"]})
                assert item["patient_id"].startswith(task["world"]["ins"])
    segur_evidence.record("dmp submissions", seen)
    assert len(seen) == len(dmp_tasks) == 2
'''


@pytest.fixture(autouse=True)
def _no_sut_from_env(monkeypatch):
    for name in ("SEGUR_SUT", "SEGUR_COULOIR", "SEGUR_PROOF_SIZE"):
        monkeypatch.delenv(name, raising=False)


def _args(*extra):
    return [*SUITES, "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(SCENARIOS), *extra]


def test_without_a_system_under_test_the_checks_skip_and_nothing_starts(pytester):
    result = pytester.runpytest(*_args("-rs"))
    result.assert_outcomes(skipped=2 * len(CHECKS))
    result.stdout.fnmatch_lines(["*no system under test: give --segur-sut*"])


def test_rem_markers_select_with_m(pytester):
    result = pytester.runpytest(*_args("--collect-only", "-q", "-m", "rem"))
    result.stdout.fnmatch_lines([f"*{2 * len(CHECKS)} tests collected*"])
    assert result.ret == pytest.ExitCode.OK and "deselected" not in result.stdout.str()


@pytest.mark.slow
def test_k_selection_and_an_editors_own_scenario_against_the_reference_ris(pytester):
    pytester.makepyfile(test_editor=EDITOR_SCENARIO)
    result = pytester.runpytest(*_args("--segur-sut", "reference-ris", "--segur-size", "small", "-m", "rem",
                                       "-k", "precedes_every_send or citizen or my_dmp",
                                       str(pytester.path / "test_editor.py")))
    # RIS: the INSi and citizen checks pass; BIO's two are skipped (the run is RIS); the editor's test passes
    result.assert_outcomes(passed=3, skipped=2, deselected=2 * len(CHECKS) - 4)


def _blocked_run() -> dict:
    """dmp-01 refused by the DMP (a metadata rule), so replace-01 has nothing to replace."""
    def task(task_id, scenario, dmp, extra=None):
        return {"task": {"id": task_id, "action": "send-dmp", "kind": "CR-IMG", "extra": extra or {}},
                "scenario": scenario, "expect": "delivered", "result": {"ok": False, "detail": "refused"},
                "world": {"xds_patient_id": "P^^^&1.2&ISO^NH"},
                "observed": {"insi": [{"code": "00", "for_task_patient": True, "ins": "P", "oid": "1.2",
                                       "time": "t0", "seq": 1}], "dmp": dmp, "mss": []}}

    refused = {"seq": 2, "time": "t1", "operation": "ITI-41", "verdict": "rejected", "rules": ["DMP-CDA-009"],
               "findings": [], "patient_id": "P^^^&1.2&ISO^NH", "documents": [], "stored": []}
    return {"plan": {"couloir": "RIS"}, "dmp_store": {},
            "tasks": [task("dmp-01", "dmp", [refused]),
                      task("replace-01", "replace", [], {"replaces_task": "dmp-01"})]}


BLOCKED_SCENARIO = """
import json
import pytest

RUN = json.loads({run!r})


@pytest.fixture(scope="session")
def segur_proof_run():
    return RUN


@pytest.mark.rem("RIS.DMP/va1.09")
def test_the_replacement(segur_check):
    segur_check("dmp-replacement")
"""


def test_a_session_whose_only_outcome_is_a_blocked_check_does_not_pass(pytester):
    import json

    pytester.makepyfile(test_blocked=BLOCKED_SCENARIO.format(run=json.dumps(_blocked_run())))
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", f"--junitxml={pytester.path / 'junit.xml'}")
    assert result.ret == 1
    assert result.parseoutcomes() == {"blocked": 1}
    result.stdout.fnmatch_lines([
        "*test_the_replacement BLOCKED*", "*blocked checks (not evaluated*",
        "BLOCKED test_blocked.py::test_the_replacement: BLOCKED by dmp-accepted:*",
        "*dmp-accepted (dmp-01): the report replace-01 replaces was never accepted*"])
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert '<skipped type="pytest.skip" message="BLOCKED by dmp-accepted' in junit
    assert '<property name="blocked_by" value="dmp-accepted (dmp-01)" />' in junit
