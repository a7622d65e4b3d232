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


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def message(number: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: message {number}\r\nX-MSS-NIL: 1234\r\n\r\n"
            f"Bonjour,\r\nmessage de test numero {number}.\r\n").encode()


def send(smtp_port: int, first: int, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        client.login(SENDER, PASSWORD)
        for number in range(first, first + count):
            client.sendmail(SENDER, [RECIPIENT], message(number))


def report(label: str, pid: int, imap: imaplib.IMAP4 | None, sent: int, started: float) -> dict:
    if imap is not None:
        imap.noop()
    figures = {"messages": sent, "rss_mib": round(rss_mib(pid), 1),
               "messages_per_s": round(sent / (time.monotonic() - started), 1)}
    print(label, json.dumps(figures), flush=True)
    return figures


def open_inbox(imap_port: int) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", imap_port, timeout=60)
    imap.login(RECIPIENT, PASSWORD)
    imap.select("INBOX")
    return imap


def run(n: int, data: Path, watch: bool = True) -> None:
    process, smtp_port, imap_port = start_server(data)
    try:
        imap = open_inbox(imap_port) if watch else None
        print("start", json.dumps({"rss_mib": round(rss_mib(process.pid), 1)}), flush=True)
        started, sent = time.monotonic(), 0
        while sent < n:
            count = min(PER_SESSION, n - sent)
            send(smtp_port, sent, count)
            sent += count
            if sent % REPORT_EVERY == 0 and sent < n:
                report("progress", process.pid, imap, sent, started)
        report("end", process.pid, imap, sent, started)
        imap = imap or open_inbox(imap_port)
        status, [exists] = imap.select("INBOX")
        print("inbox opened", json.dumps({"rss_mib": round(rss_mib(process.pid), 1)}), flush=True)
        imap.logout()
        size = sum(f.stat().st_size for f in data.iterdir())
        print("inbox", exists.decode(), "messages;", f"store {size / 2**20:.1f} MiB on disk;",
              "load average", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
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
        run(args.n, args.keep, not args.no_imap)
        return
    with tempfile.TemporaryDirectory(prefix="segur-mss-bench-") as tmp:
        run(args.n, Path(tmp), not args.no_imap)


if __name__ == "__main__":
    main()
