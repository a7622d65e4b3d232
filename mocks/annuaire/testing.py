"""Run the Annuaire santé mock in-process on a free port, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from segur.kernel.server import TlsSettings, WsgiServer
from segur.mocks.annuaire.app import create_app
from segur.mocks.annuaire.backend import BASE_PATH, AnnuaireMock


@dataclass
class RunningAnnuaire:
    mock: AnnuaireMock
    server: WsgiServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def fhir_base(self) -> str:
        return self.server.url + BASE_PATH

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def stop(self) -> None:
        self.server.stop()


def start_annuaire(host: str = "127.0.0.1", port: int = 0, tls: TlsSettings | None = None,
                   **options) -> RunningAnnuaire:
    mock = AnnuaireMock(**options)
    server = WsgiServer(create_app(mock), host=host, port=port, tls=tls, name="segur-annuaire").start()
    mock.base_url = server.url
    return RunningAnnuaire(mock, server)


@contextmanager
def running_annuaire(**options) -> Iterator[RunningAnnuaire]:
    running = start_annuaire(**options)
    try:
        yield running
    finally:
        running.stop()
