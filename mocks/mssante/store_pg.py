"""The MSSanté mock's mailboxes on PostgreSQL (`[stack] store = postgresql://…`): what several `segur serve
mssante` processes (or hosts) share, so that a message submitted through one is fetched by IMAP through
another.

Same methods and meaning as the SQLite `store.MailStore`, so the backend and the IMAP INBOX cannot tell
them apart. One row per delivered copy: the stamped bytes (`bytea`, stored uncompressed with `STORAGE
EXTERNAL`: a message is mostly base64 that pglz cannot shrink, and pglz costs ~27 ms per MB, measured on
the DMP's documents), the verdict record as JSON, the IMAP UID, flags and expunged mark. Every table has
a `tenant` column in its keys: tenants sharing the database never see each other's mailboxes, and a
tenant's `reset` deletes its rows only.

Durability: `add_copies` commits before it returns, so before the SMTP ``250`` goes out; PostgreSQL's
commit is durable once acknowledged (`synchronous_commit = on`, its default), so a ``kill -9`` of the mock
loses nothing acknowledged, and a message killed mid-transaction is rolled back by the server, never half
there (https://www.postgresql.org/docs/current/wal-intro.html).

UIDs: each mailbox's last UID is one row, bumped by ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` inside
the delivering transaction. The row stays locked until that transaction commits, so two processes
delivering to one mailbox take UIDs one after the other and commit in UID order: a reader never sees UID
n+1 before UID n (RFC 3501 §2.3.1.1: UIDs strictly ascending in the order messages are added).
Message ids (``MSS-nnnnnn``) come from one database sequence: unique across processes, never reused.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable

import psycopg

from segur.kernel.postgres import Migration, ThreadConnections, migrate, shown_url
from segur.mocks.mssante.store import FIRST_UID

MIGRATIONS = [
    Migration(1, "MSSanté mailboxes: delivered copies, UIDs, UIDVALIDITY, message numbers", """
        CREATE TABLE mss_meta (
            tenant text NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY (tenant, key));
        CREATE TABLE mss_boxes (
            tenant text NOT NULL, mailbox text NOT NULL, last_uid bigint NOT NULL,
            PRIMARY KEY (tenant, mailbox));
        CREATE TABLE mss_copies (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant text NOT NULL, mock_id text,
            mailbox text NOT NULL, uid bigint NOT NULL, kind text NOT NULL,
            received double precision NOT NULL, flags text NOT NULL DEFAULT '',
            expunged boolean NOT NULL DEFAULT false, data text, raw bytea NOT NULL,
            UNIQUE (tenant, mailbox, uid));
        ALTER TABLE mss_copies ALTER COLUMN raw SET STORAGE EXTERNAL;
        CREATE INDEX mss_copies_mock_id ON mss_copies (tenant, mock_id);
        CREATE SEQUENCE mss_message_number;
    """),
]


class PostgresMailStore:
    """One tenant's mailboxes in a PostgreSQL database; thread-safe (one connection per thread)."""

    persistent = True
    shared = True  # other processes deliver into the same mailboxes: the IMAP INBOX catches up

    def __init__(self, url: str, tenant: str = ""):
        self.url, self.tenant = url, tenant
        self.path = shown_url(url, tenant)
        self._connections = ThreadConnections(url)
        migrate(self._conn(), "mssante", MIGRATIONS)

    def _conn(self) -> psycopg.Connection:
        return self._connections.get()

    def _run(self, query: str, *params, binary: bool = False):
        """A statement on this tenant's mailboxes: its first parameter is the tenant."""
        return self._conn().execute(query, (self.tenant, *params), binary=binary)

    def _rows(self, query: str, *params, binary: bool = False) -> list[tuple]:
        return self._run(query, *params, binary=binary).fetchall()

    def close(self) -> None:
        self._connections.close_all()

    # ------------------------------------------------------------------ mailbox copies
    def uid_validity(self) -> int:
        """The tenant's UIDVALIDITY: the same in every process, kept across restarts, changed by `reset`."""
        self._conn().execute("INSERT INTO mss_meta VALUES (%s, 'uid_validity', %s) ON CONFLICT DO NOTHING",
                             (self.tenant, str(int(time.time()) & 0x7FFFFFFF or 1)))
        return int(self._rows("SELECT value FROM mss_meta WHERE tenant = %s AND key = 'uid_validity'")[0][0])

    def next_number(self) -> int:
        """The number of the next ``MSS-nnnnnn`` id: one sequence for every process and tenant."""
        return self._conn().execute("SELECT nextval('mss_message_number')").fetchone()[0]

    def last_mock_number(self) -> int:
        row = self._conn().execute("SELECT last_value, is_called FROM mss_message_number").fetchone()
        return row[0] if row[1] else 0

    def add_copies(self, copies: Iterable[tuple[str, str | None, str, dict | None, bytes]]) -> list[int]:
        """Store copies ``(mailbox, mock_id, kind, record, raw)`` in one transaction; their new UIDs.
        Committed, durably, when this returns."""
        now = time.time()
        connection = self._conn()
        uids = []
        with connection.transaction():
            for mailbox, mock_id, kind, record, raw in copies:
                mailbox = mailbox.lower()
                uid = connection.execute(
                    "INSERT INTO mss_boxes VALUES (%s, %s, %s) ON CONFLICT (tenant, mailbox) DO UPDATE"
                    " SET last_uid = mss_boxes.last_uid + 1 RETURNING last_uid",
                    (self.tenant, mailbox, FIRST_UID)).fetchone()[0]
                data = json.dumps(record) if record is not None else None
                connection.execute("INSERT INTO mss_copies (tenant, mock_id, mailbox, uid, kind, received,"
                                   " data, raw) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                   (self.tenant, mock_id, mailbox, uid, kind, now, data, bytes(raw)))
                uids.append(uid)
        return uids

    def last_uid(self, mailbox: str) -> int:
        rows = self._rows("SELECT last_uid FROM mss_boxes WHERE tenant = %s AND mailbox = %s",
                          mailbox.lower())
        return rows[0][0] if rows else FIRST_UID - 1

    def reserve_uid(self, mailbox: str, uid: int) -> None:
        """A UID given by IMAP itself (a COPY into the INBOX): never given again to a stored copy."""
        self._run("INSERT INTO mss_boxes VALUES (%s, %s, %s) ON CONFLICT (tenant, mailbox) DO UPDATE"
                  " SET last_uid = greatest(mss_boxes.last_uid, excluded.last_uid)", mailbox.lower(), uid)

    def inbox_index(self, mailbox: str, after_uid: int = 0) -> list[tuple[int, float, str]]:
        return self._rows("SELECT uid, received, flags FROM mss_copies WHERE tenant = %s AND mailbox = %s"
                          " AND uid > %s AND NOT expunged ORDER BY uid", mailbox.lower(), after_uid)

    def raw(self, mailbox: str, uid: int) -> bytes | None:
        rows = self._rows("SELECT raw FROM mss_copies WHERE tenant = %s AND mailbox = %s AND uid = %s",
                          mailbox.lower(), uid, binary=True)
        return bytes(rows[0][0]) if rows else None

    def set_flags(self, mailbox: str, uid: int, flags: Iterable[str]) -> None:
        self._conn().execute("UPDATE mss_copies SET flags = %s WHERE tenant = %s AND mailbox = %s"
                             " AND uid = %s", (" ".join(sorted(flags)), self.tenant, mailbox.lower(), uid))

    def expunge(self, mailbox: str, uids: Iterable[int]) -> None:
        """IMAP EXPUNGE: gone from the INBOX; the mock's record stays visible in the admin API."""
        self._conn().execute("UPDATE mss_copies SET expunged = true WHERE tenant = %s AND mailbox = %s"
                             " AND uid = ANY(%s)", (self.tenant, mailbox.lower(), list(uids)))

    # ------------------------------------------------------------------ the mock's records
    def records(self, mailbox: str | None = None, mock_id: str | None = None,
                with_raw: bool = False) -> list[tuple[dict, bytes | None]]:
        query = f"SELECT data, {'raw' if with_raw else 'NULL'} FROM mss_copies WHERE tenant = %s" \
                " AND data IS NOT NULL"
        params: list = []
        if mailbox is not None:
            query, params = query + " AND mailbox = %s", [*params, mailbox.lower()]
        if mock_id is not None:
            query, params = query + " AND mock_id = %s", [*params, mock_id]
        rows = self._rows(query + " ORDER BY seq", *params, binary=with_raw)
        return [(json.loads(data), bytes(raw) if raw is not None else None) for data, raw in rows]

    def message_raw(self, mock_id: str, mailbox: str | None = None) -> bytes | None:
        query, params = "SELECT raw FROM mss_copies WHERE tenant = %s AND mock_id = %s", [mock_id]
        if mailbox is not None:
            query, params = query + " AND mailbox = %s", [*params, mailbox.lower()]
        rows = self._rows(query + " ORDER BY seq LIMIT 1", *params, binary=True)
        return bytes(rows[0][0]) if rows else None

    def documents(self, limit: int) -> list[tuple[str, list[dict]]]:
        """``(message id, documents)`` of the last `limit` stored messages that carried documents, oldest
        first (one copy per message)."""
        rows = self._rows(
            "SELECT mock_id, data::jsonb -> 'documents' FROM mss_copies WHERE seq IN ("
            " SELECT min(seq) FROM mss_copies WHERE tenant = %s AND kind = 'message'"
            " AND jsonb_array_length(data::jsonb -> 'documents') > 0"
            " GROUP BY mock_id ORDER BY min(seq) DESC LIMIT %s) ORDER BY seq", limit)
        return [(mock_id, documents) for mock_id, documents in rows]

    def counts(self) -> dict[str, int]:
        return dict(self._rows("SELECT mailbox, count(*) FROM mss_copies WHERE tenant = %s"
                               " AND data IS NOT NULL GROUP BY mailbox"))

    def count(self) -> int:
        return self._rows("SELECT count(*) FROM mss_copies WHERE tenant = %s AND data IS NOT NULL")[0][0]

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        """Empty this tenant's mailboxes and start a new UIDVALIDITY; other tenants' rows stay, and message
        numbers go on (the sequence is never rewound)."""
        connection = self._conn()
        with connection.transaction():
            for table in ("mss_copies", "mss_boxes", "mss_meta"):
                connection.execute(f"DELETE FROM {table} WHERE tenant = %s", (self.tenant,))
            connection.execute("INSERT INTO mss_meta VALUES (%s, 'uid_validity', %s)",
                               (self.tenant, str(secrets.randbelow(0x7FFFFFFE) + 1)))
