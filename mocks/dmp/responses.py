"""The DMP mock's wire, both ways: SOAP 1.2 + MTOM requests read into domain objects for `models.py`, and
RegistryResponse / AdhocQueryResponse / RetrieveDocumentSetResponse / faults written back; the Flask app.

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

The VIHF (`vihf.py`) is verified here, once per request, with the TLS client identity of the connection;
the transaction gets the claims in its `Call`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, jsonify, request
from lxml import etree

from segur.kernel.admin import admin_blueprint
from segur.kernel.findings import Finding, Severity
from segur.mocks.dmp import ebrim, rules
from segur.mocks.dmp.calls import BASE, SERVICES, Call, DocumentRequest, Outcome, StoredQuery
from segur.mocks.dmp.ebrim import LCM, QUERY, RIM, RS, XDSB
from segur.mocks.dmp.journal import journal_body
from segur.mocks.dmp.metadata_rules import check_submission
from segur.mocks.dmp.mtom import (
    Attachment,
    MissingPart,
    MtomError,
    binary_content,
    new_content_id,
    parse_content_type,
    read_http_body,
    write_mtom,
)
from segur.mocks.dmp.rules import (
    DMP_TD_001,
    XDS_FAULT_001,
    XDS_SOAP_005,
    XDS_SOAP_006,
    XDS_SOAP_007,
    XDS_SOAP_008,
    XDS_SOAP_010,
    XdsRule,
)
from segur.mocks.dmp.soap import (
    SoapError,
    envelope_bytes,
    fault_bytes,
    parse_envelope,
    registry_error_list,
    registry_response,
)
from segur.mocks.dmp.vihf import VihfContext, verify_vihf
from segur.mocks.dmp.xds_metadata import Submission
from segur.validators.config import pack_setting

TD_NS = "urn:segur:harness:dmp:td:1"
XOP_INCLUDE = "{http://www.w3.org/2004/08/xop/include}Include"


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
        "ITI-43", "repository", (XDSB, "RetrieveDocumentSetRequest"),
        "urn:ihe:iti:2007:RetrieveDocumentSetResponse"),
    "urn:ihe:iti:2007:RegistryStoredQuery": Action(
        "ITI-18", "registry", (QUERY, "AdhocQueryRequest"), "urn:ihe:iti:2007:RegistryStoredQueryResponse"),
    "urn:ihe:iti:2010:UpdateDocumentSet": Action(
        "ITI-57", "registry", (LCM, "SubmitObjectsRequest"), "urn:ihe:iti:2010:UpdateDocumentSetResponse"),
    "urn:segur:harness:dmp:TD0.2": Action("TD0.2", "patients", (TD_NS, "TD02Request"),
                                          "urn:segur:harness:dmp:TD0.2Response"),
    "urn:segur:harness:dmp:TD0.3": Action("TD0.3", "habilitations", (TD_NS, "TD03Request"),
                                          "urn:segur:harness:dmp:TD0.3Response"),
}

#: The transactions whose VIHF refusal may be a SOAP fault (`vihf_errors`); TD0.2/TD0.3 always answer one.
VIHF_FAULT_TRANSACTIONS = ("ITI-41", "ITI-18", "ITI-43", "ITI-57")
_HTTP_FOR_FAULT = {"Sender": 400, "Receiver": 500, "VersionMismatch": 500, "MustUnderstand": 500}
_JOURNALLED_HEADERS = ("content-type", "content-length", "soapaction", "user-agent")


# --- reading requests into domain objects -----------------------------------------------------------
def read_provide_and_register(body, attachments: dict[str, bytes]):
    """ITI-41: (the `Submission`, each readable Document@id → its bytes, what reading them found)."""
    submission, findings = ebrim.parse_submission(body)
    documents: dict[str, bytes] = {}
    for element in body.findall(f"{{{XDSB}}}Document"):
        doc_id = element.get("id") or ""
        try:
            documents[doc_id] = binary_content(element, attachments)
        except MissingPart as problem:
            findings.append(problem.rule.finding(detail=f"Document '{doc_id}': {problem.detail}",
                                                 location=f"Document[@id='{doc_id}']"))
    return submission, documents, findings


def read_document_requests(body) -> list[DocumentRequest]:
    """ITI-43: the documents asked for, in order (an empty uniqueId is the model's to refuse)."""
    asked = []
    for index, item in enumerate(body.findall(f"{{{XDSB}}}DocumentRequest"), start=1):
        repository = (item.findtext(f"{{{XDSB}}}RepositoryUniqueId") or "").strip()
        asked.append(DocumentRequest(repository_unique_id=repository,
                                     unique_id=(item.findtext(f"{{{XDSB}}}DocumentUniqueId") or "").strip(),
                                     where=f"DocumentRequest[{index}]"))
    return asked


def read_stored_query(body) -> StoredQuery | None:
    """ITI-18: the AdhocQuery's id, return type and raw slot values; None without ResponseOption or query."""
    option = body.find(f"{{{QUERY}}}ResponseOption")
    query = body.find(f"{{{RIM}}}AdhocQuery")
    if option is None or query is None:
        return None
    slots: dict[str, list[list[str]]] = {}
    for slot in query.findall(f"{{{RIM}}}Slot"):
        texts = [value.text or "" for value in slot.iterfind(f"{{{RIM}}}ValueList/{{{RIM}}}Value")]
        slots.setdefault(slot.get("name") or "", []).append(texts)
    return StoredQuery(query_id=query.get("id") or "", return_type=option.get("returnType") or "ObjectRef",
                       slots=slots)


# --- the app ---------------------------------------------------------------------------------------
def describe_checks() -> dict:
    """Which functions check a request, for /_admin/health."""
    return {name: f"{fn.__module__}.{fn.__qualname__}"
            for name, fn in (("verify_vihf", verify_vihf), ("check_submission", check_submission))}


def validation_health(service) -> dict:
    """How documents are validated, for /_admin/health: a client (or the proof) can tell a DMP that runs
    the official XSD and Schematron from one that only runs the project's own layers."""
    if not service.config.validation:
        return {"enabled": False, "pack": None, "note": "documents are not validated"}
    pack, source = pack_in_use(service.validator_pack)
    note = ("XSD and Schematron layers run" if pack else
            "no official pack: the XSD and Schematron layers are skipped (give --pack or SEGUR_PACK)")
    return {"enabled": True, "pack": pack, "pack_source": source, "note": note}


def pack_in_use(validator_pack) -> tuple[str | None, str | None]:
    """(the official CDA pack documents are validated with, where that comes from)."""
    if validator_pack is False:
        return None, "disabled"
    if validator_pack:
        return str(validator_pack), "option"
    found = pack_setting()
    return (str(found.value), found.source) if found else (None, None)


def create_app(service) -> Flask:
    """The DMP's Flask app: the SOAP endpoints and the admin API, over a `service.DmpService`."""
    app = Flask("segur-dmp")
    app.config["MAX_CONTENT_LENGTH"] = None  # the handler enforces max_body itself, early and while reading
    backend = service.backend
    app.register_blueprint(admin_blueprint(service, extra_health=lambda: {
        "lenient": service.config.lenient, "rules": describe_checks(), "stored": backend.store.counts(),
        "data": str(backend.store.path), "validation": validation_health(service)}))
    app.register_blueprint(_dmp_admin(backend))
    for name in SERVICES:
        app.add_url_rule(f"{BASE}/{name}", f"soap_{name}", _endpoint(service, name), methods=["POST"])
    return app


def _endpoint(service, name: str):
    def handle():
        return _Exchange(service, name).run()

    return handle


class _Exchange:
    """One request: read, dispatch, answer, and always journal."""

    def __init__(self, service, endpoint: str):
        self.service, self.backend, self.endpoint = service, service.backend, endpoint
        self.started = time.perf_counter()
        self.body = b""
        self.operation = f"{endpoint}:unknown"
        self.relates_to = None

    def run(self) -> Response:
        try:
            return self._run()
        except SoapError as problem:
            return self._fault(problem.rule, str(problem), [problem.finding()], problem.status)
        except Exception as exc:  # the server keeps serving whatever happens; the journal says what
            item = XDS_SOAP_010.finding(detail=repr(exc)[:300])
            return self._fault(XDS_SOAP_010, item.message, [item], 500)

    def _run(self) -> Response:
        body = self._read_body()
        if isinstance(body, Response):
            return body
        self.body = body
        content_type = request.headers.get("Content-Type", "")
        try:
            message = read_http_body(content_type, body)
        except MtomError as problem:
            item = problem.rule.finding(detail=problem.detail)
            status = 415 if problem.rule is XDS_SOAP_008 else 400
            return self._fault(problem.rule, item.message, [item], status)
        envelope = parse_envelope(message.envelope, parse_content_type(content_type)[1].get("action"))
        self.relates_to = envelope.message_id
        action = ACTIONS.get(envelope.action or "")
        if action is None or action.service != self.endpoint:
            raise SoapError(XDS_SOAP_005, action=envelope.action or "(none)")
        self.operation = action.transaction
        expected = f"{{{action.request[0]}}}{action.request[1]}"
        if envelope.body.tag != expected:
            raise SoapError(XDS_SOAP_006, element=envelope.body.tag, action=envelope.action,
                            expected=expected)
        injected = self._injected(action, envelope)
        if isinstance(injected, Response):
            return injected
        call = Call(action.transaction, client=_client(request.environ))
        if injected is None:
            self._verify_vihf(envelope.security, call)
            if action.transaction in VIHF_FAULT_TRANSACTIONS:
                refused = self._vihf_fault(call)
                if refused is not None:
                    return refused
        handler = getattr(self, "_" + action.transaction.replace("-", "").replace(".", "").lower())
        return handler(action, envelope, message, call, injected)

    def _injected(self, action: Action, envelope) -> Response | Finding | None:
        """The faults the test asked for: an HTTP or SOAP fault answered now, else an XDS error the
        transaction answers with (a Finding), else None."""
        faults = self.service.faults.select(action.transaction, {"action": envelope.action})
        self.service.faults.delay(faults)
        http_fault = self.service.faults.first(faults, "http_error", "overload")
        if http_fault:
            return self._http_fault(http_fault)
        for closing in (f for f in faults if f.kind == "dmp_closed"):
            if closing.params.get("ins"):
                self.backend.close_dmp(closing.params["ins"], f"fault {closing.id}")
        soap_fault = self.service.faults.first(faults, "soap_fault")
        if soap_fault:
            code = soap_fault.params.get("code", "Receiver")
            return self._raw_fault(code, f"[fault {soap_fault.id}] {soap_fault.params.get('reason')}",
                                   _HTTP_FOR_FAULT.get(code, 500), verdict="fault-injected")
        xds_fault = self.service.faults.first(faults, "xds_error")
        if not xds_fault:
            return None
        item = XDS_FAULT_001.finding(fault_id=xds_fault.id, code=xds_fault.params["code"], location="fault")
        message = f"{item.message} — {xds_fault.params.get('message', '')}".rstrip(" —")
        return dataclasses.replace(item, message=message,
                                   extra={**item.extra, "xds_code": xds_fault.params["code"]})

    def _verify_vihf(self, security, call: Call) -> None:
        """Verify the VIHF once, with the connection's TLS client identity: claims and findings go into
        `call`."""
        config = self.service.config
        if not config.require_vihf and security is None:
            return
        context = VihfContext.from_wsgi_environ(request.environ, self.service.trusted_ca_files,
                                                test_mode=not config.production_oids, now=call.now)
        call.claims, call.vihf_findings = verify_vihf(security, context)

    def _vihf_fault(self, call: Call) -> Response | None:
        """With `vihf_errors="soap-fault"`, a VIHF that does not pass is a SOAP fault (env:Sender, subcode the
        rule's WS-Security code: wsse:InvalidSecurity, wsse:FailedAuthentication… — OASIS WSS 1.1 §12), not a
        RegistryResponse."""
        if self.service.config.vihf_errors != "soap-fault":
            return None
        findings = self.backend.settle(list(call.vihf_findings))
        errors = [f for f in findings if f.severity == Severity.ERROR]
        if not errors:
            return None
        return self._fault(rules.book[errors[0].rule], errors[0].message, findings, 400, verdict="rejected")

    def _read_body(self):
        """The request body, refused early from Content-Length and while reading beyond max_body."""
        limit = self.service.config.max_body
        length = request.content_length
        if length is not None and length > limit:
            return self._too_large(length)
        stream = request.stream
        # With a Content-Length, one read of it all: the stream joins what the socket gives once, and a single
        # chunk is returned as it is (no second copy of a 1.4 MB submission); without one, 1 MiB at a time.
        step = length if length else 1 << 20
        chunks, total = [], 0
        while True:
            chunk = stream.read(min(step, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                return self._too_large(f"more than {limit}")
        return b"".join(chunks)

    def _too_large(self, size) -> Response:
        item = XDS_SOAP_007.finding(size=size, limit=self.service.config.max_body)
        response = self._fault(XDS_SOAP_007, item.message, [item], 413)
        response.headers["Connection"] = "close"
        return response

    # --- transactions ---------------------------------------------------------------------------
    def _iti41(self, action, envelope, message, call, injected):
        submission, documents, wire_findings = read_provide_and_register(envelope.body, message.attachments)
        outcome = self.backend.provide_and_register(submission, documents, call, wire_findings=wire_findings,
                                                    injected=injected)
        answer = registry_response(outcome.findings, outcome.status)
        return self._registry_answer(action, outcome, answer, message.mtom)

    def _iti57(self, action, envelope, message, call, injected):
        submission, structural = Submission(), []
        if injected is None:
            submission, structural = ebrim.parse_submission(envelope.body)
        outcome = self.backend.update(submission, structural, call, injected)
        answer = registry_response(outcome.findings, outcome.status)
        return self._registry_answer(action, outcome, answer, message.mtom)

    def _iti18(self, action, envelope, message, call, injected):
        outcome = self.backend.stored_query(read_stored_query(envelope.body), call, injected)
        objects, return_type = outcome.payload
        answer = etree.Element(f"{{{QUERY}}}AdhocQueryResponse", nsmap={"query": QUERY, "rim": RIM, "rs": RS})
        answer.set("status", outcome.status)
        errors = registry_error_list(outcome.findings)
        if errors is not None:
            answer.append(errors)
        answer.append(ebrim.registry_object_list(objects, return_type))
        return self._registry_answer(action, outcome, answer, message.mtom)

    def _iti43(self, action, envelope, message, call, injected):
        outcome = self.backend.retrieve(read_document_requests(envelope.body), call, injected)
        answer = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetResponse", nsmap={"xdsb": XDSB, "rs": RS})
        answer.append(registry_response(outcome.findings, outcome.status))
        attachments = [_document_response(answer, item) for item in outcome.payload or []]
        outcome.meta["retrieved"] = [i["unique_id"] for i in outcome.payload or []]
        # what was served, so a judge can tell whether a consumer integrated these very bytes (the answer's
        # envelope is journalled, its MTOM parts are not)
        outcome.meta["retrieved_documents"] = [served(item) for item in outcome.payload or []]
        return self._registry_answer(action, outcome, answer, True, attachments)

    def _td02(self, action, envelope, message, call, injected):
        return self._td(action, envelope, call, injected)

    def _td03(self, action, envelope, message, call, injected):
        return self._td(action, envelope, call, injected)

    def _td(self, action, envelope, call: Call, injected):
        name = action.transaction
        if injected is not None:
            return self._raw_fault("Receiver", injected.message, 500, verdict="fault-injected")
        ins_el = envelope.body.find(f"{{{TD_NS}}}matriculeINS")
        ins = (ins_el.get("valeur") or "").strip() if ins_el is not None else ""
        oid = (ins_el.get("identifiantSysteme") or "").strip() if ins_el is not None else ""
        td_action = (envelope.body.get("action") or "").strip()
        if len(ins) != 15 or not oid:
            raise SoapError(DMP_TD_001, transaction=name, detail="td:matriculeINS needs valeur (the "
                            "15-character INS) and identifiantSysteme (its OID)")
        if name == "TD0.3" and td_action not in ("AJOUT", "SUPPRESSION"):
            raise SoapError(DMP_TD_001, transaction=name,
                            detail=f"action must be AJOUT or SUPPRESSION, not {td_action!r}")
        findings = self.backend.settle(list(call.vihf_findings))
        errors = [f for f in findings if f.severity == Severity.ERROR]
        if errors:
            return self._fault(rules.book[errors[0].rule], "the VIHF is not acceptable", findings, 400,
                               verdict="rejected")
        if name == "TD0.2":
            answer_data = self.backend.td02(ins, oid, call)
            tag, verdict = "TD02Response", answer_data.get("autorisation")
        else:
            answer_data = self.backend.td03(ins, oid, td_action, call)
            tag, verdict = "TD03Response", answer_data.get("resultat")
        answer = etree.Element(f"{{{TD_NS}}}{tag}", nsmap={"td": TD_NS})
        for key, value in answer_data.items():
            if value is not None and key != "caller":
                answer.set(key, str(value))
        outcome = Outcome(findings=findings, verdict=verdict, meta=answer_data, claims=call.claims)
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
            meta["caller"] = self.backend.caller_of(outcome.claims)
        self._journal(outcome.verdict, outcome.findings, data, 200, meta)
        return Response(payload, status=200, content_type=content_type)

    def _fault(self, rule: XdsRule, reason: str, findings, status: int, verdict: str = "error") -> Response:
        """A SOAP fault: the code the rule declares (the wire's own rules), else Sender (4xx) / Receiver
        (5xx), with the rule's WS-Security subcode when it declares one (the VIHF rules)."""
        code = rule.extra.get("fault") or ("Receiver" if status >= 500 else "Sender")
        if status not in (413, 415):
            status = _HTTP_FOR_FAULT.get(code, status)
        data = fault_bytes(
            rule, reason, self.relates_to, findings, code=code, subcode=rule.extra.get("soap_fault"))
        self._journal(verdict, findings, data, status, {"fault": rule.id})
        return Response(data, status=status, content_type="application/soap+xml; charset=UTF-8")

    def _raw_fault(self, code: str, reason: str, status: int, verdict: str) -> Response:
        data = fault_bytes(XDS_FAULT_001, reason, self.relates_to, code=code)
        self._journal(verdict, [], data, status, {"fault": code})
        return Response(data, status=status, content_type="application/soap+xml; charset=UTF-8")

    def _http_fault(self, fault) -> Response:
        message = fault.params.get("message", "fault injected")
        status = int(fault.params.get("status", 503))
        self._journal(
            "fault-injected", [], message.encode(), status, {"fault": fault.kind, "fault_id": fault.id})
        return Response(message, status=status, content_type="text/plain; charset=UTF-8")

    def _journal(self, verdict, findings, response_body: bytes, status: int, meta: dict) -> None:
        headers = {k: v for k, v in request.headers.items() if k.lower() in _JOURNALLED_HEADERS}
        self.service.journal.record(
            self.operation, verdict, findings=findings,
            request={"path": request.path, "headers": headers, "body": journal_body(self.body)},
            response={"status": status, "body": journal_body(response_body)},
            duration_ms=(time.perf_counter() - self.started) * 1000, client=_client(request.environ),
            meta=meta)


def _client(environ: dict) -> dict:
    """Who is on the other end of the connection: address and TLS client certificate names."""
    keys = ("REMOTE_ADDR", "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN_O", "SSL_CLIENT_S_DN_OU")
    return {k: environ[k] for k in keys if environ.get(k)}


def served(item: dict) -> dict:
    """One document an ITI-43 answer carries, as the journal keeps it: ids, media type, size and SHA-256."""
    content = item["content"]
    return {"unique_id": item["unique_id"], "repository_unique_id": item["repository"],
            "mime_type": item["mime_type"], "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest()}


def _document_response(answer, item: dict) -> Attachment:
    """One xdsb:DocumentResponse of an ITI-43 answer; its bytes go in an MTOM part (xop:Include)."""
    mime_type = item["mime_type"] or "application/octet-stream"
    doc = etree.SubElement(answer, f"{{{XDSB}}}DocumentResponse")
    if item.get("home"):
        etree.SubElement(doc, f"{{{XDSB}}}HomeCommunityId").text = item["home"]
    etree.SubElement(doc, f"{{{XDSB}}}RepositoryUniqueId").text = item["repository"]
    etree.SubElement(doc, f"{{{XDSB}}}DocumentUniqueId").text = item["unique_id"]
    etree.SubElement(doc, f"{{{XDSB}}}mimeType").text = mime_type
    content_id = new_content_id()
    document = etree.SubElement(doc, f"{{{XDSB}}}Document")
    include = etree.SubElement(document, XOP_INCLUDE, nsmap={"xop": "http://www.w3.org/2004/08/xop/include"})
    include.set("href", f"cid:{content_id}")
    return Attachment(content_id, mime_type, item["content"])


# --- admin routes of the DMP --------------------------------------------------------------------------
def _not_found(unique_id: str):
    return jsonify({"error": f"no document with uniqueId {unique_id!r}"}), 404


def _dmp_admin(backend) -> Blueprint:
    admin = Blueprint("dmp_admin_extra", __name__, url_prefix="/_admin")

    @admin.get("/documents")
    def documents():
        patient = request.args.get("patient")
        return jsonify({"service": "dmp", "patients": backend.documents_by_patient(patient)})

    @admin.get("/documents/<unique_id>")
    def document(unique_id: str):
        view = backend.document_view(unique_id)
        return jsonify(view) if view is not None else _not_found(unique_id)

    @admin.get("/documents/<unique_id>/content")
    def document_content(unique_id: str):
        stored = backend.store.document(unique_id)
        if stored is None:
            return _not_found(unique_id)
        content, mime_type = stored
        return Response(content, status=200, content_type=mime_type or "application/octet-stream")

    @admin.get("/authorisations")
    def authorisations():
        return jsonify({"authorisations": backend.store.authorisations()})

    @admin.post("/authorisations")
    def add_authorisation():
        spec = request.get_json(silent=True) or {}
        if not spec.get("ins") or not spec.get("actor"):
            return jsonify({"error": "send {\"ins\": ..., \"actor\": ..., \"status\": VALIDE|INTERDIT, "
                                     "\"expires_at\": ISO or null}"}), 400
        status = spec.get("status", "VALIDE")
        if status not in ("VALIDE", "INTERDIT"):
            return jsonify({"error": "status must be VALIDE or INTERDIT (EXPIRE comes from expires_at)"}), 400
        backend.store.set_authorisation(spec["ins"], spec["actor"], status, spec.get("expires_at"))
        return jsonify({"added": spec}), 201

    @admin.post("/dmp/<ins>/close")
    def close(ins: str):
        backend.close_dmp(ins, "admin")
        return jsonify({"ins": ins, "dmp": "FERME"})

    @admin.post("/dmp/<ins>/open")
    def reopen(ins: str):
        backend.store.set_dmp_state(ins, "OUVERT", "admin")
        return jsonify({"ins": ins, "dmp": "OUVERT"})

    return admin
