"""The journal on PostgreSQL: what several worker processes (or hosts) of one service share.

Same interface as `segur.kernel.journal.Journal` — the admin API and the judge cannot tell them apart —
but every exchange is a row, so an exchange recorded by one worker is listed by another, and the task the
judge set (`PUT /_admin/task`) is one row per service read by every worker. Whole bodies are kept in a
side table stored uncompressed (`STORAGE EXTERNAL`: pglz would cost ~27 ms per MB of base64 it cannot
shrink much). Bounded like the in-memory journal: the oldest rows beyond `max_entries` go, counted.

The entry itself (with the first 512 K characters of each body) is JSON text in `entry_text`, also
`STORAGE EXTERNAL` (schema version 2): as `jsonb` the server parsed it and tried pglz on it, 2.7 ms of
PostgreSQL CPU for an entry with a 110 KB body and 26 ms for one with a 1 MB body, against 0.7 and 4.3 ms
as text (measured, benchmarks/dmp_workers.py and docs/deploy.md). Nothing queries inside an entry; rows an
older harness wrote keep their `entry` (jsonb) and are read the same. An exchange is one statement (the
row and its whole bodies, a data-modifying WITH): one round trip, atomic without BEGIN and COMMIT.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import psycopg

from segur.kernel.journal import EVICTED_NOTE, Exchange, take_whole, whole_bytes
from segur.kernel.postgres import Migration, SharedConnections, migrate

MIGRATIONS = [
    Migration(1, "journal of exchanges, whole bodies, current task", """
        CREATE TABLE journal (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant text NOT NULL, service text NOT NULL, operation text NOT NULL, verdict text NOT NULL,
            task text, entry jsonb NOT NULL);
        CREATE INDEX journal_by_service ON journal (tenant, service, seq);
        CREATE TABLE journal_body (
            seq bigint NOT NULL REFERENCES journal ON DELETE CASCADE, side text NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (seq, side));
        ALTER TABLE journal_body ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE journal_state (
            tenant text NOT NULL, service text NOT NULL, task text, dropped bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, service));
    """),
    Migration(2, "entries as JSON text stored uncompressed (no jsonb parse, no pglz)", """
        ALTER TABLE journal ADD COLUMN entry_text text;
        ALTER TABLE journal ALTER COLUMN entry_text SET STORAGE EXTERNAL;
        ALTER TABLE journal ALTER COLUMN entry DROP NOT NULL;
    """),
]
ENTRY = "coalesce(entry_text, entry::text)"  # the rows of schema version 1 have only `entry`
ADD = ("INSERT INTO journal (tenant, service, operation, verdict, task, entry_text) VALUES (%s, %s, %s, %s,"
       " (SELECT task FROM journal_state WHERE tenant = %s AND service = %s), %s) RETURNING seq, task")
# the whole bodies as binary parameters (%b): an array of bytea would be hex text, 5x the CPU (measured)
ADD_WITH_BODIES = (f"WITH added AS ({ADD}), bodies AS (INSERT INTO journal_body (seq, side, data)"
                   " SELECT added.seq, body.side, body.data FROM added, (VALUES {}) AS body (side, data))"
                   " SELECT seq, task FROM added")
PRUNE_EVERY = 500  # records between two trims of the oldest rows (per process)


class PostgresJournal:
    """A service's journal in a PostgreSQL database shared by its workers; `tenant` isolates users."""

    def __init__(self, service: str, url: str, *, tenant: str = "", max_entries: int = 20_000,
                 prune_every: int = PRUNE_EVERY):
        self.service, self.tenant = service, tenant
        self.max_entries, self.prune_every = max_entries, prune_every
        self._url = url
        self._connections = SharedConnections(url)
        self._records = itertools.count(1)
        with psycopg.connect(url, autocommit=True) as connection:
            migrate(connection, "journal", MIGRATIONS)
            connection.execute("INSERT INTO journal_state (tenant, service) VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", (tenant, service))

    def _db(self) -> psycopg.Connection:
        return self._connections.get()

    def close(self) -> None:
        """Give back this journal's share of the process's connections (`SharedConnections`: they close with
        their last user); a stopped service held them until the process ended."""
        self._connections.close_all()

    # --- the judge's task and the counters, shared by every worker ------------------------------
    @property
    def task(self) -> str | None:
        row = self._db().execute("SELECT task FROM journal_state WHERE tenant = %s AND service = %s",
                                 (self.tenant, self.service)).fetchone()
        return row[0] if row else None

    @task.setter
    def task(self, value: str | None) -> None:
        self._db().execute("UPDATE journal_state SET task = %s WHERE tenant = %s AND service = %s",
                           (value, self.tenant, self.service))

    @property
    def dropped(self) -> int:
        row = self._db().execute("SELECT dropped FROM journal_state WHERE tenant = %s AND service = %s",
                                 (self.tenant, self.service)).fetchone()
        return row[0] if row else 0

    # --- recording ------------------------------------------------------------------------------
    def record(self, operation: str, verdict: str, *, findings=(), request=None, response=None,
               duration_ms=None, client=None, meta=None) -> Exchange:
        found = [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in findings]
        wholes = {side: take_whole(part) for side, part in (("request", request), ("response", response))}
        for side, data in wholes.items():
            if data is not None:
                part = request if side == "request" else response
                part["body"] = {**part["body"], "whole": "spilled"}
        exchange = Exchange(seq=0, time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                            service=self.service, operation=operation, verdict=verdict,
                            rules=list(dict.fromkeys(f["rule"] for f in found)), findings=found,
                            request=request or {}, response=response or {},
                            duration_ms=None if duration_ms is None else round(duration_ms, 3),
                            client=client or {}, meta=meta or {})
        entry = exchange.to_dict()
        del entry["seq"], entry["task"]  # columns: the task is read from the shared state by the insert
        params = [self.tenant, self.service, operation, verdict, self.tenant, self.service, json.dumps(entry)]
        spilled = {side: data for side, data in wholes.items() if data is not None}
        query = ADD
        if spilled:
            query = ADD_WITH_BODIES.format(", ".join(["(%s, %b::bytea)"] * len(spilled)))
            params += [value for pair in spilled.items() for value in pair]
        exchange.seq, exchange.task = self._db().execute(query, params).fetchone()
        if next(self._records) % self.prune_every == 0:
            self._prune()
        return exchange

    def _prune(self) -> None:
        db = self._db()
        with db.transaction():
            gone = db.execute(
                "DELETE FROM journal WHERE tenant = %s AND service = %s AND seq <= ("
                " SELECT seq FROM journal WHERE tenant = %s AND service = %s"
                " ORDER BY seq DESC OFFSET %s LIMIT 1)",
                (self.tenant, self.service, self.tenant, self.service, self.max_entries)).rowcount
            if gone:
                db.execute("UPDATE journal_state SET dropped = dropped + %s "
                           "WHERE tenant = %s AND service = %s", (gone, self.tenant, self.service))

    # --- reading --------------------------------------------------------------------------------
    def entries(self, operation: str | None = None, verdict: str | None = None, since: int = 0,
                limit: int | None = None, task: str | None = None) -> list[Exchange]:
        query = [f"SELECT seq, task, {ENTRY} FROM journal WHERE tenant = %s AND service = %s AND seq > %s"]
        params: list = [self.tenant, self.service, since]
        for column, value in (("operation", operation), ("verdict", verdict), ("task", task)):
            if value is not None:
                query.append(f"AND {column} = %s")
                params.append(value)
        selected = " ".join(query)
        if limit:
            rows = self._db().execute(selected + " ORDER BY seq DESC LIMIT %s", [*params, limit]).fetchall()
            rows.reverse()
        else:
            rows = self._db().execute(selected + " ORDER BY seq", params).fetchall()
        return [_exchange(*row) for row in rows]

    def get(self, seq: int) -> Exchange | None:
        one = f"SELECT seq, task, {ENTRY} FROM journal WHERE tenant = %s AND service = %s AND seq = %s"
        row = self._db().execute(one, (self.tenant, self.service, seq)).fetchone()
        return _exchange(*row) if row else None

    def body(self, seq: int, side: str) -> tuple[bytes | None, str]:
        entry = self.get(seq)
        if entry is None:
            return None, f"no exchange {seq} in the journal"
        body = getattr(entry, side).get("body")
        if not isinstance(body, dict):
            return None, f"exchange {seq} journalled no {side} body"
        if body.get("whole") == "spilled":
            row = self._db().execute("SELECT data FROM journal_body WHERE seq = %s AND side = %s",
                                     (seq, side)).fetchone()
            return (bytes(row[0]), "") if row else (None, f"the {side} body of exchange {seq} was evicted: "
                                                          f"{EVICTED_NOTE}")
        data = whole_bytes(body)
        if data is not None:
            return data, ""
        return None, f"the journal kept only part of the {side} body of exchange {seq} (no whole copy)"

    def clear(self) -> None:
        db = self._db()
        with db.transaction():
            db.execute("DELETE FROM journal WHERE tenant = %s AND service = %s", (self.tenant, self.service))
            db.execute("UPDATE journal_state SET dropped = 0 WHERE tenant = %s AND service = %s",
                       (self.tenant, self.service))

    def __len__(self) -> int:
        return self._db().execute("SELECT count(*) FROM journal WHERE tenant = %s AND service = %s",
                                  (self.tenant, self.service)).fetchone()[0]


def _exchange(seq: int, task: str | None, entry: dict | str) -> Exchange:
    data = json.loads(entry) if isinstance(entry, str) else dict(entry)
    return Exchange(seq=seq, task=task, **data)
