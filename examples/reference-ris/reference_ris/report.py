"""Writing the report: a CDA R2 document with the INS and OID INSi returned, by the task's author.

CR-IMG in level 1 (the PDF in a base64 nonXMLBody) for the radiology couloir, CR-BIO in level 3 (with
its PDF copy section) for the lab couloir, both from `segur.fixtures.documents`, the project's builders
of documents that pass the CI-SIS packs and the Ségur rules.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import fields

from lxml import etree

from segur.fixtures.documents import build_cr_bio_n3_minimal, build_cr_img_n1
from segur.fixtures.world.model import Address, Organisation, Patient, Professional

from . import volets
from .errors import ConfigError
from .identity import Identity

HL7 = "urn:hl7-org:v3"
#: Grow the report's PDF to about this many KiB (a real N1 report's PDF is often 0.5–5 MB; the generated
#: one is a few KiB): for testing that a harness or a service handles real-sized documents. Unset or 0: as is.
PDF_KIB_VARIABLE = "REFERENCE_RIS_PDF_KIB"
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s*%%EOF\s*$")
_PADDING_LINE = b"% padding " + b"0123456789abcdef" * 4 + b"\n"


def pdf_padding_kib() -> int:
    """`REFERENCE_RIS_PDF_KIB` (see `PDF_KIB_VARIABLE`): 0 when unset."""
    value = os.environ.get(PDF_KIB_VARIABLE, "").strip()
    try:
        kib = int(value or 0)
    except ValueError:
        kib = -1
    if kib < 0:
        raise ConfigError(f"{PDF_KIB_VARIABLE} must be a number of KiB (0 or more), not {value!r}")
    return kib


def padded_pdf(pdf: bytes, kib: int) -> bytes:
    """The same PDF grown to about `kib` KiB: comment lines after its end, then its `startxref` and `%%EOF`
    again. A reader starts from the end of the file (ISO 32000-1 §7.5.5) and finds the same cross-reference
    table; comments may stand between tokens (§7.2.3). Pages, text and objects are unchanged."""
    missing = kib * 1024 - len(pdf)
    tail = pdf.rstrip()
    found = _STARTXREF.search(tail)
    if missing <= 0 or found is None:
        return pdf
    lines = missing // len(_PADDING_LINE) + 1
    return tail + b"\n" + _PADDING_LINE * lines + b"startxref\n" + found.group(1) + b"\n%%EOF\n"


def _dataclass(cls, data: dict, what: str):
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if isinstance(values.get("address"), dict):
        values["address"] = Address(**values["address"])
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"the task's author has incomplete {what} details: {exc}") from exc


def author_of(task) -> tuple[Professional, Organisation]:
    """The professional and the structure the report is written by (the task's `author`)."""
    author = task.author or {}
    if not isinstance(author.get("professional"), dict) or not isinstance(author.get("organisation"), dict):
        raise ConfigError("the task's author must carry 'professional' and 'organisation' details "
                          "(segur.scenarios.driver.author_dict)")
    return (_dataclass(Professional, author["professional"], "professional"),
            _dataclass(Organisation, author["organisation"], "organisation"))


def patient_of(identity: Identity, traits: dict) -> Patient:
    """The patient as the report names them: INSi's reference traits (TIQ) and INS."""
    return Patient(key=f"ris-{identity.ins}", birth_name=identity.birth_name,
                   first_names=identity.first_names or traits.get("first_names", ""), sex=identity.sex,
                   birth_date=identity.birth_date,
                   birth_place=identity.birth_place or traits.get("birth_place") or "",
                   nir=identity.nir, nir_key=identity.key, oid=identity.oid)


def build_report(task, identity: Identity, *, ins_oid: str | None = None, ins_value: str | None = None,
                 previous: dict | None = None, defect: str | None = None, **defects) -> bytes:
    """The CDA for the task. `previous` (`{"id", "set_id", "version"}`) makes it the next version of an
    earlier report (relatedDocument RPLC, same setId). `ins_oid`/`ins_value` and `defects` (`pdf`,
    `professional`, `document_id`, `set_id`, `version_number`, `author_time`) are for seeded defects only;
    `defect` is the product's defect the other couloirs' documents apply themselves (`volets`)."""
    professional, organisation = author_of(task)
    professional = defects.pop("professional", None) or professional
    patient = patient_of(identity, task.patient)
    options = {k: v for k, v in defects.items() if v is not None}
    if ins_oid:
        options["ins_oid"] = ins_oid
    if ins_value:
        options["ins_value"] = ins_value
    if previous:
        options.update(set_id=previous["set_id"], version_number=int(previous["version"]) + 1,
                       replaces=previous["id"])
        options.update({k: v for k, v in defects.items() if k == "set_id" and v})
    kib = pdf_padding_kib()
    if kib and "pdf" not in options:
        unpadded = _build(task, patient, professional, organisation, options, defect)
        options["pdf"] = padded_pdf(embedded_pdf(unpadded), kib)
    return _build(task, patient, professional, organisation, options, defect)


def _build(task, patient, professional, organisation, options: dict, defect: str | None = None) -> bytes:
    if volets.handles(task.kind):  # the documents of the other couloirs' reference products
        return volets.build(task.kind, patient, professional, organisation, options, defect)
    if task.kind == "CR-BIO":
        return build_cr_bio_n3_minimal(patient, professional, organisation, **options)
    conclusion = f"Compte rendu n° {task.report_no}. Pas d'anomalie décelable."
    return build_cr_img_n1(patient, professional, organisation, conclusion=conclusion, **options)


def embedded_pdf(document: bytes) -> bytes | None:
    """The PDF the CDA carries (N1 nonXMLBody, or the N3 PDF copy's observationMedia)."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    for element in root.iter(f"{{{HL7}}}text", f"{{{HL7}}}value"):
        if element.get("mediaType") == "application/pdf" and element.get("representation") == "B64":
            text = "".join((element.text or "").split())
            try:
                return base64.b64decode(text, validate=True)
            # the pdf-not-base64 defect wrote the CDA's copy URL-safe; the PDF is still ours
            except binascii.Error:
                return base64.urlsafe_b64decode(text)
    return None


def with_urlsafe_pdf(document: bytes) -> bytes:
    """Seeded defect `pdf-not-base64`: the PDF written with the URL-safe alphabet (`-`, `_`), a real bug of
    code that calls `urlsafe_b64encode`; it is not base64 as CDA's B64 representation requires."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    for element in root.iter(f"{{{HL7}}}text", f"{{{HL7}}}value"):
        if element.get("mediaType") == "application/pdf" and element.get("representation") == "B64":
            payload = base64.b64decode("".join((element.text or "").split()))
            text = base64.urlsafe_b64encode(payload).decode("ascii")
            # no '+' or '/' to differ: write hex instead
            if text == base64.b64encode(payload).decode("ascii"):
                text = payload.hex()
            element.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def document_ids(document: bytes) -> dict:
    from segur.fixtures.documents import read_ids

    ids = read_ids(document)
    return {"id": ids.id, "set_id": ids.set_id, "version": ids.version_number}
