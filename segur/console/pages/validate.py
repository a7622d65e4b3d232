"""Validate: a pasted or uploaded CDA, or an IHE_XDM.ZIP, through the validator."""

from __future__ import annotations

from flask import Flask, render_template, request

from segur.console.validate import validate_upload


def register(app: Flask, console) -> None:
    @app.get("/validate")
    def validate_form():
        return render_template("validate.html", results=None, error=None)

    @app.post("/validate")
    def validate():
        upload = request.files.get("file")
        data = upload.read() if upload is not None and upload.filename else b""
        name = upload.filename if data else "pasted document"
        if not data:
            data = (request.form.get("document") or "").encode("utf-8")
        results = validate_upload(data, name, pack=console.context.pack)
        status = 400 if any(r.refused for r in results) else 200
        return render_template("validate.html", results=results, error=None), status
