"""The CI-SIS volet "Transmission au LPS de documents CDA provenant d'un courriel MSSanté" (issue 16): a
hospital's platform (PFI, the GESTIONNAIRE) opens the IHE_XDM.ZIP of each message its application mailbox
receives, hands each document to the system it is for (DPI or RIS, the CONSOMMATEUR) as an HL7 2.6 MDM, reads
the consumer's ACK, and answers the e-mail's sender with an MDN that mirrors it. Couloirs DPI (the consumer)
and PFI.

Source (LPS): ANS, IG "Volet de transmission au LPS de documents CDA provenant d'un courriel MSSanté" (Trial
Implementation), `ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss` @ bb83dc2: `evenements-
declenchants.md` (MDM^T02 initial/OBX-11 F, MDM^T10 replacement/C, MDM^T04 deletion/D; the ACK), `profils-
messages.md` (the MDM and the ACK: MSH-9 `ACK^<event>^ACK`, MSA-2 the MDM's MSH-10; an application error is
ERR-3 207 with ERR-5 a code of the volet's table), `error-codes.md` (900–906), `struct-msg-mdn.md` (the MDN:
RFC 8098 multipart/report, `Disposition: automatic-action/MDN-sent-automatically; processed` or `…;
processed/Error: <code>^<label>`, subject `XDM/1.0/DDM+…` or `[KO Intégration système !][<code>] XDM/1.0/
DDM+…`, Original-Message-ID, only when the e-mail had Disposition-Notification-To). The mock side is the PAM
mock (`mocks/pam/lps.py`, docs/pam.md). REM (2023-02 pre-publication, rows 33636/33642/33902/33905).

- DPI (`lps-receive-01`…`-04`, action `lps-integrate`): before each task the harness, as the hospital's PFI,
  sends the DPI's MLLP endpoint (`--pam-endpoint`, or its driver's announcement, docs/sut.md) an MDM of the
  volet carrying a CR the world's last open-mailbox professional sent by MSSanté (built with `fixtures/`):
  `-01` MDM^T02 of a new document for the patient of the first DMP task (whom the DPI qualified through INSi
  earlier in the proof), `-02` MDM^T10 of its version 2 (same setId, TXA-13 the first), `-03` MDM^T04
  deleting that version, `-04` MDM^T02 of a document whose CDA carries the sender's local patient id and no
  INS (error 903 of the volet: "INS non présent dans le document"). The DPI reports, as JSON in its output,
  the documents it holds from this volet: `{"lps": [{"id", "set_id", "version", "ins", "status"}]}` (status
  `current`, `replaced` or `deleted`; a document it no longer holds may be left out).
  Judged: each ACK (`lps-mdm-acked`, DPI.CDA/HL7.03): read from the PAM mock's journal with python-hl7, MSA-1
  AA for the three valid MDM, AE or AR with ERR-3 207 and ERR-5 903 (or 902, "patient inconnu": the volet
  calls its table indicative) for the fourth, MSA-2 the MDM's MSH-10, MSH-9 `ACK^<event>`. The document's fate
  (`lps-document-integrated`, DPI.CDA/HL7.04): the DPI's report is compared with what the harness sent — the
  document id of each MDM, under the INS it carried, current after T02, replaced by version 2 after T10, no
  longer current after T04, never held for the refused one, and only when that MDM was acknowledged AA.
- PFI (`lps-relay-01`/`-02`, action `lps-relay-mail`): the harness delivers to the PFI's application mailbox
  (the inbox capability's delivery: an IHE_XDM.ZIP and its PDF, from another professional, asking a read
  receipt with Disposition-Notification-To); the PFI must read it (IMAP), hand the document to the consumer —
  the harness's CDA listener (`endpoints["pam"]["cda_mllp"]`) — as an MDM^T02 of the volet, and send the MDN
  back to the sender. The listener answers AA for `-01`; for `-02` the harness sets a fault so it answers AE
  with ERR-3 207 and ERR-5 902 (patient unknown). Judged: the MDM (`lps-mdm-handed`, PFI.CDA/HL7.03 and
  PFI.MSS/UX.01): accepted by the listener's checks of the volet, MSH-21 `CISIS_CDA_HL7_LPS`, the CDA
  byte-identical to the XDM's, PID-3 the INS the CDA carries with PID-32 VALI, the e-mail OBX naming the
  message's Message-ID. The MDN (`lps-mdn-returned`, PFI.CDA/HL7.04 and PFI.MSS/UX.02): sent to the address
  of Disposition-Notification-To, Original-Message-ID the message's, `processed` and the plain subject after
  the AA, `processed/Error: 902^…` and the `[KO Intégration système !][902]` subject after the AE.
Where the IG is silent: the refused MDM of the DPI couloir is the volet's 903 case (decidable from the
message alone, unlike 902, which depends on the DPI's patients); what the DPI shows its users is not observed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import smtplib
from datetime import UTC, datetime
from email.utils import make_msgid

from lxml import etree

from segur.fixtures.documents.ids import local_patient_id
from segur.kernel.ins import INS_OIDS
from segur.mocks.pam.lps import APPLICATION_ERRORS, render_mdm
from segur.scenarios.capabilities import inbox
from segur.scenarios.capabilities.pam_feed import component, parse, segments  # ER7 read with python-hl7
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, CheckResult, judged, reported_list, tasks
from segur.scenarios.mime import read_message

NAME = "lps"
RECEIVE, RELAY = "lps-receive", "lps-relay"
RECEIVE_ACTION, RELAY_ACTION = "lps-integrate", "lps-relay-mail"
PROFILE = "CISIS_CDA_HL7_LPS"
#: what the harness expects of each DPI task (PlannedTask.expect)
INTEGRATED, REPLACED, DELETED, REFUSED = "integrated", "replaced", "deleted", "refused"
#: the application errors the DPI may name for the MDM whose CDA carries no INS (module doc)
REFUSAL_CODES = ("903", "902")
#: the application error the harness, as the consumer, answers to the PFI's second MDM
RELAY_ERROR = "902"
PROCESSED = re.compile(r"^\s*automatic-action\s*/\s*MDN-sent-automatically\s*;\s*processed\s*$", re.I)
PROCESSED_ERROR = re.compile(r"^\s*automatic-action\s*/\s*MDN-sent-automatically\s*;\s*processed\s*/\s*"
                             r"Error\s*:\s*(?P<code>[^\s^]+)\^(?P<label>[^^|]*)", re.I)
KO_SUBJECT = "[KO Intégration système !]"
XDM_SUBJECT = "XDM/1.0/DDM+"
NO_ENDPOINT = ("no MLLP endpoint for the product: give `segur proof --pam-endpoint mllp://host:port`, or a "
               "driver that announces one (docs/sut.md)")
HL7NS = {"h": "urn:hl7-org:v3"}


# --- plan ---------------------------------------------------------------------------------------------------
def _plan(ctx: PlanContext) -> None:
    known = next(p for p in ctx.plan.tasks if p.scenario == "dmp")
    patient = ctx.world.patient_by_key(known.patient_key)
    base = {"mailbox": ctx.sender, "from": ctx.recipients[-1].mailbox}  # the inbox capability's reporter
    if ctx.couloir.upper() == "DPI":
        ctx.add(f"{RECEIVE}-01", RECEIVE_ACTION, patient, RECEIVE, INTEGRATED, traits={},
                extra={**base, "event": "T02"})
        ctx.add(f"{RECEIVE}-02", RECEIVE_ACTION, patient, RECEIVE, REPLACED, traits={},
                extra={**base, "event": "T10", "of_task": f"{RECEIVE}-01"})
        ctx.add(f"{RECEIVE}-03", RECEIVE_ACTION, patient, RECEIVE, DELETED, traits={},
                extra={**base, "event": "T04", "of_task": f"{RECEIVE}-02"})
        ctx.add(f"{RECEIVE}-04", RECEIVE_ACTION, patient, RECEIVE, REFUSED, traits={},
                extra={**base, "event": "T02", "ins_qualified": False})
        return
    ctx.add(f"{RELAY}-01", RELAY_ACTION, patient, RELAY, "AA", traits={},
            extra={**base, "read_receipt": True})
    ctx.add(f"{RELAY}-02", RELAY_ACTION, patient, RELAY, "AE", traits={},
            extra={**base, "read_receipt": True, "consumer_error": RELAY_ERROR})


# --- prepare: the DPI couloir -------------------------------------------------------------------------------
def document_ids(document: bytes | None) -> dict:
    """The CDA's id (`root^extension` or the root, as XDS writes it), setId, versionNumber and recordTarget
    INS, read by the judge (empty when it is no CDA)."""
    if not document:
        return {}
    try:
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return {}

    def ii(path: str) -> str | None:
        found = root.find(path, HL7NS)
        if found is None or not found.get("root"):
            return None
        root_oid, extension = found.get("root"), found.get("extension")
        return f"{root_oid}^{extension}" if extension else root_oid

    version = root.find("h:versionNumber", HL7NS)
    ins = next((i.get("extension") for i in root.iterfind("h:recordTarget/h:patientRole/h:id", HL7NS)
                if i.get("root") in INS_OIDS), None)
    return {"id": ii("h:id"), "set_id": ii("h:setId"),
            "version": version.get("value") if version is not None else None, "ins": ins}


def _txa(ident: str) -> str:
    """A document id as TXA-12/13 write it (profils-messages.md): `ext^^root^ISO`, or the root alone."""
    root, _, extension = ident.partition("^")
    return f"{extension}^^{root}^ISO" if extension else root


def carried(message) -> bytes | None:
    """The CDA the first OBX carries (ED, base64 in OBX-5.5), decoded; None when it carries none."""
    first = (segments(message, "OBX") or [None])[0]
    if first is None or component(first, 2) != "ED":
        return None
    try:
        return base64.b64decode("".join(component(first, 5, 5).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _body_text(entry: dict, side: str, admin) -> str:
    """The text of a journalled body, whole (asked of the mock when the journal kept only its start)."""
    body = (entry.get(side) or {}).get("body") or {}
    if body.get("truncated") and admin is not None:
        return admin.journal_body("pam", entry["seq"], side).decode("utf-8", errors="replace")
    return body.get("text") or "" if isinstance(body, dict) else ""


def _sent_before(ctx: PrepareContext, task_id: str) -> tuple[bytes | None, str]:
    """The CDA the harness sent the product in an earlier task, and that MDM's TXA-13."""
    for entry in ctx.admin.journal("pam"):
        if entry.get("task") == task_id and entry["operation"].startswith("send MDM^"):
            message = parse(_body_text(entry, "request", ctx.admin))
            txa = (segments(message, "TXA") or [None])[0]
            parent = str(txa).split("|")[13] if txa is not None and len(str(txa).split("|")) > 13 else ""
            return carried(message), parent
    return None, ""


def _mail(patient, label: str, sender: str, mailbox: str) -> dict:
    year, month, day = patient.birth_date.split("-")
    subject = f"{XDM_SUBJECT}{label} {patient.birth_name} {patient.first_name} {day}/{month}/{year}"
    return {"message_id": make_msgid(domain=sender.rpartition("@")[2]), "sender": sender,
            "recipient": mailbox, "subject": subject,
            "body": "Bonjour,\n\nveuillez trouver ci-joint le compte rendu.\n"}


def _prepare_receive(ctx: PrepareContext) -> dict:
    task, world = ctx.planned.task, ctx.world
    to = (ctx.product or {}).get("hl7") or (ctx.product or {}).get("pam")
    if not to:
        return {"endpoint": None, "error": NO_ENDPOINT}
    patient = world.patient_by_key(ctx.planned.patient_key)
    reporter = next(p for p in world.professionals if p.mailbox == task.extra["from"])
    organisation = world.organisation_of(reporter)
    build, code, label = inbox.REPORTS[inbox.report_kind(reporter)]
    event, parent = task.extra["event"], ""
    qualified = task.extra.get("ins_qualified", True)
    if task.extra.get("of_task"):
        earlier, earlier_parent = _sent_before(ctx, task.extra["of_task"])
        before = document_ids(earlier)
        if not before.get("id"):
            why = f"the harness finds no document it sent in {task.extra['of_task']}"
            return {"endpoint": to, "error": why}
        if event == "T10":  # version 2: same setId, RPLC of the first (fixtures' builder)
            document = build(patient, reporter, organisation, set_id=before["set_id"].split("^")[0],
                             version_number=int(before["version"] or 1) + 1,
                             replaces=before["id"].split("^")[0])
            parent = _txa(before["id"])
        else:  # T04: the version sent last, deleted (the IG's example repeats its TXA-12 and TXA-13)
            document, parent = earlier, earlier_parent
    else:
        options = {}
        if not qualified:  # the sender's IPP only (inbox capability's unqualified report)
            root, extension = local_patient_id(patient, organisation)
            options = {"ins_oid": root, "ins_value": extension}
        document = build(patient, reporter, organisation, **options)
    if qualified:
        kind = "NIA" if INS_OIDS.get(patient.oid, "").startswith("NIA") else "NIR"
        pid3, status = f"{patient.ins}^^^ASIP-SANTE-INS-{kind}&{patient.oid}&ISO^INS", "VALI"
    else:
        root, extension = local_patient_id(patient, organisation)
        pid3, status = f"{extension}^^^{organisation.finess}&{root}&ISO^PI", ""
    traits = {"birth_name": patient.birth_name, "first_names": patient.first_names, "sex": patient.sex,
              "birth_date": patient.birth_date, "birth_place": patient.birth_place or ""}
    control_id = f"LPS-{task.id}-{hashlib.sha1(document).hexdigest()[:8]}"
    mail = _mail(patient, label, task.extra["from"], task.extra["mailbox"])
    message = render_mdm(document, event=event, control_id=control_id, pid3=pid3, pid_status=status,
                         traits=traits, type_code=code, type_label=label, mail=mail, parent=parent,
                         now=datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    try:
        answer = ctx.admin.call("pam", "send-cda", "POST", {"to": to, "message": message})
    except (OSError, ValueError, LookupError) as exc:
        return {"endpoint": to, "error": f"the PAM mock did not send it: {exc}"}
    return {"endpoint": to, "error": answer.get("error") if not answer.get("seq") else "",
            "control_id": control_id, "event": event, "ins": patient.ins if qualified else None,
            "document": document_ids(document), "parent": parent, "seq": answer.get("seq")}


# --- prepare: the PFI couloir -------------------------------------------------------------------------------
def _prepare_relay(ctx: PrepareContext) -> dict:
    """Arm the consumer's answer (AE with the volet's error for `consumer_error`), then deliver the message
    with the inbox capability's delivery."""
    task = ctx.planned.task
    error = task.extra.get("consumer_error")
    if error:
        try:  # the next MDM^T02 the listener takes is answered AE, ERR-5 the volet's code (one call)
            ctx.admin.add_fault("pam", {"kind": "nack", "operation": "MDM^T02", "code": "AE", "error": error,
                                        "count": 1})
        except (OSError, ValueError) as exc:
            return {"delivered": {"error": f"the PAM mock took no fault: {exc}", "to": task.extra["mailbox"]}}
    try:
        delivered = _deliver(ctx)
    except (OSError, smtplib.SMTPException, LookupError) as exc:  # the harness's failure, not the product's
        delivered = {"error": f"{type(exc).__name__}: {exc}"[:300], "to": task.extra["mailbox"]}
    return {"delivered": delivered, "consumer_error": error}


def _deliver(ctx: PrepareContext) -> dict:
    task, world = ctx.planned.task, ctx.world
    sender, mailbox = task.extra["from"], task.extra["mailbox"]
    patient = world.patient_by_key(ctx.planned.patient_key)
    reporter = next(p for p in world.professionals if p.mailbox == sender)
    organisation = world.organisation_of(reporter)
    cda, pdf = inbox.report_for(world, patient, reporter, qualified=True)
    package = inbox.xdm_package(cda, organisation, sender)
    message = inbox.message_for(sender, mailbox, package, pdf, patient, inbox.report_kind(reporter),
                                qualified=True, read_receipt=True)
    mock_id = inbox.submit(ctx.endpoints, ctx.admin, sender, mailbox, message)
    return {"mock_id": mock_id, "message_id": message["Message-ID"], "from": sender, "to": mailbox,
            "subject": message["Subject"], "read_receipt": message["Disposition-Notification-To"],
            "document": {**document_ids(cda), "sha256": hashlib.sha256(cda).hexdigest()}}


def _prepare(ctx: PrepareContext) -> dict:
    return _prepare_receive(ctx) if ctx.planned.scenario == RECEIVE else _prepare_relay(ctx)


# --- observe ------------------------------------------------------------------------------------------------
def ack_facts(text: str) -> dict:
    """An ACK as the judge reads it (python-hl7): MSH-9, MSA-1, MSA-2 and each ERR's ERR-3.1, ERR-5.1/5.2."""
    message = parse(text) if text else None
    if message is None or not segments(message, "MSA"):
        return {"readable": False, "type": None, "code": None, "answers": None, "errors": []}
    msh = str(segments(message, "MSH")[0]).split("|")
    msa = segments(message, "MSA")[0]
    errors = [{"hl7": component(err, 3), "code": component(err, 5), "label": component(err, 5, 2)}
              for err in segments(message, "ERR")]
    return {"readable": True, "type": msh[8] if len(msh) > 8 else None, "code": component(msa, 1) or None,
            "answers": component(msa, 2) or None, "errors": errors}


def mdm_facts(text: str) -> dict:
    """An MDM of the volet as the judge reads it: MSH-9/10/21, PID-3's INS and PID-32, the CDA (its ids and
    SHA-256), TXA-12/13 and the e-mail OBX's Message-ID."""
    message = parse(text)
    if message is None:
        return {"readable": False}
    msh = str(segments(message, "MSH")[0]).split("|")
    pid = (segments(message, "PID") or [None])[0]
    pid_fields = str(pid).split("|") if pid is not None else []
    ins = next((r.split("^")[0] for r in (pid_fields[3].split("~") if len(pid_fields) > 3 else [])
                if r.split("^")[4:5] == ["INS"]), None)
    document = carried(message)
    obx = segments(message, "OBX")
    txa = (segments(message, "TXA") or [None])[0]
    status = pid_fields[32].split("~") if len(pid_fields) > 32 else []
    return {"readable": True, "type": msh[8] if len(msh) > 8 else None,
            "control_id": msh[9] if len(msh) > 9 else None,
            "profile": (msh[20].split("^") + [""])[1].strip() if len(msh) > 20 else "",
            "pid_ins": ins, "pid_status": [s for s in status if s],
            "document": document_ids(document),
            "document_sha256": hashlib.sha256(document).hexdigest() if document else None,
            "txa12": str(txa).split("|")[12] if txa is not None and len(str(txa).split("|")) > 12 else None,
            "mail_id": component(obx[1], 3) if len(obx) > 1 else None}


def mdn_facts(raw: bytes) -> dict:
    """A message the product sent, as the judge reads it (its own MIME reader): the subject and the MDN
    fields (inbox capability's `sent_facts`)."""
    return {**inbox.sent_facts(raw), "subject": str(read_message(raw).get("Subject") or "")}


def _observe_receive(ctx: ObserveContext) -> dict:
    """The MDM the harness sent the DPI in the task and the DPI's ACK of each, as the PAM mock journalled
    them."""
    sent = []
    for entry in ctx.journals.get("pam", []):
        if ctx.in_task(entry, "pam") and entry["operation"].startswith("send MDM^"):
            response = entry.get("response") or {}
            sent.append({"seq": entry["seq"], "verdict": entry["verdict"], "error": response.get("error"),
                         "mdm": mdm_facts(_body_text(entry, "request", ctx.admin)),
                         "ack": ack_facts(_body_text(entry, "response", ctx.admin))})
    return {"prepared": ctx.prepared or {}, "sent": sent}


def _observe_relay(ctx: ObserveContext) -> dict:
    """The MDM the PFI handed the harness's listener in the task with the listener's ACK, and the messages
    the PFI sent from its mailbox (the MDN among them)."""
    prepared = ctx.prepared or {}
    received = []
    for entry in ctx.journals.get("pam", []):
        if ctx.in_task(entry, "pam") and entry["operation"].startswith("MDM^"):
            findings = entry.get("findings") or []
            errors = [f.get("rule") for f in findings if f.get("severity") in ("error", None)]
            received.append({"seq": entry["seq"], "operation": entry["operation"],
                             "verdict": entry["verdict"], "rules": errors,
                             "mdm": mdm_facts(_body_text(entry, "request", ctx.admin)),
                             "ack": ack_facts(_body_text(entry, "response", ctx.admin))})
    mailbox = str((ctx.task.get("extra") or {}).get("mailbox") or "").lower()
    mdns = []
    for entry in ctx.journals.get("mssante", []):
        client = entry.get("client") or {}
        if not ctx.in_task(entry, "mssante") or entry["operation"] != "smtp-message" \
                or str(client.get("login") or "").lower() != mailbox:
            continue
        meta = entry.get("meta") or {}
        brief = {"seq": entry["seq"], "id": meta.get("id"), "verdict": entry["verdict"],
                 "to": (entry.get("request") or {}).get("to") or [],
                 "delivered_to": (entry.get("response") or {}).get("delivered_to") or []}
        if ctx.admin is not None and meta.get("id"):
            try:
                brief.update(mdn_facts(ctx.admin.mss_raw(meta["id"])))
            except (OSError, LookupError, ValueError) as exc:
                brief["unread"] = f"{type(exc).__name__}: {exc}"
        mdns.append(brief)
    return {"prepared": prepared, "received": received, "sent": mdns}


# --- the checks: the DPI ------------------------------------------------------------------------------------
def _obs(task: dict) -> dict:
    return (task.get("observed") or {}).get(f"{NAME}_{'dpi' if task['scenario'] == RECEIVE else 'pfi'}") or {}


def _expect(task: dict) -> str:
    return task.get("expect") or ""


def _not_sent(task: dict) -> str | None:
    prepared = _obs(task).get("prepared") or {}
    if prepared.get("error"):
        return f"{task['task']['id']}: the harness could not send its MDM: {prepared['error']}"
    if not _obs(task).get("sent"):
        return f"{task['task']['id']}: the PAM mock journalled no MDM sent to the product"
    return None


def check_acked(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, RECEIVE):
        task_id, seen = task["task"]["id"], _obs(task)
        evidence.append({"task": task_id, "expect": _expect(task), "sent": [
            {"seq": s["seq"], "type": s["mdm"].get("type"), "control_id": s["mdm"].get("control_id"),
             "ack": s["ack"], "verdict": s["verdict"]} for s in seen.get("sent", [])]})
        why = _not_sent(task)
        if why:
            problems.append(why)
            continue
        for sent in seen["sent"]:
            mdm, ack = sent["mdm"], sent["ack"]
            where = f"{task_id}: {mdm.get('type')} (MSH-10 {mdm.get('control_id')})"
            if not ack["readable"]:
                problems.append(f"{where}: no readable ACK came back ({sent['verdict']}"
                                f"{': ' + sent['error'] if sent.get('error') else ''})")
                continue
            event = (mdm.get("type") or "").split("^")[1:2]
            if (ack["type"] or "").split("^")[:2] != ["ACK", *event]:
                problems.append(f"{where}: the ACK's MSH-9 is {ack['type']!r}, not ACK^{''.join(event)}^ACK")
            if ack["answers"] != mdm.get("control_id"):
                problems.append(f"{where}: the ACK's MSA-2 {ack['answers']!r} does not name the MDM (MSH-10)")
            if _expect(task) != REFUSED:
                if ack["code"] != "AA":
                    said = "; ".join(f"{e['hl7']} {e['code']} {e['label']}".strip() for e in ack["errors"])
                    problems.append(f"{where}: answered {ack['code']}, not AA, to a valid MDM "
                                    f"({said or 'no ERR'})")
                continue
            if ack["code"] not in ("AE", "AR"):
                problems.append(f"{where}: answered {ack['code']} to an MDM whose CDA carries no INS; the "
                                "volet wants AE with ERR-3 207 and ERR-5 903 (INS non présent dans le "
                                "document)")
            elif not any(e["hl7"] == "207" and e["code"] in REFUSAL_CODES for e in ack["errors"]):
                problems.append(f"{where}: {ack['code']} without an ERR naming the volet's error (ERR-3 207, "
                                f"ERR-5 {' or '.join(REFUSAL_CODES)}): {ack['errors'] or 'no ERR'}")
    if not tasks(run, RECEIVE):
        problems.append("the plan has no task handing the DPI a document of an MSSanté message")
    return judged("lps-mdm-acked", problems, evidence, "each MDM of the volet acknowledged as the volet "
                  "asks: AA naming it when valid, AE with the volet's error code when the document cannot be "
                  "taken")


def claims(task: dict) -> list[dict] | None:
    """The `lps` list of the JSON the product printed (`reported_list`)."""
    return reported_list(task, "lps")


def _held(said: list[dict], ident: str | None) -> dict | None:
    """The product's entry for document `ident` when it says it holds it as current."""
    return next((c for c in said if ident and str(c.get("id")) == ident and c.get("status") == "current"),
                None)


def check_integrated(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RECEIVE):
        task_id, seen = task["task"]["id"], _obs(task)
        prepared, said = seen.get("prepared") or {}, claims(task)
        evidence.append({"task": task_id, "expect": _expect(task), "sent": prepared.get("document"),
                         "ins": prepared.get("ins"), "reported": said})
        why = _not_sent(task)
        if why:
            blocked.append({"check": "lps-mdm-acked", "task": task_id, "reason": why})
            continue
        if said is None:
            problems.append(f"{task_id}: the DPI reported no JSON `lps` list of the documents it holds from "
                            "the volet (docs/sut.md)")
            continue
        document = prepared.get("document") or {}
        acked = [s["ack"]["code"] for s in seen["sent"]]
        current = _held(said, document.get("id"))
        if _expect(task) == REFUSED:
            if current:
                problems.append(f"{task_id}: the DPI holds {document.get('id')}, whose CDA carries no INS, "
                                "as a current document (the volet: not integrated automatically)")
            continue
        if _expect(task) in (INTEGRATED, REPLACED):
            if "AA" not in acked:
                problems.append(f"{task_id}: the MDM was not acknowledged AA ({acked}): nothing to judge as "
                                "integrated")
            elif current is None:
                problems.append(f"{task_id}: the DPI does not report {document.get('id')} (the document of "
                                f"the MDM) as a current document; it reports {[c.get('id') for c in said]}")
            elif str(current.get("ins") or "") != str(prepared.get("ins")):
                problems.append(f"{task_id}: {document.get('id')} is filed under INS {current.get('ins')}, "
                                f"not the {prepared.get('ins')} the document carries")
        if _expect(task) == REPLACED:
            old = _parent_id(prepared.get("parent") or "")
            if _held(said, old):
                problems.append(f"{task_id}: the replaced version {old} is still current beside its "
                                f"replacement {document.get('id')}")
            if current is not None and str(current.get("set_id") or "") != str(document.get("set_id")):
                problems.append(f"{task_id}: {document.get('id')} is kept under setId "
                                f"{current.get('set_id')}, not the document's {document.get('set_id')}")
        if _expect(task) == DELETED:
            old = _parent_id(prepared.get("parent") or "")
            for ident in (document.get("id"), old):
                if _held(said, ident):
                    problems.append(f"{task_id}: {ident} is still a current document after the deletion "
                                    "(MDM^T04)")
    if not tasks(run, RECEIVE):
        problems.append("the plan has no task handing the DPI a document of an MSSanté message")
    return judged("lps-document-integrated", problems, evidence, "the documents the PFI hands over are "
                  "integrated for the right patient, replaced and deleted as the MDM asks", blocked)


def _parent_id(txa: str) -> str | None:
    """A TXA-12/13 value (`ext^^root^ISO` or the root) as `root^ext` / root."""
    parts = txa.split("^")
    if not parts[0]:
        return None
    return f"{parts[2]}^{parts[0]}" if len(parts) > 2 and parts[2] else parts[0]


# --- the checks: the PFI ------------------------------------------------------------------------------------
def _delivered(task: dict) -> dict:
    return (_obs(task).get("prepared") or {}).get("delivered") or {}


def _undelivered(task: dict) -> dict | None:
    delivered = _delivered(task)
    if delivered.get("mock_id") and delivered.get("message_id"):
        return None
    return {"check": None, "task": task["task"]["id"], "reason": f"the harness could not deliver its message "
            f"to {delivered.get('to')}: {delivered.get('error') or 'the mock gave no id for it'}"}


def check_handed(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RELAY):
        task_id, seen, delivered = task["task"]["id"], _obs(task), _delivered(task)
        received = seen.get("received") or []
        evidence.append({"task": task_id, "delivered": {k: delivered.get(k) for k in (
            "message_id", "document")}, "received": [{k: r.get(k) for k in ("seq", "verdict", "rules")} | {
                k: r["mdm"].get(k) for k in ("type", "profile", "pid_ins", "document_sha256", "mail_id")}
                for r in received]})
        if _undelivered(task):
            blocked.append(_undelivered(task))
            continue
        if not received:
            problems.append(f"{task_id}: no MDM reached the harness's consumer listener for the document of "
                            f"{delivered['message_id']}")
            continue
        wanted = delivered["document"]
        for item in received:
            mdm = item["mdm"]
            where = f"{task_id}: {item['operation']} #{item['seq']}"
            errors = [rule for rule in item["rules"] if rule != "PAM-FAULT-01"]
            if errors:
                problems.append(f"{where} is not as the volet lays it out: {', '.join(errors)}")
            if mdm.get("type") != "MDM^T02^MDM_T02" or mdm.get("profile") != PROFILE:
                problems.append(f"{where}: MSH-9 {mdm.get('type')!r}, MSH-21 {mdm.get('profile')!r}: not an "
                                f"MDM^T02^MDM_T02 of the volet ({PROFILE})")
            if mdm.get("document_sha256") != wanted["sha256"]:
                problems.append(f"{where}: the CDA it carries (SHA-256 {mdm.get('document_sha256')}) is not "
                                f"the IHE_XDM.ZIP's byte for byte ({wanted['sha256']})")
            if mdm.get("pid_ins") != wanted.get("ins") or "VALI" not in mdm.get("pid_status", []):
                problems.append(f"{where}: PID-3 INS {mdm.get('pid_ins')} with PID-32 "
                                f"{mdm.get('pid_status')}, not the CDA's INS {wanted.get('ins')} with VALI")
            if mdm.get("mail_id") != delivered["message_id"]:
                problems.append(f"{where}: the e-mail OBX names {mdm.get('mail_id')!r}, not the message "
                                f"{delivered['message_id']}")
    if not tasks(run, RELAY):
        problems.append("the plan has no task delivering the PFI a message for a hospital system")
    return judged("lps-mdm-handed", problems, evidence, "the document of a received IHE_XDM.ZIP handed to "
                  "the consumer as an MDM^T02 of the volet, the CDA as received, the PID the CDA's INS",
                  blocked)


def _consumer_said(task: dict) -> dict | None:
    """The ACK the harness's listener answered to the task's MDM (its first readable one)."""
    return next((r["ack"] for r in _obs(task).get("received") or [] if r["ack"]["readable"]), None)


def check_mdn(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RELAY):
        task_id, seen, delivered = task["task"]["id"], _obs(task), _delivered(task)
        ack = _consumer_said(task)
        mine = [s for s in seen.get("sent") or []
                if str((s.get("mdn") or {}).get("Original-Message-ID") or "") == delivered.get("message_id")]
        shown = ("seq", "id", "to", "delivered_to", "subject", "report_type", "mdn")
        evidence.append({"task": task_id, "message": delivered.get("message_id"),
                         "asked_by": delivered.get("read_receipt"), "consumer_ack": ack,
                         "mdns": [{k: s.get(k) for k in shown} for s in mine]})
        if _undelivered(task):
            blocked.append(_undelivered(task))
            continue
        if ack is None:
            blocked.append({"check": "lps-mdm-handed", "task": task_id,
                            "reason": "no MDM reached the consumer: no ACK for the MDN to mirror"})
            continue
        if not mine:
            problems.append(f"{task_id}: no MDN (multipart/report, Original-Message-ID "
                            f"{delivered.get('message_id')}) was sent back after the consumer's "
                            f"{ack['code']}")
            continue
        for mdn in mine:
            problems += _mdn_problems(task_id, mdn, delivered, ack)
    if not tasks(run, RELAY):
        problems.append("the plan has no task delivering the PFI a message for a hospital system")
    return judged("lps-mdn-returned", problems, evidence, "the consumer's ACK returned to the sender as the "
                  "volet's MDN: processed after AA, processed/Error with the error code after AE", blocked)


def _mdn_problems(task_id: str, mdn: dict, delivered: dict, ack: dict) -> list[str]:
    where, problems = f"{task_id}: the MDN {mdn.get('id')}", []
    fields = mdn.get("mdn") or {}
    asked = str(delivered.get("read_receipt") or "").lower()
    if mdn.get("report_type") != inbox.MDN_REPORT_TYPE:
        problems.append(f"{where} is {mdn.get('content_type')} (report-type {mdn.get('report_type')}), not "
                        "multipart/report; report-type=disposition-notification")
    if asked not in {a.lower() for a in mdn.get("delivered_to") or []}:
        problems.append(f"{where} went to {mdn.get('to')}, not to {asked} (Disposition-Notification-To)")
    disposition, subject = fields.get("Disposition") or "", mdn.get("subject") or ""
    if ack["code"] == "AA":
        if not PROCESSED.match(disposition):
            problems.append(f"{where}: Disposition {disposition!r} after the consumer's AA; the volet wants "
                            "'automatic-action/MDN-sent-automatically; processed'")
        if not subject.startswith(XDM_SUBJECT):
            problems.append(f"{where}: subject {subject!r} does not start with {XDM_SUBJECT}")
        return problems
    code = next((e["code"] for e in ack["errors"] if e["code"]), "")
    wanted = f"{code}^{APPLICATION_ERRORS.get(code, '')}"
    said = PROCESSED_ERROR.match(disposition)
    if said is None or said.group("code") != code:
        problems.append(f"{where}: Disposition {disposition!r} after the consumer's {ack['code']} (ERR-5 "
                        f"{code}); the volet wants '…; processed/Error: {wanted}'")
    if not subject.startswith(f"{KO_SUBJECT}[{code}]") or XDM_SUBJECT not in subject:
        problems.append(f"{where}: subject {subject!r}, not '{KO_SUBJECT}[{code}] {XDM_SUBJECT}…'")
    return problems


NONE = {"RIS": [], "BIO": []}
CHECKS = (
    Check("lps-mdm-acked", "The PFI's MDM acknowledged per the LPS volet", "test_lps_mdm_is_acknowledged",
          "Each MDM^T02/T10/T04 the hospital's platform hands over with a document received by MSSanté is "
          "answered with the volet's ACK (ACK^<event>^ACK, MSA-2 its MSH-10): AA when the document was "
          "taken, AE/AR with ERR-3 207 and the volet's ERR-5 (903: no INS in the document) when it cannot "
          "be.",
          NONE | {"DPI": ["DPI.CDA/HL7.03"]}, ("pam.sent",), check_acked, ("lps-ack-aa-without-ins",),
          hint="Answer each MDM of the volet with ACK^<event>^ACK and MSA-2 its MSH-10: AA only once the "
               "document is integrated; AE with ERR-3 207 and ERR-5 the volet's code (903 no INS in the "
               "document, 902 patient unknown, 900 wrong version) when it cannot be (error-codes.md)."),
    Check("lps-document-integrated", "Documents from MSSanté integrated, replaced, deleted",
          "test_lps_documents_are_integrated",
          "The DPI's report of the documents it holds from the volet matches what the MDM asked: the "
          "document current under the INS it carries after T02, replaced by its new version after T10 (same "
          "setId), no longer current after T04, never held when the MDM was refused.",
          NONE | {"DPI": ["DPI.CDA/HL7.04"]}, ("pam.sent", "task.claims"), check_integrated,
          ("lps-replace-keeps-old",),
          hint="File the CDA of an MDM^T02 under the INS it carries; on a T10 make the version TXA-13 names "
               "no longer current (same setId); on a T04 remove the document TXA-12 names; report them as "
               "`{\"lps\": [{\"id\", \"set_id\", \"version\", \"ins\", \"status\"}]}` (docs/sut.md)."),
    Check("lps-mdm-handed", "Received documents handed to the consumer over HL7v2",
          "test_lps_documents_are_handed_to_the_consumer",
          "The document of an IHE_XDM.ZIP received in the application mailbox goes to the consumer as an "
          "MDM^T02 of the LPS volet (MSH-21 CISIS_CDA_HL7_LPS, PRT SB, the e-mail OBX naming the Message-ID, "
          "the metadata OBX), the CDA byte-identical to the XDM's, PID-3 the CDA's INS with PID-32 VALI.",
          NONE | {"PFI": ["PFI.CDA/HL7.03", "PFI.MSS/UX.01"]}, ("mssante.delivered", "pam.transport"),
          check_handed, ("lps-cda-reencoded",),
          hint="Hand the CDA of the IHE_XDM.ZIP as received (base64 of its bytes, never re-serialised) in an "
               "MDM^T02 with MSH-21 1.1^CISIS_CDA_HL7_LPS, PID-3 the CDA's INS with PID-32 VALI, PRT SB the "
               "sender's address, OBX 2 the e-mail's Message-ID and the four metadata OBX."),
    Check("lps-mdn-returned", "The consumer's ACK returned as an MDN", "test_lps_ack_is_returned_as_mdn",
          "The sender who asked a read receipt gets the volet's MDN (RFC 8098 multipart/report, Original-"
          "Message-ID): 'processed' with the plain subject after the consumer's AA, 'processed/Error: "
          "<code>^<label>' and the subject '[KO Intégration système !][<code>] XDM/1.0/DDM+…' after an AE.",
          NONE | {"PFI": ["PFI.CDA/HL7.04", "PFI.MSS/UX.02"]}, ("pam.transport", "mssante.messages"),
          check_mdn, ("lps-mdn-processed-after-ae",),
          hint="Mirror the consumer's ACK in the MDN to the Disposition-Notification-To address: AA → "
               "'processed' and the e-mail's subject; AE → 'processed/Error: <ERR-5.1>^<ERR-5.2>' and the "
               "subject '[KO Intégration système !][<code>] ' + the e-mail's (struct-msg-mdn.md)."),
)

DPI_CAPABILITY = Capability(f"{NAME}_dpi", "the CI-SIS LPS volet, the consumer's side: the DPI takes the "
                            "MDM its PFI hands over with documents received by MSSanté (T02, T10, T04), ACKs "
                            "each, integrates, replaces and deletes them", scenarios=(RECEIVE,), plan=_plan,
                            prepare=_prepare, observe=_observe_receive, checks=CHECKS[:2], couloirs=("DPI",),
                            services=("pam",))
PFI_CAPABILITY = Capability(f"{NAME}_pfi", "the CI-SIS LPS volet, the platform's side: the PFI hands the "
                            "documents of its application mailbox to the consumer (MDM^T02) and returns its "
                            "ACK to the sender as an MDN", scenarios=(RELAY,), plan=_plan, prepare=_prepare,
                            observe=_observe_relay, checks=CHECKS[2:], couloirs=("PFI",), services=("pam",))
