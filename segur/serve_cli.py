"""`segur serve NAME`: one service as a real server, its options built from its config dataclass.

The options are the service's settings (`segur.kernel.config.setting`), so `segur serve dmp --lenient`
and `[dmp] lenient = true` in `segur up`'s config are the same setting, declared once. A setting's
`serve_default` (a lone server keeps its data in its own folder) replaces the stack default.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import click
import typer

from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, StackConfig, check_choices, default_of, field_types, option_name
from segur.kernel.server import run_until_interrupted
from segur.kernel.service import HttpService, Service, StackContext
from segur.kernel.workers import ProcessConfig, Supervisor, check_workers
from segur.up import load_config

STACK_OPTIONS = ("host", "pki", "world", "pack", "store")


def register_services(serve: typer.Typer, services) -> None:
    """A `serve NAME` command per service that has no hand-written one."""
    taken = {command.name for command in serve.registered_commands}
    for cls in services:
        if cls.name not in taken:
            serve.command(cls.name, help=cls.title)(serve_command(cls))


def _parameters(cls: type[Service]) -> list[inspect.Parameter]:
    params = []
    stack_fields = {f.name: f for f in dataclasses.fields(StackConfig)}
    for name in STACK_OPTIONS:
        item = stack_fields[name]
        params.append(_parameter(f"stack_{name}", str, item.default, f"--{name}", item.metadata["help"]))
    types = field_types(cls.Config)
    for item in dataclasses.fields(cls.Config):
        option = option_name(item)
        if option is None:
            continue
        kind = types[item.name]
        help_text = item.metadata["help"]
        if item.metadata.get("choices"):
            help_text += f" One of: {', '.join(item.metadata['choices'])}."
        if kind is bool:
            option = f"{option}/--no-{option[2:]}"
        if kind is list:
            kind = list[str]
        params.append(_parameter(item.name, kind, default_of(item, serve=True), option, help_text))
        for flag, value in item.metadata.get("flags", {}).items():
            params.append(_parameter(f"flag_{flag[2:].replace('-', '_')}", bool, False, flag,
                                     f"Same as {option} {value}."))
    if issubclass(cls, HttpService):  # the kernel's process settings (segur.kernel.workers)
        for item in dataclasses.fields(ProcessConfig):
            params.append(_parameter(item.name, int, item.default, option_name(item), item.metadata["help"]))
    params.append(_parameter("config_file", Path, None, "--config",
                             "A `segur up` config file: its stack table and this service's table, "
                             "under these options."))
    return params


def _parameter(name: str, kind, default, option: str, help_text: str) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                             default=typer.Option(default, option, help=help_text, show_default=True))


def serve_command(cls: type[Service]):
    """The command function for `segur serve NAME`, its signature made of the service's settings."""

    def command(ctx: typer.Context, **options) -> None:
        try:
            stack, config, workers = _configs(cls, ctx, options)
            context = StackContext(stack, _world(stack))
            check_workers(cls, workers, context)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from exc
        service = Supervisor(cls, config, context, workers) if workers > 1 else cls(config, context)

        def ready() -> None:
            for line in service.ready_lines():
                typer.echo(line)
            typer.echo("Ctrl-C to stop.")

        try:
            run_until_interrupted(service, on_ready=ready)
        except ConfigError as exc:  # a setting the service refuses only when it starts (its host, say)
            typer.echo(f"segur serve {cls.name}: {exc}", err=True)
            raise typer.Exit(2) from exc

    context_parameter = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                          annotation=typer.Context)
    command.__signature__ = inspect.Signature([context_parameter, *_parameters(cls)])
    command.__doc__ = cls.title
    return command


def _configs(cls: type[Service], ctx: click.Context, options: dict):
    """The stack and service configs: the file's sections, then the options given on the command line."""
    # by name: typer carries its own copy of click, whose ParameterSource is not click.core's
    given = {name for name in options if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}
    file_config = load_config(options["config_file"]) if options.get("config_file") else None
    stack = {name: options[f"stack_{name}"] for name in STACK_OPTIONS}
    section = {f.name: options[f.name] for f in dataclasses.fields(cls.Config) if f.name in options}
    if file_config is not None:
        stack = {**file_config["stack"], **{k: v for k, v in stack.items() if f"stack_{k}" in given}}
        section = {**file_config[cls.name], **{k: v for k, v in section.items() if k in given}}
    for item in dataclasses.fields(cls.Config):
        for flag, value in item.metadata.get("flags", {}).items():
            if options.get(f"flag_{flag[2:].replace('-', '_')}"):
                section[item.name] = value
    config = cls.Config(**section)
    check_choices(config, cls.name)
    # kernel worker processes are an HTTP service's setting; another service's `workers` is its own
    # (MSSanté's pool of check processes) and stays in its config
    workers = options.get("workers", 1) if issubclass(cls, HttpService) else 1
    if file_config is not None and "workers" not in given and issubclass(cls, HttpService):
        workers = file_config["workers"].get(cls.name, workers)
    return StackConfig(**{**dataclasses.asdict(StackConfig()), **stack}), config, workers


def _world(stack: StackConfig):
    if not stack.world:
        return None
    return load_world(stack.world)
