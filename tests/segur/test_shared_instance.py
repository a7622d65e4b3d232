"""A shared team instance: one DMP, two tenants (a CI pipeline, a tester), each seeing only its own
documents and journal; the admin API behind the admin token."""

from __future__ import annotations

import pytest
import requests

from segur.fixtures.documents import build_cr_img_n1, read_ids
from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, DmpClient
from segur.up import free_port_overrides, load_config, start_stack

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
ADMIN = {"Authorization": "Bearer team-token"}


@pytest.fixture(scope="module")
def shared_dmp(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    off = {"enabled": False}
    overrides = free_port_overrides()
    overrides.update({"stack": {"data": str(root / "data"), "pki": str(root / "pki"), "tenants": True,
                                "admin_token": "team-token"},
                      "igc": off, "annuaire": off, "insi": off, "mssante": off})
    overrides["dmp"]["validation"] = False
    with start_stack(load_config(overrides=overrides)) as stack:
        yield stack.services["dmp"], TestPki(root / "pki")


def _client(base_url: str, pki: TestPki) -> tuple[DmpClient, object, object]:
    world = load_world()
    radiologist = next(p for p in world.professionals if p.organisation == "750803447")
    organisation = world.organisation_of(radiologist)
    caller = CallerIdentity.of(radiologist, organisation)
    return DmpClient.for_mock(base_url, pki=pki, caller=caller), radiologist, organisation


def test_a_document_sent_by_one_tenant_is_not_seen_by_another(shared_dmp):
    dmp, pki = shared_dmp
    ci, radiologist, organisation = _client(dmp.base_url + "/t/ci-42", pki)
    tester, _, _ = _client(dmp.base_url + "/t/alice", pki)
    patient = next(p for p in load_world().patients if p.has_dmp and not p.dmp_closed and not p.dmp_opposed)
    document = build_cr_img_n1(patient, radiologist, organisation)
    assert ci.provide_and_register(document).ok

    ci.td03(patient.ins_object)
    tester.td03(patient.ins_object)
    unique_id = read_ids(document).id
    assert unique_id in [e.unique_id for e in ci.find_documents(patient.ins_object).entries]
    assert unique_id not in [e.unique_id for e in tester.find_documents(patient.ins_object).entries]

    def operations(tenant):
        answer = requests.get(f"{dmp.base_url}/t/{tenant}/_admin/journal", headers=ADMIN, timeout=5)
        return [e["operation"] for e in answer.json()["entries"]]

    assert "ITI-41" in operations("ci-42") and "ITI-41" not in operations("alice")


def test_the_shared_instance_admin_api_needs_the_token(shared_dmp):
    dmp, _pki = shared_dmp
    assert requests.get(dmp.base_url + "/t/ci-42/_admin/health", timeout=5).status_code == 401
    assert requests.get(dmp.base_url + "/t/ci-42/_admin/health", headers=ADMIN, timeout=5).status_code == 200
