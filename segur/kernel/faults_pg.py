"""The fault book on PostgreSQL: faults set through one worker process hit calls served by any other.

Same interface and validation as `segur.kernel.faults.FaultBook` (the admin API cannot tell them apart).
Each fault is a row; a hit is counted in the database: `UPDATE … SET hits = hits + 1, count = count - 1
WHERE count IS NULL OR count > 0` locks the row and re-checks `count` once the lock is taken, so a fault
with `count: 3` hits exactly three calls across every worker, and the row goes when it reaches 0.

What stays per process: the random draw of `ratio` and the `jitter_ms` delays (each worker has its own
seeded generator), so a ratio holds per worker and a seeded run replays exactly only with one worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import psycopg
from psycopg.types.json import Jsonb

from segur.kernel.faults import Fault, FaultBook
from segur.kernel.postgres import Migration, SharedConnections, migrate

MIGRATIONS = [
    Migration(1, "faults in force, per tenant and service", """
        CREATE TABLE faults (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant text NOT NULL, service text NOT NULL, kind text NOT NULL, operation text NOT NULL,
            match jsonb NOT NULL, ratio double precision NOT NULL, count integer, params jsonb NOT NULL,
            hits integer NOT NULL DEFAULT 0);
        CREATE INDEX faults_by_service ON faults (tenant, service, id);
    """),
]
COLUMNS = "id, kind, operation, match, ratio, count, params, hits"


class PostgresFaultBook(FaultBook):
    """The faults in force for one service (and tenant), in a database its workers share."""

    def __init__(self, service: str, url: str, extra_kinds: Mapping[str, dict] | None = None, *,
                 tenant: str = "", seed: int = 0, sleep: Callable[[float], None] = time.sleep):
        super().__init__(extra_kinds, seed=seed, sleep=sleep)
        self.service, self.tenant, self._url = service, tenant, url
        self._connections = SharedConnections(url)
        with psycopg.connect(url, autocommit=True) as connection:
            migrate(connection, "faults", MIGRATIONS)

    @classmethod
    def like(cls, book: FaultBook, service: str, url: str, tenant: str = "") -> PostgresFaultBook:
        """The shared book with the kinds, seed and sleep of an in-memory one a service made itself."""
        shared = cls(service, url, tenant=tenant, sleep=book._sleep)
        shared.kinds = dict(book.kinds)
        shared._rng = book._rng
        return shared

    def _db(self) -> psycopg.Connection:
        return self._connections.get()

    def close(self) -> None:
        """Give back this book's share of the process's connections (`SharedConnections`: they close with
        their last user); a stopped service held them until the process ended."""
        self._connections.close_all()

    def add(self, spec: Mapping) -> Fault:
        fault = self.parse(spec)
        if "seed" in spec:
            with self._lock:
                self._rng.seed(spec["seed"])
        fault.id = self._db().execute(
            "INSERT INTO faults (tenant, service, kind, operation, match, ratio, count, params) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (self.tenant, self.service, fault.kind, fault.operation, Jsonb(fault.match), fault.ratio,
             fault.count, Jsonb(fault.params))).fetchone()[0]
        return fault

    def list(self) -> list[Fault]:
        rows = self._db().execute(f"SELECT {COLUMNS} FROM faults WHERE tenant = %s AND service = %s "
                                  "ORDER BY id", (self.tenant, self.service)).fetchall()
        return [Fault(*row) for row in rows]

    def remove(self, fault_id: int) -> bool:
        gone = self._db().execute("DELETE FROM faults WHERE tenant = %s AND service = %s AND id = %s",
                                  (self.tenant, self.service, fault_id))
        return gone.rowcount > 0

    def clear(self) -> None:
        self._db().execute("DELETE FROM faults WHERE tenant = %s AND service = %s",
                           (self.tenant, self.service))

    def select(self, operation: str, context: Mapping | None = None) -> list[Fault]:
        """The faults that hit this call: drawn here, counted (and expired) in the database."""
        context = context or {}
        # read before the lock: it guards the draw only, and holding it over a round trip to the database
        # queued every request of the worker's threads behind one another
        applying = [fault for fault in self.list() if fault.applies_to(operation, context)]
        if not applying:
            return []
        with self._lock:
            drawn = [fault for fault in applying if self._rng.random() < fault.ratio]
        return [fault for fault in drawn if self._count_hit(fault)]

    def _count_hit(self, fault: Fault) -> bool:
        """Count one hit; False when other workers used up its `count` meanwhile."""
        db = self._db()
        with db.transaction():
            row = db.execute("UPDATE faults SET hits = hits + 1, count = count - 1 "
                             "WHERE id = %s AND (count IS NULL OR count > 0) RETURNING hits, count",
                             (fault.id,)).fetchone()
            if row is None:
                return False
            fault.hits, fault.count = row
            if fault.count is not None and fault.count <= 0:
                db.execute("DELETE FROM faults WHERE id = %s", (fault.id,))
        return True
