"""Receiving by MSSanté (capability `inbox`): the harness delivers reports to the product's mailbox, the
product reads it over IMAP with STARTTLS, integrates by INS, recognises a duplicate, returns read receipts.

The clean RIS and BIO proofs are the session's (`clean_proof`); one stack serves the module's runs of the
seeded defects of the capability (the small plan, core and inbox tasks): each defect fails exactly the check
that names it, on the task it names. The defects confined to their task run together, each seeded on its task
(`seeded.PerTaskDefects`); the two whose effect is not confined keep a run of their own (SEPARATE). Each check
also fails on a passing record altered to show its problem (`INBOX_BREAKERS`: a capability's failing cases
live in its own module, as `tests/scenarios/test_proof.py` says)."""

from __future__ import annotations

import copy
import json

import pytest
from seeded import named_tasks, seeded_proof

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import inbox, owner_of
from segur.scenarios.capabilities.inbox import CHECKS as INBOX_CHECKS
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import build_plan
from segur.scenarios.proof import run_proof
from segur.scenarios.suites import SUITES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

#: defect of the reference RIS → (the check it fails, the task the failure names)
DEFECT_CHECK = {
    "inbox-plain-imap": ("inbox-imap-starttls", "inbox-01"),
    "inbox-ignores-xdm": ("inbox-xdm-integrated", "inbox-01"),
    "inbox-integrates-unqualified": ("inbox-unqualified-held", "inbox-02"),
    "inbox-duplicates": ("inbox-no-duplicate", "inbox-03"),
    "inbox-no-mdn": ("inbox-mdn", "inbox-01"),
    "inbox-no-receipt-request": ("inbox-receipt-requested", "inbox-receipt-01"),
    "inbox-misses-abnormal": ("inbox-abnormal-results", "inbox-04"),
    "inbox-patient-as-professional": ("inbox-origin", "inbox-05"),
}
#: defect → checks it leaves blocked (nothing was integrated: nothing to find again, no result to flag, no
#: stylesheet stored)
DEFECT_BLOCKED = {"inbox-ignores-xdm": ("inbox-no-duplicate", "inbox-abnormal-results",
                                        "inbox-stylesheet-stored")}
#: the defects that keep a run of their own: plain IMAP is a setting of every IMAP session of the product,
#: and a product that ignores the XDM integrates nothing, which the later reading tasks find (DEFECT_BLOCKED)
SEPARATE = ("inbox-plain-imap", "inbox-ignores-xdm")
#: task → defect: every other defect, seeded on the task it names (its effect stays in that task), one run
TOGETHER = {task_id: defect for defect, (_check, task_id) in DEFECT_CHECK.items() if defect not in SEPARATE}
INBOX_IDS = [check.id for check in INBOX_CHECKS]


# --- the plan ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_the_reading_tasks_come_after_the_core_ones_for_a_patient_the_product_qualified(couloir):
    world = load_world()
    plan = build_plan(world, couloir, "small")
    ids = [p.task.id for p in plan.tasks]
    lab = ["inbox-04"] if couloir == "RIS" else []  # REM MSS/UX.18 is the RIS's
    patient = ["inbox-05"] if couloir == "RIS" else []  # so are MSS/UX.25 and .31 (obsolete for BIO)
    start = ids.index("inbox-receipt-01")
    assert ids[start:start + 4 + len(lab) + len(patient)] == \
        ["inbox-receipt-01", "inbox-01", "inbox-02", "inbox-03", *lab, *patient]
    core = [i for i, p in enumerate(plan.tasks) if owner_of(p.scenario) is None]
    assert core and max(core) < start  # the capabilities' tasks come after the core's (later ones follow)
    reads = plan.of(inbox.READ)
    expected = [inbox.INTEGRATED, inbox.HELD, inbox.ALREADY] + [inbox.INTEGRATED] * len(lab) + \
        [inbox.FROM_PATIENT] * len(patient)
    assert [p.expect for p in reads] == expected
    reports = [p for p in reads if p.expect != inbox.FROM_PATIENT]
    assert {p.patient_key for p in reports} == {plan.by_id("dmp-01").patient_key}
    first = reads[0].task
    assert first.action == "read-inbox" and first.extra["mailbox"] == plan.by_id("mss-01").task.sender
    assert first.extra["from"] != first.extra["mailbox"] and first.extra["read_receipt"]
    assert reads[2].task.extra["again_of"] == "inbox-01"
    receipt = plan.by_id("inbox-receipt-01").task
    assert receipt.action == "send-mss" and receipt.extra == {"read_receipt": True} and receipt.recipient


# --- the proofs: the session's clean ones, and the seeded defects ------------------------------------------
@pytest.fixture(scope="module")
def runs(stack, tmp_path_factory, clean_proof):
    """sut → the evidence of its small proof (RIS unless the key says BIO); `reference-ris:<defect>` → that of
    the run the defect was seeded in (its own, or the one of every TOGETHER defect)."""
    found = {"reference-ris": clean_proof("RIS").evidence, "reference-ris BIO": clean_proof("BIO").evidence}
    # a defect runs on the core plan and the inbox's tasks; the clean products on every capability
    for defect in SEPARATE:
        out = tmp_path_factory.mktemp("inbox-evidence")
        found[f"reference-ris:{defect}"] = run_proof(f"reference-ris:{defect}", "RIS", out, size="small",
                                                     progress=False, stack=stack,
                                                     capabilities=("inbox",)).evidence
    assert len(TOGETHER) == len(DEFECT_CHECK) - len(SEPARATE)  # one defect a task
    together = seeded_proof("reference-ris", "RIS", tmp_path_factory.mktemp("inbox-evidence"), TOGETHER,
                            stack=stack, capabilities=("inbox",)).evidence
    found.update({f"reference-ris:{defect}": together for defect in TOGETHER.values()})
    return found


def _task(evidence: dict, task_id: str) -> dict:
    return next(t for t in evidence["run"]["tasks"] if t["task"]["id"] == task_id)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["reference-ris", "reference-ris BIO"])
def test_the_reference_ris_passes_every_inbox_check_in_both_couloirs(runs, key):
    evidence = runs[key]
    assert evidence["verdict"] == "pass", {c: r["problems"][:2] for c, r in evidence["checks"].items()
                                           if r["status"] != "pass"}
    couloir = evidence["meta"]["couloir"]
    listed = [check_id for check_id in INBOX_IDS if check_id in SUITES[couloir]]
    assert listed and all(evidence["checks"][check_id]["status"] == "pass" for check_id in listed)
    # every check the suite lists judged something: none passes on nothing
    assert not [c for c, r in evidence["checks"].items() if r["status"] == "pass" and not r["evidence"]]


@pytest.mark.slow
def test_the_harness_delivered_through_smtp_and_the_product_read_over_starttls(runs):
    evidence = runs["reference-ris"]
    first = _task(evidence, "inbox-01")
    seen = first["observed"]["inbox"]
    delivered = seen["delivered"]
    assert delivered["mock_id"].startswith("MSS-") and delivered["x_mss_ins"] == "O"
    assert delivered["documents"][0]["ins"] == first["world"]["ins"]
    # the harness's own message is journalled, tagged with the task and stored like any message
    harness = [m for m in first["observed"]["mss"] if m["id"] == delivered["mock_id"]]
    assert harness and harness[0]["delivered_to"] == [delivered["to"]]
    assert harness[0]["verdict"] == "accepted", harness[0]["rules"]  # a conformant sender's message
    operations = [e["operation"] for e in seen["imap"]]
    assert operations[:3] == ["imap-starttls", "imap-login", "imap-select"] and "imap-fetch" in operations
    assert {e["tls"] for e in seen["imap"] if e["operation"] != "imap-starttls"} <= {"TLSv1.2", "TLSv1.3"}
    [mdn] = [s for s in seen["sent"] if s["report_type"] == "disposition-notification"]
    assert mdn["mdn"]["Original-Message-ID"] == delivered["message_id"]
    assert mdn["delivered_to"] == [delivered["from"]]
    # the core checks do not take the harness's deliveries or the MDN for the product's reports
    assert all(evidence["checks"][c]["status"] == "pass" for c in ("insi-before-send", "claims-honest"))
    third = _task(evidence, "inbox-03")["observed"]["inbox"]["delivered"]
    assert third["documents"] == delivered["documents"] and third["message_id"] != delivered["message_id"]
    # nor does the evidence pack list them among the documents the product sent
    assert not [d for d in evidence["documents"] if d["task"] in ("inbox-01", "inbox-02", "inbox-03")]
    held = _task(evidence, "inbox-02")["observed"]["inbox"]["delivered"]
    assert held["x_mss_ins"] == "N" and held["documents"][0]["ins"] is None


@pytest.mark.slow
@pytest.mark.parametrize("defect", sorted(DEFECT_CHECK))
def test_each_inbox_defect_fails_exactly_its_check_on_the_task_it_names(runs, defect):
    evidence = runs[f"reference-ris:{defect}"]
    check_id, task_id = DEFECT_CHECK[defect]
    status = {c: r["status"] for c, r in evidence["checks"].items()}
    assert evidence["verdict"] == "fail"
    assert status[check_id] == "fail", evidence["checks"][check_id]
    assert any(p.startswith(f"{task_id}:") for p in evidence["checks"][check_id]["problems"])
    # in the run of the TOGETHER defects, the others fail their own checks on their own tasks: this check
    # names none of their tasks, and no check fails but theirs and this one
    beside = [DEFECT_CHECK[d] for d in TOGETHER.values() if d != defect] if defect not in SEPARATE else []
    assert not named_tasks(evidence["checks"][check_id]["problems"]) & {task for _check, task in beside}
    failing = {c for c, s in status.items() if s == "fail"}
    assert failing == {check_id, *(check for check, _task in beside)}, failing
    blocked = {c for c, s in status.items() if s == "blocked"}
    assert blocked == set(DEFECT_BLOCKED.get(defect, ())), blocked
    failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    assert set(CHECKS[check_id].rem["RIS"]) <= failing_rem
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == "RIS"}
    assert outcomes[check_id] == "failed"


# --- each check on an altered record ------------------------------------------------------------------------
def _claims(task: dict) -> dict:
    return json.loads(task["result"]["output"])


def _set_status(task: dict, status: str) -> None:
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        if entry["message_id"] == task["observed"]["inbox"]["delivered"]["message_id"]:
            entry["status"] = status
    task["result"]["output"] = json.dumps(claimed)


def _break_starttls(run: dict) -> None:
    for entry in _task({"run": run}, "inbox-01")["observed"]["inbox"]["imap"]:
        if entry["operation"] == "imap-login":
            entry["tls"] = None  # the login went before STARTTLS


def _break_integrated(run: dict) -> None:
    delivered = _task({"run": run}, "inbox-01")["observed"]["inbox"]["delivered"]
    delivered["documents"][0]["id"] = "2.25.1"  # the archive held another document than the one claimed


def _break_held(run: dict) -> None:
    _set_status(_task({"run": run}, "inbox-02"), inbox.INTEGRATED)


def _break_duplicate(run: dict) -> None:
    _set_status(_task({"run": run}, "inbox-03"), inbox.INTEGRATED)


def _break_mdn(run: dict) -> None:
    _task({"run": run}, "inbox-01")["observed"]["inbox"]["sent"] = []


def _break_receipt(run: dict) -> None:
    for sent in _task({"run": run}, "inbox-receipt-01")["observed"]["inbox"]["sent"]:
        sent["disposition_notification_to"] = []


def _break_abnormal(run: dict) -> None:
    task = _task({"run": run}, "inbox-04")
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        entry["abnormal"] = entry.get("abnormal", [])[1:]  # one abnormal result left unflagged
    task["result"]["output"] = json.dumps(claimed)


def _break_stylesheet(run: dict) -> None:
    task = _task({"run": run}, "inbox-01")
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        for stored in entry.get("stored", []):
            stored["stylesheet_sha256"] = None  # the CDA kept alone
    task["result"]["output"] = json.dumps(claimed)


def _set_patient_claim(run: dict, change) -> None:
    task = _task({"run": run}, "inbox-05")
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        if entry["message_id"] == task["observed"]["inbox"]["delivered"]["message_id"]:
            change(entry)
    task["result"]["output"] = json.dumps(claimed)


def _break_origin(run: dict) -> None:
    _set_patient_claim(run, lambda entry: entry.update(origin="professional"))


def _break_identity(run: dict) -> None:  # every first name shown, not the first one
    _set_patient_claim(run, lambda entry: entry["usager"].update(first_name="CATARINA BELLA"))


def _break_insi_verify(run: dict) -> None:  # the RIS's inbox-01, read as an INS from another domain
    task = _task({"run": run}, "inbox-01")
    task["expect"] = inbox.VERIFIED
    task["observed"]["inbox"]["insi_searches"] = []  # integrated without asking INSi


#: check id → how to alter a passing run record so that it shows the check's problem
INBOX_BREAKERS = {"inbox-imap-starttls": _break_starttls, "inbox-xdm-integrated": _break_integrated,
                  "inbox-unqualified-held": _break_held, "inbox-no-duplicate": _break_duplicate,
                  "inbox-mdn": _break_mdn, "inbox-receipt-requested": _break_receipt,
                  "inbox-abnormal-results": _break_abnormal, "inbox-stylesheet-stored": _break_stylesheet,
                  "inbox-origin": _break_origin, "inbox-patient-identity": _break_identity,
                  "inbox-insi-verify": _break_insi_verify}


def test_every_inbox_check_has_a_breaker():
    assert set(INBOX_BREAKERS) == set(INBOX_IDS)


@pytest.mark.slow
@pytest.mark.parametrize("check_id", INBOX_IDS)
def test_each_inbox_check_fails_on_a_record_showing_its_problem(runs, check_id):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    assert CHECKS[check_id].judge(run).passed
    INBOX_BREAKERS[check_id](run)
    result = CHECKS[check_id].judge(run)
    assert not result.passed and result.problems


@pytest.mark.slow
def test_a_claim_for_a_message_never_fetched_is_not_believed(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    task = _task({"run": run}, "inbox-01")
    for entry in task["observed"]["inbox"]["imap"]:
        entry["messages"] = []  # the product fetched nothing, yet says it integrated the report
    result = CHECKS["inbox-xdm-integrated"].judge(run)
    assert not result.passed
    assert any("did not fetch" in p or "never fetched" in p for p in result.problems)


@pytest.mark.slow
def test_a_product_that_says_nothing_readable_fails_the_integration_checks(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    for task_id in ("inbox-01", "inbox-02"):
        _task({"run": run}, task_id)["result"]["output"] = "done"
    assert any("no JSON" in p for p in CHECKS["inbox-xdm-integrated"].judge(run).problems)
    assert not CHECKS["inbox-unqualified-held"].judge(run).passed


def test_claims_are_read_from_the_whole_output_or_its_last_json_line():
    entry = {"message_id": "<m@x>", "status": "integrated", "documents": ["1.2^3"], "patient_ins": "1"}
    whole = {"result": {"output": json.dumps({"ok": True, "inbox": [entry]})}}
    printed = {"result": {"output": "reading INBOX…\n" + json.dumps({"inbox": [entry]}) + "\n"}}
    assert inbox.claims(whole) == inbox.claims(printed) == [entry]
    assert inbox.claims({"result": {"output": "exit code 0"}}) is None


def test_an_mdn_is_read_from_its_disposition_notification_part():
    raw = (b"From: <a@x.mssante.fr>\r\nTo: <b@y.mssante.fr>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nlu\r\n"
           b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
           b"Final-Recipient: rfc822;a@x.mssante.fr\r\nOriginal-Message-ID: <m@x>\r\n"
           b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n\r\n--b--\r\n")
    facts = inbox.sent_facts(raw)
    assert facts["report_type"] == "disposition-notification"
    assert facts["mdn"]["Original-Message-ID"] == "<m@x>"
    assert inbox._DISPOSITION.match(facts["mdn"]["Disposition"])
    assert not inbox._DISPOSITION.match("processed")


@pytest.mark.slow
def test_a_message_the_harness_could_not_deliver_blocks_the_checks_never_fails_the_product(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    delivered = _task({"run": run}, "inbox-01")["observed"]["inbox"]["delivered"]
    delivered.update(mock_id=None, error="SMTPRecipientsRefused: the mock refused the harness's message")
    for check_id in ("inbox-imap-starttls", "inbox-xdm-integrated", "inbox-mdn"):
        result = CHECKS[check_id].judge(run)
        assert result.status == "blocked", (check_id, result.problems)
        [blocker] = result.blocked_by
        assert blocker["task"] == "inbox-01" and "could not deliver" in blocker["reason"]


@pytest.mark.slow
@pytest.mark.parametrize(("check_id", "task_id"), [
    ("inbox-unqualified-held", "inbox-02"), ("inbox-no-duplicate", "inbox-03"),
    ("inbox-abnormal-results", "inbox-04"), ("inbox-stylesheet-stored", "inbox-01")])
def test_an_undelivered_message_blocks_each_check_that_judges_its_task(runs, check_id, task_id):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    _task({"run": run}, task_id)["observed"]["inbox"]["delivered"].update(mock_id=None, error="refused")
    result = CHECKS[check_id].judge(run)
    assert result.status == "blocked", result.problems
    assert [blocker["task"] for blocker in result.blocked_by] == [task_id]
    assert "could not deliver" in result.blocked_by[0]["reason"]


# --- abnormal results of a received lab report (REM MSS/UX.18) ----------------------------------------------
@pytest.mark.slow
def test_the_abnormal_results_of_a_received_lab_report_are_flagged_from_its_interpretation_codes(runs):
    task = _task(runs["reference-ris"], "inbox-04")
    delivered = task["observed"]["inbox"]["delivered"]
    # what the harness read in the CR-BIO N3 it delivered, not what the product says
    assert {(r["code"], r["interpretation"]) for r in delivered["results"]} == \
        {("3016-3", "HH"), ("22664-7", "L"), ("26450-7", "A"), ("2885-2", "N")}
    [claim] = [c for c in _claims(task)["inbox"] if c["message_id"] == delivered["message_id"]]
    assert claim["status"] == inbox.INTEGRATED
    # the total proteins are below their range but interpreted normal: not flagged
    assert {(r["code"], r["interpretation"]) for r in claim["abnormal"]} == \
        {("3016-3", "HH"), ("22664-7", "L"), ("26450-7", "A")}
    assert runs["reference-ris"]["checks"]["inbox-abnormal-results"]["status"] == "pass"
    # the harness's CR-BIO went through the mock like a conformant lab's message
    harness = [m for m in task["observed"]["mss"] if m["id"] == delivered["mock_id"]]
    assert harness and harness[0]["verdict"] == "accepted", harness and harness[0]["rules"]
    assert "inbox-04" not in {t["task"]["id"] for t in runs["reference-ris BIO"]["run"]["tasks"]}


@pytest.mark.slow
def test_results_flagged_by_their_reference_range_fail_on_both_sides(runs):
    problems = runs["reference-ris:inbox-misses-abnormal"]["checks"]["inbox-abnormal-results"]["problems"]
    assert any("26450-7 interpreted A" in p for p in problems)  # no range: missed
    assert any("2885-2 flagged L" in p and "'N'" in p for p in problems)  # out of range, interpreted normal


@pytest.mark.slow
def test_a_lab_report_claim_without_an_abnormal_list_fails(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    task = _task({"run": run}, "inbox-04")
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        entry.pop("abnormal", None)
    task["result"]["output"] = json.dumps(claimed)
    result = CHECKS["inbox-abnormal-results"].judge(run)
    assert not result.passed and any("no `abnormal` list" in p for p in result.problems)


def test_the_harness_reads_each_lab_result_and_its_own_interpretation_code():
    world = load_world()
    patient, reporter = world.patients[0], world.professionals[0]
    cda, _pdf = inbox.report_for(world, patient, reporter, qualified=True, results=inbox.ABNORMAL_RESULTS)
    # the referenceRange's own interpretationCode (N) is not taken for the result's
    assert inbox.lab_results(cda) == [{"code": r.loinc, "interpretation": r.interpretation}
                                      for r in inbox.ABNORMAL_RESULTS]


# --- a patient's message from Mon espace santé (REM MSS/UX.25, MSS/UX.31) --------------------------------
def test_the_patient_who_writes_is_the_one_the_product_wrote_to_and_the_task_gives_no_traits():
    world = load_world()
    plan = build_plan(world, "RIS", "small")
    task = plan.by_id("inbox-05").task
    writer = world.patient_by_key(plan.by_id("citizen-01").patient_key)
    assert task.action == "read-inbox" and task.patient == {}  # named by the INS of the address only
    assert task.extra["from"] == writer.citizen_mailbox and task.extra["answers"] == "citizen-01"
    assert task.extra["mailbox"] == plan.by_id("citizen-01").task.sender
    assert world.mailbox(task.extra["professional"]).kind != "CITIZEN"
    assert len(writer.first_names.split()) > 1  # showing every first name is not the first one


@pytest.mark.slow
def test_a_patients_message_is_delivered_from_mon_espace_sante_beside_a_professionals(runs):
    task = _task(runs["reference-ris"], "inbox-05")
    seen = task["observed"]["inbox"]
    delivered, [other] = seen["delivered"], seen["alongside"]
    assert delivered["from"].endswith("@patient.mssante.fr") and delivered["origin"] == "patient"
    assert other["origin"] == "professional" and not other["from"].endswith("@patient.mssante.fr")
    # an answer to the product's message of citizen-01, found in the MSSanté journal
    citizen = _task(runs["reference-ris"], "citizen-01")
    assert [m for m in citizen["observed"]["mss"] if delivered["from"] in m["delivered_to"]]
    answered = delivered["answers"]
    assert answered["task"] == "citizen-01" and answered["message_id"] not in (None, delivered["message_id"])
    # both went through the mock's SMTP, tagged with the task; the patient's carries no X-MSS-* header
    mss = {m["id"]: m for m in task["observed"]["mss"]}
    assert {delivered["mock_id"], other["mock_id"]} <= set(mss)
    assert mss[other["mock_id"]]["verdict"] == "accepted", mss[other["mock_id"]]["rules"]
    assert set(mss[delivered["mock_id"]]["rules"]) <= {"MSS-NIL-MISSING"}  # asked of a professional's client
    fetched = inbox.fetched(task)
    assert {delivered["message_id"], other["message_id"]} <= fetched
    # the core checks take neither message for a report of the product's
    assert runs["reference-ris"]["checks"]["claims-honest"]["status"] == "pass"


@pytest.mark.slow
def test_the_reference_ris_names_the_patient_by_the_identity_its_ins_names(runs):
    evidence = runs["reference-ris"]
    task = _task(evidence, "inbox-05")
    delivered = task["observed"]["inbox"]["delivered"]
    [claim] = [c for c in _claims(task)["inbox"] if c["message_id"] == delivered["message_id"]]
    assert claim["origin"] == "patient"
    assert claim["usager"] == delivered["usager"] == {"birth_name": "TCHITCHI", "first_name": "CATARINA",
                                                      "ins": delivered["from"].split("@")[0]}
    [check] = evidence["checks"]["inbox-patient-identity"]["evidence"]
    assert check["note"].startswith("the product called INSi") and "insi_calls" in check
    assert evidence["checks"]["inbox-origin"]["status"] == "pass"


@pytest.mark.slow
def test_a_patients_message_listed_as_a_professionals_names_the_message(runs):
    problems = runs["reference-ris:inbox-patient-as-professional"]["checks"]["inbox-origin"]["problems"]
    assert problems and all(p.startswith("inbox-05:") for p in problems)
    assert any("@patient.mssante.fr is reported from a professional" in p for p in problems), problems


@pytest.mark.slow
@pytest.mark.parametrize("change, says", [
    (lambda e: e.pop("usager"), "does not say which usager"),
    (lambda e: e.update(usager={"address": "x@patient.mssante.fr"}), "has no birth name"),
    (lambda e: e["usager"].update(birth_name="AUTRE"), "has birth name 'AUTRE'"),
    (lambda e: e["usager"].update(ins="123456789012345"), "has INS '123456789012345'"),
])
def test_a_usager_other_than_the_one_the_ins_names_fails(runs, change, says):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    _set_patient_claim(run, change)
    result = CHECKS["inbox-patient-identity"].judge(run)
    assert not result.passed and any(p.startswith("inbox-05:") and says in p for p in result.problems), \
        result.problems


@pytest.mark.slow
def test_an_origin_not_reported_or_a_message_not_fetched_fails_the_origin_check(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    task = _task({"run": run}, "inbox-05")
    other = task["observed"]["inbox"]["alongside"][0]["message_id"]
    claimed = _claims(task)
    for entry in claimed["inbox"]:
        if entry["message_id"] == other:
            entry.pop("origin")
    task["result"]["output"] = json.dumps(claimed)
    problems = CHECKS["inbox-origin"].judge(run).problems
    assert any("does not say whether" in p and other in p for p in problems), problems
    for entry in task["observed"]["inbox"]["imap"]:
        entry["messages"] = []  # fetched nothing, yet reports both
    problems = CHECKS["inbox-origin"].judge(run).problems
    assert sum("never fetched" in p for p in problems) == 2, problems


@pytest.mark.slow
def test_a_patients_message_the_harness_could_not_deliver_blocks_both_checks(runs):
    run = copy.deepcopy(runs["reference-ris"]["run"])
    other = _task({"run": run}, "inbox-05")["observed"]["inbox"]["alongside"][0]
    other.update(mock_id=None, error="SMTPRecipientsRefused: refused")
    for check_id in ("inbox-origin", "inbox-patient-identity"):
        result = CHECKS[check_id].judge(run)
        assert result.status == "blocked", (check_id, result.problems)
        assert result.blocked_by[0]["task"] == "inbox-05"
