"""Senders and receivers the project did not write: python-hl7's `MLLPClient` sends a message hl7apy
built, hl7apy's strict HL7 v2.5 parser reads the ACK, and the identity source talks to hl7apy's
`MLLPServer` as to a product (hl7apy is a test extra)."""

from __future__ import annotations

import threading

import hl7.client
import hl7apy.core as hl7apy_core
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.mllp import AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

INS_CX = "109076322083489^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"


def _hl7apy_a28(status: str = "VALI") -> str:
    """An A28 built with hl7apy's own model of HL7 v2.5 (not the project's renderer)."""
    message = hl7apy_core.Message("ADT_A05", version="2.5")
    header = message.msh
    header.msh_3, header.msh_9, header.msh_10, header.msh_11 = "HL7APY", "ADT^A28^ADT_A05", "APY0001", "P"
    header.msh_12, header.msh_17, header.msh_18 = "2.5^FRA^2.11", "FRA", "UNICODE UTF-8"
    message.add_segment("EVN").evn_2 = "20250101120000"
    pid = message.add_segment("PID")
    for value in ("IPP1^^^HOP-TEST&750803447&M^PI", INS_CX):
        pid.add_field("PID_3").value = value
    pid.pid_5 = "ECETINSI^PIERRE-ALAIN^PIERRE-ALAIN MURIEL FLORIANT^^^^L"
    pid.pid_7, pid.pid_8, pid.pid_11, pid.pid_32 = "20090714", "M", "^^^^^^BDL^^63220", status
    message.add_segment("PV1").pv1_2 = "N"
    return message.to_er7()


def _strict(ack: bytes):
    return parse_message(ack.strip(b"\x0b\x1c\r").decode("utf-8"), validation_level=VALIDATION_LEVEL.STRICT)


def test_python_hl7s_client_gets_an_aa_that_hl7apy_reads_strictly(pam):
    with hl7.client.MLLPClient(pam.host, pam.port) as client:
        raw = client.send_message(_hl7apy_a28())
    ack = _strict(raw)
    assert ack.msa.msa_1.value == "AA"
    assert ack.msa.msa_2.value == "APY0001"
    assert ack.msh.msh_9.to_er7() == "ACK^A28^ACK"
    assert pam.identities()[0].ins.value == "109076322083489"


def test_an_ae_with_err_is_valid_hl7_v25_for_hl7apy(pam):
    with hl7.client.MLLPClient(pam.host, pam.port) as client:
        raw = client.send_message(_hl7apy_a28(status="PROV"))
    ack = _strict(raw)
    assert ack.msa.msa_1.value == "AE"
    assert ack.err.err_5.err_5_1.value == "PAM-INS-01"
    assert ack.err.err_2.to_er7() == "PID^1^32^1"


class _Accept(AbstractHandler):
    received: list[str] = []

    def reply(self):
        _Accept.received.append(self.incoming_message)
        incoming = parse_message(self.incoming_message)
        ack = hl7apy_core.Message("ACK", version="2.5")
        ack.msh.msh_9 = "ACK^A28^ACK"
        ack.add_segment("MSA")
        ack.msa.msa_1, ack.msa.msa_2 = "AA", incoming.msh.msh_10.value
        return ack.to_mllp()


@pytest.fixture
def hl7apy_product():
    """hl7apy's MLLP server standing for a product that integrates A28 messages."""
    _Accept.received = []
    server = MLLPServer("127.0.0.1", 0, {"ADT^A28^ADT_A05": (_Accept,)}, timeout=5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"mllp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_identity_source_sends_a_world_patient_to_a_product_and_journals_its_aa(pam, hl7apy_product):
    result = pam.service.source.send(hl7apy_product, "A28", "109076322083489")
    assert result.ack_code == "AA", result
    (sent,) = _Accept.received
    message = parse_message(sent, validation_level=VALIDATION_LEVEL.TOLERANT)
    assert INS_CX in message.pid.pid_3[1].to_er7() or INS_CX in message.pid.to_er7()
    assert message.pid.pid_32.value == "VALI"
    entry = pam.journal.get(result.seq)
    assert entry.operation == "send ADT^A28" and entry.verdict == "accepted"
    assert entry.meta["ins"] == "109076322083489"
