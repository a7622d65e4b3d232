"""Fixtures shared by the test modules of this directory (the repository's conftest.py has the
reference-data ones). Module scoped: each module gets its own test PKI and caller."""

from __future__ import annotations

import gc
import os
import shutil

import pytest

# Imported here, once for the session: the pytester tests run pytest in-process and then drop every module
# first imported during that inner run; cryptography re-imported after that no longer recognises its own
# hash algorithms ("Algorithm must be a registered hash algorithm") in the PKI fixtures that follow.
import segur.kernel.pki  # noqa: E402
from segur.kernel.postgres import PostgresUnavailable, ThrowawayCluster  # noqa: E402
from segur.scenarios.evidence_pack.browser import chromium_paths  # noqa: E402

#: how a test PKI is made when nothing below stands in: 13 new RSA keys
CREATE_PKI = segur.kernel.pki.TestPki._create


def pytest_collection_finish(session):
    """What the test process holds once every test is collected (the modules, their functions and classes,
    the collected items: ~265,000 objects) lives until the process ends: frozen out of the cyclic garbage
    collector's reach, every later full collection skips it. Those collections (Python's own, and the two
    each pytest session of a test makes at its end) took up to 7.4 s of a process's ~26 s running two proof
    modules, 4.1 s once frozen (docs/architecture.md, "A test")."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def one_set_of_test_keys_per_process(tmp_path_factory):
    """Every test PKI created in this process (a stack's, a module's) is a copy of one made here: 13 RSA keys
    cost ~0.6 s of CPU, and the suite created ~120 PKIs. Its CA, server and clients are as a fresh PKI's;
    only the keys repeat across PKIs. A test that needs another CA's keys is marked `fresh_pki`."""
    from segur.kernel.pki import DEFAULT_CLIENTS, TestPki

    template = TestPki.load_or_create(tmp_path_factory.mktemp("pki-template")).directory

    def copy_of_the_template(pki, clients):
        if clients != DEFAULT_CLIENTS:
            return CREATE_PKI(pki, clients)
        shutil.copytree(template, pki.directory, dirs_exist_ok=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TestPki, "_create", copy_of_the_template)
        yield


@pytest.fixture(autouse=True)
def fresh_keys_when_marked(request):
    """`@pytest.mark.fresh_pki`: the PKIs this test creates itself get keys of their own."""
    if request.node.get_closest_marker("fresh_pki") is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segur.kernel.pki.TestPki, "_create", CREATE_PKI)
        yield


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
