"""Run the test PKI service in-process for tests: `with running_igc(tmp_path) as igc: igc.endpoints()`."""

from __future__ import annotations

from contextlib import contextmanager

from segur.kernel.service import StackContext
from segur.mocks.igc.service import IgcConfig, IgcService


@contextmanager
def running_igc(data=None, **settings):
    """On free ports (HTTP and the revoked-certificate SMTP); `settings` are `IgcConfig` fields."""
    settings = {"revoked_smtp_port": 0, **settings}
    with IgcService(IgcConfig(port=0, **settings), StackContext.for_tests(data)) as service:
        yield service
