"""What the IMAP side journals of a mailbox reader, command by command: STARTTLS with the TLS version,
login, select, fetch (which messages, content or not), store, append, logout, and the commands refused —
a LOGIN before STARTTLS among them, without its password."""

from __future__ import annotations

import imaplib
import json
import smtplib
import socket
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2, mock_fixtures

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import running_mssante

mss, clean = mock_fixtures()

HELLO = (b"From: " + PRO.encode() + b"\r\nSubject: hello\r\nMessage-ID: <hello-1@ris.example>\r\n"
         b"X-MSS-NIL: 1234\r\n\r\nbody\r\n")
MDN = (b"From: " + PRO2.encode() + b"\r\nTo: " + PRO.encode() + b"\r\nMessage-ID: <mdn-1@ris.example>\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; "
       b'boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nlu\r\n--b--\r\n')


def deliver(mss, raw=HELLO):
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as client:
        client.starttls(context=mss.client_context())
        client.login(PRO, mss.password)
        client.sendmail(PRO, [PRO2], raw)


def imap_entries(mss) -> list:
    return [e for e in mss.journal.entries() if e.operation.startswith("imap-")]


def read_mailbox(mss) -> None:
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.starttls(ssl_context=mss.client_context())
    client.login(PRO2, mss.password)
    client.select("INBOX")
    _, found = client.uid("SEARCH", None, "UNSEEN")
    for uid in found[0].split():
        client.uid("FETCH", uid, "(BODY.PEEK[])")
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    client.append("INBOX", None, None, MDN)
    client.logout()


@pytest.mark.rem("SC.MSS/CONF.06")
def test_a_mailbox_read_is_journalled_command_by_command_with_its_tls_session(mss):
    deliver(mss)
    read_mailbox(mss)
    entries = imap_entries(mss)
    assert [e.operation for e in entries] == ["imap-starttls", "imap-login", "imap-select", "imap-fetch",
                                              "imap-store", "imap-append", "imap-logout"]
    assert all(e.verdict == "ok" for e in entries)
    starttls, login, select, fetch, store, append, _logout = entries
    assert starttls.response["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert len({e.client["session"] for e in entries}) == 1
    assert all(e.client["tls"] == starttls.response["tls"] for e in entries[1:])
    assert login.client["login"] == PRO2 and select.client["login"] == PRO2
    assert select.request == {"command": "SELECT", "mailbox": "INBOX"} and select.response["exists"] == 1
    assert fetch.request["command"] == "UID FETCH" and fetch.request["content"] is True
    [fetched] = fetch.response["messages"]
    assert fetched["message_id"] == "<hello-1@ris.example>" and fetched["mock_id"].startswith("MSS-")
    assert store.request["flags"] == ["\\Seen"] and store.request["mode"] == "add"
    assert store.response["messages"] == [fetched]
    [appended] = append.request["messages"]
    assert appended["report_type"] == "disposition-notification" and appended["message_id"] == \
        "<mdn-1@ris.example>"


def test_a_fetch_of_flags_or_headers_only_is_not_a_content_read(mss):
    deliver(mss)
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.starttls(ssl_context=mss.client_context())
    client.login(PRO2, mss.password)
    client.select("INBOX", readonly=True)
    client.fetch("1", "(FLAGS BODY.PEEK[HEADER])")
    client.fetch("1", "(RFC822)")
    client.logout()
    fetches = [e for e in imap_entries(mss) if e.operation == "imap-fetch"]
    assert [f.request["content"] for f in fetches] == [False, True]
    select = next(e for e in imap_entries(mss) if e.operation == "imap-select")
    assert select.request["command"] == "EXAMINE"


@pytest.mark.rem("SC.MSS/CONF.06")
def test_a_login_before_starttls_is_journalled_refused_without_its_password(mss):
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.login(PRO2, mss.password)
    finally:
        client.shutdown()
    [entry] = imap_entries(mss)
    assert entry.operation == "imap-command" and entry.verdict == "refused"
    assert entry.request == {"command": "LOGIN"} and entry.client["tls"] == {}
    assert mss.password not in str(entry.to_dict())


def test_a_command_refused_after_login_is_journalled_and_the_server_keeps_serving(mss):
    deliver(mss)
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.starttls(ssl_context=mss.client_context())
    client.login(PRO2, mss.password)
    status, _ = client.select("NO-SUCH-FOLDER")
    assert status == "NO"
    assert client.create("INBOX")[0] == "NO"
    assert client.select("INBOX")[0] == "OK"
    client.logout()
    refused = [(e.operation, e.request.get("command")) for e in imap_entries(mss) if e.verdict == "refused"]
    assert refused == [("imap-select", "SELECT"), ("imap-command", "CREATE")]
    assert imap_entries(mss)[-1].operation == "imap-logout"


def test_each_connection_is_its_own_session(mss):
    deliver(mss)
    read_mailbox(mss)
    read_mailbox(mss)
    logins = [e for e in imap_entries(mss) if e.operation == "imap-login"]
    assert len({e.client["session"] for e in logins}) == 2


def test_a_line_that_is_no_imap_command_gets_bad_is_journalled_and_the_session_goes_on(mss):
    with socket.create_connection((mss.imap_host, mss.imap_port), timeout=10) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"* OK")
        raw.sendall(b"a1 FROBNICATE \x00\xff nonsense\r\n")
        assert reader.readline().startswith(b"a1 BAD")
        raw.sendall(b"a2 NOOP\r\n")
        assert reader.readline().startswith(b"a2 OK")
        raw.sendall(b"a3 LOGOUT\r\n")
        assert reader.readline().startswith(b"* BYE")
    [refused, logout] = imap_entries(mss)
    assert refused.operation == "imap-command" and refused.verdict == "refused"
    assert refused.response["result"].startswith("BAD") and logout.operation == "imap-logout"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # tls="none" here
def test_a_tenants_mailbox_read_is_journalled_in_that_tenant_with_its_messages(tmp_path):
    """A login `user+tenant@domain` (segur proof --tenant): what follows it on the connection goes to the
    tenant's journal, and the messages fetched are named from the tenant's own store."""
    with running_mssante(load_world(), tls="none", validate=False, data_dir=tmp_path / "data",
                         tenants=True) as shared:
        with smtplib.SMTP(shared.smtp_host, shared.smtp_port, timeout=10) as client:
            client.login(PRO.replace("@", "+ci-1@"), shared.password)
            client.sendmail(PRO, [PRO2], HELLO)
        client = imaplib.IMAP4(shared.imap_host, shared.imap_port, timeout=10)
        client.login(PRO2.replace("@", "+ci-1@"), shared.password)
        client.select("INBOX")
        client.uid("FETCH", "1:*", "(BODY.PEEK[])")
        client.logout()
        with urllib.request.urlopen(f"{shared.url}/t/ci-1/_admin/journal", timeout=10) as answer:
            entries = [e for e in json.load(answer)["entries"] if e["operation"].startswith("imap-")]
    assert [e["operation"] for e in entries] == ["imap-login", "imap-select", "imap-fetch", "imap-logout"]
    [fetched] = entries[2]["response"]["messages"]
    assert fetched["message_id"] == "<hello-1@ris.example>" and fetched["mock_id"].startswith("MSS-")
    assert {e["client"]["session"] for e in entries} == {entries[0]["client"]["session"]}
