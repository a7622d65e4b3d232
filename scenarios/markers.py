"""What a check test's markers say: the REM ids it proves (`rem`) and the couloir of its suite (`couloir`).

The bottom of the proof's pytest side: the plugin, the outcome collector and the coverage map read the
markers through these two functions, so they agree on what a test proves.
"""

from __future__ import annotations

import pytest


def requirement_ids(item: pytest.Item) -> list[str]:
    """The REM ids named by every `rem` marker on a test, in order, without repeats."""
    ids: list[str] = []
    for marker in item.iter_markers(name="rem"):
        for rem_id in marker.args:
            if rem_id not in ids:
                ids.append(rem_id)
    return ids


def couloir_of(item: pytest.Item) -> str | None:
    """The couloir of the suite a test belongs to (its module's `couloir` marker), upper case."""
    marker = item.get_closest_marker("couloir")
    return str(marker.args[0]).upper() if marker and marker.args else None
