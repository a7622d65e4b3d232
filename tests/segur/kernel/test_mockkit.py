"""The shared mock kit: a real server on a free port, the admin API, faults, the journal, TLS."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from flask import Flask, jsonify, request

from segur.kernel.admin import admin_blueprint
from segur.kernel.faults import FaultBook, FaultError
from segur.kernel.journal import Journal, body_for_journal
from segur.kernel.pki import TestPki
from segur.kernel.server import WsgiServer


class EchoMock:
    """A minimal mock: one operation that records itself in the journal and honours faults."""

    name = "echo"

    def __init__(self):
        self.journal = Journal("echo")
        self.faults = FaultBook(extra_kinds={"teapot": {"status": 418}}, sleep=self._sleep)
        self.slept = 0.0
        self.stored = ["initial"]
        self.app = Flask("echo")
        self.app.register_blueprint(admin_blueprint(self))

        @self.app.post("/echo")
        def echo():
            faults = self.faults.select("echo", {"who": "x"})
            self.faults.delay(faults)
            error = self.faults.first(faults, "http_error", "overload")
            if error:
                return error.params["message"], error.params["status"]
            self.stored.append("more")
            self.journal.record("echo", "accepted", request={"body": "hi"})
            return jsonify(ok=True)

    def _sleep(self, seconds):
        self.slept += seconds

    def endpoints(self):
        return {"echo": "/echo"}

    def reset(self):
        self.stored = ["initial"]


def _call(url, method="GET", body=None, context=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        payload = err.read()
        try:
            return err.code, json.loads(payload)
        except ValueError:
            return err.code, payload.decode()


@pytest.fixture
def echo():
    mock = EchoMock()
    with WsgiServer(mock.app) as server:
        yield mock, server.url


def test_server_binds_a_free_loopback_port_and_answers_health(echo):
    mock, url = echo
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    status, body = _call(url + "/_admin/health")
    assert status == 200
    assert body == {"service": "echo", "status": "ok", "endpoints": {"echo": "/echo"}}


def test_journal_lists_exchanges_and_filters_them(echo):
    mock, url = echo
    _call(url + "/echo", "POST", {})
    _call(url + "/echo", "POST", {})
    status, body = _call(url + "/_admin/journal?since=1")
    assert status == 200
    assert [e["seq"] for e in body["entries"]] == [2]
    assert body["entries"][0]["operation"] == "echo" and body["entries"][0]["verdict"] == "accepted"
    assert _call(url + "/_admin/journal/2")[1]["seq"] == 2
    assert _call(url + "/_admin/journal/99")[0] == 404
    assert _call(url + "/_admin/journal?since=abc")[0] == 400


def test_injected_error_hits_the_given_number_of_calls_then_expires(echo):
    mock, url = echo
    status, body = _call(url + "/_admin/faults", "POST", {"kind": "http_error", "status": 503, "count": 2})
    assert status == 201 and body["added"][0]["kind"] == "http_error"
    assert [_call(url + "/echo", "POST", {})[0] for _ in range(3)] == [503, 503, 200]
    assert _call(url + "/_admin/faults")[1]["faults"] == []


def test_latency_fault_sleeps_and_can_be_cleared(echo):
    mock, url = echo
    _call(url + "/_admin/faults", "POST", {"kind": "latency", "ms": 250})
    _call(url + "/echo", "POST", {})
    assert mock.slept == pytest.approx(0.25)
    assert _call(url + "/_admin/faults", "DELETE")[0] == 200
    _call(url + "/echo", "POST", {})
    assert mock.slept == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "meteor"}, "unknown fault kind"),
        ({"kind": "latency", "ratio": 2}, "ratio"),
        ({"kind": "latency", "count": 0}, "count"),
        ({"kind": "latency", "ms": -5}, "non-negative"),
        ({"kind": "latency", "colour": "red"}, "unknown field"),
        ({"kind": "latency", "match": "x"}, "match"),
    ],
)
def test_bad_fault_specifications_are_refused_with_the_reason(echo, spec, message):
    mock, url = echo
    status, body = _call(url + "/_admin/faults", "POST", spec)
    assert status == 400 and message in body["error"]


def test_a_non_json_fault_body_is_refused(echo):
    mock, url = echo
    req = urllib.request.Request(url + "/_admin/faults", data=b"nonsense", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400


def test_reset_restores_state_and_clears_journal_and_faults(echo):
    mock, url = echo
    _call(url + "/echo", "POST", {})
    _call(url + "/_admin/faults", "POST", {"kind": "latency", "ms": 1})
    assert _call(url + "/_admin/reset", "POST", {})[0] == 200
    assert mock.stored == ["initial"] and len(mock.journal) == 0 and mock.faults.list() == []


def test_fault_ratio_and_match_are_honoured_reproducibly():
    book = FaultBook(seed=42)
    book.add({"kind": "http_error", "ratio": 0.5, "match": {"ins": "A"}})
    hits = [bool(book.select("op", {"ins": "A"})) for _ in range(200)]
    assert 60 < sum(hits) < 140
    assert not book.select("op", {"ins": "B"})
    again = FaultBook(seed=42)
    again.add({"kind": "http_error", "ratio": 0.5, "match": {"ins": "A"}})
    assert [bool(again.select("op", {"ins": "A"})) for _ in range(200)] == hits


def test_fault_targets_one_operation_only():
    book = FaultBook()
    book.add({"kind": "http_error", "operation": "search"})
    assert book.select("search") and not book.select("verify")
    with pytest.raises(FaultError):
        book.add([])


def test_journal_keeps_binary_bodies_as_base64_and_truncates_large_ones():
    assert body_for_journal(b"\xff\x00")["encoding"] == "base64"
    big = body_for_journal("x" * 100, limit=10)
    assert big["truncated"] and big["size"] == 100 and len(big["text"]) == 10
    assert body_for_journal(None)["size"] == 0


def test_journal_is_bounded_and_counts_what_it_dropped():
    journal = Journal("t", max_entries=3)
    for _ in range(5):
        journal.record("op", "ok")
    assert [e.seq for e in journal.entries()] == [3, 4, 5] and journal.dropped == 2


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


def _client_context(pki, cert=None):
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    if cert:
        context.load_cert_chain(str(cert.cert_file), str(cert.key_file))
    return context


def test_mutual_tls_accepts_a_client_of_the_test_ca_and_exposes_its_cn(pki):
    app = Flask("tls")

    @app.get("/who")
    def who():
        return jsonify(cn=request.environ.get("SSL_CLIENT_S_DN_CN"))

    with WsgiServer(app, tls=pki.server_tls(require_client_cert=True)) as server:
        status, body = _call(server.url.replace("127.0.0.1", "localhost") + "/who",
                             context=_client_context(pki, pki.client("insi-auto")))
        assert (status, body) == (200, {"cn": "INSI-AUTO"})
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _call(server.url + "/who", context=_client_context(pki))
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _call(server.url + "/who", context=_client_context(pki, pki.untrusted_client("insi-auto")))
        # the server keeps serving after refusing those handshakes
        assert _call(server.url + "/who", context=_client_context(pki, pki.client("insi-manu")))[1] == {
            "cn": "INSI-MANU"}


def test_pki_is_created_once_and_reused(tmp_path):
    first = TestPki.load_or_create(tmp_path)
    ca = first.ca_file.read_bytes()
    assert TestPki.load_or_create(tmp_path).ca_file.read_bytes() == ca
    issued = first.issue_client("extra", "INSI-AUTO", "Org", "123")
    assert issued.cert_file.exists() and issued.key_file.stat().st_mode & 0o077 == 0
