"""The patient's change of consent to DMP consultation in the proof (capability `consent`, REM DMP/UX.06): the
reference RIS records each change with TD0.3 and passes in RIS and BIO; each seeded defect fails the check
`consent-recorded` and names the task; the judge never takes the product's word for what the DMP holds.

One stack serves the module. The clean proofs run whole (small plan) once per couloir; the two defects run
the consent tasks alone through the runner (the check reads nothing else), on the same stack, reset first.
"""

from __future__ import annotations

import copy

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import consent, for_couloir
from segur.scenarios.capabilities.consent import CAPABILITY, check_recorded, product_report
from segur.scenarios.driver import instructions, make_driver
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.rem import approved_in_map
from segur.scenarios.runner import run_plan

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]
DEFECTS = ("consent-not-recorded", "consent-wrong-action")


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def ris(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def bio(clean_proof):
    return clean_proof("BIO")


def consent_run(stack, world, sut: str) -> dict:
    """The consent tasks alone, run against the reset stack by the product `sut`."""
    endpoints = stack.endpoints()
    Admin(endpoints).reset()
    plan = build_plan(world, "RIS", "small")
    plan.tasks = [p for p in plan.tasks if p.scenario == consent.SCENARIO]
    return run_plan(plan, make_driver(sut), endpoints, world)


@pytest.fixture(scope="module")
def defect_runs(stack, world):
    return {defect: consent_run(stack, world, f"reference-ris:{defect}") for defect in DEFECTS}


def _tasks(outcome) -> dict:
    return {t["task"]["id"]: t for t in outcome.evidence["run"]["tasks"] if t["scenario"] == consent.SCENARIO}


# --- the plan ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", ["small", "full"])
@pytest.mark.parametrize("couloir", ["RIS", "BIO", "LGC", "DPI"])
def test_every_couloir_approving_dmp_ux06_plans_a_refusal_then_an_acceptance(world, couloir, size):
    assert CAPABILITY in for_couloir(couloir)
    plan = build_plan(world, couloir, size)
    refusal, acceptance = plan.by_id("consent-01"), plan.by_id("consent-02")
    assert (refusal.task.action, acceptance.task.action) == ("consent-dmp", "consent-dmp")
    assert refusal.task.extra == {"consent": "refused"} and acceptance.task.extra == {"consent": "accepted"}
    assert refusal.patient_key == acceptance.patient_key
    others = {p.patient_key for p in plan.tasks if p.scenario != consent.SCENARIO}
    assert refusal.patient_key not in others
    ids = [p.task.id for p in plan.tasks]
    assert ids.index("consent-01") > ids.index("unknown-01")  # after the core tasks


def test_the_pfi_whose_rem_has_no_dmp_ux06_plans_no_consent_task(world):
    assert CAPABILITY not in for_couloir("PFI")
    assert not [p for p in build_plan(world, "PFI", "small").tasks if p.scenario == consent.SCENARIO]


def test_a_person_at_the_product_is_told_the_patients_choice(world):
    plan = build_plan(world, "RIS", "small")
    told = instructions(plan.by_id("consent-01").task)
    assert "TD0.3" in told and '"consent": "refused"' in told and "Patient (type these traits" in told


def test_the_check_carries_dmp_ux06_in_each_couloir_that_approves_it(shared_rem, catalogue):
    (check,) = CAPABILITY.checks
    for couloir in ("RIS", "BIO", "LGC", "DPI"):
        assert check.rem[couloir] == ["DMP/UX.06"]
        assert "DMP/UX.06" in approved_in_map(shared_rem, couloir)
        row = next(r for r in catalogue if (r.couloir, r.id) == (couloir, "DMP/UX.06"))
        assert (row.scope, row.reason) == ("tests", "")


# --- the clean reference RIS --------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_the_reference_ris_passes_every_check_with_the_consent_tasks(couloir, ris, bio):
    outcome = ris if couloir == "RIS" else bio
    checks = outcome.evidence["checks"]
    failing = {c: v["problems"][:2] for c, v in checks.items() if v["status"] != "pass"}
    assert outcome.verdict == "pass", failing
    assert checks["consent-recorded"]["status"] == "pass"
    assert outcome.evidence["requirements"]["DMP/UX.06"]["verdict"] == "pass"
    tests = {t["check"]: t["outcome"] for t in outcome.evidence["tests"] if t["couloir"] == couloir}
    assert tests["consent-recorded"] == "passed"


def test_the_patients_change_of_consent_is_recorded_in_the_dmp(ris):
    tasks = _tasks(ris)
    refusal, acceptance = tasks["consent-01"], tasks["consent-02"]
    # the harness authorised the professional first; the product removed it, then added it again
    assert refusal["prepared"] == {"authorised_before": "VALIDE"}
    assert acceptance["prepared"] == {"status_before": "NON_EXISTE"}  # the refusal held
    removed = [t for t in refusal["observed"]["consent"]["td"] if t["operation"] == "TD0.3"]
    added = [t for t in acceptance["observed"]["consent"]["td"] if t["operation"] == "TD0.3"]
    assert [(t["action"], t["resultat"], t["autorisation"]) for t in removed] == [
        ("SUPPRESSION", "OK", "NON_EXISTE")]
    assert [(t["action"], t["resultat"], t["autorisation"]) for t in added] == [("AJOUT", "OK", "VALIDE")]
    assert removed[0]["caller"] == refusal["task"]["author"]["idnps"]
    assert refusal["observed"]["consent"]["read_after_refusal"] == []
    answered = {"action": "SUPPRESSION", "resultat": "OK", "autorisation": "NON_EXISTE"}
    assert product_report(refusal) == answered


# --- the seeded defects -------------------------------------------------------------------------------------
@pytest.mark.parametrize("defect", DEFECTS)
def test_each_seeded_consent_defect_fails_the_check_and_names_the_refusal(defect, defect_runs):
    result = check_recorded(defect_runs[defect])
    assert result.status == "fail"
    assert any(p.startswith("consent-01: ") for p in result.problems), result.problems


def test_a_product_that_records_nothing_is_not_believed(defect_runs):
    problems = check_recorded(defect_runs["consent-not-recorded"]).problems
    assert any("consent-01: no TD0.3 reached the DMP" in p for p in problems)
    assert any("consent-02: the product says the choice was recorded" in p for p in problems)


def test_an_ajout_for_a_refusal_is_named_as_the_wrong_action(defect_runs):
    problems = check_recorded(defect_runs["consent-wrong-action"]).problems
    assert any("consent-01: TD0.3" in p and "asks 'AJOUT'" in p and "SUPPRESSION" in p for p in problems)
    assert not any(p.startswith("consent-02") for p in problems)  # the acceptance itself is right


def _clean_run(ris) -> dict:
    return copy.deepcopy(ris.evidence["run"])


def test_a_read_of_the_dmp_after_the_refusal_fails(ris):
    run = _clean_run(ris)
    refusal = next(t for t in run["tasks"] if t["task"]["id"] == "consent-01")
    refusal["observed"]["consent"]["read_after_refusal"] = [
        {"seq": 99, "operation": "ITI-18", "task": "consent-01", "caller": "x", "ins": "y"}]
    problems = check_recorded(run).problems
    assert problems == ["consent-01: ITI-18 #99 read the patient's DMP after their refusal (task consent-01)"]


def test_the_products_report_is_judged_against_the_dmps_answer(ris):
    run = _clean_run(ris)
    refusal = next(t for t in run["tasks"] if t["task"]["id"] == "consent-01")
    refusal["result"]["output"] = refusal["result"]["output"].replace('"NON_EXISTE"', '"VALIDE"')
    problems = check_recorded(run).problems
    seq = refusal["observed"]["consent"]["td"][-1]["seq"]
    assert problems == ["consent-01: the product reports autorisation 'VALIDE', the DMP answered "
                        f"'NON_EXISTE' (TD0.3 #{seq})"]


def test_a_td03_with_no_insi_answer_for_the_patient_fails(ris):
    run = _clean_run(ris)
    refusal = next(t for t in run["tasks"] if t["task"]["id"] == "consent-01")
    refusal["observed"]["insi"] = []  # as the defect no-insi-call leaves it: the INS from a local file
    problems = check_recorded(run).problems
    assert problems == ["consent-01: no INSi search of the patient answered 00 (the DMP is named by the INS "
                        "INSi returns)"]


def test_a_td03_for_another_identity_than_insi_returned_fails(ris):
    run = _clean_run(ris)
    acceptance = next(t for t in run["tasks"] if t["task"]["id"] == "consent-02")
    for call in acceptance["observed"]["consent"]["td"]:
        call["oid"] = "1.2.250.1.213.1.4.11"  # the NIA OID where INSi returned the NIR one
    problems = check_recorded(run).problems
    seq = acceptance["observed"]["consent"]["td"][-1]["seq"]
    assert [p.split(" names")[0] for p in problems] == [f"consent-02: TD0.3 #{seq}"]
    assert "(OID 1.2.250.1.213.1.4.11), not the INS INSi returned" in problems[0]
