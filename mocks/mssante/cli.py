"""`segur serve mssante`: the MSSanté mock (SMTP + IMAP over STARTTLS, admin API) as a server."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from segur.kernel.server import run_until_interrupted


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @serve.command("mssante")
    def serve_mssante(
        smtp_port: int = typer.Option(8587, "--smtp-port", help="SMTP submission port (587 in production)."),
        imap_port: int = typer.Option(8143, "--imap-port", help="IMAP port (143 in production)."),
        port: int = typer.Option(8303, "--port", help="Admin API (HTTP) port."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        tls: bool = typer.Option(True, "--tls/--no-tls", help="STARTTLS required on SMTP and IMAP (default); "
                                 "--no-tls serves plain text with AUTH in clear, for debugging only."),
        mtls: bool = typer.Option(False, "--mtls", help="Also require a client certificate of the test CA."),
        pki: Path = typer.Option(Path(".segur-pki"), help="Test PKI directory (created if missing)."),
        password: str = typer.Option(None, help="Password of every world mailbox (default: mssante-test)."),
        size_limit: int = typer.Option(25 * 1024 * 1024, help="Maximum message size in bytes (SIZE)."),
        recipient_policy: str = typer.Option("rcpt", help="'rcpt': refuse unknown recipients at RCPT TO; "
                                             "'dsn': accept them and send a delivery status notification."),
        no_validate: bool = typer.Option(False, "--no-validate", help="Do not run the CDA validator on documents."),
        workers: int = typer.Option(0, help="Run the message checks in N worker processes (0: threads)."),
        data: str = typer.Option(".segur-mssante", "--data", help="Mailboxes folder (SQLite store, kept across "
                                 "restarts and crashes); ':memory:' keeps nothing."),
        power_safe: bool = typer.Option(False, "--power-safe", help="fsync every accepted message (survives a "
                                        "power cut too; slower)."),
    ) -> None:
        """Serve MSSanté for the test world: every world mailbox can send (SMTP) and read (IMAP)."""
        from segur.mocks.mssante.server import MssanteServer

        options = {"size_limit": size_limit, "recipient_policy": recipient_policy, "workers": workers}
        if data != ":memory:":
            options.update(data_dir=Path(data), power_safe=power_safe)
        if password:
            options["default_password"] = password
        if no_validate:
            options["validate"] = False
        mode = "mtls" if mtls else ("starttls" if tls else "none")
        server = MssanteServer(host=host, smtp_port=smtp_port, imap_port=imap_port, admin_port=port, tls=mode,
                               pki_dir=pki if mode != "none" else None, **options)

        def ready() -> None:
            store = server.backend.store
            typer.echo(json.dumps({"service": "mssante", "endpoints": server.endpoints(),
                                   "default_password": server.backend.default_password,
                                   "data": str(store.path) if store.path else ":memory:"}, indent=2))
            typer.echo("Ctrl-C to stop.")

        run_until_interrupted(server, on_ready=ready)
