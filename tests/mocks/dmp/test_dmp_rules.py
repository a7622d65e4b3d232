"""The DMP's rules on an ITI-41 submission: patient, metadata codes, metadata ↔ CDA consistency.

Each rule has a passing case (the clean submission the client builds from a `segur.fixtures` document,
or an official ANS example) and failing cases that name the rule id they expect. Submissions go
through the real path: client metadata → ebRIM XML → the mock's ebRIM parser → `check_submission`.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from segur.fixtures.documents import HeaderOptions, build_cr_bio_n3_minimal, build_cr_img_n1
from segur.fixtures.world import load_world
from segur.kernel.findings import Finding, Severity
from segur.kernel.ins import Ins, with_key
from segur.mocks.dmp import rules as dmp_rules
from segur.mocks.dmp.cda_header import cda_time_to_xds
from segur.mocks.dmp.client.metadata import (
    Coded,
    metadata_from_cda,
    new_oid,
    submission_set_for,
    submit_objects_request,
)
from segur.mocks.dmp.ebrim import parse_submission
from segur.mocks.dmp.metadata_rules import DmpContext, DmpState, check_submission
from segur.mocks.dmp.vihf import VihfClaims
from segur.mocks.dmp.xds_metadata import Author, Code, DocumentEntry, Submission, SubmissionSet

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MASQUE_PS = Coded("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux professionnels de santé")


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def radiologist(world):
    return next(p for p in world.professionals if p.organisation == "750803447")


@pytest.fixture(scope="module")
def colleague(world, radiologist):
    return next(
        p for p in world.professionals if p.organisation == "750803447" and p.rpps != radiologist.rpps)


@pytest.fixture(scope="module")
def patient(world):
    return world.patient_by_key("pat-0001")


@pytest.fixture(scope="module")
def cr_img(world, patient, radiologist) -> bytes:
    return build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist),
                           effective_time=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


class Case:
    """One submission, built like an editor's software would, then mutated to seed a defect."""

    def __init__(self, world, document: bytes, **metadata_options):
        self.world = world
        self.documents = {"Document01": document}
        self.entries = [metadata_from_cda(document, **metadata_options)]
        self.submission_set = submission_set_for(self.entries, now=NOW)
        self.replaces = None
        self.xml_mutation = None

    @property
    def entry(self):
        return self.entries[0]

    def submission(self):
        request = submit_objects_request(self.submission_set, self.entries, replaces=self.replaces)
        request = etree.fromstring(etree.tostring(request))
        if self.xml_mutation:
            self.xml_mutation(request)
        submission, parse_findings = parse_submission(request)
        return submission, parse_findings

    def check(self, claims=None, **context) -> list[Finding]:
        submission, parse_findings = self.submission()
        assert not [f for f in parse_findings if f.is_error], parse_findings
        return check_submission(submission, self.documents, claims, DmpContext(world=self.world, **context))


def ids(findings) -> set[str]:
    return {f.rule for f in findings}


def only(findings, rule_id) -> Finding:
    matching = [f for f in findings if f.rule == rule_id]
    assert matching, f"{rule_id} not in {[(f.rule, f.message) for f in findings]}"
    return matching[0]


@pytest.fixture
def case(world, cr_img):
    return Case(world, cr_img)


def claims(**changes) -> VihfClaims:
    values = dict(
        assertion_id="_a", issuer="CN=x", subject_nameid="810101010101", subject_id="MARTIN",
        structure_id="1750803447", sector="SA08^1.2.250.1.71.4.2.4", roles=(), version="3.0",
        authentication_mode="INDIRECTE", resource_id="", patient=None, resource_urn="urn:dmp",
        purpose_of_use=None, lps_name="x", lps_version="1", lps_homologation="h", lps_id=None,
        issue_instant=None, not_before=None, not_on_or_after=None, authn_context="", signer_subject="",
        signer_structure_id="1750803447", signer_organisation=None)
    values.update(changes)
    return VihfClaims(**values)


# --- accepted submissions -----------------------------------------------------------------------------
def test_a_cr_img_n1_built_by_the_fixtures_passes_every_dmp_rule(case):
    assert case.check() == []


def test_a_cr_bio_n3_built_by_the_fixtures_passes_every_dmp_rule(world, patient):
    biologist = next(p for p in world.professionals if p.organisation == "750993552")
    document = build_cr_bio_n3_minimal(patient, biologist, world.organisation_of(biologist))
    case = Case(world, document)
    assert case.entry.format_code.code == "urn:ihe:lab:xd-lab:2008"
    assert case.check() == []


@pytest.mark.parametrize("example, format_code, class_code", [
    ("IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", "urn:ihe:iti:xds-sd:pdf:2008", "31"),
    ("IMG_CR_IMG_2024.01.xml", "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", "31"),
    ("DOC_NON_STRUCTURE_CDA-R2-N1.xml", "urn:ihe:iti:xds-sd:pdf:2008", "10"),
    ("BIO-CR-BIO_2024.01_TSH_1.xml", "urn:ihe:lab:xd-lab:2008", "10"),
])
def test_the_official_ans_examples_get_metadata_the_dmp_rules_accept(world, cda_pack, example, format_code,
                                                                      class_code):
    case = Case(world, (cda_pack / "ExemplesCDA" / example).read_bytes())
    assert (case.entry.format_code.code, case.entry.class_code.code) == (format_code, class_code)
    assert case.check() == []


def test_the_ans_dmp_sample_codes_are_all_in_the_value_sets_and_its_kos_gets_no_cda_rules(world, shared_ref):
    """The ANS ITI-41 sample (DRIM-M: a DICOM KOS and its signature) uses only codes our value sets hold."""
    envelope = etree.parse(str(shared_ref / "xds" / "DRIM-M_ITI-41_KOS_DMP.xml")).getroot()
    submission, parse_findings = parse_submission(envelope)
    assert parse_findings == []
    findings = check_submission(submission, {"DocumentKOS": b"kos", "Signature01": b"sig"}, None,
                                DmpContext(world=world))
    # patient not in our world; dummy bytes; the signature is stored masked and invisible to the patient
    assert ids(findings) == {"DMP-PAT-004", "XDS-005", "XDS-006", "DMP-CONF-001"}
    hidden = {f.extra["params"]["code"] for f in findings if f.rule == "DMP-CONF-001"}
    assert hidden == {"MASQUE_PS", "INVISIBLE_PATIENT"}


# --- the patient --------------------------------------------------------------------------------------
def set_patient(case: Case, patient_id: str) -> None:
    case.submission_set.patient_id = patient_id
    case.entry.patient_id = patient_id


def test_a_patient_id_that_is_not_an_ins_is_dmp_pat_001(case):
    set_patient(case, "IPP12345^^^&1.2.250.1.999&ISO^PI")
    assert "DMP-PAT-001" in ids(case.check())


def test_a_patient_id_under_a_non_ins_oid_is_dmp_pat_002(case, patient):
    set_patient(case, f"{patient.ins}^^^&1.2.250.1.999.1&ISO^NH")
    assert "DMP-PAT-002" in ids(case.check())


def test_a_test_ins_oid_is_refused_outside_test_mode_with_dmp_pat_002(case):
    finding = only(case.check(test_mode=False), "DMP-PAT-002")
    assert "outside test mode" in finding.message


def test_an_ins_with_a_wrong_key_is_dmp_pat_003(case, patient):
    wrong = patient.nir + f"{(int(patient.nir_key) + 1) % 97:02d}"
    set_patient(case, f"{wrong}^^^&{patient.oid}&ISO^NH")
    assert "DMP-PAT-003" in ids(case.check())


def test_a_valid_ins_of_nobody_in_the_world_is_dmp_pat_004_unknown_patient(case):
    stranger = with_key("2990175123456")
    set_patient(case, Ins(stranger, "1.2.250.1.213.1.4.10").xds_patient_id())
    finding = only(case.check(), "DMP-PAT-004")
    assert finding.extra["xds_code"] == "XDSUnknownPatientId"


@pytest.mark.parametrize("key, state", [("pat-0009", "no DMP"), ("pat-0007", "closed")])
def test_a_patient_without_an_open_dmp_is_dmp_pat_005(world, radiologist, key, state):
    patient = world.patient_by_key(key)
    case = Case(world, build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist)))
    finding = only(case.check(), "DMP-PAT-005")
    assert state in finding.message and finding.extra["xds_code"] == "XDSUnknownPatientId"


def test_the_backend_can_close_a_dmp_through_the_patient_state(case):
    assert "DMP-PAT-005" in ids(case.check(patient_state=lambda p: DmpState(closed=True)))


def test_a_patient_who_opposed_access_is_dmp_pat_006(world, radiologist):
    opposed = world.patient_by_key("pat-0008")
    case = Case(world, build_cr_img_n1(opposed, radiologist, world.organisation_of(radiologist)))
    assert "DMP-PAT-006" in ids(case.check())


def test_a_caller_the_patient_blocked_is_dmp_pat_007(case, patient):
    caller = claims(resource_id=patient.xds_patient_id)
    finding = only(case.check(caller, authorisation=lambda who, p: "INTERDIT"), "DMP-PAT-007")
    assert "INTERDIT" in finding.message and "810101010101" in finding.message


def test_feeding_needs_no_authorisation_unless_the_mock_is_told_to_require_one(case, patient):
    caller = claims(resource_id=patient.xds_patient_id)
    assert case.check(caller, authorisation=lambda who, p: "NON_EXISTE") == []
    required = case.check(caller, authorisation=lambda who, p: "NON_EXISTE", require_authorisation=True)
    assert "DMP-PAT-007" in ids(required)
    assert case.check(caller, authorisation=lambda who, p: "VALIDE", require_authorisation=True) == []


# --- VIHF ↔ metadata ------------------------------------------------------------------------------------
def test_a_vihf_for_the_same_patient_and_structure_passes(case, patient):
    assert case.check(claims(resource_id=patient.xds_patient_id)) == []


def test_a_vihf_for_another_patient_is_vihf_019(case, world):
    other = world.patient_by_key("pat-0002")
    finding = only(case.check(claims(resource_id=other.xds_patient_id)), "VIHF-019")
    assert finding.extra["xds_code"] == "XDSPatientIdDoesNotMatch"


def test_a_vihf_structure_other_than_the_author_institution_is_vihf_020(case, patient):
    findings = case.check(claims(resource_id=patient.xds_patient_id, structure_id="1310734629"))
    assert ids(findings) == {"VIHF-020"}


# --- structure and formats ---------------------------------------------------------------------------------
@pytest.mark.parametrize("field_name, attribute", [
    ("legal_authenticator", "legalAuthenticator"), ("title", "title"), ("authors", "authorPerson")])
def test_a_missing_dmp_required_attribute_is_xds_001(case, field_name, attribute):
    setattr(case.entry, field_name, [] if field_name == "authors" else None)
    finding = only(case.check(), "XDS-001")
    assert attribute in finding.message


def test_a_submission_set_without_author_is_xds_001(case):
    case.submission_set.authors = []
    assert "XDS-001" in ids(case.check())


def test_an_entry_patient_other_than_the_submission_set_is_xds_002(case, world):
    case.entry.patient_id = world.patient_by_key("pat-0002").xds_patient_id
    findings = case.check()
    assert {"XDS-002", "DMP-CDA-004"} <= ids(findings)
    assert only(findings, "XDS-002").extra["xds_code"] == "XDSPatientIdDoesNotMatch"


def test_an_entry_without_its_document_is_xds_003(case):
    case.documents = {}
    assert ids(case.check()) == {"XDS-003"}


def test_a_document_no_entry_describes_is_xds_004(case, cr_img):
    case.documents["Document99"] = cr_img
    assert ids(case.check()) == {"XDS-004"}


def test_a_wrong_hash_is_xds_005_and_a_wrong_size_xds_006(case):
    case.entry.hash = "0" * 40
    case.entry.size = case.entry.size + 1
    findings = case.check()
    assert ids(findings) == {"XDS-005", "XDS-006"}
    # ITI TF-2b §3.41.4.1.3: XDSNonIdenticalHash/Size are for a uniqueId re-sent with other content.
    assert only(findings, "XDS-005").extra["xds_code"] == "XDSRepositoryMetadataError"
    assert only(findings, "XDS-006").extra["xds_code"] == "XDSRepositoryMetadataError"


def test_hash_and_size_may_be_left_to_the_repository(case):
    case.entry.hash = None
    case.entry.size = None
    assert case.check() == []


def test_two_documents_with_one_unique_id_are_xds_007(world, cr_img):
    case = Case(world, cr_img)
    twin = copy.deepcopy(case.entry)
    twin.entry_id = "Document02"
    case.entries.append(twin)
    case.documents["Document02"] = cr_img
    assert "XDS-007" in ids(case.check())


@pytest.mark.parametrize("field_name, value", [
    ("creation_time", "2026-03-02T09:30:00Z"), ("creation_time", "20261302"), ("unique_id", "not-an-oid"),
    ("service_start_time", "202603021"),
])
def test_malformed_times_and_unique_ids_are_xds_008(case, field_name, value):
    setattr(case.entry, field_name, value)
    assert "XDS-008" in ids(case.check())


def test_a_unique_id_root_with_an_extension_is_well_formed(world, patient, radiologist):
    document = build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist),
                               document_id="1.2.250.1.999.1.2", document_id_extension="CR-2026-001")
    case = Case(world, document)
    assert case.entry.unique_id == "1.2.250.1.999.1.2^CR-2026-001"
    assert case.check() == []


@pytest.mark.parametrize("mutation, why", [
    (lambda v: v.replace("^D^^^IDNPS", "^D^^^^IDNPS"), "14th component"),
    (lambda v: v.replace("^D^^^IDNPS", "^D^^^EI"), "not IDNPS"),
    (lambda v: "123" + v[v.index("^"):], "not a national PS id"),
    (lambda v: v.replace("&1.2.250.1.71.4.2.1&ISO", ""), "assigning authority"),
])
def test_a_legal_authenticator_not_identified_by_its_idnps_is_xds_009(case, mutation, why):
    case.entry.legal_authenticator = mutation(case.entry.legal_authenticator)
    finding = only(case.check(), "XDS-009")
    assert why in finding.message


def test_an_author_device_identified_by_ei_as_in_the_ans_sample_is_accepted_in_shape(case):
    case.submission_set.authors[0].person = "899711256811^DRIMBox^ANS^^^^^^&1.2.250.1.71.4.2.1&ISO^U^^^EI"
    assert case.check() == []


def test_an_author_institution_without_structure_id_is_xds_010(case):
    case.entry.authors[0].institutions = ["Centre de radiologie^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST"]
    assert "XDS-010" in ids(case.check())


# --- codes in the DMP value sets -------------------------------------------------------------------------
@pytest.mark.parametrize("field_name, code, rule_id", [
    ("class_code", Coded("99", "1.2.250.1.213.1.1.4.1"), "DMP-CODE-001"),
    ("type_code", Coded("00000-0", "2.16.840.1.113883.6.1"), "DMP-CODE-002"),
    ("format_code", Coded("urn:unknown:format", "1.3.6.1.4.1.19376.1.2.3"), "DMP-CODE-003"),
    ("healthcare_facility_type_code", Coded("SA99", "1.2.250.1.71.4.2.4"), "DMP-CODE-004"),
    ("practice_setting_code", Coded("NOWHERE", "1.2.250.1.213.1.1.4.9"), "DMP-CODE-005"),
])
def test_a_code_outside_its_dmp_value_set_is_refused(case, field_name, code, rule_id):
    setattr(case.entry, field_name, code)
    finding = only(case.check(), rule_id)
    assert finding.extra["xds_code"] == "XDSRegistryMetadataError"
    assert code.code in finding.message and finding.hint


def test_a_known_code_under_the_wrong_coding_scheme_is_refused_and_the_hint_names_the_right_one(case):
    case.entry.format_code = Coded("urn:ihe:iti:xds-sd:pdf:2008", "1.2.250.1.213.1.1.4.2.282")
    finding = only(case.check(), "DMP-CODE-003")
    assert "1.3.6.1.4.1.19376.1.2.3" in finding.hint


def test_a_verdict_on_a_stand_in_value_set_says_so(case):
    case.entry.type_code = Coded("00000-0", "2.16.840.1.113883.6.1")
    finding = only(case.check(), "DMP-CODE-002")
    assert "JDV_J07_XdsTypeCode_CISIS" in finding.message and "fallback" in finding.message


def test_an_unknown_confidentiality_code_is_dmp_code_006(case):
    case.entry.confidentiality_codes.append(Coded("SECRET", "1.2.250.1.213.1.1.4.13"))
    assert "DMP-CODE-006" in ids(case.check())


def test_masking_codes_are_accepted_next_to_the_cda_level_with_a_visibility_warning(world, cr_img):
    case = Case(world, cr_img, extra_confidentiality=[MASQUE_PS])
    assert [c.code for c in case.entry.confidentiality_codes] == ["N", "MASQUE_PS"]
    [warning] = case.check()
    assert warning.rule == "DMP-CONF-001" and warning.severity == Severity.WARNING
    assert "masked from health professionals" in warning.message


@pytest.mark.parametrize("code, effect", [("INVISIBLE_PATIENT", "invisible to the patient"),
                                          ("INVISIBLE_REPRESENTANTS_LEGAUX", "legal representatives")])
def test_a_document_stored_invisible_to_the_patient_is_a_dmp_conf_001_warning(world, cr_img, code, effect):
    case = Case(world, cr_img, extra_confidentiality=[Coded(code, "1.2.250.1.213.1.1.4.13")])
    [warning] = case.check()
    assert (warning.rule, warning.severity) == ("DMP-CONF-001", Severity.WARNING)
    assert warning.extra["params"]["code"] == code
    assert effect in warning.message and warning.extra["xds_code"] == "XDSRegistryMetadataError"


def test_a_normally_visible_document_has_no_visibility_warning(case):
    assert [c.code for c in case.entry.confidentiality_codes] == ["N"]
    assert "DMP-CONF-001" not in ids(case.check())


def test_a_content_type_outside_j59_is_dmp_code_007(case):
    case.submission_set.content_type_code = Coded("ZZ", "1.2.250.1.213.1.1.4.6")
    assert "DMP-CODE-007" in ids(case.check())


def test_a_tre_r209_activity_type_is_accepted_by_shape_as_in_the_ans_sample(case):
    case.submission_set.content_type_code = Coded("04", "1.2.250.1.213.2.2", "Hospitalisation de jour")
    assert case.check() == []
    case.submission_set.content_type_code = Coded("4B", "1.2.250.1.213.2.2")
    assert "DMP-CODE-007" in ids(case.check())


def test_an_availability_status_outside_j52_is_dmp_code_008(case):
    def mutate(request):
        extrinsic = request.find(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}ExtrinsicObject")
        extrinsic.set("status", "urn:x:Hidden")
    case.xml_mutation = mutate
    assert "DMP-CODE-008" in ids(case.check())


def test_masking_without_a_confidentiality_level_is_dmp_code_009(case):
    case.entry.confidentiality_codes = [MASQUE_PS]
    assert {"DMP-CODE-009", "DMP-CDA-010"} <= ids(case.check())


# --- sourcePatientInfo names the CDA's patient (DMP-CDA-013) ------------------------------------------------
def test_the_client_source_patient_info_matches_the_cda_and_is_silent(case):
    assert [line.split("|")[0] for line in case.entry.source_patient_info] == ["PID-5", "PID-7", "PID-8"]
    assert "DMP-CDA-013" not in ids(case.check())


def test_source_patient_info_is_compared_ignoring_case_accents_and_punctuation(case, patient):
    family, given = case.entry.source_patient_info[0].removeprefix("PID-5|").split("^")[:2]
    case.entry.source_patient_info[0] = f"PID-5|{family.lower()}  ^{given.upper()}-^^^^^L"
    case.entry.source_patient_info.append(f"PID-3|{patient.ins}^^^&{patient.oid}&ISO^NH")
    case.entry.source_patient_info[1] += "1230"  # YYYYMMDDhhmm: same day
    assert "DMP-CDA-013" not in ids(case.check())


@pytest.mark.parametrize("field, value", [
    ("PID-5", "AUTRENOM^Jean^^^^^L"),
    ("PID-7", "19000101"),
    ("PID-8", "U"),
    ("PID-3", "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH"),
])
def test_source_patient_info_naming_another_patient_is_dmp_cda_013(case, field, value):
    case.entry.source_patient_info = [v for v in case.entry.source_patient_info if not v.startswith(field)]
    case.entry.source_patient_info.append(f"{field}|{value}")
    findings = [f for f in case.check() if f.rule == "DMP-CDA-013"]
    assert [(f.extra["params"]["field"], f.extra["params"]["value"]) for f in findings] == [(field, value)]
    assert findings[0].extra["xds_code"] == "XDSRegistryMetadataError"
    assert "SC.INS/va1.15" in dmp_rules.DMP_CDA_013.rem


def test_a_pid3_under_an_oid_the_cda_does_not_use_is_not_judged(case):
    case.entry.source_patient_info.append("PID-3|IPP42^^^&1.2.250.1.999.7&ISO^PI")
    assert "DMP-CDA-013" not in ids(case.check())


# --- consistency with the CDA ----------------------------------------------------------------------------
def test_a_document_that_is_not_xml_is_dmp_cda_001_with_the_parser_finding(case):
    case.documents["Document01"] = b"%PDF-1.4 not a CDA"
    case.entry.hash = case.entry.size = None
    findings = case.check()
    assert "DMP-CDA-001" in ids(findings) and "XML-001" in ids(findings)
    assert only(findings, "XML-001").extra["xds_code"] == "XDSRepositoryError"


def test_an_xml_document_that_is_not_a_cda_is_dmp_cda_001(case):
    case.documents["Document01"] = b"<report xmlns='urn:example'/>"
    case.entry.hash = case.entry.size = None
    assert ids(case.check()) == {"DMP-CDA-001"}


def test_a_hostile_document_is_refused_without_being_expanded(case):
    case.documents["Document01"] = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' b"<d>&x;</d>")
    case.entry.hash = case.entry.size = None
    assert {"DMP-CDA-001", "XML-004"} <= ids(case.check())


def test_a_type_code_other_than_the_cda_code_is_dmp_cda_002(case):
    case.entry.type_code = Coded("11488-4", "2.16.840.1.113883.6.1", "CR de consultation")
    case.entry.class_code = Coded("10", "1.2.250.1.213.1.1.4.1")
    assert ids(case.check()) == {"DMP-CDA-002"}


def test_a_class_code_the_type_does_not_belong_to_is_dmp_cda_003(case):
    case.entry.class_code = Coded("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")
    finding = only(case.check(), "DMP-CDA-003")
    assert "31" in finding.message and "ASS_X04" in finding.message


def test_a_patient_id_other_than_the_cda_ins_is_dmp_cda_004(case, world):
    set_patient(case, world.patient_by_key("pat-0002").xds_patient_id)
    finding = only(case.check(), "DMP-CDA-004")
    assert finding.extra["xds_code"] == "XDSPatientIdDoesNotMatch"


def test_a_unique_id_other_than_the_cda_id_is_dmp_cda_005(case):
    case.entry.unique_id = new_oid()
    assert ids(case.check()) == {"DMP-CDA-005"}


def test_a_creation_time_not_the_cda_effective_time_in_utc_is_dmp_cda_006(case):
    assert case.entry.creation_time == "20260302093000"  # 10:30+0100 in the CDA
    case.entry.creation_time = "20260302103000"  # the local time, not converted
    finding = only(case.check(), "DMP-CDA-006")
    assert "UTC" in finding.message


def test_a_creation_time_truncated_to_the_day_is_accepted(case):
    case.entry.creation_time = "20260302"
    assert case.check() == []


def test_a_legal_authenticator_other_than_the_cda_one_is_dmp_cda_007(case, colleague):
    case.entry.legal_authenticator = f"{colleague.idnps}^{colleague.family_name}^{colleague.given_name}" \
                                     "^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    assert ids(case.check()) == {"DMP-CDA-007"}


def test_an_author_who_did_not_write_the_cda_is_dmp_cda_008(case, colleague):
    case.entry.authors[0].person = f"{colleague.idnps}^{colleague.family_name}^{colleague.given_name}" \
                                   "^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    assert ids(case.check()) == {"DMP-CDA-008"}


def test_a_structured_format_code_on_a_cda_n1_is_dmp_cda_009(case):
    case.entry.format_code = Coded(
        "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", "1.3.6.1.4.1.19376.1.2.3")
    finding = only(case.check(), "DMP-CDA-009")
    assert "urn:ihe:iti:xds-sd:pdf:2008" in finding.message and "N1" in finding.message


def test_a_pdf_format_code_on_a_cda_n3_is_dmp_cda_009(world, patient):
    biologist = next(p for p in world.professionals if p.organisation == "750993552")
    case = Case(world, build_cr_bio_n3_minimal(patient, biologist, world.organisation_of(biologist)))
    case.entry.format_code = Coded("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3")
    finding = only(case.check(), "DMP-CDA-009")
    assert "urn:ihe:lab:xd-lab:2008" in finding.message


def test_a_confidentiality_level_other_than_the_cda_one_is_dmp_cda_010(case):
    case.entry.confidentiality_codes = [Coded("R", "2.16.840.1.113883.5.25", "Restreint")]
    assert ids(case.check()) == {"DMP-CDA-010"}


def test_a_cda_sent_with_another_mime_type_is_dmp_cda_011(case):
    case.entry.mime_type = "application/pdf"
    assert ids(case.check()) == {"DMP-CDA-011"}


def test_the_validators_error_findings_are_returned_with_dmp_cda_012(case):
    bad = Finding(
        "SEGUR-INS-001", Severity.ERROR, "segur", "INS key wrong", xpath="/ClinicalDocument/recordTarget")
    note = Finding("SEGUR-X", Severity.INFO, "segur", "an info")
    findings = case.check(validate_document=lambda data: SimpleNamespace(findings=[bad, note]))
    assert ids(findings) == {"SEGUR-INS-001", "DMP-CDA-012"}
    returned = only(findings, "SEGUR-INS-001")
    assert (returned.message, returned.xpath) == (bad.message, bad.xpath)
    assert returned.extra["xds_code"] == "XDSRepositoryError"


def test_a_cda_whose_pdf_is_not_a_pdf_is_refused_by_the_real_validator(world, patient, radiologist):
    from segur.validators import validate

    document = build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist),
                               pdf_bytes=b"this is not a PDF at all")
    case = Case(world, document)
    findings = case.check(validate_document=lambda data: validate(data, pack=False))
    assert "DMP-CDA-012" in ids(findings)
    assert any(f.layer == "segur" and f.is_error for f in findings)


def test_a_valid_cda_gets_no_finding_from_the_real_validator(case):
    from segur.validators import validate

    findings = case.check(validate_document=lambda data: validate(data, pack=False))
    assert [f for f in findings if f.is_error] == []


# --- building blocks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cda, xds", [
    ("20260302103000+0100", "20260302093000"),
    ("20260302003000+0200", "20260301223000"),
    ("202603021030+0100", "202603020930"),
    ("20260302", "20260302"),
    ("20260302103000", "20260302103000"),
    ("20260302103000.123-0500", "20260302153000"),
    ("2026-03-02", None),
])
def test_cda_times_become_utc_dtm_with_their_precision(cda, xds):
    assert cda_time_to_xds(cda) == xds


def test_every_dmp_rule_has_messages_in_both_languages_a_hint_an_xds_code_and_a_source():
    for rule in dmp_rules.book:
        assert rule.message_en and rule.message_fr and rule.hint and rule.source, rule.id
        # a registry error code, or (the wire's own rules) the SOAP fault code it is answered with
        assert rule.extra.get("xds_code", "").startswith("XDS") or rule.extra.get("fault"), rule.id


def test_dmp_rules_are_in_the_project_catalogue():
    from segur.kernel import rules

    listed = {r.id for r in rules.all_rules()}
    assert {rule.id for rule in dmp_rules.book} <= listed


def test_the_rem_ids_the_rules_cite_exist(shared_ref):
    import csv

    with (shared_ref.parent / "rem" / "requirements.csv").open(encoding="utf-8") as handle:
        known = {row["id"] for row in csv.DictReader(handle)}
    cited = {rem for rule in dmp_rules.book for rem in rule.rem}
    assert cited and cited <= known, cited - known


def test_a_finding_keeps_its_parameters_for_the_journal(case):
    case.entry.class_code = Coded("99", "1.2.250.1.213.1.1.4.1")
    finding = only(case.check(), "DMP-CODE-001")
    assert finding.extra["params"]["code"] == "99"
    assert replace(finding, extra={}).to_dict()["rule"] == "DMP-CODE-001"


def test_replacement_submissions_carry_an_rplc_association(case):
    case.replaces = {"Document01": "urn:uuid:00000000-0000-0000-0000-000000000001"}
    submission, _ = case.submission()
    assert any(a.kind == "RPLC" and a.target.endswith("0001") for a in submission.associations)
    assert check_submission(submission, case.documents, None, DmpContext(world=case.world)) == []


def test_header_options_reach_the_metadata(world, patient, radiologist):
    document = build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist), confidentiality="R")
    assert [c.code for c in Case(world, document).entry.confidentiality_codes] == ["R"]
    assert HeaderOptions  # the builder's options are the place to seed CDA-side defects


def test_the_rules_page_lists_every_dmp_rule():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[3] / "docs"
    page = "".join((docs / name).read_text(encoding="utf-8") for name in ("dmp-rules.md", "dmp.md"))
    missing = [rule.id for rule in dmp_rules.book if f"`{rule.id}`" not in page]
    assert not missing, missing


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_submission_never_raises_on_odd_models(world, data):
    """Half-read submissions (what the tolerant parser may hand over) give findings, never a traceback."""
    text = st.one_of(st.none(), st.text(alphabet="^&.0123456789ABCDEFGHINS:-", max_size=40))
    code = st.one_of(st.none(), st.builds(Code, st.text(max_size=10), st.text(max_size=12)))
    codes = st.builds(Code, st.text(max_size=4), st.text(max_size=4))
    entry = DocumentEntry(entry_uuid=data.draw(st.text(min_size=1, max_size=8)), unique_id=data.draw(text),
                          patient_id=data.draw(text), class_code=data.draw(code), type_code=data.draw(code),
                          format_code=data.draw(code), legal_authenticator=data.draw(text),
                          creation_time=data.draw(text),
                          mime_type=data.draw(st.sampled_from([None, "text/xml", "x"])),
                          hash=data.draw(text), size=data.draw(st.one_of(st.none(), st.integers(0, 10))),
                          confidentiality_codes=data.draw(st.lists(codes, max_size=2)),
                          authors=[Author(person=data.draw(text), institutions=[data.draw(text) or ""])])
    ss = SubmissionSet(entry_uuid="ss", patient_id=data.draw(text), unique_id=data.draw(text),
                       submission_time=data.draw(text), content_type_code=data.draw(code))
    submission = Submission(submission_set=data.draw(st.sampled_from([ss, None])), document_entries=[entry])
    documents = {entry.entry_uuid: data.draw(st.sampled_from([b"", b"<a/>", b"\xff\xfe", b"<ClinicalDocument "
                                                              b"xmlns='urn:hl7-org:v3'/>"]))}
    findings = check_submission(submission, documents, None, DmpContext(world=world))
    assert all(isinstance(f, Finding) for f in findings)


def test_a_submission_set_classification_outside_the_package_is_accepted(shared_ref):
    envelope = etree.parse(str(shared_ref / "xds" / "DRIM-M_ITI-41_KOS_DMP.xml")).getroot()
    rim = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
    package = envelope.find(f".//{{{rim}}}RegistryPackage")
    node = next(c for c in package.findall(f"{{{rim}}}Classification") if c.get("classificationNode"))
    package.remove(node)
    package.getparent().append(node)  # as IHE ITI-41 samples do: ebRIM allows a Classification at top level
    _, parse_findings = parse_submission(envelope)
    assert parse_findings == []


def test_with_a_validator_only_the_header_is_read_and_hostile_prologs_are_still_refused(case):
    from segur.validators import validate

    case.documents["Document01"] = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]>'
                                    b"<ClinicalDocument xmlns='urn:hl7-org:v3'>&x;</ClinicalDocument>")
    case.entry.hash = case.entry.size = None
    findings = case.check(validate_document=lambda data: validate(data, pack=False))
    assert "DMP-CDA-001" in ids(findings) and "XML-003" in ids(findings)


def test_the_header_reader_stops_at_the_body(cr_img):
    from segur.mocks.dmp.cda_header import read_cda_header, read_header_root

    truncated = cr_img[: cr_img.index(b"<text") + 200]  # the base64 body cut short: not well-formed
    header = read_cda_header(read_header_root(truncated))
    assert header.is_n1 and header.n1_media_type == "application/pdf"
    assert header.unique_id == read_cda_header(etree.fromstring(cr_img)).unique_id


def test_the_header_reader_reads_a_structured_document(world, patient):
    from segur.mocks.dmp.cda_header import read_cda_header, read_header_root

    biologist = next(p for p in world.professionals if p.organisation == "750993552")
    document = build_cr_bio_n3_minimal(patient, biologist, world.organisation_of(biologist))
    header = read_cda_header(read_header_root(document))
    assert not header.is_n1 and header.code.code == "11502-2" and header.ins.value == patient.ins


def test_an_entry_institution_other_than_the_submission_sets_is_xds_011(case):
    case.entry.authors[0].institutions = ["Centre hospitalier^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1310734629"]
    finding = only(case.check(), "XDS-011")
    assert "1310734629" in finding.message


def test_entries_without_institution_or_a_set_without_one_are_not_compared(case):
    case.entry.authors[0].institutions = []
    assert case.check() == []


def test_every_world_professional_gets_metadata_the_rules_accept(world, patient):
    """The client's metadata for a generic N1 by each professional of the world, in their organisation."""
    from segur.fixtures.documents import build_generic_n1

    for professional in world.professionals:
        document = build_generic_n1(patient, professional, world.organisation_of(professional))
        findings = Case(world, document).check()
        assert findings == [], (professional.rpps, [(f.rule, f.message) for f in findings])
