"""The Ségur rules: every rule has a document that passes it and one that fails on exactly it.

Failing documents are the official ANS examples mutated with lxml (the catalogue is
`segur.validators.segur_rules.mutants`); each mutant says which element the finding must point at,
and the test checks the line, column and XPath in the mutated file.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from segur.kernel import ins
from segur.kernel.findings import Severity
from segur.kernel.rules import get
from segur.validators.locate import Locator
from segur.validators.segur_rules import RULES, check_segur, load_value_sets
from segur.validators.segur_rules.context import HL7
from segur.validators.segur_rules.data import value_set, volets, xds_type_code_names, xds_type_codes
from segur.validators.segur_rules.doctable import rules_table
from segur.validators.segur_rules.header import timestamp_problems
from segur.validators.segur_rules.mutants import (
    AUTHOR_ID,
    CITIZEN_MAILTO,
    CR_IMG_TEMPLATE,
    EFFECTIVE,
    EXAMPLES,
    INS_ID,
    LEGAL_ID,
    MUTANTS,
    PATIENT,
    TSH_CODE,
    Case,
    build,
    chain,
    clean_bases,
    el,
    example_result_codes,
    load_originals,
    parse,
    remove,
    set_attr,
    set_text,
    svs_value_set,
)
from segur.validators.segur_rules.results import RESULT_TEMPLATE, loinc_check_digit

NS = {"cda": HL7}

pytestmark = pytest.mark.needs_ref


_PACK: list[Path] = []  # the official pack, set once per module by `_with_the_pack`
_VALUE_SETS: dict = {}  # the biology value set: an SVS file of the examples' own result codes
#: Added to the examples' codes: the deprecated term of a SEGUR-CODE-003 passing variant.
EXTRA_TEST_CODES = {("6580-7", "2.16.840.1.113883.6.1")}


@pytest.fixture(scope="module", autouse=True)
def _with_the_pack(cda_pack: Path, tmp_path_factory):
    _PACK[:] = [cda_pack]
    svs = tmp_path_factory.mktemp("value-sets") / "examples-result-codes.xml"
    svs.write_bytes(svs_value_set(example_result_codes(cda_pack) | EXTRA_TEST_CODES))
    _VALUE_SETS.clear()
    _VALUE_SETS.update(load_value_sets([f"bio-results={svs}"]))


def run(data: bytes, profile: str | None = None, with_pack: bool = True, with_value_sets: bool = True):
    """The Ségur findings, with the official pack configured (as `validate()` gives it) and the biology
    value set given, unless told not."""
    tree = parse(data)
    pack_root = _PACK[0] if with_pack else None
    value_sets = _VALUE_SETS if with_value_sets else None
    return check_segur(tree, Locator(data, tree), profile=profile, pack_root=pack_root,
                       value_sets=value_sets), tree


@pytest.fixture(scope="module")
def originals(cda_pack: Path) -> dict[str, bytes]:
    return load_originals(cda_pack)


@pytest.fixture(scope="module")
def bases(originals) -> dict[str, bytes]:
    """The official examples with a PDF/A N1 body: they pass every Ségur rule, warnings included."""
    return clean_bases(originals)


FAILING = MUTANTS


def case_id(case: Case) -> str:
    return f"{case.rule}-{case.why.replace(' ', '_')}"


# -- the reference documents ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_official_examples_have_no_segur_error(originals, key):
    findings, _ = run(originals[key])
    assert [f for f in findings if f.is_error] == []
    # Warnings only: the N1 examples embed a PDF that is not PDF/A, and DOC_NON_STRUCTURE dates its
    # encounter with a time of day but no zone (see docs/segur-rules.md).
    expected = {"img_n1": {"SEGUR-BODY-004"}, "doc_n1": {"SEGUR-BODY-004", "SEGUR-TIME-004"}}.get(key, set())
    assert {f.rule for f in findings} == expected
    assert bool(findings) == key.endswith("n1")


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_clean_bases_pass_every_rule(bases, key):
    findings, _ = run(bases[key])
    assert findings == []


# -- one failing document per rule ----------------------------------------------------------------------
@pytest.mark.parametrize("case", FAILING, ids=case_id)
def test_mutated_example_fails_on_exactly_its_rule(case, bases, originals):
    data = build(case, bases, originals)
    findings, tree = run(data, profile=case.profile, with_pack=not case.without_pack,
                         with_value_sets=not case.without_value_sets)
    assert {f.rule for f in findings} == {case.rule}, [(f.rule, f.message) for f in findings]
    finding = findings[0]
    rule = next(r for r in RULES if r.id == case.rule)
    assert finding.layer == "segur"
    assert finding.severity == rule.severity
    assert finding.hint == rule.hint or "{" in rule.hint
    # the finding points at the offending element, in the mutated file
    target = tree.getroot().xpath(case.target, namespaces=NS)
    assert target, case.target
    target = target[0]
    assert finding.line == target.sourceline
    line_text = data.decode("utf-8").splitlines()[finding.line - 1]
    assert finding.column is not None
    assert line_text[finding.column - 1:].startswith("<" + etree.QName(target).localname)
    assert tree.getroot().xpath(finding.xpath, namespaces={"cda": HL7}) == [target]


@pytest.mark.parametrize("case", FAILING, ids=case_id)
def test_findings_speak_english_and_french(case, bases, originals):
    findings, _ = run(build(case, bases, originals), profile=case.profile, with_pack=not case.without_pack,
                      with_value_sets=not case.without_value_sets)
    for finding in findings:
        french = finding.extra["message_fr"]
        assert finding.message and french and french != finding.message
        assert "{" not in finding.message and "{" not in french
        # the details are translated too, not only the sentence around them
        assert " the " not in f" {french.lower()} ", french
        assert finding.extra["rem"]
        assert finding.extra["hint_fr"] and finding.extra["hint_fr"] != finding.hint


def test_every_rule_has_a_failing_case():
    declared = {rule.id for rule in RULES}
    assert declared == {case.rule for case in FAILING}
    for rule in RULES:
        assert rule.id.startswith("SEGUR-") and rule.layer == "segur"
        assert rule.message_en and rule.message_fr and rule.hint and rule.source


def test_rules_are_in_the_shared_catalogue():
    for rule in RULES:
        assert get(rule.id) is rule


# -- passing variants -----------------------------------------------------------------------------------
PASSING: list[tuple[str, str, Callable, str]] = [
    ("SEGUR-INS-003", "img_n1", chain(
        set_attr(INS_ID, "extension", ins.with_key("279032A215189")),
        set_attr(CITIZEN_MAILTO, "value", f"mailto:{ins.with_key('279032A215189')}@patient.mssante.fr")),
     "Corsica INS, key computed on 19"),
    ("SEGUR-INS-007", "bio_n3", remove(f"{PATIENT}/cda:telecom[contains(@value, '@patient.mssante.fr')]"),
     "no citizen address at all"),
    ("SEGUR-INS-005", "bio_n3", lambda root: el(root, INS_ID).addnext(etree.fromstring(
        f'<id xmlns="{HL7}" root="1.2.250.1.213.1.4.13" extension="279035121518989"/>')),
     "the NIR as social-security number next to the INS"),
    ("SEGUR-INS-004", "img_n3", lambda root: el(root, INS_ID).addnext(copy.deepcopy(el(root, INS_ID))),
     "the same INS written twice"),
    ("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "3750100125/LOCAL-42"), "FINESS-based id"),
    ("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "0751234567"), "ADELI-based id"),
    ("SEGUR-TIME-001", "img_n1", set_attr(EFFECTIVE, "value", "202101081117-0500"),
     "negative offset, minutes"),
    ("SEGUR-VER-001", "img_n1", set_attr("cda:id", "root", "90e1c8ec-f951-4b26-a305-a34848818dd7"),
     "UUID id"),
    ("SEGUR-VER-005", "doc_n1", chain(set_attr("cda:setId", "root", "1.2.3.4.5"),
                                      set_attr("cda:id", "root", "1.2.3.4.5")),
     "version 1 whose setId equals its id"),
    ("SEGUR-PS-002", "img_n3", chain(set_attr("cda:code", "code", "11488-4"),
                                     set_attr(CR_IMG_TEMPLATE, "root", "1.2.3.4.5"),
                                     set_attr(LEGAL_ID, "root", "1.2.250.1.213.1.4.8"),
                                     set_attr(LEGAL_ID, "extension", "276059205062865")),
     "a consultation report endorsed by an usager identified by INS (as VAC_2023.01)"),
    ("SEGUR-CONF-001", "bio_n3", set_attr("cda:confidentialityCode", "code", "V"), "very restricted"),
    ("SEGUR-CODE-002", "img_n1", lambda root: None, "N1 radiology report with its own volet forced"),
    ("SEGUR-CODE-003", "bio_n3", chain(set_attr(TSH_CODE, "code", "6580-7")),
     "a deprecated LOINC term LOINC lists with a wrong check digit"),
    ("SEGUR-CODE-003", "bio_n3", lambda root: [el(root, TSH_CODE).attrib.pop(name) for name in
                                               ("code", "codeSystem", "codeSystemName", "displayName")],
     "no LOINC code, the local code in translation (as BIO-CR-BIO_2024.01_CRP_non_LOINC)"),
    ("SEGUR-CODE-003", "bio_n3", set_attr(TSH_CODE, "code", "20-8"),
     "a two-digit LOINC code (check digit 8)"),
    ("SEGUR-CODE-006", "bio_n3", set_attr(TSH_CODE, "code", "2345-7"),
     "another code of the value set (glucose)"),
    ("SEGUR-CODE-004", "bio_n3", set_attr(TSH_CODE, "code", "2345-7"),
     "a lab test code (glucose), the document keeping its own type code 11502-2"),
    ("SEGUR-TITLE-001", "img_n3", set_text("cda:title", " Compte rendu d'IRM "),
     "a title with spaces around"),
    ("SEGUR-VOLET-001", "img_n3", set_attr(CR_IMG_TEMPLATE, "root", "1.2.250.1.213.1.1.1.27"),
     "a breast-screening report (CANCER-D2LM-FIN) shares the code 18748-4"),
]


@pytest.mark.parametrize(("rule_id", "base", "mutate", "why"), PASSING,
                         ids=[f"{rule_id}-{why}" for rule_id, _, _, why in PASSING])
def test_valid_variants_pass(rule_id, base, mutate, why, bases):
    root = parse(bases[base]).getroot()
    mutate(root)
    data = etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")
    profile = "CR-IMG" if rule_id == "SEGUR-CODE-002" else None
    findings, _ = run(data, profile=profile)
    assert findings == [], [(f.rule, f.message) for f in findings]


NEW_RULES = {"SEGUR-TITLE-001", "SEGUR-VOLET-001", "SEGUR-CODE-003", "SEGUR-CODE-004", "SEGUR-CODE-005",
             "SEGUR-CODE-006"}


def test_no_official_example_gets_a_title_volet_or_result_code_finding(cda_pack):
    """The 94 ANS examples (N1 and N3, every volet) have a title, declare their volet and code their
    lab results with existing LOINC codes: none of these rules may fire on them."""
    for path in sorted((cda_pack / "ExemplesCDA").glob("*.xml")):
        findings, _ = run(path.read_bytes())
        assert [f.rule for f in findings if f.rule in NEW_RULES] == [], path.name


def _null_title(root):
    title = el(root, "cda:title")
    title.text = None
    title.set("nullFlavor", "UNK")


@pytest.mark.parametrize(("mutate", "problem"), [
    (_null_title, "null (nullFlavor UNK)"),
    (lambda root: el(root, "cda:title").addnext(copy.deepcopy(el(root, "cda:title"))), "given 2 times"),
])
def test_a_null_or_repeated_title_is_reported(bases, mutate, problem):
    root = parse(bases["img_n1"]).getroot()
    mutate(root)
    findings, _ = run(etree.tostring(root.getroottree()))
    assert [f.rule for f in findings] == ["SEGUR-TITLE-001"] and problem in findings[0].message


def test_without_pack_the_result_code_check_says_it_did_not_run(originals):
    findings, _ = run(originals["bio_n3"], with_pack=False)
    assert [(f.rule, f.severity) for f in findings] == [("SEGUR-CODE-005", Severity.INFO)]
    assert "no pack directory" in findings[0].message
    # the check digit needs no pack: it still runs
    root = parse(originals["bio_n3"]).getroot()
    el(root, TSH_CODE).set("code", "3016-4")
    findings, _ = run(etree.tostring(root.getroottree()), with_pack=False)
    assert {f.rule for f in findings} == {"SEGUR-CODE-003", "SEGUR-CODE-005"}


@pytest.mark.parametrize("code", ["18748-4", "11502-2"])
def test_a_document_type_code_as_a_result_code_is_refused_without_pack_or_value_set(originals, code):
    """The document type codes (JDV_J07, shipped with the harness) need neither the pack nor the user's
    biology value set: 18748-4 (CR d'imagerie) as a CR-BIO result was once accepted without them."""
    root = parse(originals["bio_n3"]).getroot()
    el(root, TSH_CODE).set("code", code)
    findings, _ = run(etree.tostring(root.getroottree()), with_pack=False, with_value_sets=False)
    errors = [f for f in findings if f.severity == Severity.ERROR]
    assert [f.rule for f in errors] == ["SEGUR-CODE-004"]
    assert "document type code" in errors[0].message and "JDV_J07_XdsTypeCode_CISIS" in errors[0].message
    assert "type de document" in errors[0].extra["message_fr"]


def test_the_imaging_code_message_still_names_the_pack_value_set(bases):
    root = parse(bases["bio_n3"]).getroot()
    el(root, TSH_CODE).set("code", "24627-2")
    (finding,) = run(etree.tostring(root.getroottree()))[0]
    value_set = "JDV_CodesDocumentImagerie_CISIS.xml"
    assert f"is an imaging code ({value_set} of the pack: " in finding.message
    assert f"est un code d'imagerie ({value_set} du pack : " in finding.extra["message_fr"]


def test_no_official_bio_example_codes_a_result_with_a_document_type_code(cda_pack):
    with_results = 0
    for path in sorted((cda_pack / "ExemplesCDA").glob("BIO-*.xml")):
        root = parse(path.read_bytes()).getroot()
        result = f"cda:observation[cda:templateId/@root='{RESULT_TEMPLATE}']"
        codes = root.xpath(f"//{result}/cda:code", namespaces=NS)
        with_results += bool(codes)
        document_types = xds_type_code_names()
        assert not [c.get("code") for c in codes if (c.get("code"), c.get("codeSystem")) in document_types]
        assert "SEGUR-CODE-004" not in {f.rule for f in run(path.read_bytes())[0]}, path.name
    assert with_results >= 10  # the N3 BIO examples (the N1 ones have no result entries)


def test_a_pack_without_the_imaging_value_set_is_said(originals, tmp_path):
    (tmp_path / "jeuxDeValeurs").mkdir()
    tree = parse(originals["bio_n3"])
    findings = check_segur(tree, Locator(originals["bio_n3"], tree), pack_root=tmp_path,
                           value_sets=_VALUE_SETS)
    assert [f.rule for f in findings] == ["SEGUR-CODE-005"]
    assert "JDV_CodesDocumentImagerie_CISIS.xml" in findings[0].message


def test_cr_bio_forced_on_a_document_checks_its_result_codes(originals):
    root = parse(originals["bio_n3"]).getroot()
    el(root, TSH_CODE).set("code", "24627-2")
    for template in root.xpath("cda:templateId[@root='1.2.250.1.213.1.1.1.55']", namespaces=NS):
        root.remove(template)
    el(root, "cda:code").set("code", "11488-4")  # no longer a CR-BIO by its code either
    data = etree.tostring(root.getroottree())
    assert "SEGUR-CODE-004" not in {f.rule for f in run(data)[0]}
    assert "SEGUR-CODE-004" in {f.rule for f in run(data, profile="CR-BIO")[0]}


@pytest.mark.parametrize(("number", "digit"),
                         [("12345", 5), ("3016", 3), ("11502", 2), ("18748", 4), ("20", 8), ("6580", 5)])
def test_loinc_check_digit_follows_loinc_appendix_c(number, digit):
    """12345 → 5 is LOINC's own example; 6580-7 is one of the 14 terms LOINC lists as wrong (computed 5)."""
    assert loinc_check_digit(number) == digit


def test_not_a_cda_document_gives_no_segur_finding():
    data = b"<html><body/></html>"
    assert run(data)[0] == []


def test_warnings_are_not_errors(originals):
    findings, _ = run(originals["img_n1"])
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_future_is_judged_against_now():
    tomorrow_plus = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y%m%d%H%M%S+0000")
    assert timestamp_problems(tomorrow_plus)[0] == "invalid"
    assert timestamp_problems("20240115143000+0100") == ("ok", None)


def test_docs_table_is_the_catalogue():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "segur-rules.md").read_text(encoding="utf-8")
    assert rules_table() in docs, "regenerate it: python -m segur.validators.segur_rules.doctable"


def test_rem_ids_exist_in_the_requirement_list(shared_ref):
    requirements = shared_ref.parent / "rem" / "requirements.csv"
    if not requirements.is_file():
        pytest.skip(f"REM requirement list not found at {requirements}")
    with requirements.open(encoding="utf-8") as handle:
        uids = {row["uid"] for row in csv.DictReader(handle)}
    for rule in RULES:
        assert rule.rem, rule.id
        assert set(rule.rem) <= uids, (rule.id, set(rule.rem) - uids)


def test_volet_table_agrees_with_the_packs_and_the_examples(cda_pack):
    """Each volet's code is asserted at the cited line of its Entete pattern, and every ANS example
    declaring the volet's templateId carries that code."""
    files = sorted((cda_pack / "ExemplesCDA").glob("*.xml"))
    examples = [parse(path.read_bytes()).getroot() for path in files]
    for volet in volets():
        path, _, line = volet["source"].split(";")[0].partition(" line ")
        text = (cda_pack / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        codes = {c["code"] for c in volet["codes"]}
        assert any(code in text for code in codes), (volet["name"], text)
        declaring = [root for root in examples
                     if root.xpath(f"cda:templateId[@root='{volet['template_root']}']", namespaces=NS)]
        assert declaring, volet["name"]
        for root in declaring:
            assert root.xpath("string(cda:code/@code)", namespaces=NS) in codes, volet["name"]


def test_value_set_copies_match_the_pack(cda_pack):
    def concepts(name):
        tree = etree.parse(str(cda_pack / "jeuxDeValeurs" / name))
        return {(c.get("code"), c.get("codeSystem")) for c in tree.iter("{*}Concept")}

    assert xds_type_codes() == concepts("JDV_J07_XdsTypeCode_CISIS.xml")
    confidentiality = value_set("confidentiality")
    j08 = concepts("JDV_J08_XdsConfidentialityCode_CISIS.xml")
    assert {(code, confidentiality["codeSystem"]) for code in confidentiality["codes"]} == {
        pair for pair in j08 if pair[1] == confidentiality["codeSystem"]}
    gender = value_set("administrative_gender")
    genders = concepts("JDV_J143_AdministrativeGender_CISIS.xml")
    assert {(code, gender["codeSystem"]) for code in gender["codes"]} == genders


@pytest.mark.parametrize("value", ["1961", "196103"])
def test_a_birth_date_known_only_to_the_year_or_month_is_a_warning(cda_pack, value):
    """INSi allows "lunar" birth dates; the DMP guide (§4.2.2, AM_DLU) only recommends a full date."""
    path = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml"
    tree = etree.parse(str(path))
    tree.find(".//{urn:hl7-org:v3}patient/{urn:hl7-org:v3}birthTime").set("value", value)
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    tree = etree.ElementTree(etree.fromstring(data))
    findings = [f for f in check_segur(tree, Locator(data, tree)) if f.rule == "SEGUR-PAT-002"]
    assert [f.severity.value for f in findings] == ["warning"]
