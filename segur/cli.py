"""`segur`: the one command-line tool for everything a user does with the harness.

Each area owns its commands in its own module (``register(app, serve)``); this module only
assembles them, so adding a mock never means editing another area's code.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer
from typer.core import TyperOption

from segur import demo_cli, pki_cli, rules_cli, up_cli
from segur.fixtures import cli as world_cli
from segur.scenarios import cli as proof_cli
from segur.scenarios.mutants import cli as mutants_cli
from segur.serve_cli import register_services
from segur.services import SERVICES
from segur.validators import cli as validate_cli

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

# The modules that contribute commands, in the order `segur --help` lists them; each exposes
# `register(app: Typer, serve: Typer)`.
COMMAND_MODULES = (
    validate_cli,
    world_cli,
    pki_cli,
    rules_cli,
    up_cli,
    proof_cli,
    mutants_cli,
    demo_cli,
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


for module in COMMAND_MODULES:
    module.register(app, serve)
register_services(serve, SERVICES)
_flags_without_type()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
