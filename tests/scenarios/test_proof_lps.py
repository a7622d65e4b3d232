"""The capability lps (the CI-SIS volet "Transmission au LPS de documents CDA provenant d'un courriel
MSSanté"): the clean reference DPI and PFI pass its checks (the session's clean proofs, `clean_proof`), each
seeded defect fails exactly its check naming the task, and the judge never takes the product's word alone
(recorded runs altered by hand).

One stack serves the module; three runs, `size="small"`, only this capability beside the core: the two DPI
defects live in the product's MLLP listener, which alone takes the harness's MDM (one listener defect a run);
the two PFI defects spoil one task each and run together (`seeded.PerTaskDefects`)."""

from __future__ import annotations

import copy
import json

import pytest
from seeded import named_tasks, seeded_proof

from segur.scenarios.capabilities import lps
from segur.scenarios.driver import REFERENCE_PRODUCTS
from segur.scenarios.proof import stack_config
from segur.scenarios.suites import SUITES
from segur.up import start_stack

#: (couloir, defect) → (the check it must fail, the task it names first, what the problem says)
DEFECTS = {
    ("DPI", "lps-ack-aa-without-ins"): ("lps-mdm-acked", "lps-receive-04", "answered AA to an MDM whose CDA"),
    ("DPI", "lps-replace-keeps-old"): ("lps-document-integrated", "lps-receive-02", "is still current"),
    ("PFI", "lps-cda-reencoded"): ("lps-mdm-handed", "lps-relay-01", "byte for byte"),
    ("PFI", "lps-mdn-processed-after-ae"): ("lps-mdn-returned", "lps-relay-02", "processed/Error: 902"),
}
CHECKS = {check.id for check in lps.CHECKS}


@pytest.fixture(scope="module")
def proofs(tmp_path_factory):
    """(couloir, defect) → the outcome of the run it was seeded in."""
    runs = {}
    with start_stack(stack_config(None, tmp_path_factory.mktemp("lps-stack"))) as stack:
        for defect in ("lps-ack-aa-without-ins", "lps-replace-keeps-old"):  # the DPI's listener
            out = tmp_path_factory.mktemp(f"evidence-{defect}")
            runs["DPI", defect] = seeded_proof("reference-dpi", "DPI", out, {}, stack=stack, listener=defect,
                                               capabilities=("lps_dpi",))
        seeded = {"lps-relay-01": "lps-cda-reencoded", "lps-relay-02": "lps-mdn-processed-after-ae"}
        outcome = seeded_proof("reference-pfi", "PFI", tmp_path_factory.mktemp("evidence-pfi"), seeded,
                               stack=stack, capabilities=("lps_pfi",))
        runs.update({("PFI", defect): outcome for defect in seeded.values()})
    return runs


def test_every_defect_is_a_reference_products_own():
    for couloir, defect in DEFECTS:
        assert defect in REFERENCE_PRODUCTS[f"reference-{couloir.lower()}"]["defects"]
    assert {check.id: check.defects for check in lps.CHECKS} == {
        check: (defect,) for (_couloir, defect), (check, _task, _says) in DEFECTS.items()}


def test_the_checks_carry_the_rem_ids_of_the_volet_in_their_couloir_only():
    rem = {check.id: check.rem for check in lps.CHECKS}
    assert rem["lps-mdm-acked"]["DPI"] == ["DPI.CDA/HL7.03"]
    assert rem["lps-document-integrated"]["DPI"] == ["DPI.CDA/HL7.04"]
    assert rem["lps-mdm-handed"]["PFI"] == ["PFI.CDA/HL7.03", "PFI.MSS/UX.01"]
    assert rem["lps-mdn-returned"]["PFI"] == ["PFI.CDA/HL7.04", "PFI.MSS/UX.02"]
    assert {"lps-mdm-acked", "lps-document-integrated"} <= set(SUITES["DPI"][26:])
    assert {"lps-mdm-handed", "lps-mdn-returned"} <= set(SUITES["PFI"][26:])
    assert not CHECKS & (set(SUITES["RIS"]) | set(SUITES["BIO"]))


@pytest.mark.slow
@pytest.mark.parametrize("couloir", ["DPI", "PFI"])
def test_the_clean_reference_product_passes_the_volets_checks(clean_proof, couloir):
    evidence = clean_proof(couloir).evidence
    mine = {name: result for name, result in evidence["checks"].items() if name in CHECKS}
    assert len(mine) == 2
    assert {name: result["status"] for name, result in mine.items()} == dict.fromkeys(mine, "pass"), \
        {name: result["problems"][:2] for name, result in mine.items()}


@pytest.mark.slow
@pytest.mark.parametrize(("couloir", "defect"), list(DEFECTS))
def test_each_seeded_defect_fails_exactly_its_check_naming_the_task(proofs, couloir, defect):
    check, task, says = DEFECTS[couloir, defect]
    evidence = proofs[couloir, defect].evidence
    judged = {name: result for name, result in evidence["checks"].items() if result["status"] != "not run"}
    assert set(SUITES[couloir][:26]) < set(judged)  # the core's checks and the capability's ran
    failed = {name: result for name, result in judged.items() if result["status"] != "pass"}
    same_run = [other for other in DEFECTS if proofs[other] is proofs[couloir, defect]]
    beside = {DEFECTS[other][0] for other in same_run}  # the checks of the defects seeded in this run
    assert set(failed) == beside, {name: r["problems"][:2] for name, r in failed.items()}
    problems = failed[check]["problems"]
    assert failed[check]["status"] == "fail"
    assert task in named_tasks(problems)
    assert any(says in problem for problem in problems), problems


# --- the judge on recorded runs altered by hand (the DPI's and the PFI's word against the wire) ----------
@pytest.fixture(scope="module")
def dpi_run(clean_proof):
    return clean_proof("DPI").evidence["run"]


@pytest.fixture(scope="module")
def pfi_run(clean_proof):
    return clean_proof("PFI").evidence["run"]


def _task(run: dict, task_id: str) -> dict:
    return next(t for t in run["tasks"] if t["task"]["id"] == task_id)


def _said(task: dict) -> list[dict]:
    return lps.claims(task)


def _say(task: dict, documents: list[dict]) -> None:
    task["result"]["output"] = json.dumps({"lps": documents})


@pytest.mark.slow
def test_a_document_said_held_after_the_dpi_refused_it_fails(dpi_run):
    run = copy.deepcopy(dpi_run)
    refused = _task(run, "lps-receive-04")
    sent = refused["observed"]["lps_dpi"]["prepared"]["document"]
    _say(refused, _said(refused) + [{"id": sent["id"], "set_id": sent["set_id"], "status": "current"}])
    result = lps.check_integrated(run)
    assert not result.passed and named_tasks(result.problems) == {"lps-receive-04"}


@pytest.mark.slow
def test_a_document_said_integrated_under_another_ins_fails(dpi_run):
    run = copy.deepcopy(dpi_run)
    first = _task(run, "lps-receive-01")
    _say(first, [dict(d, ins="199999999999999") for d in _said(first)])
    result = lps.check_integrated(run)
    assert not result.passed and any("filed under INS 199999999999999" in p for p in result.problems)


@pytest.mark.slow
def test_a_document_said_integrated_after_an_ae_fails(dpi_run):
    run = copy.deepcopy(dpi_run)
    first = _task(run, "lps-receive-01")
    first["observed"]["lps_dpi"]["sent"][0]["ack"]["code"] = "AE"
    assert not lps.check_integrated(run).passed
    result = lps.check_acked(run)
    assert not result.passed and any("not AA, to a valid MDM" in p for p in result.problems)


@pytest.mark.slow
def test_an_ack_naming_another_message_fails(dpi_run):
    run = copy.deepcopy(dpi_run)
    _task(run, "lps-receive-02")["observed"]["lps_dpi"]["sent"][0]["ack"]["answers"] = "OTHER"
    result = lps.check_acked(run)
    assert not result.passed and any("MSA-2 'OTHER'" in p for p in result.problems)


@pytest.mark.slow
def test_no_ack_from_the_dpi_fails_and_blocks_the_integration_check(dpi_run):
    run = copy.deepcopy(dpi_run)
    task = _task(run, "lps-receive-01")
    observed = task["observed"]["lps_dpi"]
    observed["sent"][0]["ack"] = lps.ack_facts("garbage that is no HL7")
    result = lps.check_acked(run)
    assert not result.passed and any("no readable ACK" in p for p in result.problems)
    observed["sent"], observed["prepared"]["error"] = [], "unreachable"
    assert lps.check_integrated(run).status == "blocked"


@pytest.mark.slow
def test_an_mdm_whose_pid_is_not_the_cdas_ins_fails(pfi_run):
    run = copy.deepcopy(pfi_run)
    _task(run, "lps-relay-01")["observed"]["lps_pfi"]["received"][0]["mdm"]["pid_ins"] = "199999999999999"
    result = lps.check_handed(run)
    assert not result.passed and named_tasks(result.problems) == {"lps-relay-01"}


@pytest.mark.slow
def test_no_mdn_after_the_consumers_answer_fails(pfi_run):
    run = copy.deepcopy(pfi_run)
    _task(run, "lps-relay-01")["observed"]["lps_pfi"]["sent"] = []
    result = lps.check_mdn(run)
    assert not result.passed and any("no MDN" in p for p in result.problems)


@pytest.mark.slow
def test_an_error_mdn_after_an_aa_fails(pfi_run):
    run = copy.deepcopy(pfi_run)
    task = _task(run, "lps-relay-01")
    message_id = task["observed"]["lps_pfi"]["prepared"]["delivered"]["message_id"]
    mdn = next(s for s in task["observed"]["lps_pfi"]["sent"]
               if (s.get("mdn") or {}).get("Original-Message-ID") == message_id)
    mdn["mdn"]["Disposition"] = "automatic-action/MDN-sent-automatically; processed/Error: 902^Inconnu"
    result = lps.check_mdn(run)
    assert not result.passed and any("after the consumer's AA" in p for p in result.problems)


def test_every_check_of_the_volet_tells_a_failing_product_what_to_change():
    assert all(len(check.hint) > 40 for check in lps.CHECKS)
