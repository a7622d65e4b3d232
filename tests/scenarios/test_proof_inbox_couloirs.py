"""Receiving by MSSanté in the couloirs LGC, DPI and PFI (capability `inbox`), and the producer's stylesheet
kept with an imported CDA (REM CDA/INT.15).

The clean proofs of the reference products are the session's (`clean_proof`); one stack serves the module's
runs of the seeded defects (`size="small"`, core and inbox tasks), one run per couloir: the LGC's two defects
are each seeded on the task it names (`seeded.PerTaskDefects`), each failing exactly the inbox check that
names it, on its task."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from reference_ris import inbox as reference_inbox
from seeded import named_tasks, seeded_proof

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import inbox
from segur.scenarios.capabilities.inbox import CHECKS as INBOX_CHECKS
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import build_plan
from segur.scenarios.suites import SUITES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

COULOIRS = ("LGC", "DPI", "PFI")
#: (couloir, defect of the reference product) → (the inbox check it fails, the task the failure names)
DEFECTS = {
    ("LGC", "inbox-drops-stylesheet"): ("inbox-stylesheet-stored", "inbox-01"),
    ("DPI", "inbox-integrates-unqualified"): ("inbox-unqualified-held", "inbox-02"),
    ("PFI", "inbox-plain-imap"): ("inbox-imap-starttls", "inbox-01"),
    ("LGC", "inbox-patient-shows-address-only"): ("inbox-patient-identity", "inbox-05"),
}
INBOX_IDS = [check.id for check in INBOX_CHECKS]


def _task(evidence: dict, task_id: str) -> dict:
    return next(t for t in evidence["run"]["tasks"] if t["task"]["id"] == task_id)


def _claim(task: dict) -> dict:
    message_id = task["observed"]["inbox"]["delivered"]["message_id"]
    return next(c for c in json.loads(task["result"]["output"])["inbox"] if c["message_id"] == message_id)


# --- the plan -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir, reads", [("LGC", ["inbox-01", "inbox-02", "inbox-03", "inbox-05",
                                                     "inbox-06"]),
                                            ("DPI", ["inbox-01", "inbox-02", "inbox-03", "inbox-04"]),
                                            ("PFI", ["inbox-01"])])
def test_each_couloir_reads_the_mail_its_rem_asks_about(couloir, reads):
    plan = build_plan(load_world(), couloir, "small")
    assert [p.task.id for p in plan.of(inbox.READ)] == reads
    assert plan.by_id("inbox-receipt-01").task.extra == {"read_receipt": True}
    first = plan.by_id("inbox-01").task
    # a PFI keeps no patient file: no stylesheet to store, no read receipt asked of it (its acknowledgements,
    # PFI.MSS/UX.02, go over HL7v2)
    relay = couloir == "PFI"
    assert bool(first.extra.get("stylesheet")) is not relay
    assert bool(first.extra.get("read_receipt")) is not relay
    # the couloir's suite lists the inbox checks that have a task of its plan to judge, in their order
    assert [c for c in SUITES[couloir] if c.startswith("inbox-")] == [
        check.id for check in INBOX_CHECKS if not check.couloirs or couloir in check.couloirs]


# --- the delivered package ----------------------------------------------------------------------------------
def test_the_delivered_cda_names_the_producers_stylesheet_the_package_holds_beside_it():
    world = load_world()
    patient, reporter = world.patients[0], world.professionals[0]
    organisation = world.organisation_of(reporter)
    cda, _pdf = inbox.report_for(world, patient, reporter, qualified=True)
    sheet = inbox.producer_stylesheet(organisation)
    styled = inbox.with_stylesheet(cda)
    assert b'<?xml-stylesheet type="text/xsl" href="STYLE.XSL"?>' in styled.split(b"<ClinicalDocument")[0]
    package = inbox.xdm_package(styled, organisation, reporter.mailbox, sheet)
    assert inbox.cdas_of(package) == [styled]  # the stylesheet names ClinicalDocument but is no CDA
    assert inbox.stylesheet_of(package) == sheet
    assert inbox.producer_stylesheet(organisation) != sheet  # a new stylesheet for each delivery
    assert inbox.stylesheet_of(inbox.xdm_package(cda, organisation, reporter.mailbox)) is None


@pytest.mark.parametrize("instruction, kept", [
    ('type="text/xsl" href="STYLE.XSL"', True),
    ('type="text/xsl" href="../../IHE_XDM/SUBSET01/STYLE.XSL"', True),  # the same file, another way
    ('type="text/xsl" href="../../../STYLE.XSL"', False),  # out of the archive
    ('type="text/xsl" href="https://producer.example/STYLE.XSL"', False),  # never fetched
    ('type="text/css" href="STYLE.XSL"', False),  # not an XSL stylesheet
    ('type="text/xsl" href="MISSING.XSL"', False),
])
def test_the_reference_product_keeps_only_the_stylesheet_the_archive_holds_where_the_cda_says(
        instruction, kept):
    world = load_world()
    patient, reporter = world.patients[0], world.professionals[0]
    organisation = world.organisation_of(reporter)
    cda, pdf = inbox.report_for(world, patient, reporter, qualified=True)
    styled = inbox.with_stylesheet(cda).replace(inbox._STYLESHEET_PI.encode(), instruction.encode())
    sheet = inbox.producer_stylesheet(organisation)
    package = inbox.xdm_package(styled, organisation, reporter.mailbox, sheet)
    message = inbox.message_for(reporter.mailbox, "rx@x.mssante.fr", package, pdf, patient, "CR-IMG",
                                qualified=True, read_receipt=False)
    [document] = reference_inbox.xdm_documents(message)
    assert document["sha256"] == hashlib.sha256(styled).hexdigest()
    assert document["stylesheet_sha256"] == (hashlib.sha256(sheet).hexdigest() if kept else None)


# --- the proofs, each run once ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(stack, tmp_path_factory, clean_proof):
    """(couloir, defect or None) → the evidence of the small proof of the couloir's reference product (with
    the defect: the run of the couloir's defects, each seeded on the task it names)."""
    found = {(couloir, None): clean_proof(couloir).evidence for couloir in COULOIRS}
    for couloir in COULOIRS:
        seeded = {task_id: defect for (c, defect), (_check, task_id) in DEFECTS.items() if c == couloir}
        assert len(seeded) == len([key for key in DEFECTS if key[0] == couloir])  # one defect a task
        out = tmp_path_factory.mktemp(f"inbox-{couloir}-defects")
        # the defects run on the core plan and the inbox's tasks; the clean products on every capability
        evidence = seeded_proof(f"reference-{couloir.lower()}", couloir, out, seeded, stack=stack,
                                capabilities=("inbox",)).evidence
        found.update({(couloir, defect): evidence for defect in seeded.values()})
    return found


@pytest.mark.slow
@pytest.mark.parametrize("couloir", COULOIRS)
def test_the_reference_product_passes_every_inbox_check_of_its_couloir(runs, couloir):
    evidence = runs[couloir, None]
    assert evidence["verdict"] == "pass", {c: r["problems"][:2] for c, r in evidence["checks"].items()
                                           if r["status"] != "pass"}
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == couloir}
    listed = [check_id for check_id in INBOX_IDS if check_id in SUITES[couloir]]
    assert listed and all(outcomes[check_id] == "passed" for check_id in listed)
    # a check the couloir's suite lists judged something: none passes on nothing
    assert not [c for c, r in evidence["checks"].items() if r["status"] == "pass" and not r["evidence"]]
    # each REM id an inbox check carries for the couloir is counted proved in its pack
    for check_id in listed:
        for rem_id in CHECKS[check_id].rem[couloir]:
            assert evidence["requirements"][rem_id]["verdict"] == "pass", (check_id, rem_id)
    # the product read its mailbox over STARTTLS and named the document of the IHE_XDM.ZIP it fetched
    first = _task(evidence, "inbox-01")
    delivered = first["observed"]["inbox"]["delivered"]
    assert _claim(first)["documents"] == [d["id"] for d in delivered["documents"]]


@pytest.mark.slow
@pytest.mark.parametrize("couloir", ("LGC", "DPI"))
def test_the_stored_cda_and_stylesheet_are_the_bytes_the_harness_delivered(runs, couloir):
    evidence = runs[couloir, None]
    first = _task(evidence, "inbox-01")
    delivered = first["observed"]["inbox"]["delivered"]
    sheet = delivered["stylesheet"]
    assert sheet["name"] == "IHE_XDM/SUBSET01/STYLE.XSL" and len(sheet["sha256"]) == 64
    [stored] = _claim(first)["stored"]
    [document] = delivered["documents"]
    assert stored == {"id": document["id"], "sha256": document["sha256"],
                      "stylesheet_sha256": sheet["sha256"]}
    assert evidence["checks"]["inbox-stylesheet-stored"]["status"] == "pass"
    # the digests the check compares are the harness's own: those of the package the mock stored
    raw = [m for m in first["observed"]["mss"] if m["id"] == delivered["mock_id"]]
    assert raw and raw[0]["verdict"] == "accepted", raw and raw[0]["rules"]


@pytest.mark.slow
def test_a_pfi_is_judged_on_reading_not_on_a_patient_file(runs):
    evidence = runs["PFI", None]
    [read] = [t for t in evidence["run"]["tasks"] if t["scenario"] == inbox.READ]
    assert read["observed"]["inbox"]["delivered"]["stylesheet"] is None
    checks = evidence["checks"]
    # the checks of a patient file are not the PFI's: its suite leaves them out (they would pass on nothing)
    for check_id in ("inbox-unqualified-held", "inbox-no-duplicate", "inbox-mdn", "inbox-abnormal-results",
                     "inbox-stylesheet-stored"):
        assert check_id not in checks and check_id not in SUITES["PFI"], check_id
    assert checks["inbox-xdm-integrated"]["evidence"] and checks["inbox-imap-starttls"]["evidence"]


@pytest.mark.slow
@pytest.mark.parametrize("couloir, defect", sorted(DEFECTS))
def test_each_couloirs_inbox_defect_fails_its_check_on_the_task_it_names(runs, couloir, defect):
    evidence = runs[couloir, defect]
    check_id, task_id = DEFECTS[couloir, defect]
    status = {c: r["status"] for c, r in evidence["checks"].items()}
    assert evidence["verdict"] == "fail"
    assert status[check_id] == "fail", evidence["checks"][check_id]
    assert any(p.startswith(f"{task_id}:") for p in evidence["checks"][check_id]["problems"])
    # the couloir's other defects fail their own checks on their own tasks: this check names none of their
    # tasks, and no check fails but theirs and this one
    beside = [found for (c, d), found in DEFECTS.items() if c == couloir and d != defect]
    assert not named_tasks(evidence["checks"][check_id]["problems"]) & {task for _check, task in beside}
    assert {c for c, s in status.items() if s == "fail"} == {check_id, *(check for check, _task in beside)}
    failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    assert CHECKS[check_id].rem[couloir] and set(CHECKS[check_id].rem[couloir]) <= failing_rem
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == couloir}
    assert outcomes[check_id] == "failed"


@pytest.mark.slow
def test_a_cda_stored_without_its_stylesheet_is_named(runs):
    problems = runs["LGC", "inbox-drops-stylesheet"]["checks"]["inbox-stylesheet-stored"]["problems"]
    assert any("without its producer's stylesheet" in p and "STYLE.XSL" in p for p in problems), problems


# --- the stylesheet check on altered records ----------------------------------------------------------------
def _set_stored(task: dict, change) -> None:
    claimed = json.loads(task["result"]["output"])
    for entry in claimed["inbox"]:
        if entry["message_id"] == task["observed"]["inbox"]["delivered"]["message_id"]:
            change(entry)
    task["result"]["output"] = json.dumps(claimed)


@pytest.mark.slow
@pytest.mark.parametrize("change, says", [
    (lambda e: e["stored"][0].update(stylesheet_sha256=hashlib.sha256(b"another").hexdigest()),
     "is not the producer's"),
    (lambda e: e["stored"][0].update(sha256=hashlib.sha256(b"a rebuilt CDA").hexdigest()),
     "is not the one delivered"),
    (lambda e: e.pop("stored"), "no `stored` list"),
    (lambda e: e.update(stored=[]), "stored nothing under the CDA id"),
])
def test_a_stored_digest_other_than_the_delivered_bytes_fails(runs, change, says):
    run = copy.deepcopy(runs["LGC", None]["run"])
    assert CHECKS["inbox-stylesheet-stored"].judge(run).passed
    _set_stored(_task({"run": run}, "inbox-01"), change)
    result = CHECKS["inbox-stylesheet-stored"].judge(run)
    assert not result.passed and any(p.startswith("inbox-01:") and says in p for p in result.problems)


@pytest.mark.slow
def test_the_stylesheet_check_is_blocked_not_failed_when_nothing_was_integrated(runs):
    run = copy.deepcopy(runs["LGC", None]["run"])
    _set_stored(_task({"run": run}, "inbox-01"), lambda e: e.update(status=inbox.HELD))
    result = CHECKS["inbox-stylesheet-stored"].judge(run)
    assert result.status == "blocked" and result.blocked_by[0]["check"] == "inbox-xdm-integrated"


@pytest.mark.slow
def test_a_patient_shown_by_the_address_only_is_named(runs):
    problems = runs["LGC", "inbox-patient-shows-address-only"]["checks"]["inbox-patient-identity"]["problems"]
    assert any(p.startswith("inbox-05:") and "has no birth name" in p and "@patient.mssante.fr" in p
               for p in problems), problems
    clean = _task(runs["LGC", None], "inbox-05")
    assert _claim(clean)["usager"] == clean["observed"]["inbox"]["delivered"]["usager"]
    assert _claim(clean)["origin"] == "patient"


@pytest.mark.slow
@pytest.mark.parametrize("couloir", ("DPI", "PFI"))
def test_a_couloir_whose_rem_has_the_patient_rows_obsolete_gets_no_patient_message(runs, couloir):
    evidence = runs[couloir, None]
    assert "inbox-05" not in {t["task"]["id"] for t in evidence["run"]["tasks"]}
    for check_id in ("inbox-origin", "inbox-patient-identity"):  # not listed: they would pass on nothing
        assert check_id not in evidence["checks"] and check_id not in SUITES[couloir], check_id
