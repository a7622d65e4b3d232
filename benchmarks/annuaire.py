"""Annuaire santé mock: searches per second and latency from concurrent FHIR clients.

Starts the mock in this process on loopback, then N client processes (each a keep-alive HTTP
connection, so the clients do not compete with the server for its interpreter lock) search
practitioners by RPPS, by family name with _revinclude, and organizations by FINESS for T seconds.
Prints requests/s and p50/p99 latency. Target: >= 1,000 searches/s.

    python benchmarks/annuaire.py [--clients 8] [--seconds 5]

On the 2-core reference machine the clients and the server share the two cores.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from segur.fixtures.world import load_world
from segur.mocks.annuaire.testing import running_annuaire


def _client(host: str, port: int, queries: list[str], index: int, seconds: float) -> tuple[list[float], int]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    latencies, failed, i = [], 0, index
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        conn.request("GET", queries[i % len(queries)], headers={"ESANTE-API-KEY": "bench"})
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        failed += response.status != 200
        i += 1
    conn.close()
    return latencies, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    world = load_world()
    queries = [f"/fhir/v2/Practitioner?identifier=https://rpps.esante.gouv.fr|{p.rpps}"
               for p in world.professionals]
    queries += [f"/fhir/v2/Practitioner?family={p.family_name[:4]}&_revinclude=PractitionerRole:practitioner"
                for p in world.professionals]
    queries += [f"/fhir/v2/Organization?identifier=https://finess.esante.gouv.fr|{o.finess}"
                for o in world.organisations]
    with running_annuaire() as annuaire, ProcessPoolExecutor(args.clients) as pool:
        started = time.perf_counter()
        futures = [pool.submit(_client, annuaire.server.host, annuaire.server.port, queries, n, args.seconds)
                   for n in range(args.clients)]
        results = [f.result() for f in futures]
        elapsed = time.perf_counter() - started
    latencies = [t for mine, _ in results for t in mine]
    errors = sum(failed for _, failed in results)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(f"annuaire: {len(latencies)} searches in {elapsed:.1f} s with {args.clients} clients, "
          f"{errors} errors")
    print(f"  throughput: {len(latencies) / elapsed:,.0f} searches/s (target >= 1,000)")
    print(f"  latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
