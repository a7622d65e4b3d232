"""Run the MSSanté mock: SMTP (aiosmtpd) and IMAP (pymap) on one asyncio loop in a background thread,
plus the admin API (Flask on cheroot) — all started and stopped together.

TLS modes: ``starttls`` (default: STARTTLS offered and required on both SMTP and IMAP, server
certificate from the project's test PKI), ``mtls`` (the same, and the client must present a
certificate issued by the test CA, as the real space demands an IGC-Santé certificate: REM
SC.MSS/CONF.12 and .27), ``none`` (plain text, AUTH allowed in clear: for debugging only).
TLS ≥ 1.2 (REM SC.MSS/CONF.01).
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
from pathlib import Path

from segur.kernel.pki import TestPki
from segur.kernel.server import WsgiServer
from segur.mocks.mssante.app import create_app
from segur.mocks.mssante.backend import MssanteBackend
from segur.mocks.mssante.imap import ImapService
from segur.mocks.mssante.smtp import MssHandler, MssSmtp

TLS_MODES = ("starttls", "mtls", "none")
COMMAND_CALL_LIMIT = {"*": 5000, "EHLO": 20, "HELO": 20, "STARTTLS": 5, "AUTH": 10, "NOOP": 100, "RSET": 500,
                      "VRFY": 20, "EXPN": 20, "HELP": 20}


def _tls_context(pki: TestPki, require_client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(pki.server.cert_file), str(pki.server.key_file))
    if require_client_cert:
        context.load_verify_locations(cafile=str(pki.ca_file))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class MssanteServer:
    """The whole mock; also what the admin blueprint sees (name, journal, faults, endpoints, reset)."""

    name = "mssante"

    def __init__(self, world=None, *, host: str = "127.0.0.1", smtp_port: int = 0, imap_port: int = 0,
                 admin_port: int = 0, tls: str = "starttls", pki_dir: str | Path | None = None,
                 backend: MssanteBackend | None = None, **backend_options):
        if tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}")
        if world is None and backend is None:
            from segur.fixtures.world import load_world

            world = load_world()
        self.backend = backend or MssanteBackend(world, **backend_options)
        self.host = host
        self.tls = tls
        self._tmp = None
        if pki_dir is None and tls != "none":
            self._tmp = tempfile.TemporaryDirectory(prefix="segur-mssante-pki-")
            pki_dir = self._tmp.name
        # absolute: the endpoints' ca_file is read by products running in another directory
        self.pki = TestPki.load_or_create(Path(pki_dir).resolve()) if pki_dir else None
        self.ssl_context = _tls_context(self.pki, tls == "mtls") if tls != "none" else None
        self._ports = (smtp_port, imap_port)
        self.smtp_port: int | None = None
        self.imap_port: int | None = None
        self.admin = WsgiServer(create_app(self), host=host, port=admin_port, name="segur-mssante-admin")
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._smtp_server = None
        self.imap: ImapService | None = None

    # --- what the admin blueprint needs
    @property
    def journal(self):
        return self.backend.journal

    @property
    def faults(self):
        return self.backend.faults

    def endpoints(self) -> dict:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {
            "smtp": {"host": self.host, "port": self.smtp_port, "url": f"smtp://{host}:{self.smtp_port}",
                     "starttls": self.tls != "none", "auth": ["PLAIN", "LOGIN", "XOAUTH2"]},
            "imap": {"host": self.host, "port": self.imap_port, "url": f"imap://{host}:{self.imap_port}",
                     "starttls": self.tls != "none"},
            "admin": self.admin.url + "/_admin/",
            "tls": self.tls,
            "ca_file": str(self.pki.ca_file) if self.pki else None,
        }

    def health_extra(self) -> dict:
        backend = self.backend
        return {"tls": self.tls, "size_limit": backend.size_limit, "recipient_policy": backend.recipient_policy,
                "credentials": {"login": "the mailbox address", "password": "default password for every world "
                                "mailbox unless overridden", "default_password": backend.default_password,
                                "xoauth2": "any non-empty bearer token" if backend.accept_any_token
                                else "configured tokens only"},
                "mailboxes": len(backend.world.mailboxes), "messages": backend.store.count(),
                "data": str(backend.store.path) if backend.store.path else ":memory:"}

    def reset(self) -> None:
        self.backend.reset()
        if self.loop and self.imap:
            asyncio.run_coroutine_threadsafe(self.imap.reset(), self.loop).result(timeout=10)

    # --- lifecycle
    def start(self) -> MssanteServer:
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
        self.admin.start()
        self.backend.admin_url = self.admin.url + "/_admin/"
        return self

    async def _start_servers(self) -> None:
        loop = asyncio.get_running_loop()
        self.imap = ImapService(self.backend, self.host, self._ports[1], self.ssl_context)
        await self.imap.start()
        self.imap_port = self.imap.port
        handler = MssHandler(self.backend, self.imap.delivered, loop)
        tls_on = self.ssl_context is not None

        def factory() -> MssSmtp:
            return MssSmtp(handler, hostname=self.backend.hostname, ident="MSSante mock (Segur harness) ESMTP",
                           tls_context=self.ssl_context, require_starttls=tls_on, auth_required=True,
                           auth_require_tls=tls_on, authenticator=handler.authenticate,
                           data_size_limit=self.backend.size_limit, command_call_limit=COMMAND_CALL_LIMIT,
                           timeout=120, loop=loop)

        self._smtp_server = await loop.create_server(factory, host=self.host, port=self._ports[0])
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
        self.admin.stop()
        if self.loop is not None and self._thread is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._stop_servers(), self.loop).result(timeout=10)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(timeout=10)
                self.loop.close()
            self.loop, self._thread = None, None
        self.backend.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> MssanteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
