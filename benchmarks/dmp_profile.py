"""DMP mock: where one ITI-41 (CR-IMG N1, 1 MB PDF) spends its CPU on the server, phase by phase.

Starts the mock in this process (official pack when present, SQLite in a temporary directory),
sends the benchmark's request N times, one after the other, from a client thread on a real
socket, and measures on the server thread only: each phase's CPU time (`time.thread_time`, so
the client's and other processes' work is not counted) and wall time. Phases nest (the metadata
rules contain the validator, which contains its layers); the table says which.

    python benchmarks/dmp_profile.py [--count 30] [--cprofile 25] [--no-pack] [--synchronous FULL|NORMAL]

`--cprofile N` also prints the N most expensive functions (cumulative) of the server thread.
CPU per document is less noisy than documents/s on a shared machine: use it to compare changes.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the request builders the tests use (dmp_helpers)
sys.path.insert(0, str(REPO / "benchmarks"))

_cpu: dict[str, float] = defaultdict(float)
_wall: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_server_threads: set[int] = set()
_profiles: list[cProfile.Profile] = []
_profiling = [False]


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if threading.get_ident() not in _server_threads:
            return fn(*args, **kwargs)
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _cpu[name] += time.thread_time() - cpu
            _wall[name] += time.perf_counter() - wall
            _calls[name] += 1
    return wrapper


def _patch(owner, attribute: str, name: str) -> None:
    setattr(owner, attribute, _timed(name, getattr(owner, attribute)))


# (label, nesting depth) in the order of a request
PHASES = [
    ("wsgi: whole request in the app", 0),
    ("read HTTP body", 1),
    ("MTOM split", 1),
    ("SOAP envelope parse", 1),
    ("ITI-41 backend", 1),
    ("VIHF check (signature, claims)", 2),
    ("ebRIM parse", 2),
    ("documents from xop:Include", 2),
    ("submission checks (sha1, PDF, duplicates)", 2),
    ("patient / DMP access", 2),
    ("metadata rules (check_submission)", 2),
    ("validator.validate (all layers)", 3),
    ("CDA header read", 3),
    ("store (SQLite transaction)", 2),
    ("registry answer (SOAP + journal)", 1),
    ("journal record", 2),
]


def _instrument(dmp) -> None:
    from segur.mocks.dmp import metadata_rules, models, responses

    backend = dmp.backend
    ex = responses._Exchange
    _patch(ex, "_read_body", "read HTTP body")
    _patch(responses, "read_http_body", "MTOM split")
    _patch(responses, "parse_envelope", "SOAP envelope parse")
    _patch(ex, "_registry_answer", "registry answer (SOAP + journal)")
    _patch(ex, "_journal", "journal record")
    _patch(backend, "provide_and_register", "ITI-41 backend")
    _patch(responses, "verify_vihf", "VIHF check (signature, claims)")
    _patch(responses.ebrim, "parse_submission", "ebRIM parse")
    _patch(responses, "read_provide_and_register", "documents from xop:Include")
    _patch(backend, "_document_checks", "submission checks (sha1, PDF, duplicates)")
    _patch(backend, "access_findings", "patient / DMP access")
    _patch(backend, "_store_submission", "store (SQLite transaction)")
    _patch(models, "check_submission", "metadata rules (check_submission)")
    _patch(metadata_rules, "read_header_root", "CDA header read")
    validator = backend.validator
    if validator is not None:
        _patch(validator, "validate", "validator.validate (all layers)")

    flask_app = dmp.server.app
    original_wsgi = flask_app.wsgi_app

    def wsgi_app(environ, start_response):
        _server_threads.add(threading.get_ident())
        profile = None
        if _profiling[0]:
            profile = cProfile.Profile()
            _profiles.append(profile)
            profile.enable()
        try:
            return _timed("wsgi: whole request in the app", original_wsgi)(environ, start_response)
        finally:
            if profile is not None:
                profile.disable()

    flask_app.wsgi_app = wsgi_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--pdf-size", type=int, default=1_000_000)
    parser.add_argument("--no-pack", action="store_true")
    parser.add_argument(
        "--synchronous", choices=("NORMAL", "FULL"), default="NORMAL",
        help="SQLite (default NORMAL, the mock's default)")
    parser.add_argument(
        "--cprofile", type=int, default=0, help="print the N costliest functions (cumulative)")
    args = parser.parse_args()

    import http.client
    from urllib.parse import urlsplit

    from dmp import _pdf
    from dmp_helpers import ITI41, DmpCase, envelope, mtom, parse_answer, provide_and_register

    from segur.fixtures.world import load_world
    from segur.kernel.pki import TestPki
    from segur.mocks.dmp.testing import running_dmp

    pack = None
    default = REPO.parent / "shared" / "ref" / "cda"
    if not args.no_pack:
        pack = Path(os.environ["SEGUR_PACK"]) if os.environ.get("SEGUR_PACK") else default
    pdf = _pdf(args.pdf_size)
    with tempfile.TemporaryDirectory(prefix="segur-dmp-profile-") as scratch:
        pki = TestPki.load_or_create(Path(scratch) / "pki")
        world = load_world()
        case = DmpCase(pki, world)
        bodies = []
        for _ in range(args.count + 2):
            request, by_id = case.submission([case.cda(pdf=pdf)])
            body, parts = provide_and_register(request, by_id)
            bodies.append(mtom(envelope(ITI41, body, case.security()), parts))
        with running_dmp(Path(scratch) / "data", pki=pki, world=world, validator_pack=pack if pack else False,
                         max_body=16 * 1024 * 1024, power_safe=args.synchronous == "FULL") as dmp:
            _instrument(dmp)
            parts = urlsplit(dmp.endpoint("repository"))
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)

            def send(content_type, payload):
                conn.request("POST", parts.path, body=payload, headers={"Content-Type": content_type})
                response = conn.getresponse()
                answer = parse_answer(
                    response.status, response.getheader("Content-Type", ""), response.read())
                assert answer.registry_status == "Success", answer.rules()
            for content_type, payload in bodies[:2]:  # warm-up: pack compilation, first connections
                send(content_type, payload)
            _cpu.clear(), _wall.clear(), _calls.clear()
            _profiling[0] = args.cprofile > 0
            started = time.perf_counter()
            for content_type, payload in bodies[2:]:
                send(content_type, payload)
            elapsed = time.perf_counter() - started
            _profiling[0] = False
            layers = defaultdict(float)
            for entries in dmp.backend.documents_by_patient().values():
                for entry in entries[2:]:
                    for layer in (entry.get("validation") or {}).get("layers", []):
                        layers[layer["name"]] += layer.get("elapsed_ms") or 0.0
            conn.close()
    n = args.count
    print(f"ITI-41, CR-IMG N1 {len(pdf) / 1e6:.2f} MB PDF ({len(bodies[0][1]) / 1e6:.2f} MB request), "
          f"{n} sequential requests, pack: {pack or 'none'}, synchronous={args.synchronous}")
    print(f"{'phase (server thread)':<48} {'CPU ms/doc':>10} {'wall ms/doc':>11}")
    for label, depth in PHASES:
        if _calls.get(label):
            print(
                f"{'  ' * depth + label:<48} {_cpu[label] * 1000 / n:>10.2f} "
                f"{_wall[label] * 1000 / n:>11.2f}")
    for name, total in layers.items():
        print(f"{'      layer ' + name + ' (wall, from the report)':<48} {'':>10} {total / n:>11.2f}")
    print(
        f"sequential round trip: {elapsed * 1000 / n:.1f} ms/doc ({n / elapsed:.1f} documents/s, one client)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    if _profiles:
        stream = io.StringIO()
        stats = pstats.Stats(_profiles[0], stream=stream)
        for profile in _profiles[1:]:
            stats.add(profile)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
