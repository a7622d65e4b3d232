"""A throw-away PostgreSQL cluster for tests and demos, and versioned migrations for the stores.

`segur up --store postgresql://…` points the services at a real database server; the tests need one
they can create and drop themselves: `ThrowawayCluster` runs `initdb` and `pg_ctl` on a free loopback
port in a temporary folder. PostgreSQL refuses to run as root (CI runs as root), so under root the
server runs as the `postgres` system user (Debian's package creates it), owning only its folder.

`migrate(connection, migrations)` applies numbered SQL steps once each, recorded in `schema_version`,
in one transaction per step: a store opened by a newer harness upgrades, an older one is refused.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

SEARCH_PATHS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin")
SERVER_USER = "postgres"  # the system account Debian's postgresql package creates
DATABASE_USER = "segur"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (apt-get install postgresql)."""


def find_binaries() -> Path:
    """The folder holding `initdb` and `pg_ctl` (the newest Debian major first)."""
    for pattern in SEARCH_PATHS:
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
                return Path(folder)
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                              "apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Migration:
    version: int
    description: str
    sql: str


class ThrowawayCluster:
    """A PostgreSQL server in a temporary folder on 127.0.0.1; `url` is ready after `start()`."""

    def __init__(self, directory: str | Path | None = None):
        self.binaries = find_binaries()
        self._scratch = None if directory else tempfile.TemporaryDirectory(prefix="segur-pg-")
        self.directory = Path(directory or self._scratch.name)
        self.data = self.directory / "data"
        self.port = 0
        self._as_user = SERVER_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://{DATABASE_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run([str(self.binaries / args[0]), *args[1:]], capture_output=True, text=True,
                                user=self._as_user, cwd=self.directory, timeout=120)
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}")

    def start(self) -> ThrowawayCluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            account = pwd.getpwnam(self._as_user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", DATABASE_USER, "--auth=trust", "-E", "UTF8",
                      "--no-sync", "--locale=C")
        self.port = _free_port()
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
                   " -c fsync=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "server.log"),
                  "-w", "-t", "60", "start")
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.port and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        if self._scratch is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self._scratch = None

    def create_database(self, name: str) -> str:
        """A new empty database; its URL (each test or tenant can have its own)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + "/" + name

    def __enter__(self) -> ThrowawayCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


SCHEMA_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    store text NOT NULL, version integer NOT NULL, description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store, version))"""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer harness: this one does not know its schema."""


def migrate(connection, store: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply the steps of `store` not applied yet, in order, each in its own transaction.

    Two processes starting together (two workers on one database) are serialised by an advisory lock
    per store: the second sees what the first applied and skips it.
    """
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError("migration versions must be unique and increasing")
    with connection.transaction():  # CREATE … IF NOT EXISTS races with itself: under the lock too
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('schema_version'))")
        connection.execute(SCHEMA_VERSION_TABLE)
    applied: list[int] = []
    for migration in migrations:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (store,))
            done = {row[0] for row in connection.execute(
                "SELECT version FROM schema_version WHERE store = %s", (store,))}
            newest = max(done, default=0)
            if newest > versions[-1]:
                raise SchemaTooNew(f"the {store} store is at schema version {newest}; this harness knows "
                                   f"up to {versions[-1]}: upgrade the harness")
            if migration.version in done:
                continue
            connection.execute(migration.sql)
            connection.execute("INSERT INTO schema_version (store, version, description) VALUES (%s, %s, %s)",
                               (store, migration.version, migration.description))
            applied.append(migration.version)
    return applied


def shown_url(url: str, tenant: str = "") -> str:
    """What a health page and a ready line show of a store's database: host, port and name, never the
    password; the tenant when there is one."""
    where = urlsplit(url)
    shown = f"postgresql://{where.hostname}:{where.port or 5432}{where.path}"
    return f"{shown}, tenant {tenant}" if tenant else shown


class ThreadConnections:
    """One autocommit connection per thread (cheroot serves each request on a worker thread; MSSanté has its
    event loop and its checks' threads), all closed at once when the store closes."""

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> psycopg.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._local.connection = psycopg.connect(self.url, autocommit=True)
            with self._lock:
                self._all.append(connection)
        return connection

    def close_all(self) -> None:
        with self._lock:
            for connection in self._all:
                with suppress(psycopg.Error):
                    connection.close()
            self._all.clear()
        self._local = threading.local()


class SharedConnections:
    """One connection per thread to one database, shared by every store of this process that opens it
    (`ThreadConnections` under the hood): a service's journal, faults and store, and every tenant's, on
    the same thread use one connection, not one each. A DMP worker's 16 threads held 48 connections (3
    stores × 16) and two workers 96 of the cluster's 100; with tenants, 3 more per thread per tenant.

    Safe because none of these stores calls another while its own transaction is open (the statements of
    one thread run one after the other). A store becomes a user at its first statement (a fault book a
    service replaces before using it holds nothing); `close_all()` releases it, and so does its garbage
    collection; the connections close with the last user. A child forked from this process never uses its
    parent's connections (their sockets are the parent's): it opens its own, and keeps the inherited
    objects unused (finalising one would end the parent's session)."""

    _pools: dict[str, list] = {}  # url → [ThreadConnections, users]
    _lock = threading.RLock()  # re-entrant: a user's finaliser may run in a collection under the lock
    _inherited: list = []  # connections of the parent process, after a fork: kept, never used or closed

    def __init__(self, url: str):
        self.url = url
        self._pool: ThreadConnections | None = None
        self._pid = 0
        self._released = False
        self._leave: weakref.finalize | None = None

    def _join(self) -> ThreadConnections:
        with self._lock:
            if self._released:
                raise RuntimeError(f"the connections to {shown_url(self.url)} were released")
            if self._pool is not None and self._pid == os.getpid():
                return self._pool  # another thread of this user joined meanwhile
            entry = self._pools.setdefault(self.url, [ThreadConnections(self.url), 0])
            entry[1] += 1
            self._pool, self._pid = entry[0], os.getpid()
            self._leave = weakref.finalize(self, SharedConnections._release, self.url, entry[0], self._pid)
            return entry[0]

    def get(self) -> psycopg.Connection:
        pool = self._pool
        if pool is None or self._pid != os.getpid():  # first use, or made before a fork and used in the child
            pool = self._join()
        return pool.get()

    def close_all(self) -> None:
        with self._lock:
            self._released = True
            self._pool = None
            leave = self._leave
        if leave is not None:
            leave()  # once: a finaliser runs at most once

    @classmethod
    def _release(cls, url: str, pool: ThreadConnections, pid: int) -> None:
        if pid != os.getpid():
            return  # a user the parent process made: its connections are the parent's
        with cls._lock:
            entry = cls._pools.get(url)
            if entry is None or entry[0] is not pool:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del cls._pools[url]
        pool.close_all()

    @classmethod
    def _after_fork(cls) -> None:
        cls._lock = threading.RLock()  # a lock another thread held at the fork would never be released
        cls._inherited.append(cls._pools)
        cls._pools = {}


os.register_at_fork(after_in_child=SharedConnections._after_fork)
