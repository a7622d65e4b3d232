"""Delivery status notifications (DSN) and message disposition notifications (MDN) the mock sends back.

- DSN, RFC 3464 in a ``multipart/report; report-type=delivery-status`` (RFC 6522): a human part, a
  ``message/delivery-status`` part (per-message ``Reporting-MTA``/``Arrival-Date``, per-recipient
  ``Final-Recipient``/``Action: failed``/``Status``/``Diagnostic-Code``) and the original headers
  (``text/rfc822-headers``). Sent from ``MAILER-DAEMON`` to the envelope sender when a recipient
  accepted at RCPT cannot be delivered (``recipient_policy="dsn"``).
- MDN, RFC 8098 as the ANS volet "transmission de documents CDA par courriel MSSanté" profiles it
  (struct-msg-mdn.md): ``multipart/report; report-type=disposition-notification`` with a human
  part, a ``message/disposition-notification`` part carrying ``Original-Recipient``,
  ``Final-Recipient``, ``Original-Message-ID`` and ``Disposition: automatic-action/
  MDN-sent-automatically; processed`` (``processed/error`` when the checks failed), then the
  original message. The volet's error form ``processed/Error: code^libellé`` carries HL7
  messageErrorCondition codes of a receiving DPI; the mock is not a DPI, so it carries the rule
  ids of its own checks instead, and says so in the human part.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

CRLF = "\r\n"
MDN_INTRO = "Le message ci-dessous a été reçu et contrôlé par le bouchon MSSanté (Ségur conformance harness)."
MDN_RULES_NOTE = "(Codes de règles du bouchon, pas des codes HL7 messageErrorCondition d'un DPI.)"


def _boundary() -> str:
    return f"=_segur_{uuid.uuid4().hex}"


def _report_head(hostname: str, report_type: str, boundary: str) -> list[str]:
    """The header lines every report shares after From/To/Subject (RFC 6522 multipart/report, RFC 3834
    Auto-Submitted), then the start of its human-readable first part."""
    return [
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {make_msgid(domain=hostname)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
    ]


def _headers_only(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    return head.decode("utf-8", "replace").replace("\r\n", "\n").replace("\n", CRLF)


def build_dsn(*, hostname: str, sender: str, original: bytes, failures: list[tuple[str, str]],
              arrival: datetime | None = None) -> bytes:
    """A DSN (RFC 3464) telling `sender` that each `(recipient, smtp_reply)` in `failures` failed."""
    boundary = _boundary()
    arrival = arrival or datetime.now(UTC)
    human = ["This is the MSSanté mock (Ségur conformance harness) delivery report.",
             "Your message could not be delivered to the following recipient(s):", ""]
    human += [f"  <{rcpt}>: {reply}" for rcpt, reply in failures]
    per_recipient = []
    for rcpt, reply in failures:
        code = reply.split(" ")
        status = code[1] if len(code) > 1 and code[1][:1] in "245" and "." in code[1] else "5.0.0"
        per_recipient.append(CRLF.join([f"Final-Recipient: rfc822; {rcpt}", "Action: failed",
                                        f"Status: {status}", f"Diagnostic-Code: smtp; {reply}"]))
    lines = [
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{sender}>",
        "Subject: Undelivered Mail Returned to Sender",
        *_report_head(hostname, "delivery-status", boundary),
        *human,
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {hostname}",
        f"Arrival-Date: {format_datetime(arrival)}",
        "",
        (CRLF + CRLF).join(per_recipient),
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        _headers_only(original),
        "",
        f"--{boundary}--",
        "",
    ]
    return CRLF.join(lines).encode("utf-8")


def build_mdn(*, hostname: str, reporter: str, to: str, original: bytes, original_message_id: str | None,
              original_recipient: str, subject: str | None, verdict: str, rules: list[str]) -> bytes:
    """An MDN (RFC 8098, ANS volet profile) from `reporter` (the recipient mailbox) to `to`."""
    boundary = _boundary()
    failed = verdict != "pass"
    disposition = "automatic-action/MDN-sent-automatically; processed"
    if failed:
        disposition += "/error"
    base_subject = subject or ""
    mdn_subject = f"[KO Intégration système !][{rules[0] if rules else 'MSS'}] {base_subject}" if failed \
        else base_subject
    human = [MDN_INTRO, f"Verdict : {verdict}."]
    if failed:
        human += [f"Règles en échec : {', '.join(rules)}", MDN_RULES_NOTE]
    fields = [f"Reporting-UA: {hostname}; segur-mssante-mock",
              f"Original-Recipient: rfc822;{original_recipient}",
              f"Final-Recipient: rfc822;{original_recipient}"]
    if original_message_id:
        fields.append(f"Original-Message-ID: {original_message_id}")
    fields.append(f"Disposition: {disposition}")
    if failed:
        fields.append(f"Error: {', '.join(rules)}")
    original_text = original.decode("utf-8", "replace").replace("\r\n", "\n").replace("\n", CRLF)
    lines = [
        f"From: <{reporter}>",
        f"To: <{to}>",
        f"Subject: {mdn_subject}",
        *_report_head(hostname, "disposition-notification", boundary),
        *human,
        "",
        f"--{boundary}",
        "Content-Type: message/disposition-notification",
        "",
        *fields,
        "",
        f"--{boundary}",
        "Content-Type: message/rfc822",
        "",
        original_text,
        f"--{boundary}--",
        "",
    ]
    return CRLF.join(lines).encode("utf-8")
