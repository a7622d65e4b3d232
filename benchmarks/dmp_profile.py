"""DMP mock: where one ITI-41 (CR-IMG N1, 1 MB PDF) spends its CPU on the server, phase by phase.

Starts the mock in this process (official pack when present, SQLite in a temporary directory),
sends the benchmark's request N times, one after the other, from a client thread on a real
socket, and measures on the server thread only: each phase's CPU time (`time.thread_time`, so
the client's and other processes' work is not counted) and wall time, with the load average before and
after. Phases nest (the metadata rules contain the validator, which contains its layers and the Ségur
rules' modules); the table indents each phase under the one it runs in. The wall column is inflated
by the client thread sharing the interpreter lock and by the machine's load: compare the CPU column.

    python benchmarks/dmp_profile.py [--count 30] [--cprofile 25 [--sort tottime]] [--no-pack]
                                     [--synchronous FULL|NORMAL]

`--cprofile N` also prints the N most expensive functions (cumulative CPU, or their own CPU with
`--sort tottime`) of the server thread.
CPU per document is less noisy than documents/s on a shared machine: use it to compare changes.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import hashlib
import http.client
import io
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "mocks" / "dmp"))  # the request builders of the tests (dmp_helpers)
sys.path.insert(0, str(REPO / "benchmarks"))

from dmp import _pdf  # noqa: E402
from dmp_helpers import ITI41, DmpCase, envelope, mtom, parse_answer, provide_and_register  # noqa: E402

from segur.fixtures.world import load_world  # noqa: E402
from segur.kernel.pki import TestPki  # noqa: E402
from segur.mocks.dmp import digest, metadata_rules, models, responses, storage, vihf  # noqa: E402
from segur.mocks.dmp.testing import running_dmp  # noqa: E402
from segur.validators import api, packs, structure, xsd  # noqa: E402
from segur.validators import segur_rules as segur_rules_mod  # noqa: E402
from segur.validators.schematron import body as schematron_body  # noqa: E402
from segur.validators.segur_rules import body as segur_body  # noqa: E402

_cpu: dict[str, float] = defaultdict(float)
_wall: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_per_request: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))  # phase → request → CPU s
_request = [0]
_server_threads: set[int] = set()
_profiles: list[cProfile.Profile] = []
_profiling = [False]
_faults: list[int] = []  # minor page faults of the server thread, per request (memory first touched)


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if threading.get_ident() not in _server_threads:
            return fn(*args, **kwargs)
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - cpu
            _cpu[name] += spent
            _per_request[name][_request[0]] += spent
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
    ("VIHF check (signature, claims)", 1),
    ("XML-DSig verification (fast path or signxml)", 2),
    ("documents from xop:Include", 1),
    ("ebRIM parse", 2),
    ("ITI-41 backend", 1),
    ("repository checks (size, PDF)", 2),
    ("patient / DMP access", 2),
    ("metadata rules (check_submission)", 2),
    ("SHA-1 of the document", 3),
    ("validator.validate (all layers)", 3),
    ("xml: safe parse (expat prolog + lxml)", 4),
    ("structure (root check)", 4),
    ("xsd (lxml schema)", 4),
    ("schematron: placeholder view of the body", 4),
    ("schematron: pack runs (Saxon tree + XSLT)", 4),
    ("segur rules (all)", 4),
    ("segur identity", 5),
    ("segur professionals", 5),
    ("segur body (N1 PDF)", 5),
    ("base64 decode of the body", 6),
    ("PDF checks (complete, PDF/A, active content)", 6),
    ("segur header", 5),
    ("segur volet", 5),
    ("segur results", 5),
    ("CDA header read", 3),
    ("store (SQLite transaction)", 2),
    ("document file write", 3),
    ("metadata as JSON (plain + json.dumps)", 3),
    ("registry answer (SOAP + journal)", 1),
    ("journal record", 2),
]


def _instrument(dmp) -> None:
    backend = dmp.backend
    ex = responses._Exchange
    _patch(ex, "_read_body", "read HTTP body")
    _patch(responses, "read_http_body", "MTOM split")
    _patch(responses, "parse_envelope", "SOAP envelope parse")
    _patch(ex, "_registry_answer", "registry answer (SOAP + journal)")
    _patch(ex, "_journal", "journal record")
    _patch(backend, "provide_and_register", "ITI-41 backend")
    _patch(responses, "verify_vihf", "VIHF check (signature, claims)")
    _patch(vihf, "_verify_signature", "XML-DSig verification (fast path or signxml)")
    _patch(responses.ebrim, "parse_submission", "ebRIM parse")
    _patch(responses, "read_provide_and_register", "documents from xop:Include")
    _patch(backend, "_document_checks", "repository checks (size, PDF)")
    _patch(backend, "access_findings", "patient / DMP access")
    _patch(backend, "_store_submission", "store (SQLite transaction)")
    storage.json = _TimedJson(json)
    _patch(storage, "plain", "metadata as JSON (plain + json.dumps)")
    if hasattr(storage, "_write_new_file"):  # the SQLite store keeps each document in a file of its own
        _patch(storage, "_write_new_file", "document file write")
    _patch(models, "check_submission", "metadata rules (check_submission)")
    _patch(metadata_rules, "read_header_root", "CDA header read")
    # the document's SHA-1 is computed once (`digest.sha1_of`, cached by identity), first by the metadata
    # rules (`_registry_duplicates` needs it only for a uniqueId already stored): time the hashing there
    digest.hashlib = _TimedSha1(hashlib.sha1)
    validator = backend.validator
    if validator is not None:
        _patch(validator, "validate", "validator.validate (all layers)")
    _patch(api.safe_xml, "parse", "xml: safe parse (expat prolog + lxml)")
    _patch(structure, "check_root", "structure (root check)")
    _patch(xsd, "check", "xsd (lxml schema)")
    _patch(schematron_body, "schematron_view", "schematron: placeholder view of the body")
    _patch(packs.CompiledEntry, "run", "schematron: pack runs (Saxon tree + XSLT)")
    _patch(segur_rules_mod, "check_segur", "segur rules (all)")
    names = {"body": "segur body (N1 PDF)"}
    segur_rules_mod._CHECKS = tuple(
        _timed(names.get(short, f"segur {short}"), check)
        for check in segur_rules_mod._CHECKS for short in [check.__module__.rpartition(".")[2]])
    _patch(segur_body, "_decode", "base64 decode of the body")
    _patch(segur_body, "_check_pdf", "PDF checks (complete, PDF/A, active content)")

    flask_app = dmp.server.app
    original_wsgi = flask_app.wsgi_app

    def wsgi_app(environ, start_response):
        _server_threads.add(threading.get_ident())
        _request[0] += 1
        profile = None
        if _profiling[0]:
            profile = cProfile.Profile(time.thread_time)  # CPU of this thread, not wall time
            _profiles.append(profile)
            profile.enable()
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        try:
            return _timed("wsgi: whole request in the app", original_wsgi)(environ, start_response)
        finally:
            if profile is not None:
                profile.disable()
            _faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults)

    flask_app.wsgi_app = wsgi_app


class _TimedJson:
    """Stands in for `json` in `segur.mocks.dmp.storage`: its `dumps` timed on the server thread."""

    def __init__(self, module):
        self.dumps = _timed("metadata as JSON (plain + json.dumps)", module.dumps)
        self.loads = module.loads


class _TimedSha1:
    """Stands in for `hashlib` in `segur.mocks.dmp.digest`: its `sha1` timed on the server thread."""

    def __init__(self, sha1):
        self.sha1 = _timed("SHA-1 of the document", sha1)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    parser.add_argument(
        "--sort", choices=("cumulative", "tottime"), default="cumulative",
        help="order of --cprofile's functions: with their callees or on their own")
    args = parser.parse_args()

    pack = None
    default = REPO.parent / "shared" / "ref" / "cda"
    if not args.no_pack:
        pack = Path(os.environ["SEGUR_PACK"]) if os.environ.get("SEGUR_PACK") else default
    pdf = _pdf(args.pdf_size)
    load_before = _load()
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
            _cpu.clear(), _wall.clear(), _calls.clear(), _per_request.clear(), _faults.clear()
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
    print(f"load average: {load_before} before, {_load()} after; {os.cpu_count()} CPUs")
    header = "phase (server thread; indented = inside the one above)"
    print(f"{header:<56} {'CPU ms/doc: mean':>16} {'median':>6} {'min':>6} {'wall mean':>9}")
    for label, depth in PHASES:
        if _calls.get(label):
            spent = sorted(_per_request[label].values()) + [0.0] * (n - len(_per_request[label]))
            print(
                f"{'  ' * depth + label:<56} {_cpu[label] * 1000 / n:>16.2f} "
                f"{statistics.median(spent) * 1000:>6.2f} {min(spent) * 1000:>6.2f} "
                f"{_wall[label] * 1000 / n:>9.2f}")
    print("not inside a timed phase (the phase's own code: dispatch, glue, answers), CPU ms/doc mean:")
    for index, (label, depth) in enumerate(PHASES):
        children = []
        for child, child_depth in PHASES[index + 1:]:
            if child_depth <= depth:
                break
            if child_depth == depth + 1:
                children.append(child)
        if children and _calls.get(label):
            rest = _cpu[label] - sum(_cpu.get(child, 0.0) for child in children)
            print(f"{'  ' * depth + '(rest of) ' + label:<56} {rest * 1000 / n:>16.2f}")
    for name, total in layers.items():
        print(f"{'        layer ' + name + ' (wall, from the report)':<56} {'':>30} {total / n:>9.2f}")
    print(f"minor page faults of the server thread per request (load-independent): median "
          f"{statistics.median(_faults):.0f}, min {min(_faults)}, max {max(_faults)} "
          f"(4 KiB each: {statistics.median(_faults) * 4 / 1024:.1f} MiB of memory touched afresh)")
    print(
        f"sequential round trip: {elapsed * 1000 / n:.1f} ms/doc ({n / elapsed:.1f} documents/s, one client)")
    if _profiles:
        stream = io.StringIO()
        stats = pstats.Stats(_profiles[0], stream=stream)
        for profile in _profiles[1:]:
            stats.add(profile)
        stats.sort_stats(args.sort).print_stats(args.cprofile)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
