"""`validate()` through the full stack: official examples pass, mutated examples fail on the
expected rule and line, layers report what ran and why, crashes never become VALID."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

import segur.validators.segur_rules as segur_rules
from segur.kernel.findings import Severity
from segur.validators import PackError, UnknownProfile, Validator, derived_rule_id, packs, profiles, validate
from segur.validators import api as api_mod
from segur.validators.api import schematron_finding
from segur.validators.locate import Locator

NS = {"cda": "urn:hl7-org:v3"}
CR_IMG_N3 = "IMG_CR_IMG_2024.01.xml"
CR_IMG_N1 = "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml"
CR_BIO = "BIO-CR-BIO_2024.01_TSH_1.xml"
GENERIC_N1 = "DOC_NON_STRUCTURE_CDA-R2-N1.xml"


def _example(cda_pack: Path, name: str) -> Path:
    return cda_pack / "ExemplesCDA" / name


def _mutate(cda_pack: Path, name: str, change) -> tuple[bytes, etree._ElementTree]:
    """Apply `change(root)` to an official example; return the new bytes and their tree (for lines)."""
    tree = etree.parse(str(_example(cda_pack, name)))
    target = change(tree.getroot())
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return data, target


def _line_of(data: bytes, xpath: str) -> int:
    return etree.fromstring(data).xpath(xpath, namespaces=NS)[0].sourceline


def _errors(report, layer=None):
    return [f for f in report.errors if layer is None or f.layer == layer]


# -- official examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, volet, level", [
    (CR_IMG_N3, "IMG-CR-IMG_2024.01", "N3"),
    (CR_IMG_N1, None, "N1"),
    (CR_BIO, "BIO-CR-BIO_2024.01", "N3"),
    (GENERIC_N1, None, "N1"),
])
def test_official_example_passes_the_full_stack_with_zero_errors(cda_pack, name, volet, level):
    report = validate(_example(cda_pack, name), pack=cda_pack)
    assert report.errors == [], [(f.rule, f.line, f.message) for f in report.errors]
    assert report.valid and report.exit_code == 0
    assert report.profile["volet"] == volet and report.profile["level"] == level
    assert {layer.name: layer.status for layer in report.layers} == {
        "xml": "ran", "structure": "ran", "xsd": "ran", "schematron": "ran", "segur": "ran"}
    expected_packs = ["CI-SIS_ModelesDeContenusCDA"] + ([f"CI-SIS_{volet}"] if volet else [])
    assert [p.name for p in report.packs] == expected_packs
    assert all(p.digest.startswith("sha256:") for p in report.packs)


def test_n1_radiology_example_fails_when_the_n3_volet_pack_is_forced(cda_pack):
    report = validate(_example(cda_pack, CR_IMG_N1), pack=cda_pack, profile="IMG-CR-IMG")
    assert report.profile["volet"] == "IMG-CR-IMG_2024.01"
    volet_errors = [f for f in report.errors if f.extra.get("pack") == "CI-SIS_IMG-CR-IMG_2024.01"]
    assert volet_errors and not report.valid and report.exit_code == 1
    assert any("1.2.250.1.213.1.1.1.45" in f.message for f in volet_errors)


# -- mutations ---------------------------------------------------------------------------------

def test_missing_custodian_fails_the_xsd_at_the_next_element(cda_pack):
    def change(root):
        custodian = root.find("cda:custodian", NS)
        following = custodian.getnext()
        while not isinstance(following.tag, str):
            following = following.getnext()
        root.remove(custodian)
        return following
    data, following = _mutate(cda_pack, CR_IMG_N3, change)
    report = validate(data, pack=cda_pack, profile="none", layers=["xml", "structure", "xsd"])
    xsd_errors = _errors(report, "xsd")
    assert xsd_errors and xsd_errors[0].rule == "XSD-001"
    assert "custodian" in xsd_errors[0].message
    expected_line = _line_of(data, f"/cda:ClinicalDocument/cda:{etree.QName(following).localname}[1]")
    assert xsd_errors[0].line == expected_line
    assert xsd_errors[0].column is not None and xsd_errors[0].xpath.startswith("/cda:ClinicalDocument/")
    assert report.exit_code == 1


def test_unknown_element_breaks_the_xsd_with_line_column_and_xpath(cda_pack):
    def change(root):
        bad = etree.Element("{urn:hl7-org:v3}notInCda")
        root.find("cda:title", NS).addnext(bad)
        return bad
    data, _ = _mutate(cda_pack, CR_BIO, change)
    report = validate(data, pack=cda_pack, profile="none", layers=["xml", "xsd"])
    [finding] = [f for f in _errors(report, "xsd") if "notInCda" in f.message]
    assert finding.line == _line_of(data, "//cda:notInCda")
    assert finding.xpath == "/cda:ClinicalDocument/cda:notInCda[1]"
    assert "cda:notInCda" in finding.message  # namespace shown as a prefix, not {urn:hl7-org:v3}


def test_wrong_document_code_fails_the_volet_pack_on_the_root_element(cda_pack):
    def change(root):
        root.find("cda:code", NS).set("code", "11488-4")
        return root
    data, _ = _mutate(cda_pack, CR_IMG_N3, change)
    report = validate(data, pack=cda_pack, layers=["xml", "xsd", "schematron"])
    hits = [f for f in _errors(report, "schematron") if "18748-4" in f.message]
    assert hits, [(f.rule, f.message) for f in report.errors]
    finding = hits[0]
    assert finding.rule.startswith("IMG-CR-IMG/Entete_IMG-CR-IMG/")
    assert finding.xpath == "/cda:ClinicalDocument"
    assert finding.line == _line_of(data, "/cda:ClinicalDocument")
    assert finding.extra["pack"] == "CI-SIS_IMG-CR-IMG_2024.01"


def test_missing_conclusion_section_fails_on_the_structured_body_line(cda_pack):
    def change(root):
        conclusion = "//cda:section[cda:templateId/@root='1.2.250.1.213.1.1.2.209']"
        section = root.xpath(conclusion, namespaces=NS)[0]
        component = section.getparent()
        component.getparent().remove(component)
        return root
    data, _ = _mutate(cda_pack, CR_IMG_N3, change)
    report = validate(data, pack=cda_pack, layers=["xml", "schematron"])
    hits = [f for f in _errors(report, "schematron") if "1.2.250.1.213.1.1.2.209" in f.message]
    assert hits
    assert hits[0].line == _line_of(data, "/cda:ClinicalDocument/cda:component/cda:structuredBody")
    assert hits[0].xpath == "/cda:ClinicalDocument/cda:component[1]/cda:structuredBody[1]"


def test_schematron_rule_ids_are_stable_between_runs(cda_pack):
    def change(root):
        root.find("cda:code", NS).set("code", "11488-4")
        return root
    data, _ = _mutate(cda_pack, CR_IMG_N3, change)
    first = validate(data, pack=cda_pack, layers=["xml", "schematron"])
    second = validate(data, pack=cda_pack, layers=["xml", "schematron"])
    assert [f.rule for f in first.findings] == [f.rule for f in second.findings]


# -- without a pack ------------------------------------------------------------------------------

def test_without_pack_the_report_says_which_layers_ran_and_why_others_did_not(cda_pack):
    report = validate(_example(cda_pack, CR_IMG_N3), pack=False)
    status = {layer.name: layer for layer in report.layers}
    assert status["xml"].status == "ran" and status["structure"].status == "ran"
    assert status["segur"].status in ("ran", "skipped")
    for name in ("xsd", "schematron"):
        assert status[name].status == "skipped"
        assert "no pack directory" in status[name].reason
    assert report.packs == []


def test_without_pack_structural_checks_catch_a_missing_record_target():
    document = b"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.3"/><code code="18748-4" codeSystem="2.16.840.1.113883.6.1"/>
  <effectiveTime value="20240101120000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <author/><custodian/>
  <component><nonXMLBody/></component>
</ClinicalDocument>"""
    report = validate(document, pack=False, layers=["xml", "structure"])
    rules = [(f.rule, f.extra["params"]["element"]) for f in report.errors]
    assert rules == [("CDA-STRUCT-003", "recordTarget")]
    assert report.errors[0].line == 1 and report.errors[0].xpath == "/cda:ClinicalDocument"


def test_without_pack_a_clean_skeleton_passes_the_structure_layer():
    document = b"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.3"/><code code="18748-4" codeSystem="2.16.840.1.113883.6.1"/>
  <effectiveTime value="20240101120000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole/></recordTarget><author/><custodian/>
  <component><structuredBody/></component>
</ClinicalDocument>"""
    report = validate(document, pack=False, layers=["xml", "structure"])
    assert report.findings == [] and report.valid


@pytest.mark.parametrize("body, rule", [
    ("<component><structuredBody/><nonXMLBody/></component>", "CDA-STRUCT-005"),
    ("<component/>", "CDA-STRUCT-005"),
    ("<component><nonXMLBody/></component><component><nonXMLBody/></component>", "CDA-STRUCT-004"),
])
def test_structure_layer_checks_the_body(body, rule):
    document = f"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.3"/><code code="x"/><effectiveTime value="2024"/><confidentialityCode code="N"/>
  <recordTarget><patientRole/></recordTarget><author/><custodian/>
  {body}
</ClinicalDocument>"""
    report = validate(document, pack=False, layers=["xml", "structure"])
    assert [f.rule for f in report.errors] == [rule]


def test_wrong_type_id_and_record_target_without_patient_role():
    document = b"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000041"/>
  <id root="1.2.3"/><code code="x"/><effectiveTime value="2024"/><confidentialityCode code="N"/>
  <recordTarget/><author/><custodian/><component><nonXMLBody/></component>
</ClinicalDocument>"""
    report = validate(document, pack=False, layers=["xml", "structure"])
    assert sorted(f.rule for f in report.errors) == ["CDA-STRUCT-002", "CDA-STRUCT-006"]
    assert {f.line for f in report.errors} == {2, 4}


def test_a_document_that_is_not_cda_stops_after_the_root_check(cda_pack):
    report = validate(b'<Bundle xmlns="http://hl7.org/fhir"/>', pack=cda_pack)
    assert [f.rule for f in report.errors] == ["CDA-STRUCT-001"]
    assert "{http://hl7.org/fhir}Bundle" in report.errors[0].message
    for name in ("xsd", "schematron", "segur"):
        layer = report.layer(name)
        assert layer.status == "skipped" and "CDA-STRUCT-001" in layer.reason
    assert report.exit_code == 1


def test_french_messages_for_own_rules():
    report = validate(b'<Bundle xmlns="http://hl7.org/fhir"/>', pack=False, lang="fr")
    assert report.errors[0].message.startswith("L'élément racine est")


# -- profiles, usage errors -------------------------------------------------------------------

def test_profile_none_skips_schematron_and_says_so(cda_pack):
    report = validate(_example(cda_pack, CR_IMG_N3), pack=cda_pack, profile="none")
    layer = report.layer("schematron")
    assert layer.status == "skipped" and "--profile none" in layer.reason
    assert report.packs == []


def test_profile_common_runs_only_the_common_pack(cda_pack):
    report = validate(_example(cda_pack, CR_IMG_N3), pack=cda_pack, profile="common",
                      layers=["xml", "schematron"])
    assert [p.name for p in report.packs] == ["CI-SIS_ModelesDeContenusCDA"]


def test_unknown_profile_is_a_usage_error(cda_pack):
    with pytest.raises(UnknownProfile, match="IMG-CR-IMG"):
        Validator(pack=cda_pack, profile="NO-SUCH-VOLET")
    with pytest.raises(UnknownProfile, match="IMG-CR-IMG"):
        Validator(pack=False, profile="NO-SUCH-VOLET")


def test_forced_volet_without_pack_informs_the_segur_rules(cda_pack, monkeypatch):
    seen = []
    monkeypatch.setattr(segur_rules, "check_segur",
                        lambda tree, locator, profile, pack_root=None: seen.append(profile) or [])
    validate(_example(cda_pack, CR_IMG_N1), pack=False, profile="img-cr-img_2024.01")
    validate(_example(cda_pack, CR_IMG_N1), pack=False, profile="auto")
    validate(_example(cda_pack, CR_IMG_N3), pack=cda_pack, profile="none")
    validate(_example(cda_pack, CR_IMG_N3), pack=cda_pack, profile="auto",
             layers=["xml", "schematron", "segur"])
    assert seen == ["img-cr-img_2024.01", None, None, "IMG-CR-IMG_2024.01"]


def test_bad_pack_directory_is_a_usage_error(tmp_path):
    with pytest.raises(PackError, match="does not exist"):
        Validator(pack=tmp_path / "nope")
    (tmp_path / "schematrons").mkdir()
    with pytest.raises(PackError, match="CDA_extended.xsd"):
        Validator(pack=tmp_path)


def test_unknown_layer_and_language_are_usage_errors():
    with pytest.raises(ValueError, match="unknown layer"):
        Validator(pack=False, layers=["xml", "magic"])
    with pytest.raises(ValueError, match="lang"):
        Validator(pack=False, lang="de")


def test_pack_from_environment(cda_pack, monkeypatch):
    monkeypatch.setenv("SEGUR_PACK", str(cda_pack))
    assert Validator().pack.root == cda_pack.resolve()
    assert Validator().pack.source == "env SEGUR_PACK"


# -- failures of the machinery are errors, never VALID --------------------------------------------

def test_a_crashing_layer_is_an_error_not_a_valid_verdict(cda_pack, monkeypatch):
    def boom(tree, locator, profile, pack_root=None):
        raise RuntimeError("kaput")
    monkeypatch.setattr(segur_rules, "check_segur", boom)
    report = validate(_example(cda_pack, CR_IMG_N3), pack=cda_pack, profile="none")
    assert not report.valid
    assert [f.rule for f in report.errors] == ["VAL-001"]
    assert "kaput" in report.errors[0].message
    assert report.layer("segur").status == "failed"


def test_a_pack_that_cannot_compile_is_reported_as_sch_001(cda_pack, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("compile failed")
    monkeypatch.setattr(packs, "compiled_pack", broken)
    report = validate(_example(cda_pack, CR_BIO), pack=cda_pack, layers=["xml", "schematron"])
    assert {f.rule for f in report.errors} == {"SCH-001"}
    assert report.layer("schematron").status == "failed"
    assert not report.valid


def test_schema_that_cannot_load_is_reported(cda_pack, tmp_path):
    fake = tmp_path / "pack"
    (fake / "infrastructure" / "cda").mkdir(parents=True)
    (fake / "schematrons" / "profils").mkdir(parents=True)
    (fake / "infrastructure" / "cda" / "CDA_extended.xsd").write_text("<not-a-schema/>")
    shutil.copy(cda_pack / "schematrons" / "profils" / "CI-SIS_ModelesDeContenusCDA.sch",
                fake / "schematrons" / "profils")
    report = validate(_example(cda_pack, CR_IMG_N3), pack=fake, layers=["xml", "xsd"])
    assert [f.rule for f in report.errors] == ["XSD-002"]
    assert report.layer("xsd").status == "failed"


# -- derived ids ----------------------------------------------------------------------------------

def test_derived_rule_id_drops_prefix_and_version_and_ignores_whitespace():
    a = derived_rule_id("CI-SIS_IMG-CR-IMG_2024.01", "principal", "cda:x", "count(a) =  1")
    b = derived_rule_id("CI-SIS_IMG-CR-IMG_2025.01", "principal", "cda:x", "count(a)\n = 1")
    assert a == b and a.startswith("IMG-CR-IMG/principal/") and len(a.rsplit("/", 1)[1]) == 8
    common = derived_rule_id("CI-SIS_ModelesDeContenusCDA", None, "c", "t")
    assert common.startswith("ModelesDeContenusCDA/-/")
    assert derived_rule_id("X", "p", "c", "t1") != derived_rule_id("X", "p", "c", "t2")


def test_validators_are_reused_between_calls(cda_pack):
    validate(b"<a/>", pack=cda_pack, profile="none", layers=["xml"])
    count = len(api_mod._VALIDATORS)
    validate(b"<b/>", pack=cda_pack, profile="none", layers=["xml"])
    assert len(api_mod._VALIDATORS) == count


def test_warnings_do_not_make_a_document_invalid(cda_pack):
    report = validate(_example(cda_pack, GENERIC_N1), pack=cda_pack)
    assert report.valid
    assert all(f.severity != Severity.ERROR for f in report.findings)


def test_self_presenting_document_is_named_as_such(cda_pack):
    report = validate(_example(cda_pack, "BIO-CR-BIO_2021.01_Auto-Presentable.xml"), pack=cda_pack)
    [finding] = report.errors
    assert finding.rule == "CDA-STRUCT-007" and "line 31" in finding.message and finding.hint
    assert report.layer("xsd").status == "skipped" and "CDA-STRUCT-007" in report.layer("xsd").reason


def test_self_presenting_finding_says_how_to_extract_the_cda_and_the_command_works(cda_pack, tmp_path):
    example = _example(cda_pack, "CANCER-PPS_2022.01_Autopresentable.xml")
    [finding] = validate(example, pack=cda_pack).errors
    assert "did not run" in finding.message and "Extract the embedded ClinicalDocument" in finding.message
    command = re.search(r'python3 -c "([^"]+)" doc\.xml > cda\.xml', finding.hint)
    assert command, finding.hint
    extracted = subprocess.run([sys.executable, "-c", command.group(1), str(example)], capture_output=True,
                               check=True).stdout
    report = validate(extracted, pack=cda_pack)
    assert "CDA-STRUCT-007" not in [f.rule for f in report.findings]
    assert report.layer("xsd").status == "ran" and report.layer("schematron").status == "ran"


def test_schema_imports_are_resolved_locally_only(cda_pack, tmp_path):
    """A pack whose XSD imports a remote schema is refused (XSD-002), never fetched."""
    fake = tmp_path / "pack"
    (fake / "infrastructure" / "cda").mkdir(parents=True)
    (fake / "schematrons" / "profils").mkdir(parents=True)
    (fake / "infrastructure" / "cda" / "CDA_extended.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hl7-org:v3">'
        '<xs:import namespace="urn:x" schemaLocation="http://attacker.invalid/x.xsd"/></xs:schema>')
    common_pack = "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch"
    shutil.copy(cda_pack / common_pack, fake / common_pack)
    report = validate(_example(cda_pack, CR_BIO), pack=fake, layers=["xml", "xsd"])
    assert [f.rule for f in report.errors] == ["XSD-002"]
    assert "attacker.invalid" in report.errors[0].message


def test_report_records_the_settings_needed_to_reproduce_it(cda_pack):
    report = validate(_example(cda_pack, CR_BIO), pack=cda_pack)
    settings = report.to_dict()["settings"]
    assert settings["pack"] == str(cda_pack.resolve()) and settings["pack_source"] == "argument"
    assert settings["xsd_digest"].startswith("sha256:") and settings["tool"].startswith("segur-harness")


def test_a_pack_that_breaks_during_selection_fails_the_schematron_layer(cda_pack, monkeypatch):
    def vanished(*args, **kwargs):
        raise FileNotFoundError("schematrons/ vanished")
    validator = Validator(pack=cda_pack)
    monkeypatch.setattr(profiles, "select", vanished)
    report = validator.validate(_example(cda_pack, CR_BIO))
    assert report.layer("schematron").status == "failed" and not report.valid
    assert any(f.rule == "VAL-001" and "vanished" in f.message for f in report.errors)


def test_profile_keywords_are_case_insensitive(cda_pack):
    report = validate(_example(cda_pack, CR_BIO), pack=cda_pack, profile="NONE")
    assert report.layer("schematron").reason == "--profile none"


def test_schematron_failures_map_to_findings():
    data = b'<ClinicalDocument xmlns="urn:hl7-org:v3">\n  <code code="x"/>\n</ClinicalDocument>'
    tree = etree.ElementTree(etree.fromstring(data))
    locator = Locator(data, tree)

    def failure(**kw):
        base = dict(pack="P", pattern_id="pat", rule_context="cda:code/@code", assert_id=None, test=". = 'y'",
                    kind="assert", role=None, severity="warning", message="  bad\n   code ", location=None,
                    node_index=None)
        return SimpleNamespace(**{**base, **kw})
    code_attribute = "/cda:ClinicalDocument[1]/cda:code[1]/@code"
    on_code = failure(location=code_attribute, node_index=1)
    on_attribute = schematron_finding(on_code, "CI-SIS_P_2024.01", locator)
    assert (on_attribute.line, on_attribute.column) == (2, 3)
    assert on_attribute.xpath == "/cda:ClinicalDocument/cda:code[1]/@code"
    assert on_attribute.severity == Severity.WARNING and on_attribute.message == "bad code"
    assert on_attribute.rule == derived_rule_id("CI-SIS_P_2024.01", "pat", "cda:code/@code", ". = 'y'")
    with_id = schematron_finding(failure(assert_id="A-1", severity="error"), "P", locator)
    assert with_id.rule == "A-1" and with_id.line is None and with_id.severity == Severity.ERROR
    doc_failed = failure(kind="pack-error", message="FODC0002 doc() failed", location="/")
    pack_error = schematron_finding(doc_failed, "P", locator)
    assert pack_error.rule == "SCH-001" and pack_error.severity == Severity.ERROR
    assert "FODC0002" in pack_error.message
    out_of_range = schematron_finding(failure(node_index=99, location="/x"), "P", locator)
    assert out_of_range.xpath == "/x" and out_of_range.line is None


# ----------------------------------------------------------------------------- encoding (issue 12)

SKELETON = """<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.3"/><code code="18748-4" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Compte rendu d'échographie</title>
  <effectiveTime value="20240101120000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole/></recordTarget><author/><custodian/>
  <component><structuredBody/></component>
</ClinicalDocument>"""


def _structure_findings(data: bytes):
    return validate(data, pack=False, layers=["xml", "structure"]).findings


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "iso-8859-15"])
def test_a_document_declared_and_encoded_in_latin_1_is_an_encoding_error(encoding):
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n{SKELETON}'.encode(encoding)
    [finding] = _structure_findings(data)
    assert finding.rule == "CDA-STRUCT-008" and finding.severity == Severity.ERROR
    assert encoding in finding.message and "UTF-8" in finding.message
    assert (finding.line, finding.column) == (1, 1)
    assert "re-encode" in finding.hint and f"iconv -f {encoding} -t UTF-8" in finding.hint


def test_a_utf16_document_is_an_encoding_error_even_without_declaration():
    [finding] = _structure_findings(SKELETON.encode("utf-16"))
    assert finding.rule == "CDA-STRUCT-008" and "UTF-16" in finding.message


@pytest.mark.parametrize("data", [
    SKELETON.encode(),  # no declaration: UTF-8 by XML rules
    b"\xef\xbb\xbf" + SKELETON.encode(),  # UTF-8 byte-order mark
    ('<?xml version="1.0" encoding="UTF-8"?>\n' + SKELETON).encode(),
    ("<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n" + SKELETON).encode(),
    b"\xef\xbb\xbf" + ('<?xml version="1.0" encoding="UTF-8"?>' + SKELETON).encode(),
])
def test_utf8_documents_pass_the_encoding_check(data):
    assert _structure_findings(data) == []


def test_the_encoding_check_runs_with_a_pack_too(cda_pack):
    source = _example(cda_pack, CR_IMG_N3).read_text(encoding="utf-8")
    declared = source.replace('encoding="utf-8"', 'encoding="ISO-8859-1"', 1)
    assert declared != source
    latin1 = declared.encode("iso-8859-1", "replace")
    report = validate(latin1, pack=cda_pack)
    assert "CDA-STRUCT-008" in [f.rule for f in report.errors] and not report.valid
