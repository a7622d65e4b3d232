"""The admin API every mock serves under `/_admin/` (JSON over HTTP).

- ``GET /_admin/health`` → ``{"service", "status": "ok", "endpoints": {...}, "pid", "workers"}`` (+ what
  the mock adds); `pid` is the worker process that answered, `workers` how many serve the port
- ``GET /_admin/journal`` (``?operation=&verdict=&since=SEQ&limit=N``), ``GET /_admin/journal/<seq>``,
  ``DELETE /_admin/journal``
- ``GET /_admin/journal/<seq>/body?side=request|response``: the whole body as it was on the wire (raw
  bytes, with the Content-Type journalled), even when the entry keeps only its first 512 KiB; 404 with
  a JSON error when the exchange is unknown, journalled no body, or its body was evicted
- ``GET|PUT /_admin/task`` (``{"task": "dmp-01"}`` or ``null``): the proof task in force; every exchange
  journalled meanwhile carries it, and ``GET /_admin/journal?task=`` selects by it; the PUT answers the
  journal's last `seq` too (``{"task", "last_seq"}``), the mark a proof takes at the task's edges
- ``POST /_admin/reset``: back to the initial state (stored data, journal, faults)
- ``GET /_admin/faults``, ``POST /_admin/faults`` (one fault object or a list), ``DELETE /_admin/faults``,
  ``DELETE /_admin/faults/<id>``
"""

from __future__ import annotations

import os
from typing import Protocol

from flask import Blueprint, Response, jsonify, request

from segur.kernel.faults import FaultBook, FaultError
from segur.kernel.journal import SIDES, Journal


class AdminHooks(Protocol):
    """What a mock gives the admin API."""

    name: str
    journal: Journal
    faults: FaultBook

    def endpoints(self) -> dict: ...

    def reset(self) -> None: ...


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _content_type_of(entry, side: str) -> str:
    """The Content-Type the exchange was journalled with (an MTOM request needs its boundary back)."""
    part = getattr(entry, side, None) or {}
    headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
    if headers.get("content-type"):
        return headers["content-type"]
    body = part.get("body") or {}
    return "text/plain; charset=UTF-8" if body.get("encoding") == "text" else "application/octet-stream"


def admin_blueprint(mock: AdminHooks, extra_health=None) -> Blueprint:
    """Build the `/_admin/` blueprint for one mock; `extra_health()` may add fields to `health`."""
    admin = Blueprint(f"{mock.name}_admin", __name__, url_prefix="/_admin")

    @admin.get("/health")
    def health():
        body = {"service": mock.name, "status": "ok", "endpoints": mock.endpoints()}
        if hasattr(mock, "workers"):  # a kernel Service: which worker process answered, of how many
            body.update(pid=os.getpid(), workers=mock.workers)
        if extra_health:
            body.update(extra_health())
        return jsonify(body)

    @admin.get("/journal")
    def journal():
        try:
            since = int(request.args.get("since", 0))
            limit = int(request.args["limit"]) if "limit" in request.args else None
        except ValueError:
            return _error(400, "since and limit must be integers")
        args = request.args
        entries = mock.journal.entries(args.get("operation"), args.get("verdict"), since, limit,
                                       task=args.get("task"))
        return jsonify({"service": mock.name, "dropped": mock.journal.dropped,
                        "entries": [e.to_dict() for e in entries]})

    @admin.get("/journal/<int:seq>")
    def journal_entry(seq: int):
        entry = mock.journal.get(seq)
        return jsonify(entry.to_dict()) if entry else _error(404, f"no exchange {seq} in the journal")

    @admin.get("/journal/<int:seq>/body")
    def journal_body(seq: int):
        side = request.args.get("side", "request")
        if side not in SIDES:
            return _error(400, "side is request or response")
        data, why = mock.journal.body(seq, side)
        if data is None:
            return _error(404, why)
        return Response(data, content_type=_content_type_of(mock.journal.get(seq), side))

    @admin.get("/task")
    def current_task():
        return jsonify({"task": mock.journal.task})

    @admin.put("/task")
    def set_task():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "task" not in body:
            return _error(400, 'send {"task": "<task id>"} or {"task": null} as JSON')
        task = body["task"]
        if task is not None and (not isinstance(task, str) or not task.strip() or len(task) > 200):
            return _error(400, 'send {"task": "<task id>"} (a non-empty string) or {"task": null}')
        mock.journal.task = task
        latest = mock.journal.entries(None, None, 0, 1)
        return jsonify({"task": task, "last_seq": latest[-1].seq if latest else 0})

    @admin.delete("/journal")
    def clear_journal():
        mock.journal.clear()
        return jsonify({"cleared": True})

    @admin.post("/reset")
    def reset():
        mock.reset()
        mock.journal.clear()
        mock.faults.clear()
        return jsonify({"service": mock.name, "reset": True})

    @admin.get("/faults")
    def list_faults():
        return jsonify({"kinds": mock.faults.kinds, "faults": [f.to_dict() for f in mock.faults.list()]})

    @admin.post("/faults")
    def add_faults():
        spec = request.get_json(silent=True)
        if spec is None:
            return _error(400, "send a JSON fault object (or a list of them) "
                               "with Content-Type: application/json")
        specs = spec if isinstance(spec, list) else [spec]
        try:
            added = [mock.faults.add(s) for s in specs]
        except FaultError as exc:
            return _error(400, str(exc))
        return jsonify({"added": [f.to_dict() for f in added]}), 201

    @admin.delete("/faults")
    def clear_faults():
        mock.faults.clear()
        return jsonify({"cleared": True})

    @admin.delete("/faults/<int:fault_id>")
    def remove_fault(fault_id: int):
        if mock.faults.remove(fault_id):
            return jsonify({"removed": fault_id})
        return _error(404, f"no fault {fault_id}")

    return admin
