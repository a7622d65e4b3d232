"""Run a proof plan through a driver against a running stack, and record what the mocks saw.

`run_plan` returns the *run record* (plain JSON): the plan, per task the driver's claim (`DriverResult`),
the journal marks around it and the observation (`observe.observe_task`), plus the world's facts about
each task's patient. Before handing a task to the product the runner tags every mock's journal with the
task's id (`PUT /_admin/task`, cleared after): the task's exchanges are those the mocks tagged. The
checks (`segur.scenarios.checks`) judge that record and nothing else, which is why a reviewer holding the
evidence pack can recompute every verdict from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from segur.scenarios.capabilities import owner_of
from segur.scenarios.capabilities.psc import PSC_ACTIONS
from segur.scenarios.capability import ObserveContext, PrepareContext
from segur.scenarios.driver import traits_of
from segur.scenarios.observe import (
    SERVICES,
    Admin,
    TaskExchanges,
    observe_task,
    snapshot,
    strip_bodies,
    wait_for_mss_sessions,
)
from segur.scenarios.plan import Plan

#: `on_task(phase, planned, result)`: phase "start" (result None) or "end" (the driver's result)
TaskListener = Callable[[str, object, dict | None], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def world_facts(world, planned) -> dict:
    """What the world knows of a task's patient: the INS INSi should return (and, for homonyms, every
    identity the traits could designate)."""
    patient = world.patient_by_key(planned.patient_key)
    traits = planned.task.patient or traits_of(patient)  # a task may give no traits (a PAM-fed identity)
    candidates = world.find_patients(birth_name=traits["birth_name"], sex=traits["sex"],
                                     birth_date=traits["birth_date"])
    return {"patient_key": patient.key, "ins": patient.ins, "oid": patient.oid,
            "xds_patient_id": patient.xds_patient_id, "citizen_mailbox": patient.citizen_mailbox,
            "homonym_group": patient.homonym_group,
            "candidate_ins": sorted({p.ins for p in candidates} | {patient.ins})}


def run_plan(plan: Plan, driver, endpoints: Mapping, world, *, on_task: TaskListener | None = None,
             pack: str | None = None, product: Mapping | None = None, claims=None) -> dict:
    """Run every task of the plan in order; `on_task(phase, planned, result)` feeds a progress display;
    `pack` is the official CDA pack the mocks were started with (the run record says which); `product` the
    product's own endpoints the harness calls (`{"pam": "mllp://…"}`), over those its driver announces."""
    product = {**(getattr(driver, "product_endpoints", None) or {}), **(product or {})}
    # the optional requirements the product claims (capabilities/claims.py): given, else its driver's word
    claims = list(getattr(driver, "product_claims", None) or []) if claims is None else list(claims)
    admin = Admin(endpoints)
    start_marks = admin.marks()
    started = _now()
    tasks = []
    for planned in plan.tasks:
        task = planned.task
        if on_task:
            on_task("start", planned, None)
        fault = planned.fault
        if fault:
            admin.add_fault(fault["service"], dict(fault["spec"]))
        edge = admin.tag(task.id)
        tagged = list(edge)
        before = admin.marks(_known(edge))
        capability = owner_of(planned.scenario)
        prepared, preparing = {}, time.monotonic()
        if capability and capability.prepare:  # the harness's own part of the task, journalled as the task's
            prepared = capability.prepare(PrepareContext(planned, admin, endpoints, world, product)) or {}
        prepare_s = round(time.monotonic() - preparing, 3)  # the harness's own time: not in elapsed_s
        task_started = _now()
        clock = time.monotonic()
        try:
            try:
                result = driver.run(task, endpoints).to_dict()
            finally:
                if fault:
                    admin.clear_faults(fault["service"])
            if task.action in ("send-mss", "send-citizen", *PSC_ACTIONS) and "mssante" in before:
                wait_for_mss_sessions(admin, before["mssante"])  # journalled at close: still the task's
        finally:
            edge = admin.tag(None)
        after = admin.marks(_known(edge))
        elapsed = round(time.monotonic() - clock, 3)
        record = {"task": task.to_dict(), "scenario": planned.scenario, "expect": planned.expect,
                  "fault": fault, "started": task_started, "ended": _now(), "elapsed_s": elapsed,
                  "prepare_s": prepare_s,
                  "marks": {"before": before, "after": after}, "tagged": tagged, "prepared": prepared,
                  "result": result,
                  "world": world_facts(world, planned)}
        tasks.append(record)
        if on_task:
            on_task("end", planned, result)
    snap = snapshot(admin, start_marks)
    for record in tasks:
        marks = record["marks"]
        record["observed"] = observe_task(record["task"], marks["before"], marks["after"], snap["journals"],
                                          admin, snap["dmp_store"], tagged=record["tagged"])
        record["observed"].update(observe_capability(record, snap["journals"], admin))
    admin.close()
    journals = {service: [strip_bodies(e) for e in entries] for service, entries in snap["journals"].items()}
    return {"plan": plan.to_dict(), "started": started, "ended": _now(), "tasks": tasks,
            "journals": journals, "dmp_store": snap["dmp_store"], "validation": validation_setup(pack),
            "services": {s: endpoints.get(s) for s in SERVICES if s in endpoints}, "product": product,
            "claims": claims}


def _known(edge: dict) -> dict[str, int]:
    """The marks a `tag` answered (a mock that did not say its last seq is asked by `marks`)."""
    return {service: seq for service, seq in edge.items() if seq is not None}


def observe_capability(record: dict, journals, admin) -> dict:
    """`{name: facts}` of the capability owning the task's scenario (nothing for a core task)."""
    capability = owner_of(record["scenario"])
    if not capability or not capability.observe:
        return {}
    marks = record["marks"]
    in_task = TaskExchanges(record["task"]["id"], marks["before"], marks["after"], record["tagged"])
    context = ObserveContext(record["task"], in_task, journals, admin, record.get("prepared") or {})
    return {capability.name: capability.observe(context)}


WITH_PACK = "official CI-SIS pack configured: XSD and Schematron layers run"
WITHOUT_PACK = ("no official pack configured: the mocks' validator runs the xml, structure and Ségur layers; "
                "XSD and Schematron are skipped (see each report's layers)")


def validation_setup(pack: str | None) -> dict:
    """Which validation pack the mocks were given (the reports themselves say which layers ran)."""
    pack = str(pack) if pack else None
    return {"pack": pack, "note": WITH_PACK if pack else WITHOUT_PACK}
