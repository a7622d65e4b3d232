"""IHE PAM identity feeds to the product (issue 15, item 2): the harness is the product's identity source.

Before each of its tasks the harness (`prepare`) sends the product, through the PAM mock so every message and
its ACK are journalled as the task's, the PAM FR ITI-30 messages of a situation (PAMFR = Interop'Santé, *IHE
PAM National Extension FR* v2.11.2; notes in `../shared/ref/pam/README.md`):

- `pam-create`: A28, a qualified identity (INS in PID-3, PID-32 `VALI`);
- `pam-update`: A28 of a provisional identity with the traits typed at the desk (its first first name
  only, no INS), then A31 with the INS and the traits INSi returned (PAMFR §4.1, §4.4.1);
- `pam-merge`: A28 of two qualified identities, then A40 merging the second (MRG-1) into the first;
- `pam-delete`: A28 qualified, then the A47 deleting a wrongly attributed INS (PID-3 INS `""`, MRG-1 the
  INS, PID-32 `PROV`; PAMFR §4.4.3–4.4.4: PAM FR deletes an INS by A47, and never updates by A08);
- `pam-provisional`: A28 carrying an INS in PID-3 with PID-32 `PROV`: a receiver integrates such an identity
  *without* its INS (PAMFR §6.6.1, §6.6.15).

Then it asks the product (`pam-send-dmp`) for the report of the patient its feed named by the harness's
identifier (`extra["pam_patient_id"]`, a PI of `extra["pam_authority"]`), with no traits: the product must
use the identity it integrated. The product's MLLP endpoint is `PrepareContext.product["pam"]`
(`segur proof --pam-endpoint mllp://host:port`, or announced by its driver; docs/sut.md).

Couloirs: RIS, BIO and DPI (REM DPI.INS/va1.62: the hospital's DPI integrates the INS of its identity domain
from the IHE PAM feed, in creation, update and deletion).

The judge reads the messages as they went out and the ACKs as they came back (python-hl7, the PAM mock's own
parser library), and the reports from the DMP's journal (the core observation), never the product's word.
"""

from __future__ import annotations

import zlib
from urllib.parse import urlsplit

import hl7

from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, CheckResult, judged, tasks

NAME = "pam_feed"
CREATE, UPDATE, MERGE, DELETE, PROVISIONAL = ("pam-create", "pam-update", "pam-merge", "pam-delete",
                                              "pam-provisional")
SCENARIOS = (CREATE, UPDATE, MERGE, DELETE, PROVISIONAL)
ACTION = "pam-send-dmp"
#: the namespace of the identifier the harness gives each patient in PID-3 (`mocks/pam/source.py`)
AUTHORITY = "SEGUR-PAM"
QUALIFIED, PROVISIONAL_STATUS = "VALI", "PROV"
NO_ENDPOINT = ("no MLLP endpoint for the product: give `segur proof --pam-endpoint mllp://host:port` "
               "(pytest: --segur-pam-endpoint), or a driver that announces one (docs/sut.md)")
NO_PAM_MOCK = ("the proof's stack serves it no PAM mock to send the feeds through (a proof run as a tenant "
               "of a shared stack is served none: the MLLP journal is not per tenant); run it on a stack of "
               "its own")
ACKED = "pam-feed-acknowledged"


def check_endpoint(url: str) -> str:
    """`mllp://host:port`, the form the PAM mock's `/_admin/send` takes (docs/pam.md); ValueError else."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "mllp" or not parts.hostname or not port or parts.path.strip("/"):
        raise ValueError(f"{url!r} is not an mllp://host:port address")
    return url


# --- plan ---------------------------------------------------------------------------------------------------
def local_id(patient) -> str:
    """The identifier the harness's feed gives a world patient (PID-3, type PI, `AUTHORITY`): nine digits,
    stable across runs (derived from the patient's key), sent to the PAM mock as `local_id`."""
    return f"{zlib.crc32(('pam-feed:' + patient.key).encode('utf-8')) % 10**9:09d}"


def _plan(ctx: PlanContext) -> None:
    used = ctx.used_patients()
    # patients no task is about yet first; in the full plan, with every capability's tasks, the world has
    # too few of them, so patients of earlier tasks follow (a feed names its own local identifier)
    pool = [p for p in ctx.dmp_patients if p.key not in used] + [p for p in ctx.dmp_patients if p.key in used]
    several_names = [p for p in pool if len(p.first_names.split()) > 1]
    if len(pool) < 6 or not several_names:
        raise ValueError("the PAM feed tasks need 6 patients with a qualifiable INS and an open DMP "
                         f"(one with several first names); the world has {len(pool)}")
    updated = several_names[0]
    create, survivor, merged, deleted, provisional = [p for p in pool if p is not updated][:5]

    def add(number: int, scenario: str, patient, expect: str, named=None) -> None:
        extra = {"pam_patient_id": local_id(named or patient), "pam_authority": AUTHORITY}
        ctx.add(f"{scenario}-{number:02d}", ACTION, patient, scenario, expect, extra=extra, traits={})

    add(1, CREATE, create, "delivered")
    add(1, UPDATE, updated, "delivered")
    add(1, MERGE, survivor, "delivered", named=merged)  # asked under the merged identifier
    add(1, DELETE, deleted, "withheld")
    add(1, PROVISIONAL, provisional, "withheld")


# --- prepare: the feeds -------------------------------------------------------------------------------------
def feeds_of(planned, world) -> list[dict]:
    """The `POST /_admin/send` bodies (without `to`) of a task's situation, in the order they go out."""
    return [{**feed, "local_id": local_id(world.patient_by_key(feed["patient"]))}
            for feed in _situation(planned, world)]


def _situation(planned, world) -> list[dict]:
    patient = world.patient_by_key(planned.patient_key)
    scenario = planned.scenario
    if scenario == CREATE:
        return [{"event": "A28", "patient": patient.key, "status": QUALIFIED}]
    if scenario == UPDATE:
        typed = {"first_names": patient.first_name}  # the desk typed the first first name only
        return [{"event": "A28", "patient": patient.key, "status": PROVISIONAL_STATUS, "traits": typed},
                {"event": "A31", "patient": patient.key, "status": QUALIFIED}]
    if scenario == MERGE:
        named = planned.task.extra["pam_patient_id"]
        merged = next(p for p in world.patients if local_id(p) == named)
        return [{"event": "A28", "patient": patient.key, "status": QUALIFIED},
                {"event": "A28", "patient": merged.key, "status": QUALIFIED},
                {"event": "A40", "patient": patient.key, "status": QUALIFIED, "prior": [named]}]
    if scenario == DELETE:
        return [{"event": "A28", "patient": patient.key, "status": QUALIFIED},
                {"event": "A47", "patient": patient.key, "status": PROVISIONAL_STATUS, "delete_ins": True}]
    if scenario == PROVISIONAL:
        return [{"event": "A28", "patient": patient.key, "status": PROVISIONAL_STATUS, "with_ins": True}]
    raise ValueError(f"not a PAM feed scenario: {scenario}")


def _prepare(ctx: PrepareContext) -> dict:
    feeds = feeds_of(ctx.planned, ctx.world)
    to = (ctx.product or {}).get("pam")
    if not to:
        return {"endpoint": None, "error": NO_ENDPOINT, "planned": len(feeds), "sent": []}
    if "admin" not in (ctx.endpoints.get("pam") or {}):
        return {"endpoint": to, "error": NO_PAM_MOCK, "planned": len(feeds), "sent": []}
    sent = []
    for feed in feeds:
        try:
            answer = ctx.admin.call("pam", "send", "POST", {"to": to, **feed})
        except (OSError, ValueError, LookupError) as exc:  # the mock refused the send (400) or is not there
            sent.append({"event": feed["event"], "error": f"the PAM mock did not send it: {exc}"})
            continue
        sent.append({"event": feed["event"], "seq": answer.get("seq"), "ack_code": answer.get("ack_code"),
                     "error": answer.get("error") or ""})
    return {"endpoint": to, "error": "", "planned": len(feeds), "sent": sent}


# --- observe: what went out and what came back --------------------------------------------------------------
def _field(message, key: str) -> str:
    try:
        return str(message[key])
    except (KeyError, IndexError):
        return ""


def _repetitions(message, key: str) -> list[str]:
    """The values of `key` (`PID.F3.R{}.C1`…) over its repetitions."""
    found, number = [], 1
    while True:
        try:
            found.append(str(message[key.format(number)]))
        except (KeyError, IndexError):
            return found
        number += 1


def parse(text: str):
    """An ER7 message as python-hl7 reads it, empty segments left out (None when it cannot)."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    try:
        return hl7.parse("\r".join(line for line in lines if line.strip()))
    except Exception:  # noqa: BLE001 - whatever the library raises, the message is unreadable
        return None


def segments(message, name: str) -> list:
    """The segments named `name` of a message `parse` read (none when it read nothing)."""
    return [segment for segment in message if str(segment[0]) == name] if message is not None else []


def component(segment, number: int, part: int = 1) -> str:
    """Component `part` of field `number` of a segment (its first repetition), "" when absent."""
    fields = str(segment).split("|")
    if len(fields) <= number:
        return ""
    parts = fields[number].split("~")[0].split("^")
    return parts[part - 1] if len(parts) >= part else ""


def fed_identity(text: str) -> dict:
    """What one ADT message of the feed said: the event, the harness's id, the INS in PID-3 (or its
    deletion, `""`), the traits (PID-5 type L, PID-7, PID-8, PID-11 BDL), PID-32, and MRG-1."""
    message = parse(text)
    if message is None:
        return {"unreadable": True}
    ids = []
    for number in range(1, len(_repetitions(message, "PID.F3.R{}.C1")) + 1):
        ids.append({"value": _field(message, f"PID.F3.R{number}.C1"),
                    "namespace": _field(message, f"PID.F3.R{number}.C4.S1"),
                    "oid": _field(message, f"PID.F3.R{number}.C4.S2"),
                    "type": _field(message, f"PID.F3.R{number}.C5")})
    ins = [i for i in ids if i["type"] == "INS"]
    local = next((i["value"] for i in ids if i["type"] == "PI" and i["namespace"] == AUTHORITY), None)
    names = _repetitions(message, "PID.F5.R{}.C7")
    legal = names.index("L") + 1 if "L" in names else 1
    places = _repetitions(message, "PID.F11.R{}.C7")
    place = f"PID.F11.R{places.index('BDL') + 1}.C9" if "BDL" in places else None
    prior = _repetitions(message, "MRG.F1.R{}.C1")
    return {"event": _field(message, "MSH.F9.R1.C2"), "control_id": _field(message, "MSH.F10"),
            "local_id": local,
            "ins": next(({"value": i["value"], "oid": i["oid"]} for i in ins if i["value"] != '""'), None),
            "deletes_ins": any(i["value"] == '""' for i in ins),
            "status": _repetitions(message, "PID.F32.R{}"),
            "traits": {"birth_name": _field(message, f"PID.F5.R{legal}.C1"),
                       "first_name": _field(message, f"PID.F5.R{legal}.C2"),
                       "first_names": _field(message, f"PID.F5.R{legal}.C3"),
                       "birth_date": _field(message, "PID.F7.R1.C1"), "sex": _field(message, "PID.F8"),
                       "birth_place": _field(message, place) if place else ""},
            "prior": prior}


def ack_of(text: str) -> dict:
    """MSA-1 and the ERR segments of the product's ACK (ERR-3 code, ERR-4 severity, ERR-8 or ERR-5 text)."""
    message = parse(text) if text else None
    if message is None:
        return {"code": None, "errors": []}
    count = sum(1 for segment in message if str(segment[0]) == "ERR")
    errors = [{"code": _field(message, f"ERR{n}.F3.R1.C1"), "severity": _field(message, f"ERR{n}.F4"),
               "text": _field(message, f"ERR{n}.F8") or _field(message, f"ERR{n}.F5.R1.C2")
               or _field(message, f"ERR{n}.F5.R1.C1")} for n in range(1, count + 1)]
    return {"code": _field(message, "MSA.F1") or None, "errors": errors}


def _text(body) -> str:
    return (body or {}).get("text") or "" if isinstance(body, dict) else ""


def _observe(ctx: ObserveContext) -> dict:
    feeds = []
    for entry in ctx.journals.get("pam", []):
        if not ctx.in_task(entry, "pam") or not entry["operation"].startswith("send ADT^"):
            continue
        meta, response = entry.get("meta") or {}, entry.get("response") or {}
        ack = ack_of(_text(response.get("body")))
        feeds.append({"seq": entry["seq"], "time": entry["time"], "event": meta.get("event"),
                      "verdict": entry["verdict"], "ack_code": meta.get("ack") or ack["code"],
                      "ack_errors": ack["errors"], "error": response.get("error") or "",
                      "fed": fed_identity(_text((entry.get("request") or {}).get("body")))})
    prepared = ctx.prepared or {}
    return {"endpoint": prepared.get("endpoint"), "error": prepared.get("error") or "",
            "planned": prepared.get("planned", 0), "not_sent": [s for s in prepared.get("sent", [])
                                                                if s.get("seq") is None],
            "feeds": feeds}


# --- what a product following PAM FR holds after the feeds --------------------------------------------------
def patient_file(feeds: list[dict]) -> tuple[dict, dict]:
    """The identities a receiver keeps (by the harness's id) and the ids merged into another, from the
    feeds: A28/A31 create or update (the INS kept only with VALI), A47 `""` deletes the INS, A40 merges
    MRG-1 into PID-3's identity (PAMFR §4.1, §4.4, §6.6.15)."""
    records: dict[str, dict] = {}
    merged: dict[str, str] = {}
    for feed in feeds:
        fed = feed["fed"]
        if fed.get("unreadable") or not fed.get("local_id"):
            continue
        record = records.setdefault(fed["local_id"], {"ins": None, "traits": {}, "status": []})
        record.update(traits=fed["traits"], status=fed["status"])
        if fed["deletes_ins"] or QUALIFIED not in fed["status"]:
            record["ins"] = None
        elif fed["ins"]:
            record["ins"] = fed["ins"]
        if fed["event"] == "A40":
            for old in fed["prior"]:
                merged[old] = fed["local_id"]
    return records, merged


def expected(task: dict) -> tuple[str | None, dict | None]:
    """The harness id the task resolves to (following merges) and the identity held for it."""
    records, merged = patient_file(task["observed"][NAME]["feeds"])
    named = task["task"]["extra"].get("pam_patient_id")
    seen = set()
    while named in merged and named not in seen:
        seen.add(named)
        named = merged[named]
    return named, records.get(named)


def fed_ins(task: dict) -> set[str]:
    """Every INS value a feed of the task carried in PID-3 or MRG-1."""
    found = set()
    for feed in task["observed"][NAME]["feeds"]:
        fed = feed["fed"]
        if fed.get("ins"):
            found.add(fed["ins"]["value"])
    return found


def documents_sent(task: dict) -> list[dict]:
    """The reports of the task the mocks saw (ITI-41 documents, the XDM documents of messages), with where
    they went: `{service, seq, verdict, ins, ins_oid, traits}`."""
    found = []
    observed = task["observed"]
    for item in observed.get("dmp", []):
        if item["operation"] != "ITI-41":
            continue
        for doc in item.get("documents") or []:
            if "unreadable" not in doc:
                found.append({"service": "dmp", "seq": item["seq"], "verdict": item["verdict"],
                              "ins": doc.get("ins"), "ins_oid": doc.get("ins_oid"),
                              "traits": doc.get("patient_traits") or {}})
    for message in observed.get("mss", []):
        for doc in message.get("xdm_documents") or []:
            if "unreadable" not in doc:
                found.append({"service": "mss", "seq": message["seq"], "verdict": message["verdict"],
                              "ins": doc.get("ins"), "ins_oid": doc.get("ins_oid"),
                              "traits": doc.get("patient_traits") or {}})
    return found


def _unacknowledged(task: dict) -> list[str]:
    """Why the task's feeds did not all reach the product and come back AA (empty: they did)."""
    observed, task_id = task["observed"][NAME], task["task"]["id"]
    if observed["error"]:
        return [f"{task_id}: the harness could not feed the product: {observed['error']}"]
    problems = [f"{task_id}: ADT^{s['event']} was not sent: {s.get('error')}" for s in observed["not_sent"]]
    if len(observed["feeds"]) < observed["planned"] and not problems:
        problems.append(f"{task_id}: {observed['planned']} feed message(s) planned, "
                        f"{len(observed['feeds'])} journalled by the PAM mock")
    for feed in observed["feeds"]:
        where = f"{task_id}: ADT^{feed['event']} #{feed['seq']} (MSH-10 {feed['fed'].get('control_id')})"
        if feed["ack_code"] == "AA":
            continue
        if feed["ack_code"] in ("AE", "AR"):
            errs = "; ".join(f"ERR {e['code']} {e['severity']} {e['text']}" for e in feed["ack_errors"])
            said = f": {errs}" if errs else " with no ERR"
            problems.append(f"{where} answered {feed['ack_code']}{said}")
        elif feed["ack_code"]:
            problems.append(f"{where} answered MSA-1 {feed['ack_code']!r}, not AA")
        else:
            problems.append(f"{where}: no ACK ({feed['verdict']}: {feed['error'] or 'no MSA'})")
    return problems


def _blocked_by_feed(task: dict) -> dict | None:
    if _unacknowledged(task):
        return {"check": ACKED, "task": task["task"]["id"],
                "reason": "the product did not take every feed of the task (AA)"}
    return None


# --- the checks ---------------------------------------------------------------------------------------------
def check_acknowledged(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, *SCENARIOS):
        observed = task["observed"][NAME]
        evidence.append({"task": task["task"]["id"], "endpoint": observed["endpoint"],
                         "feeds": [{k: f[k] for k in ("seq", "event", "ack_code", "ack_errors", "error")}
                                   for f in observed["feeds"]]})
        problems += _unacknowledged(task)
    if not tasks(run, *SCENARIOS):
        problems.append("the plan has no PAM feed task: the integration of identity feeds cannot be proved")
    return judged(ACKED, problems, evidence, "every ADT message fed to the product was answered AA")


TRAITS = ("birth_name", "first_name", "first_names", "sex", "birth_date", "birth_place")


def trait_differences(fed: dict, traits: dict) -> list[str]:
    """The traits a CDA writes otherwise than the feed gave them (PID-5 L, PID-7, PID-8, PID-11 BDL)."""
    written = {"birth_name": traits.get("birth_name"), "first_name": traits.get("first_name"),
               "first_names": traits.get("first_names"), "sex": traits.get("sex"),
               "birth_date": (traits.get("birth_time") or "")[:len(fed.get("birth_date") or "")],
               "birth_place": traits.get("birth_place")}
    return [f"{name} {written[name]!r} (fed {fed.get(name)!r})" for name in TRAITS
            if fed.get(name) and (written[name] or "") != fed[name]]


def _delivered_under(task: dict, identity: dict) -> tuple[list[dict], list[str]]:
    """The reports carrying the identity as fed, and what is wrong with each other report of the task. Whether
    the DMP accepted a report is not judged here (a refusal for its content is the core checks' business)."""
    ins = identity["ins"]
    good, wrong = [], []
    for doc in documents_sent(task):
        if doc["ins"] != ins["value"] or doc["ins_oid"] != ins["oid"]:
            wrong.append(f"{doc['service']} #{doc['seq']} carries INS {doc['ins']} ({doc['ins_oid']}), "
                         f"not the fed {ins['value']} ({ins['oid']})")
            continue
        differences = trait_differences(identity["traits"], doc["traits"])
        if differences:
            wrong.append(f"{doc['service']} #{doc['seq']} names the patient otherwise than fed: "
                         + ", ".join(differences))
        else:
            good.append(doc)
    return good, wrong


def check_fed_identity(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, CREATE, UPDATE):
        task_id = task["task"]["id"]
        named, identity = expected(task)
        docs = documents_sent(task)
        evidence.append({"task": task_id, "pam_patient_id": named, "expected": identity, "reports": docs})
        stop = _blocked_by_feed(task)
        if stop and not docs:
            blocked.append(stop)
            continue
        if not identity or not identity["ins"]:
            problems.append(f"{task_id}: the feed left no qualified identity for {named} (see {ACKED})")
            continue
        good, wrong = _delivered_under(task, identity)
        problems += [f"{task_id}: {w}" for w in wrong]
        if not good and not wrong:
            said = task["result"].get("detail")
            problems.append(f"{task_id}: no report was sent for the fed identity "
                            f"{identity['ins']['value']} (the product says: {said!r})")
    return judged("pam-fed-identity", problems, evidence, "the reports after a creation (A28) and an update "
                  "(A31) carry the INS and the traits as fed, the updated ones after the A31", blocked)


def check_merge(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, MERGE):
        task_id = task["task"]["id"]
        named, identity = expected(task)
        asked = task["task"]["extra"].get("pam_patient_id")
        records, _merged = patient_file([f for f in task["observed"][NAME]["feeds"]
                                         if f["fed"].get("event") != "A40"])
        gone = (records.get(asked) or {}).get("ins")
        docs = documents_sent(task)
        evidence.append({"task": task_id, "asked": asked, "survivor": named, "expected": identity,
                         "merged_ins": gone, "reports": docs})
        stop = _blocked_by_feed(task)
        if stop and not docs:
            blocked.append(stop)
            continue
        for doc in docs:
            if gone and doc["ins"] == gone["value"]:
                problems.append(f"{task_id}: {doc['service']} #{doc['seq']} was sent under the merged "
                                f"identity (INS {gone['value']}, id {asked}, merged into {named} by the A40)")
        if named == asked or not identity or not identity["ins"]:
            problems.append(f"{task_id}: the A40 left no surviving qualified identity for {asked}")
            continue
        good, wrong = _delivered_under(task, identity)
        if not good:
            why = "; ".join(wrong) or f"the product says: {task['result'].get('detail')!r}"
            problems.append(f"{task_id}: no report under the surviving identity "
                            f"{identity['ins']['value']} ({why})")
    return judged("pam-merge-survivor", problems, evidence, "after a merge (A40), asked for the merged id, "
                  "the report goes under the surviving identity and never the merged one", blocked)


def _never_sent_with(run: dict, scenario: str, check_id: str, what: str, summary: str) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, scenario):
        task_id = task["task"]["id"]
        forbidden = fed_ins(task)
        docs = documents_sent(task)
        evidence.append({"task": task_id, "forbidden_ins": sorted(forbidden), "reports": docs})
        for doc in docs:
            if doc["ins"] in forbidden:
                problems.append(f"{task_id}: {doc['service']} #{doc['seq']} carries INS {doc['ins']}, {what}")
        stop = _blocked_by_feed(task)
        if stop and not problems:
            blocked.append(stop)
    return judged(check_id, problems, evidence, summary, blocked)


def check_deleted(run: dict) -> CheckResult:
    return _never_sent_with(run, DELETE, "pam-deleted-not-used",
                            "which the feed deleted (A47, PID-3 INS \"\", PAMFR §4.4.3)",
                            "after the A47 deleting an INS, no report carries it")


def check_provisional(run: dict) -> CheckResult:
    return _never_sent_with(run, PROVISIONAL, "pam-provisional-not-qualified",
                            "fed with PID-32 PROV: a receiver keeps such an identity without its INS "
                            "(PAMFR §6.6.15), and the DMP takes only qualified ones",
                            "an INS fed with a status other than VALI never goes out as qualified")


#: DPI.INS/va1.62 asks the whole of it: integrate the INS from the identity domain's IHE PAM feed in creation,
#: update and deletion, per the PAM FR extension (PID-32) and rule 33 of the INS guide
INTEGRATION = {"RIS": ["RIS.INS/va1.67", "RIS.INS/va1.68"], "BIO": ["SGL.INS/va1.73"],
               "DPI": ["DPI.INS/va1.62"]}
PID_RULES = {"RIS": ["RIS.INS/va1.69"], "BIO": ["SGL.INS/va1.72"], "DPI": ["DPI.INS/va1.62"]}
BOTH = {c: list(dict.fromkeys(INTEGRATION[c] + PID_RULES[c])) for c in INTEGRATION}
CHECKS = (
    Check(ACKED, "Every PAM feed acknowledged AA", "test_pam_feeds_are_acknowledged_aa",
          "Every ADT message the harness fed the product (A28, A31, A40, A47) is answered AA over MLLP; an "
          "AE or AR is named with its ERR, no answer with why.", INTEGRATION, ("pam_feed.feeds",),
          check_acknowledged, ("pam-ack-ae",),
          hint=("Answer each ADT of the PAM feed (A28, A31, A40, A47) with an ACK whose MSA-1 is AA once it "
                "is integrated; the ERR segment of an AE or AR, in the pack, says what was refused.")),
    Check("pam-fed-identity", "Reports use the identity fed", "test_pam_reports_use_the_fed_identity",
          "After an A28 creation and an A31 update, the report the product sends for the patient the feed "
          "named carries the INS and the traits as fed (the A31's after the update), with no traits typed.",
          BOTH, ("pam_feed.feeds", "dmp.documents"), check_fed_identity, ("pam-ignore-update",),
          hint=("Apply each A31 update to the patient's identity (INS and traits) and build later reports "
                "from the identity as last fed, without retyping its traits.")),
    Check("pam-merge-survivor", "A merge keeps the surviving identity", "test_pam_merge_uses_the_survivor",
          "After an A40 merge, asked for the merged identifier, the product sends under the surviving "
          "identity, never the merged one.", INTEGRATION, ("pam_feed.feeds", "dmp.documents"), check_merge,
          ("pam-merge-keeps-old",),
          hint=("On an A40 merge, link the merged identifier (MRG) to the surviving patient (PID) so a "
                "report asked under the merged identifier goes out with the survivor's identity.")),
    Check("pam-deleted-not-used", "A deleted INS is not used", "test_pam_deleted_ins_is_not_used",
          "After the A47 that deletes an INS (PAM FR's deletion), no report carries that INS.", INTEGRATION,
          ("pam_feed.feeds", "dmp.documents", "mss.xdm_documents"), check_deleted, ("pam-keeps-deleted",),
          hint=("On the A47 that deletes an INS (PAM FR), remove that INS from the patient's identity and "
                "never send it again, in a CDA or in the metadata.")),
    Check("pam-provisional-not-qualified", "A provisional identity goes out without a qualified INS",
          "test_pam_provisional_identity_is_not_qualified",
          "An identity fed with PID-32 other than VALI, even with an INS in PID-3, never goes out with that "
          "INS declared qualified.", PID_RULES, ("pam_feed.feeds", "dmp.documents", "mss.xdm_documents"),
          check_provisional, ("pam-provisional-as-qualified",),
          hint=("Take the INS of PID-3 as qualified only when PID-32 is VALI; with any other status the "
                "identity stays provisional and its INS never goes out declared qualified.")),
)

CAPABILITY = Capability(NAME, "IHE PAM identity feeds to the product (the harness as its identity source)",
                        scenarios=SCENARIOS, plan=_plan, prepare=_prepare, observe=_observe, checks=CHECKS,
                        couloirs=("RIS", "BIO", "DPI"), services=("pam",))
