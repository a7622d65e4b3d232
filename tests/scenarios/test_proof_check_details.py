"""Details of single checks on small hand-made run records (fast: no mocks, no system under test)."""

from __future__ import annotations

import copy

from segur.scenarios.checks import CHECKS, check_outage_reported, check_outage_retry
from segur.scenarios.suites import SUITES

UID = "2.25.122673472141026745604108648050807914230"
PATIENT = "223057511250445^^^&1.2.250.1.213.1.4.10&ISO^NH"


def _iti41(seq: int, verdict: str, http_status: int, stored: list[dict]) -> dict:
    return {"seq": seq, "time": f"2026-11-23T12:17:22.{seq:03d}+00:00", "operation": "ITI-41",
            "verdict": verdict, "rules": [], "findings": [],
            "patient_id": None if verdict == "fault-injected" else PATIENT,
            "http_status": http_status, "status": None,
            "documents": [{"unique_id": UID, "ins": "223057511250445", "ins_oid": "1.2.250.1.213.1.4.10"}],
            "unique_ids": [UID], "entries": [s["entry_uuid"] for s in stored], "stored": stored}


def _run() -> dict:
    """An outage task whose ITI-41 got the injected 503, then the retry that stored the same report."""
    world = {"xds_patient_id": PATIENT, "ins": "223057511250445"}
    fault = {"service": "dmp", "spec": {"kind": "http_error", "status": 503, "operation": "ITI-41"}}
    outage = {"task": {"id": "outage-01", "action": "send-dmp"}, "scenario": "outage", "expect": "failure",
              "fault": fault,
              "result": {"task_id": "outage-01", "ok": False, "detail": "ServiceUnavailable: HTTP 503"},
              "world": world,
              "observed": {"insi": [{"code": "00"}], "dmp": [_iti41(26, "fault-injected", 503, [])],
                           "mss": []}}
    stored = {"entry_uuid": "urn:uuid:1", "unique_id": UID,
              "availability_status": "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"}
    retry = {"task": {"id": "retry-01", "action": "send-dmp"}, "scenario": "retry", "expect": "delivered",
             "fault": None, "result": {"task_id": "retry-01", "ok": True, "detail": "sent"}, "world": world,
             "observed": {"insi": [{"code": "00"}], "dmp": [_iti41(28, "accepted", 200, [stored])],
                          "mss": []}}
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
    message = {"seq": 53, "time": "2026-11-23T12:25:40.000+00:00",
               "verdict": "accepted" if not rules else "nonconformant", "rules": rules, "findings": [],
               "id": "MSS-000027", "from": "app@radiologie.mssante.fr", "to": [to], "delivered_to": [to],
               "subject": "XDM/1.0/DDM+CR", "attachments": [{"filename": "IHE_XDM.ZIP"}],
               "reply": "250 2.0.0 Ok", "header_to": [to], "header_cc": [],
               # the documents of its IHE_XDM.ZIP as the harness read them from the stored message
               "xdm_documents": [{"unique_id": "2.25.1", "ins": CITIZEN_INS, "ins_oid": OID,
                                  "xdm_patient_id": f"{CITIZEN_INS}^^^&{OID}&ISO^NH"}]}
    search = {"seq": 1, "time": "2026-11-23T12:25:39.000+00:00", "code": "00", "ins": CITIZEN_INS, "oid": OID,
              "for_task_patient": True}
    task = {"task": {"id": "citizen-01", "action": "send-citizen"}, "scenario": "citizen",
            "expect": "delivered", "result": {"ok": True, "detail": "sent"}, "world": {"ins": CITIZEN_INS},
            "observed": {"insi": [search], "dmp": [], "mss": [message]}}
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


# --- outage-retry: the report accepted after the outage is the one the outage refused -----------------------
def _retry_run(**retry_doc) -> dict:
    """`_run()` with the retry's accepted document changed by `retry_doc` (unique_id, set_id, version)."""
    run = copy.deepcopy(_run())
    for task in run["tasks"]:
        for item in task["observed"]["dmp"]:
            item["documents"][0].update(set_id="2.25.7", version="1")
    run["tasks"][1]["task"]["extra"] = {"retry_of": "outage-01"}
    run["tasks"][1]["observed"]["insi"] = [{"code": "00", "for_task_patient": True, "ins": "223057511250445",
                                            "oid": "1.2.250.1.213.1.4.10"}]
    retry = run["tasks"][1]["observed"]["dmp"][0]
    retry["documents"][0].update(retry_doc)
    return run


def test_the_report_kept_through_the_outage_and_sent_again_passes():
    result = check_outage_retry(_retry_run())
    assert result.status == "pass", result.problems
    seen = result.evidence[0]
    tried, sent = seen["report_tried_during_outage"][0], seen["report_accepted_after"][0]
    assert tried["unique_id"] == sent["unique_id"] == UID


def test_a_report_rebuilt_after_the_outage_fails_as_lost():
    result = check_outage_retry(_retry_run(unique_id="2.25.999", set_id="2.25.998"))
    assert result.status == "fail"
    assert any("not the report outage-01 tried to send" in p and "was lost" in p for p in result.problems)


def test_the_same_ids_on_other_bytes_is_a_report_rebuilt_not_the_one_kept():
    run = _retry_run()
    for task in run["tasks"]:
        task["observed"]["dmp"][0]["documents"][0]["sha1"] = "a" * 40
    assert check_outage_retry(run).status == "pass"
    run["tasks"][1]["observed"]["dmp"][0]["documents"][0]["sha1"] = "b" * 40
    result = check_outage_retry(run)
    assert result.status == "fail" and any("rebuilt, not sent as it was" in p for p in result.problems)


def test_the_same_id_with_another_set_id_or_version_is_not_the_same_report():
    assert check_outage_retry(_retry_run(set_id="2.25.8")).status == "fail"
    assert check_outage_retry(_retry_run(version="2")).status == "fail"


def test_an_outage_attempt_that_never_reached_the_dmp_blocks_the_check_and_says_so():
    run = _retry_run()
    run["tasks"][0]["observed"]["dmp"] = []  # e.g. connection refused: the mock journalled nothing
    result = check_outage_retry(run)
    assert result.status == "blocked" and not result.passed
    [blocked] = result.blocked_by
    assert blocked["check"] is None and blocked["task"] == "outage-01"
    assert "no ITI-41 of outage-01 reached the DMP" in blocked["reason"]
    assert result.evidence[0]["outage_attempts"] == []


def test_a_request_the_journal_cut_is_identified_by_its_xds_metadata():
    run = _retry_run()
    attempt = run["tasks"][0]["observed"]["dmp"][0]
    attempt["documents"] = [{"unreadable": "the request was larger than the journal keeps; CDA not re-read"}]
    attempt["unique_ids"] = []  # the mock records no document ids for a request its fault answered
    attempt["xds_unique_ids"] = [UID]
    result = check_outage_retry(run)
    assert result.status == "pass", result.problems
    assert result.evidence[0]["report_tried_during_outage"][0]["source"] == "xds-metadata"
    attempt["xds_unique_ids"] = ["2.25.1"]
    assert check_outage_retry(run).status == "fail"
    attempt["xds_unique_ids"] = []
    blocked = check_outage_retry(run)
    assert blocked.status == "blocked" and "kept too little" in blocked.blocked_by[0]["reason"]


def test_a_retry_the_dmp_refused_for_its_content_is_blocked_by_dmp_accepted_not_failed():
    run = _retry_run()
    retry = run["tasks"][1]
    item = retry["observed"]["dmp"][0]
    item.update(verdict="rejected", rules=["DMP-CDA-009"], stored=[])
    run["dmp_store"] = {}
    result = check_outage_retry(run)
    assert result.status == "blocked", result.problems
    reason = result.blocked_by[0]["reason"]
    assert result.blocked_by == [{"check": "dmp-accepted", "task": "retry-01", "reason": reason}]
    assert "DMP-CDA-009" in result.blocked_by[0]["reason"]
    # and dmp-accepted fails on that very task
    from segur.scenarios.checks import check_dmp_accepted

    retry["task"]["kind"] = "CR-IMG"
    accepted = check_dmp_accepted(run)
    assert accepted.status == "fail" and any(p.startswith("retry-01:") for p in accepted.problems)


def test_a_retry_that_sends_nothing_though_insi_qualified_the_patient_fails():
    run = _retry_run()
    run["tasks"][1]["observed"]["dmp"] = []  # INSi qualified the patient (00), and no ITI-41 followed
    run["dmp_store"] = {}
    result = check_outage_retry(run)
    assert result.status == "fail"
    assert any("0 accepted submissions after the outage" in p for p in result.problems)


def test_xds_unique_ids_are_read_from_the_journalled_envelope_even_when_the_body_was_cut():
    from segur.scenarios.observe import xds_unique_ids

    envelope = ('--MIMEBoundary\r\nContent-Type: application/xop+xml\r\n\r\n<s:Envelope><s:Body><lcm:Submit>'
                '<rim:ExtrinsicObject id="Doc1"><rim:ExternalIdentifier id="ei1" registryObject="Doc1" '
                f"value='{UID}' identificationScheme=\"urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab\">"
                '</rim:ExternalIdentifier><rim:ExternalIdentifier identificationScheme='
                '"urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" value="x^^^&amp;1.2&amp;ISO^NH"/>'
                '</rim:ExtrinsicObject></lcm:Submit></s:Body></s:Envelope>\r\n--MIMEBoundary\r\n<ClinicalDoc')
    exchange = {"request": {"body": {"encoding": "text", "text": envelope, "truncated": True}}}
    assert xds_unique_ids(exchange) == [UID]
    assert xds_unique_ids({"request": {"body": {"encoding": "base64", "text": "AAAA"}}}) == []
    assert xds_unique_ids({}) == []


def test_document_ids_read_the_set_id_version_and_replaced_document():
    from segur.scenarios.observe import _document_ids

    cda = (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="2.25.1"/><setId root="2.25.2" extension="A"/>'
           b'<versionNumber value="2"/><relatedDocument typeCode="RPLC"><parentDocument><id root="2.25.0"/>'
           b'</parentDocument></relatedDocument></ClinicalDocument>')
    ids = _document_ids(cda)
    assert (ids["set_id"], ids["version"], ids["replaces"]) == ("2.25.2^A", "2", "2.25.0")
    assert len(ids["sha1"]) == 40
    assert _document_ids(b"<not xml")["set_id"] is None


# --- blocked: a check whose precondition an upstream failure took away -----------------------------------
def _refused(seq: int) -> dict:
    item = _iti41(seq, "rejected", 200, [])
    item.update(rules=["DMP-CDA-009"],
                findings=[{"rule": "DMP-CDA-009", "severity": "error", "message": "format"}])
    return item


def _dmp_task(task_id: str, scenario: str, dmp: list[dict], insi=None, extra=None) -> dict:
    return {"task": {"id": task_id, "action": "replace-dmp" if scenario == "replace" else "send-dmp",
                     "kind": "CR-IMG", "extra": extra or {}, "recipient": None},
            "scenario": scenario, "expect": "delivered", "result": {"ok": False, "detail": "refused"},
            "world": {"xds_patient_id": PATIENT, "ins": "223057511250445"},
            "observed": {"insi": insi if insi is not None else [
                {"seq": 1, "time": "2026-11-23T12:17:21.000+00:00", "code": "00", "ins": "223057511250445",
                 "oid": "1.2.250.1.213.1.4.10", "for_task_patient": True}], "dmp": dmp, "mss": []}}


def test_a_document_the_dmp_refused_for_its_metadata_blocks_documents_valid_and_the_replacement():
    from segur.scenarios.checks import check_documents_valid, check_replacement

    run = {"plan": {"couloir": "RIS"}, "dmp_store": {},
           "tasks": [_dmp_task("dmp-01", "dmp", [_refused(2)]),
                     _dmp_task("replace-01", "replace", [], extra={"replaces_task": "dmp-01"})]}
    valid = check_documents_valid(run)
    assert valid.status == "blocked" and not valid.passed and not valid.problems
    assert {(b["check"], b["task"]) for b in valid.blocked_by} == {("dmp-accepted", "dmp-01"),
                                                                    ("dmp-accepted", "replace-01")}
    replacement = check_replacement(run)
    assert replacement.status == "blocked"
    assert [(b["check"], b["task"]) for b in replacement.blocked_by] == [("dmp-accepted", "dmp-01")]
    assert "DMP-CDA-009" in replacement.blocked_by[0]["reason"]


def test_a_document_the_dmp_validator_refused_fails_documents_valid():
    from segur.scenarios.checks import check_documents_valid

    item = _refused(2)
    item.update(rules=["SEGUR-BODY-002"], findings=[{"rule": "SEGUR-BODY-002", "severity": "error",
                                                      "message": "the PDF is not base64"}])
    result = check_documents_valid({"plan": {"couloir": "RIS"}, "dmp_store": {},
                                    "tasks": [_dmp_task("dmp-01", "dmp", [item])]})
    assert result.status == "fail" and result.blocked_by == []
    assert any("SEGUR-BODY-002" in p for p in result.problems)


def test_nothing_sent_for_want_of_a_qualified_identity_is_blocked_by_the_insi_check():
    from segur.scenarios.checks import check_dmp_accepted, check_documents_valid, check_insi_before_send

    run = {"plan": {"couloir": "RIS"}, "dmp_store": {},
           "tasks": [_dmp_task("dmp-01", "dmp", [], insi=[{"seq": 1, "time": "t", "code": "01", "ins": None,
                                                            "oid": None, "for_task_patient": True}])]}
    assert check_insi_before_send(run).status == "fail"
    for check in (check_dmp_accepted, check_documents_valid):
        result = check(run)
        assert result.status == "blocked", (check.__name__, result.problems)
        upstream = result.blocked_by[0]
        assert upstream["check"] == "insi-before-send" and "codes 01" in upstream["reason"]


def test_a_message_never_sent_blocks_the_header_checks_and_a_bad_header_still_fails_them():
    run = _citizen_run(f"{CITIZEN_INS}@patient.mssante.fr")
    headers = CHECKS["mss-headers"].judge
    assert headers(run).status == "pass"
    message = run["tasks"][0]["observed"]["mss"][0]
    run["tasks"][0]["observed"]["mss"] = []
    blocked = headers(run)
    assert blocked.status == "blocked"
    upstream = blocked.blocked_by[0]
    assert upstream["check"] == "citizen-address" and "no message" in upstream["reason"]
    assert CHECKS["citizen-address"].judge(run).status == "fail"  # the upstream check does fail
    message.update(rules=["MSS-NIL-MISSING"], findings=[{"rule": "MSS-NIL-MISSING", "severity": "error",
                                                         "message": "no X-MSS-NIL"}])
    run["tasks"][0]["observed"]["mss"] = [message]
    assert headers(run).status == "fail"


def test_a_failure_of_its_own_wins_over_a_blocked_task():
    from segur.scenarios.checks import check_documents_valid

    invalid = {"valid": False, "findings": [{"rule": "SCH-1", "message": "x"}]}
    stored = {"entry_uuid": "urn:uuid:2", "unique_id": "2.25.5", "validation": invalid}
    bad = _iti41(4, "accepted", 200, [stored])
    run = {"plan": {"couloir": "RIS"}, "dmp_store": {},
           "tasks": [_dmp_task("dmp-01", "dmp", [_refused(2)]), _dmp_task("dmp-02", "dmp", [bad])]}
    result = check_documents_valid(run)
    assert result.status == "fail" and not result.passed
    assert [b["task"] for b in result.blocked_by] == ["dmp-01"]


# --- documents-valid with an official pack: the XSD and Schematron layers must have run
# -----------------------
def _accepted_with_layers(statuses: dict[str, str]) -> dict:
    stored = {"entry_uuid": "urn:uuid:1", "unique_id": UID, "validation": {
        "valid": True, "findings": [],
        "layers": [{"name": name, "status": status, "reason": None if status == "ran" else "no pack"}
                   for name, status in statuses.items()]}}
    return _iti41(3, "accepted", 200, [stored])


def _valid_run(statuses: dict[str, str], pack: str | None) -> dict:
    run = {"plan": {"couloir": "RIS"}, "dmp_store": {}, "tasks": [_dmp_task("dmp-01", "dmp", [
        _accepted_with_layers(statuses)])]}
    if pack:
        run["validation"] = {"pack": pack}
    return run


ALL_RAN = {"xml": "ran", "structure": "ran", "xsd": "ran", "schematron": "ran", "segur": "ran"}
NO_OFFICIAL = {"xml": "ran", "structure": "ran", "xsd": "skipped", "schematron": "skipped", "segur": "ran"}


def test_a_document_valid_without_the_official_layers_fails_when_a_pack_is_configured():
    from segur.scenarios.checks import check_documents_valid

    result = check_documents_valid(_valid_run(NO_OFFICIAL, "/packs/cda"))
    assert result.status == "fail"
    assert any("without the official layers" in p and "xsd (no pack)" in p for p in result.problems)


def test_a_document_valid_with_every_layer_passes_and_without_a_pack_only_the_own_layers_are_asked():
    from segur.scenarios.checks import check_documents_valid

    assert check_documents_valid(_valid_run(ALL_RAN, "/packs/cda")).status == "pass"
    # the pack's absence is said elsewhere
    assert check_documents_valid(_valid_run(NO_OFFICIAL, None)).status == "pass"


def test_an_outage_task_with_an_insi_search_but_no_dmp_attempt_fails_outage_reported():
    run = copy.deepcopy(_run())
    run["tasks"][0]["observed"]["dmp"] = []  # searched INSi (00), then gave up without submitting
    result = check_outage_reported(run)
    assert not result.passed
    assert any("never attempted the DMP submission" in p for p in result.problems)


def _mss_task(action: str, delivered_to: list[str], recipient: str | None) -> dict:
    return {"task": {"id": "mss-01" if action == "send-mss" else "citizen-01", "action": action,
                     "recipient": recipient, "extra": {}},
            "scenario": "mss" if action == "send-mss" else "citizen", "expect": "delivered",
            "result": {"ok": True, "detail": "sent"},
            "world": {"citizen_mailbox": f"{CITIZEN_INS}@patient.mssante.fr"},
            "observed": {"insi": [], "dmp": [], "mss": [{"delivered_to": delivered_to}]}}


def test_a_success_claimed_for_a_report_delivered_to_someone_else_is_not_honest():
    from segur.scenarios.checks import check_claims_honest

    right = [_mss_task("send-mss", ["Dr.Who@cabinet.mssante.fr"], "dr.who@cabinet.mssante.fr"),
             _mss_task("send-citizen", [f"{CITIZEN_INS}@patient.mssante.fr"], None)]
    assert check_claims_honest({"plan": {"couloir": "RIS"}, "tasks": right}).passed
    wrong = [_mss_task("send-mss", ["someone@else.mssante.fr"], "dr.who@cabinet.mssante.fr"),
             _mss_task("send-citizen", [f"{OTHER_INS}@patient.mssante.fr"], None)]
    result = check_claims_honest({"plan": {"couloir": "RIS"}, "tasks": wrong})
    assert [p.split(":")[0] for p in result.problems] == ["mss-01", "citizen-01"]


def test_the_summary_lines_name_failed_checks_with_their_fix_then_blocked_ones_with_what_blocked_them():
    from segur.scenarios.evidence_pack import problem_lines

    checks = [
        {"id": "dmp-replacement", "rem": ["RIS.DMP/va1.09"], "passed": False, "status": "blocked",
         "problems": [], "blocked_by": [{"check": "dmp-accepted", "task": "dmp-01", "reason": "refused"}]},
        # no status: a pack written before "blocked" existed
        {"id": "dmp-accepted", "rem": ["RIS.DMP/va1.13"], "passed": False, "problems": ["dmp-01: refused"],
         "hint": "Read the DMP's RegistryErrorList"},
        {"id": "mss-subject", "rem": ["MSS/CONF.25"], "passed": True, "status": "pass", "problems": [],
         "hint": "a passing check's hint is not shown"},
        {"id": "xdm-format", "rem": ["MSS/CONF.23"], "passed": False, "status": "fail",
         "problems": ["mss-01"]},
    ]
    assert problem_lines(checks) == [
        "FAIL dmp-accepted [RIS.DMP/va1.13]: dmp-01: refused",
        "  fix: Read the DMP's RegistryErrorList",
        "FAIL xdm-format [MSS/CONF.23]: mss-01",
        "BLOCKED dmp-replacement [RIS.DMP/va1.09]: not evaluated, blocked by dmp-accepted (dmp-01)"]


# --- issue 13: what the harness reads itself, and the new checks on hand-made records
# ------------------------
def _img_report(world, **options):
    from segur.fixtures.documents import build_cr_img_n1

    patient = world.patient_by_key("ans-cda-pat-trois-dominique")
    author = world.professional_by_idnps("801234560801")
    return patient, author, build_cr_img_n1(patient, author, world.organisation_of(author), **options)


def test_the_harness_reads_the_patient_author_dates_and_pdf_text_of_a_cda(world):
    from segur.scenarios.observe import document_facts

    patient, author, document = _img_report(world, effective_time="20261201101500+0100",
                                            author_time="20261201111500+0100")
    facts = document_facts(document)
    assert facts["body_media_type"] == "application/pdf"
    assert "1.3.6.1.4.1.19376.1.2.20" in facts["template_ids"]
    assert facts["author_ids"] == [f"1.2.250.1.71.4.2.1^{author.idnps}"]
    assert (facts["service_start"], facts["author_time"]) == ("20261201101500+0100", "20261201111500+0100")
    (pdf,) = facts["pdfs"]
    assert patient.birth_name in pdf["text"] and patient.ins in pdf["text"] and len(pdf["sha1"]) == 40


def test_an_unreadable_pdf_is_evidence_not_a_crash_and_fails_pdf_patient():
    from segur.scenarios.observe import pdf_facts

    facts = pdf_facts(b"garbage, not a PDF")
    assert facts["text"] is None and facts["error"].startswith("PdfStreamError") and facts["size"] == 18
    run = _doc_run({"unique_id": UID, "birth_name": "PAT-TROIS", "ins": "279035121518989", "pdfs": [facts]})
    result = CHECKS["pdf-patient"].judge(run)
    assert result.status == "fail" and "cannot be read (PdfStreamError" in result.problems[0]


def test_the_harness_reads_the_attached_pdf_and_the_xdm_of_a_stored_message(world):
    from segur.mocks.mssante.testing import mss_message
    from segur.scenarios.observe import mss_message_facts

    _patient, _author, document = _img_report(world)
    raw = bytes(mss_message("a@x.mssante.fr", "b@y.mssante.fr", [document]))
    facts = mss_message_facts(raw)
    (attached,) = facts["attached_pdfs"]
    (doc,) = facts["xdm_documents"]
    assert attached["sha1"] == doc["pdfs"][0]["sha1"]  # the testing helper attaches the PDF the CDA embeds
    assert doc["unique_id"] and doc["ins"] and doc["xdm_format_code"] is None


def _doc_run(*documents) -> dict:
    """One DMP task per document (unique_id, ins, sha1, times…), each sent in an ITI-41."""
    run_tasks = []
    for number, doc in enumerate(documents, start=1):
        item = {"seq": number, "time": f"2026-12-06T10:00:0{number}+00:00", "operation": "ITI-41",
                "verdict": "accepted", "rules": [], "documents": [doc]}
        run_tasks.append({"task": {"id": f"dmp-{number:02d}", "author": {"idnps": "801234560801"}},
                          "scenario": "dmp", "expect": "delivered",
                          "observed": {"insi": [], "dmp": [item], "mss": []}})
    return {"plan": {"couloir": "RIS"}, "tasks": run_tasks}


def test_one_document_id_with_two_contents_or_two_patients_fails_and_the_same_bytes_sent_twice_pass():
    check = CHECKS["document-ids"].judge
    same = {"unique_id": UID, "ins": "223057511250445", "sha1": "a" * 40}
    assert check(_doc_run(same, dict(same))).status == "pass"
    assert "2 different contents" in check(_doc_run(same, dict(same, sha1="b" * 40))).problems[0]
    assert "2 patients" in check(_doc_run(same, dict(same, ins="180032B02040123"))).problems[0]


def test_dates_are_compared_in_utc_and_by_day_when_one_is_a_date_only():
    check = CHECKS["document-dates"].judge
    exam = {"unique_id": UID, "service_start": "20261201101500+0100"}
    assert check(_doc_run(dict(exam, author_time="20261201091600+0000"))).status == "pass"  # 10:16 Paris
    assert check(_doc_run(dict(exam, author_time="20261201091400+0000"))).status == "fail"  # 10:14 Paris
    assert check(_doc_run(dict(exam, author_time="20261201"))).status == "pass"
    assert check(_doc_run(dict(exam, author_time="20261130"))).status == "fail"
    assert "not an HL7 date" in check(_doc_run(dict(exam, author_time="hier"))).problems[0]


def test_the_author_must_be_the_task_professional_in_the_cda_and_the_vihf():
    check = CHECKS["author-is-actor"].judge
    run = _doc_run({"unique_id": UID, "author_ids": ["1.2.250.1.71.4.2.1^801234560801"]})
    assert check(run).status == "pass"
    run["tasks"][0]["observed"]["dmp"][0]["vihf_subject"] = "899700000000"
    assert "VIHF Subject NameID" in check(run).problems[0]
    other = _doc_run({"unique_id": UID, "author_ids": ["1.2.250.1.71.4.2.1^899700000000"]})
    assert "not the task's author" in check(other).problems[0]


# --- issue 13, round 2: identity traits, headers and metadata against the CDA ------------------------------
INS_TROIS = "279035121518989"
TIQ = {"birth_name": "PAT-TROIS", "first_name": "DOMINIQUE", "first_names": "DOMINIQUE MARIE", "sex": "F",
       "birth_date": "1979-03-05", "birth_place": "63220"}
CDA_TRAITS = {"birth_name": "PAT-TROIS", "first_names": "DOMINIQUE MARIE", "first_name": "DOMINIQUE",
              "sex": "F", "birth_time": "19790305", "birth_place": "63220"}


def _traits_run(**changed) -> dict:
    run = _doc_run({"unique_id": UID, "ins": INS_TROIS, "patient_traits": dict(CDA_TRAITS, **changed)})
    run["tasks"][0]["observed"]["insi"] = [{"seq": 1, "code": "00", "for_task_patient": True,
                                            "ins": INS_TROIS, "oid": "1.2.250.1.213.1.4.8", "returned": TIQ}]
    return run


def test_the_cda_traits_must_be_the_ones_insi_returned_letter_for_letter():
    check = CHECKS["patient-traits"].judge
    assert check(_traits_run()).status == "pass"
    for key, value, label in (("birth_name", "Pat-Trois", "birth name"),
                              ("first_names", "DOMINIQUE", "first names"),
                              ("first_name", "MARIE", "first first name"), ("sex", "M", "sex"),
                              ("birth_time", "19790306", "birth date"),
                              ("birth_place", "99100", "birth place")):
        result = check(_traits_run(**{key: value}))
        assert result.status == "fail", key
        assert f"{label} {value!r}" in result.problems[0] and "traits INSi returned" in result.problems[0]


def test_a_document_without_an_insi_answer_for_its_ins_is_left_to_the_ins_checks():
    run = _traits_run(birth_name="AUTRE")
    run["tasks"][0]["observed"]["insi"] = []
    assert CHECKS["patient-traits"].judge(run).status == "pass"


def test_the_harness_reads_the_traits_insi_returned_and_the_ones_the_cda_carries(world):
    from segur.mocks.insi.soap import render_individu, render_ins
    from segur.scenarios.observe import document_facts, insi_returned

    tiq = {"NomNaissance": "PAT-TROIS", "Prenom": "DOMINIQUE", "ListePrenom": "DOMINIQUE MARIE", "Sexe": "F",
           "DateNaissance": "1979-03-05", "LieuNaissance": "63220"}
    body = render_individu(render_ins("INSACTIF", "2790351215189", "89", "1.2.250.1.213.1.4.8"), [], tiq)
    exchange = {"response": {"body": {"encoding": "text", "text": f"<RESULTAT>{body}</RESULTAT>"}}}
    assert insi_returned(exchange) == TIQ
    assert insi_returned({"response": {"body": {"encoding": "text", "text": "<Fault/>"}}}) == {}
    patient, _author, document = _img_report(world)
    traits = document_facts(document)["patient_traits"]
    assert traits["birth_name"] == patient.birth_name and traits["first_names"] == patient.first_names
    assert traits["birth_place"] == patient.birth_place and traits["birth_time"].startswith(
        patient.birth_date.replace("-", ""))


def test_a_document_without_realm_a_language_code_or_the_imaging_act_fails_the_header_check():
    check = CHECKS["document-header"].judge
    good = {"unique_id": UID, "realm": "FR", "language": "fr-FR", "code": "18748-4", "service_events": 1,
            "service_event_code": "24627-2"}
    assert check(_doc_run(good)).status == "pass"
    assert "realmCode None" in check(_doc_run(dict(good, realm=None))).problems[0]
    assert "languageCode None" in check(_doc_run(dict(good, language=None))).problems[0]
    assert "the act it reports" in check(_doc_run(dict(good, service_event_code=None))).problems[0]
    # CR-BIO: not asked here
    assert check(_doc_run(dict(good, code="11502-2", service_events=0))).status == "pass"


def test_any_language_country_code_passes_the_header_check_by_default():
    check = CHECKS["document-header"].judge
    good = {"unique_id": UID, "realm": "FR", "code": "11502-2"}
    for language in ("fr-BE", "en-US"):
        result = check(_doc_run(dict(good, language=language)))
        assert result.status == "pass", language
        assert result.evidence[0]["language"] == language
        assert result.evidence[0]["reading"] == "strict reading not applied"


def test_a_language_code_without_the_ll_cc_syntax_fails_the_header_check():
    check = CHECKS["document-header"].judge
    good = {"unique_id": UID, "realm": "FR", "code": "11502-2"}
    for language in ("fr", "FR-fr", "fr_FR", "xfr-FRx"):
        result = check(_doc_run(dict(good, language=language)))
        assert result.status == "fail" and "not a language-COUNTRY code" in result.problems[0], language


def test_the_strict_reading_asks_fr_fr():
    from segur.scenarios.checks import _header_problems

    doc = {"unique_id": UID, "realm": "FR", "language": "fr-BE", "code": "11502-2"}
    assert _header_problems("dmp-01", "ITI-41 #1", doc) == []
    assert "not 'fr-FR' (strict reading)" in _header_problems("dmp-01", "ITI-41 #1", doc, strict=True)[0]
    assert _header_problems("dmp-01", "ITI-41 #1", dict(doc, language="fr-FR"), strict=True) == []


def _xds_run(entry: dict, doc: dict) -> dict:
    run = _doc_run(dict({"unique_id": UID}, **doc))
    run["tasks"][0]["observed"]["dmp"][0]["xds_entries"] = [dict({"unique_id": UID}, **entry)]
    return run


def test_the_xds_entry_must_describe_its_cda_times_compared_in_utc():
    check = CHECKS["metadata-matches-cda"].judge
    doc = {"title": "CR d'imagerie", "language": "fr-FR", "service_start": "20261201101500+0100",
           "author_specialty": "G15_10/SM44"}
    entry = {"title": "CR d'imagerie", "language": "fr-FR", "service_start": "20261201091500",
             "author_specialties": ["G15_10/SM44^Radiologie^1.2.250.1.71.4.2.5"]}
    assert check(_xds_run(entry, doc)).status == "pass"
    for key, value, said in (("title", "Autre titre", "title 'Autre titre'"),
                             ("language", "en-US", "language"),
                             ("service_start", "20271201091500", "service_start 20271201091500"),
                             ("author_specialties", ["XXX^Inconnu^1.2.250.1.999"], "specialty ['XXX']")):
        result = check(_xds_run(dict(entry, **{key: value}), doc))
        assert result.status == "fail" and said in result.problems[0], key
    stop = check(_xds_run(dict(entry, service_stop="20251201091500"), doc))
    assert any("stops (20251201091500) before it starts" in p for p in stop.problems)


def _xdm_run(**doc) -> dict:
    message = {"seq": 3, "id": "MSS-1", "xdm_documents": [dict({"unique_id": UID}, **doc)]}
    task = {"task": {"id": "mss-01"}, "scenario": "mss", "expect": "delivered",
            "observed": {"insi": [], "dmp": [], "mss": [message]}}
    return {"plan": {"couloir": "RIS"}, "tasks": [task]}


def test_the_xdm_metadata_must_carry_the_cda_confidentiality_and_creation_time():
    check = CHECKS["metadata-matches-cda"].judge
    good = {"confidentiality": "N", "xdm_confidentiality_codes": ["N"],
            "effective_time": "20261201101500+0100", "xdm_creation_time": "20261201091500"}
    assert check(_xdm_run(**good)).status == "pass"
    # the harness's own XDM writer copies the local digits: accepted as the same effectiveTime
    assert check(_xdm_run(**dict(good, xdm_creation_time="20261201101500"))).status == "pass"
    later = check(_xdm_run(**dict(good, xdm_creation_time="20271201101500")))
    assert "creationTime 20271201101500" in later.problems[0]
    other = check(_xdm_run(**dict(good, xdm_confidentiality_codes=["X"])))
    assert "confidentialityCode ['X']" in other.problems[0]


def test_the_xds_source_patient_id_and_the_xdm_source_patient_info_name_the_document_patient():
    from segur.scenarios.checks import check_metadata_patient

    doc = {"unique_id": UID, "ins": "223057511250445", "ins_oid": "1.2.250.1.213.1.4.10",
           "birth_name": "DUPONT", "birth_time": "19800101", "sex": "F"}
    run = _xds_run({"source_patient_id": PATIENT}, doc)
    run["tasks"][0]["observed"]["dmp"][0]["patient_id"] = PATIENT
    assert check_metadata_patient(run).status == "pass"
    entry = run["tasks"][0]["observed"]["dmp"][0]["xds_entries"][0]
    entry["source_patient_id"] = "180032B02040123^^^&x&ISO^NH"
    assert "sourcePatientId" in check_metadata_patient(run).problems[0]
    pid = ["PID-5|DUPONT^ANNE^^^^^L", "PID-7|19800101", "PID-8|F"]
    mss = _xdm_run(**dict(doc, xdm_source_patient_info=pid,
                          xdm_patient_id=f"{doc['ins']}^^^&{doc['ins_oid']}&ISO^NH"))
    mss["tasks"][0]["observed"]["mss"][0].update(rules=[], documents=[])
    assert check_metadata_patient(mss).status == "pass"
    mss["tasks"][0]["observed"]["mss"][0]["xdm_documents"][0]["xdm_source_patient_info"][2] = "PID-8|M"
    assert "XDM sourcePatientInfo" in check_metadata_patient(mss).problems[0]


def test_the_to_header_names_the_addressee_and_only_envelope_recipients():
    from segur.scenarios.checks import _header_recipient_problems

    message = {"id": "MSS-1", "to": ["b@y.mssante.fr"], "header_to": ["b@y.mssante.fr"], "header_cc": []}
    assert _header_recipient_problems("mss-01", message, "b@y.mssante.fr") == []
    assert _header_recipient_problems("mss-01", dict(message, header_to=None), "b@y.mssante.fr") == []
    other = _header_recipient_problems("mss-01", dict(message, header_to=["c@z.mssante.fr"]),
                                       "b@y.mssante.fr")
    assert "not the addressee b@y.mssante.fr" in other[0] and "who did not receive it" in other[1]


CUSTODIAN = {"custodian_root": "1.2.250.1.71.4.2.2", "custodian_id": "1310000001",
             "custodian_name": "Cabinet de radiologie"}


def _author_run(**doc) -> dict:
    run = _doc_run(dict({"unique_id": UID, "author_ids": ["1.2.250.1.71.4.2.1^801234560801"],
                         "author_family": "Chevallier", "author_organisation_id": "1310000001"},
                        **dict(CUSTODIAN, **doc)))
    run["tasks"][0]["task"]["author"].update(family_name="CHEVALLIER", idnst="1310000001")
    return run


def test_the_author_name_and_structure_are_the_task_professionals():
    check = CHECKS["author-is-actor"].judge
    run = _author_run()
    assert check(run).status == "pass"
    for key, value, said in (("author_family", "MARTIN", "named 'MARTIN'"),
                             ("author_organisation_id", "1999999999", "author's structure is 1999999999")):
        changed = copy.deepcopy(run)
        changed["tasks"][0]["observed"]["dmp"][0]["documents"][0][key] = value
        assert said in check(changed).problems[0], key


def test_a_custodian_of_another_identified_structure_passes_author_is_actor():
    result = CHECKS["author-is-actor"].judge(_author_run(custodian_id="1999999999",
                                                            custodian_name="Hébergeur régional"))
    assert result.status == "pass"
    assert result.evidence[0]["custodian"] == {"root": "1.2.250.1.71.4.2.2", "id": "1999999999",
                                               "name": "Hébergeur régional"}
    assert result.evidence[0]["reading"] == "strict reading not applied"


def test_a_custodian_without_an_id_root_fails_author_is_actor():
    result = CHECKS["author-is-actor"].judge(_author_run(custodian_root=None))
    assert result.status == "fail"
    assert "custodian is not an identified organisation" in result.problems[0]


def test_a_custodian_id_without_extension_or_name_passes_as_the_pack_allows():
    check = CHECKS["author-is-actor"].judge
    for key in ("custodian_id", "custodian_name"):
        assert check(_author_run(**{key: None})).status == "pass", key


def test_the_strict_reading_asks_the_custodian_to_be_the_task_structure():
    from segur.scenarios.checks import _author_details_problems

    author = {"family_name": "CHEVALLIER", "idnst": "1310000001"}
    doc = dict(CUSTODIAN, custodian_id="1999999999")
    assert _author_details_problems("dmp-01", "ITI-41 #1", author, doc) == []
    strict = _author_details_problems("dmp-01", "ITI-41 #1", author, doc, strict=True)
    assert "custodian is 1999999999, not the task's structure 1310000001 (strict reading)" in strict[0]
    assert _author_details_problems("dmp-01", "ITI-41 #1", author, CUSTODIAN, strict=True) == []


def test_facts_recorded_before_the_harness_read_the_custodian_are_not_judged_on_it():
    run = _author_run()
    del run["tasks"][0]["observed"]["dmp"][0]["documents"][0]["custodian_root"]
    run["tasks"][0]["observed"]["dmp"][0]["documents"][0]["custodian_name"] = None
    assert CHECKS["author-is-actor"].judge(run).status == "pass"


def test_the_harness_reads_the_custodian_root_extension_and_name(world):
    from segur.scenarios.observe import document_facts

    _patient, _author, document = _img_report(world)
    facts = document_facts(document)
    assert facts["custodian_root"] and facts["custodian_id"] and facts["custodian_name"]


def test_one_set_id_on_two_patients_documents_fails_document_ids():
    check = CHECKS["document-ids"].judge
    first = {"unique_id": UID, "ins": "223057511250445", "set_id": "1.2.250.1.999.1.1"}
    second = {"unique_id": "2.25.2", "ins": "180032B02040123", "set_id": "1.2.250.1.999.1.1"}
    assert check(_doc_run(first, dict(second, set_id="2.25.3"))).status == "pass"
    assert "setId 1.2.250.1.999.1.1 is used for 2 patients" in check(_doc_run(first, second)).problems[0]


def test_every_check_of_every_couloirs_suite_has_a_fix_hint_of_real_length():
    """A failed check's hint is its "How to fix" in the pack and the line under its FAIL in the CLI."""
    without = sorted({check_id for couloir, suite in SUITES.items() for check_id in suite
                      if len(CHECKS[check_id].hint.split()) < 8})
    assert without == []
