"""The seam through which a capability adds its tasks, its observations and its checks to the proof
(`segur.scenarios.capability`), shown with a capability made up for the test."""

from __future__ import annotations

import pytest

from segur.fixtures.world import load_world
from segur.scenarios import plan as plan_module
from segur.scenarios import runner
from segur.scenarios.capability import Capability, ObserveContext, PlanContext
from segur.scenarios.check import Check, judged
from segur.scenarios.checks import CHECKS
from segur.scenarios.evidence_pack.verdict import check_entry
from segur.scenarios.suites import SUITES


def _plan_extra(context: PlanContext) -> None:
    patient = context.dmp_patients[0]
    context.add("extra-01", "send-dmp", patient, "extra", "delivered", extra={"why": "made up"})


def _observe_extra(context: ObserveContext) -> dict:
    seen = [e["seq"] for e in context.journals.get("dmp", []) if context.in_task(e, "dmp")]
    return {"dmp_seqs": seen, "prepared": context.prepared}


def _judge_extra(run: dict) -> object:
    return judged("extra-seen", [], [], "made up")


EXTRA = Capability("extra", "made up for the test", scenarios=("extra",), plan=_plan_extra,
                   observe=_observe_extra, couloirs=("RIS",),
                   checks=(Check("extra-seen", "made up", "test_made_up", "made up", {"RIS": []}, (),
                                 _judge_extra),))


@pytest.fixture
def with_extra(monkeypatch):
    monkeypatch.setattr(plan_module, "for_couloir", lambda couloir: [EXTRA] if EXTRA.takes(couloir) else [])
    monkeypatch.setattr(runner, "owner_of", lambda scenario: EXTRA if EXTRA.owns(scenario) else None)


def test_a_capability_adds_its_tasks_after_the_core_ones_without_moving_their_numbers(with_extra):
    world = load_world()
    plan = plan_module.build_plan(world, "RIS", "small")
    core = [p for p in plan.tasks if p.scenario != "extra"]
    assert plan.tasks[-1].task.id == "extra-01" and plan.tasks[-1].scenario == "extra"
    assert plan.tasks[-1].task.report_no == max(p.task.report_no for p in core) + 1
    assert [p.task.id for p in plan.tasks[:-1]] == [p.task.id for p in core]


def test_a_couloir_the_capability_does_not_take_gets_none_of_its_tasks(with_extra):
    plan = plan_module.build_plan(load_world(), "BIO", "small")
    assert "extra" not in plan.counts()


def test_the_capability_observes_only_the_exchanges_of_its_own_task(with_extra):
    record = {"task": {"id": "extra-01"}, "scenario": "extra", "tagged": ["dmp"], "prepared": {"sent": 1},
              "marks": {"before": {"dmp": 0}, "after": {"dmp": 9}}}
    journals = {"dmp": [{"seq": 1, "task": "extra-01"}, {"seq": 2, "task": "dmp-01"}]}
    assert runner.observe_capability(record, journals, None) == {
        "extra": {"dmp_seqs": [1], "prepared": {"sent": 1}}}


def test_a_core_task_has_no_capability_observation(with_extra):
    record = {"task": {"id": "dmp-01"}, "scenario": "dmp", "tagged": [], "marks": {"before": {}, "after": {}}}
    assert runner.observe_capability(record, {}, None) == {}


def test_every_core_check_tells_a_failing_product_what_to_change():
    """A rule with a stable id, a plain message, REM ids and a fix hint, declared once (the pack shows the
    hint beside the problems of a failed check)."""
    core = [check for check in CHECKS.values() if check.id in SUITES["RIS"][:26]]
    assert len(core) == 26 and all(len(check.hint) > 40 for check in core), [
        check.id for check in core if len(check.hint) <= 40]
    entry = check_entry("dmp-accepted", "RIS", None)
    assert entry["hint"] == CHECKS["dmp-accepted"].hint  # in evidence.json, for every check
