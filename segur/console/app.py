"""The console's web app (Flask + Jinja, server-rendered; `static/console.js` only polls and highlights):
who may use it, the error pages, the headers every answer carries; the pages are in `segur.console.pages`.

Every value from a service or a document is data, escaped by Jinja; a CDA's HTML comes from the evidence
pack's `cda_view`, which escapes it itself. A service that does not answer gives a 503 page naming it,
an unknown document or message a 404 page: the console keeps serving.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, jsonify, redirect, render_template, request

from segur.console import auth
from segur.console.catalogue import load_catalogue
from segur.console.documents import Unavailable
from segur.console.pages import activity, dmp, faults, mail, runs, validate, world
from segur.console.peers import AdminError, ServiceDown
from segur.kernel.admin import admin_blueprint

#: largest upload the Validate page reads (the DMP mock's default document limit)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
NAV = (("activity", "Live activity"), ("documents", "Documents"), ("mailboxes", "Mailboxes"),
       ("world", "The world"), ("validate", "Validate"), ("faults", "Faults"), ("runs", "Proof runs"))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
#: an evidence pack is one self-contained page of the project's (its style and print script are inline)
RUNS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
PAGES = (activity, dmp, mail, world, validate, faults, runs)


def create_app(console) -> Flask:
    load_catalogue()
    app = Flask("segur-console", root_path=str(Path(__file__).parent))
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.jinja_env.globals.update(nav=NAV)
    app.register_blueprint(admin_blueprint(console, extra_health=console.health))
    _guard(app, console)
    _errors(app)
    for page in PAGES:
        page.register(app, console)
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
        target = target if target.startswith("/") and not target.startswith("//") else "/"
        answer = redirect(request.script_root + target)
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
