"""Hostile and broken input: each gets a protocol-correct answer and the server keeps serving.

The MIME/SOAP parser is fuzzed with hypothesis (number of examples in each `settings`).
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from dmp_helpers import ITI18, ITI41, envelope, mtom, post, provide_and_register, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from segur.mocks.dmp import ebrim, xds_metadata
from segur.mocks.dmp.mtom import MtomError, read_http_body
from segur.mocks.dmp.soap import SoapError, parse_envelope
from segur.mocks.dmp.testing import running_dmp

LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def dmp(pki, world):
    with running_dmp(pki=pki, world=world, max_body=LIMIT) as running:
        yield running


@pytest.fixture(scope="module")
def valid_request(case):
    """A valid ITI-41 MTOM body (Content-Type, bytes) to mutate."""
    request, by_id = case.submission([case.cda()])
    body, parts = provide_and_register(request, by_id)
    return mtom(envelope(ITI41, body, case.security()), parts)


def still_serving(dmp, case) -> bool:
    return case.iti41(dmp.endpoint("repository")).registry_status == "Success"


def test_a_body_that_is_not_xml_gets_a_sender_fault(dmp, case):
    answer = post(dmp.endpoint("repository"), "application/soap+xml", b"\x00\xffthis is not xml")
    assert answer.status == 400 and answer.fault_code == "soap:Sender"
    assert "XDS-SOAP-001" in answer.fault_reason
    assert dmp.journal.entries()[-1].verdict == "error"


def test_xxe_is_refused_before_anything_is_read(dmp, case, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = (f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
               f'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>&x;</soap:Body>'
               f'</soap:Envelope>').encode()
    answer = post(dmp.endpoint("repository"), "application/soap+xml", hostile)
    assert answer.status == 400 and "XDS-SOAP-002" in answer.fault_reason and b"TOP-SECRET" not in answer.body


def test_a_soap_11_envelope_gets_a_version_mismatch_fault(dmp):
    soap11 = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x/></e:Body></e:Envelope>'
    answer = post(dmp.endpoint("repository"), "text/xml", soap11)
    assert answer.fault_code == "soap:VersionMismatch" and answer.status == 500


def test_an_unknown_action_gets_action_not_supported(dmp, case):
    answer = send(dmp.endpoint("repository"), "urn:example:Nope", etree.Element("x"), as_mtom=False)
    assert answer.status == 400 and "XDS-SOAP-005" in answer.fault_reason
    assert answer.find(".//soap:Subcode/soap:Value").text == "wsa:ActionNotSupported"


def test_a_registry_action_sent_to_the_repository_is_refused(dmp, case):
    answer = send(dmp.endpoint("repository"), ITI18, etree.Element("x"), as_mtom=False)
    assert "XDS-SOAP-005" in answer.fault_reason


def test_a_body_that_does_not_match_the_action_is_refused(dmp):
    answer = send(dmp.endpoint("repository"), ITI41, etree.Element("{urn:example}Other"), as_mtom=False)
    assert answer.status == 400 and "XDS-SOAP-006" in answer.fault_reason


def test_an_unknown_must_understand_header_gets_a_must_understand_fault(dmp, case, valid_request):
    content_type, body = valid_request
    body = body.replace(
        b"<soap:Header>", b'<soap:Header><x:Odd xmlns:x="urn:x" soap:mustUnderstand="true"/>', 1)
    answer = post(dmp.endpoint("repository"), content_type, body)
    assert answer.fault_code == "soap:MustUnderstand" and "XDS-SOAP-009" in answer.fault_reason


@pytest.mark.parametrize("mutation, rule", [
    (lambda ct, b: (ct.replace('boundary="segurTestBoundary42"; ', ""), b), "XDS-MTOM-001"),
    (lambda ct, b: (ct, b[: b.rfind(b"--segurTestBoundary42--")]), "XDS-MTOM-001"),
    (lambda ct, b: (ct.replace("<root@segur-test>", "<elsewhere@x>"), b), "XDS-MTOM-002"),
    (lambda ct, b: (ct, b.replace(b"Transfer-Encoding: binary\r\nContent-ID: <root",
                                  b"Transfer-Encoding: x-gzip\r\nContent-ID: <root", 1)), "XDS-MTOM-005"),
    (lambda ct, b: ("application/octet-stream", b), "XDS-SOAP-008"),
])
def test_malformed_mime_gets_a_fault_naming_the_problem(dmp, case, valid_request, mutation, rule):
    content_type, body = mutation(*valid_request)
    answer = post(dmp.endpoint("repository"), content_type, body)
    assert answer.status in (400, 415) and rule in answer.fault_reason


def test_a_wrong_content_id_gets_xds_missing_document(dmp, case, valid_request):
    content_type, body = valid_request
    start = body.index(b'href="cid:') + len(b'href="cid:')
    body = body[:start] + b"nowhere-" + body[start:]
    answer = post(dmp.endpoint("repository"), content_type, body)
    assert answer.status == 200 and answer.registry_status == "Failure"
    assert "XDSMissingDocument" in answer.error_codes and "XDS-MTOM-003" in answer.rules()


def test_a_missing_document_part_gets_xds_missing_document(dmp, case):
    request, by_id = case.submission([case.cda()])
    body, parts = provide_and_register(request, by_id)
    answer = send(dmp.endpoint("repository"), ITI41, body, case.security(), parts=[])
    assert "XDSMissingDocument" in answer.error_codes
    assert still_serving(dmp, case)


def _read_reply(sock, marker: bytes) -> bytes:
    """Read the server's answer until `marker` is seen, the connection closes or 10 s pass."""
    reply = b""
    sock.settimeout(10)
    try:
        while marker not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return reply


def test_a_200_mb_content_length_is_refused_at_once_without_reading_the_body(dmp):
    parts = urlsplit(dmp.endpoint("repository"))
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                     f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode())  # and never the body
        reply = _read_reply(sock, b"XDS-SOAP-007")
    assert reply.startswith(b"HTTP/1.1 413") and b"XDS-SOAP-007" in reply
    assert time.monotonic() - started < 10  # it did not wait for 200 MB that never come


def test_a_chunked_body_over_the_limit_is_cut_while_reading(dmp):
    parts = urlsplit(dmp.endpoint("repository"))
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"a" * 65536
        try:
            for _ in range(LIMIT // len(chunk) + 4):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close the connection as soon as it has answered
        reply = _read_reply(sock, b"XDS-SOAP-007")
    # The server answers 413 and closes while the client is still sending: the client may see the
    # answer or a reset (TCP), so the journal is the evidence.
    assert not reply or reply.startswith(b"HTTP/1.1 413")
    last = dmp.journal.entries()[-1]
    assert last.response["status"] == 413 and "XDS-SOAP-007" in last.rules


def test_the_server_keeps_serving_after_all_that(dmp, case):
    assert still_serving(dmp, case)


# --- fuzzing the MIME/SOAP layer -----------------------------------------------------------------------
def _accepts_or_refuses(content_type: str, body: bytes) -> str:
    """"accepted", or "refused" with a protocol error that says why; anything else escapes and fails."""
    try:
        message = read_http_body(content_type, body)
        parse_envelope(message.envelope)
    except (MtomError, SoapError) as exc:
        assert str(exc).strip(), "a protocol error must say what is wrong"
        return "refused"
    return "accepted"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from([
    'multipart/related; boundary="b"; type="application/xop+xml"', "application/soap+xml",
    "multipart/related", 'multipart/related; boundary=""', "text/xml; charset=latin-1", "",
    "application/json"]))
def test_fuzz_random_bodies_only_ever_raise_protocol_errors(body, content_type):
    assert _accepts_or_refuses(content_type, body) in ("accepted", "refused")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_mutated_mtom_requests_only_ever_raise_protocol_errors(valid_request, data):
    content_type, body = valid_request
    position = data.draw(st.integers(0, len(body) - 1))
    length = data.draw(st.integers(0, 64))
    insert = data.draw(st.binary(max_size=64))
    assert _accepts_or_refuses(content_type, body[:position] + insert + body[position + length:]) in (
        "accepted", "refused")


EBRIM_ELEMENTS = ["RegistryPackage", "ExtrinsicObject", "Association", "Classification", "ExternalIdentifier",
                  "Slot", "ValueList", "Value", "Name", "LocalizedString"]
EBRIM_ATTRIBUTES = ["id", "classificationScheme", "classifiedObject", "nodeRepresentation",
                    "identificationScheme", "value", "associationType", "sourceObject", "targetObject",
                    "name", "objectType", "classificationNode"]
EBRIM_VALUES = ["", "x", "SubmissionSet01", xds_metadata.SUBMISSION_SET_NODE, xds_metadata.DE_CLASS_CODE,
                xds_metadata.HAS_MEMBER, xds_metadata.DE_UNIQUE_ID, "urn:uuid:1", "Document01"]


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.sampled_from(EBRIM_ELEMENTS),
                    lambda children: st.tuples(children, st.lists(children, max_size=4)), max_leaves=20),
       st.dictionaries(st.sampled_from(EBRIM_ATTRIBUTES), st.sampled_from(EBRIM_VALUES), max_size=5))
def test_fuzz_ebrim_parser_never_raises(tree, attributes):
    def build(node, parent):
        name, kids = (node, []) if isinstance(node, str) else node
        name = name if isinstance(name, str) else "Slot"
        el = etree.SubElement(parent, f"{{{ebrim.RIM}}}{name}", {k: v for k, v in attributes.items()})
        for kid in kids:
            build(kid, el)

    root = etree.Element(f"{{{ebrim.LCM}}}SubmitObjectsRequest")
    object_list = etree.SubElement(root, f"{{{ebrim.RIM}}}RegistryObjectList")
    build(tree, object_list)
    submission, findings = ebrim.parse_submission(root)
    assert isinstance(findings, list)


def test_fuzzing_over_http_leaves_the_server_serving(dmp, case, valid_request):
    """A few dozen mutated requests through the real server: always an HTTP answer, never a hang."""
    import random

    rng = random.Random(7)
    content_type, body = valid_request
    for _ in range(40):
        position = rng.randrange(len(body))
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        mutated = body[:position] + noise + body[position + 8:]
        answer = post(dmp.endpoint("repository"), content_type, mutated)
        assert answer.status in (200, 400, 413, 415, 500)
    internal = [e for e in dmp.journal.entries() if "XDS-SOAP-010" in e.rules]
    assert not internal, internal[0].findings  # no mutation may crash a handler
    assert still_serving(dmp, case)
