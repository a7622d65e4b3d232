"""The harness ends a professional's PSC sessions (`POST /_admin/end-sessions`), as their PSC logout would
(REM MSS/CONF.10): every token of those sessions is refused afterwards; a bad request gets a 400 and the
mock keeps serving."""

from __future__ import annotations

import requests

from segur.fixtures.world import load_world
from segur.mocks.psc.testing import log_in

WORLD = load_world()
PROFESSIONALS = sorted(WORLD.professionals, key=lambda p: p.key)
ONE, OTHER = PROFESSIONALS[0].idnps, PROFESSIONALS[1].idnps


def _introspect(psc, token: str) -> bool:
    endpoints = psc.endpoints()
    answer = requests.post(endpoints["introspection"], data={"token": token},
                           auth=(endpoints["client_id"], endpoints["client_secret"]), timeout=5)
    return answer.json()["active"]


def _end(psc, body) -> requests.Response:
    return requests.post(psc.endpoints()["admin"] + "end-sessions", json=body, timeout=5)


def test_ending_a_professional_s_sessions_kills_their_tokens_and_no_one_else_s(psc):
    mine, theirs = log_in(psc, ONE), log_in(psc, OTHER)
    answer = _end(psc, {"idnps": ONE, "why": "PSC logout (test)"})
    assert answer.status_code == 200
    assert answer.json() == {"idnps": ONE, "ended": [mine["session_state"]]}
    assert not _introspect(psc, mine["access_token"]) and not _introspect(psc, mine["refresh_token"])
    assert _introspect(psc, theirs["access_token"])
    entry = next(e for e in psc.journal.entries() if e.operation == "end-sessions").to_dict()
    assert entry["meta"] == {"idnps": ONE, "ended": [mine["session_state"]]}


def test_a_professional_without_a_session_has_nothing_to_end(psc):
    assert _end(psc, {"idnps": ONE}).json()["ended"] == []


def test_a_bad_request_is_refused_and_the_mock_keeps_serving(psc):
    assert _end(psc, {"who": ONE}).status_code == 400
    unknown = _end(psc, {"idnps": "899999999999"})
    assert unknown.status_code == 400 and unknown.json()["rule"]
    not_json = requests.post(psc.endpoints()["admin"] + "end-sessions", data=b"not json", timeout=5)
    assert not_json.status_code == 400
    assert log_in(psc, ONE)["access_token"]
