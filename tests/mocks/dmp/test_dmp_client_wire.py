"""The client's wire code (SOAP 1.2, MTOM/XOP) against the mock's own reader and writer, without a server."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from segur.mocks.dmp import rules, soap
from segur.mocks.dmp.client import wire

mtom = pytest.importorskip("segur.mocks.dmp.mtom")


def request_with(content: bytes, *, inline: bool = False, content_id: str | None = None):
    holder = etree.Element("{urn:ihe:iti:xds-b:2007}Document", id="Document01")
    parts = None if inline else []
    wire.attach(holder, content, parts, "text/xml", content_id)
    env = wire.envelope(
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", "http://localhost/repository", holder)
    return wire.package(env, "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", parts)


@settings(max_examples=60, deadline=None)
@given(content=st.binary(min_size=0, max_size=2048))
def test_any_document_bytes_survive_the_clients_mtom_as_the_mock_reads_it(content):
    outgoing = request_with(content)
    message = mtom.read_http_body(outgoing.content_type, outgoing.body)
    envelope = etree.fromstring(message.envelope)
    document = envelope.find(".//{urn:ihe:iti:xds-b:2007}Document")
    assert mtom.binary_content(document, message.attachments) == content


def test_a_content_id_needing_url_escapes_still_resolves():
    outgoing = request_with(b"<ClinicalDocument/>", content_id="doc/1 2@example")
    assert "cid:doc%2F1%202@example" in outgoing.envelope.decode()
    message = mtom.read_http_body(outgoing.content_type, outgoing.body)
    document = etree.fromstring(message.envelope).find(".//{urn:ihe:iti:xds-b:2007}Document")
    assert mtom.binary_content(document, message.attachments) == b"<ClinicalDocument/>"


def test_inline_documents_are_base64_in_a_bare_soap_message():
    outgoing = request_with(b"abc", inline=True)
    assert outgoing.content_type.startswith("application/soap+xml") and 'action="' in outgoing.content_type
    document = etree.fromstring(outgoing.body).find(".//{urn:ihe:iti:xds-b:2007}Document")
    assert base64.b64decode(document.text) == b"abc"


def test_the_envelope_carries_ws_addressing_with_must_understand():
    env = etree.fromstring(request_with(b"x").envelope)
    action = env.find(".//{http://www.w3.org/2005/08/addressing}Action")
    assert action.get("{http://www.w3.org/2003/05/soap-envelope}mustUnderstand") == "true"
    assert env.findtext(".//{http://www.w3.org/2005/08/addressing}MessageID").startswith("urn:uuid:")


def test_the_client_reads_an_mtom_answer_written_by_the_mock():
    holder = etree.Element("{urn:ihe:iti:xds-b:2007}Document")
    etree.SubElement(holder, f"{{{wire.XOP}}}Include", href="cid:part1@mock")
    env = etree.tostring(wire.envelope("urn:ihe:iti:2007:RetrieveDocumentSetResponse", "x", holder))
    content_type, body = mtom.write_mtom(env, [mtom.Attachment("part1@mock", "text/xml", b"\x00\x01binary")],
                                         "urn:ihe:iti:2007:RetrieveDocumentSetResponse")
    answer = wire.read_answer(200, content_type, body)
    assert answer.action == "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    assert answer.binary(answer.body) == b"\x00\x01binary"


def test_a_non_soap_answer_is_kept_raw():
    answer = wire.read_answer(503, "text/plain", b"overloaded")
    assert answer.envelope is None and answer.raw == b"overloaded"


def test_a_soap_fault_is_read_with_its_rule_ids():
    data = soap.fault_bytes(rules.XDS_SOAP_005, "not served", None, [rules.XDS_SOAP_005.finding(action="a")])
    fault = wire.fault_of(wire.read_answer(400, "application/soap+xml", data))
    assert fault.code == "soap:Sender" and fault.subcode == "wsa:ActionNotSupported"
    assert fault.rules == ["XDS-SOAP-005"] and "not served" in str(fault)


def test_registry_errors_give_back_the_rule_id_of_their_code_context():
    rs = etree.Element(f"{{{wire.RS}}}RegistryResponse", status=wire.STATUS_FAILURE)
    errors = etree.SubElement(rs, f"{{{wire.RS}}}RegistryErrorList")
    etree.SubElement(errors, f"{{{wire.RS}}}RegistryError", errorCode="XDSRegistryMetadataError",
                     codeContext="[DMP-CODE-003] formatCode … — Use a code of JDV_J60",
                     severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error", location="x")
    item = wire.registry_errors(rs)[0]
    assert (item.rule, item.code, item.is_error) == ("DMP-CODE-003", "XDSRegistryMetadataError", True)
