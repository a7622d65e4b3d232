"""The locator: line/column of start tags in the user's file, readable XPaths, index mapping."""

from __future__ import annotations

from lxml import etree

from segur.validators.locate import Locator

DOC = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc">\n'
    "  <!-- a comment is not an element -->\n"
    '  <recordTarget><patientRole><id root="1"/>\n'
    '    <id root="2"/><sdtc:x/></patientRole></recordTarget>\n'
    "  <title>Compte rendu d’imagerie</title><id/>\n"
    "</ClinicalDocument>\n"
).encode()


def _locator(data: bytes = DOC) -> tuple[Locator, etree._ElementTree]:
    tree = etree.ElementTree(etree.fromstring(data))
    return Locator(data, tree), tree


def _find(tree, path):
    return tree.getroot().xpath(path, namespaces={"cda": "urn:hl7-org:v3", "sdtc": "urn:hl7-org:sdtc"})[0]


def test_position_is_the_start_tag_in_the_users_file():
    loc, tree = _locator()
    assert loc.position(tree.getroot()) == (2, 1)
    assert loc.position(_find(tree, "//cda:patientRole/cda:id[1]")) == (4, 30)
    assert loc.position(_find(tree, "//cda:patientRole/cda:id[2]")) == (5, 5)
    assert loc.position(_find(tree, "//sdtc:x")) == (5, 19)


def test_columns_count_characters_not_bytes():
    loc, tree = _locator()
    # "  <title>Compte rendu d’imagerie</title>" : the apostrophe is 3 bytes but one column.
    assert loc.position(_find(tree, "/cda:ClinicalDocument/cda:id")) == (6, 41)


def test_xpath_is_prefixed_and_indexed():
    loc, tree = _locator()
    assert loc.xpath(tree.getroot()) == "/cda:ClinicalDocument"
    assert (loc.xpath(_find(tree, "//cda:patientRole/cda:id[2]"))
            == "/cda:ClinicalDocument/cda:recordTarget[1]/cda:patientRole[1]/cda:id[2]")
    assert loc.xpath(_find(tree, "//sdtc:x")).endswith("/cda:patientRole[1]/sdtc:x[1]")


def test_unknown_namespace_uses_an_expanded_name():
    data = b'<r xmlns="urn:x"><a/></r>'
    loc, tree = _locator(data)
    assert loc.xpath(tree.getroot()[0]) == "/Q{urn:x}r/Q{urn:x}a[1]"


def test_index_maps_to_elements_only_in_document_order():
    loc, tree = _locator()
    elements = list(tree.getroot().iter(etree.Element))
    assert [loc.index_of(e) for e in elements] == list(range(len(elements)))
    assert loc.element_at(3) is elements[3]
    assert loc.position_of_index(3) == (4, 30)
    assert loc.xpath_of_index(0) == "/cda:ClinicalDocument"


def test_element_at_out_of_range_raises_index_error():
    loc, _ = _locator()
    try:
        loc.element_at(999)
    except IndexError as exc:
        assert "999" in str(exc)
    else:
        raise AssertionError("expected IndexError")


def test_foreign_element_falls_back_to_its_line_only():
    loc, _ = _locator()
    other = etree.fromstring(b"<a>\n<b/></a>")[0]
    assert loc.position(other) == (2, None)


def test_column_unknown_when_bytes_do_not_match_tree():
    tree = etree.ElementTree(etree.fromstring(DOC))
    loc = Locator(b"<other/>", tree)
    line, column = loc.position(tree.getroot())
    assert (line, column) == (2, None)


def test_locate_gives_finding_keywords():
    loc, tree = _locator()
    where = loc.locate(_find(tree, "//cda:title"))
    assert where == {"line": 6, "column": 3, "xpath": "/cda:ClinicalDocument/cda:title[1]"}


def test_bom_crlf_and_latin1_documents_keep_exact_positions():
    body = '<ClinicalDocument xmlns="urn:hl7-org:v3">\r\n  <title>é</title><id/>\r\n</ClinicalDocument>'
    for data in (b"\xef\xbb\xbf" + body.encode("utf-8"), body.encode("utf-16"),
                 ('<?xml version="1.0" encoding="ISO-8859-1"?>\r\n' + body).encode("latin-1")):
        loc, tree = _locator(data)
        first_line = 2 if data.startswith(b"<?xml") else 1
        assert loc.position(tree.getroot()) == (first_line, 1)
        assert loc.position(_find(tree, "//cda:id")) == (first_line + 1, 19)
