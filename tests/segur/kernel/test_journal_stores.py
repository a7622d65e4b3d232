"""The journal behaves the same in memory and on PostgreSQL; on PostgreSQL, workers share it and tenants
do not see each other."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from segur.kernel import journal_pg
from segur.kernel.config import StackConfig
from segur.kernel.findings import Finding, Severity
from segur.kernel.journal import Journal, body_for_journal
from segur.kernel.journal_pg import PostgresJournal
from segur.kernel.postgres import migrate
from segur.kernel.service import Service, StackContext


@pytest.fixture
def database(cluster, request):
    return cluster.create_database("j_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50])


@pytest.fixture(params=["memory", "postgresql"])
def journal(request):
    if request.param == "memory":
        return Journal("dmp")
    url = request.getfixturevalue("database")
    return PostgresJournal("dmp", url)


def test_an_exchange_is_listed_with_its_rules_and_selected_by_operation_verdict_and_task(journal):
    journal.record("ITI-41", "accepted")
    journal.task = "dmp-02"
    unknown_patient = Finding("DMP-PAT-003", Severity.ERROR, "xds", "no")
    refused = journal.record("ITI-41", "rejected", findings=[unknown_patient])
    journal.task = None
    journal.record("ITI-18", "accepted")
    assert [e.operation for e in journal.entries()] == ["ITI-41", "ITI-41", "ITI-18"]
    assert [e.seq for e in journal.entries(verdict="rejected")] == [refused.seq]
    assert journal.entries(task="dmp-02")[0].rules == ["DMP-PAT-003"]
    assert [e.operation for e in journal.entries(limit=1)] == ["ITI-18"]
    assert [e.operation for e in journal.entries(since=refused.seq)] == ["ITI-18"]
    assert journal.get(refused.seq).findings[0]["rule"] == "DMP-PAT-003"
    assert len(journal) == 3


def test_a_body_over_the_entry_size_is_served_whole(journal):
    body = b"<a>" + b"x" * 2_000_000 + b"</a>"
    exchange = journal.record("ITI-41", "accepted", request={"body": body_for_journal(body)})
    entry = journal.get(exchange.seq)
    assert entry.request["body"]["truncated"] and entry.request["body"]["whole"] == "spilled"
    assert journal.body(exchange.seq, "request") == (body, "")
    assert journal.body(exchange.seq + 1000, "request")[0] is None


def test_clear_empties_the_journal(journal):
    journal.record("ITI-41", "accepted")
    journal.clear()
    assert journal.entries() == [] and len(journal) == 0


def test_two_workers_on_one_database_share_exchanges_and_the_task(database):
    first, second = PostgresJournal("dmp", database), PostgresJournal("dmp", database)
    first.task = "dmp-01"
    exchange = second.record("ITI-41", "accepted")
    assert exchange.task == "dmp-01"
    assert [e.seq for e in first.entries()] == [exchange.seq]


def test_tenants_and_services_do_not_see_each_other(database):
    ci, tester, insi = (PostgresJournal("dmp", database, tenant="ci-42"), PostgresJournal("dmp", database,
                        tenant="alice"), PostgresJournal("insi", database, tenant="ci-42"))
    ci.record("ITI-41", "accepted")
    tester.record("ITI-18", "accepted")
    ci.task = "dmp-01"
    assert [e.operation for e in ci.entries()] == ["ITI-41"]
    assert [e.operation for e in tester.entries()] == ["ITI-18"] and tester.task is None
    assert insi.entries() == [] and insi.task is None
    tester.clear()
    assert len(ci) == 1


def test_the_oldest_exchanges_go_beyond_the_bound_and_are_counted(database):
    journal = PostgresJournal("dmp", database, max_entries=3, prune_every=5)
    for n in range(10):
        journal.record(f"op-{n}", "accepted")
    kept = [e.operation for e in journal.entries()]
    assert kept == ["op-7", "op-8", "op-9"] and journal.dropped == 7


def test_a_service_of_a_stack_on_postgresql_journals_there(database):
    class Probe(Service):
        name = "probe"

        def start(self):
            return self

        def stop(self) -> None:
            pass

        def endpoints(self) -> dict:
            return {}

    context = StackContext(StackConfig(store=database))
    assert isinstance(Probe(context=context).journal, PostgresJournal)
    assert isinstance(Probe().journal, Journal)


def test_both_bodies_over_the_entry_size_are_written_with_their_exchange_and_served_whole(database):
    journal = PostgresJournal("dmp", database)
    asked, answered = b"<q>" + b"q" * 700_000 + b"</q>", b"<r>" + b"r" * 800_000 + b"</r>"
    exchange = journal.record("ITI-43", "accepted", request={"body": body_for_journal(asked)},
                              response={"body": body_for_journal(answered)})
    assert journal.body(exchange.seq, "request") == (asked, "")
    assert journal.body(exchange.seq, "response") == (answered, "")
    small = journal.record("ITI-18", "accepted", request={"body": body_for_journal(b"<q/>")})
    assert journal.body(small.seq, "request") == (b"<q/>", "")
    with psycopg.connect(database) as db:
        sides = db.execute("SELECT seq, side FROM journal_body ORDER BY seq, side").fetchall()
    assert sides == [(exchange.seq, "request"), (exchange.seq, "response")]


def test_an_entry_is_json_text_stored_uncompressed(database):
    journal = PostgresJournal("dmp", database)
    body = b"<a>" + b"x" * 300_000 + b"</a>"  # pglz would shrink this one a thousandfold
    exchange = journal.record("ITI-41", "accepted", request={"body": body_for_journal(body)})
    with psycopg.connect(database) as db:
        storage = db.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = 'journal'::regclass"
                             " AND attname = 'entry_text'").fetchone()
        stored = db.execute("SELECT pg_column_compression(entry_text), octet_length(entry_text), entry"
                            " FROM journal WHERE seq = %s", (exchange.seq,)).fetchone()
    assert storage == ("e",)
    assert stored[0] is None and stored[1] > 300_000 and stored[2] is None
    assert journal.get(exchange.seq).request["body"]["text"] == body.decode()


def test_entries_an_older_harness_wrote_as_jsonb_are_read_after_the_upgrade(database):
    with psycopg.connect(database, autocommit=True) as db:
        migrate(db, "journal", journal_pg.MIGRATIONS[:1])
        db.execute("INSERT INTO journal_state (tenant, service, task) VALUES ('', 'dmp', NULL)")
        old = {"time": "2026-12-01T10:00:00.000+00:00", "service": "dmp", "operation": "ITI-41",
               "verdict": "accepted", "rules": [], "findings": [], "request": {"body": {"text": "<old/>"}},
               "response": {}, "duration_ms": 1.5, "client": {}, "meta": {}}
        db.execute("INSERT INTO journal (tenant, service, operation, verdict, task, entry)"
                   " VALUES ('', 'dmp', 'ITI-41', 'accepted', 'dmp-01', %s)", (Jsonb(old),))
    journal = PostgresJournal("dmp", database)
    new = journal.record("ITI-18", "accepted")
    entries = journal.entries()
    assert [(e.operation, e.task) for e in entries] == [("ITI-41", "dmp-01"), ("ITI-18", None)]
    assert entries[0].request["body"]["text"] == "<old/>" and entries[0].duration_ms == 1.5
    assert journal.get(new.seq).operation == "ITI-18"
    assert [e.operation for e in journal.entries(task="dmp-01")] == ["ITI-41"]
