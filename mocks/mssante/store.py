"""Where the MSSanté mock keeps what it accepted: one SQLite file (``<data>/mssante.sqlite3``), or an
in-memory database when no data folder is given (the pytest fixtures).

What is stored, per delivered copy (a message to 3 recipients is 3 copies, as in 3 mailboxes): the
stamped message (BLOB), the mock's verdict record (`StoredMessage` as JSON: rules, findings,
documents…), the IMAP UID it has in the recipient's INBOX and its IMAP flags (``\\Seen``…); plus
the journal (the last `Journal` entries) and each mailbox's last UID and UIDVALIDITY.

Durability (same choice as the DMP mock, `segur.mocks.dmp.storage`): WAL mode with
``synchronous=NORMAL`` — a committed transaction is in the WAL file, written by the kernel, before
`add_copies` returns, so before the SMTP ``250`` goes out; a ``kill -9`` of the mock loses nothing
acknowledged, SQLite rolls a half-written transaction back at the next open (so a message killed
mid-DATA is absent, never half there). Only a power cut / OS crash may lose the last commits
(https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous);
``power_safe=True`` (``synchronous=FULL``) fsyncs each commit.

Why not pymap's ``maildir`` backend: a message file and its UID are two separate writes (the UID in
a ``dovecot-uidlist`` rewritten whole, without fsync, on every append: O(n) per message, so O(n²) for a
long CI run into one mailbox), and the mock's verdicts, journal and login rules would still need a
store of their own. One SQLite transaction holds all of it (details in docs/mssante.md).

Memory: message bodies are read back from disk when an IMAP client fetches them (a small LRU of
parsed messages); what stays in Python per message is the IMAP index (UID, flags, date: a few
under 1 KiB per message; see docs/mssante.md, Storage).
"""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from segur.kernel.journal import Exchange, Journal

DB_NAME = "mssante.sqlite3"
PAGE_SIZE = 16384  # of a new file (an existing one keeps its own); docs/mssante.md (store) has the measures
FIRST_UID = 101  # pymap's dict backend starts at 100 + 1; kept so UIDs look the same in both modes
JOURNAL_KEEP = 20_000  # journal rows kept on disk (the in-memory Journal's own bound)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS boxes (mailbox TEXT PRIMARY KEY, last_uid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS copies (
    row INTEGER PRIMARY KEY AUTOINCREMENT, mock_id TEXT, mailbox TEXT NOT NULL, uid INTEGER NOT NULL,
    kind TEXT NOT NULL, received REAL NOT NULL, flags TEXT NOT NULL DEFAULT '',
    expunged INTEGER NOT NULL DEFAULT 0, data TEXT, raw BLOB NOT NULL, UNIQUE (mailbox, uid));
CREATE INDEX IF NOT EXISTS copies_mock_id ON copies(mock_id);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);
"""


class MailStore:
    """The mock's mailboxes on disk (or in memory); thread-safe (one connection behind a lock)."""

    shared = False  # one process owns the file (PostgreSQL's store is shared: `store_pg`)

    def __init__(self, data_dir: str | Path | None = None, *, power_safe: bool = False):
        self.path = Path(data_dir) / DB_NAME if data_dir is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        if self.path is not None:
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new, empty file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if power_safe else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._journal_writes = 0
        self._numbers = itertools.count(self.last_mock_number() + 1)  # one process owns the file

    @property
    def persistent(self) -> bool:
        return self.path is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ mailbox copies
    def uid_validity(self) -> int:
        """The UIDVALIDITY of every INBOX: kept across restarts, changed by `reset` (RFC 3501 §2.3.1.1)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='uid_validity'").fetchone()
            if row:
                return int(row[0])
            value = int(time.time()) & 0x7FFFFFFF or 1
            self._db.execute("INSERT INTO meta VALUES ('uid_validity', ?)", (str(value),))
            return value

    def add_copies(self, copies: Iterable[tuple[str, str | None, str, dict | None, bytes]]) -> list[int]:
        """Store copies ``(mailbox, mock_id, kind, record, raw)`` in one transaction; their new UIDs.
        Committed (in the WAL) when this returns."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                uids = [self._add_one(mailbox.lower(), mock_id, kind, record, raw, now)
                        for mailbox, mock_id, kind, record, raw in copies]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return uids

    def _add_one(self, mailbox, mock_id, kind, record, raw, now) -> int:
        uid = self._next_uid(mailbox)
        data = json.dumps(record) if record is not None else None
        self._db.execute("INSERT INTO copies (mock_id, mailbox, uid, kind, received, data, raw) "
                         "VALUES (?,?,?,?,?,?,?)", (mock_id, mailbox, uid, kind, now, data, raw))
        return uid

    def _next_uid(self, mailbox: str) -> int:
        return self._db.execute(
            "INSERT INTO boxes VALUES (?, ?) ON CONFLICT(mailbox) DO UPDATE SET last_uid = last_uid + 1 "
            "RETURNING last_uid", (mailbox, FIRST_UID)).fetchone()[0]

    def last_uid(self, mailbox: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT last_uid FROM boxes WHERE mailbox=?",
                                   (mailbox.lower(),)).fetchone()
        return row[0] if row else FIRST_UID - 1

    def reserve_uid(self, mailbox: str, uid: int) -> None:
        """A UID given by IMAP itself (a COPY into the INBOX): never given again to a stored copy."""
        with self._lock:
            self._db.execute("INSERT INTO boxes VALUES (?, ?) ON CONFLICT(mailbox) DO UPDATE SET "
                             "last_uid = max(last_uid, excluded.last_uid)", (mailbox.lower(), uid))

    def inbox_index(self, mailbox: str, after_uid: int = 0) -> list[tuple[int, float, str]]:
        """``(uid, received, flags)`` of the INBOX copies with a UID above `after_uid`, in UID order."""
        with self._lock:
            return self._db.execute("SELECT uid, received, flags FROM copies WHERE mailbox=? AND uid>? "
                                    "AND expunged=0 ORDER BY uid", (mailbox.lower(), after_uid)).fetchall()

    def raw(self, mailbox: str, uid: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT raw FROM copies WHERE mailbox=? AND uid=?",
                                   (mailbox.lower(), uid)).fetchone()
        return row[0] if row else None

    def set_flags(self, mailbox: str, uid: int, flags: Iterable[str]) -> None:
        with self._lock:
            self._db.execute("UPDATE copies SET flags=? WHERE mailbox=? AND uid=?",
                             (" ".join(sorted(flags)), mailbox.lower(), uid))

    def expunge(self, mailbox: str, uids: Iterable[int]) -> None:
        """IMAP EXPUNGE: gone from the INBOX; the mock's record stays visible in the admin API."""
        with self._lock:
            self._db.executemany("UPDATE copies SET expunged=1 WHERE mailbox=? AND uid=?",
                                 [(mailbox.lower(), uid) for uid in uids])

    # ------------------------------------------------------------------ the mock's records
    def records(self, mailbox: str | None = None, mock_id: str | None = None,
                with_raw: bool = False) -> list[tuple[dict, bytes | None]]:
        """The verdict records (and, with `with_raw`, the stored bytes) of the delivered copies, in order."""
        query = f"SELECT data, {'raw' if with_raw else 'NULL'} FROM copies WHERE data IS NOT NULL"
        args: list = []
        if mailbox is not None:
            query, args = query + " AND mailbox=?", [*args, mailbox.lower()]
        if mock_id is not None:
            query, args = query + " AND mock_id=?", [*args, mock_id]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY row", args).fetchall()
        return [(json.loads(data), raw) for data, raw in rows]

    def message_raw(self, mock_id: str, mailbox: str | None = None) -> bytes | None:
        """The stored bytes of one message: the copy in `mailbox`, else the first delivered copy."""
        query, args = "SELECT raw FROM copies WHERE mock_id=?", [mock_id]
        if mailbox is not None:
            query, args = query + " AND mailbox=?", [*args, mailbox.lower()]
        with self._lock:
            row = self._db.execute(query + " ORDER BY row LIMIT 1", args).fetchone()
        return row[0] if row else None

    def documents(self, limit: int) -> list[tuple[str, list[dict]]]:
        """``(message id, documents)`` of the last `limit` stored messages that carried documents, oldest
        first (one copy per message)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT mock_id, json_extract(data, '$.documents') FROM copies WHERE row IN ("
                "SELECT min(row) FROM copies "
                "WHERE kind='message' AND json_array_length(data, '$.documents') > 0 "
                "GROUP BY mock_id ORDER BY min(row) DESC LIMIT ?) ORDER BY row", (limit,)).fetchall()
        return [(mock_id, json.loads(documents)) for mock_id, documents in rows]

    def counts(self) -> dict[str, int]:
        """Mailbox → number of the mock's delivered copies in it."""
        with self._lock:
            return dict(self._db.execute("SELECT mailbox, count(*) FROM copies WHERE data IS NOT NULL "
                                         "GROUP BY mailbox").fetchall())

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM copies WHERE data IS NOT NULL").fetchone()[0]

    def next_number(self) -> int:
        """The number of the next ``MSS-nnnnnn`` id (after those of the file, across restarts)."""
        with self._lock:
            return next(self._numbers)

    def last_mock_number(self) -> int:
        """The highest ``MSS-nnnnnn`` number given, so that ids go on after a restart."""
        with self._lock:
            row = self._db.execute("SELECT max(CAST(substr(mock_id, 5) AS INTEGER)) FROM copies "
                                   "WHERE mock_id LIKE 'MSS-%'").fetchone()
            saved = self._db.execute("SELECT value FROM meta WHERE key='last_mock_number'").fetchone()
        return max(row[0] or 0, int(saved[0]) if saved else 0)

    # ------------------------------------------------------------------ journal
    def add_journal(self, seq: int, entry: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO journal VALUES (?, ?)",
                             (seq, json.dumps(entry, default=str)))
            self._journal_writes += 1
            if self._journal_writes % 1000 == 0:  # keep the table bounded like the in-memory journal
                self._db.execute("DELETE FROM journal WHERE seq <= ?", (seq - JOURNAL_KEEP,))

    def journal_entries(self, limit: int = JOURNAL_KEEP) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM (SELECT seq, data FROM journal ORDER BY seq DESC "
                                    "LIMIT ?) ORDER BY seq", (limit,)).fetchall()
        return [json.loads(data) for (data,) in rows]

    def clear_journal(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM journal")

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        """Empty every mailbox on disk too (rows deleted, file compacted) and start a new UIDVALIDITY
        (the journal is the journal's to clear: `clear_journal`); message ids go on (``MSS-nnnnnn`` are
        never reused, so old references stay unambiguous)."""
        with self._lock:
            last = self.last_mock_number()
            self._db.executescript("BEGIN IMMEDIATE; DELETE FROM copies; DELETE FROM boxes; "
                                   "DELETE FROM meta; COMMIT;")
            self._db.execute("INSERT INTO meta VALUES ('last_mock_number', ?)", (str(last),))
            self._db.execute("INSERT INTO meta VALUES ('uid_validity', ?)",
                             (str(secrets.randbelow(0x7FFFFFFE) + 1),))
            if self.path is not None:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class StoredJournal(Journal):
    """The kernel's journal, also written to the store (one row per exchange) and read back at start, so
    that a restarted mock still shows what it saw before (the last `max_entries`)."""

    def __init__(self, service: str, store: MailStore, max_entries: int = JOURNAL_KEEP):
        super().__init__(service, max_entries)
        self.store = store
        entries = [Exchange(**entry) for entry in store.journal_entries(max_entries)]
        self._entries.extend(entries)
        self._seq = itertools.count(entries[-1].seq + 1 if entries else 1)

    def record(self, operation, verdict, **kwargs) -> Exchange:
        exchange = super().record(operation, verdict, **kwargs)
        self.store.add_journal(exchange.seq, exchange.to_dict())
        return exchange

    def clear(self) -> None:
        super().clear()
        self.store.clear_journal()
