"""Every Annuaire santé setting is declared once (`AnnuaireConfig`): `segur serve annuaire` offers it as
an option, the `[annuaire]` section of `segur up` accepts it, and docs/annuaire.md lists it as the
dataclass says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from typer.testing import CliRunner

from segur.cli import app
from segur.mocks.annuaire.service import AnnuaireConfig, AnnuaireService
from segur.up import SECTIONS, load_config

REPO = Path(__file__).resolve().parents[3]
#: A value other than the default for every setting (a new setting must be added here).
EVERY_SETTING = {"enabled": False, "port": 9300, "tls": True, "api_keys": ["K1", "K2"],
                 "unknown_parameters": "fhir"}


def options_of(config_cls) -> list[str]:
    """The command-line options a config's settings become (`segur.serve_cli` rules)."""
    options = []
    for item in dataclasses.fields(config_cls):
        cli = item.metadata.get("cli")
        if cli != "":
            options.append(cli or "--" + item.name.replace("_", "-"))
        options.extend(item.metadata.get("flags", {}))
    return options


def settings_table(config_cls, service: str) -> str:
    """The settings table of the docs, made from the dataclass."""
    rows = [f"| `[{service}]` key | `segur serve {service}` | default | what |", "|---|---|---|---|"]
    for item in dataclasses.fields(config_cls):
        cli = item.metadata.get("cli")
        option = "—" if cli == "" else f"`{cli or '--' + item.name.replace('_', '-')}`"
        option += "".join(f", `{flag}`" for flag in item.metadata.get("flags", {}))
        default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
        shown = f"`{_toml(default)}`"
        serve_default = item.metadata.get("serve_default", dataclasses.MISSING)
        if serve_default is not dataclasses.MISSING:
            shown += f" (`segur serve`: `{_toml(serve_default)}`)"
        what = item.metadata["help"]
        if item.metadata.get("choices"):
            what += " One of: " + ", ".join(f"`{choice}`" for choice in item.metadata["choices"]) + "."
        rows.append(f"| `{item.name}` | {option} | {shown} | {what} |")
    return "\n".join(rows)


def test_serve_annuaire_help_lists_every_setting_of_the_config():
    result = CliRunner().invoke(app, ["serve", "annuaire", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    missing = [option for option in options_of(AnnuaireConfig) if option not in result.output]
    assert missing == []
    assert "--enabled" not in result.output  # a `segur up` setting only


def test_an_annuaire_section_of_segur_up_accepts_every_setting(tmp_path):
    assert SECTIONS["annuaire"] is AnnuaireConfig  # one dataclass for `segur up`, `segur serve`, tests
    assert set(EVERY_SETTING) == {item.name for item in dataclasses.fields(AnnuaireConfig)}
    toml = "\n".join(f"{key} = {_toml(value)}" for key, value in EVERY_SETTING.items())
    (tmp_path / "segur.toml").write_text("[annuaire]\n" + toml + "\n", encoding="utf-8")
    section = load_config(tmp_path / "segur.toml")["annuaire"]
    assert AnnuaireConfig(**section) == AnnuaireConfig(**EVERY_SETTING)
    model = AnnuaireService(AnnuaireConfig(**section)).model
    assert model.api_keys == {"K1", "K2"} and model.unknown_parameters == "fhir"


def test_docs_annuaire_md_lists_the_settings_as_the_config_declares_them():
    doc = (REPO / "docs" / "annuaire.md").read_text(encoding="utf-8")
    table = settings_table(AnnuaireConfig, "annuaire")
    assert table in doc, "docs/annuaire.md: paste this table under 'Settings':\n" + table


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)
