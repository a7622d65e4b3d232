"""Annuaire santé mock: the search parameters of the IG's CapabilityStatement, with fhirpy as the client."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

import pytest
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhirpy import SyncFHIRClient

from segur.fixtures.world import load_world
from segur.mocks.annuaire.resources import IG, MAILBOX_METADATA_URL, NOS, RPPS_SYSTEM, technical_id
from segur.mocks.annuaire.testing import running_annuaire

KEY = {"ESANTE-API-KEY": "test-key"}
V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"


@pytest.fixture(scope="module")
def annuaire():
    with running_annuaire() as running:
        yield running


@pytest.fixture
def client(annuaire):
    return SyncFHIRClient(annuaire.fhir_base, extra_headers=KEY)


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def radiologist(world):
    return next(p for p in world.professionals if p.mailbox and not p.mailbox_closed)


def get(annuaire, path, headers=KEY):
    req = urllib.request.Request(annuaire.fhir_base + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ids(resources) -> set[str]:
    return {r.id for r in resources}


# -- PractitionerRole: the mailbox at a given practice -------------------------------------------------

def test_practitioner_role_carries_the_mailbox_slice_and_the_activity_identifier(client, radiologist):
    role = client.resources("PractitionerRole").search(**{"mailbox-mss": radiologist.mailbox}).fetch_all()
    assert len(role) == 1
    mailbox = role[0]["telecom"][0]
    assert mailbox["system"] == "email" and mailbox["value"] == radiologist.mailbox
    metadata = next(e for e in mailbox["extension"] if e["url"] == MAILBOX_METADATA_URL)
    assert {e["url"] for e in metadata["extension"]} == {"type", "listeRouge"}  # no "responsible" in DP
    assert [i["system"] for i in role[0]["identifier"]] == [RPPS_SYSTEM]
    assert len(role[0]["identifier"][0]["value"]) == 10
    PractitionerRole.model_validate(role[0].serialize())


def test_a_product_finds_the_mailbox_of_a_professional_at_a_given_practice(client, radiologist):
    practitioner = client.resources("Practitioner").search(
        identifier=f"{RPPS_SYSTEM}|{radiologist.rpps}").get()
    organization = client.resources("Organization").search(
        identifier=f"https://finess.esante.gouv.fr|{radiologist.organisation}").get()
    roles = client.resources("PractitionerRole").search(
        practitioner=practitioner.id, organization=organization.id).fetch_all()
    assert [t["value"] for r in roles for t in r["telecom"]] == [radiologist.mailbox]


def test_mailbox_search_on_practitioner_role_is_exact_or_contains_and_finds_nothing_else(client, radiologist):
    found = client.resources("PractitionerRole")
    assert len(found.search(**{"mailbox-mss:exact": radiologist.mailbox}).fetch_all()) == 1
    assert len(found.search(**{"mailbox-mss:exact": radiologist.mailbox.upper()}).fetch_all()) == 0
    domain = radiologist.mailbox.split("@")[1]
    assert len(found.search(**{"mailbox-mss:contains": domain}).fetch_all()) >= 1
    assert found.search(**{"mailbox-mss": "nobody@nowhere.mssante.fr"}).fetch_all() == []


def test_a_closed_mailbox_is_on_no_practitioner_role(client, world):
    closed = next(p for p in world.professionals if p.mailbox_closed)
    assert client.resources("PractitionerRole").search(**{"mailbox-mss": closed.mailbox}).fetch_all() == []
    roles = client.resources("PractitionerRole").search(
        practitioner=technical_id("Practitioner", closed.rpps)).fetch_all()
    assert len(roles) == 1 and "telecom" not in roles[0]


def test_practitioner_role_by_its_activity_identifier(client, radiologist):
    role = client.resources("PractitionerRole").search(**{"mailbox-mss": radiologist.mailbox}).get()
    value = role["identifier"][0]["value"]
    by_identifier = client.resources("PractitionerRole").search(identifier=f"{RPPS_SYSTEM}|{value}")
    assert ids(by_identifier.fetch_all()) == {role.id}


# -- _lastUpdated (delta sync) --------------------------------------------------------------------------

def last_updated(resource) -> datetime:
    return datetime.fromisoformat(resource["meta"]["lastUpdated"])


@pytest.mark.parametrize("resource_type",
                         ["Practitioner", "PractitionerRole", "Organization", "HealthcareService"])
def test_every_resource_has_meta_last_updated_and_version(client, resource_type):
    for resource in client.resources(resource_type).fetch_all():
        assert last_updated(resource).tzinfo is not None and resource["meta"]["versionId"] == "1"


def test_last_updated_prefixes_split_the_directory_at_an_instant(client):
    everyone = client.resources("Practitioner").fetch_all()
    pivot = sorted(last_updated(p) for p in everyone)[len(everyone) // 2]
    stamp = pivot.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    search = client.resources("Practitioner")
    after = ids(search.search(_lastUpdated=f"gt{stamp}").fetch_all())
    from_ = ids(search.search(_lastUpdated=f"ge{stamp}").fetch_all())
    before = ids(search.search(_lastUpdated=f"lt{stamp}").fetch_all())
    up_to = ids(search.search(_lastUpdated=f"le{stamp}").fetch_all())
    exactly = ids(search.search(_lastUpdated=f"eq{stamp}").fetch_all())
    assert exactly == {p.id for p in everyone if last_updated(p) == pivot} and exactly
    assert from_ == after | exactly and up_to == before | exactly
    assert after | before | exactly == ids(everyone) and not after & before
    assert after == {p.id for p in everyone if last_updated(p) > pivot}


def test_last_updated_by_day_and_year_precision(client):
    everyone = client.resources("Organization").fetch_all()
    day = last_updated(everyone[0]).date().isoformat()
    same_day = {o.id for o in everyone if last_updated(o).date().isoformat() == day}
    assert ids(client.resources("Organization").search(_lastUpdated=day).fetch_all()) == same_day
    assert ids(client.resources("Organization").search(_lastUpdated="ge2024").fetch_all()) == ids(everyone)
    assert client.resources("Organization").search(_lastUpdated="gt2100-01-01").fetch_all() == []


def test_last_updated_ranges_combine_as_and(client):
    everyone = client.resources("Practitioner").fetch_all()
    pairs = [("_lastUpdated", "ge2024-01-01"), ("_lastUpdated", "lt2024-07-01")]
    status, bundle = get_raw(client, "Practitioner", pairs)
    july = datetime.fromisoformat("2024-07-01T00:00:00+00:00")
    expected = {p.id for p in everyone if last_updated(p) < july}
    assert status == 200 and {e["resource"]["id"] for e in bundle.get("entry", [])} == expected


def get_raw(client, resource_type, pairs):
    url = f"{client.url}/{resource_type}?{urllib.parse.urlencode(pairs)}"
    req = urllib.request.Request(url, headers=KEY)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("value", ["sa2024", "ge2024-13-01", "geyesterday", "ge2024-02-30", "ap2024"])
def test_bad_last_updated_values_are_refused_with_ann_004(annuaire, value):
    status, body = get(annuaire, f"/Practitioner?_lastUpdated={value}")
    assert status == 400 and "ANN-004" in body["issue"][0]["diagnostics"]


# -- identifier-type, address, partof ---------------------------------------------------------------------

def test_identifier_type_finds_by_the_kind_of_identifier(client, world):
    rpps = client.resources("Practitioner").search(**{"identifier-type": f"{V2_0203}|RPPS"}).fetch_all()
    assert len(rpps) == len(world.professionals)
    assert client.resources("Practitioner").search(**{"identifier-type": "SIRET"}).fetch_all() == []
    with_siret = [o for o in world.organisations if o.siret]
    siret = client.resources("Organization").search(**{"identifier-type": "SIRET"}).fetch_all()
    assert len(siret) == len(with_siret)


def test_address_parameters_match_city_postal_code_and_line(client, world):
    org = world.organisations[0]
    expected = technical_id("Organization", org.finess)
    search = client.resources("Organization")
    assert expected in ids(search.search(**{"address-city": org.address.city.lower()}).fetch_all())
    assert expected in ids(search.search(**{"address-postalcode": org.address.postal_code[:2]}).fetch_all())
    assert expected in ids(search.search(address=org.address.city).fetch_all())
    assert expected in ids(search.search(**{"address-line:contains": org.address.street}).fetch_all())
    assert search.search(**{"address-city": "Nowhere-sur-Mer"}).fetch_all() == []


def test_partof_is_supported_and_the_world_has_no_legal_entity_links(client, world):
    any_org = technical_id("Organization", world.organisations[0].finess)
    assert client.resources("Organization").search(partof=any_org).fetch_all() == []
    with_include = client.resources("Organization").include("Organization", "partof").fetch_all()
    assert len(with_include) == len(world.organisations)


# -- data-information-system, HealthcareService ---------------------------------------------------------

def test_data_information_system_tells_rpps_data_from_finess_data(client, world):
    def by_system(resource_type, system):
        return client.resources(resource_type).search(**{"data-information-system": system}).fetch_all()

    assert len(by_system("Practitioner", "RPPS")) == len(world.professionals)
    assert by_system("Practitioner", "FINESS") == []
    organizations = by_system("Organization", "FINESS")
    assert len(organizations) == len(world.organisations)


def test_healthcare_service_by_category_profile_and_organization(client, world):
    org = world.organisations[0]
    category = f"{NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite|{org.facility_type}"
    services = client.resources("HealthcareService")
    by_category = ids(services.search(**{"service-category": category}).fetch_all())
    assert technical_id("HealthcareService", org.finess) in by_category
    profile = f"{IG}/as-dp-healthcareservice-healthcare-activity"
    assert len(services.search(_profile=profile).fetch_all()) == len(world.organisations)
    assert services.search(_profile=profile[:-3]).fetch_all() == []  # a uri matches exactly
    by_org = services.search(organization=technical_id("Organization", org.finess)).fetch_all()
    assert ids(by_org) == {technical_id("HealthcareService", org.finess)}
