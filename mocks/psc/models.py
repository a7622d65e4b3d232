"""The Pro Santé Connect mock's state and domain rules: clients, sessions, codes, tokens, CIBA requests.

Plain Python in and out (dicts of parameters, dicts of claims): no HTTP here (that is responses.py).
A refusal is a `PscError` naming the rule (mocks/psc/rules.py); the wire layer answers it as the
OAuth 2.0 error the rule carries. Time comes from `clock` so tests move it instead of sleeping.

What PSC is (shared/ref/psc/README.md): a Keycloak realm `esante-wallet`; authorization code flow
with PKCE S256 (ANS PoC mod_auth_openidc config), refresh, userinfo, introspection with Basic auth,
RP-initiated logout, and CIBA in poll mode only (PSC technical documentation, CIBA page).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from segur.fixtures.world import Professional, World
from segur.kernel.config import ConfigError
from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule
from segur.mocks.psc import claims as psc_claims
from segur.mocks.psc import rules
from segur.mocks.psc.tokens import ACCESS, ID, SigningKey, TokenCheck, decode_signed, verify_access_token

CIBA_GRANT = "urn:openid:params:grant-type:ciba"
DEFAULT_CLIENT_ID = "segur-test-client"
DEFAULT_CLIENT_SECRET = "segur-test-secret"
DEFAULT_REDIRECT_URIS = ("http://localhost/callback", "http://127.0.0.1/callback")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
PKCE_METHODS = ("S256", "plain")  # PSC's discovery: code_challenge_methods_supported plain, S256


class PscError(Exception):
    """A request the mock refuses, by the rule it breaks (its OAuth error and status are on the rule)."""

    def __init__(self, rule: Rule, severity: Severity | None = None, *, redirect: bool | None = None,
                 **context):
        self.rule = rule
        self.finding = rule.finding(severity, **context)
        self._redirect = redirect
        super().__init__(self.finding.message)

    @classmethod
    def of(cls, finding: Finding) -> PscError:
        """The refusal a finding of this book's rules (e.g. from the token verifier) is answered with."""
        error = cls(rules.book[finding.rule])
        error.finding = finding
        return error

    @property
    def oauth_error(self) -> str:
        return self.rule.extra["oauth_error"]

    @property
    def status(self) -> int:
        return self.rule.extra["status"]

    @property
    def may_redirect(self) -> bool:
        if self._redirect is not None:
            return self._redirect
        return self.rule.extra.get("redirect", True)


class AuthorizationPending(Exception):
    """A CIBA poll before the professional answered (CIBA Core §11: `authorization_pending`, HTTP 400)."""


@dataclass(frozen=True)
class Client:
    """A registered client (relying party): its id, secret and redirect URIs."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]

    @classmethod
    def parse(cls, spec: str | Mapping) -> Client:
        """From the config: a table {client_id, client_secret, redirect_uris} or "ID SECRET URI [URI…]"."""
        if isinstance(spec, Mapping):
            uris = spec.get("redirect_uris", [])
            client = cls(str(spec.get("client_id", "")), str(spec.get("client_secret", "")),
                         tuple([uris] if isinstance(uris, str) else uris))
        else:
            words = str(spec).split()
            client = cls(words[0] if words else "", words[1] if len(words) > 1 else "", tuple(words[2:]))
        if not client.client_id or not client.secret or not client.redirect_uris:
            raise ConfigError(f"[psc] clients: {spec!r} needs a client_id, a client_secret and at least one "
                              "redirect URI ('ID SECRET URI [URI…]' or a table)")
        return client

    def accepts_redirect(self, uri: str) -> bool:
        """Exact match; for an http loopback URI any port (RFC 8252 §7.3: native apps pick their port)."""
        if uri in self.redirect_uris:
            return True
        asked = urlsplit(uri)
        if asked.scheme != "http" or asked.hostname not in LOOPBACK_HOSTS:
            return False
        return any(_same_but_port(asked, urlsplit(known)) for known in self.redirect_uris)


def _same_but_port(asked, known) -> bool:
    return (known.scheme, known.hostname, known.path, known.query) == (
        asked.scheme, asked.hostname, asked.path, asked.query)


DEFAULT_CLIENT = Client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URIS)


@dataclass(frozen=True)
class Settings:
    """The behaviour the config sets (service.py maps `[psc]` onto it)."""

    access_token_lifetime: int = 120
    refresh_token_lifetime: int = 1800
    session_max_lifetime: int = 36000
    code_lifetime: int = 60
    acr: str = "eidas1"
    acr_values: str = "warn"  # "warn": journalled, accepted; "refuse": invalid_request
    pkce: str = "optional"  # "required": a code request without S256 challenge is refused
    ciba_pending_polls: int = 1
    ciba_lifetime: int = 120
    ciba_interval: int = 1


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str = ""
    nonce: str = ""
    acr_values: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    login_hint: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> AuthorizationRequest:
        names = cls.__dataclass_fields__
        return cls(**{name: params.get(name, "") for name in names})

    def as_params(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if getattr(self, name)}


@dataclass
class Session:
    """One PSC authentication of one professional for one client (Keycloak's user session)."""

    sid: str
    idnps: str
    client_id: str
    scope: str
    nonce: str
    auth_time: int
    ended: str = ""  # why it ended (logout, revocation, code replay); "" while alive


@dataclass
class Code:
    code: str
    request: AuthorizationRequest
    sid: str
    expires: float
    used: bool = False


@dataclass
class RefreshGrant:
    sid: str
    client_id: str
    scope: str
    expires: float


@dataclass
class CibaRequest:
    auth_req_id: str
    client_id: str
    idnps: str
    scope: str
    expires: float
    polls_left: int
    denied: bool = False
    answered: bool = False


@dataclass(frozen=True)
class NextLogin:
    """The professional the next authorization logs in (admin `POST /_admin/next-login`)."""

    idnps: str
    deny: bool = False


@dataclass
class State:
    sessions: dict[str, Session] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    ciba: dict[str, CibaRequest] = field(default_factory=dict)
    revoked_jti: dict[str, str] = field(default_factory=dict)
    next_logins: deque[NextLogin] = field(default_factory=deque)


class PscModel:
    """Pro Santé Connect's memory: who is logged in where, and every token it gave."""

    def __init__(self, world: World, clients: tuple[Client, ...] = (DEFAULT_CLIENT,),
                 settings: Settings | None = None, *, clock: Callable[[], float] = time.time,
                 key: SigningKey | None = None):
        self.world = world
        self.clients = {client.client_id: client for client in clients}
        self.settings = settings or Settings()
        self.clock = clock
        self.key = key or SigningKey()
        self.issuer = ""
        self.state = State()
        self._lock = threading.RLock()

    # -- admin ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.state = State()

    def queue_login(self, idnps: str, deny: bool = False) -> NextLogin:
        self.professional(idnps)
        login = NextLogin(idnps, deny)
        with self._lock:
            self.state.next_logins.append(login)
        return login

    def queued_logins(self) -> list[NextLogin]:
        with self._lock:
            return list(self.state.next_logins)

    def take_next_login(self) -> NextLogin | None:
        with self._lock:
            return self.state.next_logins.popleft() if self.state.next_logins else None

    def jwks(self) -> dict:
        return self.key.jwks()

    def session(self, sid: str) -> Session:
        with self._lock:
            return self.state.sessions[sid]

    # -- clients and users ----------------------------------------------------------------------------
    def professional(self, idnps: str) -> Professional:
        found = self.world.professional_by_idnps(idnps or "")
        if found is None:
            raise PscError(rules.UNKNOWN_PROFESSIONAL, idnps=idnps)
        return found

    def client(self, client_id: str) -> Client:
        found = self.clients.get(client_id or "")
        if found is None:
            raise PscError(rules.UNKNOWN_CLIENT, client_id=client_id)
        return found

    def authenticate_client(self, client_id: str, secret: str | None, operation: str) -> Client:
        """The client a token, introspection or CIBA request authenticates as (Basic or form secret)."""
        if not client_id or secret is None:
            raise PscError(rules.NO_CLIENT_AUTH, operation=operation)
        client = self.client(client_id)
        if not secrets.compare_digest(client.secret.encode(), secret.encode()):
            raise PscError(rules.WRONG_SECRET, client_id=client_id)
        return client

    # -- authorization endpoint -----------------------------------------------------------------------
    def check_authorization(self, params: Mapping[str, str]) -> tuple[AuthorizationRequest, list[Finding]]:
        """Validate an authorization request; returns it with the warnings it earned (acr_values)."""
        request = AuthorizationRequest.from_params(params)
        client = self.client(request.client_id)
        if not request.redirect_uri:
            raise PscError(rules.MISSING_PARAMETER, operation="authorization", name="redirect_uri",
                           spec="RFC 6749 §4.1.1", redirect=False)
        if not client.accepts_redirect(request.redirect_uri):
            raise PscError(rules.UNREGISTERED_REDIRECT, redirect_uri=request.redirect_uri,
                           client_id=client.client_id, registered=", ".join(client.redirect_uris))
        response_type = params.get("response_type", "")
        if response_type != "code":
            raise PscError(rules.UNSUPPORTED_RESPONSE_TYPE, response_type=response_type)
        if "openid" not in request.scope.split():
            raise PscError(rules.NO_OPENID_SCOPE, scope=request.scope)
        self._check_pkce(request)
        return request, self._acr_findings(request.acr_values)

    def _check_pkce(self, request: AuthorizationRequest) -> None:
        method = request.code_challenge_method or ("plain" if request.code_challenge else "")
        if not request.code_challenge:
            if method or self.settings.pkce == "required":
                raise PscError(rules.BAD_CODE_CHALLENGE, reason="no code_challenge (PKCE is required)")
            return
        if method not in PKCE_METHODS:
            raise PscError(rules.BAD_CODE_CHALLENGE, reason=f"code_challenge_method {method!r} is not S256")
        if not 43 <= len(request.code_challenge) <= 128:
            raise PscError(rules.BAD_CODE_CHALLENGE, reason="a code_challenge is 43 to 128 characters")

    def _acr_findings(self, acr_values: str) -> list[Finding]:
        if "eidas1" in acr_values.split():
            return []
        if self.settings.acr_values == "refuse":
            raise PscError(rules.ACR_NOT_EIDAS1, Severity.ERROR, acr_values=acr_values)
        return [rules.ACR_NOT_EIDAS1.finding(acr_values=acr_values)]

    def grant_code(self, request: AuthorizationRequest, idnps: str) -> str:
        """The professional logged in: open a session and give the client a one-time code."""
        self.professional(idnps)
        now = self.clock()
        session = Session(uuid.uuid4().hex, idnps, request.client_id, request.scope, request.nonce, int(now))
        code = secrets.token_urlsafe(32)
        with self._lock:
            # an expired code is forgotten (a replay of it is then "unknown"): the dict stays small
            self.state.codes = {key: old for key, old in self.state.codes.items() if old.expires > now}
            self.state.sessions[session.sid] = session
            self.state.codes[code] = Code(code, request, session.sid, now + self.settings.code_lifetime)
        return code

    # -- token endpoint --------------------------------------------------------------------------------
    def exchange_code(self, client: Client, params: Mapping[str, str]) -> dict:
        code_value = _required(params, "code", "token (authorization_code)", "RFC 6749 §4.1.3")
        with self._lock:
            code = self.state.codes.get(code_value)
            if code is None or code.expires <= self.clock():
                raise PscError(rules.UNKNOWN_CODE, lifetime=self.settings.code_lifetime)
            if code.used:
                self._end_session(code.sid, "authorization code replayed")
                raise PscError(rules.REPLAYED_CODE)
            code.used = True
        request = code.request
        if request.client_id != client.client_id:
            raise PscError(rules.CODE_OF_ANOTHER_CLIENT, issued_to=request.client_id,
                           client_id=client.client_id)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri != request.redirect_uri:
            raise PscError(rules.REDIRECT_MISMATCH, redirect_uri=redirect_uri, expected=request.redirect_uri)
        _check_verifier(request, params.get("code_verifier", ""))
        return self._tokens(self.state.sessions[code.sid], request.scope)

    def refresh(self, client: Client, params: Mapping[str, str]) -> dict:
        token = _required(params, "refresh_token", "token (refresh_token)", "RFC 6749 §6")
        with self._lock:
            grant = self.state.refresh.get(token)
        if grant is None:
            raise PscError(rules.BAD_REFRESH_TOKEN, why="unknown to this Pro Santé Connect")
        session = self.state.sessions[grant.sid]
        if session.ended:
            raise PscError(rules.BAD_REFRESH_TOKEN, why=f"dead: its session ended ({session.ended})")
        if grant.expires <= self.clock():
            raise PscError(rules.BAD_REFRESH_TOKEN, why="expired (idle or maximum session lifetime reached)")
        if grant.client_id != client.client_id:
            raise PscError(rules.REFRESH_OF_ANOTHER_CLIENT, issued_to=grant.client_id,
                           client_id=client.client_id)
        return self._tokens(session, grant.scope)

    def _tokens(self, session: Session, scope: str) -> dict:
        """A Keycloak-shaped token response: access (JWT), refresh (opaque), id_token (JWT)."""
        settings = self.settings
        now = int(self.clock())
        professional = self.professional(session.idnps)
        identity = psc_claims.identity_claims(professional)
        names = {"preferred_username": professional.idnps, "given_name": professional.given_name,
                 "family_name": professional.family_name}
        common = {"iat": now, "exp": now + settings.access_token_lifetime, "auth_time": session.auth_time,
                  "iss": self.issuer, "sub": identity["sub"], "azp": session.client_id,
                  "session_state": session.sid, "sid": session.sid, "acr": settings.acr, **names}
        if session.nonce:
            common["nonce"] = session.nonce
        access = {**common, "jti": uuid.uuid4().hex, "typ": ACCESS, "scope": scope, "email_verified": False}
        id_token = {**common, "jti": uuid.uuid4().hex, "typ": ID, "aud": session.client_id}
        session_end = session.auth_time + settings.session_max_lifetime
        refresh_expires = min(now + settings.refresh_token_lifetime, session_end)
        refresh_token = secrets.token_urlsafe(32)
        grant = RefreshGrant(session.sid, session.client_id, scope, refresh_expires)
        with self._lock:
            self.state.refresh[refresh_token] = grant
        access_token = self.key.sign(access)
        id_token["at_hash"] = _left_hash(access_token)
        return {"access_token": access_token, "expires_in": settings.access_token_lifetime,
                "refresh_expires_in": max(0, int(refresh_expires - now)), "refresh_token": refresh_token,
                "token_type": "Bearer", "id_token": self.key.sign(id_token), "not-before-policy": 0,
                "session_state": session.sid, "scope": scope}

    # -- CIBA ------------------------------------------------------------------------------------------
    def ciba_start(self, client: Client, params: Mapping[str, str]) -> tuple[dict, list[Finding]]:
        """A backchannel authentication request (CIBA Core §7): the professional is the login_hint."""
        scope = params.get("scope", "")
        if "openid" not in scope.split():
            raise PscError(rules.NO_OPENID_SCOPE, scope=scope)
        login_hint = _required(params, "login_hint", "CIBA authentication", "CIBA Core §7.1")
        if self.world.professional_by_idnps(login_hint) is None:
            raise PscError(rules.CIBA_UNKNOWN_USER, login_hint=login_hint)
        warnings = self._acr_findings(params.get("acr_values", ""))
        settings = self.settings
        with self._lock:
            denied = self._take_denial(login_hint)
            request = CibaRequest(secrets.token_urlsafe(24), client.client_id, login_hint, scope,
                                  self.clock() + settings.ciba_lifetime, settings.ciba_pending_polls, denied)
            self.state.ciba[request.auth_req_id] = request
        answer = {"auth_req_id": request.auth_req_id, "expires_in": self.settings.ciba_lifetime,
                  "interval": self.settings.ciba_interval}
        return answer, warnings

    def _take_denial(self, idnps: str) -> bool:
        """A queued next-login for this professional decides the CIBA answer (and is used up)."""
        for login in list(self.state.next_logins):
            if login.idnps == idnps:
                self.state.next_logins.remove(login)
                return login.deny
        return False

    def ciba_poll(self, client: Client, params: Mapping[str, str]) -> dict:
        auth_req_id = _required(params, "auth_req_id", "token (CIBA)", "CIBA Core §10.1")
        with self._lock:
            request = self.state.ciba.get(auth_req_id)
            if request is None or request.client_id != client.client_id:
                raise PscError(rules.CIBA_UNKNOWN_REQUEST)
            if request.answered or request.expires <= self.clock():
                raise PscError(rules.CIBA_EXPIRED)
            if request.polls_left > 0:
                request.polls_left -= 1
                raise AuthorizationPending()
            request.answered = True
        if request.denied:
            raise PscError(rules.CIBA_DENIED)
        now = int(self.clock())
        session = Session(uuid.uuid4().hex, request.idnps, client.client_id, request.scope, "", now)
        with self._lock:
            self.state.sessions[session.sid] = session
        return self._tokens(session, request.scope)

    # -- resource side: userinfo, introspection, revocation, logout ---------------------------------
    def verify(self, token: str, audiences=None) -> TokenCheck:
        return verify_access_token(token, jwks=self.jwks(), issuer=self.issuer, audiences=audiences,
                                   world=self.world, is_revoked=self.is_revoked, now=self.clock())

    def is_revoked(self, claims: Mapping) -> str | None:
        """Why a token of this PSC no longer holds (its session ended, or it was revoked), else None."""
        with self._lock:
            why = self.state.revoked_jti.get(str(claims.get("jti", "")))
            session = self.state.sessions.get(str(claims.get("sid", "")))
        if why:
            return why
        if session is not None and session.ended:
            return f"its PSC session ended: {session.ended}"
        return None

    def userinfo(self, token: str) -> dict:
        check = self.verify(token)
        if not check.ok:
            raise PscError.of(check.finding)
        organisation = self.world.organisation_of(check.professional)
        scope = str(check.claims.get("scope", ""))
        return psc_claims.userinfo_claims(check.professional, organisation, scope)

    def introspect(self, client: Client, token: str) -> dict:
        """RFC 7662 as PSC answers it: the access token's claims + `SubjectNameID`, `active`; a refresh
        token's session facts; `{"active": false}` for anything else (ANS PoC `PSC200_activefalse.json`)."""
        with self._lock:
            grant = self.state.refresh.get(token)
        if grant is not None:
            session = self.state.sessions[grant.sid]
            if session.ended or grant.expires <= self.clock():
                return {"active": False}
            return {"active": True, "typ": "Refresh", "exp": int(grant.expires), "iss": self.issuer,
                    "azp": grant.client_id, "client_id": grant.client_id, "session_state": session.sid,
                    "sid": session.sid, "scope": grant.scope, "preferred_username": session.idnps,
                    "username": session.idnps}
        check = self.verify(token)
        if not check.ok:
            return {"active": False}
        return {**check.claims, "client_id": check.claims.get("azp"), "username": check.professional.idnps,
                "SubjectNameID": check.professional.idnps, "active": True}

    def revoke(self, client: Client, token: str) -> None:
        """RFC 7009: a refresh token ends its session; an access token is revoked alone. Unknown: no-op."""
        with self._lock:
            grant = self.state.refresh.get(token)
        if grant is not None:
            if grant.client_id == client.client_id:
                self._end_session(grant.sid, "refresh token revoked by the client")
            return
        claims, _ = decode_signed(token, self.jwks())
        if claims and claims.get("azp") == client.client_id and claims.get("jti"):
            with self._lock:
                self.state.revoked_jti[str(claims["jti"])] = "access token revoked by the client"

    def logout(self, params: Mapping[str, str], client: Client | None = None) -> str:
        """RP-initiated logout: end the session the id_token_hint (or refresh_token) names; returns
        where to send the browser ("" = the mock's own page)."""
        session, client = self._session_to_end(params, client)
        redirect = params.get("post_logout_redirect_uri", "")
        if redirect and (client is None or not client.accepts_redirect(redirect)):
            client_id = client.client_id if client else None
            raise PscError(rules.BAD_LOGOUT_REDIRECT, uri=redirect, client_id=client_id)
        if session is not None:
            self._end_session(session.sid, "PSC logout")
        return redirect

    def _session_to_end(self, params, client: Client | None) -> tuple[Session | None, Client | None]:
        hint = params.get("id_token_hint", "")
        if hint:
            claims, finding = decode_signed(hint, self.jwks())
            if finding is not None or claims.get("iss") != self.issuer or claims.get("typ") != ID:
                reason = finding.message if finding else "not an ID token of this issuer"
                raise PscError(rules.BAD_ID_TOKEN_HINT, reason=reason)
            with self._lock:
                session = self.state.sessions.get(str(claims.get("sid", "")))
            return session, self.clients.get(str(claims.get("azp", ""))) or client
        if params.get("refresh_token"):
            with self._lock:
                grant = self.state.refresh.get(params["refresh_token"])
            session = self.state.sessions.get(grant.sid) if grant else None
            return session, client
        if params.get("client_id") and client is None:
            client = self.client(params["client_id"])
        return None, client

    def end_sessions_of(self, idnps: str, why: str = "ended by the harness") -> list[str]:
        """End every live session of a professional (their PSC logout, seen from PSC): each access and
        refresh token of them is refused afterwards. Returns the ended sessions' ids."""
        self.professional(idnps)
        with self._lock:
            live = [s.sid for s in self.state.sessions.values() if s.idnps == idnps and not s.ended]
            for sid in live:
                self._end_session(sid, why)
        return live

    def _end_session(self, sid: str, why: str) -> None:
        with self._lock:
            session = self.state.sessions.get(sid)
            if session is not None and not session.ended:
                session.ended = why


def _required(params: Mapping[str, str], name: str, operation: str, spec: str) -> str:
    value = params.get(name, "")
    if not value:
        raise PscError(rules.MISSING_PARAMETER, operation=operation, name=name, spec=spec)
    return value


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_verifier(request: AuthorizationRequest, verifier: str) -> None:
    """RFC 7636 §4.6: the verifier's transform must equal the challenge of the authorization."""
    if not request.code_challenge:
        return
    if not verifier:
        raise PscError(rules.PKCE_MISMATCH, reason="no code_verifier was sent")
    try:
        transformed = s256(verifier) if request.code_challenge_method != "plain" else verifier
    except UnicodeEncodeError:
        raise PscError(rules.PKCE_MISMATCH, reason="the code_verifier is not ASCII") from None
    if not secrets.compare_digest(transformed, request.code_challenge):
        method = request.code_challenge_method or "plain"
        raise PscError(rules.PKCE_MISMATCH, reason=f"the {method} verifier differs from the code_challenge")


def _left_hash(token: str) -> str:
    """`at_hash` (OpenID Connect Core §3.1.3.6): the left half of SHA-256 of the access token."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
