"""The PAM feed capability of the proof (`scenarios/capabilities/pam_feed.py`): the harness feeds the product
PAM FR identities through the PAM mock, then judges the ACKs and the reports sent for the patient the feed
named. The proof runs once per module for the correct reference RIS (RIS and BIO) and once per seeded PAM
defect (small plan, one shared stack); each defect fails exactly its check, naming the task.
"""

from __future__ import annotations

import copy
import socket
import threading

import pytest
from reference_ris.__main__ import main as reference_ris_main
from reference_ris.pam_feed import Listener, PatientFile
from reference_ris.plugin import make_runner
from typer.testing import CliRunner

from segur.cli import app
from segur.fixtures.world import load_world
from segur.mocks.pam import mllp
from segur.scenarios.capabilities import pam_feed
from segur.scenarios.checks import CHECKS
from segur.scenarios.driver import PluginDriver, instructions
from segur.scenarios.observe import expected_exchange
from segur.scenarios.plan import Plan, build_plan
from segur.scenarios.proof import left_out_checks, run_proof
from segur.scenarios.runner import run_plan

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

PAM_CHECKS = tuple(check.id for check in pam_feed.CHECKS)
#: seeded defect → (the check it fails, the task it fails on, checks it leaves blocked)
DEFECTS = {
    "pam-ack-ae": ("pam-feed-acknowledged", "pam-create-01",
                   {"pam-deleted-not-used", "pam-provisional-not-qualified"}),
    "pam-ignore-update": ("pam-fed-identity", "pam-update-01", set()),
    "pam-merge-keeps-old": ("pam-merge-survivor", "pam-merge-01", set()),
    "pam-keeps-deleted": ("pam-deleted-not-used", "pam-delete-01", set()),
    "pam-provisional-as-qualified": ("pam-provisional-not-qualified", "pam-provisional-01", set()),
}


@pytest.fixture(scope="module")
def clean(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def defective(stack, tmp_path_factory):
    """defect → the proof of the reference RIS with it. Each keeps a run of its own: a PAM defect lives in the
    product's listener (reference_ris/pam_feed.py), not in the driver of a task; the run has one listener,
    which integrates every feed of the run and carries one defect at most (seeded.PerTaskDefects)."""
    return {defect: run_proof(f"reference-ris:{defect}", "RIS", tmp_path_factory.mktemp(defect), size="small",
                              progress=False, stack=stack, capabilities=("pam_feed",))  # core and PAM tasks
            for defect in DEFECTS}


def _status(outcome, check_id: str) -> str:
    return outcome.evidence["checks"][check_id]["status"]


def _pam_tasks(outcome) -> dict:
    tasks = outcome.evidence["run"]["tasks"]
    return {t["task"]["id"]: t for t in tasks if t["scenario"] in pam_feed.SCENARIOS}


# --- the correct RIS ----------------------------------------------------------------------------------------
def test_the_reference_ris_passes_the_proof_with_its_pam_feeds(clean):
    problems = [c["problems"] for c in clean.evidence["checks"].values() if c["problems"]]
    assert clean.verdict == "pass", problems
    assert all(_status(clean, check_id) == "pass" for check_id in PAM_CHECKS)


def test_the_reference_ris_announces_its_mllp_listener_and_every_feed_went_there_answered_aa(clean):
    endpoint = clean.evidence["run"]["product"]["pam"]
    mllp.parse_url(endpoint)
    tasks = _pam_tasks(clean)
    assert sorted(tasks) == ["pam-create-01", "pam-delete-01", "pam-merge-01", "pam-provisional-01",
                             "pam-update-01"]
    events = {task_id: [f["event"] for f in task["observed"]["pam_feed"]["feeds"]]
              for task_id, task in tasks.items()}
    assert events == {"pam-create-01": ["A28"], "pam-update-01": ["A28", "A31"],
                      "pam-merge-01": ["A28", "A28", "A40"], "pam-delete-01": ["A28", "A47"],
                      "pam-provisional-01": ["A28"]}
    for task in tasks.values():
        assert task["prepared"]["endpoint"] == endpoint
        assert {f["ack_code"] for f in task["observed"]["pam_feed"]["feeds"]} == {"AA"}


def test_the_tasks_give_no_traits_only_the_feeds_identifier(clean):
    for task in _pam_tasks(clean).values():
        assert task["task"]["action"] == "pam-send-dmp" and task["task"]["patient"] == {}
        assert task["task"]["extra"]["pam_authority"] == "SEGUR-PAM"
        assert task["task"]["extra"]["pam_patient_id"].isdigit()


def test_the_feeds_carry_the_ins_in_pid3_and_the_status_in_pid32_as_pam_fr_says(clean):
    tasks = _pam_tasks(clean)
    (create,) = [f["fed"] for f in tasks["pam-create-01"]["observed"]["pam_feed"]["feeds"]]
    assert create["status"] == ["VALI"] and create["ins"]["oid"].startswith("1.2.250.1.213.1.4.")
    typed, update = [f["fed"] for f in tasks["pam-update-01"]["observed"]["pam_feed"]["feeds"]]
    assert typed["status"] == ["PROV"] and typed["ins"] is None
    assert typed["traits"]["first_names"] == typed["traits"]["first_name"]
    assert update["status"] == ["VALI"] and update["ins"] and update["traits"]["first_names"] != \
        typed["traits"]["first_names"]
    *_, merge = [f["fed"] for f in tasks["pam-merge-01"]["observed"]["pam_feed"]["feeds"]]
    merged = tasks["pam-merge-01"]["task"]["extra"]["pam_patient_id"]
    assert merge["event"] == "A40" and merge["prior"] == [merged]
    _, deletion = [f["fed"] for f in tasks["pam-delete-01"]["observed"]["pam_feed"]["feeds"]]
    assert deletion["event"] == "A47" and deletion["deletes_ins"] and deletion["ins"] is None
    (provisional,) = [f["fed"] for f in tasks["pam-provisional-01"]["observed"]["pam_feed"]["feeds"]]
    assert provisional["status"] == ["PROV"] and provisional["ins"]  # an INS a receiver must not keep


def test_the_reports_carry_the_fed_identity_and_the_withheld_ones_send_nothing(clean):
    tasks = _pam_tasks(clean)
    for task_id in ("pam-create-01", "pam-update-01", "pam-merge-01"):
        _named, identity = pam_feed.expected(tasks[task_id])
        (doc,) = pam_feed.documents_sent(tasks[task_id])
        assert doc["verdict"] == "accepted" and doc["ins"] == identity["ins"]["value"], task_id
    for task_id in ("pam-delete-01", "pam-provisional-01"):
        assert pam_feed.documents_sent(tasks[task_id]) == [] and not tasks[task_id]["result"]["ok"]


def test_the_bio_proof_passes_with_the_pam_feeds(clean_proof):
    outcome = clean_proof("BIO")
    assert outcome.verdict == "pass"
    assert all(_status(outcome, check_id) == "pass" for check_id in PAM_CHECKS)
    assert outcome.evidence["checks"]["pam-fed-identity"]["rem"] == ["SGL.INS/va1.73", "SGL.INS/va1.72"]


# --- the seeded defects -------------------------------------------------------------------------------------
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_pam_defect_fails_exactly_its_check_and_names_the_task(defect, defective):
    outcome = defective[defect]
    check_id, task_id, blocked = DEFECTS[defect]
    statuses = {cid: c["status"] for cid, c in outcome.evidence["checks"].items()}
    assert outcome.verdict == "fail"
    assert {cid for cid, status in statuses.items() if status == "fail"} == {check_id}
    assert {cid for cid, status in statuses.items() if status == "blocked"} == blocked
    assert any(p.startswith(f"{task_id}: ") for p in outcome.evidence["checks"][check_id]["problems"])
    assert defect in CHECKS[check_id].defects


def test_an_ae_is_named_with_its_err(defective):
    problems = defective["pam-ack-ae"].evidence["checks"]["pam-feed-acknowledged"]["problems"]
    assert problems[0].startswith("pam-create-01: ADT^A28 #")
    assert "answered AE: ERR 207 E application error (defect pam-ack-ae)" in problems[0]


def test_a_merge_kept_apart_is_named_with_both_identities(defective):
    (problem, *_) = defective["pam-merge-keeps-old"].evidence["checks"]["pam-merge-survivor"]["problems"]
    assert "was sent under the merged identity" in problem and "by the A40" in problem


# --- the record judged without the mocks --------------------------------------------------------------------
def _run_record(clean) -> dict:
    return copy.deepcopy(clean.evidence["run"])


def _feeds(run, task_id):
    task = next(t for t in run["tasks"] if t["task"]["id"] == task_id)
    return task, task["observed"]["pam_feed"]["feeds"]


def _break_ack(run):
    _task, feeds = _feeds(run, "pam-merge-01")
    feeds[2].update(ack_code="AR", ack_errors=[{"code": "201", "severity": "E", "text": "no A40 here"}])


def _break_traits(run):
    task, _feeds_ = _feeds(run, "pam-create-01")
    iti41 = next(d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41")
    iti41["documents"][0]["patient_traits"]["birth_name"] = "AUTRE"


def _break_merge(run):
    task, feeds = _feeds(run, "pam-merge-01")
    iti41 = next(d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41")
    iti41["documents"][0]["ins"] = feeds[1]["fed"]["ins"]["value"]  # the merged identity's INS


def _break_deleted(run):
    task, feeds = _feeds(run, "pam-delete-01")
    create = next(t for t in run["tasks"] if t["task"]["id"] == "pam-create-01")
    sent = copy.deepcopy(next(d for d in create["observed"]["dmp"] if d["operation"] == "ITI-41"))
    sent["documents"][0]["ins"] = feeds[0]["fed"]["ins"]["value"]
    task["observed"]["dmp"].append(sent)


def _break_provisional(run):
    task, feeds = _feeds(run, "pam-provisional-01")
    create = next(t for t in run["tasks"] if t["task"]["id"] == "pam-create-01")
    sent = copy.deepcopy(next(d for d in create["observed"]["dmp"] if d["operation"] == "ITI-41"))
    sent["documents"][0]["ins"] = feeds[0]["fed"]["ins"]["value"]
    task["observed"]["dmp"].append(sent)


BREAKERS = {"pam-feed-acknowledged": _break_ack, "pam-fed-identity": _break_traits,
            "pam-merge-survivor": _break_merge, "pam-deleted-not-used": _break_deleted,
            "pam-provisional-not-qualified": _break_provisional}


def test_every_pam_check_has_a_failing_case():
    assert set(BREAKERS) == set(PAM_CHECKS)


@pytest.mark.parametrize("check_id", sorted(BREAKERS))
def test_each_pam_check_fails_when_the_record_shows_its_problem(check_id, clean):
    run = _run_record(clean)
    assert CHECKS[check_id].judge(run).passed
    BREAKERS[check_id](run)
    result = CHECKS[check_id].judge(run)
    assert result.status == "fail" and result.problems and all(p.startswith("pam-") for p in result.problems)


def test_the_core_checks_leave_the_pam_tasks_to_their_own(clean):
    """A PAM-fed report has no INSi search: the core's INSi checks do not judge those tasks."""
    run = _run_record(clean)
    for check_id in ("insi-before-send", "qualified-ins-only", "claims-honest"):
        assert CHECKS[check_id].judge(run).passed
        assert not any(e.get("task", "").startswith("pam-") for e in CHECKS[check_id].judge(run).evidence)


# --- how the harness reaches the product --------------------------------------------------------------------
def _pam_plan(couloir: str = "RIS") -> Plan:
    full = build_plan(load_world(), couloir, "small")
    return Plan(full.couloir, full.size, full.world_version, full.of(*pam_feed.SCENARIOS))


def test_without_an_endpoint_the_ack_check_says_how_to_give_one(stack, tmp_path):
    driver = PluginDriver(make_runner(state_dir=tmp_path))  # a product that announces no listener
    run = run_plan(_pam_plan(), driver, stack.endpoints(), load_world())
    assert run["product"] == {}
    result = CHECKS["pam-feed-acknowledged"].judge(run)
    assert result.status == "fail" and len(result.problems) == 5
    assert "no MLLP endpoint for the product: give `segur proof --pam-endpoint" in result.problems[0]
    assert CHECKS["pam-fed-identity"].judge(run).status == "blocked"


def test_an_endpoint_given_by_the_user_is_fed_over_the_drivers(stack, tmp_path):
    listener = Listener(tmp_path).start()
    try:
        driver = PluginDriver(make_runner(state_dir=tmp_path))
        driver.product_endpoints = {"pam": "mllp://127.0.0.1:9"}  # announced, but overridden
        run = run_plan(_pam_plan("BIO"), driver, stack.endpoints(), load_world(),
                       product={"pam": listener.url})
    finally:
        listener.stop()
    assert run["product"] == {"pam": listener.url}
    assert all(CHECKS[check_id].judge(run).passed for check_id in PAM_CHECKS)
    # what the manual driver polls: an accepted ITI-41 for a PAM-fed report, nothing for a withheld one
    for record in run["tasks"]:
        seen = expected_exchange(record["task"], stack.endpoints(), since=record["marks"]["before"])
        assert seen == (record["expect"] == "delivered"), record["task"]["id"]


def test_the_manual_instructions_name_the_feeds_identifier_and_no_traits():
    text = instructions(_pam_plan().by_id("pam-merge-01").task)
    assert "named " in text and "(SEGUR-PAM); type no traits" in text and "birth name" not in text
    assert "send it to the patient's DMP" in text


def test_the_cli_refuses_a_pam_endpoint_that_is_not_mllp_before_starting_anything(tmp_path):
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--pam-endpoint", "http://x:1",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "mllp://host:port" in result.output
    assert not (tmp_path / "index.html").exists()


# --- the reference RIS's listener ---------------------------------------------------------------------------
@pytest.fixture
def listener(tmp_path):
    running = Listener(tmp_path).start()
    yield running
    running.stop()


def _send(listener, text: str) -> str:
    host, port = mllp.parse_url(listener.url)
    return mllp.exchange(host, port, text.encode("utf-8"), timeout=5).decode("utf-8")


MSH = "MSH|^~\\&|SEGUR-PAM|SEGUR|||20260101120000||ADT^{event}|C1|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR"
PID = "PID|1||{ids}||DUPONT^JEAN^JEAN PAUL^^^^L||19800101|M|||^^^^^^BDL^^75056" + "|" * 21 + "VALI"


def test_the_listener_refuses_an_a08_ar_and_names_the_rule(listener):
    ack = _send(listener, "\r".join([MSH.format(event="A08^ADT_A01"), PID.format(ids="1^^^H&1&M^PI")]))
    assert "MSA|AR|C1" in ack and "ERR||MSH^1^9|201^^HL70357|E" in ack and "A08 is excluded" in ack


def test_the_listener_answers_ae_to_a_patient_without_local_identifier_and_keeps_nothing(listener, tmp_path):
    ack = _send(listener, "\r".join([MSH.format(event="A28^ADT_A05"), PID.format(ids="")]))
    assert "MSA|AE|C1" in ack and "ERR||PID^1^3|101" in ack
    assert PatientFile(tmp_path).read()["patients"] == {}


def test_the_listener_keeps_serving_after_a_broken_frame(listener, tmp_path):
    host, port = mllp.parse_url(listener.url)
    with socket.create_connection((host, port), timeout=5) as broken:
        broken.sendall(b"\x0bMSH|^~\\&|half a message\x0b")
        broken.shutdown(socket.SHUT_WR)
        broken.recv(100)
    ack = _send(listener, "\r".join([MSH.format(event="A28^ADT_A05"), PID.format(ids="42^^^H&1&M^PI")]))
    assert "MSA|AA|C1" in ack
    assert PatientFile(tmp_path).patient("H^42")["traits"]["first_names"] == "JEAN PAUL"


INS_ID = "279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS"


def _exchange_when_listening(port: int, message: str) -> str:
    """The ACK, once the listener started on another thread accepts connections (5 s at most)."""
    for _attempt in range(50):
        try:
            return mllp.exchange("127.0.0.1", port, message.encode("utf-8"), timeout=5).decode("utf-8")
        except ConnectionRefusedError:
            threading.Event().wait(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_command_line_runs_the_listener_until_stopped_for_a_cmd_product(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop, codes = threading.Event(), []
    argv = ["--pam-listen", f"mllp://127.0.0.1:{port}", "--state-dir", str(tmp_path)]
    thread = threading.Thread(target=lambda: codes.append(reference_ris_main(argv, stop)))
    thread.start()
    try:
        message = "\r".join([MSH.format(event="A28^ADT_A05"), PID.format(ids=f"7^^^H&1&M^PI~{INS_ID}")])
        ack = _exchange_when_listening(port, message)
    finally:
        stop.set()
        thread.join(10)
    assert "MSA|AA|C1" in ack and codes == [0]
    kept = PatientFile(tmp_path).patient("H^7")
    assert kept["ins"] == {"value": "279035121518989", "oid": "1.2.250.1.213.1.4.10"} and kept["qualified"]


def test_the_command_line_refuses_a_listener_address_that_is_not_mllp(tmp_path, capsys):
    assert reference_ris_main(["--pam-listen", "http://x:1", "--state-dir", str(tmp_path)]) == 2
    assert "is not mllp://host:port" in capsys.readouterr().err


def test_a_stack_serving_no_pam_leaves_the_pam_checks_not_run():
    """A tenant of a shared stack is served no PAM mock: the PAM checks are deselected, not failed."""
    args = left_out_checks("BIO", {"insi": {}, "dmp": {}, "mssante": {}})
    assert args.count("--deselect") == len(PAM_CHECKS)
    assert "test_bio_proof.py::test_pam_feeds_are_acknowledged_aa" in args
    assert left_out_checks("BIO", {"insi": {}, "dmp": {}, "mssante": {}, "pam": {"admin": "http://x/"}}) == ()
