"""`segur rules`: list every rule the harness can fire, with its message and fix hint."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("rules")
    def list_rules(
        layer: str = typer.Option(None, help="Only the rules of this layer (segur, insi, xds, vihf, smtp…)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
        lang: str = typer.Option("en", help="Message language: en or fr."),
    ) -> None:
        """List the project's own rules: id, layer, severity, message and fix hint."""
        # start-up: the catalogue imports the Ségur rules, 20-60 ms of every `segur --help` (measured)
        from segur.rule_catalogue import all_rules

        layers = sorted({r.layer for r in all_rules()})
        if layer is not None and layer not in layers:  # a typo must not look like "no rules in this layer"
            known = ", ".join(layers)
            raise typer.BadParameter(f"unknown layer {layer!r}; known: {known}", param_hint="--layer")
        if lang not in ("en", "fr"):
            raise typer.BadParameter(f"unknown language {lang!r}; en or fr", param_hint="--lang")
        selected = [r for r in all_rules() if layer is None or r.layer == layer]
        if as_json:
            typer.echo(json.dumps([
                {"id": r.id, "layer": r.layer, "severity": r.severity.value, "message_en": r.message_en,
                 "message_fr": r.message_fr, "hint": r.hint, "rem": list(r.rem), "source": r.source}
                for r in selected
            ], ensure_ascii=False, indent=2))
            return
        for r in selected:
            typer.echo(f"{r.id}  [{r.layer}/{r.severity.value}]  {r.message(lang)}")
            if r.hint:
                typer.echo(f"    fix: {r.hint}")
