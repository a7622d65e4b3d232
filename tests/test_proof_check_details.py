"""Details of single checks on small hand-made run records (fast: no mocks, no system under test)."""

from __future__ import annotations

import copy

from segur.scenarios.checks import check_outage_reported

UID = "2.25.122673472141026745604108648050807914230"
PATIENT = "223057511250445^^^&1.2.250.1.213.1.4.10&ISO^NH"


def _iti41(seq: int, verdict: str, http_status: int, stored: list[dict]) -> dict:
    return {"seq": seq, "time": f"2026-11-23T12:17:22.{seq:03d}+00:00", "operation": "ITI-41", "verdict": verdict,
            "rules": [], "findings": [], "patient_id": None if verdict == "fault-injected" else PATIENT,
            "http_status": http_status, "status": None,
            "documents": [{"unique_id": UID, "ins": "223057511250445", "ins_oid": "1.2.250.1.213.1.4.10"}],
            "unique_ids": [UID], "entries": [s["entry_uuid"] for s in stored], "stored": stored}


def _run() -> dict:
    """An outage task whose ITI-41 got the injected 503, then the retry that stored the same report."""
    world = {"xds_patient_id": PATIENT, "ins": "223057511250445"}
    outage = {"task": {"id": "outage-01", "action": "send-dmp"}, "scenario": "outage", "expect": "failure",
              "fault": {"service": "dmp", "spec": {"kind": "http_error", "status": 503, "operation": "ITI-41"}},
              "result": {"task_id": "outage-01", "ok": False, "detail": "ServiceUnavailable: HTTP 503"},
              "world": world, "observed": {"insi": [{"code": "00"}], "dmp": [_iti41(26, "fault-injected", 503, [])],
                                           "mss": []}}
    stored = {"entry_uuid": "urn:uuid:1", "unique_id": UID,
              "availability_status": "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"}
    retry = {"task": {"id": "retry-01", "action": "send-dmp"}, "scenario": "retry", "expect": "delivered",
             "fault": None, "result": {"task_id": "retry-01", "ok": True, "detail": "sent"}, "world": world,
             "observed": {"insi": [{"code": "00"}], "dmp": [_iti41(28, "accepted", 200, [stored])], "mss": []}}
    return {"plan": {"couloir": "RIS"}, "tasks": [outage, retry], "dmp_store": {PATIENT: [stored]}}


def test_the_report_sent_again_by_the_retry_is_not_evidence_of_a_half_stored_outage():
    result = check_outage_reported(_run())
    assert result.passed, result.problems
    assert result.evidence[0]["stored_from_outage"] == []


def test_an_entry_stored_from_a_submission_during_the_outage_fails():
    run = copy.deepcopy(_run())
    attempt = run["tasks"][0]["observed"]["dmp"][0]
    attempt["stored"] = [{"entry_uuid": "urn:uuid:0", "unique_id": UID}]
    result = check_outage_reported(run)
    assert not result.passed
    assert result.evidence[0]["stored_from_outage"] == [UID]
    assert any("stored" in p and "during the outage" in p for p in result.problems)


# --- a citizen report delivered to another patient's mailbox ------------------------------------------------
CITIZEN_INS, OTHER_INS, OID = "236066322083656", "161077511874773", "1.2.250.1.213.1.4.10"


def _citizen_run(to: str) -> dict:
    rules = [] if to.startswith(CITIZEN_INS) else ["MSS-CITIZEN-OTHER-PATIENT"]
    message = {"seq": 53, "time": "2026-11-23T12:25:40.000+00:00", "verdict": "accepted" if not rules else
               "nonconformant", "rules": rules, "findings": [], "id": "MSS-000027", "from": "app@radiologie.mssante.fr",
               "to": [to], "delivered_to": [to], "subject": "XDM/1.0/DDM+CR", "attachments": [{"filename": "IHE_XDM.ZIP"}],
               "reply": "250 2.0.0 Ok", "documents": [{"cda": {"unique_id": "2.25.1", "ins": CITIZEN_INS, "ins_oid": OID},
                                                       "metadata": {"patient_id": f"{CITIZEN_INS}^^^&{OID}&ISO^NH"}}]}
    task = {"task": {"id": "citizen-01", "action": "send-citizen"}, "scenario": "citizen", "expect": "delivered",
            "result": {"ok": True, "detail": "sent"}, "world": {"ins": CITIZEN_INS},
            "observed": {"insi": [{"seq": 1, "time": "2026-11-23T12:25:39.000+00:00", "code": "00", "ins": CITIZEN_INS,
                                   "oid": OID, "for_task_patient": True}], "dmp": [], "mss": [message]}}
    return {"plan": {"couloir": "RIS"}, "tasks": [task], "dmp_store": {}}


def test_a_citizen_report_to_another_patients_mailbox_fails_the_citizen_check_not_the_metadata_one():
    from segur.scenarios.checks import check_citizen, check_metadata_patient

    right = _citizen_run(f"{CITIZEN_INS}@patient.mssante.fr")
    assert check_citizen(right).passed and check_metadata_patient(right).passed
    wrong = _citizen_run(f"{OTHER_INS}@patient.mssante.fr")
    citizen = check_citizen(wrong)
    assert not citizen.passed
    assert any("MSS-CITIZEN-OTHER-PATIENT" in p for p in citizen.problems)
    # the XDS/XDM patientId requirement (RIS.DMP/va1.10, MSS/CONF.24) is not what this defect breaks
    assert check_metadata_patient(wrong).passed


def test_a_report_sent_from_another_mailbox_than_the_planned_application_one_fails():
    from segur.scenarios.checks import check_citizen

    run = _citizen_run(f"{CITIZEN_INS}@patient.mssante.fr")
    run["tasks"][0]["task"]["sender"] = "app@radiologie.mssante.fr"
    assert check_citizen(run).passed
    run["tasks"][0]["observed"]["mss"][0]["from"] = "jacques.bideault@radiologie.mssante.fr"
    result = check_citizen(run)
    assert not result.passed
    assert any("not from the planned mailbox app@radiologie.mssante.fr" in p for p in result.problems)
