"""`segur proof --tenant`: two proofs on two tenants of one shared stack (in-process) never see each other —
each evidence pack holds only its own exchanges, and the product called nothing outside its tenant."""

from __future__ import annotations

import urllib.error

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.scenarios.observe import SHARED_BY_TENANTS, Admin
from segur.scenarios.proof import run_proof
from segur.scenarios.stack import TenantStack, stack_config
from segur.up import start_stack

pytest_plugins = ["pytester"]
TENANTS = ("ci-a", "ci-b")
SERVICES = ("insi", "dmp", "mssante", "annuaire")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One stack serving tenants, as a team's shared `segur up` with `[stack] tenants = true`."""
    with start_stack(stack_config(None, tmp_path_factory.mktemp("shared-stack"), tenants=True)) as stack:
        yield stack


@pytest.fixture(scope="module")
def proofs(shared, tmp_path_factory):
    """A small proof per tenant, one after the other on the same stack (the second resets its tenant only)."""
    return {tenant: run_proof("reference-ris", "RIS", tmp_path_factory.mktemp(tenant), size="small",
                              progress=False, stack=shared, tenant=tenant) for tenant in TENANTS}


def _journals(evidence: dict) -> dict[str, list[dict]]:
    return {service: entries for service, entries in evidence["run"]["journals"].items() if entries}


@pytest.mark.slow
def test_each_tenant_s_proof_passes(proofs):
    for tenant, outcome in proofs.items():
        assert outcome.verdict == "pass", (tenant, outcome.evidence["verdict"])


def test_each_evidence_pack_holds_only_its_own_exchanges(proofs):
    first, second = (proofs[tenant].evidence for tenant in TENANTS)
    first_ended, second_started = first["run"]["ended"], second["run"]["started"]
    assert first_ended < second_started
    for service, entries in _journals(first).items():
        assert all(entry["time"] <= first_ended for entry in entries), service  # nothing of the second run
    for service, entries in _journals(second).items():
        assert all(entry["time"] >= second_started for entry in entries), service  # nothing of the first
    for evidence in (first, second):  # and each saw the whole of its own proof
        assert {"insi", "dmp", "mssante"} <= set(_journals(evidence))
        messages = [e for e in evidence["run"]["journals"]["mssante"] if e["operation"] == "smtp-message"]
        assert messages and all(e["task"] for e in messages)


def test_the_product_called_only_its_tenant_and_the_other_tenant_kept_its_journal(shared, proofs):
    default = Admin(shared.endpoints())
    for service in SERVICES:
        # nothing reached the default tenant but IMAP STARTTLS, journalled before the login names the tenant
        reached = [e for e in default.journal(service) if e["operation"] != "imap-starttls"]
        assert reached == [], service
    first = proofs[TENANTS[0]].evidence
    kept = Admin(shared.endpoints(), tenant=TENANTS[0])
    for service, entries in _journals(first).items():  # the second proof's reset left the first tenant's
        if service not in SERVICES:
            continue  # a service serving no tenants (the test PKI's igc) is shared, its journal too
        assert [e["seq"] for e in kept.journal(service)] == [e["seq"] for e in entries], service
    assert set(_journals(first)) >= set(SERVICES)


def test_a_tenant_s_endpoints_carry_its_prefix_and_its_mail_login(shared, proofs):
    services = proofs["ci-b"].evidence["run"]["services"]
    assert services["dmp"]["admin"].endswith("/t/ci-b/_admin/")
    assert all("/t/ci-b/" in url for url in services["dmp"].values() if isinstance(url, str)
               and url.startswith("http"))
    assert services["mssante"]["tenant"] == "ci-b"
    assert services["mssante"]["admin"].endswith("/t/ci-b/_admin/")
    own = TenantStack(shared, "ci-b").endpoints()
    for service in ("pam", "igc"):  # MLLP and the one test PKI serve no tenants: every tenant shares them
        assert own[service][SHARED_BY_TENANTS] is True
        assert "/t/ci-b/" not in own[service]["admin"]


@pytest.mark.parametrize("tenant", ["CI", "a_b", "-x"])
def test_the_cli_refuses_a_tenant_that_is_not_a_name(tenant):
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--tenant", tenant])
    assert result.exit_code == 2 and "not a tenant name" in " ".join(result.output.split())


TENANT_SCENARIO = '''
def test_the_endpoints_are_the_tenant_s(segur_endpoints):
    assert segur_endpoints["dmp"]["repository"].split("/")[3:5] == ["t", "ci-p"]
    assert segur_endpoints["mssante"]["tenant"] == "ci-p"
'''


def test_the_pytest_plugin_s_tenant_option_gives_the_tenant_s_endpoints(pytester, monkeypatch):
    monkeypatch.delenv("SEGUR_TENANT", raising=False)
    pytester.makepyfile(test_tenant=TENANT_SCENARIO)
    result = pytester.runpytest("-p", "no:cacheprovider", "--segur-tenant", "ci-p")
    result.assert_outcomes(passed=1)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A shared stack whose admin API needs the admin token (`[stack] admin_token`)."""
    config = stack_config(None, tmp_path_factory.mktemp("guarded-stack"), tenants=True)
    config["stack"]["admin_token"] = "s3cret"
    with start_stack(config) as stack:
        yield stack


def test_the_proof_s_admin_calls_carry_the_admin_token_of_the_environment(guarded, monkeypatch, tmp_path):
    monkeypatch.delenv("SEGUR_ADMIN_TOKEN", raising=False)
    with pytest.raises(urllib.error.HTTPError) as refused:
        Admin(guarded.endpoints()).health("mssante")
    assert refused.value.code == 401
    monkeypatch.setenv("SEGUR_ADMIN_TOKEN", "s3cret")
    assert Admin(guarded.endpoints(), tenant="ci-t").health("mssante")["endpoints"]["tenant"] == "ci-t"
    outcome = run_proof("reference-ris", "RIS", tmp_path / "evidence", size="small", progress=False,
                        stack=guarded, tenant="ci-t")
    assert outcome.verdict == "pass", outcome.evidence["verdict"]
    assert Admin(guarded.endpoints(), tenant="ci-t").journal("dmp") != []
