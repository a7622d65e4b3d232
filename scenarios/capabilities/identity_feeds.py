"""The identity referential (couloir RI): the harness is the IHE PAM FR consumer of the product's identity
flows (the PAM mock's MLLP listener, docs/pam.md) and judges what reached it.

REM RI.INS/va1.64 and SC.INS/va1.64 (the INS in PID of every outgoing HL7v2 message), RI.INS/va1.66 and
SC.INS/va1.66 (diffuse the INS per PAM FR): the product creates, updates and merges identities of its
referential and diffuses each change (task `feed-identity`, `extra`: `event` A28/A31/A40, `record` the
product's patient record, `qualify` false for an identity recorded before INSi was asked, `merge_from`
the record merged). The VA asks for at most three PAM flows spreading the qualified INS inside the
hospital (issue 16; the phrase is not in ../shared/rem, see ../shared/ref/pam/README.md): here creation
(A28), update (A31) and merge (A40).

The couloir BIO takes the same tasks and checks, after its core ones: REM SGL.INS/va1.71, a lab system
that integrates data referenced by the INS puts the INS in the PID of every HL7v2 message it emits
(`pam-ins-qualified-only`). The core check `insi-before-send` asks no INSi answer of a task with `qualify`
false (an identity diffused before INSi is asked).

The plan (its tasks are the RI's whole proof: the couloir takes no core task):
- `ri-create-01`: a qualifiable patient, searched in INSi and diffused qualified: PID-32 VALI, the INS;
- `ri-provisional-01` then `ri-update-01`: a patient recorded before INSi was asked (PROV, no INS), then
  qualified: the A31 of the same record carries VALI and the INS, and the consumer's identity has them;
- `ri-homonym-01`: a patient INSi cannot qualify (02): nothing may go out with an INS;
- `ri-duplicate-01` then `ri-merge-01`: the first patient recorded a second time at the desk (PROV, no INS,
  another record), then merged into the first record (A40, MRG-1 the duplicate's IPP): the consumer's
  duplicate identity ends merged into the first one.
"""

from __future__ import annotations

import hl7

from segur.kernel.ins import INS_OIDS
from segur.scenarios.capability import Capability, ObserveContext, PlanContext
from segur.scenarios.check import Check, CheckResult, judged, tasks

NAME = "identity-feeds"
SCENARIOS = ("ri-create", "ri-provisional", "ri-update", "ri-homonym", "ri-duplicate", "ri-merge")
QUALIFIED = "VALI"
#: scenario → (event, qualify, the record, the record merged): the plan below, in its order
STEPS = (("ri-create", "A28", True, "rec-a", None), ("ri-provisional", "A28", False, "rec-b", None),
         ("ri-update", "A31", True, "rec-b", None), ("ri-homonym", "A28", True, "rec-c", None),
         ("ri-duplicate", "A28", False, "rec-d", None), ("ri-merge", "A40", True, "rec-a", "rec-d"))


#: what the harness expects of a task (the values of `plan.EXPECT_DELIVERED` / `EXPECT_WITHHELD`)
DELIVERED, WITHHELD = "delivered", "withheld"


def _homonym(world):
    """A patient INSi cannot tell apart from another even with every trait (02), as the core plan's."""
    for _group, members in sorted(world.homonym_groups().items()):
        if len(members) > 1 and len({m.birth_place for m in members}) == 1 \
                and len({m.first_names for m in members}) == 1:
            return sorted(members, key=lambda m: m.key)[0]
    raise ValueError("the world has no homonym group INSi cannot tell apart")


def plan(ctx: PlanContext) -> None:
    first, second = ctx.citizen_patients[0], ctx.citizen_patients[1]
    patients = {"rec-a": first, "rec-b": second, "rec-c": _homonym(ctx.world), "rec-d": first}
    for scenario, event, qualify, record, merge_from in STEPS:
        extra = {"event": event, "record": record, "qualify": qualify}
        if merge_from:
            extra["merge_from"] = merge_from
        expect = WITHHELD if scenario == "ri-homonym" else DELIVERED
        ctx.add(f"{scenario}-01", "feed-identity", patients[record], scenario, expect, extra=extra)


# --- what the consumer saw --------------------------------------------------------------------------------
def read_message(text: str) -> dict:
    """The facts of one ADT message, read by the judge with python-hl7: PID-3 (value, authority OID, type),
    PID-32, MRG-1's values."""
    try:
        message = hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r"))
        pid = message.segment("PID")
    except (hl7.ParseException, KeyError, IndexError, ValueError) as exc:
        return {"unreadable": f"{type(exc).__name__}: {exc}"}
    identifiers = []
    for repetition in str(pid[3]).split("~") if len(pid) > 3 else []:
        parts = repetition.split("^")
        authority = (parts[3].split("&") + ["", ""])[1] if len(parts) > 3 else ""
        identifiers.append({"value": parts[0], "oid": authority, "type": parts[4] if len(parts) > 4 else ""})
    status = str(pid[32]).split("~") if len(pid) > 32 else []
    merged = []
    for segment in message:
        if str(segment[0]) == "MRG":
            merged = [r.split("^")[0] for r in str(segment[1]).split("~")]
    ins = [i for i in identifiers if i["type"] == "INS" or i["oid"] in INS_OIDS]
    return {"identifiers": identifiers, "ins": ins, "status": [s for s in status if s], "merged": merged}


def observe(ctx: ObserveContext) -> dict:
    """Each message of the task the PAM consumer received (event, ACK, rules, what PID-3/PID-32/MRG-1 say,
    the consumer's identity number), and, at the end of the run, that identity as the consumer keeps it."""
    messages = []
    for entry in ctx.journals.get("pam", []):
        if not ctx.in_task(entry, "pam") or not str(entry.get("operation", "")).startswith("ADT^"):
            continue
        meta = entry.get("meta") or {}
        body = ((entry.get("request") or {}).get("body") or {}).get("text") or ""
        messages.append({"seq": entry.get("seq"), "event": meta.get("event"), "ack": meta.get("ack"),
                         "verdict": entry.get("verdict"), "identity": meta.get("identity"),
                         "rules": sorted({f.get("rule") for f in entry.get("findings") or []} - {None}),
                         **read_message(body)})
    kept = {}
    if ctx.admin is not None and messages:
        numbers = {m["identity"] for m in messages}
        for found in ctx.admin.call("pam", "identities?all=1").get("identities") or []:
            if found["number"] in numbers:
                kept[str(found["number"])] = {
                    "status": found.get("status"), "ins": (found.get("ins") or {}).get("value"),
                    "identifiers": [x.get("value") for x in found.get("identifiers") or []],
                    "merged_into": found.get("merged_into"), "events": found.get("events")}
    return {"messages": messages, "identities": kept}


# --- the checks -------------------------------------------------------------------------------------------
def _feeds(run: dict) -> list[dict]:
    return tasks(run, *SCENARIOS)


def _messages(task: dict) -> list[dict]:
    return ((task.get("observed") or {}).get(NAME) or {}).get("messages") or []


def _insi_00(task: dict) -> set[str]:
    """The INS INSi returned with code 00 for the task's patient in the task."""
    return {i["ins"] for i in (task.get("observed") or {}).get("insi") or []
            if i.get("code") == "00" and i.get("for_task_patient") and i.get("ins")}


def check_flows_acknowledged(run: dict) -> CheckResult:
    """Each change the plan asks is diffused once, as its event, and the consumer answered AA (a message it
    answered AE or AR did not get the change across)."""
    problems, evidence = [], []
    for task in _feeds(run):
        task_id, event = task["task"]["id"], task["task"]["extra"].get("event")
        messages = _messages(task)
        evidence.append({"task": task_id, "event": event, "messages": [
            {k: m.get(k) for k in ("seq", "event", "ack", "rules")} for m in messages]})
        for message in messages:
            if message.get("ack") != "AA":
                rules = ", ".join(message["rules"]) or "no rule"
                problems.append(f"{task_id}: ADT^{message.get('event')} #{message.get('seq')} answered "
                                f"{message.get('ack') or 'nothing'} ({rules})")
        if task["expect"] == WITHHELD:
            continue
        sent = [m for m in messages if m.get("event") == event]
        if len(sent) != 1:
            problems.append(f"{task_id}: {len(sent)} ADT^{event} message(s) reached the PAM consumer "
                            "(expected 1)")
    return judged("pam-flows-acknowledged", problems, evidence,
                  "each identity change diffused once by IHE PAM FR and acknowledged AA")


def check_ins_qualified_only(run: dict) -> CheckResult:
    """PID-3 carries an INS only with PID-32 VALI, and only the INS INSi returned (00) for the patient in
    the task; a qualified identity carries its INS (RI.INS/va1.64: the INS in every outgoing PID)."""
    problems, evidence = [], []
    for task in _feeds(run):
        task_id, qualify = task["task"]["id"], task["task"]["extra"].get("qualify", True)
        returned = _insi_00(task)
        for message in _messages(task):
            carried = [i["value"] for i in message.get("ins") or []]
            status = message.get("status") or []
            evidence.append({"task": task_id, "seq": message.get("seq"), "status": status, "ins": carried,
                             "insi_00": sorted(returned)})
            if "unreadable" in message:
                problems.append(f"{task_id}: #{message.get('seq')}: the message could not be read "
                                f"({message['unreadable']})")
                continue
            if carried and QUALIFIED not in status:
                problems.append(f"{task_id}: #{message.get('seq')} carries the INS {', '.join(carried)} in "
                                f"PID-3 with PID-32 {'~'.join(status) or 'empty'}: not a qualified identity")
            for value in carried:
                if value not in returned:
                    problems.append(f"{task_id}: #{message.get('seq')} carries the INS {value}, which INSi "
                                    f"did not return qualified (00) for this patient in this task")
            if QUALIFIED in status and not carried:
                problems.append(f"{task_id}: #{message.get('seq')} is qualified (VALI) but PID-3 has no INS")
            if qualify is False and QUALIFIED in status:
                problems.append(f"{task_id}: #{message.get('seq')}: an identity INSi was not asked about is "
                                "diffused as qualified (VALI)")
    return judged("pam-ins-qualified-only", problems, evidence,
                  "an INS goes out in PID-3 only with a qualified identity, as INSi returned it")


def check_updates_propagate(run: dict) -> CheckResult:
    """After the run, the consumer's identity of the updated record is qualified with the INS INSi returned,
    and the duplicate record's identity is merged into the surviving one."""
    problems, evidence = [], []
    by_scenario = {t["scenario"]: t for t in _feeds(run)}

    def kept(task: dict) -> tuple[int | None, dict]:
        observed = (task.get("observed") or {}).get(NAME) or {}
        numbers = [m.get("identity") for m in observed.get("messages") or [] if m.get("identity")]
        number = numbers[-1] if numbers else None
        return number, (observed.get("identities") or {}).get(str(number)) or {}

    update, provisional = by_scenario.get("ri-update"), by_scenario.get("ri-provisional")
    if update and provisional:
        number, identity = kept(update)
        before, _ = kept(provisional)
        evidence.append({"task": update["task"]["id"], "identity": number, "kept": identity})
        if number is None or number != before:
            problems.append(f"{update['task']['id']}: the update reached identity {number}, not the one the "
                            f"record was created as ({before}): it did not update it")
        elif identity.get("status") != [QUALIFIED] or identity.get("ins") not in _insi_00(update):
            problems.append(f"{update['task']['id']}: after the update the consumer keeps the identity "
                            f"{identity.get('status')} with INS {identity.get('ins')}, not qualified with "
                            f"the INS INSi returned ({', '.join(sorted(_insi_00(update))) or 'none'})")
    merge, duplicate, create = (by_scenario.get(s) for s in ("ri-merge", "ri-duplicate", "ri-create"))
    if merge and duplicate and create:
        survivor, _ = kept(create)
        number, identity = kept(duplicate)
        evidence.append({"task": merge["task"]["id"], "duplicate": number, "survivor": survivor,
                         "kept": identity})
        if number is None or identity.get("merged_into") != survivor:
            problems.append(f"{merge['task']['id']}: the duplicate identity {number} is merged into "
                            f"{identity.get('merged_into')}, not into the surviving identity {survivor}")
    return judged("pam-updates-propagate", problems, evidence,
                  "updates and merges reach the consumer's identities")


CAPABILITY = Capability(
    NAME, "IHE PAM FR identity feeds of an identity referential or a lab system, received by the harness",
    scenarios=SCENARIOS, plan=plan, observe=observe, couloirs=("RI", "BIO"),
    checks=(
        Check("pam-flows-acknowledged", "Each identity change diffused by IHE PAM FR and acknowledged AA",
              "test_each_identity_flow_is_acknowledged",
              "Each creation, update and merge the plan asks reached the harness's PAM consumer once, as its "
              "event, and was answered AA.",
              {"RIS": [], "BIO": [], "RI": ["RI.INS/va1.66", "SC.INS/va1.66"]},
              ("pam.messages", "pam.acks"), check_flows_acknowledged, ("ri-ins-unqualified",),
              hint=("Diffuse each identity creation, update and merge once, as its own event (A28, A31, "
                    "A40), to the PAM consumer over MLLP, and fix what the ERR of an AE or AR names until "
                    "each is answered AA (RI.INS/va1.66).")),
        Check("pam-ins-qualified-only", "An INS in PID-3 only for a qualified identity (PID-32 VALI)",
              "test_only_qualified_identities_carry_the_ins",
              "PID-3 carries an INS only when PID-32 is VALI and only the INS INSi returned (00) for the "
              "patient; a qualified identity always carries it.",
              {"RIS": [], "BIO": ["SGL.INS/va1.71"],
               "RI": ["RI.INS/va1.64", "SC.INS/va1.64", "RI.INS/va1.66"]},
              ("pam.messages", "insi.searches"), check_ins_qualified_only, ("ri-ins-unqualified",),
              hint=("Put an INS in PID-3 only for an identity whose PID-32 is VALI, and only the INS INSi "
                    "returned (00) for the patient; a VALI identity always carries it (RI.INS/va1.64).")),
        Check("pam-updates-propagate", "Updates and merges reach the consumer's identities",
              "test_identity_updates_and_merges_propagate",
              "After the run the consumer keeps the updated identity qualified with the INS INSi returned, "
              "and the duplicate identity merged into the surviving one.",
              {"RIS": [], "BIO": [], "RI": ["RI.INS/va1.66", "SC.INS/va1.66"]},
              ("pam.messages", "pam.identities"), check_updates_propagate, ("ri-update-new-ipp",),
              hint=("Send updates (A31) and merges (A40) under the record's own IPP, not a newly drawn one, "
                    "so the consumer keeps the updated identity qualified and merges the duplicate into the "
                    "survivor (RI.INS/va1.66).")),
    ))
