"""The identity source: world patients sent as PAM FR ITI-30 messages, the product's answer journalled."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from pam_helpers import msa1

from segur.mocks.pam.source import adt_for_patient, hl7_date

PATIENT = "cnda-2.04-ecetinsi-pierre-alain"
INS = "109076322083489"


def _post(url: str, body) -> tuple[int, dict]:
    data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _own_listener(pam) -> str:
    return pam.service.mllp_urls[0]


def test_a_qualified_patient_is_sent_with_the_ins_and_our_own_consumer_accepts_it(pam):
    result = pam.service.source.send(_own_listener(pam), "A28", PATIENT)
    assert result.ack_code == "AA", result.ack
    pid = next(s for s in result.message.split("\r") if s.startswith("PID|"))
    assert f"{INS}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS" in pid
    assert "^^^SEGUR-PAM&750803447&M^PI~" in pid  # the IPP under a FINESS (DTFR: name&FINESS&M)
    assert pid.split("|")[32] == "VALI"
    assert "ECETINSI^PIERRE-ALAIN^PIERRE-ALAIN MURIEL FLORIANT^^^^L" in pid
    assert "^^^^^^BDL^^63220" in pid


def test_a_provisional_identity_is_sent_without_the_ins(pam):
    result = pam.service.source.send(_own_listener(pam), "A28", INS, status="PROV")
    assert result.ack_code == "AA"
    assert INS not in result.message
    assert "|PROV" in result.message


def test_a_nia_goes_under_the_nia_authority(pam):
    message = adt_for_patient(pam.service.source.patient("cnda-2.05-provisoire-matricule"), "A28")
    (ins,) = [i for i in message.identifiers if i.is_ins]
    assert (ins.namespace, ins.oid) == ("ASIP-SANTE-INS-NIA", "1.2.250.1.213.1.4.9")


def test_a47_and_a40_carry_mrg_and_are_accepted(pam):
    source = pam.service.source
    for event in ("A47", "A40"):
        result = source.send(_own_listener(pam), event, PATIENT, prior=("OLD-IPP",))
        assert result.ack_code == "AA", result.ack
        assert "\rMRG|OLD-IPP^^^SEGUR-PAM&750803447&M^PI" in result.message


def test_partial_birth_dates_keep_only_their_known_parts():
    assert hl7_date("2009-07-14") == "20090714"
    assert hl7_date("1971-00-00") == "1971"
    assert hl7_date("1971-05-00") == "197105"


def test_an_ae_from_the_product_is_journalled_as_error(pam):
    pam.service.faults.add({"kind": "nack", "code": "AE"})
    result = pam.service.source.send(_own_listener(pam), "A31", PATIENT)
    assert result.ack_code == "AE"
    assert pam.journal.get(result.seq).verdict == "error"


def test_a_product_that_never_answers_is_journalled_as_timeout(pam):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        to = f"mllp://127.0.0.1:{silent.getsockname()[1]}"
        result = pam.service.source.send(to, "A28", PATIENT, timeout=0.3)
    assert result.ack_code is None and "no answer" in result.error
    assert pam.journal.get(result.seq).verdict == "timeout"


def test_an_unreachable_product_is_journalled(pam):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = pam.service.source.send(f"mllp://127.0.0.1:{port}", "A28", PATIENT, timeout=2)
    assert result.ack_code is None
    assert pam.journal.get(result.seq).verdict == "unreachable"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"event": "A08"}, "event must be one of"),
    ({"patient": "nobody"}, "no world patient"),
    ({"status": "QUAL"}, "status must be"),
    ({"event": "A47"}, "needs the identifier"),
    ({"to": "http://x:1"}, "not an mllp"),
])
def test_a_bad_send_request_is_refused(pam, kwargs, message):
    args = {"to": _own_listener(pam), "event": "A28", "patient": PATIENT, **kwargs}
    with pytest.raises(ValueError, match=message):
        pam.service.source.send(args.pop("to"), args.pop("event"), args.pop("patient"), **args)


def test_the_admin_api_sends_and_answers_the_ack(pam):
    status, body = _post(pam.admin_url + "send", {"to": _own_listener(pam), "event": "A28", "patient": INS})
    assert status == 200 and body["ack_code"] == "AA"
    assert msa1(body["ack"]) == "AA"
    assert pam.journal.get(body["seq"]).operation == "send ADT^A28"


@pytest.mark.parametrize("body", [[], {"event": "A28"}, {"to": "mllp://127.0.0.1:1", "event": "A28",
                                                           "patient": INS, "timeout": 0}])
def test_the_admin_api_refuses_a_bad_send_with_400(pam, body):
    status, answer = _post(pam.admin_url + "send", body)
    assert status == 400 and answer["error"]
