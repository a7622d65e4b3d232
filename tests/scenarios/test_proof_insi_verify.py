"""An INS received from another identity domain is verified with INSi (REM LGC.INS/va1.63; capability
`inbox`, task `inbox-06`, check `inbox-insi-verify`).

The clean LGC proof is the session's (`clean_proof`); one stack serves the module's one seeded run (the
reference LGC with `inbox-no-insi-verify` on `inbox-06`, core and inbox tasks). The other ways to fail (a
search of another patient, a search after the report, the CDA's INS kept over INSi's) are judged on copies of
the clean run's record changed in that one respect: the check is a pure function of the record.
"""

from __future__ import annotations

import copy

import pytest
from seeded import named_tasks, seeded_proof

from segur.fixtures.world import load_world
from segur.kernel.ins import OID_NIA
from segur.scenarios.capabilities import inbox
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import build_plan
from segur.scenarios.suites import SUITES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

CHECK, TASK = "inbox-insi-verify", "inbox-06"


def _task(evidence: dict, task_id: str = TASK) -> dict:
    return _run_task(evidence["run"], task_id)


def _run_task(run: dict, task_id: str = TASK) -> dict:
    return next(t for t in run["tasks"] if t["task"]["id"] == task_id)


def _judged(run: dict):
    return CHECKS[CHECK].judge(run)


# --- the plan and the delivered report -----------------------------------------------------------------
@pytest.mark.parametrize("couloir", ("RIS", "BIO", "LGC", "DPI", "PFI"))
def test_only_the_lgc_plan_receives_an_ins_from_another_domain(couloir):
    plan = build_plan(load_world(), couloir, "small")
    verifying = [p.task.id for p in plan.of(inbox.READ) if p.expect == inbox.VERIFIED]
    assert verifying == ([TASK] if couloir == "LGC" else [])
    assert (CHECK in SUITES[couloir]) is (couloir == "LGC")


def test_the_received_ins_is_the_earlier_nia_of_a_patient_the_plan_never_names():
    world = load_world()
    plan = build_plan(world, "LGC", "small")
    planned = plan.by_id(TASK)
    patient = world.patient_by_key(planned.patient_key)
    assert planned.task.extra["other_domain"] and planned.task.patient == {}
    assert not [p for p in plan.tasks if p.patient_key == patient.key and p.task.id != TASK]
    oid, ins = inbox.received_ins(patient)
    assert oid == OID_NIA and ins != patient.ins and ins in {h.value for h in patient.ins_history}
    cda, _pdf = inbox.report_for(world, patient, world.professionals[0], qualified=True, ins=(oid, ins))
    header = inbox.cda_header(cda)
    assert (header["ins"], header["ins_oid"]) == (ins, oid)
    expected = {"birth_name": patient.birth_name, "first_given": patient.first_name, "sex": patient.sex,
                "birth_date": patient.birth_date}
    assert inbox.patient_traits(header) == expected


@pytest.mark.parametrize("sent, names", [
    ({"birth_name": "Hubert", "birth_date": "1940-06-22"}, True),  # the traits, folded
    ({"birth_name": "HUBERT", "birth_date": "1940-06-23"}, False),
    ({"vitale_nir": "1400676540400", "birth_date": "1940-06-22"}, True),  # a card with the CDA's NIR
    ({"vitale_nir": "1400676540122", "birth_date": "1940-06-22"}, False),
])
def test_a_search_names_the_cdas_patient_by_its_traits_or_a_card_with_its_nir(sent, names):
    document = {"ins": "140067654040095", "birth_name": "HUBERT", "birth_date": "1940-06-22"}
    assert inbox.names_patient(sent, document) is names


# --- the proofs -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded(stack, tmp_path_factory):
    out = tmp_path_factory.mktemp("insi-verify-defect")
    return seeded_proof("reference-lgc", "LGC", out, {TASK: "inbox-no-insi-verify"}, stack=stack,
                        capabilities=("inbox",)).evidence


@pytest.fixture(scope="module")
def clean(clean_proof):
    return clean_proof("LGC").evidence


@pytest.mark.slow
def test_the_reference_lgc_verifies_the_received_ins_and_integrates_under_insis(clean):
    result = clean["checks"][CHECK]
    assert result["status"] == "pass" and result["evidence"], result["problems"]
    assert clean["requirements"]["LGC.INS/va1.63"]["verdict"] == "pass"
    task = _task(clean)
    [document] = task["observed"]["inbox"]["delivered"]["documents"]
    [search] = [s for s in task["observed"]["inbox"]["insi_searches"] if s["in_task"]]
    assert search["names_patient"] and search["code"] == "00"
    assert task["started"] <= search["time"] <= task["ended"]
    # INSi returned the active INS; the one the CDA carried is among its earlier ones (INSHISTO)
    assert search["ins"] == task["world"]["ins"] != document["ins"] and document["ins"] in search["history"]
    [claim] = [c for c in inbox.claims(task) if c["status"] == inbox.INTEGRATED]
    assert claim["patient_ins"] == search["ins"]


@pytest.mark.slow
def test_integrating_a_received_ins_without_asking_insi_fails_naming_the_task(seeded):
    result = seeded["checks"][CHECK]
    assert seeded["verdict"] == "fail" and result["status"] == "fail"
    assert named_tasks(result["problems"]) == {TASK}
    assert "without asking INSi" in result["problems"][0]
    assert {c for c, r in seeded["checks"].items() if r["status"] == "fail"} == {CHECK}
    assert seeded["requirements"]["LGC.INS/va1.63"]["verdict"] == "fail"
    task = _task(seeded)
    assert not [s for s in task["observed"]["inbox"]["insi_searches"] if s["in_task"]]


@pytest.mark.slow
def test_a_search_about_another_patient_is_no_verification(clean):
    run = copy.deepcopy(clean["run"])
    for search in _run_task(run)["observed"]["inbox"]["insi_searches"]:
        search["traits"] = {**search["traits"], "birth_name": "DUPONT"}  # what the product asked about
    result = _judged(run)
    assert result.status == "fail" and "another patient" in result.problems[0], result.problems


@pytest.mark.slow
def test_a_search_after_the_report_is_no_verification(clean):
    run = copy.deepcopy(clean["run"])
    task = _run_task(run)
    for search in task["observed"]["inbox"]["insi_searches"]:  # asked in the next task, after the report
        search.update(in_task=False, task="optional-01", time="2999-01-01T00:00:00.000+00:00")
    result = _judged(run)
    assert result.status == "fail", result.problems
    assert "only after the product reported" in result.problems[0], result.problems


@pytest.mark.slow
def test_integrating_under_the_cdas_ins_rather_than_insis_fails(clean):
    run = copy.deepcopy(clean["run"])
    task = _run_task(run)
    [document] = task["observed"]["inbox"]["delivered"]["documents"]
    output = task["result"]["output"].replace(task["world"]["ins"], document["ins"])
    task["result"]["output"] = output
    result = _judged(run)
    assert result.status == "fail" and "the identity must be INSi's" in result.problems[0], result.problems


@pytest.mark.slow
def test_a_report_the_harness_could_not_deliver_blocks_the_check(clean):
    run = copy.deepcopy(clean["run"])
    task = next(t for t in run["tasks"] if t["task"]["id"] == TASK)
    task["observed"]["inbox"]["delivered"].update(mock_id=None, error="refused")
    result = CHECKS["inbox-insi-verify"].judge(run)
    assert result.status == "blocked", result.problems
    assert [blocker["task"] for blocker in result.blocked_by] == [TASK]
