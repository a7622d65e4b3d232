"""Repository-wide pytest configuration: where the official reference data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_REF = Path(os.environ.get("SEGUR_REF", REPO.parent / "shared" / "ref"))


@pytest.fixture(scope="session")
def shared_ref() -> Path:
    """The official ANS/CNAM reference data (`../shared/ref`); skips the test when absent."""
    if not (SHARED_REF / "cda" / "infrastructure").is_dir():
        pytest.skip(f"official reference data not found at {SHARED_REF} (set SEGUR_REF to its path)")
    return SHARED_REF


@pytest.fixture(scope="session")
def cda_pack(shared_ref: Path) -> Path:
    """The official ANS CDA pack directory (infrastructure/, schematrons/, jeuxDeValeurs/)."""
    return shared_ref / "cda"
