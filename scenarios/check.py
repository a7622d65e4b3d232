"""What every check of the proof is: its declaration (`Check`), its verdict (`CheckResult`) and the two
helpers every judge uses. The core checks (`checks.py`) and the capabilities' checks
(`capabilities/*.py`) are built on this module alone, so a capability never imports the core checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

PASS, FAIL, BLOCKED = "pass", "fail", "blocked"


@dataclass
class CheckResult:
    """`status` is `pass`, `fail` (a problem the check names) or `blocked`: the check could not be evaluated
    on some task because an upstream step failed there (nothing accepted to validate, replace or compare),
    and it found no problem of its own elsewhere. `blocked_by` says, per task, which upstream check fails on
    it and what the mocks saw instead (`{"check", "task", "reason"}`; `check` is None when no check of the
    harness is upstream, e.g. the outage attempt never reached the DMP). Only `pass` is `passed`."""

    check: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    summary: str = ""
    status: str = ""
    blocked_by: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if not self.status:
            self.status = PASS if self.passed else FAIL

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One check of the proof, declared once: everything the suites, the evidence pack, `segur rem`, the
    mutation runs and docs/proof.md say about it comes from here.

    `test` is the name of its pytest item in every couloir suite (kept as it was: JUnit and allure history
    key on it) and `doc` that test's docstring; `rem` the REM ids it proves per couloir; `reads` the facts
    of the run record it judges (`<service>.<fact>` of each task's observation, `task.claims` for the
    product's word); `judge` the pure function of the run record giving its `CheckResult`; `defects` the
    reference RIS's seeded defects it is meant to catch; `couloirs` the couloirs whose suite lists it, when
    its capability plans its tasks in some of its couloirs only (empty: all of them) — a check with no task
    to judge would pass on nothing."""

    id: str
    title: str
    test: str
    doc: str
    rem: dict[str, list[str]]  # couloir → REM ids
    reads: tuple[str, ...]
    judge: Callable[[dict], CheckResult]
    defects: tuple[str, ...] = ()
    couloirs: tuple[str, ...] = ()
    #: what a product that fails the check usually has to change (shown with its problems in the pack)
    hint: str = ""

    def judges_in(self, couloir: str) -> bool:
        return not self.couloirs or couloir in self.couloirs


def insi_found(task: dict) -> list[dict]:
    """The INSi searches of the task's patient that answered 00 (one identity): the core's observation of
    INSi, which the core checks and the capabilities' judge alike."""
    return [i for i in (task.get("observed") or {}).get("insi") or []
            if i.get("code") == "00" and i.get("for_task_patient")]


def insi_identities(task: dict) -> set[tuple[str, str]]:
    """The (INS, OID) pairs of `insi_found`."""
    return {(i["ins"], i.get("oid")) for i in insi_found(task) if i.get("ins")}


def reported_list(task: dict, key: str) -> list[dict] | None:
    """The `key` list of the JSON object the product returned or printed for a task (its whole output, else
    its last line that is one): what it says it did, which a check compares with what the mocks saw; None
    when it said nothing readable."""
    output = str((task.get("result") or {}).get("output") or "")
    for candidate in (output, *reversed(output.splitlines())):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get(key), list):
            return [item for item in data[key] if isinstance(item, dict)]
    return None


def tasks(run: dict, *scenarios: str) -> list[dict]:
    return [t for t in run["tasks"] if not scenarios or t["scenario"] in scenarios]


def judged(check_id: str, problems: list[str], evidence: list[dict], summary: str,
            blocked: list[dict] | None = None) -> CheckResult:
    """A problem of the check's own makes it fail, even when other tasks were blocked (both are recorded)."""
    status = FAIL if problems else BLOCKED if blocked else PASS
    return CheckResult(check_id, status == PASS, problems, evidence, summary, status, list(blocked or []))
