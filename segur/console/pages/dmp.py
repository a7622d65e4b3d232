"""Documents: what the DMP holds per patient, a document rendered beside its source, its versions and
files."""

from __future__ import annotations

from flask import Flask, make_response, render_template, request, url_for
from markupsafe import Markup

from segur.console.activity import Selection
from segur.console.catalogue import explain_all
from segur.console.documents import (
    Unavailable,
    document_in,
    read_submission,
    replacement_chain,
    source_lines,
    version_chain,
)
from segur.console.pages import download, safe_name
from segur.console.world import fold
from segur.scenarios.evidence_pack.cda_view import embedded_file, parse, render_cda

#: the embedded files a browser may show inline; any other media type a document declares is downloaded
#: (a CDA could declare text/html and carry a page meant to run as the console)
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


def register(app: Flask, console) -> None:
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
        return download(content, "application/xml", f"{safe_name(unique_id)}.xml")

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
        return download(data, "application/octet-stream", f"{safe_name(unique_id)}.bin")


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
