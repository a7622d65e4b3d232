"""The other services of the stack, as the console reaches them: their `/_admin/` HTTP API only.

Their admin URLs come from the stack the console runs in (`StackContext.running`, filled by `segur up`),
or, for a console started alone (`segur serve console`), from the endpoints file `segur up` writes.
A service that does not answer raises `ServiceDown`; an admin error (4xx) raises `AdminError`: the
pages say which service and why, and keep serving.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

#: seconds: a local mock answers in milliseconds; a dead one must not hang a page for long
TIMEOUT = 10.0
#: no proxy from the environment stands between the console and the services of its stack (the stdlib
#: client, not requests: it is imported by every `segur` command, `segur --help` included)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Answer:
    status: int
    content: bytes
    content_type: str

    def json(self):
        return json.loads(self.content)


class ServiceDown(Exception):
    """A service of the stack is not known or does not answer."""

    def __init__(self, service: str, reason: str):
        super().__init__(f"the {service} service is not reachable: {reason}")
        self.service, self.reason = service, reason


class AdminError(Exception):
    """A service's admin API refused a request (its own JSON error message)."""

    def __init__(self, service: str, status: int, message: str):
        super().__init__(f"{service} answered {status}: {message}")
        self.service, self.status, self.message = service, status, message


def admin_urls_of_stack(running: dict, own: str) -> dict[str, str]:
    """`{name: admin URL}` of the services started in this process (the console itself left out)."""
    urls = {}
    for name, service in list(running.items()):
        admin = (service.endpoints() or {}).get("admin") if name != own else None
        if isinstance(admin, str):
            urls[name] = admin
    return urls


def admin_urls_of_file(path: str | Path, own: str) -> dict[str, str]:
    """`{name: admin URL}` read from an endpoints file (`segur up --endpoints-file`); {} when absent."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: value["admin"] for name, value in data.items()
            if name != own and isinstance(value, dict) and isinstance(value.get("admin"), str)}


def tenant_admin_url(admin_url: str, tenant: str) -> str:
    """A service's admin URL for one tenant: `http://host:8302/_admin/` → `http://host:8302/t/ci-1/_admin/`
    (segur.kernel.tenants: the tenant is a path prefix)."""
    base, found, rest = admin_url.rpartition("/_admin/")
    return f"{base}/t/{tenant}/_admin/{rest}" if found else admin_url


class AdminApi:
    """JSON calls to each service's `/_admin/`; `urls()` is asked every time (a stack may change). `token`:
    the stack's admin token (`[stack] admin_token`), sent as Bearer when set."""

    def __init__(self, urls: Callable[[], dict[str, str]], token: str = ""):
        self._urls = urls
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def services(self) -> list[str]:
        return list(self._urls())

    def base(self, service: str) -> str | None:
        """The service's admin URL now (a service started again elsewhere has another)."""
        return self._urls().get(service)

    def url(self, service: str, path: str) -> str:
        base = self._urls().get(service)
        if not base:
            raise ServiceDown(service, "no such service in this stack")
        return base.rstrip("/") + "/" + path.lstrip("/")

    def request(self, service: str, path: str, method: str = "GET", *, params=None, body=None) -> Answer:
        url = self.url(service, path)
        given = {key: value for key, value in (params or {}).items() if value is not None}
        if given:
            url += "?" + urllib.parse.urlencode(given)
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        call = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(call, timeout=TIMEOUT) as answer:
                content_type = answer.headers.get("Content-Type", "application/octet-stream")
                return Answer(answer.status, answer.read(), content_type)
        except urllib.error.HTTPError as exc:
            raise AdminError(service, exc.code, _error_message(exc.read(), exc.reason)) from exc
        except (OSError, ValueError) as exc:
            raise ServiceDown(service, f"{type(exc).__name__} on {url}: {exc}") from exc

    def get(self, service: str, path: str, **params) -> dict:
        return _json(service, self.request(service, path, params=params or None))

    def send(self, service: str, path: str, method: str, body=None) -> dict:
        return _json(service, self.request(service, path, method, body=body))

    def journal(self, service: str, since: int = 0, limit: int | None = None, **filters) -> list[dict]:
        params = {"since": since, **{k: v for k, v in filters.items() if v}}
        if limit:
            params["limit"] = limit
        return self.get(service, "journal", **params)["entries"]

    def entry(self, service: str, seq: int) -> dict:
        return self.get(service, f"journal/{int(seq)}")

    def body(self, service: str, seq: int, side: str) -> tuple[bytes, str]:
        """The whole body of one side of an exchange, and its Content-Type."""
        answer = self.request(service, f"journal/{int(seq)}/body", params={"side": side})
        return answer.content, answer.content_type

    def message(self, message_id: str) -> dict:
        return self.get("mssante", f"messages/{quote(message_id, safe='')}", content="1", raw="1")


def _json(service: str, answer: Answer) -> dict:
    try:
        return answer.json()
    except ValueError as exc:
        raise ServiceDown(service, f"its admin API answered no JSON ({answer.status})") from exc


def _error_message(content: bytes, reason) -> str:
    try:
        return str(json.loads(content).get("error") or content[:300].decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return content[:300].decode("utf-8", "replace") or str(reason)
