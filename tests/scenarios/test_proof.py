"""The proof end to end against the reference RIS: it passes the correct system, and it fails each seeded
defect on the check — and the REM requirement — that names it. A harness that passes a broken system is
worse than none, so the defect table below is the most important test of the scenarios.

One stack of the four mocks serves the module (reset by the proof before each run). The correct system is
run with the full 10/10/1 plan; each defect with the small plan (2 DMP / 2 MSSanté / 1 citizen, plus the
replace, homonym, unknown, outage and retry tasks), which keeps every situation a defect can show up in.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from segur.scenarios.capabilities import capability_checks
from segur.scenarios.checks import CHECKS, recompute
from segur.scenarios.evidence_pack import load_evidence, official_checks_ran, recompute_verdict, verdict_label
from segur.scenarios.evidence_pack.html import render
from segur.scenarios.proof import run_proof
from segur.scenarios.suites import SUITES

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

#: defect of the reference RIS → the checks that must fail on it (the requirements that name the defect)
DEFECT_CHECKS = {
    "wrong-ins-oid": ("ins-in-cda",),
    "provisional-as-qualified": ("qualified-ins-only",),
    "no-insi-call": ("insi-before-send",),
    # the card was read, the traits were typed: INS/va1.34 (traits *and* Vitale card) is not met
    "no-vitale-search": ("insi-vitale-search",),
    "bad-nir-key": ("ins-in-cda",),
    "pdf-not-base64": ("documents-valid",),
    "wrong-format-code": ("dmp-accepted",),
    "patient-mismatch": ("metadata-patient",),
    "mss-without-xdm": ("mss-professionals-xdm",),
    "citizen-wrong-address": ("citizen-address",),
    # the report is lost: said sent during the outage, and a new one built when asked to send again
    "swallow-outage": ("outage-reported", "outage-retry", "claims-honest"),
    # issue 13: the holes broken products went through
    "pdf-other-patient": ("pdf-patient",),
    "mss-pdf-draft": ("mss-pdf-copy",),
    "source-patient-stale": ("metadata-patient",),
    "xdm-n3-format-code": ("xdm-format-code",),
    "reused-document-id": ("document-ids",),
    "replace-new-set-id": ("dmp-replacement",),
    # the same ids on other bytes: the kept report was rebuilt (and the id names two contents)
    "retry-rebuilt": ("outage-retry", "document-ids"),
    "author-time-before-exam": ("document-dates",),
    "invisible-to-patient": ("dmp-accepted",),
    "author-not-actor": ("author-is-actor",),
    # INSi answered 01 to unknown-01: nothing may go out with an INS
    "send-on-01": ("qualified-ins-only",),
    "unknown-idam": ("insi-idam",),
    # issue 13, round 2: the CDA names the patient otherwise than INSi did
    "traits-not-insi": ("patient-traits",),
}
#: defect → checks that cannot be evaluated on it (an upstream check fails on the task they need)
DEFECT_BLOCKED = {
    "wrong-format-code": ("documents-valid", "dmp-replacement", "outage-retry"),
}


@pytest.fixture(scope="module")
def reference(stack, tmp_path_factory):
    """The full proof against the correct reference RIS."""
    out = tmp_path_factory.mktemp("evidence-reference")
    return run_proof("reference-ris", "RIS", out, size="full", progress=False, stack=stack)


def test_the_reference_ris_passes_the_full_proof(reference):
    assert reference.exit_code == 0, [c["problems"][:3] for c in reference.evidence["checks"].values()
                                      if not c["passed"]]
    assert reference.verdict == "pass"
    counts = reference.evidence["plan"]["counts"]
    assert (counts["dmp"], counts["mss"], counts["citizen"]) == (10, 10, 1)
    tests = reference.evidence["tests"]
    assert {t["outcome"] for t in tests if t["couloir"] == "RIS"} == {"passed"}
    assert {t["check"] for t in tests if t["couloir"] == "RIS"} == set(SUITES["RIS"])


def test_the_pack_files_are_present_and_parseable(reference):
    out = Path(reference.out)
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["verdict"] == "pass"
    junit = ET.parse(out / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    no_pack = [c for c in cases if c.find("skipped[@type='segur.no-pack']") is not None]
    # a run without the pack says so in JUnit
    assert len(no_pack) == (0 if official_checks_ran(evidence) else 1)
    assert len(cases) - len(no_pack) == len(SUITES["RIS"])  # the couloir's suite only
    assert any(p.get("name") == "rem" and p.get("value") == "RIS.DMP/va1.13" for p in junit.iter("property"))
    results = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) == len(SUITES["RIS"])
    for result in passed:
        assert any(label["name"] == "requirement" for label in result["labels"])
        assert result["attachments"], result["name"]
    parser = HTMLParser()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "RIS.DMP/va1.13" in html and f"Verdict: <b>{verdict_label(evidence)}</b>" in html


def test_the_verdict_is_recomputed_from_what_the_pack_recorded(reference):
    evidence = load_evidence(reference.out)
    again = recompute_verdict(evidence)
    assert again["verdict"] == evidence["verdict"] == "pass"
    assert again["checks"] == {cid: c["passed"] for cid, c in evidence["checks"].items()}
    assert again["status"] == {cid: c["status"] for cid, c in evidence["checks"].items()}
    assert again["requirements"] == {rem_id: r["verdict"] for rem_id, r in evidence["requirements"].items()}


def test_a_tampered_record_recomputes_to_a_failure(reference):
    evidence = copy.deepcopy(load_evidence(reference.out))
    dmp_task = next(t for t in evidence["run"]["tasks"] if t["task"]["id"] == "dmp-01")
    dmp_task["observed"]["insi"] = []  # as if INSi had not been called
    again = recompute_verdict(evidence)
    assert again["verdict"] == "fail"
    assert again["checks"]["insi-before-send"] is False


def test_the_evidence_records_the_validation_layers_and_exchange_times(reference):
    evidence = reference.evidence
    assert evidence["meta"]["validation"]["note"]
    first = evidence["run"]["tasks"][0]["observed"]
    stored = first["dmp"][-1]["stored"][0]
    assert {layer["name"] for layer in stored["validation"]["layers"]} >= {"xml", "segur"}
    assert first["insi"][0]["time"] < first["dmp"][-1]["time"]


@pytest.fixture(scope="module")
def core_defect_proof(stack, tmp_path_factory):
    """`core_defect_proof(defect)`: the small proof of the core's plan against the reference RIS with that
    defect seeded, run once for the module (the capabilities' tasks and checks are theirs to test)."""
    runs = {}

    def run(defect: str):
        if defect not in runs:
            out = tmp_path_factory.mktemp(f"evidence-{defect}")
            runs[defect] = run_proof(f"reference-ris:{defect}", "RIS", out, size="small", progress=False,
                                     stack=stack, capabilities=())
        return runs[defect]

    return run


@pytest.mark.parametrize("defect", sorted(DEFECT_CHECKS))
def test_each_seeded_defect_fails_the_proof_on_the_requirement_that_names_it(defect, core_defect_proof):
    outcome = core_defect_proof(defect)
    assert outcome.exit_code == 1
    evidence = json.loads((Path(outcome.out) / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["verdict"] == "fail"
    status = {c: result["status"] for c, result in evidence["checks"].items()}
    outcomes = {t["check"]: t["outcome"] for t in evidence["tests"] if t["couloir"] == "RIS"}
    for expected in DEFECT_CHECKS[defect]:  # failed, not merely blocked
        assert status[expected] == "fail", (expected, evidence["checks"][expected]["blocked_by"])
        assert outcomes[expected] == "failed"
        failing_rem = {rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "fail"}
        assert set(CHECKS[expected].rem["RIS"]) <= failing_rem
    for blocked in DEFECT_BLOCKED.get(defect, ()):
        assert status[blocked] == "blocked", (blocked, evidence["checks"][blocked]["problems"])
        assert outcomes[blocked] == "blocked"
    # a blocked check names upstream checks that do fail in this run, on tasks of the plan
    task_ids = {t["task"]["id"] for t in evidence["run"]["tasks"]}
    for check_id, check in evidence["checks"].items():
        for upstream in check["blocked_by"]:
            assert upstream["task"] in task_ids and upstream["reason"]
            if upstream["check"]:
                assert status[upstream["check"]] == "fail", (check_id, upstream)
    again = recompute_verdict(evidence)
    assert again["verdict"] == "fail"
    judged = {check_id for check_id, state in status.items() if state != "not run"}
    assert judged >= set(SUITES["RIS"][:26])  # every core check; the capabilities' were left out
    assert not judged & set(capability_checks())
    assert evidence["meta"]["selection"] == ["--capabilities", "none"]  # what the pack's banner shows
    assert {c: again["status"][c] for c in judged} == {c: status[c] for c in judged}
    assert again["requirements"] == {rem_id: r["verdict"] for rem_id, r in evidence["requirements"].items()}


def test_a_refused_report_blocks_what_needed_it_in_every_part_of_the_pack(core_defect_proof):
    """wrong-format-code: the DMP refuses every report (dmp-accepted fails, RIS.DMP/va1.13); validating,
    replacing and retrying them could not be judged: blocked, and shown so in the pack and on the CLI."""
    outcome = core_defect_proof("wrong-format-code")  # the run the test above judges too
    tmp_path = Path(outcome.out)
    evidence = outcome.evidence
    requirements = {rem_id: req["verdict"] for rem_id, req in evidence["requirements"].items()}
    assert requirements["RIS.DMP/va1.13"] == "fail"
    assert requirements["RIS.DOC/va1.16"] == "blocked"  # ins-in-cda passes, documents-valid is blocked
    assert requirements["RIS.DMP/va1.09"] == "blocked"
    assert evidence["requirements"]["RIS.DMP/va1.09"]["blocked_by"][0]["check"] == "dmp-accepted"
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    replacement_test = "test_a_replaced_report_deprecates_the_earlier_version"
    case = next(c for c in junit.iter("testcase") if c.get("name") == replacement_test)
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message").startswith("BLOCKED by dmp-accepted")
    properties = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    assert ("blocked_by", "dmp-accepted (dmp-01)") in properties
    assert case.find("failure") is None
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure-results").glob("*-result.json")]
    replacement = next(r for r in results if r["name"] == replacement_test)
    assert replacement["status"] == "skipped"
    assert replacement["statusDetails"]["message"].startswith("Skipped: BLOCKED")
    assert {"name": "tag", "value": "blocked"} in replacement["labels"]
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "requirement(s) <b>blocked</b>" in html and "blocked by <a href='#check-dmp-accepted'>" in html


def test_a_proof_run_with_k_selection_judges_only_the_selected_checks(stack, tmp_path):
    outcome = run_proof("reference-ris", "RIS", tmp_path, size="small", progress=False, stack=stack,
                        pytest_args=("-k", "citizen"))
    ran = [t for t in outcome.evidence["tests"] if t["outcome"] == "passed"]
    assert [t["check"] for t in ran] == ["citizen-address"]
    assert outcome.exit_code == 0


# --- every check fails on a record that shows its problem ----------------------------------------------
@pytest.fixture(scope="module")
def run_record(reference):
    return reference.evidence["run"]


def _task(run, task_id):
    return next(t for t in run["tasks"] if t["task"]["id"] == task_id)


def _first_iti41(task):
    return next(d for d in task["observed"]["dmp"] if d["operation"] == "ITI-41")


def _break_insi(run):
    _task(run, "dmp-02")["observed"]["insi"][0]["code"] = "01"


def _break_vitale(run):
    """The task with a Vitale card was searched by traits only (what a product without a card search does)."""
    for search in _task(run, "vitale-01")["observed"]["insi"]:
        search["operation"] = "rechercherInsAvecTraitsIdentite"


def _break_qualified(run):
    homonym = _task(run, "homonym-01")
    homonym["observed"]["dmp"].append(copy.deepcopy(_first_iti41(_task(run, "dmp-01"))))


def _break_ins_oid(run):
    _first_iti41(_task(run, "dmp-03"))["documents"][0]["ins_oid"] = "1.2.3.4"


def _break_metadata_patient(run):
    _task(run, "mss-01")["observed"]["mss"][0]["xdm_documents"][0]["xdm_patient_id"] = "x^^^&1.2&ISO^NH"


def _break_dmp(run):
    item = _first_iti41(_task(run, "dmp-04"))
    item["verdict"], item["rules"] = "rejected", ["DMP-CDA-009"]


def _break_mss(run):
    _task(run, "mss-02")["observed"]["mss"][0]["attachments"] = [{"filename": "cr.xml"}]


def _break_headers(run):
    message = _task(run, "mss-03")["observed"]["mss"][0]
    message["rules"] = ["MSS-NIL-MISSING"]
    message["findings"] = [{"rule": "MSS-NIL-MISSING", "severity": "error", "message": "no X-MSS-NIL"}]


def _break_subject(run):
    message = _task(run, "mss-04")["observed"]["mss"][0]
    message["rules"] = ["MSS-SUBJECT-FORMAT"]
    message["findings"] = [{"rule": "MSS-SUBJECT-FORMAT", "severity": "error", "message": "bad subject"}]


def _break_transport(run):
    _task(run, "mss-05")["observed"]["mss"][0]["tls"] = {}


def _break_citizen(run):
    _task(run, "citizen-01")["observed"]["mss"][0]["delivered_to"] = ["someone@patient.mssante.fr"]


def _break_valid(run):
    stored = _first_iti41(_task(run, "dmp-05"))["stored"][0]
    stored["validation"] = {"valid": False, "findings": [{"rule": "SEGUR-BODY-002", "message": "not base64"}]}


def _break_replacement(run):
    for entries in run["dmp_store"].values():
        for entry in entries:
            entry["availability_status"] = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"


def _break_outage(run):
    _task(run, "outage-01")["result"]["ok"] = True


def _break_retry(run):
    """The report sent after the outage is a new one, not the one the outage refused."""
    _first_iti41(_task(run, "retry-01"))["documents"][0]["unique_id"] = "2.25.1"


def _break_claims(run):
    _task(run, "homonym-01")["result"]["ok"] = True


def _mss_doc(run, task_id="mss-01"):
    return _task(run, task_id)["observed"]["mss"][0]["xdm_documents"][0]


def _break_pdf_patient(run):
    """The PDF inside dmp-01's report shows another patient."""
    pdf = _first_iti41(_task(run, "dmp-01"))["documents"][0]["pdfs"][0]
    pdf["text"] = "Patient : AUTRE PERSONNE (F)\nINS : 123456789012345"


def _break_mss_pdf_copy(run):
    _task(run, "mss-02")["observed"]["mss"][0]["attached_pdfs"][0]["sha1"] = "0" * 40


def _break_xdm_format_code(run):
    _mss_doc(run)["xdm_format_code"] = "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013"


def _break_document_ids(run):
    """mss-02's report carries mss-01's document id (another patient, another content)."""
    _mss_doc(run, "mss-02")["unique_id"] = _mss_doc(run, "mss-01")["unique_id"]


def _break_document_dates(run):
    doc = _first_iti41(_task(run, "dmp-02"))["documents"][0]
    doc["author_time"] = "20000101120000+0100"


def _break_author(run):
    _first_iti41(_task(run, "dmp-03"))["vihf_subject"] = "899999999999"


def _break_idam(run):
    _task(run, "dmp-01")["observed"]["insi"][0]["rules"].append("INSI-IDAM-ACCEPTED-ANY")


def _break_traits(run):
    """mss-01's report writes the birth name in lower case (INSi returned it in capitals)."""
    doc = _mss_doc(run)
    doc["patient_traits"]["birth_name"] = doc["patient_traits"]["birth_name"].lower()


def _break_header(run):
    """dmp-02's report writes a languageCode without its country (the pack asks ll-CC; en-US would pass)."""
    _first_iti41(_task(run, "dmp-02"))["documents"][0]["language"] = "fr"


def _break_metadata_matches(run):
    _first_iti41(_task(run, "dmp-02"))["xds_entries"][0]["title"] = "Autre titre"


BREAKERS = {
    "patient-traits": _break_traits, "document-header": _break_header,
    "metadata-matches-cda": _break_metadata_matches,
    "pdf-patient": _break_pdf_patient, "mss-pdf-copy": _break_mss_pdf_copy,
    "xdm-format-code": _break_xdm_format_code, "document-ids": _break_document_ids,
    "document-dates": _break_document_dates, "author-is-actor": _break_author, "insi-idam": _break_idam,
    "insi-before-send": _break_insi, "insi-vitale-search": _break_vitale,
    "qualified-ins-only": _break_qualified, "ins-in-cda": _break_ins_oid,
    "metadata-patient": _break_metadata_patient, "dmp-accepted": _break_dmp,
    "mss-professionals-xdm": _break_mss,
    "mss-headers": _break_headers, "mss-subject": _break_subject, "mss-transport": _break_transport,
    "citizen-address": _break_citizen, "documents-valid": _break_valid, "dmp-replacement": _break_replacement,
    "outage-reported": _break_outage, "outage-retry": _break_retry, "claims-honest": _break_claims,
}


def test_every_check_has_a_failing_case():
    """Every core check; a capability's checks have theirs in its own test module (test_proof_histo.py…)."""
    assert set(BREAKERS) == set(CHECKS) - set(capability_checks())


@pytest.mark.parametrize("check_id", sorted(BREAKERS))
def test_each_check_fails_when_the_record_shows_its_problem(check_id, run_record):
    assert CHECKS[check_id].judge(run_record).passed
    broken = copy.deepcopy(run_record)
    BREAKERS[check_id](broken)
    result = CHECKS[check_id].judge(broken)
    assert not result.passed
    assert result.problems and all(isinstance(p, str) for p in result.problems)


def test_the_vitale_check_needs_the_card_search_for_the_card_and_the_traits_search_for_the_others(run_record):
    """INS/va1.34 is both searches: the card task searched by card, each other task by traits, and the plan
    must have a card task at all (else the card half is not proved, and the check says so)."""
    vitale = _task(run_record, "vitale-01")
    assert {i["operation"] for i in vitale["observed"]["insi"]} == {"rechercherInsAvecCarteVitale"}
    assert vitale["task"]["vitale"]["nir"] and "ins" not in vitale["task"]["patient"]

    card_for_all = copy.deepcopy(run_record)  # dmp-01 found by a card search although no card was read
    for search in _task(card_for_all, "dmp-01")["observed"]["insi"]:
        search["operation"] = "rechercherInsAvecCarteVitale"
    result = CHECKS["insi-vitale-search"].judge(card_for_all)
    assert not result.passed
    assert any(p.startswith("dmp-01:") and "traits search" in p for p in result.problems)

    no_answer = copy.deepcopy(run_record)  # the card search answered 01: nothing qualified by the card
    for search in _task(no_answer, "vitale-01")["observed"]["insi"]:
        search["code"] = "01"
    result = CHECKS["insi-vitale-search"].judge(no_answer)
    assert not result.passed and any("Vitale card was read" in p for p in result.problems)

    no_card_task = copy.deepcopy(run_record)
    no_card_task["tasks"] = [t for t in no_card_task["tasks"] if not t["task"].get("vitale")]
    result = CHECKS["insi-vitale-search"].judge(no_card_task)
    assert not result.passed and "no task with a Vitale card" in result.problems[0]


def test_the_html_escapes_what_the_product_and_the_mocks_said(reference):
    evidence = copy.deepcopy(reference.evidence)
    _task(evidence["run"], "dmp-01")["result"]["detail"] = "<script>alert('x')</script>"
    _task(evidence["run"], "mss-01")["observed"]["mss"][0]["subject"] = "<img src=x onerror=alert(1)>"
    html = render(evidence)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


#: check → a record where it cannot be evaluated because an upstream check fails
BLOCKERS = {
    "documents-valid": ("dmp-accepted", lambda run: _refuse(_task(run, "dmp-05"))),
    "dmp-replacement": ("dmp-accepted", lambda run: _refuse(_task(run, "dmp-03"))),
    "outage-retry": ("dmp-accepted", lambda run: _refuse(_task(run, "retry-01"))),
    "mss-headers": ("mss-professionals-xdm", lambda run: _task(run, "mss-03")["observed"].update(mss=[])),
    "mss-subject": ("mss-professionals-xdm", lambda run: _task(run, "mss-03")["observed"].update(mss=[])),
    "mss-transport": ("citizen-address", lambda run: _task(run, "citizen-01")["observed"].update(mss=[])),
}


def _refuse(task):
    """The DMP refused the task's report for its metadata (not for its validity)."""
    item = _first_iti41(task)
    item.update(verdict="rejected", rules=["DMP-CDA-009"], stored=[],
                findings=[{"rule": "DMP-CDA-009", "severity": "error", "message": "formatCode"}])


@pytest.mark.parametrize("check_id", sorted(BLOCKERS))
def test_a_check_is_blocked_not_failed_when_an_upstream_check_fails_on_the_task_it_needs(check_id,
                                                                                          run_record):
    upstream, breaker = BLOCKERS[check_id]
    broken = copy.deepcopy(run_record)
    breaker(broken)
    result = CHECKS[check_id].judge(broken)
    assert result.status == "blocked" and not result.passed and not result.problems, result.problems
    assert {b["check"] for b in result.blocked_by} == {upstream}
    assert CHECKS[upstream].judge(broken).status == "fail"


def test_recompute_agrees_with_the_recorded_check_results(reference):
    recorded = {cid: c["passed"] for cid, c in reference.evidence["checks"].items()}
    assert set(recorded) == set(SUITES["RIS"])  # the pack keeps its couloir's checks (not the RI's)
    again = recompute(reference.evidence["run"])
    assert {cid: again[cid].passed for cid in recorded} == recorded


def test_expected_exchange_tells_what_reached_the_mocks(stack, reference):
    from segur.scenarios.driver import Task
    from segur.scenarios.observe import expected_exchange

    run = reference.evidence["run"]
    # the stack was reset since; rerun one delivered task and the homonym task through the reference RIS
    from segur.scenarios.driver import make_driver

    driver = make_driver("reference-ris", state_dir=str(Path(reference.out) / "state"))
    delivered = Task.from_dict(_task(run, "dmp-01")["task"])
    homonym = Task.from_dict(_task(run, "homonym-01")["task"])
    citizen = Task.from_dict(_task(run, "citizen-01")["task"])
    from segur.scenarios.observe import Admin

    marks = Admin(stack.endpoints()).marks()
    assert not expected_exchange(delivered, stack, since=marks)
    for task in (delivered, homonym, citizen):
        driver.run(task, stack.endpoints())
    assert expected_exchange(delivered, stack, since=marks)
    assert expected_exchange(citizen, stack, since=marks)
    assert not expected_exchange(homonym, stack, since=marks)


# --- issue 13: each hole a broken product went through now fails the check that owns it ---------------------
def _stale_source_patient(run):
    item = _first_iti41(_task(run, "dmp-01"))
    other = ["PID-5|AUTRE^PERSONNE^^^^^L", "PID-7|19000101", "PID-8|M"]
    item["xds_entries"][0]["source_patient_info"] = other


def _invisible_to_patient(run):
    stored = _first_iti41(_task(run, "dmp-02"))["stored"][0]
    stored["confidentiality_codes"].append({"code": "INVISIBLE_PATIENT", "scheme": "1.2.250.1.213.1.1.4.13"})


def _new_set_id(run):
    _first_iti41(_task(run, "replace-01"))["documents"][0]["set_id"] = "2.25.1"


def _rebuilt_retry(run):
    _first_iti41(_task(run, "retry-01"))["documents"][0]["sha1"] = "0" * 40


def _sent_on_01(run):
    _task(run, "unknown-01")["observed"]["dmp"].append(copy.deepcopy(_first_iti41(_task(run, "dmp-01"))))


HOLES = {
    "sourcePatientInfo of another patient": ("metadata-patient", _stale_source_patient, "sourcePatientInfo"),
    "entry hidden from the patient": ("dmp-accepted", _invisible_to_patient, "INVISIBLE_PATIENT"),
    "replacement with a new setId": ("dmp-replacement", _new_set_id, "setId"),
    "retry rebuilt under the kept ids": ("outage-retry", _rebuilt_retry, "rebuilt"),
    "sent although INSi answered 01": ("qualified-ins-only", _sent_on_01, "codes ['01']"),
}


@pytest.mark.parametrize("hole", sorted(HOLES))
def test_each_hole_of_issue_13_fails_the_check_that_owns_it(hole, run_record):
    check_id, breaker, said = HOLES[hole]
    broken = copy.deepcopy(run_record)
    breaker(broken)
    result = CHECKS[check_id].judge(broken)
    assert result.status == "fail" and any(said in p for p in result.problems), result.problems


def test_the_evidence_keeps_what_the_new_checks_read(run_record):
    """The harness's own reading of the documents is in the record (so the pack recomputes the verdicts)."""
    item = _first_iti41(_task(run_record, "dmp-01"))
    doc = item["documents"][0]
    assert doc["birth_name"].split("-")[0] in doc["pdfs"][0]["text"] and doc["ins"] in doc["pdfs"][0]["text"]
    assert item["xds_entries"][0]["source_patient_info"][0].startswith("PID-5|")
    assert item["vihf_subject"] == _task(run_record, "dmp-01")["task"]["author"]["idnps"]
    message = _task(run_record, "mss-01")["observed"]["mss"][0]
    assert message["attached_pdfs"][0]["sha1"] == message["xdm_documents"][0]["pdfs"][0]["sha1"]
    assert message["xdm_documents"][0]["xdm_format_code"] == "urn:ihe:iti:xds-sd:pdf:2008"
    unknown = _task(run_record, "unknown-01")
    assert {i["code"] for i in unknown["observed"]["insi"]} == {"01"} and not sends_of(unknown)


def sends_of(task):
    from segur.scenarios.checks import sends

    return sends(task)
