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

SASL-IR (RFC 4959): the server advertises the `SASL-IR` capability and takes the initial response on the
AUTHENTICATE command line (`a AUTHENTICATE XOAUTH2 <base64>`, `=` for an empty one, §3), as the MSSanté
clients' referential allows for the PSC token (REM MSS/CONF.09); pymap alone answers such a line BAD. The
`imap-login` entry of an AUTHENTICATE says so (`command`), with its `mechanism` and `initial_response` (true:
the credentials came on the command line, one step; false: after the server's empty challenge, two steps); a
LOGIN's names the login alone.

What a mailbox reader did is journalled command by command, while the command runs (so the entry carries
the proof task in force, and a client's next step comes after it): ``imap-starttls`` (the TLS version and
cipher negotiated), ``imap-login``, ``imap-select``, ``imap-fetch`` (the UIDs, Message-IDs and mock ids
fetched, whether the content was read), ``imap-store`` (flags set), ``imap-append`` (e.g. an MDN kept in a
folder), ``imap-expunge``, ``imap-logout``, and ``imap-command`` for any other command the server refused
(a LOGIN before STARTTLS among them, without its password). Each entry's ``client`` names the connection
(``session``), its peer, its login and its TLS session (empty before STARTTLS).
"""

from __future__ import annotations

import asyncio
import binascii
import email.parser
import email.policy
import ssl
import time
import uuid
from argparse import Namespace
from base64 import b64decode, b64encode
from contextlib import AsyncExitStack, closing
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import Config, FilterSet, Identity, Login
from pymap.context import connection_exit, current_command
from pymap.exceptions import AuthorizationFailure, CloseConnection, InvalidAuth, ResponseError
from pymap.flags import FlagOp
from pymap.imap import IMAPConnection, IMAPServer
from pymap.imap.state import ConnectionState
from pymap.parsing import EndLine, Space
from pymap.parsing.command import Command
from pymap.parsing.command.any import LogoutCommand
from pymap.parsing.command.auth import AppendCommand, SelectCommand
from pymap.parsing.command.nonauth import AuthenticateCommand, LoginCommand
from pymap.parsing.command.select import ExpungeCommand, FetchCommand, StoreCommand
from pymap.parsing.commands import Commands
from pymap.parsing.exceptions import NotParseable
from pymap.parsing.message import AppendMessage
from pymap.parsing.primitives import Atom
from pymap.parsing.response import ResponseContinuation, ResponseOk
from pymap.user import UserMetadata
from pysasl import SASLAuth
from pysasl.creds.external import ExternalCredentials
from pysasl.exception import AuthenticationError
from pysasl.identity import ClearIdentity
from pysasl.mechanism import ChallengeResponse, ServerChallenge

from segur.kernel.journal import Journal
from segur.kernel.tenants import tenant_login
from segur.mocks.mssante import imap_parse
from segur.mocks.mssante.imap_store import ParsedCache, stored_mailbox_set
from segur.mocks.mssante.models import MssanteBackend

imap_parse.install()  # pymap's MIME line loops in C-level code: same structure, ~3 times less CPU per append

#: the FETCH attributes that read a message's content (RFC 3501 §6.4.5), unless their section is headers only
_CONTENT_ATTRIBUTES = (b"BODY", b"BODY.PEEK", b"BINARY", b"BINARY.PEEK")
_WHOLE_ATTRIBUTES = (b"RFC822", b"RFC822.TEXT")
_HEADER_SECTIONS = (b"HEADER", b"HEADER.FIELDS", b"HEADER.FIELDS.NOT", b"MIME")
_FLAG_MODES = {FlagOp.ADD: "add", FlagOp.DELETE: "remove", FlagOp.REPLACE: "replace"}
_HEADERS_ONLY = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_OPERATIONS = ((SelectCommand, "imap-select"), (FetchCommand, "imap-fetch"), (StoreCommand, "imap-store"),
               (AppendCommand, "imap-append"), (ExpungeCommand, "imap-expunge"),
               (LogoutCommand, "imap-logout"))


@dataclass
class ImapSession:
    """One IMAP connection as the journal names it: an id, the peer, the TLS session once STARTTLS is done
    (empty before), the mailbox logged in."""

    journal: Journal
    peer: list | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    tls: dict = field(default_factory=dict)
    login: str | None = None
    mailbox: str | None = None  # the mailbox's address (lower case) once logged in
    parsed: ParsedCache | None = None  # the parsed messages of the login's tenant
    selected: str | None = None  # the mailbox selected ("INBOX" whatever its case)
    #: the AUTHENTICATE under way: {"mechanism", "initial_response"} (None: a LOGIN, or none yet)
    sasl: dict | None = None

    def client(self) -> dict:
        return {"peer": self.peer, "session": self.id, "login": self.login, "tls": dict(self.tls)}

    def record(self, operation: str, verdict: str, request: dict, response: dict | None = None) -> None:
        self.journal.record(operation, verdict, request=request, response=response or {},
                            client=self.client())


#: the IMAP connection being served (each connection runs in its own asyncio task, with its own context)
_SESSION: ContextVar[ImapSession | None] = ContextVar("mssante_imap_session", default=None)


def _text(value) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | bytearray | memoryview) \
        else str(value)


def reads_content(attribute) -> bool:
    """Whether a FETCH attribute returns (part of) the message's content, not only its headers or flags."""
    if attribute.value in _WHOLE_ATTRIBUTES:
        return True
    section = attribute.section
    return attribute.value in _CONTENT_ATTRIBUTES and section is not None \
        and section.specifier not in _HEADER_SECTIONS


def _message_ids(parsed: ParsedCache, mailbox: str | None, uid: int) -> dict:
    """The Message-ID and the mock's id (``X-Segur-Mock-Id``) of a stored INBOX message (read through the
    parsed-message cache the fetch itself fills), as far as it has them."""
    if not mailbox:
        return {}
    found = {}
    try:
        headers = parsed.get(mailbox, uid).header.parsed
        for key, name in (("message_id", b"message-id"), ("mock_id", b"x-segur-mock-id")):
            values = headers.get(name) or []
            if values:
                found[key] = str(values[0]).strip()
    except Exception:  # noqa: BLE001 — a message pymap cannot parse still gets its UID journalled
        pass
    return found


def _append_facts(message: AppendMessage) -> dict:
    """What an appended message is: its size, flags, Message-ID and MIME type (a report's report-type: an
    MDN is ``multipart/report; report-type=disposition-notification``, RFC 8098 §3)."""
    literal = bytes(message.literal)
    headers = _HEADERS_ONLY.parsebytes(literal[:65536])
    facts = {"size": len(literal), "flags": sorted(_text(f.value) for f in message.flag_set),
             "content_type": headers.get_content_type(), "message_id": headers.get("Message-ID")}
    report_type = headers.get_param("report-type")
    if isinstance(report_type, str):
        facts["report_type"] = report_type.lower()
    return facts


class SaslIrAuthenticate(AuthenticateCommand):
    """AUTHENTICATE with the optional initial response of SASL-IR (RFC 4959 §7: `"AUTHENTICATE" SP
    auth-type [SP (base64 / "=")]`); `initial` is None when the line has none (the client waits for the
    server's challenge)."""

    def __init__(self, tag: bytes, mech_name: bytes, initial: bytes | None = None) -> None:
        super().__init__(tag, mech_name)
        self.initial = initial

    @classmethod
    def parse(cls, buf: memoryview, params):
        _, buf = Space.parse(buf, params)
        mechanism, after = Atom.parse(buf, params)
        try:
            _, after = EndLine.parse(after, params)
            return cls(params.tag, mechanism.value.upper()), after
        except NotParseable:
            _, after = Space.parse(after, params)
            initial, after = Atom.parse(after, params)  # base64 characters and "=" are all atom characters
            _, after = EndLine.parse(after, params)
            return cls(params.tag, mechanism.value.upper(), initial.value), after


def _commands() -> Commands:
    commands = Commands()
    commands.register(SaslIrAuthenticate)
    return commands


class _Config(Config):
    @property
    def commands(self) -> Commands:
        return _commands()

    @property
    def initial_capability(self):
        return [*super().initial_capability, b"SASL-IR"]

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
        session = _SESSION.get()
        if session is not None and ok:  # what follows on this connection goes to the login's tenant
            session.login, session.mailbox, session.journal = login, box.address.lower(), journal
        how = dict(session.sasl) if session is not None and session.sasl else {}  # a LOGIN: the login alone
        if session is not None:
            session.sasl = None  # said once: the next login of the connection says its own
        if oauth:
            how["mechanism"] = "XOAUTH2"
        journal.record("imap-login", "ok" if ok else "refused", findings=findings, meta=named,
                       request={"login": login, **how},
                       response={"result": "OK" if ok else "NO authentication failed"},
                       duration_ms=(time.monotonic() - started) * 1000,
                       client=session.client() if session is not None else None)
        if not ok:
            raise InvalidAuth()
        name = self.user(box.address.lower(), tenant, backend)
        if session is not None:
            session.parsed = self._tenant_parsed.get(tenant, self.parsed) if tenant else self.parsed
        return Identity(name, self, None, frozenset())

    async def authorize(self, authenticated, authzid: str) -> Identity:
        if authzid and authzid.lower() != authenticated.name.lower():
            raise AuthorizationFailure()
        return Identity(authenticated.name, self, None, frozenset())


class _State(ConnectionState):
    async def do_greeting(self):
        # pymap lets loopback clients log in before STARTTLS; the MSSanté space never does.
        return ResponseOk(b"*", self.config.greeting, self.capability)

    async def do_command(self, cmd: Command):
        """pymap's, then the command journalled (see the module doc)."""
        session = _SESSION.get()
        if session is None:
            return await super().do_command(cmd)
        if isinstance(cmd, LoginCommand):
            session.sasl = None  # a LOGIN, whatever an earlier AUTHENTICATE of the connection left
        targets = self._targets(cmd)
        try:
            response = await super().do_command(cmd)
        except CloseConnection:
            session.record("imap-logout", "ok", {"command": "LOGOUT"})
            raise
        except (InvalidAuth, AuthorizationFailure):
            raise  # the login journalled it (imap-login, in its tenant's journal)
        except ResponseError as exc:
            refusal = exc.get_response(cmd.tag)
            if isinstance(cmd, LoginCommand) and session.login is None:  # the tenant its user names
                session.journal = self.login.resolve(_text(cmd.userid))[3]
            session.record(self._operation(cmd), "refused", self._request(cmd),
                           {"result": _text(bytes(refusal)).strip()[:300]})
            raise
        self._journal(session, cmd, response, targets)
        return response

    def _targets(self, cmd: Command) -> list[tuple[int, int]]:
        """(sequence number, UID) of the messages a FETCH or STORE names, read before it runs."""
        if isinstance(cmd, FetchCommand | StoreCommand) and self._selected is not None:
            try:
                return list(self._selected.messages.get_uids(cmd.sequence_set))
            except Exception:  # noqa: BLE001 — pymap answers the bad set itself; the journal says none
                return []
        return []

    @staticmethod
    def _operation(cmd: Command) -> str:
        """The journal's operation for a command (UID FETCH is a FETCH, EXAMINE a SELECT)."""
        return next((name for kind, name in _OPERATIONS if isinstance(cmd, kind)), "imap-command")

    @staticmethod
    def _request(cmd: Command) -> dict:
        request = {"command": _text(cmd.command)}
        if isinstance(cmd, SelectCommand | AppendCommand):
            request["mailbox"] = str(cmd.mailbox)
        if isinstance(cmd, FetchCommand):
            request["attributes"] = [_text(bytes(a)) for a in cmd.attributes]
            request["content"] = any(reads_content(a) for a in cmd.attributes)
        if isinstance(cmd, StoreCommand):
            request.update(flags=sorted(_text(f.value) for f in cmd.flag_set), mode=_FLAG_MODES.get(cmd.mode))
        if isinstance(cmd, AppendCommand):
            request["messages"] = [_append_facts(m) for m in cmd.messages]
        return request

    def _journal(self, session: ImapSession, cmd: Command, response, targets) -> None:
        refused = response.is_bad or not isinstance(response, ResponseOk)
        operation = self._operation(cmd)
        if operation == "imap-command" and not refused:
            return  # CAPABILITY, NOOP, LIST, SEARCH…: not journalled when they succeed
        answer: dict = {"result": _text(response.text)[:300]}
        if isinstance(cmd, SelectCommand):
            name = str(cmd.mailbox)
            session.selected = None if refused else "INBOX" if name.upper() == "INBOX" else name
            if not refused and self._selected is not None:
                answer["exists"] = self._selected.messages.exists
        if isinstance(cmd, FetchCommand | StoreCommand) and not refused:
            inbox = session.mailbox if session.selected == "INBOX" else None  # other folders: pymap's memory
            parsed = session.parsed or self.login.parsed
            answer["messages"] = [{"uid": uid, **_message_ids(parsed, inbox, uid)} for _seq, uid in targets]
        session.record(operation, "refused" if refused else "ok", self._request(cmd), answer)


class _Connection(IMAPConnection):
    """pymap's connection, whose STARTTLS handshake is journalled with the TLS version and cipher it
    negotiated (or its failure), and whose AUTHENTICATE takes a SASL-IR initial response."""

    async def authenticate(self, state, mech_name: bytes):
        """pymap's exchange of challenges, unless the command line carried the initial response (SASL-IR):
        then the mechanism starts from it and the session notes that the client sent it in one step."""
        command = current_command.get(None)
        initial = getattr(command, "initial", None)
        session = _SESSION.get()
        if session is not None:
            session.sasl = {"command": "AUTHENTICATE", "mechanism": _text(mech_name),
                            "initial_response": initial is not None}
        if initial is None:
            return await super().authenticate(state, mech_name)
        mechanism = state.auth.get_server(mech_name)
        if not mechanism:
            return None
        try:
            data = b"" if initial == b"=" else b64decode(initial, validate=True)  # RFC 4959 §3: "=" is empty
        except binascii.Error as exc:
            raise AuthenticationError("Invalid base64 initial response.") from exc
        responses = [ChallengeResponse(b"", data)]
        while True:
            try:
                credentials, final = mechanism.server_attempt(responses)
            except ServerChallenge as challenge:  # a mechanism wanting more than the initial response
                await self.write_response(ResponseContinuation(b64encode(challenge.data)))
                answer = bytes(await self.read_continuation(0)).rstrip(b"\r\n")
                if answer == b"*":
                    raise AuthenticationError("Authentication canceled.") from None
                try:
                    responses.append(ChallengeResponse(challenge.data, b64decode(answer, validate=True)))
                except binascii.Error as exc:
                    raise AuthenticationError("Invalid base64 response.") from exc
                continue
            if final is not None:
                await self.write_response(ResponseContinuation(b64encode(final)))
                await self.read_continuation(0)
            return credentials

    async def start_tls(self) -> None:
        session = _SESSION.get()
        try:
            await super().start_tls()
        except (ssl.SSLError, ConnectionError) as exc:
            if session is not None:
                session.record("imap-starttls", "refused", {"command": "STARTTLS"},
                               {"error": f"{type(exc).__name__}: {exc}"[:300]})
            raise
        ssl_object = self.writer.get_extra_info("ssl_object")
        if session is not None:
            if ssl_object is not None:
                session.tls = {"version": ssl_object.version(), "cipher": (ssl_object.cipher() or [None])[0]}
            session.record("imap-starttls", "ok", {"command": "STARTTLS"}, {"tls": dict(session.tls)})


class _Server(IMAPServer):
    def __init__(self, login: _Login, config: Config):
        super().__init__(login, config)
        self.journal = login.journal

    async def __call__(self, reader, writer, sock_info) -> None:
        peer = writer.get_extra_info("peername")
        _SESSION.set(ImapSession(self.journal, list(peer[:2]) if isinstance(peer, tuple) else peer))
        conn = _Connection(self.commands, self._config, reader, writer, sock_info)
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
