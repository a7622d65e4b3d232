"""The throw-away PostgreSQL server the kernel's store tests share (one per test module)."""

from __future__ import annotations

import os

import pytest

from segur.kernel.postgres import PostgresUnavailable, ThrowawayCluster


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL server on a free loopback port; skipped without the server binaries, except in CI
    (`.ci/run` installs them, and a store left untested must not pass for a tested one)."""
    try:
        with ThrowawayCluster() as running:
            yield running
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{exc}: CI must run the PostgreSQL tests (.ci/run installs it)")
        pytest.skip(str(exc))
