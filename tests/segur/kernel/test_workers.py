"""Several worker processes per HTTP service on one port (SO_REUSEPORT), sharing one PostgreSQL store:
the fault book behaves the same in memory and on PostgreSQL; `segur serve insi --workers 2` spreads
requests over both workers, shares faults, journal and reset, replaces a killed worker and stops on
SIGTERM; more than one worker without PostgreSQL is refused."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from typer.main import get_command
from typer.testing import CliRunner

from segur.cli import app
from segur.kernel.config import ConfigError, StackConfig
from segur.kernel.faults import FaultBook, FaultError
from segur.kernel.faults_pg import PostgresFaultBook
from segur.kernel.journal_pg import PostgresJournal
from segur.kernel.service import StackContext
from segur.kernel.workers import QUICK_DEATH, Supervisor, check_workers, reserve_port
from segur.mocks.dmp.service import DmpService
from segur.mocks.insi.service import InsiConfig, InsiService
from segur.mocks.insi.testing import soap_envelope, traits_body
from segur.mocks.mssante.service import MssanteService
from segur.serve_cli import _configs
from segur.up import SERVICE_NAMES, free_port_overrides, load_config, start_stack

KINDS = {"teapot": {"status": 418}}
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


@pytest.fixture(scope="module")
def store(cluster):
    """One database for the module; each fault book below is its own service name in it."""
    return cluster.create_database("workers")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(params=["memory", "postgresql"])
def book(request):
    sleep = Sleeps()
    if request.param == "memory":
        made = FaultBook(KINDS, seed=7, sleep=sleep)
    else:
        service = "svc_" + request.node.name.lower().replace("[", "_").replace("]", "")
        made = PostgresFaultBook(service, request.getfixturevalue("store"), KINDS, seed=7, sleep=sleep)
    made.slept = sleep
    return made


# --- the FaultBook interface, on both stores -------------------------------------------------------
@pytest.mark.parametrize(("spec", "message"), [
    ([], "a fault is a JSON object"),
    ({"kind": "nope"}, "unknown fault kind 'nope'"),
    ({"kind": "teapot", "colour": "blue"}, "unknown field"),
    ({"kind": "teapot", "ratio": 0}, "ratio must be"),
    ({"kind": "teapot", "count": 0}, "count must be"),
    ({"kind": "teapot", "match": []}, "match must be"),
    ({"kind": "latency", "ms": -1}, "ms must be"),
])
def test_a_fault_the_mock_cannot_honour_is_refused_with_the_reason(book, spec, message):
    with pytest.raises(FaultError, match=message):
        book.add(spec)
    assert book.list() == []


def test_a_fault_with_a_count_hits_that_many_calls_then_expires(book):
    fault = book.add({"kind": "teapot", "count": 3, "status": 419})
    assert [f.params["status"] for f in book.list()] == [419]
    hits = [[(f.id, f.hits) for f in book.select("search")] for _ in range(5)]
    assert hits == [[(fault.id, 1)], [(fault.id, 2)], [(fault.id, 3)], [], []]
    assert book.list() == []


def test_a_fault_targets_its_operation_and_its_match_only(book):
    book.add({"kind": "teapot", "operation": "search", "match": {"ins": "A"}})
    assert book.select("search", {"ins": "A"})
    assert not book.select("search", {"ins": "B"}) and not book.select("verify", {"ins": "A"})
    assert book.list()[0].hits == 1


def test_faults_are_removed_one_by_one_or_all_at_once(book):
    first, second = book.add({"kind": "teapot"}), book.add({"kind": "http_error"})
    assert book.remove(first.id) and not book.remove(first.id)
    assert [f.id for f in book.list()] == [second.id]
    book.add({"kind": "latency"})
    book.clear()
    assert book.list() == [] and book.select("search") == []


def test_latency_faults_sleep_their_milliseconds(book):
    book.add({"kind": "latency", "ms": 250})
    hit = book.select("search")
    assert book.delay(hit) == 0.25 and book.slept == [0.25]
    assert FaultBook.first(hit, "latency") is hit[0] and FaultBook.first(hit, "overload") is None


def test_a_ratio_is_drawn_from_the_seeded_generator(book):
    book.add({"kind": "teapot", "ratio": 0.5, "seed": 42})
    hits = [bool(book.select("search")) for _ in range(60)]
    assert 10 < sum(hits) < 50
    again = FaultBook(KINDS, seed=0)
    again.add({"kind": "teapot", "ratio": 0.5, "seed": 42})
    assert [bool(again.select("search")) for _ in range(60)] == hits


# --- PostgreSQL only: shared, atomic ----------------------------------------------------------------
def test_a_count_is_shared_exactly_by_books_of_several_workers(store):
    workers = [PostgresFaultBook("counted", store, KINDS) for _ in range(2)]
    workers[0].add({"kind": "teapot", "count": 5})
    hits: list[int] = []

    def call(book: PostgresFaultBook) -> None:
        for _ in range(10):
            hits.append(len(book.select("search")))

    threads = [threading.Thread(target=call, args=(workers[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(hits) == 5 and len(hits) == 40
    assert workers[1].list() == []


def test_tenants_and_services_have_their_own_faults(store):
    ci, tester = PostgresFaultBook("tenanted", store, tenant="ci"), PostgresFaultBook("tenanted", store)
    other = PostgresFaultBook("other", store)
    ci.add({"kind": "http_error"})
    assert len(ci.list()) == 1 and tester.list() == [] and other.list() == []


def test_a_service_on_a_postgresql_store_shares_its_faults_and_journal(store, tmp_path):
    context = StackContext(StackConfig(data=str(tmp_path), store=store))
    insi = InsiService(InsiConfig(port=0), context, seed=3)
    assert isinstance(insi.faults, PostgresFaultBook) and "soap_fault" in insi.faults.kinds
    assert isinstance(insi.journal, PostgresJournal)
    assert type(InsiService(InsiConfig(port=0)).faults) is FaultBook


# --- refusals ---------------------------------------------------------------------------------------
def test_more_than_one_worker_without_postgresql_is_refused():
    with pytest.raises(ConfigError, match=r"needs \[stack\] store = postgresql"):
        check_workers(InsiService, 2, StackContext.for_tests())
    with pytest.raises(ConfigError, match="at least 1"):
        check_workers(InsiService, 0, StackContext.for_tests())
    shared = StackContext(StackConfig(store="postgresql://nowhere/db"))
    with pytest.raises(ConfigError, match="only HTTP services"):
        check_workers(MssanteService, 2, shared)
    check_workers(InsiService, 2, shared)
    check_workers(MssanteService, 1, StackContext.for_tests())


def test_a_port_another_process_holds_is_not_shared():
    with reserve_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        with pytest.raises(OSError):
            reserve_port("127.0.0.1", port)
    with socket.create_server(("127.0.0.1", 0)) as listening, pytest.raises(OSError):
        reserve_port("127.0.0.1", listening.getsockname()[1])
    with reserve_port("127.0.0.1", port) as again:
        assert again.getsockname()[1] == port


def test_serve_with_workers_and_no_store_exits_with_the_reason():
    result = CliRunner().invoke(app, ["serve", "insi", "--workers", "2", "--port", "0"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "store = postgresql" in " ".join(result.output.split())


def test_workers_is_a_setting_of_http_sections_only(tmp_path):
    config = tmp_path / "segur.toml"
    config.write_text("[insi]\nworkers = 2\n", encoding="utf-8")
    loaded = load_config(config)
    assert loaded["workers"] == {"insi": 2} and "workers" not in loaded["insi"]
    assert load_config()["workers"] == {}
    # PAM is not an HTTP service (MLLP listeners): no kernel workers. (MSSanté's own `workers` setting is its
    # pool of message-check processes, docs/mssante.md.)
    refused = {"[insi]\nworkers = '2'\n": "whole number", "[pam]\nworkers = 2\n": "unknown key"}
    for text, message in refused.items():
        config.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(config)


# --- two workers of the INSi service on one port ------------------------------------------------------
class Served:
    """`segur serve insi --workers 2` in a subprocess; its output read in a thread."""

    def __init__(self, store: str, tmp_path):
        command = [sys.executable, "-m", "segur", "serve", "insi", "--workers", "2", "--port", "0",
                   "--store", store, "--any-idam"]
        output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        self.process = subprocess.Popen(command, cwd=tmp_path, **output)
        self.output: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(90):
            self.stop()
            pytest.fail("segur serve insi --workers 2 did not start:\n" + "".join(self.output))
        self.port = int(self.output[0].rsplit(" ", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if "Ctrl-C to stop" in line:
                self._ready.set()

    def pids(self, connections: int = 40) -> set[int]:
        """The workers answering `connections` new connections."""
        health = self.url + "/_admin/health"
        return {requests.get(health, timeout=10).json()["pid"] for _ in range(connections)}

    def session_of(self, pid: int) -> requests.Session:
        """A keep-alive connection served by worker `pid` (one connection: one worker)."""
        for _ in range(200):
            session = requests.Session()
            if session.get(self.url + "/_admin/health", timeout=10).json()["pid"] == pid:
                return session
            session.close()
        raise AssertionError(f"no connection reached worker {pid}")

    def search(self, session: requests.Session) -> int:
        body = soap_envelope(traits_body())
        return session.post(self.url + "/lps", data=body, headers=SOAP, timeout=10).status_code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture(scope="module")
def served(store, tmp_path_factory):
    running = Served(store, tmp_path_factory.mktemp("served"))
    yield running
    running.stop()


@pytest.fixture
def both(served):
    """A connection to each of the two workers, the shared journal and faults emptied."""
    first, second = sorted(served.pids())
    sessions = served.session_of(first), served.session_of(second)
    sessions[0].post(served.url + "/_admin/reset", timeout=10)
    yield sessions
    for session in sessions:
        session.close()


def test_requests_are_spread_over_both_workers_which_say_who_they_are(served):
    pids = served.pids()
    assert len(pids) == 2
    health = requests.get(served.url + "/_admin/health", timeout=10).json()
    assert health["workers"] == 2 and health["pid"] in pids
    assert served.output[0].startswith("insi: 2 worker processes")


def test_a_fault_set_through_one_worker_hits_calls_served_by_the_other(served, both):
    through, other = both
    fault = {"kind": "http_error", "status": 503, "count": 2}
    added = through.post(served.url + "/_admin/faults", json=fault, timeout=10)
    assert added.status_code == 201
    assert [served.search(other), served.search(through), served.search(other)] == [503, 503, 200]
    assert other.get(served.url + "/_admin/faults", timeout=10).json()["faults"] == []


def test_the_journal_lists_the_exchanges_of_both_workers(served, both):
    through, other = both
    other.put(served.url + "/_admin/task", json={"task": "insi-01"}, timeout=10)
    assert [served.search(through), served.search(other), served.search(through)] == [200, 200, 200]
    journal = other.get(served.url + "/_admin/journal", params={"task": "insi-01"}, timeout=10).json()
    entries = journal["entries"]
    assert len(entries) == 3
    through.put(served.url + "/_admin/task", json={"task": None}, timeout=10)


def test_a_reset_through_one_worker_reaches_the_state_of_the_other(served, both):
    through, other = both
    added = other.post(served.url + "/_admin/idams", json={"idam": "EDITEUR-X", "modes": ["INSI-AUTO"]},
                       timeout=10)
    assert added.status_code == 201, added.text

    def idams() -> list[str]:
        listed = other.get(served.url + "/_admin/idams", timeout=10).json()["software"]
        return [software["idam"] for software in listed]

    assert "EDITEUR-X" in idams()
    assert through.post(served.url + "/_admin/reset", timeout=10).json()["reset"] is True
    assert "EDITEUR-X" not in idams()


def test_a_killed_worker_is_replaced_while_the_other_keeps_serving(served):
    before = served.pids()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # connections already queued on the victim's socket are reset with it (Linux SO_REUSEPORT): once the
    # supervisor saw it die (its sockets closed), every new connection goes to a live worker
    died = f"worker {victim} died (killed by signal 9); starting another"
    _wait_until(lambda: any(died in line for line in served.output))
    answered = [requests.get(served.url + "/_admin/health", timeout=10).status_code for _ in range(20)]
    assert answered == [200] * 20
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = served.pids(20)
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.2)
    assert len(now) == 2 and victim not in now and before & now
    _wait_until(lambda: any(f"started in place of {victim}" in line for line in served.output))


def _wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_stops_the_supervisor_and_every_worker(store, tmp_path):
    running = Served(store, tmp_path)
    pids = running.pids()
    assert running.stop() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", running.port), timeout=2):
        pass


def test_segur_up_runs_the_workers_a_section_asks_for(cluster, tmp_path):
    overrides = free_port_overrides()
    for name in SERVICE_NAMES:
        overrides[name]["enabled"] = name == "insi"
    overrides["insi"]["workers"] = 2
    store = cluster.create_database("up_workers")
    overrides["stack"] = {"store": store, "data": str(tmp_path / "data"), "pki": str(tmp_path / "pki")}
    overrides["faults"] = {"insi": [{"kind": "http_error", "count": 1}]}
    with start_stack(load_config(overrides=overrides)) as stack:
        admin = stack.endpoints()["insi"]["admin"]
        assert len({requests.get(admin + "health", timeout=10).json()["pid"] for _ in range(40)}) == 2
        assert [fault.kind for fault in stack.services["insi"].faults.list()] == ["http_error"]
    del overrides["stack"]["store"]
    with pytest.raises(ConfigError, match=r"workers = 2 needs \[stack\] store = postgresql"):
        start_stack(load_config(overrides=overrides))


def test_serve_options_given_on_the_command_line_win_over_the_config_file(tmp_path):
    config = tmp_path / "shared.toml"
    config.write_text("[stack]\ntenants = true\n[dmp]\nport = 8302\nworkers = 2\n", encoding="utf-8")
    command = get_command(app).commands["serve"].commands["dmp"]
    context = command.make_context("dmp", ["--port", "5555", "--workers", "1", "--config", str(config)])
    stack, section, workers = _configs(DmpService, context, dict(context.params))
    assert (section.port, workers, stack.tenants) == (5555, 1, True)


def test_a_supervisor_stopped_while_it_replaces_a_worker_leaves_no_process_behind(store, tmp_path):
    """stop() during a replacement's start: the new worker is killed too, never orphaned (it was once)."""
    replacing = threading.Event()

    def log(message: str) -> None:
        if "starting another" in message:
            replacing.set()

    context = StackContext(StackConfig(data=str(tmp_path), store=store))
    supervisor = Supervisor(InsiService, InsiConfig(port=0), context, 2, log=log).start()
    try:
        time.sleep(QUICK_DEATH)  # a worker older than that is replaced at once, not after a pause
        os.kill(supervisor.pids()[0], signal.SIGKILL)
        assert replacing.wait(30)
    finally:
        supervisor.stop()
    assert multiprocessing.active_children() == [] and supervisor.pids() == []
