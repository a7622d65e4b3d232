"""DMP mock under concurrent clients: SQLite (1 process), PostgreSQL with 1 worker and with 2 workers —
ITI-41 documents/s with pre-built requests, the CPU each process took per document, then the counts:
acknowledged, stored, missing, duplicated.

Starts a throw-away PostgreSQL cluster, builds the requests once (a CR-IMG N1 from `segur.fixtures`, one
document per submission, signed VIHF, MTOM body: the test helpers' builders; each configuration has its own
database or folder, so the same requests serve all three), then for each configuration
`segur serve dmp [--workers N --store postgresql://…]` and one client process whose C threads each keep one
HTTP/1.1 connection open (`http.client`, keep-alive) and send for S seconds. SO_REUSEPORT balances
connections, not requests: each connection first asks `/_admin/health` which worker holds it, and the
spread is printed. After the run, the store is read (SQLite file or database): every acknowledged uniqueId
must be stored once, with its document.

The machine is shared: beside the rate, the CPU seconds each process took during the run, per document
(the workers, the supervisor, every PostgreSQL process of the cluster — backends, WAL writer, checkpointer
— and the client) and the load average before and after, so the reader sees where the cores went. CPU is
read from /proc (utime + stime, and cutime + cstime for the children that ended meanwhile).

    python benchmarks/dmp_workers.py [--seconds 10] [--rounds 5] [--clients 8] [--requests 1500]
                                     [--validation] [--only pg1,pg2] [--synchronous-commit on|off]

Every configuration's server is started first; the load then goes to each in turn, in `--rounds` slices
(A B C A B C…), so that on a shared machine the configurations meet the same load on average (main's
figures, one configuration after the other, compared different loads: 2 workers got 0.43x one worker).

Validation is off by default (this measures the workers and the store, not the validator: see dmp.py).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "mocks" / "dmp"))  # the request builders of the tests (dmp_helpers)

from dmp_helpers import ITI41, DmpCase, envelope, mtom, provide_and_register  # noqa: E402

from segur.fixtures.world import load_world  # noqa: E402
from segur.kernel.pki import TestPki  # noqa: E402
from segur.kernel.postgres import ThrowawayCluster  # noqa: E402
from segur.mocks.dmp.calls import STATUS_SUCCESS  # noqa: E402
from segur.mocks.dmp.client.metadata import metadata_from_cda  # noqa: E402

REPOSITORY = "/si-dmp-server/v2/services/repository"
SUCCESS = f'status="{STATUS_SUCCESS}"'.encode()  # the RegistryResponse's status attribute
TICK = os.sysconf("SC_CLK_TCK")
CONFIGURATIONS = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 worker",
                  "pg2": "PostgreSQL, 2 workers"}


def build(case: DmpCase, count: int) -> list[tuple[str, str, bytes]]:
    built = []
    for _ in range(count):
        document = case.cda()
        request, by_id = case.submission([document])
        body, parts = provide_and_register(request, by_id)
        content_type, payload = mtom(envelope(ITI41, body, case.security()), parts)
        built.append((metadata_from_cda(document).unique_id, content_type, payload))
    return built


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(data: Path, pki: Path, options: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, "-m", "segur", "serve", "dmp", "--port", str(port), "--data", str(data),
               "--pki", str(pki), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if "Ctrl-C" in line:
            return process, port
    raise SystemExit("the DMP did not start")


# --- CPU of processes, from /proc ---------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()  # the fields after the command name


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat(int(entry))[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError):
                continue  # gone meanwhile
    return found


def own_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has already reaped."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and of every descendant, living or reaped."""
    return own_cpu(pid) + sum(tree_cpu(child) for child in children(pid))


def postmaster_pid(cluster: ThrowawayCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


# --- the client ---------------------------------------------------------------------------------------
def _client(port: int, requests: list, clients: int, seconds: float, fresh: bool, results) -> None:
    """One process, `clients` threads, one keep-alive connection each (`fresh`: a new connection per
    request, as main's benchmark did); reports what it saw and its CPU."""
    acknowledged: list[str] = []
    errors = [0]
    holders: list[int] = []
    taken = iter(requests)
    lock = threading.Lock()
    ready, go = threading.Barrier(clients + 1), threading.Event()
    deadline = [0.0]

    def connect() -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/_admin/health")
        response = connection.getresponse()
        holders.append(json.loads(response.read()).get("pid", 0))
        return connection

    def client() -> None:
        connection = connect()
        ready.wait()
        go.wait()
        while time.monotonic() < deadline[0]:
            with lock:
                request = next(taken, None)
            if request is None:
                break
            unique_id, content_type, body = request
            try:
                connection.request("POST", REPOSITORY, body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                answer = response.read()
                if response.status == 200 and SUCCESS in answer:
                    acknowledged.append(unique_id)
                else:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                connection.close()
                connection = connect()
            if fresh:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    deadline[0] = started + seconds
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    results.put((acknowledged, errors[0], elapsed, used, Counter(holders)))


def load(port: int, requests: list, clients: int, seconds: float, fresh: bool,
         watched: dict[str, int]) -> dict:
    """Run the client process; the rate, the spread and the CPU each watched process tree took."""
    results = multiprocessing.get_context("fork").Queue()
    before = {name: tree_cpu(pid) for name, pid in watched.items()}
    worker_pids = children(watched["server"])
    workers_before = {pid: tree_cpu(pid) for pid in worker_pids}
    arguments = (port, requests, clients, seconds, fresh, results)
    client = multiprocessing.get_context("fork").Process(target=_client, args=arguments)
    client.start()
    acknowledged, errors, elapsed, client_cpu, holders = results.get(timeout=seconds + 300)
    client.join()
    cpu = {name: tree_cpu(pid) - before[name] for name, pid in watched.items()}
    cpu["client"] = client_cpu
    workers = {pid: tree_cpu(pid) - used for pid, used in workers_before.items()}
    return {"acknowledged": acknowledged, "errors": errors, "elapsed": elapsed, "cpu": cpu,
            "workers": workers, "holders": holders}


class ActivitySampler:
    """Every 0.1 s during a run: what the database's backends are doing (`pg_stat_activity`: active or idle,
    and what an active one waits for) and how many lock requests wait (`pg_locks` not granted)."""

    def __init__(self, database: str):
        self.database = database
        self.states: Counter = Counter()
        self.waiting_locks = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        name = self.database.rsplit("/", 1)[1]
        with psycopg.connect(self.database, autocommit=True) as db:
            while not self._stop.wait(0.1):
                rows = db.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                                  " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
                for state, kind, event in rows:
                    doing = f"active ({kind or 'CPU'}:{event or '-'})" if state == "active" else state
                    self.states[doing] += 1
                waiting = db.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
                self.waiting_locks += waiting
                self.samples += 1

    def __enter__(self) -> ActivitySampler:
        """Sample until the block ends (again at each slice of an interleaved run, counts summed)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "no sample"
        states = ", ".join(f"{state} {count / self.samples:.1f}"
                           for state, count in self.states.most_common(6))
        return (f"backends per sample ({self.samples} samples): {states}; lock requests waiting "
                f"{self.waiting_locks / self.samples:.2f} per sample")


def stored_ids(data: Path, database: str | None) -> list[str]:
    """The uniqueIds of the stored documents that have their entry (duplicates kept, to be counted)."""
    query = ("SELECT d.unique_id FROM dmp_documents d JOIN dmp_document_entries e"
             " ON e.unique_id = d.unique_id")
    if database:
        with psycopg.connect(database) as db:
            return [row[0] for row in db.execute(query)]
    files = list(data.rglob("*.sqlite3"))
    with sqlite3.connect(files[0]) as db:
        return [row[0] for row in db.execute(query.replace("dmp_", ""))]


def loads() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(label: str, run: dict, stored: list[str], clients: int) -> None:
    acknowledged, elapsed = run["acknowledged"], run["elapsed"]
    done = max(len(acknowledged), 1)
    missing = set(acknowledged) - set(stored)
    print(f"{label}: {len(acknowledged)} acknowledged in {elapsed:.1f} s ({len(acknowledged) / elapsed:.1f} "
          f"docs/s, {clients} keep-alive connections, {run['errors']} errors); stored {len(stored)}, "
          f"missing {len(missing)}, duplicated {len(stored) - len(set(stored))}", flush=True)
    cpu = run["cpu"]
    total = sum(cpu.values())
    parts = ", ".join(f"{name} {seconds * 1000 / done:.1f}" for name, seconds in cpu.items())
    print(f"  CPU ms per document: {parts}; total {total * 1000 / done:.1f} "
          f"({total:.1f} CPU s in {elapsed:.1f} s: {total / elapsed:.2f} cores)", flush=True)
    if len(run["workers"]) > 1:
        spread = ", ".join(f"pid {pid} {seconds:.1f} s CPU, {run['holders'].get(pid, 0)} connections"
                           for pid, seconds in run["workers"].items())
        print(f"  workers: {spread}", flush=True)


def merged(total: dict | None, run: dict) -> dict:
    """Two slices of one configuration's load as one run: counts, times and CPU summed."""
    if total is None:
        return run
    return {"acknowledged": total["acknowledged"] + run["acknowledged"],
            "errors": total["errors"] + run["errors"], "elapsed": total["elapsed"] + run["elapsed"],
            "cpu": dict(Counter(total["cpu"]) + Counter(run["cpu"])),
            "workers": dict(Counter(total["workers"]) + Counter(run["workers"])),
            "holders": total["holders"] + run["holders"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load per configuration")
    parser.add_argument("--rounds", type=int, default=5,
                        help="slices of load per configuration, taken in turn (A B C A B C…): on a shared "
                             "machine each configuration meets the same load on average")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections (client threads)")
    parser.add_argument("--requests", type=int, default=1500, help="pre-built requests (one set for all)")
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--only", default="sqlite,pg1,pg2", help="configurations: sqlite, pg1, pg2")
    parser.add_argument("--synchronous-commit", choices=("on", "off"), default="on",
                        help="the throw-away cluster's synchronous_commit (a server setting; it runs with "
                             "fsync=off either way)")
    parser.add_argument("--connection-per-request", action="store_true",
                        help="a new connection for every request (what main's benchmark did)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segur-bench-") as scratch, ThrowawayCluster() as cluster, \
            contextlib.ExitStack() as servers:
        root = Path(scratch)
        if args.synchronous_commit == "off":
            with psycopg.connect(cluster.url, autocommit=True) as admin:
                admin.execute("ALTER SYSTEM SET synchronous_commit = off")
                admin.execute("SELECT pg_reload_conf()")
        pki = TestPki.load_or_create(root / "pki")
        case = DmpCase(pki, load_world())
        tick = time.process_time()
        requests = build(case, args.requests)
        print(f"{len(requests)} requests of {len(requests[0][2]) // 1024} KiB built in "
              f"{time.process_time() - tick:.0f} CPU s; load average {loads()}", flush=True)
        validation = [] if args.validation else ["--no-validation"]
        running = {}
        for key in args.only.split(","):
            database = cluster.create_database(key) if key.startswith("pg") else None
            options = ["--workers", "2"] if key == "pg2" else []
            store = ["--store", database] if database else []
            process, port = serve(root / key, pki.directory, [*store, *options, *validation])
            servers.callback(stop, process)
            watched = {"server": process.pid}
            if database:
                watched["postgresql"] = postmaster_pid(cluster)
            sampler = ActivitySampler(database) if database else None
            running[key] = {"port": port, "database": database, "watched": watched, "sampler": sampler,
                            "sent": 0, "run": None}
            print(f"{CONFIGURATIONS[key]}: server pid {process.pid}", flush=True)
        print(f"{args.rounds} rounds of {args.seconds / args.rounds:.1f} s per configuration, in turn; "
              f"load average before {loads()}", flush=True)
        for _ in range(args.rounds):
            for served in running.values():
                with served["sampler"] or contextlib.nullcontext():
                    run = load(served["port"], requests[served["sent"]:], args.clients,
                               args.seconds / args.rounds, args.connection_per_request, served["watched"])
                served["sent"] += len(run["acknowledged"]) + run["errors"]
                served["run"] = merged(served["run"], run)
        servers.close()
        print(f"load average after {loads()}", flush=True)
        for key, served in running.items():
            report(CONFIGURATIONS[key], served["run"], stored_ids(root / key, served["database"]),
                   args.clients)
            if served["sampler"]:
                print(f"  PostgreSQL {served['sampler'].summary()}", flush=True)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)


if __name__ == "__main__":
    main()
