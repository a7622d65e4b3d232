"""The console as a service of the stack: registered, started by `segur up` with its URL among the
endpoints, loopback and open by default, and behind its token (Bearer or the login form's cookie) when it
has one — required when it listens beyond loopback. Started alone, it reads the endpoints file."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from typer.testing import CliRunner

from segur.cli import app as cli_app
from segur.console.auth import COOKIE, cookie_value, is_loopback
from segur.console.service import ConsoleConfig, ConsoleService
from segur.kernel.config import ConfigError
from segur.kernel.service import StackContext
from segur.services import BY_NAME, SERVICES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_the_console_is_a_registered_service_started_last(stack):
    assert BY_NAME["console"] is ConsoleService and SERVICES[-1] is ConsoleService
    assert ConsoleConfig().port == 8310 and list(stack.services)[-1] == "console"


def test_its_url_is_in_the_stack_endpoints_the_endpoints_file_and_its_health(stack, tmp_path):
    url = stack.endpoints()["console"]["console"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    written = json.loads(stack.write_endpoints(tmp_path / "endpoints.json").read_text())
    assert written["console"]["console"] == url
    status, body = _get(url + "_admin/health")
    health = json.loads(body)
    assert status == 200 and health["service"] == "console" and health["endpoints"]["console"] == url
    shown = set(health["services"])
    assert {"annuaire", "dmp", "insi", "mssante"} <= shown and "console" not in shown
    assert health["token_required"] is False


def test_on_loopback_without_a_token_every_page_is_open(stack):
    status, body = _get(stack.endpoints()["console"]["console"] + "activity")
    assert status == 200 and "Live activity" in body


def test_beyond_loopback_the_console_refuses_to_start_without_a_token(tmp_path):
    console = ConsoleService(ConsoleConfig(port=0), StackContext.for_tests(tmp_path, host="0.0.0.0"))
    with pytest.raises(ConfigError, match="token is required"):
        console.start()
    assert console.server is None


def test_segur_serve_console_beyond_loopback_without_a_token_says_why_and_exits_2():
    result = CliRunner().invoke(cli_app, ["serve", "console", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "token is required" in result.output


def test_beyond_loopback_with_a_token_a_request_without_it_is_refused_and_with_it_allowed(tmp_path, stack):
    endpoints = tmp_path / "endpoints.json"
    stack.write_endpoints(endpoints)
    config = ConsoleConfig(port=0, token="s3cret-token", endpoints_file=str(endpoints))
    with ConsoleService(config, StackContext.for_tests(tmp_path, host="0.0.0.0")) as console:
        base = f"http://127.0.0.1:{console.server.port}/"
        status, body = _get(base + "activity")
        assert status == 401 and "requires its token" in body
        assert _get(base + "api/activity")[0] == 401
        assert _get(base + "activity", {"Authorization": "Bearer forged-token"})[0] == 401
        status, body = _get(base + "activity", {"Authorization": "Bearer s3cret-token"})
        assert status == 200 and "Live activity" in body
        assert _get(base + "_admin/health")[0] == 200  # the health probe stays open


@pytest.fixture
def guarded(stack, tmp_path):
    """A console with a token (on loopback: a token given is a token required), reading the stack's file."""
    endpoints = tmp_path / "endpoints.json"
    stack.write_endpoints(endpoints)
    console = ConsoleService(ConsoleConfig(port=0, token="s3cret-token", endpoints_file=str(endpoints)),
                             StackContext.for_tests(tmp_path))
    return console.create_app().test_client()


def test_the_login_form_sets_a_cookie_that_opens_the_console(guarded):
    assert guarded.get("/world").status_code == 401
    wrong = guarded.post("/login", data={"token": "guess", "next": "/world"})
    assert wrong.status_code == 401 and "not the console's token" in wrong.get_data(as_text=True)
    right = guarded.post("/login", data={"token": "s3cret-token", "next": "/world"})
    assert right.status_code == 302 and right.headers["Location"].endswith("/world")
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "s3cret-token" not in cookie
    assert guarded.get("/world").status_code == 200


def test_a_forged_cookie_is_refused(guarded):
    guarded.set_cookie(COOKIE, cookie_value("another-token"))
    assert guarded.get("/documents").status_code == 401
    guarded.set_cookie(COOKIE, cookie_value("s3cret-token"))
    assert guarded.get("/documents").status_code == 200


def test_the_login_never_redirects_off_the_console(guarded):
    answer = guarded.post("/login", data={"token": "s3cret-token", "next": "//evil.example/"})
    assert answer.headers["Location"] == "/"


def test_loopback_addresses_are_told_from_others():
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "example.org", "::"))


def test_a_taken_port_makes_the_console_listen_on_a_free_one_unless_told_not_to(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with ConsoleService(ConsoleConfig(port=port), StackContext.for_tests(tmp_path)) as console:
            assert console.server.port not in (0, port)
            assert console.endpoints()["console"].endswith(f":{console.server.port}/")
        with pytest.raises(OSError):
            strict = ConsoleConfig(port=port, port_fallback=False)
            ConsoleService(strict, StackContext.for_tests(tmp_path)).start()


def test_started_alone_it_reads_the_services_from_the_endpoints_file(stack, tmp_path):
    endpoints = tmp_path / "endpoints.json"
    stack.write_endpoints(endpoints)
    config = ConsoleConfig(port=0, endpoints_file=str(endpoints))
    alone = ConsoleService(config, StackContext.for_tests(tmp_path))
    assert {"annuaire", "dmp", "insi", "mssante"} <= set(alone.peer_admin_urls()) - {"console"}
    assert alone.create_app().test_client().get("/documents").status_code == 200
    nothing = ConsoleService(ConsoleConfig(port=0, endpoints_file=str(tmp_path / "none.json")),
                             StackContext.for_tests(tmp_path))
    assert nothing.peer_admin_urls() == {} and "no service to show yet" in " ".join(nothing.ready_lines())


@pytest.fixture
def dead_services(tmp_path):
    """A console whose endpoints file names services on a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin = f"http://127.0.0.1:{port}/_admin/"
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({name: {"admin": admin} for name in ("dmp", "mssante", "insi")}))
    config = ConsoleConfig(port=0, endpoints_file=str(path))
    return ConsoleService(config, StackContext.for_tests(tmp_path)).create_app().test_client()


def test_a_service_down_gives_a_503_page_naming_it_and_the_console_keeps_serving(dead_services):
    documents = dead_services.get("/documents")
    assert documents.status_code == 503
    assert "The dmp service is not reachable" in documents.get_data(as_text=True)
    assert dead_services.get("/mailboxes").status_code == 503
    polled = dead_services.get("/api/activity")
    assert polled.status_code == 200 and "not reachable" in polled.get_json()["down"]["dmp"]
    activity = dead_services.get("/activity")
    assert activity.status_code == 200 and "is not reachable" in activity.get_data(as_text=True)
    faults = dead_services.get("/faults")
    assert faults.status_code == 200 and "not reachable" in faults.get_data(as_text=True)
    assert dead_services.get("/world").status_code == 200
