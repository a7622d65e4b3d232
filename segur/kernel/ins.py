"""The INS (Identifiant National de Santé): its OIDs, its key, and how each service writes it.

The INS is the patient's NIR (or NIA, for people not yet registered) — 13 characters — followed
by a 2-digit control key: 15 characters in all. Sources:
- OIDs: FR Core, `FRCoreIdentifierInsNirSystem`… and the ANS "Guide d'implémentation de l'INS"
  (NIR 1.2.250.1.213.1.4.8, NIA 1.2.250.1.213.1.4.9, test NIR 1.2.250.1.213.1.4.10, demo NIR
  1.2.250.1.213.1.4.11).
- Key: INSEE's rule, 97 − (number mod 97); for people born in Corsica the department "2A" is
  read as 19 and "2B" as 18 before computing (CNAM, "Référentiel INS", annex on the NIR).
- XDS patient id: `INS^^^&OID&ISO^NH` (CI-SIS "Volet Partage de Documents de Santé", DMP guide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"
OID_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_NIR_DEMO = "1.2.250.1.213.1.4.11"

INS_OIDS = {
    OID_NIR: "NIR",
    OID_NIA: "NIA",
    OID_NIR_TEST: "NIR de test",
    OID_NIR_DEMO: "NIR de démonstration",
}
PRODUCTION_OIDS = frozenset({OID_NIR, OID_NIA})
TEST_OIDS = frozenset({OID_NIR_TEST, OID_NIR_DEMO})

#: National health-professional id (IDNPS), used for authors and legal authenticators.
OID_IDNPS = "1.2.250.1.71.4.2.1"

CITIZEN_MAIL_DOMAIN = "patient.mssante.fr"

_NIR_SHAPE = re.compile(r"^[12378][0-9]{2}[0-9]{2}(?:[0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}$", re.IGNORECASE)


def _numeric(nir13: str) -> int:
    """The 13-character NIR as the number the key is computed from (Corsica rule applied)."""
    upper = nir13.upper()
    if upper[5:7] == "2A":
        upper = upper[:5] + "19" + upper[7:]
    elif upper[5:7] == "2B":
        upper = upper[:5] + "18" + upper[7:]
    return int(upper)


def nir_key(nir13: str) -> str:
    """The 2-digit control key of a 13-character NIR or NIA."""
    if len(nir13) != 13 or not _NIR_SHAPE.match(nir13):
        raise ValueError(f"not a 13-character NIR: {nir13!r}")
    return f"{97 - _numeric(nir13) % 97:02d}"


def split_ins(ins: str) -> tuple[str, str]:
    """Split a 15-character INS into its 13-character number and 2-digit key."""
    if len(ins) != 15:
        raise ValueError(f"an INS has 15 characters, not {len(ins)}: {ins!r}")
    return ins[:13], ins[13:]


def ins_problem(ins: str) -> str | None:
    """Why this string is not a well-formed INS with a correct key, or None when it is."""
    if len(ins) != 15:
        return f"an INS has 15 characters (13 for the NIR or NIA, 2 for the key); this one has {len(ins)}"
    number, key = split_ins(ins)
    if not _NIR_SHAPE.match(number):
        return ("the first 13 characters are not a NIR/NIA "
                "(sex digit, year, month, department, commune, order)")
    if not key.isdigit():
        return "the last 2 characters (the key) must be digits"
    expected = nir_key(number)
    if key != expected:
        return f"the key is {key} but 97 - ({number} mod 97) gives {expected}"
    return None


def is_valid_ins(ins: str) -> bool:
    return ins_problem(ins) is None


def with_key(nir13: str) -> str:
    """The 15-character INS for a 13-character NIR or NIA."""
    return nir13 + nir_key(nir13)


@dataclass(frozen=True)
class Ins:
    """An INS value with the OID of its namespace."""

    value: str
    oid: str = OID_NIR_TEST

    def xds_patient_id(self) -> str:
        """As XDS metadata and the VIHF `resource-id` write it."""
        return f"{self.value}^^^&{self.oid}&ISO^NH"

    @property
    def citizen_mailbox(self) -> str:
        """The patient's Mon espace santé address on the MSSanté space."""
        return f"{self.value}@{CITIZEN_MAIL_DOMAIN}"

    @property
    def kind(self) -> str:
        return INS_OIDS.get(self.oid, "unknown")


_XDS_PID = re.compile(r"^(?P<value>[^\^]+)\^\^\^&(?P<oid>[0-9.]+)&ISO(?:\^NH)?$")


def parse_xds_patient_id(text: str) -> Ins | None:
    """Read `INS^^^&OID&ISO^NH`; None when the text does not have that shape."""
    match = _XDS_PID.match(text.strip())
    if not match:
        return None
    return Ins(match["value"], match["oid"])
