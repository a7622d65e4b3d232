"""Help texts are rich markup when typer prints them: a bare ``[word]`` is read as a style tag and
vanishes (``[stack] pack`` printed as `` pack``). Every help text of every command must print as written."""

from __future__ import annotations

import re

import typer
from rich.text import Text
from typer.testing import CliRunner

from segur.cli import app

BRACKETED = re.compile(r"(?<!\\)\[[^\]]*\]")


def _commands(command, path=("segur",)):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _help_texts():
    for path, command in _commands(typer.main.get_command(app)):
        yield " ".join(path), "help", command.help or ""
        for param in command.params:
            yield " ".join(path), param.name, getattr(param, "help", None) or ""


def test_proof_help_shows_the_stack_table_of_the_config():
    result = CliRunner().invoke(app, ["proof", "--help"], env={"COLUMNS": "300", "TERMINAL_WIDTH": "300"})
    assert result.exit_code == 0
    assert "[stack] pack of --config" in " ".join(result.output.split())


def test_no_help_text_loses_a_bracketed_word_to_rich_markup():
    swallowed = []
    for where, name, text in _help_texts():
        written = text.replace("\\[", "[")  # an escaped bracket prints as a bracket
        if Text.from_markup(text).plain != written:
            swallowed.append(f"{where} {name}: {BRACKETED.findall(text)}")
    assert swallowed == []
