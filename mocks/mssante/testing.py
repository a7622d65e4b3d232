"""Run the MSSanté mock in-process for tests: free ports, background loop, stopped on exit.

    with running_mssante() as mss:
        smtp = smtplib.SMTP(mss.smtp_host, mss.smtp_port); smtp.starttls(context=mss.client_context()) …
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from segur.mocks.mssante.server import MssanteServer


class RunningMssante:
    def __init__(self, server: MssanteServer):
        self.server = server

    @property
    def mock(self) -> MssanteServer:
        return self.server

    @property
    def backend(self):
        return self.server.backend

    @property
    def url(self) -> str:
        return self.server.admin.url

    @property
    def smtp_host(self) -> str:
        return self.server.host

    @property
    def smtp_port(self) -> int:
        return self.server.smtp_port

    @property
    def imap_host(self) -> str:
        return self.server.host

    @property
    def imap_port(self) -> int:
        return self.server.imap_port

    @property
    def password(self) -> str:
        return self.server.backend.default_password

    def endpoints(self) -> dict:
        return self.server.endpoints()

    def client_context(self, client: str | None = None, untrusted: bool = False) -> ssl.SSLContext:
        """A client TLS context trusting the mock's CA; with `client`, presenting that test certificate."""
        pki = self.server.pki
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        if client:
            files = pki.untrusted_client(client) if untrusted else pki.client(client)
            context.load_cert_chain(str(files.cert_file), str(files.key_file))
        return context


@contextmanager
def running_mssante(world=None, **options) -> Iterator[RunningMssante]:
    """Start the mock on free loopback ports (SMTP, IMAP, admin) and stop it afterwards.

    Options are those of `MssanteServer` (``tls``, ``pki_dir``, ``host``) and of `MssanteBackend`
    (``default_password``, ``passwords``, ``tokens``, ``size_limit``, ``recipient_policy``,
    ``validate``, ``xdm_limits``…).
    """
    server = MssanteServer(world, **options)
    server.start()
    try:
        yield RunningMssante(server)
    finally:
        server.stop()
