"""`segur`: the one command-line tool for everything a user does with the harness.

Each area owns its commands in its own module (``register(app, serve)``); this module only lists them
and imports an area's module when one of its commands runs, so `segur validate` does not import the mocks
and the proof. The start-up this saves was measured (docs/validator.md, "Start-up"): importing every
command's module took ~1.2 s of CPU before any command ran, `segur --version` and `segur --help` included.
So `COMMANDS` holds what `segur --help` lists (each command's first paragraph of help), and each loader
below imports its module inside the function that registers it (start-up, measured).
tests/segur/test_cli_lazy.py requires the listing to be the one the modules themselves declare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from importlib.metadata import PackageNotFoundError, version

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

SERVE_HELP = "Run one mock as a real server (loopback by default)."


def _validate(app: typer.Typer, serve: typer.Typer) -> None:
    from segur.validators import cli  # start-up: see the module's docstring

    cli.register(app, serve)


def _world(app: typer.Typer, serve: typer.Typer) -> None:
    from segur.fixtures import cli  # start-up

    cli.register(app, serve)


def _pki(app: typer.Typer, serve: typer.Typer) -> None:
    from segur import pki_cli  # start-up

    pki_cli.register(app, serve)


def _rules(app: typer.Typer, serve: typer.Typer) -> None:
    from segur import rules_cli  # start-up

    rules_cli.register(app, serve)


def _up(app: typer.Typer, serve: typer.Typer) -> None:
    from segur import up_cli  # start-up

    up_cli.register(app, serve)


def _proof(app: typer.Typer, serve: typer.Typer) -> None:
    from segur.scenarios import cli  # start-up

    cli.register(app, serve)


def _mutants(app: typer.Typer, serve: typer.Typer) -> None:
    from segur.scenarios.mutants import cli  # start-up

    cli.register(app, serve)


def _demo(app: typer.Typer, serve: typer.Typer) -> None:
    from segur import demo_cli  # start-up

    demo_cli.register(app, serve)


def _serve(app: typer.Typer, serve: typer.Typer) -> None:
    """`segur serve NAME`, one command per service of the registry (which imports every mock)."""
    # start-up: the registry imports every mock, the web console and the proof's checks
    from segur.serve_cli import register_services
    from segur.services import SERVICES

    register_services(serve, SERVICES)
    app.add_typer(serve, name="serve")


Register = Callable[[typer.Typer, typer.Typer], None]

#: Every command in the order `segur --help` lists them: its name, the function that registers it (and the
#: other commands of its module), and the first paragraph of its help as the module declares it.
COMMANDS: tuple[tuple[str, Register, str], ...] = (
    ("validate", _validate,
     "Validate CDA R2 documents: safe XML, CDA XSD, official CI-SIS Schematron packs, Ségur rules."),
    ("pki", _pki, "Create (or show) the test PKI the mocks trust: CA, server and client certificates."),
    ("rules", _rules, "List the project's own rules: id, layer, severity, message and fix hint."),
    ("up", _up, "Start every service (INSi, DMP, MSSanté, Annuaire santé, PSC, PAM, the CRL point, the "
     "console)\nand print their endpoints."),
    ("proof", _proof,
     "Run the Ségur proof end to end and write the evidence pack; exit 0 only if every check passed."),
    ("proof-mutants", _mutants,
     "Run the reference RIS with one mutation of what it sends per run; print and write the kill rates."),
    ("demo", _demo, "Start the mocks, run the Ségur proof against the reference RIS (with --couloir all: "
     "every\ncouloir's, each against its reference product), then replay it with a seeded defect; print "
     "the\nverdicts, the failing checks and where the evidence packs are."),
    ("serve", _serve, SERVE_HELP),
    ("world", _world, "The shared test world (patients, professionals, organisations)."),
    ("rem", _proof, "The REM requirements the harness knows, and which tests prove them."),
)


class CommandListError(RuntimeError):
    """`COMMANDS` and what a module registers disagree: a programming error, found by the tests."""


def _typer(**settings) -> typer.Typer:
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, **settings)


class LazyCommands(MutableMapping):
    """The commands of `segur`, by name: a listed command's module is imported, and its commands built,
    the first time the command is looked up (`mapping[name]`, `.get`, `.items()`); names, `in` and
    iteration do not import anything."""

    def __init__(self, listed: tuple[tuple[str, Register, str], ...], built: dict[str, TyperCommand]):
        self._listed = {name: (register, help_text) for name, register, help_text in listed}
        self._built = dict(built)

    def __getitem__(self, name: str) -> TyperCommand:
        if name not in self._built and name in self._listed:
            self._build(self._listed[name][0])
        return self._built[name]

    def __setitem__(self, name: str, command: TyperCommand) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._listed.pop(name, None)
        self._built.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._listed or name in self._built

    def __iter__(self) -> Iterator[str]:
        yield from self._listed
        yield from (name for name in self._built if name not in self._listed)

    def __len__(self) -> int:
        return len(self._listed.keys() | self._built.keys())

    def listing(self, name: str) -> TyperCommand | None:
        """The command as `segur --help` lists it: the built one, else its name and help, unimported."""
        if name in self._built:
            return self._built[name]
        if name in self._listed:
            return TyperCommand(name, help=self._listed[name][1])
        return None

    def _build(self, register: Register) -> None:
        app, serve = _typer(), _typer(help=SERVE_HELP, no_args_is_help=True)
        register(app, serve)
        group = typer.main.get_group(app)
        names = [name for name, (other, _help) in self._listed.items() if other is register]
        unlisted = set(group.commands) - set(names)
        missing = set(names) - set(group.commands)
        if unlisted or missing:
            raise CommandListError(f"{register.__name__} registered {sorted(group.commands)} but segur.cli's "
                                   f"COMMANDS lists {names} for it: update COMMANDS")
        if register is not _serve and (serve.registered_commands or serve.registered_groups):
            raise CommandListError(f"{register.__name__} registered `segur serve` commands: serve commands "
                                   "come from the service registry (segur/serve_cli.py)")
        self._built.update(group.commands)


class SegurGroup(TyperGroup):
    """`segur`'s command group: its commands are `COMMANDS`, imported when one runs. `--help` lists them
    from `COMMANDS` without importing them; a command's own `--help` imports its module."""

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.commands = LazyCommands(COMMANDS, dict(self.commands))
        self._listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | None:
        if self._listing:
            return self.commands.listing(cmd_name)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: typer.Context, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="segur",
    cls=SegurGroup,
    help="Ségur conformance harness: CDA validator, mocks of INSi, DMP, MSSanté and Annuaire santé, "
    "and the referencing proof.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"segur {version('segur-harness')}")
        except PackageNotFoundError:  # run from a copy that was never installed
            typer.echo("segur (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(False, "--version", help="Print the harness's version and exit.",
                                      callback=_version, is_eager=True),
) -> None:
    """Ségur conformance harness: CDA validator, mocks of INSi, DMP, MSSanté and Annuaire santé, and the
    referencing proof."""


def _flags_without_type() -> None:
    """Recent typer prints `<bool>` beside every flag (`--json <bool>`), as if it took a value: a flag
    takes none, so its type column is left empty (every command, whichever module declares it)."""
    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "segur_flags", False):
        return  # an older typer never showed it

    def display_type_rich(self, ctx):
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    display_type_rich.segur_flags = True
    TyperOption.display_type_rich = display_type_rich


_flags_without_type()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
