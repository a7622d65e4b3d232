"""The test PKI service (`segur serve igc`): publishes the CA and its CRL over HTTP, and runs an MSSanté
operator's SMTP endpoint that presents the revoked server certificate (`relay.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.igc.models import CA_PATH, CRL_PATH, CRL_PEM_PATH, Authority
from segur.mocks.igc.relay import RevokedSmtpRelay


@dataclass
class IgcConfig(ServiceConfig):
    port: int = setting(8304, "HTTP port of the CRL publication point (0: a free one).")
    revoked_smtp_port: int = setting(8588, "SMTP port of the operator presenting the revoked server "
                                     "certificate (0: a free one).")
    revoked_smtp_relay: str = setting("stack", "Where a client that goes on through the revoked certificate "
                                      "is carried: 'stack' = the stack's MSSanté SMTP, 'HOST:PORT', or '' "
                                      "(cut after the handshake).")


class IgcService(HttpService):
    name = "igc"
    Config = IgcConfig
    title = "The test PKI's publication point: CA certificate and CRL over HTTP, revocation on demand."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        self.authority = Authority(self.context.test_pki())
        self.relay: RevokedSmtpRelay | None = None

    def create_app(self):
        # start-up: Flask costs ~80 ms of `segur --help` (measured with -X importtime), which never
        # builds the app
        from segur.mocks.igc.responses import create_app

        return create_app(self)

    def start(self) -> IgcService:
        super().start()
        try:
            self.relay = RevokedSmtpRelay(self.authority.pki, self.journal, self.context.stack.host,
                                          self.config.revoked_smtp_port, self.relay_target).start()
        except OSError:  # its port taken: the HTTP side must not stay up alone
            super().stop()
            raise
        return self

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        super().stop()

    def relay_target(self) -> tuple[str, int] | None:
        """The MSSanté SMTP a continued session goes to (looked up when needed: MSSanté starts after igc)."""
        where = self.config.revoked_smtp_relay
        if where == "stack":
            mssante = self.context.running.get("mssante")
            smtp = (mssante.endpoints() if mssante is not None else {}).get("smtp") or {}
            return (smtp["host"], int(smtp["port"])) if smtp.get("port") else None
        host, _, port = where.rpartition(":")
        return (host, int(port)) if host and port.isdigit() else None

    def endpoints(self) -> dict:
        base = self.base_url
        found = {"crl": base + CRL_PATH, "crl_pem": base + CRL_PEM_PATH, "ca": base + CA_PATH,
                 "ca_file": str(self.authority.pki.ca_file.resolve()), "admin": base + "/_admin/"}
        if self.relay is not None:
            found["revoked_smtp"] = self.relay.endpoint()
        return found

    def health(self) -> dict:
        state = self.authority.revocations()
        return {"crl_number": state["crl_number"], "revoked": len(state["revoked"])}

    def reset(self) -> None:
        self.authority.reset()
