"""The DMP mock's journal: the kernel's, bounded in the memory its bodies take (an ITI-41 is often
megabytes)."""

from __future__ import annotations

import threading
from collections import deque

from segur.kernel.journal import MAX_BODY_CHARS, WHOLE_KEY, Journal, body_for_journal, whole_bytes

JOURNAL_BODY_BUDGET = 64 * 1024 * 1024  # characters of request/response bodies the journal keeps in all


def journal_body(body: bytes | None, limit: int = MAX_BODY_CHARS) -> dict:
    """`body_for_journal` that reads only what it keeps: a body over `limit` bytes is decoded up to
    `limit` bytes (cut on a UTF-8 character boundary), not decoded whole and then cut — an ITI-41
    request is often megabytes. `size` is still the full size, and `truncated` says it was cut."""
    if body is None or len(body) <= limit:
        return body_for_journal(body, limit)
    cut = limit
    while cut > limit - 4 and cut > 0 and body[cut] & 0xC0 == 0x80:  # do not split a UTF-8 sequence
        cut -= 1
    kept = body_for_journal(body[:cut], limit)
    kept.pop(WHOLE_KEY, None)
    kept.update(size=len(body), truncated=True, **{WHOLE_KEY: body})  # the journal keeps it whole on disk
    return kept


class DmpJournal(Journal):
    """The mock kit's journal, with a bound on the bodies it holds in memory.

    Each body is kept in memory up to 512 KiB (whole on disk beyond: the kit's `BodySpill`); in
    addition, once the bodies of all kept exchanges exceed `body_budget` characters, the oldest
    exchanges' bodies are elided from memory (their size, verdict, rules and findings stay, and the
    body moves to disk): a long benchmark of 1.4 MB submissions must not grow the mock by 512 KiB
    per request without end.
    """

    def __init__(self, service: str, body_budget: int = JOURNAL_BODY_BUDGET, **options):
        super().__init__(service, **options)
        self.body_budget = body_budget
        self._with_bodies: deque = deque()
        self._body_chars = 0
        self._budget_lock = threading.Lock()

    def record(self, operation: str, verdict: str, **details):
        exchange = super().record(operation, verdict, **details)
        size = _body_chars(exchange)
        with self._budget_lock:
            self._with_bodies.append((exchange, size))
            self._body_chars += size
            while self._body_chars > self.body_budget and len(self._with_bodies) > 1:
                old, old_size = self._with_bodies.popleft()
                self._body_chars -= old_size
                for name in ("request", "response"):
                    self._elide(old, name)
        return exchange

    def _elide(self, exchange, side: str) -> None:
        """Drop a body from memory; one not yet on disk goes there first, so it stays readable whole."""
        part = getattr(exchange, side)
        body = part.get("body")
        if not isinstance(body, dict) or not body.get("text"):
            return
        data = whole_bytes(body)
        if data is not None and body.get("whole") is None:
            self._spill(exchange, side, data)
        part["body"] = {**part["body"], "text": "", "truncated": True,
                        "elided": "older bodies are dropped beyond the journal's memory budget"}

    def clear(self) -> None:
        super().clear()
        with self._budget_lock:
            self._with_bodies.clear()
            self._body_chars = 0


def _body_chars(exchange) -> int:
    sides = (exchange.request, exchange.response)
    return sum(len((side.get("body") or {}).get("text") or "") for side in sides)
