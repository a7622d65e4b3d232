"""The patient: one recordTarget, a well-formed INS under an INS OID, and the INS traits.

The NIR key and the INS OIDs come from `segur.ins` (one implementation for the whole harness).
"""

from __future__ import annotations

import datetime as dt
import re

from segur import ins
from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document
from segur.validators.segur_rules.data import value_set

#: Identifier systems that were INS once or are mistaken for it, and are not INS OIDs today: the
#: calculated INS (INS-C, FR Core "INS-C", retired by the 2019 INS decree) under 1.2.250.1.213.1.4.2.
NOT_INS_OIDS = {"1.2.250.1.213.1.4.2": "INS-C (calculated INS, retired)"}

_DATE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?")


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


def classify_ins(value: str) -> tuple[str | None, str | None]:
    """('shape' | 'key' | None, problem) for an INS value, using the harness's NIR key."""
    problem = ins.ins_problem(value)
    if problem is None:
        return None, None
    if len(value) == 15 and value[13:].isdigit():
        try:
            ins.nir_key(value[:13])
        except ValueError:
            return "shape", problem
        return "key", problem
    return "shape", problem


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
                       problem="the extension (the INS matricule) is missing")
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


def parse_birth_date(value: str) -> tuple[dt.date | None, str | None]:
    """(date, problem): a full, real calendar date YYYYMMDD, or why not."""
    if not re.fullmatch(r"\d{8}(\d{2,6}(\.\d+)?)?([+-]\d{4})?", value):
        if re.fullmatch(r"\d{4}(\d{2})?", value):
            return None, f"only precise to the {'year' if len(value) == 4 else 'month'} ('{value}'); the INS birth date is a full date YYYYMMDD"
        return None, f"not a date ('{value}')"
    try:
        date = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None, f"not a real calendar date ('{value}')"
    if date > dt.date.today():
        return None, f"in the future ('{value}')"
    if date.year < 1880:
        return None, f"implausibly old ('{value}')"
    return date, None


def _check_birth_date(doc: Document, role, patient) -> None:
    rule = R["SEGUR-PAT-002"]
    birth = doc.first("cda:birthTime", patient) if patient is not None else None
    if birth is None or birth.get("nullFlavor") or not birth.get("value"):
        doc.report(rule, birth if birth is not None else (patient if patient is not None else role),
                   problem="missing (patient/birthTime/@value)")
        return
    _, problem = parse_birth_date(birth.get("value").strip())
    if problem:
        doc.report(rule, birth, problem=problem)


def _check_sex(doc: Document, role, patient) -> None:
    rule = R["SEGUR-PAT-003"]
    gender = doc.first("cda:administrativeGenderCode", patient) if patient is not None else None
    allowed = value_set("administrative_gender")
    if gender is None or gender.get("nullFlavor") or not gender.get("code"):
        doc.report(rule, gender if gender is not None else (patient if patient is not None else role),
                   problem="missing (patient/administrativeGenderCode/@code)")
        return
    code, system = gender.get("code"), gender.get("codeSystem")
    if code not in allowed["codes"] or (system and system != allowed["codeSystem"]):
        doc.report(rule, gender, problem=f"'{code}' ({system}), not one of F, M, UN from {allowed['codeSystem']}")


def _check_traits(doc: Document, role, patient) -> None:
    missing = []
    if patient is None:
        missing.append("the patient element")
    else:
        if not doc.xp("cda:name/cda:family[@qualifier='BR'][normalize-space()]", patient):
            missing.append("the birth name (name/family[@qualifier='BR'])")
        if not doc.xp("cda:name/cda:given[not(@qualifier)][normalize-space()]", patient):
            missing.append("the birth given names (name/given without qualifier)")
        if not doc.xp("cda:name/cda:given[@qualifier='BR'][normalize-space()]", patient):
            missing.append("the first birth given name (name/given[@qualifier='BR'])")
        if not doc.xp("cda:birthplace/cda:place/cda:addr/cda:county[normalize-space()]", patient):
            missing.append("the birthplace code (birthplace/place/addr/county)")
    if missing:
        doc.report(R["SEGUR-PAT-004"], patient if patient is not None else role, missing=", ".join(missing))


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
            problems.append(f"its first digit {sex_digit} means sex {expected}, the document says {gender}")
    birth = doc.first("cda:birthTime/@value", patient)
    date, _ = parse_birth_date(birth.strip()) if birth else (None, None)
    if date is not None:
        yy, mm = value[1:3], value[3:5]
        if yy != f"{date.year % 100:02d}":
            problems.append(f"its digits 2-3 ({yy}) are not the birth year {date.year}")
        if mm.isdigit() and 1 <= int(mm) <= 12 and int(mm) != date.month:
            problems.append(f"its digits 4-5 ({mm}) are not the birth month {date.month:02d}")
    if problems:
        doc.report(R["SEGUR-INS-006"], element, value=value, problem="; ".join(problems))
