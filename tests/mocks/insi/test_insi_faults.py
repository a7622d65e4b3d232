"""INSi mock: the test-control API — injected SOAP faults, HTTP 503, latency, the overloaded service —
for a share of calls or for one identity, and how they are cleared. The mock's sleep is replaced by
a recorder, so latency is asserted on what the mock asked for, not on the clock."""

from __future__ import annotations

import pytest
import zeep
from lxml import etree

from segur.mocks.insi.testing import (
    context_headers,
    official_client,
    post_soap,
    running_insi,
    soap_envelope,
    traits_body,
)

ENV = "{http://www.w3.org/2003/05/soap-envelope}"


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


SLEEP = SleepRecorder()


@pytest.fixture(scope="module")
def insi():
    with running_insi(sleep=SLEEP) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(insi):
    insi.admin("reset", "POST", {})
    SLEEP.calls.clear()


@pytest.fixture(scope="module")
def service(insi, shared_ref):
    return official_client(shared_ref / "insi" / "wsdl", insi.service_url)[1]


def search(insi, **traits):
    return post_soap(insi.service_url, soap_envelope(traits_body(**traits)))


def add_fault(insi, spec) -> dict:
    status, body = insi.admin("faults", "POST", spec)
    assert status == 201, body
    return body["added"][0]


def test_an_injected_soap_fault_reaches_a_zeep_client_then_can_be_cleared(insi, service):
    add_fault(insi, {"kind": "soap_fault", "fault": "service_unavailable"})
    with pytest.raises(zeep.exceptions.Fault) as raised:
        service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                _soapheaders=context_headers())
    fault = raised.value
    assert [s.localname for s in fault.subcodes] == ["siram_40"]
    erreur = fault.detail.find("{urn:siram}Erreur")
    assert (erreur.get("code"), erreur.get("severite")) == ("desir_1020", "fatale")
    entry = insi.journal.entries()[-1]
    assert entry.verdict == "fault-injected" and entry.rules == ["INSI-FAULT-INJECTED"]
    assert insi.admin("faults", "DELETE")[0] == 200
    result = service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                     _soapheaders=context_headers())
    assert result.CR.CodeCR == "00"


def test_any_real_siram_desir_code_can_be_replayed(insi):
    recorded = "L'appel au service de recherche avec les traits d'identité renvoie une erreur technique."
    add_fault(insi, {"kind": "soap_fault", "siram": "siram_40", "desir": "insi_102", "code": "Receiver",
                     "message": recorded})
    status, _, body = search(insi)
    fault = etree.fromstring(body).find(f"{ENV}Body/{ENV}Fault")
    assert status == 500 and [v.text for v in fault.iter(f"{ENV}Value")] == ["S:Receiver", "S:siram_40"]
    assert fault.find(".//{urn:siram}Erreur").get("code") == "insi_102"


def test_a_fault_for_a_share_of_calls_hits_about_that_share(insi):
    add_fault(insi, {"kind": "soap_fault", "ratio": 0.3, "seed": 7})
    statuses = [search(insi)[0] for _ in range(60)]
    hit = statuses.count(400) + statuses.count(500)
    assert 8 <= hit <= 30 and statuses.count(200) == 60 - hit


def test_a_fault_for_one_identity_matches_on_its_ins(insi):
    add_fault(insi, {"kind": "soap_fault", "fault": "technical_error", "match": {"ins": "297022A02077878"}})
    assert search(insi)[0] == 500  # ADRTROIS DOMINIQUE
    assert search(insi, birth_name="TCHITCHI", first_names=("CATARINA",), birth_date="1936-06-21",
                  birth_place=None)[0] == 200


def test_a_fault_for_one_identity_matches_on_the_birth_name_even_when_nobody_is_found(insi):
    add_fault(insi, {"kind": "http_error", "status": 503, "match": {"birth_name": "INCONNU"}})
    assert search(insi, birth_name="Inconnu")[0] == 503
    assert search(insi)[0] == 200


def test_http_503_for_a_number_of_calls_then_normal_service(insi):
    add_fault(insi, {"kind": "http_error", "status": 503, "count": 2})
    assert [search(insi)[0] for _ in range(3)] == [503, 503, 200]
    assert insi.admin("faults")[1]["faults"] == []


def test_a_fixed_latency_delays_every_call(insi):
    add_fault(insi, {"kind": "latency", "ms": 1500})
    assert search(insi)[0] == 200 and search(insi)[0] == 200
    assert SLEEP.calls == [1.5, 1.5]


def test_a_random_latency_stays_within_its_bounds(insi):
    add_fault(insi, {"kind": "latency", "ms": 200, "jitter_ms": 300, "seed": 3})
    for _ in range(10):
        search(insi)
    assert len(SLEEP.calls) == 10 and all(0.2 <= s <= 0.5 for s in SLEEP.calls)
    assert len(set(SLEEP.calls)) > 1


def test_latency_on_one_operation_leaves_the_other_alone(insi):
    add_fault(insi, {"kind": "latency", "ms": 100, "operation": "rechercherInsAvecCarteVitale"})
    search(insi)
    assert SLEEP.calls == []


def test_overload_waits_then_times_out(insi):
    add_fault(insi, {"kind": "overload", "ms": 30_000})
    status, _, body = search(insi)
    assert status == 504 and b"overloaded" in body and SLEEP.calls == [30.0]


def test_the_overloaded_service_answers_late_and_times_out_a_share_of_calls(insi):
    add_fault(insi, {"kind": "overloaded", "ms": 8000, "timeout_ratio": 0.5, "seed": 1})
    statuses = [search(insi)[0] for _ in range(20)]
    assert set(statuses) == {200, 504} and 2 <= statuses.count(504) <= 18
    assert SLEEP.calls == [8.0] * 20
    insi.admin("faults", "DELETE")
    assert search(insi)[0] == 200 and len(SLEEP.calls) == 20


def test_overloaded_with_no_timeouts_only_slows_down(insi):
    add_fault(insi, {"kind": "overloaded", "ms": 2000, "timeout_ratio": 0})
    assert [search(insi)[0] for _ in range(3)] == [200, 200, 200] and SLEEP.calls == [2.0] * 3


def test_faults_are_listed_and_removed_one_by_one(insi):
    first = add_fault(insi, {"kind": "latency", "ms": 10})
    add_fault(insi, {"kind": "http_error"})
    kinds = {f["kind"] for f in insi.admin("faults")[1]["faults"]}
    assert kinds == {"latency", "http_error"}
    assert insi.admin(f"faults/{first['id']}", "DELETE")[0] == 200
    assert [f["kind"] for f in insi.admin("faults")[1]["faults"]] == ["http_error"]
    assert {"soap_fault", "overloaded"} <= set(insi.admin("faults")[1]["kinds"])


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "soap_fault", "fault": "no_such_fault"}, "unknown fault"),
    ({"kind": "soap_fault", "code": "Client"}, "Sender or Receiver"),
    ({"kind": "soap_fault", "severite": "fatal"}, "severite"),
    ({"kind": "overloaded", "timeout_ratio": 2}, "timeout_ratio"),
    ({"kind": "soap_fault", "colour": "red"}, "unknown field"),
    ({"kind": "http_error", "status": 200}, "HTTP error status"),
    ({"kind": "overloaded", "status": "504"}, "HTTP error status"),
])
def test_bad_insi_fault_specifications_are_refused(insi, spec, message):
    status, body = insi.admin("faults", "POST", spec)
    assert status == 400 and message in body["error"]


def test_reset_clears_faults_and_journal(insi):
    add_fault(insi, {"kind": "http_error"})
    search(insi)
    assert insi.admin("reset", "POST", {})[0] == 200
    assert insi.admin("faults")[1]["faults"] == [] and insi.admin("journal")[1]["entries"] == []
    assert search(insi)[0] == 200


def test_the_journal_records_injected_faults_with_request_and_response(insi):
    fault = add_fault(insi, {"kind": "http_error", "status": 503})
    search(insi)
    status, journal = insi.admin("journal?verdict=fault-injected")
    entry = journal["entries"][0]
    assert entry["response"]["status"] == 503 and entry["meta"]["faults"] == [fault["id"]]
    assert "RECSANSVITALE" in entry["request"]["body"]["text"] and entry["duration_ms"] >= 0


# -- injected failures as a zeep client generated from CNAM's WSDL sees them -----------------------

@pytest.mark.parametrize(("spec", "status"), [
    ({"kind": "http_error", "status": 503}, 503),
    ({"kind": "overload", "ms": 20_000}, 504),
    ({"kind": "overloaded", "ms": 9000, "timeout_ratio": 1}, 504),
])
def test_injected_http_failures_reach_a_zeep_client_as_transport_errors(insi, service, spec, status):
    add_fault(insi, {**spec, "count": 1})
    with pytest.raises(zeep.exceptions.TransportError) as raised:
        service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                _soapheaders=context_headers())
    assert raised.value.status_code == status
    result = service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                     _soapheaders=context_headers())
    assert result.CR.CodeCR == "00"


def test_injected_latency_delays_a_zeep_client_which_still_gets_its_answer(insi, service):
    add_fault(insi, {"kind": "latency", "ms": 2500, "operation": "rechercherInsAvecCarteVitale"})
    card = {"NumIdentifiant": "297022A020778", "Cle": "78"}
    result = service.rechercherInsAvecCarteVitale(MatriculeIndividu=card, DateNaissance="1997-02-26",
                                                  _soapheaders=context_headers())
    assert result.CR.CodeCR == "00" and SLEEP.calls == [2.5]
