"""The XDS metadata of the DMP as plain dataclasses: what a submission, a query answer and the store
speak (no XML here: `ebrim.py` reads and writes these from and to ebRIM 3.0).

Everything comes from IHE ITI TF vol 3 §4.2 (Document Sharing metadata: §4.2.3 attributes,
§4.2.5 "Metadata UUIDs" for the classification schemes, external identifiers and object types,
§4.2.2 associations) and §4.3.1 (XDS.b optionality). Each UUID below was checked against that
table as reproduced by several public XDS implementations (NIST toolkit, IPF, dcm4chee-xds),
and against the ANS DMP ITI-41 request in ../shared/ref/xds/DRIM-M_ITI-41_KOS_DMP.xml.

The model is the contract with the rule code (`metadata_rules.py`): fields are never renamed.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import asdict, dataclass, field, fields, is_dataclass

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
    """An HL7 v2 XCN person ``id^family^given^^^^^^&oid&ISO^nametype^^^idtype`` (authorPerson,
    legalAuthenticator)."""

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
    # every ExternalIdentifier
    external_identifiers: list[RawExternalIdentifier] = field(default_factory=list)
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
    # Classifications f4f85eac… (N; MASQUE_PS…)
    confidentiality_codes: list[Code] = field(default_factory=list)
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
    # slot urn:ihe:iti:xds:2013:referenceIdList (CXi)
    reference_id_list: list[str] = field(default_factory=list)
    repository_unique_id: str | None = None  # slot repositoryUniqueId (set by the repository)
    object_type: str = DOCUMENT_ENTRY_STABLE  # ExtrinsicObject@objectType (stable / on-demand)
    uri: str | None = None  # slot URI (XDM/XDR only; kept as received)
    logical_id: str | None = None  # @lid: the first version's entryUUID (ITI-57 metadata versions)
    version: int = 1  # VersionInfo@versionName (ITI-57 metadata versions)
    home_community_id: str | None = None  # @home
    slots: dict[str, list[str]] = field(default_factory=dict)  # every slot as received (name → values)
    classifications: list[RawClassification] = field(default_factory=list)  # every Classification
    # every ExternalIdentifier
    external_identifiers: list[RawExternalIdentifier] = field(default_factory=list)
    symbolic_id: str | None = None  # the id used in the request when the registry replaced it by a UUID


@dataclass
class Association:
    """An ebRIM Association (ITI TF vol 3 §4.2.2): HasMember, RPLC, APND, XFRM, XFRM_RPLC, signs…"""

    entry_uuid: str  # Association@id
    type: str  # associationType, full URN (see ASSOCIATION_TYPES)
    source: str  # sourceObject (an id of this submission or a registered entryUUID)
    target: str  # targetObject
    # slot SubmissionSetStatus (Original / Reference), HasMember only
    submission_set_status: str | None = None
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
        sets = [self.submission_set] if self.submission_set else []
        objects = sets + self.document_entries + self.associations
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


#: The DocumentEntry attributes holding one code.
SINGLE_CODES = ("class_code", "type_code", "format_code", "healthcare_facility_type_code",
                "practice_setting_code")


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
    for key in SINGLE_CODES:
        data[key] = _code(data.get(key))
    data["confidentiality_codes"] = _codes(data.get("confidentiality_codes"))
    data["event_codes"] = _codes(data.get("event_codes"))
    data["authors"] = [Author(**a) for a in data.get("authors", [])]
    data["classifications"] = [RawClassification(**c) for c in data.get("classifications", [])]
    data["external_identifiers"] = [RawExternalIdentifier(**e) for e in data.get("external_identifiers", [])]
    return DocumentEntry(**data)


def plain(value):
    """`dataclasses.asdict` of a metadata object (the same dicts, lists and values), ~4 times faster: the
    store writes three of them per submission as JSON, and asdict's generic recursion (a deep copy of
    every leaf, a dataclass test per value) cost ~0.3 ms of a server's CPU per ITI-41. Values of other
    types than the model's (str, int, float, bool, None, lists, tuples, dicts, dataclasses) are deep-copied,
    as asdict does."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(kind):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is list:
        return [plain(item) for item in value]
    if kind is dict:
        return {plain(key): plain(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(plain(item) for item in value)
    if isinstance(value, list | tuple | dict):  # a subclass (namedtuple, defaultdict…): asdict's own way
        return asdict(_Box(value))["value"]
    return copy.deepcopy(value)


@dataclass
class _Box:
    value: object


_LEAVES = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
