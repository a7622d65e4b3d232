"""The identity source: ADT messages built from the world's patients, sent to a product's MLLP endpoint,
and the acknowledgement it gave back journalled (AA/AE/AR, or no answer) — what the proof reads for
RIS.INS/va1.67–69 (a product integrating an INS identity from a PAM FR feed).

    source.send("mllp://127.0.0.1:6661", "A28", "279035121518989")  # a world patient key or INS

The INS goes in PID-3 (CX-5 ``INS``, CX-4 the INS authority of the patient's OID) only when the status is
VALI (PAMFR §6.6.1); the traits are those INSi returns (PID-5 type L, PID-7, PID-8, PID-11 BDL).
"""

from __future__ import annotations

import itertools
import re
import time
import zlib
from dataclasses import asdict, dataclass, replace

from segur.kernel.ins import OID_NIA
from segur.kernel.journal import body_for_journal
from segur.mocks.pam import checks, mllp
from segur.mocks.pam.models import DELETED, QUALIFIED, STATUSES, AdtMessage, Identifier, Traits
from segur.mocks.pam.responses import render_adt

SENDABLE = tuple(checks.ITI30)
#: the traits a send may give instead of the world's (a patient first registered with typed traits)
TRAIT_FIELDS = tuple(Traits.__dataclass_fields__)
#: an identifier a send may give the patient in PID-3 (CX-1): letters and digits, no HL7 delimiter
LOCAL_ID = re.compile(r"[A-Za-z0-9]{1,20}")
_numbers = itertools.count(1)


@dataclass
class SendResult:
    """What came back from the product for one message."""

    seq: int  # the journal entry
    to: str
    event: str
    control_id: str
    ack_code: str | None  # AA, AE, AR; None: no answer (see `error`)
    ack: str = ""
    error: str = ""
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def local_identifier(patient, finess: str) -> Identifier:
    """The harness's own IPP for a world patient (stable across runs: derived from the patient key)."""
    number = f"{zlib.crc32(patient.key.encode('utf-8')) % 10**9:09d}"
    return Identifier(number, "SEGUR-PAM", finess, "PI", "M")


def ins_identifier(patient) -> Identifier:
    namespace = "ASIP-SANTE-INS-NIA" if patient.oid == OID_NIA else "ASIP-SANTE-INS-NIR"
    return Identifier(patient.ins, namespace, patient.oid, "INS", "ISO")


def hl7_date(iso: str) -> str:
    """A world birth date (ISO, maybe partial as INSi gives it: 1971-00-00) as an HL7 date."""
    parts = [p for p in iso.split("-") if p and p.strip("0")]
    return "".join(parts)


def adt_for_patient(patient, event: str, *, status: str = QUALIFIED, finess: str = "",
                    prior: tuple[Identifier, ...] = (), control_id: str = "", traits: dict | None = None,
                    with_ins: bool | None = None, delete_ins: bool = False, local_id: str = "") -> AdtMessage:
    """`traits` replace the world's (`TRAIT_FIELDS`, the birth date as HL7 gives it); `with_ins`: True puts
    the INS in PID-3 whatever the status (a source breaking PAMFR §6.6.1, which a receiver must survive),
    None only with VALI; `delete_ins` (A47): PID-3 carries the INS repetition `""` and MRG-1 the INS, the
    deletion of a wrongly attributed INS (PAMFR §4.4.3); `local_id` the PI value of PID-3 (default: the
    harness's stable IPP of the patient)."""
    identifiers = [local_identifier(patient, finess)]
    if local_id:
        identifiers = [replace(identifiers[0], value=local_id)]
    if delete_ins:
        identifiers.append(replace(ins_identifier(patient), value=DELETED))
        prior = (ins_identifier(patient),)
    elif with_ins or (with_ins is None and status == QUALIFIED):
        identifiers.append(ins_identifier(patient))
    traits = replace(Traits(birth_name=patient.birth_name, first_name=patient.first_name,
                            first_names=patient.first_names, used_name=patient.used_name or "",
                            birth_date=hl7_date(patient.birth_date), sex=patient.sex,
                            birth_place=patient.birth_place), **(traits or {}))
    control_id = control_id or f"SEGUR{time.strftime('%Y%m%d%H%M%S')}{next(_numbers):05d}"
    return AdtMessage(event=event, control_id=control_id, identifiers=tuple(identifiers), traits=traits,
                      status=(status,), prior=tuple(prior))


class IdentitySource:
    """Sends ITI-30 messages of the world's patients and journals the answers."""

    def __init__(self, world, journal, *, timeout: float = 10.0):
        self.world, self.journal, self.timeout = world, journal, timeout
        organisations = getattr(world, "organisations", ())
        self.finess = organisations[0].finess if organisations else ""

    def patient(self, reference: str):
        found = self.world.patient_by_key(reference) or self.world.patient_by_any_ins(reference)
        if found is None:
            raise ValueError(f"no world patient with key or INS {reference!r}")
        return found

    def send(self, to: str, event: str, patient: str, *, status: str = QUALIFIED, prior: tuple[str, ...] = (),
             timeout: float | None = None, traits: dict | None = None, with_ins: bool | None = None,
             delete_ins: bool = False, local_id: str = "") -> SendResult:
        """Send one message; `prior` are the identifier values MRG-1 names (A40, A47); `traits`, `with_ins`,
        `delete_ins` and `local_id` as `adt_for_patient` takes them."""
        host, port = mllp.parse_url(to)
        if event not in SENDABLE:
            raise ValueError(f"event must be one of {', '.join(SENDABLE)}, not {event!r}")
        if status not in STATUSES:
            raise ValueError(f"status must be a PID-32 status of PAM FR, not {status!r}")
        if delete_ins and event != "A47":
            raise ValueError(f"an INS is deleted by an A47 (PAMFR §4.4.3), not by {event}")
        if event in checks.MERGING and not prior and not delete_ins:
            raise ValueError(f"{event} needs the identifier(s) it replaces (prior)")
        if local_id and not LOCAL_ID.fullmatch(local_id):
            raise ValueError(f"local_id is 1 to 20 letters or digits (no HL7 delimiter), not {local_id!r}")
        unknown = sorted(set(traits or {}) - set(TRAIT_FIELDS))
        if unknown or not all(isinstance(v, str) for v in (traits or {}).values()):
            raise ValueError(f"traits are strings among {', '.join(TRAIT_FIELDS)}"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        person = self.patient(patient)
        merged = tuple(Identifier(value, "SEGUR-PAM", self.finess, "PI", "M") for value in prior)
        adt = adt_for_patient(person, event, status=status, finess=self.finess, prior=merged, traits=traits,
                              with_ins=with_ins, delete_ins=delete_ins, local_id=local_id)
        text = render_adt(adt)
        data = text.encode("utf-8")
        started = time.perf_counter()
        answer, error = None, ""
        try:
            answer = mllp.exchange(host, port, data, timeout=timeout or self.timeout)
        except mllp.MllpTimeout as exc:
            error, verdict = str(exc), "timeout"
        except OSError as exc:
            error, verdict = f"{type(exc).__name__}: {exc}", "unreachable"
        ack_text = answer.decode("utf-8", errors="replace") if answer is not None else ""
        code = _msa1(ack_text) if answer is not None else None
        if answer is not None:
            verdict = {"AA": "accepted", "AE": "error", "AR": "rejected"}.get(code or "", "unreadable-ack")
        entry = self.journal.record(
            f"send ADT^{event}", verdict, duration_ms=(time.perf_counter() - started) * 1000,
            request={"to": to, "body": body_for_journal(data)},
            response={"body": body_for_journal(answer)} if answer is not None else {"error": error},
            meta={"to": to, "event": event, "patient": person.key, "status": status, "ack": code,
                  "ins": adt.ins.value if adt.ins else None, "control_id": adt.control_id,
                  "local_id": adt.identifiers[0].value, "prior": [i.value for i in adt.prior],
                  "deletes_ins": delete_ins})
        return SendResult(entry.seq, to, event, adt.control_id, code, ack_text, error, text)

    def send_request(self, body: dict) -> SendResult:
        """`POST /_admin/send`: {"to", "event", "patient", "status"?, "prior"?, "timeout"?, "traits"?,
        "with_ins"?, "delete_ins"?, "local_id"?}."""
        missing = [key for key in ("to", "event", "patient") if not isinstance(body.get(key), str)]
        if missing:
            raise ValueError(f"missing or not a string: {', '.join(missing)}")
        prior = body.get("prior", [])
        prior = [prior] if isinstance(prior, str) else prior
        timeout = body.get("timeout")
        if timeout is not None and (not isinstance(timeout, int | float) or not 0 < timeout <= 120):
            raise ValueError("timeout is a number of seconds in (0, 120]")
        traits, with_ins, delete_ins = body.get("traits"), body.get("with_ins"), body.get("delete_ins", False)
        if traits is not None and not isinstance(traits, dict):
            raise ValueError("traits is an object of trait → value")
        if with_ins not in (None, True, False) or delete_ins not in (True, False):
            raise ValueError("with_ins and delete_ins are true or false")
        local_id = body.get("local_id", "")
        if not isinstance(local_id, str):
            raise ValueError("local_id is a string")
        return self.send(body["to"], body["event"], body["patient"], status=body.get("status", QUALIFIED),
                         prior=tuple(str(p) for p in prior), timeout=timeout, traits=traits,
                         with_ins=with_ins, delete_ins=delete_ins, local_id=local_id)


def _msa1(ack: str) -> str | None:
    for segment in ack.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            fields = segment.split(segment[3]) if len(segment) > 3 else []
            return fields[1] if len(fields) > 1 else None
    return None
