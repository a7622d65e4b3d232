"""The test PKI service (`segur serve igc`): publishes the CA and its CRL over HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.igc.models import CA_PATH, CRL_PATH, CRL_PEM_PATH, Authority


@dataclass
class IgcConfig(ServiceConfig):
    port: int = setting(8304, "HTTP port of the CRL publication point (0: a free one).")


class IgcService(HttpService):
    name = "igc"
    Config = IgcConfig
    title = "The test PKI's publication point: CA certificate and CRL over HTTP, revocation on demand."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        self.authority = Authority(self.context.test_pki())

    def create_app(self):
        # start-up: Flask costs ~80 ms of `segur --help` (measured with -X importtime), which never
        # builds the app
        from segur.mocks.igc.responses import create_app

        return create_app(self)

    def endpoints(self) -> dict:
        base = self.base_url
        return {"crl": base + CRL_PATH, "crl_pem": base + CRL_PEM_PATH, "ca": base + CA_PATH,
                "ca_file": str(self.authority.pki.ca_file.resolve()), "admin": base + "/_admin/"}

    def health(self) -> dict:
        state = self.authority.revocations()
        return {"crl_number": state["crl_number"], "revoked": len(state["revoked"])}

    def reset(self) -> None:
        self.authority.reset()
