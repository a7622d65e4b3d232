"""The DMP on PostgreSQL: services sharing one database are one DMP, and tenants in it never meet."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import psycopg
import pytest
from dmp_helpers import ITI41, provide_and_register, retrieved_documents, send

from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.storage_pg import DuplicateKey, PostgresDmpStore
from segur.mocks.dmp.testing import running_dmp


@pytest.fixture
def database(cluster, request) -> str:
    """A fresh database of the throw-away cluster for one test."""
    return cluster.create_database(f"dmp_pg_{request.node.name[:40].lower()}")


def _unique_ids(answer) -> list[str]:
    return [e.get("value") for e in answer.findall(".//rim:ExtrinsicObject/rim:ExternalIdentifier")
            if e.get("identificationScheme") == xds_metadata.DE_UNIQUE_ID]


def test_a_document_submitted_to_one_dmp_is_found_and_retrieved_from_another_on_the_same_database(
        tmp_path, pki, world, case, database):
    document = case.cda()
    with (running_dmp(tmp_path / "one", pki=pki, world=world, store=database) as one,
          running_dmp(tmp_path / "two", pki=pki, world=world, store=database) as two):
        assert one.url != two.url
        assert case.iti41(one.endpoint("repository"), [document]).registry_status == "Success"
        case.authorise(one)  # the authorisation is shared state too: given on one, used on two
        [unique_id] = _unique_ids(case.find_documents(two.endpoint("registry")))
        repository_id = two.backend.config.repository_unique_id
        retrieved = case.retrieve(two.endpoint("repository"), repository_id, [unique_id])
        assert retrieved_documents(retrieved) == {unique_id: document}


def test_a_stopped_dmp_and_its_tenants_hold_no_database_connection(tmp_path, pki, world, case, database):
    """The store, the journal and the fault book each keep a connection per thread: all closed at stop
    (a process restarting services in turn, as the test suite does, ran out of PostgreSQL connections)."""
    with ExitStack() as running:
        shared = running.enter_context(running_dmp(tmp_path / "one", pki=pki, world=world, store=database))
        alone = running.enter_context(running_dmp(tmp_path / "alice", pki=pki, world=world, store=database,
                                                  tenant="alice"))
        for dmp in (shared, alone):
            assert case.iti41(dmp.endpoint("repository"), [case.cda()]).registry_status == "Success"
            dmp.journal.record("probe", "ok")
            dmp.faults.add({"kind": "http_error", "count": 1})
        assert _connections_to(database) > 0
    deadline = time.monotonic() + 10  # a closed connection's server process exits just after the close
    while _connections_to(database) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _connections_to(database) == 0


def _connections_to(database: str) -> int:
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                  (name,)).fetchone()[0]


def test_the_same_unique_id_sent_by_8_threads_to_two_dmps_is_accepted_once(tmp_path, pki, world, case,
                                                                           database):
    document = case.cda()
    with (running_dmp(tmp_path / "one", pki=pki, world=world, store=database) as one,
          running_dmp(tmp_path / "two", pki=pki, world=world, store=database) as two):
        urls = [one.endpoint("repository"), two.endpoint("repository")]
        barrier = threading.Barrier(8, timeout=30)

        def submit(n):
            request, by_id = case.submission([document])
            body, parts = provide_and_register(request, by_id)
            header = case.security()
            barrier.wait()
            return send(urls[n % 2], ITI41, body, header, parts)

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(submit, range(8)))
        assert sorted(a.registry_status for a in answers) == ["Failure"] * 7 + ["Success"]
        assert all(a.rules() == ["XDS-41-009"] for a in answers if a.registry_status == "Failure")
        expected = {"submission_sets": 1, "document_entries": 1, "associations": 1, "documents": 1}
        assert one.backend.store.counts() == two.backend.store.counts() == expected


def test_two_tenants_on_one_database_never_see_each_others_documents(tmp_path, pki, world, case, database):
    document = case.cda()
    with ExitStack() as running:
        alice, bob = (running.enter_context(running_dmp(tmp_path / name, pki=pki, world=world, store=database,
                                                        tenant=name)) for name in ("alice", "bob"))
        assert case.iti41(alice.endpoint("repository"), [document]).registry_status == "Success"
        case.authorise(alice)
        case.authorise(bob)
        [unique_id] = _unique_ids(case.find_documents(alice.endpoint("registry")))
        assert _unique_ids(case.find_documents(bob.endpoint("registry"))) == []
        repository_id = bob.backend.config.repository_unique_id
        refused = case.retrieve(bob.endpoint("repository"), repository_id, [unique_id])
        assert retrieved_documents(refused) == {} and refused.registry_status == "Failure"
        assert bob.backend.store.counts()["documents"] == 0
        # The same document is new to bob: his DMP accepts it as its own.
        assert case.iti41(bob.endpoint("repository"), [document]).registry_status == "Success"
        bob.backend.store.reset()  # a tenant's reset deletes its rows only
        assert bob.backend.store.counts()["documents"] == 0
        assert alice.backend.store.counts()["documents"] == 1


def test_documents_are_stored_uncompressed_and_the_schema_is_versioned(database):
    store = PostgresDmpStore(database)
    try:
        with psycopg.connect(database) as connection:
            storage = connection.execute(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'dmp_documents'::regclass"
                " AND attname = 'content'").fetchone()[0]
            versions = connection.execute("SELECT version FROM schema_version WHERE store = 'dmp'").fetchall()
        assert storage == "e"  # EXTERNAL: out of line, never pglz-compressed
        assert versions == [(1,)]
        PostgresDmpStore(database).close()  # a second opening applies nothing again
    finally:
        store.close()


def test_a_duplicate_unique_id_rolls_back_the_whole_transaction(database):
    store = PostgresDmpStore(database, tenant="t")
    try:
        with store.transaction() as db:
            store.insert_document(db, "1.2.3", b"<doc/>", "text/xml", "sha")
        with pytest.raises(DuplicateKey, match="documents.unique_id"), store.transaction() as db:
            store.insert_document(db, "1.2.4", b"<other/>", "text/xml", "sha2")
            store.insert_document(db, "1.2.3", b"<doc/>", "text/xml", "sha")
        assert store.document("1.2.4") is None and store.document("1.2.3") == (b"<doc/>", "text/xml")
        assert store.document_info("1.2.3") == {"mime_type": "text/xml", "size": 6, "sha1": "sha"}
        assert store.document_sha1("1.2.3") == "sha"
    finally:
        store.close()
