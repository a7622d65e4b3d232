"""The proof plan: the 10/10/1 tasks of a couloir and the scenario tasks, chosen deterministically."""

from __future__ import annotations

import json

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import owner_of
from segur.scenarios.plan import SIZES, PlanError, build_plan, dmp_eligible


@pytest.fixture(scope="module")
def world():
    return load_world()


def core_counts(plan) -> dict:
    """The plan's tasks per core scenario (the capabilities' tasks, after them, are their own tests')."""
    return {scenario: n for scenario, n in plan.counts().items() if owner_of(scenario) is None}


@pytest.mark.parametrize("couloir, kind", [("RIS", "CR-IMG"), ("BIO", "CR-BIO")])
def test_the_full_plan_is_ten_ten_one_plus_the_scenarios(world, couloir, kind):
    plan = build_plan(world, couloir)
    core = {scenario: n for scenario, n in plan.counts().items() if owner_of(scenario) is None}
    assert core == {"dmp": 10, "mss": 10, "citizen": 1, "replace": 1, "homonym": 1, "unknown": 1,
                    "outage": 1, "retry": 1, "vitale": 1}
    assert {p.task.kind for p in plan.tasks} == {kind}


@pytest.mark.parametrize("size", ["full", "small"])
def test_one_dmp_task_gives_the_patients_vitale_card_for_a_card_search(world, size):
    """REM INS/va1.34 asks for the INSi search by Vitale card too: vitale-01 carries what the card reader
    gives (the NIR and key of a NIR holder with an open DMP, its birth date and name), never the INS."""
    vitale = build_plan(world, "RIS", size).by_id("vitale-01")
    patient = world.patient_by_key(vitale.patient_key)
    assert vitale.scenario == "vitale" and vitale.expect == "delivered" and vitale.task.action == "send-dmp"
    assert vitale.task.vitale == {"nir": patient.nir, "key": patient.nir_key,
                                  "birth_date": patient.birth_date, "birth_name": patient.birth_name}
    assert dmp_eligible(patient) and not patient.is_nia
    assert "ins" not in vitale.task.patient
    others = build_plan(world, "RIS", size).tasks
    assert [p.task.id for p in others if p.task.vitale] == ["vitale-01"]
    # a patient of its own: the card search is the only INSi search of that patient
    assert vitale.patient_key not in {p.patient_key for p in others if p.task.id != "vitale-01"}


@pytest.mark.parametrize("size", ["full", "small"])
def test_one_task_is_a_patient_insi_answers_01_for_and_nothing_may_be_sent(world, size):
    """The CNDA persona TCHITCHI typed with the first name OLA (padoa/tlsi-ins: OLA → 01): no identity of the
    world has those traits, so INSi answers 01 to every search and the task expects nothing sent."""
    unknown = build_plan(world, "RIS", size).by_id("unknown-01")
    assert (unknown.scenario, unknown.expect, unknown.task.action) == ("unknown", "withheld", "send-dmp")
    traits = unknown.task.patient
    assert traits["birth_name"] == "TCHITCHI" and traits["first_names"] == "OLA"
    for first_name in traits["first_names"].split():
        assert world.find_patients(birth_name=traits["birth_name"], first_name=first_name, sex=traits["sex"],
                                   birth_date=traits["birth_date"]) == []


def test_dmp_tasks_are_ten_distinct_patients_insi_can_qualify_with_an_open_dmp(world):
    plan = build_plan(world, "RIS")
    patients = [world.patient_by_key(p.patient_key) for p in plan.of("dmp")]
    assert len({p.key for p in patients}) == 10
    for patient in patients:
        assert patient.has_dmp and not patient.dmp_closed and not patient.dmp_opposed
        assert not patient.homonym_group and not patient.deceased and not patient.is_nia
        assert len(world.find_patients(birth_name=patient.birth_name, first_name=patient.first_name,
                                       sex=patient.sex, birth_date=patient.birth_date)) == 1


def test_mss_tasks_go_to_ten_open_professional_mailboxes_and_the_citizen_address_is_not_given(world):
    plan = build_plan(world, "RIS")
    recipients = [p.task.recipient for p in plan.of("mss")]
    assert len(set(recipients)) == 10
    for address in recipients:
        box = world.mailbox(address)
        assert box.kind == "PER" and box.accepts_messages and not box.closed
    citizen = plan.of("citizen")[0]
    assert citizen.task.recipient is None
    assert not world.patient_by_key(citizen.patient_key).mssante_refused


def test_no_task_gives_the_ins(world):
    for planned in build_plan(world, "BIO").tasks:
        assert "ins" not in {k.lower() for k in planned.task.patient}
        assert world.patient_by_key(planned.patient_key).ins not in json.dumps(planned.task.to_dict())


def test_the_scenario_tasks(world):
    plan = build_plan(world, "RIS")
    replace = plan.by_id("replace-01")
    assert replace.task.action == "replace-dmp" and replace.task.extra == {"replaces_task": "dmp-03"}
    assert replace.patient_key == plan.by_id("dmp-03").patient_key
    homonym = world.patient_by_key(plan.by_id("homonym-01").patient_key)
    twins = [p for p in world.homonym_groups()[homonym.homonym_group]]
    assert len(twins) > 1 and len({(p.first_names, p.birth_place) for p in twins}) == 1
    assert plan.by_id("homonym-01").expect == "withheld"
    outage = plan.by_id("outage-01")
    assert outage.expect == "failure" and outage.fault["service"] == "dmp"
    retry = plan.by_id("retry-01")
    assert retry.patient_key == outage.patient_key and retry.expect == "delivered"
    assert outage.patient_key not in {p.patient_key for p in plan.of("dmp")}


def test_the_plan_is_deterministic_and_recorded_as_json(world):
    first, second = build_plan(world, "RIS"), build_plan(world, "RIS")
    assert first.to_dict() == second.to_dict()
    assert json.loads(json.dumps(first.to_dict()))["tasks"][0]["task"]["id"] == "dmp-01"


def test_the_small_plan_keeps_every_scenario(world):
    plan = build_plan(world, "RIS", "small")
    assert SIZES["small"] == (2, 2, 1)
    core = {scenario: n for scenario, n in plan.counts().items() if owner_of(scenario) is None}
    assert core == {"dmp": 2, "mss": 2, "citizen": 1, "replace": 1, "homonym": 1, "unknown": 1,
                    "outage": 1, "retry": 1, "vitale": 1}
    assert plan.by_id("replace-01").task.extra["replaces_task"] == "dmp-01"


@pytest.mark.parametrize("couloir, size", [("LGO", "full"), ("RIS", "huge")])
def test_unknown_couloirs_and_sizes_are_refused(world, couloir, size):
    with pytest.raises(PlanError):
        build_plan(world, couloir, size)


@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_mssante_reports_leave_from_an_application_mailbox_of_the_authors_organisation(world, couloir):
    """REM RIS.MSS/va1.29 and MSS/va1.17 send from a BAL applicative: the plan picks an author whose
    organisation has one (the world has such an author for both couloirs)."""
    plan = build_plan(world, couloir)
    for planned in plan.of("mss", "citizen"):
        author = world.professional_by_idnps(planned.task.author["idnps"])
        assert world.mailbox(planned.task.sender).kind == "APP"
        assert planned.task.sender in world.organisation_of(author).app_mailboxes


# --- a proof of some capabilities only (`segur proof --capabilities`) ------------------------------------
def test_a_plan_of_no_capability_is_the_core_alone_and_says_so(world):
    every = build_plan(world, "RIS", "small")
    core = build_plan(world, "RIS", "small", capabilities=())
    assert core.capabilities == [] and every.capabilities and core.to_dict()["capabilities"] == []
    assert [p.task.id for p in core.tasks] == [p.task.id for p in every.tasks if owner_of(p.scenario) is None]


def test_a_plan_of_one_capability_adds_its_tasks_only_after_the_core(world):
    plan = build_plan(world, "RIS", "small", capabilities=("psc",))
    owners = [owner_of(p.scenario) for p in plan.tasks]
    assert plan.capabilities == ["psc"] and {o.name for o in owners if o} == {"psc"}
    first = next(i for i, owner in enumerate(owners) if owner)
    assert not any(owner is None for owner in owners[first:])  # the core's tasks first, unmoved


def test_a_capability_the_couloir_does_not_take_is_refused_with_those_it_takes(world):
    with pytest.raises(PlanError, match=r"PFI takes no capability consult; its capabilities: .*inbox"):
        build_plan(world, "PFI", "small", capabilities=("consult",))
