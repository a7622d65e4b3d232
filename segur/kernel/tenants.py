"""Isolated tenants on one shared HTTP service, and the admin token that protects a shared instance.

A team shares one harness as it shares the national test platforms: each CI pipeline or tester is a
*tenant* with its own documents, journal, faults and reset. On HTTP (SOAP, FHIR, the admin API) the tenant
is chosen on the wire in one of two ways a client can always configure:

- a path prefix: `http://host:8302/t/ci-42/si-dmp-server/v2/services/repository` (the endpoints of a tenant,
  `GET /t/ci-42/_admin/health`, already carry it: a product is configured with them unchanged);
- a header, for clients whose URLs cannot change: `X-Segur-Tenant: ci-42`.

On SMTP and IMAP (MSSanté) the tenant is chosen by the login, the one thing every mail client lets its
user write: `dr.martin+ci-42@hopital.mssante.fr` logs in to the mailbox `dr.martin@hopital.mssante.fr` of
tenant `ci-42` (`split_login`). The tag rides in the login only: the envelope, the headers and the
recipients keep the mailbox's own address. Why this form (docs/deploy.md, "Tenants on SMTP and IMAP"):
it is an RFC 5233 sub-address, itself an address (RFC 5322 `dot-atom`), so a client that checks its login
looks like an address accepts it; it fits every grammar a login travels in — SASL PLAIN's `authcid`
(RFC 4616: any UTF-8 but NUL), AUTH LOGIN's base64 username, XOAUTH2's `user=` (any text but ^A), and
IMAP LOGIN's `userid`, an `astring` whose `ATOM-CHAR`s include `+` and `@` (RFC 3501 §9), so no quoting is
needed. A prefix such as `ci-42/dr.martin@…` is as legal on the wire, but it is not an address.

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


def split_login(login: str) -> tuple[str, str]:
    """`(mailbox address, tenant)` of a mail login: `local+tenant@domain` names a tenant when the tag after
    the last `+` of the local part is a tenant name; any other login is `(login, "")`."""
    local, at, domain = login.rpartition("@")
    base, plus, tag = local.rpartition("+")
    if not at or not plus or not base or not TENANT_NAME.fullmatch(tag):
        return login, ""
    return f"{base}@{domain}", tag


def tenant_login(address: str, tenant: str) -> str:
    """The login of `address` in `tenant` (the address itself for the default tenant)."""
    if not tenant:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local}+{tenant}@{domain}"


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
