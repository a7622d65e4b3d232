"""The reference RI (`--sut reference-ri`): a hospital identity referential diffusing its identities by
IHE PAM, French extension, to the hospital's other systems (REM RI.INS/va1.64 and .66, SC.INS/va1.64 and
.66: the INS in PID of every outgoing HL7v2 message, diffused per PAM FR).

Task `feed-identity` (`extra`): `event` A28 (create), A31 (update) or A40 (merge); `record`, the name of
the referential's patient record (its IPP is drawn from it, so an A31 names the record the A28 created);
`qualify` (default true): search INSi by the traits first and, on 00, send the identity qualified (PID-32
`VALI`, the INS in PID-3 under its OID); false: the identity as typed at the desk, `PROV`, no INS;
`merge_from` (A40): the record merged into `record` (MRG-1 its IPP). The message is built with hl7apy
(HL7 v2.5 ADT_A05 / ADT_A39, fields as PAM FR 2.11 asks: ../shared/ref/pam/README.md and docs/pam.md)
and sent over MLLP with python-hl7's client to the first listener of the configuration's `pam_mllp`; an
ACK other than AA is a failure the RI reports.

Seeded defects: `ri-ins-unqualified`, an identity that is not qualified still goes out with an INS in PID-3
(the one of the local patient file, read once from a Vitale card), under PID-32 `PROV`;
`ri-update-new-ipp`, an update (A31) sent under an IPP drawn anew, so it names another patient than the
record it updates.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import hl7
import hl7.client
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from segur.fixtures.world import load_world
from segur.kernel.ins import INS_OIDS

from .errors import ConfigError, Refused, ServiceUnavailable
from .outcome import Outcome

#: the referential's assigning authority for its IPPs (namespace, a 2.25 OID of its own, ISO)
AUTHORITY = ("REFERENCE-RI", "2.25.271114372361219094219127426612049136213")
#: PAM FR 2.11: HL7 2.5 with the French profile version (MSH-12), MSH-17/18/19, MSH-21 (docs/pam.md)
VERSION, PROFILE = "2.5^FRA^2.11", "2.11^IHE_FRANCE-2.11-PAM"
STRUCTURES = {"A28": "ADT_A05", "A31": "ADT_A05", "A40": "ADT_A39"}
INS_NAMESPACES = {"NIR": "ASIP-SANTE-INS-NIR", "NIA": "ASIP-SANTE-INS-NIA"}


def local_patient_file(traits: dict) -> tuple[str, str] | None:
    """For `ri-ins-unqualified` only: the (INS, OID) the local patient file holds for these traits (birth
    name, birth date, sex), read once from a Vitale card and never qualified; the test world stands in for
    that file, as in `core.local_patient_file`."""
    wanted = (str(traits.get("birth_name", "")).upper(), traits.get("birth_date"), traits.get("sex"))
    for person in sorted(load_world().patients, key=lambda p: p.key):
        if (person.birth_name.upper(), person.birth_date, person.sex) == wanted:
            return person.ins, person.oid
    return None


def ipp_of(record: str) -> str:
    """The referential's patient identifier (IPP) of a record: stable for the record's name."""
    return "IPP" + hashlib.sha1(record.encode("utf-8")).hexdigest()[:10].upper()


def _cx_ipp(record: str) -> str:
    return f"{ipp_of(record)}^^^{AUTHORITY[0]}&{AUTHORITY[1]}&ISO^PI"


def _cx_ins(ins: str, oid: str) -> str:
    kind = "NIA" if INS_OIDS.get(oid, "").startswith("NIA") else "NIR"
    return f"{ins}^^^{INS_NAMESPACES[kind]}&{oid}&ISO^INS"


def build_adt(event: str, record: str, traits: dict, *, status: str, ins: tuple[str, str] | None = None,
              merge_from: str | None = None, control_id: str) -> str:
    """The ER7 text of one PAM FR message for the record: PID-3 its IPP, then the INS when given; PID-5 the
    birth name (type L); PID-7, PID-8, PID-11 the birth place (BDL, INSEE code); PID-32 the status."""
    structure = STRUCTURES[event]
    message = Message(structure, version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msh = message.msh
    msh.msh_3, msh.msh_4 = "REFERENCE-RI", "CH-REFERENCE"
    msh.msh_9 = f"ADT^{event}^{structure}"
    msh.msh_10, msh.msh_11, msh.msh_12 = control_id, "P", VERSION
    msh.msh_17, msh.msh_18, msh.msh_19, msh.msh_21 = "FRA", "UNICODE UTF-8", "FR", PROFILE
    now = datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y%m%d%H%M%S")
    message.evn.evn_2 = now
    pid = message.pid if structure == "ADT_A05" else message.adt_a39_patient.pid
    pid.pid_3 = _cx_ipp(record)
    if ins is not None:
        pid.add_field("PID_3").value = _cx_ins(*ins)
    first_names = str(traits.get("first_names") or "")
    first = (first_names.split() or [""])[0]
    pid.pid_5 = f"{traits.get('birth_name', '')}^{first}^{first_names}^^^^L"
    pid.pid_7 = str(traits.get("birth_date") or "").replace("-", "")
    pid.pid_8 = str(traits.get("sex") or "U")
    if traits.get("birth_place"):
        pid.pid_11 = f"^^^^^^BDL^^{traits['birth_place']}"
    pid.pid_32 = status
    if structure == "ADT_A39":
        message.adt_a39_patient.mrg.mrg_1 = _cx_ipp(merge_from)
    else:
        message.pv1.pv1_2 = "N"
    return message.to_er7()


def _ack_code(ack: str) -> tuple[str, str]:
    """(MSA-1, the ERR segments' texts) of an ACK, read with python-hl7."""
    parsed = hl7.parse(ack.replace("\n", "\r"))
    errors = [str(segment) for segment in parsed if str(segment[0]) == "ERR"]
    return str(parsed.segment("MSA")[1]), "; ".join(errors)


def send(url: str, text: str, timeout: float) -> str:
    """One framed message to `mllp://host:port`; the ACK's text."""
    host, _, port = url.removeprefix("mllp://").rpartition(":")
    try:
        client = hl7.client.MLLPClient(host, int(port))
    except (OSError, ValueError) as exc:
        raise ServiceUnavailable(f"PAM listener {url} unreachable: {exc}") from exc
    try:
        client.socket.settimeout(timeout)
        answer = client.send_message(text)
    except OSError as exc:  # a timeout too
        raise ServiceUnavailable(f"PAM listener {url}: no ACK ({type(exc).__name__}: {exc})") from exc
    finally:
        client.close()
    return answer.decode("utf-8", errors="replace").strip("\x0b\x1c\r\n")


def feed_identity(run):
    """`HANDLERS["feed-identity"]`: diffuse the task's identity (see the module doc)."""
    task, extra = run.task, run.task.extra
    event, record = extra.get("event", "A28"), extra.get("record") or task.id
    if event not in STRUCTURES:
        raise ConfigError(f"task {task.id}: event {event!r} is not one of {', '.join(STRUCTURES)}")
    if event == "A40" and not extra.get("merge_from"):
        raise ConfigError(f"task {task.id}: A40 needs extra['merge_from'] (the record merged)")
    url = next(iter(run.config.pam_mllp or ()), None)
    if not url:
        raise ConfigError("no PAM listener to diffuse to: the configuration has no pam_mllp")
    traits, status, ins = dict(task.patient), "PROV", None
    if extra.get("qualify", True):
        identity = run.identity()  # INSi: code 00, or IdentityNotQualified (nothing diffused)
        traits = {"birth_name": identity.birth_name, "first_names": identity.first_names, "sex": identity.sex,
                  "birth_date": identity.birth_date, "birth_place": identity.birth_place}
        status, ins = "VALI", (identity.ins, identity.oid)
    elif run.defect == "ri-ins-unqualified":
        ins = local_patient_file(traits)
        if ins is not None:
            run.step("PAM: the INS of the local patient file sent with a provisional identity "
                     "(defect ri-ins-unqualified)")
    if run.defect == "ri-update-new-ipp" and event == "A31":
        record = f"{record}-again"  # the record's IPP drawn anew: the update names another patient
        run.step("PAM: the update sent under a new IPP (defect ri-update-new-ipp)")
    text = build_adt(event, record, traits, status=status, ins=ins, merge_from=extra.get("merge_from"),
                     control_id=f"RI-{task.id}")
    ack = send(url, text, run.config.timeout)
    code, errors = _ack_code(ack)
    run.step(f"PAM ADT^{event} of {ipp_of(record)} ({status}) to {url}: ACK {code}")
    if code != "AA":
        raise Refused(f"PAM listener answered {code} to ADT^{event}: {errors}")
    return Outcome(task.id, url, ins[0] if ins and status == "VALI" else None,
                   f"identity {ipp_of(record)} diffused (ADT^{event}, {status})", run.steps)
