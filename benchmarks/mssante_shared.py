"""MSSanté mock on SQLite (one process) and on PostgreSQL (two processes on one database): small messages/s
under concurrent SMTP clients, then `kill -9` of every server and a restart — how many acknowledged messages
(`250`) are found, over IMAP and in the store, and how many are duplicated.

Starts a throw-away PostgreSQL cluster (`segur.kernel.postgres.ThrowawayCluster`), then for each store:
`segur serve mssante --no-tls --no-validate` (with `--store postgresql://…` twice for PostgreSQL), C client
threads sending N messages in all (a new SMTP session every 200 messages; on PostgreSQL the clients alternate
between the two processes), SIGKILL of the servers right after the last reply, one restart, an IMAP count of
the recipient's INBOX. Prints messages/s, acknowledged, found, missing, duplicated, and the load average.
The throw-away cluster runs with `fsync=off` (a test server): what is measured is a crash of the mock's
processes, not of the database server's host.

    python benchmarks/mssante_shared.py [--n 1000] [--clients 4]
"""

from __future__ import annotations

import argparse
import imaplib
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from segur.kernel.postgres import ThrowawayCluster

SENDER = "jacques.bideault@radiologie-ambroise.mssante.fr"
RECIPIENT = "laurent.chevallier@ch-toulouse.mssante.fr"
PASSWORD = "mssante-test"
PER_SESSION = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data: Path, store: str) -> tuple[subprocess.Popen, dict]:
    command = [sys.executable, "-m", "segur", "serve", "mssante", "--no-tls", "--no-validate",
               "--data", str(data), "--smtp-port", str(free_port()), "--imap-port", str(free_port()),
               "--port", str(free_port()), *(["--store", store] if store else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    for line in process.stdout:
        if "Ctrl-C" in line:
            return process, json.loads("".join(lines))["endpoints"]
        lines.append(line)
    raise SystemExit("the server did not start")


def message(number: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: bench {number}\r\nX-MSS-NIL: 1234\r\n\r\n"
            f"body of message {number}\r\n").encode()


def send(endpoints: dict, numbers: list[int], acknowledged: list[int]) -> None:
    smtp = endpoints["smtp"]
    for start in range(0, len(numbers), PER_SESSION):
        with smtplib.SMTP(smtp["host"], smtp["port"], timeout=60) as client:
            client.login(SENDER, PASSWORD)
            for number in numbers[start:start + PER_SESSION]:
                client.mail(SENDER)
                client.rcpt(RECIPIENT)
                if client.data(message(number))[0] == 250:
                    acknowledged.append(number)


def inbox_numbers(endpoints: dict) -> list[int]:
    imap = endpoints["imap"]
    client = imaplib.IMAP4(imap["host"], imap["port"], timeout=60)
    client.login(RECIPIENT, PASSWORD)
    client.select("INBOX", readonly=True)
    _, fetched = client.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    client.logout()
    numbers = []
    for item in fetched:
        if isinstance(item, tuple):
            subject = item[1].decode().strip()
            numbers.append(int(subject.rsplit(" ", 1)[1]))
    return numbers


def run(label: str, folder: Path, store: str, processes: int, n: int, clients: int) -> None:
    servers = [start_server(folder / f"p{i}", store) for i in range(processes)]
    acknowledged: list[int] = []
    shares = [list(range(i, n, clients)) for i in range(clients)]
    threads = [threading.Thread(target=send, args=(servers[i % processes][1], share, acknowledged))
               for i, share in enumerate(shares)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for process, _ in servers:
        process.send_signal(signal.SIGKILL)  # right after the last 250: nothing flushed, nothing closed
        process.wait()
    process, endpoints = start_server(folder / "p0", store)
    try:
        found = inbox_numbers(endpoints)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    missing = set(acknowledged) - set(found)
    duplicated = len(found) - len(set(found))
    rate = len(acknowledged) / elapsed
    print(f"{label}: {len(acknowledged)} acknowledged in {elapsed:.1f} s ({rate:.0f} msg/s, {clients}"
          f" clients, {processes} process(es)); after kill -9 + restart: {len(found)} found over IMAP,"
          f" {len(missing)} missing, {duplicated} duplicated", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segur-bench-") as scratch, ThrowawayCluster() as cluster:
        root = Path(scratch)
        run("SQLite, 1 process", root / "sqlite", "", 1, args.n, args.clients)
        run("PostgreSQL, 2 processes", root / "pg", cluster.create_database("bench"), 2, args.n, args.clients)
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
