"""INSi searches per second with 1 and with 2 worker processes (`segur serve insi --workers N`).

    .venv/bin/python benchmarks/workers.py                 # 5 s per run, 2 client processes × 4 threads
    .venv/bin/python benchmarks/workers.py --seconds 10 --clients 3

Both runs use a throw-away PostgreSQL cluster as the store (more than one worker needs it; the single
worker uses it too, so that only the worker count differs). Requests are built before the clock starts;
each client thread keeps one HTTP/1.1 connection (a connection stays on one worker: SO_REUSEPORT
balances connections, not requests). Prints both rates, their ratio and the load average, which says
how much of the machine other work took meanwhile, and the CPU per search of the server processes and of
the PostgreSQL cluster (/proc, as benchmarks/dmp_workers.py reads it), and the cores they used.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmp_workers import postmaster_pid, tree_cpu  # noqa: E402  (this folder: the /proc CPU readers)

from segur.kernel.postgres import ThrowawayCluster  # noqa: E402
from segur.mocks.insi.testing import soap_envelope, traits_body, vitale_body  # noqa: E402

HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}


def _bodies() -> list[bytes]:
    return [soap_envelope(traits_body()), soap_envelope(traits_body(birth_name="INCONNU")),
            soap_envelope(vitale_body(), operation="rechercherInsAvecCarteVitale")]


def _client(port: int, threads: int, seconds: float, start_at: float, results) -> None:
    bodies = _bodies()
    done, errors = [0] * threads, [0] * threads

    def run(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < start_at:
            time.sleep(0.001)
        end, i = start_at + seconds, index
        while time.time() < end:
            try:
                connection.request("POST", "/lps", bodies[i % len(bodies)], HEADERS)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    done[index] += 1
                else:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i += 1
        connection.close()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    results.put((sum(done), sum(errors)))


def _serve(workers: int, store: str) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "segur", "serve", "insi", "--workers", str(workers), "--port", "0",
               "--store", store, "--any-idam"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = 0
    for line in process.stdout:
        if port == 0 and " on " in line and "127.0.0.1" in line:
            port = int(line.rstrip().rsplit(":", 1)[1].split()[0].rstrip("/"))
        if "Ctrl-C to stop" in line:
            return process, port
    raise SystemExit("segur serve insi did not start")


def measure(workers: int, store: str, clients: int, threads: int, seconds: float,
            postgresql: int) -> tuple[float, int, dict]:
    """Searches/s, errors and CPU seconds (server processes, PostgreSQL) against `workers` workers."""
    process, port = _serve(workers, store)
    try:
        before = {"server": tree_cpu(process.pid), "postgresql": tree_cpu(postgresql)}
        results = multiprocessing.Queue()
        start_at = time.time() + 1.0
        processes = [multiprocessing.Process(target=_client, args=(port, threads, seconds, start_at, results))
                     for _ in range(clients)]
        for client in processes:
            client.start()
        totals = [results.get(timeout=seconds + 60) for _ in processes]
        for client in processes:
            client.join()
        cpu = {"server": tree_cpu(process.pid) - before["server"],
               "postgresql": tree_cpu(postgresql) - before["postgresql"]}
        return sum(done for done, _ in totals) / seconds, sum(errors for _, errors in totals), cpu
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads (connections) per client process")
    args = parser.parse_args()
    with ThrowawayCluster() as cluster:
        rates = {}
        for workers in (1, 2):
            store = cluster.create_database(f"bench_{workers}")
            rates[workers], errors, cpu = measure(workers, store, args.clients, args.threads, args.seconds,
                                                  postmaster_pid(cluster))
            done = max(rates[workers] * args.seconds, 1)
            used = ", ".join(f"{name} {seconds * 1000 / done:.2f} ms" for name, seconds in cpu.items())
            print(f"{workers} worker(s): {rates[workers]:.0f} searches/s ({errors} errors); CPU per search: "
                  f"{used} ({sum(cpu.values()) / args.seconds:.2f} cores); load average "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    print(f"ratio 2/1: {rates[2] / rates[1]:.2f} on {os.cpu_count()} cores "
          f"(load average {', '.join(f'{load:.2f}' for load in os.getloadavg())})")


if __name__ == "__main__":
    main()
