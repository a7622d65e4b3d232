"""`segur` imports a command's module only when the command runs, and says and does what it did when it
imported them all: every command's `--help`, the command list, a mistyped command's suggestion."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.core import TyperCommand
from typer.testing import CliRunner

from segur import cli, demo_cli, pki_cli, rules_cli, up_cli
from segur.cli import COMMANDS, SERVE_HELP, CommandListError, LazyCommands, app
from segur.fixtures import cli as world_cli
from segur.scenarios import cli as proof_cli
from segur.scenarios.mutants import cli as mutants_cli
from segur.serve_cli import register_services
from segur.services import SERVICES
from segur.validators import cli as validate_cli

WIDE = {"COLUMNS": "120", "TERMINAL_WIDTH": "120", "NO_COLOR": "1"}
#: the areas whose modules the commands that do not need them must not import
HEAVY = ("segur.mocks", "segur.scenarios", "segur.console", "segur.fixtures", "segur.services", "segur.up")


def _eager_app() -> typer.Typer:
    """`segur` as it was built before its commands were imported lazily: every module at once."""
    eager = typer.Typer(name="segur", help=app.info.help, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False)
    eager.registered_callback = app.registered_callback
    serve = typer.Typer(help=SERVE_HELP, no_args_is_help=True)
    eager.add_typer(serve, name="serve")
    for module in (validate_cli, world_cli, pki_cli, rules_cli, up_cli, proof_cli, mutants_cli, demo_cli):
        module.register(eager, serve)
    register_services(serve, SERVICES)
    return eager


def _paths(command: TyperCommand, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, (*path, name))


def _said(application: typer.Typer, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(application, args, env=WIDE)
    return result.exit_code, result.output


def test_every_help_is_the_one_the_eager_command_tree_prints():
    eager = _eager_app()
    paths = list(_paths(typer.main.get_command(eager)))
    assert len(paths) > 20  # the commands, the groups and their subcommands, serve's services
    differ = [" ".join(p) for p in paths if _said(app, [*p, "--help"]) != _said(eager, [*p, "--help"])]
    assert differ == []


def test_no_arguments_and_a_mistyped_command_say_what_they_said():
    eager = _eager_app()
    for args in ([], ["valdate"], ["world", "shwo"], ["serve"]):
        assert _said(app, args) == _said(eager, args), args
    assert "Did you mean 'validate'?" in _said(app, ["valdate"])[1]


def test_the_listing_names_every_command_in_the_eager_order():
    group = typer.main.get_command(app)
    assert list(group.commands) == [name for name, _register, _help in COMMANDS]
    assert list(group.commands) == list(typer.main.get_command(_eager_app()).commands)
    assert "proof" in group.commands and "nothing" not in group.commands
    assert len(group.commands) == len(COMMANDS)


def _modules_after(*args: str) -> set[str]:
    """The `segur.*` modules a `segur` process has imported when it exits, run with `args`."""
    script = ("import atexit, sys\n"
              "atexit.register(lambda: print('\\n'.join(m for m in sys.modules if m.startswith('segur')),"
              " file=sys.stderr))\n"
              "from segur.cli import main\n"
              f"sys.argv = ['segur', *{list(args)!r}]\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1, 2, 3), done.stderr
    return set(done.stderr.split())


def test_version_and_help_import_no_command_module():
    for args in (["--version"], ["--help"]):
        loaded = _modules_after(*args)
        assert "segur.cli" in loaded
        assert not [m for m in loaded if m.startswith((*HEAVY, "segur.validators"))], args


def test_validate_imports_the_validator_and_not_the_mocks_nor_the_proof(tmp_path):
    document = tmp_path / "not-cda.xml"
    document.write_text("<root/>", encoding="utf-8")
    loaded = _modules_after("validate", "--no-pack", str(document))
    assert "segur.validators.cli" in loaded and "segur.validators.api" in loaded
    assert [m for m in loaded if m.startswith(HEAVY)] == []


def test_a_command_imports_its_module_when_it_runs():
    loaded = _modules_after("world", "--help")
    assert "segur.fixtures.cli" in loaded
    assert "segur.validators.cli" not in loaded and "segur.mocks.dmp" not in loaded


def test_a_module_that_registers_an_unlisted_command_is_refused():
    def _validate_and_more(app: typer.Typer, serve: typer.Typer) -> None:
        validate_cli.register(app, serve)
        app.command("more")(lambda: None)

    commands = LazyCommands((("validate", _validate_and_more, "Validate."),), {})
    assert commands.listing("validate").help == "Validate."  # listed without being built
    with pytest.raises(CommandListError, match=r"registered \['more', 'validate'\].*lists \['validate'\]"):
        commands["validate"]


def test_a_listed_command_its_module_does_not_register_is_refused():
    listed = (("validate", cli._validate, "Validate."), ("check", cli._validate, "Check."))
    commands = LazyCommands(listed, {})
    with pytest.raises(CommandListError, match=r"lists \['validate', 'check'\]"):
        commands.get("check")


def test_a_module_that_adds_a_serve_command_is_refused():
    def _rules_and_serve(app: typer.Typer, serve: typer.Typer) -> None:
        rules_cli.register(app, serve)
        serve.command("echo")(lambda: None)

    commands = LazyCommands((("rules", _rules_and_serve, "Rules."),), {})
    with pytest.raises(CommandListError, match="segur serve"):
        commands["rules"]


def test_a_command_is_built_once_per_group():
    group = typer.main.get_command(app)
    assert group.commands["validate"] is group.commands["validate"]
    assert isinstance(group.commands["serve"].commands["dmp"], TyperCommand)
