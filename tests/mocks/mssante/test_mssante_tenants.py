"""Tenants on SMTP and IMAP: the login `user+tenant@domain` picks the tenant; each tenant's mailboxes,
journal, faults and reset are its own — on the SQLite store and on PostgreSQL."""

from __future__ import annotations

import base64
import imaplib
import itertools
import json
import smtplib
import urllib.error
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2
from test_mssante_store import PASSWORD, fetch_all, message

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import running_mssante

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # tls="none" here


DATABASES = itertools.count(1)


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request, tmp_path, world):
    """A running mock serving tenants, its mailboxes in SQLite files or in a throw-away PostgreSQL."""
    store = ""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("cluster")
        store = cluster.create_database(f"mss_tenants_{next(DATABASES)}")
    with running_mssante(world, tls="none", validate=False, data_dir=tmp_path / "data", store=store,
                         tenants=True) as mss:
        yield mss


def login(local_address: str, tenant: str) -> str:
    local, _, domain = local_address.partition("@")
    return f"{local}+{tenant}@{domain}" if tenant else local_address


def send(mss, tenant: str, number: int, sender: str = PRO) -> tuple[int, str]:
    """Submit one message as `sender` logged in to `tenant` (the envelope keeps the plain addresses)."""
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as client:
        client.login(login(sender, tenant), PASSWORD)
        client.mail(sender)
        client.rcpt(PRO2)
        code, text = client.data(message(number))
    return code, text.decode()


def bodies(mss, tenant: str) -> list[bytes]:
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
    client.login(login(PRO2, tenant), PASSWORD)
    client.select("INBOX")
    found = sorted(raw.split(b"\r\n\r\n", 1)[1] for _, raw in fetch_all(client).values())
    client.logout()
    return found


def admin(mss, tenant: str, path: str, method: str = "GET", body=None):
    prefix = f"/t/{tenant}" if tenant else ""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{mss.url}{prefix}/_admin/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def test_a_message_of_one_tenant_is_never_seen_by_another(shared):
    code, reply = send(shared, "ci-1", 1)
    assert code == 250, reply
    assert bodies(shared, "ci-1") == [b"body of message 1\r\n"]
    assert bodies(shared, "ci-2") == [] and bodies(shared, "") == []
    [listed] = admin(shared, "ci-1", f"mailboxes/{PRO2}")["messages"]
    assert listed["id"] in reply and listed["envelope_from"] == PRO
    assert admin(shared, "ci-2", f"mailboxes/{PRO2}")["messages"] == []
    assert admin(shared, "", f"mailboxes/{PRO2}")["messages"] == []
    with pytest.raises(urllib.error.HTTPError) as refused:  # the other tenant has no such message
        admin(shared, "ci-2", f"messages/{listed['id']}")
    assert refused.value.code == 404


def test_each_tenant_journals_only_its_own_sessions_logins_and_messages(shared):
    send(shared, "ci-1", 1)
    bodies(shared, "ci-1")
    send(shared, "", 2)
    operations = [e["operation"] for e in admin(shared, "ci-1", "journal")["entries"]]
    assert operations.count("smtp-message") == 1
    assert {"imap-login", "smtp-session"} <= set(operations)
    assert [e["request"]["login"] for e in admin(shared, "ci-1", "journal?operation=imap-login")["entries"]] \
        == [PRO2]  # journalled with the mailbox's own address
    assert [e["operation"] for e in admin(shared, "", "journal?operation=smtp-message")["entries"]] \
        == ["smtp-message"]
    assert admin(shared, "ci-2", "journal")["entries"] == []


def test_a_tenant_s_fault_hits_only_its_own_submissions(shared):
    admin(shared, "ci-1", "faults", "POST", {"kind": "smtp_reply", "code": 451})
    assert send(shared, "ci-1", 1)[0] == 451
    assert send(shared, "ci-2", 2)[0] == 250
    assert send(shared, "", 3)[0] == 250
    assert admin(shared, "ci-2", "faults")["faults"] == []


def test_the_reset_of_one_tenant_leaves_the_other_and_the_default(shared):
    send(shared, "ci-1", 1)
    send(shared, "ci-2", 2)
    send(shared, "", 3)
    assert bodies(shared, "ci-1") == [b"body of message 1\r\n"]  # its INBOX cached by an IMAP session
    admin(shared, "ci-1", "reset", "POST", {})
    assert admin(shared, "ci-1", "journal")["entries"] == []
    assert bodies(shared, "ci-1") == []
    assert bodies(shared, "ci-2") == [b"body of message 2\r\n"]
    assert bodies(shared, "") == [b"body of message 3\r\n"]
    assert admin(shared, "ci-2", "journal?operation=smtp-message")["entries"] != []


def test_xoauth2_names_the_tenant_in_its_user_field(shared):
    blob = base64.b64encode(f"user={login(PRO, 'ci-3')}\x01auth=Bearer any-token\x01\x01".encode()).decode()
    with smtplib.SMTP(shared.smtp_host, shared.smtp_port, timeout=10) as client:
        client.ehlo()
        assert client.docmd("AUTH", f"XOAUTH2 {blob}")[0] == 235
        client.mail(PRO)
        client.rcpt(PRO2)
        assert client.data(message(4))[0] == 250
    assert bodies(shared, "ci-3") == [b"body of message 4\r\n"] and bodies(shared, "") == []


def test_a_tenant_s_health_says_how_a_product_logs_in_to_it(shared):
    endpoints = admin(shared, "ci-1", "health")["endpoints"]
    assert endpoints["tenant"] == "ci-1" and endpoints["login"].endswith("+ci-1@<mailbox domain>")
    assert endpoints["smtp"]["port"] == shared.smtp_port and endpoints["imap"]["port"] == shared.imap_port
    assert endpoints["admin"] == f"{shared.url}/t/ci-1/_admin/"
    assert admin(shared, "", "tenants")["tenants"] == ["ci-1"]


@pytest.mark.parametrize("given", ["jacques.bideault+CI@radiologie-ambroise.mssante.fr",
                                   "jacques.bideault+ci_1@radiologie-ambroise.mssante.fr",
                                   "+ci-1@radiologie-ambroise.mssante.fr"])
def test_a_tag_that_is_not_a_tenant_name_is_an_unknown_login(shared, given):
    with smtplib.SMTP(shared.smtp_host, shared.smtp_port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(given, PASSWORD)
        assert refused.value.smtp_code == 535
        client.login(PRO, PASSWORD)  # the session, and the server, go on
    assert admin(shared, "", "tenants")["tenants"] == []


def test_a_wrong_password_in_a_tenant_is_refused_and_journalled_in_that_tenant(shared):
    with (smtplib.SMTP(shared.smtp_host, shared.smtp_port, timeout=10) as client,
          pytest.raises(smtplib.SMTPAuthenticationError)):
        client.login(login(PRO, "ci-1"), "wrong")
    client = imaplib.IMAP4(shared.imap_host, shared.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        client.login(login(PRO2, "ci-1"), "wrong")
    client.logout()
    verdicts = {e["operation"]: e["verdict"] for e in admin(shared, "ci-1", "journal")["entries"]}
    assert verdicts == {"smtp-session": "refused", "imap-login": "refused"}


def test_without_tenants_a_tagged_login_is_refused_and_the_server_keeps_serving(tmp_path, world):
    with running_mssante(world, tls="none", validate=False) as mss:
        with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(login(PRO, "ci-1"), PASSWORD)
            assert refused.value.smtp_code == 535
        assert send(mss, "", 1)[0] == 250
        client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=10)
        with pytest.raises(imaplib.IMAP4.error):
            client.login(login(PRO2, "ci-1"), PASSWORD)
        client.logout()
