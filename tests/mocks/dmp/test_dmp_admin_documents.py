"""The admin API reads a stored document whole: its metadata (`GET /_admin/documents/<uniqueId>`) and its
bytes (`…/content`), so the proof never judges a document from a journal body cut at 512 KiB."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.testing import running_dmp


@pytest.fixture(scope="module")
def server(pki, world):
    with running_dmp(pki=pki, world=world) as running:
        yield running


@pytest.fixture
def dmp(server):
    server.backend.reset()
    server.journal.clear()
    return server


def get(dmp, path: str):
    """(status, Content-Type, body bytes) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(dmp.url + path, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()


def stored_unique_id(dmp, case) -> str:
    [entry] = dmp.backend.store.entries_for_patient(case.patient.xds_patient_id)
    return entry.unique_id


def test_a_stored_document_s_metadata_is_read_by_its_unique_id(dmp, case):
    document = case.cda()
    assert case.iti41(dmp.endpoint("repository"), [document]).registry_status == "Success"
    unique_id = stored_unique_id(dmp, case)
    status, content_type, body = get(dmp, f"/_admin/documents/{unique_id}")
    assert status == 200 and content_type.startswith("application/json")
    view = json.loads(body)
    assert view["unique_id"] == unique_id and view["patient"] == case.patient.xds_patient_id
    assert view["status"] == xds_metadata.STATUS_APPROVED and view["size"] == len(document)
    assert view["mime_type"] == "text/xml"
    [version] = view["versions"]
    listed = json.loads(get(dmp, "/_admin/documents")[2])["patients"][case.patient.xds_patient_id]
    assert listed == [version]  # the same view /_admin/documents gives


def test_a_stored_document_s_content_is_its_bytes_whole_with_its_mime_type(dmp, case):
    document = case.cda()
    case.iti41(dmp.endpoint("repository"), [document])
    status, content_type, body = get(dmp, f"/_admin/documents/{stored_unique_id(dmp, case)}/content")
    assert status == 200 and content_type.startswith("text/xml") and body == document


def test_a_two_megabyte_document_is_given_back_whole(pki, world, case):
    document = case.cda(pdf_bytes=b"%PDF-1.4\n" + os.urandom(1_500_000))  # ~2 MB once in base64
    assert len(document) > 2_000_000
    with running_dmp(pki=pki, world=world, validation=False) as dmp:  # the bytes matter, not the PDF
        assert case.iti41(dmp.endpoint("repository"), [document]).registry_status == "Success"
        unique_id = stored_unique_id(dmp, case)
        status, _, body = get(dmp, f"/_admin/documents/{unique_id}/content")
        assert status == 200 and body == document
        assert json.loads(get(dmp, f"/_admin/documents/{unique_id}")[2])["size"] == len(document)


@pytest.mark.parametrize("suffix", ["", "/content"])
def test_an_unknown_unique_id_is_a_404_json_error(dmp, suffix):
    status, content_type, body = get(dmp, f"/_admin/documents/1.2.250.1.999.404{suffix}")
    assert status == 404 and content_type.startswith("application/json")
    assert "1.2.250.1.999.404" in json.loads(body)["error"]
