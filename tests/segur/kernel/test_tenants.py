"""Tenants of a shared service see only their own exchanges, faults and state; the admin token guards
the admin API of a shared instance and never the product's wire."""

from __future__ import annotations

import pytest
import requests
from test_service_shape import EchoConfig, EchoService  # the kernel's own test service

from segur.kernel.config import StackConfig
from segur.kernel.service import StackContext
from segur.kernel.tenants import split_login, tenant_login


@pytest.fixture
def shared(tmp_path):
    context = StackContext(StackConfig(data=str(tmp_path), pki=str(tmp_path / "pki"), tenants=True,
                                       admin_token="s3cret"))
    with EchoService(EchoConfig(port=0), context) as service:
        yield service


ADMIN = {"Authorization": "Bearer s3cret"}


def _journal(base: str, headers=None) -> list[dict]:
    answer = requests.get(base + "/_admin/journal", headers={**ADMIN, **(headers or {})}, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def test_each_tenant_journals_only_its_own_exchanges(shared):
    base = shared.base_url
    requests.get(base + "/t/ci-42/echo", timeout=5)
    requests.get(base + "/echo", headers={"X-Segur-Tenant": "alice"}, timeout=5)
    requests.get(base + "/echo", headers={"X-Segur-Tenant": "alice"}, timeout=5)
    assert len(_journal(base + "/t/ci-42")) == 1
    assert len(_journal(base, {"X-Segur-Tenant": "alice"})) == 2
    assert _journal(base) == []
    tenants = requests.get(base + "/_admin/tenants", headers=ADMIN, timeout=5).json()["tenants"]
    assert tenants == ["alice", "ci-42"]


def test_a_tenant_s_faults_and_reset_stay_its_own(shared):
    base = shared.base_url
    faults = base + "/t/ci-42/_admin/faults"
    answer = requests.post(faults, json={"kind": "http_error"}, headers=ADMIN, timeout=5)
    assert answer.status_code == 201
    assert requests.get(base + "/t/alice/_admin/faults", headers=ADMIN, timeout=5).json()["faults"] == []
    requests.get(base + "/t/alice/echo", timeout=5)
    requests.post(base + "/t/ci-42/_admin/reset", headers=ADMIN, timeout=5)
    assert len(_journal(base + "/t/alice")) == 1


def test_a_tenant_s_endpoints_carry_its_prefix(shared):
    health = requests.get(shared.base_url + "/t/ci-42/_admin/health", headers=ADMIN, timeout=5).json()
    assert health["endpoints"]["echo"] == shared.base_url + "/t/ci-42/echo"
    assert requests.get(health["endpoints"]["echo"], timeout=5).json()["text"] == "bonjour"


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                             ({"Authorization": "s3cret"}, 401), (ADMIN, 200)])
def test_the_admin_api_of_a_shared_instance_needs_the_token(shared, headers, status):
    answer = requests.get(shared.base_url + "/t/ci-42/_admin/journal", headers=headers, timeout=5)
    assert answer.status_code == status
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(shared.base_url + "/t/ci-42/echo", timeout=5).status_code == 200  # the wire is open


@pytest.mark.parametrize("tenant", ["CI", "-x", "a" * 64, "a_b", "caf%C3%A9"])
def test_a_tenant_that_is_not_a_name_is_refused(shared, tenant):
    answer = requests.get(f"{shared.base_url}/t/{tenant}/echo", timeout=5)
    assert answer.status_code == 400 and "not a name" in answer.json()["error"]


def test_an_instance_without_tenants_refuses_a_tenant_and_serves_the_default(tmp_path):
    with EchoService(EchoConfig(port=0), StackContext.for_tests(tmp_path)) as service:
        assert requests.get(service.base_url + "/echo", headers={"X-Segur-Tenant": "ci-42"}, timeout=5) \
            .status_code == 200  # no router at all: the header means nothing to a single-user instance
    context = StackContext(StackConfig(data=str(tmp_path), pki=str(tmp_path / "pki"), admin_token="t"))
    with EchoService(EchoConfig(port=0), context) as service:
        answer = requests.get(service.base_url + "/t/ci-42/echo", timeout=5)
        assert answer.status_code == 404 and "no tenants" in answer.json()["error"]


@pytest.mark.parametrize("login, expected", [
    ("dr.martin+ci-42@hopital.mssante.fr", ("dr.martin@hopital.mssante.fr", "ci-42")),
    ("dr+martin+ci-42@hopital.mssante.fr", ("dr+martin@hopital.mssante.fr", "ci-42")),  # the last tag
    ("dr.martin@hopital.mssante.fr", ("dr.martin@hopital.mssante.fr", "")),
    ("dr.martin+CI@hopital.mssante.fr", ("dr.martin+CI@hopital.mssante.fr", "")),  # not a tenant name
    ("+ci-42@hopital.mssante.fr", ("+ci-42@hopital.mssante.fr", "")),  # no mailbox left
    ("dr.martin+ci-42", ("dr.martin+ci-42", "")),  # not an address
    ("", ("", "")),
])
def test_a_mail_login_names_its_tenant_by_its_last_plus_tag(login, expected):
    assert split_login(login) == expected


def test_the_login_of_a_mailbox_in_a_tenant_is_its_tagged_address():
    assert tenant_login("dr.martin@hopital.mssante.fr", "ci-42") == "dr.martin+ci-42@hopital.mssante.fr"
    assert tenant_login("dr.martin@hopital.mssante.fr", "") == "dr.martin@hopital.mssante.fr"
    assert split_login(tenant_login("dr.martin@hopital.mssante.fr", "ci-42"))[1] == "ci-42"
