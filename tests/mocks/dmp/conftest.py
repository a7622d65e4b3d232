"""The stores the DMP's storage tests run on: the embedded SQLite file and a throw-away PostgreSQL (the
`cluster` fixture of tests/conftest.py)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest

from segur.mocks.dmp.storage import Store
from segur.mocks.dmp.storage_pg import PostgresDmpStore

_databases = itertools.count(1)


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
