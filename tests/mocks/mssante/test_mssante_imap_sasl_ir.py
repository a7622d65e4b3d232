"""SASL-IR on the IMAP side (RFC 4959, REM MSS/CONF.09): the capability is advertised, AUTHENTICATE takes
the initial response on its command line, the journal says whether the client sent it in one step, and a bad
initial response gets a protocol answer while the server keeps serving."""

from __future__ import annotations

import base64
import imaplib

import pytest
from mssante_helpers import PRO2, mock_fixtures

mss, clean = mock_fixtures()

TOKEN = f"user={PRO2}\x01auth=Bearer psc-access-token\x01\x01".encode()


def connect(mss) -> imaplib.IMAP4:
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.starttls(ssl_context=mss.client_context())
    return client


def logins(mss) -> list:
    return [e for e in mss.journal.entries() if e.operation == "imap-login"]


def one_step(client: imaplib.IMAP4, argument: bytes) -> tuple[str, list]:
    """`AUTHENTICATE XOAUTH2 <argument>` on one line (imaplib has no SASL-IR of its own)."""
    typ, data = client._simple_command("AUTHENTICATE", "XOAUTH2", argument.decode())
    return typ, data


@pytest.mark.rem("MSS/CONF.09")
def test_the_server_advertises_sasl_ir(mss):
    client = connect(mss)
    try:
        assert "SASL-IR" in client.capabilities
        assert "AUTH=XOAUTH2" in client.capabilities
    finally:
        client.shutdown()


@pytest.mark.rem("MSS/CONF.09")
def test_an_initial_response_on_the_command_line_authenticates_in_one_step_and_is_journalled(mss):
    client = connect(mss)
    try:
        typ, _ = one_step(client, base64.b64encode(TOKEN))
        assert typ == "OK"
        client.state = "AUTH"
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.shutdown()
    entry = logins(mss)[-1]
    assert entry.verdict == "ok"
    assert entry.request == {"login": PRO2, "command": "AUTHENTICATE", "mechanism": "XOAUTH2",
                             "initial_response": True}


def test_authenticate_without_an_initial_response_is_journalled_as_two_steps(mss):
    client = connect(mss)
    try:
        assert client.authenticate("XOAUTH2", lambda _: TOKEN)[0] == "OK"
    finally:
        client.logout()
    assert logins(mss)[-1].request["initial_response"] is False


def test_a_login_after_a_refused_authenticate_is_journalled_as_a_login(mss):
    client = connect(mss)
    try:
        typ, _ = one_step(client, base64.b64encode(f"user={PRO2}\x01auth=Bearer \x01\x01".encode()))
        assert typ == "NO"
        client.login(PRO2, mss.password)
    finally:
        client.logout()
    refused, accepted = logins(mss)[-2:]
    assert refused.verdict == "refused" and refused.request["initial_response"] is True
    assert accepted.verdict == "ok" and accepted.request == {"login": PRO2}


def test_an_initial_response_that_is_not_base64_gets_bad_and_the_server_keeps_serving(mss):
    client = connect(mss)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="base64"):
            one_step(client, b"not-base64!")
        typ, _ = one_step(client, base64.b64encode(TOKEN))
        assert typ == "OK"
    finally:
        client.shutdown()


def test_a_login_after_an_unusable_authenticate_is_journalled_as_a_login(mss):
    client = connect(mss)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            one_step(client, b"not-base64!")
        client.login(PRO2, mss.password)
    finally:
        client.logout()
    assert logins(mss)[-1].request == {"login": PRO2}
