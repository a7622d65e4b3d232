"""The documents of a proof run are in its evidence pack, whole: each CDA the product sent to the DMP and by
MSSanté as a file (byte for byte what the mock received), an N1 document's PDF, each message's IHE_XDM.ZIP;
a document the DMP refused comes from the mock's journal; what cannot be collected is said, never dropped."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from segur.scenarios.checks import NO_REPORT_ACTIONS
from segur.scenarios.evidence_pack.documents import collect_documents, safe_name

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture(scope="module")
def reference(clean_proof):
    return clean_proof("RIS")


@pytest.fixture(scope="module")
def refused(seeded_proof):
    """pdf-not-base64: the DMP refuses every report (never stored); MSSanté stores the messages (the session's
    run, which test_browser_evidence_pack.py views)."""
    return seeded_proof("reference-ris:pdf-not-base64")


def _sent_documents(evidence) -> set[tuple[str, str]]:
    """(task, uniqueId) of every CDA the mocks saw the product send."""
    sent = set()
    for task in evidence["run"]["tasks"]:
        if task["task"]["action"] in NO_REPORT_ACTIONS:  # the harness's own deliveries (reading tasks)
            continue
        for item in task["observed"]["dmp"]:
            sent |= {(task["task"]["id"], d["unique_id"]) for d in item.get("documents") or []}
        for item in task["observed"]["mss"]:
            sent |= {(task["task"]["id"], d["metadata"]["unique_id"]) for d in item.get("documents") or []}
    return sent


def test_every_document_sent_is_in_the_pack_as_a_file(reference):
    documents = reference.evidence["documents"]
    assert {(d["task"], d["unique_id"]) for d in documents} == _sent_documents(reference.evidence)
    assert {d["service"] for d in documents} == {"dmp", "mssante"}
    for doc in documents:
        assert doc["missing"] == [], doc
        content = (reference.out / doc["files"]["cda"]).read_bytes()
        assert b"ClinicalDocument" in content and doc["unique_id"].encode() in content
        assert (reference.out / doc["files"]["embedded"]).read_bytes().startswith(b"%PDF")
        assert doc["validation"]["layers"], doc


def test_a_dmp_document_is_byte_for_byte_what_the_dmp_stored(reference):
    dmp = next(d for d in reference.evidence["documents"] if d["service"] == "dmp")
    stored = next(e for entries in reference.evidence["run"]["dmp_store"].values() for e in entries
                  if e["unique_id"] == dmp["unique_id"])
    assert hashlib.sha1((reference.out / dmp["files"]["cda"]).read_bytes()).hexdigest() == stored["hash"]


def test_each_message_gives_its_xdm_zip_holding_the_same_cda(reference):
    messages = [d for d in reference.evidence["documents"] if d["service"] == "mssante"]
    assert messages
    for doc in messages:
        with zipfile.ZipFile(reference.out / doc["files"]["xdm"]) as xdm:
            assert xdm.read(doc["xdm_path"]) == (reference.out / doc["files"]["cda"]).read_bytes()


def test_the_page_renders_each_document_and_evidence_json_lists_them(reference):
    html = (reference.out / "index.html").read_text(encoding="utf-8")
    for doc in reference.evidence["documents"]:
        assert f"<a href='{doc['files']['cda']}'>" in html
    assert "(birth name)" in html and "INS-NIR" in html
    written = json.loads((reference.out / "evidence.json").read_text())
    assert written["documents"] == reference.evidence["documents"]


def test_documents_the_dmp_refused_come_from_its_journal_with_the_answers_findings(refused):
    dmp = [d for d in refused.evidence["documents"] if d["service"] == "dmp"]
    assert dmp and all(d["source"].startswith("DMP mock journal") for d in dmp)
    for doc in dmp:
        assert doc["unique_id"].encode() in (refused.out / doc["files"]["cda"]).read_bytes()
        assert doc["validation"]["valid"] is False
        assert any("base64" in m for m in doc["missing"])  # its PDF is not readable: said so
    html = (refused.out / "index.html").read_text(encoding="utf-8")
    assert "<code>SEGUR-BODY-002</code>" in html


def test_a_new_pack_starts_from_an_empty_documents_folder(tmp_path):
    stale = tmp_path / "documents" / "old.xml"
    stale.parent.mkdir()
    stale.write_text("from an earlier run")
    assert collect_documents(object(), {"tasks": []}, tmp_path) == []
    assert not stale.exists()


def _run_with(dmp=(), mss=()) -> dict:
    return {"tasks": [{"task": {"id": "t-1"}, "observed": {"dmp": list(dmp), "mss": list(mss)}}],
            "dmp_store": {}}


class _NoMocks:
    """A stack whose mocks are not in this process and whose admin API does not answer."""

    services: dict = {}

    def endpoints(self):
        nowhere = {"admin": "http://127.0.0.1:9/_admin/"}
        return {"dmp": nowhere, "mssante": nowhere}


def test_what_cannot_be_collected_is_listed_with_the_reason(tmp_path):
    run = _run_with(dmp=[{"seq": 2, "operation": "ITI-41", "verdict": "refused", "findings": [],
                          "documents": [{"unique_id": "2.25.1"}]}],
                    mss=[{"seq": 1, "id": "MSS-000001"}, {"seq": 2, "id": None}])
    dmp, mss, unstored = collect_documents(_NoMocks(), run, tmp_path)
    assert dmp["unique_id"] == "2.25.1" and dmp["files"] == {}
    assert "does not run in this process" in dmp["missing"][0]
    assert "journal could not be read" in dmp["missing"][1]
    assert mss["files"] == {} and "admin API did not give message MSS-000001" in mss["missing"][0]
    assert "the MSSanté mock did not store it" in unstored["missing"][0]


def test_file_names_keep_only_safe_characters():
    assert safe_name("../../etc/passwd") == "..-..-etc-passwd"
    assert "/" not in safe_name("a/b\\c:d") and Path(safe_name("x" * 200)).name == "x" * 80
