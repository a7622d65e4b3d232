"""The LPS volet on the PAM mock's CDA listener (mocks/pam/lps.py): the MDM a PFI hands its consumer with a
document received by MSSanté is checked as the volet lays it out and acknowledged; the `nack` fault with an
`error` answers as a consumer that cannot integrate it (ERR-3 207, ERR-5 the volet's code); broken MDM are
answered AE/AR and the listener keeps serving; the ANS example messages are read from the mirror when
present."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

import hl7
import hl7.client
import pytest

from segur.fixtures.documents import build_cr_img_n1
from segur.fixtures.world import load_world
from segur.mocks.pam import cda, lps, mllp
from segur.mocks.pam.testing import running_pam

LIMIT = 512 * 1024
#: the ANS examples (ansforge/hl7V2-exemples, bare mirror; read only when present, never copied here)
EXAMPLES = Path("/work/.mirror/ansforge+hl7V2-exemples/repo")
FOLDER = "Vague 2/Trans_LPS_CDA_MSSanté/TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1"
EXAMPLE_FILES = ("Transmission initiale MDM/message_MDM__LPS_MSS_CR_Radio_INIT_N1_Base64.er7",
                 "Remplacement MDM/message_MDM__LPS_MSS_CR_Radio_RPLC_N1.er7",
                 "Suppression MDM/message_MDM__LPS_MSS_CR_Radio_DEL_N1.er7")
MAIL = {"message_id": "<m1@test.mssante.fr>", "subject": "XDM/1.0/DDM+CR d'imagerie DUPONT JEAN 01/02/1980",
        "body": "Bonjour", "sender": "dr@test.mssante.fr", "recipient": "dpi@ch.mssante.fr"}


@pytest.fixture(scope="module")
def pam_server():
    with running_pam(max_message_size=LIMIT) as pam:
        yield pam


@pytest.fixture
def pam(pam_server):
    pam_server.journal.clear()
    pam_server.service.faults.clear()
    return pam_server


@pytest.fixture(scope="module")
def patient_document():
    world = load_world()
    patient = next(p for p in world.patients if p.has_dmp)
    return patient, build_cr_img_n1(patient, world.professionals[0], world.organisations[0])


def message(patient_document, event="T02", *, parent="", control_id="LPS0001") -> str:
    patient, document = patient_document
    traits = {"birth_name": patient.birth_name, "first_names": patient.first_names, "sex": patient.sex,
              "birth_date": patient.birth_date, "birth_place": patient.birth_place}
    return lps.render_mdm(document, event=event, control_id=control_id, pid_status="VALI",
                          pid3=f"{patient.ins}^^^ASIP-SANTE-INS-NIR&{patient.oid}&ISO^INS", traits=traits,
                          type_code="18748-4", type_label="CR d'imagerie médicale", mail=MAIL, parent=parent,
                          now="20261207010000")


def fields(ack: str, name: str) -> list[list[str]]:
    return [s.split("|") for s in ack.replace("\n", "\r").split("\r") if s.startswith(name + "|")]


def rules_of(pam) -> list[str]:
    return [f["rule"] for f in pam.journal.entries()[-1].findings]


def without(text: str, prefix: str) -> str:
    return "\r".join(s for s in text.split("\r") if not s.startswith(prefix))


def test_a_valid_mdm_of_the_volet_is_acknowledged_aa_and_its_mail_journalled(pam, patient_document):
    ack = pam.send_cda(message(patient_document))
    assert fields(ack, "MSA")[0][1:3] == ["AA", "LPS0001"]
    assert fields(ack, "MSH")[0][8] == "ACK^T02^ACK"
    entry = pam.journal.entries()[-1]
    assert entry.operation == "MDM^T02"
    facts = entry.meta["transport"]
    assert (facts["profile"], facts["mail_id"], facts["sender"]) == \
        ("CISIS_CDA_HL7_LPS", MAIL["message_id"], MAIL["sender"])
    assert facts["pid_ins"] == patient_document[0].ins


def test_python_hl7s_mllp_client_a_sender_the_project_did_not_write_gets_its_ack(pam, patient_document):
    mdm = message(patient_document, control_id="LPS0042")
    with hl7.client.MLLPClient(pam.host, pam.cda_port) as client:
        answer = client.send_message(mdm)
    ack = hl7.parse(answer.decode("utf-8").strip("\x0b\x1c\r"))
    assert str(ack.segment("MSA")[1]) == "AA" and str(ack.segment("MSA")[2]) == "LPS0042"
    assert str(ack.segment("MSH")[9]) == "ACK^T02^ACK"
    assert pam.journal.entries()[-1].operation == "MDM^T02"


def test_a_replacement_without_txa13_is_refused(pam, patient_document):
    ack = pam.send_cda(message(patient_document, "T10"))
    assert fields(ack, "MSA")[0][1] == "AE"
    assert "PAM-LPS-04" in rules_of(pam)
    ack = pam.send_cda(message(patient_document, "T10", parent="2.25.1"))
    assert fields(ack, "MSA")[0][1] == "AA"


@pytest.mark.parametrize(("cut", "rule"), [("PRT||UC||SB", "PAM-LPS-02"), ("OBX|2|", "PAM-LPS-03"),
                                           ("OBX|4|", "PAM-LPS-01")])
def test_a_missing_part_of_the_volet_is_named(pam, patient_document, cut, rule):
    ack = pam.send_cda(without(message(patient_document), cut))
    assert fields(ack, "MSA")[0][1] == "AE"
    assert rule in rules_of(pam)


def test_the_metadata_out_of_order_are_refused(pam, patient_document):
    text = message(patient_document).replace("MASQUE_PS^", "TMP^").replace("INVISIBLE_PATIENT^", "MASQUE_PS^")
    ack = pam.send_cda(text.replace("TMP^", "INVISIBLE_PATIENT^"))
    assert fields(ack, "MSA")[0][1] == "AE" and "PAM-LPS-01" in rules_of(pam)


def test_the_lps_profile_is_an_mdm_profile_only(pam, patient_document):
    oru = message(patient_document).replace("MDM^T02^MDM_T02", "ORU^R01^ORU_R01").replace("|2.6|", "|2.5|", 1)
    pam.send_cda(oru)
    assert "PAM-CDA-03" in rules_of(pam)


def test_a_nack_fault_with_an_error_answers_the_volets_application_error_once(pam, patient_document):
    pam.service.faults.add({"kind": "nack", "operation": "MDM^T02", "error": "902", "count": 1})
    ack = pam.send_cda(message(patient_document))
    assert fields(ack, "MSA")[0][1:3] == ["AE", "LPS0001"]
    (err,) = fields(ack, "ERR")  # the volet's ERR alone, not the fault's own
    assert err[3].split("^")[0] == "207"
    assert err[5] == "902^Identifiant patient inconnu^applicationErrorCode"
    assert fields(pam.send_cda(message(patient_document, control_id="LPS0002")), "MSA")[0][1] == "AA"


#: the MSH of a broken MDM of the volet (MSH-10 left to fill)
HEADER = ("MSH|^~\\&|PFI|X|DPI|X|20260101||MDM^T02^MDM_T02|{}|P|2.6|||||FRA|UNICODE UTF-8|||"
          "1.1^CISIS_CDA_HL7_LPS\r")
#: every segment the volet needs, the first OBX's base64 not base64
BAD_BASE64 = ("EVN||1\rPID|||1^^^X&1.2&ISO^PI\rPV1|1|N\rORC|NW\rOBR|1\rTXA|1|x|TEXT\r"
              "OBX|1|ED|x||^text^XML^Base64^!!!!||||||F\r")


@pytest.mark.parametrize("broken", [
    HEADER.format("B1"),
    HEADER.format("B2") + BAD_BASE64,
    "this is no HL7 message at all\r",
])
def test_a_broken_mdm_is_answered_ae_or_ar_and_the_listener_keeps_serving(pam, patient_document, broken):
    ack = pam.send_cda(broken)
    assert fields(ack, "MSA")[0][1] in ("AE", "AR")
    assert fields(pam.send_cda(message(patient_document)), "MSA")[0][1] == "AA"


def _example(name: str) -> str:
    shown = subprocess.run(["git", "-C", str(EXAMPLES), "show", f"HEAD:{FOLDER}/{name}"], capture_output=True,
                           check=True)
    return shown.stdout.decode("utf-8").replace("\r\n", "\r").replace("\n", "\r")


def _padded(text: str) -> str:
    """The example with its OBX-5.5 base64 padded with '=' to a multiple of 4 (the files omit the padding)."""
    segments = text.split("\r")
    for number, segment in enumerate(segments):
        if segment.startswith("OBX|1|"):
            parts = segment.split("|")
            value = parts[5].split("^")
            value[4] += "=" * (-len(value[4]) % 4)
            parts[5] = "^".join(value)
            segments[number] = "|".join(parts)
    return "\r".join(segments)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the ansforge/hl7V2-exemples mirror is not on this machine")
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_the_ans_examples_are_accepted_once_their_base64_is_padded(pam, name):
    text = _example(name)
    assert fields(pam.send_cda(text), "MSA")[0][1] == "AE"  # as published: base64 without its padding
    assert "PAM-CDA-05" in rules_of(pam)
    ack = pam.send_cda(_padded(text))
    assert fields(ack, "MSA")[0][1] == "AA", ack
    assert pam.journal.entries()[-1].meta["transport"]["profile"] == "CISIS_CDA_HL7_LPS"


def _product_answering(reply: bytes | None) -> tuple[socket.socket, threading.Thread]:
    """A product's MLLP endpoint that reads one block and answers `reply` framed (None: closes unanswered)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        connection, _ = server.accept()
        with connection:
            data = b""
            while not data.endswith(b"\x1c\r"):
                data += connection.recv(65536)
            if reply is not None:
                connection.sendall(mllp.frame(reply))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


@pytest.mark.parametrize(("reply", "verdict"), [(b"garbage, no HL7 here", "unreadable-ack"),
                                                (None, "unreachable")])
def test_a_dpi_answering_garbage_or_nothing_is_journalled_so_and_the_mock_keeps_sending(
        pam, patient_document, reply, verdict):
    server, thread = _product_answering(reply)
    to = f"mllp://127.0.0.1:{server.getsockname()[1]}"
    answer = cda.send_message(pam.journal, to, message(patient_document), timeout=5)
    thread.join(5)
    server.close()
    assert answer["ack_code"] is None
    (entry,) = pam.journal.entries(operation="send MDM^T02")
    assert entry.verdict == verdict
    assert fields(pam.send_cda(message(patient_document)), "MSA")[0][1] == "AA"
