"""One PSC mock per test module, back to its initial state (and the real clock) before each test."""

from __future__ import annotations

import time

import pytest

from segur.mocks.psc.testing import running_psc


@pytest.fixture(scope="module")
def psc_server():
    with running_psc() as service:
        yield service


@pytest.fixture
def psc(psc_server):
    psc_server.model.reset()
    psc_server.model.clock = time.time
    psc_server.journal.clear()
    psc_server.faults.clear()
    return psc_server
