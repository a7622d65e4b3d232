"""MSSanté mock with a data folder: memory (RSS) of the server while N small messages go into one mailbox.

Starts ``segur serve mssante --no-tls --no-validate --data <tmp>`` as a separate process, opens an
IMAP session with the recipient's INBOX selected (so the server keeps that INBOX's index up to
date, the worst case: a client watching the mailbox all along), then sends N small messages over
SMTP (a new session every 1,000 messages, within the mock's per-session command limit). Every
10,000 messages, and at the end, it prints the server's RSS (from /proc) after an IMAP NOOP (the
INBOX index then holds every message) and the messages/s so far. At the end the load average and
the store's size on disk.

    python benchmarks/mssante_store.py [--n 100000] [--keep DIR] [--no-imap]

``--no-imap``: no IMAP client during the run (the INBOX index is then never built; it is at the end).

What it shows: the bodies live in the SQLite file, not in the server's memory; what grows is the
IMAP index of the open INBOX (UID, flags, date per message: a few hundred bytes each).

The bound it checks (printed at the start, each sample says whether the RSS is under it; exit code 1
when the peak RSS went over): the RSS at start + `JOURNAL_MIB` (the journal's 20,000 entries of small
messages) + `PER_INDEXED_KIB` per message of an INBOX a client has opened (its index and pymap's
state, with the allocator's fragmentation; measured 2026-12-06 at ~1.8 KiB). Nothing per message byte:
the bodies are on disk. docs/deploy.md states the same bound.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SENDER = "jacques.bideault@radiologie-ambroise.mssante.fr"
RECIPIENT = "laurent.chevallier@ch-toulouse.mssante.fr"
PASSWORD = "mssante-test"
PER_SESSION = 1_000
REPORT_EVERY = 10_000
JOURNAL_MIB = 60  # the journal at its 20,000-entry cap, ~2.5 KiB an entry for a small message, rounded up
PER_INDEXED_KIB = 2.5  # per message of an opened INBOX: ~1.8 KiB measured, rounded up


def bound_mib(start_mib: float, indexed: int) -> float:
    """The RSS the server must stay under with `indexed` messages in INBOXes a client has opened."""
    return start_mib + JOURNAL_MIB + indexed * PER_INDEXED_KIB / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen, int, int]:
    smtp_port, imap_port = free_port(), free_port()
    command = [sys.executable, "-m", "segur", "serve", "mssante", "--no-tls", "--no-validate",
               "--data", str(data), "--smtp-port", str(smtp_port), "--imap-port", str(imap_port),
               "--port", str(free_port())]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if "Ctrl-C" in line:
            return process, smtp_port, imap_port
    raise SystemExit("the server did not start")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """The process's resident set (``VmRSS``) or its peak so far (``VmHWM``), in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def message(number: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: message {number}\r\nX-MSS-NIL: 1234\r\n\r\n"
            f"Bonjour,\r\nmessage de test numero {number}.\r\n").encode()


def send(smtp_port: int, first: int, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        client.login(SENDER, PASSWORD)
        for number in range(first, first + count):
            client.sendmail(SENDER, [RECIPIENT], message(number))


def report(label: str, pid: int, imap: imaplib.IMAP4 | None, sent: int, started: float, bound: float) -> dict:
    if imap is not None:
        imap.noop()
    rss = rss_mib(pid)
    figures = {"messages": sent, "rss_mib": round(rss, 1), "peak_rss_mib": round(rss_mib(pid, "VmHWM"), 1),
               "bound_mib": round(bound, 1), "under_bound": rss <= bound,
               "messages_per_s": round(sent / (time.monotonic() - started), 1), "load_average": load()}
    print(label, json.dumps(figures), flush=True)
    return figures


def open_inbox(imap_port: int) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", imap_port, timeout=60)
    imap.login(RECIPIENT, PASSWORD)
    imap.select("INBOX")
    return imap


def run(n: int, data: Path, watch: bool = True) -> bool:
    """Send `n` messages, sample the RSS; True when it stayed under the bound all along."""
    process, smtp_port, imap_port = start_server(data)
    try:
        imap = open_inbox(imap_port) if watch else None
        start = rss_mib(process.pid)
        print("start", json.dumps({"rss_mib": round(start, 1), "load_average": load()}), flush=True)
        print(f"bound: RSS <= start {start:.1f} MiB + journal {JOURNAL_MIB} MiB + {PER_INDEXED_KIB} KiB per "
              f"message of an opened INBOX = {bound_mib(start, n):.1f} MiB after {n:,} messages "
              f"({bound_mib(start, 0):.1f} MiB while no client has the INBOX open)", flush=True)
        started, sent = time.monotonic(), 0
        while sent < n:
            count = min(PER_SESSION, n - sent)
            send(smtp_port, sent, count)
            sent += count
            if sent % REPORT_EVERY == 0 and sent < n:
                report("progress", process.pid, imap, sent, started, bound_mib(start, sent if watch else 0))
        report("end", process.pid, imap, sent, started, bound_mib(start, sent if watch else 0))
        imap = imap or open_inbox(imap_port)
        status, [exists] = imap.select("INBOX")
        imap.noop()
        final, peak, bound = rss_mib(process.pid), rss_mib(process.pid, "VmHWM"), bound_mib(start, n)
        figures = {"rss_mib": round(final, 1), "peak_rss_mib": round(peak, 1), "bound_mib": round(bound, 1),
                   "under_bound": peak <= bound}
        print("inbox opened", json.dumps(figures), flush=True)
        imap.logout()
        size = sum(f.stat().st_size for f in data.iterdir())
        print("inbox", exists.decode(), "messages;", f"store {size / 2**20:.1f} MiB on disk;",
              "load average", load(), flush=True)
        verdict = "<=" if peak <= bound else "> (OVER)"
        print(f"peak RSS {peak:.1f} MiB {verdict} bound {bound:.1f} MiB", flush=True)
        return peak <= bound
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="messages to send (default 100,000)")
    parser.add_argument("--keep", type=Path, help="data folder to use and keep (default: a temporary one)")
    parser.add_argument("--no-imap", action="store_true", help="no IMAP client watching during the run")
    args = parser.parse_args()
    if args.keep:
        sys.exit(0 if run(args.n, args.keep, not args.no_imap) else 1)
    with tempfile.TemporaryDirectory(prefix="segur-mss-bench-") as tmp:
        sys.exit(0 if run(args.n, Path(tmp), not args.no_imap) else 1)


if __name__ == "__main__":
    main()
