"""The INSi mock as a kernel service: every setting (`[insi]` of `segur up`, the options of `segur serve
insi`, the keywords of `testing.running_insi`) declared once in `InsiConfig`, and how it starts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, ServiceConfig, check_choices, setting
from segur.kernel.faults import FaultBook
from segur.kernel.service import HttpService
from segur.mocks.insi.models import (
    ACCESS_MODES,
    DECLARED,
    DEFAULT_SOFTWARE,
    SERVICE_PATH,
    InsiModel,
    Software,
)

FAULT_STYLES = ("cnam", "strict")


@dataclass
class InsiConfig(ServiceConfig):
    port: int = setting(8301, "TCP port (0: a free one).")
    tls: bool = setting(False, "Serve HTTPS with the test PKI's server certificate.")
    mtls: bool = setting(False, "Mutual TLS: require a client certificate of the test CA whose CN is "
                         "INSI-AUTO or INSI-MANU (implies tls).")
    idams: list = setting([], "A software authorisation (IDAM) to accept, for both access modes and "
                          "operations (repeatable).", cli="--idam")
    any_idam: bool = setting(True, "Accept every IDAM (no siram_100/desir_550; a warning in the journal).",
                             serve_default=False)
    default_mode: str = setting("INSI-AUTO", "Access mode assumed without mutual TLS.", choices=ACCESS_MODES)
    wsa_action_required: bool = setting(True, "Refuse requests without wsa:Action (default), or take the "
                                        "operation from the SOAP action of the Content-Type.")
    fault_style: str = setting("cnam", "How Sender faults are answered: 'cnam' (HTTP 500, CNAM's recorded "
                               "layout) or 'strict' (HTTP 400 and WS-Addressing fault headers, SOAP 1.2 "
                               "Part 2 §7.5.2).", choices=FAULT_STYLES, flags={"--strict-faults": "strict"})
    threads: int = setting(16, "cheroot worker threads.")
    journal_size: int = setting(20_000, "Exchanges kept in the journal (oldest dropped first).")
    max_body: int = setting(64 * 1024, "Largest request body accepted, in bytes (an INSi request is 2-4 kB; "
                            "a SAML assertion adds a few): larger ones get HTTP 413.")


#: Fault kinds the INSi mock adds to the kernel's generic ones (latency, http_error, overload).
FAULT_KINDS = {
    # A SOAP fault of the catalogue (`fault`: a key of rules.FAULTS), or any siram/desir code a test
    # wants to replay (`siram`, `desir`, `code` Sender/Receiver, `reason`, `message`, `severite`).
    "soap_fault": {"fault": "technical_error", "siram": None, "desir": None, "code": None, "reason": None,
                   "message": None, "severite": None},
    # The January-2022-like incident: every hit call waits `ms` (+ up to `jitter_ms`), then a share
    # `timeout_ratio` of them times out with HTTP `status`; the others get their normal answer, late.
    "overloaded": {"ms": 8000, "jitter_ms": 0, "timeout_ratio": 0.5, "status": 504,
                   "message": "Gateway Timeout (INSi overloaded: fault injected)"},
}


class InsiService(HttpService):
    """The INSi teleservice mock. `sleep` and `seed` are for tests: injected delays without waiting,
    replayable draws of the fault ratios."""

    name = "insi"
    Config = InsiConfig
    title = "The INSi teleservice mock (SOAP 1.2, CNAM's ServiceIdentiteCertifiee interface)."
    fault_kinds = FAULT_KINDS

    def __init__(self, config: InsiConfig | None = None, context=None, *, sleep=time.sleep, seed: int = 0):
        super().__init__(config, context)
        _check(self.config)
        self.threads = self.config.threads
        self.faults = FaultBook(self.fault_kinds, seed=seed, sleep=sleep)
        self._sleep, self._seed = sleep, seed
        declared = [Software(idam, DECLARED) for idam in self.config.idams]
        world = self.context.world if self.context.world is not None else load_world()
        self.model = InsiModel(world, software=[*DEFAULT_SOFTWARE, *declared],
                               accept_any_idam=self.config.any_idam, default_mode=self.config.default_mode)

    def create_journal(self):
        self.journal_size = self.config.journal_size  # the kernel's journal (in memory or shared), this size
        return super().create_journal()

    def create_app(self):
        # Flask, lxml and the WSDL read by `soap` cost ~140 ms: `segur --help` and `segur up --help`
        # never build the app, so they are imported here.
        from segur.mocks.insi.responses import create_app

        return create_app(self, sleep=self._sleep, seed=self._seed)

    def endpoints(self) -> dict:
        base = self.base_url
        return {"soap": f"{base}{SERVICE_PATH}", "wsdl": f"{base}{SERVICE_PATH}?wsdl",
                "schemas": f"{base}/wsdl/xsd/", "admin": f"{base}/_admin/"}

    def reset(self) -> None:
        self.model.reset()

    def health(self) -> dict:
        world = self.model.world
        return {"world": getattr(world, "version", None), "patients": len(world.patients),
                "mtls": self.config.mtls, "wsa_action_required": self.config.wsa_action_required,
                "fault_style": self.config.fault_style, "software": [s.idam for s in self.model.software()]}

    def ready_lines(self) -> list[str]:
        config = self.config
        transport = "mutual TLS" if config.mtls else "TLS" if config.tls else "HTTP"
        lines = [f"INSi mock ({transport}) on {self.base_url}"]
        lines += [f"  {name:8} {endpoint}" for name, endpoint in self.endpoints().items()]
        if config.tls or config.mtls:
            pki = self.context.test_pki()
            lines.append(f"  test CA  {pki.ca_file}")
            if config.mtls:
                lines.append(f"  clients  {pki.client('insi-auto').cert_file} (INSI-AUTO), "
                             f"{pki.client('insi-manu').cert_file} (INSI-MANU)")
        idams = ", ".join(s.idam for s in self.model.software())
        lines.append(f"  IDAMs    {idams}" + (" (and any other: --any-idam)" if config.any_idam else ""))
        return lines


def _check(config: InsiConfig) -> None:
    """A config built in Python (tests, scripts) is checked as a `[insi]` section is."""
    check_choices(config, "insi")
    for name in ("threads", "journal_size", "max_body"):
        if getattr(config, name) < 1:
            raise ConfigError(f"[insi] {name} must be at least 1, not {getattr(config, name)!r}")
