"""The whole harness at once: the four mocks, one config, one set of endpoints.

`start_stack(config)` starts INSi, DMP, MSSanté and Annuaire santé as real servers (loopback by
default) on the ports of the config, all sharing one test world and one test PKI, and returns a
`Stack` whose `endpoints()` is what a system under test must be configured with. `segur up`
runs it until Ctrl-C; the proof and the pytest plugin start it in-process (ports 0 = free ports).

Config (TOML, every key optional; `segur up --config FILE`):

    [stack]
    host = "127.0.0.1"        # where every mock listens
    pki = ".segur-pki"        # test PKI (created if missing)
    data = ".segur-data"      # DMP store in <data>/dmp, MSSanté mailboxes in <data>/mssante (kept across restarts)
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

    [faults]                  # faults in force from the start, per service (see /_admin/faults)
    insi = [{kind = "latency", ms = 200}]
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULTS: dict = {
    "stack": {"host": "127.0.0.1", "pki": ".segur-pki", "data": ".segur-data", "world": "", "pack": ""},
    "annuaire": {"enabled": True, "port": 8300, "tls": False, "api_keys": [], "unknown_parameters": "refuse"},
    "insi": {"enabled": True, "port": 8301, "tls": False, "mtls": False, "any_idam": True, "fault_style": "cnam"},
    "dmp": {"enabled": True, "port": 8302, "tls": False, "mtls": False, "lenient": False, "validation": True,
            "max_document_size": 50 * 1024 * 1024, "vihf_errors": "registry"},
    "mssante": {"enabled": True, "port": 8303, "smtp_port": 8587, "imap_port": 8143, "tls": "starttls",
                "password": "", "validation": True, "data": ""},
    "faults": {},
}
SERVICES = ("annuaire", "insi", "dmp", "mssante")
# keys whose value is one of a few words: a typo must be refused at load, not when the mock starts
CHOICES = {
    ("mssante", "tls"): ("none", "starttls", "mtls"),
    ("insi", "fault_style"): ("cnam", "strict"),
    ("annuaire", "unknown_parameters"): ("refuse", "fhir"),
    ("dmp", "vihf_errors"): ("registry", "soap-fault"),
}


class ConfigError(ValueError):
    """A config the stack cannot start from; the message says which key and why."""


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """Defaults, then the TOML file, then `overrides` (same shape); unknown keys are refused."""
    config = copy.deepcopy(DEFAULTS)
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
            if section != "faults":
                unknown = sorted(set(values) - set(config[section]))
                if unknown:
                    raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)}; "
                                      f"known: {', '.join(config[section])}")
            if section != "faults":
                _check_types(section, values)
            config[section].update(values)
    for (section, key), allowed in CHOICES.items():
        if config[section][key] not in allowed:
            raise ConfigError(f"[{section}] {key} must be one of {', '.join(allowed)}, "
                              f"not {config[section][key]!r}")
    unknown_faults = sorted(set(config["faults"]) - set(SERVICES))
    if unknown_faults:
        raise ConfigError(f"[faults] names unknown service(s): {', '.join(unknown_faults)}")
    return config


def _check_types(section: str, values: dict) -> None:
    """Each key takes the type of its default (`port = "8301"` would crash deep in the server, not here)."""
    for key, value in values.items():
        expected = type(DEFAULTS[section][key])
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            wrong = True
        else:
            wrong = not isinstance(value, expected)
        if wrong:
            raise ConfigError(f"[{section}] {key} must be {_TYPE_WORDS[expected]}, not {value!r}")


_TYPE_WORDS = {bool: "true or false", int: "a whole number", str: "a string", list: "a list"}


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


@dataclass
class _WsgiService:
    """A mock served by one WsgiServer (INSi, DMP, Annuaire)."""

    mock: object
    server: object
    on_stop: object = None

    def endpoints(self) -> dict:
        return self.mock.endpoints()

    def stop(self) -> None:
        self.server.stop()
        if self.on_stop:
            self.on_stop()


@dataclass
class _MssanteService:
    server: object

    @property
    def mock(self):
        return self.server

    def endpoints(self) -> dict:
        return self.server.endpoints()

    def stop(self) -> None:
        self.server.stop()


def _tls(pki, enabled: bool, mutual: bool):
    if not (enabled or mutual):
        return None
    return pki.server_tls(require_client_cert=True) if mutual else pki.server_tls(require_client_cert=False)


def _serve(mock, app, host, port, tls, name):
    from segur.mockkit import WsgiServer

    server = WsgiServer(app, host=host, port=port, tls=tls, name=name).start()
    url = server.url.replace("127.0.0.1", "localhost") if tls else server.url
    mock.base_url = url
    return server


def _start_annuaire(conf, host, world, pki, stack_conf):
    from segur.mocks.annuaire.app import create_app
    from segur.mocks.annuaire.backend import AnnuaireMock

    mock = AnnuaireMock(world, api_keys=conf["api_keys"] or None, unknown_parameters=conf["unknown_parameters"])
    server = _serve(mock, create_app(mock), host, conf["port"], _tls(pki, conf["tls"], False), "segur-annuaire")
    return _WsgiService(mock, server)


def _start_insi(conf, host, world, pki, stack_conf):
    from segur.mocks.insi.app import InsiMock

    mock = InsiMock(world, accept_any_idam=conf["any_idam"], require_client_cn=conf["mtls"],
                    fault_style=conf["fault_style"])
    server = _serve(mock, mock.app, host, conf["port"], _tls(pki, conf["tls"], conf["mtls"]), "segur-insi")
    return _WsgiService(mock, server)


def _start_dmp(conf, host, world, pki, stack_conf):
    from segur.mocks.dmp.app import DmpMock, create_app
    from segur.mocks.dmp.backend import DmpBackend, DmpOptions

    options = DmpOptions(lenient=conf["lenient"], trusted_ca_files=(pki.ca_file,),
                         validate_documents=conf["validation"], validator_pack=stack_conf["pack"] or None,
                         max_document_size=conf["max_document_size"], vihf_errors=conf["vihf_errors"])
    backend = DmpBackend(Path(stack_conf["data"]) / "dmp", world=world, options=options)
    mock = DmpMock(backend)
    server = _serve(mock, create_app(mock), host, conf["port"], _tls(pki, conf["tls"], conf["mtls"]), "segur-dmp")
    return _WsgiService(mock, server, on_stop=backend.close)


def _start_mssante(conf, host, world, pki, stack_conf):
    from segur.mocks.mssante.server import MssanteServer

    options = {}
    if conf["password"]:
        options["default_password"] = conf["password"]
    if not conf["validation"]:
        options["validate"] = False
    data = conf["data"] or str(Path(stack_conf["data"]) / "mssante")
    if data != ":memory:":
        options["data_dir"] = data
    server = MssanteServer(world, host=host, smtp_port=conf["smtp_port"], imap_port=conf["imap_port"],
                           admin_port=conf["port"], tls=conf["tls"],
                           pki_dir=stack_conf["pki"] if conf["tls"] != "none" else None, **options)
    server.start()
    return _MssanteService(server)


_STARTERS = {"annuaire": _start_annuaire, "insi": _start_insi, "dmp": _start_dmp, "mssante": _start_mssante}


def start_stack(config: dict | None = None) -> Stack:
    """Start every enabled mock; on any failure, stop those already started and re-raise."""
    import os

    from segur.fixtures.world import load_world
    from segur.pki import TestPki

    config = config or load_config()
    stack_conf = config["stack"]
    if stack_conf["pack"]:
        os.environ.setdefault("SEGUR_PACK", str(stack_conf["pack"]))
    world = load_world(stack_conf["world"]) if stack_conf["world"] else load_world()
    pki = TestPki.load_or_create(Path(stack_conf["pki"]))
    stack = Stack(config, pki_dir=Path(stack_conf["pki"]).resolve())
    try:
        for name in SERVICES:
            if config[name]["enabled"]:
                try:
                    stack.services[name] = _STARTERS[name](config[name], stack_conf["host"], world, pki, stack_conf)
                except OSError as exc:
                    ports = ", ".join(f"{k} {v}" for k, v in config[name].items() if k.endswith("port"))
                    raise OSError(f"the {name} mock cannot listen on {stack_conf['host']} ({ports}): {exc}. "
                                  "Is another process (an earlier segur up?) using the port? Choose other ports "
                                  f"in [{name}] of the config, or use --free-ports.") from exc
        for name, faults in config["faults"].items():
            if name in stack.services:
                for spec in faults:
                    stack.services[name].mock.faults.add(spec)
    except BaseException:
        stack.stop()
        raise
    return stack
