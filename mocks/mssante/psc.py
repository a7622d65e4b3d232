"""XOAUTH2 bearer tokens checked as Pro Santé Connect access tokens, as an MSSanté operator does.

The operator is a PSC resource server: it reads PSC's discovery document (at PSC's own path,
`{issuer}/.well-known/wallet-openid-configuration`), checks the token's signature against the JWKS,
its kind, issuer and expiry (`segur.mocks.psc.tokens.verify_access_token`), asks PSC's introspection
endpoint whether the session is still active (a logout or a revoked refresh token ends it: REM
SC.MSS/CONF.10), and lets the professional the token names into their own mailbox only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from segur.mocks.mssante import rules
from segur.mocks.mssante.models import TokenVerdict
from segur.mocks.psc import rules as psc_rules
from segur.mocks.psc.tokens import subject_idnps, verify_access_token

PSC_DISCOVERY = "/.well-known/wallet-openid-configuration"
TIMEOUT = 5.0


class PscTokenChecker:
    """Checks tokens against one PSC issuer, with a client of that PSC for introspection."""

    def __init__(self, issuer: str | Callable[[], str], world, *, client_id: str, client_secret: str,
                 verify_tls: bool | str = True):
        self._issuer = issuer
        self.world = world
        self.client = (client_id, client_secret)
        self.verify_tls = verify_tls
        self._metadata: dict | None = None
        self._jwks: dict | None = None
        self._lock = threading.Lock()

    @property
    def issuer(self) -> str:
        """The issuer URL (resolved when first needed: the stack's PSC may start after the operator)."""
        return (self._issuer() if callable(self._issuer) else self._issuer).rstrip("/")

    def _discovery(self) -> dict:
        with self._lock:
            if self._metadata is None:
                answer = requests.get(self.issuer + PSC_DISCOVERY, timeout=TIMEOUT, verify=self.verify_tls)
                answer.raise_for_status()
                self._metadata = answer.json()
            return self._metadata

    def _keys(self, refresh: bool = False) -> dict:
        with self._lock:
            cached = self._jwks
        if cached is None or refresh:
            answer = requests.get(self._discovery()["jwks_uri"], timeout=TIMEOUT, verify=self.verify_tls)
            answer.raise_for_status()
            cached = answer.json()
            with self._lock:
                self._jwks = cached
        return cached

    def _active(self, token: str) -> bool:
        answer = requests.post(self._discovery()["introspection_endpoint"], data={"token": token},
                               auth=self.client, timeout=TIMEOUT, verify=self.verify_tls)
        answer.raise_for_status()
        return bool(answer.json().get("active"))

    def check(self, login: str, token: str, mailbox) -> TokenVerdict:
        try:
            verdict = verify_access_token(token, jwks=self._keys(), issuer=self.issuer, audiences=None,
                                          world=self.world)
            if not verdict.ok and verdict.finding.rule == psc_rules.FORGED_TOKEN.id:  # a rotated key?
                verdict = verify_access_token(token, jwks=self._keys(refresh=True), issuer=self.issuer,
                                              audiences=None, world=self.world)
            if verdict.ok and not self._active(token):
                return TokenVerdict(False, subject_idnps(verdict.claims), rules.PSC_TOKEN_REFUSED.finding(
                    login=login, why="PSC says the session is no longer active (logout or revoked)"),
                    session=verdict.claims.get("sid"))
        except (requests.RequestException, ValueError, KeyError, LookupError) as exc:
            finding = rules.PSC_UNREACHABLE.finding(login=login, why=type(exc).__name__)
            return TokenVerdict(False, finding=finding, temporary=True)
        if not verdict.ok:
            why = f"{verdict.finding.rule}: {verdict.finding.message}"
            return TokenVerdict(False, subject_idnps(verdict.claims) if verdict.claims else None,
                                rules.PSC_TOKEN_REFUSED.finding(login=login, why=why))
        professional = verdict.professional
        if mailbox.owner_type != "professional" or mailbox.owner != professional.key:
            finding = rules.PSC_OTHER_PROFESSIONAL.finding(
                login=login, professional=f"{professional.given_name} {professional.family_name} "
                f"(IDNPS {professional.idnps})", owner=f"{mailbox.owner_type} {mailbox.owner}")
            return TokenVerdict(False, professional.idnps, finding)
        return TokenVerdict(True, professional.idnps, session=verdict.claims.get("sid"))
