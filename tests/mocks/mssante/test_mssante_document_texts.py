"""A document's text is not stored twice: the store keeps the message and the record without the text of
each document, and ``messages(with_content=True)`` (the admin API's ``?content=1``) reads it again from the
stored copy, the very text the checks read; a record stored with its texts (before) keeps them."""

from __future__ import annotations

import pytest

from segur.fixtures.world import load_world
from segur.mocks.mssante.models import MssanteBackend
from segur.mocks.mssante.testing import mss_message

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"
PRO3 = "eric.martinez@ch-toulouse.mssante.fr"


@pytest.fixture(scope="module")
def cdas(cda_pack) -> tuple[bytes, bytes]:
    examples = cda_pack / "ExemplesCDA"
    return ((examples / "IMG_CR_IMG_2024.01.xml").read_bytes(),
            (examples / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes())


@pytest.fixture()
def backend():
    backend = MssanteBackend(load_world(), validate=False)
    yield backend
    backend.close()


def _send(backend: MssanteBackend, document: bytes, recipients: list[str]) -> str:
    accepted = [backend.check_recipient(address) for address in recipients]
    assert all(check.mailbox is not None for check in accepted)
    raw = mss_message(PRO, recipients, [document]).as_bytes()
    return backend.process(raw, login=PRO, envelope_from=PRO, accepted=accepted).id


def test_the_record_keeps_no_document_text_and_each_copy_reads_its_own_message_s(backend, cdas):
    n3, n1 = cdas
    first = _send(backend, n3, [PRO2, PRO3])
    second = _send(backend, n1, [PRO2])
    for record, _ in backend.store.records():
        assert record["documents"] and all("content" not in d for d in record["documents"])
    texts = {(m.id, m.mailbox): [d["content"] for d in m.documents]
             for m in backend.messages(with_content=True)}
    assert texts == {(first, PRO2): [n3.decode()], (first, PRO3): [n3.decode()],
                     (second, PRO2): [n1.decode()]}
    (one,) = backend.message(second, with_content=True)
    assert [d["content"] for d in one.documents] == [n1.decode()] and one.raw == b""  # raw only when asked
    assert one.to_dict(with_content=True)["documents"][0]["content"] == n1.decode()
    assert all("content" not in d for m in backend.messages() for d in m.documents)
    (shown,) = backend.message(second, with_raw=True, with_content=True)
    assert shown.raw.startswith(b"Return-Path: ")


def test_a_record_stored_with_its_texts_keeps_them(backend, cdas):
    message_id = _send(backend, cdas[0], [PRO2])
    (stored,) = backend.message(message_id, with_raw=True)
    record = stored.record()
    record["id"] = "MSS-OLD"
    record["documents"] = [{**d, "content": "the text stored then"} for d in record["documents"]]
    backend.store.add_copies([(PRO2, "MSS-OLD", "message", record, stored.raw)])
    (old,) = backend.message("MSS-OLD", with_content=True)
    assert [d["content"] for d in old.documents] == ["the text stored then"]


def test_a_message_without_archive_has_no_text_to_read(backend):
    accepted = [backend.check_recipient(PRO2)]
    raw = f"From: {PRO}\r\nTo: {PRO2}\r\nSubject: x\r\n\r\nno archive\r\n".encode()
    message_id = backend.process(raw, login=PRO, envelope_from=PRO, accepted=accepted).id
    (stored,) = backend.message(message_id, with_content=True)
    assert stored.documents == [] and stored.verdict == "fail"
