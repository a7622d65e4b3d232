"""The evidence of a proof run and its verdict: `build_evidence` assembles what `evidence.json` holds.

The run record (plan, driver claims, what the mocks saw per task, the journals with bodies stripped, the DMP
store), each check's result **as its test recorded it** (`ProofResults`: a check is judged once per run, by
its test; the pack never judges again), the pytest outcome of each check test with the REM ids it carries, and
a per-requirement summary. `recompute_verdict` redoes the judgement from a written `evidence.json` alone, for
a reviewer holding the pack: a verdict the pack cannot reproduce is not evidence.

A check is `pass`, `fail` or `blocked` (not evaluated: an upstream step failed on a task, named with the
check that fails there), or `not run` when no test judged it (a selection left it out); a requirement is
`fail` if one of its tests failed, else `blocked` if one was blocked, else `pass` if all passed, else
`not run`. The proof passes only if everything judged passed: a blocked requirement is not proven.
A check of an optional (PEUT) requirement the product does not claim (`capabilities/claims.py`) is `not
claimed`, and so is a requirement only such checks carry: neither judged nor passed.
"""

from __future__ import annotations

import os
import platform
import xml.etree.ElementTree as ET
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from segur.scenarios.capabilities.claims import NOT_CLAIMED, NOT_CLAIMED_NOTE
from segur.scenarios.checks import CHECKS, CheckResult, recompute
from segur.scenarios.plan import COULOIRS, va_wording
from segur.scenarios.rem import DOMAINS, load_catalogue
from segur.scenarios.results import ProofResults
from segur.scenarios.suites import SUITES

FORMAT = 1


def _catalogue_entry(rem_id: str, couloir: str) -> dict:
    entry = load_catalogue().get((couloir, rem_id)) or load_catalogue().get(("SOCLE", rem_id))
    return asdict(entry) if entry else {}


#: what the pack says of a check no test judged in the run (a -k/-m selection left it out)
NOT_JUDGED = "not judged in this run: its test was not selected"


def check_entry(check_id: str, couloir: str, result: CheckResult | None) -> dict:
    """A check as `evidence.json` keeps it: its declaration's title and REM ids, and the result its test
    recorded (`status` "not run", no problem and no evidence when no test judged it)."""
    check = CHECKS[check_id]
    entry = {"id": check_id, "title": check.title, "rem": check.rem.get(couloir, []), "hint": check.hint}
    if result is None:
        return entry | {"passed": False, "status": "not run", "problems": [], "blocked_by": [],
                        "summary": NOT_JUDGED, "evidence": []}
    return entry | {"passed": result.passed, "status": result.status, "problems": result.problems,
                    "blocked_by": result.blocked_by, "summary": result.summary, "evidence": result.evidence}


def build_evidence(run: dict, outcomes: list, results: ProofResults, *, sut: str, couloir: str, size: str,
                   timings: dict, selection: list | None = None, documents: list | None = None,
                   pack: str | None = None) -> dict:
    """The evidence of a run from what its check tests recorded (`results`): nothing is judged here.
    `pack`: the official CDA pack the mocks validated with (None: none)."""
    # the couloir's checks (RI's are not RIS's: a check of another couloir is not "not run" here)
    checks = {check_id: check_entry(check_id, couloir, results.get(check_id)) for check_id in SUITES[couloir]}
    tests = []
    for outcome in outcomes:
        data = asdict(outcome) if hasattr(outcome, "__dataclass_fields__") else dict(outcome)
        check_ids = [e.get("check") for e in data.pop("evidence", []) if e.get("check")]
        data["check"] = check_ids[0] if check_ids else None
        tests.append(data)
    requirements: dict[str, dict] = {}
    for test in tests:
        if test["couloir"] not in (None, couloir):
            continue
        for rem_id in test["rem"]:
            req = requirements.setdefault(rem_id, {"id": rem_id, "tests": [], "checks": [],
                                                   "catalogue": _catalogue_entry(rem_id, couloir)})
            req["tests"].append({"nodeid": test["nodeid"], "outcome": test["outcome"]})
            if test["check"] and test["check"] not in req["checks"]:
                req["checks"].append(test["check"])
    for req in requirements.values():
        req["verdict"] = requirement_verdict(t["outcome"] for t in req["tests"])
        if req["checks"] and all(checks.get(c, {}).get("status") == NOT_CLAIMED for c in req["checks"]):
            req["verdict"], req["note"] = NOT_CLAIMED, NOT_CLAIMED_NOTE  # optional: skipped, never a pass
        blocked = [c for c in req["checks"] if checks.get(c, {}).get("status") == "blocked"]
        req["blocked_by"] = [b | {"blocked_check": c} for c in blocked for b in checks[c]["blocked_by"]] \
            if req["verdict"] == "blocked" else []
    evidence = {
        "format": FORMAT,
        "meta": {"sut": sut, "couloir": couloir, "size": size, "generated": datetime.now(UTC).isoformat(
            timespec="seconds"), "couloir_label": COULOIRS[couloir]["label"], "va": va_wording(couloir),
            "timings": timings, "selection": selection or [],
            "python": platform.python_version(), "validation": run.get("validation"),
            "segur_pack": str(pack) if pack else None},
        "plan": run["plan"],
        "run": run,
        "checks": checks,
        "tests": tests,
        "requirements": dict(sorted(requirements.items())),
        # the documents' files in the pack (documents.collect_documents); None: not collected for this pack
        "documents": documents,
    }
    evidence["verdict"] = verdict_of(evidence)
    evidence["verdict_label"] = verdict_label(evidence)
    return evidence


#: what a PASS says when the mocks validated documents without the official ANS pack
WITHOUT_PACK = "official CDA checks not run"


def official_checks_ran(evidence: dict) -> bool:
    """Whether the mocks had the official pack (CDA XSD + CI-SIS Schematron) to validate documents with."""
    return bool((evidence["meta"].get("validation") or {}).get("pack"))


def verdict_label(evidence: dict) -> str:
    """The verdict as shown everywhere (CLI, index.html, evidence.json, junit.xml): a pass without the
    official pack is `PASS (official CDA checks not run)`, and a pass of a partial run (`-k`, `-m`,
    `--capabilities`) says how many requirements did not run: never a plain conformance PASS for either."""
    label = evidence["verdict"].upper()
    if evidence["verdict"] != "pass":
        return label
    qualifiers = [] if official_checks_ran(evidence) else [WITHOUT_PACK]
    if evidence["meta"].get("selection"):
        not_run = sum(1 for req in evidence["requirements"].values() if req["verdict"] == "not run")
        qualifiers.append(f"partial run: {not_run} requirement(s) not run")
    return f"{label} ({'; '.join(qualifiers)})" if qualifiers else label


def annotate_junit(path: str | os.PathLike, evidence: dict) -> None:
    """Writes the verdict into the check suites' junit.xml, where CI servers look: a `segur.verdict` property
    on each suite and, without the official pack, one skipped test case saying the CDA checks did not run."""
    path = Path(path)
    if not path.is_file():
        return
    tree = ET.parse(path)
    root = tree.getroot()
    for suite in ([root] if root.tag == "testsuite" else root.findall("testsuite")):
        properties = suite.find("properties")
        if properties is None:
            properties = ET.Element("properties")
            suite.insert(0, properties)
        ET.SubElement(properties, "property", name="segur.verdict", value=verdict_label(evidence))
        if not official_checks_ran(evidence):
            case = ET.SubElement(suite, "testcase", classname="segur.proof",
                                 name="official CDA checks (CDA XSD + CI-SIS Schematron)", time="0")
            ET.SubElement(case, "skipped", type="segur.no-pack",
                          message=f"{WITHOUT_PACK}: no official pack (--pack DIR or SEGUR_PACK)")
            for counter in ("tests", "skipped"):
                suite.set(counter, str(int(suite.get(counter) or 0) + 1))
    tree.write(path, encoding="utf-8", xml_declaration=True)


#: one sentence wherever a requirement's status is shown (index.html, `segur rem show`)
UNDER_REVIEW_NOTE = ("UNDER_REVIEW: ANS had not yet approved this requirement in the REM working data the "
                     "project reads (its wording may still change); the proof checks it all the same, and "
                     "`segur rem coverage` (APPROVED requirements only) leaves it out.")


def requirement_counts(evidence: dict) -> dict:
    """How the pack's count of requirements relates to `segur rem coverage`'s: the pack counts every REM id
    the couloir's checks carry (socle, UNDER_REVIEW and document-content ids too), the coverage map only the
    couloir's APPROVED requirements on INS, DMP, MSSanté, annuaire, CDA and Pro Santé Connect."""
    couloir = evidence["meta"]["couloir"]
    mapped = {rem_id for (c, rem_id), r in load_catalogue().items()
              if c == couloir and r.status == "APPROVED" and r.domain in DOMAINS}
    reqs = evidence["requirements"]
    return {"carried": len(reqs), "pass": sum(1 for r in reqs.values() if r["verdict"] == "pass"),
            "in_coverage_map": len(mapped & set(reqs)), "coverage_map": len(mapped)}


def requirements_note(evidence: dict) -> str:
    """One sentence explaining the pack's "N/M requirements" next to `segur rem coverage`'s numbers."""
    counts = requirement_counts(evidence)
    couloir = evidence["meta"]["couloir"]
    return (f"{counts['carried']} requirements = every REM id the {couloir} checks carry (socle SC.*, "
            f"UNDER_REVIEW and document-content ids included); {counts['in_coverage_map']} of them are among "
            f"the {counts['coverage_map']} APPROVED {couloir} requirements that `segur rem coverage` maps "
            "(the rest of those are out of scope, with the reason)")


#: test outcomes that mean the check was judged (a blocked check was reached and found not evaluable)
JUDGED = ("passed", "failed", "error", "blocked")


def requirement_verdict(outcomes) -> str:
    outcomes = set(outcomes)
    return ("fail" if outcomes & {"failed", "error"} else "blocked" if "blocked" in outcomes else
            "pass" if outcomes == {"passed"} else "not run")


def verdict_of(evidence: dict) -> str:
    """pass only when the couloir's check tests ran and all passed (none failed, errored or was blocked), and
    every check recomputed from the recorded run passed (the two must agree: a check test that was deselected
    does not count as passed)."""
    couloir = evidence["meta"]["couloir"]
    mine = [t for t in evidence["tests"] if t.get("couloir") in (None, couloir)]
    ran = [t for t in mine if t["outcome"] in JUDGED]
    if not ran or any(t["outcome"] in ("failed", "error", "blocked") for t in mine):
        return "fail"
    judged = {t["check"] for t in ran if t.get("check")}
    if any(check_status(evidence["checks"][c]) != "pass" for c in judged if c in evidence["checks"]):
        return "fail"
    return "pass"


def recompute_verdict(evidence: dict) -> dict:
    """Each check's verdict recomputed from the recorded run (`checks`: passed or not; `status`: pass, fail or
    blocked), each requirement's verdict from the checks of the tests that ran, and the pack's verdict."""
    recomputed = {c: r for c, r in recompute(evidence["run"]).items() if c in evidence["checks"]}
    results = {check_id: result.passed for check_id, result in recomputed.items()}
    status = {check_id: result.status for check_id, result in recomputed.items()}
    couloir = evidence["meta"]["couloir"]
    mine = [t for t in evidence["tests"] if t.get("couloir") in (None, couloir)]
    judged = {t["check"] for t in mine if t["outcome"] in JUDGED and t.get("check")}
    outcome_of = {"pass": "passed", "fail": "failed", "blocked": "blocked"}
    per_rem: dict[str, list[str]] = {}
    checks_of: dict[str, set] = {}
    for test in mine:
        recomputable = test.get("check") in status and test["outcome"] in ("passed", "failed", "blocked")
        outcome = outcome_of[status[test["check"]]] if recomputable else test["outcome"]  # an error stays one
        for rem_id in test["rem"]:
            per_rem.setdefault(rem_id, []).append(outcome)
            checks_of.setdefault(rem_id, set()).add(test.get("check"))
    errored = any(t["outcome"] == "error" for t in mine)
    verdict = "pass" if judged and not errored and all(status[c] == "pass" for c in judged) else "fail"
    unclaimed = {rem_id for rem_id, found in checks_of.items()
                 if found and all(status.get(c) == NOT_CLAIMED for c in found)}  # optional, not claimed
    return {"checks": results, "status": status,
            "requirements": {rem_id: NOT_CLAIMED if rem_id in unclaimed else requirement_verdict(o)
                             for rem_id, o in sorted(per_rem.items())},
            "verdict": verdict}


def check_status(check: dict) -> str:
    """pass, fail or blocked (packs written before "blocked" existed have only `passed`)."""
    return check.get("status") or ("pass" if check["passed"] else "fail")


def not_claimed_lines(evidence: dict) -> list[str]:
    """One line per requirement the product does not claim (optional, not judged): what `segur proof` prints
    under the verdict."""
    return [f"NOT CLAIMED {rem_id}: {NOT_CLAIMED_NOTE} ({', '.join(req['checks'])})"
            for rem_id, req in evidence["requirements"].items() if req["verdict"] == NOT_CLAIMED]


def problem_lines(checks) -> list[str]:
    """One line per failed check (its first problem, then its fix hint when it has one), then per blocked
    check (what blocked it): the summary `segur proof` and `segur demo` print under the verdict."""
    checks = list(checks)
    lines = []
    for check in checks:
        if check_status(check) == "fail":
            first = check["problems"][0] if check["problems"] else ""
            lines.append(f"FAIL {check['id']} [{', '.join(check['rem'])}]: {first}")
            lines += [f"  fix: {check['hint']}"] if check.get("hint") else []
    for check in checks:
        if check_status(check) == "blocked":
            upstream = ", ".join(dict.fromkeys(f"{b.get('check') or 'no check'} ({b['task']})"
                                               for b in check.get("blocked_by") or []))
            lines.append(f"BLOCKED {check['id']} [{', '.join(check['rem'])}]: not evaluated, blocked by "
                         f"{upstream}")
    return lines
