"""`segur proof` (the Ségur proof end to end) and `segur rem coverage|show` (the requirement map).

The commands import what they run inside their functions, on purpose: a measured command-line start-up
cost. `segur --help` loads this module; at module level `segur.scenarios.proof` would add 0.5 s to it,
`segur.scenarios.rem` 0.4 s (`python -X importtime`, 2026-12-06), over the ~0.7 s the project allows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from segur.kernel.tenants import TENANT_NAME

COULOIRS = ("RIS", "BIO", "LGC", "DPI", "PFI", "RI")  # scenarios.suites.COULOIR_ORDER, not imported: start-up


def _running_stack(stack_file: Path | None, pack: Path | None, config: Path | None):
    """The running `segur up` named by --stack (None without it); its pack and config are its own."""
    if stack_file is None:
        return None
    if pack is not None or config is not None:
        raise typer.BadParameter("a running stack keeps its own pack and config: drop --pack and --config, "
                                 "or give them to `segur up`", param_hint="--stack")
    from segur.scenarios.stack import RunningStack  # start-up: see the module docstring

    try:
        return RunningStack.from_file(stack_file)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--stack") from None


def _running_pack(running):
    """The official pack the running stack's DMP validates with, as `find_pack` describes one (or None)."""
    from segur.kernel.official_pack import FoundPack  # start-up: see the module docstring

    pack = running.config["stack"]["pack"]
    return FoundPack(Path(pack), "the running stack's DMP") if pack else None


def _couloir(value: str) -> str:
    value = value.upper()
    if value not in COULOIRS:
        raise typer.BadParameter(f"couloir must be one of {', '.join(COULOIRS)}")
    return value


def _tenant(value: str) -> str:
    value = value or os.environ.get("SEGUR_TENANT", "")
    if value and not TENANT_NAME.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a tenant name: lower-case letters, digits and hyphens, "
                                 "63 at most, starting with a letter or digit")
    return value


def _capabilities(value: str, couloir: str) -> tuple[str, ...] | None:
    """`--capabilities`: None for all, () for none, else the names, each one the couloir takes."""
    if value.strip().lower() == "all":
        return None
    names = () if value.strip().lower() == "none" else tuple(n.strip() for n in value.split(",") if n.strip())
    from segur.scenarios.plan import PlanError, chosen_capabilities  # start-up: see the module docstring

    try:
        chosen_capabilities(couloir, names)
    except PlanError as exc:
        raise typer.BadParameter(str(exc), param_hint="--capabilities") from None
    return names


def _carried_note(couloir: str, covered: int) -> str:
    """Why a proof's evidence pack counts more requirements than this map covers (same checks, wider ids)."""
    from segur.scenarios.proof import suite_paths
    from segur.scenarios.rem import collect_markers

    carried = {rem_id for _, ids, test_couloir in collect_markers(suite_paths(couloir))
               if test_couloir in (None, couloir) for rem_id in ids}
    return (f"a proof's evidence pack counts {len(carried)} requirements for {couloir}: every REM id its "
            f"checks carry, the {covered} covered here plus socle (SC.*), UNDER_REVIEW and document-content "
            "ids, which this map of APPROVED requirements leaves out")


def _proof_pack(option: Path | None, config: Path | None):
    """The official pack of a proof: `find_pack` with the [stack] pack of --config (its errors are reported
    later, by the stack's own config loading)."""
    from segur.kernel.official_pack import find_pack
    from segur.up import ConfigError, load_config

    configured = None
    if config is not None:
        try:
            configured = load_config(config)["stack"]["pack"] or None
        except ConfigError:
            configured = None
    return find_pack(option, configured=configured, configured_in=f"[stack] pack in {config}")


def register(app: typer.Typer, serve: typer.Typer) -> None:
    rem = typer.Typer(help="The REM requirements the harness knows, and which tests prove them.",
                      no_args_is_help=True)
    app.add_typer(rem, name="rem")

    @rem.command("coverage")
    def rem_coverage(
        couloir: str = typer.Option("RIS", "--couloir", "-c", help="RIS, BIO, LGC, DPI or PFI.",
                                    callback=_couloir),
        catalogue: Path = typer.Option(None, "--catalogue",
                                       help="Another catalogue CSV (default: the project's)."),
        as_json: bool = typer.Option(False, "--json", help="Print the map as JSON."),
        verbose: bool = typer.Option(False, "--verbose", "-v",
                                     help="Also list out-of-scope reasons in full."),
    ) -> None:
        """For the couloir's APPROVED requirements on INS, DMP, MSSanté, annuaire, CDA and Pro Santé Connect:
        the tests covering each, those declared out of scope (with the reason), and those that are neither
        (exit code 1)."""
        from segur.scenarios.rem import DATA, DOMAINS, coverage

        result = coverage(couloir, catalogue or DATA)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            counts = result.to_dict()["counts"]
            typer.echo(f"Couloir {couloir}: {counts['total']} APPROVED requirements ({', '.join(DOMAINS)})")
            typer.echo(f"  covered by tests: {counts['covered']}   out of scope: {counts['out_of_scope']}   "
                       f"neither: {counts['neither']}")
            typer.echo(f"  ({_carried_note(couloir, counts['covered'])})")
            typer.echo("")
            for rem_id in result.requirements:
                if rem_id in result.covered:
                    tests = ", ".join(t.split("::")[-1] for t in result.covered[rem_id])
                    note = f" ({result.optional[rem_id]})" if rem_id in result.optional else ""
                    typer.echo(f"  COVERED       {rem_id:<18} {tests}{note}")
            for rem_id, reason in result.out_of_scope.items():
                shown = reason if verbose or len(reason) < 90 else reason[:87] + "…"
                typer.echo(f"  OUT OF SCOPE  {rem_id:<18} {shown}")
            for rem_id in result.neither:
                typer.echo(f"  NEITHER       {rem_id:<18} {result.requirements[rem_id].summary}")
            for rem_id, tests in result.unknown_markers.items():
                typer.echo(f"  warning: {rem_id} is on {len(tests)} test(s) but not in the catalogue")
        if result.neither:
            typer.echo(f"{len(result.neither)} requirement(s) neither covered nor declared out of scope: "
                       "add a test marked with the id, or declare it out of scope with the reason in "
                       "scenarios/data/requirements.csv", err=True)
            raise typer.Exit(1)

    @rem.command("show")
    def rem_show(
        rem_id: str = typer.Argument(..., help="A REM id, e.g. RIS.DMP/va1.13"),
        couloir: str = typer.Option(None, "--couloir", "-c", help="RIS, BIO, LGC, DPI, PFI (default: all)."),
    ) -> None:
        """One requirement: the project's summary, status, scope, and the checks/tests that prove it."""
        from segur.scenarios.checks import CHECKS
        from segur.scenarios.evidence_pack import UNDER_REVIEW_NOTE
        from segur.scenarios.rem import read_catalogue

        rows = [r for r in read_catalogue() if r.id == rem_id and (couloir is None or r.couloir in
                                                                       (couloir.upper(), "SOCLE"))]
        if not rows:
            typer.echo(f"{rem_id} is not in the project's catalogue", err=True)
            raise typer.Exit(2)
        for row in rows:
            typer.echo(f"{row.id}  [{row.couloir}]  domain {row.domain}  status {row.status}")
            typer.echo(f"  {row.summary}")
            if row.status == "UNDER_REVIEW":
                typer.echo(f"  {UNDER_REVIEW_NOTE}")
            if row.scope == "out-of-scope":
                typer.echo(f"  out of scope: {row.reason}")
            # under each row, the checks of that couloir (a socle row: of every couloir, or the one asked)
            wanted = ({couloir.upper()} if couloir else None) if row.couloir == "SOCLE" else {row.couloir}
            for check in CHECKS.values():
                couloirs = [c for c, ids in check.rem.items()
                            if rem_id in ids and (wanted is None or c in wanted)]
                if couloirs:
                    typer.echo(f"  proved by check {check.id} ({', '.join(couloirs)}): {check.title}")

    @app.command("proof")
    def proof(
        sut: str = typer.Option(None, "--sut", help="The system under test: reference-ris[:defect], "
                                "cmd:<template>, http(s)://…, plugin:module:function, manual "
                                "(env SEGUR_SUT)."),
        couloir: str = typer.Option("RIS", "--couloir", "-c", help="RIS (CR-IMG) or BIO (CR-BIO).",
                                    callback=_couloir),
        out: Path = typer.Option(Path("evidence"), "--out", "-o", help="Where to write the evidence pack."),
        config: Path = typer.Option(None, "--config", help="Stack config (TOML, as for segur up); ports are "
                                    "replaced by free ones."),
        size: str = typer.Option("full", "--size", help="full = the 10/10/1 proof; small = 2/2/1 (quicker)."),
        select: str = typer.Option(None, "-k", help="Only the checks matching this pytest -k expression."),
        marker: str = typer.Option(None, "-m", help="Only the checks matching this pytest -m expression."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        pack: Path = typer.Option(None, "--pack", exists=True, file_okay=False, resolve_path=True,
                                  # \\[ : help text is rich markup, where a bare [stack] is a style tag
                                  help="The official CDA pack directory (ANS XSD + CI-SIS Schematron): the "
                                  "mocks validate documents with it (default: env SEGUR_PACK, then \\[stack] "
                                  "pack of --config, then ../shared/ref/cda when present)."),
        require_pack: bool = typer.Option(False, "--require-pack", help="Refuse to run (exit 2) without the "
                                          "official pack: a conformance run, where a PASS without the "
                                          "official CDA checks would not count."),
        stack_file: Path = typer.Option(None, "--stack", help="Drive and judge a running `segur up` (its "
                                        ".segur-endpoints.json) instead of starting mocks: its console shows "
                                        "the run; its mocks are reset first, and left running."),
        tenant: str = typer.Option("", "--tenant", callback=_tenant,
                                   help="Run as this tenant of a shared stack (\\[stack] tenants = true): "
                                   "the proof's admin calls and the product's calls go to the tenant only "
                                   "(URLs under /t/NAME/, MSSanté logins user+NAME@domain), so proofs on "
                                   "other tenants of the stack never meet it (env SEGUR_TENANT)."),
        pam_endpoint: str = typer.Option(None, "--pam-endpoint", help="The product's MLLP listener "
                                         "(mllp://host:port) the PAM identity feeds go to (env "
                                         "SEGUR_PAM_ENDPOINT; docs/sut.md)."),
        capabilities: str = typer.Option("all", "--capabilities", help="The capabilities of the proof to run "
                                         "beside the core 10/10/1: all, none, or names separated by commas "
                                         "(docs/proof.md); the checks of the others are not run, and the "
                                         "pack says so."),
        claims: str = typer.Option(None, "--claims", help="The optional (PEUT) requirements the product "
                                   "claims: tls13, sasl-ir, separated by commas, or none (default: what its "
                                   "driver announces). Unclaimed ones are not judged and listed 'optional, "
                                   "not claimed' (docs/sut.md)."),
    ) -> None:
        """Run the Ségur proof end to end and write the evidence pack; exit 0 only if every check passed."""
        from segur.kernel.official_pack import HOW_TO_GET
        from segur.scenarios.evidence_pack import (
            check_status,
            not_claimed_lines,
            problem_lines,
            requirements_note,
            verdict_label,
        )
        from segur.scenarios.proof import run_proof

        running = _running_stack(stack_file, pack, config)
        found = _proof_pack(pack, config) if running is None else _running_pack(running)
        if found is None and require_pack:
            typer.echo(f"segur proof: --require-pack: no official CDA pack found; {HOW_TO_GET}", err=True)
            raise typer.Exit(2)
        sut = sut or os.environ.get("SEGUR_SUT")
        if not sut:
            raise typer.BadParameter("give --sut (or set SEGUR_SUT)", param_hint="--sut")
        from segur.scenarios.proof import SutCannotStart, check_sut

        try:  # a --sut that cannot work is refused before the mocks start, without a traceback
            check_sut(sut)
        except SutCannotStart as exc:
            typer.echo(f"segur proof: your command could not start: {exc}", err=True)
            raise typer.Exit(2) from None
        if size not in ("full", "small"):
            raise typer.BadParameter("size must be full or small", param_hint="--size")
        pam_endpoint = pam_endpoint or os.environ.get("SEGUR_PAM_ENDPOINT") or None
        if pam_endpoint:
            from segur.scenarios.capabilities.pam_feed import check_endpoint  # start-up: module docstring

            try:
                check_endpoint(pam_endpoint)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--pam-endpoint") from None
        chosen = _capabilities(capabilities, couloir)
        from segur.scenarios.capabilities.claims import parse_claims  # start-up: see the module docstring

        try:
            claimed = parse_claims(claims)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--claims") from None
        args = tuple(a for pair in (("-k", select), ("-m", marker)) if pair[1] for a in pair)
        outcome = run_proof(sut, couloir, out, config=str(config) if config else None, size=size,
                            progress=not quiet, pytest_args=args, quiet=quiet, stack=running,
                            pack=found.path.resolve() if found is not None and running is None else None,
                            tenant=tenant, pam_endpoint=pam_endpoint, capabilities=chosen,
                            claims=claimed)
        evidence = outcome.evidence
        judged = {t["check"] for t in evidence["tests"] if t["outcome"] not in ("not run", "skipped")}
        judged_checks = [c for c in evidence["checks"].values() if c["id"] in judged]
        failed = [c for c in judged_checks if check_status(c) == "fail"]
        blocked = [c for c in judged_checks if check_status(c) == "blocked"]
        reqs = evidence["requirements"]
        blocked_reqs = sum(1 for r in reqs.values() if r["verdict"] == "blocked")
        passed = sum(1 for r in reqs.values() if r["verdict"] == "pass")
        requirements = f"{passed}/{len(reqs)} requirements pass" + (
            f", {blocked_reqs} blocked" if blocked_reqs else "")
        checks = f"{len(failed)} failing check(s)" + (f", {len(blocked)} blocked" if blocked else "")
        typer.echo(f"Proof {couloir} against {sut}: {verdict_label(evidence)} ({requirements}; {checks}) "
                   f"in {evidence['meta']['timings'].get('total_s')} s")
        typer.echo(f"  note: {requirements_note(evidence)}")
        selection = evidence["meta"]["selection"]  # -k, -m and --capabilities
        if selection:
            not_run = sum(1 for r in reqs.values() if r["verdict"] == "not run")
            typer.echo(f"  partial run ({' '.join(selection)}): {not_run} requirement(s) not run; "
                       "not the full proof")
        if size == "small" and evidence["plan"]["counts"].get("dmp"):  # RI's plan has no 10/10/1
            typer.echo("  note: small plan (2 DMP, 2 MSSanté, 1 citizen): a quick run, not the 10/10/1 proof")
        if not (evidence["meta"].get("validation") or {}).get("pack"):
            typer.echo("  note: no official pack (--pack DIR or SEGUR_PACK): the mocks validated the "
                       "documents without the CDA XSD and the CI-SIS Schematron, so this is not a "
                       "conformance PASS (--require-pack refuses such a run)")
        for line in problem_lines(judged_checks):
            typer.echo(f"  {line}")
        for line in not_claimed_lines(evidence):
            typer.echo(f"  {line}")
        typer.echo(f"Evidence pack: {outcome.out.resolve()}/index.html "
                   "(evidence.json, junit.xml, allure-results/)")
        raise typer.Exit(outcome.exit_code)
