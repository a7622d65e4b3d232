"""The DMP's registry + repository on PostgreSQL: what several workers (or hosts) of one DMP share.

Same methods and meaning as the SQLite `Store` (storage.py), so the DMP's model cannot tell them apart:
model objects as JSON with the queried columns beside them, the status column the truth for
availabilityStatus, a submission written all-or-nothing in one transaction, duplicate uniqueIds refused
by the database's own UNIQUE constraints (so two workers racing for one uniqueId are settled by the
server, not by a lock in one process). Documents are `bytea` stored uncompressed (`STORAGE EXTERNAL`:
pglz would spend ~27 ms per MB of base64 it cannot shrink). Every table has a `tenant` column, part of
every key: tenants sharing a database never see each other, and `reset` deletes only the tenant's rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from segur.kernel.postgres import Migration, SharedConnections, migrate, shown_url
from segur.mocks.dmp.storage import now_iso
from segur.mocks.dmp.xds_metadata import (
    Association,
    DocumentEntry,
    SubmissionSet,
    document_entry_from_dict,
    plain,
    submission_set_from_dict,
)

MIGRATIONS = [
    Migration(1, "DMP registry, repository and management state", """
        CREATE TABLE dmp_submission_sets (
            tenant text NOT NULL, entry_uuid text NOT NULL, unique_id text NOT NULL, patient_id text NOT NULL,
            source_id text, submission_time text, status text NOT NULL, data text NOT NULL,
            received_at text NOT NULL, journal_seq bigint,
            PRIMARY KEY (tenant, entry_uuid), UNIQUE (tenant, unique_id));
        CREATE INDEX dmp_ss_patient ON dmp_submission_sets (tenant, patient_id);
        CREATE TABLE dmp_document_entries (
            tenant text NOT NULL, entry_uuid text NOT NULL, logical_id text NOT NULL,
            version integer NOT NULL, unique_id text NOT NULL, patient_id text NOT NULL, status text NOT NULL,
            submission_set text NOT NULL, data text NOT NULL, validation text, received_at text NOT NULL,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (tenant, entry_uuid));
        CREATE INDEX dmp_de_patient ON dmp_document_entries (tenant, patient_id);
        CREATE INDEX dmp_de_unique ON dmp_document_entries (tenant, unique_id);
        CREATE INDEX dmp_de_lid ON dmp_document_entries (tenant, logical_id);
        CREATE INDEX dmp_de_set ON dmp_document_entries (tenant, submission_set);
        CREATE TABLE dmp_associations (
            tenant text NOT NULL, entry_uuid text NOT NULL, type text NOT NULL, source text NOT NULL,
            target text NOT NULL, status text NOT NULL, submission_set text, data text NOT NULL,
            PRIMARY KEY (tenant, entry_uuid));
        CREATE INDEX dmp_as_source ON dmp_associations (tenant, source);
        CREATE INDEX dmp_as_target ON dmp_associations (tenant, target);
        CREATE TABLE dmp_documents (
            tenant text NOT NULL, unique_id text NOT NULL, content bytea NOT NULL, mime_type text,
            sha1 text NOT NULL, size bigint NOT NULL, PRIMARY KEY (tenant, unique_id));
        ALTER TABLE dmp_documents ALTER COLUMN content SET STORAGE EXTERNAL;
        CREATE TABLE dmp_state (
            tenant text NOT NULL, ins text NOT NULL, state text NOT NULL, reason text, updated_at text,
            PRIMARY KEY (tenant, ins));
        CREATE TABLE dmp_authorisations (
            tenant text NOT NULL, ins text NOT NULL, actor text NOT NULL, status text NOT NULL,
            expires_at text, updated_at text NOT NULL, PRIMARY KEY (tenant, ins, actor));
    """),
]
COUNTED = ("submission_sets", "document_entries", "associations", "documents")
TENANT_TABLES = (*COUNTED, "state", "authorisations")
# The SQLite names of the UNIQUE keys, as the model reads them in an IntegrityError (models.py).
CONSTRAINT_NAMES = {"dmp_submission_sets_tenant_unique_id_key": "submission_sets.unique_id",
                    "dmp_documents_pkey": "documents.unique_id"}


class DuplicateKey(sqlite3.IntegrityError):
    """A UNIQUE key refused a row: the same exception, and message, the SQLite store raises, so the
    model's handling of a lost race is the same on both stores."""


@dataclass
class Writer:
    """What `transaction()` yields: the connection in a transaction, and the tenant every row carries.

    The statements go in pipeline mode (libpq's): sent without waiting for each answer, so a submission's
    BEGIN, INSERTs and COMMIT cost one round trip instead of six. A result needed at once (a row count)
    asks for it with `sync()`; an error (a UNIQUE key) comes at the latest when the block ends."""

    connection: psycopg.Connection
    tenant: str
    pipeline: psycopg.Pipeline | None = None

    def execute(self, query: str, params=()):
        return self.connection.execute(query, params)

    def sync(self) -> None:
        """Wait for the answers of the statements sent so far (their results, or their error)."""
        if self.pipeline is not None:
            self.pipeline.sync()


class PostgresDmpStore:
    """The DMP's registry + repository + management state of one tenant in a PostgreSQL database."""

    def __init__(self, url: str, tenant: str = ""):
        self.url, self.tenant = url, tenant
        self.path = shown_url(url, tenant)
        self._connections = SharedConnections(url)
        migrate(self._conn(), "dmp", MIGRATIONS)

    # --- connections and transactions ------------------------------------------------------------
    def _conn(self) -> psycopg.Connection:
        return self._connections.get()

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """A write transaction: committed if the block succeeds, rolled back otherwise."""
        connection = self._conn()
        try:
            with connection.pipeline() as pipeline, connection.transaction():
                yield Writer(connection, self.tenant, pipeline)
        except psycopg.errors.UniqueViolation as exc:
            name = getattr(exc.diag, "constraint_name", None) or ""
            raise DuplicateKey(f"UNIQUE constraint failed: {CONSTRAINT_NAMES.get(name, name)}") from exc

    def close(self) -> None:
        self._connections.close_all()

    def reset(self) -> None:
        """Delete this tenant's objects (admin reset); other tenants' rows and the schema stay."""
        with self.transaction() as db:
            for table in TENANT_TABLES:
                db.execute(f"DELETE FROM dmp_{table} WHERE tenant = %s", (self.tenant,))

    # --- writing a submission -----------------------------------------------------------------------
    @staticmethod
    def insert_submission_set(db: Writer, ss: SubmissionSet, journal_seq: int | None = None) -> None:
        db.execute("INSERT INTO dmp_submission_sets (tenant, entry_uuid, unique_id, patient_id, source_id,"
                   " submission_time, status, data, received_at, journal_seq)"
                   " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                   (db.tenant, ss.entry_uuid, ss.unique_id, ss.patient_id, ss.source_id, ss.submission_time,
                    ss.availability_status, json.dumps(plain(ss)), now_iso(), journal_seq))

    @staticmethod
    def insert_entry(db: Writer, entry: DocumentEntry, submission_set: str, validation: dict | None) -> None:
        report = json.dumps(validation) if validation is not None else None
        db.execute("INSERT INTO dmp_document_entries (tenant, entry_uuid, logical_id, version, unique_id,"
                   " patient_id, status, submission_set, data, validation, received_at)"
                   " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                   (db.tenant, entry.entry_uuid, entry.logical_id or entry.entry_uuid, entry.version,
                    entry.unique_id, entry.patient_id, entry.availability_status, submission_set,
                    json.dumps(plain(entry)), report, now_iso()))

    @staticmethod
    def insert_association(db: Writer, assoc: Association, submission_set: str | None) -> None:
        db.execute("INSERT INTO dmp_associations (tenant, entry_uuid, type, source, target, status,"
                   " submission_set, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                   (db.tenant, assoc.entry_uuid, assoc.type, assoc.source, assoc.target,
                    assoc.availability_status, submission_set, json.dumps(plain(assoc))))

    @staticmethod
    def insert_document(db: Writer, unique_id: str, content: bytes, mime_type: str | None, sha1: str) -> None:
        db.execute("INSERT INTO dmp_documents (tenant, unique_id, content, mime_type, sha1, size)"
                   " VALUES (%s, %s, %s, %s, %s, %s)",
                   (db.tenant, unique_id, bytes(content), mime_type, sha1, len(content)))

    @staticmethod
    def set_entry_status(db: Writer, entry_uuid: str, expected: str | None, new: str) -> bool:
        """Change an entry's status if it is still `expected` (None: whatever it is); False if not."""
        query = "UPDATE dmp_document_entries SET status = %s WHERE tenant = %s AND entry_uuid = %s"
        params: tuple = (new, db.tenant, entry_uuid)
        if expected is not None:
            query, params = query + " AND status = %s", (*params, expected)
        changed = db.execute(query, params)
        db.sync()  # the row count is the answer: wait for it
        return changed.rowcount == 1

    # --- reading -------------------------------------------------------------------------------------
    def _rows(self, query: str, *params) -> list[tuple]:
        """The rows of a query on this tenant's objects: its first parameter is the tenant."""
        return self._conn().execute(query, (self.tenant, *params)).fetchall()

    def _one(self, query: str, *params) -> tuple | None:
        rows = self._rows(query, *params)
        return rows[0] if rows else None

    def _entries(self, where: str, *params) -> list[DocumentEntry]:
        rows = self._rows("SELECT data, status FROM dmp_document_entries"
                          f" WHERE tenant = %s AND {where} ORDER BY seq", *params)
        return [_with_status(document_entry_from_dict, data, status) for data, status in rows]

    def entry(self, entry_uuid: str) -> DocumentEntry | None:
        found = self._entries("entry_uuid = %s", entry_uuid)
        return found[0] if found else None

    def entries_for_patient(self, patient_id: str) -> list[DocumentEntry]:
        return self._entries("patient_id = %s", patient_id)

    def entries_by_unique_id(self, unique_id: str) -> list[DocumentEntry]:
        return self._entries("unique_id = %s", unique_id)

    def entries_by_logical_id(self, logical_id: str) -> list[DocumentEntry]:
        return sorted(self._entries("logical_id = %s", logical_id), key=lambda e: e.version)

    def entries_in_submission_set(self, ss_uuid: str) -> list[DocumentEntry]:
        return self._entries("submission_set = %s", ss_uuid)

    def all_entries(self) -> list[DocumentEntry]:
        return self._entries("true")

    def validation_of(self, entry_uuid: str) -> dict | None:
        row = self._one("SELECT validation FROM dmp_document_entries WHERE tenant = %s AND entry_uuid = %s",
                        entry_uuid)
        return json.loads(row[0]) if row and row[0] else None

    def submission_set(self, entry_uuid: str | None = None,
                       unique_id: str | None = None) -> SubmissionSet | None:
        column, value = ("entry_uuid", entry_uuid) if entry_uuid is not None else ("unique_id", unique_id)
        row = self._one(f"SELECT data, status FROM dmp_submission_sets WHERE tenant = %s AND {column} = %s",
                        value)
        return _with_status(submission_set_from_dict, *row) if row else None

    def submission_sets_for_patient(self, patient_id: str) -> list[SubmissionSet]:
        rows = self._rows("SELECT data, status FROM dmp_submission_sets WHERE tenant = %s AND patient_id = %s"
                          " ORDER BY received_at", patient_id)
        return [_with_status(submission_set_from_dict, data, status) for data, status in rows]

    def associations_touching(self, uuids: list[str]) -> list[Association]:
        if not uuids:
            return []
        rows = self._rows("SELECT data, status FROM dmp_associations WHERE tenant = %s"
                          " AND (source = ANY(%s) OR target = ANY(%s))", list(uuids), list(uuids))
        return [_with_status(lambda fields: Association(**fields), data, status) for data, status in rows]

    def association_targets(self, source: str, types: tuple[str, ...]) -> list[str]:
        rows = self._rows("SELECT target FROM dmp_associations WHERE tenant = %s AND source = %s"
                          " AND type = ANY(%s)", source, list(types))
        return [target for (target,) in rows]

    def document(self, unique_id: str) -> tuple[bytes, str | None] | None:
        """The bytes in PostgreSQL's binary format: the text one (hex) costs ~4x to decode (measured)."""
        row = self._conn().execute(
            "SELECT content, mime_type FROM dmp_documents WHERE tenant = %s AND unique_id = %s",
            (self.tenant, unique_id), binary=True).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def document_info(self, unique_id: str) -> dict | None:
        """mimeType, size and SHA-1 of a stored document, without reading its bytes."""
        row = self._one("SELECT mime_type, size, sha1 FROM dmp_documents"
                        " WHERE tenant = %s AND unique_id = %s", unique_id)
        return dict(zip(("mime_type", "size", "sha1"), row, strict=True)) if row else None

    def document_sha1(self, unique_id: str) -> str | None:
        row = self._one("SELECT sha1 FROM dmp_documents WHERE tenant = %s AND unique_id = %s", unique_id)
        return row[0] if row else None

    def counts(self) -> dict:
        return {table: self._one(f"SELECT count(*) FROM dmp_{table} WHERE tenant = %s")[0]
                for table in COUNTED}

    # --- DMP management state (TD0.2/TD0.3, faults) ------------------------------------------------
    def dmp_state(self, ins: str) -> tuple[str, str | None] | None:
        row = self._one("SELECT state, reason FROM dmp_state WHERE tenant = %s AND ins = %s", ins)
        return (row[0], row[1]) if row else None

    def set_dmp_state(self, ins: str, state: str, reason: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO dmp_state (tenant, ins, state, reason, updated_at)"
                       " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant, ins) DO UPDATE SET"
                       " state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at",
                       (self.tenant, ins, state, reason, now_iso()))

    def authorisation(self, ins: str, actor: str) -> tuple[str, str | None] | None:
        row = self._one("SELECT status, expires_at FROM dmp_authorisations"
                        " WHERE tenant = %s AND ins = %s AND actor = %s", ins, actor)
        return (row[0], row[1]) if row else None

    def set_authorisation(self, ins: str, actor: str, status: str, expires_at: str | None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO dmp_authorisations (tenant, ins, actor, status, expires_at, updated_at)"
                       " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant, ins, actor) DO UPDATE SET"
                       " status = excluded.status, expires_at = excluded.expires_at,"
                       " updated_at = excluded.updated_at",
                       (self.tenant, ins, actor, status, expires_at, now_iso()))

    def delete_authorisation(self, ins: str, actor: str) -> bool:
        with self.transaction() as db:
            deleted = db.execute("DELETE FROM dmp_authorisations"
                                 " WHERE tenant = %s AND ins = %s AND actor = %s", (self.tenant, ins, actor))
            db.sync()
            return deleted.rowcount == 1

    def authorisations(self) -> list[dict]:
        columns = ("ins", "actor", "status", "expires_at", "updated_at")
        rows = self._rows(f"SELECT {', '.join(columns)} FROM dmp_authorisations WHERE tenant = %s")
        return [dict(zip(columns, row, strict=True)) for row in rows]


def _with_status(from_dict, data: str, status: str):
    """A model object from its JSON, with the status column (the truth) as its availabilityStatus."""
    found = from_dict(json.loads(data))
    found.availability_status = status
    return found
