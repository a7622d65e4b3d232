"""Run the Pro Santé Connect mock in-process, and log a professional in without a browser, for tests.

    with running_psc() as psc:
        tokens = log_in(psc, "801234560801")  # the code flow, with PKCE, through the test login
        bearer = {"Authorization": "Bearer " + tokens["access_token"]}
        requests.get(psc.endpoints()["userinfo"], headers=bearer)

`FakeClock` moves the mock's time forward (expiry tests never sleep).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import requests

from segur.kernel.service import StackContext
from segur.mocks.psc.models import DEFAULT_CLIENT, s256
from segur.mocks.psc.service import PscConfig, PscService


class FakeClock:
    """A clock the test moves: `clock.advance(3600)`."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def running_psc(context: StackContext | None = None, **settings) -> Iterator[PscService]:
    """A started PSC mock on a free port; keywords are `PscConfig` fields."""
    service = PscService(PscConfig(**{"port": 0, **settings}), context or StackContext.for_tests())
    service.start()
    try:
        yield service
    finally:
        service.stop()


def authorization_code(psc: PscService, idnps: str, *, client_id: str = DEFAULT_CLIENT.client_id,
                       redirect_uri: str = DEFAULT_CLIENT.redirect_uris[0], verifier: str | None = None,
                       **extra) -> str:
    """Queue the professional (admin next-login), run the authorization request, return the code."""
    endpoints = psc.endpoints()
    requests.post(endpoints["next_login"], json={"idnps": idnps}, timeout=10).raise_for_status()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": "openid scope_all", "acr_values": "eidas1", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), **extra}
    if verifier:
        params.update(code_challenge=s256(verifier), code_challenge_method="S256")
    answer = requests.get(endpoints["authorization"], params=params, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
    if "code" not in query:
        raise AssertionError(f"no code in the authorization answer: {answer.status_code} {answer.headers}")
    return query["code"][0]


def log_in(psc: PscService, idnps: str, *, client_id: str = DEFAULT_CLIENT.client_id,
           secret: str = DEFAULT_CLIENT.secret, redirect_uri: str = DEFAULT_CLIENT.redirect_uris[0]) -> dict:
    """The whole code flow with PKCE S256: the token response (access, refresh and ID tokens)."""
    verifier = secrets.token_urlsafe(48)
    code = authorization_code(psc, idnps, client_id=client_id, redirect_uri=redirect_uri, verifier=verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    answer = requests.post(psc.endpoints()["token"], auth=(client_id, secret), data=form, timeout=10)
    answer.raise_for_status()
    return answer.json()
