"""The pytest plugin editors get with the harness (entry point `pytest11: segur`).

- The `rem` marker: `@pytest.mark.rem("RIS.DMP/va1.13")` names the REM requirement(s) a test checks; the
  ids land on each test report (``user_properties``: JUnit XML, the evidence pack) and as allure labels.
- Options: `--segur-sut SPEC` (or env `SEGUR_SUT`: `reference-ris`, `cmd:…`, `http://…`, `plugin:mod:fn`,
  `manual`), `--segur-couloir RIS|BIO` (`SEGUR_COULOIR`), `--segur-config FILE` (a `segur up` TOML; ports
  are replaced by free ones unless `--segur-fixed-ports`), `--segur-size full|small` (`SEGUR_PROOF_SIZE`),
  `--segur-pack DIR` (the official CDA pack the mocks validate with; else the config's `[stack] pack`),
  `--segur-tenant NAME` (`SEGUR_TENANT`: the mocks serve tenants and the proof runs as that one),
  `--segur-pam-endpoint mllp://host:port` (`SEGUR_PAM_ENDPOINT`: the product's MLLP listener the PAM
  identity feeds go to, over the one its driver announces).
- Fixtures (session-scoped, started only when a test asks for them, so the plugin costs nothing
  otherwise): `segur_world`, `segur_stack` (the services, in-process), `segur_endpoints`,
  `segur_driver`, `segur_plan`, `segur_proof_run` (the plan run through the driver: the run record the
  checks judge), `segur_results` (what the check tests judged) and, per test, `segur_check` (run one of
  the harness's checks, record its result and evidence, assert) and `segur_evidence` (record your own
  evidence the same way).

Without a system under test (`--segur-sut`/`SEGUR_SUT`), the proof's checks are skipped with that
reason: a repository's own test run is not slowed by them.

A check that could not be evaluated because an upstream step failed (`blocked`: nothing accepted to
validate, replace or compare) is reported as a skip whose reason starts with `BLOCKED by <check> (<task>)`,
counted as `blocked` in pytest's summary line, with a `blocked_by` property in JUnit XML; a session with a
blocked check never exits 0 (exit code 1, as for a failure), since a blocked requirement is not proven.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.capabilities.claims import NOT_CLAIMED, parse_claims
from segur.scenarios.checks import CHECKS
from segur.scenarios.markers import couloir_of, requirement_ids
from segur.scenarios.plan import build_plan
from segur.scenarios.results import ProofResults

try:  # allure-pytest is a dependency, but the plugin must not need it
    import allure
except ImportError:  # pragma: no cover
    allure = None

__all__ = ["couloir_of", "requirement_ids"]  # the markers' readers, where editors' conftests found them

EVIDENCE_KEY = pytest.StashKey[list]()
CONTEXT_PLUGIN = "segur_proof_context"
BLOCKED_PROPERTY = "blocked_by"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segur", "Ségur conformance harness")
    group.addoption("--segur-sut", default=None, help="the system under test (reference-ris[:defect], cmd:…, "
                    "http(s)://…, plugin:module:function, manual); env SEGUR_SUT")
    group.addoption("--segur-couloir", default=None,
                    help="RIS (CR-IMG), BIO (CR-BIO), LGC (VSM), DPI or PFI (LDL, CRO…); env SEGUR_COULOIR")
    group.addoption("--segur-config", default=None, help="stack config (TOML, as for segur up)")
    group.addoption("--segur-size", default=None, choices=("full", "small"),
                    help="full = the 10/10/1 proof (default); small = 2/2/1; env SEGUR_PROOF_SIZE")
    group.addoption("--segur-fixed-ports", action="store_true", default=False,
                    help="keep the config's ports instead of free ones")
    group.addoption("--segur-tenant", default=None,
                    help="run the proof as this tenant of the stack (its own mocks then serve tenants): the "
                    "admin calls and the product's calls go to the tenant only; env SEGUR_TENANT")
    group.addoption("--segur-pam-endpoint", default=None,
                    help="the product's MLLP listener (mllp://host:port) the PAM identity feeds go to; env "
                    "SEGUR_PAM_ENDPOINT (docs/sut.md)")
    group.addoption("--segur-pack", default=None,
                    help="the official CDA pack the mocks validate with (over the config's [stack] pack)")
    group.addoption("--segur-claims", default=None,
                    help="the optional requirements the product claims: tls13, sasl-ir (comma-separated) or "
                    "none; default: its driver's announcement; env SEGUR_CLAIMS (docs/sut.md)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rem(*ids): the REM requirement ids a test checks")
    config.addinivalue_line("markers",
                            "couloir(name): the proof couloir of a scenario suite (RIS, BIO, LGC, DPI, PFI)")
    config.pluginmanager.register(BlockedTracker(), f"segur-blocked-{id(config)}")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Make each REM id selectable: pytest's `-m` matches marker keyword arguments only, so every id of
    `rem("A", "B")` is also given as `rem(id="A")`, `rem(id="B")` (`-m "rem(id='RIS.DMP/va1.13')"`); and
    it becomes a keyword of the test (`-k "RIS.DMP/va1.13"`, a substring match as always with -k).
    `requirement_ids` reads positional ids only, so reports and allure labels are unchanged."""
    for rem_id in requirement_ids(item):
        item.add_marker(pytest.mark.rem(id=rem_id))
        item.extra_keyword_matches.add(rem_id)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for rem_id in requirement_ids(item):
        item.user_properties.append(("rem", rem_id))


def is_blocked(report) -> bool:
    """A check test skipped because its check is blocked (see the module doc)."""
    properties = getattr(report, "user_properties", ())
    return bool(report.skipped and any(name == BLOCKED_PROPERTY for name, _ in properties))


def pytest_report_teststatus(report, config):
    if report.when == "call" and is_blocked(report):
        return "blocked", "B", "BLOCKED"
    return None


class BlockedTracker:
    """Counts the blocked check tests of one session (one per pytest config: `segur proof` runs pytest
    inside pytest, and the two sessions must not see each other's)."""

    def __init__(self):
        self.blocked: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" and is_blocked(report):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.blocked.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.blocked:
            terminalreporter.section("blocked checks (not evaluated: an upstream check failed)", yellow=True)
            for nodeid, reason in self.blocked:
                terminalreporter.line(f"BLOCKED {nodeid}: {reason}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus) -> None:
        """A blocked requirement is not proven: the session does not pass (exit 1) when only skips hid it."""
        if self.blocked and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- settings ---------------------------------------------------------------------------------------------
def _setting(config: pytest.Config, option: str, env: str, default=None):
    value = config.getoption(option, default=None)
    return value if value not in (None, "") else os.environ.get(env, default)


def _context(config: pytest.Config):
    """The proof command's context (its stack and run), when `segur proof` runs the suites in-process."""
    return config.pluginmanager.get_plugin(CONTEXT_PLUGIN)


# --- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def segur_couloir(pytestconfig) -> str:
    context = _context(pytestconfig)
    if context is not None:
        return context.couloir
    return str(_setting(pytestconfig, "--segur-couloir", "SEGUR_COULOIR", "RIS")).upper()


@pytest.fixture(scope="session")
def segur_world(pytestconfig):
    context = _context(pytestconfig)
    return context.world if context is not None else load_world()


@pytest.fixture(scope="session")
def segur_stack(pytestconfig, tmp_path_factory):
    """The services, in-process on free ports (or the proof command's stack)."""
    context = _context(pytestconfig)
    if context is not None and context.stack is not None:
        yield context.stack
        return
    # imported here, when a test asks for the mocks: the stack module brings every mock (flask, aiosmtpd,
    # pymap, zeep…), +0.8 s measured on every pytest session that loads this plugin (2026-12-06)
    from segur.scenarios.stack import TenantStack, stack_config
    from segur.up import start_stack

    tenant = _setting(pytestconfig, "--segur-tenant", "SEGUR_TENANT")
    config = stack_config(_setting(pytestconfig, "--segur-config", "SEGUR_CONFIG"),
                          tmp_path_factory.mktemp("segur-stack"),
                          free_ports=not pytestconfig.getoption("--segur-fixed-ports", default=False),
                          pack=pytestconfig.getoption("--segur-pack", default=None), tenants=bool(tenant))
    stack = start_stack(config)
    try:
        yield TenantStack(stack, tenant) if tenant else stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def segur_endpoints(segur_stack) -> dict:
    return segur_stack.endpoints()


@pytest.fixture(scope="session")
def segur_sut(pytestconfig) -> str:
    context = _context(pytestconfig)
    if context is not None:
        return context.sut
    sut = _setting(pytestconfig, "--segur-sut", "SEGUR_SUT")
    if not sut:
        pytest.skip("no system under test: give --segur-sut SPEC or set SEGUR_SUT (e.g. reference-ris)")
    return sut


@pytest.fixture(scope="session")
def segur_driver(segur_sut, segur_stack, tmp_path_factory):
    from segur.scenarios.stack import driver_for  # measured: the mocks' modules, see segur_stack

    return driver_for(segur_sut, segur_stack, tmp_path_factory.mktemp("segur-sut"))


@pytest.fixture(scope="session")
def segur_plan(pytestconfig, segur_world, segur_couloir):
    context = _context(pytestconfig)
    if context is not None:
        return context.plan
    size = _setting(pytestconfig, "--segur-size", "SEGUR_PROOF_SIZE", "full")
    return build_plan(segur_world, segur_couloir, size)


@pytest.fixture(scope="session")
def segur_proof_run(request, pytestconfig) -> dict:
    """The run record of the proof: the plan, the driver's claims and what the mocks saw per task."""
    context = _context(pytestconfig)
    if context is not None and context.run is not None:
        return context.run
    request.getfixturevalue("segur_sut")  # skips when there is no system under test, before starting anything
    try:  # a claim the harness does not know is refused before the mocks start
        claims = parse_claims(_setting(pytestconfig, "--segur-claims", "SEGUR_CLAIMS"))
    except ValueError as exc:
        raise pytest.UsageError(f"--segur-claims: {exc}") from None
    # imported here: the runner reads PDFs with pypdf, +0.4 s measured on every pytest session (2026-12-06)
    from segur.scenarios.runner import run_plan
    from segur.scenarios.stack import stack_pack

    stack = request.getfixturevalue("segur_stack")
    pam = _setting(pytestconfig, "--segur-pam-endpoint", "SEGUR_PAM_ENDPOINT")
    return run_plan(request.getfixturevalue("segur_plan"), request.getfixturevalue("segur_driver"),
                    request.getfixturevalue("segur_endpoints"), request.getfixturevalue("segur_world"),
                    pack=stack_pack(stack), product={"pam": pam} if pam else None, claims=claims)


@pytest.fixture(scope="session")
def segur_results(pytestconfig) -> ProofResults:
    """What the check tests of this session judged (`segur proof` builds the evidence pack from it)."""
    context = _context(pytestconfig)
    return context.results if context is not None else ProofResults()


class EvidenceRecorder:
    """Records what a test saw: kept on the test item (for the evidence pack) and attached to allure."""

    def __init__(self, item: pytest.Item):
        self.item = item
        self.records = item.stash.setdefault(EVIDENCE_KEY, [])

    def record(self, name: str, data, *, check: str | None = None, passed: bool | None = None,
               problems: list[str] | None = None, status: str | None = None,
               blocked_by: list[dict] | None = None) -> None:
        entry = {"name": name, "check": check, "passed": passed, "problems": problems or [], "data": data,
                 "status": status, "blocked_by": blocked_by or []}
        self.records.append(entry)
        _allure_attach(name, data)


def _allure_attach(name: str, data) -> None:
    if allure is None:
        return
    allure.attach(json.dumps(data, indent=2, ensure_ascii=False, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


def _allure_labels(item: pytest.Item, couloir: str | None, title: str | None) -> None:
    if allure is None:
        return
    if couloir:
        allure.dynamic.epic(f"Ségur proof — couloir {couloir}")
    if title:
        allure.dynamic.feature(title)
    for rem_id in requirement_ids(item):
        allure.dynamic.label("requirement", rem_id)
        allure.dynamic.tag(rem_id)
        allure.dynamic.link(f"#rem:{rem_id}", link_type="link", name=f"REM {rem_id}")


@pytest.fixture
def segur_evidence(request) -> EvidenceRecorder:
    return EvidenceRecorder(request.node)


@pytest.fixture
def segur_check(request, segur_evidence, segur_results):
    """`segur_check("insi-before-send")`: judge the proof run with one of the harness's checks (once: the
    result goes to `segur_results`, which the evidence pack is built from), record its evidence (exchanges
    with times, verdicts, rule ids, validation reports) and fail with its problems."""
    item = request.node
    wanted = couloir_of(item)

    def run(check_id: str):
        check = CHECKS[check_id]
        couloir = request.getfixturevalue("segur_couloir")
        if wanted and wanted != couloir:
            pytest.skip(f"a {wanted} check; this proof run is for couloir {couloir}")
        proof_run = request.getfixturevalue("segur_proof_run")
        if proof_run["plan"]["couloir"] != couloir:
            pytest.skip(f"the recorded run is for couloir {proof_run['plan']['couloir']}")
        _allure_labels(item, couloir, check.title)
        result = check.judge(proof_run)
        segur_results.record(check_id, result)
        segur_evidence.record(f"{check_id}: evidence", result.evidence, check=check_id, passed=result.passed,
                              problems=result.problems, status=result.status, blocked_by=result.blocked_by)
        if result.status == NOT_CLAIMED:  # an optional requirement the product does not claim: not judged
            pytest.skip(result.summary)
        if result.status == "blocked":
            for upstream in result.blocked_by:
                item.user_properties.append((BLOCKED_PROPERTY, blocked_label(upstream)))
            _allure_blocked()
            pytest.skip(blocked_message(check.title, result.blocked_by))
        if not result.passed:
            shown = result.problems[:20]
            more = len(result.problems) - len(shown)
            pytest.fail(f"{check.title}: {len(result.problems)} problem(s)\n  " + "\n  ".join(shown)
                        + (f"\n  … and {more} more" if more else ""), pytrace=False)
        return result

    return run


def blocked_label(upstream: dict) -> str:
    """`dmp-accepted (dmp-01)`: the upstream check that failed and the task it failed on."""
    return f"{upstream.get('check') or 'no check'} ({upstream.get('task')})"


def blocked_message(title: str, blocked_by: list[dict]) -> str:
    shown = blocked_by[:20]
    more = len(blocked_by) - len(shown)
    checks = sorted({b.get("check") or "—" for b in blocked_by})
    lines = [f"{blocked_label(b)}: {b.get('reason')}" for b in shown]
    lines += [f"… and {more} more"] if more else []
    return (f"BLOCKED by {', '.join(checks)}: {title}: not evaluated, an upstream step failed on "
            f"{len(blocked_by)} task(s)\n  " + "\n  ".join(lines))


def _allure_blocked() -> None:
    if allure is None:
        return
    allure.dynamic.tag("blocked")


def evidence_of(item: pytest.Item) -> list:
    return item.stash.get(EVIDENCE_KEY, [])


def scenarios_dir() -> Path:
    return Path(__file__).resolve().parent
