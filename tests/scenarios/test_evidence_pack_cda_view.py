"""The CDA view of the evidence pack: a document shown human-readable, its header facts and sections, an N1
document's embedded file, and hostile content kept as text (a patient name is data, never markup)."""

from __future__ import annotations

import base64

from segur.scenarios.evidence_pack.cda_view import cda_date, embedded_file, parse, render_cda

PDF = b"%PDF-1.4 a tiny pdf"


def cda(*, family: str = "PAT-TROIS", given: str = "DOMINIQUE MARIE", body: str | None = None,
        extra: str = "") -> bytes:
    body = body if body is not None else (
        "<structuredBody><component><section><code code='18782-3' displayName='Observations'/>"
        "<title>Résultat</title><text><paragraph>Pas d'anomalie <content>visible</content>.</paragraph>"
        "<list><item>poumons clairs</item></list><table><tr><th>examen</th><td>CT</td></tr></table></text>"
        "</section></component></structuredBody>")
    return f"""<?xml version="1.0" encoding="UTF-8"?>{extra}
<ClinicalDocument xmlns="urn:hl7-org:v3">
 <id root="2.25.42"/>
 <code code="18748-4" displayName="CR d'imagerie médicale" codeSystem="2.16.840.1.113883.6.1"/>
 <title>CR d'imagerie</title><effectiveTime value="20261206121724+0100"/>
 <setId root="2.25.7"/><versionNumber value="1"/>
 <recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="279035121518989"/>
  <patient><name><family qualifier="BR">{family}</family><given>{given}</given>
  <given qualifier="BR">DOMINIQUE</given></name>
  <administrativeGenderCode code="F"/><birthTime value="19790328"/></patient></patientRole></recordTarget>
 <author><time value="20261206121724+0100"/>
  <assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="810904703849"/>
  <assignedPerson><name><given>Laurent</given><family>CHEVALLIER</family></name></assignedPerson>
 </assignedAuthor></author>
 <custodian><assignedCustodian><representedCustodianOrganization><id root="1.2.250.1.71.4.2.2"
   extension="1310734629"/><name>Centre hospitalier de Toulouse</name></representedCustodianOrganization>
 </assignedCustodian></custodian>
 <component>{body}</component>
</ClinicalDocument>""".encode()


def n1_body(text: str, representation: str = "B64") -> str:
    return (f"<nonXMLBody><text mediaType='application/pdf' representation='{representation}'>{text}</text>"
            "</nonXMLBody>")


def test_the_header_shows_patient_ins_author_custodian_and_dates():
    html = render_cda(cda()).html
    assert "PAT-TROIS (birth name); first names: DOMINIQUE MARIE; first name at birth: DOMINIQUE" in html
    assert "279035121518989 (INS-NIR (test))" in html
    assert "<td>2.25.42</td>" in html  # an id without extension
    assert "<td>Laurent CHEVALLIER, 810904703849 (1.2.250.1.71.4.2.1)" in html
    assert "Centre hospitalier de Toulouse" in html
    assert "2026-12-06 12:17:24 +01:00" in html and "1979-03-28" in html
    assert "18748-4 — CR d&#x27;imagerie médicale" in html


def test_sections_show_their_narrative_with_harmless_tags_only():
    html = render_cda(cda()).html
    assert "<h4>Résultat</h4>" in html
    assert "<p>Pas d&#x27;anomalie <span>visible</span>.</p>" in html
    assert "<ul><li>poumons clairs</li></ul>" in html and "<th>examen</th><td>CT</td>" in html


def test_a_patient_name_with_markup_stays_text():
    html = render_cda(cda(family="&lt;script&gt;alert(1)&lt;/script&gt;",
                          given="&lt;img src=x onerror=alert(2)&gt;")).html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_narrative_elements_outside_the_list_show_their_text_only():
    body = ("<structuredBody><component><section><title>T</title><text>"
            "<renderMultiMedia referencedObject='x'/><linkHtml href='javascript:alert(1)'>click</linkHtml>"
            "<paragraph styleCode='x' ID='y'>ok</paragraph>"
            "</text></section></component></structuredBody>")
    html = render_cda(cda(body=body)).html
    assert "javascript" not in html and "href" not in html and "styleCode" not in html
    assert "click<p>ok</p>" in html


def test_an_entity_declared_in_a_dtd_is_not_expanded():
    extra = '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    html = render_cda(cda(family="&xxe;", extra=extra)).html
    assert "root:" not in html


def test_an_n1_document_gives_its_embedded_file_and_a_link():
    content = cda(body=n1_body(base64.b64encode(PDF).decode()))
    view = render_cda(content, embedded_href="documents/x.pdf")
    assert view.embedded == PDF and view.embedded_type == "application/pdf"
    assert "<a href='documents/x.pdf'>x.pdf</a>" in view.html and f"{len(PDF)} bytes" in view.html


def test_a_file_a_structured_body_embeds_is_given_too():
    media = (f"<observationMedia ID='doc-1'><value mediaType='application/pdf' representation='B64'>"
             f"{base64.b64encode(PDF).decode()}</value></observationMedia>")
    body = ("<structuredBody><component><section><title>Copie du document</title><text><renderMultiMedia "
            f"referencedObject='doc-1'/></text><entry>{media}</entry></section></component></structuredBody>")
    view = render_cda(cda(body=body), embedded_href="documents/copy.pdf")
    assert view.embedded == PDF
    assert "The body embeds a file (observationMedia, a copy of the document)" in view.html
    assert render_cda(cda()).embedded is None


def test_an_n1_body_that_is_not_base64_is_said_not_readable():
    data, media, problem = embedded_file(parse(cda(body=n1_body("not-base64!"))))
    assert data is None and media == "application/pdf" and "not valid base64" in problem
    assert "Embedded file not readable" in render_cda(cda(body=n1_body("not-base64!"))).html
    assert "not B64" in embedded_file(parse(cda(body=n1_body("x", "TXT"))))[2]


def test_what_is_not_a_cda_is_said_so():
    assert "Not a readable CDA document" in render_cda(b"not xml <").html
    assert "Not a readable CDA document" in render_cda(b"<html/>").html


def test_cda_dates_read_at_any_precision():
    assert cda_date("20261206121724+0100") == "2026-12-06 12:17:24 +01:00"
    assert cda_date("19790328") == "1979-03-28"
    assert cda_date("202612061217") == "2026-12-06 12:17"
    assert cda_date(None) == ""
