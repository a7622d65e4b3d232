"""Fixtures and imports shared by the tests of `scenarios/`."""

from __future__ import annotations

# Imported once for the session, before any pytester run: pytester's in-process runs drop every module first
# imported during the inner session. Imported again after that, requests and zeep mix two copies of
# http.cookiejar ("You can only merge into CookieJar") in the reference RIS the later proofs drive, a mock's
# rules registered again clash with the kernel's catalogue ("declared twice with different content"), and the
# proof's own modules would be imported anew by whichever test comes next, with its monkeypatches in force.
import csv
import http.cookiejar  # noqa: F401
import sys

import pytest
import requests  # noqa: F401
import zeep  # noqa: F401

import segur.scenarios.proof  # noqa: F401
from segur.scenarios.driver import reference_ris_dir
from segur.scenarios.rem import read_catalogue, shared_rem_path

sys.path.insert(0, str(reference_ris_dir()))  # the example is not installed: importable from its folder
import reference_ris.plugin  # noqa: E402,F401


@pytest.fixture(scope="module")
def catalogue():
    """The project's REM catalogue (scenarios/data/requirements.csv)."""
    return read_catalogue()


@pytest.fixture(scope="module")
def shared_rem():
    """The ANS REM working data (`../shared/rem/requirements.csv`, or `SEGUR_REM`), as rows."""
    path = shared_rem_path()
    if not path.is_file():
        pytest.skip(f"the ANS REM working data is not at {path} (set SEGUR_REM)")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
