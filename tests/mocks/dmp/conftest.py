"""The stores the DMP's storage tests run on: the embedded SQLite file and a throw-away PostgreSQL."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest

from segur.kernel.postgres import PostgresUnavailable, ThrowawayCluster
from segur.mocks.dmp.storage import Store
from segur.mocks.dmp.storage_pg import PostgresDmpStore

_databases = itertools.count(1)


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL server on a free loopback port (the kernel conftest's pattern): skipped without the
    server binaries, except in CI (`.ci/run` installs them: a store left untested must not pass)."""
    try:
        with ThrowawayCluster() as running:
            yield running
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{exc}: CI must run the PostgreSQL tests (.ci/run installs it)")
        pytest.skip(str(exc))


@dataclass
class StoreChoice:
    """Which store a DMP runs on: `url` is `running_dmp(store=…)` ('' = SQLite), `cls` its class."""

    url: str
    cls: type


@pytest.fixture(params=["sqlite", "postgresql"])
def dmp_store(request) -> StoreChoice:
    """Each storage test once per store; on PostgreSQL in a fresh database of its own."""
    if request.param == "sqlite":
        return StoreChoice("", Store)
    cluster = request.getfixturevalue("cluster")
    return StoreChoice(cluster.create_database(f"dmp_{os.getpid()}_{next(_databases)}"), PostgresDmpStore)
