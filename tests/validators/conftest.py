"""Fixtures the validator tests share."""

from __future__ import annotations

import pytest

from segur.validators.schematron import runtime


@pytest.fixture
def handed(monkeypatch):
    """The documents `CompiledPack.run` receives, in order: what the Schematron packs were handed."""
    seen: list[bytes] = []
    original = runtime.CompiledPack.run

    def spy(self, document):
        seen.append(document)
        return original(self, document)

    monkeypatch.setattr(runtime.CompiledPack, "run", spy)
    return seen
