"""The proof judges real-sized documents: a report carrying a ~2 MB PDF (as real N1 reports do) is read whole
from the mocks, and every check that reads the CDA judges it, where the journal's 512 KiB prefix used to leave
it unread ("the request was larger than the journal keeps; CDA not re-read", and ins-in-cda failed).

One DMP task and one MSSanté task of the small plan, run through the reference RIS with
`REFERENCE_RIS_PDF_KIB=2048`, against one stack of the mocks.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import urllib.error
from pathlib import Path

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.checks import run_check, sent_documents
from segur.scenarios.observe import Admin, cda_documents_of_iti41, whole_request
from segur.scenarios.plan import build_plan
from segur.scenarios.proof import driver_for
from segur.scenarios.runner import run_plan

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

PDF_KIB = 2048
#: the checks that read the CDA (or its PDF) the product sent
CDA_CHECKS = ("ins-in-cda", "pdf-patient", "document-dates", "document-ids", "author-is-actor",
              "metadata-patient", "mss-pdf-copy")
#: those of them that read the CDA of an ITI-41
DMP_CDA_CHECKS = CDA_CHECKS[:-1]
OLD_MESSAGE = "the request was larger than the journal keeps"


def _run(stack, workdir: Path) -> dict:
    world = load_world()
    plan = build_plan(world, "RIS", "small")
    plan.tasks = plan.of("dmp")[:1] + plan.of("mss")[:1]
    return run_plan(plan, driver_for("reference-ris", stack, workdir / "ris"), stack.endpoints(), world)


@pytest.fixture(scope="module")
def large_run(stack, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REFERENCE_RIS_PDF_KIB", str(PDF_KIB))
        return _run(stack, tmp_path_factory.mktemp("large-run"))


def _iti41(run: dict) -> dict:
    return next(d for t in run["tasks"] for d in t["observed"]["dmp"] if d["operation"] == "ITI-41")


def test_the_reference_ris_pads_its_pdf_to_the_size_asked(monkeypatch):
    ris_dir = str(Path(__file__).parents[2] / "examples" / "reference-ris")
    if ris_dir not in sys.path:
        sys.path.insert(0, ris_dir)
    from pypdf import PdfReader
    from reference_ris.report import padded_pdf, pdf_padding_kib

    from segur.fixtures.documents import make_pdf
    from segur.validators.segur_rules.pdf import active_content, pdf_problem

    small = make_pdf("Compte rendu", ["DUPONT Jean"])
    big = padded_pdf(small, 1024)
    assert 1024 * 1024 <= len(big) < 1024 * 1024 + 200 and big.startswith(small.rstrip())
    assert pdf_problem(big) is None and active_content(big) == []
    assert "DUPONT Jean" in PdfReader(io.BytesIO(big)).pages[0].extract_text()
    monkeypatch.setenv("REFERENCE_RIS_PDF_KIB", "lots")
    with pytest.raises(ValueError, match="REFERENCE_RIS_PDF_KIB"):
        pdf_padding_kib()


def test_a_report_larger_than_the_journal_keeps_is_read_whole(large_run):
    item = _iti41(large_run)
    assert item["verdict"] == "accepted"
    [document] = item["documents"]
    assert "unreadable" not in document and document["size"] > PDF_KIB * 1024
    assert document["pdfs"][0]["size"] >= PDF_KIB * 1024 and document["birth_name"]
    assert document["birth_name"].lower() in document["pdfs"][0]["text"].lower()
    assert item["xds_entries"] and item["vihf_subject"]  # the envelope read from the same whole body
    assert OLD_MESSAGE not in json.dumps(large_run)


@pytest.mark.parametrize("check_id", CDA_CHECKS)
def test_every_check_that_reads_the_cda_judges_the_real_document_and_passes(large_run, check_id):
    result = run_check(check_id, large_run)
    assert result.status == "pass", (result.problems, result.blocked_by)
    judged = [(kind, doc) for task in large_run["tasks"] for kind, _item, doc in sent_documents(task)]
    assert {kind for kind, _doc in judged} == {"dmp", "mss"}
    assert all(doc["pdfs"][0]["size"] >= PDF_KIB * 1024 for _kind, doc in judged)


def test_a_body_the_mock_evicted_blocks_the_cda_checks_as_a_harness_limit(stack, tmp_path, monkeypatch):
    journal = stack.services["dmp"].journal
    # the DMP keeps no body file: every large one is evicted
    monkeypatch.setattr(journal.spill, "max_files", 0)
    monkeypatch.setenv("REFERENCE_RIS_PDF_KIB", "1024")
    run = _run(stack, tmp_path)
    [document] = _iti41(run)["documents"]
    assert document["harness_limit"] and "not the product's fault" in document["unreadable"]
    assert "evicted" in document["unreadable"]
    for check_id in DMP_CDA_CHECKS:  # neither failed for the harness's limit nor passed without judging
        result = run_check(check_id, run)
        assert result.status == "blocked" and not result.problems, (check_id, result.problems)
        assert "harness limit" in result.blocked_by[0]["reason"] and result.blocked_by[0]["check"] is None
    assert run_check("mss-pdf-copy", run).status == "pass"  # the MSSanté message is read whole as before


def test_the_evidence_pack_collects_a_large_refused_document_whole_from_the_journal(stack, large_run):
    from segur.scenarios.evidence_pack.documents import _journalled_document

    item = _iti41(large_run)
    [document] = item["documents"]
    content = _journalled_document(stack, item["seq"], document["unique_id"])
    assert isinstance(content, bytes), content
    assert len(content) == document["size"] and hashlib.sha1(content).hexdigest() == document["sha1"]


class _GoneAdmin(Admin):
    def __init__(self):
        super().__init__({})

    def journal_body(self, service, seq, side="request"):
        raise urllib.error.URLError("connection refused")


def test_a_truncated_body_the_harness_cannot_fetch_is_its_own_limit_not_the_products():
    exchange = {"seq": 3, "request": {"body": {"encoding": "text", "text": "<x", "truncated": True}}}
    read = whole_request(exchange, _GoneAdmin())
    [document] = cda_documents_of_iti41(read)
    assert document["harness_limit"] and "the mock did not answer" in document["unreadable"]
    assert exchange["request"]["body"] == {"encoding": "text", "text": "<x", "truncated": True}  # not mutated


def test_a_whole_body_is_not_fetched_again():
    exchange = {"seq": 3, "request": {"body": {"encoding": "text", "text": "<x/>", "truncated": False}}}
    assert whole_request(exchange, _GoneAdmin()) is exchange
