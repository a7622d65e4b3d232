"""The HTTP wire of the MSSanté mock: its admin API, the kernel's ``/_admin/`` routes plus mailboxes and
messages (the SMTP and IMAP wires are `smtp` and `imap`).

- ``GET /_admin/mailboxes`` — every world mailbox (address, kind, owner, closed/refused) with its
  message count; ``?nonempty=1`` lists only mailboxes holding messages.
- ``GET /_admin/mailboxes/<address>`` — the messages of one mailbox: verdict, rules, findings,
  attachments, the documents extracted from IHE_XDM.ZIP (metadata, CDA header, validator report);
  ``?content=1`` adds each document's text, ``?raw=1`` the stored message.
- ``GET /_admin/messages/<id>`` — one message (every copy), same options.
- ``GET /_admin/messages/<id>/raw`` — the stored RFC 5322 bytes whole (``message/rfc822``), for a
  proof that reads the message as the recipient got it; ``?mailbox=ADDRESS`` picks that recipient's
  copy, else the first delivered.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from segur.kernel.admin import admin_blueprint


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def create_app(mock) -> Flask:
    """The admin app of `mock` (a `service.MssanteService`: name, journal, faults, endpoints, backend)."""
    app = Flask("segur-mssante")
    app.register_blueprint(admin_blueprint(mock, extra_health=mock.health))
    backend = mock.backend

    @app.get("/_admin/mailboxes")
    def mailboxes():
        counts = backend.message_counts()
        boxes = [{"address": box.address, "kind": box.kind, "owner": box.owner, "owner_type": box.owner_type,
                  "closed": box.closed, "refuses_messages": box.refuses_messages,
                  "messages": counts.get(box.address.lower(), 0)} for box in backend.world.mailboxes]
        if _flag("nonempty"):
            boxes = [b for b in boxes if b["messages"]]
        return jsonify({"service": mock.name, "mailboxes": boxes})

    @app.get("/_admin/mailboxes/<path:address>")
    def mailbox(address: str):
        box = backend.mailbox(address)
        if box is None:
            return jsonify({"error": f"no mailbox {address} in the world"}), 404
        messages = [m.to_dict(with_raw=_flag("raw"), with_content=_flag("content"))
                    for m in backend.messages(address, with_raw=_flag("raw"), with_content=_flag("content"))]
        return jsonify({"address": box.address, "kind": box.kind, "messages": messages})

    @app.get("/_admin/messages/<message_id>")
    def message(message_id: str):
        copies = backend.message(message_id, with_raw=_flag("raw"), with_content=_flag("content"))
        if not copies:
            return jsonify({"error": f"no message {message_id}"}), 404
        shown = [m.to_dict(with_raw=_flag("raw"), with_content=_flag("content")) for m in copies]
        return jsonify({"id": message_id, "copies": shown})

    @app.get("/_admin/messages/<message_id>/raw")
    def message_raw(message_id: str):
        mailbox = request.args.get("mailbox")
        raw = backend.store.message_raw(message_id, mailbox)
        if raw is None:
            where = f" in mailbox {mailbox}" if mailbox else ""
            return jsonify({"error": f"no message {message_id}{where}"}), 404
        return Response(raw, content_type="message/rfc822")

    return app
