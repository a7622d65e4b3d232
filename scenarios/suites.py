"""The couloir suites: each is a list of check ids (`SUITES`), and its pytest items are made from the checks'
declarations (`segur.scenarios.checks.CHECKS`).

`test_ris_proof.py` and `test_bio_proof.py` are one line each, `globals().update(suite_tests("RIS"))`: the
module keeps its name so every item keeps the nodeid it always had (`test_ris_proof.py::<Check.test>`, which
JUnit and allure history key on), and each item carries the check's `rem` ids for that couloir as a
`pytest.mark.rem` of its own, so `-m`, `-k`, the JUnit properties, the allure labels and the evidence pack see
them exactly as a decorator would have put them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from segur.scenarios.capabilities import for_couloir
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import has_core

SCENARIOS_DIR = Path(__file__).resolve().parent

#: The checks every couloir runs, in the order its suite lists them (the order of its pytest items).
_ALL = ("insi-before-send", "insi-vitale-search", "qualified-ins-only", "ins-in-cda", "metadata-patient",
        "dmp-accepted", "mss-professionals-xdm", "mss-headers", "mss-subject", "mss-transport",
        "citizen-address", "documents-valid", "dmp-replacement", "outage-reported", "outage-retry",
        "claims-honest", "pdf-patient", "mss-pdf-copy", "xdm-format-code", "document-ids", "document-dates",
        "author-is-actor", "insi-idam", "patient-traits", "document-header", "metadata-matches-cda")


def _suite(couloir: str) -> tuple[str, ...]:
    """The core checks, then those of the capabilities the couloir takes (new items come last: the
    nodeids of the core's never move)."""
    core = _ALL if has_core(couloir) else ()  # RI: its capability's checks only
    return core + tuple(check.id for capability in for_couloir(couloir) for check in capability.checks
                        if check.judges_in(couloir))


#: the couloirs, in the order `segur demo --couloir all` runs them
COULOIR_ORDER = ("RIS", "BIO", "LGC", "DPI", "PFI", "RI")
SUITES: dict[str, tuple[str, ...]] = {couloir: _suite(couloir) for couloir in COULOIR_ORDER}
#: the suite module of each couloir (its file name is part of every nodeid)
MODULES = {couloir: f"test_{couloir.lower()}_proof.py" for couloir in COULOIR_ORDER}


def check_test(check_id: str, couloir: str) -> Callable:
    """The pytest function judging the proof run with check `check_id`, named `Check.test`, documented
    with `Check.doc`, marked with the check's REM ids for `couloir`."""
    check = CHECKS[check_id]

    def test(segur_check):
        segur_check(check_id)

    test.__name__ = test.__qualname__ = check.test
    test.__doc__ = check.doc
    test.check_id = check_id
    return pytest.mark.rem(*check.rem[couloir])(test)


def suite_tests(couloir: str) -> dict[str, Callable]:
    """The test functions of a couloir's suite, by name, in the suite's order (for the module's globals)."""
    return {CHECKS[check_id].test: check_test(check_id, couloir) for check_id in SUITES[couloir]}


def suite_paths(couloir: str) -> list[str]:
    """The suite module(s) of a couloir, as pytest is given them."""
    return [str(SCENARIOS_DIR / MODULES[couloir])]


#: the plugins the check suites use, by entry-point name: the proof's own and allure's (--alluredir)
SUITE_PLUGINS = ("segur", "allure_pytest")


def suite_plugins() -> list[str]:
    """The pytest arguments loading only the plugins the check suites use. Every other installed pytest
    plugin (faker, hypothesis, xdist…) served no check and cost ~2 s of CPU a `segur proof` (imported and
    assert-rewritten; hypothesis's imports its whole library at the session's end). Under PYTEST_ADDOPTS
    every installed plugin is loaded as before: the options given there may be another plugin's."""
    if os.environ.get("PYTEST_ADDOPTS", "").strip():
        return []
    return ["--disable-plugin-autoload", *(arg for name in SUITE_PLUGINS for arg in ("-p", name))]
