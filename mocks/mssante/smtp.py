"""The SMTP submission side (aiosmtpd): STARTTLS, AUTH only over TLS, RCPT checks, DATA → checks.

RFC behaviour relied on: STARTTLS (RFC 3207 — ``530`` before it when TLS is required, a new
session after it), AUTH (RFC 4954 — ``538 5.7.11`` when attempted in clear, ``535 5.7.8`` on bad
credentials, ``530 5.7.0`` for MAIL without AUTH), SIZE (RFC 1870 — advertised, ``552`` over the
limit; the excess is discarded while reading, so a 100 MB message never sits in memory).
Mechanisms: PLAIN and LOGIN (mailbox address + password; applicative mailboxes use PLAIN after
TLS with a client certificate, REM SC.MSS/CONF.12) and XOAUTH2 (REM SC.MSS/CONF.07: ``user=<BAL>
^Aauth=Bearer <PSC access token>^A^A``; any non-empty token unless tokens are configured).
Every session is journalled (transcript with AUTH secrets masked, TLS details, refusals as
rule findings) and every message too (verdict, rules, where it was delivered).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import re
import time
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, syntax

from segur.kernel.faults import FaultBook, FaultError
from segur.kernel.findings import Finding
from segur.kernel.journal import Journal
from segur.kernel.rules import Rule
from segur.mocks.mssante import rules
from segur.mocks.mssante.models import MssanteBackend, RecipientCheck
from segur.mocks.mssante.smtp_data import ChunkedData

MAX_TRANSCRIPT = 300
AUTH_LINE_LIMIT = 12288  # RFC 4954 §4
OVERLOAD_REPLY = "421 4.3.2 Service not available, closing transmission channel (fault injected: overload)"


def _computed_only(seconds: float) -> None:
    """The fault book's sleep: none (a slow session must not hold a thread)."""


FAULT_KINDS = {
    # a temporary SMTP reply (421/450/451/452…) at a stage: `operation` is connect, mail, rcpt or data
    "smtp_reply": {"code": 451, "message": "4.3.0 Temporary failure (fault injected)"},
    # the server stops offering STARTTLS on new connections (clients that insist on TLS must give up)
    "tls_off": {},
}
#: The SMTP stage a fault hits when its `operation` is not given.
DEFAULT_STAGE = {"smtp_reply": "data", "latency": "data", "overload": "data", "tls_off": "connect",
                 "http_error": "data"}
STAGES = ("connect", "mail", "rcpt", "data", "*")


class SmtpFaultBook(FaultBook):
    """The kernel's fault book, with `operation` meaning the SMTP stage (default: data; tls_off: connect).
    It computes a fault's delay without sleeping: the session waits on the event loop (`MssHandler`)."""

    def __init__(self, extra_kinds=FAULT_KINDS, seed: int = 0):
        super().__init__(extra_kinds, seed, sleep=_computed_only)

    def add(self, spec):
        if isinstance(spec, dict) and spec.get("kind") in DEFAULT_STAGE:
            spec = {**spec, "operation": spec.get("operation", DEFAULT_STAGE[spec["kind"]])}
            if spec["operation"] not in STAGES:
                raise FaultError(f"operation is the SMTP stage: one of {', '.join(STAGES)}")
            if spec["kind"] == "smtp_reply":
                code = spec.get("code", 451)
                if not isinstance(code, int) or not 400 <= code <= 599:
                    raise FaultError("code must be an SMTP reply code (400-599)")
        return super().add(spec)


class _QuietDeprecation(logging.Filter):
    """Drop two aiosmtpd warnings that are expected here: its own login_data deprecation (logged on every
    AUTH) and the CERT_REQUIRED warning of mutual TLS, which is what --mtls asks for."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return "login_data is deprecated" not in text and "tls_context.verify_mode" not in text


logging.getLogger("mail.log").addFilter(_QuietDeprecation())
#: aiosmtpd replies rewritten with their RFC 3463 enhanced status code (RFC 3207 §4, RFC 1870)
_ENHANCED = {
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
    "552 Error: Too much mail data": "552 5.3.4 Message size exceeds fixed maximum message size",
    "552 Error: message size exceeds fixed maximum message size":
        "552 5.3.4 Message size exceeds fixed maximum message size",
}
#: The enhanced code (RFC 3463) given to a reply that has none, by reply code; else class.0.0. Since EHLO
#: advertises ENHANCEDSTATUSCODES, RFC 2034 §3 wants one on every 2xx/4xx/5xx reply but the greeting and
#: the answers to EHLO/HELO. X.5.1 invalid command, X.5.2 syntax error, X.5.4 invalid arguments.
_DEFAULT_ENHANCED = {"235": "2.7.0", "421": "4.3.0", "451": "4.3.0", "454": "4.7.0", "500": "5.5.2",
                     "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4", "530": "5.7.0",
                     "535": "5.7.8", "538": "5.7.11", "552": "5.3.4", "555": "5.5.4"}
_REPLY = re.compile(r"^([245]\d\d)([ -])(.*)$", re.DOTALL)
_ENHANCED_CODE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}(?: |$)")


def with_enhanced_code(reply: str) -> str:
    """`reply` with an RFC 3463 enhanced status code after its reply code, when it has none."""
    match = _REPLY.match(reply)
    if match is None or _ENHANCED_CODE.match(match[3]):
        return reply
    code = match[1]
    return f"{code}{match[2]}{_DEFAULT_ENHANCED.get(code, code[0] + '.0.0')} {match[3]}"


_INTERNAL_REFUSALS = (  # aiosmtpd's own replies → the rule they mean
    ("530 5.7.0 Must issue a STARTTLS", rules.TLS_REQUIRED),
    ("538", rules.AUTH_TLS),
    ("535", rules.AUTH_FAILED),
    ("530 5.7.0 Authentication required", rules.AUTH_REQUIRED),
    ("552", rules.SIZE),
)


class MssSmtp(ChunkedData, SMTP):
    """aiosmtpd's SMTP with a session journal, TLS-off faults and connect-time faults; DATA is read in
    large chunks (`smtp_data.ChunkedData`, aiosmtpd's semantics, ~20 times less CPU on a 1.4 MB message)."""

    # AUTH carries a PSC access token (a JWT of a kilobyte or more): RFC 4954 §4 allows an AUTH line of
    # 12288 octets; every other command keeps the 512 of RFC 5321 §4.5.3.1.4
    line_length_limit = AUTH_LINE_LIMIT + 2

    def __init__(self, handler: MssHandler, **kwargs):
        super().__init__(handler, **kwargs)
        # aiosmtpd empties its class-wide limits when a session starts: this session's own, set after
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit,
                                                           {"AUTH": AUTH_LINE_LIMIT})
        self.mss = handler
        self.transcript: list[str] = []
        self.findings: list[Finding] = []
        self.login: str | None = None
        self.tls_info: dict = {}
        self.started = time.monotonic()
        self.message_ids: list[str] = []
        self._in_data = False
        self._greeted = False  # the greeting and the answers to EHLO/HELO: no enhanced code (RFC 2034 §3)
        self._answering_hello = False
        self._last_command = ""
        self._connect_reply: str | None = None
        faults = handler.faults.select("connect", {})
        if FaultBook.first(faults, "tls_off"):
            self.tls_context = None
            self.require_starttls = False
            self.tls_info["fault"] = "tls_off: STARTTLS not offered"
        reply = FaultBook.first(faults, "smtp_reply")
        if reply:
            self._connect_reply = f"{reply.params['code']} {reply.params['message']}"

    def _cb_client_connected(self, reader, writer):
        super()._cb_client_connected(reader, writer)
        read_until, read_line = reader.readuntil, reader.readline

        async def readuntil(separator=b"\n"):
            data = await read_until(separator)
            self._heard(data)
            return data

        async def readline():
            data = await read_line()
            self._heard(data, secret=True)
            return data

        # the transcript wrappers are taken off while DATA streams in (see push): one call per line
        self._readers = {"listening": (readuntil, readline), "data": (read_until, read_line)}
        reader.readuntil, reader.readline = readuntil, readline

    def _heard(self, data: bytes, secret: bool = False) -> None:
        if self._in_data or len(self.transcript) >= MAX_TRANSCRIPT:
            return
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        if secret or text.upper().startswith("AUTH "):
            text = text[:10] + " ****" if text.upper().startswith("AUTH ") else "****"
        self._last_command = text.split(" ", 1)[0].upper()
        self.transcript.append("C: " + text[:300])

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if text in _ENHANCED:
            text = status = _ENHANCED[text]
        elif self._greeted and not self._answering_hello:
            text = status = with_enhanced_code(text)
        self._greeted = True
        if len(self.transcript) < MAX_TRANSCRIPT:
            self.transcript.append("S: " + text[:300])
        in_data = text.startswith("354")
        if in_data != self._in_data and getattr(self, "_readers", None):
            self._reader.readuntil, self._reader.readline = self._readers["data" if in_data else "listening"]
        self._in_data = in_data
        for prefix, rule in _INTERNAL_REFUSALS:
            if text.startswith(prefix):
                self.findings.append(self._internal_finding(rule))
                break
        await super().push(status)

    @syntax("EHLO hostname")  # aiosmtpd's own syntax, so that HELP still lists the command
    async def smtp_EHLO(self, hostname: str):
        self._answering_hello = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._answering_hello = False

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str):
        self._answering_hello = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._answering_hello = False

    def _internal_finding(self, rule: Rule) -> Finding:
        context = {"command": self._last_command or "?", "login": self._pending_login or "?",
                   "size": "more than the limit", "limit": self.data_size_limit}
        return rule.finding(location=f"SMTP {self._last_command}", **context)

    _pending_login: str | None = None

    async def _handle_client(self):
        if self._connect_reply:
            await self.push(self._connect_reply)
            self.transport.close()
            return
        await super()._handle_client()

    def connection_made(self, transport):
        super().connection_made(transport)
        if self._tls_protocol is not None:  # after STARTTLS: what was negotiated
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                cert = ssl_object.getpeercert() or {}
                subject = dict(x[0] for x in cert.get("subject", ()))
                self.tls_info.update({"version": ssl_object.version(),
                                      "cipher": (ssl_object.cipher() or [None])[0],
                                      "client_cert_cn": subject.get("commonName"),
                                      "client_cert_o": subject.get("organizationName")})
            self.login = None

    def use(self, handler: MssHandler) -> None:
        """Serve the rest of this session with a tenant's handler (its mailboxes, journal and faults): the
        login named the tenant (`segur.kernel.tenants.split_login`)."""
        if handler is self.mss:
            return
        self.mss = self.event_handler = handler
        self._handle_hooks = {name: getattr(handler, "handle_" + name) for name in self._handle_hooks}

    def connection_lost(self, error):
        try:
            self.mss.record_session(self)
        finally:
            super().connection_lost(error)

    # XOAUTH2 (REM SC.MSS/CONF.07): user=<mailbox>\x01auth=Bearer <token>\x01\x01
    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            blob = args[1].encode()
        else:
            blob = await self.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        try:
            text = base64.b64decode(blob, validate=True).decode("utf-8")
            fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
            user, token = fields.get("user", ""), fields.get("auth", "")
            token = token[7:] if token.lower().startswith("bearer ") else ""
        except (ValueError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode XOAUTH2 response")
        self._pending_login = user
        user, handler = self.mss.resolve(user)
        self.use(handler)
        verdict = self.mss.backend.verify_token(user, token)
        named = {"professional": verdict.professional} if verdict.professional else None
        self.mss.journal.record("smtp-auth", "ok" if verdict.ok else "refused", meta=named,
                                request={"login": user, "mechanism": "XOAUTH2"},
                                findings=[verdict.finding] if verdict.finding else ())
        if verdict.ok:
            self.login = user
            return AuthResult(success=True, auth_data=user)
        if verdict.finding is not None:  # say why, with the rule's reply (454 when PSC could not be asked)
            rule = rules.PSC_UNREACHABLE if verdict.temporary else rules.PSC_TOKEN_REFUSED
            code = rule.extra["smtp_reply"]
            text = " ".join(f"{verdict.finding.rule}: {verdict.finding.message}".split())  # one line
            message = f"{code} {text}".encode("ascii", "replace").decode("ascii")[:MAX_REPLY_TEXT]  # 7-bit
            return AuthResult(success=False, handled=False, message=message)
        return AuthResult(success=False, handled=False)


MAX_REPLY_TEXT = 500  # RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its code and CRLF


def data_reply(message_id: str, verdict: str, rule_ids: list[str], admin_url: str | None) -> str:
    """The reply to DATA. A failing message is accepted and delivered all the same (so a developer
    sees it), so the reply says so and where the verdict is — a client reading only "250" must not
    take it for a pass: the X-Segur-* headers of the delivered copy and the admin API."""
    if verdict == "pass":
        return f"250 2.0.0 Ok: queued as {message_id} (verdict pass)"
    where = f"{(admin_url or '/_admin/').rstrip('/')}/messages/{message_id}"
    head = f"250 2.0.0 Ok: queued as {message_id} but verdict FAIL ("
    tail = ("): delivered for inspection only, see headers X-Segur-Verdict/X-Segur-Rules of the delivered "
            f"copy or GET {where}")
    return head + _rules_within(rule_ids, MAX_REPLY_TEXT - len(head) - len(tail)) + tail


def _rules_within(rule_ids: list[str], budget: int) -> str:
    """The first rule ids (at most 3) that fit in `budget` characters, and how many more there are."""
    for shown in range(min(3, len(rule_ids)), -1, -1):
        more = len(rule_ids) - shown
        and_more = f"{' and' if shown else ''} {more} more rule(s)" if more else ""
        text = ", ".join(rule_ids[:shown]) + and_more
        if len(text) <= budget:
            return text.strip()
    return f"{len(rule_ids)} rules"


class MssHandler:
    """aiosmtpd handler: what happens at MAIL, RCPT and DATA. The journal and the faults are the
    service's; `admin_url` (…/_admin/, once the admin API listens) is named in the reply to DATA."""

    def __init__(self, backend: MssanteBackend, journal: Journal, faults: SmtpFaultBook, deliver):
        self.backend = backend
        self.journal = journal
        self.faults = faults
        self.deliver = deliver  # async (address, raw) → None: put a copy in the IMAP mailbox
        self.admin_url: str | None = None
        #: login → (mailbox address, the handler of its tenant); the service sets it when it has tenants
        self.resolve: Callable[[str], tuple[str, MssHandler]] = lambda login: (login, self)

    # ---------------------------------------------------------------- authentication (PLAIN, LOGIN)
    def authenticate(self, server: MssSmtp, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        server._pending_login = login
        login, handler = self.resolve(login)
        server.use(handler)  # a tenant's session is journalled in the tenant's journal, refused or not
        if handler.backend.check_password(login, auth_data.password.decode("utf-8", "replace")):
            server.login = login
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    async def handle_EHLO(self, server: MssSmtp, session, envelope, hostname: str, responses: list[str]):
        """Advertise ENHANCEDSTATUSCODES (RFC 2034): every reply after EHLO carries an RFC 3463 code."""
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    # ---------------------------------------------------------------- faults
    async def _fault_reply(self, server: MssSmtp, stage: str) -> str | None:
        """The reply a fault in force at this SMTP stage gives instead of the mock's, after its delay (the
        fault book computes it; the session waits on the event loop, never blocking the other sessions)."""
        faults = self.faults.select(stage, {"login": server.login or ""})
        delay = self.faults.delay(faults)
        if delay:
            await asyncio.sleep(delay)
        if FaultBook.first(faults, "overload"):
            return OVERLOAD_REPLY
        reply = FaultBook.first(faults, "smtp_reply")
        if reply:
            return f"{reply.params['code']} {reply.params['message']}"
        return None

    # ---------------------------------------------------------------- SMTP hooks
    async def handle_MAIL(self, server: MssSmtp, session, envelope, address, mail_options):
        reply = await self._fault_reply(server, "mail")
        if reply:
            return reply
        login = session.auth_data if isinstance(session.auth_data, str) else server.login
        if login and address.lower() != login.lower():
            server.findings.append(rules.SENDER_NOT_OWNED.finding(location=f"MAIL FROM:<{address}>",
                                                                  sender=address, login=login))
            return rules.smtp_reply(rules.SENDER_NOT_OWNED, f"<{address}>: sender address not owned by the "
                                    f"authenticated mailbox <{login}>")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.mss_accepted, envelope.mss_bounced = [], []
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server: MssSmtp, session, envelope, address, rcpt_options):
        reply = await self._fault_reply(server, "rcpt")
        if reply:
            return reply
        accepted = getattr(envelope, "mss_accepted", [])
        bounced = getattr(envelope, "mss_bounced", [])
        if len(accepted) + len(bounced) >= self.backend.max_recipients:
            return rules.smtp_reply(rules.TOO_MANY_RECIPIENTS, "Too many recipients")
        check: RecipientCheck = self.backend.check_recipient(address)
        if not check.ok:
            server.findings.append(check.finding)
            if self.backend.recipient_policy == "rcpt":
                return check.reply
            bounced.append(check)
        else:
            accepted.append(check)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: MssSmtp, session, envelope):
        started = time.monotonic()
        reply = await self._fault_reply(server, "data")
        raw = envelope.original_content or b""
        if reply:
            self.journal.record("smtp-message", "fault-injected", request={"size": len(raw)},
                                response={"reply": reply}, client=self._client(server))
            return reply
        login = session.auth_data if isinstance(session.auth_data, str) else server.login
        accepted = getattr(envelope, "mss_accepted", [])
        bounced = getattr(envelope, "mss_bounced", [])
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(None, lambda: self.backend.process(
                raw, login=login, envelope_from=envelope.mail_from or "", accepted=accepted, bounced=bounced,
                session=self._trace_session(server, session, login)))
        except Exception as exc:  # noqa: BLE001 — never lose the session over a checker bug
            self.journal.record("smtp-message", "error", request={"size": len(raw)},
                                response={"reply": "451 4.3.0 internal error"},
                                meta={"error": f"{type(exc).__name__}: {exc}"}, client=self._client(server))
            return "451 4.3.0 Local error in processing; the message was not accepted"
        for delivery in outcome.deliveries:
            try:
                await self.deliver(delivery.mailbox, delivery.raw)
            except Exception as exc:  # noqa: BLE001 — the stored copy stays readable in /_admin/mailboxes
                problem = f"{type(exc).__name__}: {exc}"
                outcome.notes.append(f"IMAP copy for <{delivery.mailbox}> failed: {problem}")
        server.message_ids.append(outcome.id)
        report = outcome.report
        verdict = "accepted" if report.verdict == "pass" else "nonconformant"
        reply = data_reply(outcome.id, report.verdict, report.rules, self.admin_url)
        self.journal.record(
            "smtp-message", verdict, findings=report.findings,
            request={"from": envelope.mail_from, "to": [c.address for c in accepted + bounced],
                     "subject": report.subject, "message_id": report.message_id, "size": len(raw),
                     "attachments": report.attachments},
            response={"reply": reply, "delivered_to": [c.address for c in accepted],
                      "bounced": [{"recipient": c.address, "reply": c.reply} for c in bounced]},
            duration_ms=(time.monotonic() - started) * 1000, client=self._client(server),
            meta={"id": outcome.id, "notes": outcome.notes,
                  "documents": [d.to_dict() for d in report.package.documents] if report.package else []})
        return reply

    @staticmethod
    def _trace_session(server: MssSmtp, session, login: str | None) -> dict:
        """What the ``Received`` header of the delivered copies says of this session."""
        peer = session.peer if session else None
        return {"helo": getattr(session, "host_name", None), "tls": server._tls_protocol is not None,
                "peer_ip": peer[0] if isinstance(peer, tuple) and peer else peer, "auth": bool(login)}

    @staticmethod
    def _client(server: MssSmtp) -> dict:
        peer = server.session.peer if server.session else None
        return {"peer": list(peer) if isinstance(peer, tuple) else peer, "login": server.login,
                "tls": dict(server.tls_info)}

    def record_session(self, server: MssSmtp) -> None:
        refused = any(line.startswith("S: 5") for line in server.transcript)
        self.journal.record(
            "smtp-session", "refused" if refused else "ok", findings=server.findings,
            request={"transcript": server.transcript}, client=self._client(server),
            duration_ms=(time.monotonic() - server.started) * 1000, meta={"messages": server.message_ids})
