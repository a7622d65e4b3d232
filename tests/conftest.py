"""Fixtures shared by the test modules of this directory (the repository's conftest.py has the
reference-data ones). Module scoped: each module gets its own test PKI and caller."""

from __future__ import annotations

import os

import pytest

# Imported here, once for the session: the pytester tests run pytest in-process and then drop every module
# first imported during that inner run; cryptography re-imported after that no longer recognises its own
# hash algorithms ("Algorithm must be a registered hash algorithm") in the PKI fixtures that follow.
import segur.kernel.pki  # noqa: F401,E402
from segur.kernel.postgres import PostgresUnavailable, ThrowawayCluster  # noqa: E402
from segur.scenarios.evidence_pack.browser import chromium_paths  # noqa: E402


@pytest.fixture(scope="module")
def world():
    """The project's test world (patients, professionals, organisations)."""
    from segur.fixtures.world import load_world

    return load_world()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A fresh test PKI (CA, server and client certificates) for this module."""
    from segur.kernel.pki import TestPki

    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def case(pki, world):
    """A DMP caller of the world (radiology structure + radiologist) building signed ITI-41 requests
    (`dmp_helpers.DmpCase`)."""
    from dmp_helpers import DmpCase

    return DmpCase(pki, world)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium and chromedriver, for the browser tests: skipped when missing, except in CI
    (`.ci/run` installs them; a browser test that does not run must not pass for one that did)."""
    browser, driver = chromium_paths()
    if browser and driver:
        return browser, driver
    missing = "chromium" if not browser else "chromedriver (chromium-driver)"
    if _in_ci():
        pytest.fail(f"{missing} is not installed: CI must run the browser tests (.ci/run installs it)")
    pytest.skip(f"{missing} is not installed (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="session")
def cluster():
    """A PostgreSQL server on a free loopback port, one per test process (initdb and start cost ~3 s; each
    module creates databases of its own names in it); skipped without the server binaries, except in CI
    (`.ci/run` installs them, and a store left untested must not pass for a tested one)."""
    try:
        with ThrowawayCluster() as running:
            yield running
    except PostgresUnavailable as exc:
        if _in_ci():
            pytest.fail(f"{exc}: CI must run the PostgreSQL tests (.ci/run installs it)")
        pytest.skip(str(exc))


def _in_ci() -> bool:
    """CI sets CI=true: there, a test whose tool is missing fails instead of skipping."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
