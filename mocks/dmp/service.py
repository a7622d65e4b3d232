"""The DMP mock as a kernel service: every setting it has (one list: `segur serve dmp`'s options, the `[dmp]`
section of `segur up`, the keywords of `testing.running_dmp`) and how it starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segur.kernel.config import ServiceConfig, check_choices, setting
from segur.kernel.journal import Journal
from segur.kernel.service import HttpService, StackContext
from segur.mocks.dmp.calls import BASE, SERVICES
from segur.mocks.dmp.journal import DmpJournal

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # the whole request
DEFAULT_MAX_DOCUMENT_SIZE = 50 * 1024 * 1024  # one document: the validator's own default (safe_xml)
DEFAULT_REPOSITORY_ID = "1.2.250.1.213.1.1.9.1"  # the mock repository's uniqueId (an OID under the DMP arc)
FAULT_KINDS = {
    "xds_error": {"code": "XDSRegistryError", "message": "injected error"},
    "soap_fault": {"code": "Receiver", "reason": "injected SOAP fault"},
    "dmp_closed": {"ins": ""},
}


@dataclass
class DmpConfig(ServiceConfig):
    port: int = setting(8302, "HTTP(S) port (0: a free one).")
    data: str = setting(
        "", "Data directory (the SQLite store, kept across restarts); empty: <stack data>/dmp.",
        serve_default=".segur-dmp")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    mtls: bool = setting(False, "Require a client certificate from the test PKI (implies tls).")
    lenient: bool = setting(
        False,
        "Record rule breaches as warnings and accept (early integration); strict is the default and what "
        "the proof uses.")
    validation: bool = setting(True, "Validate the CDA documents.")
    validation_workers: int = setting(
        0,
        "Validate documents in N worker processes (0: in the request thread); raises throughput on "
        "multi-core machines.")
    max_body: int = setting(DEFAULT_MAX_BODY, "Largest request body accepted, in bytes.")
    max_document_size: int = setting(
        DEFAULT_MAX_DOCUMENT_SIZE,
        "Largest document accepted, in bytes; a larger one is refused unread (XDS-41-016).")
    vihf_errors: str = setting("registry", "How ITI-18/41/43/57 refuse a VIHF: 'registry' (RegistryResponse "
                               "errors) or 'soap-fault' (SOAP 1.2 fault, WS-Security subcode "
                               "wsse:InvalidSecurity, wsse:FailedAuthentication…).",
                               choices=("registry", "soap-fault"))
    require_vihf: bool = setting(True, "Every transaction needs a valid VIHF (the DMP's rule).")
    production_oids: bool = setting(False, "Refuse the test INS OIDs (1.2.250.1.213.1.4.10/11).")
    power_safe: bool = setting(
        False,
        "SQLite synchronous=FULL: a commit also survives a power cut or OS crash (default NORMAL in WAL "
        "mode: survives a crash of the mock, without an fsync per submission).",
        flags={"--fast-commit": False})
    repository_unique_id: str = setting(DEFAULT_REPOSITORY_ID, "The repository's uniqueId (ITI-43 "
                                        "RepositoryUniqueId).")
    home_community_id: str = setting("", "The homeCommunityId given to stored entries (empty: none).")
    authorisation_for_feed: bool = setting(False, "ITI-41 needs a VALIDE authorisation (TD0.3); the DMP does "
                                           "not ask one for feeding (REM DMP/CONF.05).")
    allow_invisible_and_masked: bool = setting(
        False,
        "Accept a document both INVISIBLE_PATIENT and MASQUE_PS (DMP parameter "
        "cumul-invisible_patient-masque_ps, EX_2.1-1050).")
    authorisation_days: int = setting(365, "Validity, in days, of an authorisation added by TD0.3.")


class DmpService(HttpService):
    """The DMP: XDS.b registry/repository with the DMP's rules, VIHF checks and document validation.

    `validator_pack` (a directory, or False: no pack even if SEGUR_PACK is set) and `validator` (a stand-in
    CDA validator) are for tests; the stack's `pack` is used otherwise.
    """

    name = "dmp"
    Config = DmpConfig
    title = ("The DMP mock: XDS.b registry/repository with the DMP's rules, VIHF checks and document "
             "validation.")
    fault_kinds = FAULT_KINDS

    def __init__(self, config: DmpConfig | None = None, context: StackContext | None = None, *,
                 validator=None, validator_pack=None):
        # Measured: the DMP's model and wire (the CDA validator, signxml) add ~150-300 ms to `segur --help`,
        # which imports every service class (segur.services); they are imported when a DMP is built.
        from segur.mocks.dmp.models import DmpBackend
        from segur.mocks.dmp.storage_pg import PostgresDmpStore  # psycopg: another ~60 ms measured

        super().__init__(config, context)
        check_choices(self.config, self.name)
        self.validator_pack = validator_pack if validator_pack is not None else self.context.pack
        store = None  # the SQLite store in data_dir
        if self.context.shared_store:  # `[stack] store = postgresql://…`: one DMP over every worker
            store = PostgresDmpStore(self.context.stack.store, tenant=self.context.tenant)
        self.backend = DmpBackend(self.data_dir, self.config, world=self.context.world, validator=validator,
                                  validator_pack=self.validator_pack, store=store)

    @property
    def data_dir(self) -> Path:
        """The store's folder: `data`, else `<stack data>/dmp`; a tenant's is its own beneath either."""
        if self.config.data and self.context.tenant:
            return Path(self.config.data) / "tenants" / self.context.tenant
        return self.context.data_dir(self.name, self.config.data)

    @property
    def trusted_ca_files(self) -> tuple:
        """The CAs whose certificates may sign a VIHF: the test PKI's."""
        return (self.context.test_pki().ca_file,)

    @property
    def url(self) -> str:
        return self.base_url

    def create_journal(self) -> Journal:
        """The stack's shared journal on PostgreSQL, else the DMP's own in memory, whose bodies over its
        memory go next to the store (its data dir)."""
        if self.context.shared_store:
            return super().create_journal()
        return DmpJournal(self.name, spill_dir=self.data_dir / "journal-bodies")

    def create_app(self):
        from segur.mocks.dmp.responses import create_app  # measured start-up cost: see __init__

        return create_app(self)

    def close(self) -> None:
        self.backend.close()

    def endpoints(self) -> dict:
        urls = {name: f"{self.base_url}{BASE}/{name}" for name in SERVICES}
        urls["admin"] = f"{self.base_url}/_admin/"
        urls["repository_unique_id"] = self.config.repository_unique_id
        return urls

    def endpoint(self, name: str) -> str:
        return self.endpoints()[name]

    def reset(self) -> None:
        self.backend.reset()

    def ready_lines(self) -> list[str]:
        mode = "lenient" if self.config.lenient else "strict"
        return [*super().ready_lines(), f"data: {self.backend.store.path} ({mode} mode)"]
