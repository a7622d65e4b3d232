"""Fixtures and imports shared by the tests of `scenarios/`."""

from __future__ import annotations

# Imported once for the session, before any pytester run: pytester's in-process runs drop every module first
# imported during the inner session. Imported again after that, requests and zeep mix two copies of
# http.cookiejar ("You can only merge into CookieJar") in the reference RIS the later proofs drive, and the
# proof's own modules would be imported anew by whichever test comes next, with its monkeypatches in force.
import http.cookiejar  # noqa: F401

import requests  # noqa: F401
import zeep  # noqa: F401

import segur.scenarios.proof  # noqa: F401
