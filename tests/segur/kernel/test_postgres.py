"""A throw-away PostgreSQL cluster the tests start themselves, and versioned migrations."""

from __future__ import annotations

import threading

import psycopg
import pytest

from segur.kernel.postgres import Migration, SchemaTooNew, migrate

STEPS = [Migration(1, "documents", "CREATE TABLE documents (unique_id text PRIMARY KEY, body bytea)"),
         Migration(2, "documents are stored uncompressed",
                   "ALTER TABLE documents ALTER COLUMN body SET STORAGE EXTERNAL")]


def test_the_cluster_answers_on_loopback_and_gives_each_caller_its_own_database(cluster):
    url = cluster.create_database("first")
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("first",)
        assert connection.info.host == "127.0.0.1"


def test_migrations_apply_once_in_order_and_record_their_version(cluster):
    url = cluster.create_database("migrated")
    with psycopg.connect(url, autocommit=True) as connection:
        assert migrate(connection, "dmp", STEPS) == [1, 2]
        assert migrate(connection, "dmp", STEPS) == []
        versions = "SELECT version, description FROM schema_version ORDER BY version"
        rows = connection.execute(versions).fetchall()
        assert rows == [(1, "documents"), (2, "documents are stored uncompressed")]
        body_storage = ("SELECT attstorage FROM pg_attribute "
                        "WHERE attrelid = 'documents'::regclass AND attname = 'body'")
        storage = connection.execute(body_storage).fetchone()
        assert storage == ("e",)


def test_a_store_migrated_by_a_newer_harness_is_refused(cluster):
    url = cluster.create_database("newer")
    with psycopg.connect(url, autocommit=True) as connection:
        migrate(connection, "dmp", STEPS)
        with pytest.raises(SchemaTooNew, match="schema version 2"):
            migrate(connection, "dmp", STEPS[:1])


def test_a_failing_step_leaves_the_schema_at_the_previous_version(cluster):
    url = cluster.create_database("failing")
    broken = [STEPS[0], Migration(2, "broken", "ALTER TABLE nowhere ADD COLUMN x int")]
    with psycopg.connect(url, autocommit=True) as connection:
        with pytest.raises(psycopg.errors.UndefinedTable):
            migrate(connection, "dmp", broken)
        assert connection.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)


def test_two_workers_migrating_together_apply_each_step_once(cluster):
    url = cluster.create_database("racing")
    results, errors = [], []

    def worker():
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                results.append(migrate(connection, "dmp", STEPS))
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(version for applied in results for version in applied) == [1, 2]
