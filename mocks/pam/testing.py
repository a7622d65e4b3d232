"""Run the PAM mock in-process for tests (free ports, stopped on exit) and talk MLLP to it.

    with running_pam() as pam:
        ack = pam.send(b"MSH|^~\\&|...")          # one framed message, the ACK's text back
        pam.identities()                          # what the consumer kept
"""

from __future__ import annotations

import socket
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from segur.kernel.service import StackContext
from segur.mocks.pam import mllp
from segur.mocks.pam.service import PamConfig, PamService


class RunningPam:
    def __init__(self, service: PamService):
        self.service = service

    @property
    def host(self) -> str:
        return self.service.listeners[0].server_address[0]

    @property
    def port(self) -> int:
        return self.service.listeners[0].server_address[1]

    @property
    def cda_port(self) -> int:
        """The port of the first listener of the CDA transport volet."""
        return self.service.cda_listeners[0].server_address[1]

    def send_cda(self, message: bytes | str, timeout: float = 5.0) -> str:
        """One message to the CDA transport listener; the ACK text."""
        data = message.encode("utf-8") if isinstance(message, str) else message
        answer = mllp.exchange(self.host, self.cda_port, data, timeout=timeout)
        return answer.decode("utf-8", errors="replace")

    @property
    def admin_url(self) -> str:
        return self.service.admin_url

    @property
    def journal(self):
        return self.service.journal

    def send(self, message: bytes | str, timeout: float = 5.0) -> str:
        """One message in one MLLP block on a new connection; the ACK text."""
        data = message.encode("utf-8") if isinstance(message, str) else message
        return mllp.exchange(self.host, self.port, data, timeout=timeout).decode("utf-8", errors="replace")

    def connect(self, timeout: float = 5.0) -> socket.socket:
        """A raw connection to the first listener, for tests that write bytes themselves."""
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def identities(self) -> list:
        return self.service.store.all()


@contextmanager
def running_pam(world=None, **settings) -> Iterator[RunningPam]:
    """Start the mock on free loopback ports; `settings` are those of `PamConfig`."""
    settings = {"port": 0, "mllp_ports": [0], "cda_ports": [0], **settings}
    with PamService(PamConfig(**settings), StackContext.for_tests(world=world)) as service:
        yield RunningPam(service)


def read_reply(sock: socket.socket) -> str:
    """The next answer block on a raw connection ('' when the mock closed it without one). Answers that
    came in one packet are kept for the next call (per socket)."""
    reader, pending = _readers.setdefault(sock, (mllp.FrameReader(), deque()))
    while not pending:
        data = sock.recv(65536)
        if not data:
            return ""
        pending.extend(e.data for e in reader.feed(data) if e.kind == mllp.FRAME)
    return pending.popleft().decode("utf-8", errors="replace")


_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
