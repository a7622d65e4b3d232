"""`segur proof`: the Ségur proof end to end, from a cold start to the evidence pack.

1. start the services (`segur.up.start_stack`) from a config or the defaults, on free ports, with a
   fresh DMP store (a proof never inherits documents from an earlier run);
2. run the plan (`plan.build_plan`: 10 DMP / 10 MSSanté / 1 citizen + replace, homonym, outage, retry)
   through the driver of the system under test, and record what the mocks saw (`runner.run_plan`);
3. run the couloir's check suites with pytest, in-process, on that record (`--alluredir`, `--junitxml`);
4. write the evidence pack (`scenarios/evidence_pack`): `index.html`, `evidence.json`, `allure-results/`,
   `junit.xml`. The exit code is 0 only when every check of the couloir ran and passed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import for_couloir, unrun_checks
from segur.scenarios.evidence_pack import annotate_junit, build_evidence, write_pack
from segur.scenarios.evidence_pack.documents import collect_documents
from segur.scenarios.markers import couloir_of, requirement_ids
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.plugin import CONTEXT_PLUGIN, evidence_of, is_blocked
from segur.scenarios.results import ProofResults
from segur.scenarios.runner import run_plan
from segur.scenarios.stack import (
    SutCannotStart,
    TenantStack,
    check_sut,
    driver_for,
    stack_config,
    stack_pack,
)
from segur.scenarios.suites import SCENARIOS_DIR, suite_paths, suite_plugins
from segur.up import start_stack

#: `segur demo` and the tests take the proof's set-up from here too
__all__ = ["ProofContext", "ProofOutcome", "SutCannotStart", "check_sut", "driver_for", "run_proof",
           "run_suites", "stack_config", "suite_paths"]


@dataclass
class ProofContext:
    """What `segur proof` hands the check suites (registered as the `segur_proof_context` plugin)."""

    sut: str
    couloir: str
    plan: object
    run: dict
    world: object
    stack: object = None
    pack: str | None = None  # the official CDA pack the mocks validated with (None: none)
    results: ProofResults = field(default_factory=ProofResults)  # what the check tests judged


@dataclass
class TestOutcome:
    nodeid: str
    name: str
    outcome: str = "not run"  # passed / failed / blocked / skipped / error
    rem: list[str] = field(default_factory=list)
    couloir: str | None = None
    duration_s: float = 0.0
    message: str = ""
    evidence: list = field(default_factory=list)


class OutcomeCollector:
    """A pytest plugin recording each test's outcome, REM ids and evidence for the pack."""

    def __init__(self):
        self.tests: dict[str, TestOutcome] = {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            self.tests[item.nodeid] = TestOutcome(item.nodeid, item.name, rem=requirement_ids(item),
                                                  couloir=couloir_of(item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        test = self.tests.setdefault(item.nodeid,
                                     TestOutcome(item.nodeid, item.name, rem=requirement_ids(item)))
        if report.when == "call" or report.outcome != "passed":
            if report.when != "call" and report.failed:
                test.outcome = "error"
            elif is_blocked(report):
                test.outcome = "blocked"
            elif report.skipped:
                test.outcome = "skipped"
            else:
                test.outcome = report.outcome
            test.duration_s += report.duration
            if report.failed or report.skipped:
                test.message = _longrepr(report)
        test.evidence = evidence_of(item)


def _longrepr(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longreprtext or "")[-4000:]


class _Progress:
    """A rich progress bar on a terminal; one line per task otherwise."""

    def __init__(self, total: int, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        if not enabled:
            return
        self.console = Console(stderr=True)
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console, transient=False)
            self.task = self.bar.add_task("proof", total=total)
            self.bar.start()

    def phase(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, description=text)
        else:
            print(f"[segur proof] {text}", file=sys.stderr, flush=True)

    def on_task(self, phase: str, planned, result) -> None:
        if not self.enabled:
            return
        if phase == "start":
            self.phase(f"{planned.task.describe()}")
            return
        verdict = "ok" if result.get("ok") else "FAILED"
        if self.bar is not None:
            self.bar.advance(self.task)
        else:
            detail = result.get("detail") or ""
            detail = detail if len(detail) <= 160 else detail[:159] + "…"  # whole in evidence.json
            line = f"[segur proof]   {planned.task.id}: the product says {verdict}: {detail}"
            print(line, file=sys.stderr, flush=True)

    def done(self, text: str) -> None:
        """One of the two steps around the tasks (mocks started, checks judged) is over."""
        if self.bar is not None:
            self.bar.update(self.task, description=text, advance=1)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


#: pytest's exit codes when it could not run the suites (its output then goes to stderr, even when quiet)
PYTEST_DID_NOT_RUN = (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                      pytest.ExitCode.USAGE_ERROR)


@dataclass
class ProofOutcome:
    exit_code: int
    verdict: str
    out: Path
    evidence: dict


def run_proof(sut: str, couloir: str = "RIS", out: str | os.PathLike = "evidence", *,
              config: str | None = None, size: str = "full", progress: bool = True,
              pytest_args: tuple[str, ...] = (), stack=None, quiet: bool | None = None,
              pack: str | os.PathLike | None = None, tenant: str = "",
              pam_endpoint: str | None = None, capabilities=None, claims=None) -> ProofOutcome:
    """Run the proof (see the module doc) and write the pack to `out`. `stack` reuses running mocks (they are
    reset first: the proof reads their journals from a clean start). `pack`: the official CDA pack the mocks
    validate with (over the config's `[stack] pack`; a reused stack keeps its own). `quiet` (default: without
    `progress`) keeps the check suites' pytest output off stdout; it goes to stderr only when pytest itself
    fails to run (usage or internal error, interruption). `tenant`: run as that tenant of the stack (its
    admin calls and the product's calls go to the tenant only; `TenantStack`). `pam_endpoint`: the product's
    MLLP listener (`mllp://host:port`) the PAM feed tasks send to, over the one its driver announces
    (docs/sut.md). `capabilities`: the names of the couloir's capabilities to run beside the core 10/10/1
    (None: all; empty: none); the checks of the others are not run, and the pack says so. `claims`: the
    optional requirements the product claims (`capabilities.claims.OPTIONS`; None: its driver's word)."""
    quiet = (not progress) if quiet is None else quiet
    started = time.monotonic()
    couloir = couloir.upper()
    out = Path(out)
    workdir = Path(tempfile.mkdtemp(prefix="segur-proof-"))
    owned_stack = stack is None
    owned = None  # the stack this proof started (and stops)
    timings = {}
    try:
        world = load_world()
        plan = build_plan(world, couloir, size, capabilities)
        display = _Progress(len(plan.tasks) + 2, progress)
        try:
            display.phase("starting the mocks")
            tick = time.monotonic()
            if owned_stack:
                stack_conf = stack_config(config, workdir, pack=pack, tenants=bool(tenant))
                if stack_conf["stack"]["world"]:
                    world = load_world(stack_conf["stack"]["world"])
                    plan = build_plan(world, couloir, size, capabilities)
                stack = owned = start_stack(stack_conf)
            if tenant:
                stack = TenantStack(stack, tenant)
            if not owned_stack:
                with Admin(stack.endpoints()) as admin:
                    admin.reset()
            pack_used = stack_pack(stack)
            timings["stack_start_s"] = round(time.monotonic() - tick, 3)
            display.done("mocks started")
            endpoints = stack.endpoints()
            driver = driver_for(sut, stack, workdir / "sut-state")
            tick = time.monotonic()
            run = run_plan(plan, driver, endpoints, world, on_task=display.on_task, pack=pack_used,
                           product={"pam": pam_endpoint} if pam_endpoint else None, claims=claims)
            timings["plan_s"] = round(time.monotonic() - tick, 3)
            documents = collect_documents(stack, run, out)  # whole, while the mocks still run
            display.phase("judging: running the check suites")
            tick = time.monotonic()
            context = ProofContext(sut, couloir, plan, run, world, stack, pack_used)
            left_out = left_out_checks(couloir, endpoints, plan.capabilities)
            outcomes = run_suites(context, out, (*pytest_args, *left_out), quiet=quiet)
            timings["checks_s"] = round(time.monotonic() - tick, 3)
            display.done("judged")
        finally:
            display.stop()
            if owned_stack and owned is not None:
                owned.stop()
        timings["total_s"] = round(time.monotonic() - started, 3)
        evidence = build_evidence(run, outcomes, context.results, sut=sut, couloir=couloir, size=size,
                                  timings=timings, selection=[*pytest_args, *_chosen(plan, couloir)],
                                  documents=documents,
                                  pack=pack_used)
        write_pack(evidence, out)
        annotate_junit(out / "junit.xml", evidence)
        return ProofOutcome(0 if evidence["verdict"] == "pass" else 1, evidence["verdict"], out, evidence)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def left_out_checks(couloir: str, endpoints, planned: list[str] | None = None) -> tuple[str, ...]:
    """`--deselect` for the checks of the couloir's capabilities this proof does not run: those the plan left
    out (`--capabilities`; None: it left out none) and those whose mocks the stack does not serve (a tenant
    of a shared stack is served no PAM). They are not run, and the pack says so, rather than failing the
    product for what the run lacks; a check that a capability which runs judges too stays."""
    served = set(endpoints)
    running = [capability for capability in for_couloir(couloir)
               if (planned is None or capability.name in planned) and set(capability.services) <= served]
    left = unrun_checks(couloir, running)
    module = Path(suite_paths(couloir)[0]).name
    return tuple(arg for test in left for arg in ("--deselect", f"{module}::{test}"))


def _chosen(plan, couloir: str) -> list[str]:
    """The selection the pack shows when the plan left capabilities out (their checks are not run)."""
    offered = [capability.name for capability in for_couloir(couloir)]
    if plan.capabilities == offered:
        return []
    return ["--capabilities", ",".join(plan.capabilities) or "none"]


def run_suites(context: ProofContext, out: Path, pytest_args: tuple[str, ...] = (), *,
               quiet: bool = False) -> list[TestOutcome]:
    """The couloir's check suites, in-process, judging `context.run`; JUnit XML and allure results in `out`.
    `quiet`: pytest's terminal output is kept back, and shown on stderr only if pytest could not run."""
    out.mkdir(parents=True, exist_ok=True)
    allure_dir = out / "allure-results"
    shutil.rmtree(allure_dir, ignore_errors=True)
    collector = OutcomeCollector()
    args = [*suite_paths(context.couloir), "-q", "-p", "no:cacheprovider", "--rootdir", str(SCENARIOS_DIR),
            "-c", os.devnull, f"--alluredir={allure_dir}", f"--junitxml={out / 'junit.xml'}",
            "--segur-couloir", context.couloir,
            # a second proof in the same process (segur demo) would warn that modules are already imported
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            # pytest's unraisable-exception plugin runs two full gc.collect() per session: 0.3–0.6 s a proof
            # in a process with a large heap (a test run, `segur demo`), for warnings no check reads
            "-p", "no:unraisableexception", *suite_plugins(), *pytest_args]
    if quiet:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):  # pytest's terminal writer binds sys.stdout at configure
            status = pytest.main(args, plugins=[_ContextRegistrar(context), collector])
        if status in PYTEST_DID_NOT_RUN:
            sys.stderr.write(captured.getvalue())
    else:
        pytest.main(args, plugins=[_ContextRegistrar(context), collector])
    # the verdict comes from the outcomes, not pytest's exit status (a deselected test is not a failure)
    return list(collector.tests.values())


class _ContextRegistrar:
    """Registers the proof's context under the name the plugin's fixtures look up."""

    def __init__(self, context: ProofContext):
        self.context = context

    def pytest_configure(self, config):
        config.pluginmanager.register(self.context, CONTEXT_PLUGIN)
