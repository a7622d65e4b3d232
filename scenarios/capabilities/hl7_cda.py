"""The CI-SIS volet "Transmission de documents CDA-R2 en HL7v2" between a hospital's producing system (DPI)
and its intermediation platform (PFI) (issue 16): couloirs DPI and PFI.

Source (TRANS): ANS, IG "Transmission de documents CDA-R2 en HL7v2" v2.1, `ansforge/IG-hl7v2-volet-
transmission-document-cda-r2` @ b5f6ca13 (`profils-messages.md`: ORU^R01 in HL7 2.5, MDM^T02 in 2.6, TXA, the
CDA base64 in OBX-5 `^TEXT^XML^Base64^…`, PRT SB/RCT, the DMP/MSSanté metadata OBX, the ACK, and the ZAM^Z01/
Z02/Z03 business returns of the DMP and MSSanté outcomes) and its examples in `ansforge/hl7V2-exemples` @
60339877. The PAM mock plays the other end on its CDA transport listener (`mocks/pam/cda.py`, docs/pam.md).

- DPI, `hl7-cda-send`: the DPI hands the patient's report to the PFI: an MDM or ORU to the mock's CDA
  transport listener (`endpoints["pam"]["cda_mllp"]`), the patient searched in INSi first (traits given).
  Judged: the message as the volet lays it out and its CDA valid for the DMP's validator (`hl7-cda-handed`,
  DPI.CDA/HL7.02), PID-3 carrying the INS INSi returned with PID-32 VALI, the CDA's own INS
  (`hl7-cda-pid-ins`, DPI.INS/va1.61).
- DPI, `hl7-cda-returns`: the harness, as the PFI, returns the outcomes of that send (ZAM^Z01 DMP reception,
  ZAM^Z02 MSSanté reception, OBX-4 the DPI's MSH-10) to the DPI's MLLP endpoint (`--pam-endpoint` or its
  driver's announcement, the `pam` one; docs/sut.md); the DPI must take them: ACK AA naming each
  (`hl7-cda-returns-taken`, DPI.CDA/HL7.01; what it shows its user is not observable).
- PFI, `hl7-cda-relay`: the harness, as the producing system, sends the PFI an MDM^T02 with a valid CDA
  (DESTDMP Y, one PRT RCT recipient, ACK_RECEPTION Y) to its MLLP endpoint; the PFI must acknowledge it AA
  (`hl7-cda-relay-acked`), feed the DMP with that very document under the PID's INS and send it by MSSanté to
  the PRT RCT address (`hl7-cda-relayed`; PFI.CDA/HL7.01, PFI.MSS/UX.03), and return the outcomes to the
  producer as ZAM^Z01/Z02 on the mock's CDA listener (`hl7-cda-returns-sent`; PFI.CDA/HL7.02, PFI.MSS/UX.04).

The judge reads the messages from the PAM mock's journal with python-hl7 (its own reading, not the mock's) and
the DMP and MSSanté deliveries from the core observation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from segur.fixtures.documents import build_ldl_ses_n1
from segur.mocks.pam.cda import render_return, render_transport
from segur.scenarios.capabilities.pam_feed import component, parse, segments  # ER7 read with python-hl7
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, CheckResult, judged, tasks
from segur.scenarios.observe import cda_header

NAME = "hl7_cda"
SEND, RETURNS, RELAY = "hl7-cda-send", "hl7-cda-returns", "hl7-cda-relay"
SCENARIOS = (SEND, RETURNS, RELAY)
SEND_ACTION, RETURNS_ACTION, RELAY_ACTION = "hl7-send-pfi", "hl7-take-returns", "hl7-relay"
NO_ENDPOINT = ("no MLLP endpoint for the product: give `segur proof --pam-endpoint mllp://host:port`, or a "
               "driver that announces one (docs/sut.md)")
NO_LISTENER = ("the proof's stack serves no CDA transport listener (PAM mock `cda_ports`): a proof run as a "
               "tenant of a shared stack is served none; run it on a stack of its own")
#: the official pack's layers of the validator (a pack configured: they must have run)
OFFICIAL_LAYERS = ("xsd", "schematron")
#: the rules of the PAM mock's CDA listener `hl7-cda-pid-ins` judges (the INS in PID), not `hl7-cda-handed`
INS_RULES = ("PAM-CDA-10", "PAM-INS-01", "PAM-INS-02", "PAM-INS-03", "PAM-INS-04")


# --- plan ---------------------------------------------------------------------------------------------------
def _plan(ctx: PlanContext) -> None:
    used = ctx.used_patients()
    pool = [p for p in ctx.dmp_patients if p.key not in used] + [p for p in ctx.dmp_patients if p.key in used]
    if not pool or not ctx.recipients:
        raise ValueError("the HL7v2 CDA transport tasks need a patient with an open DMP and a professional "
                         "mailbox")
    patient, recipient = pool[0], ctx.recipients[0].mailbox
    if ctx.couloir == "DPI":
        sent = ctx.add(f"{SEND}-01", SEND_ACTION, patient, SEND, "delivered", extra={"mss_to": [recipient]})
        ctx.add(f"{RETURNS}-01", RETURNS_ACTION, patient, RETURNS, "delivered", traits={},
                extra={"of_task": sent.id, "mss_to": [recipient]})
    else:
        task_id = f"{RELAY}-01"
        ctx.add(task_id, RELAY_ACTION, patient, RELAY, "delivered", traits={},
                extra={"control_id": f"SEGUR-{task_id}", "mss_to": [recipient], "mailbox": ctx.sender})


# --- prepare ------------------------------------------------------------------------------------------------
def _product_endpoint(ctx: PrepareContext) -> str | None:
    return (ctx.product or {}).get("hl7") or (ctx.product or {}).get("pam")


def _send(ctx: PrepareContext, to: str, message: str) -> dict:
    try:
        answer = ctx.admin.call("pam", "send-cda", "POST", {"to": to, "message": message})
    except (OSError, ValueError, LookupError) as exc:
        return {"error": f"the PAM mock did not send it: {exc}"}
    return {key: answer.get(key) for key in ("seq", "event", "control_id", "ack_code", "error")}


def _sent_transport(ctx: PrepareContext, task_id: str) -> dict | None:
    """The MDM/ORU the DPI sent in task `task_id`, as the PAM mock journalled it."""
    for entry in ctx.admin.journal("pam"):
        if entry.get("task") == task_id and entry["operation"].startswith(("MDM^", "ORU^")):
            return entry
    return None


def _prepare(ctx: PrepareContext) -> dict:
    if ctx.planned.scenario == SEND:  # the product sends; the harness only listens
        return {}
    to = _product_endpoint(ctx)
    if not to:
        return {"endpoint": None, "error": NO_ENDPOINT, "sent": []}
    pam = ctx.endpoints.get("pam") or {}
    if "admin" not in pam or not pam.get("cda_mllp"):
        return {"endpoint": to, "error": NO_LISTENER, "sent": []}
    task = ctx.planned.task
    if ctx.planned.scenario == RETURNS:
        entry = _sent_transport(ctx, task.extra["of_task"])
        if entry is None:
            return {"endpoint": to, "error": f"no MDM/ORU of {task.extra['of_task']} reached the harness: "
                    "no outcome to return", "sent": []}
        answers = (entry.get("meta") or {}).get("control_id") or ""
        messages = [render_return("Z01", control_id=f"Z01-{task.id}", answers=answers, ok=True)]
        messages += [render_return("Z02", control_id=f"Z02-{n}-{task.id}", answers=answers, ok=True,
                                       address=address)
                     for n, address in enumerate(task.extra.get("mss_to") or [], start=1)]
        sent = [_send(ctx, to, message) for message in messages]
        return {"endpoint": to, "error": "", "answers": answers, "sent": sent}
    message, facts = relay_message(ctx)
    return {"endpoint": to, "error": "", **facts, "sent": [_send(ctx, to, message)]}


def relay_message(ctx: PrepareContext) -> tuple[str, dict]:
    """The MDM^T02 the harness, as the producing system, hands the PFI: a lettre de liaison of the patient by
    the task's author (the project's builder), for the DMP and the task's MSSanté recipients."""
    task, world = ctx.planned.task, ctx.world
    patient = world.patient_by_key(ctx.planned.patient_key)
    author = (task.author or {}).get("professional") or {}
    professional = next((p for p in world.professionals if p.key == author.get("key")),
                        world.professionals[0])
    organisation = next((o for o in world.organisations if o.key == professional.organisation),
                        world.organisations[0])
    document = build_ldl_ses_n1(patient, professional, organisation, None)
    traits = {"birth_name": patient.birth_name, "first_names": patient.first_names,
              "birth_date": patient.birth_date, "sex": patient.sex, "birth_place": patient.birth_place or ""}
    sender = {"idnps": f"8{professional.rpps}", "family": professional.family_name,
              "given": professional.given_name, "organisation": organisation.name,
              "finess": organisation.finess}
    control_id = task.extra["control_id"]
    message = render_transport(document, control_id=control_id, ins=patient.ins, ins_oid=patient.oid,
                                   traits=traits, type_code="11490-0", type_label="Lettre de liaison",
                                   sender=sender, recipients=tuple(task.extra.get("mss_to") or ()))
    facts = document_facts(document)
    return message, {"control_id": control_id, "ins": patient.ins, "ins_oid": patient.oid,
                     "document_id": facts.get("unique_id"), "mss_to": list(task.extra.get("mss_to") or ()),
                     "document_sha1": hashlib.sha1(document).hexdigest()}


# --- observe ------------------------------------------------------------------------------------------------
def _field(message, key: str) -> str:
    try:
        return str(message[key])
    except (KeyError, IndexError):
        return ""


def document_facts(document: bytes | None) -> dict:
    """The CDA's id (root^extension, as XDS writes it) and recordTarget INS, read by the judge's own
    `cda_header` (empty without a document; `unreadable` says why it is no CDA)."""
    if not document:
        return {}
    header = cda_header(document)
    if "unreadable" in header:
        return {"unreadable": header["unreadable"]}
    return {key: header[key] for key in ("unique_id", "ins", "ins_oid")}


def transport_facts(text: str) -> dict:
    """What the judge reads in an ORU/MDM: MSH-9, MSH-10, PID-3's INS (CX-5 INS) and PID-32, the CDA of the
    first OBX (ED, base64) with its id and INS, and the PRT RCT addresses."""
    message = parse(text)
    if message is None:
        return {"unreadable": True}
    pid = (segments(message, "PID") or [None])[0]
    ins = oid = None
    if pid is not None:
        for repetition in str(pid).split("|")[3].split("~") if len(str(pid).split("|")) > 3 else []:
            parts = repetition.split("^")
            if len(parts) > 4 and parts[4] == "INS":
                ins, oid = parts[0], (parts[3].split("&") + ["", ""])[1]
    fields = str(pid).split("|") if pid is not None else []
    status = [s for s in (fields[32].split("~") if len(fields) > 32 else []) if s]
    first = (segments(message, "OBX") or [None])[0]
    document = None
    if first is not None and component(first, 2) == "ED":
        try:
            document = base64.b64decode("".join(component(first, 5, 5).split()), validate=True)
        except (binascii.Error, ValueError):
            document = None
    rct = [component(prt, 15, 4) for prt in segments(message, "PRT") if component(prt, 4) == "RCT"]
    return {"type": _field(message, "MSH.F9"), "control_id": _field(message, "MSH.F10"), "pid_ins": ins,
            "pid_ins_oid": oid, "pid_status": status, "document": document_facts(document),
            "document_sha1": hashlib.sha1(document).hexdigest() if document else None, "mss_to": rct}


def ack_facts(text: str) -> dict:
    message = parse(text) if text else None
    if message is None:
        return {"code": None, "answers": None, "errors": []}
    errors = [component(err, 5) or component(err, 3) for err in segments(message, "ERR")]
    return {"code": _field(message, "MSA.F1") or None, "answers": _field(message, "MSA.F2") or None,
            "errors": errors}


def return_facts(text: str) -> dict:
    message = parse(text)
    obx = segments(message, "OBX")
    return {"type": _field(message, "MSH.F9") if message is not None else None,
            "code": component(obx[0], 3) if obx else None, "answers": component(obx[0], 4) if obx else None,
            "status": component(obx[0], 5) if obx else None,
            "address": component(obx[1], 5, 4) if len(obx) > 1 else None}


def _body(part) -> str:
    body = (part or {}).get("body")
    return (body or {}).get("text") or "" if isinstance(body, dict) else ""


def _observe(ctx: ObserveContext) -> dict:
    received, sent = [], []
    for entry in ctx.journals.get("pam", []):
        if not ctx.in_task(entry, "pam"):
            continue
        operation, meta = entry["operation"], entry.get("meta") or {}
        base = {"seq": entry["seq"], "time": entry["time"], "operation": operation,
                "verdict": entry["verdict"], "rules": entry.get("rules") or [],
                "ack": ack_facts(_body(entry.get("response")))}
        if operation.startswith(("MDM^", "ORU^")):
            validation = (meta.get("transport") or {}).get("validation")
            received.append({**base, **transport_facts(_body(entry.get("request"))), "validation": validation,
                             "findings": [{"rule": f.get("rule"), "message": f.get("message")}
                                          for f in entry.get("findings") or []]})
        elif operation.startswith("ZAM^"):
            received.append({**base, **return_facts(_body(entry.get("request")))})
        elif operation.startswith("send "):
            sent.append({**base, "event": meta.get("event"), "control_id": meta.get("control_id"),
                         "error": (entry.get("response") or {}).get("error") or ""})
    prepared = ctx.prepared or {}
    return {"received": received, "sent": sent, "prepared": prepared}


# --- the checks ---------------------------------------------------------------------------------------------
def _obs(task: dict) -> dict:
    return task["observed"][f"{NAME}_{'pfi' if task['scenario'] == RELAY else 'dpi'}"]


def _transports(task: dict) -> list[dict]:
    return [r for r in _obs(task)["received"] if r["operation"].startswith(("MDM^", "ORU^"))]


def _returns(task: dict) -> list[dict]:
    return [r for r in _obs(task)["received"] if r["operation"].startswith("ZAM^")]


def check_handed(run: dict) -> CheckResult:
    problems, evidence = [], []
    official_pack = bool((run.get("validation") or {}).get("pack"))
    for task in tasks(run, SEND):
        task_id = task["task"]["id"]
        found = _transports(task)
        evidence.append({"task": task_id, "messages": [{k: m.get(k) for k in (
            "seq", "operation", "control_id", "verdict", "rules", "validation", "document")} for m in found]})
        if not found:
            problems.append(f"{task_id}: no MDM or ORU carrying the report reached the harness's CDA "
                            f"transport listener (the product says: {task['result'].get('detail')!r})")
        for message in found:
            where = f"{task_id}: {message['operation']} #{message['seq']} (MSH-10 {message['control_id']})"
            for finding in message["findings"]:
                if finding["rule"] not in INS_RULES and finding["rule"] != "PAM-MLLP-05":
                    problems.append(f"{where}: {finding['rule']}: {finding['message']}")
            if not message["document"] or message["document"].get("unreadable"):
                problems.append(f"{where}: the first OBX carries no readable CDA (ED, base64)")
            elif message["validation"] is None:
                problems.append(f"{where}: the harness could not validate the CDA it carries")
            elif official_pack:  # with a pack, valid means its XSD and Schematron ran (as documents-valid)
                skipped = [layer["name"] for layer in message["validation"].get("layers") or []
                           if layer["name"] in OFFICIAL_LAYERS and layer["status"] != "ran"]
                if skipped or not message["validation"].get("layers"):
                    problems.append(f"{where}: the CDA was judged without the official layers although a "
                                    f"pack is configured: {', '.join(skipped) or 'no layer recorded'}")
    if not tasks(run, SEND):
        problems.append("the plan has no HL7v2 CDA transport task")
    return judged("hl7-cda-handed", problems, evidence, "the report handed to the PFI as an MDM/ORU of the "
                  "volet, its CDA valid for the DMP's validator")


def _insi_returned(task: dict) -> set[tuple[str, str]]:
    return {(i.get("ins"), i.get("oid")) for i in task["observed"].get("insi", []) if i.get("code") == "00"}


def check_pid_ins(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, SEND):
        task_id = task["task"]["id"]
        returned = _insi_returned(task)
        found = _transports(task)
        evidence.append({"task": task_id, "insi": sorted(str(r) for r in returned),
                         "pid": [{k: m.get(k) for k in ("seq", "pid_ins", "pid_ins_oid", "pid_status")}
                                 for m in found]})
        if not found:
            blocked.append({"check": "hl7-cda-handed", "task": task_id, "reason": "no MDM/ORU to read"})
            continue
        for message in found:
            where = f"{task_id}: {message['operation']} #{message['seq']}"
            pid = (message["pid_ins"], message["pid_ins_oid"])
            if not returned:
                if message["pid_ins"]:
                    problems.append(f"{where}: PID-3 carries INS {message['pid_ins']} though INSi qualified "
                                    "no identity in the task")
                continue
            if pid not in returned:
                problems.append(f"{where}: PID-3 carries {'INS ' + str(pid[0]) if pid[0] else 'no INS'} "
                                f"({pid[1] or '-'}), not the INS INSi returned qualified "
                                f"({', '.join(sorted(str(r[0]) for r in returned))}); DPI.INS/va1.61 wants "
                                "it in PID of every outgoing HL7v2 message")
            elif "VALI" not in message["pid_status"]:
                problems.append(f"{where}: the INS goes with PID-32 {message['pid_status']}, not VALI")
            cda_ins = (message["document"] or {}).get("ins")
            if cda_ins and message["pid_ins"] and cda_ins != message["pid_ins"]:
                problems.append(f"{where}: PID-3 INS {message['pid_ins']} is not the CDA's {cda_ins}")
    return judged("hl7-cda-pid-ins", problems, evidence, "PID-3 of the outgoing MDM/ORU carries the INS INSi "
                  "returned, with PID-32 VALI, the CDA's own", blocked)


def _prepared_problems(task: dict) -> list[str]:
    prepared, task_id = _obs(task)["prepared"], task["task"]["id"]
    if prepared.get("error"):
        return [f"{task_id}: the harness could not send: {prepared['error']}"]
    return [f"{task_id}: {s.get('event') or 'message'} not sent: {s['error']}"
            for s in prepared.get("sent", []) if s.get("error") and not s.get("seq")]


def _acks(task: dict) -> list[str]:
    """Why a message the harness sent the product in the task was not answered AA naming it."""
    task_id = task["task"]["id"]
    problems = _prepared_problems(task)
    sent = _obs(task)["sent"]
    if not sent and not problems:
        problems.append(f"{task_id}: the PAM mock journalled no message sent to the product")
    for message in sent:
        where = f"{task_id}: {message['event']} (MSH-10 {message['control_id']})"
        ack = message["ack"]
        if ack["code"] is None:
            problems.append(f"{where}: no ACK ({message['verdict']}: {message['error'] or 'no MSA'})")
        elif ack["code"] != "AA":
            problems.append(f"{where} answered {ack['code']} ({'; '.join(ack['errors']) or 'no ERR'})")
        elif ack["answers"] != message["control_id"]:
            problems.append(f"{where}: the ACK's MSA-2 {ack['answers']!r} does not name it")
    return problems


def check_returns_taken(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, RETURNS):
        evidence.append({"task": task["task"]["id"], "sent": _obs(task)["sent"]})
        problems += _acks(task)
    if not tasks(run, RETURNS):
        problems.append("the plan has no task returning the PFI's outcomes")
    return judged("hl7-cda-returns-taken", problems, evidence, "the DPI takes the PFI's DMP and MSSanté "
                  "returns (ZAM^Z01, ZAM^Z02): ACK AA naming each")


def check_relay_acked(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, RELAY):
        evidence.append({"task": task["task"]["id"], "sent": _obs(task)["sent"]})
        problems += _acks(task)
    if not tasks(run, RELAY):
        problems.append("the plan has no task handing the PFI a document over HL7v2")
    return judged("hl7-cda-relay-acked", problems, evidence, "the PFI acknowledges the producer's MDM AA")


def _deliveries(task: dict) -> tuple[list[dict], list[dict]]:
    """The accepted ITI-41 documents and the delivered MSSanté messages of the task."""
    observed = task["observed"]
    dmp = [{"seq": item["seq"], **doc} for item in observed.get("dmp", [])
           if item["operation"] == "ITI-41" and item["verdict"] in ("accepted", "warning")
           for doc in item.get("documents") or [] if "unreadable" not in doc]
    mss = [message for message in observed.get("mss", [])
           if message.get("verdict") in ("accepted", "warning")]
    return dmp, mss


def _not_sent(task_id: str) -> dict:
    return {"check": "hl7-cda-relay-acked", "task": task_id, "reason": "the MDM was not sent"}


def check_relayed(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RELAY):
        task_id, prepared = task["task"]["id"], _obs(task)["prepared"]
        dmp, mss = _deliveries(task)
        evidence.append({"task": task_id, "handed": {k: prepared.get(k) for k in (
            "control_id", "ins", "document_id", "mss_to")},
            "dmp": [{k: d.get(k) for k in ("seq", "unique_id", "ins", "ins_oid")} for d in dmp],
            "mss": [{k: m.get(k) for k in ("seq", "to", "delivered_to", "verdict")} for m in mss]})
        if _prepared_problems(task):
            blocked.append(_not_sent(task_id))
            continue
        same = [d for d in dmp if d.get("unique_id") == prepared.get("document_id")]
        if not same:
            problems.append(f"{task_id}: the DMP accepted no document {prepared.get('document_id')} (the one "
                            f"the MDM carried); accepted: {[d.get('unique_id') for d in dmp] or 'none'}")
        for doc in same:
            if (doc.get("ins"), doc.get("ins_oid")) != (prepared.get("ins"), prepared.get("ins_oid")):
                problems.append(f"{task_id}: ITI-41 #{doc['seq']} files the document under INS "
                                f"{doc.get('ins')}, not the PID's {prepared.get('ins')}")
        for address in prepared.get("mss_to") or []:
            if not any(address in (m.get("delivered_to") or m.get("to") or []) for m in mss):
                problems.append(f"{task_id}: no MSSanté message delivered to {address}, the PRT RCT "
                                "recipient")
    return judged("hl7-cda-relayed", problems, evidence, "the document of the MDM reaches the DMP under the "
                  "PID's INS and the PRT RCT recipient by MSSanté", blocked)


def check_returns_sent(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RELAY):
        task_id, prepared = task["task"]["id"], _obs(task)["prepared"]
        control = prepared.get("control_id")
        dmp, mss = _deliveries(task)
        returns = _returns(task)
        keys = ("seq", "operation", "verdict", "code", "answers", "status", "address", "rules")
        evidence.append({"task": task_id, "control_id": control,
                         "returns": [{k: r.get(k) for k in keys} for r in returns]})
        if _prepared_problems(task):
            blocked.append(_not_sent(task_id))
            continue
        for ret in returns:
            if ret["verdict"] != "accepted":
                problems.append(f"{task_id}: {ret['operation']} #{ret['seq']} is not as the volet lays it "
                                f"out ({', '.join(ret['rules'])})")
        ours = [r for r in returns if r.get("answers") == control]
        if dmp and not any(r["operation"] == "ZAM^Z01" and r["status"] == "Y" for r in ours):
            problems.append(f"{task_id}: the DMP accepted the document but no ZAM^Z01 (OBX-4 {control}, "
                            "OBX-5 Y) came back to the producer")
        for message in mss:
            addresses = message.get("delivered_to") or message.get("to") or []
            for address in addresses:
                if not any(r["operation"] == "ZAM^Z02" and r["address"] == address for r in ours):
                    problems.append(f"{task_id}: the message to {address} was delivered but no ZAM^Z02 for "
                                    f"it (OBX-4 {control}) came back to the producer")
        if not dmp and not mss and not ours:
            problems.append(f"{task_id}: nothing was delivered and no outcome (ZAM) came back to the "
                            "producer")
    return judged("hl7-cda-returns-sent", problems, evidence, "the PFI returns the DMP and MSSanté outcomes "
                  "to the producer (ZAM^Z01, ZAM^Z02 naming its MDM)", blocked)


#: no REM id in the couloirs RIS and BIO (their suites do not list these checks)
NONE = {"RIS": [], "BIO": []}
CHECKS = (
    Check("hl7-cda-handed", "Documents handed to the PFI per the HL7v2 CDA transport volet",
          "test_hl7_cda_documents_are_handed_per_the_volet",
          "The report goes to the PFI as an MDM^T02 (HL7 2.6) or ORU^R01 (2.5) laid out as the CI-SIS volet "
          "asks (MSH-21, TXA, the CDA base64 in OBX-5, ORC/OBX-11, the DMP/MSSanté metadata, PRT), and the "
          "CDA it carries is valid for the validator the DMP uses.", NONE | {"DPI": ["DPI.CDA/HL7.02"]},
          ("pam.transport",), check_handed, ("hl7-txa-wrong-id",),
          hint=("Lay out the MDM^T02 (2.6) or ORU^R01 (2.5) as the CI-SIS HL7v2 CDA transport volet asks: "
                "MSH-21, TXA-12 the document's id (not its setId), the CDA base64 in OBX-5, ORC/OBX-11, the "
                "DMP/MSSanté metadata and PRT; the CDA must pass the DMP's validator.")),
    Check("hl7-cda-pid-ins", "The INS in PID of the outgoing HL7v2 message",
          "test_hl7_cda_pid_carries_the_ins", "PID-3 of the MDM/ORU carries the INS INSi returned qualified "
          "(CX-5 INS, its OID) with PID-32 VALI, the INS of the CDA it carries.",
          NONE | {"DPI": ["DPI.INS/va1.61"]}, ("pam.transport", "insi.searches"), check_pid_ins,
          ("hl7-pid-without-ins",),
          hint=("Put the INS INSi returned in PID-3 (CX-5 INS, with its OID) beside the IPP, with PID-32 "
                "VALI: the same INS as the CDA the message carries (DPI.INS/va1.61).")),
    Check("hl7-cda-returns-taken", "The PFI's returns are taken", "test_hl7_cda_returns_are_taken",
          "The DMP and MSSanté reception returns the PFI sends back (ZAM^Z01, ZAM^Z02 naming the DPI's "
          "message) are each acknowledged AA.", NONE | {"DPI": ["DPI.CDA/HL7.01"]}, ("pam.sent",),
          check_returns_taken, ("hl7-zam-refused",),
          hint=("Acknowledge each ZAM^Z01 and ZAM^Z02 return the PFI sends back about your message with an "
                "ACK, MSA-1 AA and MSA-2 the return's MSH-10 (DPI.CDA/HL7.01).")),
    Check("hl7-cda-relay-acked", "The producer's MDM acknowledged", "test_hl7_cda_relay_is_acknowledged",
          "The MDM^T02 the harness, as the producing system, sends the PFI is acknowledged AA naming it.",
          NONE | {"PFI": ["PFI.CDA/HL7.01", "PFI.MSS/UX.03"]}, ("pam.sent",), check_relay_acked,
          ("hl7-relay-no-ack",),
          hint=("Answer the producer's MDM^T02 on its MLLP connection with an ACK, MSA-1 AA and MSA-2 the "
                "MDM's MSH-10, before closing it (PFI.CDA/HL7.01).")),
    Check("hl7-cda-relayed", "The producer's document reaches the DMP and MSSanté",
          "test_hl7_cda_document_is_relayed",
          "The document of the MDM is filed in the DMP as is (its id) under the PID's INS, and sent by "
          "MSSanté to the PRT RCT recipient.", NONE | {"PFI": ["PFI.CDA/HL7.01", "PFI.MSS/UX.03"]},
          ("dmp.documents", "mss.messages"), check_relayed, ("hl7-relay-dmp-only",),
          hint=("File the MDM's CDA in the DMP as is (its document id) under the PID's INS, and send it by "
                "MSSanté to each PRT RCT recipient as well (PFI.CDA/HL7.01, PFI.MSS/UX.03).")),
    Check("hl7-cda-returns-sent", "Outcomes returned to the producer", "test_hl7_cda_outcomes_are_returned",
          "The PFI returns the outcome of each send to the producer: a ZAM^Z01 (DMP reception, OBX-5 Y) and "
          "a ZAM^Z02 per MSSanté recipient, OBX-4 naming the producer's MDM.",
          NONE | {"PFI": ["PFI.CDA/HL7.02", "PFI.MSS/UX.04"]}, ("pam.transport",), check_returns_sent,
          ("hl7-relay-no-returns",),
          hint=("Return the outcome of each send to the producer: a ZAM^Z01 for the DMP reception "
                "(OBX-5 Y) and a ZAM^Z02 per MSSanté recipient, OBX-4 naming its MDM (PFI.CDA/HL7.02, "
                "PFI.MSS/UX.04).")),
)

#: one capability per couloir (each couloir's suite lists only the checks of its own side)
DPI_CAPABILITY = Capability(f"{NAME}_dpi", "the CI-SIS HL7v2 CDA transport volet, the DPI's side: it hands "
                            "its documents to the PFI (MDM/ORU) and takes the PFI's returns (ZAM)",
                            scenarios=(SEND, RETURNS), plan=_plan, prepare=_prepare, observe=_observe,
                            checks=CHECKS[:3], couloirs=("DPI",), services=("pam",))
PFI_CAPABILITY = Capability(f"{NAME}_pfi", "the CI-SIS HL7v2 CDA transport volet, the PFI's side: it takes a "
                            "producer's MDM, feeds the DMP and MSSanté, returns the outcomes (ZAM)",
                            scenarios=(RELAY,), plan=_plan, prepare=_prepare, observe=_observe,
                            checks=CHECKS[3:], couloirs=("PFI",), services=("pam",))
