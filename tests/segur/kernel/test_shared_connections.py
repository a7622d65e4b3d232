"""The stores of one process share one PostgreSQL connection per thread: a service's journal, faults and
DMP store, and every tenant's; closing one leaves the others working; a forked child opens its own."""

from __future__ import annotations

import multiprocessing
import threading

import psycopg
import pytest

from segur.kernel.faults_pg import PostgresFaultBook
from segur.kernel.journal_pg import PostgresJournal
from segur.kernel.postgres import SharedConnections
from segur.mocks.dmp.storage_pg import PostgresDmpStore


@pytest.fixture
def database(cluster, request) -> str:
    return cluster.create_database(f"shared_{request.node.name[5:45].lower()}")


def _sessions(database: str) -> int:
    """Client sessions on the database, besides the one asking."""
    name = database.rsplit("/", 1)[1]
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
             " AND backend_type = 'client backend'")
    with psycopg.connect(database) as db:
        return db.execute(query, (name,)).fetchone()[0]


def test_a_service_s_stores_and_its_tenants_use_one_connection_per_thread(database):
    opened = []
    for tenant in ("", "ci-42"):
        opened += [PostgresJournal("dmp", database, tenant=tenant), PostgresDmpStore(database, tenant=tenant),
                   PostgresFaultBook("dmp", database, tenant=tenant)]

    def use_all() -> None:
        for journal, store, faults in zip(opened[0::3], opened[1::3], opened[2::3], strict=True):
            journal.record("ITI-41", "accepted")
            assert store.counts()["documents"] == 0 and faults.select("ITI-41") == []

    use_all()
    assert _sessions(database) == 1
    other = threading.Thread(target=use_all)
    other.start()
    other.join()
    assert _sessions(database) == 2  # one more thread, one more connection: not six
    for store in opened[1::3]:
        store.close()


def test_closing_one_user_leaves_the_others_and_the_last_closes_the_connections(database):
    journal, store = PostgresJournal("dmp", database), PostgresDmpStore(database)
    store.close()
    store.close()  # twice: still one release
    assert journal.record("ITI-41", "accepted").seq == 1  # the journal's connection is still open
    with pytest.raises(RuntimeError, match="released"):
        store.counts()
    last = SharedConnections(database)
    connection = last.get()
    journal._connections.close_all()
    assert not connection.closed  # `last` still uses it
    last.close_all()
    assert connection.closed


def _child_backend(connections: SharedConnections, answer) -> None:
    answer.put(connections.get().execute("SELECT pg_backend_pid()").fetchone()[0])


def test_a_forked_child_opens_its_own_connection_and_leaves_its_parent_s(database):
    connections = SharedConnections(database)
    parent = connections.get().execute("SELECT pg_backend_pid()").fetchone()[0]
    fork = multiprocessing.get_context("fork")
    answer = fork.Queue()
    child = fork.Process(target=_child_backend, args=(connections, answer))
    child.start()
    child_backend = answer.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0 and child_backend != parent
    assert connections.get().execute("SELECT pg_backend_pid()").fetchone()[0] == parent  # still usable
    connections.close_all()


def test_a_user_dropped_without_closing_releases_its_share_and_one_never_used_holds_none(database):
    unused = SharedConnections(database)  # as a fault book a service replaces before its first call
    kept, dropped = SharedConnections(database), SharedConnections(database)
    connection = dropped.get()
    assert kept.get() is connection
    del dropped
    assert not connection.closed
    kept.close_all()
    assert connection.closed  # (pg_stat_activity may list the session a moment longer: not asked)
    unused.close_all()
