"""The checks of one incoming ADT message, on the message as parsed from the wire (python-hl7's
`hl7.Message`); each raises a rule of `rules.py` by object, with the place it looked at.

Two stages: `check_header` on the raw text (can the message be processed at all? a breach answers AR),
then `check_content` on the parsed message (MSH-12/17/18, PID, the INS and its traits, MRG; AE).
"""

from __future__ import annotations

import re

import hl7

from segur.kernel.findings import Finding
from segur.kernel.ins import INS_OIDS, OID_NIR, ins_problem
from segur.mocks.pam import rules
from segur.mocks.pam.models import ATTRIBUTES, QUALIFIED, STATUSES

ENCODING = "|^~\\&"
#: ITI-30 events and their message structure (MSH-9.3), PAMFR §3 and §4.1
ITI30 = {"A28": "ADT_A05", "A31": "ADT_A05", "A40": "ADT_A39", "A47": "ADT_A30"}
EXCLUDED = "A08"
MERGING = ("A40", "A47")
_EVENT = re.compile(r"^[AZ][0-9]{2}$")  # ITI-31 movements (A01…, Z99): the identity in PID is checked
#: MSH-18 values PAM FR names (§6.5) and the Python codec each means
CHARSETS = {"UNICODE UTF-8": "utf-8", "8859/15": "iso-8859-15", "8859/1": "latin-1"}
_DATE = re.compile(r"^[0-9]{8}([0-9]{2,6})?$")
FORBIDDEN = {10: "race", 17: "religion", 19: "SSN number", 22: "ethnic group"}
INS_NAMESPACES = ("ASIP-SANTE-INS-NIR", "ASIP-SANTE-INS-NIA")


def header_fields(text: str) -> list[str] | None:
    """The fields of the MSH segment split on '|', or None when the text does not start with MSH."""
    if not text.startswith("MSH") or len(text) < 8:
        return None
    return text.split("\r", 1)[0].split(text[3])


def check_header(text: str) -> list[Finding]:
    """What prevents processing: no MSH, other separators, not ADT, an unsupported event or version."""
    fields = header_fields(text)
    if fields is None:
        return [rules.NO_MSH.finding(location="MSH")]
    separators = text[3] + (fields[1] if len(fields) > 1 else "")
    if separators != ENCODING:
        return [rules.BAD_ENCODING_CHARACTERS.finding(found=separators, location="MSH-1")]
    message_type = _component(fields, 9, 0)
    event = _component(fields, 9, 1)
    if message_type != "ADT":
        return [rules.MESSAGE_TYPE.finding(found=_field(fields, 9), location="MSH-9")]
    if event == EXCLUDED:
        return [rules.A08_EXCLUDED.finding(location="MSH-9.2")]
    if event not in ITI30 and not _EVENT.match(event):
        return [rules.EVENT_UNSUPPORTED.finding(event=event or "(empty)", location="MSH-9.2")]
    version = _component(fields, 12, 0)
    if version != "2.5":
        return [rules.VERSION.finding(found=_field(fields, 12), location="MSH-12")]
    return []


def charset_of(text: str) -> str | None:
    """The Python codec MSH-18 names (None when it names none PAM FR allows)."""
    fields = header_fields(text) or []
    return CHARSETS.get(_field(fields, 18))


def check_content(message: hl7.Message, event: str) -> list[Finding]:
    """The content checks (AE): MSH details, PID and the INS, the traits of a qualified identity, MRG."""
    found = _check_msh(message, event)
    pid = _first(message, "PID")
    if pid is None:
        return found + [rules.NO_PID.finding(event=event, location="PID")]
    found += _check_pid(message)
    if event in MERGING:
        found += _check_mrg(message, event)
    return found


def _check_msh(message: hl7.Message, event: str) -> list[Finding]:
    found = []
    def msh(*path):
        return field_value(message, "MSH", *path)

    if event in ITI30 and msh(9, 1, 3) != ITI30[event]:
        found.append(rules.STRUCTURE.finding(found=msh(9, 1, 3), event=event, expected=ITI30[event],
                                             location="MSH-9.3"))
    if not msh(10):
        found.append(rules.CONTROL_ID.finding(location="MSH-10"))
    if msh(12, 1, 2) != "FRA" or not msh(12, 1, 3):
        found.append(rules.VERSION_FR.finding(found=str(message.segment("MSH")(12)), location="MSH-12"))
    if msh(17) != "FRA":
        found.append(rules.COUNTRY.finding(found=msh(17), location="MSH-17"))
    if msh(18) not in CHARSETS:
        found.append(rules.CHARSET.finding(found=msh(18), location="MSH-18"))
    return found


def _check_pid(message: hl7.Message) -> list[Finding]:
    found = []
    def pid(*path):
        return field_value(message, "PID", *path)

    statuses = [pid(32, r) for r in range(1, repeats(message, "PID", 32) + 1) if pid(32, r)]
    if not statuses:
        found.append(rules.NO_STATUS.finding(location="PID-32"))
    for code in statuses:
        if code not in STATUSES | ATTRIBUTES:
            found.append(rules.UNKNOWN_STATUS.finding(found=code, location="PID-32"))
    carries_ins = False
    for rep in range(1, repeats(message, "PID", 3) + 1):
        where = f"PID-3[{rep}]"
        value, kind = pid(3, rep, 1), pid(3, rep, 5)
        namespace, oid = pid(3, rep, 4, 1), pid(3, rep, 4, 2)
        ins_authority = (oid in INS_OIDS and oid != OID_NIR) or namespace in INS_NAMESPACES
        if kind != "INS":
            if ins_authority:
                authority = f"{namespace}&{oid}"
                found.append(rules.INS_TYPE.finding(authority=authority, found=kind, location=where))
            continue
        if oid not in INS_OIDS:
            found.append(rules.INS_AUTHORITY.finding(found=f"{namespace}&{oid}", location=f"{where}.4"))
        if value == '""':
            continue  # an INS deletion (A47, PAMFR §4.4.3)
        carries_ins = True
        problem = ins_problem(value)
        if problem:
            found.append(rules.INS_VALUE.finding(value=value, problem=problem, location=f"{where}.1"))
    if carries_ins and QUALIFIED not in statuses:
        found.append(rules.INS_NOT_QUALIFIED.finding(status="~".join(statuses), location="PID-32"))
    found += _check_traits(message, qualified=carries_ins and QUALIFIED in statuses)
    for number, name in FORBIDDEN.items():
        if pid(number):
            found.append(rules.FORBIDDEN_FIELD.finding(field=number, name=name, location=f"PID-{number}"))
    return found


def _check_traits(message: hl7.Message, qualified: bool) -> list[Finding]:
    def pid(*path):
        return field_value(message, "PID", *path)

    names = [r for r in range(1, repeats(message, "PID", 5) + 1) if pid(5, r, 7) == "L"]
    if not names:
        return [rules.NO_BIRTH_NAME.finding(location="PID-5")]
    if not qualified:
        return []
    found = []
    if not pid(5, names[0], 2):
        found.append(rules.NO_FIRST_NAME.finding(location=f"PID-5[{names[0]}].2"))
    if not _DATE.match(pid(7)):
        found.append(rules.BIRTH_DATE.finding(found=pid(7), location="PID-7"))
    if pid(8) not in ("M", "F"):
        found.append(rules.SEX.finding(found=pid(8), location="PID-8"))
    addresses = range(1, repeats(message, "PID", 11) + 1)
    if not any(pid(11, r, 7) == "BDL" and pid(11, r, 9) for r in addresses):
        found.append(rules.BIRTH_PLACE.finding(location="PID-11"))
    return found


def _check_mrg(message: hl7.Message, event: str) -> list[Finding]:
    if _first(message, "MRG") is None:
        return [rules.NO_MRG.finding(event=event)]
    if not field_value(message, "MRG", 1, 1, 1):
        return [rules.EMPTY_MRG.finding(event=event)]
    return []


# --- small readers -------------------------------------------------------------------------------

def field_value(message: hl7.Message, segment: str, *path: int) -> str:
    """The (unescaped) value at a path of the first `segment`, '' when the message does not go that deep."""
    try:
        return message.extract_field(segment, 1, *path)
    except (KeyError, IndexError):
        return ""


def _first(message: hl7.Message, name: str):
    return next((s for s in message if str(s[0]) == name), None)


def repeats(message: hl7.Message, segment: str, number: int) -> int:
    """How many repetitions a field has (1 for an empty or a single one)."""
    found = _first(message, segment)
    if found is None or len(found) <= number:
        return 1
    return max(1, len(found(number)) if isinstance(found(number), hl7.Field) else 1)


def _field(fields: list[str], number: int) -> str:
    """MSH-n from the raw fields (MSH-1 is the separator itself, so MSH-n is fields[n - 1])."""
    return fields[number - 1] if len(fields) >= number else ""


def _component(fields: list[str], number: int, index: int) -> str:
    parts = _field(fields, number).split("~")[0].split("^")
    return parts[index] if len(parts) > index else ""
