"""Every page of the console through Flask's test client, against a real stack: what each shows, and each
failure path (unknown exchange, document or message, bad upload, a refused fault) answered with a page
that says why while the console keeps serving."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
import zipfile

import pytest

from segur.console.service import ConsoleConfig, ConsoleService
from segur.console.world import expected_insi_answer
from segur.fixtures.documents import build_cr_img_n1, read_ids
from segur.kernel.service import StackContext
from segur.mocks.insi.testing import soap_envelope, traits_body
from segur.mocks.mssante.xdm import build_xdm

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _text(answer) -> str:
    return answer.get_data(as_text=True)


@pytest.fixture(scope="module")
def broken_document(submit, patients):
    """A CR-IMG whose PDF body is not base64 (SEGUR-BODY-002), stored by the lenient DMP."""
    return submit(patients[0], raw_body="not base64 !!")


@pytest.fixture(scope="module")
def sent_message(send_mail, mail, world, radiologist, stack):
    """A CR-IMG sent by MSSanté from the radiologist to another professional; its message id."""
    other = next(p for p in world.professionals if p.mailbox and p.mailbox != radiologist.mailbox
                 and not p.mailbox_closed)
    patient = world.patients[3]
    cda = build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist))
    send_mail(mail(radiologist.mailbox, other.mailbox, [cda]))
    admin = stack.endpoints()["mssante"]["admin"]
    box = json.loads(urllib.request.urlopen(admin + f"mailboxes/{other.mailbox}", timeout=5).read())
    return box["messages"][-1]["id"]


# --- live activity ----------------------------------------------------------------------------------------
def test_the_activity_page_lists_a_dmp_submission_with_its_facts(web, broken_document):
    page = _text(web.get("/activity"))
    assert "ITI-41" in page and broken_document in page and "SEGUR-BODY-002" in page


def test_the_activity_api_gives_only_the_rows_after_a_cursor(web, submit, patients):
    last = web.get("/api/activity").get_json()["last"]
    uid = submit(patients[1])
    rows = web.get(f"/api/activity?after={last}").get_json()["rows"]
    assert [row["operation"] for row in rows] == ["ITI-41"] and uid in rows[0]["facts"]
    assert web.get("/api/activity?after=x").status_code == 400


def test_the_activity_filters_by_patient_name_ins_rule_verdict_and_service(web, console, broken_document,
                                                                          patients):
    patient, verdict = patients[0], console.feed.find_document(broken_document).verdict
    for query in (f"patient={patient.birth_name}", f"patient={patient.ins}", "rule=SEGUR-BODY-002",
                  "service=dmp", f"verdict={verdict}"):
        rows = web.get(f"/api/activity?{query}").get_json()["rows"]
        assert any(broken_document in row["facts"] for row in rows), query
    for query in ("patient=NOBODY-OF-THAT-NAME", "rule=NO-SUCH-RULE", "service=insi", "verdict=rejected"):
        rows = web.get(f"/api/activity?{query}").get_json()["rows"]
        assert not any(broken_document in row["facts"] for row in rows), query


def test_the_activity_filters_by_professional_and_task(web, stack, submit, patients, radiologist):
    admin = stack.endpoints()["dmp"]["admin"]
    request = urllib.request.Request(admin + "task", data=b'{"task": "console-07"}', method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()
    try:
        uid = submit(patients[2])
    finally:
        clear = urllib.request.Request(admin + "task", data=b'{"task": null}', method="PUT",
                                       headers={"Content-Type": "application/json"})
        urllib.request.urlopen(clear, timeout=5).read()
    rows = web.get("/api/activity?task=console-07").get_json()["rows"]
    assert len(rows) == 1 and uid in rows[0]["facts"] and rows[0]["task"] == "console-07"
    by_name = web.get(f"/api/activity?professional={radiologist.family_name}").get_json()["rows"]
    assert any(uid in row["facts"] for row in by_name)
    assert not web.get("/api/activity?professional=NO-SUCH-DOCTOR").get_json()["rows"]


def test_an_exchange_opens_with_its_request_response_and_findings_with_rem_ids_and_hints(web, console,
                                                                                      broken_document):
    row = console.feed.find_document(broken_document)
    page = _text(web.get(f"/activity/dmp/{row.seq}"))
    assert "ITI-41" in page and "Request" in page and "Response" in page and "multipart/related" in page
    assert "SEGUR-BODY-002" in page and "fix:" in page
    assert f'href="/documents/{broken_document}"' in page and 'href="#L' not in page


def test_an_exchange_body_downloads_whole(web, console, broken_document):
    row = console.feed.find_document(broken_document)
    answer = web.get(f"/activity/dmp/{row.seq}/body?side=request")
    assert answer.status_code == 200 and broken_document.encode() in answer.data
    assert "attachment" in answer.headers["Content-Disposition"]
    assert web.get(f"/activity/dmp/{row.seq}/body?side=sideways").status_code == 400


def test_an_unknown_exchange_or_service_is_a_page_that_says_so(web):
    missing = web.get("/activity/dmp/999999")
    assert missing.status_code == 404 and "no exchange 999999" in _text(missing)
    unknown = web.get("/activity/nosuch/1")
    assert unknown.status_code == 503 and "nosuch" in _text(unknown)


# --- documents -------------------------------------------------------------------------------------------
def test_the_documents_page_lists_each_patients_documents(web, broken_document, patients):
    page = _text(web.get("/documents"))
    assert broken_document in page and patients[0].ins in page and "Approved" in page


def test_a_document_opens_rendered_beside_its_source_with_the_findings_line_highlighted(web, broken_document,
                                                                                      patients):
    answer = web.get(f"/documents/{broken_document}")
    page = _text(answer)
    assert answer.status_code == 200 and "SEGUR-BODY-002" in page
    assert patients[0].ins in page and "Custodian" in page  # the evidence pack's CDA view
    hits = re.findall(r'<li id="L(\d+)" value="\d+" class="hit">', page)
    assert hits and f'href="#L{hits[0]}"' in page


def test_a_document_downloads_as_cda_and_its_n1_pdf_is_embedded(web, submit, patients):
    uid = submit(patients[4])
    cda = web.get(f"/documents/{uid}/cda")
    assert cda.status_code == 200 and uid.encode() in cda.data
    assert cda.headers["Content-Type"] == "application/xml"
    pdf = web.get(f"/documents/{uid}/embedded")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert "iframe" in _text(web.get(f"/documents/{uid}"))


def test_a_replacement_shows_the_versions_chain(web, dmp_client, world, radiologist, patients):
    patient, organisation = patients[5], world.organisation_of(radiologist)
    first = build_cr_img_n1(patient, radiologist, organisation)
    assert dmp_client.provide_and_register(first).ok
    ids = read_ids(first)
    dmp_client.td03(patient.ins_object)
    entry = next(e for e in dmp_client.find_documents(patient.ins_object).entries if e.unique_id == ids.id)
    second = build_cr_img_n1(patient, radiologist, organisation, set_id=ids.set_id, version_number=2,
                             replaces=ids.id)
    assert dmp_client.replace(entry, second).ok
    page = _text(web.get(f"/documents/{read_ids(second).id}"))
    versions = page.split("<h2>Versions</h2>")[1].split("</table>")[0]
    assert versions.index(ids.id) < versions.index(read_ids(second).id)
    assert "Deprecated" in versions and entry.entry_uuid in versions


def test_an_embedded_file_of_a_media_type_a_browser_would_run_is_downloaded_not_shown(web, submit, patients):
    uid = submit(patients[6], pdf_bytes=b"<script>alert('console')</script>", media_type="text/html")
    answer = web.get(f"/documents/{uid}/embedded")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"].startswith("attachment")


def test_a_document_older_than_the_live_views_window_is_found_in_the_whole_journal(stack, submit, patients):
    oldest = submit(patients[7])
    submit(patients[8])
    context = StackContext(stack.services["dmp"].context.stack, running=stack.services)
    narrow = ConsoleService(ConsoleConfig(port=0, window=1), context).create_app().test_client()
    answer = narrow.get(f"/documents/{oldest}")
    assert answer.status_code == 200 and oldest in _text(answer)


def test_an_unknown_document_is_a_404_page(web):
    answer = web.get("/documents/1.2.3.4.5-no-such-document")
    assert answer.status_code == 404 and "holds no document" in _text(answer)
    assert web.get("/documents/1.2.3.4.5-no-such-document/cda").status_code == 404


# --- mailboxes -------------------------------------------------------------------------------------------
def test_the_mailboxes_page_lists_a_mailbox_holding_the_message(web, sent_message):
    page = _text(web.get("/mailboxes"))
    assert "1</td>" in page and "@" in page
    assert "Every mailbox" in page and "Only those holding messages" in _text(web.get("/mailboxes?all=1"))


def test_a_message_shows_its_headers_attachments_verdict_and_documents(web, sent_message):
    page = _text(web.get(f"/messages/{sent_message}"))
    assert "X-MSS-INS" in page and 'class="mss"' in page and "IHE_XDM.ZIP" in page
    assert "verdict" in page and "Documents" in page
    xdm = web.get(f"/messages/{sent_message}/xdm")
    assert xdm.status_code == 200 and zipfile.is_zipfile(io.BytesIO(xdm.data))
    document = web.get(f"/messages/{sent_message}/documents/0")
    assert document.status_code == 200 and "Source" in _text(document)


def test_an_unknown_message_or_mailbox_is_a_404_page(web):
    assert web.get("/messages/no-such-message").status_code == 404
    assert web.get("/mailboxes/nobody@nowhere.example").status_code == 404


# --- the world -------------------------------------------------------------------------------------------
def test_the_world_lists_a_cnda_persona_with_its_ins_vitale_card_and_expected_insi_answer(web, world):
    persona = next(p for p in world.patients if p.key.startswith("cnda-"))
    page = _text(web.get("/world"))
    assert "CNDA persona" in page and persona.ins in page and f"NIR {persona.nir} {persona.nir_key}" in page
    assert "00 (one identity)" in page and "02 (several identities: homonyms)" in page
    assert "Professionals" in page and "Organisations" in page and "Mailboxes" in page


def test_the_expected_insi_answer_shown_is_what_the_insi_mock_answers_for_every_patient(stack, world):
    endpoints = stack.endpoints()["insi"]
    for patient in world.patients:
        first_names = tuple(patient.first_names.split(" "))
        body = soap_envelope(traits_body(patient.birth_name, first_names, patient.sex, patient.birth_date))
        search = urllib.request.Request(endpoints["soap"], data=body, method="POST",
                                        headers={"Content-Type": "application/soap+xml; charset=UTF-8"})
        try:
            urllib.request.urlopen(search, timeout=10).read()
        except urllib.error.HTTPError as refused:
            refused.read()
        with urllib.request.urlopen(endpoints["admin"] + "journal?limit=1", timeout=10) as answer:
            code = json.loads(answer.read())["entries"][-1]["meta"].get("code_cr")
        assert expected_insi_answer(world, patient).startswith(f"{code} "), patient.key


def test_the_world_search_narrows_every_table(web, world):
    persona = next(p for p in world.patients if p.key.startswith("cnda-"))
    page = _text(web.get(f"/world?q={persona.birth_name}"))
    assert persona.ins in page and world.patients[-1].ins not in page or world.patients[-1] is persona


# --- validate --------------------------------------------------------------------------------------------
def test_an_uploaded_broken_document_shows_its_finding_and_line(web, world, radiologist):
    cda = build_cr_img_n1(world.patients[0], radiologist, world.organisation_of(radiologist),
                          raw_body="not base64 !!")
    answer = web.post("/validate", data={"file": (io.BytesIO(cda), "report.xml")},
                      content_type="multipart/form-data")
    page = _text(answer)
    assert answer.status_code == 200 and "INVALID" in page and "SEGUR-BODY-002" in page
    assert re.search(r'<li id="L\d+" value="\d+" class="hit">', page)


def test_a_pasted_document_is_validated_too(web, world, radiologist):
    cda = build_cr_img_n1(world.patients[0], radiologist, world.organisation_of(radiologist))
    page = _text(web.post("/validate", data={"document": cda.decode("utf-8")}))
    assert "pasted document" in page and ("PARTIAL" in page or "VALID" in page) and "INVALID" not in page


def test_an_uploaded_xdm_zip_validates_each_document_inside(web, world, radiologist):
    cda = build_cr_img_n1(world.patients[0], radiologist, world.organisation_of(radiologist),
                          raw_body="not base64 !!")
    package = build_xdm([(cda, None)])
    page = _text(web.post("/validate", data={"file": (io.BytesIO(package), "IHE_XDM.ZIP")},
                          content_type="multipart/form-data"))
    assert "IHE_XDM.ZIP: IHE_XDM/" in page and "SEGUR-BODY-002" in page


def test_an_empty_upload_is_refused_with_its_rule(web):
    answer = web.post("/validate", data={"document": "  "})
    assert answer.status_code == 400 and "CONSOLE-001" in _text(answer)


def test_a_broken_zip_upload_is_refused_with_its_rule(web):
    answer = web.post("/validate", data={"file": (io.BytesIO(b"PK\x03\x04 not really a zip"), "IHE_XDM.ZIP")},
                      content_type="multipart/form-data")
    assert answer.status_code == 400 and "CONSOLE-002" in _text(answer)


def test_a_file_that_is_not_xml_is_unreadable_and_the_console_keeps_serving(web):
    answer = web.post("/validate", data={"file": (io.BytesIO(b"\x00\x01 binary junk"), "junk.xml")},
                      content_type="multipart/form-data")
    assert answer.status_code == 200 and "UNREADABLE" in _text(answer)
    assert web.get("/validate").status_code == 200


def test_an_entity_bomb_is_refused_by_the_validator(web):
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            "<d>&b;&b;&b;</d>")
    answer = web.post("/validate", data={"document": bomb})
    assert answer.status_code == 200 and "UNREADABLE" in _text(answer)


# --- faults ----------------------------------------------------------------------------------------------
def test_faults_are_listed_added_removed_and_cleared_per_service(web, stack):
    page = _text(web.get("/faults"))
    assert all(f'id="faults-{name}"' in page for name in ("insi", "dmp", "mssante", "annuaire"))
    added = web.post("/faults/insi", data={"kind": "latency", "spec": '{"ms": 5}'})
    assert added.status_code == 302
    faults = stack.services["insi"].faults.list()
    assert [f.to_dict()["kind"] for f in faults] == ["latency"]
    assert "latency" in _text(web.get("/faults"))
    assert web.post(f"/faults/insi/{faults[0].id}/delete").status_code == 302
    assert not stack.services["insi"].faults.list()
    web.post("/faults/insi", data={"kind": "latency", "spec": '{"ms": 5}'})
    assert web.post("/faults/insi/clear").status_code == 302 and not stack.services["insi"].faults.list()


def test_a_bad_fault_is_refused_with_the_services_reason(web, stack):
    not_json = web.post("/faults/insi", data={"kind": "latency", "spec": "{ms: 5"})
    assert not_json.status_code == 400 and "not JSON" in _text(not_json)
    unknown = web.post("/faults/insi", data={"kind": "no-such-kind", "spec": "{}"})
    assert unknown.status_code == 400 and "no-such-kind" in _text(unknown)
    assert not stack.services["insi"].faults.list()


def test_a_service_is_reset_from_the_faults_page(web, stack):
    stack.services["annuaire"].faults.add({"kind": "latency", "ms": 1})
    assert web.post("/reset/annuaire").status_code == 302
    assert not stack.services["annuaire"].faults.list()


# --- proof runs ------------------------------------------------------------------------------------------
def test_the_runs_page_lists_the_evidence_packs_and_serves_them(web, console):
    pack = console.evidence_dir / "reference-ris"
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "index.html").write_text("<h1>the pack</h1>", encoding="utf-8")
    evidence = {"verdict": "pass", "meta": {"couloir": "RIS", "sut": "reference-ris", "validation": {}}}
    (pack / "evidence.json").write_text(json.dumps(evidence), encoding="utf-8")
    (console.evidence_dir / "broken").mkdir(exist_ok=True)
    (console.evidence_dir / "broken" / "index.html").write_text("x", encoding="utf-8")
    page = _text(web.get("/runs"))
    assert "reference-ris" in page and "PASS (official CDA checks not run)" in page and "RIS" in page
    assert "evidence.json not readable" in page
    served = web.get("/runs/reference-ris/index.html")
    assert _text(served) == "<h1>the pack</h1>"
    assert "style-src 'self' 'unsafe-inline'" in served.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in web.get("/runs").headers["Content-Security-Policy"]
    assert web.get("/runs/../../etc/passwd").status_code == 404
    assert web.get("/runs/reference-ris/none.html").status_code == 404


def test_every_page_answers_with_the_navigation(web):
    for path in ("/activity", "/documents", "/mailboxes", "/world", "/validate", "/faults", "/runs"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        assert "Live activity" in _text(answer) and "Content-Security-Policy" in answer.headers
    assert web.get("/").status_code == 302
    assert web.get("/static/console.js").status_code == 200
