"""The couloir RI: the harness as IHE PAM FR consumer of the reference RI's identity flows
(`capabilities/identity_feeds.py`), clean and with each of its seeded defects; the RI rows of the catalogue;
the same capability in the BIO couloir (SGL.INS/va1.71: the INS in PID of outgoing HL7v2).

One stack serves the module; two small RI runs (clean; `ri-ins-unqualified` and `ri-update-new-ipp` together,
each seeded on the tasks it spoils: `seeded.PerTaskDefects`) and a small BIO run of the reference RIS with
`ri-ins-unqualified` (the core and the identity feeds); the clean BIO proof is the session's (`clean_proof`).
"""

from __future__ import annotations

import copy
import csv

import pytest
from seeded import named_tasks, seeded_proof
from typer.testing import CliRunner

from segur.cli import app
from segur.fixtures.world import load_world
from segur.scenarios.capabilities.identity_feeds import NAME, read_message
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import build_plan
from segur.scenarios.proof import run_proof
from segur.scenarios.rem import coverage, read_catalogue, shared_rem_path
from segur.scenarios.suites import SUITES

RI_CHECKS = ("pam-flows-acknowledged", "pam-ins-qualified-only", "pam-updates-propagate")
DEFECTS = {"ri-ins-unqualified": ("pam-flows-acknowledged", "pam-ins-qualified-only"),
           "ri-update-new-ipp": ("pam-updates-propagate",)}
#: task → the defect seeded on it in the one RI run of both: the identities recorded before INSi was asked
#: (provisional, duplicate) are sent with their INS, the update under a new IPP
SEEDED = {"ri-provisional-01": "ri-ins-unqualified", "ri-duplicate-01": "ri-ins-unqualified",
          "ri-update-01": "ri-update-new-ipp"}


@pytest.fixture(scope="module")
def proofs(tmp_path_factory, stack):
    """None → the clean RI proof; each defect → the run of both, each seeded on its tasks (SEEDED)."""
    clean = run_proof("reference-ri", "RI", tmp_path_factory.mktemp("evidence-ri-clean"), size="small",
                      progress=False, stack=stack)
    seeded = seeded_proof("reference-ri", "RI", tmp_path_factory.mktemp("evidence-ri-defects"), SEEDED,
                          stack=stack)
    return {None: clean, **{defect: seeded for defect in DEFECTS}}


@pytest.fixture(scope="module")
def bio_proofs(tmp_path_factory, stack, clean_proof):
    """The BIO proof (the reference RIS as a lab system, CR-BIO), clean (the session's) and with
    `ri-ins-unqualified` (the core and the identity feeds): the identity feeds it sends out are judged as the
    RI's (SGL.INS/va1.71)."""
    out = tmp_path_factory.mktemp("evidence-bio-feeds-ri-ins-unqualified")
    defective = run_proof("reference-ris:ri-ins-unqualified", "BIO", out, size="small", progress=False,
                          stack=stack, capabilities=(NAME,))
    return {None: clean_proof("BIO"), "ri-ins-unqualified": defective}


def test_the_ri_plan_is_its_identity_flows_only():
    plan = build_plan(load_world(), "RI", "full")
    assert [p.task.id for p in plan.tasks] == ["ri-create-01", "ri-provisional-01", "ri-update-01",
                                              "ri-homonym-01", "ri-duplicate-01", "ri-merge-01"]
    assert {p.task.action for p in plan.tasks} == {"feed-identity"}
    assert [p.task.extra["event"] for p in plan.tasks] == ["A28", "A28", "A31", "A28", "A28", "A40"]
    record = {p.task.id: p.task.extra["record"] for p in plan.tasks}
    assert record["ri-update-01"] == record["ri-provisional-01"]
    assert plan.by_id("ri-merge-01").task.extra["merge_from"] == record["ri-duplicate-01"]
    assert SUITES["RI"] == RI_CHECKS


@pytest.mark.slow
def test_the_reference_ri_passes_the_ri_proof(proofs):
    outcome = proofs[None]
    evidence = outcome.evidence
    assert outcome.exit_code == 0, [(c, r["problems"][:2]) for c, r in evidence["checks"].items()
                                    if r["status"] != "pass"]
    assert list(evidence["checks"]) == list(RI_CHECKS)  # no core check is "not run" in the RI's pack
    assert {t["outcome"] for t in evidence["tests"] if t["couloir"] == "RI"} == {"passed"}
    assert evidence["meta"]["va"].startswith("RI: at most three IHE PAM flows")
    messages = {t["task"]["id"]: t["observed"][NAME]["messages"] for t in evidence["run"]["tasks"]}
    assert messages["ri-homonym-01"] == []  # INSi answered 02: nothing diffused
    (create,) = messages["ri-create-01"]
    assert create["status"] == ["VALI"] and [i["type"] for i in create["identifiers"]] == ["PI", "INS"]
    (provisional,) = messages["ri-provisional-01"]
    assert provisional["status"] == ["PROV"] and provisional["ins"] == []
    (merge,) = messages["ri-merge-01"]
    assert merge["merged"] and merge["merged"][0] == messages["ri-duplicate-01"][0]["identifiers"][0]["value"]


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_ri_defect_fails_the_check_that_names_it(proofs, defect):
    evidence = proofs[defect].evidence
    assert proofs[defect].exit_code == 1 and evidence["verdict"] == "fail"
    failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    # both defects run together: every RI check fails, each on the tasks of its own defect only
    assert {c for c, r in evidence["checks"].items() if r["status"] == "fail"} == set(RI_CHECKS)
    spoiled = {task_id for task_id, seeded in SEEDED.items() if seeded == defect}
    for check_id in RI_CHECKS:
        problems = evidence["checks"][check_id]["problems"]
        if check_id in DEFECTS[defect]:
            # the identities recorded before INSi was asked (provisional, duplicate), or the update
            assert problems and named_tasks(problems) <= spoiled, (check_id, problems)
            assert set(CHECKS[check_id].rem["RI"]) <= failing_rem
        else:  # the other defect's check: none of this defect's tasks
            assert not named_tasks(problems) & spoiled, (check_id, problems)


def test_an_ins_under_a_provisional_status_is_named_in_the_problem(proofs):
    problems = proofs["ri-ins-unqualified"].evidence["checks"]["pam-ins-qualified-only"]["problems"]
    assert any("PID-32 PROV: not a qualified identity" in p for p in problems)


def _record(proofs) -> dict:
    return copy.deepcopy(proofs[None].evidence["run"])


def test_an_ins_insi_did_not_return_fails_even_under_vali(proofs):
    run = _record(proofs)
    task = next(t for t in run["tasks"] if t["task"]["id"] == "ri-create-01")
    task["observed"][NAME]["messages"][0]["ins"][0]["value"] = "180032B02040123"
    problems = CHECKS["pam-ins-qualified-only"].judge(run).problems
    assert problems == ["ri-create-01: #1 carries the INS 180032B02040123, which INSi did not return "
                        "qualified (00) for this patient in this task"]


def test_a_flow_not_sent_or_a_merge_not_kept_fails(proofs):
    run = _record(proofs)
    merge = next(t for t in run["tasks"] if t["task"]["id"] == "ri-merge-01")
    merge["observed"][NAME]["messages"] = []
    assert "ri-merge-01: 0 ADT^A40 message(s)" in CHECKS["pam-flows-acknowledged"].judge(run).problems[0]
    duplicate = next(t for t in run["tasks"] if t["task"]["id"] == "ri-duplicate-01")
    for kept in duplicate["observed"][NAME]["identities"].values():
        kept["merged_into"] = None
    assert "is merged into None" in CHECKS["pam-updates-propagate"].judge(run).problems[0]


def test_the_judge_reads_an_unparsable_message_as_unreadable():
    assert "unreadable" in read_message("not HL7 at all")


def test_the_ri_rows_of_the_catalogue_and_its_coverage():
    path = shared_rem_path()
    if not path.is_file():
        pytest.skip(f"the ANS REM working data is not at {path}")
    with open(path, encoding="utf-8", newline="") as handle:
        shared = list(csv.DictReader(handle))
    wanted = {s["id"] for s in shared if s["couloir"] == "socle_commun" and s["id"].startswith("RI.")
              and s["status"] == "APPROVED" and s["domain"] == "INS"}
    assert wanted and wanted <= {r.id for r in read_catalogue() if r.couloir == "RI"}
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", "RI"])
    assert result.exit_code == 0 and "neither: 0" in result.output, result.output
    found = coverage("RI")
    assert {"RI.INS/va1.64", "RI.INS/va1.66"} <= set(found.covered) and "RI.INS/va1.65" in found.out_of_scope


def test_the_bio_plan_and_suite_take_the_identity_feeds_and_the_ris_do_not():
    bio = [p.task.id for p in build_plan(load_world(), "BIO", "small").tasks]
    start = bio.index("ri-create-01")  # in a row, after the core's (others may follow)
    assert bio[start:start + 6] == ["ri-create-01", "ri-provisional-01", "ri-update-01", "ri-homonym-01",
                                    "ri-duplicate-01", "ri-merge-01"] and start > bio.index("unknown-01")
    first = SUITES["BIO"].index(RI_CHECKS[0])
    assert SUITES["BIO"][first:first + 3] == RI_CHECKS and not set(RI_CHECKS) & set(SUITES["RIS"])
    assert not any(p.task.action == "feed-identity" for p in build_plan(load_world(), "RIS", "small").tasks)
    assert CHECKS["pam-ins-qualified-only"].rem["BIO"] == ["SGL.INS/va1.71"]


@pytest.mark.slow
def test_the_reference_ris_diffuses_its_identities_correctly_in_the_bio_proof(bio_proofs):
    evidence = bio_proofs[None].evidence
    for check_id in (*RI_CHECKS, "insi-before-send"):  # a provisional identity is diffused before INSi
        assert evidence["checks"][check_id]["status"] == "pass", (check_id, evidence["checks"][check_id])
    assert evidence["requirements"]["SGL.INS/va1.71"]["verdict"] == "pass"
    # no check of the BIO suite finds fault with an identity feed task
    problems = [p for result in evidence["checks"].values() for p in result["problems"]]
    assert not [p for p in problems if p.startswith("ri-")]
    messages = {t["task"]["id"]: t["observed"][NAME]["messages"] for t in evidence["run"]["tasks"]
                if NAME in (t.get("observed") or {})}
    (create,) = messages["ri-create-01"]
    assert create["status"] == ["VALI"] and [i["type"] for i in create["identifiers"]] == ["PI", "INS"]
    assert messages["ri-homonym-01"] == []


def test_an_unqualified_identity_sent_with_its_ins_fails_the_bio_proof(bio_proofs):
    evidence = bio_proofs["ri-ins-unqualified"].evidence
    assert bio_proofs["ri-ins-unqualified"].exit_code == 1
    result = evidence["checks"]["pam-ins-qualified-only"]
    assert result["status"] == "fail" and result["problems"]
    assert all(p.split(":")[0] in ("ri-provisional-01", "ri-duplicate-01") for p in result["problems"])
    assert any("PID-32 PROV: not a qualified identity" in p for p in result["problems"])
    assert evidence["requirements"]["SGL.INS/va1.71"]["verdict"] == "fail"
    assert evidence["checks"]["pam-updates-propagate"]["status"] == "pass"


def test_only_an_identity_fed_before_insi_is_spared_the_insi_answer(bio_proofs):
    run = copy.deepcopy(bio_proofs[None].evidence["run"])
    assert CHECKS["insi-before-send"].judge(run).passed
    provisional = next(t for t in run["tasks"] if t["task"]["id"] == "ri-provisional-01")
    provisional["task"]["extra"]["qualify"] = True  # as if the product had to search INSi first
    problems = CHECKS["insi-before-send"].judge(run).problems
    assert problems == ["ri-provisional-01: no INSi search of the patient answered 00"]
