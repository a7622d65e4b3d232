"""`segur serve annuaire`: the Annuaire santé FHIR API mock as a server."""

from __future__ import annotations

from pathlib import Path

import typer

from segur.kernel.server import run_until_interrupted


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @serve.command("annuaire")
    def serve_annuaire(
        port: int = typer.Option(8300, help="HTTP port."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        api_key: list[str] = typer.Option(None, "--api-key", help="Accepted ESANTE-API-KEY (repeatable); "
                                          "default: any non-empty key."),
        tls: bool = typer.Option(False, "--tls", help="Serve HTTPS with the test PKI's server certificate."),
        pki: Path = typer.Option(Path(".segur-pki"), help="Test PKI directory (created if missing)."),
        unknown_parameters: str = typer.Option(
            "refuse", "--unknown-parameters",
            help="refuse: an unknown search parameter is a 400, as the real server does; fhir: ignored and "
                 "reported (FHIR R4 lenient), refused only with Prefer: handling=strict."),
    ) -> None:
        """Serve the Annuaire santé FHIR API (R4, /fhir/v2) for the test world's professionals."""
        from segur.kernel.pki import TestPki
        from segur.kernel.server import WsgiServer
        from segur.mocks.annuaire.app import create_app
        from segur.mocks.annuaire.backend import UNKNOWN_PARAMETER_MODES, AnnuaireMock

        if unknown_parameters not in UNKNOWN_PARAMETER_MODES:
            raise typer.BadParameter(f"use one of {', '.join(UNKNOWN_PARAMETER_MODES)}",
                                     param_hint="--unknown-parameters")
        mock = AnnuaireMock(api_keys=api_key or None, unknown_parameters=unknown_parameters)
        server_tls = TestPki.load_or_create(pki).server_tls() if tls else None
        server = WsgiServer(create_app(mock), host=host, port=port, tls=server_tls, name="segur-annuaire")

        def ready() -> None:
            mock.base_url = server.url
            for name, value in mock.endpoints().items():
                typer.echo(f"{name}: {value}")
            typer.echo("Ctrl-C to stop.")

        run_until_interrupted(server, on_ready=ready)
