"""Authors and the legal authenticator are identified by their national id (IDNPS).

IDNPS (idNat_PS, OID 1.2.250.1.71.4.2.1) is a one-character prefix telling which register the
rest comes from (CI-SIS "Annexe transverse - Source des données métier pour les professionnels
et les structures"; restated in ansforge/IG-FHIR-PDSM4DMP-EEDS, input/fsh/Model/PSIdNat.fsh):
  0 + ADELI number                         8 + RPPS number
  1 + cabinet ADELI id / local id          3 + FINESS / local id
  4 + SIREN / local id                     5 + SIRET / local id
  6 + cabinet RPPS id (RPPS-rang) / local id
"""

from __future__ import annotations

import re

from segur.kernel import ins
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document, T

_LOCAL = r"/[^\s/][^\s]*"
IDNPS_SHAPES: dict[str, tuple[re.Pattern, T]] = {
    "8": (re.compile(r"8\d{11}"),
          T("8 followed by the 11-digit RPPS number", "8 suivi des 11 chiffres du RPPS")),
    "0": (re.compile(r"0(?:\d{2}|2[AB])\d{7}"),
          T("0 followed by the 9-character ADELI number", "0 suivi des 9 caractères du numéro ADELI")),
    "1": (re.compile(r"1(?:\d{2}|2[AB])\d{7}" + _LOCAL),
          T("1 followed by the 9-character cabinet ADELI id, '/' and a local id",
            "1 suivi des 9 caractères de l'identifiant cabinet ADELI, de '/' et d'un identifiant local")),
    "3": (re.compile(r"3(?:\d{2}|2[AB])\d{7}" + _LOCAL),
          T("3 followed by the 9-character FINESS number, '/' and a local id",
            "3 suivi des 9 caractères du FINESS, de '/' et d'un identifiant local")),
    "4": (re.compile(r"4\d{9}" + _LOCAL),
          T("4 followed by the 9-digit SIREN number, '/' and a local id",
            "4 suivi des 9 chiffres du SIREN, de '/' et d'un identifiant local")),
    "5": (re.compile(r"5\d{14}" + _LOCAL),
          T("5 followed by the 14-digit SIRET number, '/' and a local id",
            "5 suivi des 14 chiffres du SIRET, de '/' et d'un identifiant local")),
    "6": (re.compile(r"6\d{11,}" + _LOCAL),
          T("6 followed by the cabinet RPPS id, '/' and a local id",
            "6 suivi de l'identifiant cabinet RPPS, de '/' et d'un identifiant local")),
}


def idnps_problem(value: str) -> T | None:
    """Why `value` is not a well-formed IDNPS, or None."""
    if not value:
        return T("it is empty", "il est vide")
    if any(c.isspace() for c in value):
        return T("it contains spaces", "il contient des espaces")
    shape = IDNPS_SHAPES.get(value[0])
    if shape is None:
        return T(f"its first character '{value[0]}' is not an IDNPS prefix "
                 "(0 ADELI, 8 RPPS, 1/3/4/5/6 + structure id + '/' + local id)",
                 f"son premier caractère '{value[0]}' n'est pas un préfixe d'IDNPS "
                 "(0 ADELI, 8 RPPS, 1/3/4/5/6 + identifiant de structure + '/' + identifiant local)")
    pattern, expected = shape
    if not pattern.fullmatch(value):
        return T(f"expected {expected.en}", f"attendu : {expected.fr}")
    return None


#: Document codes of the reports of the Ségur flows this harness targets (CR d'imagerie, CR de
#: biologie): their authors and legal authenticator are the radiologist or biologist, a
#: professional. Other documents may be authored or endorsed by the patient/usager (ANS IG
#: document core, CDA header: author "Professionnel, patient/usager ou système", legalAuthenticator
#: "Professionnel ou patient/usager ou système responsable du document").
LOINC = "2.16.840.1.113883.6.1"
PROFESSIONAL_REPORT_CODES = frozenset({("18748-4", LOINC), ("11502-2", LOINC)})


def _identified(doc: Document, entity, professional_report: bool) -> bool:
    """An IDNPS id, or, outside the professional reports, an INS (the patient/usager)."""
    if doc.xp(f"cda:id[@root='{ins.OID_IDNPS}']", entity):
        return True
    return not professional_report and any(el.get("root") in ins.INS_OIDS for el in doc.xp("cda:id", entity))


def check(doc: Document) -> None:
    code = doc.first("cda:code")
    coded = (code.get("code"), code.get("codeSystem")) if code is not None else None
    professional_report = coded in PROFESSIONAL_REPORT_CODES
    for author in doc.xp("cda:author/cda:assignedAuthor"):
        if not _identified(doc, author, professional_report):
            doc.report(R["SEGUR-PS-001"], author)
    for entity in doc.xp("cda:legalAuthenticator/cda:assignedEntity"):
        if not _identified(doc, entity, professional_report):
            doc.report(R["SEGUR-PS-002"], entity)
    paths = ("cda:author/cda:assignedAuthor/cda:id", "cda:legalAuthenticator/cda:assignedEntity/cda:id",
             "cda:authenticator/cda:assignedEntity/cda:id")
    for path in paths:
        for element in doc.xp(f"{path}[@root='{ins.OID_IDNPS}']"):
            if element.get("nullFlavor"):
                continue
            value = element.get("extension") or ""
            problem = idnps_problem(value)
            if problem:
                doc.report(R["SEGUR-PS-003"], element, value=value, problem=problem)
