"""The Ségur proof, couloir RIS (radiology (CR-IMG)): one test per check, each marked with the REM ids it proves.

Each test judges the proof run (`segur_proof_run`: the plan run through the system under test) with one of
the harness's checks (`segur.scenarios.checks`), which read only what the mocks recorded. The evidence each
check looked at is attached to the test (allure attachment, evidence pack). Run with
`pytest scenarios --segur-sut reference-ris --segur-couloir RIS`, or through `segur proof`.
"""

import pytest

pytestmark = pytest.mark.couloir("RIS")


@pytest.mark.rem("INS/va1.34", "INS/va1.35", "SC.INS/va1.34")
def test_an_insi_search_answered_00_precedes_every_send(segur_check):
    """INSi retrieval before sending: for every report that reached the DMP or MSSanté, an INSi search by traits of that patient answered 00 (one identity) earlier in the task."""
    segur_check("insi-before-send")


@pytest.mark.rem("INS/va1.35", "INS/va1.38", "SC.INS/va1.35", "MSS/CONF.14")
def test_only_an_ins_insi_qualified_is_sent(segur_check):
    """Identity status: every INS sent is one INSi returned with code 00 for the task's patient; for the homonym INSi cannot qualify (02) nothing goes out with an INS; X-MSS-INS tells the truth."""
    segur_check("qualified-ins-only")


@pytest.mark.rem("DOC/va1.02", "DOC/va1.04", "RIS.DOC/va1.16")
def test_the_cda_carries_the_ins_insi_returned_with_its_oid(segur_check):
    """The INS in each CDA (value, OID, NIR key) is the one INSi returned."""
    segur_check("ins-in-cda")


@pytest.mark.rem("RIS.DMP/va1.10", "MSS/CONF.24")
def test_xds_and_xdm_patient_id_name_the_cda_patient(segur_check):
    """The XDS metadata (DMP) and the XDM METADATA.XML (MSSanté) name the CDA's patient."""
    segur_check("metadata-patient")


@pytest.mark.rem("RIS.DMP/va1.13", "RIS.DMP/va1.10")
def test_each_dmp_report_is_accepted_once_for_the_right_patient(segur_check):
    """The DMP accepted each report once, for the right patient, and stored it with complete metadata (typeCode of the volet, class, format, facility, practice setting, confidentiality)."""
    segur_check("dmp-accepted")


@pytest.mark.rem("RIS.MSS/va1.29", "MSS/CONF.23")
def test_each_mssante_report_reaches_its_professional_with_xdm(segur_check):
    """Each report to a professional was delivered to the planned mailbox with an IHE_XDM.ZIP, and the mock's checks passed."""
    segur_check("mss-professionals-xdm")


@pytest.mark.rem("MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16")
def test_mssante_headers_nil_ins_codecda_are_right(segur_check):
    """X-MSS-NIL, X-MSS-INS and X-MSS-CODECDA pass the mock's rules on every message."""
    segur_check("mss-headers")


@pytest.mark.rem("MSS/CONF.25")
def test_mssante_subject_follows_the_xdm_format(segur_check):
    """Every subject is XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date>], naming the documents' patient."""
    segur_check("mss-subject")


@pytest.mark.rem("MSS/CONF.01", "MSS/CONF.05")
def test_mssante_submission_uses_starttls_and_auth(segur_check):
    """Every message was submitted over STARTTLS with TLS >= 1.2, after SMTP AUTH."""
    segur_check("mss-transport")


@pytest.mark.rem("MSS/va1.17", "MSS/va1.19", "SC.MSS/va1.19")
def test_the_citizen_report_reaches_ins_at_patient_mssante_fr(segur_check):
    """The citizen's report reached <INS returned by INSi>@patient.mssante.fr and nobody else."""
    segur_check("citizen-address")


@pytest.mark.rem("RIS.DOC/va1.16")
def test_every_document_sent_is_valid_for_its_volet(segur_check):
    """Every document the DMP stored or MSSanté received is valid for its volet (the validator's verdict recorded by the mocks, with the layers that ran)."""
    segur_check("documents-valid")


@pytest.mark.rem("RIS.DMP/va1.09")
def test_a_replaced_report_deprecates_the_earlier_version(segur_check):
    """The replacement is an RPLC of the earlier report; the DMP shows the earlier version Deprecated and the new one Approved."""
    segur_check("dmp-replacement")


@pytest.mark.rem("RIS.DMP/va1.13", "SC.DMP/va1.01")
def test_a_dmp_outage_is_reported_as_a_failure(segur_check):
    """While the DMP answers 503, the product reports a failure and nothing is accepted or half-stored."""
    segur_check("outage-reported")


@pytest.mark.rem("RIS.DMP/va1.13", "SC.DMP/va1.01")
def test_after_the_outage_the_report_is_sent_once(segur_check):
    """After the outage clears, the report is sent and the DMP holds it exactly once."""
    segur_check("outage-retry")


@pytest.mark.rem("RIS.DMP/va1.13", "RIS.MSS/va1.29")
def test_the_product_never_claims_a_send_the_mocks_did_not_see(segur_check):
    """Whenever the product claims success, the mocks received the report (and a report the mocks accepted is not reported as failed)."""
    segur_check("claims-honest")
