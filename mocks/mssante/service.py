"""The MSSanté mock as a kernel service: its settings and how it starts (SMTP, IMAP and the admin API)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import Service
from segur.mocks.mssante.server import MssanteServer
from segur.validators import validate


@dataclass
class MssanteConfig(ServiceConfig):
    port: int = setting(8303, "Admin API port (0: a free one).")
    smtp_port: int = setting(8587, "SMTP submission port (0: a free one).")
    imap_port: int = setting(8143, "IMAP port (0: a free one).")
    tls: str = setting("starttls", "'starttls' (required on SMTP and IMAP), 'mtls' (and a client certificate of "
                       "the test CA) or 'none' (plain text, for debugging).", choices=("none", "starttls", "mtls"))
    password: str = setting("", "Password of every world mailbox (empty: the mock's default).")
    validation: bool = setting(True, "Validate the CDA documents attached (IHE_XDM.ZIP).")
    data: str = setting("", "Mailboxes folder ('' = <stack data>/mssante, ':memory:' = not kept).")


class MssanteService(Service):
    name = "mssante"
    Config = MssanteConfig
    title = "The MSSanté mock: SMTP and IMAP of a health-professional mail operator, with XDM checks."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        conf, context = self.config, self.context
        options = {}
        if conf.password:
            options["default_password"] = conf.password
        if not conf.validation:
            options["validate"] = False
        elif context.pack:  # the stack's official CDA pack, as an argument (not through SEGUR_PACK)
            options["validate"] = partial(validate, pack=str(context.pack))
        data = conf.data or str(context.data_dir(self.name))
        if data != ":memory:":
            options["data_dir"] = data
        pki_dir = context.test_pki().directory if conf.tls != "none" else None
        self.server = MssanteServer(context.world, host=context.stack.host, smtp_port=conf.smtp_port,
                                    imap_port=conf.imap_port, admin_port=conf.port, tls=conf.tls, pki_dir=pki_dir,
                                    **options)
        self.journal, self.faults = self.server.journal, self.server.faults

    @property
    def mock(self):
        return self.server

    def start(self) -> MssanteService:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def endpoints(self) -> dict:
        return self.server.endpoints()

    def reset(self) -> None:
        self.server.reset()
