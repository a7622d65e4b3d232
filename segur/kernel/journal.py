"""The journal: every exchange a mock saw, in order, with its verdict and the rules that fired.

It is the evidence the scenario suites read, so it records what was actually on the wire
(bodies included, up to a size) and nothing the mock inferred without saying so.

A body over the in-memory size is kept whole on disk (`BodySpill`, bounded in files and bytes): the
entry keeps its first `MAX_BODY_CHARS` and says `"whole": "spilled"`, and the admin API serves the whole
bytes (`GET /_admin/journal/<seq>/body`). When the disk bound drops a body the entry says so
(`"whole": "evicted"`), never silently: a judge reading the journal can tell its own limit from a product's
fault.
"""

from __future__ import annotations

import base64
import itertools
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

MAX_BODY_CHARS = 512 * 1024
#: The key of a body dict that carries the whole bytes to the journal, which moves them to disk: it
#: never reaches an entry (`Journal.record` takes it out).
WHOLE_KEY = "_whole"
SPILL_MAX_FILES = 2_000
SPILL_MAX_BYTES = 512 * 1024 * 1024
SIDES = ("request", "response")


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
    # a binary body is cut before encoding: it is truncated when bytes were left out, not by its text's length
    truncated = raw_size > limit * 3 // 4 if encoding == "base64" else len(text) > limit
    kept = {"encoding": encoding, "text": text[:limit], "size": raw_size, "truncated": truncated}
    if truncated:
        kept[WHOLE_KEY] = body.encode("utf-8") if isinstance(body, str) else body
    return kept


def whole_bytes(body: dict) -> bytes | None:
    """The bytes of a body the journal kept whole in memory (None when it was cut or elided)."""
    if not isinstance(body, dict) or body.get("truncated") or body.get("elided"):
        return None
    if body.get("encoding") == "none":
        return b""
    text = body.get("text") or ""
    return base64.b64decode(text) if body.get("encoding") == "base64" else text.encode("utf-8")


class BodySpill:
    """Bodies too large for the in-memory journal, one file each, bounded (oldest evicted first).

    Files go under `directory` (the mock's data dir), or a private temporary directory made on first
    use and removed with the journal. Each eviction is reported to `on_evict(seq, side)` so the entry
    can say its body is gone."""

    def __init__(self, directory: str | Path | None = None, max_files: int = SPILL_MAX_FILES,
                 max_bytes: int = SPILL_MAX_BYTES, on_evict=None):
        self._given = Path(directory) if directory else None
        self._directory: Path | None = None
        self.max_files, self.max_bytes = max_files, max_bytes
        self.on_evict = on_evict
        self._files: OrderedDict[tuple[int, str], tuple[Path, int]] = OrderedDict()
        self._bytes = 0
        self.evicted = 0
        self._lock = threading.Lock()
        if self._given is not None:
            self.directory()  # the files of an earlier run in that data dir go now, not at the first spill

    def directory(self) -> Path:
        if self._directory is None:
            if self._given is not None:
                self._given.mkdir(parents=True, exist_ok=True)
                self._directory = self._given
            else:
                self._directory = Path(tempfile.mkdtemp(prefix="segur-journal-bodies-"))
                weakref.finalize(self, shutil.rmtree, self._directory, True)
            for stale in self._directory.glob("*.body"):  # a new journal starts empty: so does its spill
                stale.unlink(missing_ok=True)
        return self._directory

    def put(self, seq: int, side: str, data: bytes) -> bool:
        """Keep `data` for (seq, side); False when it is larger than the whole bound (not kept)."""
        if len(data) > self.max_bytes or self.max_files < 1:
            return False
        path = self.directory() / f"{seq}-{side}.body"
        path.write_bytes(data)
        gone = []
        with self._lock:
            self._files[(seq, side)] = (path, len(data))
            self._bytes += len(data)
            while len(self._files) > self.max_files or self._bytes > self.max_bytes:
                key, (old_path, size) = self._files.popitem(last=False)
                self._bytes -= size
                self.evicted += 1
                gone.append((key, old_path))
        for (old_seq, old_side), old_path in gone:
            old_path.unlink(missing_ok=True)
            if self.on_evict:
                self.on_evict(old_seq, old_side)
        return True

    def read(self, seq: int, side: str) -> bytes | None:
        with self._lock:
            found = self._files.get((seq, side))
        if found is None:
            return None
        try:
            return found[0].read_bytes()
        except FileNotFoundError:
            return None

    def forget(self, seq: int) -> None:
        """Drop the files of an exchange the journal no longer holds (no eviction marker: no entry left)."""
        with self._lock:
            dropped = [self._files.pop((seq, side), None) for side in SIDES]
        for found in dropped:
            if found:
                with self._lock:
                    self._bytes -= found[1]
                found[0].unlink(missing_ok=True)

    def clear(self) -> None:
        with self._lock:
            paths = [path for path, _size in self._files.values()]
            self._files.clear()
            self._bytes = 0
            self.evicted = 0
        for path in paths:
            path.unlink(missing_ok=True)

    def stats(self) -> dict:
        with self._lock:
            return {"files": len(self._files), "bytes": self._bytes, "evicted": self.evicted,
                    "max_files": self.max_files, "max_bytes": self.max_bytes}


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
    task: str | None = None  # the proof task in force when the exchange came (`PUT /_admin/task`)

    def to_dict(self) -> dict:
        return asdict(self)


EVICTED_NOTE = "the journal's disk bound dropped this body (a harness limit: raise the spill bounds)"


class Journal:
    """Thread-safe, bounded (oldest dropped first, and counted) list of exchanges.

    Bodies over the in-memory size are kept whole in a `BodySpill` (`spill_dir`, or a temporary dir)."""

    def __init__(self, service: str, max_entries: int = 20_000, *, spill_dir: str | Path | None = None,
                 spill_max_files: int = SPILL_MAX_FILES, spill_max_bytes: int = SPILL_MAX_BYTES):
        self.service = service
        self._entries: deque[Exchange] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.dropped = 0
        self.task: str | None = None  # set by the judge before it hands a task to the product
        self.spill = BodySpill(spill_dir, spill_max_files, spill_max_bytes, on_evict=self._mark_evicted)

    def record(self, operation: str, verdict: str, *, findings=(), request=None, response=None,
               duration_ms=None, client=None, meta=None) -> Exchange:
        found = [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in findings]
        rules = list(dict.fromkeys(f["rule"] for f in found))
        wholes = {side: take_whole(part) for side, part in (("request", request), ("response", response))}
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
                self.spill.forget(self._entries[0].seq)
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
                task=self.task,
            )
            self._entries.append(exchange)
        for side, data in wholes.items():
            if data is not None:
                self._spill(exchange, side, data)
        return exchange

    def _spill(self, exchange: Exchange, side: str, data: bytes) -> None:
        # the body dict is replaced, never changed in place: the admin API may be serialising it meanwhile
        part = getattr(exchange, side)
        if self.spill.put(exchange.seq, side, data):
            part["body"] = {**part["body"], "whole": "spilled"}
        else:
            part["body"] = {**part["body"], "whole": "evicted", "evicted": EVICTED_NOTE}

    def _mark_evicted(self, seq: int, side: str) -> None:
        entry = self.get(seq)
        part = getattr(entry, side) if entry else {}
        if isinstance(part.get("body"), dict):
            part["body"] = {**part["body"], "whole": "evicted", "evicted": EVICTED_NOTE}

    def body(self, seq: int, side: str) -> tuple[bytes | None, str]:
        """The whole body of one side of an exchange, and why not when it cannot be given
        ("unknown exchange", "no body", "evicted"…)."""
        entry = self.get(seq)
        if entry is None:
            return None, f"no exchange {seq} in the journal"
        body = getattr(entry, side).get("body")
        if not isinstance(body, dict):
            return None, f"exchange {seq} journalled no {side} body"
        if body.get("whole") == "spilled":
            data = self.spill.read(seq, side)
            if data is not None:
                return data, ""
        data = whole_bytes(body)
        if data is not None:
            return data, ""
        if body.get("whole") == "evicted" or body.get("whole") == "spilled":
            return None, f"the {side} body of exchange {seq} was evicted: {EVICTED_NOTE}"
        return None, f"the journal kept only part of the {side} body of exchange {seq} (no whole copy)"

    def entries(self, operation: str | None = None, verdict: str | None = None, since: int = 0,
                limit: int | None = None, task: str | None = None) -> list[Exchange]:
        with self._lock:
            selected = [
                e for e in self._entries
                if e.seq > since
                and (operation is None or e.operation == operation)
                and (verdict is None or e.verdict == verdict)
                and (task is None or e.task == task)
            ]
        return selected[-limit:] if limit else selected

    def get(self, seq: int) -> Exchange | None:
        with self._lock:
            return next((e for e in self._entries if e.seq == seq), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.dropped = 0
        self.spill.clear()

    def __len__(self) -> int:
        return len(self._entries)


def take_whole(part) -> bytes | None:
    """The whole bytes a body dict carries to the journal (taken out: an entry never holds them)."""
    body = part.get("body") if isinstance(part, dict) else None
    return body.pop(WHOLE_KEY, None) if isinstance(body, dict) else None
