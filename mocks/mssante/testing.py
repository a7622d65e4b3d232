"""Run the MSSanté mock in-process for tests: free ports, background loop, stopped on exit.

    with running_mssante() as mss:
        smtp = smtplib.SMTP(mss.smtp_host, mss.smtp_port); smtp.starttls(context=mss.client_context()) …
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from segur.kernel.pki import TestPki
from segur.kernel.service import StackContext
from segur.mocks.mssante.cda import read_cda_header
from segur.mocks.mssante.service import MssanteConfig, MssanteService
from segur.mocks.mssante.xdm import build_xdm

#: `running_mssante` keywords that are settings of `MssanteConfig` (the others go to the backend)
_SETTINGS = ("tls", "size_limit", "recipient_policy", "workers", "power_safe")


class RunningMssante:
    """A started `MssanteService` and what a test client needs from it."""

    def __init__(self, service: MssanteService):
        self.service = service

    @property
    def mock(self) -> MssanteService:
        return self.service

    @property
    def backend(self):
        return self.service.backend

    @property
    def journal(self):
        return self.service.journal

    @property
    def faults(self):
        return self.service.faults

    @property
    def url(self) -> str:
        return self.service.admin.url

    @property
    def smtp_host(self) -> str:
        return self.service.host

    @property
    def smtp_port(self) -> int:
        return self.service.smtp_port

    @property
    def imap_host(self) -> str:
        return self.service.host

    @property
    def imap_port(self) -> int:
        return self.service.imap_port

    @property
    def password(self) -> str:
        return self.service.backend.default_password

    def endpoints(self) -> dict:
        return self.service.endpoints()

    def client_context(self, client: str | None = None, untrusted: bool = False) -> ssl.SSLContext:
        """A client TLS context trusting the mock's CA; with `client`, presenting that test certificate."""
        pki = self.service.pki
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        if client:
            files = pki.untrusted_client(client) if untrusted else pki.client(client)
            context.load_cert_chain(str(files.cert_file), str(files.key_file))
        return context


def mssante_service(world=None, *, host: str = "127.0.0.1", pki_dir: str | Path | None = None,
                    data_dir: str | Path | None = None, store: str = "", tenants: bool = False,
                    **options) -> MssanteService:
    """An `MssanteService` on free loopback ports, not started: mailboxes in memory unless `data_dir`
    (or `store`, a PostgreSQL URL: the stack's `[stack] store`), a test PKI in a temporary folder unless
    `pki_dir`; `tenants` serves tenants (`[stack] tenants`: logins `user+tenant@domain`).

    Options are settings of `MssanteConfig` (``tls``, ``size_limit``, ``recipient_policy``, ``workers``,
    ``power_safe``) or `MssanteBackend` keywords (``default_password``, ``passwords``, ``tokens``,
    ``validate``, ``xdm_limits``…).
    """
    settings = {key: options.pop(key) for key in _SETTINGS if key in options}
    config = MssanteConfig(port=0, smtp_port=0, imap_port=0,
                           data=str(data_dir) if data_dir is not None else ":memory:", **settings)
    pki = TestPki.load_or_create(Path(pki_dir).resolve()) if pki_dir is not None else None
    context = StackContext.for_tests(world=world, pki=pki, host=host)
    context.stack = dataclasses.replace(context.stack, store=store, tenants=tenants)
    return MssanteService(config, context, **options)


@contextmanager
def running_mssante(world=None, **options) -> Iterator[RunningMssante]:
    """Start the mock on free loopback ports (SMTP, IMAP, admin) and stop it afterwards (options: see
    `mssante_service`)."""
    service = mssante_service(world, **options).start()
    try:
        yield RunningMssante(service)
    finally:
        service.stop()


AUTO = object()
DEFAULT_BODY = "Bonjour,\nveuillez trouver le compte rendu ci-joint.\n"
STAND_IN_PDF = b"%PDF-1.4\n% PDF/A-1 rendering of the CDA (test stand-in)\n%%EOF\n"


def mss_message(sender: str, recipients: list[str] | str, documents: list[bytes] = (), *, subject=AUTO,
                nil: str | None = "1234", ins_header=AUTO, codecda=AUTO, pdf: bool = True,
                mes: str | None = None, disposition_notification_to: str | None = None,
                xdm: bytes | None = None, xdm_name: str = "IHE_XDM.ZIP", body: str = DEFAULT_BODY,
                extra_headers: dict | None = None):
    """An MSSanté message as a conformant sender builds it (every part can be overridden to break it).

    `documents`: CDA documents put in one IHE_XDM.ZIP (see `xdm.build_xdm`); the subject
    (``XDM/1.0/DDM+<libellé> <NOM> <prénom> <date>``), ``X-MSS-INS`` and ``X-MSS-CODECDA`` are derived
    from the first CDA unless given (``None`` leaves a header out).
    """
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    headers = [read_cda_header(doc) for doc in documents]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if subject is AUTO:
        subject = "Message de test"
        if headers:
            h = headers[0]
            birth = f" {h.birth_time[6:8]}/{h.birth_time[4:6]}/{h.birth_time[:4]}" if h.birth_time else ""
            subject = f"XDM/1.0/DDM+{h.code_display or h.title} {h.birth_name} {h.first_given}{birth}"
    if subject is not None:
        message["Subject"] = subject
    if nil is not None:
        message["X-MSS-NIL"] = nil
    if ins_header is AUTO:
        ins_header = ("O" if all(h.qualified_ins for h in headers) else "N") if headers else None
    if ins_header is not None:
        message["X-MSS-INS"] = ins_header
    if codecda is AUTO:
        codecda = [h.code for h in headers] if headers else None
    for code in ([codecda] if isinstance(codecda, str) else codecda or []):
        message["X-MSS-CODECDA"] = code
    if mes is not None:
        message["X-MSS-MES"] = mes
    if disposition_notification_to:
        message["Disposition-Notification-To"] = disposition_notification_to
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(body)
    package = xdm
    if package is None and documents:
        package = build_xdm([(doc, None) for doc in documents])
    if package is not None:
        message.add_attachment(package, maintype="application", subtype="zip", filename=xdm_name)
    if pdf and documents:
        for number, header in enumerate(headers, start=1):  # the PDF a CDA embeds, else a stand-in
            content = header.embedded_pdf or STAND_IN_PDF
            name = "compte-rendu.pdf" if len(headers) == 1 else f"compte-rendu-{number}.pdf"
            message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message
