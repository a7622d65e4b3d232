"""The DMP mock never loses data: restart durability, all-or-nothing submissions, concurrency."""

from __future__ import annotations

import sqlite3
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from dmp_helpers import ITI41, NS, provide_and_register, retrieved_documents, send, served_dmp

from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.ebrim import RIM
from segur.mocks.dmp.storage import DB_NAME, Store
from segur.mocks.dmp.testing import running_dmp


def test_a_submission_survives_a_restart_and_comes_back_byte_identical(tmp_path, pki, world, case, dmp_store):
    document = case.cda()
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as first:
        assert case.iti41(first.endpoint("repository"), [document]).registry_status == "Success"
        case.authorise(first)
        repository_id = first.backend.config.repository_unique_id
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as second:
        found = case.find_documents(second.endpoint("registry"))
        [extrinsic] = found.findall(".//rim:ExtrinsicObject")
        unique_id = next(e.get("value") for e in extrinsic.findall("rim:ExternalIdentifier", NS)
                         if e.get("identificationScheme") == xds_metadata.DE_UNIQUE_ID)
        retrieved = case.retrieve(second.endpoint("repository"), repository_id, [unique_id])
        assert retrieved_documents(retrieved) == {unique_id: document}
        # The authorisation given before the restart is still there too.
        assert second.backend.store.authorisation(case.patient.ins, case.caller)[0] == "VALIDE"


@pytest.mark.slow
def test_an_acknowledged_submission_survives_a_kill_of_the_mock_process(tmp_path, pki, world, case):
    """synchronous=NORMAL in WAL mode: once the Success answer is out, a crash (SIGKILL) loses nothing."""
    document = case.cda()
    with served_dmp(tmp_path / "data", pki, "--no-validation") as (process, port, lines):
        url = f"http://127.0.0.1:{port}/si-dmp-server/v2/services/repository"
        assert any(url in line for line in lines), lines
        assert case.iti41(url, [document]).registry_status == "Success"
        process.kill()  # no clean shutdown: no checkpoint, no close
        process.wait(timeout=10)
    with running_dmp(tmp_path / "data", pki=pki, world=world) as restarted:
        case.authorise(restarted)
        [entries] = restarted.backend.documents_by_patient().values()
        unique_id = entries[0]["unique_id"]
        answer = case.retrieve(
            restarted.endpoint("repository"), restarted.backend.config.repository_unique_id, [unique_id])
        assert retrieved_documents(answer) == {unique_id: document}


def test_the_store_uses_wal_normal_synchronous_writes_and_small_pages(tmp_path):
    store = Store(tmp_path)
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: crash-safe in WAL mode
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096  # the documents' bytes are in files
    store.close()


def test_a_store_created_with_large_pages_opens_and_keeps_them(tmp_path):
    """A store of an earlier version (64 KiB pages) opens as it is: SQLite sets the page size of new files
    only."""
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute("PRAGMA page_size=65536")
    conn.execute("VACUUM")
    conn.close()
    store = Store(tmp_path)
    assert store._conn().execute("PRAGMA page_size").fetchone()[0] == 65536
    store.close()


def test_a_refused_submission_leaves_nothing_behind(tmp_path, pki, world, case, dmp_store):
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        good, bad = case.cda(), case.cda()

        def break_second(entries):
            entries[1].format_code.code = "urn:example:unknown"

        answer = case.iti41(dmp.endpoint("repository"), [good, bad], edit=break_second)
        assert answer.registry_status == "Failure"
        assert dmp.backend.store.counts() == {"submission_sets": 0, "document_entries": 0, "associations": 0,
                                              "documents": 0}


def test_a_failure_while_writing_rolls_the_whole_submission_back(tmp_path, pki, world, case, monkeypatch,
                                                                 dmp_store):
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        calls = {"n": 0}
        original = dmp_store.cls.insert_association

        def failing(db, assoc, ss):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk full (simulated)")
            return original(db, assoc, ss)

        monkeypatch.setattr(dmp_store.cls, "insert_association", staticmethod(failing))
        answer = case.iti41(dmp.endpoint("repository"), [case.cda(), case.cda()])
        assert answer.status == 500 and "XDS-SOAP-010" in (answer.fault_reason or "")
        counts = dmp.backend.store.counts()
        assert counts["documents"] == 0 and counts["submission_sets"] == 0
        monkeypatch.setattr(dmp_store.cls, "insert_association", staticmethod(original))
        assert case.iti41(dmp.endpoint("repository")).registry_status == "Success"  # and it keeps serving


def test_concurrent_submissions_are_all_stored(tmp_path, pki, world, case, dmp_store):
    documents = [case.cda() for _ in range(12)]
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        url = dmp.endpoint("repository")
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda doc: case.iti41(url, [doc]), documents))
        assert [a.registry_status for a in answers] == ["Success"] * 12
        counts = dmp.backend.store.counts()
        assert counts["document_entries"] == counts["documents"] == counts["submission_sets"] == 12


def test_the_same_document_sent_concurrently_is_stored_once(tmp_path, pki, world, case, dmp_store):
    document = case.cda()
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        url = dmp.endpoint("repository")
        barrier = threading.Barrier(4)

        def submit(_):
            request, by_id = case.submission([document])
            body, parts = provide_and_register(request, by_id)
            header = case.security()
            barrier.wait()
            return send(url, ITI41, body, header, parts)

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(submit, range(4)))
        assert sorted(a.registry_status for a in answers) == ["Failure"] * 3 + ["Success"]
        assert dmp.backend.store.counts()["documents"] == 1


def _race_to_the_write(dmp, monkeypatch, submitters: int = 2) -> None:
    """Hold every submission after its checks until all have passed them: then they race for the write."""
    barrier = threading.Barrier(submitters, timeout=30)
    original = dmp.backend._store_submission

    def after_the_checks(*args, **kwargs):
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(dmp.backend, "_store_submission", after_the_checks)


def test_the_loser_of_a_race_with_identical_bytes_hears_unchanged_not_different_content(
        tmp_path, pki, world, case, monkeypatch, dmp_store):
    document = case.cda()
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        url = dmp.endpoint("repository")
        _race_to_the_write(dmp, monkeypatch)
        requests = [case.submission([document]) for _ in range(2)]  # two submission sets, one document
        messages = [provide_and_register(request, by_id) for request, by_id in requests]
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda m: send(url, ITI41, m[0], case.security(), m[1]), messages))
        monkeypatch.undo()
        [loser] = [a for a in answers if a.registry_status == "Failure"]
        assert [a.registry_status for a in answers].count("Success") == 1
        assert loser.rules() == ["XDS-41-009"] and loser.error_codes == ["XDSRegistryMetadataError"]
        sequential = case.iti41(url, [document])  # what a resend after the fact is told
        assert sequential.rules() == loser.rules() and sequential.error_codes == loser.error_codes
        assert dmp.backend.store.counts()["documents"] == 1


def test_the_loser_of_a_race_with_other_bytes_hears_which_unique_id_differs(tmp_path, pki, world, case,
                                                                            monkeypatch, dmp_store):
    document = case.cda()
    other = document.replace(b"</ClinicalDocument>", b"<!-- other bytes --></ClinicalDocument>")
    assert other != document
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        url = dmp.endpoint("repository")
        _race_to_the_write(dmp, monkeypatch)
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda doc: case.iti41(url, [doc]), [document, other]))
        monkeypatch.undo()
        [loser] = [a for a in answers if a.registry_status == "Failure"]
        assert loser.rules() == ["XDS-41-008"] and loser.error_codes == ["XDSNonIdenticalHash"]
        [entry] = dmp.backend.store.all_entries()
        assert entry.unique_id in loser.error_contexts[0]


def test_submission_set_unique_id_reuse_is_refused(tmp_path, pki, world, case, dmp_store):
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        fixed = "1.2.250.1.999.42.1"

        def same_uid(request):
            for ei in request.iter(f"{{{RIM}}}ExternalIdentifier"):
                if ei.get("identificationScheme") == xds_metadata.SS_UNIQUE_ID:
                    ei.set("value", fixed)

        assert case.iti41(dmp.endpoint("repository"), mutate=same_uid).registry_status == "Success"
        again = case.iti41(dmp.endpoint("repository"), mutate=same_uid)
        assert "XDSDuplicateUniqueIdInRegistry" in again.error_codes


def test_admin_reset_empties_the_store(tmp_path, pki, world, case, dmp_store):
    with running_dmp(tmp_path, pki=pki, world=world, store=dmp_store.url) as dmp:
        case.iti41(dmp.endpoint("repository"))
        reset = urllib.request.Request(dmp.url + "/_admin/reset", method="POST")
        urllib.request.urlopen(reset, timeout=5).read()
        assert dmp.backend.store.counts()["documents"] == 0


def test_power_safe_commits_are_an_explicit_choice(tmp_path):
    store = Store(tmp_path, synchronous="FULL")
    assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == 2
    store.close()
    with pytest.raises(ValueError):
        Store(tmp_path, synchronous="OFF")
