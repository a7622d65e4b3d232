"""What capability `lookup` reads in the journals (`scenarios/capabilities/lookup.py`, `observe`), on
hand-made journal entries: a POST search's form, a PractitionerRole's mailbox given to the professional its
practitioner id names (learnt from any answer of the run), the revoked operator's connections matched to
their outcome."""

from __future__ import annotations

import json

from segur.scenarios.capabilities.lookup import observe
from segur.scenarios.capability import ObserveContext

RPPS, OTHER = "10781613426", "10542744932"
T0 = "2026-12-06T10:00:00.000+00:00"


def _answer(seq: int, time: str, task: str | None, resources: list[dict], *, url: str, form=None) -> dict:
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    request = {"method": "POST" if form else "GET", "url": url, "form": form or {}}
    body = {"encoding": "text", "text": json.dumps(bundle)}
    return {"seq": seq, "time": time, "task": task, "operation": "search:Practitioner", "verdict": "ok",
            "request": request, "response": {"status": 200, "body": body}}


def _practitioner(technical_id: str, rpps: str, mailbox: str | None = None) -> dict:
    found = {"resourceType": "Practitioner", "id": technical_id,
             "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": rpps}]}
    if mailbox:
        found["telecom"] = [{"system": "email", "value": mailbox}]
    return found


def _role(practitioner_id: str, mailbox: str) -> dict:
    return {"resourceType": "PractitionerRole", "id": "005-1",
            "telecom": [{"system": "email", "value": mailbox}],
            "practitioner": {"reference": f"Practitioner/{practitioner_id}"}}


def _context(journals: dict, task_id: str = "lookup-01") -> ObserveContext:
    def in_task(exchange: dict, _service: str) -> bool:
        return exchange.get("task") == task_id

    return ObserveContext({"id": task_id}, in_task, journals, None, {})


def test_a_post_search_and_a_role_found_by_its_practitioner_id_learnt_earlier_in_the_run():
    earlier = _answer(1, T0, "lookup-00", [_practitioner("003-9", RPPS), _practitioner("003-8", OTHER)],
                      url="http://a/fhir/v2/Practitioner?identifier=x")
    roles = _answer(2, "2026-12-06T10:00:01.000+00:00", "lookup-01",
                    [_role("003-9", "turpin@lbm.mssante.fr"), _role("003-8", "carre@lbm.mssante.fr")],
                    url="http://a/fhir/v2/PractitionerRole/_search", form={"organization": ["001-1"]})
    facts = observe(_context({"annuaire": [earlier, roles]}))
    (search,) = facts["annuaire"]
    assert search["query"] == {"organization": ["001-1"]}
    assert search["mailboxes"] == {RPPS: ["turpin@lbm.mssante.fr"], OTHER: ["carre@lbm.mssante.fr"]}


def test_the_revoked_operators_connections_carry_the_outcome_journalled_when_they_ended():
    connect = {"seq": 3, "time": T0, "task": "revoked-01", "operation": "revoked-smtp-connect",
               "verdict": "ok", "meta": {"connection": 7}}
    session = {"seq": 4, "time": T0, "task": None, "operation": "revoked-smtp-session",
               "verdict": "refused-by-client", "meta": {"connection": 7},
               "request": {"client_bytes_after_tls": 0},
               "response": {"tls_error": "alert certificate revoked"}}
    crl = {"seq": 1, "time": "2026-12-06T09:59:00.000+00:00", "task": "mss-01", "operation": "crl",
           "verdict": "ok", "response": {"status": 200}}
    facts = observe(_context({"igc": [crl, connect, session]}, "revoked-01"))
    assert facts["relay"] == [{"connection": 7, "seq": 3, "time": T0, "outcome": "refused-by-client",
                               "tls_error": "alert certificate revoked", "client_bytes_after_tls": 0,
                               "relayed_to": None}]
    assert [f["seq"] for f in facts["crl_ok_before"]] == [1] and facts["crl_in_task"] == []
