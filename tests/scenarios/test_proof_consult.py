"""The consultation of the DMP in the proof (capability `consult`, docs/proof.md): the reference RIS passes
it in both couloirs, each seeded consultation defect fails exactly the check that names it (and names the
task), and the product's report is only ever judged against what the DMP answered.

One stack serves the module. The two clean proofs run whole (small plan); the seven defects run the
consultation tasks alone through the runner (their checks read nothing else), one after the other on the
same stack, reset in between.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import consult
from segur.scenarios.capabilities.consult import CAPABILITY, CHECKS, product_report
from segur.scenarios.checks import CHECKS as CHECKS_BY_ID
from segur.scenarios.checks import one_addressee
from segur.scenarios.driver import CommandDriver, make_driver
from segur.scenarios.evidence_pack import recompute_verdict
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.runner import run_plan

RIS_DIR = Path(__file__).resolve().parents[2] / "examples" / "reference-ris"
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

#: each seeded consultation defect of the reference RIS → the task and the check it must fail
DEFECT_CHECK = {check.defects[0]: check.id for check in CHECKS}
DEFECT_TASK = {"consult-ignores-newer-version": "consult-02"}


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def ris(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def bio(clean_proof):
    return clean_proof("BIO")


def consultation_run(stack, world, driver) -> dict:
    """The consultation tasks alone, run against the reset stack by `driver`."""
    endpoints = stack.endpoints()
    Admin(endpoints).reset()
    plan = build_plan(world, "RIS", "small")
    plan.tasks = [p for p in plan.tasks if p.scenario == consult.SCENARIO]
    return run_plan(plan, driver, endpoints, world)


@pytest.fixture(scope="module")
def defect_runs(stack, world):
    return {defect: consultation_run(stack, world, make_driver(f"reference-ris:{defect}"))
            for defect in DEFECT_CHECK}


def verdicts(run: dict) -> dict:
    return {check.id: check.judge(run) for check in CHECKS}


def failing(evidence: dict) -> dict:
    return {cid: c["problems"][:3] for cid, c in evidence["checks"].items() if c["status"] != "pass"}


# --- the clean reference RIS --------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_the_reference_ris_passes_every_check_with_the_consultation_tasks(couloir, ris, bio):
    outcome = ris if couloir == "RIS" else bio
    assert outcome.verdict == "pass", failing(outcome.evidence)
    assert outcome.evidence["plan"]["counts"]["consult"] == 2
    checks = outcome.evidence["checks"]
    assert {check.id for check in CHECKS} <= set(checks)
    assert all(checks[check.id]["status"] == "pass" for check in CHECKS)
    tests = {t["check"] for t in outcome.evidence["tests"] if t["couloir"] == couloir}
    assert {check.id for check in CHECKS} <= tests


def test_the_bio_proof_proves_the_lab_couloirs_newer_version_requirement(bio):
    requirements = bio.evidence["requirements"]
    for rem_id in ("SGL.CDA/DD.05", "CDA/DD.05", "DMP/UX.27", "DMP/UX.31", "DMP/UX.43", "DMP/AIRS.06"):
        assert requirements[rem_id]["verdict"] == "pass", rem_id


def test_the_consultation_is_what_the_task_asked_and_what_the_dmp_answered(ris):
    tasks = {t["task"]["id"]: t for t in ris.evidence["run"]["tasks"] if t["scenario"] == "consult"}
    searching, showing = tasks["consult-01"], tasks["consult-02"]
    fed = searching["prepared"]["fed"]
    # the DMP held five documents of four authors' kinds; the search's criteria leave exactly the current one
    assert set(fed) == {"first", "current", "old", "other", "vsm"}
    report = product_report(searching)
    assert [d["unique_id"] for d in report["found"]] == searching["prepared"]["expected_found"]
    assert [d["unique_id"] for d in report["integrated"]] == [fed["current"]["unique_id"]]
    assert report["integrated"][0]["sha256"] == fed["current"]["sha256"]
    assert report["medical_summary"]["unique_ids"] == [fed["vsm"]["unique_id"]]
    operations = [i["operation"] for i in searching["observed"]["consult"]["dmp"]]
    assert operations[0] == "TD0.2" and "ITI-41" not in operations and operations.count("ITI-43") == 1
    assert product_report(showing)["shown"][0]["newer_version"] == showing["prepared"]["newer"]


def test_a_product_plugged_in_as_a_command_reports_on_its_stdout(stack, world, defect_runs, tmp_path):
    """The reference RIS as a command (docs/sut.md): its report is the JSON line it prints."""
    driver = CommandDriver(f"{sys.executable} {RIS_DIR / 'run.py'} --task {{task_json_file}} "
                           f"--state-dir {tmp_path / 'state'}", timeout=120)
    run = consultation_run(stack, world, driver)
    assert all(t["result"]["output"].startswith("--- stdout ---") for t in run["tasks"])
    assert {cid: r.problems for cid, r in verdicts(run).items() if r.status != "pass"} == {}


def test_what_the_harness_feeds_is_no_task_s_and_no_core_check_takes_it_for_a_send(ris):
    iti41 = [e for e in ris.evidence["run"]["journals"]["dmp"] if e["operation"] == "ITI-41"]
    consulting = {"consult-01", "consult-02"}
    assert not [e for e in iti41 if e.get("task") in consulting]
    # consult-01: first, current, old, other, vsm; consult-02: newest
    assert len([e for e in iti41 if e.get("task") is None]) == 6
    for task in ris.evidence["run"]["tasks"]:
        if task["task"]["id"] in consulting:
            assert not [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41"]


def test_claims_honest_leaves_out_the_consultation_tasks_only(ris):
    """A consultation sends no report: `claims-honest` does not judge it; every task sending to one
    addressee, the other capabilities' included, it still does (a send to two, DMP and MSSanté, is judged
    by its capability's own checks)."""
    evidence = ris.evidence
    judged_tasks = {e["task"] for e in evidence["checks"]["claims-honest"]["evidence"]}
    for task in evidence["run"]["tasks"]:
        action = task["task"]["action"]
        sends = action.startswith(("send-", "replace-")) and one_addressee(action)
        assert (task["task"]["id"] in judged_tasks) is sends, task["task"]["id"]
    altered = copy.deepcopy(evidence)
    sending = next(t for t in altered["run"]["tasks"] if t["scenario"] not in ("dmp", "mss", "citizen",
                   "replace", "homonym", "outage", "retry", "vitale", "unknown", "consult")
                   and t["task"]["action"].startswith("send-") and t["result"]["ok"])
    sending["observed"]["mss"] = []  # as if nothing had reached MSSanté
    problems = CHECKS_BY_ID["claims-honest"].judge(altered["run"]).problems
    assert any(p.startswith(f"{sending['task']['id']}:") for p in problems), problems


# --- each seeded defect fails its own check -----------------------------------------------------------------
@pytest.mark.parametrize("defect", sorted(DEFECT_CHECK))
def test_each_consultation_defect_fails_exactly_its_check_on_its_task(defect, defect_runs):
    results = verdicts(defect_runs[defect])
    expected = DEFECT_CHECK[defect]
    assert results[expected].status == "fail", (defect, results[expected].summary)
    task = DEFECT_TASK.get(defect, "consult-01")
    assert any(problem.startswith(f"{task}:") for problem in results[expected].problems), \
        results[expected].problems
    assert {cid for cid, r in results.items() if r.status == "fail"} == {expected}, \
        {cid: r.problems[:2] for cid, r in results.items() if r.status == "fail"}
    # a check left without anything to judge by the defect says which failing check is upstream
    for result in results.values():
        if result.status == "blocked":
            assert {b["check"] for b in result.blocked_by} == {expected}, result.blocked_by


def test_a_search_for_another_patient_blocks_the_integration_check_instead_of_passing_it(defect_runs):
    result = verdicts(defect_runs["consult-wrong-patient"])["consult-integrated-retrieved"]
    assert result.status == "blocked" and not result.passed
    assert result.blocked_by == [{"check": "consult-right-patient", "task": "consult-01",
                                  "reason": "the DMP was searched for another patient"}]


def test_every_consultation_check_has_a_seeded_defect_of_the_reference_ris():
    assert all(len(check.defects) == 1 for check in CHECKS)
    assert set(DEFECT_CHECK.values()) == {check.id for check in CHECKS}
    assert CAPABILITY.takes("RIS") and CAPABILITY.takes("BIO")


# --- the product's word against the DMP's answers -----------------------------------------------------------
def _altered(ris, task_id: str, change) -> dict:
    """The recorded run, with the product's report of one task changed by `change(report)`."""
    evidence = copy.deepcopy(ris.evidence)
    task = next(t for t in evidence["run"]["tasks"] if t["task"]["id"] == task_id)
    said = json.loads(task["result"]["output"])
    change(said["consultation"])
    task["result"]["output"] = json.dumps(said)
    return evidence


def _judged(evidence: dict, check_id: str):
    check = next(c for c in CHECKS if c.id == check_id)
    return check.judge(evidence["run"])


def test_a_document_the_dmp_did_not_return_fails_the_search(ris):
    extra = {"unique_id": "2.25.42", "title": "made up", "creation_time": "20260101000000"}
    evidence = _altered(ris, "consult-01", lambda r: r["found"].append(extra))
    result = _judged(evidence, "consult-search")
    assert result.status == "fail"
    assert result.problems == [
        "consult-01: the product reports document 2.25.42, which the DMP did not return"]
    assert recompute_verdict(evidence)["checks"]["consult-search"] is False


def test_a_title_other_than_the_dmp_s_fails_the_search(ris):
    evidence = _altered(ris, "consult-01", lambda r: r["found"][0].update(title="Compte rendu"))
    assert "its title as 'Compte rendu'" in _judged(evidence, "consult-search").problems[0]


def test_a_copy_other_than_the_bytes_served_fails_the_integration(ris):
    evidence = _altered(ris, "consult-01", lambda r: r["integrated"][0].update(sha256="0" * 64))
    problems = _judged(evidence, "consult-integrated-retrieved").problems
    assert len(problems) == 1 and "is not the bytes the DMP served" in problems[0]


def test_a_document_found_but_not_integrated_fails_the_integration(ris):
    evidence = _altered(ris, "consult-01", lambda r: r["integrated"].clear())
    problems = _judged(evidence, "consult-integrated-retrieved").problems
    assert len(problems) == 1 and "the product did not integrate it" in problems[0]


def test_denying_the_medical_summary_the_dmp_returned_fails(ris):
    evidence = _altered(ris, "consult-01", lambda r: r["medical_summary"].update(present=False))
    assert "says the DMP holds no medical summary" in _judged(evidence, "consult-medical-summary").problems[0]


def test_a_last_update_other_than_the_newest_summary_s_creation_fails(ris):
    result = _judged(ris.evidence, "consult-medical-summary")
    updated = result.evidence[0]["last_updated"]
    assert result.passed and updated and product_report(
        next(t for t in ris.evidence["run"]["tasks"] if t["task"]["id"] == "consult-01"))[
        "medical_summary"]["last_updated"] == updated
    for wrong in ("20190502", None):
        evidence = _altered(ris, "consult-01", lambda r, w=wrong: r["medical_summary"].update(last_updated=w))
        problems = _judged(evidence, "consult-medical-summary").problems
        assert problems == [f"consult-01: the product dates the medical summary's last update {wrong!r}; the "
                            f"newest the DMP returned was created {updated}"]


def test_the_summary_s_last_update_is_its_newest_creation_time_whatever_the_precision():
    entries = [{"creation_time": "20190502"}, {"creation_time": "20261206101500"}, {"creation_time": None},
               {"creation_time": "20261206"}]
    assert consult.last_updated(entries) == "20261206101500"
    assert consult.last_updated([{"creation_time": None}]) is None and consult.last_updated([]) is None


def test_a_newer_version_the_dmp_does_not_hold_fails(ris):
    evidence = _altered(ris, "consult-02", lambda r: r["shown"][0].update(newer_version="2.25.7"))
    assert "the product reports '2.25.7'" in _judged(evidence, "consult-newer-version").problems[0]


def test_a_product_that_reports_nothing_fails_the_checks_reading_its_report(ris):
    evidence = copy.deepcopy(ris.evidence)
    for task in evidence["run"]["tasks"]:
        if task["scenario"] == "consult":
            task["result"]["output"] = ""
    for check_id in ("consult-search", "consult-integrated-retrieved", "consult-medical-summary",
                     "consult-newer-version"):
        assert _judged(evidence, check_id).status == "fail", check_id


def test_a_run_without_consultation_tasks_proves_nothing_of_them(ris):
    evidence = copy.deepcopy(ris.evidence)
    evidence["run"]["tasks"] = [t for t in evidence["run"]["tasks"] if t["scenario"] != "consult"]
    assert all(_judged(evidence, check.id).status == "fail" for check in CHECKS)


def test_the_report_is_read_from_a_command_output_after_its_log_lines():
    said = '{"ok": true, "consultation": {"found": []}}'
    command = f"--- stdout ---\nINSi: 00\n{said}\n--- stderr ---\nDMP TD0.2: OUVERT\n{{not json\n"
    assert product_report({"result": {"output": command}}) == {"found": []}
    assert product_report({"result": {"output": said}}) == {"found": []}
    assert product_report({"result": {"output": "no json here"}}) is None
    assert product_report({"result": {"output": '{"consultation": "not an object"}'}}) is None
    assert product_report({"result": {}}) is None
