"""The request body is read whole in one call when the client gives its Content-Length, 1 MiB at a time when
it does not (chunked): a submission of several MiB comes through intact either way."""

from __future__ import annotations

import http.client
import secrets
from urllib.parse import urlsplit

import pytest
from dmp_helpers import ITI41, envelope, mtom, parse_answer, post, provide_and_register, retrieved_documents

from segur.fixtures.documents.pdf import make_pdf
from segur.mocks.dmp.client.metadata import metadata_from_cda
from segur.mocks.dmp.testing import running_dmp


@pytest.fixture(scope="module")
def dmp(pki, world):
    with running_dmp(pki=pki, world=world, validation=False) as running:
        yield running


def _large_submission(case):
    """(Content-Type, body, CDA bytes) of an ITI-41 whose CDA carries a PDF of ~2.5 MB (over 1 MiB twice)."""
    pdf = make_pdf("CR d'imagerie (body read)", [secrets.token_urlsafe(60) for _ in range(16000)])
    document = case.cda(pdf=pdf)
    request, by_id = case.submission([document])
    body, parts = provide_and_register(request, by_id)
    content_type, payload = mtom(envelope(ITI41, body, case.security()), parts)
    assert len(payload) > 3 * 2**20
    return content_type, payload, document


def _stored_bytes(dmp, case, document: bytes) -> bytes:
    """The document the DMP gives back for the CDA's uniqueId (each test's submission has its own)."""
    case.authorise(dmp)
    unique_id = metadata_from_cda(document).unique_id
    answer = case.retrieve(dmp.endpoint("repository"), dmp.backend.config.repository_unique_id, [unique_id])
    return retrieved_documents(answer)[unique_id]


def test_a_body_with_its_content_length_is_read_whole(dmp, case):
    content_type, payload, document = _large_submission(case)
    answer = post(dmp.endpoint("repository"), content_type, payload)
    assert answer.registry_status == "Success", answer.rules()
    assert dmp.journal.entries()[-1].request["body"]["size"] == len(payload)
    assert _stored_bytes(dmp, case, document) == document


def test_a_chunked_body_without_content_length_is_read_whole(dmp, case):
    content_type, payload, document = _large_submission(case)
    parts = urlsplit(dmp.endpoint("repository"))
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    pieces = (payload[i:i + 300_000] for i in range(0, len(payload), 300_000))
    connection.request("POST", parts.path, body=pieces, headers={"Content-Type": content_type},
                       encode_chunked=True)
    response = connection.getresponse()
    answer = parse_answer(response.status, response.getheader("Content-Type", ""), response.read())
    connection.close()
    assert answer.registry_status == "Success", answer.rules()
    assert "content-length" not in {k.lower() for k in dmp.journal.entries()[-1].request["headers"]}
    assert _stored_bytes(dmp, case, document) == document
