"""Run the DMP mock in-process, for tests: `with running_dmp(...) as dmp: dmp.url, dmp.backend, dmp.journal`.

Built on the service (`DmpService`): the keywords are its settings (`DmpConfig`), so a test starts the same
mock `segur up` starts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segur.kernel.server import TlsSettings
from segur.kernel.service import StackContext
from segur.mocks.dmp.service import DmpConfig, DmpService


@contextmanager
def running_dmp(data_dir: str | Path | None = None, *, world=None, pki=None, tls: TlsSettings | None = None,
                validator=None, validator_pack=None, store: str = "", tenant: str = "",
                **settings) -> Iterator[DmpService]:
    """Start the DMP mock on a free loopback port; stop it (and close its store) on exit.

    `data_dir`: where the SQLite store lives (a temporary directory, removed afterwards, when None);
    `pki`: a `segur.kernel.pki.TestPki` whose CA signs the server certificate and may sign VIHF assertions;
    `tls`: serve HTTPS with that PKI (`require_client_cert`: mutual TLS); the other keywords are `DmpConfig`
    settings (`lenient=True`, `max_body=…`, `validation=False`…); `store` a PostgreSQL URL (the stack's
    `[stack] store`) and `tenant` the tenant of that shared database.
    """
    with tempfile.TemporaryDirectory(prefix="segur-dmp-") as scratch:
        if data_dir is not None:
            settings["data"] = str(data_dir)
        if tls is not None:
            settings.update(tls=True, mtls=tls.require_client_cert)
        context = StackContext.for_tests(scratch, world=world, pki=pki)
        context.stack.store, context.tenant = store, tenant
        service = DmpService(DmpConfig(port=0, **settings), context, validator=validator,
                             validator_pack=validator_pack)
        with service:
            yield service
