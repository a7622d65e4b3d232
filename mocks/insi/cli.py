"""`segur serve insi`: the INSi teleservice mock as a server (loopback, port 8301 by default)."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_PORT = 8301


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @serve.command("insi")
    def serve_insi(
        port: int = typer.Option(DEFAULT_PORT, help="TCP port (0: a free one)."),
        host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
        tls: bool = typer.Option(False, "--tls", help="Serve HTTPS with the test PKI's server certificate."),
        mtls: bool = typer.Option(False, "--mtls", help="Mutual TLS: require a client certificate of the test CA "
                                  "whose CN is INSI-AUTO or INSI-MANU (implies --tls)."),
        pki: Path = typer.Option(Path(".segur-pki"), "--pki", help="Directory of the test PKI (created if missing; same default as `segur pki`)."),
        world: Path = typer.Option(None, "--world", help="World file (default: the shipped world)."),
        idam: list[str] = typer.Option(None, "--idam", help="A software authorisation (IDAM) to accept, "
                                       "for both access modes and operations (repeatable)."),
        any_idam: bool = typer.Option(False, "--any-idam", help="Accept every IDAM (no siram_100/desir_550)."),
        default_mode: str = typer.Option("INSI-AUTO", help="Access mode assumed without mutual TLS."),
        wsa_action_required: bool = typer.Option(True, "--wsa-action-required/--no-wsa-action-required",
                                                 help="Refuse requests without wsa:Action (default), or take the "
                                                 "operation from the SOAP action of the Content-Type."),
        strict_faults: bool = typer.Option(False, "--strict-faults", help="Answer Sender faults with HTTP 400 "
                                           "and WS-Addressing fault headers (SOAP 1.2 Part 2 §7.5.2) instead of "
                                           "CNAM's HTTP 500 and recorded layout."),
        threads: int = typer.Option(16, help="cheroot worker threads."),
        journal_size: int = typer.Option(20_000, help="Exchanges kept in the journal (oldest dropped first)."),
    ) -> None:
        """Run the INSi mock (SOAP 1.2, CNAM's ServiceIdentiteCertifiee interface) until Ctrl-C."""
        from segur.kernel.pki import TestPki
        from segur.kernel.server import WsgiServer, run_until_interrupted
        from segur.mocks.insi.app import InsiMock
        from segur.mocks.insi.backend import DEFAULT_SOFTWARE, Software
        from segur.mocks.insi.testing import tls_settings

        loaded_world = None
        if world is not None:
            from segur.fixtures.world import load_world

            loaded_world = load_world(world)
        software = list(DEFAULT_SOFTWARE) + [Software(i, "declared with --idam") for i in (idam or [])]
        mock = InsiMock(loaded_world, software=software, accept_any_idam=any_idam, default_mode=default_mode,
                        require_client_cn=mtls, journal_size=journal_size, require_wsa_action=wsa_action_required,
                        fault_style="strict" if strict_faults else "cnam")
        settings = None
        if tls or mtls:
            test_pki = TestPki.load_or_create(pki)
            settings = tls_settings(test_pki, mtls)
        server = WsgiServer(mock.app, host=host, port=port, tls=settings, threads=threads, name="segur-insi")

        def ready() -> None:
            url = server.url.replace("127.0.0.1", "localhost") if settings else server.url
            mock.base_url = url
            typer.echo(f"INSi mock ({'mutual TLS' if mtls else 'TLS' if tls else 'HTTP'}) on {url}")
            for name, endpoint in mock.endpoints().items():
                typer.echo(f"  {name:8} {endpoint}")
            if settings:
                typer.echo(f"  test CA  {TestPki(pki).ca_file}")
                if mtls:
                    typer.echo(f"  clients  {TestPki(pki).client('insi-auto').cert_file} (INSI-AUTO), "
                               f"{TestPki(pki).client('insi-manu').cert_file} (INSI-MANU)")
            typer.echo(f"  IDAMs    {', '.join(s.idam for s in mock.backend.software())}"
                       + (" (and any other: --any-idam)" if any_idam else ""))
            typer.echo("Ctrl-C to stop.")

        run_until_interrupted(server, on_ready=ready)
