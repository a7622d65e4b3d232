"""The MSSanté mailboxes on PostgreSQL (`[stack] store`): two mock processes on one database share their
mailboxes, and every message acknowledged with 250 survives a kill -9 (a throw-away cluster)."""

from __future__ import annotations

import smtplib
import threading
import urllib.request

import psycopg
import pytest
from mssante_helpers import PRO, PRO2, served_mssante
from test_mssante_store import PASSWORD, admin, fetch_all, inbox, message, send_all

from segur.mocks.mssante.store_pg import PostgresMailStore

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # tls="none" here


@pytest.fixture
def database(cluster, request) -> str:
    """A fresh database of the throw-away cluster for one test."""
    return cluster.create_database(f"mss_pg_{request.node.name[:40].lower()}")


def _bodies(imap: dict) -> list[bytes]:
    client = inbox(imap["host"], imap["port"])
    try:
        return sorted(raw.split(b"\r\n\r\n", 1)[1] for _, raw in fetch_all(client).values())
    finally:
        client.logout()


def test_a_message_submitted_through_one_process_is_fetched_by_imap_through_the_other(tmp_path, database):
    with (served_mssante(tmp_path / "one", "--store", database) as (_, one),
          served_mssante(tmp_path / "two", "--store", database) as (_, two)):
        assert one["data"].startswith("postgresql://") and "@" not in one["data"]  # no password shown
        client = inbox(two["endpoints"]["imap"]["host"], two["endpoints"]["imap"]["port"])
        assert fetch_all(client) == {}  # a session opened on two before the delivery through one…
        smtp = one["endpoints"]["smtp"]
        [reply] = send_all(smtp["host"], smtp["port"], [1])
        client.noop()
        [(uid, (_, raw))] = fetch_all(client).items()  # …sees it at its next command
        client.logout()
        assert uid == 101 and b"body of message 1" in raw and b"X-Segur-Mock-Id:" in raw
        [listed] = admin(two["endpoints"]["admin"], f"mailboxes/{PRO2}")["messages"]
        assert listed["id"] in reply
        # the journal is shared too: the message journalled by one is listed by two
        journalled = admin(two["endpoints"]["admin"], "journal?operation=smtp-message")["entries"]
        assert [e["meta"]["id"] for e in journalled] == [listed["id"]]


def test_message_ids_and_uids_never_collide_between_processes_sending_together(tmp_path, database):
    with (served_mssante(tmp_path / "one", "--store", database) as (_, one),
          served_mssante(tmp_path / "two", "--store", database) as (_, two)):
        replies: dict[str, list[str]] = {}

        def send(name: str, info: dict, numbers) -> None:
            replies[name] = send_all(info["endpoints"]["smtp"]["host"], info["endpoints"]["smtp"]["port"],
                                     numbers)

        threads = [threading.Thread(target=send, args=("one", one, range(0, 15))),
                   threading.Thread(target=send, args=("two", two, range(15, 30)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ids = [m["id"] for m in admin(one["endpoints"]["admin"], f"mailboxes/{PRO2}")["messages"]]
        assert len(ids) == len(set(ids)) == 30
        assert sorted(ids) == sorted(next(i for i in ids if i in r) for r in replies["one"] + replies["two"])
        client = inbox(two["endpoints"]["imap"]["host"], two["endpoints"]["imap"]["port"])
        uids = sorted(fetch_all(client))
        client.logout()
        assert uids == list(range(101, 131))


def test_every_acknowledged_message_survives_a_kill_9_and_a_restart(tmp_path, database):
    count = 20
    with served_mssante(tmp_path / "one", "--store", database) as (process, info):
        smtp = info["endpoints"]["smtp"]
        replies = send_all(smtp["host"], smtp["port"], range(count))
        process.kill()  # SIGKILL right after the last 250: nothing flushed, nothing closed
        process.wait(timeout=10)
    with served_mssante(tmp_path / "one", "--store", database) as (_, info):
        assert _bodies(info["endpoints"]["imap"]) == sorted(f"body of message {n}\r\n".encode()
                                                            for n in range(count))
        listed = admin(info["endpoints"]["admin"], f"mailboxes/{PRO2}")["messages"]
        assert [m["id"] in reply for m, reply in zip(listed, replies, strict=True)] == [True] * count


def test_a_message_killed_mid_data_is_not_half_stored_on_postgresql(tmp_path, database):
    with served_mssante(tmp_path / "one", "--store", database) as (process, info):
        smtp = info["endpoints"]["smtp"]
        send_all(smtp["host"], smtp["port"], [1])
        client = smtplib.SMTP(smtp["host"], smtp["port"], timeout=10)
        client.login(PRO, PASSWORD)
        client.mail(PRO)
        client.rcpt(PRO2)
        client.putcmd("DATA")
        assert client.getreply()[0] == 354
        client.send(message(2)[:60])  # half a message, no final dot: never acknowledged
        process.kill()
        process.wait(timeout=10)
        client.close()
    with psycopg.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM mss_copies").fetchone()[0] == 1
    with served_mssante(tmp_path / "one", "--store", database) as (_, info):
        [body] = _bodies(info["endpoints"]["imap"])
        assert body == b"body of message 1\r\n"


def test_the_store_keeps_messages_uncompressed_and_its_schema_versioned(database):
    store = PostgresMailStore(database)
    store.close()
    with psycopg.connect(database) as connection:
        [(storage,)] = connection.execute("SELECT attstorage FROM pg_attribute"
                                          " WHERE attrelid = 'mss_copies'::regclass AND attname = 'raw'")
        versions = connection.execute("SELECT version FROM schema_version WHERE store = 'mssante'").fetchall()
    assert storage == "e" and versions == [(1,)]  # EXTERNAL: out of line, never pglz


def test_two_stores_delivering_to_one_mailbox_take_uids_in_order(database):
    stores = [PostgresMailStore(database), PostgresMailStore(database)]
    taken: list[int] = []

    def deliver(store: PostgresMailStore, start: int) -> None:
        for n in range(start, start + 25):
            taken.extend(store.add_copies([(PRO2, f"MSS-{n:06d}", "message", {}, message(n))]))

    threads = [threading.Thread(target=deliver, args=(store, 25 * i)) for i, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == list(range(101, 151))
    assert [uid for uid, _, _ in stores[0].inbox_index(PRO2)] == list(range(101, 151))
    for store in stores:
        store.close()


def test_tenants_of_one_database_keep_their_own_mailboxes_and_reset(database):
    alice, bob = PostgresMailStore(database, tenant="alice"), PostgresMailStore(database, tenant="bob")
    alice.add_copies([(PRO2, "MSS-000001", "message", {"id": "MSS-000001"}, message(1))])
    bob.add_copies([(PRO2, "MSS-000002", "message", {"id": "MSS-000002"}, message(2))])
    assert [r["id"] for r, _ in alice.records()] == ["MSS-000001"]
    assert [uid for uid, _, _ in bob.inbox_index(PRO2)] == [101]  # each tenant's UIDs start over
    alice.reset()
    assert alice.count() == 0 and bob.count() == 1 and bob.raw(PRO2, 101) == message(2)
    alice.close()
    bob.close()


def test_a_reset_through_one_process_empties_the_inbox_the_other_had_cached(tmp_path, database):
    with (served_mssante(tmp_path / "one", "--store", database) as (_, one),
          served_mssante(tmp_path / "two", "--store", database) as (_, two)):
        send_all(one["endpoints"]["smtp"]["host"], one["endpoints"]["smtp"]["port"], [1, 2])
        imap = two["endpoints"]["imap"]
        client = inbox(imap["host"], imap["port"])  # two now holds the INBOX's index in memory
        assert len(fetch_all(client)) == 2
        validity = client.response("UIDVALIDITY")[1]
        client.logout()
        request = urllib.request.Request(one["endpoints"]["admin"] + "reset", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
        client = inbox(imap["host"], imap["port"])
        assert fetch_all(client) == {} and client.response("UIDVALIDITY")[1] != validity
        client.logout()
        send_all(one["endpoints"]["smtp"]["host"], one["endpoints"]["smtp"]["port"], [3])
        assert _bodies(imap) == [b"body of message 3\r\n"]
