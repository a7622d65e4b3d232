"""The DMP's PostgreSQL store writes a transaction in pipeline mode (one round trip): what a write needs to
know at once (a row count) is still right, a read inside the transaction sees its writes, and an error
anywhere in it rolls back every statement."""

from __future__ import annotations

import pytest

from segur.mocks.dmp.storage_pg import DuplicateKey, PostgresDmpStore
from segur.mocks.dmp.xds_metadata import DocumentEntry

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"


@pytest.fixture
def store(cluster, request):
    opened = PostgresDmpStore(cluster.create_database(f"pipe_{request.node.name[:40].lower()}"), tenant="t")
    yield opened
    opened.close()


def _entry(uuid: str, unique_id: str) -> DocumentEntry:
    return DocumentEntry(entry_uuid=uuid, unique_id=unique_id, patient_id="1^^^&1.2.250.1.213.1.4.10&ISO",
                         mime_type="text/xml")


def test_a_status_change_in_a_transaction_says_whether_it_happened(store):
    with store.transaction() as db:
        store.insert_entry(db, _entry("urn:uuid:a", "1.1"), "urn:uuid:ss", {"valid": True})
    with store.transaction() as db:
        assert store.set_entry_status(db, "urn:uuid:a", APPROVED, DEPRECATED) is True
        assert store.set_entry_status(db, "urn:uuid:a", APPROVED, DEPRECATED) is False  # no longer Approved
        assert store.set_entry_status(db, "urn:uuid:missing", None, DEPRECATED) is False
        assert store.validation_of("urn:uuid:a") == {"valid": True}  # a read inside the transaction
    assert store.entry("urn:uuid:a").availability_status == DEPRECATED


def test_an_exception_after_pipelined_writes_leaves_none_of_them(store):
    with pytest.raises(RuntimeError), store.transaction() as db:
        store.insert_document(db, "2.1", b"<doc/>", "text/xml", "sha")
        store.insert_entry(db, _entry("urn:uuid:b", "2.1"), "urn:uuid:ss", None)
        raise RuntimeError("the model refused the submission after writing")
    assert store.document("2.1") is None and store.entry("urn:uuid:b") is None
    assert store.counts() == {"submission_sets": 0, "document_entries": 0, "associations": 0, "documents": 0}


def test_a_duplicate_sent_before_other_writes_rolls_back_those_too(store):
    with store.transaction() as db:
        store.insert_document(db, "3.1", b"<doc/>", "text/xml", "sha")
    with pytest.raises(DuplicateKey, match="documents.unique_id"), store.transaction() as db:
        store.insert_document(db, "3.1", b"<again/>", "text/xml", "sha2")  # refused, known only at the end
        store.insert_entry(db, _entry("urn:uuid:c", "3.2"), "urn:uuid:ss", None)
        store.insert_document(db, "3.2", b"<new/>", "text/xml", "sha3")
    assert store.entry("urn:uuid:c") is None and store.document("3.2") is None
    assert store.document("3.1") == (b"<doc/>", "text/xml")
    with store.transaction() as db:  # the connection is usable again
        store.insert_document(db, "3.3", b"<next/>", "text/xml", "sha4")
    assert store.document("3.3") == (b"<next/>", "text/xml")


def test_deleting_an_authorisation_says_whether_there_was_one(store):
    store.set_authorisation("1234567890123", "actor", "VALIDE", None)
    assert store.delete_authorisation("1234567890123", "actor") is True
    assert store.delete_authorisation("1234567890123", "actor") is False
    assert store.authorisation("1234567890123", "actor") is None
