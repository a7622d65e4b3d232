"""MLLP, the Minimal Lower Layer Protocol HL7 v2 travels on: framing, a threaded listener and a client.

A block is ``<VT> message <FS><CR>`` (0x0B … 0x1C 0x0D; the constants of python-hl7's
``hl7/mllp/streams.py`` and hl7apy's ``mllp.py``). This module knows bytes only, nothing of HL7: the
`FrameReader` cuts a stream into blocks and names what is not one (bytes before a <VT>, a block never
ended, an oversize block, a connection closed mid-block), so the service can journal each and answer
what can be answered. It is the project's own (not a library's) because a conformance harness must see
broken framing and keep serving, where the libraries' servers raise or close.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass

from segur.kernel.server import STOP_LATENCY

START = b"\x0b"
END = b"\x1c"
CR = b"\x0d"
_BLANK = b"\r\n \t"

# what the reader yields
FRAME = "frame"  # a whole block: data = the message bytes
# bytes outside a block; `answerable` when they ended with <FS> (a block missing its <VT>)
NO_START = "no-start"
UNTERMINATED = "unterminated"  # a new <VT> came before the <FS>: data = the partial block
OVERSIZE = "oversize"  # the block passed the limit: data = its first bytes; the rest is skipped up to <FS>
TRUNCATED = "truncated"  # the connection closed mid-block


@dataclass(frozen=True)
class Event:
    kind: str
    data: bytes
    size: int = 0  # bytes the block or the stray run had on the wire
    answerable: bool = True  # the peer waits for an answer (it ended what it sent)
    no_cr: bool = False  # the <FS> was not followed by <CR>


class FrameReader:
    """Cuts a byte stream into MLLP blocks; `feed` returns the events the new bytes completed."""

    def __init__(self, max_size: int = 1 << 20):
        self.max_size = max_size
        self._buffer = bytearray()
        self._in_block = False
        self._skipping = 0  # bytes of an oversize block skipped so far (0: not skipping)

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while self._buffer:
            event = self._next_block() if self._in_block else self._outside()
            if event is None:
                break
            if event is not _CONTINUE:
                events.append(event)
        return events

    def close(self) -> list[Event]:
        """The connection closed: a block in progress is truncated, stray bytes are reported."""
        events = []
        if self._in_block and not self._skipping:
            events.append(Event(TRUNCATED, bytes(self._buffer[1:]), len(self._buffer), answerable=False))
        elif self._buffer.strip(_BLANK):
            events.append(Event(NO_START, bytes(self._buffer), len(self._buffer), answerable=False))
        self._buffer.clear()
        self._in_block, self._skipping = False, 0
        return events

    def _outside(self):
        start = self._buffer.find(START)
        end = self._buffer.find(END)
        if start == 0:
            self._in_block = True
            return _CONTINUE
        if end >= 0 and (start < 0 or end < start):  # a block without its <VT>: the peer waits for an answer
            stray = bytes(self._buffer[:end])
            no_cr = self._cut(end + 1)
            return Event(NO_START, stray, len(stray), answerable=True, no_cr=no_cr)
        if start > 0:  # bytes between blocks
            stray = bytes(self._buffer[:start])
            del self._buffer[:start]
            if stray.strip(_BLANK):
                return Event(NO_START, stray, len(stray), answerable=False)
            return _CONTINUE
        if len(self._buffer) > self.max_size:
            stray = bytes(self._buffer[:256])
            size = len(self._buffer)
            self._buffer.clear()
            return Event(NO_START, stray, size, answerable=False)
        return None  # wait for more

    def _next_block(self):
        if self._skipping:
            return self._skip()
        end = self._buffer.find(END)
        restart = self._buffer.find(START, 1)
        if restart >= 0 and (end < 0 or restart < end):
            partial = bytes(self._buffer[1:restart])
            del self._buffer[:restart]
            return Event(UNTERMINATED, partial, len(partial) + 1)
        if end < 0:
            if len(self._buffer) - 1 > self.max_size:
                head = bytes(self._buffer[1:1025])
                self._skipping = len(self._buffer)
                self._buffer.clear()
                return Event(OVERSIZE, head, self._skipping)
            return None
        message = bytes(self._buffer[1:end])
        if len(message) > self.max_size:
            self._cut(end + 1)
            self._in_block = False
            return Event(OVERSIZE, message[:1024], len(message) + 1)
        no_cr = self._cut(end + 1)
        self._in_block = False
        return Event(FRAME, message, len(message) + 2, no_cr=no_cr)

    def _skip(self):
        end = self._buffer.find(END)
        if end < 0:
            self._skipping += len(self._buffer)
            self._buffer.clear()
            return None
        self._cut(end + 1)
        self._in_block, self._skipping = False, 0
        return _CONTINUE

    def _cut(self, after_end: int) -> bool:
        """Drop the bytes up to `after_end` and the <CR> after it; True when another byte stands there
        (a <CR> still to come in the next packet is dropped as a blank between blocks)."""
        no_cr = len(self._buffer) > after_end and self._buffer[after_end:after_end + 1] != CR
        del self._buffer[:after_end if no_cr else after_end + 1]
        return no_cr


_CONTINUE = Event("continue", b"")


def frame(message: bytes) -> bytes:
    return START + message + END + CR


# --- the listener --------------------------------------------------------------------------------

@dataclass
class Reply:
    """What the service answers to one event: bytes to send (already framed), and whether to hang up."""

    data: bytes | None = None
    close: bool = False


Handler = Callable[[Event, dict], Reply]


class _Connection(socketserver.BaseRequestHandler):
    server: MllpListener

    def handle(self) -> None:
        listener = self.server
        sock: socket.socket = self.request
        sock.settimeout(listener.idle_timeout)
        peer = {"address": self.client_address[0], "port": self.client_address[1], "listener": listener.url}
        reader = FrameReader(listener.max_size)
        listener.opened(sock)
        try:
            while True:
                try:
                    data = sock.recv(65536)
                except (TimeoutError, OSError):
                    data = b""
                events = reader.feed(data) if data else reader.close()
                for event in events:
                    reply = listener.handler(event, peer)
                    if reply.data:
                        sock.sendall(reply.data)
                    if reply.close:
                        return
                if not data:
                    return
        except OSError:
            return  # the peer went away while we answered: nothing left to tell it
        finally:
            listener.closed(sock)


class MllpListener(socketserver.ThreadingTCPServer):
    """One MLLP port; each connection in its own thread, any number of messages per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, host: str, port: int, handler: Handler, *, max_size: int = 1 << 20,
                 idle_timeout: float = 60.0):
        super().__init__((host, port), _Connection)
        self.handler = handler
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)

    def closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"mllp://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> MllpListener:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": STOP_LATENCY},
                                        name=f"segur-pam-{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, then hang up the connections still open (a stopped mock answers nobody)."""
        self.shutdown()
        self.server_close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread:
            self._thread.join(timeout=5)


# --- the client ----------------------------------------------------------------------------------

class MllpTimeout(TimeoutError):
    """The peer sent no whole answer block in time."""


def parse_url(url: str) -> tuple[str, int]:
    """``mllp://host:port`` → (host, port); ValueError when it is not that."""
    if not url.startswith("mllp://"):
        raise ValueError(f"{url!r} is not an mllp://host:port address")
    host, sep, port = url[len("mllp://"):].rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{url!r} is not an mllp://host:port address")
    return host.strip("[]"), int(port)


def exchange(host: str, port: int, message: bytes, timeout: float = 10.0) -> bytes:
    """Send one message in a block and return the message of the answer block."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(frame(message))
        reader = FrameReader()
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError as exc:
                raise MllpTimeout(f"no answer from mllp://{host}:{port} within {timeout} s") from exc
            if not data:
                raise ConnectionError(f"mllp://{host}:{port} closed the connection without answering")
            for event in reader.feed(data):
                if event.kind == FRAME:
                    return event.data
