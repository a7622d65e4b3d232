"""Faults: each service's faults listed, added and removed; a service reset."""

from __future__ import annotations

import json

from flask import Flask, redirect, render_template, request, url_for

from segur.console.peers import AdminError, ServiceDown


def register(app: Flask, console) -> None:
    admin = console.admin

    @app.get("/faults")
    def faults():
        books, down = {}, {}
        for service in admin.services():
            try:
                books[service] = admin.get(service, "faults")
            except (ServiceDown, AdminError) as exc:
                down[service] = str(exc)
        return render_template("faults.html", books=books, down=down, message=request.args.get("message"))

    @app.post("/faults/<service>")
    def add_fault(service: str):
        try:
            spec = json.loads(request.form.get("spec") or "{}")
        except ValueError as exc:
            return _back_to_faults(f"the fault is not JSON: {exc}", 400)
        if not isinstance(spec, dict):
            return _back_to_faults("the fault is a JSON object", 400)
        if request.form.get("kind"):
            spec["kind"] = request.form["kind"]
        try:
            admin.send(service, "faults", "POST", spec)
        except AdminError as exc:
            return _back_to_faults(exc.message, 400)
        return redirect(url_for("faults", message=f"fault added to {service}"))

    @app.post("/faults/<service>/<int:fault_id>/delete")
    def remove_fault(service: str, fault_id: int):
        admin.send(service, f"faults/{fault_id}", "DELETE")
        return redirect(url_for("faults", message=f"fault {fault_id} of {service} removed"))

    @app.post("/faults/<service>/clear")
    def clear_faults(service: str):
        admin.send(service, "faults", "DELETE")
        return redirect(url_for("faults", message=f"faults of {service} cleared"))

    @app.post("/reset/<service>")
    def reset(service: str):
        admin.send(service, "reset", "POST", {})
        return redirect(url_for("faults", message=f"{service} reset (stored data, journal, faults)"))

    def _back_to_faults(message: str, status: int):
        return render_template("error.html", title="Fault refused", detail=message), status
