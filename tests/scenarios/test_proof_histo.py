"""The proof's capabilities `histo` and `histo-bio` (scenarios/capabilities/histo.py): back-fill of earlier
reports, a blocked DMP feed, the visibility a user sets, deletion, and the lab's partial then complete
report. The clean reference RIS passes every check of both couloirs; each seeded defect fails exactly the
check that names it, on the task it was seeded in.

One stack serves the module. The clean proofs run once per couloir end to end (`run_proof`: suites and
evidence pack); the defects run as few plans as possible: the reference RIS takes a defect per task (one
memory for all), and the checks are recomputed from the run record (`checks.recompute`), as a reviewer of
the pack would.
"""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
from seeded import PerTaskDefects

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import histo
from segur.scenarios.capabilities.histo import BIO_CAPABILITY, CAPABILITY
from segur.scenarios.checks import CHECKS, recompute
from segur.scenarios.driver import instructions
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.runner import run_plan
from segur.scenarios.suites import SUITES

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

HISTO_CHECKS = [check.id for check in CAPABILITY.checks]
BIO_CHECKS = [check.id for check in BIO_CAPABILITY.checks]


@pytest.fixture(scope="module")
def world():
    return load_world()


def _clean(outcome) -> dict:
    """The clean proof as its pack wrote it (evidence.json read back)."""
    evidence = json.loads((outcome.out / "evidence.json").read_text(encoding="utf-8"))
    return {"exit": outcome.exit_code, "evidence": evidence}


@pytest.fixture(scope="module")
def clean_ris(clean_proof):
    return _clean(clean_proof("RIS"))


@pytest.fixture(scope="module")
def clean_bio(clean_proof):
    return _clean(clean_proof("BIO"))


def _with_defects(stack, world, couloir: str, defects: dict[str, str], state_dir) -> dict:
    """The small plan run with `defects` (task id → defect), judged again from its record by the checks of
    the couloir's suite."""
    Admin(stack.endpoints()).reset()
    plan = build_plan(world, couloir, "small")
    run = run_plan(plan, PerTaskDefects(defects, state_dir), stack.endpoints(), world)
    return {"run": run, "results": _judged(run, couloir)}


def _judged(run: dict, couloir: str) -> dict:
    return {check_id: result for check_id, result in recompute(run).items() if check_id in SUITES[couloir]}


def _failing(results: dict) -> set[str]:
    return {check_id for check_id, result in results.items() if result.status == "fail"}


def _named_tasks(result) -> set[str]:
    """The task ids the check's problems begin with."""
    return {problem.split(":")[0] for problem in result.problems}


# --- the plan ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_the_capability_adds_its_tasks_after_the_core_ones(world, couloir):
    plan = build_plan(world, couloir, "small")
    ids = [p.task.id for p in plan.tasks]
    theirs = ["histo-01", "histo-02", "histo-03", "blocked-01", "masked-01", "hidden-01", "erase-01",
              "delete-01"]
    if couloir == "BIO":
        theirs += ["partial-01", "complete-01"]
    start = ids.index(theirs[0])  # consecutive, after every core task (other capabilities' may follow)
    assert ids[start:start + len(theirs)] == theirs
    assert ids.index("histo-01") > ids.index("unknown-01")
    manual, bulk = plan.by_id("histo-01"), plan.by_id("histo-02")
    assert manual.patient_key == bulk.patient_key
    # the bulk feed lists the report the manual one fed: the product must not send it again
    assert bulk.task.extra["documents"][0] == manual.task.extra["documents"][0]
    assert all(d["exam_date"] < "2024" for d in bulk.task.extra["documents"])
    core = {p.patient_key for p in plan.tasks if p.scenario in ("dmp", "mss", "citizen", "retry", "vitale")}
    assert not core & {plan.by_id(t).patient_key for t in theirs}
    delete = plan.by_id("delete-01").task
    assert delete.extra["deletes_task"] == "erase-01"
    assert bool(delete.extra.get("recipients")) == (couloir == "BIO")
    assert plan.by_id("blocked-01").expect == histo.EXPECT_NOT_SENT
    # the bulk feed of a patient INSi cannot qualify (the core's homonym): HISTO.06 filter (ii)
    unqualified = plan.by_id("histo-03")
    assert unqualified.patient_key == plan.by_id("homonym-01").patient_key
    assert unqualified.expect == "withheld" and unqualified.task.extra["mode"] == "bulk"


def test_a_person_at_the_product_is_told_what_each_histo_task_asks(world):
    plan = build_plan(world, "BIO", "small")
    bulk = instructions(plan.by_id("histo-02").task)
    assert "HISTO-FED=" in bulk and "2022-06-02T08:45:00+02:00" in bulk and "bulk" in bulk
    assert "blocked the DMP feed" in instructions(plan.by_id("blocked-01").task)
    assert "MASQUE_PS" in instructions(plan.by_id("masked-01").task)
    delete = instructions(plan.by_id("delete-01").task)
    assert "erase-01" in delete and plan.by_id("delete-01").task.extra["recipients"][0] in delete
    assert "annule et remplace" in instructions(plan.by_id("complete-01").task)
    assert "Mon espace santé" not in bulk


def test_the_plan_stays_a_function_of_the_world(world):
    assert build_plan(world, "BIO", "full").to_dict() == build_plan(world, "BIO", "full").to_dict()


# --- what the checks read -----------------------------------------------------------------------------------
@pytest.mark.parametrize("xds, cda, same", [
    ("20210315092000", "20210315102000+0100", True),
    ("20210315", "20210315102000+0100", True),  # a truncation to the day
    ("20210315102000", "20210315102000+0100", False),  # the local digits are not UTC
    ("20261206", "20210315102000+0100", False),
    (None, "20210315102000+0100", False),
])
def test_an_xds_time_is_the_cda_time_in_utc(xds, cda, same):
    assert histo._same_instant(xds, cda) is same


def test_the_warning_text_is_read_from_the_message_itself():
    message = EmailMessage()
    message["Subject"] = "Suppression"
    message.set_content("Le compte rendu a été supprimé.")
    message.add_attachment(b"not read", maintype="text", subtype="plain", filename="note.txt")
    assert histo.message_text(message.as_bytes()).strip() == "Le compte rendu a été supprimé."


# --- the clean reference RIS --------------------------------------------------------------------------------
def test_the_clean_ris_passes_every_histo_check(clean_ris):
    evidence = clean_ris["evidence"]
    assert clean_ris["exit"] == 0 and evidence["verdict"] == "pass"
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == "RIS"}
    for check_id in HISTO_CHECKS:
        assert evidence["checks"][check_id]["status"] == "pass", evidence["checks"][check_id]["problems"]
        assert outcomes[check_id] == "passed"
        assert evidence["checks"][check_id]["evidence"], check_id
    assert not set(BIO_CHECKS) & set(outcomes)  # the lab's checks are not the RIS suite's
    for rem_id in ("DMP/HISTO.03", "DMP/HISTO.07", "RIS.DMP/va1.12", "RIS.DMP/va1.14", "RIS.DMP/va1.09"):
        assert evidence["requirements"][rem_id]["verdict"] == "pass"


def test_the_clean_ris_feeds_the_history_once_and_says_how_much(clean_ris):
    tasks = {t["task"]["id"]: t for t in clean_ris["evidence"]["run"]["tasks"]}
    assert "HISTO-FED=1" in tasks["histo-01"]["result"]["detail"]
    assert "HISTO-FED=3" in tasks["histo-02"]["result"]["detail"]
    sent = [d for item in tasks["histo-02"]["observed"]["dmp"] if item["operation"] == "ITI-41"
            for d in item["documents"]]
    assert sorted(d["service_start"][:8] for d in sent) == ["20220602", "20231120"]
    assert tasks["blocked-01"]["result"]["ok"] is False
    assert not [d for d in tasks["blocked-01"]["observed"]["dmp"] if d["operation"] == "ITI-41"]
    stored = [e for item in tasks["erase-01"]["observed"]["dmp"] for e in item.get("stored") or []]
    assert [e["availability_status"] for e in stored] == [histo.STATUS_DELETED]


def test_the_clean_lab_passes_every_histo_and_lab_check(clean_bio):
    evidence = clean_bio["evidence"]
    assert clean_bio["exit"] == 0 and evidence["verdict"] == "pass"
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == "BIO"}
    for check_id in HISTO_CHECKS + BIO_CHECKS:
        assert evidence["checks"][check_id]["status"] == "pass", evidence["checks"][check_id]["problems"]
        assert outcomes[check_id] == "passed"
    for rem_id in ("SGL.DMP/va1.15", "SGL.MSS/va1.32", "SGL.MSS/va1.35", "SGL.MSS/va1.37", "SGL.DMP/va1.22"):
        assert evidence["requirements"][rem_id]["verdict"] == "pass"
    warning = evidence["checks"]["delete-warning"]["evidence"][0]
    assert "supprimé" in warning["messages"][0]["text"]


# --- the seeded defects -------------------------------------------------------------------------------------
RIS_DEFECTS = {"histo-01": "histo-today-date", "histo-02": "histo-resent", "blocked-01": "blocked-still-sent",
               "masked-01": "mask-ignored", "hidden-01": "mask-ignored", "delete-01": "delete-not-sent"}
BIO_DEFECTS = {"histo-02": "histo-count-wrong", "complete-01": "partial-new-set-id",
               "delete-01": "delete-no-warning"}


@pytest.fixture(scope="module")
def ris_defects(stack, world, tmp_path_factory):
    return _with_defects(stack, world, "RIS", RIS_DEFECTS, tmp_path_factory.mktemp("ris-defects"))


@pytest.fixture(scope="module")
def bio_defects(stack, world, tmp_path_factory):
    return _with_defects(stack, world, "BIO", BIO_DEFECTS, tmp_path_factory.mktemp("bio-defects"))


def _check_of(defect: str) -> str:
    (check_id,) = [c for c, check in CHECKS.items() if defect in check.defects]
    return check_id


def _assert_each_defect_fails_its_check_on_its_tasks(outcome: dict, defects: dict[str, str]) -> None:
    results = outcome["results"]
    expected = {_check_of(defect) for defect in defects.values()}
    assert _failing(results) == expected, {c: results[c].problems for c in _failing(results)}
    for check_id in expected:
        seeded = {task for task, defect in defects.items() if _check_of(defect) == check_id}
        assert seeded <= _named_tasks(results[check_id]), (check_id, results[check_id].problems)


def test_each_ris_defect_fails_exactly_its_check_on_the_task_it_was_seeded_in(ris_defects):
    _assert_each_defect_fails_its_check_on_its_tasks(ris_defects, RIS_DEFECTS)
    problems = ris_defects["results"]["histo-fed-once"].problems
    assert any("fed twice" in p for p in problems)  # the DMP holds the first report twice


def test_each_lab_defect_fails_exactly_its_check_on_the_task_it_was_seeded_in(bio_defects):
    _assert_each_defect_fails_its_check_on_its_tasks(bio_defects, BIO_DEFECTS)
    indicator = bio_defects["results"]["histo-indicator"]
    assert indicator.problems == ["histo-02: the product's indicator says 2 historical reports fed, the DMP "
                                  "holds 3"]


def test_a_new_version_without_the_mention_fails_only_the_mention(stack, world, tmp_path):
    outcome = _with_defects(stack, world, "BIO", {"complete-01": "no-cancel-mention"}, tmp_path)
    assert _failing(outcome["results"]) == {"bio-cancels-replaces"}
    assert _named_tasks(outcome["results"]["bio-cancels-replaces"]) == {"complete-01"}


def test_a_ris_without_the_history_tasks_fails_the_checks_instead_of_passing_them(ris_defects):
    run = json.loads(json.dumps(ris_defects["run"]))
    run["tasks"] = [t for t in run["tasks"] if t["scenario"] not in histo.HISTO_SCENARIOS]
    results = _judged(run, "RIS")
    for check_id in ("histo-business-date", "histo-fed-once", "histo-indicator"):
        assert results[check_id].status == "fail", check_id


# --- each check fails on a record that shows its problem ---------------------------------------------------
def _task(run: dict, task_id: str) -> dict:
    return next(t for t in run["tasks"] if t["task"]["id"] == task_id)


def _iti41(task: dict) -> list[dict]:
    return [d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41"]


def _metadata_dated_today(run):
    """The CDA keeps its exam date but the XDS creationTime is the day it was sent."""
    _iti41(_task(run, "histo-01"))[0]["xds_entries"][0]["creation_time"] = "20261206101500"


def _masked_elsewhere(run):
    """A core task's entry stored masked from professionals (a setting left on)."""
    entry = _iti41(_task(run, "dmp-02"))[0]["stored"][0]
    entry["confidentiality_codes"].append({"code": "MASQUE_PS", "scheme": histo.VISIBILITY_SCHEME})


def _not_deleted(run):
    _iti41(_task(run, "erase-01"))[0]["stored"][0]["availability_status"] = histo.STATUS_APPROVED


def _another_deleted(run):
    _iti41(_task(run, "masked-01"))[0]["stored"][0]["availability_status"] = histo.STATUS_DELETED


def _no_indicator(run):
    result = _task(run, "histo-02")["result"]
    result["detail"], result["output"] = "2 historical reports fed", ""


def _blocked_claimed(run):
    _task(run, "blocked-01")["result"]["ok"] = True


def _unqualified_fed(run):
    """The reports of the patient INSi could not qualify fed all the same (an ITI-41 accepted)."""
    sent = json.loads(json.dumps(_iti41(_task(run, "histo-02"))[0]))
    _task(run, "histo-03")["observed"]["dmp"].append(sent)


@pytest.mark.parametrize("tamper, check_id, task_id", [
    (_metadata_dated_today, "histo-business-date", "histo-01"),
    (_masked_elsewhere, "dmp-visibility", "dmp-02"),
    (_not_deleted, "dmp-deletion", "delete-01"),
    (_another_deleted, "dmp-deletion", "masked-01"),
    (_no_indicator, "histo-indicator", "histo-02"),
    (_blocked_claimed, "dmp-feed-blocked", "blocked-01"),
    (_unqualified_fed, "histo-fed-once", "histo-03"),
])
def test_each_check_fails_on_a_record_that_shows_its_problem(clean_ris, tamper, check_id, task_id):
    run = json.loads(json.dumps(clean_ris["evidence"]["run"]))
    tamper(run)
    result = _judged(run, "RIS")[check_id]
    assert result.status == "fail" and _named_tasks(result) == {task_id}, result.problems


def _complete_not_mailed(run):
    _task(run, "complete-01")["observed"]["mss"] = []


def _erase_refused(run):
    for item in _iti41(_task(run, "erase-01")):
        item["verdict"], item["stored"] = "rejected", []


@pytest.mark.parametrize("tamper, failed, blocked", [
    # the check of the send fails; the mention cannot be judged on a message that never came
    (_complete_not_mailed, {"bio-partial-complete"}, {"bio-cancels-replaces": "bio-partial-complete"}),
    # nothing was deleted: neither the deletion nor its warning can be judged
    (_erase_refused, set(), {"dmp-deletion": None, "delete-warning": None}),
])
def test_a_lab_check_that_cannot_judge_is_blocked_by_what_failed_upstream(clean_bio, tamper, failed, blocked):
    run = json.loads(json.dumps(clean_bio["evidence"]["run"]))
    tamper(run)
    results = {c: r for c, r in _judged(run, "BIO").items() if c in HISTO_CHECKS + BIO_CHECKS}
    assert _failing(results) == failed, {c: results[c].problems for c in _failing(results)}
    for check_id, upstream in blocked.items():
        assert results[check_id].status == "blocked", (check_id, results[check_id].problems)
        assert [b["check"] for b in results[check_id].blocked_by] == [upstream]
