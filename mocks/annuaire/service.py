"""The Annuaire santé mock as a kernel service: every setting (`[annuaire]` of `segur up`, the options
of `segur serve annuaire`, the keywords of `testing.running_annuaire`) declared once in
`AnnuaireConfig`, and how it starts."""

from __future__ import annotations

from dataclasses import dataclass

from segur.fixtures.world import load_world
from segur.kernel.config import ServiceConfig, check_choices, setting
from segur.kernel.service import HttpService
from segur.mocks.annuaire.models import (
    BASE_PATH,
    DEFAULT_COUNT,
    MAX_COUNT,
    UNKNOWN_PARAMETER_MODES,
    AnnuaireModel,
)
from segur.mocks.annuaire.search import PARAMETERS


@dataclass
class AnnuaireConfig(ServiceConfig):
    port: int = setting(8300, "TCP port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    api_keys: list = setting([], "An accepted ESANTE-API-KEY (repeatable; none given: any non-empty key).",
                             cli="--api-key")
    unknown_parameters: str = setting("refuse", "Unknown search parameters: 'refuse' (400, as the real "
                                      "server) or 'fhir' (ignored and reported, FHIR R4 lenient; refused "
                                      "only with Prefer: handling=strict).", choices=UNKNOWN_PARAMETER_MODES)


class AnnuaireService(HttpService):
    name = "annuaire"
    Config = AnnuaireConfig
    title = "The Annuaire santé mock (FHIR R4 API of the directory of health professionals)."

    def __init__(self, config: AnnuaireConfig | None = None, context=None):
        super().__init__(config, context)
        check_choices(self.config, self.name)
        world = self.context.world if self.context.world is not None else load_world()
        self.model = AnnuaireModel(world, api_keys=self.config.api_keys or None,
                                   unknown_parameters=self.config.unknown_parameters)

    def create_app(self):
        # Flask and fhir.resources' CapabilityStatement cost ~200 ms: `segur --help` never builds the
        # app, so they are imported here.
        from segur.mocks.annuaire.responses import create_app

        return create_app(self)

    def endpoints(self) -> dict:
        base = self.base_url
        return {"fhir_base": f"{base}{BASE_PATH}", "metadata": f"{base}{BASE_PATH}/metadata",
                "admin": f"{base}/_admin/", "api_key_header": "ESANTE-API-KEY"}

    def reset(self) -> None:
        self.model.reset()

    def health(self) -> dict:
        """What this mock simulates (the same facts as the CapabilityStatement)."""
        directory = self.model.directory
        return {"fhir_version": "4.0.1", "unknown_parameters": self.config.unknown_parameters,
                "paging": {"default_count": DEFAULT_COUNT, "max_count": MAX_COUNT,
                           "next_link": f"{BASE_PATH}/_page?id="},
                "ids": "technical (e.g. Practitioner/003-…); search by identifier, never read by RPPS/FINESS",
                "resources": {t: {"count": len(directory[t]), "search": sorted(PARAMETERS[t])}
                              for t in PARAMETERS}}
