"""The XDS metadata of an ITI-41 submission as plain dataclasses, read from ebRIM 3.0 and written back.

`parse_submission(element)` turns the ebRIM `SubmitObjectsRequest` (or the
`ProvideAndRegisterDocumentSetRequest` around it) into a `Submission`; it never raises on bad
input: every structural problem becomes a `Finding` (XDSRegistryMetadataError, rules
``XDS-EBRIM-*`` in `protocol_rules.py`) and the model holds whatever could be read.
The `leaf_class_*`/`object_ref` functions write the registry objects of an ITI-18 answer.

Everything comes from IHE ITI TF vol 3 §4.2 (Document Sharing metadata: §4.2.3 attributes,
§4.2.5 "Metadata UUIDs" for the classification schemes, external identifiers and object types,
§4.2.2 associations) and §4.3.1 (XDS.b optionality). Each UUID below was checked against that
table as reproduced by several public XDS implementations (NIST toolkit, IPF, dcm4chee-xds),
and against the ANS DMP ITI-41 request in ../shared/ref/xds/DRIM-M_ITI-41_KOS_DMP.xml.

The model is the contract with the rule code (`metadata_rules.py`): fields are never renamed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from lxml import etree

from segur.kernel.findings import Finding
from segur.mocks.dmp.protocol_rules import finding

# --- Namespaces (ebXML RegRep 3.0; IHE XDS.b) ----------------------------------------------------
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
NSMAP = {"rim": RIM, "lcm": LCM, "rs": RS, "query": QUERY, "xdsb": XDSB}

# --- ITI TF vol 3 §4.2.5 Metadata UUIDs ----------------------------------------------------------
# Object types / classification nodes
DOCUMENT_ENTRY_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
DOCUMENT_ENTRY_ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"
# DocumentEntry classification schemes
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY_CODE = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT_CODE_LIST = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_HEALTHCARE_FACILITY_TYPE_CODE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE_SETTING_CODE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
# DocumentEntry external identifiers
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
# SubmissionSet classification schemes and external identifiers
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE_CODE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
# Folder (recognised only to say the DMP does not use them)
FOLDER_UNIQUE_ID = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"

# ebRIM object types (ebRIM 3.0 §"canonical ObjectType")
OT_REGISTRY_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
OT_ASSOCIATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
OT_CLASSIFICATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
OT_EXTERNAL_IDENTIFIER = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"

# Availability status (ITI TF vol 3 §4.2.3.2.2; DMP value set JDV_J52 adds CI-SIS Archived/Deleted)
STATUS_APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
STATUS_DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
STATUS_SUBMITTED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted"
STATUS_ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"  # JDV_J52 (CI-SIS, TRE_R270)
STATUS_DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"  # JDV_J52 (CI-SIS, TRE_R270)

# Association types (ITI TF vol 3 §4.2.2, Table 4.2.2-1; ITI-57 adds UpdateAvailabilityStatus)
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
APND = "urn:ihe:iti:2007:AssociationType:APND"
XFRM = "urn:ihe:iti:2007:AssociationType:XFRM"
XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
IS_SNAPSHOT_OF = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf"
UPDATE_AVAILABILITY_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
SUBMIT_ASSOCIATION = "urn:ihe:iti:2010:AssociationType:SubmitAssociation"
ASSOCIATION_TYPES = {
    HAS_MEMBER: "HasMember", RPLC: "RPLC", APND: "APND", XFRM: "XFRM", XFRM_RPLC: "XFRM_RPLC",
    SIGNS: "signs", IS_SNAPSHOT_OF: "IsSnapshotOf", UPDATE_AVAILABILITY_STATUS: "UpdateAvailabilityStatus",
    SUBMIT_ASSOCIATION: "SubmitAssociation",
}
RELATIONSHIP_TYPES = {RPLC, APND, XFRM, XFRM_RPLC, SIGNS}

REFERENCE_ID_LIST_SLOT = "urn:ihe:iti:xds:2013:referenceIdList"


# --- HL7 v2 data types used in the metadata (ITI TF vol 3 §4.2.3.1.7) ----------------------------
def _components(value: str, sep: str = "^") -> list[str]:
    return value.split(sep) if value else []


def _at(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""


def _hd_oid(hd: str) -> str:
    """The universal id of an HD sub-component string ``namespace&oid&ISO``."""
    return _at(hd.split("&"), 1)


@dataclass(frozen=True)
class Cx:
    """An HL7 v2 CX identifier ``id^^^&oid&ISO^type`` (patientId, sourcePatientId, referenceIdList)."""

    id: str
    assigning_authority: str  # the OID of component 4 (e.g. 1.2.250.1.213.1.4.8 for an INS-NIR)
    type_code: str  # component 5 (NH for an INS, PI for a local id, urn:ihe:iti:xds:2013:accession…)

    @classmethod
    def parse(cls, value: str) -> Cx:
        parts = _components(value or "")
        return cls(_at(parts, 0), _hd_oid(_at(parts, 3)), _at(parts, 4))


@dataclass(frozen=True)
class Xcn:
    """An HL7 v2 XCN person ``id^family^given^^^^^^&oid&ISO^nametype^^^idtype`` (authorPerson, legalAuthenticator)."""

    id: str  # component 1 (for the DMP: the national PS id, e.g. 8 + RPPS)
    family: str  # component 2
    given: str  # component 3
    assigning_authority: str  # OID of component 9 (1.2.250.1.71.4.2.1 for a national PS id)
    name_type: str  # component 10 (D, U, L…)
    identifier_type: str  # component 13 (IDNPS, EI, RPPS…)

    @classmethod
    def parse(cls, value: str) -> Xcn:
        parts = _components(value or "")
        return cls(_at(parts, 0), _at(parts, 1), _at(parts, 2), _hd_oid(_at(parts, 8)), _at(parts, 9),
                   _at(parts, 12))


@dataclass(frozen=True)
class Xon:
    """An HL7 v2 XON organisation ``name^^^^^&oid&ISO^type^^^id`` (authorInstitution)."""

    name: str  # component 1
    assigning_authority: str  # OID of component 6 (1.2.250.1.71.4.2.2 for a structure id)
    identifier_type: str  # component 7 (IDNST…)
    id: str  # component 10 (the structure id, e.g. 1 + FINESS or 3 + SIRET…)

    @classmethod
    def parse(cls, value: str) -> Xon:
        parts = _components(value or "")
        return cls(_at(parts, 0), _hd_oid(_at(parts, 5)), _at(parts, 6), _at(parts, 9))


# --- The model --------------------------------------------------------------------------------------
@dataclass
class Code:
    """A coded metadata value: Classification@nodeRepresentation, its codingScheme slot and Name."""

    code: str  # nodeRepresentation
    scheme: str  # the codingScheme slot (an OID for the DMP value sets)
    display: str = ""  # the Classification's Name/LocalizedString@value


@dataclass
class Author:
    """One author classification (ITI TF vol 3 §4.2.3.1.4): a person, institutions, roles, specialties."""

    person: str | None = None  # authorPerson (XCN; see `Xcn.parse`)
    institutions: list[str] = field(default_factory=list)  # authorInstitution values (XON; `Xon.parse`)
    roles: list[str] = field(default_factory=list)  # authorRole values (DMP: code^display^oid)
    specialties: list[str] = field(default_factory=list)  # authorSpecialty values (code^display^oid)
    telecommunications: list[str] = field(default_factory=list)  # authorTelecommunication (XTN)


@dataclass
class RawClassification:
    """A Classification exactly as received (kept for evidence and for schemes the model does not map)."""

    id: str  # its id attribute
    scheme: str  # classificationScheme (empty for a node classification)
    node: str  # classificationNode (empty for a scheme classification)
    node_representation: str  # the code, for coded attributes
    classified_object: str  # the id of the object it classifies
    slots: dict[str, list[str]] = field(default_factory=dict)  # its slots (codingScheme, authorPerson…)
    name: str = ""  # Name/LocalizedString@value


@dataclass
class RawExternalIdentifier:
    """An ExternalIdentifier exactly as received."""

    id: str  # its id attribute
    scheme: str  # identificationScheme
    value: str  # value attribute
    registry_object: str  # the id of the object it identifies
    name: str = ""  # Name/LocalizedString@value (e.g. XDSDocumentEntry.uniqueId)


@dataclass
class SubmissionSet:
    """XDSSubmissionSet (ITI TF vol 3 §4.2.3.3): the envelope of one ITI-41 submission."""

    entry_uuid: str  # RegistryPackage@id (a urn:uuid after registration; symbolic in the request)
    unique_id: str | None = None  # ExternalIdentifier 96fdda7c…: an OID, unique across submissions
    source_id: str | None = None  # ExternalIdentifier 554ac39e…: OID of the sending system
    patient_id: str | None = None  # ExternalIdentifier 6b5aea1a…: CX, the patient's INS for the DMP
    submission_time: str | None = None  # slot submissionTime (DTM, UTC)
    content_type_code: Code | None = None  # Classification aa543740… (DMP value set JDV_J59)
    authors: list[Author] = field(default_factory=list)  # Classifications a7058bb9…
    title: str | None = None  # Name/LocalizedString@value
    comments: str | None = None  # Description/LocalizedString@value
    intended_recipients: list[str] = field(default_factory=list)  # slot intendedRecipient (XON|XCN|XTN)
    availability_status: str = STATUS_APPROVED  # RegistryPackage@status in the registry
    home_community_id: str | None = None  # RegistryPackage@home
    slots: dict[str, list[str]] = field(default_factory=dict)  # every slot as received (name → values)
    classifications: list[RawClassification] = field(default_factory=list)  # every Classification
    external_identifiers: list[RawExternalIdentifier] = field(default_factory=list)  # every ExternalIdentifier
    symbolic_id: str | None = None  # the id used in the request when the registry replaced it by a UUID


@dataclass
class DocumentEntry:
    """XDSDocumentEntry (ITI TF vol 3 §4.2.3.2): the metadata of one document (an ExtrinsicObject)."""

    entry_uuid: str  # ExtrinsicObject@id (urn:uuid after registration; symbolic in the request)
    unique_id: str | None = None  # ExternalIdentifier 2e82c1f6…: the document id (DMP: = CDA id root[^ext])
    patient_id: str | None = None  # ExternalIdentifier 58a6f841…: CX, the INS (`Cx.parse`)
    source_patient_id: str | None = None  # slot sourcePatientId (CX)
    source_patient_info: list[str] = field(default_factory=list)  # slot sourcePatientInfo ("PID-5|…" lines)
    class_code: Code | None = None  # Classification 41a5887f… (JDV_J57-ClassCode-DMP)
    type_code: Code | None = None  # Classification f0306f51… (JDV_J66-TypeCode-DMP; = CDA code)
    format_code: Code | None = None  # Classification a09d5840… (JDV_J60-FormatCode-DMP)
    confidentiality_codes: list[Code] = field(default_factory=list)  # Classifications f4f85eac… (N; MASQUE_PS…)
    healthcare_facility_type_code: Code | None = None  # Classification f33fb8ac… (JDV_J61)
    practice_setting_code: Code | None = None  # Classification cccf5598… (JDV_J62 / J04)
    event_codes: list[Code] = field(default_factory=list)  # Classifications 2c6b8cb7… (eventCodeList)
    authors: list[Author] = field(default_factory=list)  # Classifications 93606bcf…
    legal_authenticator: str | None = None  # slot legalAuthenticator (XCN; `Xcn.parse`)
    creation_time: str | None = None  # slot creationTime (DTM; DMP: = CDA effectiveTime)
    service_start_time: str | None = None  # slot serviceStartTime (DTM)
    service_stop_time: str | None = None  # slot serviceStopTime (DTM)
    language_code: str | None = None  # slot languageCode (e.g. fr-FR)
    mime_type: str | None = None  # ExtrinsicObject@mimeType (text/xml for a CDA)
    hash: str | None = None  # slot hash (SHA-1, hex) as sent; the repository computes and compares
    size: int | None = None  # slot size (bytes) as sent; None when absent or not an integer
    title: str | None = None  # Name/LocalizedString@value
    comments: str | None = None  # Description/LocalizedString@value
    availability_status: str = STATUS_APPROVED  # @status in the registry (Approved / Deprecated…)
    reference_id_list: list[str] = field(default_factory=list)  # slot urn:ihe:iti:xds:2013:referenceIdList (CXi)
    repository_unique_id: str | None = None  # slot repositoryUniqueId (set by the repository)
    object_type: str = DOCUMENT_ENTRY_STABLE  # ExtrinsicObject@objectType (stable / on-demand)
    uri: str | None = None  # slot URI (XDM/XDR only; kept as received)
    logical_id: str | None = None  # @lid: the first version's entryUUID (ITI-57 metadata versions)
    version: int = 1  # VersionInfo@versionName (ITI-57 metadata versions)
    home_community_id: str | None = None  # @home
    slots: dict[str, list[str]] = field(default_factory=dict)  # every slot as received (name → values)
    classifications: list[RawClassification] = field(default_factory=list)  # every Classification
    external_identifiers: list[RawExternalIdentifier] = field(default_factory=list)  # every ExternalIdentifier
    symbolic_id: str | None = None  # the id used in the request when the registry replaced it by a UUID


@dataclass
class Association:
    """An ebRIM Association (ITI TF vol 3 §4.2.2): HasMember, RPLC, APND, XFRM, XFRM_RPLC, signs…"""

    entry_uuid: str  # Association@id
    type: str  # associationType, full URN (see ASSOCIATION_TYPES)
    source: str  # sourceObject (an id of this submission or a registered entryUUID)
    target: str  # targetObject
    submission_set_status: str | None = None  # slot SubmissionSetStatus (Original / Reference), HasMember only
    slots: dict[str, list[str]] = field(default_factory=dict)  # every slot as received
    availability_status: str = STATUS_APPROVED  # @status in the registry
    symbolic_id: str | None = None  # the id used in the request when the registry replaced it by a UUID

    @property
    def kind(self) -> str:
        """The short name of the type (HasMember, RPLC…), or the URN itself when unknown."""
        return ASSOCIATION_TYPES.get(self.type, self.type)


@dataclass
class Submission:
    """One parsed SubmitObjectsRequest: a submission set, its document entries and associations."""

    submission_set: SubmissionSet | None = None  # None when the request had none (a finding says so)
    document_entries: list[DocumentEntry] = field(default_factory=list)  # ExtrinsicObjects, in order
    associations: list[Association] = field(default_factory=list)  # Associations, in order
    folders: list[str] = field(default_factory=list)  # ids of Folder RegistryPackages (refused by the DMP)
    object_refs: list[str] = field(default_factory=list)  # ObjectRef ids (existing objects referred to)

    def document_entry(self, entry_id: str) -> DocumentEntry | None:
        """The entry whose entryUUID (or symbolic id from the request) is `entry_id`."""
        return next((d for d in self.document_entries if entry_id in (d.entry_uuid, d.symbolic_id)), None)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Submission:
        ss = data.get("submission_set")
        return cls(
            submission_set=submission_set_from_dict(ss) if ss else None,
            document_entries=[document_entry_from_dict(d) for d in data.get("document_entries", [])],
            associations=[Association(**a) for a in data.get("associations", [])],
            folders=list(data.get("folders", [])),
            object_refs=list(data.get("object_refs", [])),
        )

    def assign_uuids(self) -> dict[str, str]:
        """Replace symbolic ids by fresh urn:uuid ids everywhere (as a registry does); returns old → new."""
        mapping: dict[str, str] = {}
        objects = ([self.submission_set] if self.submission_set else []) + self.document_entries + self.associations
        for obj in objects:
            if not obj.entry_uuid.startswith("urn:uuid:"):
                new = f"urn:uuid:{uuid.uuid4()}"
                mapping[obj.entry_uuid] = new
                obj.symbolic_id = obj.entry_uuid
                obj.entry_uuid = new
        for assoc in self.associations:
            assoc.source = mapping.get(assoc.source, assoc.source)
            assoc.target = mapping.get(assoc.target, assoc.target)
        for obj in objects:
            for raw in getattr(obj, "classifications", []):
                raw.classified_object = mapping.get(raw.classified_object, raw.classified_object)
            for raw in getattr(obj, "external_identifiers", []):
                raw.registry_object = mapping.get(raw.registry_object, raw.registry_object)
        for entry in self.document_entries:
            if entry.logical_id is None or entry.logical_id in mapping:
                entry.logical_id = entry.entry_uuid
        return mapping


def _codes(items) -> list[Code]:
    return [Code(**c) for c in items or []]


def _code(item) -> Code | None:
    return Code(**item) if item else None


def submission_set_from_dict(data: dict) -> SubmissionSet:
    data = dict(data)
    data["content_type_code"] = _code(data.get("content_type_code"))
    data["authors"] = [Author(**a) for a in data.get("authors", [])]
    data["classifications"] = [RawClassification(**c) for c in data.get("classifications", [])]
    data["external_identifiers"] = [RawExternalIdentifier(**e) for e in data.get("external_identifiers", [])]
    return SubmissionSet(**data)


def document_entry_from_dict(data: dict) -> DocumentEntry:
    data = dict(data)
    for key in ("class_code", "type_code", "format_code", "healthcare_facility_type_code", "practice_setting_code"):
        data[key] = _code(data.get(key))
    data["confidentiality_codes"] = _codes(data.get("confidentiality_codes"))
    data["event_codes"] = _codes(data.get("event_codes"))
    data["authors"] = [Author(**a) for a in data.get("authors", [])]
    data["classifications"] = [RawClassification(**c) for c in data.get("classifications", [])]
    data["external_identifiers"] = [RawExternalIdentifier(**e) for e in data.get("external_identifiers", [])]
    return DocumentEntry(**data)


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
        id=el.get("id") or "", scheme=el.get("classificationScheme") or "", node=el.get("classificationNode") or "",
        node_representation=el.get("nodeRepresentation") or "", classified_object=el.get("classifiedObject") or "",
        slots=_slots(el), name=_localized(el, "Name") or "")


def _raw_external_identifier(el) -> RawExternalIdentifier:
    return RawExternalIdentifier(
        id=el.get("id") or "", scheme=el.get("identificationScheme") or "", value=el.get("value") or "",
        registry_object=el.get("registryObject") or "", name=_localized(el, "Name") or "")


class _Reader:
    """Reads one RegistryObject's pieces, recording findings against it."""

    def __init__(self, kind: str, obj_id: str, findings: list[Finding]):
        self.kind, self.id, self.findings = kind, obj_id, findings

    def problem(self, rule_id: str, **context) -> None:
        self.findings.append(finding(rule_id, object=self.kind, id=self.id,
                                     location=f"{self.kind}[@id='{self.id}']", **context))

    def single(self, values: list, attribute: str):
        if len(values) > 1:
            self.problem("XDS-EBRIM-006", attribute=attribute, count=len(values))
        return values[0] if values else None

    def required(self, value, attribute: str, how: str) -> None:
        if value in (None, "", []):
            self.problem("XDS-EBRIM-005", attribute=attribute, how=how)

    def code(self, raw: RawClassification, attribute: str) -> Code:
        missing = []
        if not raw.node_representation:
            missing.append("no nodeRepresentation (the code)")
        scheme = raw.slots.get("codingScheme", [])
        if not scheme or not scheme[0]:
            missing.append("no codingScheme slot (the code system OID)")
        if missing:
            self.findings.append(finding("XDS-EBRIM-007", attribute=attribute, id=self.id, detail="; ".join(missing),
                                         location=f"{self.kind}[@id='{self.id}']/Classification[@id='{raw.id}']"))
        return Code(raw.node_representation, scheme[0] if scheme else "", raw.name)

    def slot_single(self, slots: dict[str, list[str]], name: str) -> str | None:
        return self.single(slots.get(name, []), f"slot {name}")


def _author(raw: RawClassification, reader: _Reader) -> Author:
    persons = raw.slots.get("authorPerson", [])
    if len(persons) > 1:
        reader.problem("XDS-EBRIM-006", attribute="authorPerson (in one author)", count=len(persons))
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
        reader.problem("XDS-EBRIM-012", object_type=entry.object_type)
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
    if entry.hash is not None and not (len(entry.hash) == 40 and all(c in "0123456789abcdefABCDEF" for c in entry.hash)):
        reader.problem("XDS-EBRIM-011", value=entry.hash, attribute="hash",
                       detail="a SHA-1 hash is 40 hexadecimal characters")
    size = reader.slot_single(slots, "size")
    if size is not None:
        if size.isdigit():
            entry.size = int(size)
        else:
            reader.problem("XDS-EBRIM-011", value=size, attribute="size", detail="the size is a number of bytes")
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
    reader.required(entry.confidentiality_codes, "confidentialityCode", f"Classification {DE_CONFIDENTIALITY_CODE}")
    reader.required(entry.healthcare_facility_type_code, "healthcareFacilityTypeCode",
                    f"Classification {DE_HEALTHCARE_FACILITY_TYPE_CODE}")
    reader.required(entry.practice_setting_code, "practiceSettingCode", f"Classification {DE_PRACTICE_SETTING_CODE}")
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
        findings.append(finding("XDS-EBRIM-009", id=assoc.entry_uuid, type=assoc.type or "(none)",
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
            findings.append(finding("XDS-EBRIM-001", location="SubmitObjectsRequest"))
            return submission, findings
        _parse_object_list(object_list, submission, findings)
    except Exception as exc:  # a last line of defence: the parser must never take the server down
        findings.append(finding("XDS-EBRIM-015", object="SubmitObjectsRequest", id="", detail=repr(exc)[:300]))
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
                findings.append(finding("XDS-EBRIM-003", element=local, location=f"RegistryObjectList/{local}"))
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
                    findings.append(finding("XDS-EBRIM-014", id=obj_id, location=f"RegistryPackage[@id='{obj_id}']"))
                elif node == SUBMISSION_SET_NODE:
                    extra = [c for c in top_classifications.get(obj_id, []) if not c.node]
                    submission_sets.append(_parse_submission_set(el, extra, findings))
                else:
                    findings.append(finding(
                        "XDS-EBRIM-005", object="RegistryPackage", id=obj_id,
                        attribute="classification as SubmissionSet",
                        how=f"a Classification with classificationNode {SUBMISSION_SET_NODE}",
                        location=f"RegistryPackage[@id='{obj_id}']"))
            elif local == "ExtrinsicObject":
                submission.document_entries.append(_parse_document_entry(el, findings))
            elif local == "Association":
                submission.associations.append(_parse_association(el, findings))
            elif local == "ObjectRef" and obj_id:
                submission.object_refs.append(obj_id)
        except Exception as exc:  # one unreadable object must not hide the others' problems
            findings.append(finding("XDS-EBRIM-015", object=local, id=obj_id or "", detail=repr(exc)[:300],
                                    location=f"{local}[@id='{obj_id}']"))

    for dup, count in seen_ids.items():
        if count > 1:
            findings.append(finding("XDS-EBRIM-004", id=dup, location=f"*[@id='{dup}']"))
    if len(submission_sets) != 1:
        findings.append(finding("XDS-EBRIM-002", count=len(submission_sets), location="RegistryObjectList"))
    submission.submission_set = submission_sets[0] if submission_sets else None
    _check_associations(submission, findings)


def _check_associations(submission: Submission, findings: list[Finding]) -> None:
    local_ids = {d.entry_uuid for d in submission.document_entries} | {a.entry_uuid for a in submission.associations}
    local_ids |= set(submission.folders)
    ss_id = submission.submission_set.entry_uuid if submission.submission_set else None
    if ss_id:
        local_ids.add(ss_id)
    members = set()
    for assoc in submission.associations:
        for end in (assoc.source, assoc.target):
            # A reference outside the submission must be a registered entryUUID (checked by the registry).
            if end and end not in local_ids and not end.startswith("urn:uuid:"):
                findings.append(finding("XDS-EBRIM-008", id=assoc.entry_uuid, target=end,
                                        location=f"Association[@id='{assoc.entry_uuid}']"))
        if assoc.type == HAS_MEMBER and assoc.source == ss_id:
            members.add(assoc.target)
            if not assoc.submission_set_status:
                findings.append(finding("XDS-EBRIM-013", id=assoc.entry_uuid,
                                        location=f"Association[@id='{assoc.entry_uuid}']"))
    if ss_id:
        for entry in submission.document_entries:
            if entry.entry_uuid not in members:
                findings.append(finding("XDS-EBRIM-010", id=entry.entry_uuid,
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
    c_el = _sub(parent, RIM, "Classification", id=_stable_id(owner, scheme, index), objectType=OT_CLASSIFICATION,
                classificationScheme=scheme, classifiedObject=owner, nodeRepresentation=code.code)
    _add_slot(c_el, "codingScheme", [code.scheme])
    _add_localized(c_el, "Name", code.display)


def _add_author(parent, owner: str, scheme: str, author: Author, index: int) -> None:
    c_el = _sub(parent, RIM, "Classification", id=_stable_id(owner, scheme, index), objectType=OT_CLASSIFICATION,
                classificationScheme=scheme, classifiedObject=owner, nodeRepresentation="")
    _add_slot(c_el, "authorPerson", [author.person] if author.person else [])
    _add_slot(c_el, "authorInstitution", author.institutions)
    _add_slot(c_el, "authorRole", author.roles)
    _add_slot(c_el, "authorSpecialty", author.specialties)
    _add_slot(c_el, "authorTelecommunication", author.telecommunications)


def _add_external_id(parent, owner: str, scheme: str, value: str | None, name: str) -> None:
    if value is None:
        return
    e_el = _sub(parent, RIM, "ExternalIdentifier", id=_stable_id(owner, scheme), objectType=OT_EXTERNAL_IDENTIFIER,
                identificationScheme=scheme, registryObject=owner, value=value)
    _add_localized(e_el, "Name", name)


_MAPPED_DE_SLOTS = {"creationTime", "serviceStartTime", "serviceStopTime", "languageCode", "legalAuthenticator",
                    "sourcePatientId", "sourcePatientInfo", "repositoryUniqueId", "URI", REFERENCE_ID_LIST_SLOT,
                    "hash", "size"}
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
            _add_code(el, owner, raw.scheme, Code(raw.node_representation, (raw.slots.get("codingScheme") or [""])[0],
                                                  raw.name), 100 + index)
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
