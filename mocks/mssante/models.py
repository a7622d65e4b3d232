"""The MSSanté mock's state and domain rules: who may log in, which recipients exist, what happens to a
message (checks, stamped copies, DSN/MDN), and the stored mailboxes.

No socket, no protocol library here (moto's pattern): the wire modules (`smtp`, `imap`, `responses`)
parse what a client sent and call `MssanteBackend`; the journal and the faults are the service's
(`service.MssanteService`). The domain's bigger parts have their own modules: `checks` (a message's
MIME, headers and attachments), `xdm` (IHE_XDM.ZIP), `cda` (the one CDA header model), `consistency`
(METADATA.XML against the CDA, the PDF copy, uniqueIds across messages), `notifications` (DSN, MDN) and
`store` (SQLite).

Every message that gets past RCPT is stored with its verdict — even when checks fail — so a developer
sees what was wrong; the verdict travels with the stored copy (``X-Segur-Verdict``/``X-Segur-Rules``
headers), in the journal and in ``/_admin/mailboxes``.

Addressing (the MSSanté trust space as the issue and the Annuaire santé describe it): operator
domains end in ``.mssante.fr``; the citizen's Mon espace santé address is
``<INS>@patient.mssante.fr`` (15-character INS: NIR/NIA + key) and exists only for a world patient.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from segur.kernel.findings import Finding
from segur.kernel.ins import CITIZEN_MAIL_DOMAIN, ins_problem
from segur.kernel.rules import Rule
from segur.mocks.mssante import rules
from segur.mocks.mssante.checks import MessageReport, check_message, document_texts
from segur.mocks.mssante.consistency import DocumentRegistry
from segur.mocks.mssante.notifications import build_dsn, build_mdn
from segur.mocks.mssante.store import MailStore
from segur.mocks.mssante.xdm import XdmLimits
from segur.validators import validate as validate_cda

DEFAULT_PASSWORD = "mssante-test"
DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024
TRUST_DOMAIN = "mssante.fr"


@dataclass
class RecipientCheck:
    address: str
    mailbox: object | None = None  # the world Mailbox when it exists
    reply: str | None = None  # the refusal (SMTP reply line), None when the recipient is deliverable
    finding: Finding | None = None

    @property
    def ok(self) -> bool:
        return self.reply is None

    def refuse(self, rule: Rule, text: str, **context) -> RecipientCheck:
        """Refused by `rule`: its SMTP reply (``<address>: text``) and its finding."""
        self.reply = rules.smtp_reply(rule, f"<{self.address}>: {text}")
        self.finding = rule.finding(location=f"RCPT TO:<{self.address}>", recipient=self.address, **context)
        return self


@dataclass
class StoredMessage:
    id: str
    mailbox: str
    kind: str  # "message", "dsn", "mdn"
    time: str
    envelope_from: str
    recipients: list[str]
    subject: str | None
    message_id: str | None
    size: int
    verdict: str
    rules: list[str]
    findings: list[dict]
    documents: list[dict]
    attachments: list[dict]
    cda_reports: dict
    raw: bytes = field(repr=False, default=b"")

    def to_dict(self, with_raw: bool = False, with_content: bool = False) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "raw"}
        if not with_content:
            data["documents"] = [{k: v for k, v in d.items() if k != "content"} for d in self.documents]
        if with_raw:
            data["raw"] = self.raw.decode("utf-8", "replace")
        return data

    def record(self) -> dict:
        """What the store keeps as JSON (the bytes are kept apart)."""
        return {k: v for k, v in self.__dict__.items() if k != "raw"}

    @classmethod
    def from_record(cls, record: dict, raw: bytes | None = None) -> StoredMessage:
        return cls(**record, raw=raw or b"")


@dataclass
class Delivery:
    """A copy to put in an IMAP mailbox."""

    mailbox: str
    raw: bytes
    stored: StoredMessage
    uid: int | None = None  # its IMAP UID in the mailbox's INBOX, once stored


@dataclass
class Outcome:
    """What `process` did with one message."""

    id: str
    report: MessageReport
    deliveries: list[Delivery]
    notes: list[str]


def run_validator(content: bytes):
    """`segur.validators.validate`, as a module-level function so that worker processes can receive it
    (packs are loaded on first use)."""
    return validate_cda(content)


def _without_segur_headers(raw: bytes) -> bytes:
    """`raw` minus any X-Segur-* header field (with its folded continuation lines) of the top header block."""
    end = raw.find(b"\r\n\r\n")
    if end < 0 or b"x-segur-" not in raw[:end].lower():
        return raw
    kept, skipping = [], False
    for line in raw[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.lower().startswith(b"x-segur-")
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept) + raw[end:]


_UNSAFE_IN_HEADER = re.compile(r"[^\x21-\x7e]")


def trace_headers(hostname: str, envelope_from: str, session: dict, message_id: str) -> bytes:
    """``Return-Path`` and ``Received`` as the delivering server writes them (RFC 5321 §4.4): the
    reverse path of the envelope, and where the message came from (EHLO name, address), who took it,
    with which protocol (RFC 3848: ESMTP, +S over TLS, +A authenticated) and when."""
    helo = _UNSAFE_IN_HEADER.sub("?", str(session.get("helo") or "unknown"))[:255]
    address = _UNSAFE_IN_HEADER.sub("?", str(session.get("peer_ip") or "unknown"))[:64]
    protocol = "ESMTP" + ("S" if session.get("tls") else "") + ("A" if session.get("auth") else "")
    reverse_path = _UNSAFE_IN_HEADER.sub("", envelope_from or "")[:320]
    return (f"Return-Path: <{reverse_path}>\r\n"
            f"Received: from {helo} ([{address}])\r\n\tby {hostname} with {protocol} id {message_id};\r\n"
            f"\t{format_datetime(datetime.now(UTC))}\r\n").encode("ascii")


def _check_in_worker(raw, login, recipients, validate, xdm_limits):
    return check_message(raw, login=login, recipients=recipients, validate=validate, xdm_limits=xdm_limits)


@dataclass(frozen=True)
class TokenVerdict:
    """Whether a token opens a mailbox; the professional it named; the finding when it does not."""

    ok: bool
    professional: str | None = None  # IDNPS
    finding: Finding | None = None
    temporary: bool = False  # PSC unreachable: 454, not 535
    session: str | None = None  # the PSC session (`sid`) the token belongs to


class MssanteBackend:
    """One MSSanté operator of the test world: its mailboxes, who may log in, what it does with a message."""

    def __init__(self, world, *, default_password: str = DEFAULT_PASSWORD, passwords: dict | None = None,
                 tokens: dict | None = None, accept_any_token: bool = True, psc=None,
                 size_limit: int = DEFAULT_SIZE_LIMIT, recipient_policy: str = "rcpt",
                 validate: Callable[[bytes], object] | None | bool = True,
                 xdm_limits: XdmLimits | None = None, hostname: str = "mssante.localhost",
                 max_recipients: int = 100, workers: int = 0, data_dir: str | Path | None = None,
                 power_safe: bool = False, store=None):
        if recipient_policy not in ("rcpt", "dsn"):
            raise ValueError("recipient_policy is 'rcpt' (refuse at RCPT TO) or 'dsn' (accept, then bounce)")
        self.world = world
        self.default_password = default_password
        self.passwords = {k.lower(): v for k, v in (passwords or {}).items()}
        self.tokens = {k.lower(): v for k, v in (tokens or {}).items()}
        self.accept_any_token = accept_any_token
        self.psc = psc  # a `psc.PscTokenChecker` when tokens are checked against Pro Santé Connect
        self.size_limit = size_limit
        self.recipient_policy = recipient_policy
        self.xdm_limits = xdm_limits or XdmLimits()
        self.hostname = hostname
        self.max_recipients = max_recipients
        self._validate = self._default_validator() if validate is True else (validate or None)
        # checks are CPU-bound Python: with workers > 0 they run in a process pool (one interpreter
        # lock each); `validate` must then be a module-level function (picklable)
        self.workers = workers
        self._pool = None
        if workers:
            self._pool = ProcessPoolExecutor(max_workers=workers)
        # the mailboxes, verdicts and journal: a given store (PostgreSQL, `store_pg`), else SQLite on disk
        # with `data_dir` (kept across restarts), else in memory
        self.store = store if store is not None else MailStore(data_dir, power_safe=power_safe)
        self._lock = threading.Lock()
        self.documents = DocumentRegistry()  # uniqueIds delivered by this instance (MSS-UNIQUEID-REUSED)
        for stored_id, documents in self.store.documents(self.documents.limit):  # kept across restarts
            self.documents.remember_stored(stored_id, documents)

    @staticmethod
    def _default_validator():
        return run_validator

    # ------------------------------------------------------------------ credentials
    def mailbox(self, address: str):
        return self.world.mailbox(address)

    def password_for(self, address: str) -> str | None:
        """The password of a mailbox that can log in (None for unknown or closed mailboxes)."""
        box = self.mailbox(address)
        if box is None or box.closed:
            return None
        return self.passwords.get(address.lower(), self.default_password)

    def check_password(self, login: str, secret: str) -> bool:
        expected = self.password_for(login or "")
        return expected is not None and hmac.compare_digest(expected.encode(), (secret or "").encode())

    def check_token(self, login: str, token: str) -> bool:
        """XOAUTH2 (REM SC.MSS/CONF.07): a Pro Santé Connect access token; any non-empty one by default."""
        return self.verify_token(login, token).ok

    def verify_token(self, login: str, token: str) -> TokenVerdict:
        """The verdict on an XOAUTH2 token: checked against Pro Santé Connect when `psc` is set (the
        professional it names is journalled), else a configured token or any non-empty one."""
        box = self.mailbox(login or "")
        if box is None or box.closed or not token:
            return TokenVerdict(False)
        if self.psc is not None:
            return self.psc.check(login, token, box)
        expected = self.tokens.get(login.lower())
        if expected is not None:
            return TokenVerdict(hmac.compare_digest(expected.encode(), token.encode()))
        return TokenVerdict(self.accept_any_token)

    # ------------------------------------------------------------------ recipients
    def check_recipient(self, address: str) -> RecipientCheck:
        """Whether `address` may receive: in the trust space, a mailbox of the world, open; a citizen's
        address is a valid INS of a world patient who accepts MSSanté messages."""
        address = address.strip()
        local, _, domain = address.rpartition("@")
        domain = domain.lower()
        check = RecipientCheck(address)
        if not local or not (domain == TRUST_DOMAIN or domain.endswith("." + TRUST_DOMAIN)):
            return check.refuse(rules.RCPT_OUTSIDE, "relay access denied, not an MSSante address")
        box = self.mailbox(address)
        if domain == CITIZEN_MAIL_DOMAIN:
            problem = ins_problem(local.upper())
            if problem:
                return check.refuse(rules.RCPT_CITIZEN_SYNTAX, "not a valid INS address", problem=problem)
            if box is None:
                return check.refuse(rules.RCPT_PATIENT_UNKNOWN, "patient not found", ins=local.upper())
            check.mailbox = box
            if box.refuses_messages:
                return check.refuse(rules.RCPT_CITIZEN_REFUSED, "the patient refused MSSante messages")
        elif box is None:
            return check.refuse(rules.RCPT_UNKNOWN, "recipient address rejected: user unknown")
        check.mailbox = box
        if box.closed:
            return check.refuse(rules.RCPT_CLOSED, "mailbox closed")
        return check

    # ------------------------------------------------------------------ messages
    def next_id(self) -> str:
        return f"MSS-{self.store.next_number():06d}"

    def process(self, raw: bytes, *, login: str | None, envelope_from: str, accepted: list[RecipientCheck],
                bounced: list[RecipientCheck] | None = None, session: dict | None = None) -> Outcome:
        """Check one message, store a copy in each accepted recipient's mailbox, and send the DSN/MDN due.
        `session`: what the SMTP session knows (``helo``, ``peer_ip``, ``tls``, ``auth``) for ``Received``."""
        message_id = self.next_id()
        recipients = [c.mailbox for c in accepted if c.mailbox is not None]
        if self._pool is not None:
            report = self._pool.submit(_check_in_worker, raw, login, recipients, self._validate,
                                       self.xdm_limits).result()
        else:
            report = check_message(raw, login=login, recipients=recipients, world=self.world,
                                   validate=self._validate, xdm_limits=self.xdm_limits)
        if report.package is not None and accepted:
            report.findings += self.documents.check_and_record(message_id, report.package.documents)
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        # without each document's text: `messages(with_content=True)` reads it again from the stored copy
        documents = [d.to_dict() for d in report.package.documents] if report.package else []
        stamped = self._stamp(raw, message_id, report,
                              trace_headers(self.hostname, envelope_from, session or {}, message_id))
        deliveries, notes = [], []
        for check in accepted:
            stored = StoredMessage(
                id=message_id, mailbox=check.address.lower(), kind="message", time=now,
                envelope_from=envelope_from, recipients=[c.address for c in accepted], subject=report.subject,
                message_id=report.message_id, size=len(raw), verdict=report.verdict, rules=report.rules,
                findings=[f.to_dict() for f in report.findings], documents=documents,
                attachments=report.attachments, cda_reports=report.cda_reports, raw=stamped)
            deliveries.append(Delivery(stored.mailbox, stamped, stored))
        if bounced:
            failures = [(c.address, c.reply) for c in bounced]
            dsn = build_dsn(hostname=self.hostname, sender=envelope_from, original=raw, failures=failures)
            deliveries += self._notification(dsn, "dsn", envelope_from, f"DSN for {message_id}", notes)
        if report.disposition_notification_to:
            self._mdn(raw, report, envelope_from, accepted, deliveries, notes, message_id)
        self._store(deliveries)
        return Outcome(message_id, report, deliveries, notes)

    def _mdn(self, raw, report: MessageReport, envelope_from, accepted, deliveries, notes,
             message_id) -> None:
        target = report.disposition_notification_to
        address = target.split("<")[-1].rstrip(">").strip() if target else ""
        if address.lower() != envelope_from.lower():
            notes.append(f"MDN not sent: Disposition-Notification-To <{address}> differs from the return "
                         f"path <{envelope_from}> (RFC 8098 §2.1: no automatic MDN then)")
            return
        for check in accepted:
            mdn = build_mdn(hostname=self.hostname, reporter=check.address, to=address, original=raw,
                            original_message_id=report.message_id, original_recipient=check.address,
                            subject=report.subject, verdict=report.verdict, rules=report.rules)
            subject = f"MDN for {message_id} from {check.address}"
            deliveries += self._notification(mdn, "mdn", address, subject, notes)

    def _notification(self, raw: bytes, kind: str, to: str, subject: str, notes: list[str]) -> list[Delivery]:
        if self.mailbox(to) is None:
            notes.append(f"{kind.upper()} not delivered: <{to}> is not a mailbox of the world")
            return []
        stored = StoredMessage(id=self.next_id(), mailbox=to.lower(), kind=kind,
                               time=datetime.now(UTC).isoformat(timespec="milliseconds"), envelope_from="",
                               recipients=[to], subject=subject, message_id=None, size=len(raw),
                               verdict="n/a", rules=[], findings=[], documents=[], attachments=[],
                               cda_reports={}, raw=raw)
        notes.append(f"{kind.upper()} {stored.id} delivered to <{to}>")
        return [Delivery(stored.mailbox, raw, stored)]

    @staticmethod
    def _stamp(raw: bytes, message_id: str, report: MessageReport, trace: bytes = b"") -> bytes:
        """The stored copy: the original message with the mock's verdict headers on top (any
        ``X-Segur-*`` header the sender wrote is removed first, so a verdict cannot be forged), and
        `trace` (``Return-Path``, ``Received``) above them; one copy of the message."""
        rules = ",".join(report.rules) or "none"
        head = (f"X-Segur-Verdict: {report.verdict}\r\nX-Segur-Rules: {rules}\r\n"
                f"X-Segur-Mock-Id: {message_id}\r\n").encode("ascii")
        return b"".join((trace, head, _without_segur_headers(raw)))

    def _store(self, deliveries: list[Delivery]) -> None:
        """Every copy of one message (and its DSN/MDN) in one transaction: all there, or none."""
        uids = self.store.add_copies((d.mailbox, d.stored.id, d.stored.kind, d.stored.record(), d.raw)
                                     for d in deliveries)
        for delivery, uid in zip(deliveries, uids, strict=True):
            delivery.uid = uid

    def messages(self, mailbox: str | None = None, with_raw: bool = False,
                 with_content: bool = False) -> list[StoredMessage]:
        """The stored copies (read from the store; the bytes only with `with_raw`, each document's text
        only with `with_content`)."""
        return self._copies(with_raw, with_content, mailbox=mailbox)

    def message(self, message_id: str, with_raw: bool = False,
                with_content: bool = False) -> list[StoredMessage]:
        return self._copies(with_raw, with_content, mock_id=message_id)

    def _copies(self, with_raw: bool, with_content: bool, **where) -> list[StoredMessage]:
        """The stored copies `where` says; with `with_content`, each document's text (``content``) read
        again from the stored copy as the checks read it: the store does not keep it twice (it was ~0.7 MB
        of JSON per 1 MB CDA, 1.4 ms of encoding per copy). A record stored with its texts keeps them."""
        copies = [StoredMessage.from_record(record, raw)
                  for record, raw in self.store.records(with_raw=with_raw or with_content, **where)]
        texts: dict[str, dict[str, str]] = {}  # by message id: the copies of one message share their texts
        for stored in copies:
            missing = [d for d in stored.documents if "content" not in d and d.get("path") is not None]
            if with_content and missing:
                if stored.id not in texts:
                    texts[stored.id] = document_texts(stored.raw, self.xdm_limits)
                for document in missing:
                    if document["path"] in texts[stored.id]:
                        document["content"] = texts[stored.id][document["path"]]
            if not with_raw:
                stored.raw = b""
        return copies

    def message_counts(self) -> dict[str, int]:
        return self.store.counts()

    def reset(self) -> None:
        self.store.reset()
        self.documents.clear()

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.store.close()
