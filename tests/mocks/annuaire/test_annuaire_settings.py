"""Every Annuaire santé setting is declared once (`AnnuaireConfig`): `segur serve annuaire` offers it as
an option, the `[annuaire]` section of `segur up` accepts it, and docs/annuaire.md lists it as the
dataclass says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from typer.testing import CliRunner

from segur.cli import app
from segur.kernel.config import cli_options, settings_table, toml_value
from segur.mocks.annuaire.service import AnnuaireConfig, AnnuaireService
from segur.up import SECTIONS, load_config

REPO = Path(__file__).resolve().parents[3]
#: A value other than the default for every setting (a new setting must be added here).
EVERY_SETTING = {"enabled": False, "port": 9300, "tls": True, "api_keys": ["K1", "K2"],
                 "unknown_parameters": "fhir"}


def test_serve_annuaire_help_lists_every_setting_of_the_config():
    result = CliRunner().invoke(app, ["serve", "annuaire", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    missing = [option for option in cli_options(AnnuaireConfig) if option not in result.output]
    assert missing == []
    assert "--enabled" not in result.output  # a `segur up` setting only


def test_an_annuaire_section_of_segur_up_accepts_every_setting(tmp_path):
    assert SECTIONS["annuaire"] is AnnuaireConfig  # one dataclass for `segur up`, `segur serve`, tests
    assert set(EVERY_SETTING) == {item.name for item in dataclasses.fields(AnnuaireConfig)}
    toml = "\n".join(f"{key} = {toml_value(value)}" for key, value in EVERY_SETTING.items())
    (tmp_path / "segur.toml").write_text("[annuaire]\n" + toml + "\n", encoding="utf-8")
    section = load_config(tmp_path / "segur.toml")["annuaire"]
    assert AnnuaireConfig(**section) == AnnuaireConfig(**EVERY_SETTING)
    model = AnnuaireService(AnnuaireConfig(**section)).model
    assert model.api_keys == {"K1", "K2"} and model.unknown_parameters == "fhir"


def test_docs_annuaire_md_lists_the_settings_as_the_config_declares_them():
    doc = (REPO / "docs" / "annuaire.md").read_text(encoding="utf-8")
    table = settings_table(AnnuaireConfig, "annuaire")
    assert table in doc, "docs/annuaire.md: paste this table under 'Settings':\n" + table
