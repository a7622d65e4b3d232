"""The Pro Santé Connect mock as a kernel service: every setting `[psc]` and `segur serve psc` know."""

from __future__ import annotations

from dataclasses import dataclass

from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.psc.models import DEFAULT_CLIENT, Client, PscModel, Settings
from segur.mocks.psc.responses import PSC_DISCOVERY, create_app, endpoint_urls


@dataclass
class PscConfig(ServiceConfig):
    port: int = setting(8305, "TCP port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    clients: list = setting([], "Registered clients, each 'CLIENT_ID SECRET REDIRECT_URI…' "
                            "(or a TOML table {client_id, client_secret, redirect_uris}); the default test "
                            "client segur-test-client is always registered.", cli="--client")
    access_token_lifetime: int = setting(120, "Access and ID token lifetime, seconds.")
    refresh_token_lifetime: int = setting(1800, "Refresh token lifetime (idle), seconds.")
    session_max_lifetime: int = setting(36000, "A PSC session's maximum lifetime, seconds: no refresh after.")
    acr: str = setting("eidas1", "The acr the tokens carry.")
    acr_values: str = setting("warn", "An authorization without acr_values=eidas1 (REM PSC.08): 'warn' "
                              "(journalled PSC-AUTHZ-004, accepted) or 'refuse' (invalid_request).",
                              choices=("warn", "refuse"))
    pkce: str = setting("optional", "PKCE: 'optional' (a Keycloak client's default) or 'required' (a code "
                        "request without code_challenge is refused).", choices=("optional", "required"))
    ciba_pending_polls: int = setting(1, "CIBA polls answered authorization_pending before the professional "
                                      "accepts.")

    def __post_init__(self):
        """A bad client or lifetime fails at load (`segur up` exits 2 naming it), not at the first login."""
        for spec in self.clients:
            Client.parse(spec)
        for name in ("access_token_lifetime", "refresh_token_lifetime", "session_max_lifetime"):
            if getattr(self, name) < 1:
                raise ConfigError(f"[psc] {name} must be at least 1 second, not {getattr(self, name)}")
        if self.ciba_pending_polls < 0:
            raise ConfigError("[psc] ciba_pending_polls must be 0 or more")


class PscService(HttpService):
    name = "psc"
    Config = PscConfig
    title = "The Pro Santé Connect mock (OpenID Connect provider: code flow, PKCE, CIBA, test login)."
    fault_kinds = {"token_error": {"error": "temporarily_unavailable", "status": 503,
                                   "description": "Pro Santé Connect is unavailable (fault injected)"}}

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        config = self.config
        clients = (DEFAULT_CLIENT, *(Client.parse(spec) for spec in config.clients))
        settings = Settings(access_token_lifetime=config.access_token_lifetime,
                            refresh_token_lifetime=config.refresh_token_lifetime,
                            session_max_lifetime=config.session_max_lifetime, acr=config.acr,
                            acr_values=config.acr_values, pkce=config.pkce,
                            ciba_pending_polls=config.ciba_pending_polls)
        self.model = PscModel(self.context.world or load_world(), clients, settings)

    def create_app(self):
        return create_app(self)

    def bound(self, base_url: str) -> None:
        """The issuer follows the address (a tenant's is under /t/<tenant>, its tokens its own)."""
        super().bound(base_url)
        self.model.issuer = endpoint_urls(base_url)["issuer"]

    def endpoints(self) -> dict:
        return {**endpoint_urls(self.base_url), "client_id": DEFAULT_CLIENT.client_id,
                "client_secret": DEFAULT_CLIENT.secret}

    def reset(self) -> None:
        self.model.reset()

    def health(self) -> dict:
        settings = self.model.settings
        return {"issuer": self.model.issuer, "discovery_path": PSC_DISCOVERY,
                "clients": sorted(self.model.clients), "acr": settings.acr,
                "acr_values": settings.acr_values, "pkce": settings.pkce,
                "lifetimes": {"access_token": settings.access_token_lifetime,
                              "refresh_token": settings.refresh_token_lifetime,
                              "session_max": settings.session_max_lifetime},
                "test_login": "POST /_admin/next-login {\"idnps\": …}, login_hint=<IDNPS>, or the login page",
                "next_logins": len(self.model.queued_logins())}

    def ready_lines(self) -> list[str]:
        endpoints = self.endpoints()
        return [f"issuer: {endpoints['issuer']}", f"discovery: {endpoints['discovery']}",
                f"test client: {endpoints['client_id']} / {endpoints['client_secret']}",
                f"test login: POST {endpoints['next_login']} " + '{"idnps": "8…"}',
                f"admin: {endpoints['admin']}"]
