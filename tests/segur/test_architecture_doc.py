"""docs/architecture.md names only paths that exist: a newcomer following it never hits a dead end."""

from __future__ import annotations

import re

from package_map import REPO

DOC = REPO / "docs" / "architecture.md"

# Paths a branch not merged yet creates (empty: every path the doc names exists on main).
EXPECTED_AFTER_MERGE: frozenset[str] = frozenset()

# a relative path with at least one folder: `mocks/dmp/ebrim.py`, `scenarios/`; not `/_admin/task` (a URL
# path), not `mocks/NAME/` (a placeholder)
_PATH = re.compile(r"(?<![\w/.])((?:[a-z_][\w.-]*/)+[\w.-]*)")


def named_paths(text: str) -> set[str]:
    paths = {path.rstrip(".") for path in _PATH.findall(text)}
    return {path for path in paths if not any(part.isupper() for part in path.split("/"))}


def test_every_path_the_architecture_doc_names_exists():
    missing = sorted(p for p in named_paths(DOC.read_text(encoding="utf-8"))
                     if p not in EXPECTED_AFTER_MERGE and not (REPO / p).exists())
    assert missing == []


def test_a_missing_path_is_caught_and_urls_and_placeholders_are_not_paths():
    text = "see `mocks/nope/models.py`, `PUT /_admin/task`, `mocks/NAME/` and docs/sut.md's contract."
    assert named_paths(text) == {"mocks/nope/models.py", "docs/sut.md"}


def test_the_paths_expected_after_the_merge_are_not_there_yet():
    """When a branch lands, its path leaves EXPECTED_AFTER_MERGE (so the list cannot hide a typo)."""
    assert [p for p in sorted(EXPECTED_AFTER_MERGE) if (REPO / p).exists()] == []
