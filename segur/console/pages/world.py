"""The world: patients, professionals, organisations and mailboxes, with a search box."""

from __future__ import annotations

from flask import Flask, render_template, request

from segur.console.world import matching, patient_rows


def register(app: Flask, console) -> None:
    @app.get("/world")
    def world():
        query, world = request.args.get("q", ""), console.world
        return render_template(
            "world.html", q=query, patients=patient_rows(world, query),
            professionals=matching(world.professionals, query, ("family_name", "given_name", "rpps",
                                                                "mailbox", "organisation", "key")),
            organisations=matching(world.organisations, query, ("name", "finess", "key")),
            mailboxes=matching(world.mailboxes, query, ("address", "owner", "kind")))
