"""`segur serve insi`: the mock as a real server process, as an editor runs it next to their product."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from segur.mocks.insi.testing import post_soap, soap_envelope, traits_body

SEGUR = Path(sys.executable).with_name("segur")


def _start(*args: str) -> tuple[subprocess.Popen, list[str]]:
    unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(SEGUR), "serve", "insi", "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=unbuffered)
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Ctrl-C"):
            return process, lines
    process.kill()
    raise AssertionError("segur serve insi did not start:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.mark.slow  # a subprocess that creates a test PKI: ~5 s
def test_serve_insi_with_tls_prints_its_endpoints_and_answers_until_interrupted(tmp_path):
    process, lines = _start("--tls", "--pki", str(tmp_path / "pki"), "--idam", "EDITEUR-1")
    try:
        base = lines[0].split(" on ", 1)[1]
        assert base.startswith("https://localhost:")
        printed = {line.split()[0]: line.split()[-1] for line in lines[1:] if line.startswith("  ")}
        assert printed["soap"] == base + "/lps" and printed["wsdl"] == base + "/lps?wsdl"
        assert "EDITEUR-1" in lines[-2]
        context = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.pem"))
        with urllib.request.urlopen(base + "/_admin/health", timeout=10, context=context) as resp:
            health = json.loads(resp.read())
        assert health["service"] == "insi" and health["endpoints"]["soap"] == base + "/lps"
        declared, other = (soap_envelope(traits_body(), idam=idam) for idam in ("EDITEUR-1", "EDITEUR-2"))
        status, _, body = post_soap(base + "/lps", declared, context=context)
        assert status == 200 and b"<CodeCR>00</CodeCR>" in body
        status, _, _ = post_soap(base + "/lps", other, context=context)
        assert status == 500
    finally:
        code = _stop(process)
    assert code == 0


def test_strict_faults_option_answers_sender_faults_with_400():
    process, lines = _start("--strict-faults")
    try:
        base = lines[0].split(" on ", 1)[1]
        with urllib.request.urlopen(base + "/_admin/health", timeout=10) as resp:
            assert json.loads(resp.read())["fault_style"] == "strict"
        status, _, _ = post_soap(base + "/lps", soap_envelope(traits_body(), idam="UNKNOWN-IDAM"))
        assert status == 400
    finally:
        assert _stop(process) == 0
