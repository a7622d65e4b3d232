"""MSSanté mock: CPU milliseconds of each phase of the server path of one message, measured in-process.

CPU time of the thread doing the work (``time.thread_time``: the server's event-loop thread for
the SMTP reception, this thread for the rest), the minimum and the median of N runs, with the load
average before and after: less sensitive than messages/s to the other work on a shared machine.
The message is the benchmark's (`benchmarks/mssante.py`): a conformant 1.43 MB message carrying a
~1 MB IHE_XDM.ZIP.

    python benchmarks/mssante_phases.py [--runs 15] [--size-kb 1000] [--stock-smtp] [--pack DIR | --no-pack]

The validator runs with the official CDA pack (``--pack``, else ``SEGUR_PACK``, else ../shared/ref/cda
when present), as the mock does when it is configured; the output names the pack and the layers that ran.
Every run gets fresh bytes (a copy of the message, or of the CDA, made outside the timing), as the
server gets for every message: the Schematron runtime keeps Saxon's tree of the last bytes *objects* it
saw and the validator the N1 body text of the last elements, so validating the same object again only
measured those caches (7 ms printed, 18-23 ms real, before the N1 body placeholder).

Phases: SMTP DATA reception over STARTTLS (the mock's DATA reader, or aiosmtpd's line loop with
``--stock-smtp``; a no-op handler, the sender in another process, server CPU per message), MIME
parsing, the attachments (kind, size, the zip decoded), the IHE_XDM.ZIP reader (zip, METADATA.XML, CDA
header, hash), the CDA validator, the whole check, the whole `backend.process` (checks, stamped copy,
store) with the in-memory store of the tests and with the SQLite file of `segur serve`, the IMAP append
(pymap parses the stored copy) and the journal record; then the server's CPU per message: reception +
`backend.process` (in memory) + IMAP append.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import smtplib
import ssl
import statistics
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


def _cpu_ms(runs: int, make, action) -> tuple[float, float]:
    """(minimum, median) CPU ms of this thread for `action(make())`, each run on a fresh input made
    outside the timing (a consumer may cache by object identity; the server never sees an object twice),
    after one warm-up run (imports, caches, packs)."""
    inputs = [make() for _ in range(runs + 1)]
    action(inputs[0])
    spent = []
    for item in inputs[1:]:
        started = time.thread_time()
        action(item)
        spent.append(time.thread_time() - started)
    return min(spent) * 1000, statistics.median(spent) * 1000


def _fresh(data: bytes):
    """A maker of copies of `data` (new objects, same bytes)."""
    return lambda: bytes(bytearray(data))


def _send(port: int, ca_file: str, message: bytes, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.starttls(context=ssl.create_default_context(cafile=ca_file))
        for _ in range(count):
            client.sendmail("a@example.org", ["b@example.org"], message)


def reception_ms(message: bytes, runs: int, stock: bool) -> float:
    """Server CPU per message of STARTTLS + DATA with a no-op handler (the sender is another process): the
    event-loop thread's CPU over one session of `runs` messages, divided by `runs`."""
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

        async def loop_cpu() -> float:
            return time.thread_time()

        def server_cpu() -> float:  # the event-loop thread's CPU: the whole server side of the session
            return asyncio.run_coroutine_threadsafe(loop_cpu(), loop).result()

        spent = []
        for count in (1, runs):  # the first round warms up
            before = server_cpu()
            sender = multiprocessing.Process(target=_send, args=(port, str(pki.ca_file), message, count))
            sender.start()
            sender.join()
            spent.append((server_cpu() - before) / count)
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return spent[-1] * 1000


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
    load_before = _load()
    reception = reception_ms(raw, args.runs, args.stock_smtp)
    process = _cpu_ms(args.runs, _fresh(raw), lambda copy: backend.process(
        copy, login=SENDER, envelope_from=SENDER, accepted=accepted))
    append = _imap_append_ms(backend, journal, stamped, args.runs)
    rows = [
        (f"SMTP DATA over STARTTLS ({'aiosmtpd line loop' if args.stock_smtp else 'smtp_data reader'}, "
         "mean of one session)", (reception, reception)),
        ("MIME parse (checks.parse_message)", _cpu_ms(args.runs, _fresh(raw), checks.parse_message)),
        ("attachments: kind, size, the zip decoded (checks.attachments_of)", _cpu_ms(
            args.runs, lambda: checks.parse_message(bytes(bytearray(raw)))[0], _attachments)),
        ("IHE_XDM.ZIP read (zip, METADATA.XML, CDA header, SHA-1)",
         _cpu_ms(args.runs, _fresh(zip_bytes), xdm.read_xdm)),
        ("CDA validator (segur.validators.validate)", _cpu_ms(args.runs, _fresh(cda), run_validator)),
        ("all checks (checks.check_message)", _cpu_ms(
            args.runs, _fresh(raw),
            lambda copy: checks.check_message(copy, login=SENDER, recipients=recipients,
                                              validate=run_validator))),
        ("backend.process (checks, stamped copy, store in memory)", process),
        ("backend.process, SQLite store on disk (as `segur serve mssante`)", _on_disk(world, args.runs, raw)),
        ("IMAP append (pymap parses the stored copy)", append),
        ("journal record", _cpu_ms(args.runs, _fresh(raw), lambda copy: journal.record(
            "smtp-message", "accepted", findings=report.findings, request={"size": len(copy)},
            meta={"documents": [d.to_dict() for d in report.package.documents]}))),
    ]
    layers = ", ".join(layer.name for layer in run_validator(cda).layers if layer.status == "ran")
    print(f"message {len(raw) / 1e6:.2f} MB, verdict {report.verdict}; CPU ms of the working thread, "
          f"minimum / median of {args.runs} runs, fresh bytes each run")
    print(f"load average: {load_before} before, {_load()} after; {os.cpu_count()} CPUs")
    print(f"validator: pack {os.environ.get('SEGUR_PACK') or 'none'}; layers run: {layers}")
    for name, (least, median) in rows:
        print(f"{least:8.2f} {median:8.2f}  {name}")
    least, median = (reception + process[i] + append[i] for i in (0, 1))
    print(f"{least:8.2f} {median:8.2f}  server CPU per message: reception + process (memory) + IMAP append")


def _attachments(message) -> list:
    """What the checks learn of the attachments before the archive is read: kind and size of each, the
    zip's bytes (a PDF copy is decoded only when its text is not the CDA's: `checks.Attachment`)."""
    found = checks.attachments_of(message)
    return [(a.kind, a.size, a.content if a.kind == "zip" else None) for a in found]


def _on_disk(world, runs: int, raw: bytes) -> tuple[float, float]:
    """`backend.process` with the store `segur serve mssante` uses: SQLite in WAL mode in a data folder."""
    with tempfile.TemporaryDirectory() as folder:
        backend = MssanteBackend(world, validate=run_validator, data_dir=folder)
        accepted = [backend.check_recipient(RECIPIENT)]
        try:
            return _cpu_ms(runs, _fresh(raw), lambda copy: backend.process(
                copy, login=SENDER, envelope_from=SENDER, accepted=accepted))
        finally:
            backend.close()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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


def _imap_append_ms(backend, journal: Journal, stamped: bytes, runs: int) -> tuple[float, float]:
    from segur.mocks.mssante.imap import ImapService

    service = ImapService(backend, journal, "127.0.0.1", 0, None)

    async def run() -> tuple[float, float]:
        await service.deliver(RECIPIENT, stamped)
        spent = []
        for _ in range(runs):
            copy = bytes(bytearray(stamped))
            started = time.thread_time()
            await service.deliver(RECIPIENT, copy)
            spent.append(time.thread_time() - started)
        return min(spent) * 1000, statistics.median(spent) * 1000

    return asyncio.run(run())


if __name__ == "__main__":
    main()
