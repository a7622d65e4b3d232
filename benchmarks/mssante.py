"""MSSanté mock: messages/s and latency of N concurrent SMTP senders, each message carrying a ~1 MB XDM.

Starts the mock in this process on loopback (STARTTLS, every check on: XDM reading, METADATA.XML
↔ CDA agreement, headers, subject, CDA validation with `segur.validators.validate`), then N sender
processes (so the senders do not compete with the server for its interpreter lock). Each sender
opens one SMTP session (EHLO, STARTTLS, AUTH PLAIN) and sends its share of the messages; the
latency measured is one message's MAIL…DATA round trip. Every 40 messages the mock's mailboxes
are emptied (outside the senders' timing) so memory stays bounded. Target: >= 200 messages/s.

    python benchmarks/mssante.py [--senders 8] [--messages 100] [--no-validate] [--workers N]

The ~1 MB XDM holds a CR-IMG N1 (the ANS example) whose embedded PDF is replaced by ~1.3 MB of
random base64, so the zip does not shrink it. On the 2-core reference machine the senders and the
server share the two cores.
"""

from __future__ import annotations

import argparse
import base64
import email.policy
import os
import re
import smtplib
import ssl
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import mss_message, running_mssante

SENDER = "jacques.bideault@radiologie-ambroise.mssante.fr"
RECIPIENT = "laurent.chevallier@ch-toulouse.mssante.fr"
EXAMPLE = Path(os.environ.get("SEGUR_REF", Path(__file__).resolve().parents[1].parent / "shared" / "ref")) \
    / "cda" / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml"


def one_megabyte_message(size_kb: int = 1000) -> bytes:
    cda = EXAMPLE.read_bytes()
    noise = base64.b64encode(os.urandom(size_kb * 1000)).decode()
    lines = "\n".join(noise[i:i + 76] for i in range(0, len(noise), 76))
    cda = re.sub(rb"(<text[^>]*representation=\"B64\"[^>]*>)(.*?)(</text>)",
                 lambda m: m[1] + lines.encode() + m[3], cda, count=1, flags=re.S)
    return mss_message(SENDER, RECIPIENT, [cda]).as_bytes(policy=email.policy.SMTP)  # CRLF line ends


def _sender(host: str, port: int, ca_file: str, password: str, message: bytes, count: int) -> tuple[list[float], int]:
    context = ssl.create_default_context(cafile=ca_file)
    latencies, failed = [], 0
    with smtplib.SMTP(host, port, timeout=60) as client:
        client.starttls(context=context)
        client.login(SENDER, password)
        for _ in range(count):
            start = time.perf_counter()
            try:
                client.sendmail(SENDER, [RECIPIENT], message)
            except smtplib.SMTPException:
                failed += 1
            latencies.append(time.perf_counter() - start)
    return latencies, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100, help="total messages (bounded: at most 2000)")
    parser.add_argument("--no-validate", action="store_true", help="skip the CDA validator (other checks stay)")
    parser.add_argument("--workers", type=int, default=0, help="run the checks in N worker processes")
    parser.add_argument("--size-kb", type=int, default=1000, help="random payload in the CDA (default ~1 MB XDM)")
    args = parser.parse_args()
    total = min(args.messages, 2000)
    if not EXAMPLE.exists():
        sys.exit(f"the ANS example {EXAMPLE} is needed (set SEGUR_REF)")
    message = one_megabyte_message(args.size_kb)
    options = {"validate": False} if args.no_validate else {}
    options["workers"] = args.workers
    with running_mssante(load_world(), **options) as mss:
        stop = threading.Event()

        def empty_mailboxes() -> None:  # keep memory bounded: ~4 MB per stored 1 MB message
            while not stop.wait(0.05):
                if len(mss.backend.messages()) >= 40:
                    mss.mock.reset()

        janitor = threading.Thread(target=empty_mailboxes, daemon=True)
        janitor.start()
        shares = [total // args.senders + (1 if i < total % args.senders else 0) for i in range(args.senders)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.senders) as pool:
            futures = [pool.submit(_sender, mss.smtp_host, mss.smtp_port, str(mss.server.pki.ca_file), mss.password,
                                   message, share) for share in shares if share]
            results = [f.result() for f in futures]
        elapsed = time.perf_counter() - started
        stop.set()
        verdicts = {e.verdict for e in mss.backend.journal.entries("smtp-message")}
    latencies = sorted(x for lat, _ in results for x in lat)
    failed = sum(f for _, f in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"message size: {len(message) / 1e6:.2f} MB, checks on, validator "
          f"{'off' if args.no_validate else 'on'}; verdicts seen: {sorted(verdicts)}")
    print(f"check workers: {args.workers or 'in-process threads'}")
    print(f"senders: {args.senders}, messages: {len(latencies)}, failed: {failed}, wall time: {elapsed:.2f} s")
    print(f"throughput: {len(latencies) / elapsed:.1f} messages/s "
          f"({len(latencies) * len(message) / elapsed / 1e6:.1f} MB/s)")
    print(f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print("target: >= 200 messages/s")


if __name__ == "__main__":
    main()
