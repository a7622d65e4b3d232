"""The CI-SIS CDA transport volet on the PAM mock's listeners (mocks/pam/cda.py): an MDM or ORU carrying a
CDA and the ZAM business returns are checked and acknowledged AA/AE/AR, broken ones refused and the listener
keeps serving; `/_admin/send-cda` sends one to a product; python-hl7's MLLPClient (a sender the project did
not write) gets its ACK."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import urllib.error
import urllib.request

import hl7.client
import pytest

from segur.fixtures.documents import build_ldl_ses_n1
from segur.fixtures.world import load_world
from segur.mocks.pam import cda, mllp
from segur.mocks.pam.testing import read_reply, running_pam

LIMIT = 512 * 1024  # a lettre de liaison with its PDF is about 100 KB in base64


@pytest.fixture(scope="module")
def pam_server():
    with running_pam(max_message_size=LIMIT) as pam:
        yield pam


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def document(world):
    patient = next(p for p in world.patients if p.has_dmp)
    return patient, build_ldl_ses_n1(patient, world.professionals[0], world.organisations[0], None)


def mdm(document, *, control_id="MDM0001", ins=None, recipients=("dr@test.mssante.fr",)) -> str:
    patient, cda_bytes = document
    traits = {"birth_name": patient.birth_name, "first_names": patient.first_names,
              "birth_date": patient.birth_date, "sex": patient.sex, "birth_place": patient.birth_place}
    sender = {"idnps": "810000000001", "family": "MARTIN", "given": "LUC", "organisation": "CH TEST",
              "finess": "750803447"}
    return cda.render_transport(cda_bytes, control_id=control_id, ins=ins or patient.ins, ins_oid=patient.oid,
                                traits=traits, type_code="11490-0", type_label="Lettre de liaison",
                                sender=sender, recipients=recipients)


def segments(ack: str) -> list[list[str]]:
    return [segment.split("|") for segment in ack.replace("\n", "\r").split("\r") if segment]


def msa(ack: str) -> list[str]:
    return next(s for s in segments(ack) if s[0] == "MSA")


def err_rules(ack: str) -> list[str]:
    return [s[5].split("^")[0] for s in segments(ack) if s[0] == "ERR"]


def test_an_mdm_carrying_a_valid_cda_is_acknowledged_aa_in_hl7_26(pam, document):
    ack = pam.send_cda(mdm(document))
    header = segments(ack)[0]
    assert msa(ack)[1:3] == ["AA", "MDM0001"]
    assert header[8] == "ACK^T02^ACK" and header[11] == "2.6"
    entry = pam.journal.entries(operation="MDM^T02")[0]
    transport = entry.meta["transport"]
    assert entry.verdict == "accepted"
    assert transport["pid_ins"] == document[0].ins and transport["pid_status"] == ["VALI"]
    assert transport["document"]["ins"] == document[0].ins
    assert transport["participants"][0]["role"] == "SB"
    assert transport["metadata"]["DESTDMP"] == "Y"


def test_an_mdm_whose_pid_ins_differs_from_the_cda_is_answered_ae(pam, document, world):
    other = next(p for p in world.patients if p.ins != document[0].ins and p.oid == document[0].oid)
    ack = pam.send_cda(mdm(document, ins=other.ins))
    assert msa(ack)[1] == "AE"
    assert "PAM-CDA-10" in err_rules(ack)


def test_an_ins_in_pid_without_vali_is_answered_ae(pam, document):
    ack = pam.send_cda(mdm(document).replace("|VALI\r", "|PROV\r"))
    assert msa(ack)[1] == "AE" and "PAM-INS-01" in err_rules(ack)


def test_an_mdm_with_the_document_not_base64_is_answered_ae(pam, document):
    text = mdm(document)
    encoded = base64.b64encode(document[1]).decode()
    ack = pam.send_cda(text.replace(encoded, "not*base64"))
    assert msa(ack)[1] == "AE" and "PAM-CDA-05" in err_rules(ack)


def test_a_txa_12_other_than_the_document_id_is_answered_ae(pam, document):
    text = mdm(document)
    txa = next(s for s in text.split("\r") if s.startswith("TXA|"))
    fields = txa.split("|")
    fields[12] = "1.2.3.4.5"
    ack = pam.send_cda(text.replace(txa, "|".join(fields)))
    assert msa(ack)[1] == "AE" and "PAM-CDA-07" in err_rules(ack)


def test_a_missing_metadata_obx_and_recipient_prt_are_answered_ae(pam, document):
    text = mdm(document, recipients=())
    asked = "DESTMSSANTEPS^DESTMSSANTEPS^MetaDMPMSS||"
    text = text.replace(asked + "N", asked + "Y")
    text = "\r".join(s for s in text.split("\r") if "MASQUE_PS" not in s)
    ack = pam.send_cda(text)
    assert msa(ack)[1] == "AE"
    assert {"PAM-CDA-08", "PAM-CDA-09"} <= set(err_rules(ack))


def test_an_mdm_in_hl7_25_is_rejected_ar_with_203(pam, document):
    ack = pam.send_cda(mdm(document).replace("|P|2.6|", "|P|2.5|", 1))
    assert msa(ack)[1] == "AR"
    assert next(s for s in segments(ack) if s[0] == "ERR")[3].startswith("203")


def test_an_unknown_mdm_event_is_rejected_and_the_listener_keeps_serving(pam, document):
    ack = pam.send_cda(mdm(document).replace("MDM^T02^MDM_T02", "MDM^T99^MDM_T02", 1))
    assert msa(ack)[1] == "AR" and "PAM-CDA-02" in err_rules(ack)
    assert msa(pam.send_cda(mdm(document)))[1] == "AA"


def test_broken_framing_then_an_mdm_on_one_connection(pam, document):
    with socket.create_connection((pam.host, pam.cda_port), timeout=5) as sock:
        sock.sendall(b"\x0bMSH|^~\\&|half a block" + mllp.frame(mdm(document).encode()))
        first, second = read_reply(sock), read_reply(sock)
    assert "PAM-MLLP-02" in first or msa(first)[1] == "AR"
    assert msa(second)[1:3] == ["AA", "MDM0001"]


def test_an_oversize_mdm_is_rejected_ar(pam, document):
    big = mdm(document).replace("F\rPRT", "F\rNTE|1||" + "x" * (LIMIT + 1024) + "\rPRT", 1)
    ack = pam.send_cda(big)
    assert msa(ack)[1] == "AR" and "PAM-MLLP-04" in err_rules(ack)


def test_an_adt_on_the_transport_listener_is_rejected_and_the_pam_listener_still_takes_adt(pam, document):
    adt = ("MSH|^~\\&|A|B|C|D|20250101||ADT^A28^ADT_A05|A1|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r"
           "PID|||1^^^X&1.2&ISO^PI")
    ack = pam.send_cda(adt)
    assert msa(ack)[1] == "AR" and "PAM-CDA-02" in err_rules(ack)
    assert pam.service.health()["cda_listeners"] == [f"mllp://{pam.host}:{pam.cda_port}"]
    assert msa(pam.send(mdm(document)))[1] == "AR"  # the PAM listener takes ADT only (PAM-MSH-03)


def test_a_zam_z01_return_is_checked(pam):
    good = cda.render_return("Z01", control_id="ZAM1", answers="MDM0001", ok=True)
    assert msa(pam.send_cda(good))[1] == "AA"
    entry = pam.journal.entries(operation="ZAM^Z01")[0]
    assert entry.meta["return"] == {"event": "Z01", "control_id": "ZAM1", "code": "ACK_RECEPTION_DMP",
                                    "answers": "MDM0001", "status": "Y", "address": None, "error": None}
    failed_without_err = good.replace("|Y^^", "|N^^")
    ack = pam.send_cda(failed_without_err)
    assert msa(ack)[1] == "AE" and "PAM-CDA-11" in err_rules(ack)


def test_a_zam_z02_needs_the_recipient_address(pam):
    ack = pam.send_cda(cda.render_return("Z02", control_id="ZAM2", answers="MDM0001", ok=True))
    assert msa(ack)[1] == "AE" and "PAM-CDA-11" in err_rules(ack)
    with_address = cda.render_return("Z02", control_id="ZAM3", answers="MDM0001", ok=True,
                                     address="dr@test.mssante.fr")
    assert msa(pam.send_cda(with_address))[1] == "AA"


def test_python_hl7s_client_sends_an_oru_and_reads_the_ack(pam, document):
    oru = mdm(document, control_id="ORU0001").replace("MDM^T02^MDM_T02", "ORU^R01^ORU_R01", 1)
    oru = oru.replace("|P|2.6|", "|P|2.5|", 1).replace("^text^XML", "^TEXT^XML")
    oru = oru.replace("|CWE|", "|CE|")
    oru = "\r".join(s for s in oru.split("\r") if not s.startswith(("EVN|", "TXA|")))
    with hl7.client.MLLPClient(pam.host, pam.cda_port) as client:
        answer = client.send_message(oru)
    ack = hl7.parse(answer.decode("utf-8").strip("\x0b\x1c\r"))
    assert str(ack.segment("MSA")[1]) == "AA" and str(ack.segment("MSA")[2]) == "ORU0001"
    assert str(ack.segment("MSH")[9]) == "ACK^R01^ACK"


def _post(url: str, body: dict):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_send_cda_delivers_to_a_product_and_journals_its_ack(pam, document):
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def product():
        connection, _ = server.accept()
        with connection:
            data = b""
            while not data.endswith(b"\x1c\r"):
                data += connection.recv(65536)
            received.append(data)
            ack = b"MSH|^~\\&|PFI|X|SEGUR|SEGUR|20250101||ACK^T02^ACK|1|P|2.6\rMSA|AA|M9"
            connection.sendall(mllp.frame(ack))

    thread = threading.Thread(target=product, daemon=True)
    thread.start()
    status, answer = _post(pam.admin_url + "send-cda", {"to": f"mllp://127.0.0.1:{server.getsockname()[1]}",
                                                          "message": mdm(document, control_id="M9")})
    thread.join(5)
    server.close()
    assert status == 200 and answer["ack_code"] == "AA" and answer["control_id"] == "M9"
    assert b"MDM^T02^MDM_T02|M9|" in received[0]
    assert pam.journal.entries(operation="send MDM^T02")[0].verdict == "accepted"


def test_send_cda_refuses_what_is_not_a_volet_message(pam):
    url = pam.admin_url + "send-cda"
    adt = "MSH|^~\\&|A|B|C|D|1||ADT^A28^ADT_A05|1|P|2.5"
    assert _post(url, {"to": "mllp://127.0.0.1:9", "message": adt})[0] == 400
    assert _post(url, {"to": "http://x", "message": "MSH|^~\\&|A|B|C|D|1||ZAM^Z01^ZAM_Z01"})[0] == 400
    assert _post(pam.admin_url + "send-cda", {"message": 3})[0] == 400


def test_the_cda_carried_is_validated_as_the_dmp_would(pam, document):
    pam.send_cda(mdm(document))
    validation = pam.journal.entries(operation="MDM^T02")[0].meta["transport"]["validation"]
    assert validation["valid"] and validation["layers"]
    broken = re.sub(rb"<title>[^<]*</title>", b"<title></title>", document[1], count=1)  # SEGUR-TITLE-001
    ack = pam.send_cda(mdm((document[0], broken), control_id="BAD1"))
    assert msa(ack)[1] == "AE" and "PAM-CDA-12" in err_rules(ack)
