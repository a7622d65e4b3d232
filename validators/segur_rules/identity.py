"""The patient: one recordTarget, a well-formed INS under an INS OID, and the INS traits.

The NIR key and the INS OIDs come from `segur.kernel.ins` (one implementation for the whole harness).
"""

from __future__ import annotations

import datetime as dt
import re

from segur.kernel import ins
from segur.kernel.findings import Severity
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document, T, join
from segur.validators.segur_rules.data import value_set

#: Identifier systems that were INS once and are not INS OIDs today: the calculated INS (INS-C,
#: FR Core identifier type "INS-C") under 1.2.250.1.213.1.4.2, abandoned since the INS became the
#: NIR/NIA (décret n° 2019-1036).
NOT_INS_OIDS = {"1.2.250.1.213.1.4.2": "INS-C (calculated INS, abandoned)"}


def check(doc: Document) -> None:
    targets = doc.xp("cda:recordTarget")
    if len(targets) != 1:
        where = targets[1] if len(targets) > 1 else doc.root
        doc.report(R["SEGUR-PAT-001"], where, count=len(targets))
    role = doc.first("cda:recordTarget/cda:patientRole")
    if role is None:
        return
    patient = doc.first("cda:patient", role)
    valid_ins = _check_ins(doc, role)
    _check_birth_date(doc, role, patient)
    _check_sex(doc, role, patient)
    if valid_ins is not None:
        _check_traits(doc, role, patient)
        _check_ins_against_traits(doc, valid_ins, patient)
        _check_citizen_address(doc, role, valid_ins[1])


def classify_ins(value: str) -> tuple[str | None, T | None]:
    """('shape' | 'key' | None, problem) for an INS value; the key comes from `segur.kernel.ins`."""
    if ins.ins_problem(value) is None:
        return None, None
    if len(value) != 15:
        return "shape", T(f"an INS has 15 characters (13 for the NIR or NIA, 2 for the key), "
                          f"this one has {len(value)}",
                          f"un INS a 15 caractères (13 pour le NIR ou le NIA, 2 pour la clé), "
                          f"celui-ci en a {len(value)}")
    number, key = value[:13], value[13:]
    try:
        expected = ins.nir_key(number)
    except ValueError:
        return "shape", T("the first 13 characters are not a NIR/NIA (sex, year, month, department, commune, "
                          "order)",
                          "les 13 premiers caractères ne sont pas un NIR/NIA (sexe, année, mois, "
                          "département, commune, ordre)")
    if not key.isdigit():
        return "shape", T("the last 2 characters (the key) must be digits",
                          "les 2 derniers caractères (la clé) doivent être des chiffres")
    return "key", T(f"the key is {key} but 97 - ({number} mod 97) gives {expected}",
                    f"la clé est {key} mais 97 - ({number} mod 97) donne {expected}")


def _check_ins(doc: Document, role) -> tuple | None:
    """Check the INS ids; return (element, value) of the first well-formed INS, if any."""
    ins_ids = [el for el in doc.xp("cda:id", role) if el.get("root") in ins.INS_OIDS]
    misfiled = []
    for el in doc.xp("cda:id", role):
        root, value = el.get("root") or "", (el.get("extension") or "").strip()
        if root in ins.INS_OIDS:
            continue
        # A NIR under another system next to a proper INS is a legitimate second identifier (e.g.
        # the NIR as social-security number in the CSE certificates); without an INS it is the
        # INS written under the wrong OID.
        looks_like_ins = not ins_ids and len(value) == 15 and ins.is_valid_ins(value)
        if root in NOT_INS_OIDS or looks_like_ins:
            misfiled.append(el)
            doc.report(R["SEGUR-INS-005"], el, value=value, oid=root)
    if not ins_ids:
        if not misfiled:
            doc.report(R["SEGUR-INS-001"], role)
        return None

    first_valid = None
    for el in ins_ids:
        value = el.get("extension")
        if value is None or el.get("nullFlavor"):
            doc.report(R["SEGUR-INS-002"], el, value="", oid=el.get("root"),
                       problem=T("the extension (the INS matricule) is missing",
                                 "l'attribut extension (le matricule INS) est absent"))
            continue
        kind, problem = classify_ins(value)
        if kind == "shape":
            doc.report(R["SEGUR-INS-002"], el, value=value, oid=el.get("root"), problem=problem)
        elif kind == "key":
            doc.report(R["SEGUR-INS-003"], el, value=value, problem=problem)
        elif first_valid is None:
            first_valid = (el, value)

    distinct = []
    for el in ins_ids:
        pair = (el.get("root"), el.get("extension"))
        if pair not in [p for p, _ in distinct]:
            distinct.append((pair, el))
    if len(distinct) > 1:
        values = ", ".join(f"{ext} ({ins.INS_OIDS[root]} {root})" for (root, ext), _ in distinct)
        doc.report(R["SEGUR-INS-004"], distinct[1][1], values=values)
    return first_valid


def parse_birth_date(value: str) -> tuple[dt.date | None, T | None]:
    """(date, problem): a full, real calendar date YYYYMMDD, or why not."""
    if not re.fullmatch(r"\d{8}(\d{2,6}(\.\d+)?)?([+-]\d{4})?", value):
        if re.fullmatch(r"\d{4}(\d{2})?", value):
            unit, unit_fr = ("year", "à l'année") if len(value) == 4 else ("month", "au mois")
            return None, T(f"only precise to the {unit} ('{value}'); the INS birth date is a full date "
                           f"YYYYMMDD",
                           f"précise seulement {unit_fr} ('{value}') ; la date de naissance INS est une date "
                           "complète AAAAMMJJ")
        return None, T(f"not a date ('{value}')", f"n'est pas une date ('{value}')")
    try:
        date = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None, T(f"not a real calendar date ('{value}')",
                       f"n'est pas une date du calendrier ('{value}')")
    if date > dt.date.today():
        return None, T(f"in the future ('{value}')", f"dans le futur ('{value}')")
    if date.year < 1880:
        return None, T(f"implausibly old ('{value}')", f"d'une ancienneté invraisemblable ('{value}')")
    return date, None


def _check_birth_date(doc: Document, role, patient) -> None:
    rule = R["SEGUR-PAT-002"]
    birth = doc.first("cda:birthTime", patient) if patient is not None else None
    if birth is None or birth.get("nullFlavor") or not birth.get("value"):
        doc.report(rule, birth if birth is not None else (patient if patient is not None else role),
                   problem=T("missing (patient/birthTime/@value)", "absente (patient/birthTime/@value)"))
        return
    value = birth.get("value").strip()
    _, problem = parse_birth_date(value)
    if problem:
        # A birth date known only to the year or month (INSi's "lunar" dates, 1961-00-00) is valid
        # HL7 TS; the DMP integration guide (§4.2.2, annex A3-1 "règle AM_DLU") only strongly
        # recommends transforming it into a full AAAAMMJJ date: a warning, not an error.
        reduced = re.fullmatch(r"\d{4}(\d{2})?", value) is not None
        doc.report(rule, birth, severity=Severity.WARNING if reduced else None, problem=problem)


def _check_sex(doc: Document, role, patient) -> None:
    rule = R["SEGUR-PAT-003"]
    gender = doc.first("cda:administrativeGenderCode", patient) if patient is not None else None
    allowed = value_set("administrative_gender")
    if gender is None or gender.get("nullFlavor") or not gender.get("code"):
        doc.report(rule, gender if gender is not None else (patient if patient is not None else role),
                   problem=T("missing (patient/administrativeGenderCode/@code)",
                             "absent (patient/administrativeGenderCode/@code)"))
        return
    code, system = gender.get("code"), gender.get("codeSystem")
    if code not in allowed["codes"] or (system and system != allowed["codeSystem"]):
        doc.report(rule, gender, problem=T(f"'{code}' ({system}), not one of F, M, UN from "
                                           f"{allowed['codeSystem']}",
                                           f"'{code}' ({system}), qui n'est pas F, M ou UN de "
                                           f"{allowed['codeSystem']}"))


def _check_traits(doc: Document, role, patient) -> None:
    missing = []
    if patient is None:
        missing.append(T("the patient element", "l'élément patient"))
    else:
        if not doc.xp("cda:name/cda:family[@qualifier='BR'][normalize-space()]", patient):
            missing.append(T("the birth name (name/family[@qualifier='BR'])",
                             "le nom de naissance (name/family[@qualifier='BR'])"))
        if not doc.xp("cda:name/cda:given[not(@qualifier)][normalize-space()]", patient):
            missing.append(T("the birth given names (name/given without qualifier)",
                             "les prénoms de naissance (name/given sans qualifier)"))
        if not doc.xp("cda:name/cda:given[@qualifier='BR'][normalize-space()]", patient):
            missing.append(T("the first birth given name (name/given[@qualifier='BR'])",
                             "le premier prénom de naissance (name/given[@qualifier='BR'])"))
        if not doc.xp("cda:birthplace/cda:place/cda:addr/cda:county[normalize-space()]", patient):
            missing.append(T("the birthplace code (birthplace/place/addr/county)",
                             "le code du lieu de naissance (birthplace/place/addr/county)"))
    if missing:
        doc.report(R["SEGUR-PAT-004"], patient if patient is not None else role, missing=join(missing, ", "))


def _check_ins_against_traits(doc: Document, valid_ins, patient) -> None:
    element, value = valid_ins
    if patient is None:
        return
    problems = []
    gender = doc.first("cda:administrativeGenderCode/@code", patient)
    sex_digit = value[0]
    if sex_digit in "12" and gender in ("M", "F"):
        expected = "M" if sex_digit == "1" else "F"
        if gender != expected:
            problems.append(T(f"its first digit {sex_digit} means sex {expected}, the document says {gender}",
                              f"son premier chiffre {sex_digit} signifie le sexe {expected}, "
                              f"le document dit {gender}"))
    birth = doc.first("cda:birthTime/@value", patient)
    date, _ = parse_birth_date(birth.strip()) if birth else (None, None)
    if date is not None:
        yy, mm = value[1:3], value[3:5]
        if yy != f"{date.year % 100:02d}":
            problems.append(T(f"its digits 2-3 ({yy}) are not the birth year {date.year}",
                              f"ses chiffres 2-3 ({yy}) ne sont pas l'année de naissance {date.year}"))
        if mm.isdigit() and 1 <= int(mm) <= 12 and int(mm) != date.month:
            problems.append(T(f"its digits 4-5 ({mm}) are not the birth month {date.month:02d}",
                              f"ses chiffres 4-5 ({mm}) ne sont pas le mois de naissance {date.month:02d}"))
    if problems:
        doc.report(R["SEGUR-INS-006"], element, value=value, problem=join(problems))


def _check_citizen_address(doc: Document, role, value: str) -> None:
    """A patient.mssante.fr address is the patient's INS matricule at the citizen domain."""
    suffix = "@" + ins.CITIZEN_MAIL_DOMAIN
    for telecom in doc.xp("cda:telecom[@value]", role):
        address = telecom.get("value").strip()
        mailbox = address[len("mailto:"):] if address.lower().startswith("mailto:") else address
        if mailbox.lower().endswith(suffix) and mailbox[: -len(suffix)] != value:
            doc.report(R["SEGUR-INS-007"], telecom, address=mailbox, value=value)
