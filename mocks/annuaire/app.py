"""The Annuaire santé mock's HTTP layer: FHIR R4 JSON under `/fhir/v2`, admin under `/_admin/`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from flask import Flask, Response, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.journal import body_for_journal
from segur.mocks.annuaire import paging, rules
from segur.mocks.annuaire.backend import BASE_PATH, DEFAULT_COUNT, MAX_COUNT, AnnuaireMock
from segur.mocks.annuaire.resources import IG
from segur.mocks.annuaire.search import INCLUDES, PARAMETERS, REVINCLUDES, SearchError

FHIR_JSON = "application/fhir+json"
PROFILES = {t: f"{IG}/as-dp-{p}" for t, p in (
    ("Practitioner", "practitioner"), ("PractitionerRole", "practitionerrole"),
    ("Organization", "organization"), ("HealthcareService", "healthcareservice-healthcare-activity"),
    ("Device", "device"))}
STATUS = {"ANN-001": 401, "ANN-002": 401, "ANN-005": 404, "ANN-006": 404, "ANN-007": 405}
ISSUE_CODE = {401: "login", 404: "not-found", 405: "not-supported", 400: "invalid"}


def operation_outcome(finding_message: str, status: int, rule_id: str, hint: str | None) -> dict:
    diagnostics = f"[{rule_id}] {finding_message}" + (f" Fix: {hint}" if hint else "")
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": ISSUE_CODE.get(status, "processing"),
                       "details": {"text": finding_message}, "diagnostics": diagnostics}]}


def capability_statement(unknown_parameters: str = "refuse") -> dict:
    """What the mock serves, in the IG's CapabilityStatement shape (AsServerDPCapabilityStatement)."""
    resources = []
    for resource_type, params in PARAMETERS.items():
        entry = {"type": resource_type, "profile": PROFILES[resource_type],
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [{"name": n, "type": p.kind} for n, p in sorted(params.items())]}
        if resource_type in INCLUDES:
            entry["searchInclude"] = ["*", *INCLUDES[resource_type]]
        if resource_type in REVINCLUDES:
            entry["searchRevInclude"] = list(REVINCLUDES[resource_type])
        resources.append(entry)
    lenient = ("unknown search parameters are ignored and reported in an OperationOutcome entry unless "
               "Prefer: handling=strict" if unknown_parameters == "fhir"
               else "unknown search parameters are refused (400 OperationOutcome), as the real server does")
    statement = {"resourceType": "CapabilityStatement", "status": "active",
                 "date": datetime.now(UTC).date().isoformat(), "kind": "instance",
                 "software": {"name": "segur-harness Annuaire santé mock"},
                 "implementation": {"description": f"Annuaire santé FHIR API v2 mock: {lenient}; pages "
                                                   f"of {DEFAULT_COUNT} by default, next link "
                                                   f"{BASE_PATH}/_page?id=…"},
                 "fhirVersion": "4.0.1", "format": [FHIR_JSON, "json"],
                 "rest": [{"mode": "server", "resource": resources}]}
    CapabilityStatement.model_validate(statement)
    return statement


def prefer_handling(header: str | None) -> str | None:
    """`strict` or `lenient` from a `Prefer: handling=…` header (FHIR R4 §3.1.1.5), else None."""
    for token in (header or "").replace(";", ",").split(","):
        name, _, value = token.strip().partition("=")
        if name.strip().lower() == "handling" and value.strip().lower() in ("strict", "lenient"):
            return value.strip().lower()
    return None


def health_details(mock: AnnuaireMock) -> dict:
    """What this mock simulates, for `/_admin/health` (the same facts as the CapabilityStatement)."""
    return {"fhir_version": "4.0.1", "unknown_parameters": mock.unknown_parameters,
            "paging": {"default_count": DEFAULT_COUNT, "max_count": MAX_COUNT,
                       "next_link": f"{BASE_PATH}/_page?id="},
            "ids": "technical (e.g. Practitioner/003-…); search by identifier, never read by RPPS/FINESS",
            "resources": {t: {"count": len(mock.directory[t]), "search": sorted(PARAMETERS[t])}
                          for t in PARAMETERS}}


def create_app(mock: AnnuaireMock) -> Flask:
    app = Flask("segur-annuaire")
    app.register_blueprint(admin_blueprint(mock, extra_health=lambda: health_details(mock)))
    metadata = capability_statement(mock.unknown_parameters)

    def respond(operation: str, status: int, body: dict, started: float, findings=()) -> Response:
        text = json.dumps(body, ensure_ascii=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "esante-api-key"}
        mock.journal.record(
            operation, "ok" if status < 400 else "refused", findings=findings,
            request={"method": request.method, "url": request.url, "headers": headers,
                     "api_key_present": bool(request.headers.get("ESANTE-API-KEY"))},
            response={"status": status, "body": body_for_journal(text, limit=64 * 1024)},
            duration_ms=(time.perf_counter() - started) * 1000,
            client={"address": request.remote_addr})
        return Response(text, status=status, content_type=FHIR_JSON)

    def refused(operation: str, error: SearchError, started: float) -> Response:
        status = STATUS.get(error.rule.id, 400)
        finding = error.rule.finding(**error.context)
        return respond(operation, status, operation_outcome(finding.message, status, finding.rule, finding.hint),
                       started, [finding])

    def handle(operation: str, work) -> Response:
        started = time.perf_counter()
        faults = mock.faults.select(operation, {"path": request.path})
        mock.faults.delay(faults)
        failure = mock.faults.first(faults, "http_error", "overload")
        if failure:
            status = failure.params["status"]
            body = operation_outcome(failure.params["message"], status, "FAULT", None)
            return respond(operation, status, body, started)
        try:
            mock.check_key(request.headers.get("ESANTE-API-KEY"))
            fmt = request.values.get("_format")
            if fmt not in (None, "json", FHIR_JSON, "application/json"):
                raise SearchError(rules.BAD_PARAMETER_VALUE, name="_format", value=fmt,
                                  reason="the directory answers JSON only", how="Use _format=json or leave it out.")
            return respond(operation, 200, work(), started)
        except SearchError as error:
            return refused(operation, error, started)

    def params() -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for source in (request.args, request.form):
            for key in source:
                merged.setdefault(key, []).extend(source.getlist(key))
        return merged

    @app.get(f"{BASE_PATH}/metadata")
    def get_metadata():
        return handle("metadata", lambda: metadata)

    @app.route(f"{BASE_PATH}/<resource_type>", methods=["GET"])
    @app.route(f"{BASE_PATH}/<resource_type>/_search", methods=["GET", "POST"])
    def search(resource_type: str):
        base_url = f"{mock.base_url}{BASE_PATH}"
        handling = prefer_handling(request.headers.get("Prefer"))
        return handle(f"search:{resource_type}",
                      lambda: mock.search(resource_type, params(), base_url, handling))

    @app.get(f"{BASE_PATH}/_page")
    def next_page():
        token = request.args.get("id")
        try:
            operation = f"search:{paging.decode(token)[0]}"
        except SearchError:
            operation = "search:_page"
        return handle(operation, lambda: mock.next_page(token, f"{mock.base_url}{BASE_PATH}")[1])

    @app.get(f"{BASE_PATH}/<resource_type>/<resource_id>")
    def read(resource_type: str, resource_id: str):
        return handle(f"read:{resource_type}", lambda: mock.read(resource_type, resource_id))

    @app.route(f"{BASE_PATH}/<resource_type>", methods=["POST", "PUT", "PATCH", "DELETE"])
    @app.route(f"{BASE_PATH}/<resource_type>/<resource_id>", methods=["POST", "PUT", "PATCH", "DELETE"])
    def write(resource_type: str, resource_id: str | None = None):
        started = time.perf_counter()
        return refused(f"{request.method.lower()}:{resource_type}",
                       SearchError(rules.READ_ONLY, method=request.method), started)

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith(BASE_PATH):
            started = time.perf_counter()
            return refused("unknown", SearchError(rules.UNSUPPORTED_TYPE, resource=request.path[len(BASE_PATH):]),
                           started)
        return Response(json.dumps({"error": "not found"}), status=404, content_type="application/json")

    return app
