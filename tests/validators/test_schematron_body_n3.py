"""The Schematron layer sees an N3 document with each embedded base64 ``observationMedia/value`` text
replaced by a placeholder (`segur.validators.schematron.body`): the audit of the packs that allows it
(`segur.validators.schematron.audit`), the substitution and the cases where it must not happen, and the
same Schematron findings (rule, severity, line, column, XPath, message) full vs placeholder on official
examples, generated documents and documents seeded with defects near the embedded value."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from schematron_views import light_and_full, same_findings

from segur.fixtures.documents import build_cr_bio_n3_minimal, build_ldl_ses_n3, build_vsm_n3
from segur.fixtures.world import load_world
from segur.validators import safe_xml
from segur.validators.api import Validator, validate
from segur.validators.schematron import audit
from segur.validators.schematron.body import MIN_TEXT, PLACEHOLDER, schematron_view

H = "{urn:hl7-org:v3}"
PAYLOAD = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256)) * 40).decode("ascii")  # ~14 KB of base64
OTHER = base64.b64encode(b"\x89PNG\r\n" + bytes(range(255, -1, -1)) * 30).decode("ascii")
IMG_N3 = "IMG_CR_IMG_2024.01.xml"
MEDIA_ATTRS = ' mediaType="application/pdf" representation="B64"'


def n3(*values: str, prefix: str = "", newline: str = "\n", before: str = "") -> bytes:
    """A small N3 document with one ``observationMedia`` per item of `values`, each item being what is
    written verbatim between ``<observationMedia …>`` and its end tag (see `media`)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="urn:hl7-org:v3"' if prefix else 'xmlns="urn:hl7-org:v3"'
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{p}ClinicalDocument {xmlns}>",
             f"  <{p}title>N3</{p}title>", f"  <{p}component>", f"    <{p}structuredBody>",
             f"      <{p}component>", f"        <{p}section>", f"          <{p}title>Copie</{p}title>"]
    for value in values:
        lines += [f"          <{p}entry>{before}",
                  f'            <{p}observationMedia classCode="OBS" moodCode="EVN">{value.replace("~", p)}'
                  f"</{p}observationMedia>", f"          </{p}entry>"]
    lines += [f"        </{p}section>", f"      </{p}component>", f"    </{p}structuredBody>",
              f"  </{p}component>", f"</{p}ClinicalDocument>", ""]
    return newline.join(lines).encode("utf-8")


def media(text: str, attrs: str = MEDIA_ATTRS) -> str:
    """A ``value`` element (``~`` stands for the namespace prefix) holding `text` verbatim."""
    return f"<~value{attrs}>{text}</~value>"


def view(data: bytes) -> bytes:
    return schematron_view(data, safe_xml.parse(data).tree)


def media_texts(data: bytes) -> list[str]:
    values = etree.fromstring(data).iter(f"{H}value")
    return [v.text for v in values if v.getparent().tag == f"{H}observationMedia"]


def wrapped(text: str, width: int = 76, newline: str = "\n") -> str:
    return newline + newline.join(text[i:i + width] for i in range(0, len(text), width)) + newline + "  "


# -- the substitution ------------------------------------------------------------------------------------
def test_a_one_line_media_value_becomes_the_placeholder_and_nothing_else_changes():
    data = n3(media(PAYLOAD))
    head, _, tail = data.partition(PAYLOAD.encode())
    assert view(data) == head + PLACEHOLDER + tail


def test_every_media_value_of_a_document_is_replaced_identical_texts_included():
    data = n3(media(PAYLOAD), media(OTHER), media(PAYLOAD))
    assert media_texts(view(data)) == [PLACEHOLDER.decode()] * 3


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("width", [76, 20_000])
def test_a_wrapped_value_keeps_every_line_break_so_later_lines_do_not_move(newline, width):
    data = n3(media(wrapped(PAYLOAD, width, newline)), media(OTHER), newline=newline)
    out = view(data)
    assert len(out) < 2000
    assert out.count(b"\n") == data.count(b"\n") and out.count(b"\r") == data.count(b"\r")
    lines_of = lambda doc: [(e.tag, e.sourceline) for e in etree.fromstring(doc).iter()]  # noqa: E731
    assert lines_of(out) == lines_of(data)
    assert [t.strip() for t in media_texts(out)] == [PLACEHOLDER.decode()] * 2


def test_a_start_tag_written_over_two_lines_is_found():
    data = n3(media(PAYLOAD, attrs=' mediaType="application/pdf"\n              representation="B64"'))
    assert media_texts(view(data)) == [PLACEHOLDER.decode()]


def test_a_prefixed_namespace_is_handled():
    out = view(n3(media(PAYLOAD), prefix="cda"))
    assert len(out) < 1500 and media_texts(out) == [PLACEHOLDER.decode()]


def test_the_value_keeps_its_attributes():
    value = next(etree.fromstring(view(n3(media(PAYLOAD)))).iter(f"{H}value"))
    assert value.attrib == {"mediaType": "application/pdf", "representation": "B64"}


def test_a_media_that_cannot_be_replaced_does_not_stop_the_next_one():
    data = n3(media(f"{PAYLOAD[:8000]}&#10;{PAYLOAD[8000:]}"), media(OTHER))
    texts = media_texts(view(data))
    assert texts[0] == PAYLOAD[:8000] + "\n" + PAYLOAD[8000:] and texts[1] == PLACEHOLDER.decode()


# -- left unchanged --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, data", [
    ("empty value", n3(media(""))),
    ("self-closing value", n3(media("").replace("></~value>", "/>"))),
    ("short value", n3(media(PAYLOAD[:MIN_TEXT - 4]))),
    ("a reference instead of inline data", n3(media('<~reference value="image.png"/>'))),
    ("a reference then inline data", n3(media(f'<~reference value="x"/>{PAYLOAD}'))),
    ("two values in one media", n3(media(PAYLOAD) + media(OTHER))),
    ("a comment inside", n3(media(f"{PAYLOAD[:8000]}<!-- x -->{PAYLOAD[8000:]}"))),
    ("a character reference inside", n3(media(f"{PAYLOAD[:8000]}&#10;{PAYLOAD[8000:]}"))),
    ("a predefined entity inside", n3(media(f"{PAYLOAD[:8000]}&amp;{PAYLOAD[8000:]}"))),
    ("a CDATA section", n3(media(f"<![CDATA[{PAYLOAD}]]>"))),
    ("representation TXT", n3(media(PAYLOAD, attrs=' mediaType="text/plain" representation="TXT"'))),
    ("no representation", n3(media(PAYLOAD, attrs=' mediaType="application/pdf"'))),
    ("a lone CR in the document", n3(media(PAYLOAD)).replace(b"<title>N3", b"<title>N\r3")),
    ("a B64 value of an observation", n3(media(PAYLOAD)).replace(b"observationMedia", b"observation")),
    ("the same text in a comment on the value's line",
     n3(f"<!-- <value>{PAYLOAD}</value> -->" + media(PAYLOAD))),
    ("the same text in a comment on the line before",
     n3(media(PAYLOAD), before=f"<!-- <value>{PAYLOAD}</value> -->")),
])
def test_the_document_is_handed_unchanged_when_a_value_cannot_be_matched_exactly(case, data):
    assert view(data) is data, case


def test_a_non_ascii_value_is_left_alone():
    data = n3(media(PAYLOAD + "é"))
    assert view(data) is data


# -- property: the view differs from the document in the replaced media texts only -----------------------
#: What may stand around or inside a media, written verbatim (``~`` is the namespace prefix, ``$`` the
#: media's text): traps for the byte search (the same text in a comment, a CDATA section or a processing
#: instruction, on the value's line or the one before), and valid variations of the value itself.
_AROUND = ["", "\n", "<!-- <~value>$</~value> -->", "<![CDATA[<~value>$</~value>]]>".replace("<![", "<x><![")
           .replace("]]>", "]]></x>"), "<?pi <~value>$</~value>?>", "<~title>$</~title>"]
_VALUE = [MEDIA_ATTRS, ' mediaType="application/pdf"\n  representation="B64"', ' representation="B64"',
          ' representation="TXT"', MEDIA_ATTRS + ' xmlns:x="urn:x"']
_TEXT = st.sampled_from([PAYLOAD, OTHER, wrapped(PAYLOAD), wrapped(OTHER, 64), PAYLOAD[:100], ""])


@st.composite
def media_documents(draw):
    prefix = draw(st.sampled_from(["", "cda"]))
    items = []
    for _ in range(draw(st.integers(1, 3))):
        text = draw(_TEXT)
        before, inside = draw(st.sampled_from(_AROUND)), draw(st.sampled_from(_AROUND[:3]))
        value = f"<~value{draw(st.sampled_from(_VALUE))}>{text}</~value>"
        items.append((before + inside + value + draw(st.sampled_from(_AROUND[:3]))).replace("$", text))
    data = n3(*items, prefix=prefix)
    return data.replace(b"\n", b"\r\n") if draw(st.booleans()) else data


def _shape(root) -> list[tuple]:
    """Every node of the tree with what the packs may read of it, media texts apart."""
    shape = []
    for node in root.iter():
        media = node.tag == f"{H}value" and node.getparent().tag == f"{H}observationMedia"
        shape.append((node.tag, dict(node.attrib) if isinstance(node.tag, str) else None, node.sourceline,
                      None if media else node.text, node.tail))
    return shape


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(media_documents())
def test_the_view_differs_from_the_document_only_in_replaced_media_texts(data):
    out = view(data)
    before, after = etree.fromstring(data), etree.fromstring(out)
    assert _shape(after) == _shape(before)
    for old, new in zip(before.iter(f"{H}value"), after.iter(f"{H}value"), strict=True):
        if new.text != old.text:  # replaced: a long base64 text, now the placeholder and its line breaks
            assert len(old.text) >= MIN_TEXT and old.get("representation") == "B64"
            assert new.text == PLACEHOLDER.decode() + "\n" * old.text.count("\n")


# -- the audit of the packs ------------------------------------------------------------------------------
@pytest.mark.needs_ref
def test_the_elements_that_may_hold_a_media_are_read_from_the_cda_schema(cda_pack):
    names = audit.ancestor_names(cda_pack / "infrastructure/cda")
    assert {"ClinicalDocument", "component", "structuredBody", "section", "entry", "entryRelationship",
            "organizer", "observation", "act", "observationMedia"} <= names
    assert not names & {"title", "text", "code", "value", "templateId", "id", "author", "reference"}


NAMES = {"ClinicalDocument", "component", "structuredBody", "section", "entry", "entryRelationship",
         "organizer", "observation", "act", "procedure", "observationMedia"}


@pytest.mark.parametrize("context, expression, read", [
    ({"observationMedia"}, "cda:value = 'x'", True),
    ({"observationMedia"}, "string-length(cda:value) > 10", True),
    ({"observationMedia"}, "normalize-space(cda:value/text()) != ''", True),
    ({"value"}, "normalize-space(.) != ''", True),
    ({"value"}, "string-length(text()) > 0", True),
    ({"*"}, "contains(., 'JVBER')", True),
    ({"section"}, ".//cda:entry = ''", True),
    ({"section"}, "string(.) != ''", True),
    ({"title"}, "concat(..,'x') = 'y'", True),
    ({"*"}, "contains(string(/), 'JVBER')", True),
    ({"*"}, "//text() = 'x'", True),
    ({"*"}, "cda:observationMedia/cda:value != ''", True),
    ({"title"}, "//cda:observationMedia/cda:value[string-length(.) > 0]", True),  # a predicate's context
    ({"title"}, "//cda:section[. != '']", True),
    ({"title"}, "$media[normalize-space(.) != '']", True),  # a variable's predicate: any node
    ({"title"}, "//cda:code[. = 'x']", False),
    ({"observationMedia"}, "count(cda:value) = 1", False),
    ({"observationMedia"}, "cda:value[@mediaType and @representation = 'B64']", False),
    ({"observationMedia"}, "not(cda:value) or cda:value/@mediaType = 'application/pdf'", False),
    ({"observation"}, "cda:value = 'x'", False),  # an observation's value is not an embedded media
    ({"*"}, "cda:observation/cda:value/@code = 'x'", False),
    ({"section"}, ".//cda:title/text() = 'Copie'", False),
    ({"section"}, "string-length(cda:text) > 0", False),  # the narrative block holds no media
    ({"streetAddressLine"}, "normalize-space(.) != ''", False),
    ({"*"}, "not(.//cda:entry) or (count(.//cda:entry) = 1 and .//cda:entry/cda:act)", False),
])
def test_the_audit_lists_an_expression_when_it_may_read_an_embedded_text(context, expression, read):
    assert bool(audit.reaching_paths(expression, NAMES, context)) is read


SYNTHETIC_PACK = """<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="cda" uri="urn:hl7-org:v3"/>
  <let name="everything" value="string(/)"/>
  <pattern id="media">
    <rule context="cda:observationMedia">
      <assert test="cda:value[@representation = 'B64'] and count(cda:value) = 1">one B64 value</assert>
      <assert test="{test}">the test under audit</assert>
    </rule>
    <rule context="cda:section/cda:title">
      <assert test="normalize-space(.) != ''">a title: <value-of select="."/></assert>
    </rule>
  </pattern>
</schema>
"""


@pytest.mark.parametrize("test, listed", [
    ("starts-with(cda:value, 'JVBER')", ["cda:value"]),
    ("string-length(normalize-space(.)) > 0", ["."]),
    ("not(cda:value/@nullFlavor) or cda:value/@mediaType", []),
])
def test_the_audit_of_a_whole_pack_lists_what_reads_a_media_text(tmp_path, test, listed):
    path = tmp_path / "media.sch"
    path.write_text(SYNTHETIC_PACK.replace("{test}", test.replace("'", "&apos;")), encoding="utf-8")
    reads = audit.audit_schema(path, NAMES)
    assert [(r.kind, r.path) for r in reads] == [("let", "/")] + [("assert", p) for p in listed]


#: Reviewed by hand (docs/schematron.md): each listed path is only tested for existence or counted, in a
#: form the mechanical audit does not follow (a bracketed ``(path)`` operand, ``count(a and b)``, a
#: variable used as ``not($v)``, ``count($v)`` and ``$v/cda:code/@code``).
REVIEWED = {
    ("CI-SIS_TLM-DA_2022.01.sch", "cda:component / cda:section"),
    ("CI-SIS_ModelesDeContenusCDA.sch",
     "cda:observation [ cda:templateId [ @ root = '1.2.250.1.213.1.1.3.48.35' ] ]"),
    ("CI-SIS_ModelesDeContenusCDA.sch",
     "cda:entryRelationship / cda:observation [ cda:templateId / @ root = '1.2.250.1.213.1.1.3.8' ]"),
    ("CI-SIS_BIO-TROD_2024.01.sch", "cda:entryRelationship [ @ typeCode = 'SUBJ' ]"),
    ("CI-SIS_ANEST-CR-ANEST_2022.01.sch",
     ". // cda:observation [ cda:templateId / @ root = '1.3.6.1.4.1.19376.1.5.3.1.4.13' ]"),
}
#: The seven ``let``s of ANEST-CR-ANEST's S_ActesEtInterventions (``.//cda:procedure[…]``), used only as
#: ``not($v)``, ``count($v)=1`` and ``$v/cda:code/@code``.
ANEST_LETS = ("CI-SIS_ANEST-CR-ANEST_2022.01.sch", ". // cda:procedure [ cda:templateId / @ root = ")


@pytest.fixture(scope="module")
def pack_audit(cda_pack):
    return audit.audit(cda_pack)


@pytest.mark.needs_ref
def test_no_pack_the_validator_runs_reads_an_embedded_media_text_beyond_the_reviewed_ones(pack_audit):
    """Guards the placeholder against a new pack version: an expression that may read an embedded base64
    text, or the string value of an element holding one, fails this test (re-audit it, then extend
    `REVIEWED` or keep the media for that pack)."""
    reads, not_loaded = pack_audit
    assert set(not_loaded) == {"CI-SIS_BIO-CR-BIO_2023.01.sch"}  # a missing include: it never runs
    assert len(reads) >= 59
    listed = {(r.pack, r.path) for pack, found in reads.items() if "StrucMin" not in pack for r in found}
    lets = {one for one in listed if one[0] == ANEST_LETS[0] and one[1].startswith(ANEST_LETS[1])}
    assert len(lets) == 7
    assert listed - lets == REVIEWED


@pytest.mark.needs_ref
def test_structuration_minimale_is_audited_but_never_run_by_the_validator(pack_audit, cda_pack):
    """structurationMinimale's generic nullFlavor rules read ``text()`` of every element below a
    nullFlavor (listed by the audit); the validator runs the volet packs and the common pack only."""
    reads, _ = pack_audit
    assert reads["ASIP-STRUCT-MIN-StrucMin.sch"]
    report = Validator(pack=cda_pack, layers=("xml", "schematron")).validate(
        (cda_pack / "ExemplesCDA" / IMG_N3).read_bytes())
    assert [p.name for p in report.packs] == ["CI-SIS_ModelesDeContenusCDA", "CI-SIS_IMG-CR-IMG_2024.01"]


# -- same findings as with the full text -----------------------------------------------------------------
@pytest.fixture(scope="module")
def validators(cda_pack: Path, tmp_path_factory):
    return light_and_full(cda_pack, tmp_path_factory.mktemp("schematron-cache-n3"))


def substituted(data: bytes) -> bool:
    return view(data) is not data


@pytest.mark.needs_ref
def test_every_official_example_with_an_embedded_media_is_substituted_with_the_same_findings(cda_pack,
                                                                                             validators):
    checked = []
    for path in sorted((cda_pack / "ExemplesCDA").glob("*.xml")):
        parsed = safe_xml.parse(path)
        out = schematron_view(parsed.data, parsed.tree)
        eligible = [v for v in parsed.tree.getroot().iter(f"{H}value")
                    if v.getparent().tag == f"{H}observationMedia" and len(v.text or "") >= MIN_TEXT]
        if not eligible:
            continue
        assert out is not parsed.data, path.name
        assert [t.strip() for t in media_texts(out)].count(PLACEHOLDER.decode()) == len(eligible), path.name
        assert out.count(b"\n") == parsed.data.count(b"\n")
        same_findings(validators, parsed.data)
        checked.append(path.name)
    assert len(checked) >= 40 and IMG_N3 in checked


@pytest.mark.needs_ref
@pytest.mark.parametrize("example, volet", [
    ("IMG-DA-IMG_2024.01_TEP_Thorax.xml", "IMG-CR-IMG"),
    ("BIO-CR-BIO_2024.01_TSH_1.xml", "IMG-CR-IMG"),
    (IMG_N3, "BIO-CR-BIO_2024.01"),
    ("IPS-FR_2024.01.xml", "IMG-CR-IMG"),
])
def test_a_forced_volet_pack_gives_the_same_failures_on_an_n3_example(cda_pack, validators, example, volet):
    data = (cda_pack / "ExemplesCDA" / example).read_bytes()
    assert substituted(data)
    assert same_findings(validators, data, volet) != []


def world_cast():
    world = load_world()
    patient = world.patient_by_ins("279035121518989")
    radiologist = world.professional_by_idnps("801234560801")
    return world, patient, radiologist, world.organisation_of(radiologist)


@pytest.mark.needs_ref
def test_a_generated_cr_bio_n3_gets_its_pdf_copy_replaced_with_the_same_findings(validators):
    _, patient, author, organisation = world_cast()
    data = build_cr_bio_n3_minimal(patient, author, organisation)
    assert substituted(data)
    same_findings(validators, data)
    assert same_findings(validators, data, "IMG-CR-IMG") != []


@pytest.mark.needs_ref
def test_generated_vsm_and_ldl_n3_documents_carry_no_media_and_are_handed_unchanged(validators):
    world, patient, author, organisation = world_cast()
    doctor = next(p for p in world.professionals if p.author_code == "G15_10/SM54")
    documents = [build_vsm_n3(patient, doctor, world.organisation_of(doctor)),
                 build_ldl_ses_n3(patient, author, organisation, admission="20260101080000+0100",
                                  discharge="20260105120000+0100")]
    for data in documents:
        assert not substituted(data)


def rewrapped(data: bytes, newline: bytes) -> bytes:
    """The document with its first media value re-wrapped at 76 columns with `newline` (and every line
    of the document ending with it)."""
    text = media_texts(data)[0]
    body = newline + newline.join(text[i:i + 76].encode() for i in range(0, len(text), 76)) + newline
    out = data.replace(b"\r\n", b"\n").replace(text.encode(), body, 1)
    return out if newline == b"\n" else out.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


#: Defects near the embedded value of the CR-IMG N3 example, and whether the value is still replaced.
SEEDED = [
    ("wrong mediaType", lambda d: d.replace(b'"application/pdf"', b'"image/png"', 1), True),
    ("no mediaType", lambda d: d.replace(b'mediaType="application/pdf" ', b"", 1), True),
    ("representation TXT", lambda d: d.replace(b'representation="B64"', b'representation="TXT"', 1), False),
    ("empty value", lambda d: _set_value(d, ""), False),
    ("a reference instead of inline data",
     lambda d: _set_value(d, '<reference value="cr.pdf"/>'), False),
    ("two values", lambda d: _set_value(d, None, twice=True), False),
    ("a comment inside the value", lambda d: _set_value(d, lambda t: f"{t[:9000]}<!--x-->{t[9000:]}"), False),
    ("a character reference inside", lambda d: _set_value(d, lambda t: f"{t[:9000]}&#65;{t[9000:]}"), False),
    ("value wrapped at 76 columns", lambda d: rewrapped(d, b"\n"), True),
    ("value wrapped at 76 columns, CRLF", lambda d: rewrapped(d, b"\r\n"), True),
    ("document code changed", lambda d: d.replace(b'code="18748-4"', b'code="11502-2"', 1), True),
]


def _set_value(data: bytes, content, *, twice: bool = False) -> bytes:
    """The example with its media value's content set to `content` (a string written verbatim, or a
    function of the old text), or the value element written twice."""
    text = media_texts(data)[0].encode()
    start = data.index(text)
    tag = data.rindex(b"<value", 0, start)
    end = data.index(b"</value>", start) + len(b"</value>")
    if twice:
        return data[:end] + data[tag:end] + data[end:]
    new = content(text.decode()) if callable(content) else content
    return data[:start] + new.encode() + data[start + len(text):]


@pytest.mark.needs_ref
@pytest.mark.parametrize("case, mutate, replaced", SEEDED, ids=[case for case, _, _ in SEEDED])
def test_a_defect_near_the_embedded_value_gets_the_same_findings(cda_pack, validators, case, mutate,
                                                                 replaced):
    data = mutate((cda_pack / "ExemplesCDA" / IMG_N3).read_bytes())
    assert substituted(data) is replaced, case
    same_findings(validators, data)
    assert same_findings(validators, data, "BIO-CR-BIO_2024.01") != []


@pytest.mark.needs_ref
def test_a_seeded_defect_the_packs_report_is_still_reported_with_the_placeholder(cda_pack, validators):
    data = (cda_pack / "ExemplesCDA" / IMG_N3).read_bytes().replace(b'code="18748-4"', b'code="11502-2"', 1)
    assert substituted(data) and same_findings(validators, data) != []


# -- wiring: what the packs receive, and the switch ------------------------------------------------------
@pytest.mark.needs_ref
def test_both_packs_get_the_placeholder_and_the_settings_say_so(cda_pack, validators, handed):
    data = (cda_pack / "ExemplesCDA" / IMG_N3).read_bytes()
    report = validators[False].validate(data)
    assert len(handed) == 2 and handed[0] is handed[1] and len(handed[0]) < len(data) // 2
    assert report.settings["schematron_n3_media"] == "placeholder"


@pytest.mark.needs_ref
def test_the_full_body_switch_hands_the_real_n3_document(cda_pack, validators, handed, monkeypatch):
    data = (cda_pack / "ExemplesCDA" / IMG_N3).read_bytes()
    report = validators[True].validate(data)
    assert handed[-1] == data and report.settings["schematron_n3_media"] == "full"
    monkeypatch.setenv("SEGUR_SCHEMATRON_FULL_BODY", "1")
    report = validate(data, pack=cda_pack, layers=("xml", "schematron"))
    assert handed[-1] == data and report.settings["schematron_n3_media"] == "full"


@pytest.mark.needs_ref
def test_every_layer_gives_the_same_findings_when_the_media_text_is_not_base64(cda_pack):
    """The XSD and the Ségur rules read the real document; the packs never read the text."""
    data = _set_value((cda_pack / "ExemplesCDA" / IMG_N3).read_bytes(), lambda t: "!" * len(t))
    light, full = (validate(data, pack=cda_pack, schematron_full_body=f) for f in (False, True))
    found = [[(f.layer, f.rule, f.line, f.message) for f in report.findings] for report in (light, full)]
    assert found[0] == found[1]
