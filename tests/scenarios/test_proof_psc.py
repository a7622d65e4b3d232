"""The capability `psc` of the proof (scenarios/capabilities/psc.py): Pro Santé Connect tokens on the MSSanté
API LPS (REM MSS/CONF.07, .08, .10, .11) and the application mailbox's ORG certificate (MSS/CONF.12).

The clean RIS proof is the session's (`clean_proof`: every check passes, on facts the mocks journalled); one
stack serves the module's runs of the seeded defects (its check fails and names the tasks, no other defect's
check fails): the three confined to one task run together, each seeded on its task (`seeded.PerTaskDefects`),
the two product-wide ones (SEPARATE) alone; finer cases alter the clean run's record and judge it again."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from seeded import named_tasks, seeded_proof

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import psc
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import build_plan
from segur.scenarios.proof import run_proof, stack_config

RIS_DIR = Path(__file__).resolve().parents[2] / "examples" / "reference-ris"
sys.path.insert(0, str(RIS_DIR))
from reference_ris import config as ris_config  # noqa: E402
from reference_ris import psc as ris_psc  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

PSC_CHECKS = [check.id for check in psc.CHECKS]
#: seeded defect → (the check that must fail, the tasks it must name)
DEFECTS = {
    "psc-plain-login": ("psc-xoauth2", ("psc-01", "psc-02", "psc-03", "psc-04")),
    "psc-stale-token": ("psc-reauth", ("psc-02",)),
    "psc-no-reopen": ("psc-reopen", ("psc-03",)),
    "psc-error-aborts": ("psc-auth-error", ("psc-04",)),
    "app-mailbox-no-cert": ("mss-app-org-cert", ("mss-01", "mss-02", "citizen-01")),
}
#: the defects that keep a run of their own: a product-wide setting, seen in every task that uses it (every
#: PSC session, every session of the application mailbox); the others run in ONE run, each on its one task
SEPARATE = ("psc-plain-login", "app-mailbox-no-cert")
TOGETHER = {task_ids[0]: defect for defect, (_check, task_ids) in DEFECTS.items() if defect not in SEPARATE}


@pytest.fixture(scope="module")
def clean(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def defective(stack, tmp_path_factory):
    """defect → the evidence of the proof run against the reference RIS with it (alone, or with every
    TOGETHER defect, each seeded on its task); the core and psc's tasks."""
    runs = {}
    for defect in SEPARATE:
        out = tmp_path_factory.mktemp(f"psc-{defect}")
        runs[defect] = run_proof(f"reference-ris:{defect}", "RIS", out, size="small", progress=False,
                                 stack=stack, capabilities=("psc",)).evidence
    assert len(TOGETHER) == len(DEFECTS) - len(SEPARATE)  # one defect a task
    together = seeded_proof("reference-ris", "RIS", tmp_path_factory.mktemp("psc-together"), TOGETHER,
                            stack=stack, capabilities=("psc",)).evidence
    runs.update({defect: together for defect in TOGETHER.values()})
    return runs


def _task(run: dict, task_id: str) -> dict:
    return next(t for t in run["tasks"] if t["task"]["id"] == task_id)


# --- the plan and the stack ------------------------------------------------------------------------------
def test_the_ris_plan_has_the_four_psc_tasks_after_the_core_ones_and_bio_has_none():
    world = load_world()
    plan = build_plan(world, "RIS", "small")
    ids = [p.task.id for p in plan.tasks]
    start = ids.index("psc-01")  # consecutive, after every core task (other capabilities' may follow)
    tail = plan.tasks[start:start + 4]
    assert [p.task.id for p in tail] == ["psc-01", "psc-02", "psc-03", "psc-04"]
    assert start > ids.index("unknown-01")
    assert [p.scenario for p in tail] == list(psc.SCENARIOS)
    assert [p.task.action for p in tail] == ["send-psc-mss"] * 3 + ["send-dmp-mss-psc"]
    author = world.professional_by_idnps(tail[0].task.author["idnps"])
    assert all(p.task.extra == {"mailbox": author.mailbox, "idnps": author.idnps} for p in tail)
    assert tail[2].fault == psc.REOPEN_FAULT and tail[3].expect == "failure"
    assert not set(psc.SCENARIOS) & set(build_plan(world, "BIO", "small").counts())


def test_the_proof_stack_checks_psc_tokens_and_records_org_certificates_unless_the_file_says_otherwise(
        tmp_path):
    mss = stack_config(None, tmp_path)["mssante"]
    assert (mss["psc_issuer"], mss["app_cert"]) == ("stack", "record")
    own = tmp_path / "stack.toml"
    own.write_text('[mssante]\napp_cert = "require"\n', encoding="utf-8")
    mss = stack_config(own, tmp_path)["mssante"]
    assert (mss["psc_issuer"], mss["app_cert"]) == ("stack", "require")


# --- the correct reference RIS --------------------------------------------------------------------------
def test_the_reference_ris_passes_every_psc_check_on_what_the_mocks_saw(clean):
    checks = clean.evidence["checks"]
    assert clean.verdict == "pass", {c: r["problems"][:2] for c, r in checks.items() if not r["passed"]}
    assert {c: checks[c]["status"] for c in PSC_CHECKS} == dict.fromkeys(PSC_CHECKS, "pass")
    run = clean.evidence["run"]
    idnps = _task(run, "psc-01")["task"]["extra"]["idnps"]
    sent = _task(run, "psc-01")["observed"]["psc"]
    assert [s["mechanism"] for s in sent["sessions"]] == ["XOAUTH2"]
    assert [(a["verdict"], a["professional"]) for a in sent["auths"]] == [("ok", idnps)]
    relogin = _task(run, "psc-02")["observed"]["psc"]
    assert relogin["prepared"]["ended"] == [sent["auths"][0]["psc_session"]]
    assert {g["grant_type"] for g in relogin["psc_grants"] if g["in_task"]} == {"authorization_code"}
    reopen = _task(run, "psc-03")["observed"]["psc"]
    assert [bool(s["ended_by_operator"]) for s in reopen["sessions"]] == [True, False]
    denied = _task(run, "psc-04")
    assert denied["result"]["ok"] is False and denied["observed"]["psc"]["psc_refusals"]
    assert [d["verdict"] for d in denied["observed"]["psc"]["iti41"]] == ["accepted"]
    structure = _task(run, "mss-01")["task"]["author"]["idnst"]
    org = [e for e in checks["mss-app-org-cert"]["evidence"] if e["task"] == "mss-01"]
    assert org and all(e["client_cert"]["ou"] == structure and e["client_cert"]["auth_cli"] for e in org)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_psc_defect_fails_its_check_on_the_tasks_it_spoils_and_no_other(defective, defect):
    evidence = defective[defect]
    check_id, task_ids = DEFECTS[defect]
    result = evidence["checks"][check_id]
    assert result["status"] == "fail", result
    for task_id in task_ids:
        assert any(p.startswith(f"{task_id}:") for p in result["problems"]), (task_id, result["problems"])
    # in the run of the TOGETHER defects, the others fail their own checks on their own tasks: this check
    # names none of their tasks, and no check fails but theirs and this one
    beside = [DEFECTS[d] for d in TOGETHER.values() if d != defect] if defect not in SEPARATE else []
    assert not named_tasks(result["problems"]) & {task for _check, tasks in beside for task in tasks}
    failing = {check_id, *(check for check, _tasks in beside)}
    assert {c for c, r in evidence["checks"].items() if r["status"] == "fail"} == failing
    assert set(CHECKS[check_id].rem["RIS"]) <= {
        rem for rem, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    assert defect in CHECKS[check_id].defects
    # a check left without what it needs is blocked, naming a failing check of the run (this defect's, or one
    # seeded beside it) or none (the harness's limit)
    for other in PSC_CHECKS:
        for upstream in evidence["checks"][other]["blocked_by"]:
            assert upstream["check"] in (None, *failing), (other, upstream)


# --- finer cases, judged on the clean run's record altered ----------------------------------------------
def _judge(run: dict, check_id: str) -> dict:
    return CHECKS[check_id].judge(run).to_dict()


def test_a_token_of_another_professional_fails_psc_xoauth2(clean):
    run = copy.deepcopy(clean.evidence["run"])
    _task(run, "psc-01")["observed"]["psc"]["auths"][0]["professional"] = "899999999999"
    result = _judge(run, "psc-xoauth2")
    assert result["status"] == "fail"
    assert any("899999999999" in p and p.startswith("psc-01:") for p in result["problems"])


def test_a_token_of_a_session_psc_never_opened_fails_psc_xoauth2(clean):
    run = copy.deepcopy(clean.evidence["run"])
    _task(run, "psc-01")["observed"]["psc"]["auths"][0]["psc_session"] = "forged-session"
    assert "forged-session" in " ".join(_judge(run, "psc-xoauth2")["problems"])


def test_a_dead_token_accepted_fails_psc_reauth(clean):
    run = copy.deepcopy(clean.evidence["run"])
    facts = _task(run, "psc-02")["observed"]["psc"]
    facts["auths"][0]["psc_session"] = facts["prepared"]["ended"][0]
    result = _judge(run, "psc-reauth")
    assert result["status"] == "fail" and "accepted with a token of the ended" in " ".join(result["problems"])


def test_psc_reopen_is_blocked_when_the_operator_ended_no_session(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for session in _task(run, "psc-03")["observed"]["psc"]["sessions"]:
        session["ended_by_operator"] = None
    result = _judge(run, "psc-reopen")
    assert result["status"] == "blocked" and result["blocked_by"][0]["task"] == "psc-03"


def test_claiming_success_despite_the_authentication_error_fails_psc_auth_error(clean):
    run = copy.deepcopy(clean.evidence["run"])
    _task(run, "psc-04")["result"]["ok"] = True
    result = _judge(run, "psc-auth-error")
    assert result["status"] == "fail" and "says the task succeeded" in result["problems"][0]


def test_another_structure_s_certificate_fails_mss_app_org_cert(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for entry in run["journals"]["mssante"]:
        cert = ((entry.get("client") or {}).get("tls") or {}).get("client_cert")
        if cert:
            cert["ou"] = "1999999999"
    result = _judge(run, "mss-app-org-cert")
    assert result["status"] == "fail" and "1999999999" in result["problems"][0]


def test_a_stack_that_checks_no_psc_token_blocks_psc_xoauth2_instead_of_failing_it(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for task_id in ("psc-01", "psc-02", "psc-03"):
        for auth in _task(run, task_id)["observed"]["psc"]["auths"]:
            auth["professional"] = None  # what MSSanté journals when psc_issuer is unset: any token goes
    result = _judge(run, "psc-xoauth2")
    assert result["status"] == "blocked" and "psc_issuer" in result["blocked_by"][0]["reason"]


def test_a_stack_that_asks_no_client_certificate_blocks_mss_app_org_cert(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for entry in run["journals"]["mssante"]:
        tls = (entry.get("client") or {}).get("tls") or {}
        if tls:
            tls.update(client_cert=None, client_cert_asked=False)
    result = _judge(run, "mss-app-org-cert")
    assert result["status"] == "blocked" and "app_cert" in result["blocked_by"][0]["reason"]


# --- the reference RIS's side ----------------------------------------------------------------------------
def test_the_reference_ris_reads_where_pro_sante_connect_is_from_the_harness_and_from_its_file():
    endpoints = {"psc": {"authorization": "http://p/auth", "token": "http://p/token", "client_id": "c",
                         "client_secret": "s"}}
    settings = ris_config.from_endpoints(endpoints)
    assert (settings.psc_authorization_url, settings.psc_token_url, settings.psc_client_id,
            settings.psc_client_secret) == ("http://p/auth", "http://p/token", "c", "s")
    example = ris_config.load(RIS_DIR / "reference-ris.example.toml", environ={})
    assert example.psc_token_url.endswith("/auth/realms/esante-wallet/protocol/openid-connect/token")
    assert ris_psc.xoauth2("a@b.mssante.fr", "T") == "user=a@b.mssante.fr\x01auth=Bearer T\x01\x01"


def test_a_certificate_without_client_authentication_fails_mss_app_org_cert(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for entry in run["journals"]["mssante"]:
        cert = ((entry.get("client") or {}).get("tls") or {}).get("client_cert")
        if cert:
            cert["auth_cli"] = False
    result = _judge(run, "mss-app-org-cert")
    assert result["status"] == "fail" and "not AUTH_CLI" in result["problems"][0]


def test_nothing_sent_after_the_operator_ended_the_session_fails_psc_reopen(clean):
    run = copy.deepcopy(clean.evidence["run"])
    _task(run, "psc-03")["observed"]["psc"]["messages"] = []
    result = _judge(run, "psc-reopen")
    assert result["status"] == "fail" and result["problems"][0].startswith("psc-03: the operator ended")


def test_no_new_psc_authorization_after_the_logout_fails_psc_reauth(clean):
    run = copy.deepcopy(clean.evidence["run"])
    facts = _task(run, "psc-02")["observed"]["psc"]
    facts["psc_grants"] = [g for g in facts["psc_grants"] if not g["in_task"]]
    result = _judge(run, "psc-reauth")
    assert result["status"] == "fail"
    assert "did not authenticate with PSC again" in " ".join(result["problems"])


def test_every_psc_check_tells_a_failing_product_what_to_change():
    without = [check.id for check in psc.CHECKS if len(check.hint) <= 40]
    assert psc.CHECKS and without == []
