"""Read the few CDA header fields an MSSanté message is checked against, without trusting the bytes.

What is read and why (CI-SIS "Volet Structuration Minimale", header):
- ``ClinicalDocument/id`` → the XDS ``uniqueId`` (``root^extension``, or ``root`` alone);
- ``ClinicalDocument/code`` → ``X-MSS-CODECDA`` (REM SC.MSS/CONF.15) and the XDS ``typeCode``;
- ``recordTarget/patientRole/id`` with an INS OID → the INS (``X-MSS-INS``, ``patientId``);
- birth name (``family qualifier="BR"``), first birth given name (``given qualifier="BR"``, else the
  first word of the first ``given``), ``birthTime``, ``administrativeGenderCode``: with the INS these
  make a *qualified* INS in the sense of REM SC.MSS/CONF.14 (INS + OID + the 4 traits).
Parsing is the validator's own safe parser (validators/safe_xml): no DTD, no entity, no network.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass, field

from lxml import etree

from segur.kernel.ins import INS_OIDS
from segur.validators import safe_xml
from segur.validators.body_text import ascii_text, decode_base64, read_from_source

HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}
MAX_XML_BYTES = 50 * 1024 * 1024


class NotXml(ValueError):
    """The bytes are not a well-formed, DTD-free XML document."""


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML with the validator's safe parser (`segur.validators.safe_xml`): the
    50 MB limit, no DTD, no entities, no network, a depth limit of 256 levels, and large text nodes
    accepted (a CR-IMG N1 carrying an 8 MB PDF is one 11 MB base64 text node, over libxml2's default
    10 MB). Comments are dropped, so an element's text is never split by one."""
    try:
        parsed = safe_xml.parse(data, max_size=MAX_XML_BYTES)
    except safe_xml.UnreadableDocument as exc:
        raise NotXml(_refusal(exc)) from None
    read_from_source(data, parsed.tree)  # the N1 body's text sliced from `data` when it can be (body_text)
    root = parsed.tree.getroot()
    etree.strip_tags(root, etree.Comment)
    return root


def _refusal(exc: safe_xml.UnreadableDocument) -> str:
    """The safe parser's reason, with its rule id (XML-00n) and line, on one short line."""
    finding = exc.findings[0] if exc.findings else None
    if finding is None:
        return "unreadable XML"
    where = f" (line {finding.line})" if finding.line else ""
    return f"{finding.rule}: {finding.message}{where}"[:300]


@dataclass
class CdaHeader:
    """The header fields of one CDA document that MSSanté checks use."""

    id_root: str | None = None
    id_extension: str | None = None
    code: str | None = None
    code_system: str | None = None
    code_display: str | None = None
    title: str | None = None
    effective_time: str | None = None
    confidentiality: str | None = None
    language: str | None = None
    ins: str | None = None
    ins_oid: str | None = None
    other_patient_ids: list[tuple[str, str]] = field(default_factory=list)
    birth_name: str | None = None
    first_given: str | None = None
    birth_time: str | None = None
    sex: str | None = None
    level: int = 3
    template_ids: list[str] = field(default_factory=list)  # ClinicalDocument/templateId/@root: the formatCode
    n1_media_type: str | None = None  # CDA N1: nonXMLBody/text/@mediaType
    # the base64 text of the PDF the document carries (bytes when ASCII): the N1 body (nonXMLBody/text)
    # or, in an N3, each observationMedia/value of type application/pdf (the CI-SIS "PDF copy" section)
    pdf_texts: list[bytes | str] = field(default_factory=list, repr=False)

    @functools.cached_property
    def embedded_pdf(self) -> bytes | None:
        """The PDF the document carries, decoded on first use: the first of `pdf_texts` that decodes."""
        return next(filter(None, map(_decode_pdf, self.pdf_texts)), None)

    @property
    def unique_id(self) -> str | None:
        if not self.id_root:
            return None
        return f"{self.id_root}^{self.id_extension}" if self.id_extension else self.id_root

    @property
    def patient_id(self) -> str | None:
        """The INS as XDS writes it: ``INS^^^&OID&ISO^NH``."""
        return f"{self.ins}^^^&{self.ins_oid}&ISO^NH" if self.ins and self.ins_oid else None

    @property
    def qualified_ins(self) -> bool:
        """INS with its OID and the 4 reference traits (REM SC.MSS/CONF.14)."""
        return bool(self.ins and self.ins_oid and self.birth_name and self.first_given and self.birth_time
                    and self.sex)

    def to_dict(self) -> dict:
        return {
            "unique_id": self.unique_id, "code": self.code, "code_system": self.code_system,
            "code_display": self.code_display, "title": self.title, "effective_time": self.effective_time,
            "ins": self.ins, "ins_oid": self.ins_oid, "birth_name": self.birth_name,
            "first_given": self.first_given, "birth_time": self.birth_time, "sex": self.sex,
            "qualified_ins": self.qualified_ins, "level": self.level, "n1_media_type": self.n1_media_type,
        }


def _text(element) -> str | None:
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())
    return text or None


def read_cda_header(data: bytes) -> CdaHeader:
    """Read the header of a CDA document; raises `NotXml` when the bytes are not a CDA document."""
    root = parse_xml(data)
    if root.tag != f"{{{HL7}}}ClinicalDocument":
        raise NotXml(f"the root element is {root.tag!r}, not {{urn:hl7-org:v3}}ClinicalDocument")
    header = CdaHeader()
    ident = root.find("h:id", NS)
    if ident is not None:
        header.id_root, header.id_extension = ident.get("root"), ident.get("extension")
    code = root.find("h:code", NS)
    if code is not None:
        header.code, header.code_system = code.get("code"), code.get("codeSystem")
        header.code_display = code.get("displayName")
    header.title = _text(root.find("h:title", NS))
    effective = root.find("h:effectiveTime", NS)
    header.effective_time = effective.get("value") if effective is not None else None
    conf = root.find("h:confidentialityCode", NS)
    header.confidentiality = conf.get("code") if conf is not None else None
    lang = root.find("h:languageCode", NS)
    header.language = lang.get("code") if lang is not None else None
    role = root.find("h:recordTarget/h:patientRole", NS)
    if role is not None:
        for pid in role.findall("h:id", NS):
            oid, value = pid.get("root"), pid.get("extension")
            if oid in INS_OIDS and value and header.ins is None:
                header.ins, header.ins_oid = value.strip(), oid
            elif oid and value:
                header.other_patient_ids.append((oid, value))
        patient = role.find("h:patient", NS)
        if patient is not None:
            _read_identity(patient, header)
    header.template_ids = [t.get("root", "") for t in root.findall("h:templateId", NS)]
    body = root.find("h:component/h:nonXMLBody", NS)
    header.level = 1 if body is not None else 3
    if body is not None:
        text = body.find("h:text", NS)
        header.n1_media_type = text.get("mediaType") if text is not None else None
        header.pdf_texts = [found for found in [_pdf_text(text)] if found is not None]
    else:
        header.pdf_texts = [found for found in map(_pdf_text, root.iterfind(
            "h:component/h:structuredBody//h:observationMedia/h:value", NS)) if found is not None]
    return header


def _pdf_of(element) -> bytes | None:
    """The PDF an element carries as ``mediaType="application/pdf" representation="B64"``, decoded."""
    text = _pdf_text(element)
    return None if text is None else _decode_pdf(text)


def _pdf_text(element) -> bytes | str | None:
    """The base64 text of the PDF an element carries as ``mediaType="application/pdf"
    representation="B64"``: ASCII bytes (the usual body, read without splitting the megabyte string),
    else the element's text; None when the element carries no such PDF."""
    if element is None or (element.get("mediaType") or "").lower() != "application/pdf" \
            or (element.get("representation") or "").upper() != "B64":
        return None
    encoded = ascii_text(element)
    return encoded if encoded is not None else element.text or ""


def _decode_pdf(text: bytes | str) -> bytes | None:
    """The strict base64 decoding of `text`, whitespace removed; None when it does not decode or is empty."""
    if isinstance(text, bytes):
        return decode_base64(text) or None
    try:
        return base64.b64decode("".join(text.split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _read_identity(patient, header: CdaHeader) -> None:
    name = patient.find("h:name", NS)
    if name is not None:
        families = name.findall("h:family", NS)
        birth = next((f for f in families if f.get("qualifier") == "BR"), None)
        header.birth_name = _text(birth if birth is not None else (families[0] if families else None))
        givens = name.findall("h:given", NS)
        first_birth = next((g for g in givens if g.get("qualifier") == "BR"), None)
        if first_birth is not None:
            header.first_given = _text(first_birth)
        elif givens and _text(givens[0]):
            header.first_given = _text(givens[0]).split(" ")[0]
    birth_time = patient.find("h:birthTime", NS)
    header.birth_time = birth_time.get("value") if birth_time is not None else None
    gender = patient.find("h:administrativeGenderCode", NS)
    header.sex = gender.get("code") if gender is not None else None
