"""The mocks and the driver of a proof: the stack config a proof starts from, the driver of a `--sut`, and
the check that a `--sut` can start at all (before any mock starts).

Used by `segur proof` (`proof.py`) and by the pytest plugin's fixtures; every setting comes in as an argument
(the pack too: it goes to the mocks in the stack config, never through the environment).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tomllib
import urllib.error
from pathlib import Path
from urllib.parse import urlsplit

from segur.scenarios.driver import make_driver
from segur.scenarios.observe import Admin, expected_exchange
from segur.up import free_port_overrides, load_config


class RunningStack:
    """A stack started elsewhere (`segur up`), known by the endpoints file it writes: the proof drives and
    judges it through the admin API like its own (so its console shows the run) and leaves it running."""

    def __init__(self, endpoints: dict, pack: str | None = None):
        self._endpoints = endpoints
        self.config = {"stack": {"pack": pack or ""}}

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunningStack:
        """Read `.segur-endpoints.json`; the pack is the one the running DMP says it validates with."""
        try:
            endpoints = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the endpoints file {path}: {exc}") from exc
        if not isinstance(endpoints, dict) or not {"insi", "dmp", "mssante"} <= set(endpoints):
            raise ValueError(f"{path} is not the endpoints file of a running `segur up` "
                             "(no insi, dmp, mssante)")
        try:
            health = Admin(endpoints).call("dmp", "health")
        except OSError as exc:
            raise ValueError(f"the stack of {path} does not answer (is `segur up` running?): {exc}") from exc
        return cls(endpoints, (health.get("validation") or {}).get("pack"))

    def endpoints(self) -> dict:
        return self._endpoints

    def stop(self) -> None:
        """Not ours to stop: the user started it."""


class TenantStack:
    """One tenant of a shared stack (`segur proof --tenant`): its endpoints are the tenant's own (URLs under
    `/t/<tenant>/`, MSSanté logins `user+tenant@domain`), so the proof's admin calls and every call of the
    product go to that tenant. A service that serves no tenants (PAM over MLLP, the console) is left out:
    its journal would mix the tenants."""

    def __init__(self, stack, tenant: str):
        self.stack, self.tenant = stack, tenant
        self.config = getattr(stack, "config", None) or {}
        self._endpoints = tenant_endpoints(stack.endpoints(), tenant)

    def endpoints(self) -> dict:
        return self._endpoints

    def stop(self) -> None:
        """The shared stack is not the tenant's to stop (its owner stops `self.stack`)."""


def tenant_endpoints(endpoints: dict, tenant: str) -> dict:
    """The endpoints of `tenant`: what each service's `GET /t/<tenant>/_admin/health` lists, other top-level
    values (the test PKI) unchanged; a service without tenants (404) is left out."""
    admin = Admin(endpoints, tenant=tenant)
    own = {key: value for key, value in endpoints.items() if key not in admin.services()}
    own = {key: value for key, value in own.items() if not (isinstance(value, dict) and "admin" in value)}
    for service in admin.services():
        try:
            own[service] = admin.health(service)["endpoints"]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
    return own


def stack_config(path: str | os.PathLike | None, workdir: str | os.PathLike, *, free_ports: bool = True,
                 pack: str | os.PathLike | None = None, tenants: bool = False) -> dict:
    """The stack config of a proof: the file's settings, a fresh DMP data directory under `workdir`, the
    test PKI under `workdir` unless the file names one, free ports unless told otherwise, and `pack` (the
    official CDA pack the mocks validate with) when given, over the file's; `tenants` serves tenants
    (`[stack] tenants`, for a proof run as one)."""
    workdir = Path(workdir)
    own = {}
    if path:
        try:
            own = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            own = {}  # load_config reports the problem with its own message
    overrides: dict = {"stack": {"data": str(workdir / "data")}}
    if not (own.get("stack") or {}).get("pki"):
        overrides["stack"]["pki"] = str(workdir / "pki")
    if pack:
        overrides["stack"]["pack"] = str(pack)
    if tenants:
        overrides["stack"]["tenants"] = True
    if free_ports:
        overrides.update(free_port_overrides())
    return load_config(path, overrides)


def stack_pack(stack) -> str | None:
    """The official CDA pack a running stack's mocks validate with (None: none, or not known here)."""
    config = getattr(stack, "config", None) or {}
    return (config.get("stack") or {}).get("pack") or None


def driver_for(sut: str, stack, state_dir: str | os.PathLike):
    """The driver of a `--sut` value; the manual driver watches the stack's journals."""
    if sut.strip() == "manual":
        endpoints = stack.endpoints() if hasattr(stack, "endpoints") else stack
        marks: dict[str, dict] = {}

        def observed(task) -> bool:
            since = marks.setdefault(task.id, Admin(endpoints).marks())
            return expected_exchange(task, endpoints, since=since)

        return make_driver("manual", observed=observed)
    if sut.startswith("reference-ris"):
        return make_driver(sut, state_dir=str(state_dir))
    return make_driver(sut)


class SutCannotStart(ValueError):
    """The `--sut` given cannot work (no such executable, a module that does not import, not a URL…)."""


def check_sut(sut: str) -> None:
    """Refuse a `--sut` that cannot start, *before* the mocks start (README: exit code 2, no traceback):
    builds its driver once, and checks what building does not (a command's executable, a URL's host)."""
    spec = sut.strip()
    try:
        make_driver(spec, observed=lambda task: False)
    except Exception as exc:  # a plugin that raises on import is refused too, whatever it raises
        raise SutCannotStart(str(exc) or type(exc).__name__) from None
    if spec.startswith("cmd:"):
        _check_executable(spec[len("cmd:"):])
    elif spec.startswith(("http://", "https://")):
        _check_url(spec)


def _check_executable(template: str) -> None:
    """The command's first word must name an executable (on PATH, or a path), unless it is a placeholder."""
    try:
        words = shlex.split(template)
    except ValueError as exc:  # the driver splits it the same way, once the mocks are up: refuse it now
        raise SutCannotStart(f"{template!r}: its words cannot be split ({exc}; check its quotes)") from None
    if not words:
        return  # an empty command is refused by make_driver
    program = words[0]
    if "{" in program:
        return
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program)
        if not path.is_file():
            raise SutCannotStart(f"{program}: no such file")
        if not os.access(path, os.X_OK):
            raise SutCannotStart(f"{program}: not executable (chmod +x, or start the command with its "
                                 "interpreter)")
    elif shutil.which(program) is None:
        raise SutCannotStart(f"{program}: no such command on PATH")


def _check_url(url: str) -> None:
    """A webhook URL needs a host, a valid port and no blanks."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as exc:
        raise SutCannotStart(f"{url!r} is not a URL: {exc}") from None
    if not parts.hostname or any(c.isspace() for c in url):
        raise SutCannotStart(f"{url!r} is not a URL (expected http(s)://host[:port]/path)")
