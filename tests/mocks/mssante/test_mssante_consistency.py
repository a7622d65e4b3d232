"""MSSanté mock, issue 13: what a message says twice must agree — the PDF beside the archive and the PDF
in the CDA, METADATA.XML's formatCode/classCode and the document (the DMP mock's tables), the patient
of sourcePatientId/-Info and of the submission set, and one uniqueId across messages. Each rule fires
on a message built wrong on purpose and stays silent on the conformant one."""

from __future__ import annotations

import pytest

from segur.fixtures.world import load_world
from segur.kernel.findings import Severity
from segur.mocks.mssante.cda import CdaHeader
from segur.mocks.mssante.checks import check_message
from segur.mocks.mssante.consistency import PatientMismatch, source_patient_mismatches
from segur.mocks.mssante.models import MssanteBackend
from segur.mocks.mssante.testing import mss_message
from segur.mocks.mssante.xdm import build_xdm, read_xdm

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"
INS = "279035121518989"
INS_OID = "1.2.250.1.213.1.4.10"
IPP_OID = "1.2.3.4.567.8.9.10"  # the local id the ANS examples put in recordTarget/patientRole
PDF_FORMAT = ("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3")
IMAGING_FORMAT = ("urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", "1.3.6.1.4.1.19376.1.2.3")


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def cr_img(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()


@pytest.fixture(scope="module")
def cr_img_n1(cda_pack) -> bytes:
    """The ANS CR-IMG in level 1: a PDF in nonXMLBody."""
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()


@pytest.fixture(scope="module")
def other_ins(world) -> str:
    return next(p.ins for p in world.patients if p.ins != INS and p.oid == INS_OID)


def rules_of(findings) -> set[str]:
    return {f.rule for f in findings}


def xdm_rules(document: bytes, overrides=None, submission=None) -> set[str]:
    return rules_of(read_xdm(build_xdm([(document, overrides)], submission=submission)).findings)


def message_rules(world, message) -> set[str]:
    report = check_message(message.as_bytes(), login=PRO, recipients=[world.mailbox(PRO2)], world=world)
    return rules_of(report.findings)


# ------------------------------------------------------------------------------ the PDF copy (CONF.23/.26)
@pytest.mark.rem("SC.MSS/CONF.23", "SC.MSS/CONF.26")
def test_the_pdf_beside_the_archive_is_the_pdf_the_cda_n1_embeds(world, cr_img_n1):
    assert message_rules(world, mss_message(PRO, PRO2, [cr_img_n1])) == set()


@pytest.mark.rem("SC.MSS/CONF.23", "SC.MSS/CONF.26")
def test_another_pdf_beside_a_cda_n1_is_reported_as_not_identical(world, cr_img_n1):
    message = mss_message(PRO, PRO2, [cr_img_n1], pdf=False)
    message.add_attachment(b"%PDF-1.4\n% another rendering\n%%EOF\n", maintype="application", subtype="pdf",
                           filename="autre.pdf")
    report = check_message(message.as_bytes(), login=PRO, recipients=[world.mailbox(PRO2)], world=world)
    (finding,) = report.findings
    assert finding.rule == "MSS-PDF-NOT-IDENTICAL" and finding.severity == Severity.WARNING
    assert "autre.pdf" in finding.message and report.verdict == "pass"


def test_a_cda_without_an_embedded_pdf_is_not_compared(world, cr_img):
    assert message_rules(world, mss_message(PRO, PRO2, [cr_img])) == set()


# ------------------------------------------------------------------------------ formatCode, classCode
def test_an_n3_formatcode_for_an_n1_pdf_in_cda_is_reported(cr_img_n1):
    assert xdm_rules(cr_img_n1, {"format_code": IMAGING_FORMAT}) == {"MSS-XDM-FORMATCODE"}
    assert xdm_rules(cr_img_n1, {"format_code": PDF_FORMAT}) == set()


def test_an_n3_document_needs_the_formatcode_of_its_content_model(cr_img):
    assert xdm_rules(cr_img, {"format_code": PDF_FORMAT}) == {"MSS-XDM-FORMATCODE"}
    assert xdm_rules(cr_img, {"format_code": IMAGING_FORMAT}) == set()
    assert xdm_rules(cr_img, {"format_code": IMAGING_FORMAT[0]}) == set()  # codingScheme is optional


def test_the_formatcode_finding_says_what_was_expected_and_why(cr_img_n1):
    package = read_xdm(build_xdm([(cr_img_n1, {"format_code": IMAGING_FORMAT})]))
    (finding,) = package.findings
    assert "urn:ihe:iti:xds-sd:pdf:2008" in finding.message and "application/pdf" in finding.message


def test_the_classcode_must_be_the_class_of_the_typecode(cr_img):
    assert xdm_rules(cr_img, {"class_code": ("11", "1.2.250.1.213.1.1.4.1")}) == {"MSS-XDM-CLASSCODE"}
    assert xdm_rules(cr_img, {"class_code": ("31", "1.2.250.1.213.1.1.4.1")}) == set()


# ------------------------------------------------------------------------------ the patient (CONF.24)
@pytest.mark.rem("SC.MSS/CONF.24")
def test_a_source_patient_id_naming_another_ins_is_reported(cr_img, other_ins):
    other = f"{other_ins}^^^&{INS_OID}&ISO^NH"
    assert xdm_rules(cr_img, {"source_patient_id": other}) == {"MSS-XDM-SOURCE-PATIENT"}
    assert xdm_rules(cr_img, {"source_patient_id": f"{INS}^^^&{INS_OID}&ISO^NH"}) == set()


@pytest.mark.rem("SC.MSS/CONF.24")
def test_a_local_source_patient_id_is_compared_with_the_cdas_id_of_that_authority(cr_img):
    assert xdm_rules(cr_img, {"source_patient_id": f"999^^^&{IPP_OID}&ISO^PI"}) == {"MSS-XDM-SOURCE-PATIENT"}
    assert xdm_rules(cr_img, {"source_patient_id": f"1234567890121^^^&{IPP_OID}&ISO^PI"}) == set()
    assert xdm_rules(cr_img, {"source_patient_id": "999^^^&1.2.3.999&ISO^PI"}) == set()  # cannot tell


@pytest.mark.rem("SC.MSS/CONF.24")
def test_source_patient_info_naming_another_patient_is_reported(cr_img, other_ins):
    other_pid3 = [f"PID-3|{other_ins}^^^&{INS_OID}&ISO^NH", "PID-5|PAT-TROIS^DOMINIQUE^^^^^L"]
    assert xdm_rules(cr_img, {"source_patient_info": other_pid3}) == {"MSS-XDM-SOURCE-PATIENT"}
    assert xdm_rules(cr_img, {"source_patient_info": ["PID-7|19800101"]}) == {"MSS-XDM-SOURCE-PATIENT"}
    same = [f"PID-3|{INS}^^^&{INS_OID}&ISO^NH~1234567890121^^^&{IPP_OID}&ISO^PI", "PID-7|19790328", "PID-8|F"]
    assert xdm_rules(cr_img, {"source_patient_info": same}) == set()


@pytest.mark.rem("SC.MSS/CONF.24")
def test_the_source_patient_comparison_takes_plain_values():
    """The comparison is on the domain model (`CdaHeader`), not on XML: the same one the DMP could share."""
    cda = CdaHeader(ins=INS, ins_oid=INS_OID, birth_time="19790328", other_patient_ids=[(IPP_OID, "42")])
    agreeing = [f"PID-3|{INS}^^^&{INS_OID}&ISO^NH~42^^^&{IPP_OID}&ISO^PI", "PID-5|AUTRE^Nom^^^^^L",
                "PID-7|19790328"]
    assert source_patient_mismatches(f"{INS}^^^&{INS_OID}&ISO^NH", agreeing, cda) == []
    assert source_patient_mismatches(None, ["PID-3|43^^^&" + IPP_OID + "&ISO^PI", "PID-7|1980"], cda) == [
        PatientMismatch("sourcePatientInfo PID-3", f"43^^^&{IPP_OID}&ISO^PI", f"42 ({IPP_OID})"),
        PatientMismatch("sourcePatientInfo PID-7", "1980", "birthTime 19790328")]


def test_the_submission_set_patient_id_is_the_documents_patient(cr_img, other_ins):
    other = f"{other_ins}^^^&{INS_OID}&ISO^NH"
    assert xdm_rules(cr_img, submission={"patient_id": other}) == {"MSS-XDM-SUBMISSION-PATIENT"}
    assert xdm_rules(cr_img, submission={"patient_id": f"{INS}^^^&{INS_OID}&ISO^NH"}) == set()


# ------------------------------------------------------------------------------ one uniqueId, one document
@pytest.fixture
def backend(world):
    backend = MssanteBackend(world, validate=False)
    yield backend
    backend.close()


def send(backend, document: bytes) -> set[str]:
    raw = mss_message(PRO, PRO2, [document]).as_bytes()
    outcome = backend.process(raw, login=PRO, envelope_from=PRO, accepted=[backend.check_recipient(PRO2)])
    return set(outcome.report.rules)


def test_the_same_document_sent_again_is_not_a_reuse(backend, cr_img):
    assert send(backend, cr_img) == set() and send(backend, cr_img) == set()


def test_a_uniqueid_reused_for_another_patient_is_reported_in_the_later_message(backend, cr_img, other_ins):
    assert send(backend, cr_img) == set()
    assert send(backend, cr_img.replace(INS.encode(), other_ins.encode())) == {"MSS-UNIQUEID-REUSED"}
    (stored,) = backend.messages(PRO2)[-1:]
    assert stored.verdict == "fail" and "MSS-000001" in stored.findings[0]["message"]


def test_a_uniqueid_reused_for_other_content_is_reported(backend, cr_img):
    assert send(backend, cr_img) == set()
    changed = cr_img.replace(b"</title>", b" (v2)</title>", 1)
    assert send(backend, changed) == {"MSS-UNIQUEID-REUSED"}


def test_reset_forgets_the_documents_seen(backend, cr_img):
    send(backend, cr_img)
    backend.reset()
    assert send(backend, cr_img.replace(b"</title>", b" (v2)</title>", 1)) == set()


def test_a_reuse_is_still_reported_after_a_restart_on_the_same_data_folder(world, cr_img, other_ins,
                                                                           tmp_path):
    first = MssanteBackend(world, validate=False, data_dir=tmp_path)
    assert send(first, cr_img) == set()
    first.close()
    restarted = MssanteBackend(world, validate=False, data_dir=tmp_path)
    try:
        assert send(restarted, cr_img) == set()  # the same document again: fine
        assert send(restarted, cr_img.replace(INS.encode(), other_ins.encode())) == {"MSS-UNIQUEID-REUSED"}
        assert "MSS-000001" in restarted.messages(PRO2)[-1].findings[0]["message"]
    finally:
        restarted.close()
