"""The patient's change of choice about DMP consultation (REM DMP/UX.06): the product records it in the DMP.

DMP/UX.06 (APPROVED for RIS, BIO, LGC and DPI): "Le système DOIT permettre d'enregistrer un changement de
choix du patient concernant la consultation de son DMP par un professionnel et ce quel que soit le moment de
la prise en charge" (../shared/rem/requirements.csv). The DMP keeps that choice as the professional's access
authorisation: TD0.2 tells its status (EF_DMP04_01, "les autorisations d'accès ne sont utilisées que pour la
consultation des DMP": ANS PDSm IG, ansforge/IG-FHIR-PDSM4DMP-EEDS, transaction_td02.md) and TD0.3 sets it,
AJOUT when the patient consents to the consultation (DevBox-Santé homologation EX_0.3-1010, quoting the DMP
integration guide: "le patient consent à la consultation de son DMP par l'acteur de santé (EF_DMP04_02), le
LPS alimente … la donnée action avec la valeur AJOUT"; an authorisation is set only on the user's explicit
action), SUPPRESSION to remove it. The TD0.2/TD0.3 messages on the wire are this harness's own (the guide
that defines them is not public: docs/dmp.md); their values (AJOUT/SUPPRESSION, VALIDE/NON_EXISTE…) are the
DMP's.

Two tasks per couloir, about one patient with an open DMP no other task is about:
- `consent-01` (`consent-dmp`, `extra.consent = "refused"`): before handing it over, the harness authorises
  the task's professional on that DMP (TD0.3 AJOUT under the professional's identity, journalled under no
  task: the patient had accepted). The patient now refuses that this professional consults their DMP: the
  product must record it with TD0.3 SUPPRESSION, and must not read the DMP (ITI-18, ITI-43) until the patient
  accepts again;
- `consent-02` (`consent-dmp`, `extra.consent = "accepted"`): the harness first asks the DMP (TD0.2, as the
  professional, under no task) whether the refusal held; the patient accepts again: TD0.3 AJOUT.

The product reports what the DMP answered as JSON, `{"consent": {"action": …, "resultat": …,
"autorisation": …}}` (docs/sut.md); the check compares it with the DMP's own answer, read from its journal.
"""

from __future__ import annotations

from segur.kernel.ins import parse_xds_patient_id
from segur.scenarios.capabilities.consult import (
    Feeder,
    named,
    reported,
    request_envelope,
    text_bytes,
    vihf_facts,
)
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, insi_identities, judged, tasks
from segur.scenarios.observe import parse_xml, whole_request
from segur.validators import safe_xml

NAME = "consent"
SCENARIO = "consent"
ACTION = "consent-dmp"
EXPECT_RECORDED = "recorded"  # the product records the patient's choice in the DMP; it sends no report
REFUSED, ACCEPTED = "refused", "accepted"
#: the TD0.3 action each choice asks, and the authorisation the DMP then holds for the professional
WANTED = {REFUSED: "SUPPRESSION", ACCEPTED: "AJOUT"}
HOLDS = {REFUSED: ("NON_EXISTE",), ACCEPTED: ("VALIDE",)}
READS = ("ITI-18", "ITI-43")
COULOIRS = ("RIS", "BIO", "LGC", "DPI")


# --- the plan ---------------------------------------------------------------------------------------------
def _plan(ctx: PlanContext) -> None:
    used = ctx.used_patients()
    free = [p for p in ctx.dmp_patients if p.key not in used]
    if not free:
        raise ValueError("capability consent needs a DMP patient no other task is about; the world has none")
    patient = free[0]
    ctx.add("consent-01", ACTION, patient, SCENARIO, EXPECT_RECORDED, extra={"consent": REFUSED})
    ctx.add("consent-02", ACTION, patient, SCENARIO, EXPECT_RECORDED, extra={"consent": ACCEPTED})


# --- the harness's part: the patient's earlier choice, and whether the refusal held -----------------------
def _prepare(ctx: PrepareContext) -> dict:
    """consent-01: the professional authorised (the patient had accepted); consent-02: the DMP asked whether
    consent-01's refusal held. Both under the task's professional (signed VIHF, as the consult capability's
    `Feeder`), journalled under no task: the task's exchanges are the product's alone."""
    task, world = ctx.planned.task, ctx.world
    patient = world.patient_by_key(ctx.planned.patient_key)
    professional = next(p for p in world.professionals if p.idnps == task.author.get("idnps"))
    ctx.admin.set_task(None)
    try:
        client = Feeder(ctx, professional, patient).client
        if task.extra.get("consent") == REFUSED:
            answer = client.td03(patient.ins_object, "AJOUT")
            if answer.get("resultat") != "OK":
                raise RuntimeError(f"the DMP refused the harness's TD0.3 AJOUT: {answer}")
            return {"authorised_before": answer.get("autorisation")}
        return {"status_before": client.td02(patient.ins_object).get("autorisation")}
    finally:
        ctx.admin.set_task(task.id)


# --- what the DMP saw and answered -------------------------------------------------------------------------
def _answer(exchange: dict):
    """The DMP's answer, parsed (None when the journal did not keep it whole as text, or it is not XML)."""
    data = text_bytes((exchange.get("response") or {}).get("body") or {})
    try:
        return parse_xml(data) if data is not None else None
    except safe_xml.UnreadableDocument:
        return None


def _envelope(exchange: dict, admin):
    """The request's SOAP envelope, read whole from the mock when the journal cut it."""
    return request_envelope(whole_request(exchange, admin))


def _first(tree, name: str):
    found = named(tree, name)
    return found[0] if found else None


def td_facts(exchange: dict, admin) -> dict:
    """One TD0.2/TD0.3 exchange as the judge reads it: the action and the patient the request names, who
    called (the VIHF), and the DMP's answer (its TD0xResponse attributes, else the journal's meta)."""
    envelope = _envelope(exchange, admin)
    request = _first(envelope, exchange["operation"].replace(".", "") + "Request")
    matricule = _first(envelope, "matriculeINS")
    answer = _first(_answer(exchange), "Body")
    meta = dict(exchange.get("meta") or {})
    answered = dict(answer[0].attrib) if answer is not None and len(answer) else meta
    return {"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
            "verdict": exchange["verdict"], "task": exchange.get("task"),
            "action": request.get("action") if request is not None else None,
            "ins": matricule.get("valeur") if matricule is not None else None,
            "oid": matricule.get("identifiantSysteme") if matricule is not None else None,
            "caller": vihf_facts(envelope).get("subject_nameid"),
            "resultat": answered.get("resultat"), "autorisation": answered.get("autorisation")}


def _read_facts(exchange: dict, admin) -> dict:
    """An ITI-18/ITI-43: who read, about which patient (the VIHF's resource-id)."""
    vihf = vihf_facts(_envelope(exchange, admin))
    parsed = parse_xds_patient_id(vihf.get("resource_id") or "")
    return {"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
            "verdict": exchange["verdict"], "task": exchange.get("task"),
            "caller": vihf.get("subject_nameid"), "ins": parsed.value if parsed else vihf.get("resource_id")}


def _observe(ctx: ObserveContext) -> dict:
    """The task's TD0.2/TD0.3; for a refusal, every read of the patient's DMP by the professional after the
    refusal the DMP took, until a TD0.3 AJOUT of the same professional on that DMP (whatever task made it)."""
    dmp = ctx.journals.get("dmp", [])
    mine = [td_facts(e, ctx.admin) for e in dmp
            if ctx.in_task(e, "dmp") and e["operation"] in ("TD0.2", "TD0.3")]
    facts = {"td": mine}
    if ctx.task["extra"].get("consent") != REFUSED:
        return facts
    author = ctx.task["author"].get("idnps")
    removed = [t for t in mine if t["operation"] == "TD0.3" and t["action"] == "SUPPRESSION"
               and t["resultat"] == "OK" and t["caller"] == author]
    if not removed:
        return facts
    patient, reads = removed[-1]["ins"], []
    for exchange in (e for e in dmp if e["seq"] > removed[-1]["seq"]):
        if exchange["operation"] == "TD0.3":
            again = td_facts(exchange, ctx.admin)
            if (again["action"], again["resultat"], again["caller"], again["ins"]) == \
                    ("AJOUT", "OK", author, patient):
                break
        elif exchange["operation"] in READS:
            read = _read_facts(exchange, ctx.admin)
            if read["caller"] == author and read["ins"] == patient:
                reads.append(read)
    facts["read_after_refusal"] = reads
    return facts


# --- the product's word ------------------------------------------------------------------------------------
def product_report(task: dict) -> dict | None:
    """The `consent` object the product's driver returned (consult's `reported`: the same rules)."""
    return reported(task, "consent")


# --- the check ---------------------------------------------------------------------------------------------
def _seen(task: dict) -> dict:
    return (task.get("observed") or {}).get(NAME) or {}


def _task_problems(task: dict) -> list[str]:
    task_id, choice = task["task"]["id"], task["task"]["extra"].get("consent")
    wanted, author = WANTED[choice], task["task"]["author"].get("idnps")
    allowed = insi_identities(task)
    calls = [t for t in _seen(task).get("td") or [] if t["operation"] == "TD0.3"]
    problems = []
    if not allowed:
        problems.append(f"{task_id}: no INSi search of the patient answered 00 (the DMP is named by the INS "
                        "INSi returns)")
    for call in calls:
        where = f"{task_id}: TD0.3 #{call['seq']}"
        if call["action"] != wanted:
            problems.append(f"{where} asks {call['action']!r}; the patient {choice} the consultation: "
                            f"{wanted}")
        if allowed and (call["ins"], call["oid"]) not in allowed:
            problems.append(f"{where} names the patient {call['ins']} (OID {call['oid']}), not the INS INSi "
                            f"returned ({', '.join(sorted(f'{i} (OID {o})' for i, o in allowed))})")
        if call["caller"] != author:
            problems.append(f"{where} is made in the name of {call['caller']!r}, not of the task's "
                            f"professional (IDNPS {author})")
    # what the DMP took (the identity it names is judged above, on every call)
    done = [c for c in calls if c["action"] == wanted and c["resultat"] == "OK" and c["caller"] == author]
    if not calls:
        problems.append(f"{task_id}: no TD0.3 reached the DMP: the patient's choice was not recorded "
                        f"({(task.get('result') or {}).get('detail')!r})")
    elif not done:
        answers = ", ".join(f"#{c['seq']} {c['action']} {c['resultat']}" for c in calls)
        problems.append(f"{task_id}: the DMP took no TD0.3 {wanted} for the patient by this professional "
                        f"({answers})")
    elif done[-1]["autorisation"] not in HOLDS[choice]:
        problems.append(f"{task_id}: after TD0.3 #{done[-1]['seq']} the DMP holds the authorisation "
                        f"{done[-1]['autorisation']}, not {' or '.join(HOLDS[choice])}")
    return problems + _report_problems(task, done[-1] if done else None)


def _report_problems(task: dict, recorded: dict | None) -> list[str]:
    """The product's word against the DMP's answer: its result, and its `consent` report."""
    task_id, result = task["task"]["id"], task.get("result") or {}
    report = product_report(task)
    if result.get("ok") and recorded is None:
        return [f"{task_id}: the product says the choice was recorded ({result.get('detail')!r}) but the DMP "
                "took no such TD0.3"]
    if recorded is None:
        return []
    if not isinstance(report, dict):
        return [f"{task_id}: the product does not report what the DMP answered (no consent object in its "
                "output)"]
    problems = []
    for key in ("action", "resultat", "autorisation"):
        if report.get(key) != recorded[key]:
            problems.append(f"{task_id}: the product reports {key} {report.get(key)!r}, the DMP answered "
                            f"{recorded[key]!r} (TD0.3 #{recorded['seq']})")
    return problems


def check_recorded(run: dict):
    problems, evidence = [], []
    consent_tasks = tasks(run, SCENARIO)
    refusals = [t for t in consent_tasks if t["task"]["extra"].get("consent") == REFUSED]
    for task in consent_tasks:
        seen = _seen(task)
        evidence.append({"task": task["task"]["id"], "consent": task["task"]["extra"].get("consent"),
                         "insi": sorted(f"{i} {o}" for i, o in insi_identities(task)), "td": seen.get("td"),
                         "read_after_refusal": seen.get("read_after_refusal"),
                         "prepared": task.get("prepared"), "product_report": product_report(task)})
        problems += _task_problems(task)
        task_id = task["task"]["id"]
        for read in seen.get("read_after_refusal") or []:
            problems.append(f"{task_id}: {read['operation']} #{read['seq']} read the patient's DMP after "
                            f"their refusal (task {read['task'] or 'none'})")
        status = (task.get("prepared") or {}).get("status_before")
        if task["task"]["extra"].get("consent") == ACCEPTED and refusals and status == "VALIDE":
            problems.append(f"{refusals[0]['task']['id']}: after the patient's refusal, a later TD0.2 "
                            f"(before {task_id}) shows the professional still authorised (VALIDE)")
    if not consent_tasks:
        problems.append("the plan has no change of the patient's consent to judge")
    return judged("consent-recorded", problems, evidence,
                  "each change of the patient's choice recorded in the DMP (TD0.3), as the DMP answered")


REM = ["DMP/UX.06"]
CHECKS = (
    Check("consent-recorded",
          title="The patient's change of consent recorded in the DMP (TD0.3)",
          test="test_the_patients_change_of_consent_is_recorded_in_the_dmp",
          doc="When the patient refuses (accepts again) that this professional consults their DMP, the "
              "product records it with TD0.3 SUPPRESSION (AJOUT) for the INS and OID INSi returned, under "
              "the professional's identity; the DMP takes it; the product reports what the DMP answered "
              "and reads nothing of the DMP after the refusal.",
          rem={couloir: list(REM) for couloir in COULOIRS},
          reads=("insi.searches", "consent.dmp", "task.prepared", "task.claims"),
          judge=check_recorded,
          defects=("consent-not-recorded", "consent-wrong-action"),
          hint=("Record the patient's refusal with TD0.3 action SUPPRESSION (acceptance again with AJOUT) "
                "for the INS and OID INSi returned, under the professional's identity; report what the DMP "
                "answered and read nothing of the DMP after a refusal (DMP/UX.06).")),
)

CAPABILITY = Capability(NAME, __doc__.split("\n\n")[0], scenarios=(SCENARIO,), plan=_plan, prepare=_prepare,
                        observe=_observe, checks=CHECKS, couloirs=COULOIRS)
