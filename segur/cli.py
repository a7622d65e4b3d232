"""`segur`: the one command-line tool for everything a user does with the harness.

Each area owns its commands in its own module (``register(app, serve)``); this module only
assembles them, so adding a mock never means editing another area's code.
"""

from __future__ import annotations

import importlib

import typer

from segur.serve_cli import register_services
from segur.services import SERVICES

app = typer.Typer(
    name="segur",
    help="Ségur conformance harness: CDA validator, mocks of INSi, DMP, MSSanté and Annuaire santé, "
    "and the referencing proof.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
serve = typer.Typer(help="Run one mock as a real server (loopback by default).", no_args_is_help=True)
app.add_typer(serve, name="serve")

# Modules that contribute commands. Each exposes `register(app: Typer, serve: Typer)`.
COMMAND_MODULES = (
    "segur.validators.cli",
    "segur.fixtures.cli",
    "segur.pki_cli",
    "segur.rules_cli",
    "segur.mocks.insi.cli",
    "segur.mocks.dmp.cli",
    "segur.mocks.mssante.cli",
    "segur.mocks.annuaire.cli",
    "segur.up_cli",
    "segur.scenarios.cli",
    "segur.scenarios.mutants.cli",
    "segur.demo_cli",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

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
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "segur_flags", False):
        return  # an older typer never showed it

    def display_type_rich(self, ctx):
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    display_type_rich.segur_flags = True
    TyperOption.display_type_rich = display_type_rich


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # An area not built yet contributes no command; a broken import inside it still fails loudly.
            if exc.name == name:
                continue
            raise
        module.register(app, serve)


_register_all()
register_services(serve, SERVICES)
_flags_without_type()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
