"""The MSSanté operator presenting the revoked server certificate (`mocks/igc/relay.py`): a client that checks
the CRL cannot talk through it, one that does not is carried to MSSanté, and every connection is journalled
with what the client did."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import time

import pytest
import requests

from segur.kernel.service import StackContext
from segur.mocks.igc.service import IgcConfig, IgcService
from segur.mocks.igc.testing import running_igc
from segur.mocks.mssante.testing import mss_message, running_mssante

SENDER = "jacques.bideault@radiologie-ambroise.mssante.fr"
RECIPIENT = "virginie.leroux@radiologie-ambroise.mssante.fr"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("igc-relay")
    with running_mssante(pki_dir=data / "pki") as mss:
        smtp = mss.mock.endpoints()["smtp"]
        with running_igc(data, revoked_smtp_relay=f"{smtp['host']}:{smtp['port']}") as igc:
            yield igc, mss


def _context(igc, crl_file=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(igc.authority.pki.ca_file))
    if crl_file is not None:  # OpenSSL reads a CRL from a PEM file (cadata takes certificates only)
        crl_file.write_bytes(requests.get(igc.endpoints()["crl_pem"], timeout=5).content)
        context.load_verify_locations(cafile=str(crl_file))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def _sessions(igc, since: int) -> list[dict]:
    """The journal's session entries after `since`, waiting for the one being closed."""
    for _ in range(100):
        entries = requests.get(f"{igc.base_url}/_admin/journal?since={since}", timeout=5).json()["entries"]
        sessions = [e for e in entries if e["operation"] == "revoked-smtp-session"]
        if sessions:
            return entries
        time.sleep(0.05)
    raise AssertionError("no session journalled")


def _last_seq(igc) -> int:
    entries = requests.get(f"{igc.base_url}/_admin/journal?limit=1", timeout=5).json()["entries"]
    return entries[-1]["seq"] if entries else 0


def test_a_client_checking_the_crl_refuses_the_handshake_and_the_relay_journals_it(stack, tmp_path):
    igc, mss = stack
    endpoint = igc.endpoints()["revoked_smtp"]
    since = _last_seq(igc)
    with smtplib.SMTP(endpoint["host"], endpoint["port"], timeout=5) as smtp:
        smtp.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
            smtp.starttls(context=_context(igc, tmp_path / "ca.crl.pem"))
    entries = _sessions(igc, since)
    connect = next(e for e in entries if e["operation"] == "revoked-smtp-connect")
    session = next(e for e in entries if e["operation"] == "revoked-smtp-session")
    assert session["verdict"] == "refused-by-client"
    assert session["meta"]["connection"] == connect["meta"]["connection"]
    assert session["request"]["commands"] == ["EHLO", "STARTTLS"]
    assert "revoked" in session["response"]["tls_error"].lower()
    assert session["meta"]["serial"] == endpoint["serial"]


def test_a_client_ignoring_revocation_is_carried_to_mssante_and_its_message_delivered(stack):
    igc, mss = stack
    endpoint = igc.endpoints()["revoked_smtp"]
    since = _last_seq(igc)
    with smtplib.SMTP(endpoint["host"], endpoint["port"], timeout=10) as smtp:
        smtp.ehlo()
        smtp.starttls(context=_context(igc))
        smtp.ehlo()
        smtp.login(SENDER, mss.password)
        smtp.send_message(mss_message(SENDER, RECIPIENT, []), from_addr=SENDER, to_addrs=[RECIPIENT])
    session = next(e for e in _sessions(igc, since) if e["operation"] == "revoked-smtp-session")
    assert session["verdict"] == "continued" and session["request"]["client_bytes_after_tls"] > 100
    assert session["response"]["relayed_to"].endswith(str(mss.mock.endpoints()["smtp"]["port"]))
    messages = [e for e in mss.journal.entries() if e.operation == "smtp-message"]
    assert messages and RECIPIENT in messages[-1].response["delivered_to"]


@pytest.mark.parametrize("lines, reply", [
    (b"MAIL FROM:<a@b.fr>\r\n", b"530 5.7.0"),
    (b"X" * 1200, b"500 5.5.2"),
])
def test_commands_before_starttls_are_refused_and_the_relay_keeps_serving(stack, lines, reply):
    igc, _ = stack
    endpoint = igc.endpoints()["revoked_smtp"]
    with socket.create_connection((endpoint["host"], endpoint["port"]), timeout=5) as raw:
        assert raw.recv(1024).startswith(b"220 ")
        raw.sendall(lines)
        answer = b""
        while b"\r\n" not in answer:
            answer += raw.recv(1024)
        assert answer.startswith(reply)
    with smtplib.SMTP(endpoint["host"], endpoint["port"], timeout=5) as smtp:
        assert smtp.ehlo()[0] == 250 and smtp.has_extn("starttls")


def test_the_endpoint_is_in_the_services_endpoints(stack):
    igc, _ = stack
    endpoint = igc.endpoints()["revoked_smtp"]
    assert endpoint["starttls"] and endpoint["port"] and endpoint["url"].startswith("smtp://")


def test_bytes_that_are_no_tls_handshake_after_starttls_end_that_session_only(stack):
    igc, _ = stack
    endpoint = igc.endpoints()["revoked_smtp"]
    since = _last_seq(igc)
    with socket.create_connection((endpoint["host"], endpoint["port"]), timeout=5) as raw:
        raw.recv(1024)
        raw.sendall(b"STARTTLS\r\n")
        assert raw.recv(1024).startswith(b"220 ")
        raw.sendall(b"this is not a TLS ClientHello\r\n" * 4)
        with contextlib.suppress(ConnectionResetError):
            raw.recv(1024)  # an alert, or the connection closed (reset)
    session = next(e for e in _sessions(igc, since) if e["operation"] == "revoked-smtp-session")
    assert session["verdict"] == "refused-by-client" and session["response"]["tls_error"]
    with smtplib.SMTP(endpoint["host"], endpoint["port"], timeout=5) as smtp:
        assert smtp.ehlo()[0] == 250


def test_a_taken_smtp_port_stops_the_service_from_starting_and_frees_its_http_port(stack, tmp_path):
    igc, _ = stack
    taken = igc.endpoints()["revoked_smtp"]["port"]
    service = IgcService(IgcConfig(port=0, revoked_smtp_port=taken), StackContext.for_tests(tmp_path))
    with pytest.raises(OSError):
        service.start()
    assert service.server is None and service.relay is None
