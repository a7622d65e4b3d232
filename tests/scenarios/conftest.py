"""Fixtures and imports shared by the tests of `scenarios/`."""

from __future__ import annotations

# Imported once for the session, before any pytester run: pytester's in-process runs drop every module first
# imported during the inner session. Imported again after that, requests and zeep mix two copies of
# http.cookiejar ("You can only merge into CookieJar") in the reference RIS the later proofs drive, a mock's
# rules registered again clash with the kernel's catalogue ("declared twice with different content"), and the
# proof's own modules would be imported anew by whichever test comes next, with its monkeypatches in force.
import http.cookiejar  # noqa: F401
import sys

import requests  # noqa: F401
import zeep  # noqa: F401

import segur.scenarios.proof  # noqa: F401
from segur.scenarios.driver import reference_ris_dir

sys.path.insert(0, str(reference_ris_dir()))  # the example is not installed: importable from its folder
import reference_ris.plugin  # noqa: E402,F401
