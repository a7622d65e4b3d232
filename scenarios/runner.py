"""Run a proof plan through a driver against a running stack, and record what the mocks saw.

`run_plan` returns the *run record* (plain JSON): the plan, per task the driver's claim (`DriverResult`),
the journal marks around it and the observation (`observe.observe_task`), plus the world's facts about
each task's patient. The checks (`segur.scenarios.checks`) judge that record and nothing else, which is
why the evidence pack can recompute every verdict from it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from segur.scenarios.observe import (
    SERVICES,
    Admin,
    observe_task,
    snapshot,
    strip_bodies,
    wait_for_mss_sessions,
)
from segur.scenarios.plan import Plan


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def world_facts(world, planned) -> dict:
    """What the world knows of a task's patient: the INS INSi should return (and, for homonyms, every
    identity the traits could designate)."""
    patient = world.patient_by_key(planned.patient_key)
    traits = planned.task.patient
    candidates = world.find_patients(birth_name=traits["birth_name"], sex=traits["sex"],
                                     birth_date=traits["birth_date"])
    return {"patient_key": patient.key, "ins": patient.ins, "oid": patient.oid,
            "xds_patient_id": patient.xds_patient_id, "citizen_mailbox": patient.citizen_mailbox,
            "homonym_group": patient.homonym_group,
            "candidate_ins": sorted({p.ins for p in candidates} | {patient.ins})}


def run_plan(plan: Plan, driver, endpoints: Mapping, world, *,
             on_task: Callable[[str, object, dict | None], None] | None = None) -> dict:
    """Run every task of the plan in order; `on_task(phase, planned, result)` feeds a progress display."""
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
        before = admin.marks()
        task_started = _now()
        clock = time.monotonic()
        try:
            result = driver.run(task, endpoints).to_dict()
        finally:
            if fault:
                admin.clear_faults(fault["service"])
        if task.action in ("send-mss", "send-citizen") and "mssante" in before:
            wait_for_mss_sessions(admin, before["mssante"])
        after = admin.marks()
        record = {"task": task.to_dict(), "scenario": planned.scenario, "expect": planned.expect,
                  "fault": fault, "started": task_started, "ended": _now(),
                  "elapsed_s": round(time.monotonic() - clock, 3), "marks": {"before": before, "after": after},
                  "result": result, "world": world_facts(world, planned)}
        tasks.append(record)
        if on_task:
            on_task("end", planned, result)
    snap = snapshot(admin, start_marks)
    for record in tasks:
        record["observed"] = observe_task(record["task"], record["marks"]["before"], record["marks"]["after"],
                                          snap["journals"], admin, snap["dmp_store"])
    journals = {service: [strip_bodies(e) for e in entries] for service, entries in snap["journals"].items()}
    return {"plan": plan.to_dict(), "started": started, "ended": _now(), "tasks": tasks,
            "journals": journals, "dmp_store": snap["dmp_store"], "validation": validation_setup(),
            "services": {s: endpoints.get(s) for s in SERVICES if s in endpoints}}


def validation_setup() -> dict:
    """Which validation pack the mocks were given (the reports themselves say which layers ran)."""
    pack = os.environ.get("SEGUR_PACK")
    return {"pack": pack or None,
            "note": ("official CI-SIS pack configured: XSD and Schematron layers run" if pack else
                     "no official pack configured: the mocks' validator runs the xml, structure and Ségur layers; "
                     "XSD and Schematron are skipped (see each report's layers)")}
