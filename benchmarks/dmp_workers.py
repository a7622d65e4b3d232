"""DMP mock under 8 concurrent clients: SQLite (1 process), PostgreSQL with 1 worker and with 2 workers —
ITI-41 documents/s with pre-built requests, then the counts: acknowledged, stored, missing, duplicated.

Starts a throw-away PostgreSQL cluster, builds the requests first (a CR-IMG N1 from `segur.fixtures`, one
document per submission, signed VIHF, MTOM body: the test helpers' builders), then for each configuration
`segur serve dmp [--workers N --store postgresql://…]` and C client threads sending for S seconds, a new
connection per request (so SO_REUSEPORT spreads them over the workers). After the run, the store is read
(SQLite file or database): every acknowledged uniqueId must be stored once, with its document.

    python benchmarks/dmp_workers.py [--seconds 15] [--clients 8] [--requests 1500] [--validation]

Validation is off by default (this measures the workers and the store, not the validator: see dmp.py).
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "mocks" / "dmp"))  # the request builders of the tests (dmp_helpers)

from dmp_helpers import ITI41, DmpCase, envelope, mtom, parse_answer, provide_and_register  # noqa: E402

from segur.fixtures.world import load_world  # noqa: E402
from segur.kernel.pki import TestPki  # noqa: E402
from segur.kernel.postgres import ThrowawayCluster  # noqa: E402
from segur.mocks.dmp.client.metadata import metadata_from_cda  # noqa: E402

REPOSITORY = "/si-dmp-server/v2/services/repository"


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


def load(port: int, requests: list, clients: int, seconds: float) -> tuple[list[str], int, float]:
    """Send until the time is up or the requests run out; (acknowledged uniqueIds, errors, elapsed)."""
    acknowledged: list[str] = []
    errors = [0]
    taken = iter(requests)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                request = next(taken, None)
            if request is None:
                return
            unique_id, content_type, body = request
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request("POST", REPOSITORY, body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                content = response.getheader("Content-Type", "")
                answer = parse_answer(response.status, content, response.read())
                if answer.registry_status and answer.registry_status.endswith("Success"):
                    acknowledged.append(unique_id)
                else:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
            finally:
                connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged, errors[0], time.monotonic() - started


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1500, help="pre-built requests per configuration")
    parser.add_argument("--validation", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segur-bench-") as scratch, ThrowawayCluster() as cluster:
        root = Path(scratch)
        pki = TestPki.load_or_create(root / "pki")
        case = DmpCase(pki, load_world())
        validation = [] if args.validation else ["--no-validation"]
        configurations = [("SQLite, 1 process", None, []),
                          ("PostgreSQL, 1 worker", cluster.create_database("one"), []),
                          ("PostgreSQL, 2 workers", cluster.create_database("two"), ["--workers", "2"])]
        for label, database, options in configurations:
            tick = time.monotonic()
            requests = build(case, args.requests)
            built_in = time.monotonic() - tick
            data = root / label.split(",")[0].lower() / str(len(options))
            store = ["--store", database] if database else []
            process, port = serve(data, pki.directory, [*store, *options, *validation])
            try:
                acknowledged, errors, elapsed = load(port, requests, args.clients, args.seconds)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
            stored = stored_ids(data, database)
            missing = set(acknowledged) - set(stored)
            print(f"{label}: {len(acknowledged)} acknowledged in {elapsed:.1f} s "
                  f"({len(acknowledged) / elapsed:.1f} docs/s, {args.clients} clients, {errors} errors; "
                  f"{len(requests)} requests built in {built_in:.0f} s); stored {len(stored)}, "
                  f"missing {len(missing)}, duplicated {len(stored) - len(set(stored))}", flush=True)
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
