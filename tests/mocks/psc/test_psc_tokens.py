"""The PSC access-token check other mocks call (`segur.mocks.psc.tokens.verify_access_token`): the
professional a good token names, and the rule that says why a bad one is refused."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from segur.fixtures.world import load_world
from segur.mocks.psc import rules
from segur.mocks.psc.tokens import ACCESS, ID, SigningKey, verify_access_token

ISSUER = "http://127.0.0.1:8305/auth/realms/esante-wallet"
IDNPS = "801234560801"
WORLD = load_world()
KEY = SigningKey()


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": f"f:00000000-0000-0000-0000-000000000000:{IDNPS}", "typ": ACCESS,
              "azp": "segur-test-client", "iat": now, "exp": now + 120, "jti": "j-1", "sid": "s-1",
              "preferred_username": IDNPS, "acr": "eidas1", "scope": "openid scope_all"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _check(token: str, audiences=("segur-test-client",), is_revoked=None, key: SigningKey = KEY):
    return verify_access_token(token, jwks=key.jwks(), issuer=ISSUER, audiences=audiences, world=WORLD,
                               is_revoked=is_revoked)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_good_token_names_the_professional():
    check = _check(KEY.sign(_claims()))
    assert check.ok and check.professional.family_name == "BIDEAULT" and check.claims["jti"] == "j-1"


def test_a_token_naming_the_client_in_aud_is_accepted_and_any_client_without_audiences():
    assert _check(KEY.sign(_claims(azp="other", aud=["segur-test-client"]))).ok
    assert _check(KEY.sign(_claims(azp="anyone")), audiences=None).ok


def test_a_token_signed_by_another_key_is_forged():
    check = _check(SigningKey().sign(_claims()))
    assert check.finding.rule == rules.FORGED_TOKEN.id and "names no key" in check.finding.message
    impostor = SigningKey(RSAKey.generate_key(2048, parameters={"kid": KEY.kid}))
    check = _check(impostor.sign(_claims()))
    assert check.finding.rule == rules.FORGED_TOKEN.id and "signature" in check.finding.message


def test_a_tampered_payload_is_forged():
    head, _, signature = KEY.sign(_claims()).split(".")
    tampered = f"{head}.{_b64(_claims(preferred_username='810060306106'))}.{signature}"
    assert _check(tampered).finding.rule == rules.FORGED_TOKEN.id


@pytest.mark.parametrize("junk", ["", "abc", "a.b.c", "....", "eyJ.eyJ.sig"])
def test_what_is_not_a_jws_is_forged(junk):
    assert _check(junk).finding.rule == rules.FORGED_TOKEN.id


def test_an_unsigned_alg_none_token_is_refused():
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    check = _check(unsigned)
    assert check.finding.rule == rules.WRONG_ALGORITHM.id and "'none'" in check.finding.message


def test_an_hmac_token_keyed_with_the_public_key_is_refused():
    public_n = KEY.jwks()["keys"][0]["n"]
    forged = jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key(public_n), algorithms=["HS256"])
    assert _check(forged).finding.rule == rules.WRONG_ALGORITHM.id


def test_a_token_of_another_issuer_is_refused():
    check = _check(KEY.sign(_claims(iss="https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet")))
    assert check.finding.rule == rules.WRONG_ISSUER.id


def test_an_expired_token_is_refused():
    check = _check(KEY.sign(_claims(exp=int(time.time()) - 1)))
    assert check.finding.rule == rules.EXPIRED_TOKEN.id
    assert _check(KEY.sign(_claims(exp=None))).finding.rule == rules.EXPIRED_TOKEN.id


def test_a_token_of_a_client_the_service_does_not_accept_is_refused():
    check = _check(KEY.sign(_claims(azp="some-other-rp")))
    assert check.finding.rule == rules.WRONG_AUDIENCE.id and "some-other-rp" in check.finding.message


def test_an_id_token_is_not_an_access_token():
    assert _check(KEY.sign(_claims(typ=ID))).finding.rule == rules.NOT_AN_ACCESS_TOKEN.id


def test_a_revoked_token_is_refused_with_the_reason():
    check = _check(KEY.sign(_claims()), is_revoked=lambda claims: "its PSC session ended: PSC logout")
    assert check.finding.rule == rules.REVOKED_TOKEN.id and "PSC logout" in check.finding.message
    assert _check(KEY.sign(_claims()), is_revoked=lambda claims: None).ok


def test_a_token_naming_no_professional_of_the_world_is_refused():
    check = _check(KEY.sign(_claims(preferred_username="899999999999")))
    assert check.finding.rule == rules.UNKNOWN_SUBJECT.id


def test_every_psc_rule_is_an_oauth_error_with_a_status_and_a_hint():
    assert len(rules.book) >= 30
    for rule in rules.book:
        assert rule.id.startswith("PSC-") and rule.hint and rule.rem, rule.id
        assert rule.extra["oauth_error"] and rule.extra["status"] in (400, 401, 413), rule.id
