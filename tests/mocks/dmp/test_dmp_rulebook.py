"""The DMP's one RuleBook: a problem reported once (`supersedes`), refused even in lenient mode when the
rule says so (`blocking`), and every finding carrying what the wire needs (its XDS code, its parameters)."""

from __future__ import annotations

from segur.kernel.findings import Severity
from segur.mocks.dmp import rules
from segur.mocks.dmp.models import DmpBackend
from segur.mocks.dmp.service import DmpConfig

PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH"


def test_the_dmp_s_patient_rule_hides_the_access_check_s_vaguer_one():
    vague = rules.XDS_PAT_001.finding(patient_id=PATIENT)
    precise = rules.DMP_PAT_001.finding(value=PATIENT, where="SubmissionSet 'SS'")
    assert [f.rule for f in rules.book.report_once([vague, precise])] == ["DMP-PAT-001"]


def test_the_access_check_s_rule_is_reported_when_nothing_says_more():
    vague = rules.XDS_PAT_001.finding(patient_id=PATIENT)
    other = rules.XDS_001.finding(where="DocumentEntry 'D'", attribute="title")
    assert [f.rule for f in rules.book.report_once([vague, other])] == ["XDS-PAT-001", "XDS-001"]


def test_a_blocking_rule_is_blocking_and_a_format_rule_is_not():
    assert rules.is_blocking(rules.XDS_41_007.finding(unique_id="1.2.3"))
    assert not rules.is_blocking(rules.DMP_CODE_001.finding(code="99", system="1.2", where="D"))


def test_a_missing_attribute_blocks_only_when_nothing_could_be_stored_without_it():
    missing = rules.XDS_EBRIM_005.finding(object="ExtrinsicObject", id="D", how="…", attribute="patientId")
    assert rules.is_blocking(missing)
    assert not rules.is_blocking(rules.XDS_EBRIM_005.finding(object="ExtrinsicObject", id="D", how="…",
                                                             attribute="classCode"))


def test_lenient_mode_turns_only_non_blocking_errors_into_warnings(tmp_path, world):
    backend = DmpBackend(tmp_path, DmpConfig(lenient=True), world=world)
    try:
        settled = backend.settle([rules.DMP_CODE_001.finding(code="99", system="1.2", where="D"),
                                  rules.XDS_41_007.finding(unique_id="1.2.3")])
    finally:
        backend.close()
    assert [(f.rule, f.severity) for f in settled] == [("DMP-CODE-001", Severity.WARNING),
                                                       ("XDS-41-007", Severity.ERROR)]


def test_a_finding_carries_its_xds_code_and_the_parameters_of_its_message():
    finding = rules.XDS_41_007.finding(unique_id="1.2.3", location="SubmissionSet.uniqueId")
    assert finding.extra == {"xds_code": "XDSDuplicateUniqueIdInRegistry", "params": {"unique_id": "1.2.3"}}
    assert finding.location == "SubmissionSet.uniqueId" and "1.2.3" in finding.message
    assert rules.xds_code_of(rules.XDS_SOAP_001.finding(detail="x")) == rules.XDS_REGISTRY_ERROR
