"""XDS metadata for the DMP built from a CDA document's header, and the ebRIM request that carries it.

The mapping CDA → XDS is the ANS one (see `segur.mocks.dmp.cda_header`); the ebRIM shape follows IHE
ITI TF-3 §4.2 (classification schemes, external identifiers) and the ANS ITI-41 sample for the DMP
(../shared/ref/xds/): authorPerson/legalAuthenticator as XCN with the national PS id
(``8<RPPS>^NAME^Given^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS``), authorInstitution as XON
(``NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<structure id>``), patientId ``INS^^^&OID&ISO^NH``.
classCode comes from ASS_X04, formatCode from ASS_A11 (N3) or the embedded media type (N1).

`DocumentMetadata` is plain data: a test may change any field before `submit_objects_request`
writes it (that is how seeded defects are made: a wrong patientId, an unknown formatCode…).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from segur.kernel.ins import INS_OIDS, OID_IDNPS

from .. import valuesets, xds_metadata
from ..cda_header import CdaHeader, CdaPerson, cda_time_to_xds, is_clinical_document, read_cda_header
from ..ebrim import LCM, RIM

OID_IDNST = "1.2.250.1.71.4.2.2"
#: sourceId of this client when the caller gives none: a UUID-derived OID (ITU-T X.667, arc 2.25).
DEFAULT_SOURCE_ID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'https://segur-harness/dmp-client').int}"


def new_oid() -> str:
    """A fresh, globally unique OID (2.25.<UUID as integer>, ITU-T X.667), for uniqueIds."""
    return f"2.25.{uuid.uuid4().int}"


@dataclass
class Coded:
    code: str
    scheme: str
    display: str = ""


@dataclass
class AuthorMetadata:
    person: str | None  # XCN
    institutions: list[str] = field(default_factory=list)  # XON
    specialties: list[str] = field(default_factory=list)  # code^display^system
    roles: list[str] = field(default_factory=list)


@dataclass
class DocumentMetadata:
    """One XDSDocumentEntry, field by field, as it will be written."""

    entry_id: str
    unique_id: str
    patient_id: str
    source_patient_id: str
    source_patient_info: list[str]
    class_code: Coded | None
    type_code: Coded | None
    format_code: Coded | None
    confidentiality_codes: list[Coded]
    healthcare_facility_type_code: Coded | None
    practice_setting_code: Coded | None
    authors: list[AuthorMetadata]
    legal_authenticator: str | None
    creation_time: str | None
    service_start_time: str | None
    service_stop_time: str | None
    language_code: str | None
    title: str | None
    mime_type: str = "text/xml"
    hash: str | None = None
    size: int | None = None
    comments: str | None = None
    event_codes: list[Coded] = field(default_factory=list)
    reference_ids: list[str] = field(default_factory=list)


@dataclass
class SubmissionSetMetadata:
    entry_id: str
    unique_id: str
    source_id: str
    patient_id: str
    submission_time: str
    content_type_code: Coded | None
    authors: list[AuthorMetadata]
    title: str | None = None
    comments: str | None = None


# --- HL7 v2 values ----------------------------------------------------------------------------------------
def xcn(person: CdaPerson) -> str:
    """A person as XCN: national PS id, family, given, assigning authority, D, identifier type IDNPS."""
    if person.id_root == OID_IDNPS:
        return f"{person.id}^{person.family}^{person.given}^^^^^^&{OID_IDNPS}&ISO^D^^^IDNPS"
    return f"{person.id}^{person.family}^{person.given}^^^^^^&{person.id_root}&ISO^D^^^EI"


def xon(name: str, structure_id: str, oid: str = OID_IDNST) -> str:
    return f"{name}^^^^^&{oid}&ISO^IDNST^^^{structure_id}"


def cx(value: str, oid: str, type_code: str) -> str:
    return f"{value}^^^&{oid}&ISO^{type_code}"


def _coded(element) -> Coded | None:
    return Coded(element.code, element.code_system, element.display) if element is not None else None


def _author(person: CdaPerson) -> AuthorMetadata:
    institutions = []
    if person.organisation_id:
        institutions.append(xon(person.organisation_name or person.organisation_id, person.organisation_id,
                                person.organisation_id_root or OID_IDNST))
    code = person.code
    specialties = [f"{code.code}^{code.display}^{code.code_system}"] if code else []
    return AuthorMetadata(person=xcn(person), institutions=institutions, specialties=specialties)


def _format_code(header: CdaHeader) -> Coded | None:
    if header.is_n1:
        concept = valuesets.format_code_for_n1(header.n1_media_type or "application/pdf")
    else:
        candidates = valuesets.format_codes_for_templates(header.template_ids)
        dmp = valuesets.for_attribute("formatCode")
        concept = next(
            (c for c in candidates if dmp.contains(c.code, c.system)), candidates[0] if candidates else None)
    if concept is None:
        return None
    display = valuesets.for_attribute("formatCode").concept(concept.code, concept.system)
    return Coded(concept.code, concept.system, display.display if display else "")


def _class_code(header: CdaHeader) -> Coded | None:
    if header.code is None:
        return None
    concept = valuesets.class_for_type(header.code.code, header.code.code_system)
    if concept is None:
        return None
    display = valuesets.for_attribute("classCode").concept(concept.code, concept.system)
    return Coded(concept.code, concept.system, display.display if display else "")


def metadata_from_cda(document: bytes, *, entry_id: str = "Document01",
                      extra_confidentiality: list[Coded] | tuple = (),
                      practice_setting: Coded | None = None,
                      facility_type: Coded | None = None) -> DocumentMetadata:
    """The DocumentEntry of a CDA document, every field read from its header (see the module docstring).

    `extra_confidentiality` adds the DMP's masking codes (MASQUE_PS, INVISIBLE_PATIENT,
    INVISIBLE_REPRESENTANTS_LEGAUX, codingScheme 1.2.250.1.213.1.1.4.13) after the CDA's own level.
    """
    # huge_tree: the base64 PDF of an N1 is one text node, over libxml2's default 10 MB limit from a ~7 MB PDF
    # on; the document is the caller's own, and entities, DTDs and the network stay off
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    root = etree.fromstring(document, parser)
    if not is_clinical_document(root):
        raise ValueError(f"not a CDA document: root element {root.tag}")
    header = read_cda_header(root)
    ins = header.ins
    if ins is None:
        raise ValueError("the CDA has no INS in recordTarget/patientRole/id (OID "
                         + ", ".join(INS_OIDS) + ")")
    local_ids = [(r, e) for r, e in header.patient_ids if r not in INS_OIDS and e]
    source_patient_id = cx(local_ids[0][1], local_ids[0][0], "PI") if local_ids else ins.xds_patient_id()
    info = []
    if header.patient_family:
        info.append(f"PID-5|{header.patient_family}^{header.patient_given}^^^^^L")
    if header.patient_birth_time:
        info.append(f"PID-7|{header.patient_birth_time[:8]}")
    if header.patient_sex:
        info.append(f"PID-8|{header.patient_sex}")
    confidentiality = [_coded(header.confidentiality)] if header.confidentiality else []
    confidentiality += list(extra_confidentiality)
    return DocumentMetadata(
        entry_id=entry_id,
        unique_id=header.unique_id,
        patient_id=ins.xds_patient_id(),
        source_patient_id=source_patient_id,
        source_patient_info=info,
        class_code=_class_code(header),
        type_code=_coded(header.code),
        format_code=_format_code(header),
        confidentiality_codes=confidentiality,
        healthcare_facility_type_code=facility_type or _coded(header.facility_type),
        practice_setting_code=practice_setting or _coded(header.practice_setting),
        authors=[_author(a) for a in header.authors],
        legal_authenticator=xcn(header.legal_authenticator) if header.legal_authenticator else None,
        creation_time=cda_time_to_xds(header.effective_time) if header.effective_time else None,
        service_start_time=cda_time_to_xds(header.service_start) if header.service_start else None,
        service_stop_time=cda_time_to_xds(header.service_stop) if header.service_stop else None,
        language_code=header.language or None,
        title=header.title or None,
        hash=hashlib.sha1(document).hexdigest(),  # noqa: S324 - XDS hash is SHA-1 (ITI TF-3 §4.2.3.2.10)
        size=len(document),
    )


def submission_set_for(entries: list[DocumentMetadata], *, source_id: str = DEFAULT_SOURCE_ID,
                       content_type: Coded | None = None, entry_id: str = "SubmissionSet01",
                       title: str | None = None, now: datetime | None = None) -> SubmissionSetMetadata:
    """The submission set around `entries`: same patient, the first entry's author and institution.

    contentTypeCode defaults to the healthcareFacilityTypeCode (a TRE_R02-SecteurActivite code, which
    JDV_J03/J59 include); pass `content_type` for a TRE_R209 activity type (e.g. 04, hospitalisation de jour).
    """
    first = entries[0]
    now = now or datetime.now(UTC)
    facility = first.healthcare_facility_type_code
    ct = content_type or (Coded(facility.code, facility.scheme, facility.display) if facility else None)
    return SubmissionSetMetadata(
        entry_id=entry_id, unique_id=new_oid(), source_id=source_id, patient_id=first.patient_id,
        submission_time=now.astimezone(UTC).strftime("%Y%m%d%H%M%S"), content_type_code=ct,
        authors=[AuthorMetadata(person=a.person, institutions=list(a.institutions),
                                specialties=list(a.specialties)) for a in first.authors[:1]],
        title=title)


# --- ebRIM writing ----------------------------------------------------------------------------------------
def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class _Writer:
    def __init__(self):
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:03d}"

    @staticmethod
    def slot(parent, name: str, values) -> None:
        values = [v for v in values if v is not None]
        if not values:
            return
        slot = etree.SubElement(parent, _q(RIM, "Slot"), name=name)
        value_list = etree.SubElement(slot, _q(RIM, "ValueList"))
        for value in values:
            etree.SubElement(value_list, _q(RIM, "Value")).text = str(value)

    @staticmethod
    def localized(parent, child: str, text: str | None) -> None:
        if text is None:
            return
        holder = etree.SubElement(parent, _q(RIM, child))
        etree.SubElement(holder, _q(RIM, "LocalizedString"), value=text)

    def code(self, parent, owner: str, scheme: str, code: Coded | None) -> None:
        if code is None:
            return
        c = etree.SubElement(
            parent, _q(RIM, "Classification"), classificationScheme=scheme, classifiedObject=owner,
            id=self.next_id("cl"), nodeRepresentation=code.code)
        self.slot(c, "codingScheme", [code.scheme])
        self.localized(c, "Name", code.display or code.code)

    def author(self, parent, owner: str, scheme: str, author: AuthorMetadata) -> None:
        c = etree.SubElement(
            parent, _q(RIM, "Classification"), classificationScheme=scheme, classifiedObject=owner,
            id=self.next_id("cl"), nodeRepresentation="")
        self.slot(c, "authorPerson", [author.person])
        self.slot(c, "authorInstitution", author.institutions)
        self.slot(c, "authorRole", author.roles)
        self.slot(c, "authorSpecialty", author.specialties)

    def external_id(self, parent, owner: str, scheme: str, value: str | None, name: str) -> None:
        if value is None:
            return
        e = etree.SubElement(
            parent, _q(RIM, "ExternalIdentifier"), id=self.next_id("ei"), identificationScheme=scheme,
            registryObject=owner, value=value)
        self.localized(e, "Name", name)


def submit_objects_request(submission_set: SubmissionSetMetadata, entries: list[DocumentMetadata], *,
                           replaces: dict[str, str] | None = None) -> etree._Element:
    """lcm:SubmitObjectsRequest: the submission set, its entries, HasMember (and RPLC) associations.

    `replaces` maps an entry id of this submission to the entryUUID of the registered document it
    replaces (RPLC, ITI TF-3 §4.2.2.2).
    """
    w = _Writer()
    request = etree.Element(_q(LCM, "SubmitObjectsRequest"), nsmap={"lcm": LCM, "rim": RIM})
    objects = etree.SubElement(request, _q(RIM, "RegistryObjectList"))
    for entry in entries:
        eo = etree.SubElement(
            objects, _q(RIM, "ExtrinsicObject"), id=entry.entry_id, mimeType=entry.mime_type,
            objectType=xds_metadata.DOCUMENT_ENTRY_STABLE)
        w.slot(eo, "creationTime", [entry.creation_time])
        w.slot(eo, "hash", [entry.hash])
        w.slot(eo, "languageCode", [entry.language_code])
        w.slot(eo, "legalAuthenticator", [entry.legal_authenticator])
        w.slot(eo, "serviceStartTime", [entry.service_start_time])
        w.slot(eo, "serviceStopTime", [entry.service_stop_time])
        w.slot(eo, "size", [entry.size])
        w.slot(eo, "sourcePatientId", [entry.source_patient_id])
        w.slot(eo, "sourcePatientInfo", entry.source_patient_info)
        w.slot(eo, xds_metadata.REFERENCE_ID_LIST_SLOT, entry.reference_ids)
        w.localized(eo, "Name", entry.title)
        w.localized(eo, "Description", entry.comments)
        for author in entry.authors:
            w.author(eo, entry.entry_id, xds_metadata.DE_AUTHOR, author)
        w.code(eo, entry.entry_id, xds_metadata.DE_CLASS_CODE, entry.class_code)
        for code in entry.confidentiality_codes:
            w.code(eo, entry.entry_id, xds_metadata.DE_CONFIDENTIALITY_CODE, code)
        for code in entry.event_codes:
            w.code(eo, entry.entry_id, xds_metadata.DE_EVENT_CODE_LIST, code)
        w.code(eo, entry.entry_id, xds_metadata.DE_FORMAT_CODE, entry.format_code)
        w.code(
            eo, entry.entry_id, xds_metadata.DE_HEALTHCARE_FACILITY_TYPE_CODE,
            entry.healthcare_facility_type_code)
        w.code(eo, entry.entry_id, xds_metadata.DE_PRACTICE_SETTING_CODE, entry.practice_setting_code)
        w.code(eo, entry.entry_id, xds_metadata.DE_TYPE_CODE, entry.type_code)
        w.external_id(
            eo, entry.entry_id, xds_metadata.DE_PATIENT_ID, entry.patient_id, "XDSDocumentEntry.patientId")
        w.external_id(
            eo, entry.entry_id, xds_metadata.DE_UNIQUE_ID, entry.unique_id, "XDSDocumentEntry.uniqueId")

    ss = submission_set
    package = etree.SubElement(objects, _q(RIM, "RegistryPackage"), id=ss.entry_id)
    w.slot(package, "submissionTime", [ss.submission_time])
    w.localized(package, "Name", ss.title)
    w.localized(package, "Description", ss.comments)
    for author in ss.authors:
        w.author(package, ss.entry_id, xds_metadata.SS_AUTHOR, author)
    w.code(package, ss.entry_id, xds_metadata.SS_CONTENT_TYPE_CODE, ss.content_type_code)
    # The SubmissionSet node classification inside the package, as in the ANS ITI-41 sample.
    etree.SubElement(package, _q(RIM, "Classification"), classificationNode=xds_metadata.SUBMISSION_SET_NODE,
                     classifiedObject=ss.entry_id, id=w.next_id("cl"))
    w.external_id(package, ss.entry_id, xds_metadata.SS_UNIQUE_ID, ss.unique_id, "XDSSubmissionSet.uniqueId")
    w.external_id(package, ss.entry_id, xds_metadata.SS_SOURCE_ID, ss.source_id, "XDSSubmissionSet.sourceId")
    w.external_id(
        package, ss.entry_id, xds_metadata.SS_PATIENT_ID, ss.patient_id, "XDSSubmissionSet.patientId")
    for entry in entries:
        assoc = etree.SubElement(objects, _q(RIM, "Association"), id=w.next_id("as"),
                                 associationType=xds_metadata.HAS_MEMBER, sourceObject=ss.entry_id,
                                 targetObject=entry.entry_id)
        w.slot(assoc, "SubmissionSetStatus", ["Original"])
    for entry_id, old_uuid in (replaces or {}).items():
        etree.SubElement(
            objects, _q(RIM, "Association"), id=w.next_id("as"), associationType=xds_metadata.RPLC,
            sourceObject=entry_id, targetObject=old_uuid)
    return request
