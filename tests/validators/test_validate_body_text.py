"""The N1 body text read once for the Schematron placeholder and the Ségur body rules
(`segur.validators.body_text`): the same bytes object for both layers, the placeholder verified in place,
and the same findings as before on every official example."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from segur.validators import body_text, safe_xml
from segur.validators.api import Validator
from segur.validators.schematron import body as schematron_body
from segur.validators.schematron.body import MIN_TEXT, PLACEHOLDER, schematron_view

H = "{urn:hl7-org:v3}"


def _element(text: str) -> etree._Element:
    element = etree.Element(f"{H}text")
    element.text = text
    return element


def test_the_same_element_gives_the_same_bytes_object_without_reading_its_text_again():
    element = _element("QUJD" * 10)
    first = body_text.ascii_text(element)
    assert first == b"QUJD" * 10 and body_text.ascii_text(element) is first


def test_only_non_empty_ascii_text_is_given_as_bytes():
    assert body_text.ascii_text(_element("QUJD\u00a0QUJD")) is None
    assert body_text.ascii_text(etree.Element(f"{H}text")) is None
    assert body_text.ascii_text(_element("  \n")) == b"  \n"


def test_only_the_last_few_elements_are_kept():
    elements = [_element(f"QUJD{i}") for i in range(body_text._KEEP + 3)]
    for element in elements:
        body_text.ascii_text(element)
    assert len(body_text._kept) == body_text._KEEP
    assert [known for known, _ in body_text._kept] == elements[::-1][:body_text._KEEP]


def _old_view(data: bytes, tree) -> bytes:
    """The placeholder as it was computed before the shared read: ``.text`` encoded, the span copied."""
    element = tree.getroot().find(f"{H}component/{H}nonXMLBody/{H}text")
    text = element.text if element is not None and not len(element) else None
    if text is None or len(text) < MIN_TEXT:
        return data
    qname = (f"{element.prefix}:text" if element.prefix else "text").encode("utf-8")
    end = data.rfind(b"</" + qname, 0, data.rfind(b"nonXMLBody"))
    start = data.rfind(b">", 0, end) + 1
    raw = data[start:end].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if raw != text.encode("utf-8"):
        return data
    return b"".join((data[:start], PLACEHOLDER, schematron_body._line_breaks(data, start, end), data[end:]))


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("text", ["QUJD" * 2000, "QUJD" * 1000 + "\n" + "QUJD" * 1000, "é" * 5000])
def test_the_placeholder_is_the_one_computed_before_for_ascii_wrapped_and_non_ascii_bodies(text, newline):
    data = (b'<ClinicalDocument xmlns="urn:hl7-org:v3">\n<component><nonXMLBody><text>'
            + text.encode().replace(b"\n", newline) + b"</text></nonXMLBody></component></ClinicalDocument>")
    tree = safe_xml.parse(data).tree
    out = schematron_view(data, tree)
    assert out == _old_view(data, tree) and out != data


def test_a_body_whose_bytes_differ_from_its_text_by_one_byte_of_the_same_length_is_left_alone():
    text = "QUJD" * 2000
    data = (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><component><nonXMLBody><text>' + text.encode()
            + b"</text></nonXMLBody></component></ClinicalDocument>")
    tree = safe_xml.parse(data).tree
    element = tree.getroot().find(f"{H}component/{H}nonXMLBody/{H}text")
    body_text._kept.insert(0, (element, ("QUJE" + text[4:]).encode()))  # a text that is not the span's
    assert schematron_view(data, tree) is data


@pytest.fixture(scope="module")
def validator(cda_pack: Path, tmp_path_factory) -> Validator:
    return Validator(pack=cda_pack, cache_dir=tmp_path_factory.mktemp("schematron-cache"))


def _findings(report) -> list[tuple]:
    return [(f.rule, f.severity, f.line, f.column, f.xpath, f.message) for f in report.findings]


@pytest.mark.needs_ref
def test_every_official_example_gets_the_same_findings_with_the_shared_read_as_without(cda_pack, validator,
                                                                                       monkeypatch):
    examples = [path for path in sorted((cda_pack / "ExemplesCDA").glob("*.xml"))  # those with base64 text
                if b"nonXMLBody" in path.read_bytes() or b'representation="B64"' in path.read_bytes()]
    shared = [_findings(validator.validate(path.read_bytes(), name=path.name)) for path in examples]
    monkeypatch.setattr(body_text, "_KEEP", 0)  # every layer reads .text itself, as before
    alone = [_findings(validator.validate(path.read_bytes(), name=path.name)) for path in examples]
    assert len(examples) >= 10 and shared == alone


@pytest.mark.needs_ref
def test_the_segur_body_rules_reuse_the_bytes_the_schematron_layer_read(cda_pack, validator, monkeypatch):
    handed = []
    original = body_text.ascii_text

    def spy(element):
        handed.append((element, original(element)))
        return handed[-1][1]

    monkeypatch.setattr(schematron_body, "ascii_text", spy)
    monkeypatch.setattr("segur.validators.segur_rules.body.ascii_text", spy)
    data = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
    report = validator.validate(data)
    assert "SEGUR-BODY-002" not in {f.rule for f in report.findings}  # the shared bytes decoded
    assert len(handed) == 2 and handed[0][0] is handed[1][0] and handed[0][1] is handed[1][1]


# --- the body's text sliced from the document's bytes (read_from_source)
BODY = "QUJD" * 2000


def _n1(text: str, tail: str = "</ClinicalDocument>") -> str:
    return (f'<ClinicalDocument xmlns="urn:hl7-org:v3"><component><nonXMLBody><text>{text}</text>'
            f"</nonXMLBody></component>{tail}")


SHAPES = {  # name: (document, whether its bytes are the body's text)
    "usual": (_n1(BODY).replace("><", ">\n<") + "\n", True),
    "prefixed": ('<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3"><cda:component><cda:nonXMLBody>'
                 f"<cda:text>{BODY}</cda:text ></cda:nonXMLBody></cda:component>"
                 "</cda:ClinicalDocument>", True),
    "comment after": (_n1(BODY, "</ClinicalDocument><!-- <text>QUJD</text> -->"), False),
    "character reference": (_n1("&#81;" + BODY), False),
    "cdata": (_n1(f"<![CDATA[{BODY}]]>"), False),
    "carriage return": (_n1(f"{BODY}\r\n{BODY}"), False),
    "non-ascii": (_n1("é" + BODY), False),
    "another element after": (_n1(BODY, "<x/></ClinicalDocument>"), False),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_body_is_sliced_from_the_bytes_only_when_they_are_its_text(shape, monkeypatch):
    monkeypatch.setattr(body_text, "_kept", [])
    document, sliced = SHAPES[shape]
    data = document.encode("utf-8")
    tree = safe_xml.parse(data).tree
    element = tree.getroot().find(f"{H}component/{H}nonXMLBody/{H}text")
    body_text.read_from_source(data, tree)
    assert ([known for known, _ in body_text._kept] == [element]) == sliced
    text = element.text
    assert body_text.ascii_text(element) == (text.encode("ascii") if text.isascii() else None)
