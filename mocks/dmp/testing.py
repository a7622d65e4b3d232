"""Run the DMP mock in-process, for tests: `with running_dmp(...) as dmp: dmp.url, dmp.mock, dmp.endpoints()`."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from segur.kernel.server import TlsSettings, WsgiServer
from segur.mocks.dmp.app import DEFAULT_MAX_BODY, DmpMock, create_app
from segur.mocks.dmp.backend import DmpBackend, DmpOptions, RuleHooks


@dataclass
class RunningDmp:
    server: WsgiServer
    mock: DmpMock
    data_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def backend(self) -> DmpBackend:
        return self.mock.backend

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def endpoint(self, service: str) -> str:
        return self.mock.endpoints()[service]


@contextmanager
def running_dmp(data_dir: str | Path | None = None, *, world=None, lenient: bool = False, pki=None,
                tls: TlsSettings | None = None, max_body: int = DEFAULT_MAX_BODY, hooks: RuleHooks | None = None,
                validator=None, **options) -> Iterator[RunningDmp]:
    """Start the DMP mock on a free loopback port; stop it (and close its store) on exit.

    `data_dir`: where the SQLite store lives (a temporary directory, removed afterwards, when None);
    `pki`: a `segur.kernel.pki.TestPki` whose CA may sign VIHF assertions; other keywords go to `DmpOptions`.
    """
    with tempfile.TemporaryDirectory(prefix="segur-dmp-") as scratch:
        directory = Path(data_dir) if data_dir is not None else Path(scratch)
        trusted = options.pop("trusted_ca_files", None) or ((pki.ca_file,) if pki is not None else ())
        backend = DmpBackend(directory, world=world, hooks=hooks, validator=validator,
                             options=DmpOptions(lenient=lenient, trusted_ca_files=tuple(trusted), **options))
        mock = DmpMock(backend, max_body=max_body)
        server = WsgiServer(create_app(mock), tls=tls, name="segur-dmp")
        server.start()
        mock.base_url = server.url
        try:
            yield RunningDmp(server, mock, directory)
        finally:
            server.stop()
            backend.close()
