"""The proof's admin client (`observe.Admin`) keeps one HTTP/1.1 connection per mock open between calls, and
answers as urllib did: JSON, `HTTPError` for an error status, `URLError` when nothing answers."""

from __future__ import annotations

import json
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from segur.scenarios.observe import Admin, _KeptAlive


class _Mock(ThreadingHTTPServer):
    """An admin API answering `/_admin/task` (JSON) and 404 elsewhere; counts the TCP connections it took.
    `drop_after_answer`: it closes each connection after answering, without saying so (as a keep-alive
    timeout does between two calls)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.drop_after_answer = False
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoints(self) -> dict:
        return {"dmp": {"admin": f"http://127.0.0.1:{self.server_address[1]}/_admin/"}}

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(200, {"task": body["task"], "last_seq": 7})

    def do_GET(self):
        self._answer(404, {"error": "no such thing"})

    def _answer(self, status: int, document: dict):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = self.server.drop_after_answer

    def log_message(self, *args):
        pass


@pytest.fixture
def mock():
    server = _Mock()
    yield server
    server.stop()


def test_calls_to_a_mock_go_over_one_connection_kept_open(mock):
    with Admin(mock.endpoints) as admin:
        answers = [admin.call("dmp", "task", "PUT", {"task": f"t{i}"}) for i in range(3)]
    assert [answer["task"] for answer in answers] == ["t0", "t1", "t2"]
    assert mock.connections == 1


def test_a_connection_the_mock_closed_meanwhile_is_opened_again_and_the_call_answers(mock):
    mock.drop_after_answer = True
    with Admin(mock.endpoints) as admin:
        first = admin.call("dmp", "task", "PUT", {"task": "t1"})
        second = admin.call("dmp", "task", "PUT", {"task": "t2"})
    assert (first["task"], second["task"]) == ("t1", "t2")
    assert mock.connections == 2


def test_an_error_status_raises_urllibs_http_error_with_its_body_and_the_next_call_still_answers(mock):
    with Admin(mock.endpoints) as admin:
        with pytest.raises(urllib.error.HTTPError) as raised:
            admin.call("dmp", "journal/99")
        assert raised.value.code == 404 and json.loads(raised.value.read()) == {"error": "no such thing"}
        assert admin.call("dmp", "task", "PUT", {"task": None}) == {"task": None, "last_seq": 7}
    assert mock.connections == 1


def test_a_mock_that_is_not_there_raises_urllibs_url_error(mock):
    endpoints = mock.endpoints
    mock.stop()
    with Admin(endpoints) as admin, pytest.raises(urllib.error.URLError):
        admin.call("dmp", "task", "PUT", {"task": "t1"})


def test_a_url_behind_a_proxy_of_the_environment_is_left_to_urllib(monkeypatch):
    url = "http://10.1.2.3:8080/_admin/task"
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert not _KeptAlive.takes(url)
    monkeypatch.setenv("no_proxy", "10.1.2.3")
    assert _KeptAlive.takes(url)
    assert not _KeptAlive.takes("https://10.1.2.3:8443/_admin/task")  # TLS: urllib's own way
