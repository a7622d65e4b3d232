"""The shape every mock implements, so that `segur up`, `segur serve NAME`, the pytest plugin and
`testing.py` start any of them the same way.

A service is built from its config section (a `ServiceConfig` dataclass, see `segur.kernel.config`)
and a `StackContext` (what the services share: host, world, test PKI, data folder, CDA pack). The
kernel gives it a journal and a fault book; the service declares its own fault kinds, its endpoints,
its `/_admin/health` fields and what `reset` empties. `HttpService` adds the socket: a cheroot server
for the service's Flask app, with TLS or mutual TLS from the test PKI when the config asks.

    with DmpService(DmpConfig(lenient=True), StackContext.for_tests(tmp_path)) as dmp:
        dmp.endpoints()["iti41"]
"""

from __future__ import annotations

import dataclasses
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from segur.kernel.config import ServiceConfig, StackConfig
from segur.kernel.faults import FaultBook
from segur.kernel.journal import Journal
from segur.kernel.pki import TestPki
from segur.kernel.server import TlsSettings, WsgiServer
from segur.kernel.tenants import TenantRouter


@dataclass
class StackContext:
    """What every service of one stack shares. `world` None = the service loads the shipped world."""

    stack: StackConfig = field(default_factory=StackConfig)
    world: Any = None
    pki: TestPki | None = None
    _scratch: Any = field(default=None, repr=False)
    #: the services of the stack started so far, by name (`segur up` fills it): the console reads their
    #: endpoints from here, and their state only through those endpoints
    running: dict = field(default_factory=dict, repr=False)
    tenant: str = ""  # "" = the default tenant (see segur.kernel.tenants)

    def for_tenant(self, tenant: str) -> StackContext:
        """The same stack for one tenant: its own data folder, the same world, test PKI and running services
        (a tenant's MSSanté checks tokens with the instance's PSC, which serves every tenant)."""
        data = str(Path(self.stack.data) / "tenants" / tenant)
        return StackContext(dataclasses.replace(self.stack, data=data), self.world, self.test_pki(),
                            running=self.running, tenant=tenant)

    @classmethod
    def for_tests(cls, data: str | Path | None = None, *, world=None, pki: TestPki | None = None,
                  pack: str | Path | None = None, host: str = "127.0.0.1") -> StackContext:
        """A context in a temporary folder (removed with the context) unless `data` is given."""
        scratch = None
        if data is None:
            scratch = tempfile.TemporaryDirectory(prefix="segur-stack-")
            data = scratch.name
        stack = StackConfig(host=host, data=str(data), pki=str(Path(data) / "pki"), pack=str(pack or ""))
        return cls(stack, world, pki, scratch)

    def data_dir(self, service: str, configured: str = "") -> Path:
        """The service's own folder: its configured one, else `<stack data>/<service>`."""
        return Path(configured) if configured else Path(self.stack.data) / service

    @property
    def shared_store(self) -> bool:
        """True when the stack keeps its state on a PostgreSQL server (`[stack] store`)."""
        return self.stack.store.startswith(("postgresql://", "postgres://"))

    @property
    def pack(self) -> Path | None:
        return Path(self.stack.pack) if self.stack.pack else None

    def test_pki(self) -> TestPki:
        """The stack's test PKI, created on first use (a plain-HTTP stack never needs one)."""
        if self.pki is None:
            self.pki = TestPki.load_or_create(Path(self.stack.pki))
        return self.pki


class Service(ABC):
    """Base of every mock. Subclasses set `name`, `Config`, `title`, and implement start/stop/endpoints."""

    name: ClassVar[str]
    Config: ClassVar[type[ServiceConfig]] = ServiceConfig
    title: ClassVar[str] = ""  # one line: the help of `segur serve NAME`
    fault_kinds: ClassVar[dict[str, dict]] = {}  # this service's own kinds, beside the generic ones
    journal_size: ClassVar[int] = 20_000
    #: False: one state for the whole instance, shared by every tenant (`/t/<tenant>/` answers 404)
    serves_tenants: ClassVar[bool] = True

    def __init__(self, config: ServiceConfig | None = None, context: StackContext | None = None):
        self.config = config if config is not None else self.Config()
        self.context = context if context is not None else StackContext.for_tests()
        self.journal = self.create_journal()
        self.faults = FaultBook(self.fault_kinds)
        self.workers = 1  # worker processes serving this service's port (`segur.kernel.workers`)

    @property
    def faults(self) -> FaultBook:
        return self._faults

    @faults.setter
    def faults(self, book: FaultBook) -> None:
        """On a PostgreSQL store, an in-memory book (the kernel's, or one a mock made with its own seed or
        sleep) becomes the shared one with the same kinds: a fault set through one worker hits them all."""
        if self.context.shared_store and type(book) is FaultBook:
            # imported here: psycopg adds ~0.1 s to every `segur` start-up, and only a shared store needs it
            from segur.kernel.faults_pg import PostgresFaultBook

            book = PostgresFaultBook.like(book, self.name, self.context.stack.store, self.context.tenant)
        self._faults = book

    def close_records(self) -> None:
        """Release the journal's and the fault book's connections (on a PostgreSQL store: one per thread
        that used them; in memory: nothing to release). Every service's stop() calls it."""
        for records in (self.journal, self.faults):
            close = getattr(records, "close", None)
            if close is not None:
                close()

    def create_journal(self):
        """In memory, or on the stack's PostgreSQL store so that every worker of the service shares it."""
        if self.context.shared_store:
            # imported here: psycopg adds ~0.1 s to every `segur` start-up (measured), and only a shared
            # store needs it
            from segur.kernel.journal_pg import PostgresJournal

            return PostgresJournal(self.name, self.context.stack.store, tenant=self.context.tenant,
                                   max_entries=self.journal_size)
        return Journal(self.name, max_entries=self.journal_size)

    # what a service must give (a subclass that leaves one out cannot be built) ----------------
    @abstractmethod
    def start(self) -> Service:
        """Listen (the ports known when this returns) and serve in the background."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release what the service holds."""

    @abstractmethod
    def endpoints(self) -> dict:
        """Every address a client needs (served by `/_admin/health` and `.segur-endpoints.json`)."""

    # what it may add ----------------------------------------------------------------------------
    def reset(self) -> None:  # noqa: B027 — optional: a service with no stored state keeps this one
        """Empty the stored state (the admin API also clears the journal and the faults)."""

    def health(self) -> dict:
        """Fields `/_admin/health` adds to service, status and endpoints."""
        return {}

    def ready_lines(self) -> list[str]:
        """What `segur serve NAME` prints once listening."""
        return [f"{key}: {value}" for key, value in self.endpoints().items()]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class HttpService(Service):
    """A service behind one HTTP(S) socket. Subclasses build the Flask app (`create_app`).

    TLS comes from the config when it has `tls` / `mtls` booleans: the test PKI's server certificate,
    and with `mtls` a client certificate of the test CA required.
    """

    threads: ClassVar[int] = 16

    def __init__(self, config: ServiceConfig | None = None, context: StackContext | None = None):
        super().__init__(config, context)
        self.server: WsgiServer | None = None
        self.router: TenantRouter | None = None
        self.base_url = ""
        self.reuse_port = False  # True in a worker process: its siblings listen on the same port

    @abstractmethod
    def create_app(self):
        """The service's Flask app (its wire, with the kernel's admin blueprint)."""

    def tls_settings(self) -> TlsSettings | None:
        mutual = bool(getattr(self.config, "mtls", False))
        if not (getattr(self.config, "tls", False) is True or mutual):
            return None
        return self.context.test_pki().server_tls(require_client_cert=mutual)

    def bound(self, base_url: str) -> None:
        """Told where the service is reachable (its socket's URL, or a tenant's prefix under it)."""
        self.base_url = base_url

    def for_tenant(self, tenant: str) -> HttpService:
        """Another instance of this service, same config, for one tenant, reachable under /t/<tenant>."""
        instance = type(self)(self.config, self.context.for_tenant(tenant))
        instance.bound(f"{self.base_url}/t/{tenant}")
        return instance

    def start(self) -> HttpService:
        tls = self.tls_settings()
        app = self.create_app()
        stack = self.context.stack
        if stack.tenants or stack.admin_token:
            app = self.router = TenantRouter(self, app)
        self.server = WsgiServer(app, host=stack.host, port=self.config.port, tls=tls, threads=self.threads,
                                 name=f"segur-{self.name}", reuse_port=self.reuse_port).start()
        # the test certificate names localhost, not 127.0.0.1: a TLS client must use the name
        self.bound(self.server.url.replace("127.0.0.1", "localhost") if tls else self.server.url)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        for instance in self.router.instances() if self.router else ():
            instance.close()
            instance.close_records()
        self.close()
        self.close_records()

    def close(self) -> None:
        """Release what the service holds besides its socket (a database, worker processes)."""
