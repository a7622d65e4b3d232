"""ADT messages for the PAM tests, built field by field so each test can break exactly one thing.

The patient is the world's CNDA persona ECETINSI PIERRE-ALAIN (INS 109076322083489, production NIR OID);
the layout follows PAM FR's A28 (MSH, EVN, PID, PV1; `../shared/ref/pam/sample-adt-a28-ins.hl7`).
"""

from __future__ import annotations

INS = "109076322083489"
INS_AUTHORITY = "ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO"
IPP = "IPP4242"
IPP_AUTHORITY = "HOP-TEST&750803447&M"
STRUCTURES = {"A28": "ADT_A05", "A31": "ADT_A05", "A40": "ADT_A39", "A47": "ADT_A30", "A08": "ADT_A01",
              "A01": "ADT_A01"}


def msh(event: str = "A28", *, control: str = "MSG0001", version: str = "2.5^FRA^2.11", country: str = "FRA",
        charset: str = "UNICODE UTF-8", message_type: str | None = None, encoding: str = "|^~\\&") -> str:
    kind = message_type if message_type is not None else f"ADT^{event}^{STRUCTURES.get(event, 'ADT_A01')}"
    fields = ["MSH", encoding[1:], "PRODUIT", "HOP-TEST", "SEGUR-PAM", "SEGUR", "20250101120000", "", kind,
              control, "P", version, "", "", "", "", country, charset, "FR", "", "2.11^IHE_FRANCE-2.11-PAM"]
    return encoding[0].join(fields)


def pid(*, ids: str | None = None, status: str = "VALI", names: str = "ECETINSI^PIERRE-ALAIN^PIERRE-ALAIN "
        "MURIEL FLORIANT^^M.^^L", birth: str = "20090714", sex: str = "M",
        address: str = "^^^^^^BDL^^63220", extra: dict[int, str] | None = None) -> str:
    ids = ids if ids is not None else f"{IPP}^^^{IPP_AUTHORITY}^PI~{INS}^^^{INS_AUTHORITY}^INS"
    fields = ["PID", "1", "", ids, "", names, "", birth, sex, "", "", address] + [""] * 20 + [status]
    for number, value in (extra or {}).items():
        fields[number] = value
    return "|".join(fields)


def adt(event: str = "A28", *, header: str | None = None, patient: str | None = None, mrg: str | None = None,
        **msh_options) -> str:
    segments = [header if header is not None else msh(event, **msh_options), "EVN||20250101120000",
                patient if patient is not None else pid()]
    if mrg is not None:
        segments.append(mrg)
    segments.append("PV1||N")
    return "\r".join(segments) + "\r"


def segment(ack: str, name: str) -> list[list[str]]:
    """Every segment `name` of an ACK, split into fields."""
    return [s.split("|") for s in ack.replace("\n", "\r").split("\r") if s.startswith(name + "|")]


def msa1(ack: str) -> str:
    return segment(ack, "MSA")[0][1]


def err_rules(ack: str) -> list[str]:
    """The rule ids the ERR segments name (ERR-5.1)."""
    return [fields[5].split("^")[0] for fields in segment(ack, "ERR")]
