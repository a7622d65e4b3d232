"""MSSanté mock: CPU milliseconds of each phase of the server path of one message, measured in-process.

CPU time (``time.process_time``), the minimum of N runs: less sensitive than messages/s to the
other work on a shared machine. The message is the benchmark's (`benchmarks/mssante.py`): a
conformant 1.43 MB message carrying a ~1 MB IHE_XDM.ZIP.

    python benchmarks/mssante_phases.py [--runs 15] [--size-kb 1000] [--stock-smtp] [--pack DIR | --no-pack]

The validator runs with the official CDA pack (``--pack``, else ``SEGUR_PACK``, else ../shared/ref/cda
when present), as the mock does when it is configured; the output names the pack and the layers that ran.
Each validator run gets fresh bytes: the Schematron runtime keeps Saxon's tree of the last bytes
*objects* it saw, and validating the same object again only measured the cache (7 ms printed, 18-23 ms
real, before the N1 body placeholder).

Phases: SMTP DATA reception over STARTTLS (the mock's chunked reader, or aiosmtpd's line loop with
``--stock-smtp``; a no-op handler, the sender in another process, server CPU per message), MIME
parsing, attachment decoding, the IHE_XDM.ZIP reader (zip, METADATA.XML, CDA header, hash), the CDA
validator, the whole check, the whole `backend.process` (checks, stamped copy, store), the IMAP
append (pymap parses the stored copy) and the journal record.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import smtplib
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mssante import RECIPIENT, SENDER, benchmark_message  # noqa: E402

from segur.fixtures.world import load_world  # noqa: E402
from segur.kernel.journal import Journal  # noqa: E402
from segur.mocks.mssante import checks, xdm  # noqa: E402
from segur.mocks.mssante.models import MssanteBackend, run_validator  # noqa: E402


def _min_cpu_ms(runs: int, action) -> float:
    action()  # warm-up (imports, caches, packs)
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best * 1000


def _min_cpu_ms_fresh(runs: int, data: bytes, action) -> float:
    """`_min_cpu_ms` for a consumer that caches by object identity (the validator keeps Saxon's tree of
    the last bytes objects it saw): each run gets its own copy of `data`, made outside the timing, as
    the server gets fresh bytes for every message."""
    copies = [bytes(bytearray(data)) for _ in range(runs + 1)]
    action(copies[0])  # warm-up (imports, caches, packs)
    best = float("inf")
    for copy in copies[1:]:
        started = time.process_time()
        action(copy)
        best = min(best, time.process_time() - started)
    return best * 1000


def _send(port: int, ca_file: str, message: bytes, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.starttls(context=ssl.create_default_context(cafile=ca_file))
        for _ in range(count):
            client.sendmail("a@example.org", ["b@example.org"], message)


def reception_ms(message: bytes, runs: int, stock: bool) -> float:
    """Server CPU per message of STARTTLS + DATA with a no-op handler (the sender is another process)."""
    from aiosmtpd.smtp import SMTP

    from segur.kernel.pki import TestPki
    from segur.mocks.mssante.smtp_data import ChunkedData

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    cls = SMTP if stock else type("Chunked", (ChunkedData, SMTP), {})
    with tempfile.TemporaryDirectory() as folder:
        pki = TestPki.load_or_create(Path(folder))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(pki.server.cert_file), str(pki.server.key_file))
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        server = asyncio.run_coroutine_threadsafe(loop.create_server(
            lambda: cls(Handler(), hostname="bench", tls_context=context, require_starttls=True, loop=loop,
                        data_size_limit=25 * 1024 * 1024), "127.0.0.1", 0), loop).result()
        port = server.sockets[0].getsockname()[1]
        best = float("inf")
        for count in (1, runs, runs):  # the first round warms up
            usage = resource.getrusage(resource.RUSAGE_SELF)
            before = usage.ru_utime + usage.ru_stime
            sender = multiprocessing.Process(target=_send, args=(port, str(pki.ca_file), message, count))
            sender.start()
            sender.join()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            best = min(best, (usage.ru_utime + usage.ru_stime - before) / count) if count == runs else best
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--size-kb", type=int, default=1000)
    parser.add_argument("--stock-smtp", action="store_true", help="aiosmtpd's own DATA loop, for comparison")
    parser.add_argument("--pack", type=Path, default=None, help="official CDA pack (default: SEGUR_PACK or "
                        "../shared/ref/cda when present)")
    parser.add_argument("--no-pack", action="store_true", help="validate without the official pack")
    args = parser.parse_args()
    _use_pack(args.pack, args.no_pack)
    raw = benchmark_message(args.size_kb)
    world = load_world()
    recipients = [world.mailbox(RECIPIENT)]
    message, _ = checks.parse_message(raw)
    zip_bytes = next(a for a in checks.attachments_of(message) if a.kind == "zip").content
    cda = xdm.read_xdm(zip_bytes).documents[0].content
    report = checks.check_message(raw, login=SENDER, recipients=recipients, validate=run_validator)
    backend = MssanteBackend(world, validate=run_validator)
    journal = Journal("mssante")  # the service's journal (no store: as the in-process fixtures)
    accepted = [backend.check_recipient(RECIPIENT)]
    stamped = backend._stamp(raw, "MSS-000001", report)
    rows = [
        (f"SMTP DATA over STARTTLS ({'aiosmtpd line loop' if args.stock_smtp else 'chunked reader'})",
         reception_ms(raw, args.runs, args.stock_smtp)),
        ("MIME parse (checks.parse_message)", _min_cpu_ms(args.runs, lambda: checks.parse_message(raw))),
        ("attachments decoded (checks.attachments_of)",
         _min_cpu_ms(args.runs, lambda: checks.attachments_of(message))),
        ("IHE_XDM.ZIP read (zip, METADATA.XML, CDA header, SHA-1)",
         _min_cpu_ms(args.runs, lambda: xdm.read_xdm(zip_bytes))),
        ("CDA validator (segur.validators.validate, fresh bytes each run)",
         _min_cpu_ms_fresh(args.runs, cda, run_validator)),
        ("all checks (checks.check_message)", _min_cpu_ms(args.runs, lambda: checks.check_message(
            raw, login=SENDER, recipients=recipients, validate=run_validator))),
        ("backend.process (checks, stamped copy, store)", _min_cpu_ms(args.runs, lambda: backend.process(
            raw, login=SENDER, envelope_from=SENDER, accepted=accepted))),
        ("IMAP append (pymap parses the stored copy)", _imap_append_ms(backend, journal, stamped, args.runs)),
        ("journal record", _min_cpu_ms(args.runs, lambda: journal.record(
            "smtp-message", "accepted", findings=report.findings, request={"size": len(raw)},
            meta={"documents": [d.to_dict() for d in report.package.documents]}))),
    ]
    layers = ", ".join(layer.name for layer in run_validator(cda).layers if layer.status == "ran")
    print(f"message {len(raw) / 1e6:.2f} MB, verdict {report.verdict}; CPU ms, minimum of {args.runs} runs")
    print(f"validator: pack {os.environ.get('SEGUR_PACK') or 'none'}; layers run: {layers}")
    for name, value in rows:
        print(f"{value:8.2f}  {name}")


def _use_pack(pack: Path | None, no_pack: bool) -> None:
    """Point `run_validator` (which reads SEGUR_PACK / segur.toml) at the official pack, or at none."""
    if no_pack:
        os.environ.pop("SEGUR_PACK", None)
        return
    default = Path(__file__).resolve().parents[2] / "shared" / "ref" / "cda"
    chosen = pack or (Path(os.environ["SEGUR_PACK"]) if os.environ.get("SEGUR_PACK") else None)
    chosen = chosen or (default if default.is_dir() else None)
    if chosen is not None:
        os.environ["SEGUR_PACK"] = str(chosen)


def _imap_append_ms(backend, journal: Journal, stamped: bytes, runs: int) -> float:
    from segur.mocks.mssante.imap import ImapService

    service = ImapService(backend, journal, "127.0.0.1", 0, None)

    async def run() -> float:
        await service.deliver(RECIPIENT, stamped)
        best = float("inf")
        for _ in range(runs):
            started = time.process_time()
            await service.deliver(RECIPIENT, stamped)
            best = min(best, time.process_time() - started)
        return best * 1000

    return asyncio.run(run())


if __name__ == "__main__":
    main()
