"""`python -m segur.mocks.dmp.client …`: see client/cli.py."""

from .cli import client_app

client_app(prog_name="python -m segur.mocks.dmp.client")
