"""What every mock shares: a real server on a real socket, a journal, fault injection, the admin API.

A mock is built as moto builds its services: a backend that holds state and rules, a thin
protocol layer (a Flask app for HTTP/SOAP/FHIR, aiosmtpd/pymap for mail), and two ways to run
it — in-process for tests (`WsgiServer(...).start()` on a free port) and as a server
(`segur serve NAME`).
"""

from segur.mockkit.admin import AdminHooks, admin_blueprint
from segur.mockkit.faults import Fault, FaultBook, FaultError
from segur.mockkit.journal import Exchange, Journal, body_for_journal
from segur.mockkit.server import TlsSettings, WsgiServer, run_until_interrupted

__all__ = [
    "AdminHooks",
    "Exchange",
    "Fault",
    "FaultBook",
    "FaultError",
    "Journal",
    "TlsSettings",
    "WsgiServer",
    "admin_blueprint",
    "body_for_journal",
    "run_until_interrupted",
]
