"""docs/psc.md says what the mock does: its settings table is PscConfig's, every rule is documented."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import tomllib
from pathlib import Path

from segur.mocks.psc import rules
from segur.mocks.psc.responses import endpoint_urls
from segur.mocks.psc.service import PscConfig
from segur.up import load_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "psc.md"
ROW = re.compile(r"^\| `(\w+)` \| `([^`]*)` \|", re.MULTILINE)
RANGE = re.compile(r"(PSC-[A-Z]+-)(\d{3})…(\d{3})")


def _settings_table() -> dict[str, str]:
    section = DOC.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    return dict(ROW.findall(section))


def test_the_settings_table_lists_every_setting_of_the_config_with_its_default():
    table = _settings_table()
    config = PscConfig()
    assert list(table) == [item.name for item in dataclasses.fields(PscConfig)]
    for name, written in table.items():
        assert json.loads(written) == getattr(config, name), name


def test_every_rule_of_the_book_is_in_the_doc():
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"PSC-[A-Z]+-\d{3}", text))
    for prefix, first, last in RANGE.findall(text):
        documented |= {f"{prefix}{n:03d}" for n in range(int(first), int(last) + 1)}
    assert {rule.id for rule in rules.book} <= documented


def test_the_psc_section_shown_in_docs_up_loads():
    text = (DOC.parent / "up.md").read_text(encoding="utf-8").split("## Pro Santé Connect", 1)[1]
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(overrides=tomllib.loads(block))
    assert config["psc"]["clients"] == ["my-ris my-secret http://localhost:8080/callback"]


def test_the_rem_ids_the_psc_rules_cite_exist(shared_ref):
    with (shared_ref.parent / "rem" / "requirements.csv").open(encoding="utf-8") as handle:
        known = {row["id"] for row in csv.DictReader(handle)}
    cited = {rem for rule in rules.book for rem in rule.rem}
    assert cited and cited <= known, cited - known


def test_the_endpoints_table_names_every_endpoint_the_mock_gives():
    section = DOC.read_text(encoding="utf-8").split("## Endpoints", 1)[1].split("\n## ", 1)[0]
    keys = set(endpoint_urls("http://127.0.0.1:8305")) | {"client_id", "client_secret"}
    assert {key for key in keys if f"`{key}`" not in section} == set()
