"""The checks applied to every submitted message once its content is known (after DATA).

Pure functions of the message bytes and what the session knows (who authenticated, to whom the
message goes); no socket, no storage, so each rule is tested directly as well as over SMTP.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import functools
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email._encoded_words import decode_b  # what Message.get_payload(decode=True) uses for base64
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import getaddresses

from segur.kernel.findings import Finding, Severity
from segur.kernel.ins import CITIZEN_MAIL_DOMAIN
from segur.kernel.rules import Rule
from segur.mocks.mssante import rules
from segur.mocks.mssante.cda import NotXml, read_cda_header
from segur.mocks.mssante.consistency import check_pdf_copies
from segur.mocks.mssante.xdm import ZIP_NAME, XdmLimits, XdmPackage, read_xdm

SUBJECT_PREFIX = "XDM/1.0/DDM+"
ZIP_TYPE = "application/zip"


class _CachedHeaderRegistry(HeaderRegistry):
    """The stdlib registry builds a new header class with `type()` on every lookup (a third of the
    parsing time of a small message); the classes depend only on the header name, so cache them."""

    @functools.lru_cache(maxsize=512)  # noqa: B019 — one registry for the process, never collected
    def __getitem__(self, name):
        return super().__getitem__(name)


class _ParsedHeadersPolicy(email.policy.EmailPolicy):
    """`email.policy.default` that parses a header value once, however often it is read.

    The stdlib parses the raw value again on every ``get``: the checks read ~40 header values of a
    message (each part's Content-Type is read by ``get_content_type``, ``get_filename``, ``walk``…), a
    few milliseconds of pure-Python parsing per message for ~10 distinct values. The parsed header (an
    immutable `str`) of the last raw values read is kept, keyed by the identity of the raw value object
    the message holds (kept here too, so that identity is never reused) and the header name; a header
    that is set or replaced is a new object, so it is parsed again. Values over `_MAX_CACHED` characters
    are not kept."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > _MAX_CACHED:
            return super().header_fetch_parse(name, value)
        key = (id(value), name)
        with _PARSED_LOCK:
            known = _PARSED.get(key)
            if known is not None and known[0] is value:
                _PARSED.move_to_end(key)
                return known[1]
        parsed = super().header_fetch_parse(name, value)
        with _PARSED_LOCK:
            _PARSED[key] = (value, parsed)
            while len(_PARSED) > _KEEP_PARSED:
                _PARSED.popitem(last=False)
        return parsed


_MAX_CACHED = 4096
_KEEP_PARSED = 1024  # the headers of a few messages in flight; a few hundred KiB at most
_PARSED: OrderedDict[tuple[int, str], tuple[str, object]] = OrderedDict()
_PARSED_LOCK = threading.Lock()
POLICY = _ParsedHeadersPolicy(header_factory=_CachedHeaderRegistry())
#: REM SC.MSS/CONF.16 (IT2 04/11/2022 note, ../shared/rem/squash_requirements_all_projects_2023-01.csv): the
#: « référence » is "un entier incrémental sans limitation (entier à 4 chiffres à la publication du
#: Référentiel)" — any unsigned integer, 4 digits only at first.
_NIL = re.compile(r"^[0-9]+$")
_DATE = re.compile(r"\s+(\d{2})/(\d{2})/(\d{4})$")


class Attachment:
    """An attachment of a message: its file name, its type and its bytes (`content`).

    A base64 body (`base64_text`: its text, line breaks removed) is decoded only when its bytes are
    asked for, by `decode_b` with the same defects as the stdlib's ``get_payload(decode=True)``. When
    that text is `clean_base64`, its size and first bytes are known without decoding it all, and it
    is the same file as any identical base64 text: a PDF copy compared with the PDF its CDA carries,
    one encoder's text on both sides, is then neither decoded here nor in the CDA (~1.6 ms each for
    0.7 MB of base64)."""

    def __init__(self, filename: str | None, content_type: str, content: bytes | None = None, *,
                 base64_text: bytes | None = None, part: EmailMessage | None = None,
                 alphabet_only: bool = False):
        self.filename = filename
        self.content_type = content_type
        self._content = content
        self.base64_text = base64_text if content is None else None
        self._part = part
        self._alphabet_only = alphabet_only  # the text is known to hold base64 characters and '=' only

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r})"

    @property
    def content(self) -> bytes:
        if self._content is None:
            try:
                value, defects = decode_b(self.base64_text or b"")
                for defect in defects:
                    if self._part is not None:
                        self._part.policy.handle_defect(self._part, defect)
            except Exception:  # noqa: BLE001 — as an undecodable payload before: no bytes
                value = b""
            self._content = value or b""
        return self._content

    @functools.cached_property
    def clean_text(self) -> bytes | None:
        """`base64_text` when it is `clean_base64` and not decoded yet, else None."""
        text = self.base64_text
        if self._content is not None or text is None:
            return None
        return text if (padded(text) if self._alphabet_only else clean_base64(text)) else None

    @property
    def size(self) -> int:
        text = self.clean_text
        if text is None:
            return len(self.content)
        return len(text) // 4 * 3 - (len(text) - len(text.rstrip(b"=")))

    def head(self, size: int) -> bytes:
        """The first `size` bytes of `content` (from the first quads of a clean text: the same bytes)."""
        text = self.clean_text
        if text is None:
            return self.content[:size]
        return binascii.a2b_base64(text[:-(-size // 3) * 4], strict_mode=True)[:size]

    @functools.cached_property
    def kind(self) -> str:
        name = (self.filename or "").lower()
        if name.endswith(".zip") or self.content_type == ZIP_TYPE or self.head(4) == b"PK\x03\x04":
            return "zip"
        if name.endswith(".pdf") or self.content_type == "application/pdf" or self.head(5) == b"%PDF-":
            return "pdf"
        if name.endswith(".xml") or self.content_type in ("text/xml", "application/xml") \
                or b"ClinicalDocument" in self.head(4096):
            return "xml"
        return "other"


_BASE64_DATA = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def clean_base64(text: bytes) -> bool:
    """Whether `text` is base64 that every decoder reads alike and without complaint: letters, digits,
    ``+`` and ``/`` in groups of four, the last group ending with at most two ``=``. The strict decoding
    (``binascii.a2b_base64(strict_mode=True)``) then succeeds, and `decode_b` and the validator's
    `decode_base64` give its bytes with no defect; so two identical clean texts are the same bytes."""
    if not text or len(text) % 4:
        return False
    padding = text.translate(None, _BASE64_DATA)
    return padding in (b"", b"=", b"==") and text.endswith(padding)


def padded(text: bytes) -> bool:
    """`clean_base64` for a text known to hold only base64 characters and ``=`` (a run the MIME parse
    set aside, `parse_bytes`): no pass over the text but `find`'s, in C."""
    if not text or len(text) % 4:
        return False
    first = text.find(b"=")
    return first < 0 or (first >= len(text) - 2 and text.endswith(b"=" * (len(text) - first)))


@dataclass
class MessageReport:
    """What the checks found in one message: findings, the XDM package, headers that matter."""

    findings: list[Finding] = field(default_factory=list)
    package: XdmPackage | None = None
    subject: str | None = None
    message_id: str | None = None
    from_: str | None = None
    attachments: list[dict] = field(default_factory=list)
    disposition_notification_to: str | None = None
    cda_reports: dict[str, dict] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "fail" if any(f.severity == Severity.ERROR for f in self.findings) else "pass"

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule for f in self.findings))

    def add(self, rule: Rule, location: str | None = None, **context) -> None:
        """`rule` fired at `location` (a header, the attachments…)."""
        self.findings.append(rule.finding(location=location, **context))


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/=]+\r\n")
_MIN_RUN_LINES = 32


def _base64_runs(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of the part bodies of `raw` that are runs of 32+ lines of base64 alphabet only, all
    of one width but the last, each ended by CRLF, right after a blank line (as every MIME writer
    encodes an attachment). Such lines are never a header line (no ':' or space), a boundary (no '-')
    or a blank line, so the stdlib parser only ever collects them as they are. Checked with a few
    C-level passes (~1 ms on 1.4 MB; a regex takes ~6): only CR and LF besides the alphabet, one CRLF
    per line, each exactly where a line of that width ends."""
    runs = []
    blank = raw.find(b"\r\n\r\n")
    while blank >= 0:
        start = blank + 4
        end = _run_end(raw, start) if _BASE64_LINE.match(raw, start) else None
        if end is not None:
            runs.append((start, end))
            blank = raw.find(b"\r\n\r\n", end - 2)
        else:
            blank = raw.find(b"\r\n\r\n", start)
    return runs


def _run_end(raw: bytes, start: int) -> int | None:
    """Where the run of base64 lines starting at `start` ends (before the boundary and the blank
    lines that may precede it), or None when that part body is not such a run."""
    end = raw.find(b"\r\n--", start)
    end = raw.rfind(b"\r\n", start) + 2 if end < 0 else end + 2
    while end - start >= 4 and raw.startswith(b"\r\n\r\n", end - 4):
        end -= 2
    run = raw[start:end]
    line_ends = run.translate(None, _BASE64_ALPHABET)
    lines = len(line_ends) // 2
    width = run.find(b"\r\n")
    if lines < _MIN_RUN_LINES or width <= 0 or line_ends != b"\r\n" * lines:
        return None
    full = (lines - 1) * (width + 2)  # the lines before the last one
    last_line_fits = 2 < len(run) - full <= width + 2 and run.endswith(b"\r\n")
    every_line_ends_at_width = (run[width:full:width + 2] == b"\r" * (lines - 1)
                                and run[width + 1:full:width + 2] == b"\n" * (lines - 1))
    if not (last_line_fits and every_line_ends_at_width):
        return None
    return end


def parse_bytes(raw: bytes) -> EmailMessage:
    """`email.message_from_bytes(raw, policy=POLICY)`, the same message object, ~6 times faster on
    messages with large base64 attachments.

    The stdlib parser handles a message line by line (~2.5 µs a line: a 1.4 MB message is 19,000
    lines, ~50 ms). Runs of base64 lines are opaque to it: it only collects them into the payload of
    the part they are in (or its preamble/epilogue), and they can never be a header, a boundary or
    a blank line, which is all that decides the structure and the defects. So each run is replaced by
    one token line, the (now small) message is parsed, and the runs are put back into the payloads
    that hold their tokens. When a token ends up anywhere else (it cannot, but a parser change
    could make it), the message is parsed again whole, the plain way."""
    runs = _base64_runs(raw)
    if not runs:
        return email.message_from_bytes(raw, policy=POLICY)
    tag = f"SegurRun{secrets.token_hex(8)}"
    if tag.encode() in raw:
        return email.message_from_bytes(raw, policy=POLICY)
    pieces, texts, last = [], [], 0
    for start, end in runs:
        pieces += [raw[last:start], f"{tag}x{len(texts)}x\r\n".encode()]
        texts.append(raw[start:end - 2].decode("ascii"))  # without its last CRLF (the token keeps one)
        last = end
    pieces.append(raw[last:])
    try:
        message = email.message_from_bytes(b"".join(pieces), policy=POLICY)
    except Exception:  # noqa: BLE001 — let the plain parse raise (or not) on the real bytes
        return email.message_from_bytes(raw, policy=POLICY)
    if _put_back_runs(message, tag, texts) != len(texts):
        return email.message_from_bytes(raw, policy=POLICY)
    return message


def _put_back_runs(message: EmailMessage, tag: str, texts: list[str]) -> int:
    """Replace the tokens of `parse_bytes` in payloads, preambles and epilogues; how many were found."""
    token = re.compile(re.escape(tag) + r"x(\d+)x")
    found = 0

    def text_of(match: re.Match) -> str:
        nonlocal found
        found += 1
        return texts[int(match[1])]

    for part in message.walk():
        if part.is_multipart():
            for name in ("preamble", "epilogue"):
                value = getattr(part, name)
                if isinstance(value, str) and tag in value:
                    setattr(part, name, token.sub(text_of, value))
            continue
        payload = part.get_payload()
        if isinstance(payload, str) and tag in payload:
            part.set_payload(token.sub(text_of, payload))
            if token.fullmatch(payload.strip("\r\n")):  # one run, line breaks around: alphabet and CRLF only
                part.segur_base64_alphabet_only = True
    return found


def parse_message(raw: bytes) -> tuple[EmailMessage | None, list[str]]:
    """Parse a message with the stdlib email package; returns the message and its MIME defects."""
    try:
        message = parse_bytes(raw)
    except Exception as exc:  # noqa: BLE001 — a parser crash is a finding
        return None, [f"{type(exc).__name__}: {exc}"]
    defects = []
    for part in message.walk():
        defects += [type(d).__name__ for d in part.defects]
    return message, defects


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 — malformed header values
        value = message.get_all(name, failobj=[None])[0] if hasattr(message, "get_all") else None
    return None if value is None else str(value).strip()


def _headers(message: EmailMessage, name: str) -> list[str]:
    try:
        return [str(v).strip() for v in message.get_all(name) or []]
    except Exception:  # noqa: BLE001
        return []


def _base64_text(part: EmailMessage) -> bytes | None:
    """The text of an ASCII base64 payload without its line breaks (what the stdlib decodes after joining
    ``splitlines()``, one ``translate`` here instead), or None for any other payload."""
    payload = part.get_payload()
    if not isinstance(payload, str) or not payload.isascii() \
            or str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    return payload.encode("ascii").translate(None, b"\r\n")


def attachments_of(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001
            filename, disposition = None, None
        if not filename and disposition != "attachment":
            continue
        try:
            text = _base64_text(part)
            payload = None if text is not None else part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            text, payload = None, b""
        found.append(Attachment(filename, part.get_content_type(), payload, base64_text=text, part=part,
                                alphabet_only=getattr(part, "segur_base64_alphabet_only", False)))
    return found


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).upper().split())


def check_message(raw: bytes, *, login: str | None, recipients: list, world=None,
                  validate: Callable[[bytes], object] | None = None,
                  xdm_limits: XdmLimits | None = None) -> MessageReport:
    """Apply every message-level rule. `recipients`: world `Mailbox` objects the message goes to."""
    report = MessageReport()
    message, defects = parse_message(raw)
    if message is None:
        report.add(rules.MIME_MALFORMED, detail="; ".join(defects))
        return report
    if defects:
        report.add(rules.MIME_MALFORMED, detail=", ".join(sorted(set(defects))))
    report.subject = _header(message, "Subject")
    report.message_id = _header(message, "Message-ID")
    report.disposition_notification_to = _header(message, "Disposition-Notification-To")
    from_value = _header(message, "From")
    addresses = [addr for _, addr in getaddresses([from_value])] if from_value else []
    report.from_ = addresses[0] if addresses else from_value
    if login and (not report.from_ or report.from_.lower() != login.lower()):
        report.add(rules.FROM_MISMATCH, "header From", from_=report.from_, login=login)
    if not (login or report.from_ or "").lower().endswith("@" + CITIZEN_MAIL_DOMAIN):
        _check_nil(message, report)  # Réf. #2 asks it of a professional's client, not of Mon espace santé
    attachments = attachments_of(message)
    report.attachments = [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                           "kind": a.kind} for a in attachments]
    zips = [a for a in attachments if a.kind == "zip"]
    xdm_zips = [a for a in zips if (a.filename or "").upper() == ZIP_NAME]
    for other in zips:
        if other not in xdm_zips:
            report.add(rules.XDM_NAME, "attachment", name=other.filename)
    if len(xdm_zips) > 1:
        report.add(rules.XDM_SEVERAL, "attachments", count=len(xdm_zips))
    chosen = xdm_attachment(attachments)
    if chosen is not None:
        report.package = read_xdm(chosen.content, xdm_limits)
        report.findings += report.package.findings
    else:
        bare = [a for a in attachments if a.kind == "xml" and _is_cda(a.content)]
        if bare:
            report.add(rules.XDM_MISSING, "attachments", what=", ".join(a.filename or "CDA" for a in bare))
    cdas = [d for d in report.package.documents if d.cda] if report.package else []
    _check_headers_against_cda(message, report, cdas)
    if cdas:
        if not any(a.kind == "pdf" for a in attachments):
            report.add(rules.PDF_MISSING, "attachments")
        check_pdf_copies(cdas, [a for a in attachments if a.kind == "pdf"], report.findings)
        _check_subject(report, cdas)
        patients = report.package.patients
        if len(patients) > 1:
            report.add(rules.ONE_PATIENT, ZIP_NAME, count=len(patients), patients=", ".join(patients))
        _check_citizens(report, recipients, patients)
        if validate is not None:
            _validate_cdas(report, cdas, validate)
    _check_mes(message, report, recipients)
    return report


def xdm_attachment(attachments: list[Attachment]) -> Attachment | None:
    """The archive the checks read: the first ``IHE_XDM.ZIP``, else the first zip, else None."""
    zips = [a for a in attachments if a.kind == "zip"]
    named = [a for a in zips if (a.filename or "").upper() == ZIP_NAME]
    return named[0] if named else (zips[0] if zips else None)


def document_texts(raw: bytes, xdm_limits: XdmLimits | None = None) -> dict[str, str]:
    """The text of each document of the archive `check_message` read in the message `raw`, by its path
    in the archive, read again from the bytes (a stored copy: its stamped headers change nothing below)."""
    message, _ = parse_message(raw)
    chosen = xdm_attachment(attachments_of(message)) if message is not None else None
    if chosen is None:
        return {}
    package = read_xdm(chosen.content, xdm_limits, read_cda=False)
    return {doc.path: doc.content.decode("utf-8", "replace") for doc in package.documents}


def _is_cda(content: bytes) -> bool:
    try:
        read_cda_header(content)
    except NotXml:
        return False
    return True


def _check_nil(message: EmailMessage, report: MessageReport) -> None:
    values = _headers(message, "X-MSS-NIL")
    if not values:
        report.add(rules.NIL_MISSING, "header X-MSS-NIL")
    elif not _NIL.match(values[0]):
        report.add(rules.NIL_FORMAT, "header X-MSS-NIL", value=values[0])


def _check_headers_against_cda(message: EmailMessage, report: MessageReport, cdas) -> None:
    ins_values = _headers(message, "X-MSS-INS")
    code_values = [c for v in _headers(message, "X-MSS-CODECDA") for c in re.split(r"[\s,;]+", v) if c]
    if not cdas:
        unreadable = _unreadable_archive(report.package)
        if unreadable and ins_values:
            report.add(rules.INS_HEADER_UNCHECKED, "header X-MSS-INS", value=ins_values[0], why=unreadable)
        elif ins_values:
            report.add(rules.INS_HEADER_UNEXPECTED, "header X-MSS-INS")
        if unreadable and code_values:
            report.add(rules.CODECDA_UNCHECKED, "header X-MSS-CODECDA", value=", ".join(code_values),
                       why=unreadable)
        elif code_values:
            report.add(rules.CODECDA_UNEXPECTED, "header X-MSS-CODECDA")
        return
    qualified = all(d.cda.qualified_ins for d in cdas)
    expected = "O" if qualified else "N"
    if not ins_values:
        report.add(rules.INS_HEADER_MISSING, "header X-MSS-INS")
    elif ins_values[0] != expected:
        report.add(rules.INS_HEADER_VALUE, "header X-MSS-INS", value=ins_values[0], expected=expected,
                   has="carries" if qualified else "does not carry",
                   has_fr="porte" if qualified else "ne porte pas")
    codes = sorted(d.cda.code or "?" for d in cdas)
    if not code_values:
        report.add(rules.CODECDA_MISSING, "header X-MSS-CODECDA", codes=", ".join(codes))
    elif sorted(set(code_values)) != sorted(set(codes)):
        report.add(rules.CODECDA_MISMATCH, "header X-MSS-CODECDA", header=", ".join(code_values),
                   codes=", ".join(codes))


def _unreadable_archive(package: XdmPackage | None) -> str | None:
    """Why an attached archive gave no readable CDA (zip bomb, broken zip, unreadable metadata, or a
    document inside it that is not readable XML…), or None when there is no archive or a CDA in it
    could be read: the headers that describe its CDA can then be neither confirmed nor contradicted."""
    if package is None or (package.readable and any(d.cda for d in package.documents)):
        return None
    return ", ".join(dict.fromkeys(f.rule for f in package.findings)) or "no document could be read"


def _check_subject(report: MessageReport, cdas) -> None:
    subject = report.subject or ""
    if not subject.startswith(SUBJECT_PREFIX) or not subject[len(SUBJECT_PREFIX):].strip():
        report.add(rules.SUBJECT_FORMAT, "header Subject", subject=subject)
        return
    rest = _norm(subject[len(SUBJECT_PREFIX):])
    cda = cdas[0].cda
    date = _DATE.search(rest)
    birth = cda.birth_time or ""
    date_ok = True
    if date:
        rest = rest[:date.start()]
        date_ok = birth[:8] == f"{date[3]}{date[2]}{date[1]}"
    expected = " ".join(x for x in (_norm(cda.birth_name or ""), _norm(cda.first_given or "")) if x)
    if not expected:
        return
    if not rest.endswith(" " + expected) or not date_ok:
        shown = expected + (f" {birth[6:8]}/{birth[4:6]}/{birth[:4]}" if len(birth) >= 8 else "")
        report.add(rules.SUBJECT_PATIENT, "header Subject", subject=subject, expected=shown)


def _check_citizens(report: MessageReport, recipients, patients: list[str]) -> None:
    for box in recipients:
        if getattr(box, "kind", None) != "CITIZEN":
            continue
        ins = box.address.split("@", 1)[0].upper()
        for other in patients:
            if other.upper() != ins:
                report.add(rules.CITIZEN_OTHER_PATIENT, f"recipient {box.address}", ins=ins, other=other)


def _check_mes(message: EmailMessage, report: MessageReport, recipients) -> None:
    values = _headers(message, "X-MSS-MES")
    if not values:
        return
    if values[0] != "FIN":
        report.add(rules.MES_VALUE, "header X-MSS-MES", value=values[0])
    if not any(getattr(box, "kind", None) == "CITIZEN" for box in recipients):
        report.add(rules.MES_NOT_CITIZEN, "header X-MSS-MES")


def _validate_cdas(report: MessageReport, cdas, validate) -> None:
    for doc in cdas:
        try:
            result = validate(doc.content)
        except Exception as exc:  # noqa: BLE001 — a validator problem must not lose the message
            report.add(rules.CDA_NOT_VALIDATED, doc.path, uri=doc.uri,
                       reason=f"{type(exc).__name__}: {exc}"[:300])
            continue
        found = list(getattr(result, "findings", []) or [])
        errors = [f for f in found if getattr(f, "is_error", False)]
        report.cda_reports[doc.uri] = {
            "valid": bool(getattr(result, "valid", not errors)),
            "errors": len(errors),
            "findings": [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in found[:200]],
            # which layers ran or were skipped (no pack…), the volet and the packs: without them a
            # "valid" here cannot be told apart from "only the Ségur rules ran" (evidence packs show it)
            "layers": [layer.to_dict() for layer in getattr(result, "layers", None) or []],
            "profile": getattr(result, "profile", None) or None,
            "packs": [{k: v for k, v in pack.to_dict().items() if k in ("name", "version", "role", "digest")}
                      for pack in getattr(result, "packs", None) or []],
        }
        if errors or not getattr(result, "valid", True):
            first = errors[0] if errors else None
            report.add(rules.CDA_INVALID, doc.path, uri=doc.uri, errors=len(errors),
                       first=f"{first.rule}: {first.message}"[:300] if first else "(see report)")
