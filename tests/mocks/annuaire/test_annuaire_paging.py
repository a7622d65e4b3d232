"""Annuaire santé mock: technical ids, paging and unknown parameters as the real server, metadata, health."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from segur.fixtures.world import load_world
from segur.kernel.service import StackContext
from segur.mocks.annuaire.models import DEFAULT_COUNT
from segur.mocks.annuaire.resources import RPPS_SYSTEM, build_directory
from segur.mocks.annuaire.service import AnnuaireConfig, AnnuaireService
from segur.mocks.annuaire.testing import running_annuaire

KEY = {"ESANTE-API-KEY": "test-key"}
TECHNICAL_ID = re.compile(r"^00[1-5]-\d{1,7}-\d{1,7}$")


@pytest.fixture(scope="module")
def annuaire():
    with running_annuaire() as running:
        yield running


@pytest.fixture(scope="module")
def lenient():
    with running_annuaire(unknown_parameters="fhir") as running:
        yield running


@pytest.fixture(scope="module")
def world():
    return load_world()


def client_of(running, **headers) -> SyncFHIRClient:
    return SyncFHIRClient(running.fhir_base, extra_headers={**KEY, **headers})


def get(url, headers=KEY):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# -- technical ids ------------------------------------------------------------------------------------

def test_ids_are_technical_ids_never_the_rpps_or_finess(world):
    directory = build_directory(world)
    natural = {p.rpps for p in world.professionals} | {o.finess for o in world.organisations}
    for resources in directory.values():
        for resource_id in resources:
            assert TECHNICAL_ID.match(resource_id) and resource_id not in natural
            assert not any(key in resource_id for key in natural)


def test_ids_are_stable_across_restarts(world):
    first, second = build_directory(world), build_directory(load_world())
    assert {t: list(r) for t, r in first.items()} == {t: list(r) for t, r in second.items()}


def test_reading_by_the_rpps_as_id_is_a_404_operation_outcome(annuaire, world):
    pro = world.professionals[0]
    status, body = get(f"{annuaire.fhir_base}/Practitioner/{pro.rpps}")
    assert status == 404 and body["resourceType"] == "OperationOutcome"
    assert "ANN-005" in body["issue"][0]["diagnostics"]
    status, body = get(f"{annuaire.fhir_base}/Organization/{world.organisations[0].finess}")
    assert status == 404 and "ANN-005" in body["issue"][0]["diagnostics"]


def test_a_product_reads_by_the_id_a_search_by_identifier_returned(annuaire, world):
    pro = world.professionals[0]
    client = client_of(annuaire)
    found = client.resources("Practitioner").search(identifier=f"{RPPS_SYSTEM}|{pro.rpps}").get()
    read = client.reference("Practitioner", found.id).to_resource()
    assert read["identifier"] == found["identifier"]


def test_references_between_resources_use_technical_ids(annuaire):
    client = client_of(annuaire)
    role = client.resources("PractitionerRole").search(_include="*").fetch_raw()
    served = {(e.resource.resourceType, e.resource.id) for e in role.entry}
    for entry in role.entry:
        for field in ("practitioner", "organization"):
            if entry.resource.resourceType == "PractitionerRole":
                kind, _, target = entry.resource[field]["reference"].partition("/")
                assert TECHNICAL_ID.match(target) and (kind, target) in served


# -- paging ------------------------------------------------------------------------------------------------

def test_default_page_is_50_and_a_page_has_next_and_self_links_only(annuaire):
    status, bundle = get(f"{annuaire.fhir_base}/PractitionerRole?_count=4")
    assert status == 200 and len(bundle["entry"]) == 4 and bundle["total"] == 15
    assert [link["relation"] for link in bundle["link"]] == ["next", "self"]
    assert re.match(re.escape(annuaire.fhir_base) + r"/_page\?id=[A-Za-z0-9_-]+$", bundle["link"][0]["url"])
    assert DEFAULT_COUNT == 50
    Bundle.model_validate(bundle)


def test_following_next_links_visits_every_result_once_in_id_order(annuaire):
    url, seen = f"{annuaire.fhir_base}/Practitioner?_count=4", []
    while url:
        status, bundle = get(url)
        assert status == 200
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 15


def test_fhirpy_fetch_all_follows_the_page_links(annuaire, world):
    everyone = client_of(annuaire).resources("Practitioner").limit(2).fetch_all()
    assert len(everyone) == len(world.professionals)


def test_page_links_work_after_a_restart(world):
    with running_annuaire() as first:
        _, bundle = get(f"{first.fhir_base}/Practitioner?_count=5&active=true")
        token = bundle["link"][0]["url"].split("id=")[1]
        page_two = get(f"{first.fhir_base}/_page?id={token}")[1]
    with running_annuaire() as second:
        status, again = get(f"{second.fhir_base}/_page?id={token}")
    assert status == 200
    assert [e["resource"]["id"] for e in again["entry"]] == [e["resource"]["id"] for e in page_two["entry"]]


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJ0eXBlIjoxfQ"])
def test_a_page_id_the_server_did_not_give_is_refused(annuaire, token):
    status, body = get(f"{annuaire.fhir_base}/_page?id={token}")
    assert status == 400 and "ANN-004" in body["issue"][0]["diagnostics"]


def test_count_above_the_real_servers_limit_is_refused_and_large_counts_are_served(annuaire):
    assert get(f"{annuaire.fhir_base}/Practitioner?_count=10000")[1]["total"] == 15
    status, body = get(f"{annuaire.fhir_base}/Practitioner?_count=50000001")
    assert status == 400 and "ANN-004" in body["issue"][0]["diagnostics"]


def test_offset_is_not_a_parameter_of_the_real_server(annuaire):
    status, body = get(f"{annuaire.fhir_base}/Practitioner?_offset=5")
    assert status == 400 and "ANN-003" in body["issue"][0]["diagnostics"]


def test_total_none_leaves_the_total_out(annuaire):
    assert "total" not in get(f"{annuaire.fhir_base}/Practitioner?_total=none")[1]


# -- unknown parameters -------------------------------------------------------------------------------

def test_by_default_an_unknown_parameter_is_refused_as_the_real_server_does(annuaire):
    with pytest.raises(OperationOutcome):
        client_of(annuaire).resources("Practitioner").search(colour="blue").fetch()
    prefer_lenient = {**KEY, "Prefer": "handling=lenient"}
    status, body = get(f"{annuaire.fhir_base}/Practitioner?colour=blue", prefer_lenient)
    assert status == 400 and "ANN-003" in body["issue"][0]["diagnostics"]


def test_fhir_mode_ignores_unknown_parameters_and_reports_them_in_an_outcome_entry(lenient, world):
    status, bundle = get(f"{lenient.fhir_base}/Practitioner?colour=blue&active=true")
    assert status == 200 and bundle["total"] == len(world.professionals)
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcome) == 1 and outcome[0]["resource"]["resourceType"] == "OperationOutcome"
    issue = outcome[0]["resource"]["issue"][0]
    assert issue["severity"] == "warning" and issue["code"] == "not-supported"
    assert "colour" in issue["diagnostics"] and "ANN-003" in issue["diagnostics"]
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "colour" not in self_link and "active=true" in self_link
    Bundle.model_validate(bundle)


def test_fhir_mode_with_prefer_strict_refuses_unknown_parameters(lenient):
    status, body = get(f"{lenient.fhir_base}/Practitioner?colour=blue", {**KEY, "Prefer": "handling=strict"})
    assert status == 400 and body["resourceType"] == "OperationOutcome"
    assert "ANN-003" in body["issue"][0]["diagnostics"]


def test_fhirpy_count_works_in_fhir_mode_and_not_against_the_real_behaviour(lenient, annuaire, world):
    assert client_of(lenient).resources("Practitioner").count() == len(world.professionals)
    active = client_of(lenient).resources("Practitioner").search(active="true")
    assert active.count() == len(world.professionals)
    with pytest.raises(OperationOutcome):
        client_of(annuaire).resources("Practitioner").count()  # fhirpy sends _totalMethod=count


def test_fhir_mode_still_refuses_bad_values_of_known_parameters(lenient):
    status, body = get(f"{lenient.fhir_base}/Practitioner?active=maybe")
    assert status == 400 and "ANN-004" in body["issue"][0]["diagnostics"]


def test_an_unknown_mode_is_a_configuration_error(world):
    with pytest.raises(ValueError, match="unknown_parameters"):
        AnnuaireService(AnnuaireConfig(unknown_parameters="sometimes"), StackContext.for_tests(world=world))


# -- metadata and health -------------------------------------------------------------------------------------

def test_capability_statement_lists_the_parameters_and_is_valid(annuaire):
    status, statement = get(f"{annuaire.fhir_base}/metadata")
    CapabilityStatement.model_validate(statement)
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    role_params = {p["name"]: p["type"] for p in by_type["PractitionerRole"]["searchParam"]}
    assert role_params["mailbox-mss"] == "string" and role_params["identifier"] == "token"
    assert role_params["_lastUpdated"] == "date"
    organization_params = {p["name"] for p in by_type["Organization"]["searchParam"]}
    wanted = {"identifier-type", "address", "address-city", "address-postalcode", "partof"}
    assert wanted <= organization_params
    assert by_type["PractitionerRole"]["profile"].endswith("/as-dp-practitionerrole")
    assert "refused" in statement["implementation"]["description"]


def test_capability_statement_says_when_unknown_parameters_are_ignored(lenient):
    statement = get(f"{lenient.fhir_base}/metadata")[1]
    assert "ignored" in statement["implementation"]["description"]


def test_admin_health_says_what_is_simulated(annuaire):
    status, health = get(annuaire.url + "/_admin/health", {})
    assert status == 200 and health["unknown_parameters"] == "refuse"
    assert health["paging"]["default_count"] == 50 and health["paging"]["next_link"].endswith("/_page?id=")
    assert "mailbox-mss" in health["resources"]["PractitionerRole"]["search"]
    assert health["resources"]["Practitioner"]["count"] == 15


def test_serve_refuses_an_unknown_mode_before_starting():
    from typer.testing import CliRunner

    from segur.cli import app

    arguments = ["serve", "annuaire", "--port", "0", "--unknown-parameters", "sometimes"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2 and "refuse, fhir" in result.output
