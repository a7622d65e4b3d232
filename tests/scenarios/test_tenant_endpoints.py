"""A tenant's endpoints: its own where a service serves tenants, the instance's (marked shared) where it
serves none — and then the tenant's proof reads that service's admin API unprefixed and never resets it."""

from __future__ import annotations

from segur.scenarios.observe import SHARED_BY_TENANTS, Admin

ENDPOINTS = {"dmp": {"admin": "http://h:1/_admin/"},
             "igc": {"admin": "http://h:2/_admin/", "crl": "http://h:2/crl", SHARED_BY_TENANTS: True}}


def test_a_tenant_s_admin_calls_carry_its_prefix_except_on_a_shared_service():
    admin = Admin(ENDPOINTS, tenant="ci-a")
    assert admin.base("dmp") == "http://h:1/t/ci-a/_admin/"
    assert admin.base("igc") == "http://h:2/_admin/"


def test_a_tenant_s_reset_leaves_a_shared_service_alone(monkeypatch):
    calls = []
    admin = Admin(ENDPOINTS, tenant="ci-a")
    monkeypatch.setattr(admin, "call", lambda service, path, method="GET", body=None: calls.append(service))
    admin.reset()
    assert calls == ["dmp"]


def test_without_a_tenant_every_service_is_reset(monkeypatch):
    calls = []
    admin = Admin(ENDPOINTS)
    monkeypatch.setattr(admin, "call", lambda service, path, method="GET", body=None: calls.append(service))
    admin.reset()
    assert calls == ["dmp", "igc"]
