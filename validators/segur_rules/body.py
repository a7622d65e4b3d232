"""N1 documents: a nonXMLBody carrying a complete PDF, inline in base64, and N1 templateIds."""

from __future__ import annotations

import base64
import binascii

from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document
from segur.validators.segur_rules.pdf import pdf_problem, pdfa_part

N1_TEMPLATE = "1.3.6.1.4.1.19376.1.2.20"
#: The only templateIds an N1 document may carry (CI-SIS Structuration Minimale assertion on
#: template 1.2.250.1.213.1.1.1.1: the N1 templateId replaces the volet's).
N1_TEMPLATES = frozenset({"2.16.840.1.113883.2.8.2.1", "1.2.250.1.213.1.1.1.1", N1_TEMPLATE})
PDF_MEDIA_TYPE = "application/pdf"


def check(doc: Document) -> None:
    bodies = doc.xp("cda:component/cda:nonXMLBody")
    _check_structure(doc, bodies)
    for body in bodies:
        _check_body(doc, body)


def _check_structure(doc: Document, bodies) -> None:
    roots = [t.get("root") for t in doc.xp("cda:templateId")]
    rule = R["SEGUR-BODY-005"]
    if bodies:
        if N1_TEMPLATE not in roots:
            doc.report(rule, bodies[0], problem=f"the body is a nonXMLBody but templateId {N1_TEMPLATE} (CDA R2 N1) is "
                       "missing")
        else:
            extra = [t for t in doc.xp("cda:templateId") if t.get("root") not in N1_TEMPLATES]
            if extra:
                doc.report(rule, extra[0], problem=f"templateId {extra[0].get('root')} is not allowed in an N1 "
                           f"document (only {', '.join(sorted(N1_TEMPLATES))})")
    elif N1_TEMPLATE in roots:
        template = doc.first(f"cda:templateId[@root='{N1_TEMPLATE}']")
        doc.report(rule, template, problem=f"templateId {N1_TEMPLATE} declares an N1 document but the body is not a "
                   "nonXMLBody")


def _check_body(doc: Document, body) -> None:
    text = doc.first("cda:text", body)
    rule = R["SEGUR-BODY-001"]
    if text is None:
        doc.report(rule, body, problem="nonXMLBody has no text element")
        return
    problems = []
    if doc.xp("cda:reference", text):
        problems.append("text refers to an external file (text/reference) instead of carrying the PDF")
    representation = text.get("representation", "TXT")
    if representation != "B64":
        problems.append(f"representation is '{representation}', not 'B64'")
    media_type = text.get("mediaType", "text/plain")
    if media_type != PDF_MEDIA_TYPE:
        problems.append(f"mediaType is '{media_type}', not '{PDF_MEDIA_TYPE}'")
    if problems:
        doc.report(rule, text, problem="; ".join(problems))
    if representation != "B64" or media_type != PDF_MEDIA_TYPE or doc.xp("cda:reference", text):
        return

    payload = "".join((text.text or "").split())
    if not payload:
        doc.report(R["SEGUR-BODY-002"], text, problem="the text element is empty")
        return
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        bad = next((c for c in payload if not (c.isalnum() or c in "+/=")), None)
        why = f"character {bad!r} is not in the base64 alphabet" if bad else str(exc)
        doc.report(R["SEGUR-BODY-002"], text, problem=why)
        return
    problem = pdf_problem(data)
    if problem:
        doc.report(R["SEGUR-BODY-003"], text, problem=problem)
        return
    if pdfa_part(data) is None:
        doc.report(R["SEGUR-BODY-004"], text)
