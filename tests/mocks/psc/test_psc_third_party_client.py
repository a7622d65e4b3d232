"""Clients the project did not write, against the PSC mock: authlib's OAuth 2.0 client
(`OAuth2Session`, with PKCE S256, nonce and acr_values as ANS's own relying party sends them) through
discovery, the code flow, userinfo and refresh; plain `requests` reading the discovery at PSC's path."""

from __future__ import annotations

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from segur.mocks.psc.models import DEFAULT_CLIENT

BIDEAULT = "801234560801"
REDIRECT = DEFAULT_CLIENT.redirect_uris[0]


def _discover(issuer: str) -> dict:
    """What a generic relying party configured for PSC does: the non-standard well-known path."""
    answer = requests.get(issuer + "/.well-known/wallet-openid-configuration", timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_requests_reads_the_discovery_at_the_psc_path(psc):
    document = _discover(psc.endpoints()["issuer"])
    assert document["issuer"] == psc.endpoints()["issuer"]
    for field in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                  "end_session_endpoint", "introspection_endpoint"):
        assert requests.options(document[field], timeout=10).status_code < 500, field


def test_authlib_oauth2_session_runs_discovery_code_flow_userinfo_and_refresh(psc):
    metadata = _discover(psc.endpoints()["issuer"])
    session = OAuth2Session(DEFAULT_CLIENT.client_id, DEFAULT_CLIENT.secret, scope="openid scope_all",
                            redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")
    verifier, nonce = generate_token(48), generate_token(16)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, acr_values="eidas1")
    # the harness cannot type a password: the test login picks the professional for the next authorization
    requests.post(psc.endpoints()["next_login"], json={"idnps": BIDEAULT}, timeout=10).raise_for_status()
    redirected = requests.get(url, allow_redirects=False, timeout=10)
    assert redirected.status_code == 302
    callback = redirected.headers["Location"]
    token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                                code_verifier=verifier, state=state)
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    algorithms = metadata["id_token_signing_alg_values_supported"]
    id_token = jwt.decode(token["id_token"], keys, algorithms=algorithms)
    assert id_token.claims["nonce"] == nonce and id_token.claims["iss"] == metadata["issuer"]

    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200 and userinfo.json()["SubjectNameID"] == BIDEAULT

    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert session.get(metadata["userinfo_endpoint"], timeout=10).json()["preferred_username"] == BIDEAULT
    assert [e.operation for e in psc.journal.entries() if e.verdict == "ok"] == [
        "discovery", "authorize", "token", "jwks", "userinfo", "token", "userinfo"]
