"""The wire of the test PKI service: the CRL and CA certificate over HTTP, revocation on the admin API.

Media types: `application/pkix-crl` for a DER CRL and `application/pkix-cert` for a DER certificate
(RFC 2585 §4); the PEM forms are served as `application/x-pem-file` for tools that want text.
"""

from __future__ import annotations

import time

from flask import Flask, Response, jsonify, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.faults import FaultBook
from segur.mocks.igc.models import CA_PATH, CRL_PATH, CRL_PEM_PATH, Authority, PkiRefusal


def create_app(service) -> Flask:
    """`service` gives `authority`, `journal`, `faults` and the admin hooks."""
    app = Flask("segur-igc")
    app.register_blueprint(admin_blueprint(service, extra_health=service.health))
    authority: Authority = service.authority

    def publish(operation: str, body_of, media_type: str):
        started = time.perf_counter()
        faults = service.faults.select(operation, {"path": request.path})
        service.faults.delay(faults)
        failure = FaultBook.first(faults, "http_error", "overload")
        if failure is not None:
            status, body = failure.params["status"], failure.params["message"].encode()
            media_type, verdict = "text/plain; charset=UTF-8", "fault-injected"
        else:
            status, body, verdict = 200, body_of(), "ok"
        service.journal.record(operation, verdict, request={"method": request.method, "url": request.url},
                               response={"status": status, "headers": {"Content-Type": media_type},
                                         "size": len(body)},
                               duration_ms=(time.perf_counter() - started) * 1000,
                               client={"address": request.remote_addr})
        return Response(body, status=status, content_type=media_type)

    @app.get(CRL_PATH)
    def crl():
        return publish("crl", authority.crl_der, "application/pkix-crl")

    @app.get(CRL_PEM_PATH)
    def crl_pem():
        return publish("crl", authority.crl_pem, "application/x-pem-file")

    @app.get(CA_PATH)
    def ca():
        return publish("ca", authority.ca_pem, "application/x-pem-file")

    @app.get("/_admin/revocations")
    def revocations():
        return jsonify(authority.revocations())

    @app.post("/_admin/revoke")
    def revoke():
        spec = request.get_json(silent=True)
        if not isinstance(spec, dict) or not isinstance(spec.get("certificate"), str):
            return jsonify({"error": 'send {"certificate": "server" | "revoked-server" | "client:NAME", '
                                     '"reason": "keyCompromise"…} as JSON'}), 400
        try:
            entry = authority.revoke(spec["certificate"], spec.get("reason", "unspecified"))
        except PkiRefusal as refusal:
            service.journal.record("revoke", "refused", findings=[refusal.finding])
            return jsonify({"error": refusal.finding.message, "rule": refusal.finding.rule,
                            "hint": refusal.finding.hint}), 404
        service.journal.record("revoke", "ok", meta={"revoked": entry})
        return jsonify({"revoked": entry}), 201

    return app
