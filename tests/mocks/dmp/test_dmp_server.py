"""Running the DMP mock: TLS and mutual TLS with the test PKI, and `segur serve dmp` as a process."""

from __future__ import annotations

import json
import signal
import ssl
import urllib.request

import pytest
import typer
from dmp_helpers import ITI41, provide_and_register, send, served_dmp
from typer.testing import CliRunner

from segur import serve_cli
from segur.cli import app
from segur.mocks.dmp import responses
from segur.mocks.dmp.service import DEFAULT_MAX_DOCUMENT_SIZE, DmpConfig, DmpService
from segur.mocks.dmp.testing import running_dmp
from segur.mocks.dmp.vihf import verify_vihf
from segur.serve_cli import serve_command
from segur.up import DEFAULTS, load_config
from segur.validators import safe_xml


def client_context(pki, cert=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    if cert is not None:
        context.load_cert_chain(str(cert.cert_file), str(cert.key_file))
    return context


def test_iti41_over_mutual_tls_with_the_structure_certificate(pki, world, case):
    with running_dmp(pki=pki, world=world, tls=pki.server_tls(require_client_cert=True)) as dmp:
        assert dmp.url.startswith("https://")
        request, by_id = case.submission([case.cda()])
        body, parts = provide_and_register(request, by_id)
        answer = send(dmp.endpoint("repository"), ITI41, body, case.security(), parts,
                      context=client_context(pki, case.signer))
        assert answer.registry_status == "Success", answer.error_contexts
        entry = dmp.journal.entries()[-1]
        assert entry.client.get("SSL_CLIENT_S_DN_OU") == case.organisation.idnst


def test_mutual_tls_refuses_a_client_without_a_certificate_or_from_another_ca(pki, world, case):
    with running_dmp(pki=pki, world=world, tls=pki.server_tls(require_client_cert=True)) as dmp:
        for context in (client_context(pki), client_context(pki, pki.untrusted_client("organisation"))):
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                send(dmp.endpoint("patients"), "urn:segur:harness:dmp:TD0.2", case.security(), as_mtom=False,
                     context=context)
        assert dmp.journal.entries() == []  # refused during the handshake: no exchange reached the mock


@pytest.mark.slow
def test_segur_serve_dmp_runs_as_a_process_and_keeps_its_data(tmp_path, pki):
    with served_dmp(tmp_path / "data", pki, "--no-validation") as (process, port, lines):
        assert any(f"127.0.0.1:{port}/si-dmp-server/v2/services/repository" in line for line in lines), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/health", timeout=5) as response:
            health = json.loads(response.read())
        assert health["service"] == "dmp" and health["lenient"] is False
        assert (tmp_path / "data" / "dmp.sqlite3").exists()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


@pytest.mark.slow
def test_validation_in_worker_processes_gives_the_same_verdicts(pki, world, case):
    with running_dmp(pki=pki, world=world, validation_workers=1, validator_pack=False) as dmp:
        good = case.iti41(dmp.endpoint("repository"))
        assert good.registry_status == "Success", good.error_contexts
        bad = case.iti41(dmp.endpoint("repository"), [case.cda(pdf_bytes=b"not a PDF")])
        assert bad.registry_status == "Failure" and "XDSRepositoryError" in bad.error_codes
        [entries] = dmp.backend.documents_by_patient().values()
        assert entries[0]["validation"]["valid"] is True


# --- the per-document size limit ---------------------------------------------------------------------
def _hinted_options(answer) -> set[str]:
    import re

    return set(re.findall(r"--[a-z][a-z-]+", " ".join(answer.error_contexts)))


def test_a_document_over_the_per_document_limit_is_said_too_large_not_unreadable(pki, world, case):
    document = case.cda()
    limit = len(document) - 1
    with running_dmp(pki=pki, world=world, max_document_size=limit) as dmp:
        answer = case.iti41(dmp.endpoint("repository"), [document])
        stored = dmp.backend.store.counts()["documents"]
    assert stored == 0
    assert answer.registry_status == "Failure"
    assert answer.rules() == ["XDS-41-016"], answer.error_contexts
    assert answer.error_codes == ["XDSRepositoryError"]
    [context] = answer.error_contexts
    assert f"larger than {limit / 2**20:g} MiB ({limit} bytes)" in context and "readable" not in context
    locations = [e.get("location") for e in answer.findall(".//rs:RegistryError")]
    assert locations == ["Document[@id='Document01']"]
    assert _hinted_options(answer) == {"--max-document-size"}


def test_a_document_at_the_limit_is_read_and_judged(pki, world, case):
    document = case.cda()
    with running_dmp(pki=pki, world=world, max_document_size=len(document)) as dmp:
        answer = case.iti41(dmp.endpoint("repository"), [document])
    assert answer.registry_status == "Success", answer.error_contexts


def test_the_options_the_size_hint_names_exist(tmp_path):
    result = CliRunner().invoke(app, ["serve", "dmp", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0 and "--max-document-size" in result.output
    assert load_config(overrides={"dmp": {"max_document_size": 1024}})["dmp"]["max_document_size"] == 1024


def test_one_default_per_document_limit_everywhere():
    assert DmpConfig().max_document_size == DEFAULT_MAX_DOCUMENT_SIZE == safe_xml.DEFAULT_MAX_SIZE
    assert DEFAULTS["dmp"]["max_document_size"] == DEFAULT_MAX_DOCUMENT_SIZE


# --- a refused VIHF as a SOAP fault (vihf_errors="soap-fault") ---------------------------------------
def _subcode(answer) -> str | None:
    element = answer.find(".//soap:Fault/soap:Code/soap:Subcode/soap:Value")
    return element.text if element is not None else None


def test_by_default_a_missing_vihf_is_a_registry_error_not_a_fault(pki, world, case):
    with running_dmp(pki=pki, world=world) as dmp:
        answer = case.iti41(dmp.endpoint("repository"), security=None)
    assert answer.status == 200 and answer.fault_code is None
    assert answer.registry_status == "Failure" and answer.rules() == ["VIHF-001"]


def test_soap_fault_style_answers_a_missing_vihf_with_wsse_invalid_security(pki, world, case):
    with running_dmp(pki=pki, world=world, vihf_errors="soap-fault") as dmp:
        answer = case.iti41(dmp.endpoint("repository"), security=None)
        journalled = dmp.journal.entries(operation="ITI-41")[-1]
        stored = dmp.backend.store.counts()["documents"]
    assert answer.status == 400 and answer.registry_status is None
    assert answer.fault_code == "soap:Sender" and _subcode(answer) == "wsse:InvalidSecurity"
    assert answer.fault_reason.startswith("[VIHF-001] No VIHF")
    assert journalled.verdict == "rejected" and journalled.rules == ["VIHF-001"] and stored == 0


def test_soap_fault_style_answers_an_untrusted_signer_with_wsse_failed_authentication(pki, world, case):
    from segur.mocks.dmp.client.vihf import build_vihf, security_header

    untrusted = security_header(build_vihf(case.identity(structure_id="10B0000001"),
                                           pki.untrusted_client("organisation")))
    with running_dmp(pki=pki, world=world, vihf_errors="soap-fault") as dmp:
        answer = case.find_documents(dmp.endpoint("registry"), security=untrusted)
    assert answer.status == 400 and _subcode(answer) == "wsse:FailedAuthentication"
    assert answer.fault_reason.startswith("[VIHF-005]")


def test_soap_fault_style_verifies_a_good_vihf_once_and_answers_as_usual(pki, world, case, monkeypatch):
    calls = []

    def counting(security, context):
        calls.append(1)
        return verify_vihf(security, context)

    monkeypatch.setattr(responses, "verify_vihf", counting)
    with running_dmp(pki=pki, world=world, vihf_errors="soap-fault") as dmp:
        answer = case.iti41(dmp.endpoint("repository"))
    assert answer.registry_status == "Success", answer.error_contexts
    assert len(calls) == 1


def test_an_unknown_vihf_error_style_is_refused_at_start():
    with pytest.raises(ValueError, match="soap-fault"):
        DmpService(DmpConfig(vihf_errors="fault"))


def test_the_vihf_error_style_is_an_option_of_serve_and_of_up():
    result = CliRunner().invoke(app, ["serve", "dmp", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0 and "--vihf-errors" in result.output
    assert load_config(overrides={"dmp": {"vihf_errors": "soap-fault"}})["dmp"]["vihf_errors"] == "soap-fault"


def test_serve_and_up_know_the_same_settings_and_the_options_users_know():
    result = CliRunner().invoke(app, ["serve", "dmp", "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for option in ("--data", "--lenient", "--no-validation", "--max-body", "--power-safe", "--fast-commit",
                   "--validation-workers", "--production-oids", "--vihf-errors", "--pki", "--pack", "--host"):
        assert option in result.output, option
    every = {"max_body": 1024, "power_safe": True, "validation_workers": 2, "production_oids": True,
             "data": "elsewhere", "require_vihf": False, "authorisation_days": 30}
    assert {k: load_config(overrides={"dmp": every})["dmp"][k] for k in every} == every


def test_fast_commit_is_the_default_durability(tmp_path):
    command = serve_command(DmpService)
    seen = {}

    def fake_run(service, on_ready):
        seen["power_safe"] = service.config.power_safe

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serve_cli, "run_until_interrupted", fake_run)
        serve = typer.Typer()
        serve.command("dmp")(command)
        result = CliRunner().invoke(serve, ["--power-safe", "--fast-commit", "--data", str(tmp_path),
                                            "--pki", str(tmp_path / "pki")])
    assert result.exit_code == 0, result.output
    assert seen == {"power_safe": False}
