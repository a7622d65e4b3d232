"""`segur pki`: write a test CA, a server certificate and client certificates for your product."""

from __future__ import annotations

from pathlib import Path

import typer

from segur.kernel.pki import DEFAULT_CLIENTS, TestPki


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("pki")
    def pki(out: Path = typer.Option(Path(".segur-pki"), help="Where to write the PKI (reused if present).")):
        """Create (or show) the test PKI the mocks trust: CA, server and client certificates."""
        store = TestPki.load_or_create(out)
        typer.echo(f"CA certificate (trust it in your product): {store.ca_file}")
        typer.echo(f"server certificate: {store.server.cert_file} (key {store.server.key_file})")
        for name, (cn, org, unit) in DEFAULT_CLIENTS.items():
            files = store.client(name)
            subject = f"CN={cn}, O={org}, OU={unit}"
            typer.echo(f"client {name}: {subject}: {files.cert_file} (key {files.key_file})")
        typer.echo(f"certificates from an untrusted CA, for negative tests: {out / 'untrusted'}")
