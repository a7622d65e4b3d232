"""The reference DPI and PFI on the CI-SIS volet "Transmission de documents CDA-R2 en HL7v2" (TRANS: ANS, IG
v2.1, ansforge/IG-hl7v2-volet-transmission-document-cda-r2 @ b5f6ca13, `profils-messages.md`; examples in
ansforge/hl7V2-exemples @ 60339877, `Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/`).

- DPI, `hl7-send-pfi`: the patient searched in INSi, the report built, then handed to the PFI as an
  MDM^T02^MDM_T02 (HL7 2.6, MSH-21 `2.1^CISIS_CDA_HL7_V2`): PID-3 the INS (CX-5 INS, PID-32 VALI), TXA-12
  the document id, the CDA in base64 in OBX-5 (`^text^XML^Base64^…`), PRT SB the author, PRT RCT per
  MSSanté recipient, the DMP/MSSanté metadata OBX. Sent with python-hl7's MLLP client to the PFI: here the
  harness's CDA transport listener (`endpoints["pam"]["cda_mllp"]`); an ACK other than AA is a failure.
- DPI, `hl7-take-returns`: the ZAM business returns (Z01 DMP, Z02 MSSanté) the listener received about the
  message of `extra["of_task"]`, reported.
- PFI, `hl7-relay`: the MDM/ORU of `extra["control_id"]` the listener received and acknowledged: its CDA
  filed in the DMP as is (the author of PRT SB: the task's author) and sent by MSSanté to each PRT RCT
  address, then a ZAM^Z01 (DMP reception) and a ZAM^Z02 per delivered message returned to the producer (the
  same listener of the harness).
- `answer`: what the RIS's MLLP listener (`pam_feed.Listener`) does with an ORU/MDM (kept, ACK AA) or a ZAM
  (kept, ACK AA).

Seeded defects: `hl7-txa-wrong-id` (TXA-12 the setId, not the document id), `hl7-pid-without-ins` (PID-3 the
IPP only, though the identity is qualified), `hl7-zam-refused` (answers AE to the PFI's returns),
`hl7-relay-no-ack` (keeps the producer's MDM but closes without an ACK), `hl7-relay-dmp-only` (feeds the
DMP, never sends by MSSanté), `hl7-relay-no-returns` (never returns the outcomes).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
from lxml import etree

from segur.kernel.ins import INS_OIDS, Ins

from . import dmp, lookup, mssante, psc, volets
from .errors import ConfigError, Refused, RisError
from .identity import Identity
from .outcome import Outcome
from .report import author_of, document_ids
from .ri_feed import send

TRANSPORT, RETURN = ("ORU", "MDM"), "ZAM"
PROFILE = "2.1^CISIS_CDA_HL7_V2"
#: the DMP/MSSanté metadata OBX of TRANS (meta-dmp-mss.md), in its order
METADATA = ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "CONNEXION_SECRETE", "MODIF_CONF_CODE",
            "DESTDMP", "DESTMSSANTEPS", "DESTMSSANTEPAT", "ACK_RECEPTION", "ACK_LECTURE_MSS")
IPP_AUTHORITY = ("REFERENCE-DPI", "2.25.318114372361219094219127426612049136213")


# --- the messages kept by the listener ----------------------------------------------------------------------
def _folder(state_dir) -> Path:
    return Path(state_dir) / "hl7-cda"


def _keep(state_dir, kind: str, control_id: str, text: str) -> None:
    folder = _folder(state_dir) / kind
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8") as out:
        out.write(text)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in control_id) or "none"
    os.replace(out.name, folder / f"{safe}.er7")


def _kept(state_dir, kind: str) -> list:
    """The messages kept, parsed (python-hl7 writes a message's segments separated by newlines)."""
    folder = _folder(state_dir) / kind
    paths = sorted(folder.glob("*.er7")) if folder.is_dir() else []
    texts = (path.read_text(encoding="utf-8").replace("\r\n", "\r").replace("\n", "\r") for path in paths)
    return [hl7.parse(text.strip("\r")) for text in texts]


def acknowledgement(message, code: str, error: tuple[str, str, str] | None = None):
    """The original-mode ACK (TRANS "Le message d'acquittement"): python-hl7's `create_ack` (MSH swapped,
    MSH-9 ACK^<event>^ACK, MSH-12 the message's version, MSA-1/2), MSH-17/18 as TRANS asks, one ERR when
    `error` = (HL7 table 0357 code, ERL location, text)."""
    ack = message.create_ack(code, application="REFERENCE-RIS")
    fields = str(ack.segment("MSH")).split("|")
    fields += [""] * (18 - len(fields))
    fields[16], fields[17] = "FRA", "UNICODE UTF-8"
    segments = ["|".join(fields)] + [str(segment) for segment in ack if str(segment[0]) != "MSH"]
    if error is not None:
        number, location, text = error
        segments.append(f"ERR||{location}|{number}^^HL70357|E||||{_escape(text)}")
    return hl7.parse("\r".join(segments))


def answer(message, state_dir, defect: str | None = None):
    """An ORU/MDM or ZAM on the RIS's MLLP listener: kept, and its ACK (None: close without answering)."""
    kind = str(message.segment("MSH")[9][0][0]) if message.segment("MSH")[9] else ""
    control_id = str(message.segment("MSH")[10])
    if kind in TRANSPORT:
        _keep(state_dir, "received", control_id, str(message))
        if defect == "hl7-relay-no-ack":
            return None
        return acknowledgement(message, "AA")
    _keep(state_dir, "returns", control_id, str(message))
    if defect == "hl7-zam-refused":
        refused = ("207", "MSH^1^9", "returns not handled (defect hl7-zam-refused)")
        return acknowledgement(message, "AE", refused)
    return acknowledgement(message, "AA")


def is_volet(message) -> bool:
    try:
        return str(message.segment("MSH")[9][0][0]) in (*TRANSPORT, RETURN)
    except (KeyError, IndexError):
        return False


# --- the DPI ------------------------------------------------------------------------------------------------
def _listener(run) -> str:
    urls = ((run.config.endpoints or {}).get("pam") or {}).get("cda_mllp") or []
    if not urls:
        raise ConfigError("no PFI to hand the document to: the stack's endpoints name no CDA transport "
                          "listener (pam cda_mllp)")
    return urls[0]


def _escape(text: str) -> str:
    escapes = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
    return "".join(escapes.get(c, c) for c in text)


def build_mdm(run, identity: Identity, document: bytes, control_id: str) -> str:
    """The MDM^T02 handing the report to the PFI (see the module doc)."""
    professional, organisation = author_of(run.task)
    ids = document_ids(document)
    root, _, extension = ids["id"].partition("^")
    txa12 = f"{extension}^^{root}^ISO" if extension else root
    if run.defect == "hl7-txa-wrong-id":
        txa12 = ids["set_id"]
    now = datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y%m%d%H%M%S")
    ipp = f"IPP{identity.nir[-8:]}^^^{IPP_AUTHORITY[0]}&{IPP_AUTHORITY[1]}&ISO^PI"
    kind = "NIA" if INS_OIDS.get(identity.oid, "").startswith("NIA") else "NIR"
    cx = [ipp] if run.defect == "hl7-pid-without-ins" else \
        [ipp, f"{identity.ins}^^^ASIP-SANTE-INS-{kind}&{identity.oid}&ISO^INS"]
    first = (identity.first_names.split() or [""])[0]
    place = f"^^^^^^BDL^^{identity.birth_place}" if identity.birth_place else ""
    name = f"{_escape(identity.birth_name)}^{_escape(first)}^{_escape(identity.first_names)}^^^^L"
    born = identity.birth_date.replace("-", "")
    pid = ["PID", "1", "", "~".join(cx), "", name, "", born, identity.sex, "", "", place]
    pid += [""] * 20 + ["VALI"]  # PID-32: qualified
    code, label = volets.type_code(run.task.kind), volets.label(run.task.kind)
    recipients = list(run.task.extra.get("mss_to") or [])
    values = {name: "N" for name in METADATA}
    values.update(DESTDMP="Y", DESTMSSANTEPS="Y" if recipients else "N", ACK_RECEPTION="Y")
    segments = [
        f"MSH|^~\\&|REFERENCE-DPI|{organisation.finess}|PFI|{organisation.finess}|{now}||MDM^T02^MDM_T02|"
        f"{control_id}|P|2.6|||||FRA|UNICODE UTF-8|||{PROFILE}",
        f"EVN||{now}", "|".join(pid), "PV1|1|N", "ORC|NW", f"OBR|1|||{code}^{_escape(label)}^LN",
        f"TXA|1|{code}|TEXT|{now}||||||||{txa12}|||||AU",
        f"OBX|1|ED|{code}^{_escape(label)}^LN||^text^XML^Base64^{base64.b64encode(document).decode()}||||||F",
        f"PRT||UC||SB^Send by^participation|{professional.idnps}^{_escape(professional.family_name)}^"
        f"{_escape(professional.given_name)}^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS|||"
        f"{_escape(organisation.name)}^^^^^ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO^FINEG^^^{organisation.finess}"]
    segments += [f"PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^{r}" for r in recipients]
    segments += [f"OBX|{n}|CWE|{name}^{name}^MetaDMPMSS||{value}^^expandedYes-NoIndicator||||||F"
                 for n, (name, value) in enumerate(values.items(), start=2)]
    return "\r".join(segments)


def _ack(text: str) -> tuple[str, str]:
    parsed = hl7.parse(text.replace("\n", "\r"))
    errors = [str(segment) for segment in parsed if str(segment[0]) == "ERR"]
    return str(parsed.segment("MSA")[1]), "; ".join(errors)


def _sent_file(run) -> Path:
    return _folder(run.config.state_dir) / "sent.json"


def send_to_pfi(run) -> Outcome:
    """`hl7-send-pfi` (see the module doc)."""
    identity = run.identity()  # INSi: 00, or IdentityNotQualified
    document = run.report(identity)
    control_id = f"DPI-{run.task.id}"
    url = _listener(run)
    ack = send(url, build_mdm(run, identity, document, control_id), run.config.timeout)
    code, errors = _ack(ack)
    run.step(f"HL7v2 MDM^T02 {control_id} to the PFI {url}: ACK {code}")
    if code != "AA":
        raise Refused(f"the PFI answered {code} to the MDM: {errors}")
    sent = json.loads(_sent_file(run).read_text(encoding="utf-8")) if _sent_file(run).is_file() else {}
    sent[run.task.id] = control_id
    _sent_file(run).parent.mkdir(parents=True, exist_ok=True)
    _sent_file(run).write_text(json.dumps(sent), encoding="utf-8")
    return Outcome(run.task.id, "PFI", identity.ins, f"{run.task.kind} report handed to the PFI (MDM^T02 "
                   f"{control_id})", run.steps)


def take_returns(run) -> Outcome:
    """`hl7-take-returns`: the returns the listener kept about the message of `extra["of_task"]`."""
    of_task = run.task.extra.get("of_task") or ""
    sent = json.loads(_sent_file(run).read_text(encoding="utf-8")) if _sent_file(run).is_file() else {}
    control_id = sent.get(of_task)
    if not control_id:
        raise RisError(f"no message handed to the PFI for task {of_task!r}")
    said = []
    for message in _kept(run.config.state_dir, "returns"):
        obx = [segment for segment in message if str(segment[0]) == "OBX"]
        if obx and str(obx[0][4]) == control_id:
            event = str(message.segment("MSH")[9][0][1])
            address = str(obx[1][5][0][3]) if len(obx) > 1 and len(obx[1]) > 5 else ""
            said.append(f"{event} {str(obx[0][5][0][0])}{' ' + address if address else ''}")
    if not said:
        raise Refused(f"the PFI returned no outcome for {control_id}")
    run.step(f"returns of {control_id}: {', '.join(said)}")
    return Outcome(run.task.id, "PFI", None, f"outcomes of {control_id}: {', '.join(said)}", run.steps)


# --- the PFI ------------------------------------------------------------------------------------------------
def _received(run, control_id: str):
    for message in _kept(run.config.state_dir, "received"):
        if str(message.segment("MSH")[10]) == control_id:
            return message
    return None


def _values(field) -> list[str]:
    return [str(repetition) for repetition in field] if isinstance(field, hl7.Field) else [str(field)]


def _identity(message) -> Identity:
    pid = message.segment("PID")
    ins = next((r for r in str(pid[3]).split("~") if r.split("^")[4:5] == ["INS"]), None)
    if ins is None or "VALI" not in str(pid[32]).split("~"):
        raise RisError("the MDM names no qualified INS (PID-3 INS with PID-32 VALI): not fed to the DMP")
    name = str(pid[5]).split("~")[0].split("^")
    born = str(pid[7])
    place = next((p.split("^")[8] for p in str(pid[11]).split("~") if p.split("^")[6:7] == ["BDL"]), None)
    parts = ins.split("^")
    return Identity(parts[0], parts[3].split("&")[1], name[0], name[2] if len(name) > 2 else name[1],
                    str(pid[8]), f"{born[:4]}-{born[4:6]}-{born[6:8]}", place)


def _return(run, url: str, event: str, code: str, answers: str, ok: bool, address: str = "") -> None:
    now = datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y%m%d%H%M%S")
    control = f"PFI-{event}-{abs(hash((answers, address))) % 10**8}"
    status = "Y" if ok else "N"
    segments = [f"MSH|^~\\&|REFERENCE-PFI|PFI|PRODUCER|PRODUCER|{now}||ZAM^{event}^ZAM_Z01|{control}|P|2.6"
                f"|||||FRA|UNICODE UTF-8|||{PROFILE}", f"EVN||{now}",
                f"OBX|1|CWE|{code}^{code}^AckMetierZAM|{answers}|{status}^^expandedYes-NoIndicator||||||F"]
    if address:
        role = "DESTINATAIRE_MSS^Destinataire MSSanté^AckMetierZAM"
        segments.append(f"OBX|2|XTN|{role}||^^X.400^{address}||||||F")
    if not ok:
        segments.append("ERR|||207^Application internal error^messageErrorCondition|E")
    reply, _errors = _ack(send(url, "\r".join(segments), run.config.timeout))
    run.step(f"HL7v2 ZAM^{event} about {answers}{' for ' + address if address else ''} to {url}: ACK {reply}")


def relay(run) -> Outcome:
    """`hl7-relay` (see the module doc)."""
    control_id = run.task.extra.get("control_id") or ""
    message = _received(run, control_id)
    if message is None:
        raise RisError(f"no MDM/ORU {control_id!r} was received on the listener")
    identity = _identity(message)
    first = next(segment for segment in message if str(segment[0]) == "OBX")
    document = base64.b64decode("".join(str(first[5]).split("^")[4].split()))
    run.document = document
    professional, organisation = author_of(run.task)
    client = dmp.client_for(run.config, professional, organisation)
    ins = Ins(identity.ins, identity.oid)
    dmp.check_dmp(client, ins)
    dmp.send(client, document)
    run.step(f"DMP ITI-41 of the document of {control_id}: accepted")
    delivered = []
    recipients = [str(prt[15]).split("^")[3] for prt in message if str(prt[0]) == "PRT"
                  and str(prt[4]).startswith("RCT") and len(str(prt[15]).split("^")) > 3]
    if run.defect != "hl7-relay-dmp-only":
        # FROM: the platform's application mailbox (TRANS mapping-mss.md), the one the task names
        sender = run.task.sender or run.task.extra.get("mailbox") or run.config.sender
        if not sender:
            raise ConfigError("no sending mailbox: the task names none and the configuration has no sender")
        code = _document_code(document)  # a platform relays what it is handed: the CDA's own type code
        for recipient in recipients:
            mail = mssante.build_message(sender, recipient, document, identity, code, nil=run.config.nil)
            context = lookup.tls_context(run.config, run.step, None)
            psc.present_org_certificate(run, context)
            mssante.send(run.config, mail, sender, recipient, context)
            run.step(f"MSSanté: the document of {control_id} sent to {recipient}")
            delivered.append(recipient)
    if run.defect != "hl7-relay-no-returns":
        url = _listener(run)
        _return(run, url, "Z01", "ACK_RECEPTION_DMP", control_id, True)
        for recipient in delivered:
            _return(run, url, "Z02", "ACK_RECEPTION_MSS", control_id, True, recipient)
    return Outcome(run.task.id, "DMP", identity.ins, f"document of {control_id} relayed to the DMP and "
                   f"{len(delivered)} MSSanté recipient(s)", run.steps)


HANDLERS = {"hl7-send-pfi": send_to_pfi, "hl7-take-returns": take_returns, "hl7-relay": relay}


def _document_code(document: bytes) -> str:
    """The CDA's type (ClinicalDocument/code/@code), which the X-MSS-CODECDA header repeats."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.xpath("/h:ClinicalDocument/h:code/@code", namespaces={"h": "urn:hl7-org:v3"})
    return str(found[0]) if found else ""
