"""Serve a WSGI app on a real socket with cheroot, in a background thread or until Ctrl-C.

cheroot (CherryPy's HTTP server) is a production-grade, threaded, pure-Python WSGI server that
can be started and stopped in-process — what the pytest fixtures need — and speaks TLS with
client-certificate checks through the standard `ssl` module, which mutual-TLS mocks need.
"""

from __future__ import annotations

import signal
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

STOP_LATENCY = 0.05  # seconds: how often the server's selector loop looks whether stop() was asked


@dataclass(frozen=True)
class TlsSettings:
    """Server certificate and key; with `client_ca`, clients must present a certificate it issued."""

    cert_file: Path
    key_file: Path
    client_ca: Path | None = None
    require_client_cert: bool = False

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        if self.client_ca:
            context.load_verify_locations(cafile=str(self.client_ca))
            context.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        return context

    def adapter(self) -> BuiltinSSLAdapter:
        adapter = BuiltinSSLAdapter(str(self.cert_file), str(self.key_file))
        adapter.context = self.server_context()
        return adapter


class WsgiServer:
    """A WSGI app on host:port (port 0 = a free one), started in a thread; a context manager."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, tls: TlsSettings | None = None,
                 threads: int = 16, name: str = "segur-mock", reuse_port: bool = False):
        self.app = app
        self.tls = tls
        self._server = wsgi.Server((host, port), app, numthreads=threads, server_name=name,
                                   request_queue_size=256, timeout=30, shutdown_timeout=2,
                                   reuse_port=reuse_port)  # worker processes listening on one port
        # stop() waits for the selector loop's next wake-up, every `expiration_interval` (cheroot: 0.5 s);
        # a test stack of eight servers took 4 s to stop. 20 idle wake-ups a second cost nothing measurable.
        self._server.expiration_interval = STOP_LATENCY
        if tls:
            self._server.ssl_adapter = tls.adapter()
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._server.bind_addr[0]

    @property
    def port(self) -> int:
        return self._server.bind_addr[1]

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> WsgiServer:
        """Bind now (so `port` is known when this returns) and serve in a daemon thread."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name=f"{self._server.server_name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> WsgiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_until_interrupted(*servers, on_ready=None) -> None:
    """Start every server (anything with start()/stop()), call `on_ready`, block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        if on_ready:
            on_ready()
        while not stop.is_set():
            time.sleep(0.2)
    finally:
        for server in reversed(started):
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
