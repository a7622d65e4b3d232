"""N1 documents: a nonXMLBody carrying a complete PDF, inline in base64, and N1 templateIds.

The PDFs an N3 document embeds (``observationMedia/value`` with ``mediaType="application/pdf"``,
e.g. the FR-Document-PDF-copie section the CR-BIO volet requires) get the same content checks
(base64, a complete PDF, no encryption or active content); PDF/A is only asked of the N1 body.
"""

from __future__ import annotations

import base64
import binascii

from segur.validators.body_text import ascii_text, decode_base64
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document, T, join
from segur.validators.segur_rules.pdf import active_content, pdf_problem, pdfa_part

N1_TEMPLATE = "1.3.6.1.4.1.19376.1.2.20"
#: The only templateIds an N1 document may carry (CI-SIS Structuration Minimale assertion on
#: template 1.2.250.1.213.1.1.1.1: the N1 templateId replaces the volet's).
N1_TEMPLATES = frozenset({"2.16.840.1.113883.2.8.2.1", "1.2.250.1.213.1.1.1.1", N1_TEMPLATE})
PDF_MEDIA_TYPE = "application/pdf"


N1_BODY = T("N1 body", "corps N1")
EMBEDDED_PDF = T("PDF embedded in observationMedia", "PDF intégré dans observationMedia")


def check(doc: Document) -> None:
    bodies = doc.xp("cda:component/cda:nonXMLBody")
    _check_structure(doc, bodies)
    for body in bodies:
        _check_body(doc, body)
    for value in doc.xp("cda:component/cda:structuredBody//cda:observationMedia/cda:value"
                        f"[@mediaType='{PDF_MEDIA_TYPE}'][@representation='B64']"):
        data = _decode(doc, value, EMBEDDED_PDF)
        if data is not None:
            _check_pdf(doc, value, data, EMBEDDED_PDF, pdfa=False)


def _check_structure(doc: Document, bodies) -> None:
    roots = [t.get("root") for t in doc.xp("cda:templateId")]
    rule = R["SEGUR-BODY-005"]
    if bodies:
        if N1_TEMPLATE not in roots:
            doc.report(rule, bodies[0], problem=T(
                f"the body is a nonXMLBody but templateId {N1_TEMPLATE} (CDA R2 N1) is missing",
                f"le corps est un nonXMLBody mais le templateId {N1_TEMPLATE} (CDA R2 N1) est absent"))
        else:
            extra = [t for t in doc.xp("cda:templateId") if t.get("root") not in N1_TEMPLATES]
            if extra:
                allowed = ", ".join(sorted(N1_TEMPLATES))
                doc.report(rule, extra[0], problem=T(
                    f"templateId {extra[0].get('root')} is not allowed in an N1 document (only {allowed})",
                    f"le templateId {extra[0].get('root')} n'est pas admis dans un document N1 "
                    f"(seulement {allowed})"))
    elif N1_TEMPLATE in roots:
        template = doc.first(f"cda:templateId[@root='{N1_TEMPLATE}']")
        doc.report(rule, template, problem=T(
            f"templateId {N1_TEMPLATE} declares an N1 document but the body is not a nonXMLBody",
            f"le templateId {N1_TEMPLATE} déclare un document N1 mais le corps n'est pas un nonXMLBody"))


def _check_body(doc: Document, body) -> None:
    text = doc.first("cda:text", body)
    rule = R["SEGUR-BODY-001"]
    if text is None:
        no_text = T("nonXMLBody has no text element", "nonXMLBody n'a pas d'élément text")
        doc.report(rule, body, problem=no_text)
        return
    problems = []
    if doc.xp("cda:reference", text):
        problems.append(T("text refers to an external file (text/reference) instead of carrying the PDF",
                          "text renvoie à un fichier externe (text/reference) au lieu de porter le PDF"))
    representation = text.get("representation", "TXT")
    if representation != "B64":
        problems.append(T(f"representation is '{representation}', not 'B64'",
                          f"representation vaut '{representation}' et non 'B64'"))
    media_type = text.get("mediaType", "text/plain")
    if media_type != PDF_MEDIA_TYPE:
        problems.append(T(f"mediaType is '{media_type}', not '{PDF_MEDIA_TYPE}'",
                          f"mediaType vaut '{media_type}' et non '{PDF_MEDIA_TYPE}'"))
    if problems:
        doc.report(rule, text, problem=join(problems))
    if representation != "B64" or media_type != PDF_MEDIA_TYPE or doc.xp("cda:reference", text):
        return
    data = _decode(doc, text, N1_BODY)
    if data is not None:
        _check_pdf(doc, text, data, N1_BODY, pdfa=True)


def _decode(doc: Document, element, where: T) -> bytes | None:
    """The bytes of a base64 element, or None after reporting why they cannot be read."""
    encoded = ascii_text(element)  # read once, shared with the Schematron layer's placeholder
    data = decode_base64(encoded) if encoded is not None else None
    if data is not None:
        return data
    text = element.text or ""  # lxml builds a new string on every .text: read it once
    payload = "".join(text.split())
    if not payload:
        doc.report(R["SEGUR-BODY-002"], element, where=where,
                   problem=T(f"the {element.tag.rpartition('}')[2]} element is empty",
                             f"l'élément {element.tag.rpartition('}')[2]} est vide"))
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        bad = next((c for c in payload if not (c.isascii() and (c.isalnum() or c in "+/="))), None)
        if bad:
            why = T(f"character {bad!r} is not in the base64 alphabet",
                    f"le caractère {bad!r} n'appartient pas à l'alphabet base64")
        else:
            why = T(f"incorrect padding or length ({exc})", f"remplissage ou longueur incorrects ({exc})")
        doc.report(R["SEGUR-BODY-002"], element, where=where, problem=why)
        return None


def _check_pdf(doc: Document, element, data: bytes, where: T, *, pdfa: bool) -> None:
    problem = pdf_problem(data)
    if problem:
        doc.report(R["SEGUR-BODY-003"], element, where=where, problem=problem)
        return
    if pdfa and pdfa_part(data) is None:
        doc.report(R["SEGUR-BODY-004"], element)
    found = active_content(data)
    if found:
        doc.report(R["SEGUR-BODY-006"], element, where=where, content=", ".join(f"/{name}" for name in found))
