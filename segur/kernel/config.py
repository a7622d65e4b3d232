"""A service's settings, declared once as a dataclass: the `[NAME]` section of `segur up`'s config,
the options of `segur serve NAME`, the keywords of the pytest fixture and of `testing.py`.

Each field is declared with `setting(default, help, ...)`; the kernel reads the metadata to type-check
a TOML section, to refuse unknown keys and words outside `choices`, and to build the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, get_type_hints


class ConfigError(ValueError):
    """A config a service cannot start from; the message says which key and why."""


def setting(default: Any, help: str, *, choices: tuple[str, ...] = (), flags: dict[str, Any] | None = None,
            cli: str | None = None, serve_default: Any = dataclasses.MISSING):
    """Declare one setting.

    `choices`: the words a string setting accepts; `flags`: extra command-line flags that set the field to
    a value (``{"--strict-faults": "strict"}``); `cli`: the option's name when it is not ``--field-name``
    ("" = not on the command line); `serve_default`: the default of `segur serve NAME` when it differs
    from `segur up`'s (a lone server keeps its own data folder, say).
    """
    metadata = {"help": help, "choices": tuple(choices), "flags": dict(flags or {}), "cli": cli,
                "serve_default": serve_default}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class ServiceConfig:
    """What every service has; each service subclasses it with its own settings."""

    enabled: bool = setting(True, "Started by `segur up`.", cli="")
    port: int = setting(0, "Port to listen on (0: a free one).")


@dataclass
class StackConfig:
    """The `[stack]` section: what the services share."""

    host: str = setting("127.0.0.1", "Address every service listens on (loopback by default).")
    pki: str = setting(".segur-pki", "Test PKI directory (created if missing).")
    data: str = setting(".segur-data", "Data directory; each service keeps its state in <data>/<service>.")
    world: str = setting("", "A world file; empty = the shipped world.")
    pack: str = setting("", "Official CDA pack directory for document validation (else SEGUR_PACK / config).")
    store: str = setting("", "Where shared state lives: '' = embedded (SQLite files under data, journals in "
                         "memory); 'postgresql://user@host:port/db' = a PostgreSQL server the workers share.")
    tenants: bool = setting(False, "Serve isolated tenants on HTTP services: /t/<tenant>/… or the header "
                            "X-Segur-Tenant (see docs/deploy.md).")
    admin_token: str = setting("", "When set, every /_admin/ call needs Authorization: Bearer <token> "
                               "(a shared instance).")


_TYPE_WORDS = {bool: "true or false", int: "a whole number", str: "a string", list: "a list", dict: "a table",
               float: "a number"}


def field_types(cls) -> dict[str, type]:
    """Each field's plain type (`int`, `str`, `list`…), from the dataclass annotations."""
    hints = get_type_hints(cls)
    return {f.name: getattr(hints[f.name], "__origin__", hints[f.name]) for f in dataclasses.fields(cls)}


def section_from_dict(cls, values: dict, section: str):
    """Build `cls` from a TOML table: unknown keys, wrong types and words outside `choices` are refused."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{section}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)}; known: {', '.join(fields)}")
    types = field_types(cls)
    for key, value in values.items():
        expected = types[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
            raise ConfigError(f"[{section}] {key} must be {_TYPE_WORDS.get(expected, expected.__name__)}, "
                              f"not {value!r}")
    config = cls(**values)
    check_choices(config, section)
    return config


def check_choices(config, section: str) -> None:
    """Refuse a word outside a setting's `choices` (a typo must fail at load, not when the mock starts)."""
    for item in dataclasses.fields(config):
        allowed = item.metadata.get("choices")
        if allowed and getattr(config, item.name) not in allowed:
            raise ConfigError(f"[{section}] {item.name} must be one of {', '.join(allowed)}, "
                              f"not {getattr(config, item.name)!r}")


def section_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def default_of(item: dataclasses.Field, *, serve: bool = False):
    """A setting's default; with `serve`, the one `segur serve NAME` uses when it differs."""
    serve_default = item.metadata.get("serve_default", dataclasses.MISSING)
    if serve and serve_default is not dataclasses.MISSING:
        return serve_default
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory()


def option_name(item: dataclasses.Field) -> str | None:
    """The `segur serve NAME` option of a setting (None: not on the command line)."""
    cli = item.metadata.get("cli")
    if cli == "":
        return None
    return cli or "--" + item.name.replace("_", "-")


def cli_options(config_cls) -> list[str]:
    """Every command-line option a config's settings become, flags included."""
    options = []
    for item in dataclasses.fields(config_cls):
        if option_name(item) is not None:
            options.append(option_name(item))
        options.extend(item.metadata.get("flags", {}))
    return options


def toml_value(value) -> str:
    """A setting's value as the TOML of a `segur up` config writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def settings_table(config_cls, service: str) -> str:
    """The Markdown table of a service's settings, made from its dataclass (the docs paste it; their
    tests compare it): key, option, default (and `segur serve`'s when it differs), what it does."""
    rows = [f"| `[{service}]` key | `segur serve {service}` | default | what |", "|---|---|---|---|"]
    for item in dataclasses.fields(config_cls):
        option = option_name(item)
        shown_option = "—" if option is None else f"`{option}`"
        shown_option += "".join(f", `{flag}`" for flag in item.metadata.get("flags", {}))
        shown = f"`{toml_value(default_of(item))}`"
        serve_default = item.metadata.get("serve_default", dataclasses.MISSING)
        if serve_default is not dataclasses.MISSING:
            shown += f" (`segur serve`: `{toml_value(serve_default)}`)"
        what = item.metadata["help"]
        if item.metadata.get("choices"):
            what += " One of: " + ", ".join(f"`{choice}`" for choice in item.metadata["choices"]) + "."
        rows.append(f"| `{item.name}` | {shown_option} | {shown} | {what} |")
    return "\n".join(rows)
