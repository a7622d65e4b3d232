"""Optional requirements a product claims (PEUT): proved when claimed, never failed nor passed when not.

The MSSanté clients' referential lets a product do two things it need not do (REM texts in
shared/rem/requirements.csv, socle SC.MSS/CONF.02 and SC.MSS/CONF.09, "Préconisée (PEUT)"):
- `tls13` — MSS/CONF.02: "Le système PEUT établir une connexion avec l'API LPS … en utilisant une version
  ultérieure à la version 1.2 de TLS (1.3...)";
- `sasl-ir` — MSS/CONF.09: "Lors d'une connexion IMAP, le système PEUT utiliser le capability SASL-IR pour
  transmettre l'Access Token en une seule transaction comme défini dans le RFC 4959".

A product says which it honours: its driver announces `product_claims = ("tls13", "sasl-ir")` (the
reference products do, docs/sut.md), or `segur proof --claims tls13,sasl-ir` says it (over the driver's;
`--claims none` claims nothing). The run record keeps them (`run["claims"]`). A check of an option the run
does not claim judges nothing: its result's status is `not claimed`, its test is skipped, and the evidence
pack and the CLI list the requirement as "optional, not claimed" — never a pass. A claimed option is judged
on every relevant exchange, and a claim the product does not honour fails:
- `mss-tls13`: every SMTP and IMAP session in which the product logged in to one of its own mailboxes (the
  task's sender, `extra["mailbox"]`, the author's: the harness's own sessions, delivering mail to the
  product, log in to other mailboxes) negotiated TLS 1.3 (the mock's journal: `client.tls.version` of the
  SMTP session, the `imap-starttls` entry of the IMAP connection; docs/mssante.md);
- `mss-sasl-ir` (couloirs RIS and LGC, whose REM has MSS/CONF.09): task `optional-01` (`read-personal-inbox`):
  before it the harness writes to the author's personal mailbox (another professional's note through the
  mock's SMTP, as `inbox` does); the product reads that mailbox over IMAP with the author's PSC access
  token, and each of its AUTHENTICATE XOAUTH2 commands carries the initial response on the command line
  (RFC 4959 §3: `AUTHENTICATE XOAUTH2 <base64>`; the mock advertises `SASL-IR`), with no LOGIN, and the
  note is fetched. The task itself is planned whether or not the option is claimed (reading the personal
  mailbox with a PSC token is MSS/CONF.07's API LPS); only the claim decides whether it is judged.
"""

from __future__ import annotations

import smtplib

from segur.kernel.tenants import split_login
from segur.scenarios.capabilities.inbox import professional_note, submit
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, CheckResult, judged, tasks

NAME = "optional"
TLS13, SASL_IR = "tls13", "sasl-ir"
#: the options a product may claim: name → what it promises
OPTIONS = {TLS13: "TLS 1.3 on every SMTP and IMAP session of its own mailboxes (REM MSS/CONF.02)",
           SASL_IR: "the PSC access token in one IMAP step, SASL-IR, RFC 4959 (REM MSS/CONF.09)"}
#: the status of a check whose option the run does not claim (its test is skipped: not judged)
NOT_CLAIMED = "not claimed"
#: what the pack and the CLI say beside such a requirement
NOT_CLAIMED_NOTE = "optional (PEUT), not claimed by the product: not judged"
#: what `segur rem coverage` says beside a requirement only an optional check proves
COVERAGE_NOTE = "optional: proved when the product claims it"
SCENARIO, ACTION = "optional-sasl-ir", "read-personal-inbox"
#: the couloirs whose REM has MSS/CONF.09 (RIS and LGC; BIO, DPI and PFI have no such row)
SASL_IR_COULOIRS = ("RIS", "LGC")
#: the couloirs whose REM has MSS/CONF.02
TLS13_COULOIRS = ("RIS", "BIO", "LGC", "PFI")
TLS13_VERSION = "TLSv1.3"


def parse_claims(value: str | None) -> tuple[str, ...] | None:
    """`--claims`: None (not given: the driver's announcement), () for `none`, else the names, each known."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() == "none":
        return ()
    names = tuple(dict.fromkeys(n.strip().lower() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in OPTIONS]
    if unknown:
        raise ValueError(f"unknown claim(s) {', '.join(unknown)}; the options: {', '.join(OPTIONS)}")
    return names


def claimed(run: dict, option: str) -> bool:
    return option in (run.get("claims") or [])


def not_claimed(check_id: str, option: str) -> CheckResult:
    """The result of a check whose option the run does not claim: neither pass nor fail."""
    return CheckResult(check_id, False, [], [{"claim": option, "claimed": False, "note": NOT_CLAIMED_NOTE}],
                       f"{NOT_CLAIMED_NOTE} ({option}: {OPTIONS[option]})", NOT_CLAIMED)


# --- plan, prepare, observe -------------------------------------------------------------------------------
def plan(ctx: PlanContext) -> None:
    """`optional-01`: the author reads their personal mailbox with their PSC token (RIS, LGC)."""
    if ctx.couloir.upper() not in SASL_IR_COULOIRS:
        return
    author, writer = ctx.author, ctx.recipients[-1]
    patient = ctx.dmp_patients[0]
    ctx.add("optional-01", ACTION, patient, SCENARIO, "read", traits={},
            extra={"mailbox": author.mailbox, "idnps": author.idnps, "from": writer.mailbox})


def prepare(ctx: PrepareContext) -> dict:
    """Another professional's note delivered to the author's personal mailbox, through the mock's SMTP."""
    extra = ctx.planned.task.extra
    note = professional_note(extra["from"], extra["mailbox"])
    delivered = {"from": extra["from"], "to": extra["mailbox"], "message_id": note["Message-ID"]}
    try:
        delivered["mock_id"] = submit(ctx.endpoints, ctx.admin, extra["from"], extra["mailbox"], note)
    except (OSError, smtplib.SMTPException, LookupError) as exc:  # the harness's failure, not the product's
        delivered["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return {"delivered": delivered}


def _imap(entry: dict) -> dict:
    request, client = entry.get("request") or {}, entry.get("client") or {}
    response = entry.get("response") or {}
    return {"seq": entry["seq"], "operation": entry["operation"], "verdict": entry["verdict"],
            "session": client.get("session"), "login": request.get("login") or client.get("login"),
            "command": request.get("command") or ("LOGIN" if entry["operation"] == "imap-login" else None),
            "mechanism": request.get("mechanism"), "initial_response": request.get("initial_response"),
            "content": request.get("content"),
            "message_ids": [m.get("message_id") for m in response.get("messages") or []]}


def observe(ctx: ObserveContext) -> dict:
    """The task's IMAP commands (every connection) and what the harness delivered."""
    entries = [e for e in ctx.journals.get("mssante", []) if ctx.in_task(e, "mssante")]
    return {"mailbox": (ctx.task.get("extra") or {}).get("mailbox"),
            "delivered": ctx.prepared.get("delivered") or {},
            "imap": [_imap(e) for e in entries if e["operation"].startswith("imap-")]}


# --- the checks ---------------------------------------------------------------------------------------
def _mailboxes(task: dict) -> set[str]:
    given = task["task"]
    author = (given.get("author") or {}).get("professional") or {}
    found = {given.get("sender"), (given.get("extra") or {}).get("mailbox"), author.get("mailbox")}
    return {str(address).lower() for address in found if address}


def product_sessions(run: dict) -> list[dict]:
    """Each SMTP session and IMAP connection of the run in which one of the product's own mailboxes logged
    in: `{"protocol", "id", "task", "login", "tls"}` (tls: the negotiated version, None without TLS)."""
    own = {mailbox for task in run["tasks"] for mailbox in _mailboxes(task)}
    found, imap = [], {}
    for entry in (run.get("journals") or {}).get("mssante", []):
        client = entry.get("client") or {}
        login = split_login(client.get("login") or "")[0].lower()
        version = (client.get("tls") or {}).get("version")
        if entry["operation"] == "smtp-session" and login in own:
            found.append({"protocol": "SMTP", "id": f"#{entry['seq']}", "task": entry.get("task"),
                          "login": client.get("login"), "tls": version})
        elif entry["operation"].startswith("imap-") and client.get("session"):
            session = imap.setdefault(client["session"], {"protocol": "IMAP", "id": client["session"],
                                                          "task": entry.get("task"), "login": None,
                                                          "tls": None})
            session["tls"] = session["tls"] or version
            if login in own:
                session["login"] = client.get("login")
    return found + [s for s in imap.values() if s["login"]]


def check_tls13(run: dict) -> CheckResult:
    if not claimed(run, TLS13):
        return not_claimed("mss-tls13", TLS13)
    sessions = product_sessions(run)
    problems = [f"{s['task'] or 'no task'}: {s['protocol']} session {s['id']} of {s['login']} over "
                f"{s['tls'] or 'no TLS'}, not TLS 1.3 (the product claims tls13)"
                for s in sessions if s["tls"] != TLS13_VERSION]
    blocked = [] if sessions else [{"check": None, "task": "-", "reason": "no SMTP or IMAP session of the "
                                    "product's own mailboxes in the run"}]
    return judged("mss-tls13", problems, [{"claim": TLS13, "sessions": sessions}],
                  f"{len(sessions)} SMTP/IMAP sessions of the product, each over TLS 1.3", blocked)


def check_sasl_ir(run: dict) -> CheckResult:
    if not claimed(run, SASL_IR):
        return not_claimed("mss-sasl-ir", SASL_IR)
    problems, evidence, blocked = [], [], []
    for task in tasks(run, SCENARIO):
        task_id = task["task"]["id"]
        facts = (task.get("observed") or {}).get(NAME) or {"imap": [], "delivered": {}}
        mailbox = str(facts.get("mailbox") or "").lower()
        delivered = facts.get("delivered") or {}
        logins = [e for e in facts["imap"] if e["operation"] == "imap-login"
                  and split_login(e["login"] or "")[0].lower() == mailbox]
        fetched = {m for e in facts["imap"] if e["operation"] == "imap-fetch" and e["verdict"] == "ok"
                   and e["content"] for m in e["message_ids"] if m}
        evidence.append({"task": task_id, "mailbox": mailbox, "logins": logins, "delivered": delivered,
                         "fetched": sorted(fetched)})
        if not delivered.get("mock_id"):
            why = delivered.get("error") or "the mock gave no id for it"
            blocked.append({"check": None, "task": task_id,
                            "reason": f"the harness could not deliver the note to {mailbox}: {why}"})
            continue
        if not any(e["verdict"] == "ok" and e["mechanism"] == "XOAUTH2" for e in logins):
            problems.append(f"{task_id}: the personal mailbox {mailbox} was not opened over IMAP with "
                            "AUTHENTICATE XOAUTH2 and a PSC token")
        for login in logins:
            if login["command"] != "AUTHENTICATE" or login["mechanism"] != "XOAUTH2":
                problems.append(f"{task_id}: IMAP login #{login['seq']} to {mailbox} used "
                                f"{login['command']} {login['mechanism'] or ''}".rstrip()
                                + ", not AUTHENTICATE XOAUTH2 with the PSC token")
            elif not login["initial_response"]:
                problems.append(f"{task_id}: IMAP AUTHENTICATE XOAUTH2 #{login['seq']} waited for the "
                                "server's challenge: the token was not sent in one step (SASL-IR, RFC 4959), "
                                "though the product claims sasl-ir and the server advertises SASL-IR")
        if delivered.get("message_id") not in fetched:
            problems.append(f"{task_id}: the note {delivered.get('message_id')} delivered to {mailbox} was "
                            "never fetched over IMAP in the task")
    if not evidence:
        blocked.append({"check": None, "task": "-", "reason": "no task read the personal mailbox (its "
                        "capability was left out of the run)"})
    return judged("mss-sasl-ir", problems, evidence, "the personal mailbox read over IMAP with the PSC "
                  "token sent in one AUTHENTICATE step (SASL-IR)", blocked)


RIS, BIO, LGC, PFI = "RIS", "BIO", "LGC", "PFI"
CHECKS = (
    Check("mss-tls13", title="optional, when claimed: TLS 1.3 on every SMTP and IMAP session",
          test="test_when_claimed_every_mssante_session_uses_tls_1_3",
          doc=("Optional (PEUT), judged only when the product claims `tls13` (its driver's product_claims, "
               "or segur proof --claims): every SMTP session and IMAP connection in which the product logged "
               "in to one of its own mailboxes negotiated TLS 1.3, as the MSSanté mock journalled it. "
               "Unclaimed: not judged, listed 'optional, not claimed'."),
          rem={RIS: ["MSS/CONF.02"], BIO: ["MSS/CONF.02"], LGC: ["MSS/CONF.02"], PFI: ["MSS/CONF.02"]},
          reads=("mssante.sessions", "run.claims"), judge=check_tls13, defects=("tls13-claimed-tls12-max",),
          couloirs=TLS13_COULOIRS,
          hint="offer TLS 1.3 on the MSSanté connections (no SSL context capped at TLS 1.2), or do not "
               "claim tls13"),
    Check("mss-sasl-ir", title="optional, when claimed: the PSC token in one IMAP step (SASL-IR)",
          test="test_when_claimed_the_imap_psc_token_goes_in_one_step",
          doc=("Optional (PEUT), judged only when the product claims `sasl-ir`: in task optional-01 the "
               "product reads the author's personal mailbox over IMAP with the author's PSC token; each "
               "AUTHENTICATE XOAUTH2 carries the initial response on its command line (RFC 4959; the mock "
               "advertises SASL-IR), no LOGIN is used, and the note the harness delivered is fetched. "
               "Unclaimed: not judged, listed 'optional, not claimed'."),
          rem={RIS: ["MSS/CONF.09"], BIO: [], LGC: ["MSS/CONF.09"]},
          reads=("optional.imap", "optional.delivered", "run.claims"), judge=check_sasl_ir,
          defects=("sasl-ir-claimed-two-steps",), couloirs=SASL_IR_COULOIRS,
          hint="send AUTHENTICATE XOAUTH2 <base64 initial response> on one line when the server advertises "
               "SASL-IR, or do not claim sasl-ir"),
)
#: the check of each option
OPTION_CHECKS = {TLS13: "mss-tls13", SASL_IR: "mss-sasl-ir"}

CAPABILITY = Capability(
    NAME, "the optional (PEUT) MSSanté requirements a product claims: TLS 1.3, the PSC token in one IMAP "
          "step (SASL-IR); judged only when claimed",
    scenarios=(SCENARIO,), plan=plan, prepare=prepare, observe=observe, checks=CHECKS,
    couloirs=(RIS, BIO, LGC, PFI))
