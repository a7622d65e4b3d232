"""Proof runs: the evidence packs in the console's evidence folder, listed and served."""

from __future__ import annotations

from flask import Flask, abort, render_template, send_from_directory

from segur.console.runs import evidence_runs


def register(app: Flask, console) -> None:
    @app.get("/runs")
    def runs():
        return render_template("runs.html", runs=evidence_runs(console.evidence_dir),
                               folder=console.evidence_dir.resolve())

    @app.get("/runs/<path:name>")
    def run_file(name: str):
        folder = console.evidence_dir.resolve()
        if not folder.is_dir():
            abort(404)
        return send_from_directory(folder, name)
