"""The IMAP side: pymap (a maintained asyncio IMAP4rev1 server) with its dict backend, fed by the mock.

Why pymap: it is a real IMAP4rev1 server (RFC 3501: STARTTLS, LOGIN/AUTHENTICATE PLAIN, LIST,
SELECT/EXAMINE, FETCH, SEARCH, STORE, UID, IDLE…) written on asyncio, so it shares the SMTP
server's event loop; its ``dict`` backend can be embedded: we replace its login (every world
mailbox is a user, checked against the mock's credentials) and its INBOX, which reads the
messages the mock delivered from the mock's store (`imap_store`: on disk with ``--data``, bodies
not kept in memory).

Two deliberate departures from pymap's defaults: logins are never allowed before STARTTLS (pymap
relaxes that for loopback connections; the MSSanté space never does, REM SC.MSS/CONF.06/.07), and
a failed login answers at once (no 0.3 s sleep) since the mock is local.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from argparse import Namespace
from contextlib import AsyncExitStack, closing
from datetime import UTC, datetime

from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import Config, FilterSet, Identity, Login
from pymap.context import connection_exit
from pymap.exceptions import AuthorizationFailure, InvalidAuth
from pymap.imap import IMAPConnection, IMAPServer
from pymap.imap.state import ConnectionState
from pymap.parsing.message import AppendMessage
from pymap.parsing.response import ResponseOk
from pymap.user import UserMetadata
from pysasl import SASLAuth
from pysasl.creds.external import ExternalCredentials
from pysasl.identity import ClearIdentity

from segur.kernel.journal import Journal
from segur.kernel.tenants import tenant_login
from segur.mocks.mssante import imap_parse
from segur.mocks.mssante.imap_store import ParsedCache, stored_mailbox_set
from segur.mocks.mssante.models import MssanteBackend

imap_parse.install()  # pymap's MIME line loops in C-level code: same structure, ~3 times less CPU per append


class _Config(Config):
    @property
    def tls_auth(self) -> SASLAuth:
        try:
            return SASLAuth.named([b"PLAIN", b"LOGIN", b"XOAUTH2"])
        except KeyError:  # pysasl without the OAuth2 entry point
            return SASLAuth.defaults()

    @property
    def greeting(self) -> bytes:
        return b"MSSante mock (Segur conformance harness) IMAP4rev1 ready"


class _Login(Login):
    """Every world mailbox is an IMAP user; passwords/tokens come from the mock's backend; every login is
    journalled."""

    def __init__(self, config: Config, backend: MssanteBackend, journal: Journal, resolve=None):
        super().__init__(config)
        self.backend = backend
        self.journal = journal
        self.parsed = ParsedCache(backend.store)
        #: login → (tenant, mailbox address, backend, journal); without tenants every login is the default's
        self.resolve = resolve or (lambda login: ("", login, self.backend, self.journal))
        self._tenant_parsed: dict[str, ParsedCache] = {}  # a tenant's parsed messages (its own store)
        self._tenant_users: dict[str, set[str]] = {}  # a tenant's cached mailbox sets (dropped at its reset)

    def user(self, name: str, tenant: str = "", backend: MssanteBackend | None = None) -> str:
        """Make the mailbox `name` of `tenant` a pymap user whose INBOX is read from the tenant's store
        (pymap's session finds it cached); its pymap name (the login that names the tenant)."""
        key = tenant_login(name, tenant)
        if key not in self.users_dict:
            self.users_dict[key] = UserMetadata(self.config, key)
        if key not in self.config.set_cache:
            backend = backend or self.backend
            parsed = self.parsed
            if tenant:
                parsed = self._tenant_parsed.setdefault(tenant, ParsedCache(backend.store))
                self._tenant_users.setdefault(tenant, set()).add(key)
            mailboxes = stored_mailbox_set(backend.store, name, parsed)
            self.config.set_cache[key] = (mailboxes, FilterSet())
        return key

    def forget(self, tenant: str) -> None:
        """Drop what is cached of a tenant's mailboxes (its reset): the next login reads its store again."""
        if not tenant:
            tenants = {key for keys in self._tenant_users.values() for key in keys}
            for key in [key for key in self.config.set_cache if key not in tenants]:
                del self.config.set_cache[key]
            self.parsed.clear()
            return
        for key in self._tenant_users.pop(tenant, ()):
            self.config.set_cache.pop(key, None)
        if tenant in self._tenant_parsed:  # in place: a session still open holds this cache
            self._tenant_parsed[tenant].clear()

    async def authenticate(self, credentials) -> Identity:
        oauth = isinstance(credentials, ExternalCredentials)  # XOAUTH2: user in authzid, bearer token
        given = credentials.authzid if oauth else credentials.authcid
        tenant, login, backend, journal = self.resolve(given)
        started = time.monotonic()
        box = backend.mailbox(login)
        ok, verdict = False, None
        if box is not None:
            if oauth:
                token = getattr(credentials, "_token", None) or ""  # pysasl has no public accessor
                verdict = backend.verify_token(login, token)
                ok = verdict.ok
            else:
                password = backend.password_for(login) or ""
                ok = credentials.verify(ClearIdentity(given, password))
        finding = verdict.finding if verdict is not None else None
        professional = verdict.professional if verdict is not None else None
        findings = [finding] if finding is not None else ()
        named = {"professional": professional} if professional else None
        journal.record("imap-login", "ok" if ok else "refused", findings=findings, meta=named,
                       request={"login": login, **({"mechanism": "XOAUTH2"} if oauth else {})},
                       response={"result": "OK" if ok else "NO authentication failed"},
                       duration_ms=(time.monotonic() - started) * 1000)
        if not ok:
            raise InvalidAuth()
        name = self.user(box.address.lower(), tenant, backend)
        return Identity(name, self, None, frozenset())

    async def authorize(self, authenticated, authzid: str) -> Identity:
        if authzid and authzid.lower() != authenticated.name.lower():
            raise AuthorizationFailure()
        return Identity(authenticated.name, self, None, frozenset())


class _State(ConnectionState):
    async def do_greeting(self):
        # pymap lets loopback clients log in before STARTTLS; the MSSanté space never does.
        return ResponseOk(b"*", self.config.greeting, self.capability)


class _Server(IMAPServer):
    async def __call__(self, reader, writer, sock_info) -> None:
        conn = IMAPConnection(self.commands, self._config, reader, writer, sock_info)
        state = _State(self._login, self._config)
        async with AsyncExitStack() as stack:
            connection_exit.set(stack)
            stack.enter_context(closing(conn))
            await conn.run(state)


class ImapService:
    """pymap on host:port in the running event loop; `deliver` appends to a mailbox's INBOX."""

    def __init__(self, backend: MssanteBackend, journal: Journal, host: str, port: int,
                 ssl_context: ssl.SSLContext | None, resolve=None):
        self.backend = backend
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self.port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        args = Namespace(passlib_cfg=None, proxy_protocol=None, debug=False, host=host, port=port, cert=None,
                         key=None, tls=ssl_context is not None, inherited_sockets=None)
        self.config = _Config(args, host=host, port=port, demo_data=False, demo_user="", demo_password="",
                              ssl_context=ssl_context or ssl.create_default_context(ssl.Purpose.CLIENT_AUTH),
                              tls_enabled=ssl_context is not None, invalid_user_sleep=0.0, reject_dnsbl=False,
                              max_append_len=backend.size_limit, bad_command_limit=10)
        self.login = _Login(self.config, backend, journal, resolve)

    async def start(self) -> None:
        self.config.apply_context()
        server = _Server(self.login, self.config)
        callback = ProxyProtocolReader(self.config.proxy_protocol).get_callback(server)
        self._server = await asyncio.start_server(callback, host=self.host, port=self.requested_port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def delivered(self, address: str, raw: bytes | None = None, tenant: str = "") -> None:
        """The backend stored a copy for `address` (of `tenant`): show it in the INBOX (if a session
        opened it)."""
        cached = self.config.set_cache.get(tenant_login(address.lower(), tenant))
        if cached is not None:
            inbox = await cached[0].get_mailbox("INBOX")
            async with inbox.messages_lock.write_lock():
                inbox.sync()

    async def deliver(self, address: str, raw: bytes) -> None:
        """Append `raw` to the INBOX of `address` as IMAP APPEND would (stored without a verdict)."""
        name = address.lower()
        self.login.user(name)
        identity = Identity(name, self.login, None, frozenset())
        async with identity.new_session() as session:
            inbox = await session.mailbox_set.get_mailbox("INBOX")
            await inbox.append(AppendMessage(raw, datetime.now(UTC), frozenset()), recent=True)

    async def reset(self, tenant: str = "") -> None:
        """Forget the cached mailboxes of `tenant` (the default one: every login without a tenant)."""
        self.login.forget(tenant)
