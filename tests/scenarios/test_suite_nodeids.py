"""The pytest items of `segur proof` keep the names and nodeids they had before the checks were declared
once (JUnit and allure history, CI dashboards and `-k` expressions key on them): this list is main's, as
collected on 2026-12-06 before the redesign, in the suites' order."""

from __future__ import annotations

import pytest

from segur.scenarios.rem import collect_markers
from segur.scenarios.suites import suite_paths

#: the test names of both couloir suites, in order (main, 2026-12-06)
TEST_NAMES = [
    "test_an_insi_search_answered_00_precedes_every_send",
    "test_insi_is_searched_with_the_vitale_card_when_it_is_read",
    "test_only_an_ins_insi_qualified_is_sent",
    "test_the_cda_carries_the_ins_insi_returned_with_its_oid",
    "test_xds_and_xdm_patient_id_name_the_cda_patient",
    "test_each_dmp_report_is_accepted_once_for_the_right_patient",
    "test_each_mssante_report_reaches_its_professional_with_xdm",
    "test_mssante_headers_nil_ins_codecda_are_right",
    "test_mssante_subject_follows_the_xdm_format",
    "test_mssante_submission_uses_starttls_and_auth",
    "test_the_citizen_report_reaches_ins_at_patient_mssante_fr",
    "test_every_document_sent_is_valid_for_its_volet",
    "test_a_replaced_report_deprecates_the_earlier_version",
    "test_a_dmp_outage_is_reported_as_a_failure",
    "test_after_the_outage_the_report_is_sent_once",
    "test_the_product_never_claims_a_send_the_mocks_did_not_see",
    "test_the_pdf_inside_each_document_names_its_patient",
    "test_the_pdf_attached_to_a_message_is_the_pdf_inside_its_cda",
    "test_the_xdm_format_code_matches_the_document",
    "test_one_document_id_names_one_document",
    "test_the_report_is_dated_after_the_exam",
    "test_the_author_is_the_professional_who_acts",
    "test_every_insi_call_carries_the_software_idam",
    "test_the_cda_carries_the_traits_insi_returned",
    "test_every_document_carries_the_french_header_and_its_act",
    "test_xds_and_xdm_metadata_describe_the_cda",
]


@pytest.mark.parametrize("couloir, module", [("RIS", "test_ris_proof.py"), ("BIO", "test_bio_proof.py")])
def test_the_suites_keep_the_nodeids_they_had_on_main(couloir, module):
    collected = [nodeid for nodeid, _ids, _couloir in collect_markers(suite_paths(couloir))]
    core = [f"{module}::{name}" for name in TEST_NAMES]
    assert collected[:len(core)] == core  # the capabilities' items come after, never between

