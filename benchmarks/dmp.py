"""DMP mock: ITI-41 submissions of a CR-IMG N1 carrying a 1 MB PDF, from concurrent clients.

Starts the mock in this process on loopback (SQLite store in a temporary directory, validation
on), then N client processes. Each client first builds its own requests (CDA from
`segur.fixtures`, metadata and signed VIHF from the DMP client, MTOM body), waits for the
start signal, then sends them one after the other on its own connection. Prints documents/s,
p50/p99 latency and the share of the server's ITI-41 time spent validating documents.
Target: >= 100 documents/s with validation on.

    python benchmarks/dmp.py [--count 100] [--clients 4] [--pack DIR | --no-pack] [--no-validation]
                             [--validation-workers N] [--synchronous NORMAL|FULL]

By default the official CDA pack in ../shared/ref/cda (or SEGUR_PACK) is used, so XSD and
Schematron run too. Bounded in count; loopback only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the request builders the tests use (dmp_helpers)


def _pdf(size: int) -> bytes:
    from segur.fixtures.documents.pdf import make_pdf

    lines = [secrets.token_urlsafe(60) for _ in range(max(1, size // 160))]
    return make_pdf("CR d'imagerie (benchmark)", lines)


def _client(url: str, pki_dir: str, pdf: bytes, count: int, signal_dir: str, index: int):
    import http.client
    from urllib.parse import urlsplit

    from dmp_helpers import ITI41, DmpCase, envelope, mtom, parse_answer, provide_and_register

    from segur.fixtures.world import load_world
    from segur.kernel.pki import TestPki

    case = DmpCase(TestPki.load_or_create(Path(pki_dir)), load_world(), issue_certificate=False)
    bodies = []
    for _ in range(count):
        request, by_id = case.submission([case.cda(pdf=pdf)])
        body, parts = provide_and_register(request, by_id)
        bodies.append(mtom(envelope(ITI41, body, case.security()), parts))
    (Path(signal_dir) / f"ready-{index}").touch()
    while not (Path(signal_dir) / "go").exists():
        time.sleep(0.005)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    latencies, statuses = [], []
    for content_type, payload in bodies:
        start = time.perf_counter()
        conn.request("POST", parts.path, body=payload, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
        latencies.append(time.perf_counter() - start)
        statuses.append(
            parse_answer(response.status, response.getheader("Content-Type", ""), data).registry_status)
    conn.close()
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="submissions in total (default 100)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pdf-size", type=int, default=1_000_000, help="approximate PDF size in bytes")
    parser.add_argument("--pack", type=Path, default=None, help="official CDA pack (default: SEGUR_PACK or "
                        "../shared/ref/cda when present)")
    parser.add_argument(
        "--no-pack", action="store_true", help="validate without the official pack (no XSD/Schematron)")
    parser.add_argument("--no-validation", action="store_true")
    parser.add_argument(
        "--synchronous", choices=("NORMAL", "FULL"), default="NORMAL",
        help="SQLite synchronous (default NORMAL, the mock's default; FULL is its --power-safe)")
    parser.add_argument("--validation-workers", type=int, default=0,
                        help="validate in N worker processes (the mock's --validation-workers; default 0)")
    args = parser.parse_args()

    from segur.fixtures.world import load_world
    from segur.kernel.pki import TestPki
    from segur.mocks.dmp.testing import running_dmp

    pack = None
    if not args.no_pack:
        pack = args.pack or (Path(os.environ["SEGUR_PACK"]) if os.environ.get("SEGUR_PACK") else None)
        default = REPO.parent / "shared" / "ref" / "cda"
        if pack is None and (default / "infrastructure").is_dir():
            pack = default
    pdf = _pdf(args.pdf_size)
    share, extra = divmod(args.count, args.clients)
    per_client = [share + (1 if i < extra else 0) for i in range(args.clients)]
    with tempfile.TemporaryDirectory(prefix="segur-dmp-bench-") as scratch:
        pki = TestPki.load_or_create(Path(scratch) / "pki")
        from dmp_helpers import DmpCase

        sample = DmpCase(pki, load_world()).cda()  # also issues the structure's certificate, once
        signals = Path(scratch) / "signals"
        signals.mkdir()
        with running_dmp(Path(scratch) / "data", pki=pki, world=load_world(),
                         validation=not args.no_validation,
                         validator_pack=pack if pack is not None else False, max_body=16 * 1024 * 1024,
                         validation_workers=args.validation_workers,
                         power_safe=args.synchronous == "FULL") as dmp:
            validating = [0.0]
            original = dmp.backend.validate_document

            def timed(data, reports=None):
                started = time.perf_counter()
                try:
                    return original(data, reports)
                finally:
                    validating[0] += time.perf_counter() - started

            dmp.backend.validate_document = timed
            url = dmp.endpoint("repository")
            # Warm the validator (pack compilation happens once per process) outside the measurement.
            if not args.no_validation:
                warm_up = getattr(dmp.backend.validator, "warm_up", None)
                warm_up(sample) if warm_up else dmp.backend.validator.validate(sample)
            with ProcessPoolExecutor(max_workers=args.clients) as pool:
                futures = [pool.submit(_client, url, str(pki.directory), pdf, n, str(signals), i)
                           for i, n in enumerate(per_client)]
                while len(list(signals.glob("ready-*"))) < args.clients:
                    if any(f.done() for f in futures):
                        break
                    time.sleep(0.05)
                validating[0] = 0.0
                load_before = os.getloadavg()
                cpu_start = time.process_time()  # this process = the server (clients are other processes)
                start = time.perf_counter()
                (signals / "go").touch()
                results = [f.result() for f in futures]
                elapsed = time.perf_counter() - start
                server_cpu = time.process_time() - cpu_start
                load_after = os.getloadavg()
            server_ms = sum(e.duration_ms or 0 for e in dmp.journal.entries(operation="ITI-41"))
            layers = []
            sample = dmp.backend.documents_by_patient()
            for entries in sample.values():
                validation = entries[0].get("validation") or {}
                layers = [f"{layer['name']}:{layer['status']}" for layer in validation.get("layers", [])]
                break
    latencies = sorted(lat for lats, _ in results for lat in lats)
    statuses = [s for _, sts in results for s in sts]
    accepted = statuses.count("Success")
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else latencies * 99
    print(
        f"ITI-41 CR-IMG N1 with a {len(pdf) / 1e6:.2f} MB PDF, {args.clients} clients, {len(latencies)} "
        "submissions")
    print(
        f"  validation: {'off' if args.no_validation else 'on'} ({args.validation_workers or 'no'} worker "
        f"processes); pack: {pack or 'none'}; layers: {', '.join(layers)}")
    print(f"  storage: SQLite WAL, synchronous={args.synchronous}")
    print(f"  accepted: {accepted}/{len(statuses)} (others: {sorted(set(statuses) - {'Success'})})")
    print(f"  documents/s: {len(latencies) / elapsed:.1f}   (target >= 100)")
    print(f"  latency p50: {q[49] * 1000:.0f} ms   p99: {q[98] * 1000:.0f} ms")
    share = validating[0] * 1000 / server_ms if server_ms else 0.0
    print(f"  share of server ITI-41 time spent validating: {share:.0%} "
          f"({validating[0]:.1f} s of {server_ms / 1000:.1f} s, summed over concurrent requests)")
    print(
        f"  server CPU: {server_cpu * 1000 / max(1, len(latencies)):.1f} ms per document (this process, all "
        "threads; validation workers not counted)")
    print(f"  machine: {os.cpu_count()} CPUs, shared with the clients (and other work); load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")


if __name__ == "__main__":
    main()
