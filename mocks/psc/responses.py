"""The Pro Santé Connect mock's wire: Keycloak's OpenID Connect paths, forms in, JSON/redirects out.

Paths are PSC's (shared/ref/psc/README.md §1.1, from ANS's `keycloak-prosanteconnect` psc.properties
and the PSC CIBA page): the realm `esante-wallet` under `/auth/realms/`, the discovery at the
non-standard `.well-known/wallet-openid-configuration` (and the standard one), Keycloak's
`protocol/openid-connect/{token,userinfo,certs,logout,token/introspect,revoke,ext/ciba/auth}`, and the
authorization endpoint at `/auth` as on PSC's wallet host. Refusals are OAuth errors: RFC 6749 §5.2
JSON at the token endpoint, §4.1.2.1 redirects from the authorization endpoint, RFC 6750 §3
`WWW-Authenticate: Bearer` at userinfo; each is journalled with its rule id.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_plus, urlencode

from flask import Flask, Response, jsonify, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.findings import Finding
from segur.kernel.journal import body_for_journal
from segur.mocks.psc import rules
from segur.mocks.psc.models import CIBA_GRANT, AuthorizationPending, AuthorizationRequest, PscError

REALM = "esante-wallet"
REALM_PATH = f"/auth/realms/{REALM}"
OIDC_PATH = f"{REALM_PATH}/protocol/openid-connect"
AUTHORIZE_PATH = "/auth"  # the wallet host's path (https://wallet.bas.psc.esante.gouv.fr/auth)
LOGIN_PATH = "/auth/login"  # the mock's own login page posts here
PSC_DISCOVERY = "/.well-known/wallet-openid-configuration"
STANDARD_DISCOVERY = "/.well-known/openid-configuration"
MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PENDING = {"error": "authorization_pending",
           "error_description": "The professional has not answered yet: poll again after `interval` seconds."}
#: scopes_supported and claims_supported of PSC's BAS discovery (ANS psc-edc-proxy-esante,
#: src/test/resources/mock_discovery_response.json); acr_values_supported is Keycloak's ["0","0"] there.
SCOPES = ("openid", "microprofile-jwt", "rpps", "referentiel", "web-origins", "basic", "identity", "acr",
          "offline_access", "eidas1", "profile", "roles", "email", "scope_all", "phone", "interop", "scope_1",
          "address", "scope_2", "eidas2")
CLAIMS = ("aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username",
          "email", "acr")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANTS = ("authorization_code", "refresh_token", CIBA_GRANT)


def endpoint_urls(base_url: str) -> dict:
    """Every address a client needs, from the mock's base URL."""
    issuer = base_url + REALM_PATH
    oidc = base_url + OIDC_PATH
    return {"issuer": issuer, "discovery": issuer + PSC_DISCOVERY,
            "openid_configuration": issuer + STANDARD_DISCOVERY, "authorization": base_url + AUTHORIZE_PATH,
            "token": oidc + "/token", "userinfo": oidc + "/userinfo", "jwks": oidc + "/certs",
            "end_session": oidc + "/logout", "introspection": oidc + "/token/introspect",
            "revocation": oidc + "/revoke", "backchannel_authentication": oidc + "/ext/ciba/auth",
            "admin": base_url + "/_admin/", "next_login": base_url + "/_admin/next-login"}


def discovery_document(urls: dict) -> dict:
    """The discovery document, in the shape of PSC's (fields the mock serves; see docs/psc.md)."""
    return {
        "issuer": urls["issuer"], "authorization_endpoint": urls["authorization"],
        "token_endpoint": urls["token"], "introspection_endpoint": urls["introspection"],
        "userinfo_endpoint": urls["userinfo"], "end_session_endpoint": urls["end_session"],
        "jwks_uri": urls["jwks"], "revocation_endpoint": urls["revocation"],
        "backchannel_authentication_endpoint": urls["backchannel_authentication"],
        "grant_types_supported": list(GRANTS), "response_types_supported": ["code"],
        "response_modes_supported": ["query"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"], "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "code_challenge_methods_supported": ["plain", "S256"], "scopes_supported": list(SCOPES),
        "claims_supported": list(CLAIMS), "acr_values_supported": ["0", "0"],
        "claims_parameter_supported": False, "request_parameter_supported": False,
        "request_uri_parameter_supported": False, "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False, "backchannel_logout_supported": False}


@dataclass
class Answer:
    """What a handler answers, with the findings and facts the journal keeps beside it."""

    response: Response
    findings: list[Finding] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    verdict: str = ""


# -- reading requests --------------------------------------------------------------------------------------
def read_form(limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The form body: refused when too large, not a form, not UTF-8, malformed, or a parameter repeats."""
    size = request.content_length
    if size is not None and size > limit:
        raise PscError(rules.OVERSIZE_BODY, size=size, limit=limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PscError(rules.OVERSIZE_BODY, size=f"more than {limit}", limit=limit)
    if not raw:
        return {}
    if request.mimetype != FORM_TYPE:
        raise PscError(rules.MALFORMED_BODY, reason=f"Content-Type is {request.mimetype or 'missing'!r}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PscError(rules.MALFORMED_BODY, reason="the body is not UTF-8") from None
    return parse_pairs(text)


def parse_pairs(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=100,
                          errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise PscError(rules.MALFORMED_BODY, reason=str(exc)) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise PscError(rules.REPEATED_PARAMETER, name=name)
        params[name] = value
    return params


def query_params() -> dict[str, str]:
    text = request.query_string.decode("latin-1")
    return parse_pairs(text) if text else {}


def client_credentials(params: dict) -> tuple[str, str | None]:
    """client_id and secret from HTTP Basic (form-urlencoded then base64, RFC 6749 §2.3.1) or the form."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", None
        client_id, sep, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret) if sep else None
    return params.get("client_id", ""), params.get("client_secret")


def bearer_token(params: dict) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return params.get("access_token", "")


# -- writing answers ---------------------------------------------------------------------------------------
def _description(error: PscError) -> str:
    finding = error.finding
    return f"[{finding.rule}] {finding.message}" + (f" Fix: {finding.hint}" if finding.hint else "")


def json_error(error: PscError, status: int | None = None) -> Response:
    response = jsonify({"error": error.oauth_error, "error_description": _description(error)})
    response.status_code = status or error.status
    response.headers.update(NO_STORE)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return response


def bearer_error(error: PscError) -> Response:
    """RFC 6750 §3: 401 with a Bearer challenge; no error code when no token was sent at all."""
    response = jsonify({"error": error.oauth_error, "error_description": _description(error)})
    response.status_code = error.status
    challenge = f'Bearer realm="{REALM}"'
    if error.rule is not rules.NO_BEARER:
        description = error.finding.message.replace('"', "'")
        challenge += f', error="{error.oauth_error}", error_description="{description}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def redirect_to(uri: str, params: dict) -> Response:
    separator = "&" if "?" in uri else "?"
    response = Response(status=302)
    response.headers["Location"] = uri + separator + urlencode({k: v for k, v in params.items() if v})
    return response


def page(title: str, body: str, status: int = 200) -> Response:
    text = (f"<!doctype html><html lang=fr><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(text, status=status, content_type="text/html; charset=utf-8")


def error_page(error: PscError) -> Response:
    finding = error.finding
    body = (f"<p><code>{html.escape(error.oauth_error)}</code> [{html.escape(finding.rule)}] "
            f"{html.escape(finding.message)}</p><p>{html.escape(finding.hint or '')}</p>")
    return page("Pro Santé Connect (mock): requête refusée", body, error.status)


def login_page(service, auth: AuthorizationRequest) -> Response:
    """Pick a professional of the world by hand (the test login's browser form)."""
    hidden = "".join(f'<input type=hidden name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in auth.as_params().items())
    options = "".join(f'<option value="{p.idnps}">{html.escape(p.display_name)} — {p.idnps} '
                      f"({html.escape(p.profession_display)})</option>"
                      for p in service.model.world.professionals)
    action = html.escape(request.script_root + LOGIN_PATH)
    body = (f'<form method=post action="{action}">{hidden}<label>Professionnel '
            f"<select name=idnps>{options}</select></label> <button name=decision value=accept>"
            "Se connecter</button> <button name=decision value=deny>Refuser</button></form>"
            "<p>Mock de test : aucune e-CPS ni carte CPx n'est demandée.</p>")
    return page("Pro Santé Connect (mock) — connexion de test", body)


# -- the app -----------------------------------------------------------------------------------------------
def create_app(service) -> Flask:
    """The Flask app of one PSC mock; `service` gives model, journal, faults and endpoints()."""
    app = Flask("segur-psc")
    app.register_blueprint(admin_blueprint(service, extra_health=service.health))
    model = service.model

    def handle(operation: str, work, *, on_error=json_error) -> Response:
        started = time.perf_counter()
        params_seen: dict = {}
        faults = service.faults.select(operation, {"path": request.path})
        service.faults.delay(faults)
        failure = service.faults.first(faults, "http_error", "overload", "token_error")
        if failure is not None:
            answer = Answer(_fault_response(failure), verdict="fault-injected")
        else:
            try:
                answer = work(params_seen)
            except PscError as error:
                answer = Answer(on_error(error), [error.finding], verdict="refused")
            except AuthorizationPending:
                answer = Answer(_json(PENDING, 400), verdict="pending")
        _journal(operation, answer, params_seen, started)
        return answer.response

    def _journal(operation: str, answer: Answer, params: dict, started: float) -> None:
        response = answer.response
        text = response.get_data(as_text=True) if not response.direct_passthrough else ""
        verdict = answer.verdict or ("ok" if response.status_code < 400 else "refused")
        service.journal.record(
            operation, verdict, findings=answer.findings,
            request={"method": request.method, "path": request.path, "headers": _safe_headers(),
                     "params": _safe_params(params)},
            response={"status": response.status_code, "location": response.headers.get("Location"),
                      "body": body_for_journal(text, limit=64 * 1024)},
            duration_ms=(time.perf_counter() - started) * 1000, client={"address": request.remote_addr},
            meta=answer.meta)

    # -- discovery and keys
    def discovery(params: dict) -> Answer:
        return Answer(jsonify(discovery_document(service.endpoints())))

    app.get(REALM_PATH + PSC_DISCOVERY, endpoint="psc_discovery")(lambda: handle("discovery", discovery))
    app.get(REALM_PATH + STANDARD_DISCOVERY, endpoint="discovery")(lambda: handle("discovery", discovery))
    app.get(OIDC_PATH + "/certs", endpoint="jwks")(
        lambda: handle("jwks", lambda params: Answer(jsonify(model.jwks()))))

    # -- authorization (code flow) and the test login
    def authorize(params: dict) -> Answer:
        params.update(query_params() if request.method == "GET" else read_form())
        auth, warnings = model.check_authorization(params)
        login = model.take_next_login()
        idnps = login.idnps if login else ""
        if login is None and auth.login_hint and model.world.professional_by_idnps(auth.login_hint):
            idnps = auth.login_hint
        if not idnps:
            return Answer(login_page(service, auth), warnings, {"client_id": auth.client_id}, "login-page")
        return _complete(auth, idnps, warnings, denied=bool(login and login.deny), how="next-login")

    def login_form(params: dict) -> Answer:
        params.update(read_form())
        auth, warnings = model.check_authorization({**params, "response_type": "code"})
        idnps = params.get("idnps", "")
        return _complete(auth, idnps, warnings, denied=params.get("decision") == "deny", how="login page")

    def _complete(auth: AuthorizationRequest, idnps: str, warnings, *, denied: bool, how: str) -> Answer:
        meta = {"client_id": auth.client_id, "idnps": idnps}
        if denied:
            raise _Redirected(auth, PscError(rules.LOGIN_REFUSED, why=how), warnings)
        try:
            code = model.grant_code(auth, idnps)
        except PscError as error:
            raise _Redirected(auth, error, warnings) from None
        location = {"code": code, "state": auth.state, "iss": model.issuer}
        return Answer(redirect_to(auth.redirect_uri, location), warnings, meta)

    def authorization_endpoint(operation: str, work):
        def run(params: dict) -> Answer:
            try:
                return work(params)
            except _Redirected as redirected:
                return redirected.answer(model.issuer)
            except PscError as error:
                if not error.may_redirect:
                    raise
                client = model.clients.get(params.get("client_id", ""))
                if client is None or not client.accepts_redirect(params.get("redirect_uri", "")):
                    raise
                return _Redirected(AuthorizationRequest.from_params(params), error, []).answer(model.issuer)

        return handle(operation, run, on_error=error_page)

    for path in (AUTHORIZE_PATH, OIDC_PATH + "/auth"):
        app.route(path, methods=["GET", "POST"], endpoint=f"authorize{path}")(
            lambda: authorization_endpoint("authorize", authorize))
    app.post(LOGIN_PATH, endpoint="login")(lambda: authorization_endpoint("login", login_form))

    # -- token endpoint
    grants = {"authorization_code": model.exchange_code, "refresh_token": model.refresh,
              CIBA_GRANT: model.ciba_poll}

    def token(params: dict) -> Answer:
        params.update(read_form())
        client = model.authenticate_client(*client_credentials(params), operation="token")
        grant_type = params.get("grant_type", "")
        if grant_type not in grants:
            raise PscError(rules.UNSUPPORTED_GRANT, grant_type=grant_type)
        tokens = grants[grant_type](client, params)
        sid = tokens["session_state"]
        meta = {"client_id": client.client_id, "grant_type": grant_type, "session": sid,
                "idnps": model.session(sid).idnps}
        return Answer(_json(tokens, 200), meta=meta)

    app.post(OIDC_PATH + "/token", endpoint="token")(lambda: handle("token", token))

    def ciba(params: dict) -> Answer:
        params.update(read_form())
        client = model.authenticate_client(*client_credentials(params), operation="CIBA authentication")
        answer, warnings = model.ciba_start(client, params)
        meta = {"client_id": client.client_id, "idnps": params.get("login_hint")}
        return Answer(_json(answer, 200), warnings, meta)

    app.post(OIDC_PATH + "/ext/ciba/auth", endpoint="ciba")(lambda: handle("ciba-auth", ciba))

    # -- resource side
    def userinfo(params: dict) -> Answer:
        if request.method == "POST":
            params.update(read_form())
        token_value = bearer_token(params)
        if not token_value:
            raise PscError(rules.NO_BEARER)
        claims = model.userinfo(token_value)
        return Answer(jsonify(claims), meta={"idnps": claims["SubjectNameID"]})

    app.route(OIDC_PATH + "/userinfo", methods=["GET", "POST"], endpoint="userinfo")(
        lambda: handle("userinfo", userinfo, on_error=bearer_error))

    def introspect(params: dict) -> Answer:
        params.update(read_form())
        client = model.authenticate_client(*client_credentials(params), operation="introspection")
        token_value = params.get("token", "")
        if not token_value:
            raise PscError(rules.MISSING_PARAMETER, operation="introspection", name="token",
                           spec="RFC 7662 §2.1")
        answer = model.introspect(client, token_value)
        return Answer(_json(answer, 200), meta={"client_id": client.client_id, "active": answer["active"]})

    app.post(OIDC_PATH + "/token/introspect", endpoint="introspect")(lambda: handle("introspect", introspect))

    def revoke(params: dict) -> Answer:
        params.update(read_form())
        client = model.authenticate_client(*client_credentials(params), operation="revocation")
        token_value = params.get("token", "")
        if not token_value:
            raise PscError(rules.MISSING_PARAMETER, operation="revocation", name="token",
                           spec="RFC 7009 §2.1")
        model.revoke(client, token_value)
        return Answer(Response(status=200), meta={"client_id": client.client_id})

    app.post(OIDC_PATH + "/revoke", endpoint="revoke")(lambda: handle("revoke", revoke))

    def logout(params: dict) -> Answer:
        params.update(query_params() if request.method == "GET" else read_form())
        client = None
        client_id, secret = client_credentials(params)
        if request.method == "POST" and secret is not None:
            client = model.authenticate_client(client_id, secret, operation="logout")
        target = model.logout(params, client)
        if target:
            return Answer(redirect_to(target, {"state": params.get("state", "")}))
        return Answer(page("Pro Santé Connect (mock)", "<p>Vous êtes déconnecté.</p>"))

    app.route(OIDC_PATH + "/logout", methods=["GET", "POST"], endpoint="logout")(
        lambda: handle("logout", logout, on_error=error_page))

    # -- the test login's admin side
    @app.get("/_admin/next-login")
    def queued_logins():
        return jsonify({"queued": [vars(login) for login in model.queued_logins()]})

    @app.post("/_admin/next-login")
    def next_login():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("idnps"), str):
            return _json({"error": 'send {"idnps": "<national id>", "deny": false} as JSON'}, 400)
        try:
            login = model.queue_login(body["idnps"], bool(body.get("deny", False)))
        except PscError as error:
            return _json({"error": error.finding.message, "rule": error.finding.rule}, 400)
        return _json({"queued": vars(login)}, 201)

    @app.post("/_admin/end-sessions")
    def end_sessions():
        """End every live session of a professional, as their PSC logout would (REM MSS/CONF.10)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("idnps"), str):
            return _json({"error": 'send {"idnps": "<national id>"} as JSON'}, 400)
        why = str(body.get("why") or "session ended through the admin API")
        try:
            ended = model.end_sessions_of(body["idnps"], why)
        except PscError as error:
            return _json({"error": error.finding.message, "rule": error.finding.rule}, 400)
        service.journal.record("end-sessions", "ok", request={"idnps": body["idnps"], "why": why},
                               meta={"idnps": body["idnps"], "ended": ended})
        return jsonify({"idnps": body["idnps"], "ended": ended})

    @app.delete("/_admin/next-login")
    def clear_logins():
        while model.take_next_login() is not None:
            pass
        return jsonify({"cleared": True})

    @app.errorhandler(405)
    def method_not_allowed(error):
        description = f"{request.method} is not allowed on {request.path}"
        return _json({"error": "invalid_request", "error_description": description}, 405)

    @app.errorhandler(404)
    def not_found(error):
        return _json({"error": "not_found", "error_description": f"no endpoint {request.path}"}, 404)

    return app


class _Redirected(Exception):
    """A refusal sent back to the client's redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, auth: AuthorizationRequest, error: PscError, warnings: list[Finding]):
        super().__init__(error.finding.message)
        self.auth, self.error, self.warnings = auth, error, warnings

    def answer(self, issuer: str) -> Answer:
        params = {"error": self.error.oauth_error, "error_description": _description(self.error),
                  "state": self.auth.state, "iss": issuer}
        return Answer(redirect_to(self.auth.redirect_uri, params), [*self.warnings, self.error.finding],
                      {"client_id": self.auth.client_id}, "refused")


def _json(body: dict, status: int) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")
    response.headers.update(NO_STORE)
    return response


def _fault_response(fault) -> Response:
    if fault.kind == "token_error":
        body = {"error": fault.params["error"], "error_description": fault.params["description"]}
        return _json(body, fault.params["status"])
    body = {"error": "server_error", "error_description": fault.params["message"]}
    return _json(body, fault.params["status"])


def _safe_headers() -> dict:
    headers = dict(request.headers.items())
    auth = headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        headers["Authorization"] = "Basic (client credentials, not journalled)"
    return headers


def _safe_params(params: dict) -> dict:
    return {k: ("(not journalled)" if k == "client_secret" else v) for k, v in params.items()}
