"""The SQLite store keeps each document's bytes in a file of its own under `<data>/documents/`: written in
the submission's transaction, gone again when it rolls back, swept when no row names it."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from segur.mocks.dmp import storage
from segur.mocks.dmp.storage import Store

PDF_LIKE = bytes(range(256)) * 5000  # every byte value, 1.28 MB


def _store_one(store: Store, unique_id: str, content: bytes) -> None:
    with store.transaction() as db:
        store.insert_document(db, unique_id, content, "text/xml", "sha1-of-it")


def test_a_document_is_a_file_the_row_names_and_comes_back_byte_identical(tmp_path):
    store = Store(tmp_path)
    _store_one(store, "1.2.3.1", PDF_LIKE)
    [row] = store._conn().execute("SELECT content, file, size FROM documents").fetchall()
    assert row["content"] == b"" and row["size"] == len(PDF_LIKE)
    assert (tmp_path / "documents" / row["file"]).read_bytes() == PDF_LIKE
    assert store.document("1.2.3.1") == (PDF_LIKE, "text/xml")
    assert store.document_info("1.2.3.1") == {"mime_type": "text/xml", "size": len(PDF_LIKE),
                                             "sha1": "sha1-of-it"}
    store.close()
    reopened = Store(tmp_path)
    assert reopened.document("1.2.3.1") == (PDF_LIKE, "text/xml")
    reopened.close()


def test_two_documents_get_two_files_and_each_its_own_bytes(tmp_path):
    store = Store(tmp_path)
    _store_one(store, "1.2.3.1", b"first")
    _store_one(store, "1.2.3.2", b"second")
    assert len(list((tmp_path / "documents").iterdir())) == 2
    assert store.document("1.2.3.1")[0] == b"first" and store.document("1.2.3.2")[0] == b"second"
    store.close()


def test_a_duplicate_unique_id_rolls_back_and_leaves_no_file(tmp_path):
    store = Store(tmp_path)
    _store_one(store, "1.2.3.1", b"kept")
    with pytest.raises(sqlite3.IntegrityError):
        _store_one(store, "1.2.3.1", b"refused")
    assert [p.read_bytes() for p in (tmp_path / "documents").iterdir()] == [b"kept"]
    assert store.document("1.2.3.1")[0] == b"kept"
    store.close()


def test_a_failure_after_the_write_removes_the_file_with_the_rows(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), store.transaction() as db:
        store.insert_document(db, "1.2.3.1", PDF_LIKE, "text/xml", "x")
        raise RuntimeError("the next insert failed")
    assert list((tmp_path / "documents").iterdir()) == []
    assert store.document("1.2.3.1") is None and store.counts()["documents"] == 0
    store.close()


def test_a_document_is_written_only_inside_a_transaction(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError, match="inside Store.transaction"):
        store.insert_document(store._conn(), "1.2.3.1", b"x", "text/xml", "x")
    assert list((tmp_path / "documents").iterdir()) == []
    store.close()


def test_reset_removes_the_files(tmp_path):
    store = Store(tmp_path)
    _store_one(store, "1.2.3.1", b"one")
    _store_one(store, "1.2.3.2", b"two")
    store.reset()
    assert list((tmp_path / "documents").iterdir()) == []
    _store_one(store, "1.2.3.1", b"again")  # the same uniqueId is free again, with a file of its own
    assert store.document("1.2.3.1")[0] == b"again"
    store.close()


def test_an_old_file_no_row_names_is_removed_at_the_next_open_and_the_named_ones_stay(tmp_path):
    store = Store(tmp_path)
    _store_one(store, "1.2.3.1", b"committed")
    store.close()
    for path in (tmp_path / "documents").iterdir():  # the committed one is old too: it stays all the same
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    orphan = tmp_path / "documents" / "0123456789abcdef0123456789abcdef"
    orphan.write_bytes(b"killed before COMMIT")
    os.utime(orphan, (time.time() - storage.ORPHAN_AGE - 5, time.time() - storage.ORPHAN_AGE - 5))
    reopened = Store(tmp_path)
    assert [p.read_bytes() for p in (tmp_path / "documents").iterdir()] == [b"committed"]
    assert reopened.document("1.2.3.1")[0] == b"committed"
    reopened.close()


def test_a_young_file_no_row_names_is_kept_it_may_be_another_process_submission_in_flight(tmp_path):
    Store(tmp_path).close()
    in_flight = tmp_path / "documents" / "0123456789abcdef0123456789abcdef"
    in_flight.write_bytes(b"written, COMMIT coming")
    Store(tmp_path).close()
    assert in_flight.read_bytes() == b"written, COMMIT coming"


def test_a_store_from_before_document_files_is_read_and_written(tmp_path):
    old = sqlite3.connect(tmp_path / storage.DB_NAME)
    old.executescript(storage._SCHEMA.replace(", file TEXT);", ");"))
    old.execute("INSERT INTO documents(unique_id, content, mime_type, sha1, size) VALUES (?,?,?,?,?)",
                ("1.2.3.1", PDF_LIKE, "text/xml", "x", len(PDF_LIKE)))
    old.commit()
    old.close()
    store = Store(tmp_path)
    assert store.document("1.2.3.1") == (PDF_LIKE, "text/xml")
    _store_one(store, "1.2.3.2", b"new")
    assert store.document("1.2.3.2")[0] == b"new"
    store.reset()
    assert store.counts()["documents"] == 0
    store.close()


@pytest.mark.parametrize(("synchronous", "fsynced"), [("FULL", True), ("NORMAL", False)])
def test_power_safe_fsyncs_the_file_and_its_folder_before_the_commit(tmp_path, monkeypatch, synchronous,
                                                                     fsynced):
    store = Store(tmp_path, synchronous=synchronous)
    calls = []
    monkeypatch.setattr(storage.os, "fsync", lambda descriptor: calls.append(descriptor))
    _store_one(store, "1.2.3.1", b"x")
    assert (len(calls) == 2) is fsynced and (not calls) is not fsynced
    assert store.document("1.2.3.1")[0] == b"x"
    store.close()
