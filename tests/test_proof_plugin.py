"""The pytest plugin: harmless without a system under test; with one, `-m`/`-k` selection of the checks
and an editor's own scenario written with the fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
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
                seen.append({"task": task["task"]["id"], "patient_id": item["patient_id"], "time": item["time"]})
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
    result.assert_outcomes(skipped=30)
    result.stdout.fnmatch_lines(["*no system under test: give --segur-sut*"])


def test_rem_markers_select_with_m(pytester):
    result = pytester.runpytest(*_args("--collect-only", "-q", "-m", "rem"))
    result.stdout.fnmatch_lines(["*30 tests collected*"])


@pytest.mark.slow
def test_k_selection_and_an_editors_own_scenario_against_the_reference_ris(pytester):
    pytester.makepyfile(test_editor=EDITOR_SCENARIO)
    result = pytester.runpytest(*_args("--segur-sut", "reference-ris", "--segur-size", "small", "-m", "rem",
                                       "-k", "precedes_every_send or citizen or my_dmp",
                                       str(pytester.path / "test_editor.py")))
    # RIS: the INSi and citizen checks pass; BIO's two are skipped (the run is RIS); the editor's test passes
    result.assert_outcomes(passed=3, skipped=2, deselected=26)
