"""The DMP mock's protocol layer: SOAP 1.2 + MTOM endpoints over the backend, and the admin API.

Endpoints mirror the DMP test platform's service paths seen in public client code
(`…/si-dmp-server/v2/services/repository`, `…/registry`, `…/patients`, `…/habilitations`; the ANS
ITI-41 sample in ../shared/ref/xds is addressed to `/si-dmp-server/v2/services/repository`).
Each endpoint dispatches on the WS-Addressing Action (IHE ITI TF vol 2x appendix V):

| action | transaction | endpoint | response action |
|---|---|---|---|
| urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b | ITI-41 (TD2.1/TD2.2) | repository | …-bResponse |
| urn:ihe:iti:2007:RetrieveDocumentSet | ITI-43 (TD3.2) | repository | …Response (MTOM) |
| urn:ihe:iti:2007:RegistryStoredQuery | ITI-18 (TD3.1) | registry | …Response |
| urn:ihe:iti:2010:UpdateDocumentSet | ITI-57 (TD3.3) | registry | …Response |
| urn:segur:harness:dmp:TD0.2 | TD0.2 | patients | …Response |
| urn:segur:harness:dmp:TD0.3 | TD0.3 | habilitations | …Response |

TD0.2/TD0.3 messages are this harness's own (the DMP's integration guide that defines their wire
format is not public); their answers use the DMP's values (docs/dmp.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, jsonify, request
from lxml import etree

from segur.kernel.admin import admin_blueprint
from segur.kernel.faults import FaultBook
from segur.kernel.findings import Finding, Severity
from segur.kernel.journal import MAX_BODY_CHARS, WHOLE_KEY, Journal, body_for_journal, whole_bytes
from segur.mocks.dmp import ebrim
from segur.mocks.dmp.backend import Call, DmpBackend, Outcome
from segur.mocks.dmp.ebrim import LCM, QUERY, RIM, RS, XDSB
from segur.mocks.dmp.mtom import Attachment, MtomError, new_content_id, read_http_body, write_mtom
from segur.mocks.dmp.protocol_rules import PROTOCOL_RULES, finding
from segur.mocks.dmp.soap import (
    SoapError,
    envelope_bytes,
    fault_bytes,
    parse_envelope,
    registry_error_list,
    registry_response,
)

TD_NS = "urn:segur:harness:dmp:td:1"
BASE = "/si-dmp-server/v2/services"
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class Action:
    transaction: str
    service: str  # endpoint name
    request: tuple[str, str]  # namespace, local name of the body element
    response_action: str


ACTIONS = {
    "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b": Action(
        "ITI-41", "repository", (XDSB, "ProvideAndRegisterDocumentSetRequest"),
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"),
    "urn:ihe:iti:2007:RetrieveDocumentSet": Action(
        "ITI-43", "repository", (XDSB, "RetrieveDocumentSetRequest"), "urn:ihe:iti:2007:RetrieveDocumentSetResponse"),
    "urn:ihe:iti:2007:RegistryStoredQuery": Action(
        "ITI-18", "registry", (QUERY, "AdhocQueryRequest"), "urn:ihe:iti:2007:RegistryStoredQueryResponse"),
    "urn:ihe:iti:2010:UpdateDocumentSet": Action(
        "ITI-57", "registry", (LCM, "SubmitObjectsRequest"), "urn:ihe:iti:2010:UpdateDocumentSetResponse"),
    "urn:segur:harness:dmp:TD0.2": Action("TD0.2", "patients", (TD_NS, "TD02Request"),
                                          "urn:segur:harness:dmp:TD0.2Response"),
    "urn:segur:harness:dmp:TD0.3": Action("TD0.3", "habilitations", (TD_NS, "TD03Request"),
                                          "urn:segur:harness:dmp:TD0.3Response"),
}
SERVICES = ("repository", "registry", "patients", "habilitations")

FAULT_KINDS = {
    "xds_error": {"code": "XDSRegistryError", "message": "injected error"},
    "soap_fault": {"code": "Receiver", "reason": "injected SOAP fault"},
    "dmp_closed": {"ins": ""},
}
#: The transactions whose VIHF refusal may be a SOAP fault (`vihf_errors`); TD0.2/TD0.3 always answer one.
VIHF_FAULT_TRANSACTIONS = ("ITI-41", "ITI-18", "ITI-43", "ITI-57")
_HTTP_FOR_FAULT = {"Sender": 400, "Receiver": 500, "VersionMismatch": 500, "MustUnderstand": 500}


JOURNAL_BODY_BUDGET = 64 * 1024 * 1024  # characters of request/response bodies the journal keeps in all


def journal_body(body: bytes | None, limit: int = MAX_BODY_CHARS) -> dict:
    """`body_for_journal` that reads only what it keeps: a body over `limit` bytes is decoded up to
    `limit` bytes (cut on a UTF-8 character boundary), not decoded whole and then cut — an ITI-41
    request is often megabytes. `size` is still the full size, and `truncated` says it was cut."""
    if body is None or len(body) <= limit:
        return body_for_journal(body, limit)
    cut = limit
    while cut > limit - 4 and cut > 0 and body[cut] & 0xC0 == 0x80:  # do not split a UTF-8 sequence
        cut -= 1
    kept = body_for_journal(body[:cut], limit)
    kept.pop(WHOLE_KEY, None)
    kept.update(size=len(body), truncated=True, **{WHOLE_KEY: body})  # the journal keeps it whole on disk
    return kept


class DmpJournal(Journal):
    """The mock kit's journal, with a bound on the bodies it holds in memory.

    Each body is kept in memory up to 512 KiB (whole on disk beyond: the kit's `BodySpill`); in
    addition, once the bodies of all kept exchanges exceed `body_budget` characters, the oldest
    exchanges' bodies are elided from memory (their size, verdict, rules and findings stay, and the
    body moves to disk): a long benchmark of 1.4 MB submissions must not grow the mock by 512 KiB
    per request without end.
    """

    def __init__(self, service: str, body_budget: int = JOURNAL_BODY_BUDGET, **options):
        super().__init__(service, **options)
        self.body_budget = body_budget
        self._with_bodies: deque = deque()
        self._body_chars = 0
        self._budget_lock = threading.Lock()

    def record(self, operation: str, verdict: str, **details):
        exchange = super().record(operation, verdict, **details)
        size = _body_chars(exchange)
        with self._budget_lock:
            self._with_bodies.append((exchange, size))
            self._body_chars += size
            while self._body_chars > self.body_budget and len(self._with_bodies) > 1:
                old, old_size = self._with_bodies.popleft()
                self._body_chars -= old_size
                for name in ("request", "response"):
                    self._elide(old, name)
        return exchange

    def _elide(self, exchange, side: str) -> None:
        """Drop a body from memory; one not yet on disk goes there first, so it stays readable whole."""
        part = getattr(exchange, side)
        body = part.get("body")
        if not isinstance(body, dict) or not body.get("text"):
            return
        data = whole_bytes(body)
        if data is not None and body.get("whole") is None:
            self._spill(exchange, side, data)
        part["body"] = {**part["body"], "text": "", "truncated": True,
                        "elided": "older bodies are dropped beyond the journal's memory budget"}

    def clear(self) -> None:
        super().clear()
        with self._budget_lock:
            self._with_bodies.clear()
            self._body_chars = 0


def _body_chars(exchange) -> int:
    return sum(len((side.get("body") or {}).get("text") or "") for side in (exchange.request, exchange.response))


class DmpMock:
    """The DMP mock: backend + journal + faults, served by `create_app`."""

    name = "dmp"

    def __init__(self, backend: DmpBackend, max_body: int = DEFAULT_MAX_BODY):
        self.backend = backend
        # bodies over the journal's memory go next to the mock's store (its data dir)
        data_dir = getattr(getattr(backend, "store", None), "data_dir", None)
        self.journal = DmpJournal("dmp", spill_dir=Path(data_dir) / "journal-bodies" if data_dir else None)
        self.faults = FaultBook(extra_kinds=FAULT_KINDS)
        self.max_body = max_body
        self.base_url = ""

    def endpoints(self) -> dict:
        urls = {service: f"{self.base_url}{BASE}/{service}" for service in SERVICES}
        urls["admin"] = f"{self.base_url}/_admin/"
        urls["repository_unique_id"] = self.backend.options.repository_unique_id
        return urls

    def reset(self) -> None:
        self.backend.reset()


def validation_health(options) -> dict:
    """How documents are validated, for /_admin/health: a client (or the proof) can tell a DMP that runs
    the official XSD and Schematron from one that only runs the project's own layers."""
    from segur.validators.config import pack_setting

    if not options.validate_documents:
        return {"enabled": False, "pack": None, "note": "documents are not validated"}
    if options.validator_pack is False:
        pack, source = None, "disabled"
    elif options.validator_pack:
        pack, source = str(options.validator_pack), "option"
    else:
        found = pack_setting()
        pack, source = (str(found.value), found.source) if found else (None, None)
    note = ("XSD and Schematron layers run" if pack else
            "no official pack: the XSD and Schematron layers are skipped (give --pack or SEGUR_PACK)")
    return {"enabled": True, "pack": pack, "pack_source": source, "note": note}


def create_app(mock: DmpMock) -> Flask:
    app = Flask("segur-dmp")
    app.config["MAX_CONTENT_LENGTH"] = None  # the handler enforces mock.max_body itself, early and while reading
    app.register_blueprint(admin_blueprint(mock, extra_health=lambda: {
        "lenient": mock.backend.options.lenient, "rules": mock.backend.hooks.describe(),
        "stored": mock.backend.store.counts(), "data": str(mock.backend.store.path),
        "validation": validation_health(mock.backend.options)}))
    app.register_blueprint(_dmp_admin(mock))

    for service in SERVICES:
        app.add_url_rule(f"{BASE}/{service}", f"soap_{service}", _endpoint(mock, service), methods=["POST"])
    return app


# --- the SOAP endpoint ------------------------------------------------------------------------------
def _endpoint(mock: DmpMock, service: str):
    def handle():
        return _Exchange(mock, service).run()

    return handle


class _Exchange:
    """One request: read, dispatch, answer, and always journal."""

    def __init__(self, mock: DmpMock, service: str):
        self.mock, self.service = mock, service
        self.started = time.perf_counter()
        self.body = b""
        self.operation = f"{service}:unknown"
        self.relates_to = None

    def run(self) -> Response:
        try:
            return self._run()
        except SoapError as problem:
            return self._fault(problem.rule, str(problem), [problem.finding()], problem.status)
        except Exception as exc:  # the server keeps serving whatever happens; the journal says what
            item = finding("XDS-SOAP-010", detail=repr(exc)[:300])
            return self._fault("XDS-SOAP-010", item.message, [item], 500)

    def _run(self) -> Response:
        body = self._read_body()
        if isinstance(body, Response):
            return body
        self.body = body
        try:
            message = read_http_body(request.headers.get("Content-Type", ""), body)
        except MtomError as problem:
            item = finding(problem.rule, detail=problem.detail)
            status = 415 if problem.rule == "XDS-SOAP-008" else 400
            return self._fault(problem.rule, item.message, [item], status)
        _, ct_action = _content_type_action(request.headers.get("Content-Type", ""))
        envelope = parse_envelope(message.envelope, ct_action)
        self.relates_to = envelope.message_id
        action = ACTIONS.get(envelope.action or "")
        if action is None or action.service != self.service:
            raise SoapError("XDS-SOAP-005", action=envelope.action or "(none)")
        self.operation = action.transaction
        expected = f"{{{action.request[0]}}}{action.request[1]}"
        if envelope.body.tag != expected:
            raise SoapError("XDS-SOAP-006", element=envelope.body.tag, action=envelope.action, expected=expected)

        faults = self.mock.faults.select(action.transaction, {"action": envelope.action})
        self.mock.faults.delay(faults)
        http_fault = self.mock.faults.first(faults, "http_error", "overload")
        if http_fault:
            return self._http_fault(http_fault)
        for closing in (f for f in faults if f.kind == "dmp_closed"):
            if closing.params.get("ins"):
                self.mock.backend.close_dmp(closing.params["ins"], f"fault {closing.id}")
        soap_fault = self.mock.faults.first(faults, "soap_fault")
        if soap_fault:
            code = soap_fault.params.get("code", "Receiver")
            return self._raw_fault(code, f"[fault {soap_fault.id}] {soap_fault.params.get('reason')}",
                                   _HTTP_FOR_FAULT.get(code, 500), verdict="fault-injected")
        injected = None
        xds_fault = self.mock.faults.first(faults, "xds_error")
        if xds_fault:
            item = finding("XDS-FAULT-001", fault_id=xds_fault.id, code=xds_fault.params["code"])
            injected = Finding(item.rule, item.severity, item.layer,
                               f"{item.message} — {xds_fault.params.get('message', '')}".rstrip(" —"),
                               hint=item.hint, location="fault", extra={"xds_code": xds_fault.params["code"]})

        call = Call(action.transaction, environ=request.environ)
        if injected is None and action.transaction in VIHF_FAULT_TRANSACTIONS:
            refused = self._vihf_fault(envelope, call)
            if refused is not None:
                return refused
        handler = getattr(self, "_" + action.transaction.replace("-", "").replace(".", "").lower())
        return handler(action, envelope, message, call, injected)

    def _vihf_fault(self, envelope, call: Call) -> Response | None:
        """With `vihf_errors="soap-fault"`, a VIHF that does not pass is a SOAP fault (env:Sender, subcode the
        rule's WS-Security code: wsse:InvalidSecurity, wsse:FailedAuthentication… — OASIS WSS 1.1 §12), not a
        RegistryResponse; the verified claims are kept in `call` so the transaction does not verify twice."""
        backend = self.mock.backend
        if backend.options.vihf_errors != "soap-fault":
            return None
        call.vihf = backend.check_vihf(envelope.security, call)
        findings = backend.settle(list(call.vihf[1]))
        errors = [f for f in findings if f.severity == Severity.ERROR]
        if not errors:
            return None
        return self._fault(errors[0].rule, errors[0].message, findings, 400, verdict="rejected")

    def _read_body(self):
        """The request body, refused early from Content-Length and while reading beyond mock.max_body."""
        limit = self.mock.max_body
        length = request.content_length
        if length is not None and length > limit:
            return self._too_large(length)
        stream = request.stream
        chunks, total = [], 0
        while True:
            chunk = stream.read(min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                return self._too_large(f"more than {limit}")
        return b"".join(chunks)

    def _too_large(self, size) -> Response:
        item = finding("XDS-SOAP-007", size=size, limit=self.mock.max_body)
        response = self._fault("XDS-SOAP-007", item.message, [item], 413)
        response.headers["Connection"] = "close"
        return response

    # --- transactions ---------------------------------------------------------------------------
    def _iti41(self, action, envelope, message, call, injected):
        outcome = self.mock.backend.provide_and_register(envelope.body, message.attachments, envelope.security, call,
                                                         injected)
        return self._registry_answer(action, outcome, registry_response(outcome.findings, outcome.status), message.mtom)

    def _iti57(self, action, envelope, message, call, injected):
        outcome = self.mock.backend.update(envelope.body, envelope.security, call, injected)
        return self._registry_answer(action, outcome, registry_response(outcome.findings, outcome.status), message.mtom)

    def _iti18(self, action, envelope, message, call, injected):
        outcome = self.mock.backend.stored_query(envelope.body, envelope.security, call, injected)
        objects, return_type = outcome.payload
        answer = etree.Element(f"{{{QUERY}}}AdhocQueryResponse", nsmap={"query": QUERY, "rim": RIM, "rs": RS})
        answer.set("status", outcome.status)
        errors = registry_error_list(outcome.findings)
        if errors is not None:
            answer.append(errors)
        answer.append(ebrim.registry_object_list(objects, return_type))
        return self._registry_answer(action, outcome, answer, message.mtom)

    def _iti43(self, action, envelope, message, call, injected):
        outcome = self.mock.backend.retrieve(envelope.body, envelope.security, call, injected)
        answer = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetResponse", nsmap={"xdsb": XDSB, "rs": RS})
        answer.append(registry_response(outcome.findings, outcome.status))
        attachments = []
        for item in outcome.payload or []:
            doc = etree.SubElement(answer, f"{{{XDSB}}}DocumentResponse")
            if item.get("home"):
                etree.SubElement(doc, f"{{{XDSB}}}HomeCommunityId").text = item["home"]
            etree.SubElement(doc, f"{{{XDSB}}}RepositoryUniqueId").text = item["repository"]
            etree.SubElement(doc, f"{{{XDSB}}}DocumentUniqueId").text = item["unique_id"]
            etree.SubElement(doc, f"{{{XDSB}}}mimeType").text = item["mime_type"] or "application/octet-stream"
            content_id = new_content_id()
            document = etree.SubElement(doc, f"{{{XDSB}}}Document")
            include = etree.SubElement(document, "{http://www.w3.org/2004/08/xop/include}Include",
                                       nsmap={"xop": "http://www.w3.org/2004/08/xop/include"})
            include.set("href", f"cid:{content_id}")
            attachments.append(Attachment(content_id, item["mime_type"] or "application/octet-stream", item["content"]))
        outcome.meta["retrieved"] = [i["unique_id"] for i in outcome.payload or []]
        return self._registry_answer(action, outcome, answer, True, attachments)

    def _td02(self, action, envelope, message, call, injected):
        return self._td(action, envelope, call, injected, "TD0.2")

    def _td03(self, action, envelope, message, call, injected):
        return self._td(action, envelope, call, injected, "TD0.3")

    def _td(self, action, envelope, call, injected, name):
        backend = self.mock.backend
        if injected is not None:
            return self._raw_fault("Receiver", injected.message, 500, verdict="fault-injected")
        ins_el = envelope.body.find(f"{{{TD_NS}}}matriculeINS")
        ins = (ins_el.get("valeur") or "").strip() if ins_el is not None else ""
        oid = (ins_el.get("identifiantSysteme") or "").strip() if ins_el is not None else ""
        td_action = (envelope.body.get("action") or "").strip()
        if len(ins) != 15 or not oid:
            raise SoapError("DMP-TD-001", transaction=name, detail="td:matriculeINS needs valeur (the 15-character "
                            "INS) and identifiantSysteme (its OID)")
        if name == "TD0.3" and td_action not in ("AJOUT", "SUPPRESSION"):
            raise SoapError("DMP-TD-001", transaction=name, detail=f"action must be AJOUT or SUPPRESSION, not {td_action!r}")
        claims, findings = backend.check_vihf(envelope.security, call)
        findings = backend.settle(list(findings))
        errors = [f for f in findings if f.severity.value == "error"]
        if errors:
            return self._fault(errors[0].rule, "the VIHF is not acceptable", findings, 400, verdict="rejected")
        answer_data = backend.td02(ins, oid, claims, call) if name == "TD0.2" else \
            backend.td03(ins, oid, td_action, claims, call)
        tag = "TD02Response" if name == "TD0.2" else "TD03Response"
        answer = etree.Element(f"{{{TD_NS}}}{tag}", nsmap={"td": TD_NS})
        for key, value in answer_data.items():
            if value is not None and key not in ("caller",):
                answer.set(key, str(value))
        outcome = Outcome(findings=findings, verdict=answer_data.get("autorisation") if name == "TD0.2"
                          else answer_data.get("resultat"), meta=answer_data)
        return self._registry_answer(action, outcome, answer, False)

    # --- answers ----------------------------------------------------------------------------------
    def _registry_answer(self, action, outcome: Outcome, element, mtom: bool, attachments=None) -> Response:
        data = envelope_bytes(action.response_action, element, self.relates_to)
        if mtom:
            content_type, payload = write_mtom(data, attachments or [], action.response_action)
        else:
            content_type = f'application/soap+xml; charset=UTF-8; action="{action.response_action}"'
            payload = data
        meta = dict(outcome.meta)
        meta["status"] = getattr(outcome, "status", None)
        if outcome.claims is not None:
            meta["caller"] = self.mock.backend.caller_of(outcome.claims)
        self._journal(outcome.verdict, outcome.findings, data, 200, meta)
        return Response(payload, status=200, content_type=content_type)

    def _fault(self, rule: str, reason: str, findings, status: int, verdict: str = "error") -> Response:
        """A SOAP fault: the code from a protocol rule, else Sender (4xx) / Receiver (5xx); a rule's own
        subcode (the VIHF rules carry WS-Security ones) when it declares one."""
        if rule in PROTOCOL_RULES:
            code = PROTOCOL_RULES[rule].extra.get("fault") or ("Receiver" if status >= 500 else "Sender")
            subcode = None
        else:
            code = "Receiver" if status >= 500 else "Sender"
            subcode = _declared_subcode(rule)
        if status not in (413, 415):
            status = _HTTP_FOR_FAULT.get(code, status)
        data = fault_bytes(rule, reason, self.relates_to, findings, code=code, subcode=subcode)
        self._journal(verdict, findings, data, status, {"fault": rule})
        return Response(data, status=status, content_type="application/soap+xml; charset=UTF-8")

    def _raw_fault(self, code: str, reason: str, status: int, verdict: str) -> Response:
        data = fault_bytes("XDS-FAULT-001", reason, self.relates_to, code=code)
        self._journal(verdict, [], data, status, {"fault": code})
        return Response(data, status=status, content_type="application/soap+xml; charset=UTF-8")

    def _http_fault(self, fault) -> Response:
        message = fault.params.get("message", "fault injected")
        status = int(fault.params.get("status", 503))
        self._journal("fault-injected", [], message.encode(), status, {"fault": fault.kind, "fault_id": fault.id})
        return Response(message, status=status, content_type="text/plain; charset=UTF-8")

    def _journal(self, verdict, findings, response_body: bytes, status: int, meta: dict) -> None:
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "content-length",
                                                                               "soapaction", "user-agent")}
        self.mock.journal.record(
            self.operation, verdict, findings=findings,
            request={"path": request.path, "headers": headers, "body": journal_body(self.body)},
            response={"status": status, "body": journal_body(response_body)},
            duration_ms=(time.perf_counter() - self.started) * 1000, client=Call("", request.environ).client,
            meta=meta)


def _declared_subcode(rule_id: str) -> str | None:
    from segur.kernel import rules

    try:
        return rules.get(rule_id).extra.get("soap_fault")
    except KeyError:
        return None


def _content_type_action(value: str) -> tuple[str, str | None]:
    """The `action` parameter of a SOAP 1.2 Content-Type (RFC 3902), used when wsa:Action is missing."""
    from segur.mocks.dmp.mtom import parse_content_type

    main, params = parse_content_type(value)
    return main, params.get("action")


# --- admin routes of the DMP --------------------------------------------------------------------------
def _dmp_admin(mock: DmpMock) -> Blueprint:
    admin = Blueprint("dmp_admin_extra", __name__, url_prefix="/_admin")

    @admin.get("/documents")
    def documents():
        patient = request.args.get("patient")
        return jsonify({"service": "dmp", "patients": mock.backend.documents_by_patient(patient)})

    @admin.get("/documents/<unique_id>")
    def document(unique_id: str):
        view = mock.backend.document_view(unique_id)
        if view is None:
            return jsonify({"error": f"no document with uniqueId {unique_id!r}"}), 404
        return jsonify(view)

    @admin.get("/documents/<unique_id>/content")
    def document_content(unique_id: str):
        stored = mock.backend.store.document(unique_id)
        if stored is None:
            return jsonify({"error": f"no document with uniqueId {unique_id!r}"}), 404
        content, mime_type = stored
        return Response(content, status=200, content_type=mime_type or "application/octet-stream")

    @admin.get("/authorisations")
    def authorisations():
        return jsonify({"authorisations": mock.backend.store.authorisations()})

    @admin.post("/authorisations")
    def add_authorisation():
        spec = request.get_json(silent=True) or {}
        if not spec.get("ins") or not spec.get("actor"):
            return jsonify({"error": "send {\"ins\": ..., \"actor\": ..., \"status\": VALIDE|INTERDIT, "
                                     "\"expires_at\": ISO or null}"}), 400
        status = spec.get("status", "VALIDE")
        if status not in ("VALIDE", "INTERDIT"):
            return jsonify({"error": "status must be VALIDE or INTERDIT (EXPIRE comes from expires_at)"}), 400
        mock.backend.store.set_authorisation(spec["ins"], spec["actor"], status, spec.get("expires_at"))
        return jsonify({"added": spec}), 201

    @admin.post("/dmp/<ins>/close")
    def close(ins: str):
        mock.backend.close_dmp(ins, "admin")
        return jsonify({"ins": ins, "dmp": "FERME"})

    @admin.post("/dmp/<ins>/open")
    def reopen(ins: str):
        mock.backend.store.set_dmp_state(ins, "OUVERT", "admin")
        return jsonify({"ins": ins, "dmp": "OUVERT"})

    return admin
