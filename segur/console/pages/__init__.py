"""The console's pages, one module per page (each `register(app, console)` adds its routes), and what they
share: a file sent as a download, a file name made from an id."""

from __future__ import annotations

from flask import Response, make_response


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text)[:80] or "document"


def download(data: bytes, content_type: str, name: str) -> Response:
    answer = make_response(data)
    answer.headers["Content-Type"] = content_type
    answer.headers["Content-Disposition"] = f"attachment; filename={name}"
    return answer
