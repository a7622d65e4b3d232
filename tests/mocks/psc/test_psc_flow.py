"""The PSC mock's flows as a client sees them: discovery, code flow with PKCE, userinfo, refresh,
introspection, revocation, logout, CIBA, the test login (admin, login_hint, the HTML page)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from segur.kernel.service import StackContext
from segur.mocks.psc.models import CIBA_GRANT, DEFAULT_CLIENT
from segur.mocks.psc.testing import FakeClock, authorization_code, log_in, running_psc

BIDEAULT = "801234560801"  # Jacques BIDEAULT, radiologist of the world (IDNPS = 8 + RPPS)
GUIBERT = "810060306106"  # Pauline GUIBERT, nurse of the world
AUTH = (DEFAULT_CLIENT.client_id, DEFAULT_CLIENT.secret)
REDIRECT = DEFAULT_CLIENT.redirect_uris[0]


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _token(psc, **form):
    return requests.post(psc.endpoints()["token"], auth=AUTH, data=form, timeout=10)


def test_discovery_is_served_at_the_psc_path_and_the_standard_one(psc):
    endpoints = psc.endpoints()
    at_psc_path = requests.get(endpoints["discovery"], timeout=10)
    standard = requests.get(endpoints["openid_configuration"], timeout=10)
    assert endpoints["discovery"] == endpoints["issuer"] + "/.well-known/wallet-openid-configuration"
    assert endpoints["issuer"].endswith("/auth/realms/esante-wallet")
    assert at_psc_path.status_code == standard.status_code == 200
    assert at_psc_path.json() == standard.json()
    document = at_psc_path.json()
    assert document["issuer"] == endpoints["issuer"] == psc.model.issuer
    assert document["token_endpoint"].endswith("/protocol/openid-connect/token")
    assert document["backchannel_authentication_endpoint"].endswith("/protocol/openid-connect/ext/ciba/auth")
    assert "S256" in document["code_challenge_methods_supported"]
    assert CIBA_GRANT in document["grant_types_supported"]
    assert {"openid", "scope_all"} <= set(document["scopes_supported"])
    assert document["backchannel_token_delivery_modes_supported"] == ["poll"]


def test_health_lists_the_issuer_and_every_endpoint_a_client_needs(psc):
    health = requests.get(psc.base_url + "/_admin/health", timeout=10).json()
    assert health["service"] == "psc" and health["issuer"] == psc.model.issuer
    for name in ("discovery", "authorization", "token", "userinfo", "jwks", "end_session", "introspection",
                 "revocation", "backchannel_authentication", "next_login", "client_id", "client_secret"):
        assert health["endpoints"][name], name


def test_the_code_flow_with_pkce_gives_rs256_tokens_the_jwks_verifies(psc):
    tokens = log_in(psc, BIDEAULT)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 120
    keys = KeySet.import_key_set(requests.get(psc.endpoints()["jwks"], timeout=10).json())
    access = jwt.decode(tokens["access_token"], keys, algorithms=["RS256"])
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert access.header["alg"] == "RS256" and access.header["kid"] == psc.model.key.kid
    assert access.claims["iss"] == psc.model.issuer and access.claims["azp"] == DEFAULT_CLIENT.client_id
    assert access.claims["preferred_username"] == BIDEAULT and access.claims["acr"] == "eidas1"
    assert re.fullmatch(rf"f:[0-9a-f-]{{36}}:{BIDEAULT}", access.claims["sub"])
    assert access.claims["typ"] == "Bearer" and access.claims["scope"] == "openid scope_all"
    assert id_token.claims["aud"] == DEFAULT_CLIENT.client_id and id_token.claims["nonce"]


def test_userinfo_gives_the_professional_with_subject_ref_pro(psc):
    tokens = log_in(psc, BIDEAULT)
    info = requests.get(psc.endpoints()["userinfo"], headers=_bearer(tokens["access_token"]), timeout=10)
    assert info.status_code == 200
    claims = info.json()
    assert claims["SubjectNameID"] == claims["preferred_username"] == BIDEAULT
    assert (claims["given_name"], claims["family_name"]) == ("Jacques", "BIDEAULT")
    assert claims["SubjectOrganization"] == "Centre de radiologie Ambroise"
    assert claims["SubjectRole"] == ["10^1.2.250.1.213.1.1.5.5"]
    exercice = claims["SubjectRefPro"]["exercices"][0]
    assert (exercice["codeProfession"], exercice["codeSavoirFaire"]) == ("10", "SM44")
    activity = exercice["activities"][0]
    assert activity["numeroFinessSite"] == "750803447" and activity["codeSecteurDactivite"] == "SA08"
    assert activity["telephone2"] == ""  # absent values are empty strings, as in PSC's samples


def test_userinfo_without_scope_all_gives_the_identity_only(psc):
    code = authorization_code(psc, GUIBERT, scope="openid")
    tokens = _token(psc, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    claims = requests.post(psc.endpoints()["userinfo"], headers=_bearer(tokens["access_token"]),
                           timeout=10).json()
    assert claims["SubjectNameID"] == GUIBERT and "SubjectRefPro" not in claims


def test_a_refresh_gives_new_tokens_for_the_same_session(psc):
    tokens = log_in(psc, BIDEAULT)
    refreshed = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["session_state"] == tokens["session_state"]
    assert refreshed.json()["access_token"] != tokens["access_token"]
    assert refreshed.headers["Cache-Control"] == "no-store"


def test_introspection_says_active_with_subject_name_id_then_inactive_after_logout(psc):
    tokens = log_in(psc, BIDEAULT)
    url = psc.endpoints()["introspection"]
    active = requests.post(url, auth=AUTH, data={"token": tokens["access_token"]}, timeout=10).json()
    assert active["active"] is True and active["SubjectNameID"] == BIDEAULT
    refresh = requests.post(url, auth=AUTH, data={"token": tokens["refresh_token"]}, timeout=10).json()
    assert refresh["active"] is True and "SubjectNameID" not in refresh
    logout = requests.get(psc.endpoints()["end_session"], params={"id_token_hint": tokens["id_token"]},
                          timeout=10)
    assert logout.status_code == 200
    assert requests.post(url, auth=AUTH, data={"token": tokens["access_token"]}, timeout=10).json() == {
        "active": False}
    assert requests.post(url, auth=AUTH, data={"token": "junk"}, timeout=10).json() == {"active": False}


def test_logout_redirects_to_the_registered_post_logout_uri_with_the_state(psc):
    tokens = log_in(psc, BIDEAULT)
    answer = requests.get(psc.endpoints()["end_session"], allow_redirects=False, timeout=10,
                          params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": REDIRECT,
                                  "state": "s-1"})
    assert answer.status_code == 302 and answer.headers["Location"] == f"{REDIRECT}?state=s-1"


def test_revoking_the_refresh_token_ends_the_session(psc):
    tokens = log_in(psc, BIDEAULT)
    revoked = requests.post(psc.endpoints()["revocation"], auth=AUTH, data={"token": tokens["refresh_token"]},
                            timeout=10)
    assert revoked.status_code == 200
    answer = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "PSC-TOKEN-007" in answer.json()["error_description"]


def test_ciba_answers_pending_then_the_tokens_of_the_login_hint(psc):
    started = requests.post(psc.endpoints()["backchannel_authentication"], auth=AUTH, timeout=10,
                            data={"scope": "openid scope_all", "acr_values": "eidas1", "login_hint": BIDEAULT,
                                  "binding_message": "segur"})
    assert started.status_code == 200
    request_id = started.json()["auth_req_id"]
    assert started.json()["interval"] == 1 and started.json()["expires_in"] == 120
    pending = _token(psc, grant_type=CIBA_GRANT, auth_req_id=request_id)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    done = _token(psc, grant_type=CIBA_GRANT, auth_req_id=request_id)
    assert done.status_code == 200
    claims = psc.model.verify(done.json()["access_token"]).claims
    assert claims["preferred_username"] == BIDEAULT
    again = _token(psc, grant_type=CIBA_GRANT, auth_req_id=request_id)
    assert again.json()["error"] == "expired_token"
    assert [e.verdict for e in psc.journal.entries("token")] == ["pending", "ok", "refused"]


def test_ciba_denied_by_the_test_and_expired_requests_are_refused(psc):
    url = psc.endpoints()["backchannel_authentication"]
    form = {"scope": "openid scope_all", "acr_values": "eidas1", "login_hint": GUIBERT}
    requests.post(psc.endpoints()["next_login"], json={"idnps": GUIBERT, "deny": True}, timeout=10)
    denied_id = requests.post(url, auth=AUTH, data=form, timeout=10).json()["auth_req_id"]
    _token(psc, grant_type=CIBA_GRANT, auth_req_id=denied_id)
    assert _token(psc, grant_type=CIBA_GRANT, auth_req_id=denied_id).json()["error"] == "access_denied"
    clock = FakeClock()
    psc.model.clock = clock
    late_id = requests.post(url, auth=AUTH, data=form, timeout=10).json()["auth_req_id"]
    clock.advance(121)
    assert _token(psc, grant_type=CIBA_GRANT, auth_req_id=late_id).json()["error"] == "expired_token"
    unknown = requests.post(url, auth=AUTH, data={**form, "login_hint": "899999999999"}, timeout=10)
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_user_id"


def test_login_hint_naming_a_professional_logs_in_without_the_admin(psc):
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
              "scope": "openid scope_all", "acr_values": "eidas1", "login_hint": GUIBERT, "state": "xyz"}
    answer = requests.get(psc.endpoints()["authorization"], params=params, allow_redirects=False, timeout=10)
    location = urlsplit(answer.headers["Location"])
    query = parse_qs(location.query)
    assert answer.status_code == 302 and query["state"] == ["xyz"] and query["iss"] == [psc.model.issuer]
    assert psc.journal.entries("authorize")[-1].meta["idnps"] == GUIBERT


def test_without_a_queued_login_a_browser_gets_the_login_page_and_can_pick_a_professional(psc):
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
              "scope": "openid scope_all", "acr_values": "eidas1", "state": "st"}
    page = requests.get(psc.endpoints()["authorization"], params=params, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert f'value="{BIDEAULT}"' in page.text and 'action="/auth/login"' in page.text
    login_url = psc.base_url + "/auth/login"
    accept = {**params, "idnps": BIDEAULT, "decision": "accept"}
    chosen = requests.post(login_url, data=accept, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
    tokens = _token(psc, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    assert psc.model.verify(tokens["access_token"]).professional.idnps == BIDEAULT
    refused = requests.post(login_url, data={**accept, "decision": "deny"}, allow_redirects=False, timeout=10)
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["access_denied"]


def test_next_login_refuses_a_national_id_outside_the_world(psc):
    answer = requests.post(psc.endpoints()["next_login"], json={"idnps": "899999999999"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["rule"] == "PSC-AUTHZ-006"
    assert requests.post(psc.endpoints()["next_login"], data="x", timeout=10).status_code == 400
    queued = requests.post(psc.endpoints()["next_login"], json={"idnps": BIDEAULT}, timeout=10)
    assert queued.status_code == 201
    assert requests.get(psc.endpoints()["next_login"], timeout=10).json()["queued"] == [
        {"idnps": BIDEAULT, "deny": False}]
    requests.delete(psc.endpoints()["next_login"], timeout=10)
    assert requests.get(psc.endpoints()["next_login"], timeout=10).json()["queued"] == []


def test_missing_acr_values_is_journalled_as_a_warning_and_accepted_by_default(psc):
    code = authorization_code(psc, BIDEAULT, acr_values="")
    assert code
    entry = psc.journal.entries("authorize")[-1]
    assert entry.verdict == "ok" and entry.rules == ["PSC-AUTHZ-004"]
    assert entry.findings[0]["severity"] == "warning"


def test_every_exchange_carries_the_proof_task(psc):
    requests.put(psc.base_url + "/_admin/task", json={"task": "psc-01"}, timeout=10)
    log_in(psc, BIDEAULT)
    requests.put(psc.base_url + "/_admin/task", json={"task": None}, timeout=10)
    tagged = requests.get(psc.base_url + "/_admin/journal", params={"task": "psc-01"}, timeout=10).json()
    assert [e["operation"] for e in tagged["entries"]] == ["authorize", "token"]
    token_entry = tagged["entries"][1]
    assert "segur-test-secret" not in str(token_entry["request"])
    meta = token_entry["meta"]
    assert (meta["idnps"], meta["grant_type"]) == (BIDEAULT, "authorization_code")


def test_reset_forgets_sessions_and_queued_logins(psc):
    tokens = log_in(psc, BIDEAULT)
    requests.post(psc.endpoints()["next_login"], json={"idnps": BIDEAULT}, timeout=10)
    assert requests.post(psc.base_url + "/_admin/reset", timeout=10).json()["reset"] is True
    assert psc.model.queued_logins() == []
    answer = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.json()["error"] == "invalid_grant"


def test_an_authorization_request_may_be_posted_as_a_form(psc):
    requests.post(psc.endpoints()["next_login"], json={"idnps": GUIBERT}, timeout=10)
    form = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
            "scope": "openid scope_all", "acr_values": "eidas1", "state": "p"}
    answer = requests.post(psc.endpoints()["authorization"], data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and "code=" in answer.headers["Location"]


def test_over_tls_the_issuer_and_every_endpoint_are_https_with_the_test_ca(tmp_path):
    context = StackContext.for_tests(tmp_path)
    with running_psc(context, tls=True) as secure:
        ca = str(context.test_pki().ca_file)
        assert secure.model.issuer.startswith("https://localhost:")
        document = requests.get(secure.endpoints()["discovery"], verify=ca, timeout=10).json()
        assert all(document[k].startswith("https://") for k in ("token_endpoint", "jwks_uri", "issuer"))
        assert requests.get(document["jwks_uri"], verify=ca, timeout=10).status_code == 200


def test_a_tenant_has_its_own_issuer_keys_and_sessions(tmp_path):
    context = StackContext.for_tests(tmp_path)
    context.stack.tenants = True
    with running_psc(context) as shared:
        tenant_issuer = shared.base_url + "/t/ci-1/auth/realms/esante-wallet"
        document = requests.get(tenant_issuer + "/.well-known/wallet-openid-configuration", timeout=10).json()
        assert document["issuer"] == tenant_issuer
        requests.post(shared.base_url + "/t/ci-1/_admin/next-login", json={"idnps": BIDEAULT}, timeout=10)
        params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
                  "scope": "openid scope_all", "acr_values": "eidas1"}
        page = requests.get(shared.endpoints()["authorization"], params=params, timeout=10)
        assert 'action="/auth/login"' in page.text  # the default tenant's queue is empty: the login page
        tenant_page = requests.get(shared.base_url + "/t/ci-2/auth", params=params, timeout=10)
        assert 'action="/t/ci-2/auth/login"' in tenant_page.text
        answer = requests.get(document["authorization_endpoint"], params=params, allow_redirects=False,
                              timeout=10)
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
        tokens = requests.post(document["token_endpoint"], auth=AUTH, timeout=10,
                               data={"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": REDIRECT}).json()
        assert shared.model.verify(tokens["access_token"]).finding.rule == "PSC-BEARER-002"  # not its key
