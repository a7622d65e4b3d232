"""`segur serve dmp`: the DMP mock (IHE XDS.b ITI-41/18/43/57, TD0.2/TD0.3) as a server."""

from __future__ import annotations

from pathlib import Path

import typer

from segur.kernel.server import run_until_interrupted

MAX_DOCUMENT_SIZE = 50 * 1024 * 1024  # = backend.DEFAULT_MAX_DOCUMENT_SIZE, not imported: keeps `segur --help` fast


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @serve.command("dmp")
    def serve_dmp(
        port: int = typer.Option(8302, help="HTTP(S) port."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        data: Path = typer.Option(Path(".segur-dmp"), "--data", help="Data directory (SQLite store; kept across "
                                  "restarts)."),
        lenient: bool = typer.Option(False, "--lenient", help="Record rule breaches as warnings and accept "
                                     "(early integration); strict is the default and what the proof uses."),
        tls: bool = typer.Option(False, "--tls", help="Serve HTTPS with the test PKI's server certificate."),
        mtls: bool = typer.Option(False, "--mtls", help="Require a client certificate from the test PKI (implies --tls)."),
        pki: Path = typer.Option(Path(".segur-pki"), help="Test PKI directory (created if missing): its CA signs "
                                 "the server certificate and is trusted for VIHF signatures."),
        pack: Path = typer.Option(None, help="Official CDA pack directory for document validation "
                                  "(default: SEGUR_PACK / config)."),
        no_validation: bool = typer.Option(False, "--no-validation", help="Do not validate the CDA documents."),
        max_body: int = typer.Option(64 * 1024 * 1024, help="Largest request body accepted, in bytes."),
        max_document_size: int = typer.Option(MAX_DOCUMENT_SIZE, "--max-document-size",
                                              help="Largest document accepted, in bytes (default 50 MiB); a "
                                              "larger one is refused unread (XDS-41-016)."),
        vihf_errors: str = typer.Option("registry", "--vihf-errors",
                                        help="How ITI-18/41/43/57 refuse a VIHF: 'registry' (RegistryResponse "
                                        "errors, default) or 'soap-fault' (SOAP 1.2 fault, WS-Security subcode "
                                        "wsse:InvalidSecurity, wsse:FailedAuthentication…)."),
        production_oids: bool = typer.Option(False, "--production-oids", help="Refuse the test INS OIDs."),
        power_safe: bool = typer.Option(False, "--power-safe", help="SQLite synchronous=FULL: a commit also survives "
                                        "a power cut or OS crash (default NORMAL in WAL mode: survives a crash of the "
                                        "mock, without an fsync per submission)."),
        fast_commit: bool = typer.Option(False, "--fast-commit", hidden=True,
                                         help="Accepted for compatibility: synchronous=NORMAL is now the default."),
        validation_workers: int = typer.Option(0, help="Validate documents in N worker processes (0: in the "
                                               "request thread); raises throughput on multi-core machines."),
    ) -> None:
        """Serve the DMP: XDS.b registry/repository with the DMP's rules, VIHF checks and document validation."""
        from segur.kernel.pki import TestPki
        from segur.kernel.server import WsgiServer
        from segur.mocks.dmp.app import DmpMock, create_app
        from segur.mocks.dmp.backend import DmpBackend, DmpOptions

        test_pki = TestPki.load_or_create(pki)
        options = DmpOptions(lenient=lenient, trusted_ca_files=(test_pki.ca_file,), test_mode=not production_oids,
                             validate_documents=not no_validation, validator_pack=pack,
                             validation_workers=validation_workers, synchronous="FULL" if power_safe else "NORMAL",
                             max_document_size=max_document_size, vihf_errors=vihf_errors)
        backend = DmpBackend(data, options=options)
        mock = DmpMock(backend, max_body=max_body)
        server_tls = test_pki.server_tls(require_client_cert=mtls) if (tls or mtls) else None
        server = WsgiServer(create_app(mock), host=host, port=port, tls=server_tls, name="segur-dmp")

        def ready() -> None:
            mock.base_url = server.url
            for name, value in mock.endpoints().items():
                typer.echo(f"{name}: {value}")
            typer.echo(f"data: {backend.store.path} ({'lenient' if lenient else 'strict'} mode)")
            typer.echo("Ctrl-C to stop.")

        try:
            run_until_interrupted(server, on_ready=ready)
        finally:
            backend.close()
