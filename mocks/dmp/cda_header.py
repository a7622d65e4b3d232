"""What the XDS metadata of a CDA document is derived from: its header, read once.

Shared by the mock's consistency rules (metadata_rules.py) and the client's metadata builder
(client/metadata.py), so both read the CDA the same way. The mapping CDA → XDS is the ANS one
("Mapping XDS", ansforge/IG-hl7v2-volet-transmission-document-cda-r2; CI-SIS Volet Partage de
Documents de Santé): typeCode = code, uniqueId = id (root, or root^extension), creationTime =
effectiveTime, confidentialityCode = confidentialityCode, languageCode, legalAuthenticator =
legalAuthenticator/assignedEntity, authorPerson = author/assignedAuthor, healthcareFacilityTypeCode =
componentOf/encompassingEncounter/location/healthCareFacility/code, practiceSettingCode =
documentationOf/serviceEvent/performer/assignedEntity/representedOrganization/standardIndustryClassCode,
serviceStart/StopTime = documentationOf/serviceEvent/effectiveTime/low|high, formatCode from the
templateIds (ASS_A11) or, for a CDA N1, from the embedded media type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO

from lxml import etree

from segur.kernel.ins import INS_OIDS, Ins

HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}


@dataclass(frozen=True)
class CodedElement:
    code: str
    code_system: str
    display: str = ""


@dataclass(frozen=True)
class CdaPerson:
    """An author, a legal authenticator or a performer: id, name, specialty, organisation."""

    id_root: str
    id_extension: str
    family: str = ""
    given: str = ""
    prefix: str = ""
    code: CodedElement | None = None  # assignedAuthor/code: the specialty (JDV_J01 XdsAuthorSpecialty)
    organisation_id_root: str = ""
    organisation_id: str = ""
    organisation_name: str = ""
    practice_setting: CodedElement | None = None  # representedOrganization/standardIndustryClassCode
    is_device: bool = False

    @property
    def id(self) -> str:
        return self.id_extension or self.id_root


@dataclass
class CdaHeader:
    template_ids: list[str] = field(default_factory=list)
    id_root: str = ""
    id_extension: str = ""
    code: CodedElement | None = None
    title: str = ""
    effective_time: str = ""
    confidentiality: CodedElement | None = None
    language: str = ""
    set_id: str = ""
    version_number: str = ""
    patient_ids: list[tuple[str, str]] = field(default_factory=list)  # (root, extension)
    patient_family: str = ""
    patient_given: str = ""
    patient_sex: str = ""
    patient_birth_time: str = ""
    patient_families: list[str] = field(default_factory=list)  # every family of every name (BR, SP, …)
    patient_givens: list[str] = field(default_factory=list)  # every given of every name
    authors: list[CdaPerson] = field(default_factory=list)
    legal_authenticator: CdaPerson | None = None
    performers: list[CdaPerson] = field(default_factory=list)
    service_start: str = ""
    service_stop: str = ""
    facility_type: CodedElement | None = None
    is_n1: bool = False
    n1_media_type: str = ""
    replaces: tuple[str, str] | None = None  # relatedDocument[@typeCode=RPLC]/parentDocument/id

    @property
    def unique_id(self) -> str:
        """The XDS uniqueId of this document: id root, or root^extension when the id has an extension."""
        return f"{self.id_root}^{self.id_extension}" if self.id_extension else self.id_root

    @property
    def ins(self) -> Ins | None:
        """The patient's INS: the first recordTarget/patientRole/id under an INS OID."""
        for root, extension in self.patient_ids:
            if root in INS_OIDS and extension:
                return Ins(extension, root)
        return None

    @property
    def practice_setting(self) -> CodedElement | None:
        for person in self.performers + self.authors:
            if person.practice_setting is not None:
                return person.practice_setting
        return None


def _coded(element: etree._Element | None) -> CodedElement | None:
    if element is None or not element.get("code"):
        return None
    return CodedElement(
        element.get("code", ""), element.get("codeSystem", ""), element.get("displayName", ""))


def _text(element: etree._Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _person(holder: etree._Element | None, assigned: str) -> CdaPerson | None:
    if holder is None:
        return None
    entity = holder.find(f"h:{assigned}", NS)
    if entity is None:
        return None
    ident = entity.find("h:id", NS)
    person = entity.find("h:assignedPerson/h:name", NS)
    org = entity.find("h:representedOrganization", NS)
    org_id = org.find("h:id", NS) if org is not None else None
    return CdaPerson(
        id_root=ident.get("root", "") if ident is not None else "",
        id_extension=ident.get("extension", "") if ident is not None else "",
        family=_text(person.find("h:family", NS)) if person is not None else "",
        given=_text(person.find("h:given", NS)) if person is not None else "",
        prefix=_text(person.find("h:prefix", NS)) if person is not None else "",
        code=_coded(entity.find("h:code", NS)),
        organisation_id_root=org_id.get("root", "") if org_id is not None else "",
        organisation_id=org_id.get("extension", "") if org_id is not None else "",
        organisation_name=_text(org.find("h:name", NS)) if org is not None else "",
        practice_setting=_coded(org.find("h:standardIndustryClassCode", NS)) if org is not None else None,
        is_device=entity.find("h:assignedAuthoringDevice", NS) is not None,
    )


def is_clinical_document(root: etree._Element) -> bool:
    return isinstance(root.tag, str) and root.tag == f"{{{HL7}}}ClinicalDocument"


def cda_set_id(data: bytes) -> str | None:
    """The CDA setId (root, or root^extension) of a document; None when it is not a readable CDA or has
    none."""
    try:
        root = read_header_root(data)
    except HeaderUnreadable:
        return None
    element = root.find("h:setId", NS) if is_clinical_document(root) else None
    if element is None or not element.get("root"):
        return None
    extension = element.get("extension")
    return f"{element.get('root')}^{extension}" if extension else element.get("root")


def read_cda_header(root: etree._Element) -> CdaHeader:
    """Read the header fields the XDS metadata come from (the root must be a ClinicalDocument)."""
    header = CdaHeader()
    header.template_ids = [t.get("root", "") for t in root.findall("h:templateId", NS)]
    ident = root.find("h:id", NS)
    if ident is not None:
        header.id_root, header.id_extension = ident.get("root", ""), ident.get("extension", "")
    header.code = _coded(root.find("h:code", NS))
    header.title = _text(root.find("h:title", NS))
    effective = root.find("h:effectiveTime", NS)
    header.effective_time = effective.get("value", "") if effective is not None else ""
    header.confidentiality = _coded(root.find("h:confidentialityCode", NS))
    language = root.find("h:languageCode", NS)
    header.language = language.get("code", "") if language is not None else ""
    set_id = root.find("h:setId", NS)
    header.set_id = set_id.get("root", "") if set_id is not None else ""
    version = root.find("h:versionNumber", NS)
    header.version_number = version.get("value", "") if version is not None else ""
    role = root.find("h:recordTarget/h:patientRole", NS)
    if role is not None:
        header.patient_ids = [(i.get("root", ""), i.get("extension", "")) for i in role.findall("h:id", NS)]
        patient = role.find("h:patient", NS)
        if patient is not None:
            name = patient.find("h:name", NS)
            if name is not None:
                family = name.find("h:family[@qualifier='BR']", NS)
                family = family if family is not None else name.find("h:family", NS)
                given = name.find("h:given[@qualifier='BR']", NS)
                given = given if given is not None else name.find("h:given", NS)
                header.patient_family, header.patient_given = _text(family), _text(given)
            for each in patient.findall("h:name", NS):
                header.patient_families += [_text(e) for e in each.findall("h:family", NS) if _text(e)]
                header.patient_givens += [_text(e) for e in each.findall("h:given", NS) if _text(e)]
            gender = patient.find("h:administrativeGenderCode", NS)
            header.patient_sex = gender.get("code", "") if gender is not None else ""
            birth = patient.find("h:birthTime", NS)
            header.patient_birth_time = birth.get("value", "") if birth is not None else ""
    header.authors = [p for p in (_person(a, "assignedAuthor") for a in root.findall("h:author", NS)) if p]
    header.legal_authenticator = _person(root.find("h:legalAuthenticator", NS), "assignedEntity")
    for event in root.findall("h:documentationOf/h:serviceEvent", NS):
        if not header.service_start:
            low = event.find("h:effectiveTime/h:low", NS)
            high = event.find("h:effectiveTime/h:high", NS)
            header.service_start = low.get("value", "") if low is not None else ""
            header.service_stop = high.get("value", "") if high is not None else ""
        performers = (_person(x, "assignedEntity") for x in event.findall("h:performer", NS))
        header.performers += [p for p in performers if p]
    header.facility_type = _coded(root.find(
        "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code", NS))
    non_xml = root.find("h:component/h:nonXMLBody", NS)
    header.is_n1 = non_xml is not None
    if non_xml is not None:
        text = non_xml.find("h:text", NS)
        header.n1_media_type = text.get("mediaType", "") if text is not None else ""
    parent = root.find("h:relatedDocument[@typeCode='RPLC']/h:parentDocument/h:id", NS)
    if parent is not None:
        header.replaces = (parent.get("root", ""), parent.get("extension", ""))
    return header


_TS = re.compile(r"^(?P<digits>\d{4,14})(?:\.\d{1,4})?(?P<offset>[+-]\d{4})?$")


def cda_time_to_xds(value: str) -> str | None:
    """An HL7 TS (YYYYMMDD[HHMM[SS]][.f][±ZZZZ]) as an XDS DTM in UTC, keeping the precision.

    XDS times are UTC (ITI TF-3 §4.2.3.1.7); a CDA time with an offset is converted, a time without one
    (or a date) is taken as written. None when `value` is not a TS.
    """
    match = _TS.match(value.strip()) if value else None
    if not match:
        return None
    digits, offset = match["digits"], match["offset"]
    if len(digits) not in (4, 6, 8, 10, 12, 14):
        return None
    if offset is None or len(digits) <= 8:
        return digits
    padded = digits.ljust(14, "0")
    try:
        local = datetime.strptime(padded, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    sign = 1 if offset[0] == "+" else -1
    tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    utc = local.replace(tzinfo=tz).astimezone(UTC)
    return utc.strftime("%Y%m%d%H%M%S")[: len(digits)]


class HeaderUnreadable(ValueError):
    """The document's header could not be read safely (malformed XML, or a DTD/entity declaration)."""


_PROLOG_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def read_header_root(data: bytes) -> etree._Element:
    """Parse only the CDA header (up to the body's first element), for speed on large N1 documents.

    The body of a CDA N1 is a base64 file of up to several MB; the metadata rules need the header and
    the nonXMLBody media type only. Stops at the start of `nonXMLBody/text` or `structuredBody`. Never
    loads a DTD, resolves an entity or touches the network; a DOCTYPE is refused outright (a CDA has none).
    Whole-document well-formedness is the validator's job (it parses everything, safely).
    """
    first_element = re.search(rb"<[A-Za-z_]", data[:65536])
    head = data[: first_element.start()] if first_element else data[:65536]
    if _PROLOG_DECLARATION.search(head):
        raise HeaderUnreadable("the document carries a DOCTYPE or entity declaration")

    context = etree.iterparse(BytesIO(data), events=("start",), resolve_entities=False, no_network=True,
                              load_dtd=False, huge_tree=False, remove_comments=True)
    root = None
    body_text = f"{{{HL7}}}text"
    try:
        for _event, element in context:
            if root is None:
                root = element
                if not is_clinical_document(root):
                    break
                continue
            parent = element.getparent()
            if element.tag == f"{{{HL7}}}structuredBody" or (
                    element.tag == body_text and parent is not None and parent.tag == f"{{{HL7}}}nonXMLBody"):
                break
    except etree.XMLSyntaxError as exc:
        raise HeaderUnreadable(str(exc)) from None
    if root is None:
        raise HeaderUnreadable("no root element")
    return root
