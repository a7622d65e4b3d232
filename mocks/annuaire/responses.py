"""The Annuaire santé mock on the wire: FHIR R4 JSON under `/fhir/v2` (Bundle, OperationOutcome,
CapabilityStatement) and the Flask app, admin API under `/_admin/`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from flask import Flask, Response, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.journal import body_for_journal
from segur.mocks.annuaire import paging, rules
from segur.mocks.annuaire.models import BASE_PATH, DEFAULT_COUNT, SearchError, SearchPage
from segur.mocks.annuaire.resources import IG
from segur.mocks.annuaire.search import INCLUDES, PARAMETERS, REVINCLUDES

FHIR_JSON = "application/fhir+json"
PROFILES = {t: f"{IG}/as-dp-{p}" for t, p in (
    ("Practitioner", "practitioner"), ("PractitionerRole", "practitionerrole"),
    ("Organization", "organization"), ("HealthcareService", "healthcareservice-healthcare-activity"),
    ("Device", "device"))}
ISSUE_CODE = {401: "login", 404: "not-found", 405: "not-supported", 400: "invalid"}
JOURNAL_BODY_LIMIT = 64 * 1024


def operation_outcome(finding_message: str, status: int, rule_id: str, hint: str | None) -> dict:
    diagnostics = f"[{rule_id}] {finding_message}" + (f" Fix: {hint}" if hint else "")
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": ISSUE_CODE.get(status, "processing"),
                       "details": {"text": finding_message}, "diagnostics": diagnostics}]}


def ignored_outcome(resource_type: str, names: list[str]) -> dict:
    """The OperationOutcome entry (search.mode outcome) that says which parameters were ignored."""
    issues = []
    for name in names:
        finding = rules.UNKNOWN_PARAMETER.finding(name=name, resource=resource_type,
                                                  supported=", ".join(sorted(PARAMETERS[resource_type])))
        issues.append({"severity": "warning", "code": "not-supported", "details": {"text": finding.message},
                       "diagnostics": f"[{finding.rule}] {finding.message} Ignored (lenient handling). "
                                      f"Fix: {finding.hint}"})
    return {"resourceType": "OperationOutcome", "issue": issues}


def search_bundle(page: SearchPage, base_url: str) -> dict:
    """A searchset Bundle for one page (`base_url`: the FHIR base the client called)."""
    entries = [_entry(r, "match", base_url) for r in page.matches]
    entries += [_entry(r, "include", base_url) for r in page.included]
    if page.ignored:
        entries.append({"resource": ignored_outcome(page.resource_type, page.ignored),
                        "search": {"mode": "outcome"}})
    if page.token is None:
        self_url = _self_url(base_url, page.resource_type, page.params)
    else:
        self_url = f"{base_url}/_page?id={page.token}"
    links = [{"relation": "self", "url": self_url}]
    if page.next_token:
        links.insert(0, {"relation": "next", "url": f"{base_url}/_page?id={page.next_token}"})
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
              "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="milliseconds")},
              "type": "searchset", "link": links, "entry": entries}
    if page.total is not None:
        bundle["total"] = page.total
    return bundle


def _entry(resource: dict, mode: str, base_url: str) -> dict:
    return {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}", "resource": resource,
            "search": {"mode": mode}}


def _self_url(base_url: str, resource_type: str, params: Mapping[str, list[str]]) -> str:
    """The search as the server understood it (FHIR R4: only the parameters it used)."""
    pairs = [(k, v) for k, values in params.items() for v in values]
    return f"{base_url}/{resource_type}" + ("?" + urlencode(pairs) if pairs else "")


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


def create_app(service) -> Flask:
    """The Flask app of one `AnnuaireService`."""
    app = Flask("segur-annuaire")
    app.register_blueprint(admin_blueprint(service, extra_health=service.health))
    model = service.model
    metadata = capability_statement(model.unknown_parameters)

    def fhir_base() -> str:
        return f"{service.base_url}{BASE_PATH}"

    def respond(operation: str, status: int, body: dict, started: float, findings=()) -> Response:
        text = json.dumps(body, ensure_ascii=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "esante-api-key"}
        service.journal.record(
            operation, "ok" if status < 400 else "refused", findings=findings,
            request={"method": request.method, "url": request.url, "headers": headers,
                     "api_key_present": bool(request.headers.get("ESANTE-API-KEY")),
                     # a POST _search carries its parameters in the form body: kept, as the URL's are
                     "form": request.form.to_dict(flat=False)},
            response={"status": status, "body": body_for_journal(text, limit=JOURNAL_BODY_LIMIT)},
            duration_ms=(time.perf_counter() - started) * 1000,
            client={"address": request.remote_addr})
        return Response(text, status=status, content_type=FHIR_JSON)

    def refused(operation: str, error: SearchError, started: float) -> Response:
        status = error.rule.extra.get("status", 400)
        finding = error.finding()
        outcome = operation_outcome(finding.message, status, finding.rule, finding.hint)
        return respond(operation, status, outcome, started, [finding])

    def handle(operation: str, work) -> Response:
        started = time.perf_counter()
        faults = service.faults.select(operation, {"path": request.path})
        service.faults.delay(faults)
        failure = service.faults.first(faults, "http_error", "overload")
        if failure:
            status = failure.params["status"]
            body = operation_outcome(failure.params["message"], status, "FAULT", None)
            return respond(operation, status, body, started)
        try:
            model.check_key(request.headers.get("ESANTE-API-KEY"))
            fmt = request.values.get("_format")
            if fmt not in (None, "json", FHIR_JSON, "application/json"):
                raise SearchError(rules.BAD_PARAMETER_VALUE, name="_format", value=fmt,
                                  reason="the directory answers JSON only",
                                  how="Use _format=json or leave it out.")
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
        handling = prefer_handling(request.headers.get("Prefer"))
        return handle(f"search:{resource_type}",
                      lambda: search_bundle(model.search(resource_type, params(), handling), fhir_base()))

    @app.get(f"{BASE_PATH}/_page")
    def next_page():
        token = request.args.get("id")
        try:
            operation = f"search:{paging.decode(token)[0]}"
        except SearchError:
            operation = "search:_page"
        return handle(operation, lambda: search_bundle(model.next_page(token), fhir_base()))

    @app.get(f"{BASE_PATH}/<resource_type>/<resource_id>")
    def read(resource_type: str, resource_id: str):
        return handle(f"read:{resource_type}", lambda: model.read(resource_type, resource_id))

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
            unknown = SearchError(rules.UNSUPPORTED_TYPE, resource=request.path[len(BASE_PATH):])
            return refused("unknown", unknown, started)
        return Response(json.dumps({"error": "not found"}), status=404, content_type="application/json")

    return app
