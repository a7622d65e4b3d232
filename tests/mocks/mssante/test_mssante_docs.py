"""docs/mssante.md says what the code does: its settings table is `MssanteConfig` (names, command-line
options, defaults) and its module map names every module of `mocks/mssante/`."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from segur.mocks.mssante.service import MssanteConfig

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "mssante.md"
PACKAGE = REPO / "mocks" / "mssante"


def table_rows(heading: str) -> list[list[str]]:
    """The body rows of the first table under `heading`, as cells."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading + "\n", 1)[1]
    rows = []
    for line in section.splitlines():
        if rows and not line.startswith("|"):
            break
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def settings_table() -> dict[str, list[str]]:
    return {row[0].strip("`"): row for row in table_rows("### Settings")}


def toml_value(value) -> str:
    return json.dumps(value)  # true/false, numbers and "strings" read the same in TOML


def test_the_settings_table_lists_every_setting_and_nothing_else():
    assert list(settings_table()) == [item.name for item in dataclasses.fields(MssanteConfig)]


@pytest.mark.parametrize("item", dataclasses.fields(MssanteConfig), ids=lambda item: item.name)
def test_each_setting_shows_its_default_and_its_command_line_options(item):
    _, options, default, _ = settings_table()[item.name]
    assert default.split(" ")[0] == f"`{toml_value(item.default)}`"
    serve_default = item.metadata["serve_default"]
    if serve_default is not dataclasses.MISSING:
        assert f"`{toml_value(serve_default)}`" in default
    cli = item.metadata["cli"]
    if cli == "":
        assert options == "—"
        return
    option = cli or "--" + item.name.replace("_", "-")
    assert option in options
    for flag in item.metadata["flags"]:
        assert f"`{flag}`" in options


def test_the_module_map_names_every_module():
    listed = {name for row in table_rows("## Modules") for name in re.findall(r"`(\w+\.py)`", row[0])}
    modules = {path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"}
    assert listed == modules
