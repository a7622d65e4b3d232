"""`segur proof`: the Ségur proof end to end, from a cold start to the evidence pack.

1. start the four mocks (`segur.up.start_stack`) from a config or the defaults, on free ports, with a
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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from segur.scenarios.plugin import CONTEXT_PLUGIN, evidence_of, is_blocked, requirement_ids

SCENARIOS_DIR = Path(__file__).resolve().parent


def stack_config(path: str | os.PathLike | None, workdir: str | os.PathLike, *, free_ports: bool = True) -> dict:
    """The stack config of a proof: the file's settings, a fresh DMP data directory under `workdir`, the
    test PKI under `workdir` unless the file names one, and free ports unless told otherwise."""
    from segur.up import free_port_overrides, load_config

    workdir = Path(workdir)
    own = {}
    if path:
        try:
            own = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            own = {}  # load_config reports the problem with its own message
    overrides: dict = {"stack": {"data": str(workdir / "data")}}
    if not (own.get("stack") or {}).get("pki"):
        overrides["stack"]["pki"] = str(workdir / "pki")
    if free_ports:
        overrides.update(free_port_overrides())
    return load_config(path, overrides)


def driver_for(sut: str, stack, state_dir: str | os.PathLike):
    """The driver of a `--sut` value; the manual driver watches the stack's journals."""
    from segur.scenarios.driver import make_driver
    from segur.scenarios.observe import Admin, expected_exchange

    if sut.strip() == "manual":
        endpoints = stack.endpoints() if hasattr(stack, "endpoints") else stack
        marks: dict[str, dict] = {}

        def observed(task) -> bool:
            since = marks.setdefault(task.id, Admin(endpoints).marks())
            return expected_exchange(task, endpoints, since=since)

        return make_driver("manual", observed=observed)
    if sut.startswith("reference-ris"):
        return make_driver(sut, state_dir=str(state_dir))
    return make_driver(sut)


class SutCannotStart(ValueError):
    """The `--sut` given cannot work (no such executable, a module that does not import, not a URL…)."""


def check_sut(sut: str) -> None:
    """Refuse a `--sut` that cannot start, *before* the mocks start (README: exit code 2, no traceback):
    builds its driver once, and checks what building does not (a command's executable, a URL's host)."""
    from segur.scenarios.driver import make_driver

    spec = sut.strip()
    try:
        make_driver(spec, observed=lambda task: False)
    except Exception as exc:  # a plugin that raises on import is refused too, whatever it raises
        raise SutCannotStart(str(exc) or type(exc).__name__) from None
    if spec.startswith("cmd:"):
        _check_executable(spec[len("cmd:"):])
    elif spec.startswith(("http://", "https://")):
        _check_url(spec)


def _check_executable(template: str) -> None:
    """The command's first word must name an executable (on PATH, or a path), unless it is a placeholder."""
    import shlex

    try:
        words = shlex.split(template)
    except ValueError as exc:  # the driver splits it the same way, once the mocks are up: refuse it now
        raise SutCannotStart(f"{template!r}: its words cannot be split ({exc}; check its quotes)") from None
    if not words:
        return  # an empty command is refused by make_driver
    program = words[0]
    if "{" in program:
        return
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program)
        if not path.is_file():
            raise SutCannotStart(f"{program}: no such file")
        if not os.access(path, os.X_OK):
            raise SutCannotStart(f"{program}: not executable (chmod +x, or start the command with its "
                                 "interpreter)")
    elif shutil.which(program) is None:
        raise SutCannotStart(f"{program}: no such command on PATH")


def _check_url(url: str) -> None:
    """A webhook URL needs a host, a valid port and no blanks."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as exc:
        raise SutCannotStart(f"{url!r} is not a URL: {exc}") from None
    if not parts.hostname or any(c.isspace() for c in url):
        raise SutCannotStart(f"{url!r} is not a URL (expected http(s)://host[:port]/path)")


@dataclass
class ProofContext:
    """What `segur proof` hands the check suites (registered as the `segur_proof_context` plugin)."""

    sut: str
    couloir: str
    plan: object
    run: dict
    world: object
    stack: object = None


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
        from segur.scenarios.plugin import couloir_of

        for item in items:
            self.tests[item.nodeid] = TestOutcome(item.nodeid, item.name, rem=requirement_ids(item),
                                                  couloir=couloir_of(item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        test = self.tests.setdefault(item.nodeid, TestOutcome(item.nodeid, item.name, rem=requirement_ids(item)))
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
        from rich.console import Console

        self.console = Console(stderr=True)
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
            print(f"[segur proof]   {planned.task.id}: the product says {verdict}: {detail}", file=sys.stderr, flush=True)

    def done(self, text: str) -> None:
        """One of the two steps around the tasks (mocks started, checks judged) is over."""
        if self.bar is not None:
            self.bar.update(self.task, description=text, advance=1)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@dataclass
class ProofOutcome:
    exit_code: int
    verdict: str
    out: Path
    evidence: dict


def run_proof(sut: str, couloir: str = "RIS", out: str | os.PathLike = "evidence", *, config: str | None = None,
              size: str = "full", progress: bool = True, pytest_args: tuple[str, ...] = (),
              stack=None, quiet: bool | None = None) -> ProofOutcome:
    """Run the proof (see the module doc) and write the pack to `out`. `stack` reuses running mocks (they are
    reset first: the proof reads their journals from a clean start). `quiet` (default: without `progress`)
    keeps the check suites' pytest output off stdout; it goes to stderr only when pytest itself fails to run
    (usage or internal error, interruption)."""
    quiet = (not progress) if quiet is None else quiet
    from segur.fixtures.world import load_world
    from segur.scenarios.evidence_pack import annotate_junit, build_evidence, write_pack
    from segur.scenarios.evidence_pack.documents import collect_documents
    from segur.scenarios.observe import Admin
    from segur.scenarios.plan import build_plan
    from segur.scenarios.runner import run_plan
    from segur.up import start_stack

    started = time.monotonic()
    couloir = couloir.upper()
    out = Path(out)
    workdir = Path(tempfile.mkdtemp(prefix="segur-proof-"))
    owned_stack = stack is None
    timings = {}
    try:
        world = load_world()
        plan = build_plan(world, couloir, size)
        display = _Progress(len(plan.tasks) + 2, progress)
        try:
            display.phase("starting the mocks")
            tick = time.monotonic()
            if owned_stack:
                stack_conf = stack_config(config, workdir)
                if stack_conf["stack"]["world"]:
                    world = load_world(stack_conf["stack"]["world"])
                    plan = build_plan(world, couloir, size)
                stack = start_stack(stack_conf)
            else:
                Admin(stack.endpoints()).reset()
            timings["stack_start_s"] = round(time.monotonic() - tick, 3)
            display.done("mocks started")
            endpoints = stack.endpoints()
            driver = driver_for(sut, stack, workdir / "sut-state")
            tick = time.monotonic()
            run = run_plan(plan, driver, endpoints, world, on_task=display.on_task)
            timings["plan_s"] = round(time.monotonic() - tick, 3)
            documents = collect_documents(stack, run, out)  # whole, while the mocks still run
            display.phase("judging: running the check suites")
            tick = time.monotonic()
            outcomes = run_suites(ProofContext(sut, couloir, plan, run, world, stack), out, pytest_args,
                                  quiet=quiet)
            timings["checks_s"] = round(time.monotonic() - tick, 3)
            display.done("judged")
        finally:
            display.stop()
            if owned_stack and stack is not None:
                stack.stop()
        timings["total_s"] = round(time.monotonic() - started, 3)
        evidence = build_evidence(run, outcomes, sut=sut, couloir=couloir, size=size, timings=timings,
                                  selection=list(pytest_args), documents=documents)
        write_pack(evidence, out)
        annotate_junit(out / "junit.xml", evidence)
        return ProofOutcome(0 if evidence["verdict"] == "pass" else 1, evidence["verdict"], out, evidence)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def suite_paths(couloir: str) -> list[str]:
    prefix = {"RIS": "test_ris_", "BIO": "test_bio_"}[couloir]
    return [str(p) for p in sorted(SCENARIOS_DIR.glob(f"{prefix}*.py"))]


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
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *pytest_args]
    if quiet:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):  # pytest's terminal writer binds sys.stdout at configure
            status = pytest.main(args, plugins=[_ContextRegistrar(context), collector])
        if status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
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
