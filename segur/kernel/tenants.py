"""Isolated tenants on one shared HTTP service, and the admin token that protects a shared instance.

A team shares one harness as it shares the national test platforms: each CI pipeline or tester is a
*tenant* with its own documents, journal, faults and reset. On HTTP (SOAP, FHIR, the admin API) the tenant
is chosen on the wire in one of two ways a client can always configure:

- a path prefix: `http://host:8302/t/ci-42/si-dmp-server/v2/services/repository` (the endpoints of a tenant,
  `GET /t/ci-42/_admin/health`, already carry it: a product is configured with them unchanged);
- a header, for clients whose URLs cannot change: `X-Segur-Tenant: ci-42`.

Without either, a request goes to the default tenant (the service itself). Each tenant is a separate
instance of the service built from the same config with its own data folder
(`<data>/tenants/<tenant>/<service>`) and, on PostgreSQL, its own rows: isolation holds by construction,
not by filters each mock must remember. `[stack] admin_token` makes every `/_admin/` call need
`Authorization: Bearer <token>`; the services' own wire (what a product calls) never needs it.
"""

from __future__ import annotations

import hmac
import json
import re
import threading

TENANT_HEADER = "HTTP_X_SEGUR_TENANT"
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
PREFIX = "/t/"


def _json(start_response, status: str, body: dict, headers=()):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                            *headers])
    return [data]


class TenantRouter:
    """WSGI app in front of a service: picks the tenant, checks the admin token, dispatches."""

    def __init__(self, service, default_app):
        self.service = service
        self.default_app = default_app
        self.enabled = service.context.stack.tenants
        self.token = service.context.stack.admin_token
        self._tenants: dict[str, tuple[object, object]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        tenant = environ.get(TENANT_HEADER, "")
        if path.startswith(PREFIX):
            tenant, _, rest = path[len(PREFIX):].partition("/")
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX + tenant
            environ["PATH_INFO"] = path = "/" + rest
        if self.token and path.startswith("/_admin/") and not self._authorised(environ):
            refusal = {"error": "this shared instance's admin API needs Authorization: Bearer <admin token>"}
            return _json(start_response, "401 Unauthorized", refusal,
                         [("WWW-Authenticate", 'Bearer realm="segur-admin"')])
        if not tenant:
            if path == "/_admin/tenants":
                return _json(start_response, "200 OK", {"service": self.service.name, "enabled": self.enabled,
                                                        "tenants": sorted(self._tenants)})
            return self.default_app(environ, start_response)
        if not self.enabled:
            return _json(start_response, "404 Not Found",
                         {"error": "this instance serves no tenants (set [stack] tenants = true)"})
        if not TENANT_NAME.fullmatch(tenant):
            return _json(start_response, "400 Bad Request",
                         {"error": f"tenant {tenant[:64]!r} is not a name: lower-case letters, digits and "
                                   "hyphens, 63 at most, starting with a letter or digit"})
        return self._app_of(tenant)(environ, start_response)

    def _authorised(self, environ) -> bool:
        given = environ.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def _app_of(self, tenant: str):
        with self._lock:
            found = self._tenants.get(tenant)
            if found is None:
                instance = self.service.for_tenant(tenant)
                found = self._tenants[tenant] = (instance, instance.create_app())
        return found[1]

    def instances(self) -> list:
        with self._lock:
            return [instance for instance, _app in self._tenants.values()]
