"""Benchmark of the INSi mock: N concurrent clients for T seconds against a served instance (loopback).

    .venv/bin/python benchmarks/insi.py                       # starts `segur serve insi` itself
    .venv/bin/python benchmarks/insi.py --clients 8 --seconds 10
    .venv/bin/python benchmarks/insi.py --url http://127.0.0.1:8301   # an instance already running

Each client keeps one HTTP/1.1 connection open (as a SOAP stack does) and sends searches by traits
in turn — one patient found (00), an unknown one (01), homonyms (02) — and Vitale searches. Clients
run in separate processes (so the client's own Python does not share the server's GIL) with a few
threads each. Prints requests/s, p50/p90/p99/max latency and the error count.
Target (issue 4): ≥ 1,000 searches/s with p99 < 50 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MAX_SECONDS = 120
MAX_CLIENTS = 64
SOAP_HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}


def _requests() -> list[bytes]:
    from segur.mocks.insi.testing import soap_envelope, traits_body, vitale_body

    return [
        soap_envelope(traits_body()),  # 00
        soap_envelope(traits_body(birth_name="INCONNU")),  # 01
        soap_envelope(traits_body("BLANCHET", ("JULIE",), "F", "1981-04-02")),  # 02
        soap_envelope(traits_body("ECETINSI", ("PIERRE-ALAIN",), "M", "2009-07-14")),  # 00 with history
        soap_envelope(vitale_body(), operation="rechercherInsAvecCarteVitale"),  # 00 from an earlier NIR
    ]


def _client_process(url: str, threads: int, seconds: float, start_at: float, queue) -> None:
    bodies = _requests()
    parts = urllib.parse.urlsplit(url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run(offset: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        failed = 0
        i = offset
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        while True:
            body = bodies[i % len(bodies)]
            i += 1
            began = time.perf_counter()
            try:
                connection.request("POST", "/lps", body, SOAP_HEADERS)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            now = time.perf_counter()
            mine.append(now - began)
            if time.time() >= end:
                break
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, errors[0]))


def _serve(threads: int) -> tuple[subprocess.Popen, str]:
    segur = Path(sys.executable).with_name("segur")
    process = subprocess.Popen([str(segur), "serve", "insi", "--port", "0", "--threads", str(threads),
                                "--journal-size", "20000"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        match = re.search(r" on (http://\S+)", line)
        if match:
            return process, match.group(1)
    raise SystemExit("could not start segur serve insi")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (connections), default 8")
    parser.add_argument("--processes", type=int, default=2,
                        help="client processes the clients are spread over")
    parser.add_argument("--seconds", type=float, default=10, help=f"duration, at most {MAX_SECONDS}")
    parser.add_argument("--threads", type=int, default=16, help="cheroot threads of the served instance")
    parser.add_argument("--url", help="an INSi mock already running (default: start one)")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1), MAX_SECONDS)
    clients = min(max(args.clients, 1), MAX_CLIENTS)
    processes = min(max(args.processes, 1), clients)

    server = None
    url = args.url
    if url is None:
        server, url = _serve(args.threads)
    try:
        queue = multiprocessing.get_context("fork").Queue()
        start_at = time.time() + 1.0
        shares = [clients // processes + (1 if n < clients % processes else 0) for n in range(processes)]
        procs = [multiprocessing.get_context("fork").Process(target=_client_process,
                                                              args=(url, share, seconds, start_at, queue))
                 for share in shares]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=seconds + 60) for _ in procs]
        for proc in procs:
            proc.join(timeout=10)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=10)

    latencies = [lat for lats, _ in results for lat in lats]
    errors = sum(err for _, err in results)
    count = len(latencies)
    print(f"INSi mock benchmark: {clients} clients ({processes} processes) for {seconds:g} s against {url}"
          f" ({os.cpu_count()} CPUs, server threads {args.threads if server else '?'})")
    print(f"  requests   {count} ({errors} errors)")
    print(f"  throughput {count / seconds:,.0f} requests/s")
    if latencies:
        ms = [v * 1000 for v in latencies]
        print(f"  latency    p50 {percentile(ms, 0.50):.1f} ms   p90 {percentile(ms, 0.90):.1f} ms   p99 "
              f"{percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms   mean {statistics.fmean(ms):.1f} ms")
    target = count / seconds >= 1000 and latencies and percentile(latencies, 0.99) < 0.050
    print(f"  target     >= 1,000 searches/s with p99 < 50 ms: {'met' if target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
