"""ebRIM 3.0 on the wire: read an ITI-41/ITI-57 `SubmitObjectsRequest` into the `metadata` dataclasses,
and write the registry objects of an ITI-18 answer.

`parse_submission(element)` turns the ebRIM `SubmitObjectsRequest` (or the
`ProvideAndRegisterDocumentSetRequest` around it) into a `Submission`; it never raises on bad
input: every structural problem becomes a `Finding` (XDSRegistryMetadataError, rules
``XDS-EBRIM-*`` in `rules.py`) and the model holds whatever could be read.
The `leaf_class_*`/`object_ref` functions write the registry objects of an ITI-18 answer.
Sources: IHE ITI TF vol 3 §4.2 and §4.3.1 (see `xds_metadata.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lxml import etree

from segur.kernel.findings import Finding
from segur.mocks.dmp import rules
from segur.mocks.dmp.rules import (
    XDS_EBRIM_001,
    XDS_EBRIM_002,
    XDS_EBRIM_003,
    XDS_EBRIM_004,
    XDS_EBRIM_005,
    XDS_EBRIM_006,
    XDS_EBRIM_007,
    XDS_EBRIM_008,
    XDS_EBRIM_009,
    XDS_EBRIM_010,
    XDS_EBRIM_011,
    XDS_EBRIM_012,
    XDS_EBRIM_013,
    XDS_EBRIM_014,
    XDS_EBRIM_015,
)
from segur.mocks.dmp.xds_metadata import (
    ASSOCIATION_TYPES,
    DE_AUTHOR,
    DE_CLASS_CODE,
    DE_CONFIDENTIALITY_CODE,
    DE_EVENT_CODE_LIST,
    DE_FORMAT_CODE,
    DE_HEALTHCARE_FACILITY_TYPE_CODE,
    DE_PATIENT_ID,
    DE_PRACTICE_SETTING_CODE,
    DE_TYPE_CODE,
    DE_UNIQUE_ID,
    DOCUMENT_ENTRY_ON_DEMAND,
    DOCUMENT_ENTRY_STABLE,
    FOLDER_NODE,
    HAS_MEMBER,
    OT_ASSOCIATION,
    OT_CLASSIFICATION,
    OT_EXTERNAL_IDENTIFIER,
    OT_REGISTRY_PACKAGE,
    REFERENCE_ID_LIST_SLOT,
    SS_AUTHOR,
    SS_CONTENT_TYPE_CODE,
    SS_PATIENT_ID,
    SS_SOURCE_ID,
    SS_UNIQUE_ID,
    STATUS_APPROVED,
    SUBMISSION_SET_NODE,
    Association,
    Author,
    Code,
    DocumentEntry,
    RawClassification,
    RawExternalIdentifier,
    Submission,
    SubmissionSet,
)

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
NSMAP = {"rim": RIM, "lcm": LCM, "rs": RS, "query": QUERY, "xdsb": XDSB}


# --- Parsing ---------------------------------------------------------------------------------------
def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _elements(parent) -> Iterable:
    return (c for c in parent if isinstance(c.tag, str))


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _slots(el) -> dict[str, list[str]]:
    slots: dict[str, list[str]] = {}
    for slot in el.findall(_q(RIM, "Slot")):
        name = slot.get("name") or ""
        values = [(v.text or "").strip() for v in slot.iterfind(f"{_q(RIM, 'ValueList')}/{_q(RIM, 'Value')}")]
        slots.setdefault(name, []).extend(values)
    return slots


def _localized(el, child: str) -> str | None:
    node = el.find(f"{_q(RIM, child)}/{_q(RIM, 'LocalizedString')}")
    return None if node is None else (node.get("value") or "")


def _raw_classification(el) -> RawClassification:
    return RawClassification(
        id=el.get("id") or "", scheme=el.get("classificationScheme") or "",
        node=el.get("classificationNode") or "", node_representation=el.get("nodeRepresentation") or "",
        classified_object=el.get("classifiedObject") or "", slots=_slots(el),
        name=_localized(el, "Name") or "")


def _raw_external_identifier(el) -> RawExternalIdentifier:
    return RawExternalIdentifier(
        id=el.get("id") or "", scheme=el.get("identificationScheme") or "", value=el.get("value") or "",
        registry_object=el.get("registryObject") or "", name=_localized(el, "Name") or "")


class _Reader:
    """Reads one RegistryObject's pieces, recording findings against it."""

    def __init__(self, kind: str, obj_id: str, findings: list[Finding]):
        self.kind, self.id, self.findings = kind, obj_id, findings

    def problem(self, rule: rules.XdsRule, **context) -> None:
        self.findings.append(rule.finding(object=self.kind, id=self.id,
                                          location=f"{self.kind}[@id='{self.id}']", **context))

    def single(self, values: list, attribute: str):
        if len(values) > 1:
            self.problem(XDS_EBRIM_006, attribute=attribute, count=len(values))
        return values[0] if values else None

    def required(self, value, attribute: str, how: str) -> None:
        if value in (None, "", []):
            self.problem(XDS_EBRIM_005, attribute=attribute, how=how)

    def code(self, raw: RawClassification, attribute: str) -> Code:
        missing = []
        if not raw.node_representation:
            missing.append("no nodeRepresentation (the code)")
        scheme = raw.slots.get("codingScheme", [])
        if not scheme or not scheme[0]:
            missing.append("no codingScheme slot (the code system OID)")
        if missing:
            self.findings.append(XDS_EBRIM_007.finding(
                attribute=attribute, id=self.id, detail="; ".join(missing),
                location=f"{self.kind}[@id='{self.id}']/Classification[@id='{raw.id}']"))
        return Code(raw.node_representation, scheme[0] if scheme else "", raw.name)

    def slot_single(self, slots: dict[str, list[str]], name: str) -> str | None:
        return self.single(slots.get(name, []), f"slot {name}")


def _author(raw: RawClassification, reader: _Reader) -> Author:
    persons = raw.slots.get("authorPerson", [])
    if len(persons) > 1:
        reader.problem(XDS_EBRIM_006, attribute="authorPerson (in one author)", count=len(persons))
    return Author(person=persons[0] if persons else None, institutions=raw.slots.get("authorInstitution", []),
                  roles=raw.slots.get("authorRole", []), specialties=raw.slots.get("authorSpecialty", []),
                  telecommunications=raw.slots.get("authorTelecommunication", []))


_DE_SINGLE_CODES = {
    DE_CLASS_CODE: ("class_code", "classCode"),
    DE_TYPE_CODE: ("type_code", "typeCode"),
    DE_FORMAT_CODE: ("format_code", "formatCode"),
    DE_HEALTHCARE_FACILITY_TYPE_CODE: ("healthcare_facility_type_code", "healthcareFacilityTypeCode"),
    DE_PRACTICE_SETTING_CODE: ("practice_setting_code", "practiceSettingCode"),
}


def _parse_document_entry(el, findings: list[Finding]) -> DocumentEntry:
    entry = DocumentEntry(entry_uuid=el.get("id") or "")
    reader = _Reader("DocumentEntry", entry.entry_uuid, findings)
    entry.object_type = el.get("objectType") or DOCUMENT_ENTRY_STABLE
    if entry.object_type not in (DOCUMENT_ENTRY_STABLE, DOCUMENT_ENTRY_ON_DEMAND):
        reader.problem(XDS_EBRIM_012, object_type=entry.object_type)
    entry.mime_type = el.get("mimeType") or None
    entry.availability_status = el.get("status") or STATUS_APPROVED
    entry.logical_id = el.get("lid") or None
    entry.home_community_id = el.get("home") or None
    version = el.find(_q(RIM, "VersionInfo"))
    if version is not None and (version.get("versionName") or "").isdigit():
        entry.version = int(version.get("versionName"))
    slots = _slots(el)
    entry.slots = slots
    entry.creation_time = reader.slot_single(slots, "creationTime")
    entry.service_start_time = reader.slot_single(slots, "serviceStartTime")
    entry.service_stop_time = reader.slot_single(slots, "serviceStopTime")
    entry.language_code = reader.slot_single(slots, "languageCode")
    entry.legal_authenticator = reader.slot_single(slots, "legalAuthenticator")
    entry.source_patient_id = reader.slot_single(slots, "sourcePatientId")
    entry.source_patient_info = slots.get("sourcePatientInfo", [])
    entry.repository_unique_id = reader.slot_single(slots, "repositoryUniqueId")
    entry.uri = reader.slot_single(slots, "URI")
    entry.reference_id_list = slots.get(REFERENCE_ID_LIST_SLOT, [])
    entry.hash = reader.slot_single(slots, "hash")
    if entry.hash is not None and not _is_sha1_hex(entry.hash):
        reader.problem(XDS_EBRIM_011, value=entry.hash, attribute="hash",
                       detail="a SHA-1 hash is 40 hexadecimal characters")
    size = reader.slot_single(slots, "size")
    if size is not None:
        if size.isdigit():
            entry.size = int(size)
        else:
            reader.problem(
                XDS_EBRIM_011, value=size, attribute="size", detail="the size is a number of bytes")
    entry.title = _localized(el, "Name")
    entry.comments = _localized(el, "Description")

    singles: dict[str, list[Code]] = {}
    for c_el in el.findall(_q(RIM, "Classification")):
        raw = _raw_classification(c_el)
        entry.classifications.append(raw)
        if raw.scheme == DE_AUTHOR:
            entry.authors.append(_author(raw, reader))
        elif raw.scheme in _DE_SINGLE_CODES:
            singles.setdefault(raw.scheme, []).append(reader.code(raw, _DE_SINGLE_CODES[raw.scheme][1]))
        elif raw.scheme == DE_CONFIDENTIALITY_CODE:
            entry.confidentiality_codes.append(reader.code(raw, "confidentialityCode"))
        elif raw.scheme == DE_EVENT_CODE_LIST:
            entry.event_codes.append(reader.code(raw, "eventCodeList"))
    for scheme, (attr, name) in _DE_SINGLE_CODES.items():
        setattr(entry, attr, reader.single(singles.get(scheme, []), name))

    patient_ids, unique_ids = [], []
    for e_el in el.findall(_q(RIM, "ExternalIdentifier")):
        raw = _raw_external_identifier(e_el)
        entry.external_identifiers.append(raw)
        if raw.scheme == DE_PATIENT_ID:
            patient_ids.append(raw.value)
        elif raw.scheme == DE_UNIQUE_ID:
            unique_ids.append(raw.value)
    entry.patient_id = reader.single(patient_ids, "patientId")
    entry.unique_id = reader.single(unique_ids, "uniqueId")

    # Required attributes for a Document Source in XDS.b (ITI TF vol 3 §4.3.1, Table 4.3.1-3).
    reader.required(entry.unique_id, "uniqueId", f"ExternalIdentifier {DE_UNIQUE_ID}")
    reader.required(entry.patient_id, "patientId", f"ExternalIdentifier {DE_PATIENT_ID}")
    reader.required(entry.class_code, "classCode", f"Classification {DE_CLASS_CODE}")
    reader.required(entry.type_code, "typeCode", f"Classification {DE_TYPE_CODE}")
    reader.required(entry.format_code, "formatCode", f"Classification {DE_FORMAT_CODE}")
    reader.required(
        entry.confidentiality_codes, "confidentialityCode", f"Classification {DE_CONFIDENTIALITY_CODE}")
    reader.required(entry.healthcare_facility_type_code, "healthcareFacilityTypeCode",
                    f"Classification {DE_HEALTHCARE_FACILITY_TYPE_CODE}")
    reader.required(
        entry.practice_setting_code, "practiceSettingCode", f"Classification {DE_PRACTICE_SETTING_CODE}")
    reader.required(entry.creation_time, "creationTime", "slot creationTime")
    reader.required(entry.language_code, "languageCode", "slot languageCode")
    reader.required(entry.source_patient_id, "sourcePatientId", "slot sourcePatientId")
    reader.required(entry.mime_type, "mimeType", "ExtrinsicObject@mimeType")
    return entry


def _parse_submission_set(el, extra_classifications: list, findings: list[Finding]) -> SubmissionSet:
    ss = SubmissionSet(entry_uuid=el.get("id") or "")
    reader = _Reader("SubmissionSet", ss.entry_uuid, findings)
    ss.availability_status = el.get("status") or STATUS_APPROVED
    ss.home_community_id = el.get("home") or None
    ss.slots = _slots(el)
    ss.submission_time = reader.slot_single(ss.slots, "submissionTime")
    ss.intended_recipients = ss.slots.get("intendedRecipient", [])
    ss.title = _localized(el, "Name")
    ss.comments = _localized(el, "Description")
    content_types = []
    raws = [_raw_classification(c) for c in el.findall(_q(RIM, "Classification"))] + extra_classifications
    for raw in raws:
        ss.classifications.append(raw)
        if raw.scheme == SS_AUTHOR:
            ss.authors.append(_author(raw, reader))
        elif raw.scheme == SS_CONTENT_TYPE_CODE:
            content_types.append(reader.code(raw, "contentTypeCode"))
    ss.content_type_code = reader.single(content_types, "contentTypeCode")
    ids: dict[str, list[str]] = {}
    for e_el in el.findall(_q(RIM, "ExternalIdentifier")):
        raw = _raw_external_identifier(e_el)
        ss.external_identifiers.append(raw)
        ids.setdefault(raw.scheme, []).append(raw.value)
    ss.unique_id = reader.single(ids.get(SS_UNIQUE_ID, []), "uniqueId")
    ss.source_id = reader.single(ids.get(SS_SOURCE_ID, []), "sourceId")
    ss.patient_id = reader.single(ids.get(SS_PATIENT_ID, []), "patientId")
    reader.required(ss.unique_id, "uniqueId", f"ExternalIdentifier {SS_UNIQUE_ID}")
    reader.required(ss.source_id, "sourceId", f"ExternalIdentifier {SS_SOURCE_ID}")
    reader.required(ss.patient_id, "patientId", f"ExternalIdentifier {SS_PATIENT_ID}")
    reader.required(ss.submission_time, "submissionTime", "slot submissionTime")
    reader.required(ss.content_type_code, "contentTypeCode", f"Classification {SS_CONTENT_TYPE_CODE}")
    return ss


def _parse_association(el, findings: list[Finding]) -> Association:
    slots = _slots(el)
    assoc = Association(entry_uuid=el.get("id") or "", type=el.get("associationType") or "",
                        source=el.get("sourceObject") or "", target=el.get("targetObject") or "", slots=slots,
                        availability_status=el.get("status") or STATUS_APPROVED)
    statuses = slots.get("SubmissionSetStatus", [])
    assoc.submission_set_status = statuses[0] if statuses else None
    reader = _Reader("Association", assoc.entry_uuid, findings)
    if assoc.type not in ASSOCIATION_TYPES:
        findings.append(XDS_EBRIM_009.finding(id=assoc.entry_uuid, type=assoc.type or "(none)",
                                              location=f"Association[@id='{assoc.entry_uuid}']"))
    reader.required(assoc.source, "sourceObject", "the id of the source object")
    reader.required(assoc.target, "targetObject", "the id of the target object")
    return assoc


def find_submit_objects_request(element):
    """The SubmitObjectsRequest in `element` (itself, a child of a ProvideAndRegister request, or deeper)."""
    if element is None or not isinstance(element.tag, str):
        return None
    if element.tag == _q(LCM, "SubmitObjectsRequest"):
        return element
    return next(element.iter(_q(LCM, "SubmitObjectsRequest")), None)


def parse_submission(element) -> tuple[Submission, list[Finding]]:
    """Read an ITI-41 submission's metadata; never raises on bad input, returns (model, findings)."""
    findings: list[Finding] = []
    submission = Submission()
    try:
        request = find_submit_objects_request(element)
        object_list = None if request is None else request.find(_q(RIM, "RegistryObjectList"))
        if object_list is None:
            findings.append(XDS_EBRIM_001.finding(location="SubmitObjectsRequest"))
            return submission, findings
        _parse_object_list(object_list, submission, findings)
    except Exception as exc:  # a last line of defence: the parser must never take the server down
        findings.append(XDS_EBRIM_015.finding(object="SubmitObjectsRequest", id="", detail=repr(exc)[:300]))
    return submission, findings


def _parse_object_list(object_list, submission: Submission, findings: list[Finding]) -> None:
    children = list(_elements(object_list))
    # Node classifications (SubmissionSet / Folder) may sit inside the RegistryPackage or at top level.
    node_of: dict[str, str] = {}
    top_classifications: dict[str, list[RawClassification]] = {}
    for el in children:
        if _local(el) == "RegistryPackage":
            for c_el in el.findall(_q(RIM, "Classification")):
                if c_el.get("classificationNode"):
                    node_of[el.get("id") or ""] = c_el.get("classificationNode")
        elif _local(el) == "Classification":
            raw = _raw_classification(el)
            if raw.node:
                node_of[raw.classified_object] = raw.node
            top_classifications.setdefault(raw.classified_object, []).append(raw)

    seen_ids: dict[str, int] = {}
    submission_sets = []
    for el in children:
        local = _local(el)
        obj_id = el.get("id")
        if local in ("RegistryPackage", "ExtrinsicObject", "Association", "Classification", "ObjectRef"):
            if not obj_id:
                findings.append(XDS_EBRIM_003.finding(element=local, location=f"RegistryObjectList/{local}"))
                obj_id = ""
            else:
                seen_ids[obj_id] = seen_ids.get(obj_id, 0) + 1
        for inner in el.iterdescendants(_q(RIM, "Classification"), _q(RIM, "ExternalIdentifier")):
            if inner.get("id"):
                seen_ids[inner.get("id")] = seen_ids.get(inner.get("id"), 0) + 1
        try:
            if local == "RegistryPackage":
                node = node_of.get(obj_id)
                if node == FOLDER_NODE:
                    submission.folders.append(obj_id)
                    findings.append(XDS_EBRIM_014.finding(
                        id=obj_id, location=f"RegistryPackage[@id='{obj_id}']"))
                elif node == SUBMISSION_SET_NODE:
                    extra = [c for c in top_classifications.get(obj_id, []) if not c.node]
                    submission_sets.append(_parse_submission_set(el, extra, findings))
                else:
                    findings.append(XDS_EBRIM_005.finding(
                        object="RegistryPackage", id=obj_id, attribute="classification as SubmissionSet",
                        how=f"a Classification with classificationNode {SUBMISSION_SET_NODE}",
                        location=f"RegistryPackage[@id='{obj_id}']"))
            elif local == "ExtrinsicObject":
                submission.document_entries.append(_parse_document_entry(el, findings))
            elif local == "Association":
                submission.associations.append(_parse_association(el, findings))
            elif local == "ObjectRef" and obj_id:
                submission.object_refs.append(obj_id)
        except Exception as exc:  # one unreadable object must not hide the others' problems
            findings.append(XDS_EBRIM_015.finding(object=local, id=obj_id or "", detail=repr(exc)[:300],
                                                  location=f"{local}[@id='{obj_id}']"))

    for dup, count in seen_ids.items():
        if count > 1:
            findings.append(XDS_EBRIM_004.finding(id=dup, location=f"*[@id='{dup}']"))
    if len(submission_sets) != 1:
        findings.append(XDS_EBRIM_002.finding(count=len(submission_sets), location="RegistryObjectList"))
    submission.submission_set = submission_sets[0] if submission_sets else None
    _check_associations(submission, findings)


def _is_sha1_hex(value: str) -> bool:
    return len(value) == 40 and all(c in "0123456789abcdefABCDEF" for c in value)


def _check_associations(submission: Submission, findings: list[Finding]) -> None:
    local_ids = {d.entry_uuid for d in submission.document_entries}
    local_ids |= {a.entry_uuid for a in submission.associations}
    local_ids |= set(submission.folders)
    ss_id = submission.submission_set.entry_uuid if submission.submission_set else None
    if ss_id:
        local_ids.add(ss_id)
    members = set()
    for assoc in submission.associations:
        for end in (assoc.source, assoc.target):
            # A reference outside the submission must be a registered entryUUID (checked by the registry).
            if end and end not in local_ids and not end.startswith("urn:uuid:"):
                findings.append(XDS_EBRIM_008.finding(id=assoc.entry_uuid, target=end,
                                                      location=f"Association[@id='{assoc.entry_uuid}']"))
        if assoc.type == HAS_MEMBER and assoc.source == ss_id:
            members.add(assoc.target)
            if not assoc.submission_set_status:
                findings.append(XDS_EBRIM_013.finding(id=assoc.entry_uuid,
                                                      location=f"Association[@id='{assoc.entry_uuid}']"))
    if ss_id:
        for entry in submission.document_entries:
            if entry.entry_uuid not in members:
                findings.append(XDS_EBRIM_010.finding(id=entry.entry_uuid,
                                                      location=f"DocumentEntry[@id='{entry.entry_uuid}']"))


# --- Serialising registry objects for ITI-18 answers ------------------------------------------------
def _sub(parent, ns: str, local: str, **attrs):
    return etree.SubElement(parent, _q(ns, local), {k: v for k, v in attrs.items() if v is not None})


def _add_slot(parent, name: str, values: Iterable[str]) -> None:
    values = [v for v in values if v is not None]
    if not values:
        return
    slot = _sub(parent, RIM, "Slot", name=name)
    value_list = _sub(slot, RIM, "ValueList")
    for value in values:
        _sub(value_list, RIM, "Value").text = value


def _add_localized(parent, child: str, text: str | None) -> None:
    if text is None:
        return
    holder = _sub(parent, RIM, child)
    _sub(holder, RIM, "LocalizedString", value=text)


def _stable_id(owner: str, *parts) -> str:
    """A registry-assigned id that stays the same on every query (so answers are reproducible)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join([owner, *map(str, parts)]))}"


def _add_code(parent, owner: str, scheme: str, code: Code, index: int) -> None:
    c_el = _sub(
        parent, RIM, "Classification", id=_stable_id(owner, scheme, index), objectType=OT_CLASSIFICATION,
        classificationScheme=scheme, classifiedObject=owner, nodeRepresentation=code.code)
    _add_slot(c_el, "codingScheme", [code.scheme])
    _add_localized(c_el, "Name", code.display)


def _add_author(parent, owner: str, scheme: str, author: Author, index: int) -> None:
    c_el = _sub(
        parent, RIM, "Classification", id=_stable_id(owner, scheme, index), objectType=OT_CLASSIFICATION,
        classificationScheme=scheme, classifiedObject=owner, nodeRepresentation="")
    _add_slot(c_el, "authorPerson", [author.person] if author.person else [])
    _add_slot(c_el, "authorInstitution", author.institutions)
    _add_slot(c_el, "authorRole", author.roles)
    _add_slot(c_el, "authorSpecialty", author.specialties)
    _add_slot(c_el, "authorTelecommunication", author.telecommunications)


def _add_external_id(parent, owner: str, scheme: str, value: str | None, name: str) -> None:
    if value is None:
        return
    e_el = _sub(
        parent, RIM, "ExternalIdentifier", id=_stable_id(owner, scheme), objectType=OT_EXTERNAL_IDENTIFIER,
        identificationScheme=scheme, registryObject=owner, value=value)
    _add_localized(e_el, "Name", name)


_MAPPED_DE_SLOTS = {"creationTime", "serviceStartTime", "serviceStopTime", "languageCode",
                    "legalAuthenticator", "sourcePatientId", "sourcePatientInfo", "repositoryUniqueId", "URI",
                    REFERENCE_ID_LIST_SLOT, "hash", "size"}
_MAPPED_DE_SCHEMES = {DE_AUTHOR, DE_CONFIDENTIALITY_CODE, DE_EVENT_CODE_LIST, *_DE_SINGLE_CODES}


def leaf_class_document_entry(entry: DocumentEntry):
    """An ExtrinsicObject for a LeafClass answer, written from the model (so ITI-57 updates show)."""
    owner = entry.entry_uuid
    el = etree.Element(_q(RIM, "ExtrinsicObject"), nsmap={"rim": RIM})
    for key, value in (("id", owner), ("lid", entry.logical_id or owner), ("objectType", entry.object_type),
                       ("mimeType", entry.mime_type or "application/octet-stream"),
                       ("status", entry.availability_status), ("home", entry.home_community_id)):
        if value:
            el.set(key, value)
    _add_slot(el, "creationTime", [entry.creation_time])
    _add_slot(el, "hash", [entry.hash])
    _add_slot(el, "languageCode", [entry.language_code])
    _add_slot(el, "legalAuthenticator", [entry.legal_authenticator])
    _add_slot(el, "repositoryUniqueId", [entry.repository_unique_id])
    _add_slot(el, "serviceStartTime", [entry.service_start_time])
    _add_slot(el, "serviceStopTime", [entry.service_stop_time])
    _add_slot(el, "size", [None if entry.size is None else str(entry.size)])
    _add_slot(el, "sourcePatientId", [entry.source_patient_id])
    _add_slot(el, "sourcePatientInfo", entry.source_patient_info)
    _add_slot(el, "URI", [entry.uri])
    _add_slot(el, REFERENCE_ID_LIST_SLOT, entry.reference_id_list)
    for name, values in entry.slots.items():  # extra metadata slots the model does not map, kept as received
        if name not in _MAPPED_DE_SLOTS:
            _add_slot(el, name, values)
    _add_localized(el, "Name", entry.title)
    _add_localized(el, "Description", entry.comments)
    _sub(el, RIM, "VersionInfo", versionName=str(entry.version))
    for index, author in enumerate(entry.authors):
        _add_author(el, owner, DE_AUTHOR, author, index)
    for scheme, (attr, _name) in _DE_SINGLE_CODES.items():
        code = getattr(entry, attr)
        if code is not None:
            _add_code(el, owner, scheme, code, 0)
    for index, code in enumerate(entry.confidentiality_codes):
        _add_code(el, owner, DE_CONFIDENTIALITY_CODE, code, index)
    for index, code in enumerate(entry.event_codes):
        _add_code(el, owner, DE_EVENT_CODE_LIST, code, index)
    for index, raw in enumerate(entry.classifications):
        if raw.scheme and raw.scheme not in _MAPPED_DE_SCHEMES:
            _add_code(
                el, owner, raw.scheme,
                Code(raw.node_representation, (raw.slots.get("codingScheme") or [""])[0], raw.name),
                100 + index)
    _add_external_id(el, owner, DE_PATIENT_ID, entry.patient_id, "XDSDocumentEntry.patientId")
    _add_external_id(el, owner, DE_UNIQUE_ID, entry.unique_id, "XDSDocumentEntry.uniqueId")
    return el


def leaf_class_submission_set(ss: SubmissionSet):
    """A RegistryPackage (classified as SubmissionSet) for a LeafClass answer."""
    owner = ss.entry_uuid
    el = etree.Element(_q(RIM, "RegistryPackage"), nsmap={"rim": RIM})
    el.set("id", owner)
    el.set("lid", owner)
    el.set("objectType", OT_REGISTRY_PACKAGE)
    el.set("status", ss.availability_status)
    if ss.home_community_id:
        el.set("home", ss.home_community_id)
    _add_slot(el, "submissionTime", [ss.submission_time])
    _add_slot(el, "intendedRecipient", ss.intended_recipients)
    for name, values in ss.slots.items():
        if name not in ("submissionTime", "intendedRecipient"):
            _add_slot(el, name, values)
    _add_localized(el, "Name", ss.title)
    _add_localized(el, "Description", ss.comments)
    _sub(el, RIM, "VersionInfo", versionName="1")
    for index, author in enumerate(ss.authors):
        _add_author(el, owner, SS_AUTHOR, author, index)
    if ss.content_type_code is not None:
        _add_code(el, owner, SS_CONTENT_TYPE_CODE, ss.content_type_code, 0)
    _sub(el, RIM, "Classification", id=_stable_id(owner, SUBMISSION_SET_NODE), objectType=OT_CLASSIFICATION,
         classificationNode=SUBMISSION_SET_NODE, classifiedObject=owner)
    _add_external_id(el, owner, SS_UNIQUE_ID, ss.unique_id, "XDSSubmissionSet.uniqueId")
    _add_external_id(el, owner, SS_SOURCE_ID, ss.source_id, "XDSSubmissionSet.sourceId")
    _add_external_id(el, owner, SS_PATIENT_ID, ss.patient_id, "XDSSubmissionSet.patientId")
    return el


def leaf_class_association(assoc: Association):
    """An Association for a LeafClass answer."""
    el = etree.Element(_q(RIM, "Association"), nsmap={"rim": RIM})
    for key, value in (("id", assoc.entry_uuid), ("lid", assoc.entry_uuid), ("objectType", OT_ASSOCIATION),
                       ("associationType", assoc.type), ("sourceObject", assoc.source),
                       ("targetObject", assoc.target), ("status", assoc.availability_status)):
        el.set(key, value)
    for name, values in assoc.slots.items():
        _add_slot(el, name, values)
    if assoc.submission_set_status and "SubmissionSetStatus" not in assoc.slots:
        _add_slot(el, "SubmissionSetStatus", [assoc.submission_set_status])
    _sub(el, RIM, "VersionInfo", versionName="1")
    return el


def object_ref(entry_uuid: str):
    """An ObjectRef for an ObjectRef answer (returnType="ObjectRef")."""
    el = etree.Element(_q(RIM, "ObjectRef"), nsmap={"rim": RIM})
    el.set("id", entry_uuid)
    return el


def leaf_class(obj):
    """The LeafClass element of any model object (DocumentEntry, SubmissionSet, Association)."""
    if isinstance(obj, DocumentEntry):
        return leaf_class_document_entry(obj)
    if isinstance(obj, SubmissionSet):
        return leaf_class_submission_set(obj)
    if isinstance(obj, Association):
        return leaf_class_association(obj)
    raise TypeError(f"no LeafClass form for {type(obj).__name__}")


def registry_object_list(objects: Iterable, return_type: str = "LeafClass"):
    """A rim:RegistryObjectList holding `objects` as LeafClass or as ObjectRef."""
    el = etree.Element(_q(RIM, "RegistryObjectList"), nsmap={"rim": RIM})
    for obj in objects:
        el.append(object_ref(obj.entry_uuid) if return_type == "ObjectRef" else leaf_class(obj))
    return el
