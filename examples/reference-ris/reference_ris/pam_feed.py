"""The RIS as an IHE PAM FR identity consumer, and the report of a patient its identity domain fed it.

- `Listener`: an MLLP listener (python-hl7's asyncio MLLP server, `hl7.mllp.start_hl7_server`) that reads each
  ITI-30 message of the identification domain, integrates it into the RIS's patient file (`PatientFile`, a
  JSON file in the state directory) and answers an original-mode HL7 ACK: AA when integrated, AE with an ERR
  when the message names no patient, AR with an ERR for an event the RIS does not take (A08 is excluded in
  France, PAMFR §3). What it does with each event (PAMFR = IHE PAM National Extension FR v2.11.2):
  A28/A31 create or update the patient (the INS kept only when PID-32 says VALI, §6.6.15); A47 replaces the
  identifier named in MRG-1, or deletes the INS when PID-3 carries it as `""` (§4.4.3); A40 merges the
  patient of MRG-1 into PID-3's.
- `send_dmp` (the task `pam-send-dmp`): the report of the patient the task names by the domain's identifier
  (`extra["pam_patient_id"]`, `extra["pam_authority"]`), merges followed, under the identity held — and
  nothing when that identity is not qualified.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import hl7
from hl7.mllp import InvalidBlockError, start_hl7_server

from . import core, hl7_cda, lps
from .errors import IdentityNotQualified, RisError
from .identity import Identity
from .report import document_ids

log = logging.getLogger("reference_ris.pam")

QUALIFIED = "VALI"
DELETED = '""'  # HL7's explicit null: the INS repetition that deletes the INS (PAMFR §4.4.3)
EVENTS = ("A28", "A31", "A40", "A47")
APPLICATION = "REFERENCE-RIS"
#: the largest MLLP block read: python-hl7's asyncio reader keeps asyncio's 64 KiB by default, less than
#: an MDM carrying a CDA with its PDF in base64 (hl7_cda)
BLOCK_LIMIT = 16 * 1024 * 1024
_locks: dict[str, threading.Lock] = {}


# --- the patient file ---------------------------------------------------------------------------------------
class PatientFile:
    """The patients the identity domain fed, by `<authority>^<identifier>`, and the identifiers merged into
    another (`merged`). One JSON file, replaced whole at each change (the listener and the tasks share it)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / "pam-patients.json"
        self.lock = _locks.setdefault(str(self.path.resolve()), threading.Lock())

    def read(self) -> dict:
        if not self.path.is_file():
            return {"patients": {}, "merged": {}}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def write(self, data: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.directory, delete=False, suffix=".tmp",
                                         encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
        os.replace(handle.name, self.path)

    def patient(self, key: str) -> dict | None:
        """The patient an identifier names, following merges."""
        data = self.read()
        seen = set()
        while key in data["merged"] and key not in seen:
            seen.add(key)
            key = data["merged"][key]
        return data["patients"].get(key)


# --- reading a message --------------------------------------------------------------------------------------
def _get(message, key: str) -> str:
    try:
        return str(message[key])
    except (KeyError, IndexError):
        return ""


def _each(message, key: str) -> list[str]:
    values, number = [], 1
    while True:
        try:
            values.append(str(message[key.format(number)]))
        except (KeyError, IndexError):
            return values
        number += 1


def identifiers(message, segment: str) -> list[dict]:
    """The CX repetitions of PID-3 or MRG-1: value, namespace (CX-4.1), OID (CX-4.2), type (CX-5)."""
    field = "F3" if segment == "PID" else "F1"
    count = len(_each(message, f"{segment}.{field}.R{{}}.C1"))
    return [{"value": _get(message, f"{segment}.{field}.R{n}.C1"),
             "namespace": _get(message, f"{segment}.{field}.R{n}.C4.S1"),
             "oid": _get(message, f"{segment}.{field}.R{n}.C4.S2"),
             "type": _get(message, f"{segment}.{field}.R{n}.C5")} for n in range(1, count + 1)]


def _key(identifier: dict) -> str:
    return f"{identifier['namespace']}^{identifier['value']}"


def _iso_date(hl7_date: str) -> str:
    """PID-7 (YYYY[MM[DD]]…) as the RIS keeps dates (YYYY-MM-DD, 00 for an unknown part, as INSi)."""
    digits = (hl7_date[:8] + "00000000")[:8] if hl7_date else ""
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if digits else ""


def read_patient(message) -> dict:
    """The patient PID describes: the local identifier (PI), the INS (CX-5 INS, not `""`), the traits of the
    birth name (PID-5 type L), PID-7, PID-8, the birth place (PID-11 type BDL, XAD-9) and PID-32."""
    ids = identifiers(message, "PID")
    types = _each(message, "PID.F5.R{}.C7")
    name = types.index("L") + 1 if "L" in types else 1
    places = _each(message, "PID.F11.R{}.C7")
    place = _get(message, f"PID.F11.R{places.index('BDL') + 1}.C9") if "BDL" in places else ""
    ins = [i for i in ids if i["type"] == "INS"]
    return {"local": next((i for i in ids if i["type"] == "PI"), None),
            "ins": next(({"value": i["value"], "oid": i["oid"]} for i in ins if i["value"] != DELETED), None),
            "deletes_ins": any(i["value"] == DELETED for i in ins),
            "status": _each(message, "PID.F32.R{}"),
            "traits": {"birth_name": _get(message, f"PID.F5.R{name}.C1"),
                       # XPN-3 the birth first names, XPN-2 the first of them (PAMFR §6.6.2)
                       "first_names": _get(message, f"PID.F5.R{name}.C3")
                       or _get(message, f"PID.F5.R{name}.C2"),
                       "sex": _get(message, "PID.F8"),
                       "birth_date": _iso_date(_get(message, "PID.F7.R1.C1")),
                       "birth_place": place}}


# --- integrating --------------------------------------------------------------------------------------------
class Refusal(Exception):
    """The message is not integrated: MSA-1 `code`, with an ERR (HL7 table 0357 `error`, location)."""

    def __init__(self, code: str, error: str, location: str, text: str):
        super().__init__(text)
        self.code, self.error, self.location, self.text = code, error, location, text


def integrate(message, patients: PatientFile, defect: str | None = None) -> str:
    """Carry out one ITI-30 message on the patient file; returns what was done (raises `Refusal`)."""
    event = _get(message, "MSH.F9.R1.C2")
    if event not in EVENTS:
        raise Refusal("AR", "201", "MSH^1^9", f"event {event or '(none)'} is not an ITI-30 identity event "
                      "this RIS takes (A28, A31, A40, A47; A08 is excluded in France)")
    fed = read_patient(message)
    if fed["local"] is None:
        raise Refusal("AE", "101", "PID^1^3", "PID-3 names no patient identifier of type PI")
    key = _key(fed["local"])
    with patients.lock:
        data = patients.read()
        kept = data["patients"].get(key)
        done = _apply(event, fed, key, kept, message, data, defect)
        patients.write(data)
    return done


def _apply(event: str, fed: dict, key: str, kept: dict | None, message, data: dict,
           defect: str | None) -> str:
    qualified = QUALIFIED in fed["status"]
    if event == "A47":
        if defect == "pam-keeps-deleted":
            return "A47 ignored (defect pam-keeps-deleted)"
        for old in identifiers(message, "MRG"):
            if old["type"] == "PI" and _key(old) in data["patients"]:
                data["patients"][key] = data["patients"].pop(_key(old))
        record = data["patients"].setdefault(key, {"ins": None, "qualified": False, "traits": fed["traits"]})
        if fed["deletes_ins"]:
            record["ins"] = None
        record.update(status=fed["status"], qualified=qualified and record["ins"] is not None)
        return f"A47 on {key}" + (": INS deleted" if fed["deletes_ins"] else "")
    if event == "A40":
        if defect == "pam-merge-keeps-old":
            return "A40 ignored (defect pam-merge-keeps-old)"
        for old in identifiers(message, "MRG"):
            if old["type"] == "PI" and _key(old) != key:
                data["merged"][_key(old)] = key
                data["patients"].pop(_key(old), None)
    record = {"ins": None, "qualified": False, "traits": fed["traits"], "status": fed["status"]}
    if event == "A31" and kept and defect == "pam-ignore-update":
        record["traits"] = kept["traits"]  # the update's INS is taken, its traits are not
    if fed["ins"] and (qualified or defect == "pam-provisional-as-qualified"):
        record.update(ins=fed["ins"], qualified=True)
    data["patients"][key] = record
    kept_ins = f"qualified INS {fed['ins']['value']}" if record["ins"] else "no INS kept"
    return f"{event} on {key}: {kept_ins}"


# --- acknowledging ------------------------------------------------------------------------------------------
def acknowledgement(message, code: str, error: tuple[str, str, str] | None = None):
    """The original-mode ACK (HL7 v2.5 §2.9): python-hl7's `create_ack` (MSH swapped, MSH-9 ACK^<event>^ACK,
    MSA-1/2), with one ERR when `error` = (table 0357 code, ERL location, text)."""
    ack = message.create_ack(code, application=APPLICATION)
    if error is None:
        return ack
    number, location, text = error
    severity = "E"
    err = f"ERR||{location}|{number}^^HL70357|{severity}||||{hl7_text(text)}"
    return hl7.parse(str(ack).rstrip("\r") + "\r" + err)


def hl7_text(text: str) -> str:
    """Free text inside a field: the delimiters escaped (HL7 v2.5 §2.7)."""
    escapes = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
    return "".join(escapes.get(c, c) for c in text)


def answer(message, patients: PatientFile, defect: str | None = None):
    """Integrate one message and build its ACK (an ORU/MDM/ZAM of the CDA transport volet: `hl7_cda`)."""
    if lps.is_lps(message):  # an MDM of the LPS volet, the DPI as its consumer
        return lps.answer(message, patients.directory, defect)
    if hl7_cda.is_volet(message):
        return hl7_cda.answer(message, patients.directory, defect)
    try:
        done = integrate(message, patients, defect)
    except Refusal as refusal:
        log.info("PAM: %s refused: %s", refusal.code, refusal.text)
        return acknowledgement(message, refusal.code, (refusal.error, refusal.location, refusal.text))
    log.info("PAM: %s", done)
    if defect == "pam-ack-ae":  # integrated, but said in error
        return acknowledgement(message, "AE", ("207", "MSH^1^10", "application error (defect pam-ack-ae)"))
    return acknowledgement(message, "AA")


class Listener:
    """The MLLP listener, on its own thread and event loop; `url` is what the RIS announces to the harness."""

    def __init__(self, state_dir: str | os.PathLike, defect: str | None = None, host: str = "127.0.0.1",
                 port: int = 0):
        self.patients = PatientFile(state_dir)
        self.defect, self.host, self.port = defect, host, port
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.server = None

    @property
    def url(self) -> str:
        return f"mllp://{self.host}:{self.port}"

    def start(self) -> Listener:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                self.server = self.loop.run_until_complete(
                    start_hl7_server(self._client, self.host, self.port, encoding="utf-8", limit=BLOCK_LIMIT))
                self.port = self.server.sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001 - said to the thread that started the listener
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                self.loop.run_forever()
            finally:
                self.server.close()
                self.loop.run_until_complete(self.server.wait_closed())
                self.loop.close()

        self.thread = threading.Thread(target=serve, name="reference-ris-pam", daemon=True)
        self.thread.start()
        ready.wait(10)
        if failure:
            raise RisError(f"the PAM listener cannot start on {self.host}:{self.port}: {failure[0]}")
        return self

    def stop(self) -> None:
        if self.loop is not None and self.thread is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

    async def _client(self, reader, writer) -> None:
        try:
            while not reader.at_eof():
                try:
                    message = await reader.readmessage()
                except (asyncio.IncompleteReadError, InvalidBlockError, UnicodeDecodeError, ValueError):
                    break  # not an MLLP block this RIS can read: the connection is closed
                try:
                    reply = answer(message, self.patients, self.defect)
                except Exception as exc:  # noqa: BLE001 - answered AR, the listener goes on
                    log.exception("PAM: the RIS failed on a message")
                    reply = acknowledgement(message, "AR", ("207", "MSH", f"{type(exc).__name__}: {exc}"))
                if reply is None:  # nothing to answer (hl7_cda: defect hl7-relay-no-ack): hung up
                    break
                writer.writemessage(reply)
                await writer.drain()
        finally:
            writer.close()


# --- the task -----------------------------------------------------------------------------------------------
def send_dmp(run) -> core.Outcome:
    """`pam-send-dmp`: the report of the patient the feed named, under the identity the RIS holds."""
    extra = run.task.extra
    key = f"{extra.get('pam_authority', '')}^{extra.get('pam_patient_id', '')}"
    patient = PatientFile(run.config.state_dir).patient(key)
    if patient is None:
        raise RisError(f"no patient {key} in the patient file: the identity domain never fed it")
    if not patient["qualified"] or not patient["ins"]:
        raise IdentityNotQualified(f"patient {key}: its identity is not qualified (PID-32 "
                                   f"{'~'.join(patient.get('status') or []) or 'empty'}, no INS kept): "
                                   "not sent to the DMP")
    traits = patient["traits"]
    identity = Identity(patient["ins"]["value"], patient["ins"]["oid"], traits["birth_name"],
                        traits["first_names"], traits["sex"], traits["birth_date"],
                        traits["birth_place"] or None)
    run.step(f"identity: patient {key} of the PAM feed, INS {identity.ins} (qualified by its domain)")
    sent_to = run.to_dmp(identity)
    if run.document is not None:
        run.state.remember_document(run.task.id, document_ids(run.document), identity)
    return core.Outcome(run.task.id, sent_to, identity.ins, f"{run.task.kind} report #{run.task.report_no} "
                        f"sent to {sent_to}", run.steps)
