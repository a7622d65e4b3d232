"""The console as a kernel service: its settings (`[console]` of `segur up`, `segur serve console`) and how it
starts. It is registered last in `segur.services`, so the mocks it shows are started before it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from segur.console.activity import Feed
from segur.console.app import create_app
from segur.console.auth import is_loopback
from segur.console.peers import AdminApi, admin_urls_of_file, admin_urls_of_stack, tenant_admin_url
from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, ServiceConfig, setting
from segur.kernel.service import HttpService


@dataclass
class ConsoleConfig(ServiceConfig):
    port: int = setting(8310, "HTTP port of the console (0: a free one).")
    port_fallback: bool = setting(True, "When the port is taken, listen on a free one instead (the console "
                                  "is for people: open the URL it prints).")
    token: str = setting("", "Token required to use the console (Authorization: Bearer, or the login form). "
                         "Required when the stack listens beyond loopback.")
    evidence: str = setting("evidence", "Folder of the evidence packs `segur proof` writes (the Proof runs "
                            "page).")
    endpoints_file: str = setting(".segur-endpoints.json", "Where a console started alone reads the "
                                  "services' endpoints (the file `segur up` writes).")
    window: int = setting(5000, "Exchanges of each service the live view keeps in memory (the latest).")


class ConsoleService(HttpService):
    name = "console"
    Config = ConsoleConfig
    title = "The web console: live exchanges, documents, mailboxes, the world, validation, faults, runs."
    threads = 8

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        self.admin = AdminApi(self.peer_admin_urls, token=self.context.stack.admin_token)
        self._world = self.context.world
        self.feed = Feed(self.admin, window=self.config.window, world=self.world)

    @property
    def world(self):
        if self._world is None:
            self._world = load_world()
        return self._world

    def peer_admin_urls(self) -> dict[str, str]:
        """The admin URL of every other service: those of this stack, else those of the endpoints file; a
        tenant's console (`/t/<tenant>/`) reads the same tenant of each service."""
        urls = admin_urls_of_stack(self.context.running, self.name)
        urls = urls or admin_urls_of_file(self.config.endpoints_file, self.name)
        tenant = self.context.tenant
        return {name: tenant_admin_url(url, tenant) for name, url in urls.items()} if tenant else urls

    def for_tenant(self, tenant: str) -> ConsoleService:
        """The console of one tenant: it shows that tenant of every service of the stack."""
        instance = super().for_tenant(tenant)
        instance.context.running = self.context.running
        return instance

    @property
    def evidence_dir(self) -> Path:
        return Path(self.config.evidence)

    def create_app(self):
        return create_app(self)

    def start(self) -> ConsoleService:
        host = self.context.stack.host
        if not is_loopback(host) and not self.config.token:
            raise ConfigError(f"[console] token is required when the console listens on {host} (beyond "
                              "loopback): set one (segur serve console --token) or [console] enabled = false")
        try:
            return super().start()
        except OSError:
            if not self.config.port_fallback or self.config.port == 0:
                raise
            self.config = dataclasses.replace(self.config, port=0)
            return super().start()

    def endpoints(self) -> dict:
        base = self.base_url
        return {"console": f"{base}/", "admin": f"{base}/_admin/"}

    def health(self) -> dict:
        return {"services": sorted(self.peer_admin_urls()), "token_required": bool(self.config.token)}

    def ready_lines(self) -> list[str]:
        lines = [f"console: {self.endpoints()['console']}"]
        if not self.peer_admin_urls():
            where = self.config.endpoints_file
            lines.append(f"no service to show yet: start `segur up` (the console reads {where})")
        return lines
