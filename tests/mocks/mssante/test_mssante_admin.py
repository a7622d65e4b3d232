"""The MSSanté mock's admin API and its command line: health, journal, mailboxes, messages, faults, reset."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2, mock_fixtures
from typer.testing import CliRunner

from segur.cli import app as cli_app
from segur.mocks.mssante.testing import mss_message

mss, clean = mock_fixtures()


def call(mss, path, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(mss.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def send(mss, message):
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as client:
        client.starttls(context=mss.client_context())
        client.login(PRO, mss.password)
        client.send_message(message)


def test_health_lists_every_endpoint_a_client_needs(mss):
    status, body = call(mss, "/_admin/health")
    assert status == 200 and body["service"] == "mssante" and body["status"] == "ok"
    endpoints = body["endpoints"]
    assert endpoints["smtp"]["port"] == mss.smtp_port and endpoints["imap"]["port"] == mss.imap_port
    assert endpoints["smtp"]["starttls"] is True and endpoints["tls"] == "starttls"
    assert endpoints["admin"] == mss.url + "/_admin/"
    assert endpoints["ca_file"].endswith("ca.pem")
    assert body["size_limit"] == 25 * 1024 * 1024 and body["credentials"]["default_password"] == mss.password


def test_mailboxes_lists_the_world_and_the_messages_with_their_checks_and_documents(mss, cda_pack):
    cda = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()
    send(mss, mss_message(PRO, PRO2, [cda], nil="12a"))
    status, body = call(mss, "/_admin/mailboxes")
    assert status == 200 and len(body["mailboxes"]) == len(mss.backend.world.mailboxes)
    status, body = call(mss, "/_admin/mailboxes?nonempty=1")
    assert [b["address"] for b in body["mailboxes"]] == [PRO2]
    status, body = call(mss, f"/_admin/mailboxes/{PRO2}")
    (message,) = body["messages"]
    assert message["verdict"] == "fail" and message["rules"] == ["MSS-NIL-FORMAT"]
    assert message["findings"][0]["location"] == "header X-MSS-NIL"
    document = message["documents"][0]
    assert document["metadata"]["type_code"] == "18748-4" and "content" not in document
    status, body = call(mss, f"/_admin/mailboxes/{PRO2}?content=1&raw=1")
    assert body["messages"][0]["documents"][0]["content"].startswith("<?xml")
    raw = body["messages"][0]["raw"]
    assert raw.startswith(f"Return-Path: <{PRO}>\r\nReceived: from ")
    assert "\r\nX-Segur-Verdict: fail\r\n" in raw
    status, one = call(mss, f"/_admin/messages/{message['id']}")
    assert status == 200 and one["copies"][0]["mailbox"] == PRO2


def test_unknown_mailbox_and_message_are_404(mss):
    assert call(mss, "/_admin/mailboxes/nobody@x.mssante.fr")[0] == 404
    assert call(mss, "/_admin/messages/MSS-999999")[0] == 404


def get_raw(mss, path):
    """(status, content type, body bytes) of a GET on the admin API."""
    try:
        with urllib.request.urlopen(mss.url + path, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_message_raw_gives_the_stored_bytes_whole_even_for_a_3_mb_message(mss):
    filler = "".join(f"ligne {n:07d} du compte rendu de test\n" for n in range(90_000))  # ~3.2 MB
    send(mss, mss_message(PRO, PRO2, body=filler))
    (stored,) = mss.backend.messages(PRO2, with_raw=True)
    status, content_type, raw = get_raw(mss, f"/_admin/messages/{stored.id}/raw")
    assert status == 200 and content_type == "message/rfc822"
    assert len(raw) > 3_000_000 and raw == stored.raw
    assert raw.startswith(f"Return-Path: <{PRO}>\r\n".encode()) and b"ligne 0089999 du compte rendu" in raw


def test_message_raw_of_an_unknown_id_or_mailbox_is_a_json_404(mss):
    status, content_type, body = get_raw(mss, "/_admin/messages/MSS-999999/raw")
    assert status == 404 and content_type == "application/json"
    assert json.loads(body)["error"] == "no message MSS-999999"
    send(mss, mss_message(PRO, PRO2))
    (stored,) = mss.backend.messages(PRO2)
    status, _, body = get_raw(mss, f"/_admin/messages/{stored.id}/raw?mailbox={PRO}")
    assert status == 404 and PRO in json.loads(body)["error"]


def test_message_raw_picks_the_copy_of_the_mailbox_asked_else_the_first_delivered(mss):
    store = mss.backend.store
    store.add_copies([(PRO2, "MSS-777777", "message", {}, b"copy for PRO2\r\n"),
                      (PRO, "MSS-777777", "message", {}, b"copy for PRO\r\n")])
    assert get_raw(mss, "/_admin/messages/MSS-777777/raw")[2] == b"copy for PRO2\r\n"
    assert get_raw(mss, f"/_admin/messages/MSS-777777/raw?mailbox={PRO.upper()}")[2] == b"copy for PRO\r\n"
    assert get_raw(mss, f"/_admin/messages/MSS-777777/raw?mailbox={PRO2}")[2] == b"copy for PRO2\r\n"


def test_journal_has_the_session_and_the_message_with_verdict_and_rules(mss):
    send(mss, mss_message(PRO, PRO2, nil=None))
    deadline = time.monotonic() + 5
    while True:
        entries = call(mss, "/_admin/journal")[1]["entries"]
        if any(e["operation"] == "smtp-session" for e in entries) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    message = next(e for e in entries if e["operation"] == "smtp-message")
    assert message["verdict"] == "nonconformant" and message["rules"] == ["MSS-NIL-MISSING"]
    assert message["request"]["to"] == [PRO2] and message["response"]["reply"].startswith("250 2.0.0")
    session = next(e for e in entries if e["operation"] == "smtp-session")
    assert session["client"]["login"] == PRO and session["client"]["tls"]["version"].startswith("TLSv1.")
    assert message["meta"]["id"] in session["meta"]["messages"]


@pytest.mark.parametrize(("spec", "text"), [
    ({"kind": "smtp_reply", "operation": "helo"}, "SMTP stage"),
    ({"kind": "smtp_reply", "code": 250}, "SMTP reply code"),
    ({"kind": "teapot"}, "unknown fault kind"),
])
def test_bad_fault_specifications_are_refused(mss, spec, text):
    status, body = call(mss, "/_admin/faults", "POST", spec)
    assert status == 400 and text in body["error"]


def test_faults_default_to_the_data_stage_and_can_be_listed_and_cleared(mss):
    status, body = call(mss, "/_admin/faults", "POST", {"kind": "smtp_reply", "count": 3})
    assert status == 201 and body["added"][0]["operation"] == "data"
    assert call(mss, "/_admin/faults", "POST", {"kind": "tls_off"})[1]["added"][0]["operation"] == "connect"
    assert len(call(mss, "/_admin/faults")[1]["faults"]) == 2
    assert "smtp_reply" in call(mss, "/_admin/faults")[1]["kinds"]
    call(mss, "/_admin/faults", "DELETE")
    assert call(mss, "/_admin/faults")[1]["faults"] == []


def test_reset_empties_mailboxes_journal_and_faults(mss):
    send(mss, mss_message(PRO, PRO2))
    call(mss, "/_admin/faults", "POST", {"kind": "latency", "ms": 1})
    assert call(mss, "/_admin/reset", "POST", {})[0] == 200
    assert call(mss, "/_admin/mailboxes?nonempty=1")[1]["mailboxes"] == []
    assert call(mss, "/_admin/faults")[1]["faults"] == []


def test_rules_command_lists_the_mss_rules():
    result = CliRunner().invoke(cli_app, ["rules", "--json"])
    assert result.exit_code == 0
    ids = {r["id"] for r in json.loads(result.output)}
    assert {"MSS-RCPT-UNKNOWN", "MSS-XDM-HASH", "MSS-SUBJECT-FORMAT"} <= ids


def test_serve_mssante_help_shows_the_ports():
    result = CliRunner().invoke(cli_app, ["serve", "mssante", "--help"])
    assert result.exit_code == 0
    for option in ("--smtp-port", "--imap-port", "--port", "--mtls", "--pki"):
        assert option in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_segur_serve_mssante_runs_as_a_server_and_stops_on_sigint(tmp_path):
    ports = [_free_port() for _ in range(3)]
    command = [sys.executable, "-m", "segur", "serve", "mssante", "--smtp-port", str(ports[0]), "--imap-port",
               str(ports[1]), "--port", str(ports[2]), "--pki", str(tmp_path / "pki"), "--no-validate",
               "--data", str(tmp_path / "data")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health_url = f"http://127.0.0.1:{ports[2]}/_admin/health"
                with urllib.request.urlopen(health_url, timeout=2) as response:
                    health = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.2)
        failure = process.stderr.read().decode() if process.poll() is not None else "no answer"
        assert health is not None, failure
        endpoints = health["endpoints"]
        assert endpoints["smtp"]["port"] == ports[0] and endpoints["imap"]["port"] == ports[1]
        assert health["data"] == str(tmp_path / "data" / "mssante.sqlite3")
        with smtplib.SMTP("127.0.0.1", ports[0], timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert b'"smtp"' in process.stdout.read()
