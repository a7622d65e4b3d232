"""The proof's check tests, written once for every couloir suite (`test_ris_proof.py`, `test_bio_proof.py`).

Every couloir runs the same checks (`segur.scenarios.checks.CHECKS`) under the same test names; what a
couloir changes is which REM requirements each check proves there. So a couloir suite is a list of lines

    test_the_citizen_report_reaches_ins_at_patient_mssante_fr = check_test(
        "citizen-address", rem("MSS/va1.19", "SC.MSS/va1.19"))

where `rem` is `pytest.mark.rem`: the marker is applied to that suite's own copy of the test, so it shows in
pytest's selection (`-m`, `-k`), the JUnit properties, the allure labels and the evidence pack exactly as a
decorator would. The name and the description (the test's docstring, allure's description) live here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest


class CheckTest(NamedTuple):
    name: str
    doc: str


#: check id → the test that runs it (in the order the suites list them).
CHECK_TESTS: dict[str, CheckTest] = {
    "insi-before-send": CheckTest(
        "test_an_insi_search_answered_00_precedes_every_send",
        "INSi retrieval before sending: for every report that reached the DMP or MSSanté, an INSi search of "
        "that patient (by traits, or by its Vitale card) answered 00 (one identity) earlier in the task."),
    "insi-vitale-search": CheckTest(
        "test_insi_is_searched_with_the_vitale_card_when_it_is_read",
        "Both INSi searches: for the task that gives the patient's Vitale card, a rechercherInsAvecCarteVitale "
        "of the card's NIR answered 00 before the report went out (typing the traits instead does not count); "
        "for the tasks without a card, a rechercherInsAvecTraitsIdentite answered 00 before theirs."),
    "qualified-ins-only": CheckTest(
        "test_only_an_ins_insi_qualified_is_sent",
        "Identity status: every INS sent is one INSi returned with code 00 for the task's patient; for the "
        "homonym INSi cannot qualify (02) and the traits INSi does not know (01) nothing goes out with an INS; "
        "X-MSS-INS tells the truth."),
    "ins-in-cda": CheckTest(
        "test_the_cda_carries_the_ins_insi_returned_with_its_oid",
        "The INS in each CDA (value, OID, NIR key) is the one INSi returned."),
    "metadata-patient": CheckTest(
        "test_xds_and_xdm_patient_id_name_the_cda_patient",
        "The XDS metadata (DMP) and the XDM METADATA.XML (MSSanté) name the CDA's patient."),
    "dmp-accepted": CheckTest(
        "test_each_dmp_report_is_accepted_once_for_the_right_patient",
        "The DMP accepted each report once, for the right patient, and stored it with complete metadata "
        "(typeCode of the volet, class, format, facility, practice setting, confidentiality)."),
    "mss-professionals-xdm": CheckTest(
        "test_each_mssante_report_reaches_its_professional_with_xdm",
        "Each report to a professional was delivered to the planned mailbox with an IHE_XDM.ZIP, and the "
        "mock's checks passed."),
    "mss-headers": CheckTest(
        "test_mssante_headers_nil_ins_codecda_are_right",
        "X-MSS-NIL, X-MSS-INS and X-MSS-CODECDA pass the mock's rules on every message."),
    "mss-subject": CheckTest(
        "test_mssante_subject_follows_the_xdm_format",
        "Every subject is XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date>], naming the documents' patient."),
    "mss-transport": CheckTest(
        "test_mssante_submission_uses_starttls_and_auth",
        "Every message was submitted over STARTTLS with TLS >= 1.2, after SMTP AUTH."),
    "citizen-address": CheckTest(
        "test_the_citizen_report_reaches_ins_at_patient_mssante_fr",
        "The citizen's report reached <INS returned by INSi>@patient.mssante.fr and nobody else."),
    "documents-valid": CheckTest(
        "test_every_document_sent_is_valid_for_its_volet",
        "Every document the DMP stored or MSSanté received is valid for its volet (the validator's verdict "
        "recorded by the mocks, with the layers that ran)."),
    "dmp-replacement": CheckTest(
        "test_a_replaced_report_deprecates_the_earlier_version",
        "The replacement is an RPLC of the earlier report; the DMP shows the earlier version Deprecated and "
        "the new one Approved."),
    "outage-reported": CheckTest(
        "test_a_dmp_outage_is_reported_as_a_failure",
        "While the DMP answers 503, the product reports a failure and nothing is accepted or half-stored."),
    "outage-retry": CheckTest(
        "test_after_the_outage_the_report_is_sent_once",
        "After the outage clears, the report is sent and the DMP holds it exactly once."),
    "claims-honest": CheckTest(
        "test_the_product_never_claims_a_send_the_mocks_did_not_see",
        "Whenever the product claims success, the mocks received the report (and a report the mocks accepted "
        "is not reported as failed)."),
    "pdf-patient": CheckTest(
        "test_the_pdf_inside_each_document_names_its_patient",
        "The PDF each CDA carries (N1 body, N3 PDF copy), read by the harness with pypdf, names the document's "
        "patient: the birth name and the INS."),
    "mss-pdf-copy": CheckTest(
        "test_the_pdf_attached_to_a_message_is_the_pdf_inside_its_cda",
        "Each PDF attached beside the IHE_XDM.ZIP is, byte for byte, the PDF embedded in one of its CDA documents "
        "(not a draft or another rendering)."),
    "xdm-format-code": CheckTest(
        "test_the_xdm_format_code_matches_the_document",
        "A formatCode declared in the XDM METADATA.XML is the one the document's content calls for (ASS_A11: "
        "the N1 body's media type, or the N3 templateIds)."),
    "document-ids": CheckTest(
        "test_one_document_id_names_one_document",
        "Across every report of the run, a document id never carries two patients or two different contents."),
    "document-dates": CheckTest(
        "test_the_report_is_dated_after_the_exam",
        "The author's time and the document's effectiveTime are not before the serviceEvent it reports."),
    "author-is-actor": CheckTest(
        "test_the_author_is_the_professional_who_acts",
        "The CDA author is the task's professional (IDNPS), the custodian an identified organisation (id root, "
        "extension, name), and the DMP call is made for that professional (VIHF Subject NameID)."),
    "insi-idam": CheckTest(
        "test_every_insi_call_carries_the_software_idam",
        "Every INSi call carries the software's own authorisation number (IDAM) that the service knows."),
    "patient-traits": CheckTest(
        "test_the_cda_carries_the_traits_insi_returned",
        "The patient's traits in each CDA (birth name, first names, first first name, sex, birth date, birth "
        "place) are the ones INSi returned for that patient in the task, on the DMP and MSSanté channels alike."),
    "document-header": CheckTest(
        "test_every_document_carries_the_french_header_and_its_act",
        "Every document sent has realmCode FR and a languageCode ll-CC (fr-FR only under the strict reading), "
        "and an imaging report names the act it reports (documentationOf/serviceEvent/code)."),
    "metadata-matches-cda": CheckTest(
        "test_xds_and_xdm_metadata_describe_the_cda",
        "The XDS entry (title, languageCode, serviceStart/StopTime, author specialty) and the XDM METADATA.XML "
        "(confidentialityCode, creationTime) are the CDA's own."),
}


def check_test(check_id: str, *marks: pytest.MarkDecorator) -> Callable:
    """A new test function judging the proof run with check `check_id`, carrying `marks` (the couloir's
    `rem(...)` ids). Assign it to `CHECK_TESTS[check_id].name` in the suite module (pytest collects it under
    that name; a test keeps the suites to it)."""
    spec = CHECK_TESTS[check_id]

    def test(segur_check):
        segur_check(check_id)

    test.__name__ = test.__qualname__ = spec.name
    test.__doc__ = spec.doc
    test.check_id = check_id
    for mark in marks:
        test = mark(test)
    return test
