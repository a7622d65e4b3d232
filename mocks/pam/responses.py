"""The PAM wire both ways: ER7 text in (decode, parse into an `AdtMessage`), ER7 out (the ACK, the ADT
messages of the identity source), the MLLP handler of the identity consumer, and the admin Flask app.

The ACK follows HL7 v2.5 chapter 2 (original acknowledgement mode): MSH with sender and receiver swapped,
MSH-9 ``ACK^<event>^ACK``, MSH-12/17/18 of a PAM FR message, MSA-1 AA/AE/AR and MSA-2 = the MSH-10 it
answers, and one ERR per finding (ERR-2 location, ERR-3 HL7 table 0357 code, ERR-4 severity E/W/I of table
0516, ERR-5 the rule id, ERR-7 the fix hint, ERR-8 the message) — the field list of hl7apy's HL7 v2.5
``ERR`` definition and the ANS profile of the ACK (CI-SIS "Transmission de documents CDA-R2 en HL7v2").
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime

import hl7
from flask import Flask, jsonify, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.findings import Finding, Severity
from segur.kernel.journal import body_for_journal
from segur.mocks.pam import cda, checks, lps, mllp, rules
from segur.mocks.pam.models import AdtMessage, Identifier, IdentityStore, Traits

APPLICATION = "SEGUR-PAM"
FACILITY = "SEGUR"
PROFILE_VERSION = "2.5^FRA^2.11"
CONFORMANCE = "2.11^IHE_FRANCE-2.11-PAM"
DEFAULT_CHARSET = "UNICODE UTF-8"
VERDICTS = {"AA": "accepted", "AE": "error", "AR": "rejected"}
_ORDER = {"AA": 0, "AE": 1, "AR": 2}
_SEVERITY = {Severity.ERROR: "E", Severity.WARNING: "W", Severity.INFO: "I"}
_LOCATION = re.compile(r"^(?P<segment>[A-Z][A-Z0-9]{2})(?:-(?P<field>[0-9]+))?(?:\[(?P<rep>[0-9]+)\])?"
                       r"(?:\.(?P<component>[0-9]+))?")
_control_ids = itertools.count(1)
#: HL7 table 0357 (message error condition codes), the codes the rules use
HL7_ERROR_TEXT = {"0": "Message accepted", "100": "Segment sequence error", "101": "Required field missing",
                  "102": "Data type error", "103": "Table value not found", "200": "Unsupported message type",
                  "201": "Unsupported event code", "203": "Unsupported version id",
                  "207": "Application internal error"}


# --- ER7 text ------------------------------------------------------------------------------------

def escape(text: str) -> str:
    """ER7 escape of a value (HL7 v2.5 §2.7: \\E\\ \\F\\ \\S\\ \\R\\ \\T\\)."""
    for char, sequence in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        text = text.replace(char, sequence)
    return text


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


def decode(data: bytes) -> tuple[str, str, list[Finding]]:
    """The message text (segments ended by CR), the MSH-18 value it was read with, and a finding when
    its bytes are not valid in that character set (then read as Latin-1, byte for byte)."""
    preview = data.decode("latin-1")
    declared = _msh18(preview)
    codec = checks.CHARSETS.get(declared, "utf-8")
    try:
        text = data.decode(codec)
        found = []
    except UnicodeDecodeError as exc:
        text = preview
        found = [rules.CHARSET_MISMATCH.finding(charset=declared or "UTF-8", detail=str(exc)[:120],
                                                location="MSH-18")]
    segments = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return "\r".join(s for s in segments if s.strip()), declared, found


def _msh18(text: str) -> str:
    fields = checks.header_fields(text.replace("\n", "\r")) or []
    return fields[17] if len(fields) > 17 else ""


def read_adt(message: hl7.Message, event: str) -> AdtMessage:
    """The patient an ADT message speaks of (PID, MRG), as domain objects."""
    def value(segment, *path):
        return checks.field_value(message, segment, *path)

    def identifiers(segment, number):
        return tuple(Identifier(value(segment, number, r, 1), value(segment, number, r, 4, 1),
                                value(segment, number, r, 4, 2), value(segment, number, r, 5),
                                value(segment, number, r, 4, 3))
                     for r in range(1, checks.repeats(message, segment, number) + 1)
                     if value(segment, number, r, 1))

    names = range(1, checks.repeats(message, "PID", 5) + 1)
    birth = next((r for r in names if value("PID", 5, r, 7) == "L"), 1)
    used = next((r for r in names if value("PID", 5, r, 7) == "D"), None)
    places = range(1, checks.repeats(message, "PID", 11) + 1)
    place = next((value("PID", 11, r, 9) for r in places if value("PID", 11, r, 7) == "BDL"), "")
    traits = Traits(birth_name=value("PID", 5, birth, 1), first_name=value("PID", 5, birth, 2),
                    first_names=value("PID", 5, birth, 3), used_name=value("PID", 5, used, 1) if used else "",
                    birth_date=value("PID", 7), sex=value("PID", 8), birth_place=place)
    status = tuple(value("PID", 32, r) for r in range(1, checks.repeats(message, "PID", 32) + 1)
                   if value("PID", 32, r))
    return AdtMessage(event=event, control_id=value("MSH", 10), identifiers=identifiers("PID", 3),
                      traits=traits, status=status, prior=identifiers("MRG", 1))


def ack_code(findings: list[Finding]) -> str:
    """AR when a finding prevents processing, AE for a content error, else AA (warnings never NAK)."""
    code = "AA"
    for finding in findings:
        if finding.severity == Severity.WARNING:
            continue
        candidate = rules.ack_of(rules.book[finding.rule])
        code = candidate if _ORDER[candidate] > _ORDER[code] else code
    return code


def render_ack(code: str, findings: list[Finding], header: list[str] | None, charset: str,
               errors: tuple[str, ...] = ()) -> str:
    """The ACK of a message whose MSH fields are `header` (None: nothing readable, an empty MSA-2); `errors`:
    ERR segments written first, as given (a volet's application error, lps.py), instead of the ERR of the
    injected fault's finding."""
    header = header or []

    def field(number: int) -> str:  # MSH-n of the message acknowledged
        return header[number - 1] if len(header) >= number else ""

    event = field(9).split("^")[1] if len(field(9).split("^")) > 1 else ""
    version = field(12) if field(12).startswith(("2.5", "2.6")) else PROFILE_VERSION  # 2.6: MDM, ZAM (cda.py)
    control = f"ACK{time.strftime('%Y%m%d%H%M%S')}{next(_control_ids):06d}"
    msh = ["MSH", "^~\\&", field(5) or APPLICATION, field(6) or FACILITY, field(3), field(4), timestamp(), "",
           f"ACK^{event}^ACK" if event else "ACK", control, field(11) or "P", version, "", "", "", "", "FRA",
           charset, "FR"]
    segments = ["|".join(msh), f"MSA|{code}|{field(10)}"]
    segments += list(errors)
    segments += [_err(finding) for finding in findings
                 if not (errors and finding.rule == rules.INJECTED_NACK.id)]
    return "\r".join(segments) + "\r"


def _err(finding: Finding) -> str:
    hl7_code = rules.hl7_code_of(rules.book[finding.rule])
    meaning = HL7_ERROR_TEXT.get(hl7_code, "")
    fields = ["ERR", "", _erl(finding.location or ""), f"{hl7_code}^{meaning}^HL70357",
              _SEVERITY[finding.severity], f"{finding.rule}^{escape(finding.message[:180])}^SEGUR-PAM",
              "", escape(finding.hint or ""), escape(finding.message)]
    return "|".join(fields)


def _erl(location: str) -> str:
    """A location such as ``PID-3[2].4`` as an ERL (segment^sequence^field^repetition^component)."""
    found = _LOCATION.match(location)
    if not found:
        return ""
    parts = [found["segment"], "1", found["field"] or "", found["rep"] or ("1" if found["field"] else ""),
             found["component"] or ""]
    return "^".join(parts).rstrip("^")


def render_adt(message: AdtMessage, *, receiver: tuple[str, str] = ("", ""), charset: str = DEFAULT_CHARSET,
               processing: str = "P") -> str:
    """An ITI-30 message of the identity source, as PAM FR lays it out (PAMFR §6; the ANS examples)."""
    structure = checks.ITI30.get(message.event, "ADT_A01")
    now = timestamp()
    message_type = f"ADT^{message.event}^{structure}"
    msh = ["MSH", "^~\\&", APPLICATION, FACILITY, receiver[0], receiver[1], now, "", message_type,
           message.control_id, processing, PROFILE_VERSION, "", "", "", "", "FRA", charset, "FR", "",
           CONFORMANCE]
    pid = ["PID", "1", "", "~".join(_cx(i) for i in message.identifiers), "", _names(message.traits), "",
           message.traits.birth_date, message.traits.sex, "", "", _birth_place(message.traits)]
    pid += [""] * (32 - len(pid)) + ["~".join(message.status)]
    segments = ["|".join(msh), f"EVN||{now}", "|".join(pid)]
    if message.event in checks.MERGING:
        segments.append("MRG|" + "~".join(_cx(i) for i in message.prior))
    segments.append("PV1||N")
    return "\r".join(segments) + "\r"


def _cx(identifier: Identifier) -> str:
    authority = f"{escape(identifier.namespace)}&{identifier.oid}&{identifier.oid_type}"
    return f"{escape(identifier.value)}^^^{authority}^{identifier.type}"


def _names(traits: Traits) -> str:
    names = [f"{escape(traits.birth_name)}^{escape(traits.first_name)}^{escape(traits.first_names)}^^^^L"]
    if traits.used_name:
        names.append(f"{escape(traits.used_name)}^{escape(traits.first_name)}^^^^^D")
    return "~".join(names)


def _birth_place(traits: Traits) -> str:
    return f"^^^^^^BDL^^{traits.birth_place}" if traits.birth_place else ""


# --- the identity consumer: one MLLP event in, one answer out -----------------------------------

class Consumer:
    """Checks each message a listener receives, keeps the identities, journals, and answers the ACK."""

    def __init__(self, store: IdentityStore, journal, faults, max_size: int, *, transport: bool = False,
                 validator=None):
        self.store, self.journal, self.faults = store, journal, faults
        self.max_size = max_size
        self.transport = transport  # the listeners of the CDA transport volet (cda.py): ORU/MDM/ZAM only
        self.validator = validator  # the CDA validator the DMP uses (`segur.validators.Validator`)

    def __call__(self, event: mllp.Event, peer: dict) -> mllp.Reply:
        if event.kind != mllp.FRAME:
            return self._framing(event, peer)
        try:
            return self._message(event, peer)
        except Exception as exc:  # noqa: BLE001 — the mock's own failure: said so, and the listener goes on
            finding = rules.INTERNAL.finding(error=f"{type(exc).__name__}: {exc}"[:300], location="MSH")
            answer = render_ack("AR", [finding], None, DEFAULT_CHARSET).encode("utf-8")
            sent = {"body": body_for_journal(answer)}
            self.journal.record("mllp", "error", findings=[finding], client=peer, meta={"ack": "AR"},
                                request=_received(peer, event.data), response=sent)
            return mllp.Reply(mllp.frame(answer))

    def _framing(self, event: mllp.Event, peer: dict) -> mllp.Reply:
        rule = {mllp.NO_START: rules.NO_START_BLOCK, mllp.UNTERMINATED: rules.UNTERMINATED_BLOCK,
                mllp.OVERSIZE: rules.OVERSIZE, mllp.TRUNCATED: rules.CLOSED_MID_BLOCK}[event.kind]
        finding = rule.finding(size=event.size, limit=self.max_size, location="MLLP")
        reply = None
        if event.answerable:
            text = render_ack("AR", [finding], None, DEFAULT_CHARSET)
            reply = mllp.frame(text.encode("utf-8"))
        self.journal.record("mllp", "rejected", findings=[finding], client=peer,
                            request=_received(peer, event.data),
                            response={"body": body_for_journal(reply)} if reply else {},
                            meta={"framing": event.kind, "size": event.size, "ack": "AR" if reply else None})
        return mllp.Reply(reply)

    def _message(self, event: mllp.Event, peer: dict) -> mllp.Reply:
        started = time.perf_counter()
        text, declared, found = decode(event.data)
        header = checks.header_fields(text)
        found = found if header else []  # no MSH: the bytes have no declared character set to break
        kind = (header[8].split("^") + [""])[1] if header and len(header) > 8 else ""
        transport = self.transport  # a listener of the CDA transport volet (ORU/MDM/ZAM, cda.py)
        if transport:
            operation = "^".join(cda.message_type(header).split("^")[:2]) if header else "mllp"
        else:
            operation = f"ADT^{kind}" if kind else "mllp"
        faults = self.faults.select(operation, {"event": kind, "listener": peer.get("listener")})
        self.faults.delay(faults)
        injected = self.faults.first(faults, "drop", "overload", "nack", "http_error")
        received = _received(peer, event.data)
        if injected is not None and injected.kind in ("drop", "overload"):
            self.journal.record(operation, "fault-injected", client=peer, meta={"fault": injected.kind},
                                request=received)
            return mllp.Reply(close=True)
        if event.no_cr:
            found.append(rules.NO_CR_AFTER_FS.finding(location="MLLP"))
        facts = {}
        if transport:
            found, facts = self._transport(text, header, found)
            adt = identity = None
        else:
            found, adt, identity = self._process(text, kind, found)
        code = ack_code(found)
        if injected is not None:  # nack / http_error: the answer a test asked for, after the checks ran
            asked = injected.params.get("code")
            code = asked if asked in ("AE", "AR") else "AR" if injected.kind == "http_error" else "AE"
            found.append(rules.INJECTED_NACK.finding(location="MSA-1"))
        charset = declared if declared in checks.CHARSETS else DEFAULT_CHARSET
        # a nack fault with `error`: the volet's application error (ERR-3 207, ERR-5 its code; lps.py)
        volet_error = str(injected.params.get("error") or "") if injected is not None else ""
        errors = (lps.application_error(volet_error),) if volet_error else ()
        ack = render_ack(code, found, header if header and len(header) > 1 else None, charset, errors)
        answer = ack.encode(checks.CHARSETS[charset], errors="replace")
        verdict = "fault-injected" if injected is not None else VERDICTS[code]
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.journal.record(
            operation, verdict, findings=found, client=peer, duration_ms=elapsed_ms, request=received,
            response={"body": body_for_journal(answer)},
            meta={"event": kind, "control_id": header[9] if header and len(header) > 9 else "", "ack": code,
                  "identity": identity.number if identity else None,
                  "ins": adt.ins.value if adt and adt.ins and adt.qualified else None, **facts})
        return mllp.Reply(mllp.frame(answer))

    def _transport(self, text: str, header: list[str], found: list[Finding]) -> tuple[list[Finding], dict]:
        """An ORU/MDM carrying a CDA, or a ZAM business return (cda.py): checked, and its facts journalled."""
        if header is None:
            return found + [rules.NO_MSH.finding(location="MSH")], {}
        found = found + cda.check_header(header)
        if _rejected(found):
            return found, {}
        try:
            parsed = hl7.parse(text)
        except Exception as exc:  # noqa: BLE001 — any parser failure is the sender's malformed message
            return found + [rules.NO_MSH.finding(location=f"MSH ({type(exc).__name__}: {exc})"[:200])], {}
        kind = cda.message_type(header)
        if lps.is_lps(header):  # a PFI handing its consumer a document received by MSSanté (lps.py)
            found += lps.check_message(parsed, kind)
            return found, {"transport": {**cda.read_transport(parsed), **lps.read_lps(parsed)}}
        found += cda.check_message(parsed, kind)
        if kind.startswith("ZAM"):
            return found, {"return": cda.read_return(parsed)}
        facts = cda.read_transport(parsed)
        document, _problem = cda.cda_of(parsed)
        if document and self.validator is not None:
            report = self.validator.validate(document, name=f"MSH-10 {facts['control_id']}")
            errors = [finding.rule for finding in report.errors]
            facts["validation"] = {"valid": report.valid, "errors": errors[:20],
                                   "layers": [run.to_dict() for run in report.layers]}
            if not report.valid:
                first = report.errors[0].message[:200] if report.errors else "the document cannot be read"
                found.append(rules.CDA_INVALID.finding(count=len(report.errors), first=first))
        return found, {"transport": facts}


    def _process(self, text: str, event: str, found: list[Finding]):
        """Check the message; when nothing prevents it, carry out its event on the identities kept."""
        found = found + checks.check_header(text)
        if _rejected(found):
            return found, None, None
        try:
            parsed = hl7.parse(text)
        except Exception as exc:  # noqa: BLE001 — any parser failure is the sender's malformed message
            where = f"MSH ({type(exc).__name__}: {exc})"[:200]
            return found + [rules.NO_MSH.finding(location=where)], None, None
        found += checks.check_content(parsed, event)
        if _rejected(found):
            return found, None, None
        adt = read_adt(parsed, event)
        return found, adt, self.store.apply(adt)


def _rejected(findings: list[Finding]) -> bool:
    return any(f.is_error and rules.ack_of(rules.book[f.rule]) == "AR" for f in findings)


def _received(peer: dict, data: bytes) -> dict:
    """The request side of a journal entry: the listener it came on and the bytes as received."""
    return {"listener": peer.get("listener"), "body": body_for_journal(data)}


# --- the admin API -------------------------------------------------------------------------------

def create_app(service) -> Flask:
    """The kernel's `/_admin/` routes plus the identities received and the identity source."""
    app = Flask("segur-pam")
    app.register_blueprint(admin_blueprint(service, extra_health=service.health))

    @app.get("/_admin/identities")
    def identities():
        every = request.args.get("all", "").lower() in ("1", "true", "yes")
        kept = [i.to_dict() for i in service.store.all() if every or i.merged_into is None]
        return jsonify({"service": service.name, "identities": kept})

    @app.get("/_admin/identities/<value>")
    def identity(value: str):
        found = service.store.find(value)
        if found is None:
            return jsonify({"error": f"no identity with identifier {value}"}), 404
        return jsonify(found.to_dict())

    @app.post("/_admin/send-cda")
    def send_cda():  # a message of the CDA transport volet, built by the caller (cda.send_message)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("to", "message")):
            return jsonify({"error": 'send {"to": "mllp://host:port", "message": "MSH|^~\\&|…"}'}), 400
        timeout = body.get("timeout", service.config.send_timeout)
        if not isinstance(timeout, int | float) or not 0 < timeout <= 120:
            return jsonify({"error": "timeout is a number of seconds in (0, 120]"}), 400
        try:
            return jsonify(cda.send_message(service.journal, body["to"], body["message"], timeout))
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400

    @app.post("/_admin/send")
    def send():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": 'send {"to": "mllp://host:port", "event": "A28", "patient": ...}'}), 400
        try:
            result = service.source.send_request(body)
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(result.to_dict())

    return app
