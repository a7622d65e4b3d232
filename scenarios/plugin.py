"""The pytest plugin editors get with the harness (entry point `pytest11: segur`).

It declares the `rem` marker — `@pytest.mark.rem("RIS.DMP/va1.13")` names the REM requirement(s)
a test checks — and records those ids on each test report (``user_properties``), so JUnit XML and
the evidence pack can say which requirement each verdict is about.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rem(*ids): the REM requirement ids a test checks")


def requirement_ids(item: pytest.Item) -> list[str]:
    """The REM ids named by every `rem` marker on a test, in order, without repeats."""
    ids: list[str] = []
    for marker in item.iter_markers(name="rem"):
        for rem_id in marker.args:
            if rem_id not in ids:
                ids.append(rem_id)
    return ids


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for rem_id in requirement_ids(item):
        item.user_properties.append(("rem", rem_id))
