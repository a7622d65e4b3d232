"""index.html of the evidence pack reads like a report: a banner with counts, every status word in a legend,
formatted timings and timestamps, the product's claim shown as a claim, each document rendered with its
files and its findings as a table, what could not be collected said, and no raw dict or JSON dump."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from test_evidence_pack_cda_view import cda

from segur.scenarios.evidence_pack.html import counts, data, render, seconds, timestamp

FINDING = {"rule": "SEGUR-BODY-002", "severity": "error", "layer": "segur", "line": 195,
           "message": "The N1 body is not valid base64", "hint": "encode the PDF in base64"}


def evidence(*, documents: list | None = None, pack: str | None = "/ans", verdict: str = "pass",
             ok: bool = True) -> dict:
    task = {"task": {"id": "dmp-01", "action": "send-dmp", "recipient": None,
                     "patient": {"birth_name": "PAT-TROIS", "first_names": "DOMINIQUE", "sex": "F",
                                 "birth_date": "1979-03-28", "birth_place": "51215"}},
            "scenario": "dmp", "expect": "delivered", "fault": None,
            "started": "2026-12-06T11:17:24.500+00:00", "ended": "2026-12-06T11:17:25.700+00:00",
            "result": {"ok": ok, "detail": "CR-IMG report #1 sent to DMP"},
            "world": {"ins": "279035121518989", "oid": "1.2.250.1.213.1.4.10"},
            "observed": {"insi": [], "mss": [], "mss_sessions": [],
                         "dmp": [{"seq": 1, "time": "2026-12-06T11:17:25.000+00:00", "operation": "TD0.2",
                                  "verdict": "NON_EXISTE", "rules": [], "http_status": 200,
                                  "dmp_state": "OUVERT", "autorisation": "NON_EXISTE"}]}}
    check = {"id": "dmp-accepted", "title": "DMP accepted", "rem": ["RIS.DMP/va1.13"],
             "passed": verdict == "pass", "status": verdict,
             "problems": [] if verdict == "pass" else ["dmp-01: refused"], "blocked_by": [],
             "summary": "1 send", "evidence": [{"task": "dmp-01", "send": {"seq": 2, "rules": ["A", "B"]}}]}
    return {"verdict": verdict, "verdict_label": verdict.upper(),
            "meta": {"couloir": "RIS", "sut": "cmd:./my-ris <script>", "size": "full",
                     "generated": "2026-12-06T11:17:31+00:00", "selection": [],
                     "timings": {"stack_start_s": 0.015, "plan_s": 2.581, "total_s": 75.2},
                     "validation": {"pack": pack, "note": "official pack"}},
            "run": {"plan": {"couloir": "RIS", "size": "full", "counts": {"dmp": 1}, "tasks": [task]},
                    "tasks": [task], "dmp_store": {}},
            "checks": {"dmp-accepted": check},
            "tests": [{"nodeid": "t.py::test_dmp", "outcome": "passed" if verdict == "pass" else "failed",
                       "rem": ["RIS.DMP/va1.13"], "couloir": "RIS", "check": "dmp-accepted"}],
            "requirements": {"RIS.DMP/va1.13": {"id": "RIS.DMP/va1.13", "checks": ["dmp-accepted"],
                                                "tests": [{"nodeid": "t.py::test_dmp", "outcome": "passed"}],
                                                "verdict": verdict, "catalogue": {"status": "APPROVED"}}},
            "documents": documents}


def document(**extra) -> dict:
    return {"service": "dmp", "task": "dmp-01", "seq": 2, "unique_id": "2.25.42", "source": "DMP store",
            "files": {"cda": "documents/dmp-01.xml"}, "missing": [],
            "validation": {"valid": False,
                           "layers": [{"name": "xml", "status": "ran"},
                                      {"name": "xsd", "status": "skipped", "reason": "no pack"}],
                           "findings": [FINDING], "findings_total": 1}} | extra


class _Text(HTMLParser):
    """The text a reader sees (not inside <style> or <script>)."""

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("style", "script")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("style", "script")

    def handle_data(self, text):
        if not self.hidden:
            self.parts.append(text)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def pack_with_document(tmp_path: Path, **cda_options) -> Path:
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "dmp-01.xml").write_bytes(cda(**cda_options))
    return tmp_path


def test_the_banner_gives_counts_couloir_product_and_pack():
    html = render(evidence(documents=[]))
    banner = html[html.index("id='verdict'"):html.index("</div></div>")]
    assert "Verdict: <b>PASS</b>" in banner
    assert "requirements</b> 1: <span class=\"pass\">pass</span> 1" in banner
    assert "checks</b> 1:" in banner and "tasks</b> 1 (the product said ok on 1)" in banner
    assert "couloir</b> RIS" in banner and "cmd:./my-ris &lt;script&gt;" in banner
    assert "official CDA pack</b> <code>/ans</code>" in banner


def test_a_pass_without_the_official_pack_looks_different_from_a_conformance_pass():
    html = render(evidence(documents=[], pack=None))
    assert "class='banner partial' id='verdict'" in html
    assert "PASS (official CDA checks not run)" in html and "official CDA pack</b> none" in html
    assert "class='banner pass' id='verdict'" in render(evidence(documents=[]))


def test_counts_tally_verdicts_and_the_products_claims():
    figures = counts(evidence(verdict="fail", ok=False, documents=[]))
    assert figures["requirements"] == {"fail": 1} and figures["checks"] == {"fail": 1}
    assert figures["tasks"] == {"total": 1, "product said ok": 0, "product said failure": 1}


def test_timings_and_timestamps_are_formatted_and_never_break():
    html = render(evidence(documents=[]))
    assert "mocks started <span class='nowrap'>15 ms</span>" in html
    assert "2.58 s" in html and "1 min 15.2 s" in html
    assert "stack_start_s" not in visible_text(html)
    assert "2026-12-06 11:17:31 UTC" in html
    assert timestamp("2026-12-06T11:17:25.633+00:00", date=False).endswith(">11:17:25.633 UTC</span>")
    paris = timestamp("2026-12-06T11:17:25+01:00")
    assert "class='time'" in paris and "+0100" in paris
    assert seconds(0.8496) == "850 ms" and seconds("x") == "x"
    assert ".time{white-space:nowrap}" in html.replace(".nowrap,", "")


def test_the_products_claim_is_shown_neutrally():
    html = render(evidence(documents=[]))
    assert "<p class='claim'>The product said: ok — CR-IMG report #1 sent to DMP</p>" in html
    assert "Product's claim" not in html and "<span class=\"skip\">ok</span>" not in html


def test_every_status_word_is_in_the_legend_and_dmp_states_link_to_it():
    html = render(evidence(documents=[]))
    legend = html[html.index("<dl class='legend'>"):html.index("</dl>")]
    for word in ("PASS", "FAIL", "BLOCKED", "APPROVED", "VALID / PARTIAL / INVALID",
                 "OUVERT / FERME / INEXISTANT",
                 "VALIDE / EXPIRE / INTERDIT / NON_EXISTE"):
        assert f">{word}<" in legend, word
    assert "UNDER_REVIEW" not in legend  # only when a requirement has that status
    assert "DMP <a href='#legend-OUVERT---FERME---INEXISTANT'>OUVERT</a>" in html
    assert "<a href='#legend-APPROVED'>APPROVED</a>" in html


def test_no_raw_dict_or_json_dump_is_visible():
    text = visible_text(render(evidence(documents=[document()]), pack_dir=None))
    assert not re.search(r"\{'|\":", text), re.search(r".{40}(\{'|\":).{40}", text)
    assert "A, B" in text  # a list of values joined


def test_data_renders_records_as_tables():
    assert data([{"a": 1}, {"b": None}]) == (
        "<table><thead><tr><th>a</th><th>b</th></tr></thead>"
        "<tr><td>1</td><td>—</td></tr><tr><td>—</td><td>—</td></tr></table>")
    assert data({"x": True}) == "<table class='kv'><tr><th>x</th><td>yes</td></tr></table>"
    assert data("<b>") == "&lt;b&gt;"
    assert data({"time": "2026-12-06T11:17:25.633+00:00"}) == (
        "<table class='kv'><tr><th>time</th><td><span class='time' title='2026-12-06T11:17:25.633+00:00'>"
        "2026-12-06 11:17:25.633 UTC</span></td></tr></table>")


def test_a_document_is_rendered_with_its_file_and_findings_table(tmp_path):
    pack = pack_with_document(tmp_path)
    html = render(evidence(documents=[document()]), pack_dir=pack)
    assert "<a href='documents/dmp-01.xml'>CDA: dmp-01.xml</a>" in html
    assert "PAT-TROIS (birth name); first names: DOMINIQUE" in html and "279035121518989" in html
    findings = html[html.index("<table class='findings'>"):]
    assert "<code>SEGUR-BODY-002</code>" in findings and "<td>195</td>" in findings
    assert "fix: encode the PDF in base64" in findings
    assert "class='fail'>INVALID</a> (the official layers did not run)" in html


def test_a_documents_validation_reads_valid_partial_or_invalid():
    ran = [{"name": "xml", "status": "ran"}, {"name": "xsd", "status": "ran"}]
    skipped = [{"name": "xml", "status": "ran"}, {"name": "xsd", "status": "skipped"}]
    for report, word in (({"valid": True, "layers": ran}, "VALID"),
                         ({"valid": True, "layers": skipped}, "PARTIAL"),
                         ({"valid": False, "layers": ran}, "INVALID")):
        html = render(evidence(documents=[document(validation=report)]))
        assert f">{word}</a>" in html[html.index("<details class='doc'"):], word


def test_a_hostile_patient_name_in_a_document_stays_text(tmp_path):
    pack = pack_with_document(tmp_path, family="&lt;script&gt;alert(1)&lt;/script&gt;")
    html = render(evidence(documents=[document()]), pack_dir=pack)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html


def test_what_could_not_be_collected_is_said():
    doc = document(files={}, missing=["the DMP did not store document 2.25.42 (the submission was refused)"])
    html = render(evidence(documents=[doc]))
    assert "Not collected or not readable:" in html and "the submission was refused" in html


def test_a_pack_without_collected_documents_says_so():
    html = render(evidence(documents=None))
    assert "The documents were not collected for this pack" in html


def test_the_print_stylesheet_is_a4_keeps_rows_whole_and_opens_details():
    html = render(evidence(documents=[]))
    assert "@page{size:A4" in html and "@media print{" in html
    assert "tr,.doc>summary" in html and "break-inside:avoid" in html
    assert "beforeprint" in html and "setAttribute('open'" in html


def test_a_failed_check_shows_its_fix_hint_and_a_passed_one_does_not():
    failed = evidence(verdict="fail")
    failed["checks"]["dmp-accepted"]["hint"] = "fix the <classCode> of the volet"
    text = visible_text(render(failed))
    assert "How to fix:" in text and "fix the <classCode> of the volet" in text  # escaped, shown as text
    passed = evidence()
    passed["checks"]["dmp-accepted"]["hint"] = "fix the <classCode> of the volet"
    assert "How to fix" not in visible_text(render(passed))
