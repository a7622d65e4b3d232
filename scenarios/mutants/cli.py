"""`segur proof-mutants`: run the mutation catalogue against the proof and write docs/mutants.md."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("proof-mutants")
    def proof_mutants(
        only: list[str] = typer.Option(None, "--only", help="Run only this mutant id (repeatable)."),
        couloir: str = typer.Option("RIS", "--couloir", "-c", help="RIS (CR-IMG) or BIO (CR-BIO)."),
        pack: Path = typer.Option(None, "--pack", exists=True, file_okay=False, resolve_path=True,
                                  help="The official CDA pack: the mocks validate with it "
                                  "(default: env SEGUR_PACK)."),
        report: Path = typer.Option(None, "--report",
                                    help="Where to write the report (default docs/mutants.md)."),
        write: bool = typer.Option(True, "--write/--no-write",
                                   help="Write the report (default) or only print."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No line per mutant."),
    ) -> None:
        """Run the reference RIS with one mutation of what it sends per run; print and write the kill rates.

        Exit 1 when a mutant governed by a requirement survived, or a harmless one was failed."""
        raise typer.Exit(main(only=only, couloir=couloir, pack=pack, report=report, write=write, quiet=quiet))


def main(*, only=None, couloir: str = "RIS", pack=None, report=None, write: bool = True,
         quiet: bool = False) -> int:
    # imported here: a measured start-up cost, the mutation runner adds 0.6 s to `segur --help` at module
    # level (`python -X importtime`, 2026-12-06)
    from .catalogue import MUTANTS
    from .report import summary, write_report
    from .run import SURVIVED, default_report_path, run_mutants

    unknown = [m for m in only or () if m not in MUTANTS]
    if unknown:
        typer.echo(f"unknown mutant(s): {', '.join(unknown)} (see scenarios/mutants/catalogue.py)", err=True)
        return 2
    chosen = [MUTANTS[m] for m in only] if only else list(MUTANTS.values())

    def show(result) -> None:
        if not quiet:
            failing = ", ".join(result.failing) or "-"
            typer.echo(f"{result.mutant.id:38} {result.status:11} {result.seconds:5.1f} s  {failing}")

    pack = pack or os.environ.get("SEGUR_PACK")  # the user's default, read here at the command line only
    run = run_mutants(chosen, couloir=couloir, pack=str(pack) if pack else None, on_result=show)
    facts = summary(run)
    typer.echo(f"{facts['mutants']} mutants in {facts['seconds']} s: kill rate "
               f"{facts['killed']}/{facts['governed']}, identity "
               f"{facts['identity_killed']}/{facts['identity_total']}, {facts['false_alarms']} false "
               f"alarm(s), {facts['not_applied']} not applied, {facts['errors']} operator error(s)")
    for result in run.results:
        if result.status == SURVIVED and not result.mutant.harmless:
            typer.echo(f"  SURVIVED {result.mutant.id}: {result.mutant.field}: {result.mutant.operator} "
                       f"[{', '.join(result.mutant.requirements)}]")
    if write:
        path = write_report(run, report or default_report_path())
        typer.echo(f"report: {path}")
    return 1 if facts["killed"] < facts["governed"] or facts["false_alarms"] else 0
