"""The console on a shared instance (segur.kernel.tenants): it reads the services with the stack's admin
token, and a tenant's console (`/t/<tenant>/`) shows that tenant's exchanges only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from segur.console.peers import tenant_admin_url
from segur.mocks.insi.testing import soap_envelope, traits_body
from segur.up import free_port_overrides, load_config, start_stack

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
ADMIN_TOKEN = "shared-admin-token"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("console-tenants")
    overrides = free_port_overrides()
    overrides["stack"] = {"pki": str(scratch / "pki"), "data": str(scratch / "data"), "tenants": True,
                          "admin_token": ADMIN_TOKEN}
    with start_stack(load_config(overrides=overrides)) as stack:
        yield stack


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _search(soap_url: str, birth_name: str) -> None:
    body = soap_envelope(traits_body(birth_name=birth_name))
    call = urllib.request.Request(soap_url, data=body, method="POST",
                                  headers={"Content-Type": "application/soap+xml; charset=UTF-8"})
    try:
        urllib.request.urlopen(call, timeout=10).read()
    except urllib.error.HTTPError as exc:
        exc.read()


def test_a_tenants_admin_url_carries_its_prefix():
    assert tenant_admin_url("http://127.0.0.1:8302/_admin/", "ci-1") == "http://127.0.0.1:8302/t/ci-1/_admin/"


def test_the_console_reads_the_services_with_the_stacks_admin_token(shared):
    base = shared.endpoints()["console"]["console"]
    _search(shared.endpoints()["insi"]["soap"], "DEFAULTTENANT")
    status, body = _get(base + "api/activity?service=insi")
    rows = json.loads(body)["rows"]
    assert status == 200 and json.loads(body)["down"] == {} and rows
    status, page = _get(base + "faults")
    assert status == 200 and "not reachable" not in page and "refused" not in page


def test_a_tenants_console_shows_that_tenants_exchanges_only(shared):
    base = shared.endpoints()["console"]["console"].rstrip("/")
    soap = shared.endpoints()["insi"]["soap"]
    tenant_soap = soap.replace("/lps", "/t/ci-7/lps")
    _search(tenant_soap, "ADRTROIS")
    status, body = _get(base + "/t/ci-7/api/activity?service=insi")
    tenant_rows = json.loads(body)["rows"]
    assert status == 200 and len(tenant_rows) == 1
    default_rows = json.loads(_get(base + "/api/activity?service=insi")[1])["rows"]
    assert all(row["time"] != tenant_rows[0]["time"] for row in default_rows)
    status, page = _get(base + "/t/ci-7/activity")
    assert status == 200 and 'href="/t/ci-7/activity/insi/1"' in page and 'data-root="/t/ci-7"' in page
