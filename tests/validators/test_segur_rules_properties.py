"""Property tests for the INS rules, and unit tests of the helpers the Ségur rules are built on.

The INS properties run on the official CR-IMG N1 example with only the INS and the traits it
encodes changed, so "passes" means the whole Ségur rule set is silent on it.
"""

from __future__ import annotations

import base64
import zlib
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from segur.kernel import ins
from segur.validators.segur_rules import check_segur
from segur.validators.segur_rules.context import HL7
from segur.validators.segur_rules.header import timestamp_problems
from segur.validators.segur_rules.identity import classify_ins
from segur.validators.segur_rules.pdf import pdf_problem, pdfa_part
from segur.validators.segur_rules.professionals import idnps_problem

NS = {"cda": HL7}
INS_RULES = {f"SEGUR-INS-00{n}" for n in range(1, 8)}


class LineLocator:
    """Lines only: these tests look at which rules fire, not where (the tree is mutated in place, so
    the original bytes no longer describe it)."""

    def position(self, element):
        return element.sourceline, None

    def xpath(self, element):
        return element.getroottree().getpath(element)


@st.composite
def nirs(draw) -> str:
    """13-character NIRs of people born in France in the 20th century (Corsica included)."""
    sex = draw(st.sampled_from("12"))
    year = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    department = draw(st.sampled_from(["2A", "2B", *(f"{d:02d}" for d in range(1, 96) if d != 20)]))
    commune = draw(st.integers(1, 999))
    order = draw(st.integers(1, 999))
    return f"{sex}{year:02d}{month:02d}{department}{commune:03d}{order:03d}"


@pytest.fixture(scope="module")
def n1_document(cda_pack):
    data = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
    return etree.fromstring(data, etree.XMLParser(huge_tree=True)).getroottree()


def _patient(tree):
    role = tree.getroot().xpath("cda:recordTarget/cda:patientRole", namespaces=NS)[0]
    return (role.xpath("cda:id[@root='1.2.250.1.213.1.4.10']", namespaces=NS)[0],
            role.xpath("cda:patient/cda:administrativeGenderCode", namespaces=NS)[0],
            role.xpath("cda:patient/cda:birthTime", namespaces=NS)[0])


def _ins_rules_fired(tree) -> set[str]:
    return {f.rule for f in check_segur(tree, LineLocator())} & INS_RULES


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nir=nirs())
def test_any_valid_nir_with_matching_traits_passes(n1_document, nir):
    ins_id, gender, birth = _patient(n1_document)
    ins_id.set("extension", ins.with_key(nir))
    ins_id.getparent().xpath("cda:telecom[starts-with(@value, 'mailto:')]", namespaces=NS)[0].set(
        "value", f"mailto:{ins.Ins(ins.with_key(nir)).citizen_mailbox}")
    gender.set("code", "M" if nir[0] == "1" else "F")
    birth.set("value", date(1900 + int(nir[1:3]), int(nir[3:5]), 15).strftime("%Y%m%d"))
    assert _ins_rules_fired(n1_document) == set()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nir=nirs(), position=st.integers(0, 14), replacement=st.sampled_from("0123456789AB Z"))
def test_any_single_character_change_of_a_valid_ins_fails(n1_document, nir, position, replacement):
    valid = ins.with_key(nir)
    if valid[position] == replacement:
        replacement = "9" if replacement != "9" else "8"
    changed = valid[:position] + replacement + valid[position + 1:]
    ins_id, _, _ = _patient(n1_document)
    ins_id.set("extension", changed)
    fired = _ins_rules_fired(n1_document)
    assert fired & {"SEGUR-INS-002", "SEGUR-INS-003"}, (valid, changed, fired)


@given(nir=nirs())
def test_classify_ins_agrees_with_the_shared_key(nir):
    assert classify_ins(ins.with_key(nir)) == (None, None)
    wrong_key = f"{(int(ins.nir_key(nir)) + 1) % 100:02d}"
    assert classify_ins(nir + wrong_key)[0] == "key"
    assert classify_ins(nir)[0] == "shape"


# -- helpers --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "ok"), [
    ("801234560801", True), ("0751234567", True), ("02A1234567", True), ("3750100125/ABC-1", True),
    ("4123456789/x", True), ("578435954900010/1.2.250.1.176.1", True), ("610101234567/poste1", True),
    ("01234567897", False), ("369838578", False), ("401234567890009", False), ("80123456080", False),
    ("901234560801", False), ("8012345608 1", False), ("", False), ("3750100125/", False),
])
def test_idnps_shapes(value, ok):
    assert (idnps_problem(value) is None) is ok


@pytest.mark.parametrize(("value", "kind"), [
    ("20240115143000+0100", "ok"), ("202401151430-0230", "ok"), ("20240115143000.123+0000", "ok"),
    ("20240115143000", "no-tz"), ("202401151430", "no-tz"),
    ("20240115+0100", "imprecise"), ("2024011514+0100", "imprecise"), ("2024", "imprecise"),
    ("20241315143000+0100", "invalid"), ("20240230120000+0100", "invalid"),
    ("20240115253000+0100", "invalid"), ("20240115143000+1500", "invalid"),
    ("18991231235959+0100", "invalid"), ("29181201120000+0100", "invalid"),
    ("20240115143000+100", "invalid"), ("2024-01-15", "invalid"),
])
def test_timestamp_kinds(value, kind):
    assert timestamp_problems(value)[0] == kind


MINIMAL_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_pdf_checks():
    assert pdf_problem(MINIMAL_PDF) is None
    assert "empty" in pdf_problem(b"").en
    assert "header" in pdf_problem(b"<html>" + MINIMAL_PDF).en
    assert "%%EOF" in pdf_problem(MINIMAL_PDF[:-7]).en
    assert "vide" in pdf_problem(b"").fr


def test_pdfa_declared_in_plain_and_in_compressed_xmp():
    xmp = b'<x:xmpmeta><rdf:Description pdfaid:part="2" pdfaid:conformance="B"/></x:xmpmeta>'
    assert pdfa_part(MINIMAL_PDF.replace(b"%%EOF", xmp + b"\n%%EOF")) == 2
    element_form = b"<pdfaid:part>1</pdfaid:part>"
    assert pdfa_part(MINIMAL_PDF + element_form) == 1
    packed = zlib.compress(xmp)
    header = b"<< /Type /Metadata /Subtype /XML /Filter /FlateDecode /Length %d >>" % len(packed)
    stream = b"2 0 obj\n" + header + b"\nstream\n"
    compressed = MINIMAL_PDF.replace(b"trailer", stream + packed + b"\nendstream\nendobj\ntrailer")
    assert pdfa_part(compressed) == 2
    assert pdfa_part(MINIMAL_PDF) is None


# -- robustness: a damaged document gives findings, never a crash ---------------------------------
@pytest.mark.parametrize("name", ["IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", "BIO-CR-BIO_2024.01_TSH_1.xml"])
def test_removing_any_header_or_n1_body_element_or_attribute_never_crashes(cda_pack, name):
    data = (cda_pack / "ExemplesCDA" / name).read_bytes()
    root = etree.fromstring(data, etree.XMLParser(huge_tree=True))
    # small PDFs keep the ~300 runs cheap (the PDF checks themselves are tested elsewhere)
    small_pdfa = MINIMAL_PDF.replace(b"%%EOF", b"<pdfaid:part>1</pdfaid:part>\n%%EOF")
    pdf_texts = "cda:component/cda:nonXMLBody/cda:text|//cda:observationMedia/cda:value"
    for text in root.xpath(pdf_texts, namespaces=NS):
        text.text = base64.b64encode(small_pdfa).decode()
    locator = LineLocator()
    structured = root.find(f"{{{HL7}}}component/{{{HL7}}}structuredBody")
    header = [el for el in root.iter(etree.Element) if el is not root and el is not structured
              and (structured is None or structured not in el.iterancestors())]
    checked = 0
    for element in header:
        for attribute in list(element.attrib):
            value = element.attrib.pop(attribute)
            check_segur(root, locator)
            element.set(attribute, value)
            checked += 1
        parent, index = element.getparent(), element.getparent().index(element)
        parent.remove(element)
        check_segur(root, locator)
        parent.insert(index, element)
        checked += 1
    assert checked > 200
    assert [f.rule for f in check_segur(root, locator) if f.is_error] == []
