"""What the MSSanté mock's test modules share: the world's mailboxes they write with, and one mock per
module (CDA validator off: these modules test the protocols and the admin API) emptied after each test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import running_mssante

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"


def mock_fixtures(**options):
    """``mss, clean = mock_fixtures()`` in a test module: `mss`, the running mock (module scope), and
    `clean` (autouse), which empties the mailboxes, the journal and the faults after each test."""

    @pytest.fixture(scope="module")
    def mss():
        with running_mssante(load_world(), **{"validate": False, **options}) as running:
            yield running

    @pytest.fixture(autouse=True)
    def clean(mss):
        yield
        mss.mock.reset()
        mss.journal.clear()
        mss.faults.clear()

    return mss, clean


# --- the mock as a separate process -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served_mssante(data_dir, *options: str, timeout: float = 60) -> Iterator[tuple[subprocess.Popen, dict]]:
    """`segur serve mssante --no-tls --data DIR` as a separate process on free ports: (process, the
    endpoints it printed). Stopped with Ctrl-C (SIGINT) on exit if the test has not killed it."""
    ports = {"--smtp-port": free_port(), "--imap-port": free_port(), "--port": free_port()}
    command = [sys.executable, "-m", "segur", "serve", "mssante", "--no-tls", "--no-validate",
               "--data", str(data_dir), *[str(x) for pair in ports.items() for x in pair], *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line or "Ctrl-C" in line:
                break
            lines.append(line)
        assert lines and process.poll() is None, "".join(lines)
        yield process, json.loads("".join(lines))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
