"""The INSi mock as a SOAP 1.2 server: a Flask app (admin API, WSDL/XSD) around the SOAP endpoint.

The SOAP endpoint (``POST /lps``, the path of CNAM's address ``…ameli.fr:443/lps``) is served by a
small WSGI function placed in front of Flask: a search is the hot path (≥ 1,000 per second is the
target), and it needs nothing Flask offers. Everything else — ``?wsdl``, the schemas, ``/_admin/``
— is Flask.
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
from segur.kernel.faults import FaultBook
from segur.kernel.findings import Finding
from segur.kernel.journal import Journal, body_for_journal
from segur.mocks.insi import soap
from segur.mocks.insi.backend import ACCESS_MODES, InsiBackend, Software
from segur.mocks.insi.rules import FAULTS, RULES_BY_ID, FaultSpec

SERVICE_PATH = "/lps"
DEFAULT_MAX_BODY = 64 * 1024  # an INSi request is 2-4 kB; a SAML assertion adds a few kB
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

#: Fault kinds the INSi mock adds to the kit's generic ones (latency, http_error, overload).
INSI_FAULT_KINDS = {
    # A SOAP fault of the catalogue (`fault`: a key of rules.FAULTS), or any siram/desir code a test
    # wants to replay (`siram`, `desir`, `code` Sender/Receiver, `reason`, `message`, `severite`).
    "soap_fault": {"fault": "technical_error", "siram": None, "desir": None, "code": None, "reason": None,
                   "message": None, "severite": None},
    # The January-2022-like incident: every hit call waits `ms` (+ up to `jitter_ms`), then a share
    # `timeout_ratio` of them times out with HTTP `status`; the others get their normal answer, late.
    "overloaded": {"ms": 8000, "jitter_ms": 0, "timeout_ratio": 0.5, "status": 504,
                   "message": "Gateway Timeout (INSi overloaded: fault injected)"},
}


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


class InsiMock:
    """The INSi teleservice mock: backend + journal + faults + the WSGI app."""

    name = "insi"

    def __init__(self, world=None, *, software=None, accept_any_idam: bool = False,
                 default_mode: str = "INSI-AUTO", require_client_cn: bool = False,
                 max_body: int = DEFAULT_MAX_BODY, journal_size: int = 20_000, sleep=time.sleep, seed: int = 0,
                 require_wsa_action: bool = True, fault_style: str = "cnam"):
        kwargs = {} if software is None else {"software": software}
        self.backend = InsiBackend(world, accept_any_idam=accept_any_idam, default_mode=default_mode, **kwargs)
        self.journal = Journal(self.name, max_entries=journal_size)
        self.faults = FaultBook(extra_kinds=INSI_FAULT_KINDS, seed=seed, sleep=sleep)
        self.require_client_cn = require_client_cn  # mTLS: the CN must say INSI-AUTO / INSI-MANU
        # False: a request without wsa:Action is dispatched on the SOAP action of its Content-Type
        # (with a warning), for clients that do not turn WS-Addressing on.
        self.require_wsa_action = require_wsa_action
        if fault_style not in soap.FAULT_STYLES:
            raise ValueError(f"fault_style must be one of {soap.FAULT_STYLES}, not {fault_style!r}")
        # "cnam": every fault with HTTP 500, as CNAM answers; "strict": SOAP 1.2 Part 2 §7.5.2 (Sender → 400)
        # and the WS-Addressing fault headers.
        self.fault_style = fault_style
        self.max_body = max_body
        self.base_url: str | None = None
        self._sleep = sleep
        self._finding_dicts: dict[tuple, dict] = {}
        self._rng_lock = threading.Lock()
        self._seed = seed
        self._fault_rngs: dict[int, random.Random] = {}  # per `overloaded` fault: replayable draws
        self.app = create_flask_app(self)
        flask_wsgi = self.app.wsgi_app
        self.app.wsgi_app = lambda environ, start_response: self._wsgi(environ, start_response, flask_wsgi)

    # -- AdminHooks --------------------------------------------------------------------------------
    def endpoints(self) -> dict:
        base = self.base_url or ""
        return {
            "soap": f"{base}{SERVICE_PATH}",
            "wsdl": f"{base}{SERVICE_PATH}?wsdl",
            "schemas": f"{base}/wsdl/xsd/",
            "admin": f"{base}/_admin/",
        }

    def reset(self) -> None:
        self.backend.reset()

    # -- the SOAP endpoint -------------------------------------------------------------------------
    def _wsgi(self, environ, start_response, flask_wsgi):
        if environ.get("PATH_INFO") != SERVICE_PATH or environ.get("REQUEST_METHOD") == "GET":
            return flask_wsgi(environ, start_response)
        started = time.perf_counter()
        body = b""
        method = environ.get("REQUEST_METHOD", "")
        if method != "POST":
            finding = RULES_BY_ID["INSI-HTTP-METHOD"].finding(method=method)
            reply = Reply(405, f"{finding.message}\n".encode(), "text/plain; charset=utf-8", verdict="error",
                          findings=[finding], extra_headers=[("Allow", "POST, GET")])
        else:
            length = environ.get("CONTENT_LENGTH") or ""
            declared = int(length) if length.isdigit() else None
            stream = environ["wsgi.input"]
            if declared is not None and declared > self.max_body:
                _drain(stream, declared)
                reply = self._too_large(declared)
            else:
                body = stream.read(declared) if declared is not None else stream.read(self.max_body + 1)
                if len(body) > self.max_body:
                    size = len(body) + _drain(stream, None)
                    reply = self._too_large(size)
                    body = body[: self.max_body]
                else:
                    reply = self.process(body, environ.get("CONTENT_TYPE", ""), environ)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))),
                   *reply.extra_headers]
        start_response(_STATUS_TEXT.get(reply.status, f"{reply.status} Error"), headers)
        self._record(environ, body, reply, headers, (time.perf_counter() - started) * 1000)
        return [reply.body]

    def _too_large(self, size: int) -> Reply:
        finding = RULES_BY_ID["INSI-HTTP-SIZE"].finding(size=size, limit=self.max_body)
        return Reply(413, f"{finding.message}\n".encode(), "text/plain; charset=utf-8", verdict="error",
                     findings=[finding], extra_headers=[("Connection", "close")])

    def process(self, body: bytes, content_type: str, environ: dict) -> Reply:
        """Answer one SOAP request (the body already read), injected faults included."""
        context: dict = {}
        message_id = None
        operation = "unknown"
        try:
            request_ = soap.read_envelope(body)
            message_id = request_.message_id
            if content_type.split(";", 1)[0].strip().lower() != "application/soap+xml":
                raise soap.SoapProblem("INSI-HTTP-CONTENT-TYPE", content_type=content_type)
            self._check_client_certificate(environ)
            action = request_.action
            fallback = None
            if action is None:
                soap_action = _soap_action(content_type)
                if self.require_wsa_action or soap_action is None:
                    raise soap.SoapProblem("INSI-WSA-ACTION-MISSING")
                action = soap_action
                fallback = RULES_BY_ID["INSI-WSA-ACTION-FALLBACK"].finding(action=action)
            operation = soap.OPERATION_BY_ACTION.get(action, "unknown")
            if operation == "unknown":
                raise soap.SoapProblem("INSI-WSA-ACTION-UNKNOWN", action=action)
            soap_action = _soap_action(content_type)
            if soap_action is not None and soap_action != action:
                raise soap.SoapProblem("INSI-WSA-ACTION-MISMATCH", soap_action=soap_action, action=action)
            if request_.body.tag != soap.BODY_ELEMENTS[operation]:
                raise soap.SoapProblem("INSI-BODY-OPERATION", element=request_.body.tag, operation=operation)
            idam = soap.read_context_lps(request_.lps)
            context["idam"] = idam
            soap.check_context_bam(request_.bam)
            known = self.backend.authorise(idam, environ.get("SSL_CLIENT_S_DN_CN") if self.require_client_cn
                                           else None, operation)
            if operation == soap.OP_TRAITS:
                query = soap.read_traits(request_.body)
                context["birth_name"] = (query.birth_name or "").strip().upper()
                outcome = self.backend.search_traits(query)
            else:
                query = soap.read_vitale(request_.body)
                matricule = query.individual or query.opening_rights
                context["nir"] = matricule.number if matricule else None
                context["birth_name"] = (query.birth_name or "").strip().upper()
                outcome = self.backend.search_vitale(query)
            if outcome.ins:
                context["ins"] = outcome.ins
            findings = list(outcome.findings)
            if fallback is not None:
                findings.append(fallback)
            if not known:
                findings.append(RULES_BY_ID["INSI-IDAM-ACCEPTED-ANY"].finding(idam=idam))
            if not message_id:
                findings.append(RULES_BY_ID["INSI-WSA-MESSAGEID"].finding())
            payload = self.backend.resultat(outcome)
            reply = Reply(200, soap.envelope(payload, soap.ACTIONS[operation][1], message_id), operation=operation,
                          findings=findings, meta={"code_cr": outcome.code, "ins": outcome.ins,
                                                   "oid": outcome.patient.oid if outcome.patient else None,
                                                   "candidates": outcome.candidates})
        except soap.SoapProblem as problem:
            reply = self._rule_fault(problem, operation, message_id)
        if message_id:
            reply.meta["message_id"] = message_id
        return self._inject(reply, operation, context, message_id)

    def _check_client_certificate(self, environ) -> None:
        if not self.require_client_cn:
            return
        cn = environ.get("SSL_CLIENT_S_DN_CN")
        if cn not in ACCESS_MODES:
            raise soap.SoapProblem("INSI-TLS-CN", cn=cn)

    def _rule_fault(self, problem: soap.SoapProblem, operation: str, message_id: str | None) -> Reply:
        rule = RULES_BY_ID[problem.rule_id]
        finding = rule.finding(**problem.context)
        spec = FAULTS[rule.extra["fault"]]
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
        return Reply(soap.fault_http_status(spec, self.fault_style),
                     soap.render_fault(spec, style=self.fault_style, **kwargs), operation=operation,
                     verdict="rejected", findings=[finding],
                     meta={"fault": spec.key, "siram": spec.subcode, "desir": spec.detail_code})

    # -- injected faults ---------------------------------------------------------------------------
    def _inject(self, reply: Reply, operation: str, context: dict, message_id: str | None) -> Reply:
        hit = self.faults.select(operation, context)
        if not hit:
            return reply
        self.faults.delay(hit)
        kinds = [f.kind for f in hit]
        finding = RULES_BY_ID["INSI-FAULT-INJECTED"].finding(kind=", ".join(kinds))
        meta = {**reply.meta, "faults": [f.id for f in hit], "fault_kinds": kinds}
        overloaded = self.faults.first(hit, "overloaded")
        if overloaded:
            params = overloaded.params
            with self._rng_lock:
                rng = self._fault_rngs.setdefault(overloaded.id, random.Random(f"{self._seed}-{overloaded.id}"))
                wait = params["ms"] + (rng.uniform(0, params["jitter_ms"]) if params["jitter_ms"] else 0)
                times_out = rng.random() < params["timeout_ratio"]
            self._sleep(wait / 1000.0)
            if times_out:
                return Reply(params["status"], f"{params['message']}\n".encode(), "text/plain; charset=utf-8",
                             operation=operation, verdict="fault-injected", findings=[finding], meta=meta)
        error = self.faults.first(hit, "http_error", "overload")
        if error:
            return Reply(error.params["status"], f"{error.params['message']}\n".encode(), "text/plain; charset=utf-8",
                         operation=operation, verdict="fault-injected", findings=[finding], meta=meta)
        injected = self.faults.first(hit, "soap_fault")
        if injected:
            spec = _injected_spec(injected.params)
            body = soap.render_fault(spec, relates_to=message_id, reason=injected.params.get("reason"),
                                     detail_text=injected.params.get("message"), style=self.fault_style)
            return Reply(soap.fault_http_status(spec, self.fault_style), body, operation=operation, verdict="fault-injected",
                         findings=[finding], meta={**meta, "siram": spec.subcode, "desir": spec.detail_code})
        reply.findings.append(finding)
        reply.meta = meta
        return reply

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
        self.journal.record(
            reply.operation, reply.verdict, findings=[self._finding_dict(f) for f in reply.findings],
            request={"method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"),
                     "headers": request_headers, "body": body_for_journal(body)},
            response={"status": reply.status, "headers": dict(headers), "body": body_for_journal(reply.body)},
            duration_ms=duration_ms, client=client, meta=reply.meta)


DRAIN_LIMIT = 1024 * 1024


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
    return FaultSpec(
        key="injected", code=params.get("code") or base.code, subcode=params.get("siram") or base.subcode,
        reason=params.get("reason") or base.reason, detail_code=params.get("desir") or base.detail_code,
        detail_text=params.get("message") or base.detail_text, severite=params.get("severite") or base.severite,
        confirmed=base.confirmed if not (params.get("siram") or params.get("desir")) else False,
        source="injected by a test")


# -- the Flask app -----------------------------------------------------------------------------

def _wsdl_text(base: str) -> str:
    text = soap.WSDL_FILE.read_text(encoding="utf-8")
    text = re.sub(r'(<soap12:address location=")[^"]*(")', rf"\g<1>{base}{SERVICE_PATH}\g<2>", text)
    return text.replace('schemaLocation="xsd/', f'schemaLocation="{base}/wsdl/xsd/')


def _check_fault_spec(spec) -> str | None:
    if isinstance(spec, dict) and spec.get("kind") == "soap_fault":
        key = spec.get("fault")
        if key is not None and key not in FAULTS:
            return f"unknown fault {key!r}; the catalogue has: {', '.join(sorted(FAULTS))}"
        code = spec.get("code")
        if code is not None and code not in ("Sender", "Receiver"):
            return "code must be Sender or Receiver"
        severite = spec.get("severite")
        if severite is not None and severite not in ("information", "avertissement", "erreur", "fatale"):
            return "severite must be information, avertissement, erreur or fatale (schema_faultSOAP_V01_01.xsd)"
    if isinstance(spec, dict) and spec.get("kind") in ("http_error", "overload", "overloaded"):
        status = spec.get("status", 503)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            return "status must be an HTTP error status (400-599)"
    if isinstance(spec, dict) and spec.get("kind") == "overloaded":
        ratio = spec.get("timeout_ratio", 0.5)
        if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            return "timeout_ratio must be a number in [0, 1]"
    return None


def create_flask_app(mock: InsiMock) -> Flask:
    app = Flask("segur.mocks.insi")

    def extra_health():
        return {"world": getattr(mock.backend.world, "version", None),
                "patients": len(mock.backend.world.patients),
                "mtls": mock.require_client_cn,
                "wsa_action_required": mock.require_wsa_action,
                "fault_style": mock.fault_style,
                "software": [s.idam for s in mock.backend.software()]}

    # Validate INSi-specific fault parameters before the kit stores them.
    @app.before_request
    def _check_insi_faults():
        if request.path == "/_admin/faults" and request.method == "POST":
            spec = request.get_json(silent=True)
            for item in spec if isinstance(spec, list) else [spec]:
                problem = _check_fault_spec(item)
                if problem:
                    return jsonify({"error": problem}), 400
        return None

    app.register_blueprint(admin_blueprint(mock, extra_health=extra_health))

    @app.get(SERVICE_PATH)
    def wsdl():
        if "wsdl" not in {k.lower() for k in request.args}:
            return Response("POST SOAP 1.2 requests here; the WSDL is at ?wsdl\n", 405,
                            {"Allow": "POST, GET"}, mimetype="text/plain")
        return Response(_wsdl_text(request.host_url.rstrip("/")), mimetype="text/xml")

    @app.get("/wsdl/insi.wsdl")
    def wsdl_file():
        return Response(_wsdl_text(request.host_url.rstrip("/")), mimetype="text/xml")

    @app.get("/wsdl/xsd/<name>")
    def schema(name: str):
        path = soap.WSDL_DIR / "xsd" / name
        if not re.fullmatch(r"[a-z0-9-]+\.xsd", name) or not path.is_file():
            abort(404)
        return Response(Path(path).read_bytes(), mimetype="text/xml")

    @app.get("/_admin/idams")
    def list_idams():
        return jsonify({"accept_any_idam": mock.backend.accept_any_idam,
                        "default_mode": mock.backend.default_mode,
                        "software": [s.to_dict() for s in mock.backend.software()]})

    @app.post("/_admin/idams")
    def add_idam():
        try:
            software = Software.from_dict(request.get_json(silent=True))
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400
        mock.backend.add_software(software)
        return jsonify({"added": software.to_dict()}), 201

    @app.delete("/_admin/idams/<idam>")
    def remove_idam(idam: str):
        if mock.backend.remove_software(idam):
            return jsonify({"removed": idam})
        return jsonify({"error": f"no software {idam!r}"}), 404

    @app.get("/_admin/fault-catalogue")
    def fault_catalogue():
        return jsonify({key: {"code": f.code, "subcode": f.subcode, "detail_code": f.detail_code,
                              "reason": f.reason, "detail_text": f.detail_text, "severite": f.severite,
                              "confirmed": f.confirmed, "source": f.source} for key, f in FAULTS.items()})

    return app
