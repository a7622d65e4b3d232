"""DMP-CDA-013: the DocumentEntry's sourcePatientInfo names the patient of the CDA's recordTarget.

sourcePatientInfo is a list of HL7 v2 PID fields, one per value, written ``PID-n|value`` (IHE ITI TF-3
§4.2.3.2.23; the ANS ITI-41 sample for the DMP sends ``PID-5|PAT-SIX^Alain^^^^^L``, ``PID-7|19960112``,
``PID-8|M``). A field may repeat (``~``). What is compared, leniently, so that only a different patient
fires:
- PID-3 (CX ids): an id under an INS OID must be the CDA's INS and the patientId's; an id under an OID the
  recordTarget also uses must carry the same extension; an id under any other OID cannot be judged;
- PID-5 (XPN ``FAMILY^GIVEN^^^^^L``): the family must be one of the CDA's family names (birth or used),
  the given name one of its given names (or their first word); case, accents, spaces and punctuation
  are ignored;
- PID-7 (birth date, YYYYMMDD[hhmm]): the same date as the CDA birthTime, to the precision of the shorter;
- PID-8 (sex): the CDA administrativeGenderCode.
"""

from __future__ import annotations

import unicodedata

from segur.kernel import ins as ins_helpers
from segur.kernel.findings import Finding

from .cda_header import CdaHeader
from .rules import (
    DMP_CDA_013,
)
from .xds_metadata import Cx, DocumentEntry


def check_source_patient_info(entry: DocumentEntry, header: CdaHeader, key: str, where: str) -> list[Finding]:
    """One DMP-CDA-013 finding per sourcePatientInfo value that names someone else than the CDA's patient."""
    findings: list[Finding] = []
    for field_name, value in _fields(entry.source_patient_info):
        check = _CHECKS.get(field_name)
        expected = check(value, header, entry) if check else None
        if expected is not None:
            findings.append(DMP_CDA_013.finding(location=f"{where}/sourcePatientInfo", field=field_name,
                                                entry=key, value=value, expected=expected))
    return findings


def _fields(lines: list[str]) -> list[tuple[str, str]]:
    """(PID-n, one repetition) for every ``PID-n|a~b`` value; values of another shape are ignored."""
    fields = []
    for line in lines or []:
        name, bar, value = line.partition("|")
        if bar and name.strip().upper().startswith("PID-"):
            fields += [(name.strip().upper(), part) for part in value.split("~") if part.strip()]
    return fields


def _folded(text: str) -> str:
    """Upper case, no accents, letters and digits only: 'Dupont-Lefèvre ' and 'DUPONT LEFEVRE' agree."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if c.isalnum()).upper()


def _pid3(value: str, header: CdaHeader, entry: DocumentEntry) -> str | None:
    cx = Cx.parse(value)
    if not cx.id or not cx.assigning_authority:
        return None
    if cx.assigning_authority in ins_helpers.INS_OIDS:
        expected = [header.ins.value] if header.ins else []
        patient = ins_helpers.parse_xds_patient_id(entry.patient_id or "")
        if patient is not None:
            expected.append(patient.value)
        wrong = [e for e in expected if e.upper() != cx.id.upper()]
        return f"the INS {wrong[0]} (recordTarget and patientId)" if wrong else None
    same_oid = [ext for root, ext in header.patient_ids if root == cx.assigning_authority and ext]
    if same_oid and cx.id not in same_oid:
        return f"the id {' or '.join(same_oid)} under {cx.assigning_authority}"
    return None


def _pid5(value: str, header: CdaHeader, entry: DocumentEntry) -> str | None:
    parts = value.split("^")
    family, given = _folded(parts[0]), _folded(parts[1]) if len(parts) > 1 else ""
    families = {_folded(f) for f in header.patient_families or [header.patient_family] if f}
    givens = {_folded(g) for g in header.patient_givens or [header.patient_given] if g}
    givens |= {_folded(g.split()[0]) for g in header.patient_givens if g.split()}
    first_given = _folded(parts[1].split()[0]) if len(parts) > 1 and parts[1].split() else ""
    wrong_family = bool(families) and family not in families
    wrong_given = bool(givens) and bool(given) and given not in givens and first_given not in givens
    if not (wrong_family or wrong_given):
        return None
    return f"the name {' / '.join(header.patient_families) or header.patient_family}, " \
           f"given {' / '.join(header.patient_givens) or header.patient_given or '(none)'}"


def _pid7(value: str, header: CdaHeader, entry: DocumentEntry) -> str | None:
    birth = header.patient_birth_time[:8]
    date = value.strip()[:8]
    if not birth:
        return None
    shorter = min(len(birth), len(date))
    if date.isdigit() and shorter >= 4 and date[:shorter] == birth[:shorter]:
        return None
    return f"the birth date {birth}"


def _pid8(value: str, header: CdaHeader, entry: DocumentEntry) -> str | None:
    sex = header.patient_sex.strip().upper()
    if not sex or value.strip().upper() == sex:
        return None
    return f"the sex {sex}"


_CHECKS = {"PID-3": _pid3, "PID-5": _pid5, "PID-7": _pid7, "PID-8": _pid8}
