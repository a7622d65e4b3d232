"""The DMP mock as a kernel service: its settings and how it starts."""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.config import ServiceConfig, setting
from segur.kernel.service import HttpService
from segur.mocks.dmp.app import DmpMock, create_app
from segur.mocks.dmp.backend import DmpBackend, DmpOptions


@dataclass
class DmpConfig(ServiceConfig):
    port: int = setting(8302, "HTTP(S) port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    mtls: bool = setting(False, "Require a client certificate from the test PKI (implies tls).")
    lenient: bool = setting(False, "Record rule breaches as warnings and accept (early integration); strict is "
                            "the default and what the proof uses.")
    validation: bool = setting(True, "Validate the CDA documents.")
    max_document_size: int = setting(50 * 1024 * 1024, "Largest document accepted, in bytes; a larger one is "
                                     "refused unread (XDS-41-016).")
    vihf_errors: str = setting("registry", "How ITI-18/41/43/57 refuse a VIHF: 'registry' (RegistryResponse "
                               "errors) or 'soap-fault' (SOAP 1.2 fault, WS-Security subcode).",
                               choices=("registry", "soap-fault"))


class DmpService(HttpService):
    name = "dmp"
    Config = DmpConfig
    title = "The DMP mock: XDS.b registry/repository with the DMP's rules, VIHF checks and document validation."

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        conf, context = self.config, self.context
        options = DmpOptions(lenient=conf.lenient, trusted_ca_files=(context.test_pki().ca_file,),
                             validate_documents=conf.validation, validator_pack=context.pack,
                             max_document_size=conf.max_document_size, vihf_errors=conf.vihf_errors)
        self.backend = DmpBackend(context.data_dir(self.name), world=context.world, options=options)
        self.mock = DmpMock(self.backend)
        self.journal, self.faults = self.mock.journal, self.mock.faults

    def create_app(self):
        return create_app(self.mock)

    def bound(self, base_url: str) -> None:
        super().bound(base_url)
        self.mock.base_url = base_url

    def close(self) -> None:
        self.backend.close()

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def reset(self) -> None:
        self.mock.reset()
