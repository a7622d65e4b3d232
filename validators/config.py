"""Where the validator's settings come from: command line, environment, config file.

The official packs are loaded from a directory the user owns, never copied into this project.
Precedence for the pack directory: ``--pack DIR`` > env ``SEGUR_PACK`` > ``./segur.toml`` >
``~/.config/segur/config.toml`` (key ``pack``, at the top level or under ``[validate]``; a
relative path is relative to the config file). The same files may set ``max_size`` (bytes or
"50MB") and ``lang``.
The user's value sets (``[ROLE=]FILE``, see `segur.validators.segur_rules.value_sets`), same
precedence: ``--value-set`` (repeatable) > env ``SEGUR_VALUE_SETS`` (several separated by the path
separator, ``:`` on Linux and macOS) > key ``value_sets`` (a list of strings) in the config files.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENV_PACK = "SEGUR_PACK"
ENV_VALUE_SETS = "SEGUR_VALUE_SETS"
CONFIG_NAMES = (Path("segur.toml"), Path.home() / ".config" / "segur" / "config.toml")


class ConfigError(ValueError):
    """A setting is present but unusable (bad TOML, bad size); a usage error (exit code 2)."""


@dataclass(frozen=True)
class Setting:
    value: object
    source: str  # where it came from, shown in the report ("--pack", "env SEGUR_PACK", a file path)


def config_files(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    local = (cwd or Path.cwd()) / "segur.toml"
    user = (home or Path.home()) / ".config" / "segur" / "config.toml"
    return [p for p in (local, user) if p.is_file()]


def _load_toml(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    section = data.get("validate")
    merged = dict(data)
    if isinstance(section, dict):
        merged.update(section)
    return merged


def setting(key: str, cwd: Path | None = None, home: Path | None = None) -> Setting | None:
    """The first config file (local, then user) that sets `key`."""
    for path in config_files(cwd, home):
        data = _load_toml(path)
        if key in data:
            value = data[key]
            if key == "pack" and isinstance(value, str):
                value = (path.parent / Path(value).expanduser()).resolve()
            if key == "value_sets":
                value = _value_set_specs(value, path)
            return Setting(value, str(path))
    return None


def pack_setting(cli_value: str | os.PathLike | None = None, cwd: Path | None = None,
                 home: Path | None = None) -> Setting | None:
    """The pack directory to use and where that choice came from, or None when none is configured."""
    if cli_value:
        return Setting(Path(cli_value).expanduser(), "--pack")
    env = os.environ.get(ENV_PACK)
    if env:
        return Setting(Path(env).expanduser(), f"env {ENV_PACK}")
    return setting("pack", cwd, home)


def value_sets_setting(cli_values=None, cwd: Path | None = None, home: Path | None = None) -> Setting | None:
    """The value-set specs (``[ROLE=]FILE``) to load and where they came from, or None when none is given."""
    if cli_values:
        return Setting([str(v) for v in cli_values], "--value-set")
    env = os.environ.get(ENV_VALUE_SETS)
    if env:
        return Setting([part for part in env.split(os.pathsep) if part.strip()], f"env {ENV_VALUE_SETS}")
    return setting("value_sets", cwd, home)


def _value_set_specs(value, config_file: Path) -> list[str]:
    """``value_sets`` of a config file: a string or a list of strings, files relative to that file."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{config_file}: value_sets must be a list of \"[ROLE=]FILE\" strings")
    specs = []
    for spec in values:
        role, sep, file = spec.partition("=") if re.match(r"^[a-z][a-z0-9-]*=", spec) else ("", "", spec)
        specs.append(f"{role}{sep}{(config_file.parent / Path(file).expanduser()).resolve()}")
    return specs


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: str | int) -> int:
    """Bytes from ``52428800``, ``"50MB"``, ``"50M"``, ``"512k"``… (binary multiples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"size must be positive, not {value}")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ConfigError(f"not a size: {value!r} (examples: 52428800, 50MB, 512k)")
    number, unit = match.groups()
    size = int(float(number) * _UNITS[(unit or "")[:1].lower()])
    if size <= 0:
        raise ConfigError(f"size must be positive, not {value!r}")
    return size
