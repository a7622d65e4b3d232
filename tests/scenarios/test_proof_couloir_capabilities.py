"""The capabilities `psc`, `lookup` and `pam_feed` in the couloirs LGC, DPI and PFI: each couloir takes the
tasks and checks its REM has (scenarios/capabilities/psc.py, lookup.py, pam_feed.py), with its own REM ids,
and each capability's seeded defects fail the couloir's proof on the check that names them.

One stack serves the module; each couloir's small plan runs once against its reference product with a
defect seeded per task (one memory for every task: `seeded.PerTaskDefects`) and, for the PAM feed, in the
listener that integrates the feeds; the checks are recomputed from the run record (`checks.recompute`), as a
reviewer of the pack would. Every check of the couloir's suite not seeded passes in the same run; the clean
reference products pass every check of their suites (tests/scenarios/test_couloir_proofs.py)."""

from __future__ import annotations

import copy

import pytest
from seeded import PerTaskDefects

from segur.fixtures.world import load_world
from segur.scenarios.capabilities import for_couloir, lookup, pam_feed, psc
from segur.scenarios.checks import CHECKS, recompute
from segur.scenarios.observe import Admin
from segur.scenarios.plan import build_plan
from segur.scenarios.runner import run_plan
from segur.scenarios.suites import SUITES

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

CORE_TASKS = ("dmp-01", "dmp-02", "mss-01", "mss-02", "citizen-01", "replace-01", "homonym-01", "outage-01",
              "retry-01", "vitale-01", "unknown-01")
#: couloir → the capability tasks its small plan adds after the core's, in order
TASKS = {"LGC": ("lookup-01", "crl-01", "revoked-01", "citizen-fin-01",
                 "psc-01", "psc-02", "psc-03", "psc-04"),
         "DPI": ("pam-create-01", "pam-update-01", "pam-merge-01", "pam-delete-01", "pam-provisional-01",
                 "citizen-fin-01"),
         "PFI": ("crl-01", "revoked-01", "citizen-fin-01")}
#: couloir → the checks of these capabilities its suite lists after the core's, in order
CHECK_IDS = {"LGC": ("lookup-recipient", "crl-kept", "revoked-operator-refused", "citizen-end-exchange",
                     "psc-xoauth2", "psc-reauth", "psc-reopen", "psc-auth-error"),
             "DPI": ("pam-feed-acknowledged", "pam-fed-identity", "pam-merge-survivor",
                     "pam-deleted-not-used", "pam-provisional-not-qualified", "citizen-end-exchange"),
             "PFI": ("mss-app-org-cert", "crl-kept", "revoked-operator-refused", "citizen-end-exchange")}
#: couloir → (task → the defect seeded on it, the defect of the product's PAM listener)
SEEDED = {"LGC": ({"mss-01": "psc-plain-login", "psc-02": "psc-stale-token", "lookup-01": "lookup-skipped",
                   "citizen-fin-01": "no-fin-header"}, None),
          "DPI": ({"citizen-fin-01": "no-fin-header"}, "pam-ignore-update"),
          "PFI": ({"mss-01": "app-mailbox-no-cert", "crl-01": "crl-not-kept", "revoked-01": "crl-ignored"},
                  None)}
#: couloir → check → the task its problems must name (the one the defect was seeded on)
FAILS = {"LGC": {"psc-xoauth2": "mss-01", "psc-reauth": "psc-02",
                 "lookup-recipient": "lookup-01", "citizen-end-exchange": "citizen-fin-01"},
         "DPI": {"citizen-end-exchange": "citizen-fin-01", "pam-fed-identity": "pam-update-01"},
         "PFI": {"mss-app-org-cert": "mss-01", "crl-kept": "crl-01",
                 "revoked-operator-refused": "revoked-01"}}
#: couloir → check → the REM ids of the couloir it carries (its APPROVED rows, and UNDER_REVIEW as for RIS)
FIN = ["MSS/CONF.21", "SC.MSS/CONF.21"]
REM = {"LGC": {"psc-xoauth2": ["MSS/CONF.07"], "psc-reauth": ["MSS/CONF.10"], "psc-reopen": ["MSS/CONF.11"],
               "psc-auth-error": ["MSS/CONF.08"],
               "lookup-recipient": ["MSS/CONF.20", "SC.MSS/CONF.20", "ANN/va1.05"],
               "crl-kept": ["MSS/CONF.22", "SC.MSS/CONF.22"], "revoked-operator-refused": ["MSS/va1.05"],
               "citizen-end-exchange": FIN},
       "DPI": {**{c: ["DPI.INS/va1.62"] for c in CHECK_IDS["DPI"][:5]}, "citizen-end-exchange": FIN},
       "PFI": {"mss-app-org-cert": ["MSS/CONF.12"], "crl-kept": ["MSS/CONF.22", "SC.MSS/CONF.22"],
               "revoked-operator-refused": ["MSS/va1.05"], "citizen-end-exchange": FIN}}


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def seeded(stack, world, tmp_path_factory):
    """couloir → {"run": the run record, "results": the couloir suite's checks recomputed from it}."""
    runs = {}
    for couloir, (per_task, listener) in SEEDED.items():
        Admin(stack.endpoints()).reset()
        # the PAM defects live where the feed is integrated: the product's listener
        product = PerTaskDefects(per_task, tmp_path_factory.mktemp(f"state-{couloir}"),
                                 product=f"reference-{couloir.lower()}", listener=listener)
        run = run_plan(build_plan(world, couloir, "small"), product, stack.endpoints(), world)
        results = {c: r for c, r in recompute(run).items() if c in SUITES[couloir]}
        runs[couloir] = {"run": run, "results": results}
    return runs


def _in_order(wanted, found) -> bool:
    """`wanted` is a subsequence of `found`: each of them there, in this order."""
    rest = iter(found)
    return all(item in rest for item in wanted)


def _named_tasks(result) -> set[str]:
    return {problem.split(":")[0] for problem in result.problems}


# --- the plans and the suites (no mock) ---------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["LGC", "DPI", "PFI"])
def test_each_new_couloir_takes_the_tasks_of_its_rem_after_the_core_ones(world, couloir):
    plan = [p.task.id for p in build_plan(world, couloir, "small").tasks]
    assert tuple(plan[:len(CORE_TASKS)]) == CORE_TASKS  # the core's tasks first, then the capabilities'
    assert _in_order(TASKS[couloir], plan[len(CORE_TASKS):])  # other capabilities' tasks may come between
    assert _in_order(CHECK_IDS[couloir], SUITES[couloir][26:])  # the core's 26 checks keep their places
    for check_id, ids in REM[couloir].items():
        assert CHECKS[check_id].rem[couloir] == ids


def test_the_gp_sends_the_psc_tasks_from_the_personal_mailbox_and_the_pfi_has_no_psc_task(world):
    lgc = build_plan(world, "LGC", "small")
    author = lgc.tasks[0].task.author
    mailbox = author["professional"]["mailbox"]
    assert lgc.by_id("mss-01").task.sender == mailbox  # no application mailbox at the practice
    for planned in lgc.of(*psc.SCENARIOS):
        assert planned.task.extra == {"mailbox": mailbox, "idnps": author["idnps"]}
    pfi = build_plan(world, "PFI", "small")
    assert not pfi.of(*psc.SCENARIOS) and pfi.by_id("mss-01").task.sender == "dpi@ch-toulouse.mssante.fr"
    assert {"psc-app-cert", "lookup"} <= {c.name for c in for_couloir("PFI")} and "psc" not in {
        c.name for c in for_couloir("PFI")}


def test_bio_and_dpi_take_no_psc_check_and_the_pfi_no_lookup_of_a_recipient():
    """The BIO REM has MSS/CONF.07-12 OBSOLETE, the DPI's none of them; MSS/CONF.20 is OBSOLETE for PFI."""
    psc_checks = {check.id for check in psc.CHECKS}
    assert not psc_checks & set(SUITES["BIO"]) and not psc_checks & set(SUITES["DPI"])
    assert "lookup-recipient" not in SUITES["PFI"] and "lookup-recipient" not in SUITES["DPI"]
    assert not {check.id for check in pam_feed.CHECKS} & (set(SUITES["LGC"]) | set(SUITES["PFI"]))
    assert {lookup.DPI_CAPABILITY.name, lookup.PFI_CAPABILITY.name} == {lookup.CAPABILITY.name}


# --- the seeded runs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("couloir", ["LGC", "DPI", "PFI"])
def test_each_seeded_defect_fails_its_check_on_its_task_and_every_other_check_passes(seeded, couloir):
    results = seeded[couloir]["results"]
    failing = {c for c, r in results.items() if r.status == "fail"}
    assert failing == set(FAILS[couloir]), {c: results[c].problems[:2] for c in failing}
    for check_id, task_id in FAILS[couloir].items():
        assert task_id in _named_tasks(results[check_id]), (check_id, results[check_id].problems)
    for check_id in set(CHECK_IDS[couloir]) - set(FAILS[couloir]):
        assert results[check_id].status == "pass", (check_id, results[check_id].blocked_by)
        assert results[check_id].evidence, check_id


def test_the_gp_opens_every_session_of_the_personal_mailbox_with_xoauth2_but_the_seeded_one(seeded):
    result = seeded["LGC"]["results"]["psc-xoauth2"]
    judged = {e["task"]: e["mechanism"] for e in result.evidence if "mechanism" in e}
    assert judged.pop("mss-01") == "PLAIN" and set(judged) >= {"mss-02", "citizen-01", "lookup-01", "crl-01"}
    assert set(judged.values()) == {"XOAUTH2"}
    assert result.problems == [p for p in result.problems if p.startswith("mss-01: SMTP session #")]


def test_a_session_of_another_mailbox_than_the_products_is_not_the_products_to_open_with_psc(seeded):
    """The harness's own sessions (a peer writing to the product) open other mailboxes: not judged."""
    run = copy.deepcopy(seeded["LGC"]["run"])
    mss01 = next(t for t in run["tasks"] if t["task"]["id"] == "mss-01")
    seqs = {s["seq"] for s in mss01["observed"]["mss_sessions"]}
    for entry in run["journals"]["mssante"]:
        if entry["seq"] in seqs and entry["operation"] == "smtp-session":
            entry["client"]["login"] = "someone.else@example.mssante.fr"
    assert CHECKS["psc-xoauth2"].judge(run).status == "pass"


def test_the_pfi_relays_its_reports_from_the_application_mailbox_with_the_org_certificate(seeded):
    result = seeded["PFI"]["results"]["mss-app-org-cert"]
    seen = {e["task"]: e["client_cert"] for e in result.evidence}
    assert seen.pop("mss-01") is None  # the seeded task presented none
    assert {"mss-02", "citizen-01"} <= set(seen)
    assert all(cert["auth_cli"] and cert["ou"] for cert in seen.values())
    assert any("without a client certificate" in p for p in result.problems)


def test_the_dpi_integrates_the_pam_feeds_it_acknowledges(seeded):
    results = seeded["DPI"]["results"]
    assert results["pam-feed-acknowledged"].status == "pass"
    problems = results["pam-fed-identity"].problems
    assert problems and all(p.startswith("pam-update-01: ") for p in problems)
    assert any("names the patient otherwise than fed" in p for p in problems), problems
    assert results["citizen-end-exchange"].problems[0].startswith("citizen-fin-01: ")
