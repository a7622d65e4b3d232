"""Fixtures shared by the test modules of this directory (the repository's conftest.py has the
reference-data ones). Module scoped: each module gets its own test PKI and caller."""

from __future__ import annotations

import pytest

# Imported here, once for the session: the pytester tests run pytest in-process and then drop every module
# first imported during that inner run; cryptography re-imported after that no longer recognises its own
# hash algorithms ("Algorithm must be a registered hash algorithm") in the PKI fixtures that follow.
import segur.kernel.pki  # noqa: F401,E402


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
