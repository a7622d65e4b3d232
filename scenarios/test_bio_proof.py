"""The Ségur proof, couloir BIO (medical biology, CR-BIO): one test per check, marked with the REM ids it proves here.

What each test checks, and how, is in `check_suite.py` (the same tests run in every couloir). Run with
`pytest scenarios --segur-sut reference-ris --segur-couloir BIO`, or through `segur proof --couloir BIO`.
"""

import pytest

from segur.scenarios.check_suite import check_test

pytestmark = pytest.mark.couloir("BIO")
rem = pytest.mark.rem

test_an_insi_search_answered_00_precedes_every_send = check_test(
    "insi-before-send", rem("INS/va1.35"))
test_insi_is_searched_with_the_vitale_card_when_it_is_read = check_test(
    "insi-vitale-search", rem("INS/va1.34", "SC.INS/va1.34"))
test_only_an_ins_insi_qualified_is_sent = check_test(
    "qualified-ins-only", rem("INS/va1.35", "SC.INS/va1.35", "MSS/CONF.14"))
test_the_cda_carries_the_ins_insi_returned_with_its_oid = check_test(
    "ins-in-cda", rem("DOC/va1.02", "SGL.DOC/va1.30"))
test_xds_and_xdm_patient_id_name_the_cda_patient = check_test(
    "metadata-patient", rem("SGL.DOC/va1.21", "MSS/CONF.24"))
test_each_dmp_report_is_accepted_once_for_the_right_patient = check_test(
    "dmp-accepted", rem("SC.DMP/va1.01", "SGL.DOC/va1.21"))
test_each_mssante_report_reaches_its_professional_with_xdm = check_test(
    "mss-professionals-xdm", rem("MSS/CONF.23"))
test_mssante_headers_nil_ins_codecda_are_right = check_test(
    "mss-headers", rem("MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16"))
test_mssante_subject_follows_the_xdm_format = check_test(
    "mss-subject", rem("MSS/CONF.25"))
test_mssante_submission_uses_starttls_and_auth = check_test(
    "mss-transport", rem("MSS/CONF.01", "MSS/CONF.05"))
test_the_citizen_report_reaches_ins_at_patient_mssante_fr = check_test(
    "citizen-address", rem("MSS/va1.19", "SC.MSS/va1.19"))
test_every_document_sent_is_valid_for_its_volet = check_test(
    "documents-valid", rem("SGL.DOC/va1.30"))
test_a_replaced_report_deprecates_the_earlier_version = check_test(
    "dmp-replacement", rem("SGL.DMP/va1.23"))
test_a_dmp_outage_is_reported_as_a_failure = check_test(
    "outage-reported", rem("SC.DMP/va1.01"))
test_after_the_outage_the_report_is_sent_once = check_test(
    "outage-retry", rem("SC.DMP/va1.01"))
test_the_product_never_claims_a_send_the_mocks_did_not_see = check_test(
    "claims-honest", rem("SC.DMP/va1.01"))
test_the_pdf_inside_each_document_names_its_patient = check_test(
    "pdf-patient", rem("SGL.DOC/va1.30", "DOC/va1.02"))
test_the_pdf_attached_to_a_message_is_the_pdf_inside_its_cda = check_test(
    "mss-pdf-copy", rem("MSS/CONF.26"))
test_the_xdm_format_code_matches_the_document = check_test(
    "xdm-format-code", rem("MSS/CONF.23"))
test_one_document_id_names_one_document = check_test(
    "document-ids", rem("SGL.DOC/va1.30", "MSS/CONF.23"))
test_the_report_is_dated_after_the_exam = check_test(
    "document-dates", rem("SGL.DOC/va1.30"))
test_the_author_is_the_professional_who_acts = check_test(
    "author-is-actor", rem("SGL.DOC/va1.30", "SGL.DOC/va1.21"))
test_every_insi_call_carries_the_software_idam = check_test(
    "insi-idam", rem("INS/va1.35"))
test_the_cda_carries_the_traits_insi_returned = check_test(
    "patient-traits", rem("DOC/va1.02", "INS/va1.35"))
test_every_document_carries_the_french_header_and_its_act = check_test(
    "document-header", rem("SGL.DOC/va1.30"))
test_xds_and_xdm_metadata_describe_the_cda = check_test(
    "metadata-matches-cda", rem("SGL.DOC/va1.21", "MSS/CONF.23"))
