"""Mailboxes: the MSSanté mailboxes, their messages (headers, attachments, findings) and documents."""

from __future__ import annotations

from flask import Flask, render_template, request
from markupsafe import Markup

from segur.console.catalogue import explain_all
from segur.console.documents import Unavailable, headers_of_message, source_lines, xdm_of_message
from segur.console.pages import download
from segur.scenarios.evidence_pack.cda_view import render_cda


def register(app: Flask, console) -> None:
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
        return download(xdm_of_message(first.get("raw") or ""), "application/zip", "IHE_XDM.ZIP")

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
