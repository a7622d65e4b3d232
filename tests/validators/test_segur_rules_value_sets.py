"""The user's value sets (``--value-set [ROLE=]FILE``) and SEGUR-CODE-006: a CR-BIO result code
outside the biology value set the user gives is an error; the files are IHE SVS XML or FHIR JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from segur.validators.api import Validator, validate
from segur.validators.locate import Locator
from segur.validators.segur_rules import ValueSetError, check_segur, load_value_sets
from segur.validators.segur_rules.mutants import RESULT_CODE, example_result_codes, parse, svs_value_set
from segur.validators.segur_rules.value_sets import LOINC, role_of

NS = {"cda": "urn:hl7-org:v3"}
TSH = "BIO-CR-BIO_2024.01_TSH_1.xml"


def findings_for(path: Path, pack: Path | None, value_sets):
    data = path.read_bytes()
    tree = parse(data)
    return check_segur(tree, Locator(data, tree), pack_root=pack, value_sets=value_sets)


def svs_file(tmp_path: Path, codes, name="test biology result codes") -> Path:
    path = tmp_path / "bio.xml"
    path.write_bytes(svs_value_set(codes, name=name))
    return path


def result_codes(path: Path) -> list[str]:
    return [c.get("code") for c in parse(path.read_bytes()).getroot().xpath(RESULT_CODE, namespaces=NS)
            if c.get("code")]


# -- the rule ----------------------------------------------------------------------------------------
@pytest.mark.needs_ref
def test_a_result_code_outside_the_given_value_set_is_an_error(cda_pack, tmp_path):
    example = cda_pack / "ExemplesCDA" / TSH
    first, *others = result_codes(example)
    assert others, "the TSH example has several result codes"
    value_sets = load_value_sets([f"bio-results={svs_file(tmp_path, {(first, LOINC)})}"])
    findings = findings_for(example, cda_pack, value_sets)
    assert {f.rule for f in findings} == {"SEGUR-CODE-006"}
    assert sorted(f.extra["params"]["code"] for f in findings) == sorted(set(others))
    assert all(f.is_error and "bio.xml" in f.message for f in findings)
    assert "'test biology result codes' (1.2.250.1.999.1, bio.xml)" in findings[0].message


@pytest.mark.needs_ref
def test_codes_inside_the_given_value_set_pass(cda_pack, tmp_path):
    example = cda_pack / "ExemplesCDA" / TSH
    codes = {(code, LOINC) for code in result_codes(example)}
    value_sets = load_value_sets([f"bio-results={svs_file(tmp_path, codes)}"])
    assert findings_for(example, cda_pack, value_sets) == []


@pytest.mark.needs_ref
def test_official_bio_examples_pass_with_a_value_set_of_their_own_codes(cda_pack, tmp_path):
    value_sets = load_value_sets([f"bio-results={svs_file(tmp_path, example_result_codes(cda_pack))}"])
    examples = sorted((cda_pack / "ExemplesCDA").glob("BIO-CR-BIO_*.xml"))
    assert len(examples) >= 10
    for path in examples:
        rules = {f.rule for f in findings_for(path, cda_pack, value_sets)}
        assert not rules & {"SEGUR-CODE-005", "SEGUR-CODE-006"}, (path.name, rules)


@pytest.mark.needs_ref
def test_without_the_value_set_the_info_says_how_to_enable_the_check(cda_pack):
    findings = findings_for(cda_pack / "ExemplesCDA" / TSH, cda_pack, None)
    assert [f.rule for f in findings] == ["SEGUR-CODE-005"]
    assert "--value-set bio-results=FILE" in findings[0].message
    assert "Circuit de la biologie" in findings[0].extra["message_fr"]
    assert "--value-set bio-results=FILE" in findings[0].hint


@pytest.mark.needs_ref
def test_the_pack_imaging_check_wins_over_the_value_set(cda_pack, tmp_path):
    """One finding per code: an imaging code in a lab result is SEGUR-CODE-004, not also -006."""
    example = cda_pack / "ExemplesCDA" / TSH
    root = parse(example.read_bytes()).getroot()
    root.xpath(RESULT_CODE, namespaces=NS)[0].set("code", "24627-2")
    changed = tmp_path / "imaging.xml"
    changed.write_bytes(etree.tostring(root))
    value_sets = load_value_sets([f"bio-results={svs_file(tmp_path, example_result_codes(cda_pack))}"])
    assert [f.rule for f in findings_for(changed, cda_pack, value_sets)] == ["SEGUR-CODE-004"]


# -- the file formats -------------------------------------------------------------------------------
def test_svs_file_of_the_pack_shape_is_read(tmp_path):
    path = svs_file(tmp_path, {("3016-3", LOINC), ("2345-7", LOINC)})
    value_set = load_value_sets([f"bio-results={path}"])["bio-results"]
    assert value_set.concepts == {("3016-3", LOINC), ("2345-7", LOINC)}
    assert value_set.oid == "1.2.250.1.999.1" and value_set.name == "test biology result codes"


def test_fhir_value_set_json_compose_and_expansion_are_read(tmp_path):
    path = tmp_path / "vs.json"
    path.write_text(json.dumps({
        "resourceType": "ValueSet", "name": "JDV_Test", "identifier": [{"value": "urn:oid:1.2.250.1.999.2"}],
        "compose": {"include": [{"system": "http://loinc.org", "concept": [{"code": "3016-3"}]}]},
        "expansion": {"contains": [{"system": "http://loinc.org", "code": "2345-7",
                                    "contains": [{"system": "urn:oid:1.2.3", "code": "X"}]}]},
    }), encoding="utf-8")
    value_set = load_value_sets([f"bio-results={path}"])["bio-results"]
    assert value_set.concepts == {("3016-3", LOINC), ("2345-7", LOINC), ("X", "1.2.3")}
    assert value_set.oid == "1.2.250.1.999.2"


def test_fhir_code_system_json_is_read(tmp_path):
    path = tmp_path / "cs.json"
    path.write_text(json.dumps({"resourceType": "CodeSystem", "url": "http://loinc.org", "name": "LOINC sub",
                                "concept": [{"code": "3016-3", "concept": [{"code": "2345-7"}]}]}),
                    encoding="utf-8")
    concepts = load_value_sets([f"bio-results={path}"])["bio-results"].concepts
    assert concepts == {("3016-3", LOINC), ("2345-7", LOINC)}


@pytest.mark.needs_ref
def test_the_ans_terminology_guide_json_shape_is_read(shared_ref):
    """A FHIR ValueSet as ANS's terminology guide publishes it (../shared/ref/terminologies)."""
    path = shared_ref / "terminologies" / "JDV-J57-ClassCode-DMP.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with pytest.raises(ValueSetError, match="cannot tell what it is for"):
        load_value_sets([str(path)])
    value_set = load_value_sets([f"bio-results={path}"])["bio-results"]
    assert len(value_set.concepts) == 12 and value_set.oid == "1.2.250.1.213.1.1.5.6"


def test_a_file_with_a_utf8_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"resourceType": "CodeSystem", "url": "http://loinc.org",
                                                   "concept": [{"code": "3016-3"}]}).encode())
    assert load_value_sets([f"bio-results={path}"])["bio-results"].concepts == {("3016-3", LOINC)}
    xml = svs_file(tmp_path, {("3016-3", LOINC)})
    xml.write_bytes(b"\xef\xbb\xbf" + xml.read_bytes())
    assert load_value_sets([f"bio-results={xml}"])["bio-results"].concepts == {("3016-3", LOINC)}


@pytest.mark.parametrize("name", ["JDV Circuit de la biologie", "JDV_CircuitDeLaBiologie", "circuit-biologie",
                                  "Jeu de valeurs Circuit de la Biologie (LOINC)"])
def test_the_circuit_de_la_biologie_is_recognised_by_its_name(name, tmp_path):
    assert role_of(name) == "bio-results"
    path = svs_file(tmp_path, {("3016-3", LOINC)}, name=name)
    assert set(load_value_sets([str(path)])) == {"bio-results"}


# -- usage errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "message"), [
    (b"LOINC;libelle\n3016-3;TSH\n", "neither XML"),
    (b"<ValueSet", "not well-formed XML"),
    (b"<html><body/></html>", "without an IHE SVS ValueSet"),
    (b'<ValueSet xmlns="urn:ihe:iti:svs:2008"><ConceptList/></ValueSet>', "no concept"),
    (b'<ValueSet xmlns="urn:ihe:iti:svs:2008"><ConceptList><Concept code="3016-3"/></ConceptList></ValueSet>',
     "has no codeSystem"),
    (b'{"resourceType": "Patient"}', "not a FHIR ValueSet"),
    (b'{"resourceType": "ValueSet", ', "not valid JSON"),
    (b'{"resourceType": "ValueSet", "compose": {"include": [{"system": "http://loinc.org", '
     b'"filter": [{"property": "CLASS", "op": "=", "value": "CHEM"}]}]}}', "needs a terminology server"),
])
def test_a_malformed_value_set_file_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(ValueSetError, match=message):
        load_value_sets([f"bio-results={path}"])


def test_missing_file_unknown_role_and_unnamed_set_are_usage_errors(tmp_path):
    with pytest.raises(ValueSetError, match="no such file"):
        load_value_sets([f"bio-results={tmp_path / 'missing.xml'}"])
    path = svs_file(tmp_path, {("3016-3", LOINC)}, name="JDV_ExamenBiochimieAUVN_CISIS")
    with pytest.raises(ValueSetError, match="unknown value-set role 'imaging'"):
        load_value_sets([f"imaging={path}"])
    with pytest.raises(ValueSetError, match="bio-results="):
        load_value_sets([str(path)])
    with pytest.raises(ValueSetError, match="two value sets for bio-results"):
        load_value_sets([f"bio-results={path}", f"bio-results={path}"])


# -- the Python API ------------------------------------------------------------------------------
@pytest.mark.needs_ref
def test_python_api_takes_the_value_sets(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_VALUE_SETS", raising=False)
    example = cda_pack / "ExemplesCDA" / TSH
    first, *_ = result_codes(example)
    spec = f"bio-results={svs_file(tmp_path, {(first, LOINC)})}"
    report = validate(example, pack=cda_pack, value_sets=[spec])
    assert "SEGUR-CODE-006" in {f.rule for f in report.errors}
    assert report.settings["value_sets"]["bio-results"].startswith("'test biology result codes'")
    assert "SEGUR-CODE-005" in {f.rule for f in validate(example, pack=cda_pack, value_sets=[]).findings}
    monkeypatch.setenv("SEGUR_VALUE_SETS", spec)
    assert "SEGUR-CODE-006" in {f.rule for f in Validator(pack=cda_pack).validate(example).errors}
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="not a FHIR ValueSet"):
        Validator(pack=False, value_sets=[f"bio-results={bad}"])
