"""The reference DPI and PFI on the CI-SIS volet "Transmission au LPS de documents CDA provenant d'un courriel
MSSanté" (LPS: ANS IG, Trial Implementation, ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss @ bb83dc2,
`profils-messages.md`, `error-codes.md`, `struct-msg-mdn.md`; examples in ansforge/hl7V2-exemples @ 6033987).

- DPI, the consumer (`answer`, on the RIS's MLLP listener: an MDM whose MSH-21 names CISIS_CDA_HL7_LPS): the
  CDA of the first OBX is read; no INS among its recordTarget ids → AE, ERR-3 207, ERR-5 903; an INS none of
  the DPI's INSi-qualified identities carries → AE 902; a T10 whose TXA-13, or a T04 whose TXA-12, names no
  current document → AE 900; else the document is integrated (T02), replaces the version TXA-13 names (T10)
  or is deleted (T04), and the ACK is AA (MSH-9 ACK^<event>^ACK, MSA-2 the MDM's MSH-10). The documents are
  kept in `<state>/lps/documents.json`; the task `lps-integrate` reports them as `{"lps": [...]}`.
- PFI, the platform (`relay_mail`, task `lps-relay-mail`): reads its application mailbox over IMAP (the
  inbox module's session), hands each CDA of each IHE_XDM.ZIP, as received, to the consumer — the harness's
  CDA listener (`endpoints["pam"]["cda_mllp"]`) — as an MDM^T02 of the volet (PID-3 the CDA's INS with VALI,
  PRT SB the e-mail's sender, PRT RCT the mailbox, the e-mail OBX, the four metadata OBX), and answers a
  message asking a read receipt with the volet's MDN: `processed` and the original subject after AA,
  `processed/Error: <ERR-5.1>^<ERR-5.2>` and `[KO Intégration système !][<code>] <subject>` otherwise.

Seeded defects: `lps-ack-aa-without-ins` (the DPI answers AA to an MDM whose CDA has no INS, and keeps
nothing), `lps-replace-keeps-old` (on a T10 the DPI keeps the replaced version current beside the new one),
`lps-cda-reencoded` (the PFI hands over the CDA re-serialised, not the bytes received),
`lps-mdn-processed-after-ae` (the PFI answers `processed` whatever the consumer's ACK).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
from lxml import etree

from segur.kernel.ins import INS_OIDS

from . import inbox, lookup, mssante, psc
from .errors import RisError
from .hl7_cda import _escape, _listener, acknowledgement
from .outcome import Outcome
from .ri_feed import send

PROFILE = "CISIS_CDA_HL7_LPS"
#: the volet's applicationErrorCode table (error-codes.md), ERR-5 with ERR-3 207
ERRORS = {"900": "Version du document incorrecte lors d'une demande de remplacement/suppression",
          "902": "Identifiant patient inconnu", "903": "INS non présent dans le document"}
METADATA = ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "MODIF_CONF_CODE")
HL7NS = {"h": "urn:hl7-org:v3"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def is_lps(message) -> bool:
    try:
        msh = str(message.segment("MSH")).split("|")
    except KeyError:
        return False
    return len(msh) > 20 and msh[8].startswith("MDM^") and (msh[20].split("^") + [""])[1].strip() == PROFILE


# --- the DPI: the consumer ----------------------------------------------------------------------------------
class NotIntegrated(Exception):
    def __init__(self, code: str, location: str):
        super().__init__(code)
        self.code, self.location = code, location


def _store(state_dir) -> Path:
    return Path(state_dir) / "lps" / "documents.json"


def _documents(state_dir) -> dict:
    path = _store(state_dir)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _save(state_dir, documents: dict) -> None:
    path = _store(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(documents, indent=1), encoding="utf-8")
    path.with_suffix(".tmp").replace(path)


def document_facts(document: bytes) -> dict:
    """The CDA's id, setId (`root^extension` or the root), version and recordTarget INS."""
    root = etree.fromstring(document, _PARSER)

    def ii(path: str) -> str | None:
        found = root.find(path, HL7NS)
        if found is None:
            return None
        root_oid, extension = found.get("root"), found.get("extension")
        return f"{root_oid}^{extension}" if extension else root_oid

    version = root.find("h:versionNumber", HL7NS)
    ins = next((i for i in root.iterfind("h:recordTarget/h:patientRole/h:id", HL7NS)
                if i.get("root") in INS_OIDS and i.get("extension")), None)
    return {"id": ii("h:id"), "set_id": ii("h:setId"), "version": version.get("value") if version is not None
            else None, "ins": ins.get("extension") if ins is not None else None,
            "ins_oid": ins.get("root") if ins is not None else None}


def _txa_id(value: str) -> str:
    """TXA-12/13 (`ext^^root^ISO`, or the root) as `root^ext` / the root."""
    parts = value.split("^")
    return f"{parts[2]}^{parts[0]}" if len(parts) > 2 and parts[2] else parts[0]


def _carried(message) -> bytes:
    first = next(segment for segment in message if str(segment[0]) == "OBX")
    return base64.b64decode("".join(str(first[5]).split("^")[4].split()), validate=True)


def _known_ins(state_dir) -> set[str]:
    path = Path(state_dir) / "state.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {i["ins"] for i in (data.get("identities") or {}).values() if i.get("qualified", True)}


def _integrate(message, state_dir, defect: str | None) -> str:
    """Carry out the MDM on the documents kept; what was done (NotIntegrated: the volet's error code)."""
    event = str(message.segment("MSH")[9][0][1])
    facts = document_facts(_carried(message))
    if not facts["ins"]:
        if defect == "lps-ack-aa-without-ins":
            return f"{facts['id']} not integrated (no INS), answered AA (defect lps-ack-aa-without-ins)"
        raise NotIntegrated("903", "PID^1^3")
    if facts["ins"] not in _known_ins(state_dir):
        raise NotIntegrated("902", "PID^1^3")
    txa = str(message.segment("TXA")).split("|")
    documents = _documents(state_dir)
    if event == "T04":
        kept = documents.get(_txa_id(txa[12]))
        if not kept or kept["status"] != "current":
            raise NotIntegrated("900", "TXA^1^12")
        kept["status"] = "deleted"
    else:
        if event == "T10":
            parent = documents.get(_txa_id(txa[13]) if len(txa) > 13 else "")
            if not parent or parent["status"] != "current":
                raise NotIntegrated("900", "TXA^1^13")
            if defect != "lps-replace-keeps-old":
                parent["status"] = "replaced"
        documents[facts["id"]] = {"id": facts["id"], "set_id": facts["set_id"], "version": facts["version"],
                                  "ins": facts["ins"], "status": "current"}
    _save(state_dir, documents)
    return f"{event} {facts['id']} for INS {facts['ins']}"


def answer(message, state_dir, defect: str | None = None):
    """The ACK of an MDM of the volet, once carried out (module doc)."""
    try:
        _integrate(message, state_dir, defect)
    except NotIntegrated as refused:
        ack = acknowledgement(message, "AE")
        err = (f"ERR||{refused.location}|207^Application error^HL70357|E|{refused.code}^"
               f"{_escape(ERRORS[refused.code])}^applicationErrorCode")
        return hl7.parse(str(ack).rstrip("\r") + "\r" + err)
    except (ValueError, KeyError, IndexError, StopIteration, etree.XMLSyntaxError) as exc:
        ack = acknowledgement(message, "AE")
        err = f"ERR||OBX^1^5|102^Data type error^HL70357|E||||{_escape(f'{type(exc).__name__}: {exc}')}"
        return hl7.parse(str(ack).rstrip("\r") + "\r" + err)
    return acknowledgement(message, "AA")


class LpsOutcome(Outcome):
    def __init__(self, *args, lps: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.lps = lps

    def to_dict(self) -> dict:
        return {**super().to_dict(), "lps": self.lps}


def integrated(run) -> Outcome:
    """`lps-integrate`: the documents held from the volet (the listener carried out the MDM already)."""
    documents = list(_documents(run.config.state_dir).values())
    run.step(f"{len(documents)} document(s) received from the PFI: "
             + ", ".join(f"{d['id']} {d['status']}" for d in documents))
    return LpsOutcome(run.task.id, "DPI", None, f"{len(documents)} document(s) from the LPS volet", run.steps,
                      lps=documents)


# --- the PFI: the platform ----------------------------------------------------------------------------------
def _cdas(message) -> list[bytes]:
    for part in message.iter_attachments():
        if (part.get_filename() or "").upper() != "IHE_XDM.ZIP":
            continue
        with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True) or b"")) as archive:
            return [data for name in sorted(archive.namelist()) if name.upper().endswith(".XML")
                    and not name.upper().endswith("METADATA.XML")
                    for data in [archive.read(name)] if b"ClinicalDocument" in data[:4096]]
    return []


def build_mdm(document: bytes, message, mailbox: str, control_id: str) -> str:
    """The MDM^T02 of the volet handing `document` of the e-mail `message` to the consumer (module doc)."""
    root = etree.fromstring(document, _PARSER)
    facts = document_facts(document)
    root_id, _, extension = facts["id"].partition("^")
    txa12 = f"{extension}^^{root_id}^ISO" if extension else root_id
    patient = root.find("h:recordTarget/h:patientRole/h:patient", HL7NS)
    family = next((f.text or "" for f in patient.iterfind("h:name/h:family", HL7NS)), "")
    givens = " ".join(g.text or "" for g in patient.iterfind("h:name/h:given", HL7NS))
    name = f"{_escape(family)}^{_escape((givens.split() or [''])[0])}^{_escape(givens)}^^^^L"
    born = (patient.find("h:birthTime", HL7NS).get("value") or "")[:8]
    sex = patient.find("h:administrativeGenderCode", HL7NS).get("code") or ""
    code = root.find("h:code", HL7NS)
    type_code, label = code.get("code"), _escape(code.get("displayName") or "")
    kind = "NIA" if INS_OIDS.get(facts["ins_oid"] or "", "").startswith("NIA") else "NIR"
    pid3 = f"{facts['ins']}^^^ASIP-SANTE-INS-{kind}&{facts['ins_oid']}&ISO^INS"
    now = datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y%m%d%H%M%S")
    sender = getaddresses([str(message.get("From") or "")])[0][1]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    mail_id, subject = str(message.get("Message-ID") or "").strip(), str(message.get("Subject") or "")
    segments = [
        f"MSH|^~\\&|REFERENCE-PFI|PFI|DPI|DPI|{now}||MDM^T02^MDM_T02|{control_id}|P|2.6|||||FRA|UNICODE UTF-8"
        f"|||1.1^{PROFILE}", f"EVN||{now}",
        f"PID|||{pid3}||{name}||{born}|{sex}" + "|" * 24 + "VALI",
        "PV1|1|N", "ORC|NW", f"OBR|1|||{type_code}^{label}^LN",
        f"TXA|1|{type_code}|TEXT|{now}||||||||{txa12}|||||AU",
        f"OBX|1|ED|{type_code}^{label}^LN||^text^XML^Base64^{base64.b64encode(document).decode()}||||||F",
        f"PRT||UC||SB^Send by^participation|||||||||||^^X.400^{sender}",
        f"PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^{mailbox}",
        f"OBX|2|ED|{_escape(mail_id)}^{_escape(subject)}||^text^^Base64^"
        f"{base64.b64encode(text.encode('utf-8')).decode()}||||||F"]
    segments += [f"OBX|{n}|CWE|{name}^{name}^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F"
                 for n, name in enumerate(METADATA, start=3)]
    return "\r".join(segments)


def _ack(text: str) -> tuple[str, str, str]:
    """MSA-1 and the application error (ERR-5.1, ERR-5.2) of the consumer's ACK."""
    parsed = hl7.parse(text.replace("\n", "\r"))
    errors = [str(segment).split("|") for segment in parsed if str(segment[0]) == "ERR"]
    code = next((e[5].split("^") for e in errors if len(e) > 5 and e[5]), ["", ""])
    return str(parsed.segment("MSA")[1]), code[0], code[1] if len(code) > 1 else ""


def build_mdn(mailbox: str, message, ack: tuple[str, str, str], raw: bytes,
              defect: str | None) -> EmailMessage:
    """The volet's MDN (struct-msg-mdn.md; RFC 8098): multipart/report with the human part, the
    message/disposition-notification part and the original message."""
    code, error, label = ack
    subject = str(message.get("Subject") or "")
    to = getaddresses([str(message.get("Disposition-Notification-To") or "")])[0][1]
    disposition = "automatic-action/MDN-sent-automatically; processed"
    text = "Le document a été intégré automatiquement dans le système destinataire.\n"
    if code != "AA" and defect != "lps-mdn-processed-after-ae":
        disposition += f"/Error: {error}^{label}"
        subject = f"[KO Intégration système !][{error}] {subject}"
        text = ("Le message ci-dessous n'a pas pu être intégré automatiquement dans le DPI pour la raison "
                f"suivante : {error}^{label}\n")
    mdn = EmailMessage()
    mdn["From"], mdn["To"], mdn["Subject"] = mailbox, to, subject
    mdn["Date"] = format_datetime(datetime.now(ZoneInfo("UTC")))
    mdn["Message-ID"] = make_msgid(domain=mailbox.rpartition("@")[2] or "reference-pfi.local")
    mdn["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    mdn.set_content(text)
    fields = [f"Original-Recipient: rfc822;{mailbox}", f"Final-Recipient: rfc822;{mailbox}",
              f"Original-Message-ID: {str(message.get('Message-ID') or '').strip()}",
              f"Disposition: {disposition}"]
    mdn.make_mixed()
    raw_part = ("Content-Type: message/disposition-notification\r\n\r\n" + "\r\n".join(fields) + "\r\n")
    mdn.attach(message_from_bytes(raw_part.encode(), policy=policy.default))
    mdn.attach(message_from_bytes(b"Content-Type: message/rfc822\r\n\r\n" + raw, policy=policy.default))
    mdn.set_type("multipart/report")
    mdn.set_param("report-type", "disposition-notification")
    return mdn


class _Mailbox(inbox.Inbox):
    """The inbox module's IMAP session, each message kept as read (the PFI integrates nothing itself)."""

    def __init__(self, run):
        super().__init__(run)
        self.read_messages: list = []

    def take(self, message) -> None:
        self.read_messages.append(message)


def relay_mail(run) -> Outcome:
    """`lps-relay-mail` (module doc)."""
    mailbox = _Mailbox(run)
    mailbox.read()
    url = _listener(run)
    done = []
    for number, message in enumerate(mailbox.read_messages, start=1):
        for document in _cdas(message):
            if run.defect == "lps-cda-reencoded":  # parsed and written again: not the bytes received
                document = etree.tostring(etree.fromstring(document, _PARSER), encoding="UTF-8")
                run.step("CDA re-serialised before the MDM (defect lps-cda-reencoded)")
            control_id = f"PFI-LPS-{run.task.id}-{number}"
            mdm = build_mdm(document, message, mailbox.mailbox, control_id)
            ack = _ack(send(url, mdm, run.config.timeout))
            run.step(f"HL7v2 MDM^T02 {control_id} to the consumer {url}: ACK {ack[0]} {ack[1]}".rstrip())
            done.append(ack)
            if message.get("Disposition-Notification-To"):
                mdn = build_mdn(mailbox.mailbox, message, ack, message.as_bytes(), run.defect)
                context = lookup.tls_context(run.config, run.step, None)
                psc.present_org_certificate(run, context)
                mssante.send(run.config, mdn, mailbox.mailbox, mdn["To"], context)
                run.step(f"MDN ({mdn['Subject']}) sent to {mdn['To']}")
    if not done:
        raise RisError(f"no document found in the unread messages of {mailbox.mailbox}")
    return Outcome(run.task.id, "consumer", None, f"{len(done)} document(s) handed to the consumer: "
                   + ", ".join(f"{code}{' ' + error if error else ''}" for code, error, _label in done),
                   run.steps)


HANDLERS = {"lps-integrate": integrated, "lps-relay-mail": relay_mail}
