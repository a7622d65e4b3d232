"""Fault injection: make a mock slow, failing or overloaded on demand, for a share of calls.

A fault is data (JSON from `/_admin/faults`): a kind, the operation it targets (``*`` for all),
an optional `match` on the call's context (e.g. ``{"ins": "279035121518989"}``), a `ratio` of
calls it hits, and a `count` after which it expires. Generic kinds every mock honours:

- ``latency``: sleep ``ms`` milliseconds (plus up to ``jitter_ms`` at random) before answering;
- ``http_error``: answer HTTP ``status`` (default 503) without processing;
- ``overload``: sleep ``ms`` (default 10 s) and then answer ``status`` (default 504), as a
  service that accepted the connection but never finished the work.

Each mock adds its own kinds (a SOAP fault, an XDS error, an SMTP reply…) with their parameters.
Randomness comes from a seeded generator so that a run can be replayed.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

GENERIC_KINDS = {
    "latency": {"ms": 0, "jitter_ms": 0},
    "http_error": {"status": 503, "message": "Service Unavailable (fault injected)"},
    "overload": {"ms": 10_000, "status": 504, "message": "Gateway Timeout (fault injected: overloaded)"},
}


class FaultError(ValueError):
    """A fault specification the mock cannot honour; the admin API answers 400 with this text."""


@dataclass
class Fault:
    id: int
    kind: str
    operation: str = "*"
    match: dict = field(default_factory=dict)
    ratio: float = 1.0
    count: int | None = None  # calls left before the fault expires; None = until cleared
    params: dict = field(default_factory=dict)
    hits: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def applies_to(self, operation: str, context: Mapping) -> bool:
        if self.operation not in ("*", operation):
            return False
        return all(str(context.get(key)) == str(value) for key, value in self.match.items())

    def delay_seconds(self, rng: random.Random) -> float:
        jitter = self.params.get("jitter_ms", 0) or 0
        return (self.params.get("ms", 0) + (rng.uniform(0, jitter) if jitter else 0)) / 1000.0


class FaultBook:
    """The faults in force for one mock; `select` tells which hit a given call."""

    def __init__(self, extra_kinds: Mapping[str, dict] | None = None, seed: int = 0,
                 sleep: Callable[[float], None] = time.sleep):
        self.kinds = {**GENERIC_KINDS, **(extra_kinds or {})}
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._sleep = sleep

    def add(self, spec: Mapping) -> Fault:
        """Validate a JSON specification and put the fault in force."""
        fault = self.parse(spec)
        with self._lock:
            if "seed" in spec:
                self._rng.seed(spec["seed"])
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def parse(self, spec: Mapping) -> Fault:
        """The fault a JSON specification describes (id 0: not in force yet); FaultError if invalid.
        Shared by every store of faults (in memory here, `faults_pg` for workers)."""
        if not isinstance(spec, Mapping):
            raise FaultError("a fault is a JSON object")
        kind = spec.get("kind")
        if kind not in self.kinds:
            raise FaultError(f"unknown fault kind {kind!r}; this mock knows: {', '.join(sorted(self.kinds))}")
        known = {"kind", "operation", "match", "ratio", "count", "seed", *self.kinds[kind]}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise FaultError(f"unknown field(s) for a {kind!r} fault: {', '.join(unknown)}")
        ratio = spec.get("ratio", 1.0)
        if not isinstance(ratio, int | float) or not 0 < ratio <= 1:
            raise FaultError("ratio must be a number in (0, 1]")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultError("count must be a positive integer")
        match = spec.get("match", {})
        if not isinstance(match, Mapping):
            raise FaultError("match must be an object of context keys to values")
        params = {**self.kinds[kind], **{k: spec[k] for k in self.kinds[kind] if k in spec}}
        for key in ("ms", "jitter_ms"):
            if key in params and (not isinstance(params[key], int | float) or params[key] < 0):
                raise FaultError(f"{key} must be a non-negative number of milliseconds")
        return Fault(0, kind, spec.get("operation", "*"), dict(match), float(ratio), count, params)

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def select(self, operation: str, context: Mapping | None = None) -> list[Fault]:
        """The faults that hit this call (drawn once per call, counting down `count`)."""
        context = context or {}
        hit: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.applies_to(operation, context) or self._rng.random() >= fault.ratio:
                    continue
                fault.hits += 1
                hit.append(fault)
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
        return hit

    def delay(self, faults: list[Fault]) -> float:
        """Sleep for the latency and overload faults among `faults`; returns the seconds slept."""
        with self._lock:
            seconds = sum(f.delay_seconds(self._rng) for f in faults if f.kind in ("latency", "overload"))
        if seconds:
            self._sleep(seconds)
        return seconds

    @staticmethod
    def first(faults: list[Fault], *kinds: str) -> Fault | None:
        return next((f for f in faults if f.kind in kinds), None)
