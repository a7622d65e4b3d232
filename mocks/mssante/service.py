"""The MSSanté mock as a kernel service: its settings, its fault kinds, and how it runs — SMTP (aiosmtpd)
and IMAP (pymap) on one asyncio loop in a background thread, plus the admin API (Flask on cheroot), all
started and stopped together.

`MssanteConfig` is the one list of settings: the options of `segur serve mssante` and the keys of
`[mssante]` in `segur up`'s config. TLS modes: ``starttls`` (default: STARTTLS offered and required on
both SMTP and IMAP, server certificate from the stack's test PKI), ``mtls`` (the same, and the client
must present a certificate issued by the test CA, as the real space demands an IGC-Santé certificate:
REM SC.MSS/CONF.12 and .27), ``none`` (plain text, AUTH allowed in clear: for debugging only).
TLS ≥ 1.2 (REM SC.MSS/CONF.01).

The journal and the faults are the kernel's (`Service.journal`, `Service.faults`): the journal is kept
in the mailboxes' store when the mock has a data folder (`store.StoredJournal`), and the fault book
knows the SMTP faults (`smtp.FAULT_KINDS`; a fault's `operation` is the SMTP stage it hits,
`smtp.SmtpFaultBook`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from segur.fixtures.world import load_world
from segur.kernel.config import ServiceConfig, setting
from segur.kernel.journal import Journal
from segur.kernel.pki import TestPki
from segur.kernel.server import WsgiServer
from segur.kernel.service import Service, StackContext
from segur.kernel.tenants import TenantRouter, split_login
from segur.mocks.mssante.imap import ImapService
from segur.mocks.mssante.models import DEFAULT_PASSWORD, DEFAULT_SIZE_LIMIT, MssanteBackend
from segur.mocks.mssante.org_cert import APP_CERT_MODES
from segur.mocks.mssante.psc import PscTokenChecker
from segur.mocks.mssante.smtp import FAULT_KINDS, MssHandler, MssSmtp, SmtpFaultBook
from segur.mocks.mssante.store import StoredJournal
from segur.validators import validate

TLS_MODES = ("starttls", "mtls", "none")
#: the command-line flags `segur serve mssante` always had (the last one given wins: --mtls over --no-tls)
TLS_FLAGS = {"--tls": "starttls", "--no-tls": "none", "--mtls": "mtls"}
RECIPIENT_POLICIES = ("rcpt", "dsn")
COMMAND_CALL_LIMIT = {"*": 5000, "EHLO": 20, "HELO": 20, "STARTTLS": 5, "AUTH": 10, "NOOP": 100, "RSET": 500,
                      "VRFY": 20, "EXPN": 20, "HELP": 20}
SMTP_IDENT = "MSSante mock (Segur harness) ESMTP"

@dataclass
class MssanteConfig(ServiceConfig):
    port: int = setting(8303, "Admin API (HTTP) port (0: a free one).")
    smtp_port: int = setting(8587, "SMTP submission port (587 in production; 0: a free one).")
    imap_port: int = setting(8143, "IMAP port (143 in production; 0: a free one).")
    tls: str = setting("starttls", "'starttls': STARTTLS required on SMTP and IMAP; 'mtls': and a client "
                       "certificate of the test CA; 'none': plain text with AUTH in clear, for debugging "
                       "only.", choices=TLS_MODES, cli="--tls-mode", flags=TLS_FLAGS)
    password: str = setting("", f"Password of every world mailbox (empty: {DEFAULT_PASSWORD}).")
    size_limit: int = setting(DEFAULT_SIZE_LIMIT, "Maximum message size in bytes (SIZE).")
    recipient_policy: str = setting("rcpt", "'rcpt': refuse unknown recipients at RCPT TO; 'dsn': accept "
                                    "them and send a delivery status notification.",
                                    choices=RECIPIENT_POLICIES)
    validation: bool = setting(True, "Run the CDA validator on the documents of IHE_XDM.ZIP.",
                               cli="--validate")
    workers: int = setting(0, "Run the message checks in N worker processes (0: threads).")
    data: str = setting("", "Mailboxes folder (SQLite store, kept across restarts and crashes); '' = "
                        "<stack data>/mssante, ':memory:' = nothing kept.", serve_default=".segur-mssante")
    psc_issuer: str = setting("", "Check XOAUTH2 tokens as Pro Santé Connect access tokens of this "
                              "issuer (its discovery, JWKS and introspection); 'stack' = the stack's PSC "
                              "mock; '' = any non-empty token.")
    psc_client: str = setting("segur-test-client:segur-test-secret", "The PSC client (id:secret) the "
                              "operator introspects tokens with.")
    power_safe: bool = setting(False, "fsync every accepted message (survives a power cut too; slower).")
    app_cert: str = setting("off", "Application mailboxes (REM MSS/CONF.12): 'off': PLAIN as any mailbox; "
                            "'record': STARTTLS asks for a client certificate of the test CA and a PLAIN "
                            "login without its structure's ORG AUTH_CLI certificate is journalled as "
                            "MSS-AUTH-ORG-CERT; 'require': and refused (535).", choices=APP_CERT_MODES)


def model_options(config: MssanteConfig, context: StackContext) -> dict:
    """The `MssanteBackend` keywords a config gives."""
    data = config.data or str(context.data_dir(MssanteService.name))
    if config.data and config.data != ":memory:" and context.tenant:  # the tenant's, beneath the given one
        data = str(Path(config.data) / "tenants" / context.tenant)
    options = {"size_limit": config.size_limit, "recipient_policy": config.recipient_policy,
               "validate": config.validation, "workers": config.workers, "power_safe": config.power_safe,
               "data_dir": None if data == ":memory:" else Path(data)}
    if config.password:
        options["default_password"] = config.password
    if config.validation and context.pack:  # the stack's official CDA pack, as an argument (not SEGUR_PACK)
        options["validate"] = partial(validate, pack=str(context.pack))
    return options


def mail_store(context: StackContext):
    """The mailboxes' PostgreSQL store when the stack keeps its state there (None: the SQLite one)."""
    if not context.shared_store:
        return None
    # start-up: psycopg adds ~0.1 s to every `segur` start-up (measured), and only a shared store needs it
    from segur.mocks.mssante.store_pg import PostgresMailStore

    return PostgresMailStore(context.stack.store, tenant=context.tenant)


def psc_checker(config: MssanteConfig, context: StackContext, world) -> PscTokenChecker:
    """The operator's check of XOAUTH2 tokens against a Pro Santé Connect: a given issuer, or ('stack') the
    stack's PSC mock, found when the first token arrives (it may start after this service)."""
    client_id, _, secret = config.psc_client.partition(":")
    if config.psc_issuer == "stack":
        def issuer() -> str:
            psc = context.running.get("psc")
            if psc is None:
                raise LookupError("no Pro Santé Connect in this stack ([psc] enabled = false?)")
            issuer = psc.endpoints()["issuer"]
            if context.tenant:  # a tenant's operator trusts its tenant's PSC (its own issuer, keys, sessions)
                issuer = issuer.replace(psc.base_url, f"{psc.base_url}/t/{context.tenant}", 1)
            return issuer
    else:
        issuer = config.psc_issuer
    ca_file = str(context.test_pki().ca_file) if context.stack.pki else True
    return PscTokenChecker(issuer, world, client_id=client_id, client_secret=secret.strip(),
                           verify_tls=ca_file)


def _tls_context(pki: TestPki, require_client_cert: bool, ask_client_cert: bool = False) -> ssl.SSLContext:
    """TLS ≥ 1.2 with the test PKI's server certificate; a client certificate of the test CA required
    (`mtls`), or asked for and verified when given (`app_cert`: the ORG certificate of application
    mailboxes, while personal mailboxes log in with a PSC token and no certificate)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(pki.server.cert_file), str(pki.server.key_file))
    if require_client_cert or ask_client_cert:
        context.load_verify_locations(cafile=str(pki.ca_file))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


class MssanteService(Service):
    """SMTP, IMAP and the admin API of one MSSanté mock. `model_overrides` are `MssanteBackend` keywords
    no setting carries (tests: ``passwords``, ``tokens``, ``validate`` as a function, ``xdm_limits``…)."""

    name = "mssante"
    Config = MssanteConfig
    title = "The MSSanté mock: SMTP and IMAP of a health-professional mail operator, with XDM checks."
    fault_kinds = FAULT_KINDS

    def __init__(self, config: MssanteConfig | None = None, context: StackContext | None = None,
                 **model_overrides):
        config = config if config is not None else self.Config()
        context = context if context is not None else StackContext.for_tests()
        world = context.world if context.world is not None else load_world()
        # before the kernel's __init__: the journal is kept in the backend's store
        self.backend = MssanteBackend(world, **{**model_options(config, context), **model_overrides},
                                      store=mail_store(context))
        self._overrides = model_overrides  # a tenant's instance is built with them too
        self.parent: MssanteService | None = None  # a tenant's instance: the service whose sockets it uses
        self._tenants: dict[str, MssanteService] = {}
        self._tenants_lock = threading.Lock()
        self.router: TenantRouter | None = None
        if config.psc_issuer:
            self.backend.psc = psc_checker(config, context, world)
        super().__init__(config, context)
        self.faults = SmtpFaultBook(self.fault_kinds)
        self.host = context.stack.host
        self.tls = config.tls
        self.pki = context.test_pki() if config.tls != "none" else None
        self.ssl_context = _tls_context(self.pki, config.tls == "mtls", config.app_cert != "off") \
            if self.pki else None
        self.smtp_port: int | None = None
        self.imap_port: int | None = None
        self.admin: WsgiServer | None = None
        self.imap: ImapService | None = None
        self.handler: MssHandler | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._smtp_server = None

    def create_journal(self) -> Journal:
        store = self.backend.store
        if store.persistent and not self.context.shared_store:
            return StoredJournal(self.name, store, self.journal_size)
        return super().create_journal()  # in memory, or the kernel's on PostgreSQL (shared, per tenant)

    # ------------------------------------------------------------------ tenants (see segur.kernel.tenants)
    def for_tenant(self, tenant: str) -> MssanteService:
        """The tenant's instance (made on first use): its own mailboxes, journal and faults, served on this
        service's SMTP and IMAP ports to the logins that name it (`user+tenant@domain`)."""
        with self._tenants_lock:
            instance = self._tenants.get(tenant)
            if instance is None:
                instance = MssanteService(self.config, self.context.for_tenant(tenant), **self._overrides)
                instance.parent = self
                instance.handler = MssHandler(instance.backend, instance.journal, instance.faults,
                                              partial(self._delivered, tenant=tenant),
                                              app_cert=self.config.app_cert)
                instance.handler.admin_url = instance.admin_url
                instance.handler.resolve = self._smtp_handler  # a second AUTH in the session: same rule
                self._tenants[tenant] = instance
        return instance

    def _delivered(self, address: str, raw: bytes | None = None, *, tenant: str = "") -> Awaitable[None]:
        return self.imap.delivered(address, raw, tenant=tenant)

    def resolve_login(self, login: str) -> tuple[str, str, MssanteService]:
        """`(tenant, mailbox address, instance)` of a login: `user+tenant@domain` names a tenant when this
        instance serves tenants and the login is not itself a world mailbox; any other login is the
        default tenant's, unchanged."""
        address, tenant = split_login(login or "")
        if not tenant or not self.context.stack.tenants or self.backend.mailbox(login) is not None:
            return "", login, self
        return tenant, address, self.for_tenant(tenant)

    def create_app(self):
        """The admin API of this instance (a tenant's: its own mailboxes, journal and faults)."""
        # start-up: Flask costs ~80 ms of `segur --help` (measured with -X importtime), which never
        # starts a service
        from segur.mocks.mssante.responses import create_app

        return create_app(self)

    # ------------------------------------------------------------------ what the kernel asks
    def endpoints(self) -> dict:
        served = self.parent or self  # a tenant is served on its parent's ports
        host = f"[{self.host}]" if ":" in self.host else self.host
        starttls = self.tls != "none"
        smtp_port, imap_port = served.smtp_port, served.imap_port
        endpoints = {
            "smtp": {"host": self.host, "port": smtp_port, "url": f"smtp://{host}:{smtp_port}",
                     "starttls": starttls, "auth": ["PLAIN", "LOGIN", "XOAUTH2"]},
            "imap": {"host": self.host, "port": imap_port, "url": f"imap://{host}:{imap_port}",
                     "starttls": starttls},
            "admin": self.admin_url,
            "tls": self.tls,
            # absolute: products running in another directory read it
            "ca_file": str(Path(self.pki.ca_file).resolve()) if self.pki else None,
        }
        if self.context.tenant:  # how a product logs in to this tenant's mailboxes (SMTP AUTH, IMAP LOGIN)
            tenant = self.context.tenant
            endpoints.update(tenant=tenant, login=f"<mailbox local part>+{tenant}@<mailbox domain>")
        return endpoints

    @property
    def admin_url(self) -> str | None:
        if self.parent is not None:
            return f"{self.parent.admin.url}/t/{self.context.tenant}/_admin/" if self.parent.admin else None
        return self.admin.url + "/_admin/" if self.admin is not None else None

    def health(self) -> dict:
        backend = self.backend
        tokens = "any non-empty bearer token" if backend.accept_any_token else "configured tokens only"
        credentials = {"login": "the mailbox address",
                       "password": "default password for every world mailbox unless overridden",
                       "default_password": backend.default_password, "xoauth2": tokens}
        return {"tls": self.tls, "size_limit": backend.size_limit,
                "recipient_policy": backend.recipient_policy, "credentials": credentials,
                "mailboxes": len(backend.world.mailboxes),
                "messages": backend.store.count(), "data": self.data_location()}

    def data_location(self) -> str:
        return str(self.backend.store.path) if self.backend.store.path else ":memory:"

    def ready_lines(self) -> list[str]:
        """The endpoints, the default password and the store as JSON (scripts read it)."""
        ready = {"service": self.name, "endpoints": self.endpoints(),
                 "default_password": self.backend.default_password, "data": self.data_location()}
        return [json.dumps(ready, indent=2)]

    def reset(self) -> None:
        self.backend.reset()
        served = self.parent or self
        if served.loop and served.imap:
            reset = served.imap.reset(self.context.tenant)
            asyncio.run_coroutine_threadsafe(reset, served.loop).result(timeout=10)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> MssanteService:
        ready = threading.Event()
        failure: list[BaseException] = []
        self.loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._start_servers())
            except BaseException as exc:  # noqa: BLE001 — reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="segur-mssante-loop", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)
        if failure:
            self._thread.join(timeout=5)
            raise failure[0]
        app = self.create_app()
        stack = self.context.stack
        if stack.tenants or stack.admin_token:  # tenants' admin APIs under /t/<tenant>/, the admin token
            app = self.router = TenantRouter(self, app)
        self.admin = WsgiServer(app, host=self.host, port=self.config.port,
                                name="segur-mssante-admin").start()
        self.handler.admin_url = self.admin_url
        return self

    async def _start_servers(self) -> None:
        loop = asyncio.get_running_loop()
        self.imap = ImapService(self.backend, self.journal, self.host, self.config.imap_port,
                                self.ssl_context, resolve=self._imap_space)
        await self.imap.start()
        self.imap_port = self.imap.port
        self.handler = handler = MssHandler(self.backend, self.journal, self.faults, self.imap.delivered,
                                            app_cert=self.config.app_cert)
        handler.resolve = self._smtp_handler
        tls_on = self.ssl_context is not None

        def factory() -> MssSmtp:
            return MssSmtp(handler, hostname=self.backend.hostname, ident=SMTP_IDENT,
                           tls_context=self.ssl_context, require_starttls=tls_on, auth_required=True,
                           auth_require_tls=tls_on, authenticator=handler.authenticate,
                           data_size_limit=self.backend.size_limit, command_call_limit=COMMAND_CALL_LIMIT,
                           timeout=120, loop=loop)

        self._smtp_server = await loop.create_server(factory, host=self.host, port=self.config.smtp_port)
        self.smtp_port = self._smtp_server.sockets[0].getsockname()[1]

    async def _stop_servers(self) -> None:
        if self._smtp_server is not None:
            self._smtp_server.close()
            self._smtp_server = None
        if self.imap is not None:
            await self.imap.stop()
        # connections still open (a client that never said QUIT/LOGOUT): end their tasks cleanly
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.stop()
        if self.loop is not None and self._thread is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._stop_servers(), self.loop).result(timeout=10)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(timeout=10)
                self.loop.close()
            self.loop, self._thread = None, None
        for instance in list(self._tenants.values()):
            instance.backend.close()
            instance.close_records()
        self.backend.close()
        self.close_records()

    def _smtp_handler(self, login: str) -> tuple[str, MssHandler]:
        """The mailbox address a login names and the SMTP handler of its tenant."""
        tenant, address, instance = self.resolve_login(login)
        return address, instance.handler if tenant else self.handler

    def _imap_space(self, login: str) -> tuple[str, str, MssanteBackend, Journal]:
        """The tenant, mailbox address, backend and journal an IMAP login names."""
        tenant, address, instance = self.resolve_login(login)
        return tenant, address, instance.backend, instance.journal
