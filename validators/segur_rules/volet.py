"""Volet detection: an N3 document whose code names a Ségur volet declares that volet's templateId.

Tools route a CDA document to its volet by the document-level templateId (the DMP, the ANS test
platform, profile ``auto`` of this validator for most volets). A CR d'imagerie or CR de biologie
that carries the code 18748-4 or 11502-2 but not the templateId 1.2.250.1.213.1.1.1.45 or
1.2.250.1.213.1.1.1.55 escapes its volet's checks there. N1 documents are not concerned: their
N1 templateId 1.3.6.1.4.1.19376.1.2.20 replaces the volet's (SEGUR-BODY-005 checks it).
"""

from __future__ import annotations

from segur.validators.profiles import LOINC, SEGUR_VOLET_BY_CODE, VOLETS
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document

_VOLET_TEMPLATES = frozenset(template for template, _codes in VOLETS.values())


def check(doc: Document) -> None:
    code_el = doc.first("cda:code")
    structured = doc.first("cda:component/cda:structuredBody") is not None
    if code_el is None or code_el.get("codeSystem") != LOINC or not structured:
        return
    family = SEGUR_VOLET_BY_CODE.get(code_el.get("code", ""))
    if family is None:
        return
    declared = {template.get("root") for template in doc.xp("cda:templateId")}
    if declared & _VOLET_TEMPLATES:
        return  # a volet is declared: SEGUR-CODE-002 judges whether the code fits it
    doc.report(R["SEGUR-VOLET-001"], code_el, code=code_el.get("code"), volet=family,
               template_id=VOLETS[family][0])
