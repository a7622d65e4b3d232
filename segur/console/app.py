"""The console's pages (Flask + Jinja, server-rendered; `static/console.js` only polls and highlights).

Every value from a service or a document is data, escaped by Jinja; a CDA's HTML comes from the evidence
pack's `cda_view`, which escapes it itself. A service that does not answer gives a 503 page naming it,
an unknown document or message a 404 page: the console keeps serving.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import Markup

from segur.console import auth
from segur.console.activity import Selection
from segur.console.catalogue import explain_all, load_catalogue
from segur.console.documents import (
    Unavailable,
    document_in,
    headers_of_message,
    read_submission,
    replacement_chain,
    source_lines,
    version_chain,
    xdm_of_message,
)
from segur.console.peers import AdminError, ServiceDown
from segur.console.runs import evidence_runs
from segur.console.validate import validate_upload
from segur.console.world import fold, matching, patient_rows
from segur.kernel.admin import admin_blueprint
from segur.scenarios.evidence_pack.cda_view import embedded_file, parse, render_cda

#: largest upload the Validate page reads (the DMP mock's default document limit)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PAGE_ROWS = 200
MAX_SHOWN_BODY = 256 * 1024
NAV = (("activity", "Live activity"), ("documents", "Documents"), ("mailboxes", "Mailboxes"),
       ("world", "The world"), ("validate", "Validate"), ("faults", "Faults"), ("runs", "Proof runs"))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
#: an evidence pack is one self-contained page of the project's (its style and print script are inline)
RUNS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
#: the embedded files a browser may show inline; any other media type a document declares is downloaded
#: (a CDA could declare text/html and carry a page meant to run as the console)
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


def create_app(console) -> Flask:
    load_catalogue()
    app = Flask("segur-console", root_path=str(Path(__file__).parent))
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.jinja_env.globals.update(nav=NAV)
    app.register_blueprint(admin_blueprint(console, extra_health=console.health))
    _guard(app, console)
    _errors(app)
    _activity_pages(app, console)
    _document_pages(app, console)
    _mail_pages(app, console)
    _other_pages(app, console)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/_admin/")


def _guard(app: Flask, console) -> None:
    @app.before_request
    def check_token():
        token = console.config.token
        if auth.allowed(token, request.path, request.headers, request.cookies):
            return None
        if _wants_json():
            return jsonify({"error": "this console requires its token (Authorization: Bearer <token>)"}), 401
        return render_template("login.html", wrong=False, next=request.full_path), 401

    @app.get("/login")
    def login_form():
        return render_template("login.html", wrong=False, next=request.args.get("next", "/"))

    @app.post("/login")
    def login():
        token = console.config.token
        if not auth.token_matches(token, request.form.get("token", "")):
            return render_template("login.html", wrong=True, next="/"), 401
        target = request.form.get("next") or "/"
        answer = redirect(target if target.startswith("/") and not target.startswith("//") else "/")
        answer.set_cookie(auth.COOKIE, auth.cookie_value(token), httponly=True, samesite="Strict")
        return answer

    @app.after_request
    def headers(answer: Response) -> Response:
        policy = RUNS_CSP if request.path.startswith("/runs/") else CSP
        answer.headers.setdefault("Content-Security-Policy", policy)
        answer.headers.setdefault("X-Content-Type-Options", "nosniff")
        answer.headers.setdefault("Referrer-Policy", "no-referrer")
        return answer


def _errors(app: Flask) -> None:
    def page(status: int, title: str, detail: str):
        if _wants_json():
            return jsonify({"error": detail}), status
        return render_template("error.html", title=title, detail=detail), status

    @app.errorhandler(ServiceDown)
    def service_down(exc: ServiceDown):
        return page(503, f"The {exc.service} service is not reachable", str(exc))

    @app.errorhandler(AdminError)
    def admin_error(exc: AdminError):
        status = exc.status if exc.status in (400, 404, 409) else 502
        return page(status, f"The {exc.service} service refused", str(exc))

    @app.errorhandler(Unavailable)
    def unavailable(exc: Unavailable):
        return page(404, "Not available", str(exc))

    @app.errorhandler(404)
    def not_found(_exc):
        return page(404, "Not found", f"nothing at {request.path}")

    @app.errorhandler(413)
    def too_large(_exc):
        return page(413, "Too large", f"the upload is larger than {MAX_UPLOAD_BYTES} bytes")


# --- live activity --------------------------------------------------------------------------------------
def _activity_pages(app: Flask, console) -> None:
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


# --- DMP documents --------------------------------------------------------------------------------------
def _document_pages(app: Flask, console) -> None:
    admin, feed = console.admin, console.feed

    def stored(unique_id: str) -> dict:
        for entries in admin.get("dmp", "documents")["patients"].values():
            for entry in entries:
                if entry.get("unique_id") == unique_id:
                    return entry
        raise Unavailable(f"the DMP holds no document {unique_id}")

    def submission_of(unique_id: str):
        feed.refresh()
        row = feed.find_document(unique_id)
        if row is not None:
            return read_submission(admin, row.seq)
        # older than the live view's window: ask the DMP's whole journal (heavier, hence second)
        for entry in reversed(admin.journal("dmp", operation="ITI-41")):
            if unique_id in ((entry.get("meta") or {}).get("documents") or ()):
                return read_submission(admin, entry["seq"])
        raise Unavailable(f"no ITI-41 request for document {unique_id} in the DMP's journal")

    @app.get("/documents")
    def documents():
        patients = admin.get("dmp", "documents", patient=request.args.get("patient") or None)["patients"]
        listing = []
        for patient_id, entries in sorted(patients.items()):
            ins = patient_id.split("^", 1)[0]
            listing.append({"id": patient_id, "ins": ins, "patient": console.world.patient_by_any_ins(ins),
                            "entries": sorted(entries, key=lambda e: (e.get("creation_time") or "",
                                                                      e.get("version") or 0))})
        return render_template("documents.html", patients=listing)

    @app.get("/documents/<unique_id>")
    def document(unique_id: str):
        entry = stored(unique_id)
        submission = submission_of(unique_id)
        content = document_in(submission, unique_id)
        findings = explain_all((entry.get("validation") or {}).get("findings"))
        chain = _chain_of(admin, feed, entry)
        view = render_cda(content, embedded_href=url_for("embedded", unique_id=unique_id))
        return render_template("document.html", entry=entry, seq=submission.seq, findings=findings,
                               view=Markup(view.html), chain=chain,
                               embedded_type=view.embedded_type if view.embedded is not None else None,
                               report=entry.get("validation") or {}, lines=source_lines(content, findings))

    @app.get("/documents/<unique_id>/cda")
    def document_cda(unique_id: str):
        content = document_in(submission_of(unique_id), unique_id)
        return _download(content, "application/xml", f"{_safe(unique_id)}.xml")

    @app.get("/documents/<unique_id>/embedded")
    def embedded(unique_id: str):
        root = parse(document_in(submission_of(unique_id), unique_id))
        data, media, problem = embedded_file(root) if root is not None else (None, None, "not XML")
        if data is None:
            raise Unavailable(f"document {unique_id} embeds no readable file ({problem or 'none'})")
        if media in INLINE_TYPES:
            answer = make_response(data)
            answer.headers["Content-Type"] = media
            return answer
        return _download(data, "application/octet-stream", f"{_safe(unique_id)}.bin")


def _chain_of(admin, feed, entry: dict) -> list[dict]:
    """The versions of the document, first to last, from the RPLC associations of the patient's journalled
    submissions (each entry with `replaces` and `replaced_by`)."""
    patient = entry.get("patient_id") or ""
    entries = admin.get("dmp", "documents", patient=patient)["patients"].get(patient, [])
    replaces = {}
    for row in feed.rows(Selection(service="dmp"), limit=feed.window):
        if row.operation != "ITI-41" or row.verdict != "accepted" or fold(patient) not in row.text:
            continue
        try:
            submission = read_submission(admin, row.seq)
        except Unavailable:
            continue
        for item in entries:
            if item.get("unique_id") in row.documents:
                replaces[item["entry_uuid"]] = submission.replaces
    return version_chain(entries, replacement_chain(entries, replaces), entry["entry_uuid"])


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text)[:80] or "document"


def _download(data: bytes, content_type: str, name: str) -> Response:
    answer = make_response(data)
    answer.headers["Content-Type"] = content_type
    answer.headers["Content-Disposition"] = f"attachment; filename={name}"
    return answer


# --- MSSanté mailboxes ----------------------------------------------------------------------------------
def _mail_pages(app: Flask, console) -> None:
    admin = console.admin

    @app.get("/mailboxes")
    def mailboxes():
        every = request.args.get("all") == "1"
        boxes = admin.get("mssante", "mailboxes", **({} if every else {"nonempty": "1"}))["mailboxes"]
        return render_template("mailboxes.html", boxes=boxes, every=every)

    @app.get("/mailboxes/<path:address>")
    def mailbox(address: str):
        return render_template("mailbox.html", box=admin.get("mssante", f"mailboxes/{address}"))

    @app.get("/messages/<message_id>")
    def message(message_id: str):
        copies = admin.message(message_id)["copies"]
        first = copies[0]
        documents = []
        for number, doc in enumerate(first.get("documents") or []):
            uid = (doc.get("metadata") or {}).get("unique_id")
            report = (first.get("cda_reports") or {}).get(uid) or {}
            documents.append({"number": number, "doc": doc, "uid": uid, "report": report,
                              "findings": explain_all(report.get("findings"))})
        return render_template("message.html", copies=copies, message=first, documents=documents,
                               headers=headers_of_message(first.get("raw") or ""),
                               findings=explain_all(first.get("findings")))

    @app.get("/messages/<message_id>/xdm")
    def message_xdm(message_id: str):
        first = admin.message(message_id)["copies"][0]
        return _download(xdm_of_message(first.get("raw") or ""), "application/zip", "IHE_XDM.ZIP")

    @app.get("/messages/<message_id>/documents/<int:number>")
    def message_document(message_id: str, number: int):
        first = admin.message(message_id)["copies"][0]
        docs = first.get("documents") or []
        if number >= len(docs) or not docs[number].get("content"):
            raise Unavailable(f"message {message_id} has no readable document #{number}")
        content = docs[number]["content"].encode("utf-8")
        uid = (docs[number].get("metadata") or {}).get("unique_id")
        report = (first.get("cda_reports") or {}).get(uid) or {}
        findings = explain_all(report.get("findings"))
        return render_template("mail_document.html", message=first, uid=uid, report=report, findings=findings,
                               view=Markup(render_cda(content).html), lines=source_lines(content, findings))


# --- the world, validate, faults, proof runs ------------------------------------------------------------
def _other_pages(app: Flask, console) -> None:
    admin = console.admin

    @app.get("/world")
    def world():
        query, world = request.args.get("q", ""), console.world
        return render_template(
            "world.html", q=query, patients=patient_rows(world, query),
            professionals=matching(world.professionals, query, ("family_name", "given_name", "rpps",
                                                                "mailbox", "organisation", "key")),
            organisations=matching(world.organisations, query, ("name", "finess", "key")),
            mailboxes=matching(world.mailboxes, query, ("address", "owner", "kind")))

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
