"""`segur demo` (what `make demo` runs): the whole harness in one go, on this machine.

1. starts the services as `segur up` does (free loopback ports) and prints their endpoints;
2. runs the Ségur proof (10 to the DMP, 10 by MSSanté, 1 to the citizen mailbox, plus
   replacement, homonym and outage tasks) against the reference RIS of `examples/reference-ris`,
   and writes the evidence pack;
3. replays a short proof against the same RIS with one seeded defect, to show what a failing
   proof looks like: the check that catches it and the REM requirement it breaks.

`--couloir all` runs step 2 for every couloir (RIS, BIO, LGC, DPI, PFI, RI), each against its reference
product (`PRODUCTS`), and ends with one line per couloir: verdict, requirements, time, evidence pack.

Exit code 0 only when the clean proof passes *and* the defect is caught: a demo that shows a
harness passing a broken product would be worse than none.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import typer

from segur.kernel.official_pack import describe, find_pack
from segur.scenarios.cli import COULOIRS
from segur.scenarios.driver import reference_ris_dir
from segur.up import free_port_overrides, load_config, start_stack

DEFAULT_DEFECT = "provisional-as-qualified"
#: the reference product each couloir's proof runs against (`--couloir all` runs them all, in this order)
PRODUCTS = {"RIS": "reference-ris", "BIO": "reference-ris", "LGC": "reference-lgc", "DPI": "reference-dpi",
            "PFI": "reference-pfi", "RI": "reference-ri"}


def reference_ris_defects() -> dict[str, str]:
    """The reference RIS's seeded defects (name: what goes wrong); empty when its folder is not there.
    Only its `defects.py` is loaded, from its file (not the RIS's package): `segur --help` stays fast."""
    try:
        path = reference_ris_dir() / "reference_ris" / "defects.py"
    except ValueError:
        return {}
    spec = importlib.util.spec_from_file_location("segur_reference_ris_defects", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.DEFECTS)


def _defect_help() -> str:
    names = ", ".join(reference_ris_defects()) or "(the reference RIS is not in this installation)"
    return f"The seeded defect of the second run ('none' to skip it), one of: {names}."


def _check_defect(value: str) -> str:
    """An unknown defect is a usage error naming the valid ones, before anything starts."""
    known = reference_ris_defects()
    if value != "none" and value not in known:
        raise typer.BadParameter(f"unknown defect {value!r}; valid: {', '.join(known)}, or none")
    return value


#: the endpoint a product needs first, per service (`--verbose` shows them all)
MAIN_ENDPOINTS = {
    "annuaire": ("fhir_base",),
    "insi": ("soap",),
    "dmp": ("repository",),
    "mssante": ("smtp", "imap"),
}
VERBOSE_HELP = "Every endpoint, one line per task, and the check suites' own pytest output."


def _flat(endpoints: dict, keys: tuple[str, ...] | None = None) -> str:
    """`smtp=smtp://127.0.0.1:8587` rather than the nested dict: one line a service; only `keys` if given."""
    shown = []
    for key, value in endpoints.items():
        if keys is not None and key not in keys:
            continue
        if isinstance(value, dict):
            parts = (f"{k}={v}" for k, v in value.items() if not isinstance(v, list))
            value = value.get("url") or ", ".join(parts)
        if not isinstance(value, list):
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def _summary(outcome) -> list[str]:
    """The verdict, then each check that failed or was blocked (the lines `segur proof` prints)."""
    # start-up: the evidence pack imports pytest, ~150 ms of every `segur --help` (measured, -X importtime)
    from segur.scenarios.evidence_pack import check_status, problem_lines

    evidence = outcome.evidence
    reqs = evidence["requirements"]
    checks = list(evidence["checks"].values())
    count = {s: sum(1 for c in checks if check_status(c) == s) for s in ("pass", "fail", "blocked")}
    label = evidence.get("verdict_label") or outcome.verdict.upper()
    lines = [f"verdict {label}: {sum(1 for r in reqs.values() if r['verdict'] == 'pass')}/"
             f"{len(reqs)} requirements pass; checks: {count['pass']} pass, {count['fail']} fail, "
             f"{count['blocked']} blocked (of {len(checks)})"]
    return lines + [f"  {line}" for line in problem_lines(checks)]


def _check_couloir(value: str) -> str:
    value = value.upper()
    if value != "ALL" and value not in COULOIRS:
        raise typer.BadParameter(f"couloir must be one of {', '.join(COULOIRS)}, or all")
    return value


def _couloir_line(couloir: str, outcome, seconds: float) -> str:
    """One line of `--couloir all`'s closing table: the couloir, its product, its verdict and pack."""
    reqs = outcome.evidence["requirements"]
    passed = sum(1 for r in reqs.values() if r["verdict"] == "pass")
    counted, verdict = f"{passed}/{len(reqs)} requirements", outcome.verdict.upper()
    return (f"{couloir:<4} {PRODUCTS[couloir]:<14} {verdict:<5} {counted:<17} {seconds:5.1f} s  "
            f"{(outcome.out / 'index.html').resolve()}")


def _endpoint_lines(stack, verbose: bool) -> list[str]:
    return [f"{name:<9} {_flat(endpoints, None if verbose else MAIN_ENDPOINTS[name])}"
            for name, endpoints in stack.endpoints().items() if verbose or name in MAIN_ENDPOINTS]


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("evidence"), "--out", "-o", help="Where to write the evidence packs."),
        pack: Path = typer.Option(None, "--pack", help="Official CDA pack (default: SEGUR_PACK, else "
                                  "../shared/ref/cda when present; README.md, 'The official pack')."),
        couloir: str = typer.Option("RIS", "--couloir", "-c", callback=_check_couloir,
                                    help="RIS, BIO, LGC, DPI, PFI, or all (each against its reference "
                                    "product, one line a couloir at the end)."),
        defect: str = typer.Option(DEFAULT_DEFECT, "--defect", help=_defect_help(), callback=_check_defect),
        size: str = typer.Option("full", "--size", help="full = the 10/10/1 proof; small = 2/2/1 (quicker)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
    ) -> None:
        """Start the mocks, run the Ségur proof against the reference RIS (with --couloir all: every
        couloir's, each against its reference product), then replay it with a seeded defect; print the
        verdicts, the failing checks and where the evidence packs are."""
        # start-up: the proof and the evidence pack import pytest, 80-150 ms of every `segur --help`
        # (measured with -X importtime)
        from segur.scenarios.evidence_pack import requirements_note
        from segur.scenarios.proof import SutCannotStart, check_sut, run_proof
        from segur.scenarios.stack import PROOF_MSSANTE

        every = couloir == "ALL"
        try:  # the reference RIS must be importable before the mocks start (README: exit code 2)
            for sut in ("reference-ris", *([f"reference-ris:{defect}"] if defect != "none" else [])):
                check_sut(sut)
        except SutCannotStart as exc:
            typer.echo(f"segur demo: your command could not start: {exc}", err=True)
            raise typer.Exit(2) from None
        found = find_pack(pack)
        pack_dir = str(found.path.resolve()) if found else None  # to the mocks in the stack config below
        typer.echo("Ségur conformance harness — demo")
        typer.echo(f"  document validation: {describe(found)}")
        with tempfile.TemporaryDirectory(prefix="segur-demo-") as scratch:
            stack_settings = {"pki": f"{scratch}/pki", "data": f"{scratch}/data", "pack": pack_dir or ""}
            overrides = {"stack": stack_settings, **free_port_overrides()}
            overrides["mssante"].update(PROOF_MSSANTE)  # the proof's MSSanté (PSC tokens, ORG certificates)
            typer.echo("1. segur up: the mocks and the console, on free loopback ports")
            stack = start_stack(load_config(None, overrides))
            # a progress bar on a terminal (one line per task only with -v); pytest's own output only with -v
            shown = {"progress": verbose or sys.stderr.isatty(), "quiet": not verbose}
            try:
                for line in _endpoint_lines(stack, verbose):
                    typer.echo(f"   {line}")
                if every:
                    runs = _every_couloir(run_proof, out, size, stack, shown)
                    clean = runs["RIS"][0]
                else:
                    typer.echo(f"2. the proof, couloir {couloir}, "
                               "against the reference RIS (examples/reference-ris)")
                    clean = run_proof("reference-ris", couloir, out / "reference-ris", size=size, stack=stack,
                                      **shown)
                    for line in _summary(clean):
                        typer.echo(f"   {line}")
                    typer.echo(f"   ({requirements_note(clean.evidence)})")
                caught = None
                if defect != "none":
                    couloir = "RIS" if every else couloir
                    typer.echo(f"3. the same RIS with a seeded defect ({defect}), a shorter plan")
                    broken = run_proof(f"reference-ris:{defect}", couloir, out / f"reference-ris-{defect}",
                                       size="small", stack=stack, **shown)
                    for line in _summary(broken):
                        typer.echo(f"   {line}")
                    caught = broken.exit_code != 0
            finally:
                stack.stop()
        if every:
            typer.echo("Every couloir, each against its reference product (open index.html in a browser):")
            for name, (outcome, seconds) in runs.items():
                typer.echo(f"   {_couloir_line(name, outcome, seconds)}")
            clean = next((o for o, _ in runs.values() if o.exit_code != 0), clean)
        typer.echo("Evidence packs (open index.html in a browser):")
        typer.echo(f"   {(out / 'reference-ris' / 'index.html').resolve()}")
        if defect != "none":
            typer.echo(f"   {(out / f'reference-ris-{defect}' / 'index.html').resolve()}")
        typer.echo("Next: `segur up` for your own product, `segur proof --sut 'cmd:…'` (docs/sut.md), "
                   "`segur validate report.xml` (docs/validator.md).")
        if clean.exit_code != 0:
            what = f"the reference product of couloir {clean.evidence['meta']['couloir']}" if every \
                else "the reference RIS"
            typer.echo(f"demo: the proof against {what} FAILED (see the pack above)", err=True)
            raise typer.Exit(1)
        if caught is False:
            typer.echo(f"demo: the seeded defect {defect} was NOT caught by the proof", err=True)
            raise typer.Exit(1)


def _every_couloir(run_proof, out: Path, size: str, stack, shown: dict) -> dict:
    """`--couloir all`: each couloir's proof against its reference product, one line each as it ends;
    couloir → (outcome, seconds). RIS's pack is `out/reference-ris` as for `--couloir RIS`."""
    runs = {}
    typer.echo(f"2. the proof of every couloir ({', '.join(COULOIRS)}), each against its reference product")
    for couloir in COULOIRS:
        product = PRODUCTS[couloir]  # BIO's reference product is the RIS's: a folder of its own
        folder = out / (f"{product}-bio" if couloir == "BIO" else product)
        started = time.monotonic()
        outcome = run_proof(PRODUCTS[couloir], couloir, folder, size=size, stack=stack, **shown)
        runs[couloir] = (outcome, time.monotonic() - started)
        typer.echo(f"   {couloir}: {_summary(outcome)[0]}")
        for line in _summary(outcome)[1:]:
            typer.echo(f"   {line}")
    return runs
