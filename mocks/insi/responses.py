"""The INSi mock on the wire: the SOAP 1.2 endpoint and the Flask app (admin API, WSDL/XSD) around it.

The SOAP endpoint (``POST /lps``, the path of CNAM's address ``…ameli.fr:443/lps``) is served by a
small WSGI function placed in front of Flask: a search is the hot path (≥ 1,000 per second is the
target), and it needs nothing Flask offers. Everything else — ``?wsdl``, the schemas, ``/_admin/``
— is Flask. The request is read with `soap` into the domain objects of `models`; the answer is
rendered with `soap`; the exchange is journalled in the service's journal, faults drawn from its book.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from flask import Flask, Response, abort, jsonify, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.findings import Finding
from segur.kernel.journal import body_for_journal
from segur.mocks.insi import rules, soap
from segur.mocks.insi.models import ACCESS_MODES, OP_TRAITS, SERVICE_PATH, Outcome, Refused, Software
from segur.mocks.insi.rules import FAULTS, FaultSpec

SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
DRAIN_LIMIT = 1024 * 1024


@dataclass
class Reply:
    """One answer of the SOAP endpoint, and what the journal says of it."""

    status: int
    body: bytes
    content_type: str = SOAP_CONTENT_TYPE
    operation: str = "unknown"
    verdict: str = "accepted"
    findings: list[Finding] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


_ACTION_PARAM = re.compile(r'action\s*=\s*"?([^";]+)"?', re.IGNORECASE)
_STATUS_TEXT = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class SoapEndpoint:
    """``POST /lps``: read, check, search, answer, journal — for one `InsiService`."""

    def __init__(self, service, *, sleep=time.sleep, seed: int = 0):
        self.service = service
        self.config = service.config
        self.model = service.model
        self._sleep = sleep
        self._seed = seed
        self._finding_dicts: dict[tuple, dict] = {}
        self._answers: dict[str, str] = {}  # RESULTAT per patient key: rendered once
        self._rng_lock = threading.Lock()
        self._fault_rngs: dict[int, random.Random] = {}  # per `overloaded` fault: replayable draws

    # -- WSGI --------------------------------------------------------------------------------------
    def wsgi(self, environ, start_response, flask_wsgi):
        if environ.get("PATH_INFO") != SERVICE_PATH or environ.get("REQUEST_METHOD") == "GET":
            return flask_wsgi(environ, start_response)
        started = time.perf_counter()
        body, reply = self._read_and_answer(environ)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))),
                   *reply.extra_headers]
        start_response(_STATUS_TEXT.get(reply.status, f"{reply.status} Error"), headers)
        self._record(environ, body, reply, headers, (time.perf_counter() - started) * 1000)
        return [reply.body]

    def _read_and_answer(self, environ) -> tuple[bytes, Reply]:
        method = environ.get("REQUEST_METHOD", "")
        if method != "POST":
            finding = rules.HTTP_METHOD.finding(method=method)
            return b"", Reply(405, f"{finding.message}\n".encode(), TEXT, verdict="error", findings=[finding],
                              extra_headers=[("Allow", "POST, GET")])
        limit = self.config.max_body
        length = environ.get("CONTENT_LENGTH") or ""
        declared = int(length) if length.isdigit() else None
        stream = environ["wsgi.input"]
        if declared is not None and declared > limit:
            _drain(stream, declared)
            return b"", self._too_large(declared)
        body = stream.read(declared) if declared is not None else stream.read(limit + 1)
        if len(body) > limit:
            size = len(body) + _drain(stream, None)
            return body[:limit], self._too_large(size)
        return body, self.process(body, environ.get("CONTENT_TYPE", ""), environ)

    def _too_large(self, size: int) -> Reply:
        finding = rules.HTTP_SIZE.finding(size=size, limit=self.config.max_body)
        return Reply(413, f"{finding.message}\n".encode(), TEXT, verdict="error", findings=[finding],
                     extra_headers=[("Connection", "close")])

    # -- one SOAP request --------------------------------------------------------------------------
    def process(self, body: bytes, content_type: str, environ: dict) -> Reply:
        """Answer one SOAP request (the body already read), injected faults included."""
        context: dict = {}
        message_id = None
        operation = "unknown"
        try:
            envelope = soap.read_envelope(body)
            message_id = envelope.message_id
            if content_type.split(";", 1)[0].strip().lower() != "application/soap+xml":
                raise Refused(rules.HTTP_CONTENT_TYPE, content_type=content_type)
            self._check_client_certificate(environ)
            operation, fallback = self._operation(envelope, content_type)
            reply = self._search(envelope, operation, environ, context, fallback)
        except Refused as problem:
            reply = self._rule_fault(problem, operation, message_id)
        if message_id:
            reply.meta["message_id"] = message_id
        return self._inject(reply, operation, context, message_id)

    def _operation(self, envelope: soap.SoapRequest, content_type: str) -> tuple[str, Finding | None]:
        """The operation the request calls (wsa:Action, or the SOAP action when allowed to fall back)."""
        action = envelope.action
        soap_action = _soap_action(content_type)
        fallback = None
        if action is None:
            if self.config.wsa_action_required or soap_action is None:
                raise Refused(rules.WSA_ACTION_MISSING)
            action = soap_action
            fallback = rules.WSA_ACTION_FALLBACK.finding(action=action)
        operation = soap.OPERATION_BY_ACTION.get(action, "unknown")
        if operation == "unknown":
            raise Refused(rules.WSA_ACTION_UNKNOWN, action=action)
        if soap_action is not None and soap_action != action:
            raise Refused(rules.WSA_ACTION_MISMATCH, soap_action=soap_action, action=action)
        if envelope.body.tag != soap.BODY_ELEMENTS[operation]:
            raise Refused(rules.BODY_OPERATION, element=envelope.body.tag, operation=operation)
        return operation, fallback

    def _search(self, envelope: soap.SoapRequest, operation: str, environ: dict, context: dict,
                fallback: Finding | None) -> Reply:
        idam = soap.read_context_lps(envelope.lps)
        context["idam"] = idam
        soap.check_context_bam(envelope.bam)
        mode = environ.get("SSL_CLIENT_S_DN_CN") if self.config.mtls else None
        known = self.model.authorise(idam, mode, operation)
        if operation == OP_TRAITS:
            query = soap.read_traits(envelope.body)
            context["birth_name"] = (query.birth_name or "").strip().upper()
            outcome = self.model.search_traits(query)
        else:
            query = soap.read_vitale(envelope.body)
            matricule = query.individual or query.opening_rights
            context["nir"] = matricule.number if matricule else None
            context["birth_name"] = (query.birth_name or "").strip().upper()
            outcome = self.model.search_vitale(query)
        if outcome.ins:
            context["ins"] = outcome.ins
        findings = list(outcome.findings)
        if fallback is not None:
            findings.append(fallback)
        if not known:
            findings.append(rules.IDAM_ACCEPTED_ANY.finding(idam=idam))
        if not envelope.message_id:
            findings.append(rules.WSA_MESSAGEID.finding())
        answer = soap.envelope(self.resultat(outcome), soap.ACTIONS[operation][1], envelope.message_id)
        meta = {"code_cr": outcome.code, "ins": outcome.ins,
                "oid": outcome.patient.oid if outcome.patient else None, "candidates": outcome.candidates}
        return Reply(200, answer, operation=operation, findings=findings, meta=meta)

    def resultat(self, outcome: Outcome) -> str:
        """The `RESULTAT` element for an outcome (rendered once per patient)."""
        if outcome.patient is None:
            return soap.render_outcome(outcome)
        cached = self._answers.get(outcome.patient.key)
        if cached is None:
            cached = self._answers[outcome.patient.key] = soap.render_outcome(outcome)
        return cached

    def _check_client_certificate(self, environ) -> None:
        if not self.config.mtls:
            return
        cn = environ.get("SSL_CLIENT_S_DN_CN")
        if cn not in ACCESS_MODES:
            raise Refused(rules.TLS_CN, cn=cn)

    def _rule_fault(self, problem: Refused, operation: str, message_id: str | None) -> Reply:
        finding = problem.finding()
        spec = FAULTS[problem.rule.extra["fault"]]
        kwargs: dict = {"relates_to": message_id}
        if spec.detail_code:
            kwargs["detail_text"] = f"{spec.detail_text} {finding.message}" if not spec.confirmed else None
        elif spec.key == "wsa_action_unknown":
            kwargs["problem_action"] = problem.context.get("action", "")
        elif spec.key == "wsa_action_missing":
            kwargs["problem_header"] = "wsa:Action"
        elif spec.key == "wsa_cardinality":
            kwargs["problem_header"] = problem.context.get("header")
        elif spec.key == "soap_must_understand":
            kwargs["not_understood"] = problem.context.get("header")
        if spec.key in ("soap_malformed", "soap_version", "soap_media_type"):
            kwargs["reason"] = f"{spec.reason}: {finding.message}"
        style = self.config.fault_style
        return Reply(soap.fault_http_status(spec, style), soap.render_fault(spec, style=style, **kwargs),
                     operation=operation, verdict="rejected", findings=[finding],
                     meta={"fault": spec.key, "siram": spec.subcode, "desir": spec.detail_code})

    # -- injected faults ---------------------------------------------------------------------------
    def _inject(self, reply: Reply, operation: str, context: dict, message_id: str | None) -> Reply:
        faults = self.service.faults
        hit = faults.select(operation, context)
        if not hit:
            return reply
        faults.delay(hit)
        kinds = [f.kind for f in hit]
        finding = rules.FAULT_INJECTED.finding(kind=", ".join(kinds))
        meta = {**reply.meta, "faults": [f.id for f in hit], "fault_kinds": kinds}
        overloaded = faults.first(hit, "overloaded")
        if overloaded and self._times_out(overloaded):
            params = overloaded.params
            return Reply(params["status"], f"{params['message']}\n".encode(), TEXT, operation=operation,
                         verdict="fault-injected", findings=[finding], meta=meta)
        error = faults.first(hit, "http_error", "overload")
        if error:
            return Reply(error.params["status"], f"{error.params['message']}\n".encode(), TEXT,
                         operation=operation, verdict="fault-injected", findings=[finding], meta=meta)
        injected = faults.first(hit, "soap_fault")
        if injected:
            return self._injected_fault(injected.params, operation, finding, meta, message_id)
        reply.findings.append(finding)
        reply.meta = meta
        return reply

    def _times_out(self, overloaded) -> bool:
        """Wait as the overloaded service does; True when this call then times out."""
        params = overloaded.params
        with self._rng_lock:
            rng = self._fault_rngs.setdefault(overloaded.id, random.Random(f"{self._seed}-{overloaded.id}"))
            wait = params["ms"] + (rng.uniform(0, params["jitter_ms"]) if params["jitter_ms"] else 0)
            times_out = rng.random() < params["timeout_ratio"]
        self._sleep(wait / 1000.0)
        return times_out

    def _injected_fault(self, params: dict, operation: str, finding: Finding, meta: dict,
                        message_id: str | None) -> Reply:
        spec = _injected_spec(params)
        style = self.config.fault_style
        body = soap.render_fault(spec, relates_to=message_id, reason=params.get("reason"),
                                 detail_text=params.get("message"), style=style)
        return Reply(soap.fault_http_status(spec, style), body, operation=operation, verdict="fault-injected",
                     findings=[finding], meta={**meta, "siram": spec.subcode, "desir": spec.detail_code})

    # -- journal -----------------------------------------------------------------------------------
    def _finding_dict(self, finding: Finding) -> dict:
        """`Finding.to_dict()` (dataclasses.asdict: slow) once per distinct finding; the dicts are
        shared by journal entries and only ever serialised."""
        key = (finding.rule, finding.message, finding.severity, finding.location)
        cached = self._finding_dicts.get(key)
        if cached is None:
            cached = finding.to_dict()
            if len(self._finding_dicts) < 100_000:
                self._finding_dicts[key] = cached
        return cached

    def _record(self, environ, body: bytes, reply: Reply, headers, duration_ms: float) -> None:
        request_headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                           if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            request_headers["Content-Type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            request_headers["Content-Length"] = environ["CONTENT_LENGTH"]
        client = {"address": environ.get("REMOTE_ADDR")}
        if environ.get("SSL_CLIENT_S_DN_CN"):
            client.update(cn=environ.get("SSL_CLIENT_S_DN_CN"), organisation=environ.get("SSL_CLIENT_S_DN_O"))
        self.service.journal.record(
            reply.operation, reply.verdict, findings=[self._finding_dict(f) for f in reply.findings],
            request={"method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"),
                     "headers": request_headers, "body": body_for_journal(body)},
            response={"status": reply.status, "headers": dict(headers), "body": body_for_journal(reply.body)},
            duration_ms=duration_ms, client=client, meta=reply.meta)


def _drain(stream, declared: int | None) -> int:
    """Read and drop what is left of an oversize body (up to 1 MiB), so that the client, still
    sending, reads the 413 instead of a broken pipe; beyond that the connection is simply closed."""
    if declared is not None and declared > DRAIN_LIMIT:
        return 0
    left = DRAIN_LIMIT if declared is None else declared
    drained = 0
    while left > 0:
        block = stream.read(min(65536, left))
        if not block:
            break
        drained += len(block)
        left -= len(block)
    return drained


def _soap_action(content_type: str) -> str | None:
    """The SOAP 1.2 `action` parameter of the Content-Type (RFC 3902), when sent."""
    if "action" not in content_type.lower():
        return None
    match = _ACTION_PARAM.search(content_type)
    return match.group(1).strip() if match else None


def _injected_spec(params: dict) -> FaultSpec:
    base = FAULTS.get(params.get("fault") or "technical_error", FAULTS["technical_error"])

    def given(name: str, default):
        return params.get(name) or default

    replayed = params.get("siram") or params.get("desir")
    return FaultSpec(
        key="injected", code=given("code", base.code), subcode=given("siram", base.subcode),
        reason=given("reason", base.reason), detail_code=given("desir", base.detail_code),
        detail_text=given("message", base.detail_text), severite=given("severite", base.severite),
        confirmed=False if replayed else base.confirmed, source="injected by a test")


# -- the Flask app -----------------------------------------------------------------------------

def _wsdl_text(base: str) -> str:
    """The WSDL with its addresses under `base`: the root URL, with a tenant's /t/<tenant> prefix."""
    text = soap.WSDL_FILE.read_text(encoding="utf-8")
    text = re.sub(r'(<soap12:address location=")[^"]*(")', rf"\g<1>{base}{SERVICE_PATH}\g<2>", text)
    return text.replace('schemaLocation="xsd/', f'schemaLocation="{base}/wsdl/xsd/')


SEVERITES = ("information", "avertissement", "erreur", "fatale")
SEVERITES_WORDS = "information, avertissement, erreur or fatale (schema_faultSOAP_V01_01.xsd)"


def check_fault_spec(spec) -> str | None:
    """What is wrong with the INSi parameters of a fault (the kernel checks the generic ones), or None."""
    if not isinstance(spec, dict):
        return None
    kind = spec.get("kind")
    if kind == "soap_fault":
        key = spec.get("fault")
        if key is not None and key not in FAULTS:
            return f"unknown fault {key!r}; the catalogue has: {', '.join(sorted(FAULTS))}"
        code = spec.get("code")
        if code is not None and code not in ("Sender", "Receiver"):
            return "code must be Sender or Receiver"
        severite = spec.get("severite")
        if severite is not None and severite not in SEVERITES:
            return f"severite must be {SEVERITES_WORDS}"
    if kind in ("http_error", "overload", "overloaded"):
        status = spec.get("status", 503)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            return "status must be an HTTP error status (400-599)"
    if kind == "overloaded":
        ratio = spec.get("timeout_ratio", 0.5)
        if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            return "timeout_ratio must be a number in [0, 1]"
    return None


def fault_catalogue() -> dict:
    return {key: {"code": f.code, "subcode": f.subcode, "detail_code": f.detail_code, "reason": f.reason,
                  "detail_text": f.detail_text, "severite": f.severite, "confirmed": f.confirmed,
                  "source": f.source} for key, f in FAULTS.items()}


def create_app(service, *, sleep=time.sleep, seed: int = 0) -> Flask:
    """The Flask app of one `InsiService`, with the SOAP endpoint in front of it."""
    app = Flask("segur.mocks.insi")
    model = service.model

    @app.before_request
    def _check_insi_faults():  # INSi-specific fault parameters, before the kernel stores the fault
        if request.path == "/_admin/faults" and request.method == "POST":
            spec = request.get_json(silent=True)
            for item in spec if isinstance(spec, list) else [spec]:
                problem = check_fault_spec(item)
                if problem:
                    return jsonify({"error": problem}), 400
        return None

    app.register_blueprint(admin_blueprint(service, extra_health=service.health))

    @app.get(SERVICE_PATH)
    def wsdl():
        if "wsdl" not in {k.lower() for k in request.args}:
            return Response("POST SOAP 1.2 requests here; the WSDL is at ?wsdl\n", 405,
                            {"Allow": "POST, GET"}, mimetype="text/plain")
        return Response(_wsdl_text(request.root_url.rstrip("/")), mimetype="text/xml")

    @app.get("/wsdl/insi.wsdl")
    def wsdl_file():
        return Response(_wsdl_text(request.root_url.rstrip("/")), mimetype="text/xml")

    @app.get("/wsdl/xsd/<name>")
    def schema(name: str):
        path = soap.WSDL_DIR / "xsd" / name
        if not re.fullmatch(r"[a-z0-9-]+\.xsd", name) or not path.is_file():
            abort(404)
        return Response(Path(path).read_bytes(), mimetype="text/xml")

    @app.get("/_admin/idams")
    def list_idams():
        return jsonify({"accept_any_idam": model.accept_any_idam, "default_mode": model.default_mode,
                        "software": [s.to_dict() for s in model.software()]})

    @app.post("/_admin/idams")
    def add_idam():
        try:
            software = Software.from_dict(request.get_json(silent=True))
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400
        model.add_software(software)
        return jsonify({"added": software.to_dict()}), 201

    @app.delete("/_admin/idams/<idam>")
    def remove_idam(idam: str):
        if model.remove_software(idam):
            return jsonify({"removed": idam})
        return jsonify({"error": f"no software {idam!r}"}), 404

    @app.get("/_admin/fault-catalogue")
    def catalogue():
        return jsonify(fault_catalogue())

    endpoint = SoapEndpoint(service, sleep=sleep, seed=seed)
    flask_wsgi = app.wsgi_app
    app.wsgi_app = lambda environ, start_response: endpoint.wsgi(environ, start_response, flask_wsgi)
    return app
