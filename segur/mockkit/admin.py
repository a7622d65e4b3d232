"""The admin API every mock serves under `/_admin/` (JSON over HTTP).

- ``GET /_admin/health`` → ``{"service", "status": "ok", "endpoints": {...}}`` (+ what the mock adds)
- ``GET /_admin/journal`` (``?operation=&verdict=&since=SEQ&limit=N``), ``GET /_admin/journal/<seq>``,
  ``DELETE /_admin/journal``
- ``POST /_admin/reset``: back to the initial state (stored data, journal, faults)
- ``GET /_admin/faults``, ``POST /_admin/faults`` (one fault object or a list), ``DELETE /_admin/faults``,
  ``DELETE /_admin/faults/<id>``
"""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, jsonify, request

from segur.mockkit.faults import FaultBook, FaultError
from segur.mockkit.journal import Journal


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


def admin_blueprint(mock: AdminHooks, extra_health=None) -> Blueprint:
    """Build the `/_admin/` blueprint for one mock; `extra_health()` may add fields to `health`."""
    admin = Blueprint(f"{mock.name}_admin", __name__, url_prefix="/_admin")

    @admin.get("/health")
    def health():
        body = {"service": mock.name, "status": "ok", "endpoints": mock.endpoints()}
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
        entries = mock.journal.entries(request.args.get("operation"), request.args.get("verdict"), since, limit)
        return jsonify({"service": mock.name, "dropped": mock.journal.dropped,
                        "entries": [e.to_dict() for e in entries]})

    @admin.get("/journal/<int:seq>")
    def journal_entry(seq: int):
        entry = mock.journal.get(seq)
        return jsonify(entry.to_dict()) if entry else _error(404, f"no exchange {seq} in the journal")

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
            return _error(400, "send a JSON fault object (or a list of them) with Content-Type: application/json")
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
