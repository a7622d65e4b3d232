"""Every INSi setting is declared once (`InsiConfig`): `segur serve insi` offers it as an option, the
`[insi]` section of `segur up` accepts it, and docs/insi.md lists it as the dataclass says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.kernel.config import ConfigError, cli_options, settings_table, toml_value
from segur.mocks.insi.service import InsiConfig, InsiService
from segur.up import SECTIONS, load_config

REPO = Path(__file__).resolve().parents[3]
#: A value other than the default for every setting (a new setting must be added here).
EVERY_SETTING = {"enabled": False, "port": 9301, "tls": True, "mtls": True,
                 "idams": ["EDITEUR-1", "EDITEUR-2"], "any_idam": False, "default_mode": "INSI-MANU",
                 "wsa_action_required": False, "fault_style": "strict", "threads": 4, "journal_size": 100,
                 "max_body": 2048}


def test_serve_insi_help_lists_every_setting_of_the_config():
    result = CliRunner().invoke(app, ["serve", "insi", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    missing = [option for option in cli_options(InsiConfig) if option not in result.output]
    assert missing == []
    assert "--enabled" not in result.output  # a `segur up` setting only


def test_an_insi_section_of_segur_up_accepts_every_setting(tmp_path):
    assert SECTIONS["insi"] is InsiConfig  # one dataclass for `segur up`, `segur serve insi` and tests
    assert set(EVERY_SETTING) == {item.name for item in dataclasses.fields(InsiConfig)}
    toml = "\n".join(f"{key} = {toml_value(value)}" for key, value in EVERY_SETTING.items())
    (tmp_path / "segur.toml").write_text("[insi]\n" + toml + "\n", encoding="utf-8")
    section = load_config(tmp_path / "segur.toml")["insi"]
    assert InsiConfig(**section) == InsiConfig(**EVERY_SETTING)
    service = InsiService(InsiConfig(**section))
    for _ in range(101):
        service.journal.record("rechercherInsAvecTraitsIdentite", "accepted")
    assert len(service.journal) == 100 and service.journal.dropped == 1 and service.threads == 4
    assert {"EDITEUR-1", "EDITEUR-2"} <= {s.idam for s in service.model.software()}
    assert service.model.default_mode == "INSI-MANU" and not service.model.accept_any_idam


@pytest.mark.parametrize("name", ["threads", "journal_size", "max_body"])
def test_a_size_setting_below_one_is_refused_when_the_service_is_built(name):
    with pytest.raises(ConfigError, match=f"{name} must be at least 1"):
        InsiService(InsiConfig(**{name: 0}))
    assert getattr(InsiService(InsiConfig(**{name: 1})).config, name) == 1


def test_docs_insi_md_lists_the_settings_as_the_config_declares_them():
    doc = (REPO / "docs" / "insi.md").read_text(encoding="utf-8")
    table = settings_table(InsiConfig, "insi")
    assert table in doc, "docs/insi.md: paste this table under 'Settings':\n" + table
