"""The ebRIM model and parser, the MTOM reader/writer and the SOAP writers, without a server."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from segur.kernel.findings import Severity
from segur.mocks.dmp import ebrim, rules, xds_metadata
from segur.mocks.dmp.ebrim import LCM, RIM
from segur.mocks.dmp.mtom import (
    Attachment,
    MissingPart,
    MtomError,
    binary_content,
    read_http_body,
    split_multipart,
    write_mtom,
)
from segur.mocks.dmp.soap import SoapError, parse_envelope, registry_response
from segur.mocks.dmp.xds_metadata import Cx, Xcn, Xon


@pytest.fixture(scope="module")
def reference(shared_ref):
    """The ANS DMP ITI-41 sample (a DICOM KOS and its signature), ../shared/ref/xds."""
    return etree.parse(str(shared_ref / "xds" / "DRIM-M_ITI-41_KOS_DMP.xml")).getroot()


#: The DocumentEntry fields a LeafClass answer must give back as they were read.
ROUND_TRIPPED = ("entry_uuid", "unique_id", "patient_id", "class_code", "type_code", "format_code",
                 "confidentiality_codes", "event_codes", "authors", "legal_authenticator", "creation_time",
                 "size", "hash", "reference_id_list", "source_patient_info", "title")

def rules_of(findings):
    return [f.rule for f in findings]


def test_the_ans_reference_request_parses_without_structural_findings(reference):
    submission, findings = ebrim.parse_submission(reference)
    assert findings == []
    ss = submission.submission_set
    assert ss.patient_id == "162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert ss.content_type_code == xds_metadata.Code("04", "1.2.250.1.213.2.2", "Hospitalisation de jour")
    kos, signature = submission.document_entries
    assert kos.class_code.code == "31" and kos.type_code.code == "IMG-KOS"
    assert kos.format_code.code == "1.2.840.10008.5.1.4.1.1.88.59" and kos.size == 109448
    assert [c.code for c in signature.confidentiality_codes] == ["N", "MASQUE_PS", "INVISIBLE_PATIENT"]
    assert len(kos.event_codes) == 2 and len(kos.reference_id_list) == 3
    assert kos.source_patient_info == ["PID-5|PAT-SIX^Alain^^^^^L", "PID-7|19960112", "PID-8|M"]
    assert [a.kind for a in submission.associations] == ["HasMember", "HasMember", "signs"]


def test_hl7_v2_types_are_read_component_by_component():
    assert Xcn.parse("899700367909^DOC0036790^KIT^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS") == Xcn(
        "899700367909", "DOC0036790", "KIT", "1.2.250.1.71.4.2.1", "D", "IDNPS")
    assert Xon.parse("BCOM^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^499700367909006") == Xon(
        "BCOM", "1.2.250.1.71.4.2.2", "IDNST", "499700367909006")
    assert Cx.parse("279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH") == Cx(
        "279035121518989", "1.2.250.1.213.1.4.10", "NH")
    assert Cx.parse("") == Cx("", "", "")


def test_a_missing_required_attribute_is_named(reference):
    broken = copy.deepcopy(reference)
    kos = broken.find(f".//{{{RIM}}}ExtrinsicObject[@id='DocumentKOS']")
    for c in kos.findall(f"{{{RIM}}}Classification"):
        if c.get("classificationScheme") == xds_metadata.DE_CLASS_CODE:
            kos.remove(c)
    _, findings = ebrim.parse_submission(broken)
    [missing] = [f for f in findings if f.rule == "XDS-EBRIM-005"]
    assert "classCode" in missing.message and missing.extra["xds_code"] == "XDSRegistryMetadataError"
    assert "41a5887f" in missing.hint


def test_duplicates_unknown_association_types_and_non_members_are_found(reference):
    broken = copy.deepcopy(reference)
    objects = broken.find(f".//{{{RIM}}}RegistryObjectList")
    associations = objects.findall(f"{{{RIM}}}Association")
    associations[0].set("associationType", "urn:example:Friend")
    associations[1].set("id", associations[2].get("id"))
    _, findings = ebrim.parse_submission(broken)
    assert {"XDS-EBRIM-009", "XDS-EBRIM-004", "XDS-EBRIM-010"} <= set(rules_of(findings))


def test_no_submission_set_and_a_folder_are_reported(reference):
    broken = copy.deepcopy(reference)
    package = broken.find(f".//{{{RIM}}}RegistryPackage")
    node = package.find(f"{{{RIM}}}Classification[@classificationNode]")
    node.set("classificationNode", xds_metadata.FOLDER_NODE)
    submission, findings = ebrim.parse_submission(broken)
    assert submission.submission_set is None and submission.folders == ["SubmissionSet01"]
    assert "XDS-EBRIM-002" in rules_of(findings)
    assert next(f for f in findings if f.rule == "XDS-EBRIM-014").severity == Severity.WARNING


def test_malformed_hash_and_size_are_findings_not_crashes(reference):
    broken = copy.deepcopy(reference)
    for slot in broken.iter(f"{{{RIM}}}Slot"):
        if slot.get("name") == "size":
            slot.find(f".//{{{RIM}}}Value").text = "a lot"
        if slot.get("name") == "hash":
            slot.find(f".//{{{RIM}}}Value").text = "xyz"
    submission, findings = ebrim.parse_submission(broken)
    assert rules_of(findings).count("XDS-EBRIM-011") == 4
    assert submission.document_entries[0].size is None


def test_something_that_is_not_a_submission_is_one_finding():
    submission, findings = ebrim.parse_submission(etree.Element("{urn:x}Nothing"))
    assert rules_of(findings) == ["XDS-EBRIM-001"] and submission.submission_set is None
    assert rules_of(ebrim.parse_submission(None)[1]) == ["XDS-EBRIM-001"]


def test_leaf_class_round_trips_through_the_parser(reference):
    submission, _ = ebrim.parse_submission(reference)
    submission.assign_uuids()
    objects = ebrim.registry_object_list([submission.submission_set, *submission.document_entries,
                                          *submission.associations])
    request = etree.Element(f"{{{LCM}}}SubmitObjectsRequest")
    request.append(objects)
    again, findings = ebrim.parse_submission(etree.fromstring(etree.tostring(request)))
    assert findings == []
    for before, after in zip(submission.document_entries, again.document_entries, strict=True):
        for name in ROUND_TRIPPED:
            assert getattr(before, name) == getattr(after, name), name


def test_object_ref_answers_carry_ids_only():
    entry = xds_metadata.DocumentEntry(entry_uuid="urn:uuid:1")
    [ref] = ebrim.registry_object_list([entry], "ObjectRef")
    assert etree.QName(ref).localname == "ObjectRef" and ref.get("id") == "urn:uuid:1" and len(ref) == 0


def test_the_model_survives_json_storage(reference):
    submission, _ = ebrim.parse_submission(reference)
    assert xds_metadata.Submission.from_dict(submission.to_dict()) == submission


def test_assign_uuids_rewrites_every_reference(reference):
    submission, _ = ebrim.parse_submission(reference)
    mapping = submission.assign_uuids()
    ids = {submission.submission_set.entry_uuid} | {e.entry_uuid for e in submission.document_entries}
    assert all(i.startswith("urn:uuid:") for i in ids)
    assert all(a.source in ids and a.target in ids for a in submission.associations)
    assert submission.document_entry("DocumentKOS").entry_uuid == mapping["DocumentKOS"]


# --- MTOM ----------------------------------------------------------------------------------------------
def test_mtom_written_is_mtom_read_back_byte_for_byte():
    payload = bytes(range(256)) * 100 + b"\r\n--MIMEBoundary_ inside content\r\n"
    content_type, body = write_mtom(b"<e/>", [Attachment("doc1@x", "application/pdf", payload)], "urn:a")
    message = read_http_body(content_type, body)
    assert message.envelope == b"<e/>" and message.attachments == {"doc1@x": payload} and message.mtom


def test_cid_urls_are_url_decoded_and_inline_base64_is_accepted():
    element = etree.fromstring(b'<d><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
                               b'href="cid:a%40b"/></d>')
    assert binary_content(element, {"a@b": b"data"}) == b"data"
    assert binary_content(etree.fromstring(b"<d>aGVs\nbG8=</d>"), {}) == b"hello"
    with pytest.raises(MissingPart) as problem:
        binary_content(etree.fromstring(b"<d>not base64!</d>"), {})
    assert problem.value.rule is rules.XDS_MTOM_006


@pytest.mark.parametrize("body, detail", [
    (b"no boundary at all", "never occurs"),
    (b"--b\r\nContent-Type: text/xml\r\n\r\n<e/>", "closing"),
    (b"--b\r\nNoColonHere\r\n\r\n<e/>\r\n--b--", "malformed MIME header"),
    (b"--b--", "no part"),
])
def test_multipart_structure_errors(body, detail):
    with pytest.raises(MtomError) as problem:
        split_multipart(body, "b")
    assert detail in problem.value.detail


# --- SOAP ----------------------------------------------------------------------------------------------
def test_action_falls_back_to_the_content_type_action_parameter():
    env = parse_envelope(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x/></s:Body>'
                         b"</s:Envelope>", "urn:ihe:iti:2007:RegistryStoredQuery")
    assert env.action == "urn:ihe:iti:2007:RegistryStoredQuery" and env.security is None


def test_an_empty_body_is_refused():
    with pytest.raises(SoapError) as problem:
        parse_envelope(
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>')
    assert problem.value.rule is rules.XDS_SOAP_004


def test_registry_response_lists_errors_and_warnings_with_rule_and_fix():
    error = rules.XDS_41_007.finding(unique_id="1.2.3")
    warning = rules.XDS_EBRIM_014.finding(id="F1")
    response = registry_response([error, warning])
    assert response.get("status").endswith(":Failure")
    errors = response.findall(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError")
    codes = [e.get("errorCode") for e in errors]
    assert codes == ["XDSDuplicateUniqueIdInRegistry", "XDSRegistryMetadataError"]
    assert errors[0].get("codeContext").startswith("[XDS-41-007]") and "—" in errors[0].get("codeContext")
    assert errors[1].get("severity").endswith(":Warning")
    assert registry_response([warning]).get("status").endswith(":Success")


def test_the_submission_set_classification_may_sit_outside_the_package(reference):
    """ITI TF vol 3 §4.2.1.3 allows the node Classification at the top of RegistryObjectList."""
    moved = copy.deepcopy(reference)
    package = moved.find(f".//{{{RIM}}}RegistryPackage")
    node = package.find(f"{{{RIM}}}Classification[@classificationNode]")
    package.remove(node)
    package.getparent().append(node)
    submission, findings = ebrim.parse_submission(moved)
    assert findings == [] and submission.submission_set.entry_uuid == "SubmissionSet01"
