"""Bad input to the PSC mock: each refusal is the OAuth error of its rule, journalled with the rule id,
and the mock keeps serving afterwards (a discovery read after each)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from segur.mocks.psc.models import CIBA_GRANT, DEFAULT_CLIENT, s256
from segur.mocks.psc.testing import FakeClock, authorization_code, log_in, running_psc

BIDEAULT = "801234560801"
AUTH = (DEFAULT_CLIENT.client_id, DEFAULT_CLIENT.secret)
REDIRECT = DEFAULT_CLIENT.redirect_uris[0]
OTHER_CLIENT = "other-client other-secret https://rp.example/cb"


def _token(psc, auth=AUTH, **form):
    return requests.post(psc.endpoints()["token"], auth=auth, data=form, timeout=10)


def _code_form(code: str, **extra) -> dict:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}


def assert_refused(answer, status: int, error: str, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert f"[{rule}]" in answer.json()["error_description"]


def assert_still_serving(psc, rule: str | None = None) -> None:
    assert requests.get(psc.endpoints()["discovery"], timeout=10).status_code == 200
    if rule:
        assert any(rule in entry.rules for entry in psc.journal.entries()), rule


def test_a_replayed_code_is_refused_and_revokes_the_tokens_it_gave(psc):
    code = authorization_code(psc, BIDEAULT)
    first = _token(psc, **_code_form(code))
    assert first.status_code == 200
    assert_refused(_token(psc, **_code_form(code)), 400, "invalid_grant", "PSC-TOKEN-003")
    check = psc.model.verify(first.json()["access_token"])
    assert check.finding.rule == "PSC-BEARER-007"
    assert_still_serving(psc, "PSC-TOKEN-003")


def test_an_unknown_or_expired_code_is_refused(psc):
    assert_refused(_token(psc, **_code_form("made-up")), 400, "invalid_grant", "PSC-TOKEN-002")
    clock = FakeClock()
    psc.model.clock = clock
    code = authorization_code(psc, BIDEAULT)
    clock.advance(61)
    assert_refused(_token(psc, **_code_form(code)), 400, "invalid_grant", "PSC-TOKEN-002")
    assert_still_serving(psc)


def test_a_token_request_with_another_redirect_uri_is_refused(psc):
    code = authorization_code(psc, BIDEAULT)
    answer = _token(psc, **_code_form(code, redirect_uri="http://localhost/elsewhere"))
    assert_refused(answer, 400, "invalid_grant", "PSC-TOKEN-005")
    assert_still_serving(psc)


def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(psc):
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "scope": "openid",
              "redirect_uri": "https://attacker.example/cb", "acr_values": "eidas1"}
    answer = requests.get(psc.endpoints()["authorization"], params=params, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "PSC-AUTHZ-001" in answer.text
    unknown = requests.get(psc.endpoints()["authorization"], params={**params, "client_id": "nobody"},
                           allow_redirects=False, timeout=10)
    assert unknown.status_code == 401 and "PSC-CLIENT-002" in unknown.text
    assert_still_serving(psc, "PSC-AUTHZ-001")


def test_a_loopback_redirect_uri_may_use_any_port(psc):
    code = authorization_code(psc, BIDEAULT, redirect_uri="http://127.0.0.1:53127/callback")
    answer = _token(psc, **_code_form(code, redirect_uri="http://127.0.0.1:53127/callback"))
    assert answer.status_code == 200


@pytest.mark.parametrize(("extra", "error", "rule"), [
    ({"response_type": "token"}, "unsupported_response_type", "PSC-AUTHZ-002"),
    ({"scope": "scope_all"}, "invalid_scope", "PSC-AUTHZ-003"),
    ({"code_challenge": "x" * 43, "code_challenge_method": "S512"}, "invalid_request", "PSC-AUTHZ-005"),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request", "PSC-AUTHZ-005"),
])
def test_a_bad_authorization_request_is_sent_back_to_the_client_as_an_oauth_error(psc, extra, error, rule):
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
              "scope": "openid scope_all", "acr_values": "eidas1", "state": "st-9", **extra}
    answer = requests.get(psc.endpoints()["authorization"], params=params, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == [error] and query["state"] == ["st-9"] and rule in query["error_description"][0]
    assert_still_serving(psc, rule)


def test_acr_values_refuse_mode_refuses_an_authorization_without_eidas1():
    with running_psc(acr_values="refuse") as strict:
        params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
                  "scope": "openid scope_all"}
        answer = requests.get(strict.endpoints()["authorization"], params=params, allow_redirects=False,
                              timeout=10)
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["error"] == ["invalid_request"] and "PSC-AUTHZ-004" in query["error_description"][0]
        assert strict.journal.entries()[-1].findings[0]["severity"] == "error"


def test_pkce_required_mode_refuses_a_code_request_without_a_challenge():
    with running_psc(pkce="required") as strict:
        params = {"response_type": "code", "client_id": DEFAULT_CLIENT.client_id, "redirect_uri": REDIRECT,
                  "scope": "openid", "acr_values": "eidas1"}
        answer = requests.get(strict.endpoints()["authorization"], params=params, allow_redirects=False,
                              timeout=10)
        assert "PSC-AUTHZ-005" in parse_qs(urlsplit(answer.headers["Location"]).query)["error_description"][0]


def test_a_wrong_client_secret_is_invalid_client_with_a_basic_challenge(psc):
    code = authorization_code(psc, BIDEAULT)
    answer = _token(psc, auth=(DEFAULT_CLIENT.client_id, "not-the-secret"), **_code_form(code))
    assert_refused(answer, 401, "invalid_client", "PSC-CLIENT-003")
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert_refused(_token(psc, auth=None, **_code_form(code)), 401, "invalid_client", "PSC-CLIENT-001")
    unknown = _token(psc, auth=("ghost", "x"), **_code_form(code))
    assert_refused(unknown, 401, "invalid_client", "PSC-CLIENT-002")
    assert_still_serving(psc, "PSC-CLIENT-003")


def test_client_secret_post_is_accepted_as_well_as_basic(psc):
    code = authorization_code(psc, BIDEAULT)
    form = _code_form(code, client_id=DEFAULT_CLIENT.client_id, client_secret=DEFAULT_CLIENT.secret)
    assert _token(psc, auth=None, **form).status_code == 200


def test_a_code_is_refused_to_another_client():
    with running_psc(clients=[OTHER_CLIENT]) as psc:
        code = authorization_code(psc, BIDEAULT)
        answer = _token(psc, auth=("other-client", "other-secret"), **_code_form(code))
        assert_refused(answer, 400, "invalid_grant", "PSC-TOKEN-004")


@pytest.mark.parametrize(("verifier", "reason"), [("", "no code_verifier"), ("b" * 50, "differs")])
def test_a_pkce_verifier_that_does_not_match_the_challenge_is_refused(psc, verifier, reason):
    code = authorization_code(psc, BIDEAULT, verifier="a" * 50)
    answer = _token(psc, **_code_form(code, code_verifier=verifier))
    assert_refused(answer, 400, "invalid_grant", "PSC-TOKEN-006")
    assert reason in answer.json()["error_description"]
    assert_still_serving(psc, "PSC-TOKEN-006")


def test_the_s256_challenge_is_base64url_of_sha256():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B's example
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_refresh_token_after_logout_is_refused_as_mss_conf_10_expects(psc):
    tokens = log_in(psc, BIDEAULT)
    requests.get(psc.endpoints()["end_session"], params={"id_token_hint": tokens["id_token"]}, timeout=10)
    answer = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert_refused(answer, 400, "invalid_grant", "PSC-TOKEN-007")
    assert "PSC logout" in answer.json()["error_description"]
    finding = psc.journal.entries("token")[-1].findings[0]
    assert finding["rule"] == "PSC-TOKEN-007"
    assert_still_serving(psc)


def test_a_refresh_token_past_its_lifetime_or_of_another_client_is_refused():
    with running_psc(clients=[OTHER_CLIENT], refresh_token_lifetime=60) as psc:
        clock = FakeClock()
        psc.model.clock = clock
        tokens = log_in(psc, BIDEAULT)
        stolen = _token(psc, auth=("other-client", "other-secret"), grant_type="refresh_token",
                        refresh_token=tokens["refresh_token"])
        assert_refused(stolen, 400, "invalid_grant", "PSC-TOKEN-008")
        clock.advance(61)
        expired = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert_refused(expired, 400, "invalid_grant", "PSC-TOKEN-007")
        assert "expired" in expired.json()["error_description"]


def test_no_refresh_after_the_session_maximum_lifetime():
    with running_psc(refresh_token_lifetime=100, session_max_lifetime=150) as psc:
        clock = FakeClock()
        psc.model.clock = clock
        tokens = log_in(psc, BIDEAULT)
        clock.advance(90)
        again = _token(psc, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
        assert again["refresh_expires_in"] == 60  # capped by the session's end, not 100 more seconds
        clock.advance(61)
        late = _token(psc, grant_type="refresh_token", refresh_token=again["refresh_token"])
        assert_refused(late, 400, "invalid_grant", "PSC-TOKEN-007")


def test_an_unsupported_grant_type_is_refused(psc):
    password = _token(psc, grant_type="password", username="x", password="y")
    assert_refused(password, 400, "unsupported_grant_type", "PSC-TOKEN-001")
    assert_refused(_token(psc, grant_type="authorization_code"), 400, "invalid_request", "PSC-REQ-004")
    unknown_ciba = _token(psc, grant_type=CIBA_GRANT, auth_req_id="nope")
    assert_refused(unknown_ciba, 400, "invalid_grant", "PSC-CIBA-002")
    assert_still_serving(psc, "PSC-TOKEN-001")


@pytest.mark.parametrize(("body", "content_type", "rule"), [
    (b"grant_type=authorization_code&code", "application/x-www-form-urlencoded", "PSC-REQ-001"),
    (b"grant_type=%ff%fe&code=x", "application/x-www-form-urlencoded", "PSC-REQ-001"),
    (b"\xff\xfe\x00", "application/x-www-form-urlencoded", "PSC-REQ-001"),
    (b'{"grant_type": "authorization_code"}', "application/json", "PSC-REQ-001"),
    (b"grant_type=refresh_token&grant_type=authorization_code", "application/x-www-form-urlencoded",
     "PSC-REQ-003"),
])
def test_a_malformed_form_body_is_invalid_request(psc, body, content_type, rule):
    answer = requests.post(psc.endpoints()["token"], data=body, auth=AUTH, timeout=10,
                           headers={"Content-Type": content_type})
    assert_refused(answer, 400, "invalid_request", rule)
    assert_still_serving(psc, rule)


def test_an_oversize_body_is_refused_unread(psc):
    big = b"grant_type=refresh_token&refresh_token=" + b"a" * (70 * 1024)
    answer = requests.post(psc.endpoints()["token"], data=big, auth=AUTH, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_refused(answer, 413, "invalid_request", "PSC-REQ-002")

    def chunks():
        yield b"token="
        for _ in range(80):
            yield b"b" * 1024

    chunked = requests.post(psc.endpoints()["introspection"], data=chunks(), auth=AUTH, timeout=10,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_refused(chunked, 413, "invalid_request", "PSC-REQ-002")
    assert_still_serving(psc, "PSC-REQ-002")


def test_userinfo_without_a_token_is_a_bare_bearer_challenge(psc):
    answer = requests.get(psc.endpoints()["userinfo"], timeout=10)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == 'Bearer realm="esante-wallet"'
    assert_still_serving(psc, "PSC-BEARER-001")


def test_userinfo_with_a_bad_token_is_invalid_token_with_the_challenge(psc):
    answer = requests.get(psc.endpoints()["userinfo"], headers={"Authorization": "Bearer not.a.jwt"},
                          timeout=10)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert_still_serving(psc, "PSC-BEARER-002")


def test_userinfo_refuses_the_access_token_after_logout(psc):
    tokens = log_in(psc, BIDEAULT)
    requests.get(psc.endpoints()["end_session"], params={"id_token_hint": tokens["id_token"]}, timeout=10)
    answer = requests.get(psc.endpoints()["userinfo"], timeout=10,
                          headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert answer.status_code == 401 and "PSC-BEARER-007" in answer.json()["error_description"]


def test_logout_refuses_an_unregistered_post_logout_uri_and_a_forged_hint(psc):
    tokens = log_in(psc, BIDEAULT)
    url = psc.endpoints()["end_session"]
    evil = requests.get(url, params={"id_token_hint": tokens["id_token"],
                                     "post_logout_redirect_uri": "https://evil.example/"},
                        allow_redirects=False, timeout=10)
    assert evil.status_code == 400 and "PSC-LOGOUT-001" in evil.text and "Location" not in evil.headers
    forged = requests.get(url, params={"id_token_hint": tokens["access_token"][:-4] + "AAAA"}, timeout=10)
    assert forged.status_code == 400 and "PSC-LOGOUT-002" in forged.text
    assert psc.model.verify(tokens["access_token"]).ok  # neither refused logout ended the session
    assert_still_serving(psc, "PSC-LOGOUT-002")


def test_a_token_error_fault_answers_the_oauth_error_it_names(psc):
    requests.post(psc.base_url + "/_admin/faults", timeout=10,
                  json={"kind": "token_error", "operation": "token", "error": "temporarily_unavailable",
                        "status": 503, "count": 1})
    code = authorization_code(psc, BIDEAULT)
    failed = _token(psc, **_code_form(code))
    assert failed.status_code == 503 and failed.json()["error"] == "temporarily_unavailable"
    assert psc.journal.entries("token")[-1].verdict == "fault-injected"
    assert _token(psc, **_code_form(code)).status_code == 200  # the fault was not a code exchange


def test_an_http_error_fault_hits_the_operation_it_targets(psc):
    requests.post(psc.base_url + "/_admin/faults", json={"kind": "http_error", "operation": "userinfo"},
                  timeout=10)
    tokens = log_in(psc, BIDEAULT)
    answer = requests.get(psc.endpoints()["userinfo"], timeout=10,
                          headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert answer.status_code == 503 and answer.json()["error"] == "server_error"


def test_an_unknown_path_and_a_wrong_method_are_json_errors(psc):
    assert requests.get(psc.base_url + "/auth/realms/other", timeout=10).status_code == 404
    answer = requests.get(psc.endpoints()["token"], timeout=10)
    assert answer.status_code == 405 and answer.json()["error"] == "invalid_request"
    assert_still_serving(psc)


def test_a_repeated_authorization_parameter_gets_the_error_page(psc):
    query = f"response_type=code&client_id={DEFAULT_CLIENT.client_id}&client_id=evil&redirect_uri={REDIRECT}"
    answer = requests.get(psc.endpoints()["authorization"] + "?" + query, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "PSC-REQ-003" in answer.text and "Location" not in answer.headers
    assert_still_serving(psc, "PSC-REQ-003")


def test_undecodable_basic_credentials_are_no_client_authentication(psc):
    answer = requests.post(psc.endpoints()["introspection"], data={"token": "x"}, timeout=10,
                           headers={"Authorization": "Basic %%%not-base64"})
    assert_refused(answer, 401, "invalid_client", "PSC-CLIENT-001")
    assert_still_serving(psc, "PSC-CLIENT-001")
