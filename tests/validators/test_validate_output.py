"""Renderers: what a developer reads in the terminal and what a CI server parses."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

from rich.console import Console

from segur.kernel.findings import Finding, Severity
from segur.validators import validate
from segur.validators.output import render_json, render_junit, render_svrl, render_text
from segur.validators.report import BatchSummary, LayerRun, PackRun, Report

ROOT = "/cda:ClinicalDocument"
ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _report() -> Report:
    return Report(
        document="doc.xml",
        findings=[
            Finding("SEGUR-X-001", ERROR, "segur", "bad [thing]", 12, 5, f"{ROOT}/cda:id[1]", "fix it"),
            Finding("XSD-001", ERROR, "xsd", "Element 'cda:x': not expected.", 3, 1, f"{ROOT}/cda:x[1]"),
            Finding("P/pat/1234abcd", WARNING, "schematron", "[Pack] a warning", 7, 3, ROOT),
        ],
        layers=[LayerRun("xml", "ran"), LayerRun("structure", "ran"), LayerRun("xsd", "ran"),
                LayerRun("schematron", "ran"), LayerRun("segur", "ran")],
        packs=[PackRun("CI-SIS_P_2024.01", "2024.01", "volet", "/p.sch", "sha256:" + "0" * 64)],
        profile={"requested": "auto", "level": "N3", "volet": "P_2024.01", "reason": "test"},
    )


def _text(reports, **kwargs) -> str:
    buffer = io.StringIO()
    render_text(reports, BatchSummary.of(reports), Console(file=buffer, width=100, no_color=True), **kwargs)
    return buffer.getvalue()


def test_text_groups_findings_by_layer_in_layer_order_with_locations_and_hints():
    text = _text([_report()])
    assert text.index("[xsd]") < text.index("[schematron]") < text.index("[segur]")
    assert "SEGUR-X-001  12:5  /cda:ClinicalDocument/cda:id[1]" in text
    assert "bad [thing]" in text and "hint: fix it" in text
    assert "[Pack] a warning" in text
    assert "INVALID  2 error(s), 1 warning(s)  doc.xml" in text
    assert "profile auto → P_2024.01 (N3)" in text and "pack CI-SIS_P_2024.01 2024.01" in text


def test_text_says_under_the_verdict_which_pack_version_was_chosen_and_why():
    report = _report()
    report.profile = {"requested": "auto", "level": "N3", "volet": "BIO-CR-BIO_2024.01",
                      "reason": "templateId 1.2.250.1.213.1.1.1.49 without @extension: the latest version"}
    lines = _text([report]).splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("INVALID"))
    assert lines[verdict + 1] == ("  profile: templateId 1.2.250.1.213.1.1.1.49 without @extension: "
                                  "the latest version")


def test_text_prints_no_profile_line_when_there_is_no_reason():
    report = _report()
    report.profile = {"requested": "auto", "level": "N3", "volet": "P_2024.01", "reason": ""}
    assert "profile:" not in _text([report])
    report.profile = None
    assert "profile:" not in _text([report])


def test_text_long_lines_are_not_wrapped():
    report = _report()
    report.findings[0] = Finding("R", Severity.ERROR, "segur", "x" * 300, 1, 1, "/a")
    assert "x" * 300 in _text([report])


def test_text_is_coloured_only_on_a_terminal():
    buffer = io.StringIO()
    render_text([_report()], BatchSummary.of([_report()]), Console(file=buffer, force_terminal=True))
    assert "\x1b[" in buffer.getvalue()
    assert "\x1b[" not in _text([_report()])


ALL_RAN = [LayerRun(name, "ran") for name in ("xml", "structure", "xsd", "schematron", "segur")]


def _partial(name: str = "nopack.xml") -> Report:
    return Report(document=name, layers=[LayerRun("xml", "ran"), LayerRun("structure", "ran"),
                                         LayerRun("xsd", "skipped", "no pack directory"),
                                         LayerRun("schematron", "skipped", "no pack directory"),
                                         LayerRun("segur", "ran")])


def test_summary_line_counts_and_top_rules():
    valid = Report(document="ok.xml", layers=list(ALL_RAN))
    unreadable = Report(document="bad.xml", unreadable=True,
                        findings=[Finding("XML-001", Severity.ERROR, "xml", "broken", 1, 1)])
    summary = BatchSummary.of([_report(), valid, unreadable, _report()])
    line = summary.line()
    assert line.startswith("4 document(s): 1 valid, 2 invalid, 1 unreadable; errors by rule: ")
    assert "SEGUR-X-001 ×2" in line and "XML-001 ×1" in line
    assert summary.exit_code == 2
    assert BatchSummary.of([valid]).exit_code == 0 and BatchSummary.of([valid, _report()]).exit_code == 1


def test_no_error_without_xsd_and_schematron_is_partial_not_valid():
    """The README's promise: without the official layers a document is never VALID (issue 12)."""
    report = _partial()
    assert report.verdict == "PARTIAL" and report.exit_code == 3
    assert report.unchecked == ["xsd", "schematron"] and not report.complete and not report.conformant
    assert report.valid  # compatible meaning for the mocks: no error in what ran
    one_missing = Report(document="d.xml", layers=[run for run in ALL_RAN if run.name != "schematron"])
    assert one_missing.verdict == "PARTIAL" and one_missing.unchecked == ["schematron"]
    assert Report(document="ok.xml", layers=list(ALL_RAN)).verdict == "VALID"


def test_errors_make_a_partially_checked_document_invalid_not_partial():
    report = _partial()
    report.findings.append(Finding("SEGUR-X-001", Severity.ERROR, "segur", "bad", 1, 1))
    assert report.verdict == "INVALID" and report.exit_code == 1


def test_batch_exit_code_ranks_unreadable_invalid_partial_valid():
    valid, invalid = Report(document="ok.xml", layers=list(ALL_RAN)), _report()
    unreadable = Report(document="bad.xml", unreadable=True)
    assert BatchSummary.of([valid, _partial()]).exit_code == 3
    assert BatchSummary.of([valid, _partial(), invalid]).exit_code == 1
    assert BatchSummary.of([_partial(), unreadable]).exit_code == 2
    summary = BatchSummary.of([valid, _partial(), _partial("b.xml")])
    assert (summary.valid, summary.partial) == (1, 2)
    assert summary.line().startswith("3 document(s): 1 valid, 2 partial (no error, not fully checked), "
                                     "0 invalid")
    assert summary.to_dict()["partial"] == 2


def test_partial_verdict_in_text_json_junit_and_svrl():
    reports = [_partial()]
    summary = BatchSummary.of(reports)
    assert "PARTIAL  0 error(s), 0 warning(s)  nopack.xml  (not checked: xsd, schematron)" in _text(reports)
    document = json.loads(render_json(reports, summary))["documents"][0]
    assert document["verdict"] == "PARTIAL" and document["exit_code"] == 3
    assert document["complete"] is False and document["unchecked"] == ["xsd", "schematron"]
    suite = ET.fromstring(render_junit(reports, summary).encode()).find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"verdict": "PARTIAL", "exit_code": "3"}
    svrl = ET.fromstring(render_svrl(reports, summary).encode())
    assert svrl.get("{urn:segur-harness:validate}verdict") == "PARTIAL"


def test_json_is_one_document_with_all_finding_fields():
    data = json.loads(render_json([_report()], BatchSummary.of([_report()])))
    finding = data["documents"][0]["findings"][0]
    assert set(finding) >= {"rule", "severity", "layer", "message", "line", "column", "xpath", "hint"}
    assert data["documents"][0]["packs"][0]["digest"].startswith("sha256:")


def test_junit_warnings_are_passing_cases_with_output():
    root = ET.fromstring(render_junit([_report()], BatchSummary.of([_report()])).encode())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["P/pat/1234abcd"].find("failure") is None
    assert "a warning" in cases["P/pat/1234abcd"].find("system-out").text
    assert cases["SEGUR-X-001"].find("failure").get("type") == "SEGUR-X-001"
    assert "schematron layer: no errors" in cases  # only a warning fired there
    assert "xsd layer: no errors" not in cases
    suite = root.find("testsuite")
    assert suite.get("failures") == "2" and suite.get("tests") == str(len(cases))


def test_svrl_adds_own_findings_as_failed_asserts():
    root = ET.fromstring(render_svrl([_report()], BatchSummary.of([_report()])).encode())
    svrl = "{http://purl.oclc.org/dsdl/svrl}"
    ids = {f.get("id"): f for f in root.iter(f"{svrl}failed-assert")}
    assert ids["SEGUR-X-001"].get("test") == "segur:segur"
    assert ids["SEGUR-X-001"].get("location") == "/cda:ClinicalDocument/cda:id[1]"
    assert "P/pat/1234abcd" not in ids  # schematron findings come from the packs' own SVRL


def test_validate_is_safe_from_several_threads(cda_pack):
    path = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml"
    data = path.read_bytes().replace(b'code="18748-4"', b'code="11488-4"', 1)
    expected = [(f.rule, f.line, f.column) for f in validate(data, pack=cda_pack).findings]
    assert expected
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: validate(data, pack=cda_pack), range(6)))
    assert all([(f.rule, f.line, f.column) for f in r.findings] == expected for r in results)


def test_junit_classnames_keep_same_named_files_in_different_folders_apart():
    a = Report(document="lab/2024/report.xml", layers=[LayerRun("xml", "ran")])
    b = Report(document="/srv/ris/report.xml", layers=[LayerRun("xml", "ran")])
    root = ET.fromstring(render_junit([a, b], BatchSummary.of([a, b])).encode())
    assert [c.get("classname") for c in root.iter("testcase")] == [
        "segur.validate.lab.2024.report.xml", "segur.validate.srv.ris.report.xml"]
