"""The INSi mock as a kernel service: its settings and how it starts (`segur up`, `segur serve insi`)."""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.insi.app import InsiMock


@dataclass
class InsiConfig(ServiceConfig):
    port: int = setting(8301, "TCP port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    mtls: bool = setting(False, "Mutual TLS: require a client certificate of the test CA whose CN is INSI-AUTO "
                         "or INSI-MANU (implies tls).")
    any_idam: bool = setting(True, "Accept every IDAM (no siram_100/desir_550).", serve_default=False)
    fault_style: str = setting("cnam", "How Sender faults are answered: 'cnam' (HTTP 500, CNAM's recorded layout) "
                               "or 'strict' (HTTP 400 and WS-Addressing fault headers, SOAP 1.2 Part 2 §7.5.2).",
                               choices=("cnam", "strict"), flags={"--strict-faults": "strict"})


class InsiService(HttpService):
    name = "insi"
    Config = InsiConfig
    title = "The INSi teleservice mock (SOAP 1.2, CNAM's ServiceIdentiteCertifiee interface)."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        self.mock = InsiMock(self.context.world, accept_any_idam=self.config.any_idam,
                             require_client_cn=self.config.mtls, fault_style=self.config.fault_style)
        self.journal, self.faults = self.mock.journal, self.mock.faults

    def create_app(self):
        return self.mock.app

    def bound(self, base_url: str) -> None:
        super().bound(base_url)
        self.mock.base_url = base_url

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def reset(self) -> None:
        self.mock.reset()
