"""One PAM mock for each test module (free ports), reset before each test."""

from __future__ import annotations

import pytest

from segur.mocks.pam.testing import running_pam


@pytest.fixture(scope="module")
def pam_server():
    with running_pam(max_message_size=64 * 1024) as pam:
        yield pam


@pytest.fixture
def pam(pam_server):
    pam_server.service.reset()
    pam_server.journal.clear()
    pam_server.service.faults.clear()
    return pam_server
