"""The pieces of benchmarks/validate_anchor.py that decide its verdict comparison and its refusals.

The benchmark claims "identical verdicts" between `segur validate` and the official Saxon pipeline:
these tests check that the ids it reads from SVRL are the ids the project gives the same asserts,
that a difference is reported with the document's name, that its documents carry the mutations it
announces, and that it refuses cleanly without Java or Saxon. The timed run itself is a benchmark,
not a test (it needs Debian's libsaxonhe-java and takes about a minute).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import validate_anchor as anchor
from segur.validators import derived_rule_id

PACK = "CI-SIS_IMG-CR-IMG_2024.01"

SVRL_REPORT = """<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <svrl:active-pattern id="Entete_IMG-CR-IMG" name="Entete_IMG-CR-IMG"/>
  <svrl:fired-rule context="cda:ClinicalDocument"/>
  <svrl:failed-assert test="cda:code[@code='18748-4' and
                            @codeSystem='2.16.840.1.113883.6.1']" location="/*[1]">
    <svrl:text>code</svrl:text>
  </svrl:failed-assert>
  <svrl:active-pattern id="JDV_Modalite"/>
  <svrl:fired-rule context="cda:translation"/>
  <svrl:failed-assert id="explicit-id" test="@code" location="/*[1]/*[2]"><svrl:text>x</svrl:text>
  </svrl:failed-assert>
  <svrl:successful-report test="true()" location="/*[1]"><svrl:text>not an assert</svrl:text>
  </svrl:successful-report>
</svrl:schematron-output>
"""
CODE_TEST = "cda:code[@code='18748-4' and @codeSystem='2.16.840.1.113883.6.1']"


def _svrl(tmp_path: Path, name: str = "doc.xml") -> Path:
    path = tmp_path / name
    path.write_text(SVRL_REPORT)
    return path


def _project_report(name: str, rules: list[str], pack: str = PACK) -> dict:
    """The shape of `segur validate --format json` for one document, as far as the comparison reads it."""
    extra = {"pack": pack, "kind": "assert"}
    findings = [{"rule": rule, "layer": "schematron", "extra": extra} for rule in rules]
    findings.append({"rule": "SEGUR-INS-003", "layer": "segur", "extra": {}})
    return {"documents": [{"document": f"/somewhere/{name}", "findings": findings}]}


def test_svrl_failed_asserts_get_the_projects_ids(tmp_path):
    ids = anchor.svrl_assert_ids(_svrl(tmp_path), PACK)

    derived = derived_rule_id(PACK, "Entete_IMG-CR-IMG", "cda:ClinicalDocument", CODE_TEST)
    assert ids == Counter({derived: 1, "explicit-id": 1})
    assert derived.startswith("IMG-CR-IMG/Entete_IMG-CR-IMG/")  # the test's line break does not count


def test_same_failed_asserts_make_no_difference(tmp_path):
    svrl = _svrl(tmp_path)
    derived = derived_rule_id(PACK, "Entete_IMG-CR-IMG", "cda:ClinicalDocument", CODE_TEST)
    report = _project_report(svrl.name, [derived, "explicit-id"])

    assert anchor.compare([svrl.name], report, {PACK: tmp_path}) == []


def test_a_missing_assert_is_reported_with_the_document_name(tmp_path):
    svrl = _svrl(tmp_path, "cr-img-004-doc-code.xml")
    report = _project_report(svrl.name, ["explicit-id"])

    differences = anchor.compare([svrl.name], report, {PACK: tmp_path})

    assert len(differences) == 1
    assert "cr-img-004-doc-code.xml" in differences[0]
    assert "only Saxon ['IMG-CR-IMG/Entete_IMG-CR-IMG/" in differences[0]


def test_project_findings_of_other_packs_layers_and_reports_are_not_compared():
    report = _project_report("a.xml", ["COMMON/x/1"], pack="CI-SIS_ModelesDeContenusCDA")
    report["documents"][0]["findings"].append(
        {"rule": "IMG-CR-IMG/p/2", "layer": "schematron", "extra": {"pack": PACK, "kind": "report"}})

    assert anchor.project_assert_ids(report["documents"][0], (PACK,)) == Counter()


def test_documents_are_variants_with_the_announced_mutations(tmp_path):
    example = b"".join(
        [b"<ClinicalDocument>", anchor.DOC_ID, anchor.DOC_TIME,
         *(old + b"/>" for old, _new in anchor.MUTATIONS.values()), b"</ClinicalDocument>"])

    made = anchor.make_documents(example, 20, tmp_path)

    assert len(made) == 20 == len(list(tmp_path.glob("*.xml")))
    assert Counter(made.values()) == Counter({"": 16, **{name: 1 for name in anchor.MUTATIONS}})
    ids = {(tmp_path / name).read_bytes().split(b"/>")[0] for name in made}
    assert len(ids) == 20  # each document its own ClinicalDocument/id
    for name, mutation in made.items():
        data = (tmp_path / name).read_bytes()
        for other, (_old, new) in anchor.MUTATIONS.items():
            assert (new in data) == (other == mutation), (name, other)


def test_an_example_without_the_expected_text_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="update MUTATIONS"):
        anchor.make_documents(b"<ClinicalDocument/>", 3, tmp_path)


def test_saxon_timing_report_is_read_in_milliseconds_and_seconds():
    stderr = """Stylesheet compilation time: 1.5s (1546.6ms)
Building tree for file:/tmp/d/doc1.xml using class net.sf.saxon.tree.tiny.TinyBuilder
Tree built in 93.5ms
Building tree for file:/p/cda/jeuxDeValeurs/JDV_X.xml using class net.sf.saxon.tree.tiny.TinyBuilder
Tree built in 0.5ms
Execution time: 1.083s (1083.5ms)
Building tree for file:/tmp/d/doc2.xml using class net.sf.saxon.tree.tiny.TinyBuilder
Tree built in 14.5ms
Execution time: 96.5ms
"""
    assert anchor.saxon_breakdown(stderr) == {
        "compile_ms": 1546.6, "tree_ms": 108.0, "value_set_tree_ms": 0.5, "execution_ms": 1180.0,
        "documents": 2}


def test_refuses_cleanly_without_java(capsys):
    assert anchor.main(["--java", "no-such-java-launcher"]) == 2
    assert "no Java runtime" in capsys.readouterr().err


def test_refuses_cleanly_without_saxon(tmp_path, capsys):
    if shutil.which("java") is None:
        pytest.skip("no Java here: the Java refusal comes first")
    assert anchor.main(["--saxon-jar", str(tmp_path / "Saxon-HE.jar")]) == 2
    assert "apt-get install libsaxonhe-java" in capsys.readouterr().err
