"""The MSSanté mock keeps its mailboxes: acknowledged messages survive a restart and a kill -9, with
their IMAP flags, verdicts and journal; reset empties the disk too; bodies are not kept in memory."""

from __future__ import annotations

import imaplib
import json
import smtplib
import socket
import sqlite3
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2, served_mssante
from pymap.backend.dict.mailbox import MailboxSet

from segur.fixtures.world import load_world
from segur.mocks.mssante.imap_store import ParsedCache, StoredInbox
from segur.mocks.mssante.store import DB_NAME, MailStore
from segur.mocks.mssante.testing import running_mssante
from segur.up import SERVICE_NAMES, load_config, start_stack

PASSWORD = "mssante-test"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # tls="none" here


@pytest.fixture(scope="module")
def world():
    return load_world()


def message(number: int) -> bytes:
    return (f"From: {PRO}\r\nTo: {PRO2}\r\nSubject: durable {number}\r\nX-MSS-NIL: 1234\r\n\r\n"
            f"body of message {number}\r\n").encode()


def send_all(host: str, port: int, numbers) -> list[str]:
    """Send each message in its own transaction on one session; the DATA replies (all must be 250)."""
    replies = []
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.login(PRO, PASSWORD)
        for number in numbers:
            client.mail(PRO)
            client.rcpt(PRO2)
            code, text = client.data(message(number))
            assert code == 250, text
            replies.append(text.decode())
    return replies


def inbox(host: str, port: int, login: str = PRO2) -> imaplib.IMAP4:
    client = imaplib.IMAP4(host, port, timeout=10)
    client.login(login, PASSWORD)
    client.select("INBOX")
    return client


def fetch_all(client: imaplib.IMAP4) -> dict[int, tuple[bytes, bytes]]:
    """UID → (FLAGS response, message bytes) of every message of the selected mailbox."""
    status, [uids] = client.uid("SEARCH", "ALL")
    assert status == "OK"
    found = {}
    for uid in uids.split():
        flags = b" ".join(line for line in client.uid("FETCH", uid, "(FLAGS)")[1] if isinstance(line, bytes))
        body = client.uid("FETCH", uid, "(BODY.PEEK[])")[1][0][1]
        found[int(uid)] = (flags, body)
    return found


def admin(base: str, path: str) -> dict:
    with urllib.request.urlopen(base.rstrip("/") + "/" + path, timeout=10) as answer:
        return json.loads(answer.read())


def served(tmp_path, world, **options):
    return running_mssante(world, tls="none", validate=False, data_dir=tmp_path / "data", **options)


# --- restarts ---------------------------------------------------------------------------------------
def test_a_message_its_seen_flag_verdict_and_journal_survive_a_clean_restart(tmp_path, world):
    with served(tmp_path, world) as first:
        [reply] = send_all(first.smtp_host, first.smtp_port, [1])
        client = inbox(first.imap_host, first.imap_port)
        [(uid, _)] = fetch_all(client).items()
        client.uid("STORE", str(uid), "+FLAGS", r"(\Seen \Flagged)")
        uid_validity = client.response("UIDVALIDITY")[1]
        client.logout()
    with served(tmp_path, world) as second:
        client = inbox(second.imap_host, second.imap_port)
        assert client.response("UIDVALIDITY")[1] == uid_validity  # the client's cached UIDs stay valid
        [(same_uid, (flags, raw))] = fetch_all(client).items()
        client.logout()
        assert same_uid == uid and b"\\Seen" in flags and b"\\Flagged" in flags
        assert b"body of message 1" in raw and b"X-Segur-Verdict:" in raw
        [stored] = second.backend.messages(PRO2)
        assert stored.id in reply and stored.verdict in ("pass", "fail") and stored.subject == "durable 1"
        assert [e.meta["id"] for e in second.journal.entries("smtp-message")] == [stored.id]


def test_message_ids_go_on_after_a_restart_and_never_name_two_messages(tmp_path, world):
    with served(tmp_path, world) as first:
        send_all(first.smtp_host, first.smtp_port, [1])
    with served(tmp_path, world) as second:
        send_all(second.smtp_host, second.smtp_port, [2])
        assert [m.id for m in second.backend.messages(PRO2)] == ["MSS-000001", "MSS-000002"]


def test_an_expunged_message_stays_gone_after_a_restart_but_the_admin_api_keeps_its_verdict(tmp_path, world):
    with served(tmp_path, world) as first:
        send_all(first.smtp_host, first.smtp_port, [1, 2])
        client = inbox(first.imap_host, first.imap_port)
        first_uid = min(fetch_all(client))
        client.uid("STORE", str(first_uid), "+FLAGS", r"(\Deleted)")
        client.expunge()
        client.logout()
    with served(tmp_path, world) as second:
        client = inbox(second.imap_host, second.imap_port)
        remaining = fetch_all(client)
        client.logout()
        assert first_uid not in remaining and len(remaining) == 1
        assert len(second.backend.messages(PRO2)) == 2


def test_a_message_delivered_while_a_client_has_the_inbox_selected_is_seen_at_once(tmp_path, world):
    with served(tmp_path, world) as mss:
        client = inbox(mss.imap_host, mss.imap_port)
        assert fetch_all(client) == {}
        send_all(mss.smtp_host, mss.smtp_port, [7])
        client.noop()
        [(_, (_, raw))] = fetch_all(client).items()
        client.logout()
        assert b"body of message 7" in raw


def test_reset_empties_the_mailboxes_on_disk_too(tmp_path, world):
    with served(tmp_path, world) as first:
        send_all(first.smtp_host, first.smtp_port, [1, 2, 3])
        request = urllib.request.Request(first.url + "/_admin/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        assert first.backend.messages() == []
    database = (tmp_path / "data" / DB_NAME).read_bytes()
    assert b"body of message" not in database  # compacted: the bytes are gone, not only unlinked
    with served(tmp_path, world) as second:
        assert second.backend.messages() == [] and second.journal.entries("smtp-message") == []
        client = inbox(second.imap_host, second.imap_port)
        assert fetch_all(client) == {}
        client.logout()


def test_without_a_data_folder_nothing_is_written_and_nothing_is_kept(tmp_path, world, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with running_mssante(world, tls="none", validate=False) as first:
        send_all(first.smtp_host, first.smtp_port, [1])
        assert first.backend.store.path is None
    with running_mssante(world, tls="none", validate=False) as second:
        assert second.backend.messages() == []
    assert list(tmp_path.iterdir()) == []


# --- crashes: a real server process, killed -----------------------------------------------------------
def test_acknowledged_messages_survive_a_kill_9_and_are_all_readable_after_restart(tmp_path, world):
    count = 20
    with served_mssante(tmp_path / "data") as (process, info):
        smtp = info["endpoints"]["smtp"]
        replies = send_all(smtp["host"], smtp["port"], range(count))
        process.kill()  # SIGKILL: no checkpoint, no close
        process.wait(timeout=10)
    with served_mssante(tmp_path / "data") as (_, info):
        imap, base = info["endpoints"]["imap"], info["endpoints"]["admin"]
        client = inbox(imap["host"], imap["port"])
        bodies = sorted(raw.split(b"\r\n\r\n", 1)[1] for _, raw in fetch_all(client).values())
        client.logout()
        assert bodies == sorted(f"body of message {n}\r\n".encode() for n in range(count))
        listed = admin(base, f"mailboxes/{PRO2}")["messages"]
        assert [m["id"] in reply for m, reply in zip(listed, replies, strict=True)] == [True] * count
        journalled = admin(base, "journal?operation=smtp-message")["entries"]
        assert sorted(e["meta"]["id"] for e in journalled) == sorted(m["id"] for m in listed)


def test_a_message_killed_mid_data_is_absent_after_restart_and_nothing_half_written_is_served(tmp_path):
    with served_mssante(tmp_path / "data") as (process, info):
        smtp = info["endpoints"]["smtp"]
        send_all(smtp["host"], smtp["port"], [1])
        with socket.create_connection((smtp["host"], smtp["port"]), timeout=10) as raw:
            client = smtplib.SMTP()
            client.sock, client.file = raw, raw.makefile("rb")
            client.getreply()
            client.ehlo("crash.test")
            client.login(PRO, PASSWORD)
            client.mail(PRO)
            client.rcpt(PRO2)
            client.putcmd("DATA")
            assert client.getreply()[0] == 354
            raw.sendall(message(2)[:60])  # half a message, no final dot: never acknowledged
            process.kill()
            process.wait(timeout=10)
    with served_mssante(tmp_path / "data") as (_, info):
        imap = info["endpoints"]["imap"]
        client = inbox(imap["host"], imap["port"])
        bodies = [raw for _, raw in fetch_all(client).values()]
        client.logout()
        assert len(bodies) == 1 and b"body of message 1" in bodies[0]


# --- the store itself -------------------------------------------------------------------------------
def test_the_store_writes_in_wal_mode_with_normal_sync_or_full_sync_when_power_safe(tmp_path):
    for power_safe, expected in ((False, 1), (True, 2)):
        store = MailStore(tmp_path / str(power_safe), power_safe=power_safe)
        store.close()
        with sqlite3.connect(tmp_path / str(power_safe) / DB_NAME) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store = MailStore(tmp_path / str(power_safe), power_safe=power_safe)
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == expected
        store.close()


def test_a_new_store_has_16_kib_pages_and_a_store_made_with_4_kib_pages_opens_and_keeps_them(tmp_path):
    store = MailStore(tmp_path / "new")
    assert store._db.execute("PRAGMA page_size").fetchone()[0] == 16384
    store.close()
    old = tmp_path / "old"
    old.mkdir()
    with sqlite3.connect(old / DB_NAME) as db:  # a store file as the mock wrote it before: 4 KiB pages
        db.execute("PRAGMA page_size=4096")
        db.execute("PRAGMA journal_mode=WAL")
    store = MailStore(old)
    store.add_copies([(PRO2, "MSS-000001", "message", {"id": "MSS-000001"}, message(1))])
    store.close()
    store = MailStore(old)
    assert store._db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert store.raw(PRO2, 101) == message(1) and store.records() == [({"id": "MSS-000001"}, None)]
    store.close()


def test_a_stored_inbox_keeps_no_message_body_in_memory(tmp_path):
    store = MailStore(tmp_path)
    store.add_copies([(PRO2, f"MSS-{n:06d}", "message", {}, message(n)) for n in range(5)])
    cache = ParsedCache(store, size=2)
    box = StoredInbox(store, PRO2, cache, MailboxSet())
    assert sorted(box._messages) == [101, 102, 103, 104, 105]
    assert all(getattr(m, "_content", None) is not None for m in box._messages.values())  # read on demand
    assert len(cache._parsed) == 2  # the bounded LRU: only the last two parsed are kept
    assert bytes(box._messages[103]._content).endswith(b"body of message 2\r\n")
    store.close()


def test_the_copies_of_one_message_are_stored_all_or_none(tmp_path):
    store = MailStore(tmp_path)

    def copies_then_crash():
        yield (PRO2, "MSS-000001", "message", {}, message(1))
        raise RuntimeError("the process dies between two copies")

    with pytest.raises(RuntimeError):
        store.add_copies(copies_then_crash())
    assert store.inbox_index(PRO2) == [] and store.count() == 0
    assert store.add_copies([(PRO2, "MSS-000002", "message", {}, message(2))]) == [101]
    store.close()


def test_a_message_a_client_appends_to_the_inbox_is_kept_with_its_flags(tmp_path, world):
    with served(tmp_path, world) as first:
        client = inbox(first.imap_host, first.imap_port)
        assert client.append("INBOX", r"(\Seen)", None, message(9))[0] == "OK"
        client.logout()
    with served(tmp_path, world) as second:
        client = inbox(second.imap_host, second.imap_port)
        [(flags, raw)] = fetch_all(client).values()
        client.logout()
        assert b"\\Seen" in flags and raw == message(9)
        assert second.backend.messages() == []  # not a message the mock received: no verdict record


@pytest.mark.parametrize(("data", "expected"), [("", "data/mssante/mssante.sqlite3"), (":memory:", None),
                                                ("elsewhere", "elsewhere/mssante.sqlite3")])
def test_segur_up_keeps_the_mailboxes_next_to_the_dmp_store_unless_told(tmp_path, monkeypatch, data,
                                                                        expected):
    monkeypatch.chdir(tmp_path)
    off = {"enabled": False}
    mssante = {"port": 0, "smtp_port": 0, "imap_port": 0, "validation": False, "tls": "none", "data": data}
    others = {name: off for name in SERVICE_NAMES if name != "mssante"}
    config = load_config(overrides={"stack": {"pki": "pki", "data": "data"}, **others, "mssante": mssante})
    with start_stack(config) as stack:
        path = stack.services["mssante"].backend.store.path
        assert (str(path.relative_to(tmp_path) if path.is_absolute() else path) if path else None) == expected


def test_the_parsed_cache_is_bounded_in_bytes_too(tmp_path):
    store = MailStore(tmp_path)
    store.add_copies([(PRO2, f"MSS-{n:06d}", "message", {}, message(n) + b"x" * 1000) for n in range(4)])
    cache = ParsedCache(store, size=10, max_bytes=2500)
    for uid in (101, 102, 103, 104):
        cache.get(PRO2, uid)
    assert list(cache._parsed) == [(PRO2, 103), (PRO2, 104)] and cache._bytes <= 2500
    cache.max_bytes = 500  # a message larger than the whole budget is still served, and kept alone
    assert bytes(cache.get(PRO2, 101)).startswith(b"From: ") and list(cache._parsed) == [(PRO2, 101)]
    store.close()
