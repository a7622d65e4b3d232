"""The proof of the couloirs LGC, DPI and PFI against their reference products: each passes clean and fails on
each of its seeded defects, on the check (and the couloir's REM ids) that names the mistake.

One stack serves the module, validating with the official CDA pack (../shared/ref/cda: the VSM volet's
mandatory sections are the pack's rules); every run is `size="small"`, one per product and defect (seven).
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

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
def proofs(stack, tmp_path_factory):
    """Every run of the module, once: (couloir, defect or None) → the proof's outcome."""
    runs = {}
    for couloir, defect in [(c, None) for c in ("LGC", "DPI", "PFI")] + list(DEFECTS):
        sut = f"reference-{couloir.lower()}{':' + defect if defect else ''}"
        out = tmp_path_factory.mktemp(f"evidence-{couloir}-{defect or 'clean'}")
        # a defect of the core documents runs on the core plan; the clean products on every capability too
        runs[couloir, defect] = run_proof(sut, couloir, out, size="small", progress=False, stack=stack,
                                          capabilities=() if defect else None)
    return runs


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
    task_ids = {t["task"]["id"] for t in evidence["run"]["tasks"]}
    failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == couloir}
    for check_id in DEFECTS[couloir, defect]:
        result = evidence["checks"][check_id]
        assert result["status"] == "fail", (check_id, result["blocked_by"])
        assert outcomes[check_id] == "failed"
        assert any(problem.split(":")[0] in task_ids for problem in result["problems"])
        assert any(SAYS[defect] in problem for problem in result["problems"]), result["problems"][:3]
        assert set(CHECKS[check_id].rem[couloir]) <= failing_rem
