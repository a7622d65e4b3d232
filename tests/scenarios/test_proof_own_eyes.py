"""The judge has its own eyes: it reads what reached the mocks with its own MIME/MTOM reader and the
validator's safe XML parser (never a mock's parser), reads a document whole even when the journal entry
kept only a part of it, and takes a task's exchanges by the task tag the mocks journalled."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest

from segur.fixtures.documents.builders import build_cr_img_n1
from segur.fixtures.world import load_world
from segur.kernel.journal import MAX_BODY_CHARS, body_for_journal
from segur.mocks.dmp.mtom import Attachment, write_mtom
from segur.scenarios.mime import UnreadableMime, read_soap_request, split_parts
from segur.scenarios.observe import TaskExchanges, cda_documents_of_iti41, cda_header, observe_task

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: the mocks' modules that read a product's bytes (MIME, MTOM, SOAP, ebRIM, CDA, XDM, SMTP, IMAP)
MOCK_PARSERS = {"segur.mocks.dmp.mtom", "segur.mocks.dmp.soap", "segur.mocks.dmp.ebrim",
                "segur.mocks.dmp.cda_header", "segur.mocks.mssante.cda", "segur.mocks.mssante.checks",
                "segur.mocks.mssante.xdm", "segur.mocks.mssante.smtp_data", "segur.mocks.mssante.imap_parse",
                "segur.mocks.insi.soap"}
#: what the judge may take from the mocks: ANS's ASS_A11 concept map as the DMP mock loads it (reference
#: data, no parser); the mutation runs (mutants/) seed defects in what the product sends and may rebuild its
#: IHE_XDM.ZIP with the harness's writer
JUDGE_ALLOWED = {"segur.mocks.dmp", "segur.mocks.dmp.valuesets"}
MUTANTS_ALLOWED = JUDGE_ALLOWED | {"segur.mocks.mssante.xdm", "segur.mocks.mssante.xdm.build_xdm"}
#: a capability's own part of a task (`prepare`) acts as another professional would, through a service's
#: interface, with the harness's own client (the DMP client: ITI-41 with a signed VIHF); its judging reads
#: with the judge's eyes (tests/scenarios/test_proof_consult_reading.py shows where the client is used)
CAPABILITIES_ALLOWED = JUDGE_ALLOWED | {"segur.mocks.dmp.client", "segur.mocks.dmp.client.CallerIdentity",
                                       "segur.mocks.dmp.client.DmpClient",
                                       # the producing system's HL7v2 messages the harness hands a PFI, and
                                       # the returns it hands a DPI: written, never read (python-hl7 reads)
                                       "segur.mocks.pam.cda", "segur.mocks.pam.cda.render_return",
                                       "segur.mocks.pam.cda.render_transport",
                                       # the LPS volet's MDM the harness hands a DPI (written, never read)
                                       # and the volet's table of application error labels (reference data)
                                       "segur.mocks.pam.lps", "segur.mocks.pam.lps.render_mdm",
                                       "segur.mocks.pam.lps.APPLICATION_ERRORS"}


def _mock_imports(path: Path) -> set[str]:
    """The `segur.mocks` modules (and names) a source file imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("segur.mocks")}


def test_no_module_of_scenarios_imports_a_mocks_parser():
    for path in sorted(SCENARIOS.rglob("*.py")):
        allowed = {"mutants": MUTANTS_ALLOWED, "capabilities": CAPABILITIES_ALLOWED}.get(path.parent.name,
                                                                                         JUDGE_ALLOWED)
        assert _mock_imports(path) <= allowed, (path, sorted(_mock_imports(path) - allowed))


def test_the_walk_sees_a_parser_imported_inside_a_function(tmp_path):
    module = tmp_path / "judge.py"
    source = "def read(body):\n    from segur.mocks.dmp.mtom import read_http_body\n"
    module.write_text(source, encoding="utf-8")
    assert _mock_imports(module) & MOCK_PARSERS == {"segur.mocks.dmp.mtom"}
    assert not _mock_imports(module) <= JUDGE_ALLOWED


# --- the MIME/MTOM reader --------------------------------------------------------------------------------
ENVELOPE = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'


def test_an_mtom_request_is_split_into_its_envelope_and_parts():
    content_type, body = write_mtom(ENVELOPE, [Attachment("doc1@segur", "text/xml", b"<ClinicalDocument/>"),
                                               Attachment("doc2@segur", "application/pdf", b"%PDF\r\n--x")])
    request = read_soap_request(content_type, body)
    assert request.mtom and request.envelope == ENVELOPE
    assert request.attachments == {"doc1@segur": b"<ClinicalDocument/>", "doc2@segur": b"%PDF\r\n--x"}


def test_a_bare_soap_request_is_its_envelope():
    request = read_soap_request("application/soap+xml; charset=UTF-8", ENVELOPE)
    assert not request.mtom and request.envelope == ENVELOPE and request.attachments == {}


def test_base64_parts_are_decoded_and_the_root_is_the_start_part():
    body = (b"--B\r\nContent-ID: <a>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"doc")
            + b"\r\n--B\r\nContent-ID: <root>\r\n\r\n" + ENVELOPE + b"\r\n--B--\r\n")
    request = read_soap_request('multipart/related; boundary="B"; start="<root>"', body)
    assert request.envelope == ENVELOPE and request.attachments == {"a": b"doc"}


@pytest.mark.parametrize(("content_type", "body", "why"), [
    ("multipart/related", b"--B\r\n\r\nx\r\n--B--", "without a boundary"),
    ('multipart/related; boundary="B"', b"no delimiter here", "never occurs"),
    ('multipart/related; boundary="B"', b"--B\r\nContent-ID: <a>\r\n\r\ncut short", "cut short"),
    ('multipart/related; boundary="B"; start="<root>"', b"--B\r\nContent-ID: <a>\r\n\r\nx\r\n--B--",
     "<root>"),
    ('multipart/related; boundary="B"',
     b"--B\r\nContent-Transfer-Encoding: base64\r\n\r\n*not base64*\r\n--B--", "base64"),
    ("application/json", b"{}", "neither a SOAP envelope nor MTOM"),
])
def test_an_unreadable_body_is_said_so(content_type, body, why):
    with pytest.raises(UnreadableMime, match=why):
        read_soap_request(content_type, body)


def test_a_multipart_body_without_parts_is_refused():
    with pytest.raises(UnreadableMime, match="no part"):
        split_parts(b"--B--\r\n", "B")


# --- the CDA read with the validator's safe parser ---------------------------------------------------------
def test_a_cda_with_a_dtd_or_an_entity_is_not_read():
    hostile = (b'<!DOCTYPE x [<!ENTITY e "boom">]>'
               b'<ClinicalDocument xmlns="urn:hl7-org:v3">&e;</ClinicalDocument>')
    assert cda_header(hostile)["unreadable"].startswith("NotXml: XML-")


def test_the_header_of_a_cda_names_its_patient_and_level():
    world = load_world()
    patient = world.patients[0]
    header = cda_header(build_cr_img_n1(patient, world.professionals[0], world.organisations[0]))
    assert header["ins"] == patient.ins and header["level"] == 1 and header["qualified_ins"]
    assert header["n1_media_type"] == "application/pdf" and header["code"] == "18748-4"


# --- a truncated journal entry, the whole document -------------------------------------------------------
class _WholeBodies:
    """An admin API that serves the whole bodies of a journal (as `GET /_admin/journal/<seq>/body`)."""

    endpoints: dict = {}

    def __init__(self, bodies: dict[int, bytes]):
        self.bodies = bodies

    def journal_body(self, service, seq, side="request"):
        return self.bodies[seq]


def _large_iti41(seq: int = 7) -> tuple[dict, bytes, bytes]:
    world = load_world()
    patient = world.patients[1]
    document = build_cr_img_n1(patient, world.professionals[0], world.organisations[0],
                               pdf_bytes=b"%PDF-1.4\n" + b"0" * (MAX_BODY_CHARS + 1024))
    content_type, body = write_mtom(ENVELOPE, [Attachment("doc@segur", "text/xml", document)])
    kept = body_for_journal(body)
    kept.pop("_whole", None)
    exchange = {"seq": seq, "time": "2026-12-06T13:00:00Z", "operation": "ITI-41", "verdict": "accepted",
                "rules": [], "findings": [], "meta": {}, "task": "dmp-01",
                "request": {"headers": {"Content-Type": content_type}, "body": kept}, "response": {}}
    return exchange, body, document


def test_a_truncated_journal_body_is_still_judged_from_the_whole_document():
    exchange, body, document = _large_iti41()
    assert exchange["request"]["body"]["truncated"]
    assert cda_documents_of_iti41(exchange)[0]["harness_limit"]  # the entry alone: the judge would be blind
    observed = observe_task({"id": "dmp-01", "patient": {}}, {}, {}, {"dmp": [exchange]},
                            _WholeBodies({7: body}), tagged=("dmp",))
    [item] = observed["dmp"]
    [read] = item["documents"]
    assert "unreadable" not in read and read["size"] == len(document)
    assert read["ins"] == load_world().patients[1].ins


# --- a task's exchanges are those the mocks tagged with it -----------------------------------------------
def test_a_task_takes_the_exchanges_tagged_with_it_whatever_their_sequence_number():
    mine = TaskExchanges("dmp-02", before={"dmp": 10, "insi": 3}, after={"dmp": 12, "insi": 5},
                         tagged={"dmp"})
    assert mine({"seq": 40, "task": "dmp-02"}, "dmp")  # journalled late, still the task's
    assert not mine({"seq": 11, "task": None}, "dmp")  # between the marks but not tagged: someone else's
    assert not mine({"seq": 11, "task": "dmp-01"}, "dmp")
    assert mine({"seq": 4}, "insi") and not mine({"seq": 6}, "insi")  # a mock without tags: by the marks
