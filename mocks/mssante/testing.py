"""Run the MSSanté mock in-process for tests: free ports, background loop, stopped on exit.

    with running_mssante() as mss:
        smtp = smtplib.SMTP(mss.smtp_host, mss.smtp_port); smtp.starttls(context=mss.client_context()) …
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from segur.mocks.mssante.server import MssanteServer


class RunningMssante:
    def __init__(self, server: MssanteServer):
        self.server = server

    @property
    def mock(self) -> MssanteServer:
        return self.server

    @property
    def backend(self):
        return self.server.backend

    @property
    def url(self) -> str:
        return self.server.admin.url

    @property
    def smtp_host(self) -> str:
        return self.server.host

    @property
    def smtp_port(self) -> int:
        return self.server.smtp_port

    @property
    def imap_host(self) -> str:
        return self.server.host

    @property
    def imap_port(self) -> int:
        return self.server.imap_port

    @property
    def password(self) -> str:
        return self.server.backend.default_password

    def endpoints(self) -> dict:
        return self.server.endpoints()

    def client_context(self, client: str | None = None, untrusted: bool = False) -> ssl.SSLContext:
        """A client TLS context trusting the mock's CA; with `client`, presenting that test certificate."""
        pki = self.server.pki
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        if client:
            files = pki.untrusted_client(client) if untrusted else pki.client(client)
            context.load_cert_chain(str(files.cert_file), str(files.key_file))
        return context


@contextmanager
def running_mssante(world=None, **options) -> Iterator[RunningMssante]:
    """Start the mock on free loopback ports (SMTP, IMAP, admin) and stop it afterwards.

    Options are those of `MssanteServer` (``tls``, ``pki_dir``, ``host``) and of `MssanteBackend`
    (``default_password``, ``passwords``, ``tokens``, ``size_limit``, ``recipient_policy``,
    ``validate``, ``xdm_limits``…).
    """
    server = MssanteServer(world, **options)
    server.start()
    try:
        yield RunningMssante(server)
    finally:
        server.stop()


AUTO = object()


def mss_message(sender: str, recipients: list[str] | str, documents: list[bytes] = (), *, subject=AUTO,
                nil: str | None = "1234", ins_header=AUTO, codecda=AUTO, pdf: bool = True, mes: str | None = None,
                disposition_notification_to: str | None = None, xdm: bytes | None = None,
                xdm_name: str = "IHE_XDM.ZIP", body: str = "Bonjour,\nveuillez trouver le compte rendu ci-joint.\n",
                extra_headers: dict | None = None):
    """An MSSanté message as a conformant sender builds it (every part can be overridden to break it).

    `documents`: CDA documents put in one IHE_XDM.ZIP (see `xdm.build_xdm`); the subject
    (``XDM/1.0/DDM+<libellé> <NOM> <prénom> <date>``), ``X-MSS-INS`` and ``X-MSS-CODECDA`` are derived
    from the first CDA unless given (``None`` leaves a header out).
    """
    from email.message import EmailMessage

    from segur.mocks.mssante.cda import read_cda_header
    from segur.mocks.mssante.xdm import build_xdm

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
    package = xdm if xdm is not None else (build_xdm([(doc, None) for doc in documents]) if documents else None)
    if package is not None:
        message.add_attachment(package, maintype="application", subtype="zip", filename=xdm_name)
    if pdf and documents:
        for number, header in enumerate(headers, start=1):  # the PDF a CDA embeds, else a stand-in
            content = header.embedded_pdf or b"%PDF-1.4\n% PDF/A-1 rendering of the CDA (test stand-in)\n%%EOF\n"
            name = "compte-rendu.pdf" if len(headers) == 1 else f"compte-rendu-{number}.pdf"
            message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message
