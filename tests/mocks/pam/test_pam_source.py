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


def test_typed_traits_replace_the_worlds_and_an_a31_updates_them_in_the_consumer(pam):
    source = pam.service.source
    typed = source.send(_own_listener(pam), "A28", PATIENT, status="PROV", traits={"first_names": "PIERRE"})
    assert typed.ack_code == "AA", typed.ack
    assert "ECETINSI^PIERRE-ALAIN^PIERRE^^^^L" in typed.message and INS not in typed.message
    update = source.send(_own_listener(pam), "A31", PATIENT)
    assert update.ack_code == "AA", update.ack
    (identity,) = pam.identities()
    assert identity.traits.first_names == "PIERRE-ALAIN MURIEL FLORIANT"
    assert identity.ins.value == INS


def test_an_ins_forced_on_a_provisional_status_is_refused_ae_by_our_consumer_and_not_kept(pam):
    result = pam.service.source.send(_own_listener(pam), "A28", PATIENT, status="PROV", with_ins=True)
    pid = next(s for s in result.message.split("\r") if s.startswith("PID|"))
    assert f"{INS}^^^ASIP-SANTE-INS-NIR" in pid and pid.split("|")[32] == "PROV"
    assert result.ack_code == "AE" and "PAM-INS-01" in result.ack
    assert pam.journal.get(result.seq).meta["ins"] == INS  # what went out, said as such
    (identity,) = pam.identities()
    assert identity.ins is None


def test_an_ins_deletion_is_an_a47_with_the_ins_in_mrg_and_an_empty_ins_in_pid3(pam):
    source = pam.service.source
    assert source.send(_own_listener(pam), "A28", PATIENT).ack_code == "AA"
    result = source.send(_own_listener(pam), "A47", PATIENT, status="PROV", delete_ins=True)
    assert result.ack_code == "AA", result.ack
    segments = result.message.split("\r")
    pid = next(s for s in segments if s.startswith("PID|"))
    assert '~""^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS' in pid
    assert f"MRG|{INS}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS" in segments
    entry = pam.journal.get(result.seq)
    assert entry.meta["deletes_ins"] is True and entry.meta["ins"] is None and entry.meta["prior"] == [INS]
    (identity,) = pam.identities()
    assert identity.ins is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"event": "A31", "delete_ins": True}, "deleted by an A47"),
    ({"traits": {"nickname": "PIPO"}}, "unknown: nickname"),
    ({"traits": {"birth_name": 7}}, "traits are strings"),
    ({"local_id": "42|X"}, "no HL7 delimiter"),
])
def test_a_bad_feed_option_is_refused(pam, kwargs, message):
    args = {"event": "A28", **kwargs}
    with pytest.raises(ValueError, match=message):
        pam.service.source.send(_own_listener(pam), args.pop("event"), PATIENT, **args)
    assert pam.journal.entries() == []


@pytest.mark.parametrize("extra", [{"traits": "DUPONT"}, {"with_ins": "yes"}, {"delete_ins": 1},
                                   {"local_id": 42}, {"local_id": "A^B"}])
def test_the_admin_api_refuses_bad_feed_options_with_400_and_keeps_serving(pam, extra):
    status, answer = _post(pam.admin_url + "send", {"to": _own_listener(pam), "event": "A28", "patient": INS,
                                                     **extra})
    assert status == 400 and answer["error"]
    status, body = _post(pam.admin_url + "send", {"to": _own_listener(pam), "event": "A28", "patient": INS})
    assert status == 200 and body["ack_code"] == "AA"


def test_the_sender_may_name_the_patient_with_its_own_identifier_and_mrg_names_it_back(pam):
    source = pam.service.source
    first = source.send(_own_listener(pam), "A28", PATIENT, local_id="DUP42")
    assert "PID|1||DUP42^^^SEGUR-PAM&750803447&M^PI~" in first.message
    assert pam.journal.get(first.seq).meta["local_id"] == "DUP42"
    merge = source.send(_own_listener(pam), "A40", "cnda-2.05-provisoire-matricule", prior=("DUP42",),
                        local_id="KEEP7")
    assert merge.ack_code == "AA" and "\rMRG|DUP42^^^SEGUR-PAM&750803447&M^PI" in merge.message
