"""The Ségur rules: every rule has a document that passes it and one that fails on exactly it.

Failing documents are the official ANS examples mutated with lxml; each case says which element
the finding must point at, and the test checks the line, column and XPath in the mutated file.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from segur import ins
from segur.findings import Severity
from segur.validators.segur_rules import RULES, check_segur
from segur.validators.segur_rules.context import HL7

try:  # the validator core's locator; a minimal stand-in keeps these tests independent of it
    from segur.validators.locate import Locator
except ImportError:  # pragma: no cover - only before the core lands
    Locator = None

NS = {"cda": HL7}
EXAMPLES = {
    "img_n1": "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml",
    "img_n3": "IMG_CR_IMG_2024.01.xml",
    "bio_n3": "BIO-CR-BIO_2024.01_TSH_1.xml",
    "doc_n1": "DOC_NON_STRUCTURE_CDA-R2-N1.xml",
}

pytestmark = pytest.mark.needs_ref


class FakeLocator:
    """Line from lxml, column from the raw text: enough for these tests if the core locator is absent."""

    def __init__(self, data: bytes, tree):
        self.lines = data.decode("utf-8").splitlines()

    def position(self, element):
        line = element.sourceline
        text = self.lines[line - 1]
        column = text.find("<" + etree.QName(element).localname) + 1
        return line, column or None

    def xpath(self, element):
        return element.getroottree().getpath(element)


def make_locator(data: bytes, tree):
    return Locator(data, tree) if Locator is not None else FakeLocator(data, tree)


def parse(data: bytes):
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)).getroottree()


def run(data: bytes, profile: str | None = None):
    tree = parse(data)
    return check_segur(tree, make_locator(data, tree), profile=profile), tree


@pytest.fixture(scope="module")
def originals(cda_pack: Path) -> dict[str, bytes]:
    return {key: (cda_pack / "ExemplesCDA" / name).read_bytes() for key, name in EXAMPLES.items()}


@pytest.fixture(scope="module")
def pdfa_b64(originals) -> str:
    """A real PDF/A-1b (the lab report copy embedded in the official CR-BIO example)."""
    root = parse(originals["bio_n3"]).getroot()
    media = root.xpath("//cda:observationMedia/cda:value[@mediaType='application/pdf']", namespaces=NS)[0]
    return "".join(media.text.split())


@pytest.fixture(scope="module")
def bases(originals, pdfa_b64) -> dict[str, bytes]:
    """Clean documents: the official examples, with the N1 bodies swapped for a PDF/A so that they
    pass every Ségur rule, warnings included."""
    out = dict(originals)
    for key in ("img_n1", "doc_n1"):
        root = parse(originals[key]).getroot()
        text = root.find(f"{{{HL7}}}component/{{{HL7}}}nonXMLBody/{{{HL7}}}text")
        text.text = pdfa_b64
        out[key] = etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")
    return out


# -- mutation helpers ---------------------------------------------------------------------------------
def el(root, path: str):
    found = root.xpath(path, namespaces=NS)
    assert found, f"test setup: {path} not found"
    return found[0]


def set_attr(path: str, name: str, value: str) -> Callable:
    def mutate(root):
        el(root, path).set(name, value)
    return mutate


def remove(path: str) -> Callable:
    def mutate(root):
        node = el(root, path)
        node.getparent().remove(node)
    return mutate


def set_text(path: str, text: str) -> Callable:
    def mutate(root):
        el(root, path).text = text
    return mutate


def chain(*mutations: Callable) -> Callable:
    def mutate(root):
        for m in mutations:
            m(root)
    return mutate


def add_second_ins(root):
    first = el(root, "cda:recordTarget/cda:patientRole/cda:id[@root='1.2.250.1.213.1.4.10']")
    other = copy.deepcopy(first)
    other.set("extension", ins.with_key("2790351215190"))
    first.addnext(other)


def duplicate_record_target(root):
    target = el(root, "cda:recordTarget")
    target.addnext(copy.deepcopy(target))


def use_non_pdfa_body(pdf_source: str):
    """Put back the official (non PDF/A) PDF of an N1 example (done by `mutated_bytes`)."""
    def mutate(root):
        pass
    mutate.source = pdf_source
    return mutate


PATIENT = "cda:recordTarget/cda:patientRole"
INS_ID = f"{PATIENT}/cda:id[@root='1.2.250.1.213.1.4.10']"
IPP_ID = f"{PATIENT}/cda:id[@root='1.2.3.4.567.8.9.10']"
N1_TEXT = "cda:component/cda:nonXMLBody/cda:text"
AUTHOR_ID = "cda:author[1]/cda:assignedAuthor/cda:id[@root='1.2.250.1.71.4.2.1']"
LEGAL_ID = "cda:legalAuthenticator/cda:assignedEntity/cda:id"


@dataclass(frozen=True)
class Case:
    rule: str
    base: str
    mutate: Callable
    target: str  # XPath (from the root) of the element the finding must point at
    why: str
    profile: str | None = None


FAILING: list[Case] = [
    Case("SEGUR-INS-001", "img_n1", remove(INS_ID), PATIENT, "INS removed"),
    Case("SEGUR-INS-002", "img_n1", set_attr(INS_ID, "extension", "27903512151898"), INS_ID, "truncated INS"),
    Case("SEGUR-INS-002", "bio_n3", set_attr(INS_ID, "extension", "2790351215 8989"), INS_ID, "INS with a space"),
    Case("SEGUR-INS-003", "img_n1", set_attr(INS_ID, "extension", "279035121518988"), INS_ID, "wrong NIR key"),
    Case("SEGUR-INS-004", "img_n3", add_second_ins, f"{PATIENT}/cda:id[2]", "two different INS"),
    Case("SEGUR-INS-005", "img_n1", set_attr(INS_ID, "root", "1.2.250.1.213.1.4.2"), f"{PATIENT}/cda:id[1]",
         "INS under the retired INS-C OID"),
    Case("SEGUR-INS-005", "bio_n3", set_attr(INS_ID, "root", "1.2.3.4.567.8.9.10"), f"{PATIENT}/cda:id[1]",
         "INS under the IPP's OID"),
    Case("SEGUR-INS-006", "img_n1", set_attr(f"{PATIENT}/cda:patient/cda:administrativeGenderCode", "code", "M"),
         INS_ID, "INS of a woman, sex M"),
    Case("SEGUR-PAT-001", "img_n3", duplicate_record_target, "cda:recordTarget[2]", "two patients"),
    Case("SEGUR-PAT-002", "img_n1", set_attr(f"{PATIENT}/cda:patient/cda:birthTime", "value", "19790332"),
         f"{PATIENT}/cda:patient/cda:birthTime", "31+1 March"),
    Case("SEGUR-PAT-002", "doc_n1", remove(f"{PATIENT}/cda:patient/cda:birthTime"), f"{PATIENT}/cda:patient",
         "no birth date"),
    Case("SEGUR-PAT-003", "bio_n3", remove(f"{PATIENT}/cda:patient/cda:administrativeGenderCode"),
         f"{PATIENT}/cda:patient", "no sex"),
    Case("SEGUR-PAT-004", "img_n1", remove(f"{PATIENT}/cda:patient/cda:name/cda:family[@qualifier='BR']"),
         f"{PATIENT}/cda:patient", "no birth name"),
    Case("SEGUR-PS-001", "img_n1", set_attr(AUTHOR_ID, "root", "1.2.250.1.71.4.2.2"),
         "cda:author[1]/cda:assignedAuthor", "author identified by a structure OID"),
    Case("SEGUR-PS-002", "img_n3", set_attr(LEGAL_ID, "root", "1.2.250.1.71"), "cda:legalAuthenticator/cda:assignedEntity",
         "legal authenticator under a truncated OID"),
    Case("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "01234560801"), AUTHOR_ID,
         "RPPS without its 8 prefix"),
    Case("SEGUR-BODY-001", "img_n1", set_attr(N1_TEXT, "mediaType", "text/plain"), N1_TEXT, "text/plain body"),
    Case("SEGUR-BODY-002", "doc_n1", set_text(N1_TEXT, "JVBERi0xLjUN*&^%"), N1_TEXT, "not base64"),
    Case("SEGUR-BODY-003", "img_n1", set_text(N1_TEXT, base64.b64encode(b"Hello, this is not a PDF").decode()),
         N1_TEXT, "base64 of plain text"),
    Case("SEGUR-BODY-004", "img_n1", use_non_pdfa_body("img_n1"), N1_TEXT, "the example's own PDF is not PDF/A"),
    Case("SEGUR-BODY-005", "img_n1", remove("cda:templateId[@root='1.3.6.1.4.1.19376.1.2.20']"),
         "cda:component/cda:nonXMLBody", "N1 body without the N1 templateId"),
    Case("SEGUR-CODE-001", "img_n1", set_attr("cda:code", "codeSystem", "2.16.840.1.113883.6.96"), "cda:code",
         "document code outside the DMP typeCodes"),
    Case("SEGUR-CODE-002", "img_n3", set_attr("cda:code", "code", "11502-2"), "cda:code",
         "CR-IMG declared, lab report code"),
    Case("SEGUR-CODE-002", "img_n1", lambda root: None, "cda:code", "N1 radiology report forced to the CR-BIO volet",
         profile="CR-BIO"),
    Case("SEGUR-TIME-001", "img_n1", set_attr("cda:effectiveTime", "value", "20210108111700"), "cda:effectiveTime",
         "no time zone"),
    Case("SEGUR-TIME-001", "bio_n3", set_attr("cda:author/cda:time", "value", "20210104160527"),
         "cda:author/cda:time", "author time without zone"),
    Case("SEGUR-TIME-002", "img_n3", set_attr("cda:effectiveTime", "value", "20210108+0100"), "cda:effectiveTime",
         "day precision"),
    Case("SEGUR-TIME-003", "img_n1", set_attr("cda:legalAuthenticator/cda:time", "value", "20211308111700+0100"),
         "cda:legalAuthenticator/cda:time", "month 13"),
    Case("SEGUR-TIME-003", "doc_n1", set_attr("cda:effectiveTime", "value", "29181201120000+0100"),
         "cda:effectiveTime", "year 2918"),
    Case("SEGUR-VER-001", "img_n1", set_attr("cda:id", "root", "CR-2024-0001"), "cda:id", "id root not an OID"),
    Case("SEGUR-VER-002", "bio_n3", set_attr("cda:setId", "root", "1.2.250.1.213.1.1.1.55.02024"), "cda:setId",
         "OID with a leading zero arc"),
    Case("SEGUR-VER-003", "img_n1", set_attr("cda:versionNumber", "value", "0"), "cda:versionNumber", "version 0"),
    Case("SEGUR-VER-004", "img_n1", remove("cda:relatedDocument"), "cda:versionNumber", "v2 without RPLC"),
    Case("SEGUR-VER-005", "img_n1", set_attr("cda:relatedDocument/cda:parentDocument/cda:id", "root",
                                             "1.2.250.1.213.1.1.1.45.2024.2.1"),
         "cda:relatedDocument/cda:parentDocument/cda:id", "replaces itself"),
    Case("SEGUR-VER-005", "doc_n1", lambda root: el(root, "cda:setId").addnext(etree.fromstring(
        f'<relatedDocument xmlns="{HL7}" typeCode="RPLC"><parentDocument><id root="1.2.3.4"/></parentDocument>'
        "</relatedDocument>")), "cda:relatedDocument/cda:parentDocument/cda:id", "RPLC on a version 1"),
    Case("SEGUR-CONF-001", "img_n1", set_attr("cda:confidentialityCode", "code", "L"), "cda:confidentialityCode",
         "L is in the HL7 value set, not in the DMP's"),
]


def mutated_bytes(case: Case, bases: dict, originals: dict) -> bytes:
    root = parse(bases[case.base]).getroot()
    source = getattr(case.mutate, "source", None)
    if source is not None:
        original = parse(originals[source]).getroot()
        el(root, N1_TEXT).text = el(original, N1_TEXT).text
    else:
        case.mutate(root)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


def case_id(case: Case) -> str:
    return f"{case.rule}-{case.why.replace(' ', '_')}"


# -- the reference documents ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_official_examples_have_no_segur_error(originals, key):
    findings, _ = run(originals[key])
    assert [f for f in findings if f.is_error] == []
    # The only warning: the N1 examples embed a PDF that is not PDF/A (see docs/segur-rules.md).
    assert {f.rule for f in findings} <= {"SEGUR-BODY-004"}
    assert bool(findings) == key.endswith("n1")


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_clean_bases_pass_every_rule(bases, key):
    findings, _ = run(bases[key])
    assert findings == []


# -- one failing document per rule ----------------------------------------------------------------------
@pytest.mark.parametrize("case", FAILING, ids=case_id)
def test_mutated_example_fails_on_exactly_its_rule(case, bases, originals):
    data = mutated_bytes(case, bases, originals)
    findings, tree = run(data, profile=case.profile)
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
    findings, _ = run(mutated_bytes(case, bases, originals), profile=case.profile)
    for finding in findings:
        french = finding.extra["message_fr"]
        assert finding.message and french and french != finding.message
        assert "{" not in finding.message and "{" not in french
        assert finding.extra["rem"]


def test_every_rule_has_a_failing_case():
    declared = {rule.id for rule in RULES}
    assert declared == {case.rule for case in FAILING}
    for rule in RULES:
        assert rule.id.startswith("SEGUR-") and rule.layer == "segur"
        assert rule.message_en and rule.message_fr and rule.hint and rule.source


def test_rules_are_in_the_shared_catalogue():
    from segur.rules import get

    for rule in RULES:
        assert get(rule.id) is rule


# -- passing variants -----------------------------------------------------------------------------------
PASSING: list[tuple[str, str, Callable, str]] = [
    ("SEGUR-INS-003", "img_n1", set_attr(INS_ID, "extension", ins.with_key("27903" + "2A" + "215189")),
     "Corsica INS, key computed on 19"),
    ("SEGUR-INS-005", "bio_n3", lambda root: el(root, INS_ID).addnext(etree.fromstring(
        f'<id xmlns="{HL7}" root="1.2.250.1.213.1.4.13" extension="279035121518989"/>')),
     "the NIR as social-security number next to the INS"),
    ("SEGUR-INS-004", "img_n3", lambda root: el(root, INS_ID).addnext(copy.deepcopy(el(root, INS_ID))),
     "the same INS written twice"),
    ("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "3750100125/LOCAL-42"), "FINESS-based id"),
    ("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "0751234567"), "ADELI-based id"),
    ("SEGUR-TIME-001", "img_n1", set_attr("cda:effectiveTime", "value", "202101081117-0500"), "negative offset, minutes"),
    ("SEGUR-VER-001", "img_n1", set_attr("cda:id", "root", "90e1c8ec-f951-4b26-a305-a34848818dd7"), "UUID id"),
    ("SEGUR-VER-005", "doc_n1", chain(set_attr("cda:setId", "root", "1.2.3.4.5"), set_attr("cda:id", "root", "1.2.3.4.5")),
     "version 1 whose setId equals its id"),
    ("SEGUR-CONF-001", "bio_n3", set_attr("cda:confidentialityCode", "code", "V"), "very restricted"),
    ("SEGUR-CODE-002", "img_n1", lambda root: None, "N1 radiology report with its own volet forced"),
]


@pytest.mark.parametrize(("rule_id", "base", "mutate", "why"), PASSING, ids=[p[0] + "-" + p[3] for p in PASSING])
def test_valid_variants_pass(rule_id, base, mutate, why, bases):
    root = parse(bases[base]).getroot()
    mutate(root)
    data = etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")
    profile = "CR-IMG" if rule_id == "SEGUR-CODE-002" else None
    findings, _ = run(data, profile=profile)
    assert findings == [], [(f.rule, f.message) for f in findings]


def test_not_a_cda_document_gives_no_segur_finding():
    data = b"<html><body/></html>"
    assert run(data)[0] == []


def test_warnings_are_not_errors(originals):
    findings, _ = run(originals["img_n1"])
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_future_is_judged_against_now():
    from segur.validators.segur_rules.header import timestamp_problems

    tomorrow_plus = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y%m%d%H%M%S+0000")
    assert timestamp_problems(tomorrow_plus)[0] == "invalid"
    assert timestamp_problems("20240115143000+0100") == ("ok", None)
