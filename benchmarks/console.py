"""Benchmark of the web console: a page with 10,000 journal entries loaded, and how soon a new exchange shows
in the live view.

    .venv/bin/python benchmarks/console.py
    .venv/bin/python benchmarks/console.py --entries 20000 --rounds 10

Starts a stack in-process (free loopback ports, the console's window raised to hold every entry), records
`--entries` INSi exchanges straight into the INSi mock's journal (a SOAP search each, as the mock journals
one), then times over HTTP:

- the first `/activity` (the console pulls the whole journal once),
- `/activity` again (the page a user reloads: the newest 200 rows of the entries held),
- `/api/activity?patient=NAME` with a name no entry holds (the filter reads every entry held);

and the live delay: a poller does what the page's script does (`/api/activity?after=` every second) while
real INSi searches are sent over SOAP; the delay is from the search's answer to the poll that shows it.
Targets (issue 17): the page under 200 ms with 10,000 entries; a new exchange shown in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segur.mocks.insi.testing import soap_envelope, traits_body  # noqa: E402
from segur.up import free_port_overrides, load_config, start_stack  # noqa: E402

POLL_S = 1.0  # the page's script polls every second (segur/console/static/console.js)
MAX_ENTRIES = 50_000


def _get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as answer:
        body = answer.read()
    return (time.perf_counter() - started) * 1000, body


def _fill(journal, count: int) -> None:
    request = soap_envelope(traits_body()).decode("utf-8")
    for number in range(count):
        journal.record("rechercherInsAvecTraitsIdentite", "accepted",
                       request={"path": "/lps", "body": {"encoding": "text", "text": request,
                                                         "size": len(request), "truncated": False}},
                       response={"status": 200}, meta={"candidates": 1, "code_cr": "00", "n": number})


def _search(soap_url: str) -> None:
    call = urllib.request.Request(soap_url, data=soap_envelope(traits_body()), method="POST",
                                  headers={"Content-Type": "application/soap+xml; charset=UTF-8"})
    with urllib.request.urlopen(call, timeout=10) as answer:
        answer.read()


def live_delays(base: str, soap_url: str, rounds: int) -> list[float]:
    """Seconds from each search's answer to the poll that first lists it."""
    last = json.loads(_get(base + "api/activity")[1])["last"]
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        nonlocal last
        while not stop.is_set():
            rows = json.loads(_get(f"{base}api/activity?service=insi&after={last}")[1])
            for row in rows["rows"]:
                seen.setdefault(row["seq"], time.perf_counter())
            last = rows["last"]
            stop.wait(POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    delays = []
    for _ in range(rounds):
        time.sleep(random.uniform(0.05, POLL_S))  # not in step with the poller
        before = set(seen)
        _search(soap_url)
        sent = time.perf_counter()
        while not set(seen) - before and time.perf_counter() - sent < 10:
            time.sleep(0.01)
        new = set(seen) - before
        delays.append(seen[min(new)] - sent if new else float("inf"))
    stop.set()
    poller.join(timeout=5)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    entries = min(args.entries, MAX_ENTRIES)
    with tempfile.TemporaryDirectory(prefix="segur-bench-console-") as scratch:
        overrides = free_port_overrides()
        overrides["mssante"]["validation"] = False
        overrides["dmp"]["validation"] = False
        overrides["console"]["window"] = entries + 1000
        overrides["stack"] = {"data": f"{scratch}/data", "pki": f"{scratch}/pki"}
        with start_stack(load_config(overrides=overrides)) as stack:
            base = stack.endpoints()["console"]["console"]
            _fill(stack.services["insi"].journal, entries)
            first, _ = _get(base + "activity")
            pages = [_get(base + "activity")[0] for _ in range(args.rounds)]
            filtered = [_get(base + "api/activity?patient=NOBODY-HERE")[0] for _ in range(args.rounds)]
            delays = live_delays(base, stack.endpoints()["insi"]["soap"], args.rounds)
    print(f"console with {entries} journal entries held")
    print(f"  first /activity (pulls the whole journal): {first:.0f} ms")
    print(f"  /activity: median {statistics.median(pages):.0f} ms, max {max(pages):.0f} ms "
          f"(target < 200 ms) over {len(pages)} loads")
    print(f"  /api/activity?patient=NOBODY-HERE (a filter matching none: every entry read): median "
          f"{statistics.median(filtered):.0f} ms, max {max(filtered):.0f} ms")
    median, worst = statistics.median(delays), max(delays)
    print(f"  live delay, a new INSi search to the live view (poll every {POLL_S:.0f} s): median "
          f"{median:.2f} s, max {worst:.2f} s (target < 2 s) over {len(delays)} searches")


if __name__ == "__main__":
    main()
