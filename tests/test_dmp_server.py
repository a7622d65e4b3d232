"""Running the DMP mock: TLS and mutual TLS with the test PKI, and `segur serve dmp` as a process."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
from dmp_helpers import ITI41, DmpCase, provide_and_register, send

from segur.fixtures.world import load_world
from segur.mocks.dmp.testing import running_dmp
from segur.pki import TestPki


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def case(pki, world):
    return DmpCase(pki, world)


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
        entry = dmp.mock.journal.entries()[-1]
        assert entry.client.get("SSL_CLIENT_S_DN_OU") == case.organisation.idnst


def test_mutual_tls_refuses_a_client_without_a_certificate_or_from_another_ca(pki, world, case):
    with running_dmp(pki=pki, world=world, tls=pki.server_tls(require_client_cert=True)) as dmp:
        for context in (client_context(pki), client_context(pki, pki.untrusted_client("organisation"))):
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                send(dmp.endpoint("patients"), "urn:segur:harness:dmp:TD0.2", case.security(), as_mtom=False,
                     context=context)
        assert dmp.mock.journal.entries() == []  # refused during the handshake: no exchange reached the mock


@pytest.mark.slow
def test_segur_serve_dmp_runs_as_a_process_and_keeps_its_data(tmp_path, pki):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "segur", "serve", "dmp", "--port", str(port), "--data", str(tmp_path / "data"),
               "--pki", str(pki.directory), "--no-validation"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Ctrl-C" in line:
                break
        assert any(f"127.0.0.1:{port}/si-dmp-server/v2/services/repository" in line for line in lines), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/health", timeout=5) as response:
            health = json.loads(response.read())
        assert health["service"] == "dmp" and health["lenient"] is False
        assert (tmp_path / "data" / "dmp.sqlite3").exists()
    finally:
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
