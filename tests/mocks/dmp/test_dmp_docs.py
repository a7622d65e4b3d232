"""docs/dmp.md says what the code does: its settings table is the `DmpConfig` (one list of settings)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from segur.mocks.dmp.service import DmpConfig

DOCS = Path(__file__).resolve().parents[3] / "docs"
_ROW = re.compile(r"^\| `(?P<name>\w+)` \| (?P<option>[^|]+) \| `(?P<default>[^`]*)`")


def documented_settings() -> dict[str, tuple[str, str]]:
    """setting → (its option cell, its default as written) from the settings table of docs/dmp.md."""
    text = (DOCS / "dmp.md").read_text(encoding="utf-8")
    table = text[text.index("| setting (`[dmp]`"):]
    table = table[:table.index("\n\n")]
    return {m["name"]: (m["option"], m["default"]) for m in map(_ROW.match, table.splitlines()) if m}


def test_the_settings_table_lists_every_setting_of_the_config_with_its_default():
    documented = documented_settings()
    fields = {item.name: item for item in dataclasses.fields(DmpConfig)}
    assert set(documented) == set(fields)
    for name, item in fields.items():
        assert documented[name][1] == repr(item.default), name


def test_the_settings_table_names_the_options_users_know():
    options = " ".join(option for option, _ in documented_settings().values())
    for known in ("--port", "--data", "--lenient", "--tls", "--mtls", "--no-validation", "--max-body",
                  "--max-document-size", "--vihf-errors", "--production-oids", "--power-safe",
                  "--fast-commit", "--validation-workers"):
        assert f"`{known}" in options or f"/{known}`" in options, known
