"""Pro Santé Connect on the MSSanté API LPS, and the application mailbox's ORG certificate (MSS/CONF.07-12).

The product sends reports from the author's *personal* mailbox, opened with SASL XOAUTH2 and a PSC access
token of the author (`user=<mailbox>^Aauth=Bearer <token>^A^A`, MSS/CONF.07); it gets the token from the
stack's PSC mock (CIBA with `login_hint`, or the code flow with the test login: docs/psc.md). Four tasks:

- `psc-01` (scenario `psc-send`): send with the token; the session opens with XOAUTH2, never PLAIN, with a
  token PSC issued for the author (`psc-xoauth2`);
- `psc-02` (`psc-relogin`): before it the harness ends the author's PSC sessions (`prepare`: `POST
  /_admin/end-sessions`, as a PSC logout); the product must authenticate with PSC again (a new authorization
  in the PSC journal) before the session that sends, and a refusal of the dead token is allowed only when a
  new authorization follows it (`psc-reauth`, MSS/CONF.10);
- `psc-03` (`psc-reopen`): the operator ends the SMTP session at MAIL while PSC is still valid (MSSanté fault
  `session_end`, once); the product reopens a session by itself and the report goes through (`psc-reopen`,
  MSS/CONF.11);
- `psc-04` (`psc-denied`): send to the DMP *and* by MSSanté; the harness ends the PSC session and makes PSC
  refuse the next login (`next-login` with `deny`): the MSSanté authentication error must not stop the DMP
  send, and the product must not claim the MSSanté part done (`psc-auth-error`, MSS/CONF.08: "errors of
  the SMTP/IMAP connection and authentication must not disturb the system's other functions").

`psc-xoauth2` also reads every other task's SMTP sessions: one that opened a personal or organisational
mailbox (the GP's own mailbox the LGC's core reports leave from) must open it with XOAUTH2 too (MSS/CONF.07:
the API LPS of "BAL personnelle ou organisationnelle").

Couloirs: RIS takes the four tasks and five checks; LGC (the GP's software, REM MSS/CONF.07, .08, .10, .11
APPROVED, MSS/CONF.12 OBSOLETE, no application mailbox) the four tasks and the four PSC checks
(`LGC_CAPABILITY`); PFI (REM MSS/CONF.12 APPROVED, none of MSS/CONF.07-.11: the platform sends for the
hospital's systems with the structure's certificate) `mss-app-org-cert` alone, on the core tasks
(`PFI_CAPABILITY`). BIO's REM has MSS/CONF.07-.12 OBSOLETE (shared/rem/requirements.csv), DPI's none.

The REM's own PSC domain (PSC.01, PSC.08) is the capability `psc-login` (`LOGIN_CAPABILITY`, every couloir):
task `psc-login-01` has the author log in to the product with PSC; `psc-login` (PSC.01) wants a complete
code or CIBA flow of the task for that professional, `psc-eidas1` (PSC.08, not the PFI's) acr_values=eidas1
in every authentication request of the run. PSC.02 and PSC.10 are out of scope (docs/requirements.md).

The core MSSanté tasks send from the organisation's application mailbox: `mss-app-org-cert` reads, from
the MSSanté session journal, the client certificate of each session that opened an application mailbox and
fails when there is none, or it is not an ORG AUTH_CLI certificate of the sender's structure (MSS/CONF.12;
the proof's MSSanté runs with `app_cert = "record"`, `scenarios/stack.py`).

Sources: the REM texts of MSS/CONF.07-12 (shared/rem/requirements.csv, from the Référentiel socle MSSanté #2
"Clients de messageries sécurisées de santé" v1.0, API LPS), shared/ref/psc/README.md §3, docs/psc.md.
"""

from __future__ import annotations

from segur.kernel.tenants import split_login
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, judged, tasks

RIS, BIO, LGC, DPI, PFI = "RIS", "BIO", "LGC", "DPI", "PFI"
SEND, RELOGIN, REOPEN, DENIED = "psc-send", "psc-relogin", "psc-reopen", "psc-denied"
SCENARIOS = (SEND, RELOGIN, REOPEN, DENIED)
#: the task actions of this capability (scenarios/actions.py)
PSC_ACTIONS = ("send-psc-mss", "send-dmp-mss-psc")
#: the operator ends the product's SMTP session once, when it reaches MAIL FROM (MSS/CONF.11)
REOPEN_FAULT = {"service": "mssante", "spec": {"kind": "session_end", "operation": "mail", "count": 1}}
#: PSC grants that are a new authentication of the professional (a refresh reuses the session)
NEW_AUTHORIZATIONS = ("authorization_code", "urn:openid:params:grant-type:ciba")
#: what PSC journals when it refuses the professional's login
PSC_LOGIN_OPERATIONS = ("authorize", "login", "token", "ciba-auth")
#: the mailboxes the API LPS opens with a PSC token (MSS/CONF.07: "BAL personnelle ou organisationnelle"; the
#: application mailbox opens with its ORG certificate and PLAIN, MSS/CONF.12)
PSC_MAILBOXES = ("PER", "ORG")
KIND_NAMES = {"PER": "personal", "ORG": "organisational", "APP": "application"}


# --- plan ------------------------------------------------------------------------------------------------
def plan(ctx: PlanContext) -> None:
    """Four tasks on patients the core plan left alone when there are enough (INSi qualifies them all)."""
    author = ctx.author
    used = ctx.used_patients()
    pool = [p for p in ctx.dmp_patients if p.key not in used] or ctx.dmp_patients
    recipient = ctx.recipients[0].mailbox
    extra = {"mailbox": author.mailbox, "idnps": author.idnps}
    steps = [(SEND, "send-psc-mss", "delivered", None), (RELOGIN, "send-psc-mss", "delivered", None),
             (REOPEN, "send-psc-mss", "delivered", REOPEN_FAULT),
             (DENIED, "send-dmp-mss-psc", "failure", None)]
    for i, (scenario, action, expect, fault) in enumerate(steps):
        ctx.add(f"psc-{i + 1:02d}", action, pool[i % len(pool)], scenario, expect, recipient=recipient,
                extra=dict(extra), fault=fault)


# --- prepare: the harness's own part ---------------------------------------------------------------------
def prepare(ctx: PrepareContext) -> dict:
    """Before `psc-relogin` and `psc-denied`: end the author's PSC sessions; before `psc-denied`, also make
    PSC refuse the author's next login."""
    scenario = ctx.planned.scenario
    if scenario not in (RELOGIN, DENIED):
        return {}
    idnps = ctx.planned.task.extra["idnps"]
    ended = ctx.admin.call("psc", "end-sessions", "POST", {"idnps": idnps, "why": "PSC logout (the proof)"})
    prepared = {"idnps": idnps, "ended": ended["ended"]}
    if scenario == DENIED:
        ctx.admin.call("psc", "next-login", "POST", {"idnps": idnps, "deny": True})
        prepared["denied_next_login"] = True
    return prepared


# --- observe ---------------------------------------------------------------------------------------------
def observe(ctx: ObserveContext) -> dict:
    """The task's SMTP sessions, XOAUTH2 verdicts and messages (MSSanté), its PSC grants and refusals, and
    every PSC session PSC opened for the professional during the run."""
    idnps = ctx.task["extra"].get("idnps")
    mss = ctx.journals.get("mssante", [])
    psc = ctx.journals.get("psc", [])
    mine = [e for e in mss if ctx.in_task(e, "mssante")]
    sessions = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"], "rules": e.get("rules") or [],
                 "login": (e.get("client") or {}).get("login"),
                 "mailbox_kind": (e.get("client") or {}).get("mailbox_kind"),
                 "mechanism": (e.get("client") or {}).get("mechanism"),
                 "ended_by_operator": (e.get("meta") or {}).get("ended_by_operator"),
                 "messages": (e.get("meta") or {}).get("messages") or []}
                for e in mine if e["operation"] == "smtp-session"]
    auths = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"], "rules": e.get("rules") or [],
              "login": (e.get("request") or {}).get("login"),
              "professional": (e.get("meta") or {}).get("professional"),
              "psc_session": (e.get("meta") or {}).get("psc_session")}
             for e in mine if e["operation"] == "smtp-auth"]
    messages = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"],
                 "from": (e.get("request") or {}).get("from"), "id": (e.get("meta") or {}).get("id"),
                 "delivered_to": (e.get("response") or {}).get("delivered_to") or []}
                for e in mine if e["operation"] == "smtp-message"]
    grants = [{"seq": e["seq"], "time": e["time"], "grant_type": (e.get("meta") or {}).get("grant_type"),
               "session": (e.get("meta") or {}).get("session"), "in_task": ctx.in_task(e, "psc")}
              for e in psc if e["operation"] == "token" and e["verdict"] == "ok"
              and (e.get("meta") or {}).get("idnps") == idnps]
    refusals = [{"seq": e["seq"], "time": e["time"], "operation": e["operation"],
                 "rules": e.get("rules") or []}
                for e in psc if ctx.in_task(e, "psc") and e["operation"] in PSC_LOGIN_OPERATIONS
                and e["verdict"] == "refused"]
    dmp = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"]}
           for e in ctx.journals.get("dmp", []) if ctx.in_task(e, "dmp") and e["operation"] == "ITI-41"]
    return {"idnps": idnps, "mailbox": ctx.task["extra"].get("mailbox"), "prepared": ctx.prepared,
            "sessions": sessions, "auths": auths, "messages": messages, "psc_grants": grants,
            "psc_refusals": refusals, "iti41": dmp}


# --- checks ----------------------------------------------------------------------------------------------
def _facts(task: dict) -> dict:
    return (task.get("observed") or {}).get("psc") or {}


def _task_id(task: dict) -> str:
    return task["task"]["id"]


def _xoauth2_ok(facts: dict) -> list[dict]:
    return [a for a in facts["auths"] if a["verdict"] == "ok"]


def _delivered_from(facts: dict, mailbox: str, after: str = "") -> list[dict]:
    return [m for m in facts["messages"] if m["delivered_to"] and (m["from"] or "").lower() == mailbox.lower()
            and m["time"] >= after]


def _no_xoauth2(task: dict) -> dict:
    return {"check": "psc-xoauth2", "task": _task_id(task),
            "reason": "no XOAUTH2 authentication of the personal mailbox in the task"}


def _mailbox_sessions(run: dict, task: dict, kinds: tuple[str, ...]) -> list[dict]:
    """The task's SMTP sessions that opened a mailbox of one of `kinds` (PER, ORG, APP), read from the run's
    MSSanté journal."""
    seqs = {s["seq"] for s in task["observed"].get("mss_sessions") or []}
    return [e for e in (run.get("journals") or {}).get("mssante", [])
            if e["seq"] in seqs and (e.get("client") or {}).get("mailbox_kind") in kinds]


def _product_mailboxes(task: dict) -> set[str]:
    """The mailboxes the product sends from in a task: the task's sender, its `extra["mailbox"]`, the
    author's own (the harness's own sessions, e.g. delivering mail to the product, are from other ones)."""
    given = task["task"]
    author = (given.get("author") or {}).get("professional") or {}
    found = {given.get("sender"), (given.get("extra") or {}).get("mailbox"), author.get("mailbox")}
    return {str(address).lower() for address in found if address}


def _other_tasks_problems(run: dict) -> tuple[list[str], list[dict]]:
    """The sessions of the other tasks (the core's, the other capabilities') that opened a personal or
    organisational mailbox of the product otherwise than with XOAUTH2: MSS/CONF.07 holds for every send, not
    only the PSC tasks' (a GP's reports leave from the GP's own mailbox)."""
    problems, evidence = [], []
    for task in run["tasks"]:
        if task["scenario"] in SCENARIOS:
            continue
        mine = _product_mailboxes(task)
        for session in _mailbox_sessions(run, task, PSC_MAILBOXES):
            client = session.get("client") or {}
            if split_login(client.get("login") or "")[0].lower() not in mine:
                continue  # the harness's own session (a peer writing to the product)
            evidence.append({"task": _task_id(task), "seq": session["seq"], "login": client.get("login"),
                             "mailbox_kind": client.get("mailbox_kind"),
                             "mechanism": client.get("mechanism")})
            if client.get("mechanism") != "XOAUTH2":
                problems.append(f"{_task_id(task)}: SMTP session #{session['seq']} opened the "
                                f"{KIND_NAMES[client['mailbox_kind']]} mailbox {client.get('login')} with "
                                f"{client.get('mechanism')}, not XOAUTH2 with a PSC access token")
    return problems, evidence


def check_xoauth2(run: dict) -> object:
    """Every session of the personal mailbox opens with XOAUTH2 (never PLAIN or LOGIN), with a token PSC
    issued for the task's professional; `psc-send` delivers its report through such a session. Any other
    task's session opening a personal or organisational mailbox opens with XOAUTH2 too."""
    problems, evidence = _other_tasks_problems(run)
    blocked = []
    for task in tasks(run, *SCENARIOS):
        facts, task_id = _facts(task), _task_id(task)
        mailbox, idnps = facts["mailbox"], facts["idnps"]
        issued = {g["session"] for g in facts["psc_grants"]}
        # a shared harness's tenant rides on the login (user+tenant@domain): the mailbox is the rest
        own = [s for s in facts["sessions"] if split_login(s["login"] or "")[0].lower() == mailbox.lower()]
        evidence.append({"task": task_id, "mailbox": mailbox, "idnps": idnps,
                         "sessions": [{k: s[k] for k in ("seq", "mechanism", "verdict")} for s in own],
                         "xoauth2": facts["auths"], "psc_sessions_issued": sorted(issued)})
        for session in own:
            if session["mechanism"] != "XOAUTH2":
                problems.append(f"{task_id}: SMTP session #{session['seq']} opened the personal mailbox "
                                f"{mailbox} with {session['mechanism']}, not XOAUTH2 with a PSC access token")
        for auth in _xoauth2_ok(facts):
            if auth["professional"] is None:
                blocked.append({"check": None, "task": task_id, "reason": f"XOAUTH2 #{auth['seq']} was "
                                "accepted without a PSC check: the stack's MSSanté does not check tokens "
                                "against Pro Santé Connect ([mssante] psc_issuer = \"stack\")"})
            elif auth["professional"] != idnps:
                problems.append(f"{task_id}: XOAUTH2 #{auth['seq']} used a token of IDNPS "
                                f"{auth['professional']}, not the task's professional {idnps}")
            elif auth["psc_session"] not in issued:
                problems.append(f"{task_id}: XOAUTH2 #{auth['seq']} used a token of PSC session "
                                f"{auth['psc_session']}, which PSC did not open for {idnps} in this run")
        if task["scenario"] == SEND:
            opened = _xoauth2_ok(facts)
            first = min((a["time"] for a in opened), default=None)
            if not opened or not _delivered_from(facts, mailbox, first or ""):
                problems.append(f"{task_id}: no report left {mailbox} through a session opened with XOAUTH2 "
                                "and a PSC token of the professional")
    return judged("psc-xoauth2", problems, evidence, "the personal mailbox opened with XOAUTH2 and the "
                  "professional's own PSC token in every PSC task, and with XOAUTH2 in every other task",
                  blocked)


def check_reauth(run: dict) -> object:
    """After the harness ended the professional's PSC session: no use of a dead token without a new PSC
    authorization after it, and the report goes through on a session of a new authorization."""
    problems, evidence, blocked = [], [], []
    for task in tasks(run, RELOGIN):
        facts, task_id = _facts(task), _task_id(task)
        ended = set((facts["prepared"] or {}).get("ended") or [])
        fresh = [g for g in facts["psc_grants"] if g["in_task"] and g["grant_type"] in NEW_AUTHORIZATIONS
                 and g["session"] not in ended]
        opened = _xoauth2_ok(facts)
        dead = [a for a in facts["auths"] if a["psc_session"] in ended]
        evidence.append({"task": task_id, "ended_sessions": sorted(ended), "new_authorizations": fresh,
                         "xoauth2": facts["auths"]})
        if not ended:
            blocked.append({"check": None, "task": task_id, "reason": "the professional had no live PSC "
                            "session for the harness to end (no earlier PSC login)"})
            continue
        if not facts["auths"] and not fresh:
            blocked.append(_no_xoauth2(task))
            continue
        first_fresh = min((g["time"] for g in fresh), default=None)
        for auth in dead:
            if auth["verdict"] == "ok":
                problems.append(f"{task_id}: XOAUTH2 #{auth['seq']} was accepted with a token of the ended "
                                f"PSC session {auth['psc_session']}")
            elif first_fresh is None or first_fresh < auth["time"]:
                problems.append(f"{task_id}: XOAUTH2 #{auth['seq']} tried the dead token of session "
                                f"{auth['psc_session']} and no new PSC authorization followed it")
        if not fresh:
            problems.append(f"{task_id}: after its PSC session ended the product did not authenticate with "
                            "PSC again (no new authorization of the professional in the PSC journal)")
            continue
        good = [a for a in opened if a["psc_session"] not in ended and a["time"] >= first_fresh]
        if not good or not _delivered_from(facts, facts["mailbox"], min(a["time"] for a in good)):
            problems.append(f"{task_id}: no report went through on a session opened with the new PSC "
                            "authorization")
    return judged("psc-reauth", problems, evidence, "after a PSC logout the product authenticates with PSC "
                  "again before it sends, never with the dead token", blocked)


def check_reopen(run: dict) -> object:
    """After the operator ended the SMTP session (PSC still valid), a new session opens by itself and the
    report goes through."""
    problems, evidence, blocked = [], [], []
    for task in tasks(run, REOPEN):
        facts, task_id = _facts(task), _task_id(task)
        ended = [s for s in facts["sessions"] if s["ended_by_operator"]]
        evidence.append({"task": task_id, "ended_by_operator": ended, "sessions": facts["sessions"]})
        if not _xoauth2_ok(facts):
            blocked.append(_no_xoauth2(task))
            continue
        if not ended:
            blocked.append({"check": None, "task": task_id, "reason": "no session of the product reached "
                            "MAIL FROM for the operator to end"})
            continue
        last_end = ended[-1]
        later = [s for s in facts["sessions"] if s["seq"] > last_end["seq"]]
        reopened = [a for a in _xoauth2_ok(facts) if a["time"] >= last_end["time"]]
        if not later or not reopened or not _delivered_from(facts, facts["mailbox"], last_end["time"]):
            problems.append(f"{task_id}: the operator ended SMTP session #{last_end['seq']} "
                            f"({last_end['ended_by_operator']}) while PSC was valid, and the product did not "
                            "reopen a session and send the report")
    return judged("psc-reopen", problems, evidence, "a session the operator ended is reopened by the product "
                  "itself, and the report goes through", blocked)


def check_auth_error(run: dict) -> object:
    """An MSSanté authentication error (PSC refuses the login, or MSSanté the token) does not stop the
    product's other functions: the DMP send of the task is made (an ITI-41 reaches the DMP, whatever the DMP
    answers); and the product does not claim success."""
    problems, evidence, blocked = [], [], []
    for task in tasks(run, DENIED):
        facts, task_id = _facts(task), _task_id(task)
        errors = [r["time"] for r in facts["psc_refusals"]]
        errors += [a["time"] for a in facts["auths"] if a["verdict"] != "ok"]
        # the DMP send was made: whatever the DMP then thinks of the report is not this requirement's
        attempted = facts["iti41"]
        evidence.append({"task": task_id, "psc_refusals": facts["psc_refusals"],
                         "xoauth2": facts["auths"], "iti41": facts["iti41"],
                         "claimed_ok": bool(task["result"].get("ok"))})
        if not errors:
            blocked.append({"check": None, "task": task_id, "reason": "no authentication error happened: "
                            "neither PSC nor MSSanté refused the product in this task"})
            continue
        if not attempted:
            problems.append(f"{task_id}: the MSSanté authentication error stopped the product's DMP send "
                            "(no ITI-41 reached the DMP in the task)")
        if task["result"].get("ok"):
            detail = task["result"].get("detail")
            problems.append(f"{task_id}: the product says the task succeeded ({detail!r}) although MSSanté "
                            "could not be opened")
    return judged("psc-auth-error", problems, evidence, "an MSSanté authentication error leaves the DMP send "
                  "done and is reported as a failure", blocked)


def check_app_org_cert(run: dict) -> object:
    """Each session opening an application mailbox presented an ORG AUTH_CLI certificate of the sender's
    structure (OU = its IDNST, clientAuth usage)."""
    problems, evidence, blocked = [], [], []
    judged_sessions = 0
    for task in tasks(run, "mss", "citizen"):
        task_id = _task_id(task)
        structure = (task["task"].get("author") or {}).get("idnst")
        for session in _mailbox_sessions(run, task, ("APP",)):
            tls = (session.get("client") or {}).get("tls") or {}
            cert, login = tls.get("client_cert"), session["client"].get("login")
            if tls and not tls.get("client_cert_asked"):
                reason = (f"SMTP session #{session['seq']}: the stack's MSSanté did not ask for a client "
                          "certificate ([mssante] app_cert = \"record\")")
                blocked.append({"check": None, "task": task_id, "reason": reason})
                continue
            judged_sessions += 1
            evidence.append({"task": task_id, "seq": session["seq"], "login": login, "structure": structure,
                             "client_cert": cert})
            if not cert:
                problems.append(f"{task_id}: SMTP session #{session['seq']} opened the application mailbox "
                                f"{login} without a client certificate (an ORG AUTH_CLI certificate is due)")
            elif not cert.get("auth_cli"):
                problems.append(f"{task_id}: SMTP session #{session['seq']}: the certificate "
                                f"{cert['subject']} has no clientAuth usage (not AUTH_CLI)")
            elif cert.get("ou") != structure:
                problems.append(f"{task_id}: SMTP session #{session['seq']}: the certificate "
                                f"{cert['subject']} names the structure {cert.get('ou')}, not the sender's "
                                f"{structure}")
    if not judged_sessions and not blocked:
        blocked.append({"check": None, "task": "-", "reason": "no MSSanté session of an application mailbox "
                        "in the run (the author's organisation has none)"})
    return judged("mss-app-org-cert", problems, evidence, f"{judged_sessions} application-mailbox sessions, "
                  "each with an ORG AUTH_CLI certificate of the sender's structure", blocked)


CHECKS = (
    Check("psc-xoauth2", "Personal mailbox opened with XOAUTH2 and the professional's PSC token",
          "test_the_personal_mailbox_opens_with_xoauth2_and_a_psc_token_of_the_professional",
          "MSSanté API LPS, personal mailbox: every SMTP session opens with SASL XOAUTH2 (never PLAIN) and a "
          "PSC access token PSC issued for the task's professional; the report goes through it.",
          {RIS: ["MSS/CONF.07"], BIO: [], LGC: ["MSS/CONF.07"]},
          ("psc.sessions", "psc.auths", "psc.messages", "psc.psc_grants"),
          check_xoauth2, ("psc-plain-login",),
          hint="Open the personal mailbox with AUTH XOAUTH2 and the access token PSC gave this "
               "professional (user=<mailbox>^Aauth=Bearer <token>^A^A, MSS/CONF.07); never PLAIN."),
    Check("psc-reauth", "Re-authentication with PSC after its session ended",
          "test_after_a_psc_logout_the_product_authenticates_again_before_sending",
          "When the professional's PSC session ends (refresh token no longer valid), the product opens no "
          "session with the dead token and authenticates with PSC again before it sends.",
          {RIS: ["MSS/CONF.10"], BIO: [], LGC: ["MSS/CONF.10"]},
          ("psc.prepared", "psc.psc_grants", "psc.auths", "psc.messages"),
          check_reauth, ("psc-stale-token",),
          hint="When the refresh token is refused (the PSC session ended), drop the access token and send "
               "the professional through PSC again (authorization code or CIBA) before opening a session."),
    Check("psc-reopen", "SMTP session reopened after the operator ended it",
          "test_a_session_the_operator_ended_is_reopened_by_the_product",
          "When the operator ends the SMTP session while PSC is still valid, the product reopens one by "
          "itself and the report goes through.",
          {RIS: ["MSS/CONF.11"], BIO: [], LGC: ["MSS/CONF.11"]},
          ("psc.sessions", "psc.auths", "psc.messages"), check_reopen,
          ("psc-no-reopen",),
          hint="When the operator closes the SMTP session (421, or the connection dropped) while the PSC "
               "token is still valid, reconnect and authenticate again with it, then send: no user action."),
    Check("psc-auth-error", "An MSSanté authentication error does not stop the DMP send",
          "test_an_mssante_authentication_error_does_not_stop_the_dmp_send",
          "When PSC refuses the professional's login, the MSSanté error is reported (no success claimed) and "
          "does not disturb the product's other functions: the task's DMP send is made.",
          {RIS: ["MSS/CONF.08"], BIO: [], LGC: ["MSS/CONF.08"]},
          ("psc.psc_refusals", "psc.auths", "psc.iti41", "task.claims"),
          check_auth_error, ("psc-error-aborts",),
          hint="Report the MSSanté authentication error to the user (never a success) and carry on with the "
               "task's other sends: the DMP feed does not depend on the mailbox."),
    Check("mss-app-org-cert", "Application mailbox opened with the structure's ORG certificate",
          "test_the_application_mailbox_opens_with_an_org_auth_cli_certificate_of_its_structure",
          "MSSanté API LPS, application mailbox: each SMTP session presents an IGC-Santé ORG AUTH_CLI "
          "certificate of the sender's structure (OU = its IDNST) before PLAIN with the mailbox address.",
          {RIS: ["MSS/CONF.12"], BIO: [], PFI: ["MSS/CONF.12"]}, ("mss.sessions",), check_app_org_cert,
          ("app-mailbox-no-cert",),
          hint="Present the structure's IGC-Santé ORG AUTH_CLI certificate (OU = its IDNST) in the TLS "
               "handshake of every SMTP session of the application mailbox, then AUTH PLAIN with its "
               "address."),
)

CAPABILITY = Capability(
    "psc", "Pro Santé Connect tokens on the MSSanté API LPS (XOAUTH2, re-authentication, reopened sessions, "
    "authentication errors) and the application mailbox's ORG certificate",
    scenarios=SCENARIOS, plan=plan, prepare=prepare, observe=observe, checks=CHECKS, couloirs=(RIS,))
#: the GP's software (LGC): its REM has MSS/CONF.07, .08, .10, .11 APPROVED; its reports leave from the GP's
#: own (personal) mailbox, so it has no application mailbox to judge (and MSS/CONF.12 is OBSOLETE there)
LGC_CAPABILITY = Capability(
    "psc", "Pro Santé Connect tokens on the MSSanté API LPS of the GP's personal mailbox (XOAUTH2, "
    "re-authentication, reopened sessions, authentication errors)",
    scenarios=SCENARIOS, plan=plan, prepare=prepare, observe=observe, checks=CHECKS[:4], couloirs=(LGC,))


def _no_tasks(ctx: PlanContext) -> None:
    """The PFI's application mailbox is judged on the core MSSanté tasks: no task of its own."""


#: the intermediation platform (PFI) sends for the hospital's producing systems from the structure's
#: application mailbox: its REM has MSS/CONF.12 APPROVED and none of MSS/CONF.07-.11 (no PSC token on MSSanté)
PFI_CAPABILITY = Capability(
    "psc-app-cert", "the application mailbox's ORG AUTH_CLI certificate on the MSSanté API LPS",
    plan=_no_tasks, checks=CHECKS[4:], couloirs=(PFI,))


# --- the professional's PSC login itself (REM PSC.01, PSC.08) ---------------------------------------------
LOGIN = "psc-login"
#: the task action: the product authenticates the professional with PSC, as a user logging in (no send)
LOGIN_ACTION = "login-psc"
AUTHENTICATED = "authenticated"
#: the product's requests for an authentication: the authorization endpoint (code flow) and the CIBA
#: backchannel endpoint (`login` is the mock's own test-login form, which repeats the request's fields)
AUTH_REQUESTS = ("authorize", "ciba-auth")
#: the PSC mock's rule for an authentication request without acr_values=eidas1 (mocks/psc/rules.py)
ACR_RULE = "PSC-AUTHZ-004"
CODE_GRANT, CIBA_GRANT = NEW_AUTHORIZATIONS


def plan_login(ctx: PlanContext) -> None:
    """One task: the author logs in to the product with PSC. It is about no patient (`traits={}`: the core
    checks judge the identities of the tasks that give traits) and sends nothing."""
    author = ctx.author
    ctx.add("psc-login-01", LOGIN_ACTION, ctx.dmp_patients[0], LOGIN, AUTHENTICATED, traits={},
            extra={"idnps": author.idnps})


def _auth_request(exchange: dict) -> dict:
    """An authentication request as journalled: whom it asked (login_hint, or the professional PSC
    authenticated), its acr_values, whether a code came back (code flow) or an auth_req_id (CIBA)."""
    params = (exchange.get("request") or {}).get("params") or {}
    meta = exchange.get("meta") or {}
    location = (exchange.get("response") or {}).get("location") or ""
    return {"seq": exchange["seq"], "time": exchange["time"], "task": exchange.get("task"),
            "operation": exchange["operation"], "verdict": exchange["verdict"],
            "rules": exchange.get("rules") or [], "acr_values": params.get("acr_values"),
            "login_hint": params.get("login_hint"), "idnps": meta.get("idnps"),
            "code_issued": "code=" in location}


def observe_login(ctx: ObserveContext) -> dict:
    """The task's PSC exchanges: its authentication requests and its token grants (whom they are for)."""
    mine = [e for e in ctx.journals.get("psc", []) if ctx.in_task(e, "psc")]
    grants = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"],
               "grant_type": (e.get("meta") or {}).get("grant_type")
               or ((e.get("request") or {}).get("params") or {}).get("grant_type"),
               "idnps": (e.get("meta") or {}).get("idnps"), "session": (e.get("meta") or {}).get("session")}
              for e in mine if e["operation"] == "token"]
    return {"idnps": ctx.task["extra"].get("idnps"),
            "requests": [_auth_request(e) for e in mine if e["operation"] in AUTH_REQUESTS],
            "grants": grants}


def check_login(run: dict) -> object:
    """PSC.01: the product authenticates the professional with PSC through a complete flow with the PSC
    mock: an authorization request whose code it redeemed at the token endpoint (the mock checks the
    redirect URI and the PKCE verifier of the request), or a CIBA request it polled to the tokens; the
    professional PSC authenticated is the one who logs in."""
    problems, evidence = [], []
    for task in tasks(run, LOGIN):
        facts, task_id = (task.get("observed") or {}).get(LOGIN) or {}, _task_id(task)
        idnps, grants = facts.get("idnps"), facts.get("grants") or []
        complete = [g for g in grants if g["verdict"] == "ok" and g["grant_type"] in NEW_AUTHORIZATIONS]
        evidence.append({"task": task_id, "idnps": idnps, "requests": facts.get("requests") or [],
                         "grants": grants, "claimed_ok": bool(task["result"].get("ok"))})
        if not complete:
            asked = facts.get("requests") or []
            how = (f"{len(asked)} authentication request(s), none redeemed for tokens" if asked
                   else "no authentication request reached PSC")
            problems.append(f"{task_id}: the product did not authenticate {idnps} with Pro Santé Connect "
                            f"through a complete code or CIBA flow ({how})")
            continue
        others = sorted({g["idnps"] for g in complete if g["idnps"] != idnps})
        if others:
            problems.append(f"{task_id}: PSC authenticated {', '.join(others)}, not the professional who "
                            f"logs in ({idnps})")
        if not task["result"].get("ok"):
            problems.append(f"{task_id}: PSC authenticated {idnps} but the product says the login failed "
                            f"({task['result'].get('detail')!r})")
    return judged("psc-login", problems, evidence, "the professional logged in through a complete PSC flow "
                  "(authorization code redeemed, or CIBA), for the professional who logs in")


def check_eidas1(run: dict) -> object:
    """PSC.08: every authentication request the product made to PSC during the run (authorization endpoint,
    CIBA endpoint) asked acr_values=eidas1. Blocked when the product made none."""
    problems, evidence, blocked = [], [], []
    requests = [_auth_request(e) for e in (run.get("journals") or {}).get("psc", [])
                if e["operation"] in AUTH_REQUESTS]
    for request in requests:
        evidence.append(request)
        asked = (request["acr_values"] or "").split()
        if "eidas1" not in asked or ACR_RULE in request["rules"]:
            where = "authorization" if request["operation"] == "authorize" else "CIBA authentication"
            problems.append(f"{request['task'] or '-'}: the {where} request #{request['seq']} asked "
                            f"acr_values={request['acr_values']!r}, not eidas1 ({ACR_RULE})")
    if not requests:
        blocked.append({"check": None, "task": "-", "reason": "the product made no authentication request to "
                        "Pro Santé Connect in the run"})
    return judged("psc-eidas1", problems, evidence, f"{len(requests)} PSC authentication requests, each "
                  "with acr_values=eidas1", blocked)


LOGIN_CHECKS = (
    Check("psc-login", "The professional logs in through a complete Pro Santé Connect flow",
          "test_the_professional_logs_in_through_a_complete_psc_flow",
          "PSC.01: the product authenticates the professional with Pro Santé Connect by one of its ways "
          "(web, or native with a browser: the authorization code flow, its code redeemed with the redirect "
          "URI and PKCE verifier; native with CIBA: the backchannel request polled to the tokens), for the "
          "professional who logs in.",
          {RIS: ["PSC.01"], BIO: ["PSC.01"], LGC: ["PSC.01"], DPI: ["PSC.01"], PFI: ["PSC.01"]},
          ("psc-login.requests", "psc-login.grants", "task.claims"), check_login, ("psc-login-local",),
          hint="Log the professional in with Pro Santé Connect (authorization code with PKCE and the "
               "registered redirect URI, or CIBA with login_hint) and redeem the code or poll the CIBA "
               "request until PSC issues the tokens."),
    Check("psc-eidas1", "Every PSC authentication request asks acr_values=eidas1",
          "test_every_psc_authentication_request_asks_eidas1",
          "PSC.08: every authentication request the product sends to Pro Santé Connect during the run (the "
          "authorization endpoint's, the CIBA endpoint's) carries acr_values=eidas1.",
          {RIS: ["PSC.08"], BIO: ["PSC.08"], LGC: ["PSC.08"], DPI: ["PSC.08"], PFI: []},
          ("journals.psc",), check_eidas1, ("psc-no-eidas1",),
          hint="Add acr_values=eidas1 to the authorization request and to the CIBA request (PSC technical "
               "documentation; the PSC mock journals PSC-AUTHZ-004 when it is missing)."),
)
#: the login with PSC in every couloir whose REM has PSC.01 APPROVED (RIS, BIO, LGC, DPI, PFI); PSC.08 is
#: APPROVED for the four first, not for the PFI
LOGIN_CAPABILITY = Capability(
    LOGIN, "the professional's login with Pro Santé Connect (a complete flow, acr_values=eidas1)",
    scenarios=(LOGIN,), plan=plan_login, observe=observe_login, checks=LOGIN_CHECKS,
    couloirs=(RIS, BIO, LGC, DPI))
PFI_LOGIN_CAPABILITY = Capability(
    LOGIN, "the professional's login with Pro Santé Connect (a complete flow)",
    scenarios=(LOGIN,), plan=plan_login, observe=observe_login, checks=LOGIN_CHECKS[:1], couloirs=(PFI,))
#: the variants for the couloirs beyond RIS, and the login's (`capabilities.CAPABILITIES`)
OTHER_COULOIRS = (LGC_CAPABILITY, PFI_CAPABILITY, LOGIN_CAPABILITY, PFI_LOGIN_CAPABILITY)
