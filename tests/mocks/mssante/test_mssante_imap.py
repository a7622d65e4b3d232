"""Reading MSSanté mailboxes with imaplib: STARTTLS first, every mailbox kind, the verdict in the headers."""

from __future__ import annotations

import contextlib
import imaplib
import json
import smtplib
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2, mock_fixtures

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import running_mssante

HELLO = b"From: " + PRO.encode() + b"\r\nSubject: hello\r\nX-MSS-NIL: 1234\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def world():
    return load_world()


mss, clean = mock_fixtures()


def send(mss, to, raw=HELLO, sender=PRO):
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as client:
        client.starttls(context=mss.client_context())
        client.login(sender, mss.password)
        client.sendmail(sender, to if isinstance(to, list) else [to], raw)


def connect(mss, login=None) -> imaplib.IMAP4:
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.starttls(ssl_context=mss.client_context())
    if login:
        client.login(login, mss.password)
    return client


@pytest.mark.rem("SC.MSS/CONF.06")
def test_before_starttls_login_is_disabled(mss):
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    try:
        assert "STARTTLS" in client.capabilities and "LOGINDISABLED" in client.capabilities
        assert not any(c.startswith("AUTH=") for c in client.capabilities)
        with pytest.raises(imaplib.IMAP4.error):
            client.login(PRO2, mss.password)
    finally:
        client.shutdown()


def test_after_starttls_a_wrong_password_is_refused_and_journalled(mss):
    client = connect(mss)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.login(PRO2, "wrong")
    finally:
        client.shutdown()
    entry = mss.journal.entries("imap-login")[-1]
    assert entry.verdict == "refused" and entry.request == {"login": PRO2}


def test_an_unknown_address_cannot_log_in(mss):
    client = connect(mss)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.login("nobody@ch-toulouse.mssante.fr", mss.password)
    finally:
        client.shutdown()


@pytest.mark.rem("SC.MSS/CONF.06")
@pytest.mark.parametrize("kind", ["PER", "ORG", "APP", "CITIZEN"])
def test_every_kind_of_mailbox_is_readable_by_imaplib(mss, world, kind):
    address = next(b.address for b in world.mailboxes if b.kind == kind and b.accepts_messages)
    send(mss, address)
    client = connect(mss, address)
    try:
        assert client.list()[0] == "OK"
        typ, count = client.select("INBOX")
        assert typ == "OK" and count == [b"1"]
        typ, data = client.fetch(b"1", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (X-SEGUR-VERDICT SUBJECT)])")
        assert typ == "OK" and b"X-Segur-Verdict: pass" in data[0][1] and b"Subject: hello" in data[0][1]
    finally:
        client.logout()


def test_authenticate_plain_works_as_well_as_login(mss):
    send(mss, PRO2)
    client = connect(mss)
    try:
        password = mss.password
        typ, _ = client.authenticate("PLAIN", lambda _: f"\0{PRO2}\0{password}".encode())
        assert typ == "OK"
        assert client.select("INBOX") == ("OK", [b"1"])
    finally:
        client.logout()


def test_search_store_and_uid_commands(mss):
    send(mss, PRO2)
    send(mss, PRO2, b"Subject: second\r\n\r\nno NIL header here\r\n")
    client = connect(mss, PRO2)
    try:
        client.select("INBOX")
        assert client.search(None, "ALL")[1] == [b"1 2"]
        assert client.search(None, "HEADER", "X-Segur-Verdict", "fail")[1] == [b"2"]
        assert client.search(None, "SUBJECT", "second")[1] == [b"2"]
        assert client.store(b"1", "+FLAGS", "\\Seen")[0] == "OK"
        assert client.search(None, "UNSEEN")[1] == [b"2"]
        typ, data = client.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
        assert typ == "OK" and len(data) == 2
        typ, data = client.fetch(b"2", "(RFC822)")
        assert b"X-Segur-Rules: MSS-FROM-MISMATCH,MSS-NIL-MISSING" in data[0][1]
    finally:
        client.logout()


def test_examine_is_read_only_and_mailboxes_are_isolated(mss):
    send(mss, PRO2)
    client = connect(mss, PRO)
    try:
        assert client.select("INBOX", readonly=True) == ("OK", [b"0"])
    finally:
        client.logout()


def test_reset_empties_the_imap_mailboxes(mss):
    send(mss, PRO2)
    request = urllib.request.Request(mss.url + "/_admin/reset", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["reset"] is True
    client = connect(mss, PRO2)
    try:
        assert client.select("INBOX") == ("OK", [b"0"])
    finally:
        client.logout()


def test_imap_mutual_tls_requires_a_test_ca_client_certificate(world):
    with running_mssante(world, validate=False, tls="mtls") as mss:
        client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
        try:
            client.starttls(ssl_context=mss.client_context("mssante"))
            assert client.login(PRO2, mss.password)[0] == "OK"
        finally:
            client.logout()
        client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
        try:
            with pytest.raises((OSError, imaplib.IMAP4.error)):
                client.starttls(ssl_context=mss.client_context())
                client.login(PRO2, mss.password)
        finally:
            with contextlib.suppress(OSError):
                client.shutdown()


def test_xoauth2_with_a_bearer_token_authenticates_and_an_empty_token_does_not(mss):
    client = connect(mss)
    try:
        token = f"user={PRO2}\x01auth=Bearer psc-access-token\x01\x01".encode()
        assert client.authenticate("XOAUTH2", lambda _: token)[0] == "OK"
    finally:
        client.logout()
    client = connect(mss)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.authenticate("XOAUTH2", lambda _: f"user={PRO2}\x01auth=Bearer \x01\x01".encode())
    finally:
        client.shutdown()
