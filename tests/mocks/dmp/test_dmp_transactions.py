"""The DMP mock's transactions over a real socket: ITI-41, ITI-18, ITI-43, ITI-57, TD0.2, TD0.3.

Each test names the behaviour a DMP-feeding editor relies on, and checks the failure path as
carefully as the success: the XDS error code, the rule id in codeContext, the journal.
"""

from __future__ import annotations

import json
import urllib.request
from copy import deepcopy

import pytest
from dmp_helpers import (
    ITI18,
    ITI57,
    NS,
    DmpCase,
    adhoc_query,
    retrieved_documents,
    send,
    status_update,
)
from lxml import etree

from segur.mocks.dmp import ebrim, xds_metadata
from segur.mocks.dmp.ebrim import RIM
from segur.mocks.dmp.journal import DmpJournal, journal_body
from segur.mocks.dmp.testing import running_dmp

APPROVED = xds_metadata.STATUS_APPROVED
DEPRECATED = xds_metadata.STATUS_DEPRECATED
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_SS_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"


@pytest.fixture(scope="module")
def server(pki, world):
    with running_dmp(pki=pki, world=world) as running:
        yield running


@pytest.fixture
def dmp(server):
    server.backend.reset()
    server.journal.clear()
    server.faults.clear()
    return server


def repo(dmp):
    return dmp.endpoint("repository")


def registry(dmp):
    return dmp.endpoint("registry")


def entries_of(answer):
    return answer.findall(".//rim:RegistryObjectList/rim:ExtrinsicObject")


def unique_id_of(extrinsic) -> str:
    return next(e.get("value") for e in extrinsic.findall("rim:ExternalIdentifier", NS)
                if e.get("identificationScheme") == xds_metadata.DE_UNIQUE_ID)


def admin(dmp, path: str, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        dmp.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


# --- ITI-41 -----------------------------------------------------------------------------------------
def test_iti41_accepts_a_cr_img_of_a_world_patient_and_records_it(dmp, case):
    answer = case.iti41(repo(dmp))
    assert answer.status == 200 and answer.registry_status == "Success", answer.error_contexts
    entry = dmp.journal.entries(operation="ITI-41")[-1]
    assert entry.verdict == "accepted" and entry.response["status"] == 200
    documents = admin(dmp, "/_admin/documents")["patients"][case.patient.xds_patient_id]
    assert len(documents) == 1 and documents[0]["validation"]["valid"] is True
    assert documents[0]["repository_unique_id"] == dmp.backend.config.repository_unique_id


def test_submit_find_retrieve_gives_back_the_same_bytes(dmp, case):
    document = case.cda()
    assert case.iti41(repo(dmp), [document]).registry_status == "Success"
    case.authorise(dmp)
    found = case.find_documents(registry(dmp))
    assert found.registry_status == "Success"
    [extrinsic] = entries_of(found)
    unique_id = unique_id_of(extrinsic)
    retrieved = case.retrieve(repo(dmp), dmp.backend.config.repository_unique_id, [unique_id])
    assert retrieved.registry_status == "Success" and retrieved.content_type.startswith("multipart/related")
    assert retrieved_documents(retrieved) == {unique_id: document}


def test_a_document_sent_inline_in_base64_is_accepted_like_an_mtom_part(dmp, case):
    document = case.cda()
    assert case.iti41(repo(dmp), [document], inline=True).registry_status == "Success"
    stored = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    assert [dmp.backend.store.document(e.unique_id)[0] for e in stored] == [document]


def test_the_registry_computes_hash_and_size_and_assigns_entry_uuids(dmp, case):
    document = case.cda()
    case.iti41(repo(dmp), [document])
    case.authorise(dmp)
    [extrinsic] = entries_of(case.find_documents(registry(dmp)))
    slots = {s.get("name"): s.findtext("rim:ValueList/rim:Value", namespaces=NS)
             for s in extrinsic.findall("rim:Slot", NS)}
    import hashlib

    assert slots["hash"] == hashlib.sha1(document).hexdigest() and slots["size"] == str(len(document))
    assert extrinsic.get("id").startswith("urn:uuid:") and extrinsic.get("status") == APPROVED


def test_a_declared_hash_or_size_the_bytes_contradict_is_a_repository_metadata_error(dmp, case):
    def wrong(entries):
        entries[0].hash, entries[0].size = "0" * 40, entries[0].size + 1

    answer = case.iti41(repo(dmp), edit=wrong)
    assert answer.registry_status == "Failure"
    assert set(answer.rules()) == {"XDS-005", "XDS-006"}, answer.error_contexts
    assert answer.error_codes == ["XDSRepositoryMetadataError"] * 2  # ITI TF-2b §3.41.4.1.3


def test_a_submission_with_two_documents_is_stored_whole(dmp, case):
    answer = case.iti41(repo(dmp), [case.cda(), case.cda()])
    assert answer.registry_status == "Success", answer.error_contexts
    assert dmp.backend.store.counts()["document_entries"] == 2


def test_unknown_patient_is_refused_with_xds_unknown_patient_id(dmp, case, world):
    stranger = deepcopy(case.patient)
    object.__setattr__(
        stranger, "nir", "1" + case.patient.nir[1:-1] + ("1" if case.patient.nir[-1] != "1" else "2"))
    from segur.kernel.ins import nir_key

    object.__setattr__(stranger, "nir_key", nir_key(stranger.nir))
    answer = case.iti41(repo(dmp), [case.cda(stranger)], patient=stranger)
    assert answer.registry_status == "Failure"
    assert "XDSUnknownPatientId" in answer.error_codes
    assert dmp.backend.store.counts()["document_entries"] == 0


def test_patient_id_different_from_the_cda_is_refused_with_a_message_saying_what_to_change(dmp, case):
    other = case.other_patient.xds_patient_id

    def edit(entries):
        entries[0].patient_id = other

    answer = case.iti41(repo(dmp), edit=edit)
    assert answer.registry_status == "Failure"
    assert "XDSPatientIdDoesNotMatch" in answer.error_codes
    assert any("—" in context for context in answer.error_contexts)  # every error carries its fix


def test_unknown_format_code_is_refused_with_the_value_set_rule(dmp, case):
    def edit(entries):
        entries[0].format_code.code = "urn:example:not-a-format"

    answer = case.iti41(repo(dmp), edit=edit)
    assert answer.registry_status == "Failure"
    assert "XDSRegistryMetadataError" in answer.error_codes and "DMP-CODE-003" in answer.rules()


def test_missing_vihf_is_refused(dmp, case):
    answer = case.iti41(repo(dmp), security=None)
    assert answer.registry_status == "Failure" and "VIHF-001" in answer.rules()
    assert dmp.journal.entries(operation="ITI-41")[-1].rules[0] == "VIHF-001"


def test_an_n1_whose_pdf_is_not_a_pdf_is_refused_with_the_validator_findings(dmp, case):
    answer = case.iti41(repo(dmp), [case.cda(pdf_bytes=b"this is not a PDF at all")])
    assert answer.registry_status == "Failure"
    assert "XDSRepositoryError" in answer.error_codes
    assert any(r.startswith("SEGUR-") or r.startswith("DMP-CDA") for r in answer.rules()), answer.rules()


def test_a_document_declared_application_pdf_that_is_not_a_pdf_gets_a_repository_metadata_error(dmp, case):
    def edit(entries):
        entries[0].mime_type = "application/pdf"

    answer = case.iti41(repo(dmp), edit=edit)
    assert answer.registry_status == "Failure"
    assert "XDS-41-013" in answer.rules() and "XDSRepositoryMetadataError" in answer.error_codes


def test_the_same_document_sent_twice_is_refused(dmp, case):
    document = case.cda()
    assert case.iti41(repo(dmp), [document]).registry_status == "Success"
    again = case.iti41(repo(dmp), [document])
    assert again.registry_status == "Failure" and "XDS-41-009" in again.rules()


def test_lenient_mode_accepts_a_rule_breach_as_a_warning(pki, world, case):
    def edit(entries):
        entries[0].format_code.code = "urn:example:not-a-format"

    with running_dmp(pki=pki, world=world, lenient=True) as lenient:
        answer = case.iti41(lenient.endpoint("repository"), edit=edit)
        assert answer.registry_status == "Success"
        severities = {e.get("severity").rsplit(":", 1)[-1] for e in answer.findall(".//rs:RegistryError")}
        assert severities == {"Warning"} and "DMP-CODE-003" in answer.rules()
        assert lenient.journal.entries()[-1].verdict == "accepted-with-warnings"
        # A blocking problem (a DocumentEntry without its document) is still refused in lenient mode.

        def orphan(request):
            request.find(f".//{{{RIM}}}ExtrinsicObject").set("id", "Ghost")
            for assoc in request.iter(f"{{{RIM}}}Association"):
                if assoc.get("targetObject") == "Document01":
                    assoc.set("targetObject", "Ghost")

        missing = case.iti41(lenient.endpoint("repository"), mutate=orphan)
        assert missing.registry_status == "Failure" and "XDSMissingDocument" in missing.error_codes


def test_a_document_stored_invisible_to_the_patient_is_a_warning_in_the_answer_and_the_journal(dmp, case):
    from segur.mocks.dmp.client.metadata import Coded

    answer = case.iti41(
        repo(dmp), extra_confidentiality=[Coded("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13")])
    assert answer.registry_status == "Success" and answer.rules() == ["DMP-CONF-001"], answer.error_contexts
    [error] = answer.findall(".//rs:RegistryError")
    assert error.get("severity").endswith(":Warning")
    assert "invisible to the patient" in error.get("codeContext")
    entry = dmp.journal.entries(operation="ITI-41")[-1]
    assert entry.verdict == "accepted-with-warnings" and entry.rules == ["DMP-CONF-001"]


def test_source_patient_info_of_another_patient_is_refused_and_journalled(dmp, case):
    def other_birth_date(entries):
        info = entries[0].source_patient_info
        entries[0].source_patient_info = [v for v in info if not v.startswith("PID-7")]
        entries[0].source_patient_info.append("PID-7|19000101")

    answer = case.iti41(repo(dmp), edit=other_birth_date)
    assert answer.registry_status == "Failure" and answer.rules() == ["DMP-CDA-013"], answer.error_contexts
    assert dmp.journal.entries(operation="ITI-41")[-1].rules == ["DMP-CDA-013"]


# --- RPLC -------------------------------------------------------------------------------------------------
SET_ID = "2.25.424242"  # the CDA setId every version of the replaced document shares


def test_rplc_replaces_a_document_and_deprecates_the_earlier_version(dmp, case):
    first = case.cda(set_id=SET_ID)
    assert case.iti41(repo(dmp), [first]).registry_status == "Success"
    case.authorise(dmp)
    [old] = entries_of(case.find_documents(registry(dmp)))
    replaced = case.iti41(
        repo(dmp), [case.cda(set_id=SET_ID, version_number=2)], replaces={"Document01": old.get("id")})
    assert replaced.registry_status == "Success", replaced.error_contexts
    [current] = entries_of(case.find_documents(registry(dmp)))
    assert current.get("id") != old.get("id")
    [deprecated] = entries_of(case.find_documents(registry(dmp), statuses=(DEPRECATED,)))
    assert deprecated.get("id") == old.get("id") and deprecated.get("status") == DEPRECATED
    associations = send(registry(dmp), ITI18, adhoc_query(GET_ASSOCIATIONS, {"$uuid": [old.get("id")]}),
                        case.security(), as_mtom=False)
    types = {a.get("associationType") for a in associations.findall(".//rim:Association")}
    assert xds_metadata.RPLC in types


def test_rplc_of_an_unknown_document_is_refused(dmp, case):
    answer = case.iti41(repo(dmp), replaces={"Document01": "urn:uuid:00000000-0000-4000-8000-000000000000"})
    assert answer.registry_status == "Failure" and "XDS-41-010" in answer.rules()
    assert dmp.backend.store.counts()["document_entries"] == 0


def test_replacing_an_already_replaced_document_is_refused(dmp, case):
    case.iti41(repo(dmp), [case.cda(set_id=SET_ID)])
    case.authorise(dmp)
    [old] = entries_of(case.find_documents(registry(dmp)))
    second = case.cda(set_id=SET_ID, version_number=2)
    replaced = case.iti41(repo(dmp), [second], replaces={"Document01": old.get("id")})
    assert replaced.registry_status == "Success"
    again = case.iti41(
        repo(dmp), [case.cda(set_id=SET_ID, version_number=3)], replaces={"Document01": old.get("id")})
    assert again.registry_status == "Failure" and "XDSRegistryDeprecatedDocumentError" in again.error_codes


def test_a_replacement_that_does_not_keep_the_cda_set_id_is_refused(dmp, case):
    case.iti41(repo(dmp), [case.cda(set_id=SET_ID)])
    [old] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    second = case.cda(set_id="2.25.99", version_number=2, replaces=old.unique_id.split("^")[0])
    answer = case.iti41(repo(dmp), [second], replaces={"Document01": old.entry_uuid})
    assert answer.registry_status == "Failure" and answer.rules() == ["XDS-41-017"], answer.error_contexts
    assert answer.error_codes == ["XDSRegistryMetadataError"]
    assert "2.25.99" in answer.error_contexts[0] and SET_ID in answer.error_contexts[0]
    assert dmp.backend.store.entry(old.entry_uuid).availability_status == APPROVED


def test_a_new_document_that_replaces_nothing_needs_no_particular_set_id(dmp, case):
    assert case.iti41(repo(dmp), [case.cda(set_id=SET_ID)]).registry_status == "Success"
    assert case.iti41(repo(dmp), [case.cda(set_id=SET_ID)]).registry_status == "Success"


# --- ITI-18 ---------------------------------------------------------------------------------------------
def test_find_documents_object_ref_returns_only_ids(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    answer = case.find_documents(registry(dmp), return_type="ObjectRef")
    refs = answer.findall(".//rim:RegistryObjectList/rim:ObjectRef")
    assert len(refs) == 1 and refs[0].get("id").startswith("urn:uuid:") and not entries_of(answer)


def test_find_documents_filters_on_codes_and_times(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    klass = f"{entry.class_code.code}^^{entry.class_code.scheme}"
    def found(**extra):
        return entries_of(case.find_documents(registry(dmp), extra={f"$XDSDocumentEntry{k}": v
                                                                     for k, v in extra.items()}))

    assert len(found(ClassCode=[klass])) == 1
    assert not found(ClassCode=["99^^1.2.3"])
    after = str(int(entry.creation_time[:4]) + 1)
    assert not found(CreationTimeFrom=after)
    assert found(CreationTimeTo=after)


def test_find_submission_sets_and_get_submission_set_and_contents(dmp, case):
    case.iti41(repo(dmp), [case.cda(), case.cda()])
    case.authorise(dmp)
    sets = send(registry(dmp), ITI18, adhoc_query(FIND_SUBMISSION_SETS, {
        "$XDSSubmissionSetPatientId": case.patient.xds_patient_id, "$XDSSubmissionSetStatus": [APPROVED]}),
        case.security(), as_mtom=False)
    [package] = sets.findall(".//rim:RegistryPackage")
    contents = send(registry(dmp), ITI18, adhoc_query(GET_SS_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": package.get("id")}), case.security(), as_mtom=False)
    assert len(contents.findall(".//rim:RegistryPackage")) == 1
    assert len(entries_of(contents)) == 2 and len(contents.findall(".//rim:Association")) == 2


def test_get_documents_by_unique_id_and_by_entry_uuid(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    by_id = (("$XDSDocumentEntryUniqueId", entry.unique_id), ("$XDSDocumentEntryEntryUUID", entry.entry_uuid))
    for name, value in by_id:
        answer = send(
            registry(dmp), ITI18, adhoc_query(GET_DOCUMENTS, {name: [value]}), case.security(), as_mtom=False)
        assert [e.get("id") for e in entries_of(answer)] == [entry.entry_uuid]


@pytest.mark.parametrize("query_id, params, code, rule", [
    ("urn:uuid:00000000-1111-2222-3333-444444444444", {}, "XDSUnknownStoredQuery", "XDS-18-001"),
    (FIND_DOCUMENTS, {"$XDSDocumentEntryStatus": [APPROVED]}, "XDSStoredQueryMissingParam", "XDS-18-002"),
    (GET_DOCUMENTS, {"$XDSDocumentEntryUniqueId": ["1.2.3"], "$XDSDocumentEntryEntryUUID": ["urn:uuid:x"]},
     "XDSStoredQueryParamNumber", "XDS-18-003"),
])
def test_stored_query_errors_use_the_ihe_codes(dmp, case, query_id, params, code, rule):
    answer = send(registry(dmp), ITI18, adhoc_query(query_id, params), case.security(), as_mtom=False)
    assert answer.registry_status == "Failure" and code in answer.error_codes and rule in answer.rules()


def test_an_unquoted_parameter_value_is_named_in_the_error(dmp, case):
    request = adhoc_query(FIND_DOCUMENTS, {"$XDSDocumentEntryStatus": [APPROVED]})
    query = request.find(f"{{{RIM}}}AdhocQuery")
    slot = etree.SubElement(query, f"{{{RIM}}}Slot", name="$XDSDocumentEntryPatientId")
    value = etree.SubElement(etree.SubElement(slot, f"{{{RIM}}}ValueList"), f"{{{RIM}}}Value")
    value.text = case.patient.xds_patient_id
    answer = send(registry(dmp), ITI18, request, case.security(), as_mtom=False)
    assert "XDS-18-004" in answer.rules() and "$XDSDocumentEntryPatientId" in answer.error_contexts[0]


def test_consulting_needs_an_authorisation(dmp, case):
    case.iti41(repo(dmp))  # feeding needs none (REM DMP/CONF.05)
    answer = case.find_documents(registry(dmp))
    assert answer.registry_status == "Failure" and "XDS-PAT-005" in answer.rules()
    case.authorise(dmp)
    assert case.find_documents(registry(dmp)).registry_status == "Success"


# --- ITI-43 ---------------------------------------------------------------------------------------------
def test_retrieve_of_an_unknown_document_or_repository(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    own = dmp.backend.config.repository_unique_id
    unknown = case.retrieve(repo(dmp), own, ["1.2.3.4.5.6.7"])
    assert unknown.registry_status == "Failure" and unknown.error_codes == ["XDSDocumentUniqueIdError"]
    wrong_repo = case.retrieve(repo(dmp), "1.2.3", [entry.unique_id])
    assert wrong_repo.error_codes == ["XDSUnknownRepositoryId"]
    partial = case.retrieve(repo(dmp), own, [entry.unique_id, "1.2.3.4.5.6.7"])
    assert partial.registry_status == "PartialSuccess" and len(retrieved_documents(partial)) == 1


# --- ITI-57 ---------------------------------------------------------------------------------------------
def _submission_set_xml(case, entry_id="SubmissionSetUpdate"):
    from segur.mocks.dmp.client.metadata import metadata_from_cda, submission_set_for, submit_objects_request

    entries = [metadata_from_cda(case.cda())]
    request = submit_objects_request(submission_set_for(entries), entries)
    package = request.find(f".//{{{RIM}}}RegistryPackage")
    return deepcopy(package)


def test_iti57_deprecates_a_document(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    update = status_update(_submission_set_xml(case), entry.entry_uuid, APPROVED, DEPRECATED)
    answer = send(registry(dmp), ITI57, update, case.security(), as_mtom=False)
    assert answer.registry_status == "Success", answer.error_contexts
    assert not entries_of(case.find_documents(registry(dmp)))
    assert entries_of(case.find_documents(registry(dmp), statuses=(DEPRECATED,)))


def test_iti57_archive_then_unarchive_and_refused_transitions(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    archive = status_update(
        _submission_set_xml(case), entry.entry_uuid, APPROVED, xds_metadata.STATUS_ARCHIVED)
    assert send(registry(dmp), ITI57, archive, case.security(), as_mtom=False).registry_status == "Success"
    wrong_original = status_update(_submission_set_xml(case), entry.entry_uuid, APPROVED, DEPRECATED)
    refused = send(registry(dmp), ITI57, wrong_original, case.security(), as_mtom=False)
    assert refused.registry_status == "Failure" and refused.error_codes == ["XDSMetadataUpdateError"]
    not_allowed = status_update(
        _submission_set_xml(case), entry.entry_uuid, xds_metadata.STATUS_ARCHIVED, DEPRECATED)
    refused = send(registry(dmp), ITI57, not_allowed, case.security(), as_mtom=False)
    assert "XDS-57-004" in refused.rules() and refused.error_codes == ["XDSMetadataUpdateOperationError"]
    back = status_update(_submission_set_xml(case), entry.entry_uuid, xds_metadata.STATUS_ARCHIVED, APPROVED)
    assert send(registry(dmp), ITI57, back, case.security(), as_mtom=False).registry_status == "Success"


def _new_version(case, dmp, entry, add_codes=(), change=None):
    """An ITI-57 metadata update: the current LeafClass as a new version (same lid) + PreviousVersion."""
    from segur.mocks.dmp.client.metadata import Coded  # noqa: F401  (keeps the client import path honest)

    current = dmp.backend.store.entry(entry.entry_uuid)
    new = deepcopy(current)
    new.entry_uuid = "DocumentUpdate"
    new.logical_id = current.logical_id
    for code in add_codes:
        new.confidentiality_codes.append(xds_metadata.Code(code, "1.2.250.1.213.1.1.4.13", code))
    if change:
        change(new)
    package = _submission_set_xml(case)
    request = etree.Element("{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest")
    objects = etree.SubElement(request, f"{{{RIM}}}RegistryObjectList")
    extrinsic = ebrim.leaf_class_document_entry(new)
    for attribute in ("status",):
        extrinsic.attrib.pop(attribute, None)
    objects.append(extrinsic)
    objects.append(package)
    assoc = etree.SubElement(
        objects, f"{{{RIM}}}Association", id="as-version", associationType=xds_metadata.HAS_MEMBER,
        sourceObject=package.get("id"), targetObject="DocumentUpdate")
    for name, value in (("SubmissionSetStatus", "Original"), ("PreviousVersion", str(current.version))):
        slot = etree.SubElement(assoc, f"{{{RIM}}}Slot", name=name)
        etree.SubElement(etree.SubElement(slot, f"{{{RIM}}}ValueList"), f"{{{RIM}}}Value").text = value
    return request


def test_iti57_masks_a_document_from_other_professionals(dmp, case, pki, world):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    answer = send(
        registry(dmp), ITI57, _new_version(case, dmp, entry, ["MASQUE_PS"]), case.security(), as_mtom=False)
    assert answer.registry_status == "Success", answer.error_contexts
    [current] = entries_of(case.find_documents(registry(dmp)))  # the author still sees it, version 2
    assert current.find("rim:VersionInfo", NS).get("versionName") == "2"
    codes = {c.get("nodeRepresentation") for c in current.findall("rim:Classification", NS)
             if c.get("classificationScheme") == xds_metadata.DE_CONFIDENTIALITY_CODE}
    assert "MASQUE_PS" in codes
    # Another professional of another structure, authorised on the DMP, does not see it.
    other = DmpCase(pki, world)
    other.organisation = next(o for o in world.organisations if o.key == "org-ch-toulouse")
    other.author = next(p for p in world.professionals if p.organisation == other.organisation.finess)
    other.signer = pki.issue_client("dmp-toulouse", other.organisation.name, other.organisation.name,
                                    other.organisation.idnst)
    other.authorise(dmp)
    assert not entries_of(other.find_documents(registry(dmp)))
    hidden = other.retrieve(repo(dmp), dmp.backend.config.repository_unique_id, [entry.unique_id])
    assert hidden.error_codes == ["XDSDocumentUniqueIdError"]
    shown = case.retrieve(repo(dmp), dmp.backend.config.repository_unique_id, [entry.unique_id])
    assert shown.registry_status == "Success"


def test_iti57_refuses_other_changes_and_both_invisible_and_masked(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)

    def retitle(new):
        new.title = "Another title"

    answer = send(
        registry(dmp), ITI57, _new_version(case, dmp, entry, change=retitle), case.security(), as_mtom=False)
    assert "XDS-57-006" in answer.rules() and answer.error_codes == ["XDSMetadataUpdateOperationError"]
    both = send(registry(dmp), ITI57, _new_version(case, dmp, entry, ["MASQUE_PS", "INVISIBLE_PATIENT"]),
                case.security(), as_mtom=False)
    assert "XDS-57-008" in both.rules()
    assert dmp.backend.store.entry(entry.entry_uuid).availability_status == APPROVED  # nothing changed


# --- TD0.2 / TD0.3 --------------------------------------------------------------------------------------
def _td(answer):
    return answer.find(".//td:TD02Response") if answer.find(".//td:TD02Response") is not None \
        else answer.find(".//td:TD03Response")


def test_td02_answers_non_existe_then_valide_after_td03_then_non_existe_after_removal(dmp, case):
    patients = dmp.endpoint("patients")
    habilitations = dmp.endpoint("habilitations")
    assert _td(case.td(patients, "TD0.2")).get("autorisation") == "NON_EXISTE"
    added = _td(case.td(habilitations, "TD0.3", action="AJOUT"))
    assert added.get("resultat") == "OK" and added.get("autorisation") == "VALIDE"
    assert _td(case.td(patients, "TD0.2")).get("autorisation") == "VALIDE"
    assert _td(case.td(habilitations, "TD0.3", action="SUPPRESSION")).get("autorisation") == "NON_EXISTE"
    assert [e.verdict for e in dmp.journal.entries(operation="TD0.2")] == ["NON_EXISTE", "VALIDE"]


def test_td02_answers_expire_interdit_and_the_dmp_state(dmp, case, world):
    patients = dmp.endpoint("patients")
    dmp.backend.store.set_authorisation(case.patient.ins, case.caller, "VALIDE", "2000-01-01T00:00:00+00:00")
    assert _td(case.td(patients, "TD0.2")).get("autorisation") == "EXPIRE"
    opposed = next(p for p in world.patients if p.dmp_opposed)
    answer = _td(case.td(patients, "TD0.2", patient=opposed))
    assert answer.get("autorisation") == "INTERDIT" and answer.get("raison")
    closed = next(p for p in world.patients if p.dmp_closed)
    assert _td(case.td(patients, "TD0.2", patient=closed)).get("dmp") == "FERME"
    without = next(p for p in world.patients if not p.has_dmp)
    assert _td(case.td(patients, "TD0.2", patient=without)).get("dmp") == "INEXISTANT"
    refused = _td(case.td(dmp.endpoint("habilitations"), "TD0.3", patient=opposed, action="AJOUT"))
    assert refused.get("resultat") == "REFUSE"


def test_td_without_vihf_or_with_a_bad_request_is_a_soap_fault(dmp, case):
    answer = case.td(dmp.endpoint("patients"), "TD0.2", security=None)
    assert answer.status == 400 and "VIHF-001" in answer.fault_reason and answer.fault_code == "soap:Sender"
    assert answer.find(".//soap:Subcode/soap:Value").text == "wsse:InvalidSecurity"  # OASIS WSS 1.1 §12
    bad = case.td(dmp.endpoint("habilitations"), "TD0.3", action="PEUT-ETRE")
    assert bad.status == 400 and "DMP-TD-001" in bad.fault_reason


# --- faults and admin -------------------------------------------------------------------------------------
def test_an_injected_xds_error_hits_the_next_n_submissions_only(dmp, case):
    admin(dmp, "/_admin/faults", "POST", {"kind": "xds_error", "operation": "ITI-41", "count": 2,
                                          "code": "XDSRepositoryBusy", "message": "busy"})
    for _ in range(2):
        answer = case.iti41(repo(dmp))
        assert answer.error_codes == ["XDSRepositoryBusy"] and "XDS-FAULT-001" in answer.rules()
    assert case.iti41(repo(dmp)).registry_status == "Success"
    verdicts = [e.verdict for e in dmp.journal.entries(operation="ITI-41")]
    assert verdicts == ["fault-injected"] * 2 + ["accepted"]


def test_a_dmp_closed_by_a_fault_refuses_the_next_submission_and_says_so_in_td02(dmp, case):
    admin(dmp, "/_admin/faults", "POST", {"kind": "dmp_closed", "ins": case.patient.ins, "count": 1})
    answer = case.iti41(repo(dmp))
    assert answer.registry_status == "Failure" and "XDSUnknownPatientId" in answer.error_codes
    assert _td(case.td(dmp.endpoint("patients"), "TD0.2")).get("dmp") == "FERME"


def test_503_and_latency_faults(dmp, case):
    admin(dmp, "/_admin/faults", "POST", {"kind": "http_error", "operation": "ITI-41", "count": 1})
    assert case.iti41(repo(dmp)).status == 503
    admin(dmp, "/_admin/faults", "POST", {"kind": "latency", "operation": "ITI-41", "ms": 50, "count": 1})
    assert case.iti41(repo(dmp)).registry_status == "Success"


def test_an_injected_soap_fault_answers_that_fault(dmp, case):
    admin(dmp, "/_admin/faults", "POST", {"kind": "soap_fault", "operation": "ITI-18", "code": "Receiver",
                                          "reason": "registry down", "count": 1})
    answer = case.find_documents(registry(dmp))
    assert answer.status == 500 and answer.fault_code == "soap:Receiver"
    assert "registry down" in answer.fault_reason
    assert dmp.journal.entries()[-1].verdict == "fault-injected"


def test_health_lists_endpoints_and_the_rule_hooks(dmp):
    health = admin(dmp, "/_admin/health")
    assert health["service"] == "dmp" and health["endpoints"]["repository"].endswith("/services/repository")
    assert health["rules"]["verify_vihf"] and health["rules"]["check_submission"]


def test_a_query_with_a_vihf_for_another_patient_is_refused(dmp, case):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    patient = case.patient
    answer = case.find_documents(registry(dmp), security=case.security(case.other_patient))
    assert answer.registry_status == "Failure" and "XDS-PAT-006" in answer.rules()
    assert "XDSPatientIdDoesNotMatch" in answer.error_codes and patient.ins in answer.error_contexts[0]


def test_only_an_author_may_replace_a_document(dmp, case, pki, world):
    case.iti41(repo(dmp))
    case.authorise(dmp)
    [old] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    other = DmpCase(pki, world)
    other.organisation = next(o for o in world.organisations if o.key == "org-ch-toulouse")
    other.author = next(p for p in world.professionals if p.organisation == other.organisation.finess)
    other.signer = pki.issue_client("dmp-toulouse", other.organisation.name, other.organisation.name,
                                    other.organisation.idnst)
    answer = other.iti41(repo(dmp), [other.cda(case.patient)], patient=case.patient,
                         replaces={"Document01": old.entry_uuid})
    assert answer.registry_status == "Failure" and "XDS-41-015" in answer.rules()
    assert dmp.backend.store.entry(old.entry_uuid).availability_status == APPROVED


@pytest.mark.slow
def test_with_the_official_pack_an_xsd_invalid_cda_is_refused_with_its_line(cda_pack, pki, world, case):
    document = case.cda().replace(b"<title>", b"<titre>", 1).replace(b"</title>", b"</titre>", 1)
    with running_dmp(pki=pki, world=world, validator_pack=cda_pack) as dmp:
        good = case.iti41(dmp.endpoint("repository"))
        assert good.registry_status == "Success", good.error_contexts
        answer = case.iti41(dmp.endpoint("repository"), [document])
        assert answer.registry_status == "Failure" and "XDSRepositoryError" in answer.error_codes
        xsd = [e for e in answer.findall(".//rs:RegistryError") if "line" in (e.get("location") or "")]
        assert xsd, answer.error_contexts
        [stored] = dmp.backend.documents_by_patient().values()
        layers = {layer["name"]: layer["status"] for layer in stored[0]["validation"]["layers"]}
        assert layers["xsd"] == "ran" and layers["schematron"] == "ran"


def test_a_plain_soap_request_with_inline_documents_gets_a_plain_soap_answer(dmp, case):
    from dmp_helpers import ITI41, provide_and_register

    request, by_id = case.submission([case.cda()])
    body, parts = provide_and_register(request, by_id, inline=True)
    assert parts == []
    answer = send(repo(dmp), ITI41, body, case.security(), as_mtom=False)
    assert answer.registry_status == "Success" and answer.content_type.startswith("application/soap+xml")
    assert answer.find(".//wsa:Action").text == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
    assert answer.find(".//wsa:RelatesTo") is not None


def test_a_malformed_time_parameter_is_named(dmp, case):
    case.authorise(dmp)
    answer = case.find_documents(registry(dmp), extra={"$XDSDocumentEntryCreationTimeFrom": "yesterday"})
    assert answer.registry_status == "Failure" and "XDS-18-004" in answer.rules()
    assert "CreationTimeFrom" in answer.error_contexts[0]


# --- the journal's memory ---------------------------------------------------------------------------------
def test_a_large_body_is_journalled_as_a_prefix_with_its_full_size():
    small = "<x>é</x>".encode()
    expected = {"encoding": "text", "text": "<x>é</x>", "size": len(small), "truncated": False}
    assert journal_body(small) == expected
    large = b"<a>" + "é".encode() * 400_000 + b"</a>"  # 800 kB, two bytes per character
    kept = journal_body(large, limit=1002)  # byte 1002 is the second byte of an "é"
    assert kept["encoding"] == "text" and kept["truncated"] is True and kept["size"] == len(large)
    assert kept["text"] == "<a>" + "é" * 499  # cut before the split character, never a broken one


def test_the_journal_elides_the_oldest_bodies_beyond_its_memory_budget():
    journal = DmpJournal("dmp", body_budget=2500)
    for index in range(4):
        journal.record("ITI-41", "accepted", request={"body": journal_body(b"x" * 1000)},
                       response={"body": journal_body(f"answer {index}".encode())})
    entries = journal.entries()
    assert [bool(e.request["body"]["text"]) for e in entries] == [False, False, True, True]
    assert entries[0].request["body"]["size"] == 1000 and "elided" in entries[0].request["body"]
    assert entries[0].verdict == "accepted" and entries[-1].response["body"]["text"] == "answer 3"
    journal.clear()
    journal.record("ITI-41", "accepted", request={"body": journal_body(b"y" * 2000)})
    assert journal.entries()[0].request["body"]["text"] == "y" * 2000


def test_health_says_whether_documents_are_validated_and_with_which_pack(dmp, world, pki, tmp_path):
    health = admin(dmp, "/_admin/health")
    assert health["validation"]["enabled"] is True
    with running_dmp(pki=pki, world=world, validation=False) as off:
        assert admin(off, "/_admin/health")["validation"] == {"enabled": False, "pack": None,
                                                              "note": "documents are not validated"}
    with running_dmp(pki=pki, world=world, validator_pack=str(tmp_path)) as packed:
        validation = admin(packed, "/_admin/health")["validation"]
    assert (validation["pack"], validation["pack_source"]) == (str(tmp_path), "option")
    assert validation["note"] == "XSD and Schematron layers run"
