"""The Annuaire santé mock as a kernel service: its settings and how it starts."""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.annuaire.app import create_app
from segur.mocks.annuaire.backend import AnnuaireMock


@dataclass
class AnnuaireConfig(ServiceConfig):
    port: int = setting(8300, "TCP port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    api_keys: list = setting([], "API keys accepted in ESANTE-API-KEY (empty: any non-empty key).",
                             cli="--api-key")
    unknown_parameters: str = setting("refuse", "Unknown search parameters: 'refuse' (400, as the real server) or "
                                      "'fhir' (ignored and reported, FHIR R4 lenient).", choices=("refuse", "fhir"))


class AnnuaireService(HttpService):
    name = "annuaire"
    Config = AnnuaireConfig
    title = "The Annuaire santé mock (FHIR R4 API of the directory of health professionals)."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        self.mock = AnnuaireMock(self.context.world, api_keys=self.config.api_keys or None,
                                 unknown_parameters=self.config.unknown_parameters)
        self.journal, self.faults = self.mock.journal, self.mock.faults

    def create_app(self):
        return create_app(self.mock)

    def bound(self, base_url: str) -> None:
        super().bound(base_url)
        self.mock.base_url = base_url

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def reset(self) -> None:
        self.mock.reset()
