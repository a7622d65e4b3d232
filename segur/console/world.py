"""The test world as the console shows it, and how a typed patient or professional becomes search terms.

The world is the stack's (`StackContext.world`, or the shipped one): the same patients, professionals,
organisations and mailboxes every mock serves.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from segur.scenarios.driver import vitale_of
from segur.scenarios.evidence_pack.cda_view import INS_OIDS

#: INSi's answer codes (CNAM INSi interface: 00 one identity found, 01 none, 02 several)
INSI_ANSWERS = {0: "01 (no identity)", 1: "00 (one identity)"}
SEVERAL = "02 (several identities: homonyms)"


def fold(text) -> str:
    """Upper case without accents: how names are compared (INSi compares names the same way)."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def is_cnda_persona(patient) -> bool:
    """A persona transcribed from a recorded answer of the CNDA INSi test plan (world/personas.json)."""
    return patient.key.startswith("cnda-") or "CNDA" in (patient.source or "")


def expected_insi_answer(world, patient) -> str:
    """What INSi answers a search with this patient's own traits (birth name, every first name, sex, birth
    date): 00 when they name only this patient, 02 when homonyms share them."""
    found = world.find_patients(birth_name=patient.birth_name, first_name=patient.first_names,
                                sex=patient.sex, birth_date=patient.birth_date)
    return INSI_ANSWERS.get(len(found), SEVERAL)


@dataclass(frozen=True)
class PatientRow:
    patient: object
    ins_kind: str
    persona: bool
    insi_answer: str
    vitale: dict


def patient_rows(world, query: str = "") -> list[PatientRow]:
    wanted = fold(query).strip()
    rows = []
    for patient in world.patients:
        said = fold(" ".join(str(v) for v in (patient.key, patient.birth_name, patient.first_names,
                                             patient.used_name, patient.ins, patient.source) if v))
        if wanted and wanted not in said:
            continue
        rows.append(PatientRow(patient, INS_OIDS.get(patient.oid, patient.oid), is_cnda_persona(patient),
                               expected_insi_answer(world, patient), vitale_of(patient)))
    return rows


def matching(items, query: str, fields) -> list:
    wanted = fold(query).strip()
    if not wanted:
        return list(items)

    def said(item) -> str:
        return fold(" ".join(str(getattr(item, name, "") or "") for name in fields))

    return [item for item in items if wanted in said(item)]


def patient_terms(world, typed: str) -> list[str]:
    """What an exchange about the patient `typed` (an INS, a NIR or a name) may carry: the text itself, and
    for each world patient it names, the INS, the NIR and the birth name."""
    wanted = fold(typed).strip()
    if not wanted:
        return []
    terms = {wanted}
    for patient in world.patients if world is not None else ():
        names = fold(f"{patient.birth_name} {patient.used_name or ''} {patient.first_names}")
        if wanted in (patient.ins, patient.nir) or wanted in names:
            terms |= {patient.ins, patient.nir, fold(patient.birth_name)}
    return sorted(terms)


def professional_terms(world, typed: str) -> list[str]:
    """Same for a professional: RPPS, IDNPS, family name and personal mailbox of each one `typed` names."""
    wanted = fold(typed).strip()
    if not wanted:
        return []
    terms = {wanted}
    for person in world.professionals if world is not None else ():
        said = fold(" ".join((person.family_name, person.given_name, person.rpps, person.idnps,
                              person.mailbox or "")))
        if wanted in said:
            terms |= {person.rpps, person.idnps, fold(person.family_name)}
            if person.mailbox:
                terms.add(fold(person.mailbox))
    return sorted(terms)
