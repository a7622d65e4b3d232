"""The journal: every exchange a mock saw, in order, with its verdict and the rules that fired.

It is the evidence the scenario suites read, so it records what was actually on the wire
(bodies included, up to a size) and nothing the mock inferred without saying so.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

MAX_BODY_CHARS = 512 * 1024


def body_for_journal(body: bytes | str | None, limit: int = MAX_BODY_CHARS) -> dict:
    """A request or response body as JSON can hold it: text when it is UTF-8, base64 otherwise."""
    if body is None:
        return {"encoding": "none", "text": "", "size": 0, "truncated": False}
    if isinstance(body, str):
        raw_size, text, encoding = len(body.encode("utf-8")), body, "text"
    else:
        raw_size = len(body)
        try:
            text, encoding = body.decode("utf-8"), "text"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(body[: limit * 3 // 4]).decode("ascii"), "base64"
    truncated = len(text) > limit
    return {"encoding": encoding, "text": text[:limit], "size": raw_size, "truncated": truncated}


@dataclass
class Exchange:
    """One request and what the mock answered."""

    seq: int
    time: str
    service: str
    operation: str
    verdict: str  # "accepted", "rejected", "error", "fault-injected"…: the mock's word for the outcome
    rules: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    request: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)
    duration_ms: float | None = None
    client: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Journal:
    """Thread-safe, bounded (oldest dropped first, and counted) list of exchanges."""

    def __init__(self, service: str, max_entries: int = 20_000):
        self.service = service
        self._entries: deque[Exchange] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.dropped = 0

    def record(self, operation: str, verdict: str, *, findings=(), request=None, response=None,
               duration_ms=None, client=None, meta=None) -> Exchange:
        found = [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in findings]
        rules = list(dict.fromkeys(f["rule"] for f in found))
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            exchange = Exchange(
                seq=next(self._seq),
                time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                service=self.service,
                operation=operation,
                verdict=verdict,
                rules=rules,
                findings=found,
                request=request or {},
                response=response or {},
                duration_ms=None if duration_ms is None else round(duration_ms, 3),
                client=client or {},
                meta=meta or {},
            )
            self._entries.append(exchange)
        return exchange

    def entries(self, operation: str | None = None, verdict: str | None = None, since: int = 0,
                limit: int | None = None) -> list[Exchange]:
        with self._lock:
            selected = [
                e for e in self._entries
                if e.seq > since
                and (operation is None or e.operation == operation)
                and (verdict is None or e.verdict == verdict)
            ]
        return selected[-limit:] if limit else selected

    def get(self, seq: int) -> Exchange | None:
        with self._lock:
            return next((e for e in self._entries if e.seq == seq), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)
