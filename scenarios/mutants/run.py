"""Running mutants: one shared stack of mocks, the proof's small plan, one mutant per run of the plan.

The fast path: the mocks start once and are reset between mutants (`Admin.reset`), the reference RIS runs
in-process (the proof's own `reference-ris` driver, a fresh state directory per mutant), and the verdict is
the proof's checks recomputed on the run record (`checks.recompute`, the functions `segur proof` runs
under pytest), without writing an evidence pack. A mutant is *killed* when at least one check does not
pass; *survived* when every check passes; *not applied* when its field was never found in what the RIS
sent; *error* when the operator itself failed (never counted as a kill).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import for_couloir, unrun_checks
from segur.scenarios.checks import recompute
from segur.scenarios.driver import reference_ris_dir, reference_ris_driver
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.runner import run_plan
from segur.scenarios.stack import stack_config, stack_pack
from segur.scenarios.suites import SUITES
from segur.up import start_stack

from .catalogue import MUTANTS, Mutant
from .operators import NotApplied, Others

KILLED, SURVIVED, NOT_APPLIED, ERROR = "killed", "survived", "not applied", "error"


@dataclass
class MutantResult:
    mutant: Mutant
    status: str
    failing: dict[str, str] = field(default_factory=dict)  # check id → fail / blocked
    applied: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def false_alarm(self) -> bool:
        """A harmless mutant the proof failed: the harness rejects a correct product."""
        return bool(self.mutant.harmless) and self.status == KILLED


@dataclass
class MutationRun:
    results: list[MutantResult]
    couloir: str
    size: str
    pack: str | None
    seconds: float
    stack_seconds: float
    baseline_seconds: float
    load: float = 0.0  # the 1-minute load average when the run started (the machine is shared)


def scenario_of(task) -> str:
    """`dmp-01` → `dmp`: the plan's task ids are `<scenario>-NN`."""
    return str(getattr(task, "id", "")).rsplit("-", 1)[0]


class _Tally:
    def __init__(self):
        self.applied = 0
        self.errors: list[str] = []

    def applied_once(self) -> None:
        self.applied += 1

    def error(self, exc: BaseException) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")


def make_mutator(mutant: Mutant, others: Others, tally: _Tally) -> Callable:
    """The `reference_ris.wire.MUTATOR` of one mutant: changes its point's value on the tasks in its scope."""
    def mutate(point: str, value, context: dict):
        if point != mutant.point:
            return value
        task = context.get("task")
        if mutant.scope and task is not None and scenario_of(task) not in mutant.scope:
            return value
        deferred = []
        extra = {"others": others, "applied": tally.applied_once, "error": tally.error,
                 "deferred": lambda: deferred.append(True)}
        try:
            changed = mutant.apply(value, {**context, **extra})
        except NotApplied:
            return value
        except Exception as exc:  # noqa: BLE001 - an operator's own bug must not pass for a kill
            tally.error(exc)
            return value
        if changed is None:
            return value
        if not deferred:
            tally.applied_once()
        return changed
    return mutate


def wire_module():
    """`reference_ris.wire`, imported the way the proof's driver imports the reference RIS (from its
    folder, put on the path: the example is not an installed package)."""
    folder = str(reference_ris_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import reference_ris.wire  # the example is not installed: importable only once its folder is on the path

    return reference_ris.wire


class MutationBench:
    """One stack, one world and one plan for many mutants (`with MutationBench() as bench: bench.run(m)`)."""

    def __init__(self, couloir: str = "RIS", size: str = "small", pack: str | os.PathLike | None = None,
                 capabilities=None):
        """`pack`: the official CDA pack the mocks validate with (None: none). `capabilities`: the plan's
        (None: all of the couloir's; empty: the core 10/10/1 alone, where every wire point of the catalogue
        is sent); the checks of the others are not judged."""
        self.couloir, self.size, self.capabilities = couloir.upper(), size, capabilities
        self.pack = str(pack) if pack else None
        self.stack = None
        self.stack_seconds = 0.0

    def __enter__(self) -> MutationBench:
        self.workdir = tempfile.TemporaryDirectory(prefix="segur-mutants-")
        tick = time.monotonic()
        self.stack = start_stack(stack_config(None, self.workdir.name, pack=self.pack))
        self.stack_seconds = time.monotonic() - tick
        self.world = load_world()
        self.plan = build_plan(self.world, self.couloir, self.size, self.capabilities)
        planned = [capability for capability in for_couloir(self.couloir)
                   if capability.name in self.plan.capabilities]
        unrun = set(unrun_checks(self.couloir, planned).values())
        self.suite = [check for check in SUITES[self.couloir] if check not in unrun]
        self.others = Others(self.world, frozenset(p.patient_key for p in self.plan.tasks))
        self.wire = wire_module()
        return self

    def __exit__(self, *exc) -> None:
        self.wire.MUTATOR = None
        if self.stack is not None:
            self.stack.stop()
        self.workdir.cleanup()

    def statuses(self, mutator: Callable | None = None) -> dict[str, str]:
        """Every check's status on one run of the plan, with `mutator` installed in the reference RIS."""
        endpoints = self.stack.endpoints()
        Admin(endpoints).reset()
        with tempfile.TemporaryDirectory(prefix="ris-state-", dir=self.workdir.name) as state:
            driver = reference_ris_driver(state_dir=state)
            self.wire.MUTATOR = mutator
            try:
                run = run_plan(self.plan, driver, endpoints, self.world, pack=stack_pack(self.stack))
            finally:
                self.wire.MUTATOR = None
        # the couloir's suite, less the checks of the capabilities the plan does not take (no task to judge)
        return {check: result.status for check, result in recompute(run).items() if check in self.suite}

    def baseline(self) -> float:
        """Run the correct RIS once; it must pass every check, or no mutant can be judged."""
        tick = time.monotonic()
        failing = {c: s for c, s in self.statuses().items() if s != "pass"}
        if failing:
            raise RuntimeError(f"the reference RIS without mutation does not pass the proof: {failing}")
        return time.monotonic() - tick

    def run(self, mutant: Mutant) -> MutantResult:
        tally = _Tally()
        tick = time.monotonic()
        statuses = self.statuses(make_mutator(mutant, self.others, tally))
        failing = {c: s for c, s in statuses.items() if s != "pass"}
        if tally.errors:
            status = ERROR
        elif not tally.applied:
            status = NOT_APPLIED
        else:
            status = KILLED if failing else SURVIVED
        return MutantResult(mutant, status, failing, tally.applied, tally.errors, time.monotonic() - tick)


ResultListener = Callable[["MutantResult"], None]


def run_mutants(mutants: Iterable[Mutant] | None = None, *, couloir: str = "RIS", size: str = "small",
                pack: str | None = None, on_result: ResultListener | None = None) -> MutationRun:
    """Every mutant (default: the whole catalogue) against one stack; `on_result` feeds a progress display;
    `pack`: the official CDA pack the mocks validate with (None: none)."""
    mutants = list(MUTANTS.values() if mutants is None else mutants)
    load = os.getloadavg()[0]
    started = time.monotonic()
    results = []
    with MutationBench(couloir, size, pack) as bench:
        baseline = bench.baseline()
        for mutant in mutants:
            result = bench.run(mutant)
            results.append(result)
            if on_result:
                on_result(result)
    return MutationRun(results, couloir.upper(), size, bench.pack, time.monotonic() - started,
                       bench.stack_seconds, baseline, load)


def default_report_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "mutants.md"
