"""The mutation report: kill rates by field and by requirement, every survivor, the harmless mutants.

Kill rate = mutants the proof fails / mutants that change something a requirement governs (applied, the
operator did not fail). Harmless mutants are outside the rate: the proof passing them is right, failing
them is a *false alarm* (the harness would reject a correct product) and is listed as such.
"""

from __future__ import annotations

import os
import platform
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from segur.scenarios.checks import CHECKS

from .run import ERROR, KILLED, NOT_APPLIED, SURVIVED, MutantResult, MutationRun


def governed(results: list[MutantResult]) -> list[MutantResult]:
    """The mutants the kill rate counts: a requirement governs them and they did change what was sent."""
    return [r for r in results if not r.mutant.harmless and r.status in (KILLED, SURVIVED)]


def kill_rate(results: list[MutantResult]) -> tuple[int, int]:
    counted = governed(results)
    return sum(r.status == KILLED for r in counted), len(counted)


def _rate(killed: int, total: int) -> str:
    return f"{killed}/{total} ({100 * killed / total:.0f} %)" if total else "–"


def summary(run: MutationRun) -> dict:
    results = run.results
    killed, total = kill_rate(results)
    id_killed, id_total = kill_rate([r for r in results if r.mutant.identity])
    return {"mutants": len(results), "governed": total, "killed": killed,
            "identity_killed": id_killed, "identity_total": id_total,
            "harmless": sum(bool(r.mutant.harmless) for r in results),
            "false_alarms": sum(r.false_alarm for r in results),
            "not_applied": sum(r.status == NOT_APPLIED for r in results),
            "errors": sum(r.status == ERROR for r in results), "seconds": round(run.seconds, 1)}


def _pack(pack: str | None) -> str:
    """The pack as the README names it (`../shared/ref/cda`), not this machine's absolute path."""
    if not pack:
        return "no official pack (the mocks' xml, structure and Ségur layers only)"
    root = Path(__file__).resolve().parents[2]
    return f"official CI-SIS pack `{os.path.relpath(pack, root)}`"


def _table(rows: dict[str, list[MutantResult]], label: str) -> list[str]:
    lines = [f"| {label} | mutants | governed | killed | survived | kill rate |", "|---|---|---|---|---|---|"]
    for key in sorted(rows):
        group = rows[key]
        killed, total = kill_rate(group)
        cells = (key, len(group), total, killed, total - killed, _rate(killed, total))
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return lines


def _checks(result: MutantResult) -> str:
    failing = [f"{check} (blocked)" if status == "blocked" else check
               for check, status in result.failing.items()]
    return ", ".join(failing) or "–"


def render(run: MutationRun) -> str:
    facts = summary(run)
    results = run.results
    by_field: dict[str, list[MutantResult]] = defaultdict(list)
    by_requirement: dict[str, list[MutantResult]] = defaultdict(list)
    for result in results:
        by_field[result.mutant.field].append(result)
        for rem in result.mutant.requirements:
            by_requirement[rem].append(result)
    survivors = [r for r in governed(results) if r.status == SURVIVED]
    lines = [
        "# Mutation testing of the proof: `segur proof-mutants`",
        "",
        "A harness that says PASS to a broken product is worse than none. This page is written by the tool "
        "(`segur proof-mutants`, or `.venv/bin/python benchmarks/proof_mutants.py`); do not edit it by hand, "
        "run it again. How it works and how to add a mutant: [the end of this page](#how-it-works).",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, couloir {run.couloir}, plan `{run.size}`, "
        f"{_pack(run.pack)}, Python {platform.python_version()}, load average {run.load:.1f} at the start "
        "(a shared 2-core machine).",
        "",
        "| figure | value |", "|---|---|",
        f"| mutants | {facts['mutants']} ({facts['governed']} governed by a requirement and applied, "
        f"{facts['harmless']} harmless, {facts['not_applied']} not applied, "
        f"{facts['errors']} operator errors) |",
        f"| kill rate, overall | {_rate(facts['killed'], facts['governed'])} |",
        f"| kill rate, identity (patient identity, INS, traits, recipient; target 100 %) | "
        f"{_rate(facts['identity_killed'], facts['identity_total'])} |",
        f"| false alarms (harmless mutants the proof fails) | {facts['false_alarms']} |",
        f"| time, whole run | {facts['seconds']} s (mocks started in {run.stack_seconds:.1f} s, the correct "
        f"RIS in {run.baseline_seconds:.1f} s, then {facts['mutants']} runs of the plan) |",
        "",
        "## Survivors",
        "",
        "Mutants that break a requirement and that the proof passes: each is a hole in the proof.",
        "",
    ]
    if survivors:
        lines += ["| mutant | field | what it sends | requirements | identity |", "|---|---|---|---|---|"]
        lines += [f"| `{r.mutant.id}` | {r.mutant.field} | {r.mutant.operator} | "
                  f"{', '.join(r.mutant.requirements)} | {'yes' if r.mutant.identity else ''} |"
                  for r in survivors]
    else:
        lines.append("None.")
    lines += ["", "## By field", ""] + _table(by_field, "field")
    lines += ["", "## By requirement", "", "A mutant breaking several requirements counts under each.", ""]
    lines += _table(by_requirement, "REM id")
    lines += ["", "## Harmless mutants", "",
              "Changes a correct product may make; the proof must pass them.", "",
              "| mutant | what it sends | why harmless | proof |", "|---|---|---|---|"]
    lines += [f"| `{r.mutant.id}` | {r.mutant.operator} | {r.mutant.harmless} | "
              f"{'**FAILS (false alarm)**: ' + _checks(r) if r.false_alarm else r.status} |"
              for r in results if r.mutant.harmless]
    odd = [r for r in results if r.status in (NOT_APPLIED, ERROR)]
    if odd:
        lines += ["", "## Not applied, operator errors", "",
                  "Outside the rates: the field was never in what the RIS sent, or the operator failed.", "",
                  "| mutant | status | detail |", "|---|---|---|"]
        lines += [f"| `{r.mutant.id}` | {r.status} | {'; '.join(r.errors)[:200] or 'the field is absent'} |"
                  for r in odd]
    lines += ["", "## Every mutant", "",
              "| mutant | point | what it sends | requirements | outcome | checks failing |",
              "|---|---|---|---|---|---|"]
    lines += [f"| `{r.mutant.id}` | {r.mutant.point} | {r.mutant.operator} | "
              f"{', '.join(r.mutant.requirements) or 'harmless'} | {r.status} | {_checks(r)} |"
              for r in results]
    lines += ["", how_it_works()]
    return "\n".join(lines) + "\n"


HOW_IT_WORKS = """## How it works

```sh
segur proof-mutants                       # the whole catalogue; rewrites docs/mutants.md
segur proof-mutants --only cda.ins.other-nir --only xds.hash --no-write   # a few, report not written
segur proof-mutants --pack ../shared/ref/cda   # the mocks validate with the official CI-SIS pack
.venv/bin/python benchmarks/proof_mutants.py   # the same, as a benchmark script
```

- **Seam.** The reference RIS hands everything it sends through `reference_ris.wire.tap(point, value)`
  (`examples/reference-ris/reference_ris/wire.py`): `insi-request` (the INSi search arguments), `cda` (the
  report's bytes, before the DMP or MSSanté sees them), `xds` (the DMP client's `Defects`, whose `mutate`
  changes the ITI-41 metadata the client built), `recipient`, `mime` (the `EmailMessage`: X-MSS-* headers,
  subject, attachments, the IHE_XDM.ZIP and its METADATA.XML), `envelope` (SMTP MAIL FROM / RCPT TO).
  Without a mutator installed, `tap` returns its value: the RIS is unchanged.
- **Mutants as data.** `scenarios/mutants/catalogue.py`: id, field, point, operator, the REM ids it breaks
  (or `harmless` and why), whether it is an identity mutant, and the scenarios it applies to. One mutant per
  run of the plan, applied to every task in its scope.
- **Fast path.** One stack of mocks for the whole run, reset between mutants; the proof's small plan (2/2/1
  plus replace, homonym, outage, retry, Vitale: 10 tasks); the reference RIS in-process with a fresh state
  directory; the verdict is the proof's @CHECKS@ checks recomputed on the run record (`checks.recompute`:
  every check of the registry `checks.CHECKS`, so a new check counts at once), the same functions
  `segur proof` runs under pytest, without the evidence pack.
- **Outcomes.** *killed*: at least one check fails or is blocked; *survived*: all pass; *not applied*: the
  field was absent from what the RIS sent; *error*: the operator failed (never a kill). The kill rate
  counts killed / (killed + survived) over the non-harmless mutants.
- **In `make test`.** `tests/scenarios/test_proof_mutants.py` runs a fixed sample of a dozen mutants (one
  shared stack) and fails if one survives; it holds only mutants the current proof kills. A hole closed in the
  proof turns a survivor here into a kill: add it to the sample then.
"""


def how_it_works() -> str:
    """The method section, with the number of checks the fast path recomputes (the registry's, not a copy)."""
    return HOW_IT_WORKS.replace("@CHECKS@", str(len(CHECKS)))


def write_report(run: MutationRun, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render(run), encoding="utf-8")
    return path
