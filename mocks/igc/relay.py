"""An MSSanté operator that presents the revoked server certificate: the SMTP endpoint of REM MSS/va1.05 ("the
client checks that the operator's certificate is not revoked, with CRLs or OCSP").

It speaks SMTP up to STARTTLS itself (RFC 3207: greeting, EHLO advertising STARTTLS, anything else before
TLS answered `530 5.7.0`), then does the TLS handshake with `revoked/server.pem` of the test PKI, which the
CA revoked (keyCompromise) and which its CRL lists. A client that checks the CRL aborts the handshake (TLS
alert `certificate_revoked`, RFC 8446 §6.2) or hangs up right after it; a client that does not check goes
on, and from its first byte after the handshake the relay carries the session to the stack's MSSanté SMTP
(its own STARTTLS there, trusting the test CA), so the message is delivered, checked and journalled by
MSSanté as any other — which is what a product that ignores revocation does in production.

Each connection is journalled twice by the igc service: `revoked-smtp-connect` when it is accepted (so it is
tagged with the proof task in force), and `revoked-smtp-session` when it ends, with the same `connection`
number and what the client did: `refused-by-client` (the handshake failed, with the TLS error),
`closed-after-handshake` (nothing sent over TLS), `continued` (the client talked through the revoked
certificate, bytes relayed), `no-starttls` (it left before STARTTLS).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable

from cryptography import x509

#: what the relay says first (RFC 5321 §4.2: 220 greeting)
GREETING = b"220 localhost ESMTP MSSante operator with a revoked certificate (Segur harness)\r\n"
MAX_LINE = 1000  # RFC 5321 §4.5.3.1.4: a command line with its CRLF
MAX_COMMANDS = 20  # before STARTTLS: a client that loops is cut off
IO_TIMEOUT = 30.0


class RevokedSmtpRelay:
    """The listener; `backend()` gives the MSSanté SMTP (host, port) to carry a continued session to, or None
    (the session is then cut after the handshake, journalled all the same)."""

    def __init__(self, pki, journal, host: str, port: int, backend: Callable[[], tuple[str, int] | None]):
        self.pki, self.journal, self.host, self.backend = pki, journal, host, backend
        files = pki.revoked_server
        self.serial = format(x509.load_pem_x509_certificate(files.cert_file.read_bytes()).serial_number, "x")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_context.load_cert_chain(str(files.cert_file), str(files.key_file))
        self.backend_context = ssl.create_default_context(cafile=str(pki.ca_file))
        self.listener = socket.create_server((host, port))
        self.port = self.listener.getsockname()[1]
        self._numbers = itertools.count(1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="segur-igc-revoked-smtp", daemon=True)

    def start(self) -> RevokedSmtpRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept() (close alone does not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=5)

    def endpoint(self) -> dict:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {"host": self.host, "port": self.port,
                "url": f"smtp://{host}:{self.port}", "starttls": True, "certificate": "revoked-server",
                "serial": self.serial}

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, address = self.listener.accept()
            except OSError:
                return
            number = next(self._numbers)
            self.journal.record("revoked-smtp-connect", "ok", client={"address": address[0]},
                                meta={"connection": number, "serial": self.serial})
            threading.Thread(target=self._session, args=(conn, address, number), daemon=True,
                             name=f"segur-igc-revoked-smtp-{number}").start()

    def _session(self, conn: socket.socket, address, number: int) -> None:
        started = time.perf_counter()
        facts: dict = {"commands": [], "client_bytes_after_tls": 0, "tls_error": None, "tls": {},
                       "relayed_to": None}
        verdict = "error"
        conn.settimeout(IO_TIMEOUT)
        try:
            if not self._plain_phase(conn, facts):
                verdict = "no-starttls"
                return
            try:
                secure = self.server_context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                verdict, facts["tls_error"] = "refused-by-client", f"{type(exc).__name__}: {exc}"
                return
            conn = secure
            facts["tls"] = {"version": secure.version(), "cipher": (secure.cipher() or [None])[0]}
            first = _recv(secure)
            if not first:
                verdict = "closed-after-handshake"
                return
            verdict = "continued"
            facts["client_bytes_after_tls"] = len(first)
            self._carry(secure, first, facts)
        except (OSError, ValueError) as exc:
            facts["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            _close(conn)
            self.journal.record("revoked-smtp-session", verdict,
                                request={"commands": facts["commands"],
                                         "client_bytes_after_tls": facts["client_bytes_after_tls"]},
                                response={"tls_error": facts["tls_error"], "relayed_to": facts["relayed_to"],
                                          **({"error": facts["error"]} if "error" in facts else {})},
                                duration_ms=(time.perf_counter() - started) * 1000,
                                client={"address": address[0], "tls": facts["tls"]},
                                meta={"connection": number, "serial": self.serial})

    def _plain_phase(self, conn: socket.socket, facts: dict) -> bool:
        """SMTP up to STARTTLS; True when the client asked for it (and got 220)."""
        conn.sendall(GREETING)
        buffer = b""
        while len(facts["commands"]) < MAX_COMMANDS:
            while b"\r\n" not in buffer:
                if len(buffer) > MAX_LINE:
                    conn.sendall(b"500 5.5.2 Line too long\r\n")
                    return False
                chunk = _recv(conn)
                if not chunk:
                    return False
                buffer += chunk
            line, _, buffer = buffer.partition(b"\r\n")
            command = line.decode("ascii", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            facts["commands"].append(verb or "(empty)")
            if verb == "EHLO":
                conn.sendall(b"250-localhost\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n")
            elif verb == "HELO":
                conn.sendall(b"250 localhost\r\n")
            elif verb == "NOOP":
                conn.sendall(b"250 2.0.0 OK\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return False
            elif verb == "STARTTLS":
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                return True
            else:
                conn.sendall(b"530 5.7.0 Must issue a STARTTLS command first\r\n")
        conn.sendall(b"421 4.7.0 Too many commands before STARTTLS\r\n")
        return False

    def _carry(self, client: ssl.SSLSocket, first: bytes, facts: dict) -> None:
        """The client's session, from its first byte after the handshake, carried to MSSanté's SMTP."""
        target = self.backend()
        if target is None:
            return
        host, port = target
        facts["relayed_to"] = f"{host}:{port}"
        with socket.create_connection((host, port), timeout=IO_TIMEOUT) as raw:
            _expect(raw, b"220")
            raw.sendall(b"EHLO igc-revoked-relay\r\n")
            _expect(raw, b"250")
            raw.sendall(b"STARTTLS\r\n")
            _expect(raw, b"220")
            with self.backend_context.wrap_socket(raw, server_hostname=host) as backend:
                backend.sendall(first)
                upstream = threading.Thread(target=_pump, args=(client, backend, facts), daemon=True)
                upstream.start()
                _pump(backend, client, None)
                upstream.join(timeout=IO_TIMEOUT)


def _recv(sock) -> bytes:
    try:
        return sock.recv(65536)
    except (ConnectionResetError, ssl.SSLError, TimeoutError):
        return b""


def _expect(sock: socket.socket, code: bytes) -> None:
    """Read one SMTP reply (its last line starts with `code` and a space), else ValueError."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError(f"MSSanté closed the connection while the relay waited for {code.decode()}")
        data += chunk
        lines = data.split(b"\r\n")
        last = next((line for line in reversed(lines[:-1]) if line), None)
        if last is not None and last[3:4] == b" ":
            if not last.startswith(code):
                raise ValueError(f"MSSanté answered {last[:200]!r}, the relay expected {code.decode()}")
            return


def _pump(source, sink, facts: dict | None) -> None:
    """Copy until either side closes; counts the client's bytes when `facts` is given."""
    while True:
        data = _recv(source)
        if not data:
            break
        if facts is not None:
            facts["client_bytes_after_tls"] += len(data)
        try:
            sink.sendall(data)
        except OSError:
            break
    for sock in (sink, source):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _close(sock) -> None:
    with contextlib.suppress(OSError):
        sock.close()
