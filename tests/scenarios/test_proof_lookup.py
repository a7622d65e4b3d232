"""The capability `lookup` of the proof (Annuaire look-up, CRL kept, revoked operator, end of exchange)
against the reference RIS: the clean RIS and BIO proofs pass its checks, and each seeded defect fails
exactly the check naming it, on its task.

The clean RIS and BIO proofs are the session's (`clean_proof`); one stack serves the module's two runs of a
reference RIS that carries one defect per task of the capability (each defect only changes what the RIS does
in its own task: `lookup-skipped` on lookup-01, `crl-not-kept` on crl-01, `crl-ignored` on revoked-01,
`no-fin-header` on citizen-fin-01; then `lookup-wrong-professional` on lookup-01).
"""

from __future__ import annotations

import copy

import pytest
from seeded import PerTaskDefects

from segur.scenarios import proof as proof_module
from segur.scenarios.capabilities import lookup
from segur.scenarios.checks import recompute
from segur.scenarios.proof import run_proof

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

CHECK_IDS = ("lookup-recipient", "crl-kept", "revoked-operator-refused", "citizen-end-exchange")
#: task → the defect the reference RIS carries for it, and the check that must fail on that task
FIRST_RUN = {"lookup-01": ("lookup-skipped", "lookup-recipient"), "crl-01": ("crl-not-kept", "crl-kept"),
             "revoked-01": ("crl-ignored", "revoked-operator-refused"),
             "citizen-fin-01": ("no-fin-header", "citizen-end-exchange")}
SECOND_RUN = {"lookup-01": ("lookup-wrong-professional", "lookup-recipient")}


def _proof(stack, tmp_path_factory, defects: dict[str, str]):
    """The RIS small proof with `defects` (task id → defect) seeded in their tasks only, on the core's plan
    and the capability's tasks (the clean products run every capability: `clean_proof`)."""
    out = tmp_path_factory.mktemp("evidence-lookup")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proof_module, "driver_for",
                      lambda sut, _stack, state_dir: PerTaskDefects(defects, state_dir))
        return run_proof("reference-ris", "RIS", out, size="small", progress=False, stack=stack,
                         capabilities=("lookup",))


@pytest.fixture(scope="module")
def clean(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def clean_bio(clean_proof):
    return clean_proof("BIO")


@pytest.fixture(scope="module")
def first(stack, tmp_path_factory):
    return _proof(stack, tmp_path_factory, defects=FIRST_RUN)


@pytest.fixture(scope="module")
def second(stack, tmp_path_factory):
    return _proof(stack, tmp_path_factory, defects=SECOND_RUN)


def _failing(outcome) -> dict[str, list[str]]:
    # "not run": a check of a capability the couloir does not take (histo-bio's in a RIS pack)
    return {cid: c["problems"] for cid, c in outcome.evidence["checks"].items()
            if c["status"] not in ("pass", "not run")}


def _task(outcome, task_id: str) -> dict:
    return next(t for t in outcome.evidence["run"]["tasks"] if t["task"]["id"] == task_id)


@pytest.mark.parametrize("which", ["clean", "clean_bio"])
def test_the_reference_products_pass_every_check_of_the_capability(which, request):
    outcome = request.getfixturevalue(which)
    assert outcome.verdict == "pass", _failing(outcome)
    counts = outcome.evidence["plan"]["counts"]
    assert {counts.get(s) for s in lookup.CAPABILITY.scenarios} == {1}
    for check_id in CHECK_IDS:
        assert outcome.evidence["checks"][check_id]["status"] == "pass"


def test_the_clean_run_shows_what_each_check_read(clean):
    found = _task(clean, "lookup-01")["observed"]["lookup"]
    rpps = _task(clean, "lookup-01")["task"]["extra"]["professional"]["rpps"]
    (message,) = found["messages"]
    assert any(message["to"][0] in s["mailboxes"].get(rpps, []) and s["time"] <= message["time"]
               for s in found["annuaire"])
    crl = _task(clean, "crl-01")["observed"]["lookup"]
    assert crl["crl_ok_before"] and {f["status"] for f in crl["crl_in_task"]} == {503}
    revoked = _task(clean, "revoked-01")
    assert [c["outcome"] for c in revoked["observed"]["lookup"]["relay"]] == ["refused-by-client"]
    assert not revoked["result"]["ok"] and "revoked" in revoked["result"]["detail"]
    (ending,) = _task(clean, "citizen-fin-01")["observed"]["lookup"]["messages"]
    assert ending["mes"] == ["FIN"]


def test_each_defect_fails_exactly_its_check_naming_its_task(first):
    failing = _failing(first)
    assert set(failing) == {check for _defect, check in FIRST_RUN.values()}, failing
    for task_id, (_defect, check_id) in FIRST_RUN.items():
        problems = failing[check_id]
        assert problems and all(p.startswith(f"{task_id}:") for p in problems), problems
    requirements = first.evidence["requirements"]
    for rem_id in ("MSS/CONF.20", "MSS/CONF.21", "MSS/CONF.22", "MSS/va1.05"):
        assert requirements[rem_id]["verdict"] == "fail", rem_id


def test_what_each_defect_left_in_the_evidence(first):
    problems = _failing(first)
    assert "only searches naming the address itself" in problems["lookup-recipient"][0]
    assert "nothing was delivered" in problems["crl-kept"][-1]
    revoked = problems["revoked-operator-refused"]
    assert any("went on through the revoked server certificate" in p for p in revoked)
    assert any("reached MSSanté" in p for p in revoked)
    assert "carries no X-MSS-MES header" in problems["citizen-end-exchange"][0]


def test_the_mailbox_of_another_professional_fails_the_look_up(second):
    failing = _failing(second)
    assert list(failing) == ["lookup-recipient"], failing
    (problem,) = failing["lookup-recipient"]
    assert problem.startswith("lookup-01:") and "returned for another professional" in problem


def test_a_message_sent_before_the_search_fails_the_look_up(clean):
    run = copy.deepcopy(clean.evidence["run"])
    task = next(t for t in run["tasks"] if t["task"]["id"] == "lookup-01")
    for search in task["observed"]["lookup"]["annuaire"]:
        search["time"] = "9999-12-31T00:00:00.000+00:00"
    result = recompute(run)["lookup-recipient"]
    assert not result.passed and "no search at all" in result.problems[0]


def test_a_crl_never_fetched_before_the_outage_fails_both_crl_checks(clean):
    run = copy.deepcopy(clean.evidence["run"])
    for task in run["tasks"]:
        facts = task["observed"].get("lookup")
        if facts:
            facts["crl_ok_before"] = []
            facts["crl_in_task"] = [f for f in facts["crl_in_task"] if f["verdict"] != "ok"]
    results = recompute(run)
    assert "no CRL was downloaded" in results["crl-kept"].problems[0]
    assert "not a revocation check by CRL" in results["revoked-operator-refused"].problems[0]
