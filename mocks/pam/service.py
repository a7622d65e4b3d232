"""The PAM mock as a kernel service: its settings, its MLLP listeners and its admin API.

`segur serve pam` and the `[pam]` section of `segur up` are built from `PamConfig`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, ServiceConfig, setting
from segur.kernel.server import WsgiServer
from segur.kernel.service import Service
from segur.mocks.pam.mllp import MllpListener
from segur.mocks.pam.models import IdentityStore
from segur.mocks.pam.responses import Consumer, create_app
from segur.mocks.pam.source import IdentitySource

#: the port HL7 listeners usually take (IANA's "hl7" service, not checked against the registry here)
HL7_PORT = 2575


@dataclass
class PamConfig(ServiceConfig):
    port: int = setting(8306, "Admin API port (0: a free one).")
    mllp_ports: list = setting([HL7_PORT], "MLLP listener ports, one listener each (0: a free one).")
    cda_ports: list = setting([], "MLLP ports of the CDA transport volet (ORU/MDM with a CDA, ZAM returns), "
                              "one listener each (0: a free one; the proof and --free-ports open one).")
    max_message_size: int = setting(1_048_576, "Largest MLLP block read, in bytes (larger: answered AR).")
    idle_timeout: int = setting(60, "Seconds a connection may stay silent before the mock closes it.")
    send_timeout: int = setting(10, "Seconds the identity source waits for a product's ACK.")


class PamService(Service):
    name = "pam"
    Config = PamConfig
    title = "The IHE PAM (HL7 v2.5, PAM FR) mock: identity consumer over MLLP, and identity source."
    fault_kinds = {
        # answer this MSA-1 (AE or AR) whatever the checks say; `error`: an applicationErrorCode of the LPS
        # volet (902…) the ACK's ERR carries (ERR-3 207, ERR-5 the code: mocks/pam/lps.py)
        "nack": {"code": "AE", "error": ""},
        "drop": {},  # close the connection without answering
    }

    def __init__(self, config=None, context=None):
        super().__init__(config, context)
        conf = self.config
        self.ports = _ports(conf.mllp_ports)
        self.cda_ports = _ports(conf.cda_ports, empty=True)
        if conf.max_message_size < 1 or conf.idle_timeout < 1 or conf.send_timeout < 1:
            raise ConfigError("[pam] max_message_size, idle_timeout and send_timeout must be positive")
        if self.context.world is None:
            self.context.world = load_world()
        self.store = IdentityStore()
        self.consumer = Consumer(self.store, self.journal, self.faults, conf.max_message_size)
        self.source = IdentitySource(self.context.world, self.journal, timeout=conf.send_timeout)
        validator = _FirstUseValidator(self.context.pack) if self.cda_ports else None
        self.transport = Consumer(self.store, self.journal, self.faults, conf.max_message_size,
                                  transport=True, validator=validator)
        self.listeners: list[MllpListener] = []
        self.cda_listeners: list[MllpListener] = []
        self.admin: WsgiServer | None = None

    def start(self) -> PamService:
        host = self.context.stack.host
        try:
            for port in self.ports:
                listener = MllpListener(host, port, self.consumer, max_size=self.config.max_message_size,
                                        idle_timeout=self.config.idle_timeout)
                self.listeners.append(listener.start())
            for port in self.cda_ports:
                listener = MllpListener(host, port, self.transport, max_size=self.config.max_message_size,
                                        idle_timeout=self.config.idle_timeout)
                self.cda_listeners.append(listener.start())
            self.admin = WsgiServer(create_app(self), host=host, port=self.config.port,
                                    name="segur-pam-admin").start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for listener in self.listeners + self.cda_listeners:
            listener.stop()
        self.listeners, self.cda_listeners = [], []
        if self.admin is not None:
            self.admin.stop()
            self.admin = None
        self.close_records()

    @property
    def mllp_urls(self) -> list[str]:
        return [listener.url for listener in self.listeners]

    @property
    def cda_urls(self) -> list[str]:
        return [listener.url for listener in self.cda_listeners]

    @property
    def admin_url(self) -> str:
        return self.admin.url + "/_admin/" if self.admin else ""

    def endpoints(self) -> dict:
        return {"mllp": self.mllp_urls, "cda_mllp": self.cda_urls, "admin": self.admin_url}

    def health(self) -> dict:
        return {"listeners": self.mllp_urls, "cda_listeners": self.cda_urls, "identities": len(self.store),
                "max_message_size": self.config.max_message_size}

    def ready_lines(self) -> list[str]:
        lines = [f"mllp: {url}" for url in self.mllp_urls] + [f"admin: {self.admin_url}"]
        return lines + [f"cda mllp: {url}" for url in self.cda_urls]

    def reset(self) -> None:
        self.store.clear()


def _ports(values, *, empty: bool = False) -> list[int]:
    """The listener ports (the command line gives them as strings)."""
    try:
        ports = [int(value) for value in values]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[pam] mllp_ports must be port numbers, not {values!r}") from exc
    if (not ports and not empty) or any(not 0 <= port < 65536 for port in ports):
        raise ConfigError(f"[pam] mllp_ports must list one or more ports in 0–65535, not {values!r}")
    return ports


class _FirstUseValidator:
    """The validator the DMP uses, built at the first CDA a transport listener receives, as the DMP builds
    its own: the pack is read when a document needs it, not when the stack starts."""

    def __init__(self, pack):
        self.pack = pack
        self._validator = None
        self._lock = threading.Lock()

    def validate(self, data: bytes, name: str | None = None):
        with self._lock:
            if self._validator is None:
                # the CDA validator adds ~150-300 ms to `segur --help`, which imports every service class
                from segur.validators import Validator  # start-up

                self._validator = Validator(pack=self.pack)
        return self._validator.validate(data, name=name)
