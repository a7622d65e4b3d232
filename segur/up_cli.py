"""`segur up`: every mock from one config, the endpoints to give your product, until Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import typer

from segur.kernel.official_pack import HOW_TO_GET, describe, find_pack
from segur.up import ConfigError, free_port_overrides, load_config, start_stack


def pack_note(settings: dict) -> str | None:
    """What to tell the user when the mocks will validate documents without the official pack."""
    validating = [name for name in ("dmp", "mssante")
                  if settings[name]["enabled"] and settings[name]["validation"]]
    if not validating or settings["stack"]["pack"] or os.environ.get("SEGUR_PACK"):
        return None
    return (f"note: no official CDA pack: {' and '.join(validating)} validate documents "
            "without the CDA XSD and the CI-SIS Schematron "
            f"(give --pack DIR, [stack] pack in the config, or SEGUR_PACK; {HOW_TO_GET})")


def settle_pack(settings: dict, option: Path | None, config: Path | None):
    """Puts the pack `find_pack` chooses in [stack] pack (the same search as make demo, proof, validate)."""
    found = find_pack(option, configured=settings["stack"]["pack"] or None,
                      configured_in=f"[stack] pack in {config}")
    settings["stack"]["pack"] = str(found.path) if found else ""
    return found


HELP = {
    "config": "TOML config (see docs/up.md); defaults otherwise.",
    "endpoints_file": "Where to write the endpoints as JSON for your product or CI.",
    "free_ports": "Let the system choose free ports (read them from the endpoints file).",
    # \\[ : help text is rich markup, where a bare [stack] is a style tag
    "pack": "Official CDA pack (ANS XSD + CI-SIS Schematron) the DMP and MSSanté validate documents with; "
            "default: env SEGUR_PACK, then \\[stack] pack of --config, then ../shared/ref/cda when present "
            "(README.md, 'The official pack').",
}


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("up")
    def up(
        config: Path = typer.Option(None, "--config", help=HELP["config"]),
        endpoints_file: Path = typer.Option(Path(".segur-endpoints.json"), "--endpoints-file",
                                            help=HELP["endpoints_file"]),
        free_ports: bool = typer.Option(False, "--free-ports", help=HELP["free_ports"]),
        pack: Path = typer.Option(None, "--pack", exists=True, file_okay=False, resolve_path=True,
                                  help=HELP["pack"]),
    ) -> None:
        """Start every service (INSi, DMP, MSSanté, Annuaire santé, PSC, PAM, the CRL point, the console)
        and print their endpoints."""
        # a file left by an earlier run (or a run that is failing now) must not pass for a live stack:
        # CI waits for this file to appear, then connects to the ports it names
        endpoints_file.unlink(missing_ok=True)
        try:
            overrides = free_port_overrides() if free_ports else {}
            settings = load_config(config, overrides or None)
            found = settle_pack(settings, pack, config)
            note = pack_note(settings)
            typer.echo(note or describe(found), err=True)
            stack = start_stack(settings)
        except (ConfigError, OSError) as exc:
            typer.echo(f"segur up: {exc}", err=True)
            raise typer.Exit(2) from exc
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stack.write_endpoints(endpoints_file)
            typer.echo(json.dumps(stack.endpoints(), indent=2))
            typer.echo(f"endpoints written to {endpoints_file}; Ctrl-C to stop.")
            while not stop.wait(0.2):
                pass
        finally:
            stack.stop()
            endpoints_file.unlink(missing_ok=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            typer.echo("stopped.")
