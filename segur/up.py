"""The whole harness at once: every service of the registry (segur/services.py), one config, one set
of endpoints.

`start_stack(config)` starts every enabled service (the test PKI's CRL point, Annuaire santé, INSi, DMP,
MSSanté, Pro Santé Connect, PAM, the console) as real servers (loopback by
default) on the ports of the config, all sharing one test world and one test PKI, and returns a
`Stack` whose `endpoints()` is what a system under test must be configured with. `segur up`
runs it until Ctrl-C; the proof and the pytest plugin start it in-process (ports 0 = free ports).

Config (TOML, every key optional; `segur up --config FILE`):

    [stack]
    host = "127.0.0.1"        # where every mock listens
    pki = ".segur-pki"        # test PKI (created if missing)
    data = ".segur-data"      # DMP store in <data>/dmp, MSSanté mailboxes in <data>/mssante (both kept)
    world = ""                # a world file; empty = the shipped world
    pack = ""                 # official CDA pack for document validation (else SEGUR_PACK / config)

    [insi]     enabled = true, port = 8301, tls = false, mtls = false, any_idam = true,
               fault_style = "cnam" ("cnam": Sender faults with HTTP 500 as CNAM | "strict": 400, SOAP 1.2)
    [dmp]      enabled = true, port = 8302, tls = false, mtls = false, lenient = false, validation = true,
               max_document_size = 52428800 (bytes), vihf_errors = "registry" ("registry" | "soap-fault")
    [mssante]  enabled = true, port = 8303, smtp_port = 8587, imap_port = 8143, tls = "starttls"
               ("none" | "starttls" | "mtls"), password = "", validation = true,
               data = "" (mailboxes folder; "" = <stack data>/mssante, ":memory:" = not kept)
    [annuaire] enabled = true, port = 8300, tls = false, api_keys = [],
               unknown_parameters = "refuse" ("refuse": as the real server | "fhir": ignored, FHIR R4 lenient)
    [console]  enabled = true, port = 8310, port_fallback = true, token = "" (required beyond loopback),
               evidence = "evidence", endpoints_file = ".segur-endpoints.json", window = 5000
               (the web console: docs/console.md)

    [faults]                  # faults in force from the start, per service (see /_admin/faults)
    insi = [{kind = "latency", ms = 200}]
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from segur.fixtures.world import load_world
from segur.kernel.config import ConfigError, StackConfig, section_from_dict
from segur.kernel.pki import TestPki
from segur.kernel.service import HttpService, StackContext
from segur.kernel.workers import PROCESS_SETTINGS, Supervisor
from segur.services import BY_NAME, SERVICES

__all__ = ["DEFAULTS", "SERVICE_NAMES", "ConfigError", "Stack", "free_port_overrides", "load_config",
           "start_stack"]

SECTIONS = {"stack": StackConfig, **{service.name: service.Config for service in SERVICES}}
DEFAULTS: dict = {**{name: dataclasses.asdict(cls()) for name, cls in SECTIONS.items()}, "faults": {}}
SERVICE_NAMES = tuple(service.name for service in SERVICES)


def free_port_overrides() -> dict:
    """Every port setting of every service at 0 (a free port): for tests, the proof and `--free-ports`.
    A list of ports (PAM's MLLP listeners) becomes as many free ports."""
    overrides: dict = {}
    for name in SERVICE_NAMES:
        section = overrides[name] = {}
        for key, value in DEFAULTS[name].items():
            if key == "port" or key.endswith("_port"):
                section[key] = 0
            elif key.endswith("_ports"):
                section[key] = [0] * max(1, len(value))
    return overrides


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """Defaults, then the TOML file, then `overrides` (same shape); unknown keys are refused."""
    config = {name: dict(values) for name, values in DEFAULTS.items()}
    layers = []
    if path is not None:
        try:
            layers.append(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if overrides:
        layers.append(overrides)
    for layer in layers:
        for section, values in layer.items():
            if section not in config:
                raise ConfigError(f"unknown section [{section}]; known: {', '.join(config)}")
            if not isinstance(values, dict):
                raise ConfigError(f"[{section}] must be a table")
            config[section].update(values)
    config["workers"] = _take_workers(config)
    for name, cls in SECTIONS.items():
        section_from_dict(cls, config[name], name)  # types, unknown keys, choices
    unknown_faults = sorted(set(config["faults"]) - set(SERVICE_NAMES))
    if unknown_faults:
        raise ConfigError(f"[faults] names unknown service(s): {', '.join(unknown_faults)}")
    return config


def _take_workers(config: dict) -> dict:
    """`workers` of each HTTP service's section, taken out (`segur.kernel.workers`: the kernel runs the
    processes, the service's Config does not know them); a non-HTTP section keeps it, refused as unknown."""
    workers = {}
    for name, cls in BY_NAME.items():
        if issubclass(cls, HttpService):
            for key in PROCESS_SETTINGS:
                if key in config[name]:
                    workers[name] = value = config[name].pop(key)
                    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                        raise ConfigError(f"[{name}] {key} must be a whole number of at least 1, "
                                          f"not {value!r}")
    return workers


@dataclass
class Stack:
    """The running mocks: `services[name]` has `.mock` (journal, faults, backend), `.stop()`."""

    config: dict
    services: dict = field(default_factory=dict)
    pki_dir: Path | None = None

    def endpoints(self) -> dict:
        endpoints = {name: service.endpoints() for name, service in self.services.items()}
        endpoints["pki"] = {"dir": str(self.pki_dir), "ca_file": str(self.pki_dir / "ca.pem")}
        return endpoints

    def write_endpoints(self, path: str | Path) -> Path:
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.endpoints(), indent=2), encoding="utf-8")
        partial.replace(path)  # atomic: a reader polling for the file never sees half of it
        return path

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_stack(config: dict | None = None) -> Stack:
    """Start every enabled service; on any failure, stop those already started and re-raise."""
    config = config or load_config()
    stack_conf = StackConfig(**config["stack"])
    world = load_world(stack_conf.world) if stack_conf.world else load_world()
    pki = TestPki.load_or_create(Path(stack_conf.pki))
    context = StackContext(stack_conf, world, pki)
    stack = Stack(config, services=context.running, pki_dir=Path(stack_conf.pki).resolve())
    try:
        for name, cls in BY_NAME.items():
            if config[name]["enabled"]:
                workers = config.get("workers", {}).get(name, 1)
                stack.services[name] = _start(cls, config[name], context, workers)
        for name, faults in config["faults"].items():
            if name in stack.services:
                for spec in faults:
                    stack.services[name].faults.add(spec)
    except BaseException:
        stack.stop()
        raise
    return stack


def _start(cls, section: dict, context: StackContext, workers: int = 1):
    if workers != 1:  # worker processes on one port, sharing the PostgreSQL store (segur.kernel.workers)
        service = Supervisor(cls, cls.Config(**section), context, workers)
    else:
        service = cls(cls.Config(**section), context)
    try:
        return service.start()
    except OSError as exc:
        ports = ", ".join(f"{k} {v}" for k, v in section.items() if k.endswith("port"))
        raise OSError(f"the {cls.name} mock cannot listen on {context.stack.host} ({ports}): {exc}. "
                      "Is another process (an earlier segur up?) using the port? Choose other ports "
                      f"in [{cls.name}] of the config, or use --free-ports.") from exc
