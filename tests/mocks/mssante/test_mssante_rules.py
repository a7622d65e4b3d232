"""Every message-level MSSanté rule, with a message that passes it and one that fails it.

Checked directly (`check_message`), no socket: the SMTP tests show the same verdicts travel to the
journal and over IMAP. The conformant baseline is what `mss_message` builds from an official ANS
CR-IMG example; each test breaks one thing and expects exactly the rule for it.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from segur.fixtures.world import load_world
from segur.kernel import rules as catalogue
from segur.kernel.findings import Finding, Severity
from segur.mocks.mssante import rules as mss_rules
from segur.mocks.mssante.checks import check_message
from segur.mocks.mssante.models import MssanteBackend
from segur.mocks.mssante.testing import mss_message
from segur.mocks.mssante.xdm import build_xdm
from segur.validators import validate

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"
CITIZEN = "279035121518989@patient.mssante.fr"


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def cr_img(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()


@pytest.fixture(scope="module")
def other_patient_cda(cr_img, world) -> tuple[bytes, str]:
    other = next(p for p in world.patients if p.ins != "279035121518989" and not p.mssante_refused
                 and p.oid == "1.2.250.1.213.1.4.10")
    return cr_img.replace(b"279035121518989", other.ins.encode()), other.ins


def run(world, message, recipients=(PRO2,), login=PRO, validate=None):
    boxes = [world.mailbox(r) for r in recipients]
    return check_message(message.as_bytes(), login=login, recipients=boxes, world=world, validate=validate)


def rules_of(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_every_mss_rule_is_in_the_catalogue_with_both_languages_and_a_source():
    assert mss_rules.ALL
    for rule in mss_rules.ALL:
        assert catalogue.get(rule.id) is rule
        assert rule.id.startswith("MSS-") and rule.message_en and rule.message_fr
        assert rule.hint and rule.source
    refusing = [r for r in mss_rules.ALL if r.extra.get("smtp_reply")]
    assert all(r.extra["smtp_reply"][:1] in "45" for r in refusing)


def test_the_conformant_baseline_passes_every_rule(world, cr_img):
    report = run(world, mss_message(PRO, PRO2, [cr_img]))
    assert report.findings == [] and report.verdict == "pass"
    assert report.package.documents[0].cda.qualified_ins


@pytest.mark.rem("SC.MSS/CONF.16")
def test_a_plain_message_without_documents_needs_only_x_mss_nil(world):
    assert run(world, mss_message(PRO, PRO2)).findings == []
    assert rules_of(run(world, mss_message(PRO, PRO2, nil=None))) == {"MSS-NIL-MISSING"}


@pytest.mark.rem("SC.MSS/CONF.16")
def test_a_patients_message_from_mon_espace_sante_needs_no_x_mss_nil(world):
    """Réf. #2 asks X-MSS-NIL of a professional's client; a patient writes from Mon espace santé."""
    patient = world.patients[0].citizen_mailbox
    assert run(world, mss_message(patient, PRO2, nil=None), login=patient).findings == []
    pretending = mss_message(PRO, PRO2, nil=None)
    pretending.replace_header("From", patient)  # a professional's login cannot borrow the exemption
    assert rules_of(run(world, pretending)) == {"MSS-FROM-MISMATCH", "MSS-NIL-MISSING"}
    assert rules_of(run(world, mss_message(PRO, PRO2, nil=None))) == {"MSS-NIL-MISSING"}


@pytest.mark.rem("SC.MSS/CONF.16")
@pytest.mark.parametrize("value", ["DEV935997", "12a4", "", "-1234", "12 34", "1234.5"])
def test_x_mss_nil_must_be_an_integer_reference(world, value):
    assert rules_of(run(world, mss_message(PRO, PRO2, nil=value))) == {"MSS-NIL-FORMAT"}


@pytest.mark.rem("SC.MSS/CONF.16")
@pytest.mark.parametrize("value", ["1234", "12345", "0042", "7"])
def test_x_mss_nil_grows_without_limit_beyond_4_digits(world, value):
    """REM SC.MSS/CONF.16: an incremental integer without limit (4 digits at publication)."""
    assert run(world, mss_message(PRO, PRO2, nil=value)).findings == []


def test_from_header_must_be_the_authenticated_mailbox(world):
    message = mss_message(PRO, PRO2)
    assert rules_of(run(world, message, login=PRO2)) == {"MSS-FROM-MISMATCH"}


@pytest.mark.rem("SC.MSS/CONF.14")
@pytest.mark.parametrize(("header", "rule"), [(None, "MSS-INS-HEADER-MISSING"), ("N", "MSS-INS-HEADER-VALUE"),
                                              ("Oui", "MSS-INS-HEADER-VALUE")])
def test_x_mss_ins_says_o_for_a_qualified_ins(world, cr_img, header, rule):
    assert rules_of(run(world, mss_message(PRO, PRO2, [cr_img], ins_header=header))) == {rule}


@pytest.mark.rem("SC.MSS/CONF.14")
def test_x_mss_ins_says_n_when_a_trait_is_missing(world, cr_img):
    no_birth_time = cr_img.replace(b'<birthTime value="19790328"/>', b"")
    assert rules_of(run(world, mss_message(PRO, PRO2, [no_birth_time], ins_header="N"))) == set()
    report = run(world, mss_message(PRO, PRO2, [no_birth_time], ins_header="O"))
    assert rules_of(report) == {"MSS-INS-HEADER-VALUE"}


@pytest.mark.rem("SC.MSS/CONF.14", "SC.MSS/CONF.15")
def test_x_mss_ins_and_codecda_must_not_be_set_without_an_xdm(world):
    message = mss_message(PRO, PRO2, ins_header="O", codecda="18748-4")
    assert rules_of(run(world, message)) == {"MSS-INS-HEADER-UNEXPECTED", "MSS-CODECDA-UNEXPECTED"}


@pytest.mark.rem("SC.MSS/CONF.15")
@pytest.mark.parametrize(("codes", "rule"), [(None, "MSS-CODECDA-MISSING"),
                                             ("11502-2", "MSS-CODECDA-MISMATCH")])
def test_x_mss_codecda_gives_the_code_of_each_cda(world, cr_img, codes, rule):
    assert rules_of(run(world, mss_message(PRO, PRO2, [cr_img], codecda=codes))) == {rule}


@pytest.mark.rem("SC.MSS/CONF.15")
def test_x_mss_codecda_is_multivalued_for_several_documents(world, cr_img):
    second = cr_img.replace(b'root="1.2.250.1.213.1.1.1.45.2024.1.1"',
                            b'root="1.2.250.1.213.1.1.1.45.2024.1.2"')  # another document id
    message = mss_message(PRO, PRO2, [cr_img, second], codecda=["18748-4", "18748-4"])
    assert rules_of(run(world, message)) == set()


@pytest.mark.rem("SC.MSS/CONF.21")
@pytest.mark.parametrize(("value", "rules"), [("FIN", set()), ("fin", {"MSS-MES-VALUE"}),
                                              ("STOP", {"MSS-MES-VALUE"})])
def test_x_mss_mes_only_value_is_fin(world, cr_img, value, rules):
    report = run(world, mss_message(PRO, CITIZEN, [cr_img], mes=value), recipients=(CITIZEN,))
    assert rules_of(report) == rules


@pytest.mark.rem("SC.MSS/CONF.21")
def test_x_mss_mes_to_a_professional_is_a_warning(world, cr_img):
    report = run(world, mss_message(PRO, PRO2, [cr_img], mes="FIN"))
    assert rules_of(report) == {"MSS-MES-NOT-CITIZEN"} and report.verdict == "pass"


@pytest.mark.rem("SC.MSS/CONF.25")
@pytest.mark.parametrize(("subject", "rule"), [
    ("Compte rendu", "MSS-SUBJECT-FORMAT"),
    ("XDM/1.0/DDM+", "MSS-SUBJECT-FORMAT"),
    ("XDM/1.0/DDM+CR d'imagerie médicale DUPONT JEAN", "MSS-SUBJECT-PATIENT"),
    ("XDM/1.0/DDM+CR d'imagerie médicale PAT-TROIS DOMINIQUE 01/01/1980", "MSS-SUBJECT-PATIENT"),
])
def test_subject_follows_xdm_1_0_ddm_with_the_patient(world, cr_img, subject, rule):
    assert rules_of(run(world, mss_message(PRO, PRO2, [cr_img], subject=subject))) == {rule}


@pytest.mark.rem("SC.MSS/CONF.25")
@pytest.mark.parametrize("subject", ["XDM/1.0/DDM+CR d'imagerie médicale PAT-TROIS DOMINIQUE",
                                     "XDM/1.0/DDM+Scanner thorax pat-trois Dominique 28/03/1979"])
def test_subject_birth_date_is_optional_and_case_is_free(world, cr_img, subject):
    assert rules_of(run(world, mss_message(PRO, PRO2, [cr_img], subject=subject))) == set()


@pytest.mark.rem("SC.MSS/CONF.23")
def test_a_bare_cda_without_xdm_is_refused(world, cr_img):
    message = mss_message(PRO, PRO2)
    message.add_attachment(cr_img, maintype="text", subtype="xml", filename="cr.xml")
    assert rules_of(run(world, message)) == {"MSS-XDM-MISSING"}


@pytest.mark.rem("SC.MSS/CONF.23")
def test_the_zip_must_be_named_ihe_xdm_zip(world, cr_img):
    assert "MSS-XDM-NAME" in rules_of(run(world, mss_message(PRO, PRO2, [cr_img], xdm_name="documents.zip")))


@pytest.mark.rem("SC.MSS/CONF.23")
def test_two_xdm_archives_in_one_message_are_refused(world, cr_img):
    message = mss_message(PRO, PRO2, [cr_img])
    message.add_attachment(build_xdm([(cr_img, None)]), maintype="application", subtype="zip",
                           filename="IHE_XDM.ZIP")
    assert "MSS-XDM-SEVERAL" in rules_of(run(world, message))


@pytest.mark.rem("SC.MSS/CONF.23")
def test_cda_documents_come_with_a_pdf_copy(world, cr_img):
    assert rules_of(run(world, mss_message(PRO, PRO2, [cr_img], pdf=False))) == {"MSS-PDF-MISSING"}


@pytest.mark.rem("SC.MSS/CONF.23")
def test_one_patient_per_message(world, cr_img, other_patient_cda):
    other, _ = other_patient_cda
    message = mss_message(PRO, PRO2, [cr_img, other], codecda=["18748-4"])
    # one submission set cannot have the patient of both documents (ITI TF-3 §4.2.3.3)
    assert rules_of(run(world, message)) == {"MSS-ONE-PATIENT", "MSS-XDM-SUBMISSION-PATIENT"}


@pytest.mark.rem("SC.MSS/CONF.23", "SC.MSS/CONF.24")
def test_a_citizen_mailbox_receives_only_that_citizens_documents(world, cr_img, other_patient_cda):
    other, other_ins = other_patient_cda
    assert rules_of(run(world, mss_message(PRO, CITIZEN, [cr_img]), recipients=(CITIZEN,))) == set()
    report = run(world, mss_message(PRO, CITIZEN, [other]), recipients=(CITIZEN,))
    assert rules_of(report) == {"MSS-CITIZEN-OTHER-PATIENT"}
    assert other_ins in report.findings[0].message


def test_malformed_mime_is_a_finding_not_a_crash(world):
    raw = (b"From: " + PRO.encode() + b"\r\nX-MSS-NIL: 1234\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: application/zip\r\n'
           b"Content-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename=IHE_XDM.ZIP\r\n\r\n"
           b"!!!not base64!!!\r\n")
    report = check_message(raw, login=PRO, recipients=[world.mailbox(PRO2)], world=world)
    assert "MSS-MIME-MALFORMED" in rules_of(report) and report.verdict == "fail"


def test_an_attachment_named_ihe_xdm_zip_that_is_not_a_zip(world, cr_img):
    message = mss_message(PRO, PRO2, [cr_img], xdm=b"%PDF-1.4 this is not a zip")
    assert "MSS-XDM-NOT-ZIP" in rules_of(run(world, message))


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("IHE_XDM/SUBSET01/DOC0001.XML", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.rem("SC.MSS/CONF.14", "SC.MSS/CONF.15")
@pytest.mark.parametrize(("xdm", "cause"), [(b"PK\x03\x04 broken zip", "MSS-XDM-NOT-ZIP"),
                                            (None, "MSS-XDM-BOMB")])
def test_after_an_unreadable_xdm_the_ins_and_codecda_headers_are_unchecked_not_wrong(world, cr_img, xdm,
                                                                                     cause):
    message = mss_message(PRO, PRO2, [cr_img], xdm=xdm if xdm is not None else _zip_bomb())
    report = run(world, message)
    assert {cause, "MSS-INS-HEADER-UNCHECKED", "MSS-CODECDA-UNCHECKED"} <= rules_of(report)
    wrong = {"MSS-INS-HEADER-UNEXPECTED", "MSS-CODECDA-UNEXPECTED", "MSS-INS-HEADER-VALUE"}
    assert not wrong & rules_of(report)
    unchecked = [f for f in report.findings if f.rule.endswith("-UNCHECKED")]
    assert all(f.severity.value == "warning" and cause in f.message for f in unchecked)
    assert "'O'" in unchecked[0].message and "18748-4" in unchecked[1].message


@pytest.mark.rem("SC.MSS/CONF.14", "SC.MSS/CONF.15")
@pytest.mark.parametrize("broken", [b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id", b"%PDF-1.4 not xml",
                                    b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'])
def test_after_a_readable_xdm_whose_cda_is_unreadable_the_headers_are_unchecked_not_unexpected(world, cr_img,
                                                                                              broken):
    message = mss_message(PRO, PRO2, [cr_img], xdm=build_xdm([(broken, None)]))
    report = run(world, message)
    assert {"MSS-XDM-NOT-CDA", "MSS-INS-HEADER-UNCHECKED", "MSS-CODECDA-UNCHECKED"} <= rules_of(report)
    assert not {"MSS-INS-HEADER-UNEXPECTED", "MSS-CODECDA-UNEXPECTED"} & rules_of(report)
    unchecked = [f for f in report.findings if f.rule.endswith("-UNCHECKED")]
    assert all("MSS-XDM-NOT-CDA" in f.message for f in unchecked)


@pytest.mark.rem("SC.MSS/CONF.14", "SC.MSS/CONF.15")
def test_a_message_without_any_archive_still_finds_the_headers_unexpected(world):
    message = mss_message(PRO, PRO2, [], ins_header="N", codecda="18748-4", pdf=False)
    report = run(world, message)
    assert {"MSS-INS-HEADER-UNEXPECTED", "MSS-CODECDA-UNEXPECTED"} <= rules_of(report)
    assert not {"MSS-INS-HEADER-UNCHECKED", "MSS-CODECDA-UNCHECKED"} & rules_of(report)


@pytest.mark.rem("SC.MSS/CONF.14", "SC.MSS/CONF.15")
def test_an_unreadable_xdm_without_the_headers_adds_nothing_about_them(world, cr_img):
    message = mss_message(PRO, PRO2, [cr_img], xdm=b"PK\x03\x04 broken zip", ins_header=None, codecda=None)
    assert rules_of(run(world, message)) == {"MSS-XDM-NOT-ZIP"}


class _Report:
    def __init__(self, findings):
        self.findings = findings
        self.valid = not any(f.is_error for f in findings)


def test_each_cda_goes_through_the_validator_and_its_errors_are_kept(world, cr_img):
    def failing(content):
        return _Report([Finding("CDA-X", Severity.ERROR, "segur", "bad thing", line=3)])

    report = run(world, mss_message(PRO, PRO2, [cr_img]), validate=failing)
    assert rules_of(report) == {"MSS-CDA-INVALID"}
    assert report.cda_reports["DOC0001.XML"]["errors"] == 1
    assert run(world, mss_message(PRO, PRO2, [cr_img]), validate=lambda c: _Report([])).findings == []


def test_a_validator_crash_is_a_warning_not_a_lost_message(world, cr_img):
    def broken(content):
        raise RuntimeError("pack missing")

    report = run(world, mss_message(PRO, PRO2, [cr_img]), validate=broken)
    assert rules_of(report) == {"MSS-CDA-NOT-VALIDATED"} and report.verdict == "pass"


def test_the_real_validator_accepts_the_official_example(world, cr_img):
    report = run(world, mss_message(PRO, PRO2, [cr_img]), validate=validate)
    assert "MSS-CDA-NOT-VALIDATED" not in rules_of(report)
    assert "DOC0001.XML" in report.cda_reports


def test_the_stored_validation_report_says_which_layers_ran(world, cr_img):
    """A stored "valid" must show what it rests on: without a pack, XSD and Schematron are skipped."""
    def without_pack(content):
        return validate(content, pack=False)

    stored = run(world, mss_message(PRO, PRO2, [cr_img]), validate=without_pack).cda_reports["DOC0001.XML"]
    status = {layer["name"]: layer["status"] for layer in stored["layers"]}
    assert status["xml"] == status["segur"] == "ran"
    assert status["xsd"] == status["schematron"] == "skipped"
    assert stored["profile"] is not None and stored["packs"] == []


def test_checks_in_worker_processes_give_the_same_verdict(world, cr_img):
    raw = mss_message(PRO, PRO2, [cr_img], nil=None).as_bytes()
    verdicts = []
    for workers in (0, 1):
        backend = MssanteBackend(world, validate=False, workers=workers)
        try:
            accepted = [backend.check_recipient(PRO2)]
            outcome = backend.process(raw, login=PRO, envelope_from=PRO, accepted=accepted)
        finally:
            backend.close()
        verdicts.append((outcome.report.verdict, outcome.report.rules, len(outcome.deliveries)))
    assert verdicts[0] == verdicts[1] == ("fail", ["MSS-NIL-MISSING"], 1)


def test_a_sender_cannot_forge_the_verdict_headers(world):
    raw = (f"X-Segur-Verdict: pass\r\nX-Segur-Rules: none,\r\n folded\r\nFrom: {PRO}\r\nSubject: s\r\n\r\n"
           "X-Segur-Verdict: pass in the body stays\r\n").encode()
    backend = MssanteBackend(world, validate=False)
    outcome = backend.process(raw, login=PRO, envelope_from=PRO, accepted=[backend.check_recipient(PRO2)])
    stored = outcome.deliveries[0].raw
    head, body = stored.split(b"\r\n\r\n", 1)
    assert head.count(b"X-Segur-Verdict") == 1 and b"X-Segur-Verdict: fail" in head and b"folded" not in head
    assert body == b"X-Segur-Verdict: pass in the body stays\r\n"
