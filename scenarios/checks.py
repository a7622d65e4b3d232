"""The proof's checks, as pure functions of the run record (`runner.run_plan`).

Each check reads only what the mocks recorded (the observations in the run record: INSi answers, DMP
submissions and stored entries, MSSanté messages) and the world's facts, never the product's word — except
`claims-honest` and `outage-reported`, whose very subject is whether the product's claim matches what the
mocks saw. A check returns a `CheckResult`: passed or not, the problems found (one line each, naming the
task), and the evidence it looked at (exchanges with their journal time and sequence number, verdicts, rule
ids, validation reports). The pytest suites in `scenarios/test_*.py` run one test per check; the evidence
pack recomputes every verdict from the recorded run with the same functions (`recompute`).

The REM ids each check proves, per couloir, are in `CHECKS[...].rem` and on the test's `rem` marker; the
project's catalogue (`scenarios/data/requirements.csv`) says in its own words what each id asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from segur.kernel.ins import nir_key

# ANS's ASS_A11 concept map (formatCode of a document), as the project loads it: reference data, no parser
from segur.mocks.dmp import valuesets
from segur.scenarios.capabilities import capability_checks, owner_of
from segur.scenarios.check import Check, CheckResult, insi_found, insi_identities, judged
from segur.scenarios.check import tasks as all_tasks
from segur.scenarios.names import fold_name

ACCEPTED = ("accepted", "accepted-with-warnings")
SENDING_SCENARIOS = ("dmp", "mss", "citizen", "replace", "retry", "vitale")
DMP_SCENARIOS = ("dmp", "replace", "retry", "vitale")
#: INSi's two searches (docs/insi.md; CNAM's WSDL operations)
OP_TRAITS, OP_VITALE = "rechercherInsAvecTraitsIdentite", "rechercherInsAvecCarteVitale"
MSS_SCENARIOS = ("mss", "citizen")
VOLET_CODES = {"CR-IMG": "18748-4", "CR-BIO": "11502-2", "VSM": "SYNTH", "LDL-SES": "11490-0",
               "CRO": "34874-8", "ORDONNANCE": "57833-6"}
STATUS_APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
STATUS_DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
#: The DMP's visibility codes, added to the document entry's confidentialityCode (codingScheme
#: 1.2.250.1.213.1.1.4.13; DMP integration guide, mocks/dmp/client/metadata.py, docs/dmp-rules.md).
DMP_VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
MASKS = {"INVISIBLE_PATIENT": "not visible to the patient", "MASQUE_PS": "masked from professionals",
         "INVISIBLE_REPRESENTANTS_LEGAUX": "not visible to the legal representatives",
         "INVISIBLE_REP_LEGAUX": "not visible to the legal representatives"}


# --- reading the run record -------------------------------------------------------------------------------
#: the actions whose tasks send no report of the product's (reading its mailbox: what the mocks saw there is
#: the harness's delivery and the product's read receipts); every other action's sends are judged as reports
NO_REPORT_ACTIONS = ("read-inbox", "read-personal-inbox")


def tasks(run: dict, *scenarios: str) -> list[dict]:
    """The tasks of `scenarios`, or every task that gives the patient's traits: the core checks judge
    identities the product gets from INSi; a task with no traits (an identity fed over IHE PAM) is judged by
    its capability's own checks."""
    if scenarios:
        return all_tasks(run, *scenarios)
    return [task for task in all_tasks(run) if task["task"].get("patient") != {}]


def sends(task: dict) -> list[tuple[str, dict]]:
    """Every outgoing report the mocks saw for a task: ("dmp", ITI-41 item) / ("mss", message item)."""
    if task["task"].get("action") in NO_REPORT_ACTIONS:
        return []
    observed = task["observed"]
    found = [("dmp", d) for d in observed["dmp"] if d["operation"] == "ITI-41"]
    found += [("mss", m) for m in observed["mss"]]
    return found


def accepted_iti41(task: dict) -> list[dict]:
    return [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41" and d["verdict"] in ACCEPTED]


def refused_iti41(task: dict) -> list[dict]:
    return [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41" and d["verdict"] not in ACCEPTED]


#: what the evidence shows of each document of an ITI-41
DMP_DOCUMENT_BRIEF = ("unique_id", "ins", "ins_oid", "code", "replaces", "unreadable")


def _brief_send(kind: str, item: dict) -> dict:
    base = {"service": kind, "seq": item["seq"], "time": item["time"], "verdict": item["verdict"],
            "rules": item["rules"]}
    if kind == "dmp":
        base.update(operation="ITI-41", patient_id=item.get("patient_id"),
                    documents=[{k: d.get(k) for k in DMP_DOCUMENT_BRIEF}
                               for d in item.get("documents") or []])
    else:
        base.update(operation="smtp-message", message=item.get("id"), to=item.get("to"),
                    delivered_to=item.get("delivered_to"), subject=item.get("subject"),
                    attachments=[a.get("filename") for a in item.get("attachments") or []],
                    documents=[{k: d.get(k) for k in ("unique_id", "ins", "ins_oid", "xdm_patient_id")}
                               for d in xdm_read(item)])
    return base


def xdm_read(message: dict) -> list[dict]:
    """The CDA documents of a message's IHE_XDM.ZIP as the harness read them from the stored message (never
    the MSSanté mock's own reading of it), with their METADATA.XML entries."""
    return [d for d in message.get("xdm_documents") or [] if "unreadable" not in d]


def _doc_identities(kind: str, item: dict) -> list[tuple[str | None, str | None]]:
    documents = item.get("documents") or [] if kind == "dmp" else xdm_read(item)
    return [(d.get("ins"), d.get("ins_oid")) for d in documents if "unreadable" not in d]


# --- blocked: the upstream step that failed ---------------------------------------------------------------
#: the check that judges whether a task's report got through (it fails when it did not)
DELIVERY_CHECKS = {**dict.fromkeys(DMP_SCENARIOS, "dmp-accepted"), "mss": "mss-professionals-xdm",
                   "citizen": "citizen-address"}


def blocker(check: str | None, task: dict, reason: str) -> dict:
    return {"check": check, "task": task["task"]["id"], "reason": reason}


def harness_limits(run: dict) -> list[dict]:
    """The documents the harness itself could not read (an ITI-41 request the DMP mock no longer had whole:
    `harness_limit`): a check reading CDAs did not judge them, which is the harness's limit, not the product's
    fault — blocked, never failed, never silently passed."""
    return [blocker(None, task, f"ITI-41 #{item['seq']}: {doc['unreadable']}")
            for task in tasks(run) for kind, item in sends(task) if kind == "dmp"
            for doc in item.get("documents") or [] if doc.get("harness_limit")]


def messages_delivered_to(task: dict, address: str) -> list[dict]:
    """The task's MSSanté messages the mock delivered to `address` (compared without case)."""
    return [m for m in task["observed"]["mss"] if address.lower() in {a.lower() for a in m["delivered_to"]}]


def delivered(task: dict) -> bool:
    """The mocks accepted the task's report: an accepted ITI-41 (DMP tasks), a delivered message (others)."""
    if task["scenario"] in DMP_SCENARIOS:
        return bool(accepted_iti41(task))
    return any(m["delivered_to"] for m in task["observed"]["mss"])


def _what_the_mocks_saw(task: dict) -> str:
    if task["scenario"] in DMP_SCENARIOS:
        seen = [f"{d['operation']} #{d['seq']} {d['verdict']}" + (f" {d['rules']}" if d["rules"] else "")
                + (f" dmp={d['dmp_state']}" if d.get("dmp_state") else "") for d in task["observed"]["dmp"]]
        return "; ".join(seen) or "no DMP call"
    seen = [f"message #{m['seq']} to {m['to']}: {m['reply'] or m['verdict']}"
            for m in task["observed"]["mss"]]
    return "; ".join(seen) or "no message"


def why_undelivered(task: dict, what: str) -> dict:
    """The upstream failure that left a task without an accepted report: no INSi 00 and nothing sent
    (`insi-before-send` fails on it), else the task's delivery check (which fails on it)."""
    if not sends(task) and not insi_found(task):
        codes = sorted({str(i["code"]) for i in task["observed"]["insi"]})
        answers = f"codes {', '.join(codes)}" if codes else "INSi not called"
        return blocker("insi-before-send", task, f"{what}: INSi qualified no identity for the patient "
                       f"({answers}) and nothing was sent")
    return blocker(DELIVERY_CHECKS[task["scenario"]], task, f"{what}: {_what_the_mocks_saw(task)}")


# --- the checks ---------------------------------------------------------------------------------------------
#: what the evidence shows of each INSi search
INSI_BRIEF = ("seq", "time", "code", "ins", "oid")


def check_insi_before_send(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run):
        found = insi_found(task)
        for kind, item in sends(task):
            earlier = [i for i in found if i["time"] <= item["time"]]
            evidence.append({"task": task["task"]["id"], "send": _brief_send(kind, item),
                             "insi": [{k: i[k] for k in INSI_BRIEF} for i in found]})
            if not earlier:
                problems.append(f"{task['task']['id']}: {kind} send at {item['time']} with no INSi search of "
                                f"the patient (its traits, or its Vitale card) answered 00 before it")
        asked = (task["task"].get("extra") or {}).get("qualify", True)  # False: an identity fed before INSi
        if task["expect"] == "delivered" and asked and not found:
            problems.append(f"{task['task']['id']}: no INSi search of the patient answered 00")
    n = sum(1 for t in tasks(run) for _ in sends(t))
    return judged("insi-before-send", problems, evidence, f"{n} sends, each checked for an earlier INSi 00")


def _search_brief(i: dict) -> dict:
    return {"seq": i["seq"], "time": i["time"], "operation": i.get("operation"), "code": i["code"],
            "ins": i.get("ins"), "card_nir": (i.get("traits") or {}).get("vitale_nir")}


def check_insi_vitale_search(run: dict) -> CheckResult:
    """REM INS/va1.34 asks for both INSi searches: by traits *and* by Vitale card. A task that gives the card
    (`task.vitale`) must be searched with the card (`rechercherInsAvecCarteVitale` answered 00 for the card's
    NIR and birth date) before its report goes out — a product that types the traits instead has no Vitale
    search at all; the tasks without a card must be searched by traits (answered 00) before theirs."""
    problems, evidence = [], []
    card_tasks = [t for t in tasks(run) if t["task"].get("vitale")]
    for task in tasks(run):
        task_id, card = task["task"]["id"], task["task"].get("vitale")
        if not card and task["scenario"] not in SENDING_SCENARIOS:
            continue
        operation = OP_VITALE if card else OP_TRAITS
        mine = [i for i in task["observed"]["insi"] if i["for_task_patient"]]
        found = [i for i in mine if i["code"] == "00" and i.get("operation") == operation]
        evidence.append({"task": task_id, "searched_with": "Vitale card" if card else "traits", "card": card,
                         "insi": [_search_brief(i) for i in mine],
                         "sends": [_brief_send(kind, item) for kind, item in sends(task)]})
        how = f"Vitale card search ({OP_VITALE}) of the card's NIR {card.get('nir')}" if card \
            else f"traits search ({OP_TRAITS})"
        for kind, item in sends(task):
            if not [i for i in found if i["time"] <= item["time"]]:
                before = [i for i in mine if i["time"] <= item["time"]]
                others = sorted({f"{i.get('operation')} → {i['code']}" for i in before})
                saw = f" (INSi saw: {', '.join(others)})" if others else ""
                problems.append(f"{task_id}: {kind} send at {item['time']} with no {how} answered 00 before "
                                f"it{saw}")
        if card and task["expect"] == "delivered" and not found:
            others = sorted({f"{i.get('operation')} → {i['code']}" for i in mine})
            problems.append(f"{task_id}: the patient's Vitale card was read but INSi saw no {how} answered 00"
                            + (f"; it saw {', '.join(others)}" if others else "; INSi was not asked"))
    if not card_tasks:
        problems.append("the plan has no task with a Vitale card: the card search cannot be proved")
    summary = f"{len(card_tasks)} task(s) with a Vitale card searched with the card, the others by traits"
    return judged("insi-vitale-search", problems, evidence, summary)


def check_qualified_ins_only(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run):
        allowed = insi_identities(task)
        for kind, item in sends(task):
            for ins, oid in _doc_identities(kind, item):
                if ins and (ins, oid) not in allowed:
                    problems.append(f"{task['task']['id']}: {kind} report carries INS {ins} ({oid}), which "
                                    f"INSi did not return qualified (00) for this patient in this task")
            if kind == "mss" and "MSS-INS-HEADER-VALUE" in item["rules"]:
                problems.append(f"{task['task']['id']}: X-MSS-INS does not tell the INS's status truthfully "
                                "(MSS-INS-HEADER-VALUE)")
        if task["expect"] == "withheld":
            sent = sends(task)
            codes = sorted({i["code"] for i in task["observed"]["insi"] if i["for_task_patient"]})
            evidence.append({"task": task["task"]["id"], "insi_codes": codes,
                             "sends": [_brief_send(k, i) for k, i in sent]})
            if not task["observed"]["insi"]:
                problems.append(f"{task['task']['id']}: the identity INSi cannot qualify was not looked up "
                                "in INSi")
            for kind, item in sent:
                problems.append(f"{task['task']['id']}: INSi could not qualify the identity (codes {codes}) "
                                f"but a report went to the {kind.upper()} at {item['time']} "
                                f"(INS {[i for i, _ in _doc_identities(kind, item)]})")
    return judged("qualified-ins-only", problems, evidence, "every INS sent is one INSi returned with code "
                   "00; the unqualifiable identity sends nothing")


def _key_ok(ins: str | None) -> bool:
    try:
        return bool(ins) and len(ins) == 15 and nir_key(ins[:13]) == ins[13:]
    except ValueError:
        return False


def check_ins_in_cda(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        allowed = insi_identities(task)
        for kind, item in sends(task):
            for ins, oid in _doc_identities(kind, item):
                evidence.append({"task": task["task"]["id"], "service": kind, "seq": item["seq"],
                                 "time": item["time"], "cda_ins": ins, "cda_oid": oid,
                                 "insi": sorted(map(list, allowed))})
                if not ins:
                    problems.append(f"{task['task']['id']}: the CDA sent to the {kind.upper()} has no INS")
                    continue
                if not _key_ok(ins):
                    problems.append(f"{task['task']['id']}: the CDA's INS {ins} has a wrong NIR key")
                if ins not in {i for i, _ in allowed}:
                    problems.append(f"{task['task']['id']}: the CDA's INS {ins} is not the one INSi returned "
                                    f"({', '.join(sorted(i for i, _ in allowed)) or 'none'})")
                elif (ins, oid) not in allowed:
                    problems.append(f"{task['task']['id']}: the CDA's INS {ins} is written under OID {oid}, "
                                    f"INSi returned {dict(allowed).get(ins)}")
            for doc in item.get("documents") or [] if kind == "dmp" else []:
                # the harness could not get the request whole: its limit, not the product's fault
                if doc.get("harness_limit"):
                    blocked.append(blocker(None, task, f"ITI-41 #{item['seq']}: {doc['unreadable']}"))
                elif "unreadable" in doc:
                    problems.append(f"{task['task']['id']}: the CDA of ITI-41 #{item['seq']} could not be "
                                    "re-read")
    return judged("ins-in-cda", problems, evidence, "the CDA's INS and OID are those INSi returned", blocked)


def _pid_fields(values: list[str]) -> dict[str, str]:
    """sourcePatientInfo values (`PID-5|NAME^GIVEN^^^^^L`, `PID-7|YYYYMMDD`, `PID-8|F`) by PID field."""
    return {v.split("|", 1)[0]: v.split("|", 1)[1] for v in values if "|" in v}


def _source_patient_info_problems(task_id: str, item: dict, evidence: dict) -> list[str]:
    """IHE ITI TF-3, XDSDocumentEntry.sourcePatientInfo: PID-5 name, PID-7 birth date and PID-8 sex describe
    the document's patient; the harness reads them from the ITI-41 envelope and compares them with the
    CDA's recordTarget."""
    problems = []
    documents = {d.get("unique_id"): d for d in item.get("documents") or [] if "unreadable" not in d}
    evidence["source_patient_info"] = []
    for entry in item.get("xds_entries") or []:
        cda = documents.get(entry.get("unique_id"))
        pid = _pid_fields(entry.get("source_patient_info") or [])
        evidence["source_patient_info"].append({"unique_id": entry.get("unique_id"), "pid": pid})
        if cda and pid:
            problems += _pid_problems(task_id, f"XDS sourcePatientInfo of {entry.get('unique_id')}", cda, pid)
    return problems


def _pid_problems(task_id: str, where: str, cda: dict, pid: dict) -> list[str]:
    """PID-5 (birth name), PID-7 (birth date) and PID-8 (sex) of a sourcePatientInfo against the CDA."""
    if not pid:
        return []
    wanted = {"PID-5": _norm_name(cda.get("birth_name")), "PID-7": str(cda.get("birth_time") or "")[:8],
              "PID-8": cda.get("sex")}
    seen = {"PID-5": _norm_name(pid.get("PID-5", "").split("^")[0]), "PID-7": pid.get("PID-7", "")[:8],
            "PID-8": pid.get("PID-8")}
    wrong = [f"{k} {pid.get(k)!r} (the CDA says {wanted[k]})" for k in wanted
             if wanted[k] and seen[k] != wanted[k]]
    if not wrong:
        return []
    return [f"{task_id}: the {where} names another patient than the document: {'; '.join(wrong)}"]


def _source_patient_id_problems(task_id: str, item: dict, evidence: dict) -> list[str]:
    """IHE ITI TF-3, XDSDocumentEntry.sourcePatientId: the patient's id in the source; the DMP keys it on
    the INS, so it is the patientId the submission names (the CDA's INS)."""
    evidence["source_patient_ids"] = [e.get("source_patient_id") for e in item.get("xds_entries") or []]
    patient_id = item.get("patient_id")
    return [f"{task_id}: the XDS sourcePatientId of {e.get('unique_id')} is {e['source_patient_id']}, not "
            f"the patient the submission names ({patient_id})"
            for e in item.get("xds_entries") or []
            if patient_id and e.get("source_patient_id") and e["source_patient_id"] != patient_id]


def _norm_name(text) -> str:
    """`fold_name`, with apostrophes read as spaces too (D'ARC and D ARC agree)."""
    return fold_name(str(text or "").replace("'", " "))


def check_metadata_patient(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        for kind, item in sends(task):
            if kind == "dmp":
                cda = {f"{d.get('ins')}^^^&{d.get('ins_oid')}&ISO^NH" for d in item.get("documents") or []
                       if d.get("ins")}
                evidence.append({"task": task["task"]["id"], "service": "dmp", "seq": item["seq"],
                                 "time": item["time"], "xds_patient_id": item.get("patient_id"),
                                 "cda_patient_ids": sorted(cda),
                                 "rules": item["rules"]})
                if item.get("patient_id") and cda and item["patient_id"] not in cda:
                    problems.append(f"{task['task']['id']}: XDS patientId {item['patient_id']} differs from "
                                    f"the CDA's patient {sorted(cda)}")
                problems += _source_patient_info_problems(task["task"]["id"], item, evidence[-1])
                problems += _source_patient_id_problems(task["task"]["id"], item, evidence[-1])
                for rule in item["rules"]:
                    if rule in ("XDS-002", "XDS-PAT-006") or rule.startswith("DMP-PAT"):
                        problems.append(f"{task['task']['id']}: the DMP refused the patient identification "
                                        f"({rule})")
            else:
                for document in xdm_read(item):
                    expected = f"{document.get('ins')}^^^&{document.get('ins_oid')}&ISO^NH"
                    declared = document.get("xdm_patient_id")
                    evidence.append({"task": task["task"]["id"], "service": "mssante", "seq": item["seq"],
                                     "time": item.get("time"), "xdm_patient_id": declared,
                                     "cda_patient_id": expected})
                    if declared != expected:
                        problems.append(f"{task['task']['id']}: XDM patientId {declared} differs from the "
                                        f"CDA's patient {expected}")
                for doc in item.get("xdm_documents") or []:
                    where = f"XDM sourcePatientInfo of {doc.get('unique_id')}"
                    pid = _pid_fields(doc.get("xdm_source_patient_info") or [])
                    problems += _pid_problems(task["task"]["id"], where, doc, pid)
                # (MSS-CITIZEN-OTHER-PATIENT, a citizen mailbox given another patient's report, is the
                # citizen-address check's: failing here would also fail the DMP metadata requirement)
                for rule in ("MSS-XDM-PATIENT", "MSS-ONE-PATIENT"):
                    if rule in item["rules"]:
                        problems.append(f"{task['task']['id']}: MSSanté check {rule} failed")
    return judged("metadata-patient", problems, evidence, "XDS/XDM patientId = the CDA's INS",
                   harness_limits(run))


#: the codes an entry stored by the DMP must carry (the volet's typeCode and the confidentiality aside)
STORED_CODES = ("class_code", "format_code", "healthcare_facility_type_code", "practice_setting_code")


def check_dmp_accepted(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    kind = run["plan"]["couloir"]
    for task in tasks(run, *DMP_SCENARIOS):
        task_id, world = task["task"]["id"], task["world"]
        accepted = accepted_iti41(task)
        refused = refused_iti41(task)
        evidence.append({"task": task_id, "expected_patient": world["xds_patient_id"],
                         "submissions": [_brief_send("dmp", d) | {"stored": d.get("stored")} for d in
                                         accepted + refused]})
        if not accepted and not sends(task) and not insi_found(task):
            blocked.append(why_undelivered(task, "no report to judge"))
            continue
        if len(accepted) != 1:
            detail = "; ".join(f"#{d['seq']} {d['verdict']} {d['rules']}" for d in refused) \
                or "no ITI-41 seen"
            problems.append(f"{task_id}: {len(accepted)} accepted DMP submissions (expected 1): {detail}")
            continue
        item = accepted[0]
        if item.get("patient_id") != world["xds_patient_id"]:
            problems.append(f"{task_id}: submitted for {item.get('patient_id')}, the patient is "
                            f"{world['xds_patient_id']}")
        code = VOLET_CODES.get(task["task"]["kind"])
        for entry in item.get("stored") or []:
            if (entry.get("type_code") or {}).get("code") != code:
                problems.append(f"{task_id}: stored typeCode {(entry.get('type_code') or {}).get('code')} is "
                                f"not the volet's {code}")
            for name in STORED_CODES:
                if not entry.get(name):
                    problems.append(f"{task_id}: stored entry has no {name}")
            if not entry.get("confidentiality_codes"):
                problems.append(f"{task_id}: stored entry has no confidentialityCode")
            masks = [c.get("code") for c in entry.get("confidentiality_codes") or []
                     if isinstance(c, dict)
                     and (c.get("scheme") == DMP_VISIBILITY_SCHEME or c.get("code") in MASKS)]
            if masks:
                hidden = ", ".join(MASKS.get(m, m) for m in masks)
                problems.append(f"{task_id}: stored with the visibility code(s) {masks}: the report is "
                                f"hidden ({hidden}) although the task asked no masking")
        if not item.get("stored"):
            problems.append(f"{task_id}: the DMP store holds no entry for the accepted submission")
        if item["verdict"] != "accepted":
            problems.append(f"{task_id}: accepted with warnings {item['rules']}")
    n = len(tasks(run, "dmp"))
    summary = f"{n} DMP reports of the proof ({kind}) + replace and retry"
    return judged("dmp-accepted", problems, evidence, summary, blocked)


def _mss_task_problems(task: dict, recipient: str) -> list[str]:
    task_id = task["task"]["id"]
    delivered = messages_delivered_to(task, recipient)
    if not delivered:
        seen = "; ".join(f"#{m['seq']} to {m['to']} {m['reply']}" for m in task["observed"]["mss"]) \
            or "no message"
        return [f"{task_id}: nothing delivered to {recipient} ({seen})"]
    problems = []
    if len(delivered) > 1:
        problems.append(f"{task_id}: {len(delivered)} messages delivered to {recipient} (expected 1)")
    # the planned mailbox: the organisation's application one when it has one
    sender = task["task"].get("sender")
    for message in delivered:
        if sender and str(message.get("from") or "").lower() != sender.lower():
            problems.append(f"{task_id}: message {message['id']} was sent from {message.get('from')}, not "
                            f"from the planned mailbox {sender}")
        if message["verdict"] != "accepted":
            problems.append(f"{task_id}: message {message['id']} is {message['verdict']}: {message['rules']}")
        names = [a.get("filename", "") for a in message["attachments"]]
        if "IHE_XDM.ZIP" not in [n.upper() for n in names]:
            problems.append(f"{task_id}: message {message['id']} has no IHE_XDM.ZIP (attachments: {names})")
        if message.get("header_to") is None:
            problems.append(f"{task_id}: message {message['id']}: the harness could not read the stored "
                            "message")
        elif not xdm_read(message):
            problems.append(f"{task_id}: message {message['id']} carries no CDA document in an XDM package")
        problems += _header_recipient_problems(task_id, message, recipient)
    return problems


def _header_recipient_problems(task_id: str, message: dict, recipient: str) -> list[str]:
    """The To: header is what the addressee's mail client shows: it names the task's addressee, and no
    address the message was not delivered to (RFC 5322 3.6.3: To holds the primary recipients)."""
    shown = message.get("header_to")
    if shown is None:  # the harness could not read the stored copy: nothing to compare
        return []
    envelope = {str(a).lower() for a in message.get("to") or []}
    problems = []
    if recipient.lower() not in {a.lower() for a in shown}:
        problems.append(f"{task_id}: message {message['id']}'s To: header names {shown}, not the addressee "
                        f"{recipient} it was sent to")
    strangers = [a for a in shown + (message.get("header_cc") or []) if a.lower() not in envelope]
    if strangers:
        problems.append(f"{task_id}: message {message['id']}'s To:/Cc: headers name {strangers}, who did not "
                        f"receive it (envelope: {sorted(envelope)})")
    return problems


def check_mss_professionals(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, "mss"):
        problems += _mss_task_problems(task, task["task"]["recipient"])
        evidence += [{"task": task["task"]["id"], **_brief_send("mss", m)} for m in task["observed"]["mss"]]
    summary = (f"{len(tasks(run, 'mss'))} reports to professionals, each delivered with an IHE_XDM.ZIP, "
               "checks passing")
    return judged("mss-professionals-xdm", problems, evidence, summary)


def _mss_rule_check(check_id: str, prefixes: tuple[str, ...], what: str) -> Callable[[dict], CheckResult]:
    def check(run: dict) -> CheckResult:
        problems, evidence, blocked = [], [], []
        for task in tasks(run, *MSS_SCENARIOS):
            for message in task["observed"]["mss"]:
                fired = [r for r in message["rules"] if r.startswith(prefixes)]
                evidence.append({"task": task["task"]["id"], "seq": message["seq"], "time": message["time"],
                                 "message": message["id"], "subject": message["subject"], "rules": fired,
                                 "findings": [f for f in message["findings"] if f.get("rule") in fired]})
                for finding in message["findings"]:
                    if finding.get("rule") in fired:
                        problems.append(f"{task['task']['id']}: {finding['rule']}: {finding.get('message')}")
            if task["expect"] == "delivered" and not task["observed"]["mss"]:
                blocked.append(why_undelivered(task, "no message to check"))
        return judged(check_id, problems, evidence, what, blocked)

    return check


def check_mss_transport(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, *MSS_SCENARIOS):
        for message in task["observed"]["mss"]:
            tls = message.get("tls") or {}
            evidence.append({"task": task["task"]["id"], "seq": message["seq"], "time": message["time"],
                             "tls": tls, "login": message.get("login")})
            version = str(tls.get("version") or "")
            if version not in ("TLSv1.2", "TLSv1.3"):
                problems.append(f"{task['task']['id']}: message {message['id']} sent without TLS ≥ 1.2 "
                                f"({version or 'none'})")
            if not message.get("login"):
                problems.append(f"{task['task']['id']}: message {message['id']} sent without SMTP AUTH")
        if task["expect"] == "delivered" and not task["observed"]["mss"]:
            blocked.append(why_undelivered(task, "no message to check"))
    return judged("mss-transport", problems, evidence, "SMTP submission over STARTTLS (TLS ≥ 1.2) with AUTH",
                   blocked)


def check_citizen(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, "citizen"):
        returned = sorted(insi_identities(task))
        address = f"{returned[0][0]}@patient.mssante.fr" if len(returned) == 1 else None
        evidence.append({"task": task["task"]["id"], "insi": returned, "expected_address": address,
                         "messages": [_brief_send("mss", m) for m in task["observed"]["mss"]]})
        if not returned:
            blocked.append(blocker("insi-before-send", task, "INSi returned no qualified identity (00) for "
                                   "the patient in this task: the address <INS>@patient.mssante.fr cannot be "
                                   "derived"))
            continue
        if not address:
            problems.append(f"{task['task']['id']}: INSi returned {len(returned)} qualified identities; the "
                            "citizen address cannot be derived")
            continue
        problems += _mss_task_problems(task, address)
        for message in task["observed"]["mss"]:
            wrong = [a for a in message["to"] if a.lower() != address.lower()]
            if wrong:
                problems.append(f"{task['task']['id']}: the citizen's report also went to {wrong}")
            if "MSS-CITIZEN-OTHER-PATIENT" in message["rules"]:
                problems.append(f"{task['task']['id']}: message {message['id']} gave a citizen mailbox the "
                                "report of another patient (MSS-CITIZEN-OTHER-PATIENT)")
    if not tasks(run, "citizen"):
        problems.append("the plan has no citizen task")
    return judged("citizen-address", problems, evidence,
                   "report delivered to <INS from INSi>@patient.mssante.fr", blocked)


OFFICIAL_LAYERS = ("xsd", "schematron")


def check_documents_valid(run: dict) -> CheckResult:
    """With an official pack configured, a document is proved valid only if the XSD and Schematron layers
    ran on it: a mock that silently fell back to the project's own layers must not make a PASS."""
    problems, evidence, blocked = [], [], []
    official_pack = bool((run.get("validation") or {}).get("pack"))
    for task in tasks(run, *SENDING_SCENARIOS):
        reports, found = [], len(problems)
        for item in accepted_iti41(task):
            for entry in item.get("stored") or []:
                reports.append(("dmp", entry.get("unique_id"), entry.get("validation")))
        for message in task["observed"]["mss"]:
            for uid, report in (message.get("validation") or {}).items():
                reports.append(("mssante", uid, report))
            for finding in message["findings"]:
                if finding.get("rule") in ("MSS-CDA-INVALID", "MSS-CDA-NOT-VALIDATED"):
                    problems.append(f"{task['task']['id']}: {finding['rule']}: {finding.get('message')}")
        for item in task["observed"]["dmp"]:
            if item["operation"] == "ITI-41" and item["verdict"] not in ACCEPTED:
                invalid = [f for f in item["findings"] if f.get("rule") == "XDS-41-014" or
                           str(f.get("rule", "")).startswith(("SEGUR-", "XSD-", "SCH", "CDA-STRUCT", "XML-"))]
                for finding in invalid:
                    problems.append(f"{task['task']['id']}: the DMP's validator refused the document: "
                                    f"{finding['rule']}: {finding.get('message')}")
        for service, uid, report in reports:
            evidence.append({"task": task["task"]["id"], "service": service, "document": uid,
                             "report": report})
            if report is None:
                problems.append(f"{task['task']['id']}: no validation report for {uid} at the {service}")
            elif not report.get("valid"):
                first = (report.get("findings") or [{}])[0]
                problems.append(f"{task['task']['id']}: {uid} is not valid for its volet ({service}): "
                                f"{first.get('rule')}: {first.get('message')}")
            elif official_pack:
                skipped = [f"{layer.get('name')} ({layer.get('reason') or layer.get('status')})"
                           for layer in report.get("layers") or [] if layer.get("name") in OFFICIAL_LAYERS
                           and layer.get("status") != "ran"]
                if skipped or not report.get("layers"):
                    problems.append(f"{task['task']['id']}: {uid} was judged valid at the {service} without "
                                    f"the official layers although a pack is configured: "
                                    f"{', '.join(skipped) or 'no layer recorded'}")
        if task["expect"] == "delivered" and not reports and len(problems) == found:
            if delivered(task):  # accepted, yet the mocks recorded no validator's verdict for it
                problems.append(f"{task['task']['id']}: the report was accepted but no validation report was "
                                "recorded")
            else:
                blocked.append(why_undelivered(task, "no document was accepted by a service, so none could "
                                                     "be validated"))
    return judged("documents-valid", problems, evidence, "every document the services received is valid "
                   "(validator verdict recorded by the mocks)", blocked)


def _same_set_problems(task_id: str, new: dict, old_docs: list[dict]) -> list[str]:
    """A new version keeps the replaced document's setId and has a higher versionNumber (HL7 CDA R2 setId
    and versionNumber; CI-SIS volet structuration minimale): a new setId starts another document."""
    old = next((d for d in old_docs if d.get("unique_id") == new.get("replaces")), None)
    if old is None or not old.get("set_id") or not new.get("set_id"):
        return []
    problems = []
    if new["set_id"] != old["set_id"]:
        problems.append(f"{task_id}: the new version has setId {new['set_id']}, not the replaced report's "
                        f"setId {old['set_id']}: it starts another document instead of a new version")
    try:
        if int(new.get("version") or 0) <= int(old.get("version") or 0):
            problems.append(f"{task_id}: the new version's versionNumber {new.get('version')} is not above "
                            f"the replaced report's {old.get('version')}")
    except ValueError:
        problems.append(f"{task_id}: versionNumber {new.get('version')!r} / {old.get('version')!r} "
                        "is not a number")
    return problems


#: what identifies one version of a report
VERSION_IDS = ("unique_id", "set_id", "version", "replaces")


def check_replacement(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    by_id = {t["task"]["id"]: t for t in run["tasks"]}
    store = run.get("dmp_store") or {}
    for task in tasks(run, "replace"):
        replaced = by_id.get(task["task"]["extra"].get("replaces_task"))
        old_ids = [e.get("unique_id") for d in accepted_iti41(replaced or {"observed": {"dmp": []}})
                   for e in d.get("stored") or []]
        accepted = accepted_iti41(task)
        new_docs = [doc for d in accepted for doc in d.get("documents") or []]
        entries = {e.get("unique_id"): e for e in store.get(task["world"]["xds_patient_id"], [])}
        replaced_docs = [d for i in accepted_iti41(replaced or {"observed": {"dmp": []}})
                         for d in i.get("documents") or []]
        evidence.append({"task": task["task"]["id"],
                         "replaces_task": task["task"]["extra"].get("replaces_task"),
                         "replaced_documents": old_ids,
                         "new_documents": [{k: d.get(k) for k in VERSION_IDS} for d in new_docs],
                         "replaced_set_ids": sorted({d.get("set_id") or "?" for d in replaced_docs}),
                         "store_status": {uid: (entries.get(uid) or {}).get("availability_status")
                                          for uid in old_ids + [d.get("unique_id") for d in new_docs]}})
        if replaced is None:
            problems.append(f"{task['task']['id']}: replaces_task names no task of the run")
            continue
        if not old_ids:  # nothing in the DMP to replace: dmp-accepted (or INSi) fails on the earlier task
            blocked.append(why_undelivered(replaced, f"the report {task['task']['id']} replaces was never "
                                                     "accepted by the DMP"))
            continue
        if not sends(task) and not insi_found(task):
            blocked.append(why_undelivered(task, "no replacement to judge"))
            continue
        if len(accepted) != 1 or not new_docs:
            problems.append(f"{task['task']['id']}: {len(accepted)} accepted replacement submissions "
                            "(expected 1)")
            continue
        old_docs = [doc for d in accepted_iti41(replaced) for doc in d.get("documents") or []
                    if "unreadable" not in doc]
        for doc in new_docs:
            problems += _same_set_problems(task["task"]["id"], doc, old_docs)
            if doc.get("replaces") not in old_ids:
                problems.append(f"{task['task']['id']}: the new version's relatedDocument RPLC points at "
                                f"{doc.get('replaces')}, not at the replaced report {old_ids}")
            if (entries.get(doc.get("unique_id")) or {}).get("availability_status") != STATUS_APPROVED:
                problems.append(f"{task['task']['id']}: the new version is not Approved in the DMP")
        for uid in old_ids:
            status = (entries.get(uid) or {}).get("availability_status")
            if status != STATUS_DEPRECATED:
                problems.append(f"{task['task']['id']}: the replaced report {uid} is {status}, not "
                                "Deprecated")
    if not tasks(run, "replace"):
        problems.append("the plan has no replacement task")
    return judged("dmp-replacement", problems, evidence,
                   "RPLC of an earlier report; the earlier version deprecated", blocked)


def _attempt(item: dict) -> dict:
    """An ITI-41 made during the outage, as the evidence shows it (with the HTTP status it got)."""
    return _brief_send("dmp", item) | {"http_status": item.get("http_status")}


def check_outage_reported(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, "outage"):
        task_id, result = task["task"]["id"], task["result"]
        attempted = [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41"]
        # the entries the DMP registered from the submissions made during the outage (the store is read at the
        # end of the run, so a document uid alone would also match the same report sent again by the retry)
        stored = sorted({e.get("unique_id") or "?" for d in attempted for e in d.get("stored") or []})
        evidence.append({"task": task_id, "fault": task["fault"], "driver_result": result,
                         "attempts": [_attempt(d) for d in attempted],
                         "stored_from_outage": stored})
        if result.get("ok"):
            problems.append(f"{task_id}: the product claims success ({result.get('detail')!r}) while the DMP "
                            "was down")
        if accepted_iti41(task):
            problems.append(f"{task_id}: a submission was accepted during the outage (the fault did not "
                            "hold)")
        if stored:
            problems.append(f"{task_id}: the DMP stored {stored} from a submission made during the outage")
        if not attempted and not task["observed"]["insi"]:
            problems.append(f"{task_id}: the product did not even try (no INSi search, no DMP call)")
        elif not attempted:  # identity searched, report never submitted: its outage handling was not shown
            codes = sorted({str(i.get("code")) for i in task["observed"]["insi"]})
            problems.append(f"{task_id}: the product searched INSi (codes {codes}) but never attempted the "
                            "DMP submission, so how it handles the outage was not shown")
    if not tasks(run, "outage"):
        problems.append("the plan has no outage task")
    return judged("outage-reported", problems, evidence,
                   "a DMP outage is reported as a failure, nothing half-stored")


def _doc_key(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("seq", "unique_id", "set_id", "version", "sha1", "source")}


def _documents_sent(item: dict) -> list[dict]:
    """The documents of one ITI-41 as the DMP journal kept them: the CDA re-read from the request (id, setId,
    version, SHA-1), else — the journal cut a large request before the CDA — the XDS uniqueId of the metadata,
    which comes first on the wire (the DMP requires it to be the CDA's id)."""
    readable = [dict(d, source="cda") for d in item.get("documents") or [] if "unreadable" not in d]
    if readable:
        return [_doc_key(d | {"seq": item["seq"]}) for d in readable]
    return [{"seq": item["seq"], "unique_id": uid, "set_id": None, "version": None, "sha1": None,
             "source": "xds-metadata"} for uid in item.get("xds_unique_ids") or item.get("unique_ids") or []]


def same_report(sent: dict, kept: dict) -> bool:
    """The same document: same id, and same setId, version and bytes (SHA-1) where both sides recorded
    them."""
    if not sent.get("unique_id") or sent.get("unique_id") != kept.get("unique_id"):
        return False
    return all(sent.get(k) == kept.get(k) for k in ("set_id", "version", "sha1")
               if sent.get(k) and kept.get(k))


def _rebuilt(sent: dict, tried: list[dict]) -> bool:
    """Same ids as a report tried during the outage, other bytes: rebuilt under the kept ids."""
    return any(sent.get("unique_id") == k.get("unique_id") and sent.get("sha1") and k.get("sha1")
               and sent["sha1"] != k["sha1"] for k in tried)


def check_outage_retry(run: dict) -> CheckResult:
    """REM RIS.DMP/va1.13, SC.DMP/va1.01: *each* report goes to the DMP ("envoi systématique"): one the DMP
    could not take during an outage is kept and sent when the service is back — the same document (same
    id, setId, version), which the harness reads from what the DMP journalled of the refused request (the
    mock answers the injected 503 after reading the whole request: its journal keeps the body)."""
    problems, evidence, blocked = [], [], []
    store = run.get("dmp_store") or {}
    by_id = {t["task"]["id"]: t for t in run["tasks"]}
    for task in tasks(run, "retry"):
        task_id = task["task"]["id"]
        outage_id = (task["task"].get("extra") or {}).get("retry_of")
        outage = by_id.get(outage_id)
        attempts = [d for d in (outage or {"observed": {"dmp": []}})["observed"]["dmp"]
                    if d["operation"] == "ITI-41"]
        tried = [doc for d in attempts for doc in _documents_sent(d)]
        patient = task["world"]["xds_patient_id"]
        approved = [e for e in store.get(patient, []) if e.get("availability_status") == STATUS_APPROVED]
        accepted = accepted_iti41(task)
        sent_again = [doc for d in accepted for doc in _documents_sent(d)]
        refused = [d for d in refused_iti41(task) if d["verdict"] != "fault-injected"]
        evidence.append({"task": task_id, "retry_of": outage_id,
                         "outage_attempts": [_brief_send("dmp", d) | {"http_status": d.get("http_status")}
                                             for d in attempts],
                         "report_tried_during_outage": tried,
                         "accepted": [_brief_send("dmp", d) for d in accepted],
                         "report_accepted_after": sent_again,
                         "approved_in_dmp": [e.get("unique_id") for e in approved]})
        if outage is None:
            problems.append(f"{task_id}: retry_of names no task of the run ({outage_id!r})")
            continue
        if not accepted and (refused or not insi_found(task)):  # refused for its content, or no identity
            blocked.append(why_undelivered(task, "nothing accepted after the outage to compare with the "
                                                 f"report {outage_id} tried to send"))
            continue
        if len(accepted) != 1:
            problems.append(f"{task_id}: {len(accepted)} accepted submissions after the outage cleared "
                            "(expected 1: the report must not be lost)")
        if len(approved) != 1:
            problems.append(f"{task_id}: the DMP holds {len(approved)} approved reports for the patient "
                            "(expected exactly 1: neither lost nor duplicated)")
        if not attempts:
            blocked.append(blocker(None, outage, f"no ITI-41 of {outage_id} reached the DMP during the "
                                   "outage (connection refused, or the product stopped before sending): the "
                                   f"report it tried to send is unknown, so whether {task_id} sends that "
                                   "same report cannot be judged"))
            continue
        if not tried:
            blocked.append(blocker(None, outage, f"the DMP journal kept too little of {outage_id}'s ITI-41 "
                                   f"{[d['seq'] for d in attempts]} to identify the document it carried"))
            continue
        tried_hashes = {k["sha1"] for k in tried if k.get("sha1")}
        for doc in sent_again:
            if _rebuilt(doc, tried):
                problems.append(f"{task_id}: the DMP accepted report {doc['unique_id']} under the ids of the "
                                f"report {outage_id} tried to send during the outage, but with other content "
                                f"(SHA-1 {doc['sha1']}, was {', '.join(sorted(tried_hashes))}): the kept "
                                "report was rebuilt, not sent as it was")
            elif not any(same_report(doc, kept) for kept in tried):
                was = "; ".join(f"{k['unique_id']} (setId {k['set_id']}, version {k['version']})" for k in
                                {k["unique_id"]: k for k in tried}.values())
                problems.append(f"{task_id}: the DMP accepted report {doc['unique_id']} (setId "
                                f"{doc['set_id']}, version {doc['version']}), not the report {outage_id} "
                                f"tried to send during the outage ({was}): that report was lost and another "
                                "one built in its place")
    if not tasks(run, "retry"):
        problems.append("the plan has no retry task")
    return judged("outage-retry", problems, evidence,
                   "after the outage, the very report the DMP could not take is sent, once", blocked)


#: the actions whose one addressee is the DMP (a report sent there, with or without visibility codes)
DMP_ACTIONS = ("send-dmp", "replace-dmp", "send-dmp-visibility")


def one_addressee(action: str) -> bool:
    """A send to one addressee this check can see: the DMP, a professional's or the patient's mailbox."""
    return action in DMP_ACTIONS or action.startswith(("send-mss", "send-citizen", "send-psc-mss"))


def check_claims_honest(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run):
        task_id, claimed = task["task"]["id"], bool(task["result"].get("ok"))
        action = task["task"]["action"]
        if action in NO_REPORT_ACTIONS or (owner_of(task["scenario"]) and not one_addressee(action)):
            continue  # a capability's task that is no send to one addressee: its own checks judge the claim
        if action in DMP_ACTIONS:
            seen = bool(accepted_iti41(task))
        else:  # delivered to the task's addressee: a report that went to someone else was not sent as asked
            addressee = (task["task"].get("recipient") if not action.startswith("send-citizen")
                         else (task.get("world") or {}).get("citizen_mailbox"))
            seen = bool(messages_delivered_to(task, addressee)) if addressee else delivered(task)
        evidence.append({"task": task_id, "claimed_ok": claimed, "detail": task["result"].get("detail"),
                         "delivery_seen_by_mocks": seen})
        if claimed and not seen:
            problems.append(f"{task_id}: the product says it sent the report "
                            f"({task['result'].get('detail')!r}) but no accepted delivery to the task's "
                            "addressee reached the mocks")
        if task["expect"] == "delivered" and not claimed and seen:
            problems.append(f"{task_id}: the report reached the mocks but the product says it failed "
                            f"({task['result'].get('detail')!r})")
    return judged("claims-honest", problems, evidence,
                   "the product's success claims match what the mocks received")


# --- what the documents themselves say (read by the harness from the bytes that reached the mocks) --------
def sent_documents(task: dict) -> list[tuple[str, dict, dict]]:
    """Every CDA a task sent, read by the harness: ("dmp", ITI-41 item, document) for each readable document
    of an ITI-41 request, ("mss", message, document) for each CDA of a message's IHE_XDM.ZIP."""
    found = [("dmp", item, doc) for kind, item in sends(task) if kind == "dmp"
             for doc in item.get("documents") or [] if "unreadable" not in doc]
    found += [("mss", m, doc) for m in task["observed"]["mss"] for doc in m.get("xdm_documents") or []
              if "unreadable" not in doc]
    return found


def _where(kind: str, item: dict) -> str:
    return f"ITI-41 #{item['seq']}" if kind == "dmp" else f"message {item.get('id')}"


def _pdf_names_patient_problems(task_id: str, kind: str, item: dict, doc: dict) -> list[str]:
    names = {"birth name": _norm_name(doc.get("birth_name")), "INS": str(doc.get("ins") or "")}
    problems = []
    if doc.get("body_media_type") == "application/pdf" and not doc.get("pdfs"):
        problems.append(f"{task_id}: {_where(kind, item)}: document {doc.get('unique_id')} declares a PDF "
                        "body the harness could not decode")
    for pdf in doc.get("pdfs") or []:
        if pdf.get("text") is None:
            problems.append(f"{task_id}: {_where(kind, item)}: the PDF of {doc.get('unique_id')} cannot be "
                            f"read ({pdf.get('error')})")
            continue
        text = _norm_name(pdf["text"])
        missing = [f"{what} {value}" for what, value in names.items()
                   if value and _norm_name(value) not in text]
        if missing:
            problems.append(f"{task_id}: {_where(kind, item)}: the PDF inside {doc.get('unique_id')} does "
                            f"not name the document's patient ({', '.join(missing)} not in its text; it "
                            f"begins {pdf['text'][:120]!r})")
    return problems


def check_pdf_patient(run: dict) -> CheckResult:
    """The PDF a CDA carries (N1 body, N3 PDF copy) is what a reader sees: it must name the patient of the
    document — the birth name and the INS INSi returned — read from the PDF's own text (pypdf)."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        for kind, item, doc in sent_documents(task):
            evidence.append({"task": task["task"]["id"], "service": kind, "seq": item["seq"],
                             "document": doc.get("unique_id"), "birth_name": doc.get("birth_name"),
                             "ins": doc.get("ins"), "pdfs": doc.get("pdfs")})
            problems += _pdf_names_patient_problems(task["task"]["id"], kind, item, doc)
    return judged("pdf-patient", problems, evidence, "the PDF inside each document names its patient "
                   "(birth name and INS)", harness_limits(run))


def _rendering_problems(task_id: str, message: dict, attached: list[dict]) -> list[str]:
    """The PDFs attached beside an archive whose documents embed none (a structured document without a PDF
    copy, such as the VSM) are their rendering: each names the patient of every document of the archive."""
    documents = [d for d in message.get("xdm_documents") or [] if "unreadable" not in d]
    return [problem for doc in documents
            for problem in _pdf_names_patient_problems(task_id, "mss", message, {**doc, "pdfs": attached})]


def check_mss_pdf_copy(run: dict) -> CheckResult:
    """MSS/CONF.26: each PDF attached beside the IHE_XDM.ZIP is generated from the CDA documents of the
    archive; the harness asks for the very bytes of a PDF embedded in one of them (a draft or an older
    rendering is another document)."""
    problems, evidence = [], []
    for task in tasks(run, *MSS_SCENARIOS):
        for message in task["observed"]["mss"]:
            embedded = {p["sha1"]: d.get("unique_id") for d in message.get("xdm_documents") or []
                        for p in d.get("pdfs") or []}
            attached = message.get("attached_pdfs") or []
            evidence.append({"task": task["task"]["id"], "seq": message["seq"], "message": message.get("id"),
                             "attached_pdfs": [{k: p.get(k) for k in ("filename", "sha1", "size")}
                                               for p in attached],
                             "embedded_pdfs": embedded})
            if not embedded:  # an N3 without a PDF copy (the VSM): the PDF is its rendering
                problems += _rendering_problems(task["task"]["id"], message, attached)
                continue
            for pdf in attached:
                if pdf["sha1"] not in embedded:
                    problems.append(f"{task['task']['id']}: message {message.get('id')}: the attached PDF "
                                    f"{pdf.get('filename')} (SHA-1 {pdf['sha1']}) is not the PDF of any CDA "
                                    f"of the IHE_XDM.ZIP ({', '.join(embedded) or 'none embedded'}); it "
                                    f"begins {(pdf.get('text') or '')[:80]!r}")
    return judged("mss-pdf-copy", problems, evidence,
                   "each PDF attached to a message is the PDF inside its CDA")


def expected_format_codes(doc: dict) -> set[str]:
    """The formatCodes a document calls for (ASS_A11): its N1 body's media type, else its templateIds."""
    if doc.get("body_media_type"):
        concept = valuesets.format_code_for_n1(doc["body_media_type"])
        return {concept.code} if concept else set()
    return {c.code for c in valuesets.format_codes_for_templates(doc.get("template_ids") or [])}


def check_xdm_format_code(run: dict) -> CheckResult:
    """The METADATA.XML of an IHE_XDM.ZIP describes the document beside it: a formatCode it declares is the
    one the document's content calls for (ASS_A11: the N1 media type, or the N3 templateIds)."""
    problems, evidence = [], []
    for task in tasks(run, *MSS_SCENARIOS):
        for message in task["observed"]["mss"]:
            for doc in message.get("xdm_documents") or []:
                expected = expected_format_codes(doc)
                declared = doc.get("xdm_format_code")
                evidence.append({"task": task["task"]["id"], "seq": message["seq"],
                                 "message": message.get("id"), "document": doc.get("unique_id"),
                                 "level": doc.get("level"),
                                 "declared": declared, "expected": sorted(expected)})
                if declared and expected and declared not in expected:
                    problems.append(f"{task['task']['id']}: message {message.get('id')}: METADATA.XML "
                                    f"declares formatCode {declared} for {doc.get('unique_id')}, a level "
                                    f"{doc.get('level')} document that calls for "
                                    f"{', '.join(sorted(expected))}")
    return judged("xdm-format-code", problems, evidence,
                   "the XDM formatCode matches each document's content")


def _set_id_problems(run: dict) -> list[str]:
    """A setId names one report and its versions (HL7 CDA R2: setId is the same across revisions of one
    document): the same setId on two patients' documents merges two reports."""
    sets: dict[str, set] = {}
    for task in tasks(run):
        for _kind, _item, doc in sent_documents(task):
            if doc.get("set_id") and doc.get("ins"):
                sets.setdefault(doc["set_id"], set()).add((doc["ins"], task["task"]["id"]))
    return [f"setId {set_id} is used for {len({i for i, _ in uses})} patients: "
            f"{', '.join(sorted({t for _, t in uses}))}"
            for set_id, uses in sets.items() if len({i for i, _ in uses}) > 1]


def check_document_ids(run: dict) -> CheckResult:
    """A document id names one document: across every report of the run (DMP and MSSanté), the same id never
    carries another patient or other content (HL7 CDA R2: ClinicalDocument/id is unique for each document;
    the same report sent again has the same bytes)."""
    seen: dict[str, list[dict]] = {}
    for task in tasks(run):
        for kind, item, doc in sent_documents(task):
            if doc.get("unique_id"):
                seen.setdefault(doc["unique_id"], []).append(
                    {"task": task["task"]["id"], "service": kind, "seq": item["seq"], "ins": doc.get("ins"),
                     "sha1": doc.get("sha1")})
    problems, evidence = _set_id_problems(run), []
    for uid, uses in seen.items():
        patients = sorted({u["ins"] for u in uses if u["ins"]})
        contents = sorted({u["sha1"] for u in uses if u["sha1"]})
        evidence.append({"document": uid, "uses": uses})
        where = ", ".join(f"{u['task']} ({u['service']} #{u['seq']})" for u in uses)
        if len(patients) > 1:
            problems.append(f"document id {uid} is used for {len(patients)} patients {patients}: {where}")
        elif len(contents) > 1:
            problems.append(f"document id {uid} is used for {len(contents)} different contents: {where}")
    return judged("document-ids", problems, evidence,
                   f"{len(seen)} document ids, each one patient, one content", harness_limits(run))


def hl7_time(value: str | None):
    """An HL7 TS (YYYYMMDD[HHMM[SS[.S]]][±ZZZZ]) as (aware UTC datetime, day-only); None if unreadable."""
    match = re.fullmatch(r"(\d{8})(\d{4}(?:\d{2})?)?(?:\.\d+)?([+-]\d{4})?", str(value or ""))
    if not match:
        return None
    day, clock, zone = match.groups()
    when = datetime.strptime(day + (clock or "").ljust(6, "0"), "%Y%m%d%H%M%S")
    offset = timezone(timedelta(hours=int(zone[:3]), minutes=int(zone[0] + zone[3:]))) if zone else UTC
    return when.replace(tzinfo=offset).astimezone(UTC), clock is None


def _before(a, b) -> bool:
    """a strictly before b (compared by day when either is a date only)."""
    if a[1] or b[1]:
        return a[0].date() < b[0].date()
    return a[0] < b[0]


def check_document_dates(run: dict) -> CheckResult:
    """A report is written after the exam it reports: the author's time and the document's effectiveTime are
    not before the serviceEvent (the exam, the analyses) starts."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        for kind, item, doc in sent_documents(task):
            times = {k: doc.get(k) for k in ("service_start", "author_time", "effective_time")}
            evidence.append({"task": task["task"]["id"], "service": kind, "seq": item["seq"],
                             "document": doc.get("unique_id"), **times})
            start = hl7_time(times["service_start"])
            for name in ("author_time", "effective_time"):
                when = hl7_time(times[name])
                if times[name] and when is None:
                    problems.append(f"{task['task']['id']}: {_where(kind, item)}: {name} {times[name]!r} is "
                                    "not an HL7 date")
                elif start and when and _before(when, start):
                    problems.append(f"{task['task']['id']}: {_where(kind, item)}: {doc.get('unique_id')} has "
                                    f"{name.replace('_', ' ')} {times[name]}, before the exam it reports "
                                    f"(serviceEvent {times['service_start']})")
    return judged("document-dates", problems, evidence, "author and document times come after the exam",
                   harness_limits(run))


#: The strict readings (languageCode fr-FR, custodian = the task's structure) go beyond the written CI-SIS;
#: the proof does not apply them (no proof option carries them) and says so in the evidence. Kept as a
#: constant so a reviewer can see, and a test can exercise, what the strict reading would have asked.
STRICT_READING = False
#: what the evidence of document-header and author-is-actor says about the reading applied
READING = "strict reading applied" if STRICT_READING else "strict reading not applied"


def _custodian_problems(task_id: str, where: str, idnst: str, doc: dict, strict: bool) -> list[str]:
    """The custodian keeps the document (HL7 CDA R2 header: custodian/assignedCustodian/
    representedCustodianOrganization): it may be a hosting structure, not the author's, but it is an
    identified organisation — an id with a root, as the Structuration minimale schematron
    1.2.250.1.213.1.1.1.1-2017-12-13T103531.sch asserts (representedCustodianOrganization/id [min 1x] with
    @root; extension and name optional there). Only the strict reading asks for the task's own structure.
    Facts recorded before the harness read the custodian's root (no `custodian_root` key) are not judged."""
    if "custodian_root" not in doc:
        return []
    if not doc.get("custodian_root"):
        return [f"{task_id}: {where}: the CDA custodian is not an identified organisation: no "
                "representedCustodianOrganization/id with a root"]
    if strict and idnst and doc.get("custodian_id") != idnst:
        return [f"{task_id}: {where}: the CDA custodian is {doc.get('custodian_id')}, not the task's "
                f"structure {idnst} (strict reading)"]
    return []


def _author_details_problems(task_id: str, where: str, author: dict, doc: dict,
                             strict: bool = STRICT_READING) -> list[str]:
    """The author's name and structure (IDNST) are the task's professional and structure the product is
    configured with (the task gives them: segur.scenarios.driver.author_dict); the custodian is an identified
    organisation (the task's structure only under the strict reading)."""
    problems = []
    family = author.get("family_name")
    if family and doc.get("author_family") and _norm_name(doc["author_family"]) != _norm_name(family):
        problems.append(f"{task_id}: {where}: the CDA author is named {doc['author_family']!r}, the task's "
                        f"professional {family!r}")
    idnst = str(author.get("idnst") or "")
    if idnst and doc.get("author_organisation_id") and doc["author_organisation_id"] != idnst:
        problems.append(f"{task_id}: {where}: the CDA author's structure is {doc['author_organisation_id']}, "
                        f"not the task's structure {idnst}")
    return problems + _custodian_problems(task_id, where, idnst, doc, strict)


def check_author_is_actor(run: dict) -> CheckResult:
    """The report's author is the professional who acts in the task: the CDA author's id (IDNPS) is the task
    author's, and the DMP call is made for that same professional (VIHF Subject NameID)."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        task_id = task["task"]["id"]
        idnps = str((task["task"].get("author") or {}).get("idnps") or "")
        if not idnps:
            continue
        for kind, item, doc in sent_documents(task):
            ids = doc.get("author_ids") or []
            evidence.append({"task": task_id, "service": kind, "seq": item["seq"],
                             "document": doc.get("unique_id"), "task_author": idnps, "cda_author_ids": ids,
                             "reading": READING,
                             "custodian": {k: doc.get(f"custodian_{k}") for k in ("root", "id", "name")}})
            if ids and not any(str(i).split("^")[-1] == idnps for i in ids):
                problems.append(f"{task_id}: {_where(kind, item)}: the CDA author {ids} is not the task's "
                                f"author (IDNPS {idnps})")
            author = task["task"].get("author") or {}
            problems += _author_details_problems(task_id, _where(kind, item), author, doc)
        for kind, item in sends(task):
            subject = item.get("vihf_subject") if kind == "dmp" else None
            if kind == "dmp":
                evidence.append({"task": task_id, "service": kind, "seq": item["seq"],
                                 "vihf_subject": subject})
            if subject and subject != idnps:
                problems.append(f"{task_id}: ITI-41 #{item['seq']} was made for {subject} (VIHF Subject "
                                f"NameID), not for the task's author {idnps}")
    return judged("author-is-actor", problems, evidence,
                   "the CDA author and the DMP caller are the task's author", harness_limits(run))


#: the CI-SIS header values every Ségur document carries (official pack: Structuration minimale schematron
#: profils/structurationMinimale/include/1.2.250.1.213.1.1.1.1-2017-12-13T103531.sch asserts realmCode FR
#: [min 1x] and exactly one languageCode (lines 44-45) whose code has the syntax ll-CC, `[a-z]{2}-[A-Z]{2}`
#: (lines 190-195): any language and country, not fr-FR only)
REALM = "FR"
LANGUAGE_SYNTAX = re.compile(r"[a-z]{2}-[A-Z]{2}")
#: the strict reading: all 94 examples of the pack's ExemplesCDA write fr-FR, the schematron does not ask it
STRICT_LANGUAGE = "fr-FR"
#: LOINC 18748-4 (CR-IMG): IMG-CR-IMG_2024.01/Entete/Entete_IMG-CR-IMG.sch asserts count(documentationOf) >= 1
#: and a coded serviceEvent (the imaging act)
EVENT_REQUIRED = ("18748-4",)


def _language_problem(language: str | None, strict: bool) -> str:
    """Why a languageCode is refused ('' when accepted): the pack's syntax, or fr-FR under the strict
    reading."""
    if strict and language != STRICT_LANGUAGE:
        return f"languageCode {language!r}, not {STRICT_LANGUAGE!r} (strict reading)"
    if not LANGUAGE_SYNTAX.fullmatch(str(language or "")):
        return f"languageCode {language!r}, not a language-COUNTRY code such as 'fr-FR' (ll-CC)"
    return ""


def _header_problems(task_id: str, where: str, doc: dict, strict: bool = STRICT_READING) -> list[str]:
    problems = [] if doc.get("realm") == REALM else [f"realmCode {doc.get('realm')!r}, not {REALM!r}"]
    problems += [p for p in [_language_problem(doc.get("language"), strict)] if p]
    problems = [f"{task_id}: {where}: {doc.get('unique_id')} has {p}" for p in problems]
    names_its_act = doc.get("service_events") and doc.get("service_event_code")
    if doc.get("code") in EVENT_REQUIRED and not names_its_act:
        problems.append(f"{task_id}: {where}: {doc.get('unique_id')} does not name the act it reports "
                        "(documentationOf/serviceEvent with its code)")
    return problems


def check_document_header(run: dict) -> CheckResult:
    """The header values the CI-SIS fixes (realmCode FR, a languageCode ll-CC) and, for an imaging report, the
    exam it reports (documentationOf/serviceEvent/code), read by the harness in every document sent."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        for kind, item, doc in sent_documents(task):
            evidence.append({"task": task["task"]["id"], "service": kind, "seq": item["seq"],
                             "document": doc.get("unique_id"), "realm": doc.get("realm"),
                             "language": doc.get("language"), "service_events": doc.get("service_events"),
                             "service_event_code": doc.get("service_event_code"), "reading": READING})
            problems += _header_problems(task["task"]["id"], _where(kind, item), doc)
    return judged("document-header", problems, evidence,
                   "realmCode FR, a languageCode ll-CC and the act reported, in every document")


def _same_time(a: str | None, b: str | None) -> bool:
    """Two HL7/XDS times name the same instant (XDS times are UTC; by day when either is a date only)."""
    left, right = hl7_time(a), hl7_time(b)
    if left is None or right is None:
        return a == b
    return not _before(left, right) and not _before(right, left)


def _xds_entry_problems(task_id: str, item: dict) -> list[str]:
    """ITI TF-3 4.2.3.2 (CDA to XDS metadata): title, languageCode, serviceStart/StopTime and the author's
    specialty of an entry are the document's own."""
    documents = {d.get("unique_id"): d for d in item.get("documents") or [] if "unreadable" not in d}
    problems = []
    for entry in item.get("xds_entries") or []:
        doc = documents.get(entry.get("unique_id"))
        if not doc:
            continue
        where = f"ITI-41 #{item['seq']}: the XDS entry of {entry.get('unique_id')}"
        for key, cda_key in (("title", "title"), ("language", "language")):
            if entry.get(key) and doc.get(cda_key) and entry[key] != doc[cda_key]:
                problems.append(f"{task_id}: {where} has {key} {entry[key]!r}, the CDA {doc[cda_key]!r}")
        for key, cda_key in (("service_start", "service_start"), ("service_stop", "service_stop")):
            if entry.get(key) and doc.get(cda_key) and not _same_time(entry[key], doc[cda_key]):
                problems.append(f"{task_id}: {where} has {key} {entry[key]}, the CDA's serviceEvent "
                                f"{doc[cda_key]}")
        start, stop = hl7_time(entry.get("service_start")), hl7_time(entry.get("service_stop"))
        if start and stop and _before(stop, start):
            problems.append(f"{task_id}: {where} stops ({entry['service_stop']}) before it starts "
                            f"({entry['service_start']})")
        codes = {str(v).split("^")[0] for v in entry.get("author_specialties") or []}
        if codes and doc.get("author_specialty") and doc["author_specialty"] not in codes:
            problems.append(f"{task_id}: {where} gives the author the specialty {sorted(codes)}, the CDA "
                            f"{doc['author_specialty']}")
    return problems


def _xdm_entry_problems(task_id: str, message: dict, doc: dict) -> list[str]:
    """ITI TF-3 4.2.3.2 for the XDM METADATA.XML: confidentialityCode and creationTime are the CDA's."""
    where = f"message {message.get('id')}: the METADATA.XML entry of {doc.get('unique_id')}"
    problems = []
    codes = doc.get("xdm_confidentiality_codes") or []
    if codes and doc.get("confidentiality") and doc["confidentiality"] not in codes:
        problems.append(f"{task_id}: {where} has confidentialityCode {codes}, the CDA "
                        f"{doc['confidentiality']}")
    created, effective = doc.get("xdm_creation_time"), doc.get("effective_time")
    # ITI TF-3 wants UTC; the harness's own XDM writer (mocks/mssante/xdm.py, build_xdm) copies the CDA's
    # local digits without the offset, so both readings of the same effectiveTime are accepted
    if created and effective and not _same_time(created, effective) and created != effective[:14]:
        problems.append(f"{task_id}: {where} has creationTime {created}, the CDA's effectiveTime {effective}")
    return problems


def check_metadata_matches_cda(run: dict) -> CheckResult:
    """The XDS entry (DMP) and the XDM METADATA.XML (MSSanté) describe the document they carry: the fields
    IHE derives from the CDA header are the header's (a reader filters and sorts on them)."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        task_id = task["task"]["id"]
        for kind, item in sends(task):
            if kind == "dmp":
                evidence.append({"task": task_id, "service": kind, "seq": item["seq"],
                                 "xds_entries": item.get("xds_entries")})
                problems += _xds_entry_problems(task_id, item)
                continue
            for doc in item.get("xdm_documents") or []:
                evidence.append({"task": task_id, "service": kind, "seq": item["seq"],
                                 "document": doc.get("unique_id"),
                                 **{k: doc.get(k) for k in ("xdm_confidentiality_codes", "confidentiality",
                                                            "xdm_creation_time", "effective_time")}})
                problems += _xdm_entry_problems(task_id, item, doc)
    return judged("metadata-matches-cda", problems, evidence,
                   "XDS and XDM metadata describe the CDA they carry")


#: the CDA traits compared with INSi's answer (TIQ), with how each side is written
_TRAIT_NAMES = {"birth_name": "birth name", "first_names": "first names", "first_name": "first first name",
                "sex": "sex", "birth_time": "birth date", "birth_place": "birth place"}


def _insi_side(returned: dict) -> dict:
    """INSi's TIQ as the CDA writes it: DateNaissance 1980-03-02 → birthTime 19800302; the first first name
    is TIQ Prenom, else the first word of ListePrenom."""
    first_names = str(returned.get("first_names") or "").strip()
    return {"birth_name": returned.get("birth_name"), "first_names": first_names,
            "first_name": returned.get("first_name") or (first_names.split(" ")[0] if first_names else None),
            "sex": returned.get("sex"), "birth_time": str(returned.get("birth_date") or "").replace("-", ""),
            "birth_place": returned.get("birth_place")}


def _trait_problems(task_id: str, where: str, doc: dict, returned: dict) -> list[str]:
    """The traits are copied as INSi returned them: same letters and case, same first names in the same
    order. The identité INS is "l'ensemble des informations numériques renvoyées par le téléservice INSi"
    (https://esante.gouv.fr/securite/identite-nationale-de-sante), its traits those of the national bases."""
    cda, insi = doc.get("patient_traits") or {}, _insi_side(returned)
    wrong = []
    for key, label in _TRAIT_NAMES.items():
        seen, wanted = str(cda.get(key) or "").strip(), str(insi.get(key) or "").strip()
        if key == "birth_time":
            seen = seen[:8]
        if wanted and seen != wanted:
            wrong.append(f"{label} {seen or 'missing'!r} (INSi: {wanted!r})")
    if not wrong:
        return []
    return [f"{task_id}: {where}: the CDA {doc.get('unique_id')} does not carry the traits INSi returned for "
            f"INS {doc.get('ins')}: {'; '.join(wrong)}"]


def check_patient_traits(run: dict) -> CheckResult:
    """The patient's identity in each CDA (birth name, first names, first first name, sex, birth date, birth
    place) is the one INSi returned for that patient in that task, on every channel (DMP and MSSanté)."""
    problems, evidence = [], []
    for task in tasks(run, *SENDING_SCENARIOS):
        answers = {i["ins"]: i["returned"] for i in insi_found(task) if i.get("ins") and i.get("returned")}
        for kind, item, doc in sent_documents(task):
            returned = answers.get(doc.get("ins"))
            evidence.append({"task": task["task"]["id"], "service": kind, "seq": item["seq"],
                             "document": doc.get("unique_id"), "ins": doc.get("ins"),
                             "cda_traits": doc.get("patient_traits"), "insi_traits": returned})
            if returned:  # no 00 answer for this INS: ins-in-cda and insi-before-send say so
                problems += _trait_problems(task["task"]["id"], _where(kind, item), doc, returned)
    return judged("patient-traits", problems, evidence,
                   "each CDA carries the traits INSi returned for its patient")


#: the INSi mock's findings on the software authorisation number (docs/insi.md)
IDAM_RULES = ("INSI-IDAM-ACCEPTED-ANY", "INSI-IDAM-UNKNOWN")


def check_insi_idam(run: dict) -> CheckResult:
    """Every INSi call carries the software's own authorisation number (IDAM, ContexteLPS): the real service
    refuses an unknown one (siram_100/desir_550); the mock accepts it with INSI-IDAM-ACCEPTED-ANY."""
    problems, evidence = [], []
    for task in tasks(run):
        for search in task["observed"]["insi"]:
            fired = [r for r in search["rules"] if r in IDAM_RULES]
            evidence.append({"task": task["task"]["id"], "seq": search["seq"],
                             "operation": search.get("operation"), "rules": fired})
            if fired:
                problems.append(f"{task['task']['id']}: INSi #{search['seq']} ({search.get('operation')}) "
                                "was made with a software authorisation (IDAM) the service does not know "
                                f"({', '.join(fired)})")
    return judged("insi-idam", problems, evidence, "every INSi call made with the software's known IDAM")


RIS, BIO, LGC, DPI, PFI = "RIS", "BIO", "LGC", "DPI", "PFI"
CHECKS: dict[str, Check] = {check.id: check for check in [
    Check("insi-before-send",
          title="INSi search answered 00 before every send",
          test="test_an_insi_search_answered_00_precedes_every_send",
          doc=("INSi retrieval before sending: for every report that reached the DMP or MSSanté, an INSi "
               "search of that patient (by traits, or by its Vitale card) answered 00 (one identity) earlier"
               " in the task."),
          rem={RIS: ["INS/va1.35"],
               BIO: ["INS/va1.35"],
               LGC: ["INS/va1.35"],
               DPI: [],
               PFI: []},
          reads=("insi.searches", "dmp.iti41", "mss.messages"),
          hint=("Search INSi for the patient in the same task (rechercherInsAvecTraitsIdentite, or "
                "rechercherInsAvecCarteVitale when the card is read) and send only after its 00 answer."),
          judge=check_insi_before_send,
          defects=("no-insi-call",)),
    Check("insi-vitale-search",
          title="INSi searched with the Vitale card when it is read, by traits otherwise",
          test="test_insi_is_searched_with_the_vitale_card_when_it_is_read",
          doc=("Both INSi searches: for the task that gives the patient's Vitale card, a "
               "rechercherInsAvecCarteVitale of the card's NIR answered 00 before the report went out "
               "(typing the traits instead does not count); for the tasks without a card, a "
               "rechercherInsAvecTraitsIdentite answered 00 before theirs."),
          rem={RIS: ["INS/va1.34", "SC.INS/va1.34"],
               BIO: ["INS/va1.34", "SC.INS/va1.34"],
               LGC: ["INS/va1.34"],
               DPI: [],
               PFI: []},
          reads=("insi.searches", "dmp.iti41", "mss.messages"),
          hint=("When the Vitale card was read, search INSi with rechercherInsAvecCarteVitale (the "
                "beneficiary's NIR and key, birth date, birth name); by traits only when no card was "
                "read."),
          judge=check_insi_vitale_search,
          defects=("no-vitale-search", "no-insi-call")),
    Check("qualified-ins-only",
          title="Only an INS INSi qualified goes out; an unqualifiable identity sends nothing",
          test="test_only_an_ins_insi_qualified_is_sent",
          doc=("Identity status: every INS sent is one INSi returned with code 00 for the task's patient; "
               "for the homonym INSi cannot qualify (02) and the traits INSi does not know (01) nothing goes"
               " out with an INS; X-MSS-INS tells the truth."),
          rem={RIS: ["INS/va1.35", "INS/va1.38", "SC.INS/va1.35", "MSS/CONF.14"],
               BIO: ["INS/va1.35", "SC.INS/va1.35", "MSS/CONF.14"],
               LGC: ["INS/va1.35", "INS/va1.38", "MSS/CONF.14"],
               DPI: ["DPI.DOC/va1.07"],
               PFI: ["MSS/CONF.14"]},
          reads=("insi.searches", "dmp.documents", "mss.documents", "mss.rules"),
          hint=("Send an INS only when INSi answered 00 for this patient in this task; after 01 (none) "
                "or 02 (several) the identity stays unqualified and nothing goes out with an INS."),
          judge=check_qualified_ins_only,
          defects=("provisional-as-qualified", "no-insi-call", "send-on-01")),
    Check("ins-in-cda",
          title="The CDA carries the INS INSi returned, with its OID and a valid key",
          test="test_the_cda_carries_the_ins_insi_returned_with_its_oid",
          doc=("The INS in each CDA (value, OID, NIR key) is the one INSi returned."),
          rem={RIS: ["DOC/va1.02", "DOC/va1.04", "RIS.DOC/va1.16"],
               BIO: ["DOC/va1.02", "SGL.DOC/va1.30"],
               LGC: ["DOC/va1.02", "LGC.DOC/va1.14"],
               DPI: ["DPI.DOC/va1.07"],
               PFI: ["DMP/va1.01", "MSS/va1.17"]},
          reads=("insi.searches", "dmp.documents", "mss.documents"),
          hint=("Write recordTarget/patientRole/id with the INS INSi returned: the NIR with its key, "
                "and the OID INSi gave with it."),
          judge=check_ins_in_cda,
          defects=("wrong-ins-oid", "bad-nir-key", "relay-drops-ins")),
    Check("metadata-patient",
          title="XDS and XDM patientId name the CDA's patient",
          test="test_xds_and_xdm_patient_id_name_the_cda_patient",
          doc=("The XDS metadata (DMP) and the XDM METADATA.XML (MSSanté) name the CDA's patient."),
          rem={RIS: ["RIS.DMP/va1.10", "MSS/CONF.24"],
               BIO: ["SGL.DOC/va1.21", "MSS/CONF.24"],
               LGC: ["LGC.DMP.02", "MSS/CONF.24"],
               DPI: ["DPI.DMP/va1.05"],
               PFI: ["MSS/CONF.24"]},
          reads=("dmp.iti41", "dmp.documents", "dmp.xds_entries", "mss.documents", "mss.rules"),
          hint=("Use the CDA's INS and its OID as the XDS patientId and sourcePatientId, and as the "
                "patientId of the XDM METADATA.XML."),
          judge=check_metadata_patient,
          defects=("patient-mismatch", "source-patient-stale")),
    Check("dmp-accepted",
          title="Each DMP report accepted once, for the right patient, with complete metadata",
          test="test_each_dmp_report_is_accepted_once_for_the_right_patient",
          doc=("The DMP accepted each report once, for the right patient, and stored it with complete "
               "metadata (typeCode of the volet, class, format, facility, practice setting, "
               "confidentiality)."),
          rem={RIS: ["RIS.DMP/va1.13", "RIS.DMP/va1.10"],
               BIO: ["SC.DMP/va1.01", "SGL.DOC/va1.21"],
               LGC: ["LGC.DMP.02", "DMP/va1.01"],
               DPI: ["DPI.DMP/va1.03", "DPI.DMP/va1.05"],
               PFI: ["DMP/va1.01", "PFI.DMP/va1.08"]},
          reads=("dmp.iti41", "dmp.store"),
          hint=("Read the DMP's errors in the pack (each names its rule): fix the document or its XDS "
                "metadata (class, type and format codes of the volet), then send each report once."),
          judge=check_dmp_accepted,
          defects=("wrong-format-code", "invisible-to-patient", "ldl-wrong-class")),
    Check("mss-professionals-xdm",
          title="Each MSSanté report delivered to its professional with an IHE_XDM.ZIP",
          test="test_each_mssante_report_reaches_its_professional_with_xdm",
          doc=("Each report to a professional was delivered to the planned mailbox with an IHE_XDM.ZIP, and "
               "the mock's checks passed."),
          rem={RIS: ["RIS.MSS/va1.29", "MSS/CONF.23"],
               BIO: ["MSS/CONF.23"],
               LGC: ["LGC.MSS.02", "LGC.MSS.03", "MSS/CONF.23"],
               DPI: ["DPI.MSS/va1.23", "DPI.MSS/va1.24"],
               PFI: ["MSS/CONF.23"]},
          reads=("mss.messages", "mss.headers"),
          hint=("Send each report to the professional's MSSanté address with an IHE_XDM.ZIP attachment "
                "holding the CDA and its METADATA.XML."),
          judge=check_mss_professionals,
          defects=("mss-without-xdm",)),
    Check("mss-headers",
          title="X-MSS-NIL, X-MSS-INS and X-MSS-CODECDA as the référentiel asks",
          test="test_mssante_headers_nil_ins_codecda_are_right",
          doc=("X-MSS-NIL, X-MSS-INS and X-MSS-CODECDA pass the mock's rules on every message."),
          rem={RIS: ["MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16"],
               BIO: ["MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16"],
               LGC: ["MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16"],
               DPI: [],
               PFI: ["MSS/CONF.14", "MSS/CONF.15", "MSS/CONF.16"]},
          reads=("mss.rules",),
          hint=("Set X-MSS-NIL, X-MSS-INS (O only when the CDA carries a qualified INS) and "
                "X-MSS-CODECDA (the CDA's type code) on each message; the mock's findings in the pack "
                "name the header that differed."),
          judge=_mss_rule_check("mss-headers", ("MSS-NIL", "MSS-INS", "MSS-CODECDA", "MSS-MES"),
                          "X-MSS-* headers pass the mock's checks on every message")),
    Check("mss-subject",
          title="Subject XDM/1.0/DDM+… naming the documents' patient",
          test="test_mssante_subject_follows_the_xdm_format",
          doc=("Every subject is XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date>], naming the documents' "
               "patient."),
          rem={RIS: ["MSS/CONF.25"],
               BIO: ["MSS/CONF.25"],
               LGC: ["MSS/CONF.25"],
               DPI: [],
               PFI: ["MSS/CONF.25"]},
          reads=("mss.rules",),
          hint=("Start the subject with XDM/1.0/DDM+ and name the documents' patient; the MSS-SUBJECT "
                "finding in the pack says what differed."),
          judge=_mss_rule_check("mss-subject", ("MSS-SUBJECT",),
                                "every subject follows the XDM/1.0/DDM format")),
    Check("mss-transport",
          title="SMTP submission over STARTTLS, TLS ≥ 1.2, authenticated",
          test="test_mssante_submission_uses_starttls_and_auth",
          doc=("Every message was submitted over STARTTLS with TLS >= 1.2, after SMTP AUTH."),
          rem={RIS: ["MSS/CONF.01", "MSS/CONF.05"],
               BIO: ["MSS/CONF.01", "MSS/CONF.05"],
               LGC: ["MSS/CONF.01", "MSS/CONF.05"],
               DPI: [],
               PFI: ["MSS/CONF.01", "MSS/CONF.05"]},
          reads=("mss.sessions",),
          hint=("Submit over SMTP with STARTTLS (TLS 1.2 or later) and authenticate before MAIL FROM."),
          judge=check_mss_transport),
    Check("citizen-address",
          title="The citizen's report delivered to <INS>@patient.mssante.fr",
          test="test_the_citizen_report_reaches_ins_at_patient_mssante_fr",
          doc=("The citizen's report reached <INS returned by INSi>@patient.mssante.fr and nobody else."),
          rem={RIS: ["MSS/va1.17", "MSS/va1.19", "SC.MSS/va1.19"],
               BIO: ["MSS/va1.19", "SC.MSS/va1.19"],
               LGC: ["MSS/va1.01", "MSS/va1.17", "MSS/va1.19"],
               DPI: [],
               PFI: ["MSS/va1.17", "MSS/va1.19"]},
          reads=("insi.searches", "mss.messages", "mss.headers"),
          hint=("Send the citizen's copy to <INS>@patient.mssante.fr, built from the INS INSi returned "
                "for this patient (the NIR with its key)."),
          judge=check_citizen,
          defects=("citizen-wrong-address",)),
    Check("documents-valid",
          title="Every document sent is valid for its volet (validator verdict recorded by the mocks)",
          test="test_every_document_sent_is_valid_for_its_volet",
          doc=("Every document the DMP stored or MSSanté received is valid for its volet (the validator's "
               "verdict recorded by the mocks, with the layers that ran)."),
          rem={RIS: ["RIS.DOC/va1.16"],
               BIO: ["SGL.DOC/va1.30"],
               LGC: ["LGC.DOC/va1.14"],
               DPI: ["DPI.DOC/va1.08"],
               PFI: ["DMP/va1.01"]},
          reads=("dmp.store", "dmp.iti41", "mss.validation", "mss.rules"),
          hint=("Open the document's validation report in the pack: each finding names its layer, rule "
                "and element; `segur validate` gives the same report on your machine."),
          judge=check_documents_valid,
          defects=("pdf-not-base64", "vsm-no-treatments")),
    Check("dmp-replacement",
          title="A report replaced in the DMP (RPLC), the earlier version deprecated",
          test="test_a_replaced_report_deprecates_the_earlier_version",
          doc=("The replacement is an RPLC of the earlier report; the DMP shows the earlier version "
               "Deprecated and the new one Approved."),
          rem={RIS: ["RIS.DMP/va1.09"],
               BIO: ["SGL.DMP/va1.23"],
               LGC: ["LGC.DMP.01"],
               DPI: [],
               PFI: ["PFI.DMP/va1.08"]},
          reads=("dmp.iti41", "dmp.documents", "dmp.store"),
          hint=("Replace with an ITI-41 whose RPLC association names the earlier entry, keeping the "
                "report's setId with a new document id, so that the DMP deprecates the earlier version."),
          judge=check_replacement,
          defects=("replace-new-set-id",)),
    Check("outage-reported",
          title="A DMP outage is reported as a failure; nothing half-stored",
          test="test_a_dmp_outage_is_reported_as_a_failure",
          doc=("While the DMP answers 503, the product reports a failure and nothing is accepted or "
               "half-stored."),
          rem={RIS: ["RIS.DMP/va1.13", "SC.DMP/va1.01"],
               BIO: ["SC.DMP/va1.01"],
               LGC: ["DMP/va1.01"],
               DPI: ["DPI.DMP/va1.05"],
               PFI: ["DMP/va1.01"]},
          reads=("task.claims", "dmp.iti41", "dmp.store"),
          hint=("When the DMP answers an error or cannot be reached, report the task failed and keep "
                "the report to send again; never report it sent."),
          judge=check_outage_reported,
          defects=("swallow-outage",)),
    Check("outage-retry",
          title="After the outage, the report kept is sent once (not lost, not rebuilt, not duplicated)",
          test="test_after_the_outage_the_report_is_sent_once",
          doc=("After the outage clears, the report is sent and the DMP holds it exactly once."),
          rem={RIS: ["RIS.DMP/va1.13", "SC.DMP/va1.01"],
               BIO: ["SC.DMP/va1.01"],
               LGC: ["DMP/va1.01"],
               DPI: ["DPI.DMP/va1.05"],
               PFI: ["DMP/va1.01"]},
          reads=("dmp.iti41", "dmp.documents", "dmp.store"),
          hint=("Send the kept report again, once, as it was built (same document id, same bytes), when "
                "asked after the outage."),
          judge=check_outage_retry,
          defects=("swallow-outage", "retry-rebuilt")),
    Check("claims-honest",
          title="The product never claims a send the mocks did not receive",
          test="test_the_product_never_claims_a_send_the_mocks_did_not_see",
          doc=("Whenever the product claims success, the mocks received the report (and a report the mocks "
               "accepted is not reported as failed)."),
          rem={RIS: ["RIS.DMP/va1.13", "RIS.MSS/va1.29"],
               BIO: ["SC.DMP/va1.01"],
               LGC: ["DMP/va1.01", "LGC.MSS.03"],
               DPI: ["DPI.DMP/va1.05", "DPI.MSS/va1.24"],
               PFI: ["DMP/va1.01"]},
          reads=("task.claims", "dmp.iti41", "mss.messages"),
          hint=("Report a send done only once the service acknowledged it (DMP RegistryResponse "
                "Success, SMTP 250 for each recipient)."),
          judge=check_claims_honest,
          defects=("swallow-outage",)),
    Check("pdf-patient",
          title="The PDF inside each document names its patient (birth name, INS)",
          test="test_the_pdf_inside_each_document_names_its_patient",
          doc=("The PDF each CDA carries (N1 body, N3 PDF copy), read by the harness with pypdf, names the "
               "document's patient: the birth name and the INS."),
          rem={RIS: ["RIS.DOC/va1.16", "DOC/va1.04"],
               BIO: ["SGL.DOC/va1.30", "DOC/va1.02"],
               LGC: [],
               DPI: ["DPI.DOC/va1.08"],
               PFI: ["MSS/va1.17"]},
          reads=("dmp.documents", "mss.documents"),
          hint=("Render the PDF from the identity the CDA carries: it must name the patient's birth "
                "name and INS."),
          judge=check_pdf_patient,
          defects=("pdf-other-patient",)),
    Check("mss-pdf-copy",
          title="The PDF attached to a message is the PDF inside its CDA (byte for byte)",
          test="test_the_pdf_attached_to_a_message_is_the_pdf_inside_its_cda",
          doc=("Each PDF attached beside the IHE_XDM.ZIP is, byte for byte, the PDF embedded in one of its "
               "CDA documents (not a draft or another rendering)."),
          rem={RIS: ["MSS/CONF.26"],
               BIO: ["MSS/CONF.26"],
               LGC: ["MSS/CONF.26"],
               DPI: ["DPI.MSS/va1.23"],
               PFI: ["MSS/CONF.26"]},
          reads=("mss.attached_pdfs", "mss.documents"),
          hint=("Attach beside the XDM the very PDF embedded in the CDA (the same bytes), not another "
                "rendering."),
          judge=check_mss_pdf_copy,
          defects=("mss-pdf-draft",)),
    Check("xdm-format-code",
          title="The XDM METADATA.XML formatCode matches the document",
          test="test_the_xdm_format_code_matches_the_document",
          doc=("A formatCode declared in the XDM METADATA.XML is the one the document's content calls for "
               "(ASS_A11: the N1 body's media type, or the N3 templateIds)."),
          rem={RIS: ["MSS/CONF.23"],
               BIO: ["MSS/CONF.23"],
               LGC: ["MSS/CONF.23"],
               DPI: ["DPI.MSS/va1.23"],
               PFI: ["MSS/CONF.23"]},
          reads=("mss.documents",),
          hint=("Write in METADATA.XML the formatCode of the document's volet and level (N1 or N3), the "
                "one of its XDS metadata."),
          judge=check_xdm_format_code,
          defects=("xdm-n3-format-code",)),
    Check("document-ids",
          title="One document id, one document: never two patients or two contents",
          test="test_one_document_id_names_one_document",
          doc=("Across every report of the run, a document id never carries two patients or two different "
               "contents."),
          rem={RIS: ["RIS.DOC/va1.16", "MSS/CONF.23"],
               BIO: ["SGL.DOC/va1.30", "MSS/CONF.23"],
               LGC: ["LGC.DOC/va1.14", "MSS/CONF.23"],
               DPI: ["DPI.DOC/va1.08"],
               PFI: ["MSS/CONF.23"]},
          reads=("dmp.documents", "mss.documents"),
          hint=("Give each document a new unique id; an id is reused only for the same bytes sent again "
                "(a retry)."),
          judge=check_document_ids,
          defects=("reused-document-id",)),
    Check("document-dates",
          title="The report is dated after the exam it reports (author, effectiveTime)",
          test="test_the_report_is_dated_after_the_exam",
          doc=("The author's time and the document's effectiveTime are not before the serviceEvent it "
               "reports."),
          rem={RIS: ["RIS.DOC/va1.16"],
               BIO: ["SGL.DOC/va1.30"],
               LGC: ["LGC.DOC/va1.14"],
               DPI: ["DPI.DOC/va1.08"],
               PFI: []},
          reads=("dmp.documents", "mss.documents"),
          hint=("Date the report (author/time, effectiveTime) at or after the exam it reports "
                "(documentationOf/serviceEvent)."),
          judge=check_document_dates,
          defects=("author-time-before-exam",)),
    Check("author-is-actor",
          title="The CDA author and the DMP caller (VIHF) are the task's professional",
          test="test_the_author_is_the_professional_who_acts",
          doc=("The CDA author is the task's professional (IDNPS), the custodian an identified organisation "
               "(id root, extension, name), and the DMP call is made for that professional (VIHF Subject "
               "NameID)."),
          rem={RIS: ["RIS.DOC/va1.16", "RIS.DMP/va1.10"],
               BIO: ["SGL.DOC/va1.30", "SGL.DOC/va1.21"],
               LGC: ["LGC.DOC/va1.14", "LGC.DMP.02"],
               DPI: ["DPI.DOC/va1.08"],
               PFI: []},
          reads=("dmp.documents", "mss.documents", "dmp.vihf_subject"),
          hint=("Write the acting professional of the task as the CDA author and as the VIHF's subject "
                "(their RPPS-based id)."),
          judge=check_author_is_actor,
          defects=("author-not-actor",)),
    Check("patient-traits",
          title="The CDA's patient traits are the ones INSi returned (every channel)",
          test="test_the_cda_carries_the_traits_insi_returned",
          doc=("The patient's traits in each CDA (birth name, first names, first first name, sex, birth "
               "date, birth place) are the ones INSi returned for that patient in the task, on the DMP and "
               "MSSanté channels alike."),
          rem={RIS: ["DOC/va1.02", "DOC/va1.04", "INS/va1.35"],
               BIO: ["DOC/va1.02", "INS/va1.35"],
               LGC: ["DOC/va1.02", "INS/va1.35"],
               DPI: ["DPI.DOC/va1.07"],
               PFI: []},
          reads=("insi.searches", "dmp.documents", "mss.documents"),
          hint=("Write the patient's traits (birth name, first names, sex, birth date, birth place) as "
                "INSi returned them, in the CDA and in the XDS/XDM sourcePatientInfo."),
          judge=check_patient_traits,
          defects=("traits-not-insi",)),
    Check("document-header",
          title="realmCode FR, a languageCode ll-CC and the act reported in every document",
          test="test_every_document_carries_the_french_header_and_its_act",
          doc=("Every document sent has realmCode FR and a languageCode ll-CC (fr-FR only under the strict "
               "reading), and an imaging report names the act it reports "
               "(documentationOf/serviceEvent/code)."),
          rem={RIS: ["RIS.DOC/va1.16"],
               BIO: ["SGL.DOC/va1.30"],
               LGC: ["LGC.DOC/va1.14"],
               DPI: ["DPI.DOC/va1.08"],
               PFI: []},
          reads=("dmp.documents", "mss.documents"),
          hint=("Set realmCode FR, a languageCode such as fr-FR, and a documentationOf/serviceEvent "
                "describing the act reported."),
          judge=check_document_header),
    Check("metadata-matches-cda",
          title="The XDS and XDM metadata describe the CDA they carry",
          test="test_xds_and_xdm_metadata_describe_the_cda",
          doc=("The XDS entry (title, languageCode, serviceStart/StopTime, author specialty) and the XDM "
               "METADATA.XML (confidentialityCode, creationTime) are the CDA's own."),
          rem={RIS: ["RIS.DMP/va1.10", "MSS/CONF.23"],
               BIO: ["SGL.DOC/va1.21", "MSS/CONF.23"],
               LGC: ["LGC.DMP.02", "MSS/CONF.23"],
               DPI: ["DPI.DMP/va1.05"],
               PFI: ["MSS/CONF.23"]},
          reads=("dmp.xds_entries", "dmp.documents", "mss.documents"),
          hint=("Write the XDS and XDM metadata from the CDA itself (ids, codes, dates, author, "
                "confidentiality), not from separate settings."),
          judge=check_metadata_matches_cda),
    Check("insi-idam",
          title="Every INSi call is made with the software's own authorisation number (IDAM)",
          test="test_every_insi_call_carries_the_software_idam",
          doc=("Every INSi call carries the software's own authorisation number (IDAM) that the service "
               "knows."),
          rem={RIS: ["INS/va1.35"],
               BIO: ["INS/va1.35"],
               LGC: ["INS/va1.35"],
               DPI: [],
               PFI: []},
          reads=("insi.searches",),
          hint=("Send the IDAM CNAM gave your software (its authorisation number) in the INSi "
                "ContexteLPS, never an example value."),
          judge=check_insi_idam,
          defects=("unknown-idam",)),
]}


def _with_capabilities(core: dict[str, Check]) -> dict[str, Check]:
    """The core checks, then every capability's (`scenarios/capabilities/`); an id is declared once."""
    extra = capability_checks()
    twice = sorted(set(core) & set(extra))
    if twice:
        raise ValueError(f"check ids declared twice: {', '.join(twice)}")
    return {**core, **extra}


CHECKS = _with_capabilities(CHECKS)


def run_check(check_id: str, run: dict) -> CheckResult:
    return CHECKS[check_id].judge(run)


def recompute(run: dict) -> dict[str, CheckResult]:
    """Every check's verdict, recomputed from a (recorded) run."""
    return {check_id: check.judge(run) for check_id, check in CHECKS.items()}
