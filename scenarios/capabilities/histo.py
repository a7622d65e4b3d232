"""Capability `histo` of the proof: historical back-fill of the DMP, a blocked feed, the visibility a user
sets, and the deletion of a report (issue 15, item 8); `histo-bio` adds the lab's partial-then-complete
report and the warning sent to a deleted report's recipients.

What the tasks ask (docs/proof.md, "Back-fill, blocking, visibility, deletion"):
- `histo-01` (`feed-histo`, mode `manual`): one earlier report of the patient, chosen by the user, fed to the
  DMP (REM DMP/HISTO.05); `histo-02` (`feed-histo`, mode `bulk`): every earlier report the product holds
  for that patient (the first one among them, fed already), fed at once (DMP/HISTO.06 and the couloir's
  RIS.DMP/HISTO.06 / BIO.DMP/HISTO.06: filter (iii) "document non préalablement déjà alimenté avec succès
  au DMP"). Each report is dated with its own exam date, in the CDA and the XDS metadata (DMP/HISTO.03:
  "dater le document (métadonnées CDA et XDS associées) de la date métier de l'acte"), and the product
  reports its indicator of historical feeding as `HISTO-FED=<n>` in its result (DMP/HISTO.07);
- `blocked-01` (`blocked-dmp`): the user blocked the DMP feed for this exam (RIS.DMP/va1.12, SGL.DMP/va1.22):
  nothing may reach the DMP, and the product's result says the report was not sent (ok false);
- `masked-01` / `hidden-01` (`send-dmp-visibility`): the user set the report masked from professionals
  (MASQUE_PS) / not visible to the patient (INVISIBLE_PATIENT): the stored entry carries exactly that
  visibility code of 1.2.250.1.213.1.1.4.13 (RIS.DMP/va1.14; docs/dmp-rules.md, mocks/dmp/visibility.py);
- `erase-01` (`send-dmp`) then `delete-01` (`delete-dmp`): the report is deleted from the DMP as the DMP does
  it, an ITI-57 UpdateAvailabilityStatus to `urn:asip:ci-sis:2010:StatusType:Deleted` (TD3.3;
  mocks/dmp/updates.py) (RIS.DMP/va1.09, SGL.DMP/va1.23); in BIO, the product then sends its preset warning
  message to the report's recipients by MSSanté (SGL.MSS/va1.37);
- BIO `partial-01` (`send-partial`) then `complete-01` (`complete-report`): the partial lab report goes to the
  DMP and by MSSanté to the prescriber, then the complete one as its new version (RPLC, same setId, next
  versionNumber) to both (SGL.DMP/va1.15, SGL.MSS/va1.32), the MSSanté copy with the "annule et remplace"
  mention (SGL.MSS/va1.35: 'une mention du type "annule et remplace" pré-paramétrée dans le compte rendu').

The checks read only what reached the mocks (the core observation of each task: the ITI-41 documents read
from the wire, their XDS entries, the entries stored at the end of the run) and, for the warning message,
the stored message's text read by this capability's `observe`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from segur.scenarios.capability import Capability, ObserveContext, PlanContext
from segur.scenarios.check import Check, CheckResult, judged, tasks
from segur.scenarios.mime import UnreadableMime, read_message

RIS, BIO, LGC, DPI = "RIS", "BIO", "LGC", "DPI"
ACCEPTED = ("accepted", "accepted-with-warnings")
#: the DMP's visibility codes (docs/dmp-rules.md, mocks/dmp/visibility.py)
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
VISIBILITY_CODES = {"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX",
                    "INVISIBLE_REPRESENTANTS_LEGAUX"}
#: the DMP mock's warning that a stored document is hidden from someone (expected on the visibility tasks)
VISIBILITY_WARNING = "DMP-CONF-001"
STATUS_APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
STATUS_DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
STATUS_DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"  # JDV_J52 (CI-SIS), mocks/dmp/xds_metadata.py
EXPECT_NOT_SENT = "not-sent"  # the user blocked the feed: nothing may reach the DMP
#: a report deleted: the product has the INS from when it sent it, no INSi search is due (one is before any
#: message it sends, as for every send: insi-before-send)
EXPECT_DELETED = "deleted"
#: the product's indicator of historical feeding, in its result's detail or output (DMP/HISTO.07)
INDICATOR = re.compile(r"HISTO-FED=(\d+)")
#: the mention SGL.MSS/va1.35 asks in the new version of a lab report (compared without case or accents)
CANCELS_REPLACES = "annule et remplace"

HISTO_MANUAL, HISTO_BULK, HISTO_UNQUALIFIED = "histo-manual", "histo-bulk", "histo-unqualified"
BLOCKED, VISIBILITY = "blocked", "visibility"
ERASE_SOURCE, DELETE, PARTIAL, COMPLETE = "erase-source", "delete", "partial", "complete"
HISTO_SCENARIOS = (HISTO_MANUAL, HISTO_BULK, HISTO_UNQUALIFIED)
EXPECT_WITHHELD = "withheld"  # as the core plan says it: INSi cannot qualify the identity

#: the exam dates of the patient's earlier reports (fixed, so the plan stays a pure function of the world)
EARLIER_EXAMS = ("2021-03-15T10:20:00+01:00", "2022-06-02T08:45:00+02:00", "2023-11-20T16:05:00+01:00")


# --- the plan -----------------------------------------------------------------------------------------------
def _free_patients(ctx: PlanContext, count: int) -> list:
    used = ctx.used_patients()
    free = [p for p in ctx.dmp_patients if p.key not in used]
    if len(free) < count:
        raise ValueError(f"capability histo needs {count} DMP patients no other task is about; the world "
                         f"has {len(free)}")
    return free[:count]


def _earlier(task_no: int) -> list[dict]:
    return [{"ref": f"H{task_no}-{i + 1}", "exam_date": when} for i, when in enumerate(EARLIER_EXAMS)]


def plan(ctx: PlanContext) -> None:
    histo, blocked, masked, hidden, erased = _free_patients(ctx, 5)
    documents = _earlier(1)
    ctx.add("histo-01", "feed-histo", histo, HISTO_MANUAL, "delivered",
            extra={"mode": "manual", "documents": documents[:1]})
    ctx.add("histo-02", "feed-histo", histo, HISTO_BULK, "delivered",
            extra={"mode": "bulk", "documents": documents})
    # HISTO.06 filter (ii), "INS qualifiée dans le dossier du patient": the core's homonym, INSi answers 02
    homonym = ctx.world.patient_by_key(ctx.plan.by_id("homonym-01").patient_key)
    ctx.add("histo-03", "feed-histo", homonym, HISTO_UNQUALIFIED, EXPECT_WITHHELD,
            extra={"mode": "bulk", "documents": _earlier(3)})
    ctx.add("blocked-01", "blocked-dmp", blocked, BLOCKED, EXPECT_NOT_SENT, extra={"dmp_blocked": True})
    ctx.add("masked-01", "send-dmp-visibility", masked, VISIBILITY, "delivered",
            extra={"visibility": ["MASQUE_PS"]})
    ctx.add("hidden-01", "send-dmp-visibility", hidden, VISIBILITY, "delivered",
            extra={"visibility": ["INVISIBLE_PATIENT"]})
    source = ctx.add("erase-01", "send-dmp", erased, ERASE_SOURCE, "delivered")
    extra = {"deletes_task": "erase-01"}
    if ctx.couloir == BIO:  # the report's recipients, to warn (SGL.MSS/va1.37)
        extra.update(recipients=[ctx.recipients[0].mailbox], sender=ctx.sender)
    ctx.add("delete-01", "delete-dmp", erased, DELETE, EXPECT_DELETED, extra=extra, number=source.report_no)


def plan_bio(ctx: PlanContext) -> None:
    (patient,) = _free_patients(ctx, 1)
    recipient = ctx.recipients[-1].mailbox
    partial = ctx.add("partial-01", "send-partial", patient, PARTIAL, "delivered", recipient=recipient,
                      extra={"sender": ctx.sender})
    ctx.add("complete-01", "complete-report", patient, COMPLETE, "delivered", recipient=recipient,
            extra={"completes_task": "partial-01", "sender": ctx.sender}, number=partial.report_no)


def observe(ctx: ObserveContext) -> dict:
    """The text of each MSSanté message of the task (subject and text parts), read from the stored message
    (the delete task's warning, SGL.MSS/va1.37)."""
    messages = []
    for exchange in ctx.journals.get("mssante", []):
        if not ctx.in_task(exchange, "mssante") or exchange["operation"] != "smtp-message":
            continue
        meta, request = exchange.get("meta") or {}, exchange.get("request") or {}
        item = {"seq": exchange["seq"], "id": meta.get("id"), "subject": request.get("subject"), "text": None}
        if ctx.admin is not None and meta.get("id"):
            try:
                item["text"] = message_text(ctx.admin.mss_raw(meta["id"]))
            except (OSError, LookupError, UnreadableMime) as exc:
                item["unread"] = f"{type(exc).__name__}: {exc}"
        messages.append(item)
    return {"messages": messages}


def message_text(raw: bytes) -> str:
    """The text/plain parts of a message (its preset wording), joined."""
    message = read_message(raw)
    parts = [message] if not message.is_multipart() else list(message.walk())
    texts = []
    for part in parts:
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True) or b""
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


# --- reading the run record ---------------------------------------------------------------------------------
def _iti41(task: dict) -> list[dict]:
    return [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41"]


def _accepted(task: dict, operation: str = "ITI-41") -> list[dict]:
    return [d for d in task["observed"]["dmp"] if d["operation"] == operation and d["verdict"] in ACCEPTED]


def _documents(item: dict) -> list[dict]:
    return [d for d in item.get("documents") or [] if "unreadable" not in d]


def _stored(task: dict) -> list[dict]:
    """The entries the DMP held at the end of the run for the task's accepted ITI-41s."""
    return [entry for item in _accepted(task) for entry in item.get("stored") or []]


def _claimed(task: dict) -> bool:
    return bool((task.get("result") or {}).get("ok"))


def _day(value: str | None) -> str | None:
    """The calendar day of an HL7 TS or ISO date (YYYYMMDD)."""
    digits = re.sub(r"[^0-9]", "", str(value or ""))[:8]
    return digits if len(digits) == 8 else None


def _utc(value: str | None) -> str | None:
    """An HL7 TS (with its offset) in UTC, as precise as it is given (YYYYMMDD[HHMM[SS]]); an XDS DTM has no
    offset and is UTC already. None if unreadable."""
    match = re.fullmatch(r"(\d{8})(\d{4}(?:\d{2})?)?(?:\.\d+)?([+-]\d{4})?", str(value or ""))
    if not match:
        return None
    day, clock, zone = match.groups()
    if clock is None:
        return day
    when = datetime.strptime(day + clock.ljust(6, "0"), "%Y%m%d%H%M%S")
    if zone:
        when -= timedelta(hours=int(zone[:3]), minutes=int(zone[0] + zone[3:]))
    return when.strftime("%Y%m%d%H%M%S")[:8 + len(clock)]


def _same_instant(xds: str | None, cda: str | None) -> bool:
    """The XDS time (UTC) is the CDA's, the one truncated to what the other gives (the DMP accepts a
    truncation: mocks/dmp/metadata_rules.py, creationTime)."""
    a, b = _utc(xds), _utc(cda)
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def _fold(text: str | None) -> str:
    plain = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.lower().split())


def _detail(task: dict) -> str | None:
    return (task.get("result") or {}).get("detail")


def _version(doc: dict) -> int:
    value = str(doc.get("version") or "")
    return int(value) if value.isdigit() else 0


_VERSION_FACTS = ("unique_id", "set_id", "version", "replaces")


def _indicator(task: dict) -> int | None:
    result = task.get("result") or {}
    found = INDICATOR.findall(f"{result.get('detail') or ''}\n{result.get('output') or ''}")
    return int(found[-1]) if found else None


# --- the checks ---------------------------------------------------------------------------------------------
def check_business_date(run: dict) -> CheckResult:
    """Each historical report sent is dated with its exam: the CDA's serviceEvent and effectiveTime on an
    exam day the task gives, the XDS serviceStartTime and creationTime the same instants (UTC)."""
    problems, evidence = [], []
    for task in tasks(run, *HISTO_SCENARIOS):
        task_id = task["task"]["id"]
        days = {_day(d["exam_date"]) for d in task["task"]["extra"].get("documents") or []}
        for item in _iti41(task):
            entries = {e.get("unique_id"): e for e in item.get("xds_entries") or []}
            for doc in _documents(item):
                entry = entries.get(doc.get("unique_id")) or {}
                start, written = doc.get("service_start"), doc.get("effective_time")
                xds_start, created = entry.get("service_start"), entry.get("creation_time")
                exam_days = sorted(d for d in days if d)
                evidence.append({"task": task_id, "seq": item["seq"], "document": doc.get("unique_id"),
                                 "cda_service_start": start, "cda_effective": written,
                                 "xds_service_start": xds_start, "xds_creation": created,
                                 "exam_days": exam_days})
                where = f"{task_id}: ITI-41 #{item['seq']} {doc.get('unique_id')}"
                if _day(start) not in days:
                    problems.append(f"{where}: the CDA's serviceEvent starts {start}, not on an exam day of "
                                    f"the task {exam_days}")
                if _day(written) != _day(start):
                    problems.append(f"{where}: the CDA is dated {written}, not on its exam day ({start}): a "
                                    "historical report keeps its business date")
                if not _same_instant(xds_start, start):
                    problems.append(f"{where}: XDS serviceStartTime {xds_start} is not the CDA's "
                                    f"serviceEvent start {start} (UTC)")
                if not _same_instant(created, written):
                    problems.append(f"{where}: XDS creationTime {created} is not the CDA's effectiveTime "
                                    f"{written} (UTC)")
    if not evidence:
        problems.append("no historical report reached the DMP: the business date cannot be judged")
    return judged("histo-business-date", problems, evidence,
                  f"{len(evidence)} historical reports, each dated with its exam in the CDA and the metadata")


def _fed_before(run: dict, task: dict) -> set[str]:
    """The refs of the patient's earlier reports fed by the histo tasks before this one."""
    refs: set[str] = set()
    for other in tasks(run, *HISTO_SCENARIOS):
        if other is task:
            break
        if other["world"]["patient_key"] == task["world"]["patient_key"]:
            refs |= {d["ref"] for d in other["task"]["extra"].get("documents") or []}
    return refs


def check_fed_once(run: dict) -> CheckResult:
    """The manual feed sends the one chosen report; the bulk feed sends every earlier report not yet fed, and
    not the one fed already; at the end the DMP holds each historical report once."""
    problems, evidence = [], []
    held: dict[str, list[str]] = {}
    for task in tasks(run, *HISTO_SCENARIOS):
        task_id = task["task"]["id"]
        listed = [d["ref"] for d in task["task"]["extra"].get("documents") or []]
        withheld = task["expect"] == EXPECT_WITHHELD  # no qualified INS: nothing may be fed
        expected = [] if withheld else [ref for ref in listed if ref not in _fed_before(run, task)]
        sent = [doc for item in _accepted(task) for doc in _documents(item)]
        refused = [f"#{d['seq']} {d['verdict']} {d['rules']}" for d in _iti41(task)
                   if d["verdict"] not in ACCEPTED]
        evidence.append({"task": task_id, "mode": task["task"]["extra"].get("mode"), "listed": listed,
                         "not_yet_fed": expected, "accepted_documents": [d.get("unique_id") for d in sent],
                         "refused": refused, "claimed_ok": _claimed(task)})
        if withheld and sent:
            problems.append(f"{task_id}: {len(sent)} historical reports accepted by the DMP although INSi "
                            "qualified no identity (HISTO.06 filter ii: nothing may be fed)")
        elif len(sent) != len(expected):
            missing = ", ".join(expected) or "none"
            problems.append(f"{task_id}: {len(sent)} historical reports accepted by the DMP, expected "
                            f"{len(expected)} (the listed ones not fed before: {missing})"
                            + (f"; refused {', '.join(refused)}" if refused else ""))
        if not withheld and _claimed(task) != bool(sent or not expected):
            said = "done" if _claimed(task) else "failed"
            problems.append(f"{task_id}: the product says {said} ({_detail(task)!r}) but the DMP accepted "
                            f"{len(sent)}")
        if withheld:  # what was fed is the problem above; the patient has no history to hold
            continue
        patient = task["world"]["xds_patient_id"]
        for entry in _stored(task):
            if entry.get("availability_status") == STATUS_APPROVED:
                held.setdefault(patient, []).append(entry.get("unique_id"))
    for patient, uids in held.items():
        wanted = {ref for t in tasks(run, *HISTO_SCENARIOS) if t["world"]["xds_patient_id"] == patient
                  and t["expect"] != EXPECT_WITHHELD
                  for ref in (d["ref"] for d in t["task"]["extra"].get("documents") or [])}
        evidence.append({"patient": patient, "dmp_holds": uids, "historical_reports": sorted(wanted)})
        if len(uids) != len(wanted):
            why = "a report was fed twice" if len(uids) > len(wanted) else "some are missing"
            problems.append(f"the DMP holds {len(uids)} historical reports of {patient}, the product had "
                            f"{len(wanted)}: {why}")
    if not tasks(run, *HISTO_SCENARIOS):
        problems.append("the plan has no historical feeding task")
    return judged("histo-fed-once", problems, evidence,
                  "the chosen report fed, then the others in bulk, each once")


def check_indicator(run: dict) -> CheckResult:
    """The indicator the product reports after the bulk feed equals the historical reports the DMP holds for
    the patient (approved entries of the histo tasks, read from the DMP's store)."""
    problems, evidence = [], []
    for task in tasks(run, HISTO_BULK):
        task_id, patient = task["task"]["id"], task["world"]["patient_key"]
        mine = [t for t in tasks(run, *HISTO_SCENARIOS) if t["world"]["patient_key"] == patient]
        held = [e.get("unique_id") for t in mine for e in _stored(t)
                if e.get("availability_status") == STATUS_APPROVED]
        reported = _indicator(task)
        evidence.append({"task": task_id, "reported": reported, "dmp_holds": held})
        if reported is None:
            problems.append(f"{task_id}: the product reports no indicator of historical feeding "
                            "(HISTO-FED=<n> in its result)")
        elif reported != len(held):
            problems.append(f"{task_id}: the product's indicator says {reported} historical reports fed, "
                            f"the DMP holds {len(held)}")
    if not evidence:
        problems.append("the plan has no bulk historical feeding task: the indicator cannot be judged")
    return judged("histo-indicator", problems, evidence, "the product's back-fill indicator matches the DMP")


def check_blocked(run: dict) -> CheckResult:
    """The user blocked the DMP feed for the exam: no ITI-41 at all in the task, and the product does not
    claim the report was sent."""
    problems, evidence = [], []
    for task in tasks(run, BLOCKED):
        task_id = task["task"]["id"]
        seen = [f"#{d['seq']} {d['verdict']}" for d in _iti41(task)]
        evidence.append({"task": task_id, "iti41": seen, "claimed_ok": _claimed(task),
                         "detail": (task.get("result") or {}).get("detail")})
        if seen:
            problems.append(f"{task_id}: the user blocked the DMP feed but {len(seen)} ITI-41 reached the "
                            f"DMP ({', '.join(seen)})")
        if _claimed(task):
            problems.append(f"{task_id}: the product says the report was sent ({_detail(task)!r}) although "
                            "the feed was blocked")
    if not evidence:
        problems.append("the plan has no blocked feeding task")
    return judged("dmp-feed-blocked", problems, evidence, "nothing reaches the DMP for the blocked exam")


def _visibility(entry: dict) -> list[str]:
    return sorted(c.get("code") for c in entry.get("confidentiality_codes") or [] if isinstance(c, dict)
                  and (c.get("scheme") == VISIBILITY_SCHEME or c.get("code") in VISIBILITY_CODES))


def check_visibility(run: dict) -> CheckResult:
    """The stored entry of each visibility task carries exactly the visibility codes the user set; no other
    task's stored entry carries one."""
    problems, evidence = [], []
    for task in tasks(run):
        task_id = task["task"]["id"]
        asked = []
        if task["scenario"] == VISIBILITY:
            asked = sorted(task["task"]["extra"].get("visibility") or [])
        stored = _stored(task)
        for entry in stored:
            codes = _visibility(entry)
            if codes or asked:
                evidence.append({"task": task_id, "entry": entry.get("unique_id"), "asked": asked,
                                 "stored": codes})
            if codes != asked:
                problems.append(f"{task_id}: stored with visibility {codes or 'none'}, the user asked "
                                f"{asked or 'none'}")
        if asked:
            accepted = _accepted(task)
            if not stored:
                refused = [f"#{d['seq']} {d['verdict']} {d['rules']}" for d in _iti41(task)]
                problems.append(f"{task_id}: no entry stored for the report to keep "
                                f"{', '.join(asked)} ({', '.join(refused) or 'no ITI-41'})")
            for item in accepted:
                others = [r for r in item["rules"] if r != VISIBILITY_WARNING]
                if item["verdict"] != "accepted" and others:
                    problems.append(f"{task_id}: accepted with warnings {others}")
    if not tasks(run, VISIBILITY):
        problems.append("the plan has no task with a visibility set by the user")
    return judged("dmp-visibility", problems, evidence,
                  "the visibility the user set, and none elsewhere")


def _source(run: dict, task: dict) -> dict | None:
    wanted = task["task"]["extra"].get("deletes_task")
    return next((t for t in tasks(run) if t["task"]["id"] == wanted), None)


def check_deletion(run: dict) -> CheckResult:
    """The report the task deletes is deleted as the DMP does it: an ITI-57 accepted in the task, and the
    entry's status Deleted in the DMP's store; the other entries of the patient keep theirs."""
    problems, evidence, blocked = [], [], []
    for task in tasks(run, DELETE):
        task_id = task["task"]["id"]
        source = _source(run, task)
        stored = _stored(source) if source else []
        updates = [f"#{d['seq']} {d['verdict']} {d['rules']}" for d in task["observed"]["dmp"]
                   if d["operation"] == "ITI-57"]
        evidence.append({"task": task_id, "deletes": task["task"]["extra"].get("deletes_task"),
                         "iti57": updates, "claimed_ok": _claimed(task),
                         "entries": [{k: e.get(k) for k in ("unique_id", "availability_status")}
                                     for e in stored]})
        if not stored:
            why = "the report to delete never reached the DMP: nothing to delete"
            blocked.append({"check": None, "task": task_id, "reason": why})
            continue
        if not _accepted(task, "ITI-57"):
            problems.append(f"{task_id}: no ITI-57 accepted by the DMP ({', '.join(updates) or 'none sent'})")
        for entry in stored:
            if entry.get("availability_status") != STATUS_DELETED:
                problems.append(f"{task_id}: {entry.get('unique_id')} is still "
                                f"{str(entry.get('availability_status')).rsplit(':', 1)[-1]} in the DMP, not "
                                "Deleted")
        if _claimed(task) and not _accepted(task, "ITI-57"):
            problems.append(f"{task_id}: the product says the report was deleted ({_detail(task)!r}) but "
                            "the DMP saw no deletion")
    for task in tasks(run):
        if task["scenario"] == ERASE_SOURCE:
            continue
        for entry in _stored(task):
            if entry.get("availability_status") == STATUS_DELETED:
                problems.append(f"{task['task']['id']}: {entry.get('unique_id')} was deleted although no "
                                "task asked it")
    if not tasks(run, DELETE):
        problems.append("the plan has no deletion task")
    return judged("dmp-deletion", problems, evidence, "the report deleted in the DMP (ITI-57, Deleted)",
                  blocked)


def check_delete_warning(run: dict) -> CheckResult:
    """After the deletion, the product's preset message warning of it reaches each recipient of the report,
    by MSSanté, and says it was deleted."""
    problems, evidence, blocked = [], [], []
    for task in tasks(run, DELETE):
        task_id = task["task"]["id"]
        recipients = task["task"]["extra"].get("recipients") or []
        source = _source(run, task)
        if recipients and not (source and _stored(source)):
            why = "the report to delete never reached the DMP: nothing was deleted to warn of"
            blocked.append({"check": None, "task": task_id, "reason": why})
            continue
        deleted = [d["time"] for d in _accepted(task, "ITI-57")]
        texts = {m.get("id"): m for m in (task["observed"].get("histo") or {}).get("messages") or []}
        for recipient in recipients:
            sent = [m for m in task["observed"]["mss"]
                    if recipient.lower() in {a.lower() for a in m["delivered_to"]}]
            brief = [{"id": m.get("id"), "time": m["time"], "subject": m.get("subject"),
                      "text": (texts.get(m.get("id")) or {}).get("text")} for m in sent]
            evidence.append({"task": task_id, "recipient": recipient, "deleted_at": deleted,
                             "messages": brief})
            if not sent:
                problems.append(f"{task_id}: no message warning {recipient} of the deletion")
                continue
            words = [_fold(f"{b['subject']} {b['text'] or ''}") for b in brief]
            if not any("suppr" in w for w in words):
                problems.append(f"{task_id}: the message to {recipient} does not say the report was deleted "
                                "(supprimé / suppression)")
            if deleted and all(m["time"] < min(deleted) for m in sent):
                problems.append(f"{task_id}: {recipient} was warned before the DMP took the deletion")
    if not any(t["task"]["extra"].get("recipients") for t in tasks(run, DELETE)):
        problems.append("the plan has no deletion of a report with recipients to warn")
    return judged("delete-warning", problems, evidence, "the deleted report's recipients are warned", blocked)


def _complete_pairs(run: dict) -> list[tuple[dict | None, dict]]:
    by_id = {t["task"]["id"]: t for t in tasks(run)}
    return [(by_id.get(t["task"]["extra"].get("completes_task")), t) for t in tasks(run, COMPLETE)]


def _mss_docs(task: dict) -> list[dict]:
    return [d for m in task["observed"]["mss"] if m["delivered_to"] for d in m.get("xdm_documents") or []
            if "unreadable" not in d]


def check_partial_complete(run: dict) -> CheckResult:
    """The partial lab report reaches the DMP and the prescriber; the complete one is its new version (RPLC of
    the partial's id, same setId, next versionNumber) in both, and the DMP deprecates the partial."""
    problems, evidence = [], []
    for partial, complete in _complete_pairs(run):
        task_id = complete["task"]["id"]
        if partial is None:
            problems.append(f"{task_id}: the partial report's task is not in the run")
            continue
        first = [d for item in _accepted(partial) for d in _documents(item)]
        first_mss = _mss_docs(partial)
        evidence.append({"task": partial["task"]["id"], "dmp": [d.get("unique_id") for d in first],
                         "mss": [d.get("unique_id") for d in first_mss]})
        if len(first) != 1 or not first_mss:
            problems.append(f"{partial['task']['id']}: the partial report reached the DMP {len(first)} "
                            f"time(s) and {len(first_mss)} MSSanté recipient(s) (expected 1 and 1)")
            continue
        old = first[0]
        for where, docs in (("DMP", [d for item in _accepted(complete) for d in _documents(item)]),
                            ("MSSanté", _mss_docs(complete))):
            evidence.append({"task": task_id, "service": where, "partial": old.get("unique_id"),
                             "complete": [{k: d.get(k) for k in _VERSION_FACTS} for d in docs]})
            if not docs:
                problems.append(f"{task_id}: the complete report did not reach the {where}")
            for doc in docs:
                if doc.get("set_id") != old.get("set_id"):
                    problems.append(f"{task_id}: {where}: the complete report has setId {doc.get('set_id')}, "
                                    f"not the partial's {old.get('set_id')}")
                if doc.get("replaces") != old.get("unique_id"):
                    problems.append(f"{task_id}: {where}: the complete report replaces "
                                    f"{doc.get('replaces')}, not the partial {old.get('unique_id')} "
                                    "(relatedDocument RPLC)")
                if _version(doc) <= _version(old):
                    problems.append(f"{task_id}: {where}: versionNumber {doc.get('version')} does not follow "
                                    f"the partial's {old.get('version')}")
        statuses = [e.get("availability_status") for e in _stored(partial)]
        if statuses and statuses != [STATUS_DEPRECATED]:
            shown = [str(s).rsplit(":", 1)[-1] for s in statuses]
            problems.append(f"{partial['task']['id']}: the partial report is {shown} in the DMP, not "
                            "Deprecated by the complete one")
    if not _complete_pairs(run):
        problems.append("the plan has no partial-then-complete lab report")
    return judged("bio-partial-complete", problems, evidence,
                  "the complete lab report replaces the partial one in the DMP and by MSSanté")


def check_cancels_replaces(run: dict) -> CheckResult:
    """The complete lab report sent by MSSanté carries the "annule et remplace" mention (its title or the text
    of its PDF)."""
    problems, evidence, blocked = [], [], []
    for _partial, complete in _complete_pairs(run):
        task_id = complete["task"]["id"]
        if not _mss_docs(complete):  # bio-partial-complete fails on it
            why = "no new version of the lab report reached a recipient by MSSanté"
            blocked.append({"check": "bio-partial-complete", "task": task_id, "reason": why})
        for doc in _mss_docs(complete):
            texts = [doc.get("title")] + [p.get("text") for p in doc.get("pdfs") or []]
            found = any(CANCELS_REPLACES in _fold(t) for t in texts if t)
            evidence.append({"task": task_id, "document": doc.get("unique_id"), "title": doc.get("title"),
                             "mention_found": found})
            if not found:
                problems.append(f"{task_id}: the new version {doc.get('unique_id')} sent by MSSanté has no "
                                f"\"{CANCELS_REPLACES}\" mention (title: {doc.get('title')!r})")
    if not _complete_pairs(run):
        problems.append("the plan has no new version of a lab report")
    return judged("bio-cancels-replaces", problems, evidence, "the new version says it cancels and replaces",
                  blocked)


READS = ("dmp.iti41", "dmp.stored", "task.claims")
CAPABILITY = Capability(
    "histo", "historical back-fill, a blocked feed, visibility set by the user and deletion (DMP)",
    scenarios=(*HISTO_SCENARIOS, BLOCKED, VISIBILITY, ERASE_SOURCE, DELETE),
    plan=plan, observe=observe, couloirs=(RIS, BIO, LGC, DPI),
    checks=(
        Check("histo-business-date", "Historical reports dated with their exam, in the CDA and the metadata",
              "test_historical_reports_keep_their_business_date",
              "Back-fill: each earlier report fed to the DMP is dated with its exam (CDA serviceEvent and "
              "effectiveTime on the exam day; XDS serviceStartTime and creationTime the same instants).",
              {RIS: ["DMP/HISTO.03"], BIO: ["DMP/HISTO.03"], LGC: ["DMP/HISTO.03"], DPI: ["DMP/HISTO.03"]},
              READS, check_business_date, ("histo-today-date",),
              hint=("Date each back-filled report with its exam, not the day it is fed: CDA serviceEvent and "
                    "effectiveTime on the exam day, XDS serviceStartTime and creationTime the same instants "
                    "(DMP/HISTO.03).")),
        Check("histo-fed-once", "The chosen report fed, then every other earlier report, each once",
              "test_historical_reports_are_fed_once_manually_then_in_bulk",
              "Back-fill: the manual feed sends the one report chosen; the bulk feed sends the patient's "
              "other earlier reports and not the one fed already; the DMP holds each once.",
              {RIS: ["DMP/HISTO.05", "DMP/HISTO.06", "RIS.DMP/HISTO.06"],
               BIO: ["DMP/HISTO.05", "DMP/HISTO.06", "BIO.DMP/HISTO.06"],
               LGC: ["DMP/HISTO.05"], DPI: ["DMP/HISTO.05", "DMP/HISTO.06"]}, READS, check_fed_once,
              ("histo-resent",),
              hint=("Back-fill only a patient whose INS INSi qualified (00), nothing otherwise; feed "
                    "manually the one report chosen, then in bulk the other earlier reports, skipping those "
                    "fed already (by document id), and report the feed as the DMP answered (DMP/HISTO.05, "
                    "DMP/HISTO.06).")),
        Check("histo-indicator", "The back-fill indicator equals what the DMP holds",
              "test_the_backfill_indicator_matches_the_dmp",
              "Back-fill indicator: the count the product reports (HISTO-FED=<n>) equals the historical "
              "reports the DMP holds for the patient.",
              {RIS: ["DMP/HISTO.07"], BIO: ["DMP/HISTO.07"], LGC: [], DPI: ["DMP/HISTO.07"]},
              ("dmp.stored", "task.claims"), check_indicator, ("histo-count-wrong",),
              hint=("Count in the back-fill indicator (HISTO-FED=<n>) every historical report of the patient "
                    "the DMP holds, over all the feeds (manual and bulk), not the last feed only "
                    "(DMP/HISTO.07).")),
        Check("dmp-feed-blocked", "Nothing reaches the DMP when the user blocked the feed",
              "test_a_blocked_dmp_feed_sends_nothing",
              "Blocked feeding: for the exam whose DMP feed the user blocked, no ITI-41 reaches the DMP and "
              "the product does not claim it was sent.",
              {RIS: ["RIS.DMP/va1.12"], BIO: ["SGL.DMP/va1.22"], LGC: [], DPI: []},
              ("dmp.iti41", "task.claims"), check_blocked, ("blocked-still-sent",),
              hint=("When the user blocked the DMP feed for an exam, send no ITI-41 for its report and do "
                    "not report it sent to the DMP.")),
        Check("dmp-visibility", "The visibility the user set is the stored one, and only there",
              "test_the_dmp_entry_keeps_the_visibility_the_user_set",
              "Masking and visibility: the report the user masked from professionals (MASQUE_PS) or hid "
              "from the patient (INVISIBLE_PATIENT) is stored with exactly that code of "
              "1.2.250.1.213.1.1.4.13; no other entry of the run carries one.",
              {RIS: ["RIS.DMP/va1.14"], BIO: [], LGC: ["LGC.DMP.02", "LGC.DMP/va1.17"],
               DPI: ["DPI.DMP/va1.04"]},
              ("dmp.stored",), check_visibility, ("mask-ignored",),
              hint=("Put the visibility the user set (MASQUE_PS or INVISIBLE_PATIENT, codingScheme "
                    "1.2.250.1.213.1.1.4.13) in the confidentialityCode of that report's ITI-41 document "
                    "entry, and in no other report's.")),
        Check("dmp-deletion", "A deleted report is deleted in the DMP (ITI-57)",
              "test_a_deleted_report_is_deleted_in_the_dmp",
              "Deletion: the report the user deletes is set Deleted in the DMP by an ITI-57 "
              "UpdateAvailabilityStatus (TD3.3); no other entry is deleted.",
              {RIS: ["RIS.DMP/va1.09"], BIO: ["SGL.DMP/va1.23"], LGC: ["LGC.DMP.01"], DPI: []},
              ("dmp.iti57", "dmp.stored", "task.claims"), check_deletion, ("delete-not-sent",),
              hint=("When the user deletes a report sent to the DMP, send an ITI-57 UpdateAvailabilityStatus "
                    "(TD3.3) setting that entry Deleted in the DMP, not only in your own file; delete no "
                    "other entry.")),
    ),
)

BIO_CAPABILITY = Capability(
    "histo-bio", "the lab's partial then complete report, and the warning of a deleted report's recipients",
    scenarios=(PARTIAL, COMPLETE), plan=plan_bio, observe=observe, couloirs=(BIO,),
    checks=(
        Check("bio-partial-complete", "The complete lab report replaces the partial one (DMP and MSSanté)",
              "test_the_complete_lab_report_replaces_the_partial_one",
              "Partial then complete: the partial lab report reaches the DMP and the prescriber, then the "
              "complete one as its new version (RPLC, same setId, next versionNumber) in both; the DMP "
              "deprecates the partial.",
              {RIS: [], BIO: ["SGL.DMP/va1.15", "SGL.MSS/va1.32"]},
              ("dmp.iti41", "mss.messages", "dmp.stored"), check_partial_complete, ("partial-new-set-id",),
              hint=("Send the complete lab report as the partial one's new version (RPLC of the partial, "
                    "same setId, next versionNumber), to the DMP and to the prescriber by MSSanté, not as a "
                    "new document (SGL.DMP/va1.15, SGL.MSS/va1.32).")),
        Check("bio-cancels-replaces", "The new version sent by MSSanté says \"annule et remplace\"",
              "test_the_new_lab_report_version_says_it_cancels_and_replaces",
              "New version by MSSanté: the complete lab report carries the preset \"annule et remplace\" "
              "mention.",
              {RIS: [], BIO: ["SGL.MSS/va1.35"]}, ("mss.messages",), check_cancels_replaces,
              ("no-cancel-mention",),
              hint=("Put the preset \"annule et remplace\" mention in the new version of the lab report sent "
                    "by MSSanté, in its title or the text of its PDF (SGL.MSS/va1.35).")),
        Check("delete-warning", "The deleted report's recipients are warned by MSSanté",
              "test_the_recipients_of_a_deleted_lab_report_are_warned",
              "Deletion warning: after the lab report is deleted, the preset message saying so reaches each "
              "of its recipients by MSSanté.",
              {RIS: [], BIO: ["SGL.MSS/va1.37"]}, ("mss.messages", "histo.messages"), check_delete_warning,
              ("delete-no-warning",),
              hint=("After deleting a lab report, send each of its recipients by MSSanté the preset message "
                    "saying, in its subject or text, that the report was deleted (supprimé) "
                    "(SGL.MSS/va1.37).")),
    ),
)
