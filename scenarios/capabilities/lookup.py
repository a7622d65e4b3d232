"""The Annuaire look-up, certificate revocation (CRL) and the citizen's end of exchange, as a capability
of the proof (issue 15, items 6, 7, 8).

Four tasks after the core's:
- `lookup-NN` (action `send-mss-lookup`, REM MSS/CONF.20, ANN/va1.05): the recipient is named as a
  professional — RPPS, name and practice (FINESS, IDNST) in `extra["professional"]` —, not by address. The
  product must find the mailbox in the Annuaire santé: the real directory publishes a professional's
  MSSanté mailboxes as `telecom` (system `email`, type MSSANTE) on the Practitioner and on the
  PractitionerRole of each practice (ANS, annuaire-sante-fhir-documentation at 045f1ad9,
  `docs/pages/use-cases/bal-mss/index.md`: a practice's roles, then each role's Practitioner, carry the
  personal mailboxes, the Organization its organisational ones; IG as-practitionerrole, slice
  `mailbox-mss`; docs/annuaire.md). `lookup-recipient` reads the Annuaire
  journal: a search naming the professional (not the address itself) answered before the message, and the
  message went to a mailbox that search returned *for that professional* (on a Practitioner carrying the
  RPPS, or on a PractitionerRole whose practitioner is that Practitioner).
- `crl-01` (action `send-mss`, REM MSS/CONF.22): the test PKI's CRL point (igc) answers 503 for the
  whole task, after the product fetched the CRL at least once earlier in the run; the product keeps its
  last valid CRL and still sends (`crl-kept`).
- `revoked-01` (action `send-mss-operator`, REM MSS/va1.05): the task names an operator's SMTP endpoint,
  `extra["smtp"]` = `igc.revoked_smtp`, whose server certificate the CRL lists as revoked (docs/igc.md). The
  product must not send there and must say so (`revoked-operator-refused`): igc journals every connection and
  what the client did after the handshake; MSSanté journals any message a product carried through.
- `citizen-fin-01` (action `send-citizen-fin`, REM MSS/CONF.21): the report to the patient's Mon espace santé
  mailbox ends the exchange: `X-MSS-MES: FIN` (référentiel #2 MSSanté clients, SC.MSS/CONF.21: the header, the
  value "FIN" in 3 capital letters; the mock's rules MSS-MES-VALUE / MSS-MES-NOT-CITIZEN), read by the
  harness from the stored message (`citizen-end-exchange`).

Couloirs: RIS, BIO and LGC (the GP's software: its REM has MSS/CONF.20, .21, .22 APPROVED) take the four;
DPI the end of exchange only (`DPI_CAPABILITY`: MSS/CONF.21 is its only APPROVED id of the four); PFI the
CRL, the revoked operator and the end of exchange (`PFI_CAPABILITY`: MSS/CONF.21, .22 APPROVED, MSS/va1.05
UNDER_REVIEW; MSS/CONF.20 is OBSOLETE there, a platform relays documents and composes no message). Source:
the status of each id per couloir in shared/rem/requirements.csv.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse

from segur.scenarios.capability import Capability, ObserveContext, PlanContext
from segur.scenarios.check import Check, judged, tasks
from segur.scenarios.mime import UnreadableMime, read_message

RIS, BIO, LGC, DPI, PFI = "RIS", "BIO", "LGC", "DPI", "PFI"
LOOKUP, CRL_DOWN, REVOKED, CITIZEN_FIN = "lookup", "crl-down", "revoked", "citizen-fin"
SCENARIOS = (LOOKUP, CRL_DOWN, REVOKED, CITIZEN_FIN)
EXPECT_REFUSED = "refused"  # the product must not send: it refuses the operator and says so
#: the CRL point down for the whole task: every CRL download answers 503 (docs/igc.md, faults)
CRL_FAULT = {"service": "igc", "spec": {"kind": "http_error", "status": 503, "operation": "crl"}}
#: the operator endpoint presenting the revoked server certificate: `endpoints["igc"]["revoked_smtp"]`
REVOKED_OPERATOR = "igc.revoked_smtp"
#: FHIR identifier systems of the Annuaire santé (IG Annuaire santé, FR Core)
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"


# --- plan ---------------------------------------------------------------------------------------------------
def professional_of(world, professional) -> dict:
    """`extra["professional"]` of a look-up task: who the report is for, as a user picks them (no address)."""
    organisation = world.organisation_of(professional)
    return {"rpps": professional.rpps, "idnps": professional.idnps, "family_name": professional.family_name,
            "given_name": professional.given_name,
            "organisation": {"finess": organisation.finess, "idnst": organisation.idnst,
                             "name": organisation.name}}


def _colleagues(world, professional) -> list:
    """The other professionals of the same practice with an open mailbox."""
    return [p for p in world.professionals if p.key != professional.key and not p.mailbox_closed
            and p.mailbox and world.organisation_of(p).key == world.organisation_of(professional).key]


def plan(ctx: PlanContext, scenarios: tuple[str, ...] = SCENARIOS) -> None:
    """The look-up task(s), then the CRL point down, the revoked operator and the end of exchange (those of
    `scenarios`); patients not already in the plan when the world has enough (qualifiable, not refusing
    MSSanté messages)."""
    world = ctx.world
    used = ctx.used_patients()
    patients = [p for p in ctx.citizen_patients if p.key not in used] or ctx.citizen_patients
    # professionals whose practice has colleagues (a mailbox of the wrong row is then another person's),
    # from the end of the list (the core's MSSanté tasks take it from the start)
    named = [p for p in reversed(ctx.recipients) if _colleagues(world, p)] or list(reversed(ctx.recipients))
    lookups = (2 if ctx.size == "full" else 1) if LOOKUP in scenarios else 0
    for i in range(lookups):
        professional = named[i % len(named)]
        ctx.add(f"lookup-{i + 1:02d}", "send-mss-lookup", patients[i % len(patients)], LOOKUP, "delivered",
                extra={"professional": professional_of(world, professional)})
    recipient = ctx.recipients[0].mailbox
    crl, revoked, citizen = (patients[(lookups + k) % len(patients)] for k in range(3))
    if CRL_DOWN in scenarios:
        ctx.add("crl-01", "send-mss", crl, CRL_DOWN, "delivered", recipient=recipient, fault=CRL_FAULT)
    if REVOKED in scenarios:
        ctx.add("revoked-01", "send-mss-operator", revoked, REVOKED, EXPECT_REFUSED, recipient=recipient,
                extra={"smtp": REVOKED_OPERATOR})
    if CITIZEN_FIN in scenarios:
        ctx.add("citizen-fin-01", "send-citizen-fin", citizen, CITIZEN_FIN, "delivered",
                extra={"end_exchange": True})


def plan_dpi(ctx: PlanContext) -> None:
    """DPI: the end of the exchange with the patient only (its REM has MSS/CONF.21 APPROVED, not .20, .22)."""
    plan(ctx, (CITIZEN_FIN,))


def plan_pfi(ctx: PlanContext) -> None:
    """PFI: the CRL point down, the revoked operator and the end of exchange, sent for the hospital's
    producing systems from its application mailbox (its REM has MSS/CONF.21, .22 APPROVED, MSS/va1.05
    UNDER_REVIEW, MSS/CONF.20 and ANN/va1.05 OBSOLETE: a platform composes no message)."""
    plan(ctx, (CRL_DOWN, REVOKED, CITIZEN_FIN))


# --- observe ------------------------------------------------------------------------------------------------
def _query(exchange: dict) -> dict[str, list[str]]:
    """The parameters a directory search asked (URL query and POST form)."""
    request = exchange.get("request") or {}
    found: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(request.get("url") or "").query,
                                             keep_blank_values=True):
        found.setdefault(key, []).append(value)
    for key, values in (request.get("form") or {}).items():
        found.setdefault(key, []).extend(values)
    return found


def _bundle(exchange: dict, admin) -> dict | None:
    """The JSON answer of a directory exchange, read whole (from the admin API when the journal cut it)."""
    body = (exchange.get("response") or {}).get("body") or {}
    text = body.get("text") or ""
    if body.get("truncated"):
        if admin is None:
            return None
        try:
            text = admin.journal_body("annuaire", exchange["seq"], "response").decode("utf-8", "replace")
        except (OSError, urllib.error.HTTPError):
            return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _resources(answer: dict | None) -> list[dict]:
    if not answer:
        return []
    if answer.get("resourceType") == "Bundle":
        return [e.get("resource") or {} for e in answer.get("entry") or [] if isinstance(e, dict)]
    return [answer]


def _mailboxes(resource: dict) -> list[str]:
    return [str(t.get("value")).lower() for t in resource.get("telecom") or []
            if isinstance(t, dict) and t.get("system") == "email" and t.get("value")]


def _rpps(resource: dict) -> str | None:
    for identifier in resource.get("identifier") or []:
        system, value = identifier.get("system"), str(identifier.get("value") or "")
        if system == RPPS_SYSTEM and len(value) == 11:
            return value
        if system == IDNPS_SYSTEM and value.startswith("8"):
            return value[1:]
    return None


def _practitioner_ids(journal: list, admin) -> dict[str, str]:
    """Practitioner technical id → RPPS, from every directory answer of the run (a product may keep an id)."""
    ids = {}
    for exchange in journal:
        if (exchange.get("response") or {}).get("status") != 200:
            continue
        for resource in _resources(_bundle(exchange, admin)):
            if resource.get("resourceType") == "Practitioner" and _rpps(resource):
                ids[resource.get("id")] = _rpps(resource)
    return ids


def _search(exchange: dict, admin, practitioners: dict[str, str]) -> dict:
    """One directory exchange of the task: what it asked, and the mailboxes it returned per professional."""
    per_professional: dict[str, list[str]] = {}
    others: list[str] = []
    for resource in _resources(_bundle(exchange, admin)):
        kind, boxes = resource.get("resourceType"), _mailboxes(resource)
        rpps = None
        if kind == "Practitioner":
            rpps = _rpps(resource)
        elif kind == "PractitionerRole":
            reference = str((resource.get("practitioner") or {}).get("reference") or "")
            rpps = practitioners.get(reference.rpartition("/")[2])
        if rpps:
            per_professional.setdefault(rpps, []).extend(boxes)
        else:
            others.extend(boxes)
    return {"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
            "status": (exchange.get("response") or {}).get("status"), "query": _query(exchange),
            "mailboxes": {k: sorted(set(v)) for k, v in per_professional.items()},
            "other_mailboxes": sorted(set(others))}


def _mes_headers(admin, message_id: str | None) -> list[str] | None:
    """The X-MSS-MES values of the stored message, read by the harness (None: it could not read it)."""
    if admin is None or not message_id:
        return None
    try:
        message = read_message(admin.mss_raw(message_id))
    except (OSError, LookupError, UnreadableMime):
        return None
    return [str(v).strip() for v in message.get_all("X-MSS-MES") or []]


def _crl_fetch(exchange: dict) -> dict:
    return {"seq": exchange["seq"], "time": exchange["time"], "task": exchange.get("task"),
            "verdict": exchange["verdict"], "status": (exchange.get("response") or {}).get("status")}


def observe(ctx: ObserveContext) -> dict:
    """The task's directory searches, MSSanté messages (with their X-MSS-MES read from the stored copy), CRL
    downloads and connections to the revoked operator; the CRL downloads of the run before the task."""
    admin = ctx.admin
    annuaire = ctx.journals.get("annuaire", [])
    practitioners = _practitioner_ids(annuaire, admin)
    mine = {service: [e for e in ctx.journals.get(service, []) if ctx.in_task(e, service)]
            for service in ctx.journals}
    started = min((e["time"] for entries in mine.values() for e in entries), default=None)
    messages = [{"seq": e["seq"], "time": e["time"], "id": (e.get("meta") or {}).get("id"),
                 "to": (e.get("request") or {}).get("to") or [],
                 "delivered_to": (e.get("response") or {}).get("delivered_to") or [], "verdict": e["verdict"],
                 "rules": e["rules"], "mes": _mes_headers(admin, (e.get("meta") or {}).get("id"))}
                for e in mine.get("mssante", []) if e["operation"] == "smtp-message"]
    igc = ctx.journals.get("igc", [])
    sessions = {(e.get("meta") or {}).get("connection"): e for e in igc
                if e["operation"] == "revoked-smtp-session"}
    relay = []
    for connect in (e for e in mine.get("igc", []) if e["operation"] == "revoked-smtp-connect"):
        session = sessions.get((connect.get("meta") or {}).get("connection")) or {}
        relay.append({"connection": (connect.get("meta") or {}).get("connection"), "seq": connect["seq"],
                      "time": connect["time"], "outcome": session.get("verdict", "unknown"),
                      "tls_error": (session.get("response") or {}).get("tls_error"),
                      "client_bytes_after_tls": (session.get("request") or {}).get("client_bytes_after_tls"),
                      "relayed_to": (session.get("response") or {}).get("relayed_to")})
    before = [e for e in igc if e["operation"] == "crl" and e["verdict"] == "ok" and not ctx.in_task(e, "igc")
              and started is not None and e["time"] <= started]
    return {"annuaire": [_search(e, admin, practitioners) for e in mine.get("annuaire", [])
                         if e["operation"].startswith(("search:", "read:"))],
            "messages": messages, "relay": relay, "started": started,
            "crl_in_task": [_crl_fetch(e) for e in mine.get("igc", []) if e["operation"] == "crl"],
            "crl_ok_before": [_crl_fetch(e) for e in before]}


# --- checks -------------------------------------------------------------------------------------------------
def _facts(task: dict) -> dict:
    return (task.get("observed") or {}).get("lookup") or {}


def _names_the_address(search: dict, address: str) -> bool:
    """A search that already carried the address (`mailbox-mss=…`) did not find it: the product knew it."""
    return any(address.lower() in value.lower() for values in search["query"].values() for value in values)


def _lookup_problems(task_id: str, rpps: str, message: dict, searches: list[dict]) -> list[str]:
    before = [s for s in searches if s["status"] == 200 and s["time"] <= message["time"]]
    problems = []
    for address in message["to"]:
        finding = [s for s in before if not _names_the_address(s, address)]
        mine = [s for s in finding if address.lower() in s["mailboxes"].get(rpps, [])]
        if mine:
            continue
        if not finding:
            how = "only searches naming the address itself" if before else "no search at all"
            problems.append(f"{task_id}: message #{message['seq']} went to {address} with no Annuaire search "
                            f"of the professional (RPPS {rpps}) answered before it ({how}): the address did "
                            "not come from the directory")
            continue
        owners = sorted({other for s in finding for other, boxes in s["mailboxes"].items()
                         if address.lower() in boxes and other != rpps})
        if owners:
            problems.append(f"{task_id}: message #{message['seq']} went to {address}, the mailbox the "
                            f"Annuaire returned for another professional (RPPS {', '.join(owners)}), not for "
                            f"RPPS {rpps}")
        else:
            returned = sorted({b for s in finding for b in s["mailboxes"].get(rpps, [])})
            problems.append(f"{task_id}: message #{message['seq']} went to {address}, which the Annuaire did "
                            f"not return for the professional (RPPS {rpps}; it returned "
                            f"{', '.join(returned) or 'no mailbox of theirs'})")
    return problems


def check_lookup_recipient(run: dict) -> object:
    problems, evidence = [], []
    for task in tasks(run, LOOKUP):
        task_id, facts = task["task"]["id"], _facts(task)
        professional = (task["task"].get("extra") or {}).get("professional") or {}
        rpps = str(professional.get("rpps") or "")
        searches, messages = facts.get("annuaire") or [], facts.get("messages") or []
        evidence.append({"task": task_id, "professional": professional, "searches": searches,
                         "messages": [{k: m[k] for k in ("seq", "time", "to", "delivered_to", "verdict")}
                                      for m in messages]})
        if not messages:
            problems.append(f"{task_id}: no message was sent to the professional (RPPS {rpps}); Annuaire "
                            f"searches: {len(searches)}")
        for message in messages:
            problems += _lookup_problems(task_id, rpps, message, searches)
            if not message["delivered_to"]:
                problems.append(f"{task_id}: message #{message['seq']} to {message['to']} was not delivered")
    if not tasks(run, LOOKUP):
        problems.append("the plan has no look-up task")
    return judged("lookup-recipient", problems, evidence,
                  "the recipient named as a professional was found in the Annuaire santé before the send")


def _claim(task: dict) -> dict:
    return {"ok": bool(task["result"].get("ok")), "detail": task["result"].get("detail")}


def check_crl_kept(run: dict) -> object:
    problems, evidence = [], []
    for task in tasks(run, CRL_DOWN):
        task_id, facts = task["task"]["id"], _facts(task)
        recipient = str(task["task"].get("recipient") or "").lower()
        messages = facts.get("messages") or []
        delivered = [m for m in messages if recipient in {a.lower() for a in m["delivered_to"]}]
        during = facts.get("crl_in_task") or []
        evidence.append({"task": task_id, "fault": task.get("fault"), "crl_during_task": during,
                         "crl_ok_before": facts.get("crl_ok_before"), "messages": messages,
                         "claim": _claim(task)})
        if not facts.get("crl_ok_before"):
            problems.append(f"{task_id}: no CRL was downloaded from the test PKI before its CRL point went "
                            "down: the product's revocation check by CRL is not shown, so keeping the last "
                            "CRL cannot be either")
        served = [f for f in during if f["status"] == 200]
        if served:
            problems.append(f"{task_id}: the CRL point answered {len(served)} download(s) during the task "
                            "(the fault did not hold)")
        if not delivered:
            tried = ", ".join(f"#{f['seq']} HTTP {f['status']}" for f in during) or "none"
            problems.append(f"{task_id}: the CRL point was down and nothing was delivered to {recipient} "
                            f"(CRL downloads in the task: {tried}; the product says "
                            f"{task['result'].get('detail')!r}): the last valid CRL was not kept and used")
    if not tasks(run, CRL_DOWN):
        problems.append("the plan has no task with the CRL point down")
    return judged("crl-kept", problems, evidence,
                  "with the CRL point down, the last valid CRL is kept and the report still sent")


def check_revoked_refused(run: dict) -> object:
    problems, evidence = [], []
    for task in tasks(run, REVOKED):
        task_id, facts = task["task"]["id"], _facts(task)
        relay, messages = facts.get("relay") or [], facts.get("messages") or []
        first = min((c["time"] for c in relay), default=None)
        crl = [f for f in (facts.get("crl_ok_before") or []) + (facts.get("crl_in_task") or [])
               if f["verdict"] == "ok" and first is not None and f["time"] <= first]
        evidence.append({"task": task_id, "operator": (task["task"].get("extra") or {}).get("smtp"),
                         "connections": relay, "crl_before": crl, "messages": messages,
                         "claim": _claim(task)})
        if not relay:
            problems.append(f"{task_id}: the product never connected to the operator of the task "
                            f"({REVOKED_OPERATOR}): its refusal of a revoked certificate is not shown")
        for connection in relay:
            if connection["outcome"] == "continued":
                problems.append(f"{task_id}: connection {connection['connection']} went on through the "
                                f"revoked server certificate ({connection['client_bytes_after_tls']} bytes "
                                "sent after the TLS handshake)")
        for message in messages:
            problems.append(f"{task_id}: message #{message['seq']} to {message['to']} reached MSSanté "
                            "in a task whose operator's certificate is revoked")
        if relay and not crl:
            problems.append(f"{task_id}: no CRL was downloaded before the connection: the refusal is not a "
                            "revocation check by CRL")
        if task["result"].get("ok"):
            problems.append(f"{task_id}: the product says it sent the report "
                            f"({task['result'].get('detail')!r}) through an operator whose certificate is "
                            "revoked")
    if not tasks(run, REVOKED):
        problems.append("the plan has no task with a revoked server certificate")
    return judged("revoked-operator-refused", problems, evidence,
                  "a server certificate the CRL lists as revoked is refused, and the product says so")


def check_citizen_end(run: dict) -> object:
    problems, evidence = [], []
    for task in tasks(run, CITIZEN_FIN):
        task_id, facts = task["task"]["id"], _facts(task)
        citizen = str((task.get("world") or {}).get("citizen_mailbox") or "").lower()
        messages = facts.get("messages") or []
        evidence.append({"task": task_id, "citizen_mailbox": citizen,
                         "messages": [{k: m[k] for k in ("seq", "to", "delivered_to", "mes", "rules")}
                                      for m in messages]})
        to_citizen = [m for m in messages if citizen in {a.lower() for a in m["delivered_to"]}]
        if not to_citizen:
            problems.append(f"{task_id}: nothing was delivered to the patient's mailbox {citizen}, so "
                            "the end of the exchange was not sent")
        for message in to_citizen:
            fired = [r for r in message["rules"] if r.startswith("MSS-MES")]
            if message["mes"] is None:
                problems.append(f"{task_id}: message #{message['seq']} could not be read back from MSSanté")
            elif message["mes"] != ["FIN"]:
                seen = f"X-MSS-MES {message['mes']}" if message["mes"] else "no X-MSS-MES header"
                problems.append(f"{task_id}: message #{message['seq']} carries {seen}; ending the exchange "
                                "is one header X-MSS-MES: FIN (3 capital letters)")
            if fired:
                problems.append(f"{task_id}: message #{message['seq']}: MSSanté rules {fired}")
    if not tasks(run, CITIZEN_FIN):
        problems.append("the plan has no task ending the exchange with a patient")
    return judged("citizen-end-exchange", problems, evidence,
                  "the message ending the exchange with the patient carries X-MSS-MES: FIN")


CHECKS = (
    Check("lookup-recipient",
          title="The recipient named as a professional is found in the Annuaire santé before the send",
          test="test_the_recipient_is_found_in_the_annuaire_before_the_send",
          doc=("For a task naming the recipient as a professional (RPPS, practice), an Annuaire santé "
               "search of that professional answered before the message, and the message went to a mailbox "
               "that search returned for that professional."),
          rem={RIS: ["MSS/CONF.20", "SC.MSS/CONF.20", "ANN/va1.05"], BIO: ["ANN/va1.05", "SC.MSS/CONF.20"],
               LGC: ["MSS/CONF.20", "SC.MSS/CONF.20", "ANN/va1.05"]},
          reads=("annuaire.searches", "mss.messages"),
          judge=check_lookup_recipient,
          defects=("lookup-skipped", "lookup-wrong-professional"),
          hint=("Search the Annuaire santé for the professional the task names before the send, and address "
                "the message to a mailbox that search returned for that very professional, not one from a "
                "local address book or another row of the answer (MSS/CONF.20).")),
    Check("crl-kept",
          title="With the CRL point down, the last valid CRL is kept and the report still sent",
          test="test_with_the_crl_point_down_the_last_valid_crl_is_kept",
          doc=("After a first CRL download, the CRL point answers 503 for a whole task: the product keeps "
               "its last valid CRL and still connects and delivers the report."),
          rem={RIS: ["MSS/CONF.22", "SC.MSS/CONF.22"], BIO: ["MSS/CONF.22", "SC.MSS/CONF.22"],
               LGC: ["MSS/CONF.22", "SC.MSS/CONF.22"], PFI: ["MSS/CONF.22", "SC.MSS/CONF.22"]},
          reads=("igc.crl", "mss.messages"),
          judge=check_crl_kept,
          defects=("crl-not-kept",),
          hint=("Keep the last valid CRL you downloaded: when the CRL point cannot be reached (503), check "
                "the operator's certificate against it and deliver the report rather than stop sending "
                "(MSS/CONF.22).")),
    Check("revoked-operator-refused",
          title="A server certificate the CRL lists as revoked is refused, and the product says so",
          test="test_a_revoked_server_certificate_is_refused",
          doc=("Sent to an operator whose server certificate the CRL lists as revoked, the product "
               "downloaded the CRL, stopped at the TLS handshake, sent nothing and reported a failure."),
          rem={RIS: ["MSS/va1.05"], BIO: ["MSS/va1.05"], LGC: ["MSS/va1.05"], PFI: ["MSS/va1.05"]},
          reads=("igc.crl", "igc.revoked_smtp", "mss.messages", "task.claims"),
          judge=check_revoked_refused,
          defects=("crl-ignored",),
          hint=("Download the CRL and check the operator's server certificate against it at the TLS "
                "handshake: a revoked certificate ends the connection before anything is sent, and the task "
                "is reported failed (MSS/va1.05).")),
    Check("citizen-end-exchange",
          title="Ending the exchange with the patient: X-MSS-MES: FIN",
          test="test_the_end_of_exchange_carries_x_mss_mes_fin",
          doc=("The report sent to the patient's Mon espace santé mailbox with the end of the exchange asked "
               "carries one X-MSS-MES header with the value FIN, read from the stored message."),
          rem={c: ["MSS/CONF.21", "SC.MSS/CONF.21"] for c in (RIS, BIO, LGC, DPI, PFI)},
          reads=("mss.messages", "mss.headers"),
          judge=check_citizen_end,
          defects=("no-fin-header",),
          hint=("When the user ends the exchange with the patient, add one X-MSS-MES: FIN header to the "
                "message sent to <INS>@patient.mssante.fr (MSS/CONF.21).")),
)

CAPABILITY = Capability(
    "lookup", "Annuaire look-up of the recipient, CRL revocation (kept CRL, revoked operator), end of the "
    "exchange with the patient", scenarios=SCENARIOS, plan=plan, observe=observe, checks=CHECKS,
    couloirs=(RIS, BIO, LGC))
#: the hospital couloirs take what their REM has: the DPI the end of exchange, the PFI the CRL too
DPI_CAPABILITY = Capability("lookup", "the end of the exchange with the patient", scenarios=(CITIZEN_FIN,),
                            plan=plan_dpi, observe=observe, checks=CHECKS[3:], couloirs=(DPI,))
PFI_CAPABILITY = Capability(
    "lookup", "CRL revocation (kept CRL, revoked operator), end of the exchange with the patient",
    scenarios=(CRL_DOWN, REVOKED, CITIZEN_FIN), plan=plan_pfi, observe=observe, checks=CHECKS[1:],
    couloirs=(PFI,))
#: the variants for the hospital couloirs (`capabilities.CAPABILITIES`)
OTHER_COULOIRS = (DPI_CAPABILITY, PFI_CAPABILITY)
