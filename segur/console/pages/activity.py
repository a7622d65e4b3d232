"""Live activity: the merged journals, polled by the page's script, and one exchange opened."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, redirect, render_template, request, url_for

from segur.console.activity import Selection
from segur.console.catalogue import explain_all

PAGE_ROWS = 200
MAX_SHOWN_BODY = 256 * 1024


def register(app: Flask, console) -> None:
    feed = console.feed

    @app.get("/")
    def home():
        return redirect(url_for("activity"))

    @app.get("/activity")
    def activity():
        feed.refresh()
        selection = Selection.of(request.args)
        choices = {name: feed.values(name) for name in ("service", "task", "rule", "verdict")}
        choices["service"] = sorted(set(choices["service"]) | set(console.admin.services()))
        rows = feed.rows(selection, limit=PAGE_ROWS)
        return render_template("activity.html", rows=rows, last=feed.last_id(), selection=selection,
                               choices=choices, down=feed.down, total=len(feed))

    @app.get("/api/activity")
    def activity_api():
        feed.refresh()
        try:
            after = int(request.args.get("after", 0))
        except ValueError:
            return jsonify({"error": "after must be a row id (an integer)"}), 400
        rows = feed.rows(Selection.of(request.args), after=after, limit=PAGE_ROWS)
        return jsonify({"rows": [row.to_dict() for row in rows], "last": feed.last_id(), "down": feed.down})

    @app.get("/activity/<service>/<int:seq>")
    def exchange(service: str, seq: int):
        entry = console.admin.entry(service, seq)
        sides = [(side, _shown(entry.get(side) or {})) for side in ("request", "response")]
        return render_template("exchange.html", entry=entry, service=service, sides=sides,
                               findings=explain_all(entry.get("findings")))

    @app.get("/activity/<service>/<int:seq>/body")
    def exchange_body(service: str, seq: int):
        side = request.args.get("side", "request")
        if side not in ("request", "response"):
            detail = "side is request or response"
            return render_template("error.html", title="Bad request", detail=detail), 400
        data, content_type = console.admin.body(service, seq, side)
        answer = make_response(data)
        answer.headers["Content-Type"] = content_type
        answer.headers["Content-Disposition"] = f"attachment; filename={service}-{seq}-{side}.txt"
        return answer


def _shown(part: dict) -> dict:
    """One side of an exchange for the page: its headers and at most MAX_SHOWN_BODY of its text."""
    body = part.get("body") or {}
    text = body.get("text") or ""
    if body.get("encoding") == "base64":
        text = f"({body.get('size')} bytes of binary data: download it)"
    return {"headers": part.get("headers") or {}, "path": part.get("path"), "status": part.get("status"),
            "text": text[:MAX_SHOWN_BODY], "cut": len(text) > MAX_SHOWN_BODY or bool(body.get("truncated")),
            "size": body.get("size"), "other": {k: v for k, v in part.items()
                                                if k not in ("headers", "body", "path", "status")}}
