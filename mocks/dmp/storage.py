"""Durable storage of the DMP mock: SQLite in WAL mode, one file in the data directory.

Why SQLite: a submission is all-or-nothing, so the registry objects *and* the document bytes
(BLOBs) are written in one transaction — a failed or interrupted ITI-41 leaves nothing behind,
and a document is never visible without its metadata or the other way round. WAL lets queries
run while a submission is being written; `BEGIN IMMEDIATE` serialises writers; UNIQUE
constraints (submission set uniqueId, document uniqueId) make duplicate detection safe under
concurrent submissions.

Durability: in WAL mode, `synchronous=NORMAL` (the default) makes a committed submission survive
a crash or kill of the mock process — the commit is in the WAL file before the ITI-41 answer
goes out — and SQLite recovers it at the next open; only a power cut or an OS crash may lose the
last transactions (SQLite docs, "Write-Ahead Logging" and "PRAGMA synchronous"). That is the
guarantee a test double needs ("nothing already stored is lost" when the mock fails), without an
fsync per submission holding the writer lock. `synchronous=FULL` (`segur serve dmp --power-safe`)
also survives a power cut.

Document bytes are not in the database: each is one file under `<data>/documents/` (a random name
the `documents` row holds), written inside the submission's transaction before its COMMIT, and
removed again when the transaction rolls back. A row therefore never names a file that is not
whole; a file no row names (the mock killed between the write and the COMMIT) is never served and
is removed at a later open (once 10 minutes old: a younger one may be another process's submission in
flight). Through SQLite the same 1.4 MB cost ~3.2 ms of CPU (the page copies,
the WAL frame checksums, then the checkpoint writing every page a second time); one `os.write`
costs ~0.6 ms (measured on this 2-core machine, load ~5: 60 documents each way). With
`synchronous=FULL` the file and its folder are fsynced before the COMMIT. A store written before
(bytes in the `content` BLOB) is still read as it is.

Pages are SQLite's default 4 KiB (set when the file is created): with the documents' bytes in files,
a row is a few KiB of JSON, and each page a transaction changes is a WAL frame; 64 KiB pages (chosen when
the documents were BLOBs) made a submission's transaction cost 0.6 ms instead of 0.25 (docs/dmp.md). A
store created with 64 KiB pages keeps them.

Model objects are stored as JSON (`ebrim` dataclasses' `to_dict`), with the columns queries
filter on kept alongside; the status column is the truth for availabilityStatus (ITI-57 and
RPLC change it without rewriting the JSON).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from segur.mocks.dmp.xds_metadata import (
    Association,
    DocumentEntry,
    SubmissionSet,
    document_entry_from_dict,
    plain,
    submission_set_from_dict,
)

SCHEMA_VERSION = "1"
DB_NAME = "dmp.sqlite3"
DOCUMENTS_DIR = "documents"  # one file per stored document, named by the `documents.file` column
ORPHAN_AGE = 600  # seconds: an unreferenced document file older than this is removed when the store opens
PAGE_SIZE = 4096  # bytes: rows are JSON metadata, the documents' bytes are in files

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submission_sets (
    entry_uuid TEXT PRIMARY KEY, unique_id TEXT NOT NULL UNIQUE, patient_id TEXT NOT NULL,
    source_id TEXT, submission_time TEXT, status TEXT NOT NULL, data TEXT NOT NULL, received_at TEXT NOT NULL,
    journal_seq INTEGER);
CREATE INDEX IF NOT EXISTS ss_patient ON submission_sets(patient_id);
CREATE TABLE IF NOT EXISTS document_entries (
    entry_uuid TEXT PRIMARY KEY, logical_id TEXT NOT NULL, version INTEGER NOT NULL, unique_id TEXT NOT NULL,
    patient_id TEXT NOT NULL, status TEXT NOT NULL, submission_set TEXT NOT NULL, data TEXT NOT NULL,
    validation TEXT, received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS de_patient ON document_entries(patient_id);
CREATE INDEX IF NOT EXISTS de_unique ON document_entries(unique_id);
CREATE INDEX IF NOT EXISTS de_lid ON document_entries(logical_id);
CREATE TABLE IF NOT EXISTS associations (
    entry_uuid TEXT PRIMARY KEY, type TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL,
    status TEXT NOT NULL, submission_set TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS as_source ON associations(source);
CREATE INDEX IF NOT EXISTS as_target ON associations(target);
CREATE TABLE IF NOT EXISTS documents (
    unique_id TEXT PRIMARY KEY, content BLOB NOT NULL, mime_type TEXT, sha1 TEXT NOT NULL, size INTEGER NOT
    NULL, file TEXT);
CREATE TABLE IF NOT EXISTS dmp_state (ins TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT, updated_at
TEXT);
CREATE TABLE IF NOT EXISTS authorisations (
    ins TEXT NOT NULL, actor TEXT NOT NULL, status TEXT NOT NULL, expires_at TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (ins, actor));
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """The DMP's registry + repository + management state in one SQLite file."""

    def __init__(self, data_dir: str | Path, synchronous: str = "NORMAL"):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(
                "synchronous must be FULL (survives a power cut) or NORMAL (survives a crash of the mock)")
        self.synchronous = synchronous
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self.documents_dir = self.data_dir / DOCUMENTS_DIR
        self.documents_dir.mkdir(exist_ok=True)
        conn = self._conn()
        conn.executescript(_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        if "file" not in {row["name"] for row in conn.execute("PRAGMA table_info(documents)")}:
            conn.execute("ALTER TABLE documents ADD COLUMN file TEXT")  # a store from before document files
        self._remove_unreferenced_files()

    # --- connections and transactions ------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new, empty file
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): committed if the block succeeds, rolled back otherwise."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        self._local.written = written = []  # the document files this transaction wrote
        try:
            yield conn
            if written and self.synchronous == "FULL":
                _fsync_directory(self.documents_dir)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for path in written:
                path.unlink(missing_ok=True)
            raise
        finally:
            self._local.written = None

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def reset(self) -> None:
        """Delete every stored object (admin reset); the file and schema stay."""
        with self.transaction() as db:
            files = _document_files(db)
            for table in ("submission_sets", "document_entries", "associations", "documents", "dmp_state",
                          "authorisations"):
                db.execute(f"DELETE FROM {table}")
        for name in files:
            (self.documents_dir / name).unlink(missing_ok=True)

    def _remove_unreferenced_files(self) -> None:
        """Document files no row names: written by a submission the mock was killed in before its COMMIT.
        Only those older than `ORPHAN_AGE` seconds: a younger one may be a submission in flight in another
        process on the same data directory (two `segur serve dmp` by mistake), milliseconds from its
        COMMIT."""
        named = set(_document_files(self._conn()))
        old = time.time() - ORPHAN_AGE
        for path in self.documents_dir.iterdir():
            with suppress(FileNotFoundError):
                if path.name not in named and path.stat().st_mtime < old:
                    path.unlink(missing_ok=True)

    # --- writing a submission -----------------------------------------------------------------------
    @staticmethod
    def insert_submission_set(db, ss: SubmissionSet, journal_seq: int | None = None) -> None:
        db.execute("INSERT INTO submission_sets(entry_uuid, unique_id, patient_id, source_id,"
                   " submission_time, status, data, received_at, journal_seq) VALUES (?,?,?,?,?,?,?,?,?)",
                   (ss.entry_uuid, ss.unique_id, ss.patient_id, ss.source_id, ss.submission_time,
                    ss.availability_status, json.dumps(plain(ss)), now_iso(), journal_seq))

    @staticmethod
    def insert_entry(db, entry: DocumentEntry, submission_set: str, validation: dict | None) -> None:
        db.execute("INSERT INTO document_entries(entry_uuid, logical_id, version, unique_id, patient_id,"
                   " status, submission_set, data, validation, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (entry.entry_uuid, entry.logical_id or entry.entry_uuid, entry.version, entry.unique_id,
                    entry.patient_id, entry.availability_status, submission_set, json.dumps(plain(entry)),
                    json.dumps(validation) if validation is not None else None, now_iso()))

    @staticmethod
    def insert_association(db, assoc: Association, submission_set: str | None) -> None:
        db.execute("INSERT INTO associations(entry_uuid, type, source, target, status, submission_set, data)"
                   " VALUES (?,?,?,?,?,?,?)",
                   (assoc.entry_uuid, assoc.type, assoc.source, assoc.target, assoc.availability_status,
                    submission_set, json.dumps(plain(assoc))))

    def insert_document(self, db, unique_id: str, content: bytes, mime_type: str | None, sha1: str) -> None:
        """The bytes go to a file of their own, the row names it (inside `transaction()`, which removes the
        file again if the submission is rolled back)."""
        written = getattr(self._local, "written", None)
        if written is None:
            raise RuntimeError("insert_document writes inside Store.transaction() only")
        name = secrets.token_hex(16)
        path = self.documents_dir / name
        written.append(path)
        _write_new_file(path, content, durable=self.synchronous == "FULL")
        db.execute("INSERT INTO documents(unique_id, content, mime_type, sha1, size, file)"
                   " VALUES (?,?,?,?,?,?)", (unique_id, b"", mime_type, sha1, len(content), name))

    @staticmethod
    def set_entry_status(db, entry_uuid: str, expected: str | None, new: str) -> bool:
        """Change an entry's status if it is still `expected` (None: whatever it is); False if not."""
        if expected is None:
            cur = db.execute("UPDATE document_entries SET status=? WHERE entry_uuid=?", (new, entry_uuid))
        else:
            cur = db.execute("UPDATE document_entries SET status=? WHERE entry_uuid=? AND status=?",
                             (new, entry_uuid, expected))
        return cur.rowcount == 1

    # --- reading -------------------------------------------------------------------------------------
    def _entries(self, where: str, params: tuple) -> list[DocumentEntry]:
        query = f"SELECT data, status FROM document_entries WHERE {where} ORDER BY received_at"
        rows = self._conn().execute(query, params).fetchall()
        return [self._entry(row) for row in rows]

    @staticmethod
    def _entry(row) -> DocumentEntry:
        entry = document_entry_from_dict(json.loads(row["data"]))
        entry.availability_status = row["status"]
        return entry

    def entry(self, entry_uuid: str) -> DocumentEntry | None:
        found = self._entries("entry_uuid = ?", (entry_uuid,))
        return found[0] if found else None

    def entries_for_patient(self, patient_id: str) -> list[DocumentEntry]:
        return self._entries("patient_id = ?", (patient_id,))

    def entries_by_unique_id(self, unique_id: str) -> list[DocumentEntry]:
        return self._entries("unique_id = ?", (unique_id,))

    def entries_by_logical_id(self, logical_id: str) -> list[DocumentEntry]:
        return sorted(self._entries("logical_id = ?", (logical_id,)), key=lambda e: e.version)

    def entries_in_submission_set(self, ss_uuid: str) -> list[DocumentEntry]:
        return self._entries("submission_set = ?", (ss_uuid,))

    def all_entries(self) -> list[DocumentEntry]:
        return self._entries("1=1", ())

    def validation_of(self, entry_uuid: str) -> dict | None:
        row = self._one("SELECT validation FROM document_entries WHERE entry_uuid=?", entry_uuid)
        return json.loads(row["validation"]) if row and row["validation"] else None

    def _one(self, query: str, *params):
        """The first row a query gives, or None."""
        return self._conn().execute(query, params).fetchone()

    def submission_set(self, entry_uuid: str | None = None,
                       unique_id: str | None = None) -> SubmissionSet | None:
        if entry_uuid is not None:
            row = self._one("SELECT data, status FROM submission_sets WHERE entry_uuid=?", entry_uuid)
        else:
            row = self._one("SELECT data, status FROM submission_sets WHERE unique_id=?", unique_id)
        if row is None:
            return None
        ss = submission_set_from_dict(json.loads(row["data"]))
        ss.availability_status = row["status"]
        return ss

    def submission_sets_for_patient(self, patient_id: str) -> list[SubmissionSet]:
        query = "SELECT data, status FROM submission_sets WHERE patient_id=? ORDER BY received_at"
        rows = self._conn().execute(query, (patient_id,)).fetchall()
        result = []
        for row in rows:
            ss = submission_set_from_dict(json.loads(row["data"]))
            ss.availability_status = row["status"]
            result.append(ss)
        return result

    def associations_touching(self, uuids: list[str]) -> list[Association]:
        if not uuids:
            return []
        marks = ",".join("?" * len(uuids))
        rows = self._conn().execute(
            f"SELECT data, status FROM associations WHERE source IN ({marks}) OR target IN ({marks})",
            (*uuids, *uuids)).fetchall()
        result = []
        for row in rows:
            assoc = Association(**json.loads(row["data"]))
            assoc.availability_status = row["status"]
            result.append(assoc)
        return result

    def association_targets(self, source: str, types: tuple[str, ...]) -> list[str]:
        marks = ",".join("?" * len(types))
        rows = self._conn().execute(f"SELECT target FROM associations WHERE source=? AND type IN ({marks})",
                                    (source, *types)).fetchall()
        return [r["target"] for r in rows]

    def document(self, unique_id: str) -> tuple[bytes, str | None] | None:
        row = self._one("SELECT content, file, mime_type FROM documents WHERE unique_id=?", unique_id)
        if row is None:
            return None
        if row["file"] is None:  # stored before document files: the bytes are in the row
            return bytes(row["content"]), row["mime_type"]
        return (self.documents_dir / row["file"]).read_bytes(), row["mime_type"]

    def document_info(self, unique_id: str) -> dict | None:
        """mimeType, size and SHA-1 of a stored document, without reading its bytes."""
        row = self._conn().execute("SELECT mime_type, size, sha1 FROM documents WHERE unique_id=?",
                                   (unique_id,)).fetchone()
        return dict(row) if row else None

    def document_sha1(self, unique_id: str) -> str | None:
        row = self._conn().execute("SELECT sha1 FROM documents WHERE unique_id=?", (unique_id,)).fetchone()
        return row["sha1"] if row else None

    def counts(self) -> dict:
        conn = self._conn()
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("submission_sets", "document_entries", "associations", "documents")}

    # --- DMP management state (TD0.2/TD0.3, faults) ------------------------------------------------
    def dmp_state(self, ins: str) -> tuple[str, str | None] | None:
        row = self._conn().execute("SELECT state, reason FROM dmp_state WHERE ins=?", (ins,)).fetchone()
        return (row["state"], row["reason"]) if row else None

    def set_dmp_state(self, ins: str, state: str, reason: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO dmp_state(ins, state, reason, updated_at) VALUES (?,?,?,?) "
                       "ON CONFLICT(ins) DO UPDATE SET state=excluded.state, reason=excluded.reason, "
                       "updated_at=excluded.updated_at", (ins, state, reason, now_iso()))

    def authorisation(self, ins: str, actor: str) -> tuple[str, str | None] | None:
        row = self._conn().execute("SELECT status, expires_at FROM authorisations WHERE ins=? AND actor=?",
                                   (ins, actor)).fetchone()
        return (row["status"], row["expires_at"]) if row else None

    def set_authorisation(self, ins: str, actor: str, status: str, expires_at: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO authorisations(ins, actor, status, expires_at, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(ins, actor) DO UPDATE SET status=excluded.status, "
                "expires_at=excluded.expires_at, updated_at=excluded.updated_at",
                (ins, actor, status, expires_at, now_iso()))

    def delete_authorisation(self, ins: str, actor: str) -> bool:
        with self.transaction() as db:
            deleted = db.execute("DELETE FROM authorisations WHERE ins=? AND actor=?", (ins, actor))
            return deleted.rowcount == 1

    def authorisations(self) -> list[dict]:
        query = "SELECT ins, actor, status, expires_at, updated_at FROM authorisations"
        rows = self._conn().execute(query).fetchall()
        return [dict(r) for r in rows]


def _document_files(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT file FROM documents WHERE file IS NOT NULL")]


def _write_new_file(path: Path, content: bytes, durable: bool) -> None:
    """`content` in a file that did not exist, in one write where the OS allows; fsynced when `durable`."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view, done = memoryview(content), 0
        while done < len(view):
            done += os.write(descriptor, view[done:])
        if durable:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_directory(path: Path) -> None:
    """The folder's entries (a new file's name) on disk too: `synchronous=FULL`'s power-cut guarantee."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
