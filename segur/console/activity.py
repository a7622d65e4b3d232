"""The live activity: every service's journal merged in arrival order, kept as light rows to filter fast.

Each refresh asks every service for the exchanges after the last one seen (`GET /_admin/journal?since=`),
so a page or a poll costs one small call per service. A row keeps what the filters need (service, task,
verdict, rule ids, operation facts) and a folded search text made of the exchange's facts and the start of
its bodies: a patient or a professional is found by INS, NIR, RPPS or name there. The whole exchange is
read from its service when a row is opened.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field

from segur.console.peers import AdminApi, AdminError, ServiceDown
from segur.console.world import fold, patient_terms, professional_terms

#: how much of each body goes into a row's search text (names and ids sit near the start of a request)
SEARCH_REQUEST_CHARS = 8 * 1024
SEARCH_RESPONSE_CHARS = 2 * 1024
FILTERS = ("service", "patient", "professional", "task", "rule", "verdict")


@dataclass
class Row:
    """One exchange as the live view lists it; `id` orders the rows across services."""

    id: int
    service: str
    seq: int
    time: str
    operation: str
    verdict: str
    rules: list[str]
    task: str | None
    facts: str
    text: str = field(repr=False)
    documents: tuple[str, ...] = ()  # the document uniqueIds the exchange's facts name (a DMP submission)

    def to_dict(self) -> dict:
        return {"id": self.id, "service": self.service, "seq": self.seq, "time": self.time,
                "operation": self.operation, "verdict": self.verdict, "rules": self.rules, "task": self.task,
                "facts": self.facts}


def facts_of(entry: dict) -> str:
    """A short line of the exchange's own facts (its journal `meta`): patient, caller, documents…"""
    said = []
    for key, value in (entry.get("meta") or {}).items():
        if isinstance(value, list):
            plain = [str(v) for v in value if isinstance(v, str | int | float)]
            value = ", ".join(plain[:3]) + (" …" if len(plain) > 3 else "")
        if isinstance(value, str | int | float) and str(value):
            said.append(f"{key}: {value}")
    text = "; ".join(said)
    return text if len(text) <= 160 else text[:159] + "…"


def _body_text(part: dict, limit: int) -> str:
    body = (part or {}).get("body") or {}
    return body.get("text", "")[:limit] if body.get("encoding") == "text" else ""


def row_of(row_id: int, entry: dict) -> Row:
    text = " ".join((json.dumps(entry.get("meta") or {}, ensure_ascii=False), entry.get("operation", ""),
                     _body_text(entry.get("request"), SEARCH_REQUEST_CHARS),
                     _body_text(entry.get("response"), SEARCH_RESPONSE_CHARS)))
    return Row(row_id, entry["service"], entry["seq"], entry.get("time", ""), entry.get("operation", ""),
               entry.get("verdict", ""), list(entry.get("rules") or []), entry.get("task"), facts_of(entry),
               fold(text), tuple(str(d) for d in (entry.get("meta") or {}).get("documents") or ()))


@dataclass
class Selection:
    """The filters of the live view, as typed (empty = not filtered)."""

    service: str = ""
    patient: str = ""
    professional: str = ""
    task: str = ""
    rule: str = ""
    verdict: str = ""

    @classmethod
    def of(cls, args) -> Selection:
        return cls(**{name: (args.get(name) or "").strip() for name in FILTERS})

    def active(self) -> bool:
        return any(getattr(self, name) for name in FILTERS)

    def matcher(self, world):
        patients = patient_terms(world, self.patient)
        professionals = professional_terms(world, self.professional)
        rule = self.rule.upper()

        def matches(row: Row) -> bool:
            return ((not self.service or row.service == self.service)
                    and (not self.task or row.task == self.task)
                    and (not self.verdict or row.verdict == self.verdict)
                    and (not rule or any(r.upper() == rule for r in row.rules))
                    and (not patients or any(term in row.text for term in patients))
                    and (not professionals or any(term in row.text for term in professionals)))

        return matches


class Feed:
    """The merged journals, the latest `window` exchanges of each service kept (oldest dropped first)."""

    def __init__(self, admin: AdminApi, window: int = 5000, world=None):
        self.admin, self.window, self.world = admin, window, world
        self._rows: list[Row] = []
        self._cursor: dict[str, int] = {}
        self._bases: dict[str, str | None] = {}  # the admin URL each cursor belongs to
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards the rows
        self._pulling = threading.Lock()  # one refresh at a time
        self.down: dict[str, str] = {}  # service → why it did not answer at the last refresh

    def refresh(self) -> None:
        """Pull what every service journalled since the last refresh. A caller arriving while another
        refresh runs waits for it and takes its result (many browsers polling one console cost one pull)."""
        if not self._pulling.acquire(blocking=False):
            with self._pulling:
                return
        try:
            entries = [entry for service in self.admin.services() for entry in self._pull(service)]
            entries.sort(key=lambda entry: entry.get("time") or "")  # arrival order across services
            rows = [row_of(next(self._ids), entry) for entry in entries]
            with self._lock:
                self._rows.extend(rows)
                self._trim()
        finally:
            self._pulling.release()

    def _pull(self, service: str) -> list[dict]:
        base = self.admin.base(service)
        if self._bases.get(service, base) != base:  # another instance: its journal counts from 1 again
            self._forget(service)
        self._bases[service] = base
        since = self._cursor.get(service)
        try:
            entries = self.admin.journal(service, since=since or 0, limit=None if since else self.window)
        except (ServiceDown, AdminError) as exc:
            self.down[service] = str(exc)
            return []
        self.down.pop(service, None)
        if entries:
            self._cursor[service] = entries[-1]["seq"]
        else:
            self._cursor.setdefault(service, 0)
        return [{"service": service, **entry} for entry in entries]

    def _forget(self, service: str) -> None:
        self._cursor.pop(service, None)
        with self._lock:
            self._rows = [row for row in self._rows if row.service != service]

    def _trim(self) -> None:
        counts: dict[str, int] = {}
        for row in self._rows:
            counts[row.service] = counts.get(row.service, 0) + 1
        if all(count <= self.window for count in counts.values()):
            return
        kept, seen = [], {}
        for row in reversed(self._rows):
            seen[row.service] = seen.get(row.service, 0) + 1
            if seen[row.service] <= self.window:
                kept.append(row)
        self._rows = kept[::-1]

    def rows(self, selection: Selection, after: int = 0, limit: int = 200) -> list[Row]:
        """The newest `limit` rows after row id `after` that the selection keeps, newest first."""
        matches = selection.matcher(self.world)
        with self._lock:
            rows = self._rows
        found = []
        for row in reversed(rows):
            if row.id <= after or len(found) >= limit:
                break
            if matches(row):
                found.append(row)
        return found

    def last_id(self) -> int:
        with self._lock:
            return self._rows[-1].id if self._rows else 0

    def values(self, name: str) -> list[str]:
        """The values a filter can take now (the choices of a select)."""
        with self._lock:
            rows = list(self._rows)
        if name == "rule":
            return sorted({rule for row in rows for rule in row.rules})
        return sorted({str(getattr(row, name)) for row in rows if getattr(row, name)})

    def find_document(self, unique_id: str) -> Row | None:
        """The newest DMP submission (ITI-41) whose facts name the document `unique_id`."""
        with self._lock:
            rows = list(self._rows)
        return next((row for row in reversed(rows) if row.service == "dmp" and row.operation == "ITI-41"
                     and unique_id in row.documents), None)

    def __len__(self) -> int:
        return len(self._rows)
