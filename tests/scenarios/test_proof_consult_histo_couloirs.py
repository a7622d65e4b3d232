"""The consultation of the DMP (capability `consult`) and the back-fill, blocked feed, visibility and deletion
(capability `histo`) in the couloirs LGC and DPI: their plans fit the couloir (the GP consults and back-fills
VSMs, the hospital lettres de liaison and its other documents), the reference products pass them, and a
seeded defect of each capability fails the check that names it, on the task it was seeded in, with the
couloir's REM ids.

One stack serves the module (with the official CDA pack when there is one). Four runs in all, each of the
small plan: per couloir, the clean proof end to end (`run_proof`: suites and evidence pack) and one run of
the core and these two capabilities by the reference product with a defect on some tasks only (one memory for
all), judged again from its record by the checks of the couloir's suite that run, as a reviewer of the pack
would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from seeded import PerTaskDefects

from segur.fixtures.world import load_world
from segur.kernel.official_pack import find_pack
from segur.scenarios.capabilities import consult, histo, unrun_checks
from segur.scenarios.checks import CHECKS, recompute
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.proof import stack_config
from segur.scenarios.rem import coverage
from segur.scenarios.runner import run_plan
from segur.scenarios.suites import SUITES
from segur.up import start_stack

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

ROOT = Path(__file__).resolve().parents[2]
COULOIRS = ("LGC", "DPI")
CAPABILITY_CHECKS = [c.id for c in consult.CAPABILITY.checks] + [c.id for c in histo.CAPABILITY.checks]
#: couloir → (task id → the defect seeded on that task alone): one of `consult` and several of `histo` each
DEFECTS = {
    "LGC": {"consult-01": "consult-search-no-dates", "histo-01": "histo-today-date",
            "masked-01": "mask-ignored", "delete-01": "delete-not-sent"},
    "DPI": {"consult-02": "consult-ignores-newer-version", "histo-02": "histo-count-wrong",
            "hidden-01": "mask-ignored", "blocked-01": "blocked-still-sent"},
}
#: the ids each couloir's proof now covers through these capabilities (APPROVED in its REM)
NEWLY_COVERED = {
    "LGC": {"CDA/DD.05", "DMP/HISTO.03", "DMP/HISTO.05", "DMP/UX.27", "DMP/UX.31"},
    "DPI": {"CDA/DD.05", "DMP/AIRS.06", "DMP/HISTO.03", "DMP/HISTO.05", "DMP/HISTO.06", "DMP/HISTO.07",
            "DMP/UX.27", "DMP/UX.31", "DMP/UX.43", "DPI.DMP/va1.04"},
}


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    pack = find_pack(cwd=ROOT)
    config = stack_config(None, tmp_path_factory.mktemp("couloirs-stack"), pack=pack.path if pack else None)
    with start_stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def clean(clean_proof):
    """couloir → the clean proof of its reference product (the session's)."""
    return {couloir: clean_proof(couloir) for couloir in COULOIRS}


@pytest.fixture(scope="module")
def seeded(stack, world, tmp_path_factory):
    """couloir → (the run record of the small plan's core and consultation and histo tasks with
    DEFECTS[couloir], the verdicts of the suite's checks that run on it: not the other capabilities')."""
    runs = {}
    running = [consult.CAPABILITY, histo.CAPABILITY]
    for couloir in COULOIRS:
        Admin(stack.endpoints()).reset()
        plan = build_plan(world, couloir, "small", [capability.name for capability in running])
        driver = PerTaskDefects(DEFECTS[couloir], tmp_path_factory.mktemp(f"defects-{couloir}"))
        run = run_plan(plan, driver, stack.endpoints(), world)
        judged = set(SUITES[couloir]) - set(unrun_checks(couloir, running).values())
        runs[couloir] = (run, {cid: r for cid, r in recompute(run).items() if cid in judged})
    return runs


def _failing(evidence: dict) -> dict:
    return {cid: c["problems"][:3] for cid, c in evidence["checks"].items() if c["status"] != "pass"}


def _tasks(evidence: dict) -> dict:
    return {t["task"]["id"]: t for t in evidence["run"]["tasks"]}


# --- the plans ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", COULOIRS)
def test_the_couloirs_suite_runs_the_consultation_and_histo_checks_after_the_core_ones(couloir):
    suite = SUITES[couloir]
    start = suite.index(CAPABILITY_CHECKS[0])
    assert suite[start:start + len(CAPABILITY_CHECKS)] == tuple(CAPABILITY_CHECKS)
    assert start > suite.index("metadata-matches-cda")  # after the 26 core checks: their nodeids never move
    assert not set(CAPABILITY_CHECKS) & set(SUITES["PFI"])  # the platform consults and back-fills nothing
    assert not {c.id for c in histo.BIO_CAPABILITY.checks} & set(suite)  # the lab's own stay the lab's


def test_the_gp_consults_the_medecin_traitants_vsm_and_the_hospital_a_lettre_de_liaison(world):
    lgc = build_plan(world, "LGC", "small").by_id("consult-01").task
    dpi = build_plan(world, "DPI", "small").by_id("consult-01").task
    assert lgc.extra["search"]["type_codes"] == ["SYNTH^^1.2.250.1.213.1.1.4.12"]
    assert dpi.extra["search"]["type_codes"] == ["11490-0^^2.16.840.1.113883.6.1"]
    # every histo task writes the couloir's documents: VSMs for the GP, the hospital's three kinds in turn
    assert {p.task.kind for p in build_plan(world, "LGC", "small").tasks} == {"VSM"}
    backfilled = [p for p in build_plan(world, "DPI", "small").tasks if histo.CAPABILITY.owns(p.scenario)]
    assert {p.task.kind for p in backfilled} == {"LDL-SES", "CRO", "ORDONNANCE"}


# --- the clean reference products ---------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", COULOIRS)
def test_the_reference_product_passes_the_consultation_and_histo_checks(clean, couloir):
    outcome = clean[couloir]
    evidence = outcome.evidence
    assert outcome.exit_code == 0 and evidence["verdict"] == "pass", _failing(evidence)
    counts = evidence["plan"]["counts"]
    assert counts["consult"] == 2 and counts["histo-manual"] == counts["histo-bulk"] == 1
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == couloir}
    for check_id in CAPABILITY_CHECKS:
        assert outcomes[check_id] == "passed", check_id
        assert evidence["checks"][check_id]["evidence"], check_id  # judged on tasks, not vacuously
    for rem_id in NEWLY_COVERED[couloir]:
        assert evidence["requirements"][rem_id]["verdict"] == "pass", rem_id


def test_the_gp_integrates_the_current_vsm_which_is_also_the_medical_summary(clean):
    tasks = _tasks(clean["LGC"].evidence)
    searching, showing = tasks["consult-01"], tasks["consult-02"]
    fed, report = searching["prepared"]["fed"], consult.product_report(searching)
    assert set(fed) == {"first", "current", "old", "other"}  # no other GP's VSM: the versions are the summary
    assert [d["unique_id"] for d in report["found"]] == [fed["current"]["unique_id"]]
    assert report["integrated"][0]["sha256"] == fed["current"]["sha256"]
    # the search of the SYNTH type with the task's dates is the one judged, not the summary's look-up after it
    search = clean["LGC"].evidence["checks"]["consult-search"]["evidence"][0]
    assert len(search["queries"]) == 2 and [d["unique_id"] for d in search["dmp_returned"]] == \
        [fed["current"]["unique_id"]]
    assert report["medical_summary"]["present"] is True
    assert consult.product_report(showing)["shown"][0]["newer_version"] == showing["prepared"]["newer"]


def test_the_hospital_integrates_the_lettre_de_liaison_of_an_earlier_stay(clean):
    tasks = _tasks(clean["DPI"].evidence)
    searching = tasks["consult-01"]
    fed, report = searching["prepared"]["fed"], consult.product_report(searching)
    assert set(fed) == {"first", "current", "old", "other", "vsm"}
    assert [d["unique_id"] for d in report["integrated"]] == [fed["current"]["unique_id"]]
    # written by a surgeon of another hospital, not by the DPI's author
    assert fed["current"]["author"] != searching["task"]["author"]["idnps"]
    assert report["medical_summary"]["unique_ids"] == [fed["vsm"]["unique_id"]]


@pytest.mark.parametrize("couloir", COULOIRS)
def test_rem_coverage_of_the_couloir_counts_the_capabilities_requirements(couloir):
    found = coverage(couloir)
    assert NEWLY_COVERED[couloir] <= set(found.covered) and not found.neither
    assert not NEWLY_COVERED[couloir] & set(found.out_of_scope)


# --- the seeded defects -------------------------------------------------------------------------------------
def _check_of(defect: str) -> str:
    (check_id,) = [c for c, check in CHECKS.items() if defect in check.defects]
    return check_id


@pytest.mark.parametrize("couloir", COULOIRS)
def test_each_seeded_defect_fails_exactly_its_check_on_its_task(seeded, couloir):
    _run, results = seeded[couloir]
    defects = DEFECTS[couloir]
    expected = {_check_of(defect) for defect in defects.values()}
    failing = {cid for cid, result in results.items() if result.status == "fail"}
    assert failing == expected, {cid: results[cid].problems[:2] for cid in failing ^ expected}
    for task_id, defect in defects.items():
        problems = results[_check_of(defect)].problems
        assert any(problem.startswith(f"{task_id}:") for problem in problems), (defect, problems)


@pytest.mark.parametrize("couloir, check_id, rem_ids", [
    ("LGC", "consult-search", ["DMP/UX.27"]),
    ("LGC", "histo-business-date", ["DMP/HISTO.03"]),
    ("LGC", "dmp-visibility", ["LGC.DMP.02", "LGC.DMP/va1.17"]),  # its masking settings (UNDER_REVIEW)
    ("LGC", "dmp-deletion", ["LGC.DMP.01"]),
    ("DPI", "consult-newer-version", ["CDA/DD.05"]),
    ("DPI", "histo-indicator", ["DMP/HISTO.07"]),
    ("DPI", "dmp-visibility", ["DPI.DMP/va1.04"]),
    ("DPI", "dmp-feed-blocked", []),  # no APPROVED requirement of the DPI's REM says "block the feed"
])
def test_a_failing_check_names_the_couloirs_own_requirements(seeded, couloir, check_id, rem_ids):
    _run, results = seeded[couloir]
    assert results[check_id].status == "fail"
    assert CHECKS[check_id].rem[couloir] == rem_ids
