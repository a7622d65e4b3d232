"""The journal keeps every exchange body whole for the judge: in memory up to 512 KiB, on disk beyond
(bounded, with an explicit eviction marker), served whole by ``GET /_admin/journal/<seq>/body``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from segur.fixtures.world import load_world
from segur.kernel.journal import Journal, body_for_journal
from segur.mocks.annuaire.testing import running_annuaire
from segur.mocks.dmp.journal import DmpJournal, journal_body
from segur.mocks.dmp.testing import running_dmp
from segur.mocks.insi.testing import running_insi
from segur.mocks.mssante.testing import running_mssante


def _record(journal: Journal, request: bytes | str, response: bytes | str = b"ok", limit: int = 100):
    return journal.record("op", "accepted", request={"headers": {"Content-Type": "application/x-test"},
                                                     "body": body_for_journal(request, limit)},
                          response={"body": body_for_journal(response, limit)})


def _spilled_files(journal: Journal) -> list:
    return sorted(journal.spill.directory().glob("*.body"))


# --- the journal itself ---------------------------------------------------------------------------------
def test_a_body_over_the_memory_limit_is_spilled_to_disk_and_read_back_whole(tmp_path):
    journal = Journal("t", spill_dir=tmp_path / "bodies")
    big = b"<a>" + b"x" * 5000 + b"</a>"
    exchange = _record(journal, big)
    body = exchange.request["body"]
    assert body["truncated"] and len(body["text"]) == 100 and body["whole"] == "spilled"
    assert "_whole" not in body and json.dumps(exchange.to_dict())  # the entry stays plain JSON
    assert journal.body(exchange.seq, "request") == (big, "")
    assert [p.name for p in _spilled_files(journal)] == [f"{exchange.seq}-request.body"]


def test_a_binary_body_is_read_back_as_the_same_bytes():
    journal = Journal("t")
    binary = bytes(range(256)) * 40
    exchange = _record(journal, binary)
    assert exchange.request["body"]["encoding"] == "base64"
    assert journal.body(exchange.seq, "request")[0] == binary


def test_a_small_body_is_read_back_from_memory_without_a_file():
    journal = Journal("t")
    exchange = _record(journal, "<petit>é</petit>", "réponse")
    assert journal.body(exchange.seq, "request")[0] == "<petit>é</petit>".encode()
    assert journal.body(exchange.seq, "response")[0] == "réponse".encode()
    assert journal.spill.stats()["files"] == 0


def test_the_disk_bound_evicts_the_oldest_body_and_the_entry_says_so():
    journal = Journal("t", spill_max_files=2)
    first, second, third = (_record(journal, bytes([65 + n]) * 1000) for n in range(3))
    assert first.request["body"]["whole"] == "evicted" and "harness limit" in first.request["body"]["evicted"]
    data, why = journal.body(first.seq, "request")
    assert data is None and "evicted" in why
    assert journal.body(third.seq, "request")[0] == b"C" * 1000
    assert second.request["body"]["whole"] == "spilled" and journal.spill.stats()["evicted"] == 1
    assert len(_spilled_files(journal)) == 2


def test_a_body_larger_than_the_whole_disk_bound_is_marked_evicted_at_once():
    journal = Journal("t", spill_max_bytes=500)
    exchange = _record(journal, b"z" * 1000)
    assert exchange.request["body"]["whole"] == "evicted"
    assert journal.body(exchange.seq, "request")[0] is None


def test_clearing_the_journal_removes_the_spilled_files():
    journal = Journal("t")
    _record(journal, b"q" * 1000, b"r" * 1000)
    assert len(_spilled_files(journal)) == 2
    journal.clear()
    assert _spilled_files(journal) == [] and journal.spill.stats()["files"] == 0


def test_an_exchange_dropped_by_the_entry_bound_takes_its_files_with_it():
    journal = Journal("t", max_entries=1)
    first = _record(journal, b"1" * 1000)
    _record(journal, b"2" * 1000)
    assert journal.body(first.seq, "request")[1].startswith("no exchange")
    assert [p.name for p in _spilled_files(journal)] == ["2-request.body"]


def test_a_new_journal_on_a_data_dir_starts_without_the_previous_files(tmp_path):
    _record(Journal("t", spill_dir=tmp_path), b"old" * 500)
    assert list(tmp_path.glob("*.body"))
    Journal("t", spill_dir=tmp_path)
    assert list(tmp_path.glob("*.body")) == []


def test_the_dmp_journal_moves_elided_bodies_to_disk_so_they_stay_readable():
    journal = DmpJournal("dmp", body_budget=2500)
    for index in range(4):
        journal.record("ITI-41", "accepted", request={"body": journal_body(bytes([97 + index]) * 1000)})
    oldest = journal.entries()[0]
    assert "elided" in oldest.request["body"] and oldest.request["body"]["whole"] == "spilled"
    assert journal.body(oldest.seq, "request")[0] == b"a" * 1000


def test_the_dmp_journal_keeps_a_large_body_whole_on_disk():
    journal = DmpJournal("dmp")
    large = b"<a>" + "é".encode() * 400_000 + b"</a>"
    exchange = journal.record("ITI-41", "accepted", request={"body": journal_body(large, limit=1002)})
    assert exchange.request["body"]["truncated"] and journal.body(exchange.seq, "request")[0] == large


# --- the admin route, on each HTTP mock -------------------------------------------------------------------
def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def _post(url: str, data: bytes, content_type: str) -> None:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except urllib.error.HTTPError as err:
        err.read()


def _last_seq(admin_url: str) -> int:
    return json.loads(_get(admin_url + "journal?limit=1")[2])["entries"][-1]["seq"]


def test_the_dmp_serves_a_request_larger_than_the_journal_keeps_whole_with_its_content_type():
    with running_dmp() as dmp:
        admin = dmp.url + "/_admin/"
        big = b"<not-soap>" + b"0123456789" * 70_000 + b"</not-soap>"  # 700 kB, over the 512 KiB kept
        _post(dmp.endpoint("repository"), big, "application/soap+xml; charset=UTF-8")
        seq = _last_seq(admin)
        entry = json.loads(_get(f"{admin}journal/{seq}")[2])
        assert entry["request"]["body"]["truncated"] and entry["request"]["body"]["whole"] == "spilled"
        status, content_type, data = _get(f"{admin}journal/{seq}/body?side=request")
        assert status == 200 and data == big and content_type.startswith("application/soap+xml")
        assert list((dmp.data_dir / "journal-bodies").glob("*.body"))
        _post(admin + "reset", b"{}", "application/json")
        assert list((dmp.data_dir / "journal-bodies").glob("*.body")) == []
        status, content_type, data = _get(f"{admin}journal/{seq}/body")
        assert (status, content_type) == (404, "application/json")
        assert "no exchange" in json.loads(data)["error"]


def test_the_insi_serves_a_request_and_its_answer_whole():
    with running_insi() as insi:
        envelope = b'<?xml version="1.0"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"/>'
        _post(insi.service_url, envelope, "application/soap+xml; charset=UTF-8")
        seq = _last_seq(insi.url + "/_admin/")
        status, content_type, data = _get(f"{insi.url}/_admin/journal/{seq}/body?side=request")
        assert status == 200 and data == envelope and content_type.startswith("application/soap+xml")
        status, _type, answer = _get(f"{insi.url}/_admin/journal/{seq}/body?side=response")
        assert status == 200 and b"Envelope" in answer


def test_the_annuaire_serves_an_answer_whole():
    with running_annuaire() as annuaire:
        url = annuaire.fhir_base + "/Practitioner?_count=200"
        headers = {"ESANTE-API-KEY": "k", "Accept": "application/fhir+json"}
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            sent = response.read()
        seq = _last_seq(annuaire.url + "/_admin/")
        status, _type, data = _get(f"{annuaire.url}/_admin/journal/{seq}/body?side=response")
        assert status == 200 and json.loads(data) == json.loads(sent)


@pytest.mark.parametrize("query, status, words", [
    ("?side=request", 404, "journalled no request body"),
    ("?side=sideways", 400, "side is request or response"),
])
def test_the_mssante_admin_says_clearly_when_there_is_no_body_to_serve(query, status, words):
    with running_mssante(load_world(), validate=False) as mss:
        mss.journal.record("smtp-session", "accepted", request={"from": "a@b"})
        seq = mss.journal.entries()[-1].seq
        got, content_type, data = _get(f"{mss.url}/_admin/journal/{seq}/body{query}")
        assert got == status and content_type == "application/json" and words in json.loads(data)["error"]
