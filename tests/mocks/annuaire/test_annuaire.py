"""The Annuaire santé mock, driven by a real FHIR client (fhirpy) and by raw HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from segur.fixtures.world import load_world
from segur.mocks.annuaire.resources import IDNPS_SYSTEM, MAILBOX_METADATA_URL, RPPS_SYSTEM, technical_id
from segur.mocks.annuaire.testing import running_annuaire

KEY = {"ESANTE-API-KEY": "test-key"}


@pytest.fixture(scope="module")
def annuaire():
    with running_annuaire() as running:
        yield running


@pytest.fixture
def client(annuaire):
    annuaire.journal.clear()
    annuaire.faults.clear()
    return SyncFHIRClient(annuaire.fhir_base, extra_headers=KEY)


@pytest.fixture(scope="module")
def radiologist():
    world = load_world()
    return next(p for p in world.professionals if p.mailbox and not p.mailbox_closed)


def practitioner_id(pro) -> str:
    return technical_id("Practitioner", pro.rpps)


def organization_id(finess: str) -> str:
    return technical_id("Organization", finess)


def get(annuaire, path, headers=KEY, method="GET"):
    req = urllib.request.Request(annuaire.fhir_base + path, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_fhir_client_finds_a_professional_by_rpps_with_their_mssante_address(client, radiologist):
    practitioners = client.resources("Practitioner")
    found = practitioners.search(identifier=f"{RPPS_SYSTEM}|{radiologist.rpps}").fetch_all()
    assert len(found) == 1
    practitioner = found[0]
    assert {"system": IDNPS_SYSTEM, "value": "8" + radiologist.rpps} == {
        k: v for k, v in practitioner["identifier"][0].items() if k in ("system", "value")}
    mailbox = practitioner["telecom"][0]
    assert mailbox["system"] == "email" and mailbox["value"] == radiologist.mailbox
    metadata = next(e for e in mailbox["extension"] if e["url"] == MAILBOX_METADATA_URL)
    assert metadata["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "PER"


def test_search_by_idnps_and_by_value_alone(client, radiologist):
    idnps = f"{IDNPS_SYSTEM}|8{radiologist.rpps}"
    by_idnps = client.resources("Practitioner").search(identifier=idnps).fetch_all()
    by_value = client.resources("Practitioner").search(identifier=radiologist.rpps).fetch_all()
    assert [p.id for p in by_idnps] == [p.id for p in by_value] == [practitioner_id(radiologist)]


def test_string_search_is_prefix_and_accent_insensitive_and_exact_is_strict(client, radiologist):
    family = radiologist.family_name
    prefix = client.resources("Practitioner").search(family=family[:3].lower()).fetch_all()
    assert practitioner_id(radiologist) in [p.id for p in prefix]
    swapped = family.swapcase()
    assert swapped != family
    assert client.resources("Practitioner").search(**{"family:exact": swapped}).fetch_all() == []
    contains = client.resources("Practitioner").search(**{"family:contains": family[1:].lower()}).fetch_all()
    assert practitioner_id(radiologist) in [p.id for p in contains]
    exact = client.resources("Practitioner").search(**{"family:exact": family}).fetch_all()
    assert practitioner_id(radiologist) in [p.id for p in exact]


def test_revinclude_brings_the_practitioner_roles(annuaire, radiologist):
    query = f"/Practitioner?_id={practitioner_id(radiologist)}&_revinclude=PractitionerRole:practitioner"
    status, bundle = get(annuaire, query)
    assert status == 200 and bundle["total"] == 1
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert modes == {("Practitioner", "match"), ("PractitionerRole", "include")}


def test_practitioner_role_by_practitioner_and_organization_with_include(annuaire, radiologist):
    query = (f"/PractitionerRole?practitioner=Practitioner/{practitioner_id(radiologist)}"
             f"&organization={organization_id(radiologist.organisation)}"
             "&_include=PractitionerRole:organization")
    status, bundle = get(annuaire, query)
    assert status == 200 and bundle["total"] == 1
    resources = [e["resource"] for e in bundle["entry"]]
    organisation = next(r for r in resources if r["resourceType"] == "Organization")
    assert organisation["id"] == organization_id(radiologist.organisation)


def test_organization_by_finess(annuaire, radiologist):
    status, bundle = get(annuaire, f"/Organization?identifier=https://finess.esante.gouv.fr|{radiologist.organisation}")
    assert status == 200
    assert [e["resource"]["id"] for e in bundle["entry"]] == [organization_id(radiologist.organisation)]


def test_paging_follows_next_links_to_every_result(client, annuaire):
    everyone = client.resources("Practitioner").search(_count=3).fetch_all()
    assert len(everyone) == len(annuaire.model.world.professionals)
    status, first = get(annuaire, "/Practitioner?_count=3")
    assert {link["relation"] for link in first["link"]} >= {"self", "next"}


def test_read_by_id_and_unknown_id_is_404_operation_outcome(annuaire, radiologist):
    wanted = practitioner_id(radiologist)
    assert get(annuaire, f"/Practitioner/{wanted}")[1]["id"] == wanted
    status, body = get(annuaire, "/Practitioner/does-not-exist")
    assert status == 404 and body["resourceType"] == "OperationOutcome"
    assert "ANN-005" in body["issue"][0]["diagnostics"]


def test_missing_api_key_is_401_operation_outcome(annuaire):
    status, body = get(annuaire, "/Practitioner", headers={})
    assert status == 401 and body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login" and "ANN-001" in body["issue"][0]["diagnostics"]


def test_configured_keys_refuse_others():
    with running_annuaire(api_keys=["good"]) as strict:
        assert get(strict, "/metadata", headers={"ESANTE-API-KEY": "good"})[0] == 200
        status, body = get(strict, "/metadata", headers={"ESANTE-API-KEY": "bad"})
        assert status == 401 and "ANN-002" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("path", "status", "rule"),
    [
        ("/Practitioner?colour=blue", 400, "ANN-003"),
        ("/Practitioner?identifier=a|b|c", 400, "ANN-004"),
        ("/Practitioner?active=maybe", 400, "ANN-004"),
        ("/Practitioner?_count=-1", 400, "ANN-004"),
        ("/Practitioner?_count=abc", 400, "ANN-004"),
        ("/Practitioner?family:missing=x", 400, "ANN-004"),
        ("/Practitioner?_include=Practitioner:organization", 400, "ANN-008"),
        ("/Practitioner?_format=xml", 400, "ANN-004"),
        ("/Patient", 404, "ANN-006"),
    ],
)
def test_bad_searches_get_an_operation_outcome_naming_the_rule(annuaire, path, status, rule):
    got_status, body = get(annuaire, path)
    assert got_status == status and body["resourceType"] == "OperationOutcome"
    assert rule in body["issue"][0]["diagnostics"]


def test_the_directory_is_read_only(annuaire, radiologist):
    status, body = get(annuaire, f"/Practitioner/{practitioner_id(radiologist)}", method="DELETE")
    assert status == 405 and "ANN-007" in body["issue"][0]["diagnostics"]


def test_fhirpy_surfaces_the_operation_outcome(client):
    with pytest.raises(OperationOutcome):
        client.resources("Practitioner").search(colour="blue").fetch()


def test_capability_statement_lists_every_resource_type(annuaire):
    status, statement = get(annuaire, "/metadata")
    assert status == 200 and statement["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in statement["rest"][0]["resource"]} == {
        "Practitioner", "PractitionerRole", "Organization", "HealthcareService", "Device"}


def test_device_is_served_and_empty_for_this_world(annuaire):
    status, bundle = get(annuaire, "/Device")
    assert status == 200 and bundle["total"] == 0


def test_journal_records_each_exchange_without_the_key(annuaire, client, radiologist):
    client.resources("Practitioner").search(identifier=radiologist.rpps).fetch()
    get(annuaire, "/Practitioner", headers={})
    entries = annuaire.journal.entries()
    assert [(e.operation, e.verdict) for e in entries] == [("search:Practitioner", "ok"),
                                                           ("search:Practitioner", "refused")]
    assert entries[1].rules == ["ANN-001"]
    assert all("esante-api-key" not in {k.lower() for k in e.request["headers"]} for e in entries)


def test_journal_keeps_the_parameters_of_a_post_search(annuaire, client, radiologist):
    body = f"identifier={RPPS_SYSTEM}|{radiologist.rpps}".encode()
    req = urllib.request.Request(annuaire.fhir_base + "/Practitioner/_search", data=body, method="POST",
                                 headers={**KEY, "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.loads(resp.read())["total"] == 1
    (entry,) = annuaire.journal.entries()
    assert entry.request["form"] == {"identifier": [f"{RPPS_SYSTEM}|{radiologist.rpps}"]}


def test_injected_503_then_cleared(annuaire):
    annuaire.faults.add({"kind": "http_error", "status": 503, "count": 1})
    assert get(annuaire, "/metadata")[0] == 503
    assert get(annuaire, "/metadata")[0] == 200


def test_admin_health_lists_the_fhir_base(annuaire):
    with urllib.request.urlopen(annuaire.url + "/_admin/health", timeout=5) as resp:
        health = json.loads(resp.read())
    assert health["service"] == "annuaire" and health["endpoints"]["fhir_base"] == annuaire.fhir_base
