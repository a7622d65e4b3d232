"""The proof of the couloirs LGC, DPI and PFI against their reference products: each passes clean and fails on
each of its seeded defects, on the check (and the couloir's REM ids) that names the mistake.

One stack serves the module, validating with the official CDA pack (../shared/ref/cda: the VSM volet's
mandatory sections are the pack's rules); every run is `size="small"`: the session's clean proof of each
product (`clean_proof`, with the pack too), one per couloir for its defects (the core plan), each defect
seeded on a task of its own (SEEDED_ON, `seeded.PerTaskDefects`).
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from seeded import named_tasks, seeded_proof

from segur.kernel.official_pack import find_pack
from segur.scenarios.checks import CHECKS
from segur.scenarios.plan import COULOIRS
from segur.scenarios.proof import run_proof, stack_config
from segur.scenarios.suites import SUITES
from segur.up import start_stack

#: (couloir, defect) → the checks the defect must fail (failed, not merely blocked)
DEFECTS = {
    ("LGC", "vsm-no-treatments"): ("documents-valid",),
    ("LGC", "provisional-as-qualified"): ("qualified-ins-only",),
    ("DPI", "ldl-wrong-class"): ("dmp-accepted",),
    ("PFI", "relay-drops-ins"): ("ins-in-cda",),
}
#: defect → the task it is seeded on where its couloir has several (the LGC: one run for both): a VSM sent by
#: MSSanté, which delivers it, so the validation of what it carried fails (the DMP refuses it, which leaves
#: documents-valid blocked, and dmp-01's refusal would leave replace-01 nothing to replace), and the homonym
#: INSi answers 02 for, whom the defect sends anyway under an INS INSi never returned (not unknown-01: its
#: patient's INS was qualified in an earlier task). A couloir's only defect runs in the whole product.
SEEDED_ON = {"vsm-no-treatments": "mss-02", "provisional-as-qualified": "homonym-01"}
#: what the failing check says about the defect, in its problems
SAYS = {"vsm-no-treatments": "Traitement au long cours", "ldl-wrong-class": "DMP-CDA-003",
        "provisional-as-qualified": "which INSi did not return", "relay-drops-ins": "has no INS"}


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    pack = find_pack(cwd=ROOT)
    if pack is None:
        pytest.skip("no official CDA pack: neither ../shared/ref/cda beside the checkout nor SEGUR_PACK")
    workdir = tmp_path_factory.mktemp("couloir-stack")
    with start_stack(stack_config(None, workdir, pack=pack.path)) as running:
        yield running


@pytest.fixture(scope="module")
def proofs(stack, tmp_path_factory, clean_proof):
    """Every run of the module, once: (couloir, defect or None) → the proof's outcome (with a defect: the run
    of the couloir's defects, each seeded on its task)."""
    runs = {}
    for couloir in ("LGC", "DPI", "PFI"):
        product = f"reference-{couloir.lower()}"
        runs[couloir, None] = clean_proof(couloir)  # the session's, with the official pack like this stack
        # the defects of the core documents run on the core plan; the clean products on every capability too
        defects = [defect for c, defect in DEFECTS if c == couloir]
        out = tmp_path_factory.mktemp(f"evidence-{couloir}-defects")
        if len(defects) == 1:
            runs[couloir, defects[0]] = run_proof(f"{product}:{defects[0]}", couloir, out, size="small",
                                                  progress=False, stack=stack, capabilities=())
            continue
        seeded = {SEEDED_ON[defect]: defect for defect in defects}
        outcome = seeded_proof(product, couloir, out, seeded, stack=stack, capabilities=())
        runs.update({(couloir, defect): outcome for defect in defects})
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("couloir", ("LGC", "DPI", "PFI"))
def test_the_reference_product_passes_its_couloirs_proof(proofs, couloir):
    outcome = proofs[couloir, None]
    evidence = outcome.evidence
    assert outcome.exit_code == 0, [(c, r["problems"][:2]) for c, r in evidence["checks"].items()
                                    if r["status"] != "pass"]
    assert evidence["verdict"] == "pass" and evidence["meta"]["couloir"] == couloir
    # every check of the couloir's suite judged something: none passes on nothing
    assert not [c for c, r in evidence["checks"].items() if r["status"] == "pass" and not r["evidence"]]
    assert evidence["meta"]["validation"]["pack"]  # the official CDA checks ran
    # the pack names the couloir and what its VA/MOM asks
    assert evidence["meta"]["couloir_label"] == COULOIRS[couloir]["label"]
    assert evidence["meta"]["va"].startswith(f"{couloir}: ") and "10 by MSSanté" in evidence["meta"]["va"]
    page = (outcome.out / "index.html").read_text(encoding="utf-8")
    assert "<b>VA/MOM</b>" in page and html.escape(COULOIRS[couloir]["label"]) in page
    tests = [t for t in evidence["tests"] if t["couloir"] == couloir]
    assert [t["check"] for t in tests] == list(SUITES[couloir])
    assert {t["outcome"] for t in tests} == {"passed"}
    counts = evidence["plan"]["counts"]
    assert (counts["dmp"], counts["mss"], counts["citizen"]) == (2, 2, 1)


def test_the_lgc_proof_sends_vsm_n3_validated_by_the_vsm_pack(proofs):
    evidence = proofs["LGC", None].evidence
    reports = [e["report"] for e in evidence["checks"]["documents-valid"]["evidence"] if e.get("report")]
    assert reports and all(r["profile"]["volet"].startswith("VSM") and r["profile"]["level"] == "N3"
                           for r in reports)


def test_the_hospital_proof_files_each_document_type_under_its_own_class(proofs):
    """ASS_X04 as the DMP mock holds it: a lettre de liaison and a CRO are comptes rendus (10), an
    ordonnance a prescription (42)."""
    evidence = proofs["DPI", None].evidence
    stored = {}
    for item in evidence["checks"]["dmp-accepted"]["evidence"]:
        for submission in item["submissions"]:
            for entry in submission.get("stored") or []:
                stored.setdefault(entry["type_code"]["code"], set()).add(entry["class_code"]["code"])
    expected = {"11490-0": "10", "34874-8": "10", "57833-6": "42"}
    assert len(stored) >= 2 and {code: {expected[code]} for code in stored} == stored


@pytest.mark.parametrize("couloir, defect", sorted(DEFECTS))
def test_each_seeded_defect_fails_its_couloirs_proof_on_the_check_that_names_it(proofs, couloir, defect):
    outcome = proofs[couloir, defect]
    evidence = outcome.evidence
    assert outcome.exit_code == 1 and evidence["verdict"] == "fail"
    task_ids = {t["task"]["id"] for t in evidence["run"]["tasks"]}  # the task(s) the defect spoils
    if defect in SEEDED_ON:  # run with the couloir's other defects, each on its task: every failing check
        seeded = {SEEDED_ON[d] for c, d in DEFECTS if c == couloir}  # names the seeded tasks only
        failing = {c: r["problems"] for c, r in evidence["checks"].items() if r["status"] == "fail"}
        assert all(named_tasks(problems) <= seeded for problems in failing.values()), failing
        task_ids = {SEEDED_ON[defect]}
    failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == couloir}
    for check_id in DEFECTS[couloir, defect]:
        result = evidence["checks"][check_id]
        assert result["status"] == "fail", (check_id, result["blocked_by"])
        assert outcomes[check_id] == "failed"
        assert named_tasks(result["problems"]) & task_ids, result["problems"][:3]
        assert any(SAYS[defect] in problem for problem in result["problems"]), result["problems"][:3]
        assert set(CHECKS[check_id].rem[couloir]) <= failing_rem
