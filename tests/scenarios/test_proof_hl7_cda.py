"""The capability hl7_cda (the CI-SIS HL7v2 CDA transport volet between the DPI and the PFI): each seeded
defect of the reference DPI / PFI fails exactly its check, naming the task, and every other check of the
couloir passes in that run (so each check is seen passing in another defect's run; the clean DPI and PFI
proofs, with these checks in their suites, are test_couloir_proofs.py's).

One stack serves the module; five runs, `size="small"` (RUNS): one per defect, but for two DPI defects that
spoil tasks of their own, run together (`seeded.PerTaskDefects`): one seeded on the task sending the message,
the other in the product's listener, which alone receives the PFI's returns.
"""

from __future__ import annotations

import pytest
from seeded import named_tasks, seeded_proof

from segur.scenarios.actions import ACTIONS
from segur.scenarios.capabilities import CAPABILITIES, for_couloir
from segur.scenarios.capabilities.hl7_cda import CHECKS, DPI_CAPABILITY, PFI_CAPABILITY
from segur.scenarios.driver import REFERENCE_PRODUCTS
from segur.scenarios.proof import run_proof, stack_config
from segur.scenarios.suites import SUITES
from segur.up import start_stack

#: (couloir, defect) → (the check it must fail, the task it names, what the problem says)
DEFECTS = {
    ("DPI", "hl7-txa-wrong-id"): ("hl7-cda-handed", "hl7-cda-send-01", "PAM-CDA-07"),
    ("DPI", "hl7-pid-without-ins"): ("hl7-cda-pid-ins", "hl7-cda-send-01", "PID-3 carries no INS"),
    ("DPI", "hl7-zam-refused"): ("hl7-cda-returns-taken", "hl7-cda-returns-01", "ZAM^Z01"),
    ("PFI", "hl7-relay-no-ack"): ("hl7-cda-relay-acked", "hl7-cda-relay-01", "no ACK"),
    ("PFI", "hl7-relay-dmp-only"): ("hl7-cda-relayed", "hl7-cda-relay-01", "no MSSanté message delivered"),
    ("PFI", "hl7-relay-no-returns"): ("hl7-cda-returns-sent", "hl7-cda-relay-01", "no ZAM^Z01"),
}
#: the runs of the module: the defects of one run are each seeded on the task it names, or in the product's
#: listener (LISTENER). The DPI's message to the PFI is spoiled by two defects and the PFI's relay (the MDM
#: its listener takes, then the relay task) by all three of its own: the others run alone
RUNS = (("DPI", ("hl7-txa-wrong-id",)), ("DPI", ("hl7-pid-without-ins", "hl7-zam-refused")),
        ("PFI", ("hl7-relay-no-ack",)), ("PFI", ("hl7-relay-dmp-only",)), ("PFI", ("hl7-relay-no-returns",)))
#: the defects of the product's MLLP listener (reference_ris/hl7_cda.py `answer`): the DPI's listener alone
#: takes the PFI's returns (ZAM^Z01, task hl7-cda-returns-01 of the core and HL7 plan)
LISTENER = ("hl7-zam-refused",)
#: (couloir, defect) → the defects seeded in its run
BESIDE = {(couloir, defect): defects for couloir, defects in RUNS for defect in defects}


@pytest.fixture(scope="module")
def proofs(tmp_path_factory):
    """Every run of the module, once: (couloir, defect) → the outcome of the proof it was seeded in."""
    runs = {}
    with start_stack(stack_config(None, tmp_path_factory.mktemp("hl7-cda-stack"))) as stack:
        for couloir, defects in RUNS:
            product = f"reference-{couloir.lower()}"
            out = tmp_path_factory.mktemp(f"evidence-{couloir}-{'-'.join(defects)}")
            capabilities = (f"hl7_cda_{couloir.lower()}",)  # core and HL7
            if len(defects) == 1:
                outcome = run_proof(f"{product}:{defects[0]}", couloir, out, size="small", progress=False,
                                    stack=stack, capabilities=capabilities)
            else:
                seeded = {DEFECTS[couloir, defect][1]: defect for defect in defects if defect not in LISTENER}
                (listener,) = [defect for defect in defects if defect in LISTENER]
                assert len(seeded) == len(defects) - 1  # one defect a task, and the listener's
                outcome = seeded_proof(product, couloir, out, seeded, stack=stack, listener=listener,
                                       capabilities=capabilities)
            runs.update({(couloir, defect): outcome for defect in defects})
    return runs


@pytest.mark.slow
@pytest.mark.parametrize(("couloir", "defect"), list(DEFECTS))
def test_each_seeded_defect_fails_exactly_its_check_naming_the_task(proofs, couloir, defect):
    check, task, says = DEFECTS[couloir, defect]
    evidence = proofs[couloir, defect].evidence
    judged = {name: result for name, result in evidence["checks"].items() if result["status"] != "not run"}
    assert set(SUITES[couloir][:26]) < set(judged)  # the core's checks and the HL7 capability's ran
    failed = {name: result for name, result in judged.items() if result["status"] != "pass"}
    # with the defects seeded beside it (each on its own task), nothing but their checks and this one fails
    beside = [DEFECTS[couloir, other] for other in BESIDE[couloir, defect] if other != defect]
    assert set(failed) == {check, *(failing for failing, _task, _says in beside)}, \
        {name: r["problems"][:2] for name, r in failed.items()}
    problems = failed[check]["problems"]
    assert failed[check]["status"] == "fail"
    assert any(problem.startswith(f"{task}: ") and says in problem for problem in problems), problems
    assert not named_tasks(problems) & {other_task for _check, other_task, _says in beside}, problems
    assert proofs[couloir, defect].exit_code != 0


@pytest.mark.parametrize("check", [c.id for c in CHECKS])
def test_each_check_passes_in_the_runs_of_the_other_defects(proofs, check):
    couloir = next(c for c in ("DPI", "PFI") if check in SUITES[c])
    # the runs of the couloir where no defect failing this check was seeded
    others = [key for key in DEFECTS if key[0] == couloir
              and check not in {DEFECTS[couloir, seeded][0] for seeded in BESIDE[key]}]
    assert others
    for key in others:
        result = proofs[key].evidence["checks"][check]
        assert result["status"] == "pass", (key, result["problems"][:2])


def test_the_transported_cda_is_validated_with_the_dmps_validator(proofs):
    evidence = proofs["DPI", "hl7-zam-refused"].evidence
    handed = evidence["checks"]["hl7-cda-handed"]["evidence"][0]["messages"][0]
    assert handed["validation"]["valid"] is True
    assert {layer["name"] for layer in handed["validation"]["layers"]} >= {"xml", "structure", "segur"}
    assert handed["document"]["ins"]


def test_the_pfi_relay_files_the_very_document_the_mdm_carried(proofs):
    evidence = proofs["PFI", "hl7-relay-no-returns"].evidence["checks"]["hl7-cda-relayed"]["evidence"][0]
    assert [d["unique_id"] for d in evidence["dmp"]] == [evidence["handed"]["document_id"]]
    assert evidence["dmp"][0]["ins"] == evidence["handed"]["ins"]


def test_the_capability_is_registered_for_the_dpi_and_pfi_only():
    assert DPI_CAPABILITY in CAPABILITIES and PFI_CAPABILITY in CAPABILITIES
    assert DPI_CAPABILITY in for_couloir("DPI") and DPI_CAPABILITY not in for_couloir("PFI")
    assert PFI_CAPABILITY in for_couloir("PFI") and PFI_CAPABILITY not in for_couloir("RIS")
    assert {"hl7-send-pfi", "hl7-take-returns", "hl7-relay"} <= set(ACTIONS)
    assert {"hl7-txa-wrong-id", "hl7-pid-without-ins", "hl7-zam-refused"} <= set(
        REFERENCE_PRODUCTS["reference-dpi"]["defects"])
    assert {"hl7-relay-no-ack", "hl7-relay-dmp-only", "hl7-relay-no-returns"} <= set(
        REFERENCE_PRODUCTS["reference-pfi"]["defects"])


# --- the judges on hand-made records: failures no seeded defect shows --------------------------------------
def _task(scenario: str, observed: dict, *, insi=(), dmp=(), mss=(), task_id="t-01") -> dict:
    name = "hl7_cda_pfi" if scenario == "hl7-cda-relay" else "hl7_cda_dpi"
    return {"scenario": scenario, "task": {"id": task_id, "extra": {}},
            "result": {"ok": True, "detail": "done"},
            "observed": {name: {"received": [], "sent": [], "prepared": {}, **observed}, "insi": list(insi),
                         "dmp": list(dmp), "mss": list(mss)}}


def _transport(**facts) -> dict:
    base = {"seq": 1, "time": "t", "operation": "MDM^T02", "verdict": "accepted", "rules": [], "findings": [],
            "ack": {"code": "AA"}, "control_id": "C1", "pid_ins": "279035121518989",
            "pid_ins_oid": "1.2.250.1.213.1.4.10", "pid_status": ["VALI"],
            "document": {"unique_id": "1.2.3", "ins": "279035121518989"}, "validation": {"valid": True}}
    return {**base, **facts}


def test_an_ins_in_pid_without_any_qualified_insi_answer_fails_pid_ins():
    run = {"tasks": [_task("hl7-cda-send", {"received": [_transport()]})]}
    result = CHECKS[1].judge(run)
    assert not result.passed and "though INSi qualified no identity" in result.problems[0]


def test_an_ins_sent_without_vali_fails_pid_ins():
    insi = [{"code": "00", "ins": "279035121518989", "oid": "1.2.250.1.213.1.4.10"}]
    run = {"tasks": [_task("hl7-cda-send", {"received": [_transport(pid_status=["PROV"])]}, insi=insi)]}
    result = CHECKS[1].judge(run)
    assert not result.passed and "not VALI" in result.problems[0]
    passing = {"tasks": [_task("hl7-cda-send", {"received": [_transport()]}, insi=insi)]}
    assert CHECKS[1].judge(passing).passed


def test_no_message_and_an_unvalidated_cda_fail_handed():
    assert "no MDM or ORU" in CHECKS[0].judge({"tasks": [_task("hl7-cda-send", {})]}).problems[0]
    run = {"tasks": [_task("hl7-cda-send", {"received": [_transport(validation=None)]})]}
    assert "could not validate" in CHECKS[0].judge(run).problems[0]
    skipped = {"valid": True, "layers": [{"name": "xsd", "status": "skipped"}, {"name": "schematron",
                                                                               "status": "ran"}]}
    run = {"validation": {"pack": "/pack"},
           "tasks": [_task("hl7-cda-send", {"received": [_transport(validation=skipped)]})]}
    assert "without the official layers" in CHECKS[0].judge(run).problems[0]
    run["validation"] = {"pack": None}
    assert CHECKS[0].judge(run).passed


def test_a_return_breaking_the_volet_or_about_another_message_fails_returns_sent():
    prepared = {"control_id": "C1", "document_id": "1.2.3", "ins": "X", "mss_to": []}
    dmp = [{"seq": 5, "operation": "ITI-41", "verdict": "accepted", "documents": [{"unique_id": "1.2.3"}]}]
    zam = {"seq": 2, "time": "t", "operation": "ZAM^Z01", "verdict": "error", "rules": ["PAM-CDA-11"],
           "code": "ACK_RECEPTION_DMP", "answers": "OTHER", "status": "Y", "address": None}
    run = {"tasks": [_task("hl7-cda-relay", {"received": [zam], "prepared": prepared}, dmp=dmp)]}
    problems = CHECKS[5].judge(run).problems
    assert any("PAM-CDA-11" in p for p in problems)
    assert any("no ZAM^Z01 (OBX-4 C1" in p for p in problems)
