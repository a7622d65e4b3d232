"""CR-BIO result codes: each result observation is coded in LOINC, with a LOINC code that exists.

Checked without the pack: the code system, the shape ``<digits>-<check digit>`` and the mod-10
check digit (LOINC Users' Guide, appendix C,
https://loinc.org/kb/users-guide/calculating-mod-10-check-digits/).
Checked without the pack: the code is not a document type code (the LOINC codes of the XDS typeCode value
set JDV_J07_XdsTypeCode_CISIS, shipped in validators/data): 18748-4 "CR d'imagerie médicale" or 11502-2
"CR d'examens biologiques" name a whole report, never a lab test.
Checked with the pack: the code is not one of the pack's imaging codes (JDV_CodesDocumentImagerie_CISIS),
the mistake of a producer that codes a lab result with an imaging report or procedure code.

Checked with the user's biology value set (``--value-set bio-results=FILE``): the code is in it.
The official pack holds no value set of the biology LOINC codes (none of its ``jeuxDeValeurs/`` files
holds the codes of the ANS BIO examples, e.g. 3016-3 TSH): ANS publishes that set separately (the
"JDV Circuit de la biologie", on its terminology server and bioloinc.fr), so the user gives it.
A result whose code is empty (no @code, the local code in ``translation``) is allowed by the CR-BIO
pack (``BIO-CR-BIO_2024.01_CRP_non_LOINC.xml``) and accepted here.
"""

from __future__ import annotations

import re

from segur.validators.profiles import LOINC
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document, T, join
from segur.validators.segur_rules.data import pack_value_set, volet_by_profile, xds_type_code_names
from segur.validators.segur_rules.value_sets import BIO_RESULTS

CR_BIO_TEMPLATE = "1.2.250.1.213.1.1.1.55"
CR_BIO_CODE = "11502-2"
RESULT_TEMPLATE = "1.3.6.1.4.1.19376.1.3.1.6"  # IHE PaLM Laboratory Observation, the CR-BIO result
IMAGING_VALUE_SET = "JDV_CodesDocumentImagerie_CISIS.xml"  # OID 1.2.250.1.213.1.1.5.687
IMAGING = T("an imaging code", "un code d'imagerie")
PACK_IMAGING = T(f"{IMAGING_VALUE_SET} of the pack", f"{IMAGING_VALUE_SET} du pack")
DOCUMENT_TYPE = T("a document type code, which names a whole report",
                  "un code de type de document, qui désigne un compte rendu entier")
DOCUMENT_TYPES = T("JDV_J07_XdsTypeCode_CISIS, the XDS typeCode",
                   "JDV_J07_XdsTypeCode_CISIS, le typeCode XDS")
LOINC_CODE = re.compile(r"^(?P<number>\d{1,7})-(?P<check>\d)$")
#: The 14 deprecated LOINC terms whose check digit is wrong, listed by LOINC as a known issue
#: (same appendix C): real LOINC numbers, not typing errors.
WRONG_CHECK_DIGIT_TERMS = frozenset({
    "11491-6", "11501-6", "5895-7", "5896-5", "5897-3", "5928-1", "6028-3", "6415-5", "6580-7", "6645-7",
    "6646-5", "6647-3", "6648-1", "6649-9",
})


def check(doc: Document) -> None:
    if not _is_cr_bio(doc):
        return
    results = doc.xp(f"//cda:observation[cda:templateId/@root='{RESULT_TEMPLATE}']/cda:code")
    codes = [code for code in results if code.get("code")]
    imaging = pack_value_set(doc.pack_root, IMAGING_VALUE_SET) if doc.pack_root else None
    biology = doc.value_sets.get(BIO_RESULTS)
    for code_el in codes:
        code = code_el.get("code")
        problem = loinc_problem(code, code_el.get("codeSystem"))
        if problem:
            doc.report(R["SEGUR-CODE-003"], code_el, code=code,
                       code_system=code_el.get("codeSystem") or "no codeSystem", problem=problem)
        elif (code, LOINC) in xds_type_code_names():
            doc.report(R["SEGUR-CODE-004"], code_el, code=code, kind=DOCUMENT_TYPE, value_set=DOCUMENT_TYPES,
                       label=xds_type_code_names()[(code, LOINC)])
        elif imaging is not None and (code, LOINC) in imaging:
            doc.report(R["SEGUR-CODE-004"], code_el, code=code, kind=IMAGING, value_set=PACK_IMAGING,
                       label=imaging[(code, LOINC)])
        elif biology is not None and (code, LOINC) not in biology:
            doc.report(R["SEGUR-CODE-006"], code_el, code=code, value_set=biology.label)
    if codes and (imaging is None or biology is None):
        _report_not_run(doc, codes[0], imaging is None, biology is None)


def _is_cr_bio(doc: Document) -> bool:
    """The document is held to the CR-BIO volet: its templateId, a forced CR-BIO profile or its code."""
    if doc.xp(f"cda:templateId[@root='{CR_BIO_TEMPLATE}']"):
        return True
    if doc.profile and doc.profile.lower() != "auto":
        volet = volet_by_profile(doc.profile)
        return volet is not None and volet["template_root"] == CR_BIO_TEMPLATE
    return bool(doc.xp(f"cda:code[@code='{CR_BIO_CODE}'][@codeSystem='{LOINC}']"))


def _report_not_run(doc: Document, where, no_imaging: bool, no_biology: bool) -> None:
    """One info finding naming each result-code check that did not run, and why."""
    reasons = []
    if no_imaging and doc.pack_root is None:
        reasons.append(T("no pack directory is configured (the pack's imaging codes were not compared)",
                         "aucun répertoire de pack n'est configuré (les codes d'imagerie du pack n'ont pas "
                         "été comparés)"))
    elif no_imaging:
        reasons.append(T(f"the pack has no jeuxDeValeurs/{IMAGING_VALUE_SET}",
                         f"le pack n'a pas de jeuxDeValeurs/{IMAGING_VALUE_SET}"))
    if no_biology:
        reasons.append(T(f"no biology value set was given (--value-set {BIO_RESULTS}=FILE): membership "
                         "in ANS's 'JDV Circuit de la biologie' was not checked",
                         "aucun jeu de valeurs de biologie n'a été fourni "
                         f"(--value-set {BIO_RESULTS}=FICHIER) : l'appartenance au « JDV Circuit de la "
                         "biologie » de l'ANS n'a pas été vérifiée"))
    doc.report(R["SEGUR-CODE-005"], where, reason=join(reasons))


def loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit of the part before the dash (Users' Guide, appendix C).

    From the right, the digits in odd positions are doubled (as one number), the digits in even
    positions are written in front of it, and the check digit takes the sum of all those digits up
    to the next multiple of 10: 12345 → "42" + "1062" → 15 → 5.
    """
    from_right = number[::-1]
    doubled = str(int(from_right[0::2]) * 2)  # step 2-3: odd positions from the right ("531"), times 2
    kept = from_right[1::2]  # step 4: even positions from the right ("42")
    total = sum(int(d) for d in kept + doubled)  # step 5-6
    return (10 - total % 10) % 10


def loinc_problem(code: str, code_system: str | None) -> T | None:
    """Why `code` is not an existing LOINC code, or None."""
    if code_system != LOINC:
        return T(f"its code system is {code_system or 'missing'}, not LOINC (2.16.840.1.113883.6.1)",
                 f"son système de codage est {code_system or 'absent'}, pas LOINC (2.16.840.1.113883.6.1)")
    match = LOINC_CODE.match(code)
    if not match:
        return T("a LOINC code is a number of up to 7 digits, a dash and a check digit (e.g. 3016-3)",
                 "un code LOINC est un nombre d'au plus 7 chiffres, un tiret et une clé (p. ex. 3016-3)")
    expected = loinc_check_digit(match["number"])
    if int(match["check"]) != expected and code not in WRONG_CHECK_DIGIT_TERMS:
        number = match["number"]
        return T(f"its check digit should be {expected} (mod 10 of {number}): no such LOINC code exists",
                 f"sa clé devrait être {expected} (mod 10 de {number}) : ce code LOINC n'existe pas")
    return None
