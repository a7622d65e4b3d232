"""The identity consumer: each check of an ADT feed, the ACK it gives (AA/AE/AR + ERR), and the
identities it keeps (create, update, identifier change, INS deletion, merge)."""

from __future__ import annotations

import csv

import pytest
from pam_helpers import INS, INS_AUTHORITY, IPP, IPP_AUTHORITY, adt, err_rules, msa1, msh, pid, segment

from segur.kernel.rules import get
from segur.mocks.pam import rules
from segur.mocks.pam.responses import HL7_ERROR_TEXT


def test_a_conformant_a28_with_a_qualified_ins_is_accepted_without_err(pam):
    ack = pam.send(adt())
    assert msa1(ack) == "AA"
    assert segment(ack, "ERR") == []
    assert segment(ack, "MSA")[0][2] == "MSG0001"


def test_the_ack_swaps_sender_and_receiver_and_names_the_event(pam):
    header = segment(pam.send(adt("A31")), "MSH")[0]
    assert header[1] == "^~\\&"
    assert header[2:6] == ["SEGUR-PAM", "SEGUR", "PRODUIT", "HOP-TEST"]
    assert header[8] == "ACK^A31^ACK"
    assert header[11] == "2.5^FRA^2.11"
    assert (header[16], header[17]) == ("FRA", "UNICODE UTF-8")


@pytest.mark.needs_ref
def test_the_reference_sample_a28_is_accepted(pam, shared_ref):
    sample = (shared_ref / "pam" / "sample-adt-a28-ins.hl7").read_bytes()
    ack = pam.send(sample)
    assert msa1(ack) == "AA", ack
    (identity,) = pam.identities()
    assert identity.ins.value == "285076311304226"
    assert identity.traits.birth_place == "63113"


# --- checks that prevent processing: AR ---------------------------------------------------------

@pytest.mark.parametrize(("message", "rule", "code"), [
    ("hello, this is not HL7", "PAM-MSH-01", "100"),
    ("EVN||20250101\rPID|1||X^^^A&1.2&ISO^PI\r", "PAM-MSH-01", "100"),
    (adt(encoding="|^~#&"), "PAM-MSH-02", "102"),
    (adt(encoding="#^~\\&"), "PAM-MSH-02", "102"),
    (adt(message_type="ORU^R01^ORU_R01"), "PAM-MSH-03", "200"),
    (adt("A08"), "PAM-MSH-05", "201"),
    (adt(message_type="ADT^NOPE^ADT_A05"), "PAM-MSH-04", "201"),
    (adt(version="2.3.1"), "PAM-MSH-07", "203"),
], ids=["not-hl7", "no-msh", "encoding-chars", "field-separator", "not-adt", "a08", "unknown-event",
        "version"])
def test_a_message_that_cannot_be_processed_is_rejected_ar(pam, message, rule, code):
    ack = pam.send(message)
    assert msa1(ack) == "AR"
    assert err_rules(ack) == [rule]
    assert segment(ack, "ERR")[0][3].split("^")[0] == code
    assert pam.identities() == []
    (entry,) = pam.journal.entries()
    assert entry.verdict == "rejected" and entry.rules == [rule]


def test_a08_is_refused_with_the_rule_that_says_a31_instead(pam):
    ack = pam.send(adt("A08"))
    assert "A31" in segment(ack, "ERR")[0][8]


# --- content errors: AE ---------------------------------------------------------------------------

NO_INS = f"{IPP}^^^{IPP_AUTHORITY}^PI"


@pytest.mark.parametrize(("message", "rule"), [
    (adt(header=msh("A28").replace("ADT_A05", "ADT_A01")), "PAM-MSH-06"),
    (adt(control=""), "PAM-MSH-12"),
    (adt(country="USA"), "PAM-MSH-09"),
    (adt(charset="ASCII"), "PAM-MSH-10"),
    (adt(patient=pid(status="")), "PAM-PID-02"),
    (adt(patient=pid(status="QUAL")), "PAM-PID-03"),
    (adt(patient=pid(status="PROV")), "PAM-INS-01"),
    (adt(patient=pid(ids=f"{INS}^^^ASIP-SANTE-INS-NIR&1.2.3&ISO^INS")), "PAM-INS-02"),
    (adt(patient=pid(ids=f"{INS[:-2]}00^^^{INS_AUTHORITY}^INS")), "PAM-INS-03"),
    (adt(patient=pid(ids=f"{INS}^^^{INS_AUTHORITY}^NH")), "PAM-INS-04"),
    (adt(patient=pid(names="ECETINSI^PIERRE-ALAIN^^^^^D")), "PAM-TRAIT-01"),
    (adt(patient=pid(names="ECETINSI^^^^^^L")), "PAM-TRAIT-02"),
    (adt(patient=pid(birth="")), "PAM-TRAIT-03"),
    (adt(patient=pid(birth="14/07/2009")), "PAM-TRAIT-03"),
    (adt(patient=pid(sex="O")), "PAM-TRAIT-04"),
    (adt(patient=pid(address="1 RUE DU PORT^^PARIS^^75001^FRA^H")), "PAM-TRAIT-05"),
    (adt(patient=pid(extra={19: "1090763220834"})), "PAM-PID-04"),
    (adt("A40"), "PAM-MRG-01"),
    (adt("A47", mrg="MRG|"), "PAM-MRG-02"),
    (adt(header=msh() + "\r" + "\r".join(["EVN||20250101"]), patient=""), "PAM-PID-01"),
], ids=["structure", "control-id", "country", "charset", "no-status", "unknown-status", "ins-not-vali",
       "ins-authority", "ins-key", "ins-type", "no-birth-name", "no-first-name", "no-birth-date",
       "bad-birth-date", "sex", "no-birth-place", "forbidden-ssn", "a40-without-mrg", "a47-empty-mrg",
       "no-pid"])
def test_a_content_error_is_answered_ae_with_its_rule(pam, message, rule):
    ack = pam.send(message)
    assert msa1(ack) == "AE", ack
    assert rule in err_rules(ack)
    severity = segment(ack, "ERR")[err_rules(ack).index(rule)][4]
    assert severity == "E"
    (entry,) = pam.journal.entries()
    assert entry.verdict == "error" and rule in entry.rules


def test_traits_are_not_demanded_of_an_identity_sent_without_ins(pam):
    message = adt(patient=pid(ids=NO_INS, status="PROV", birth="", sex="U", address=""))
    assert msa1(pam.send(message)) == "AA"


def test_a_version_without_the_french_profile_is_a_warning_that_keeps_aa(pam):
    ack = pam.send(adt(version="2.5"))
    assert msa1(ack) == "AA"
    assert err_rules(ack) == ["PAM-MSH-08"]
    assert segment(ack, "ERR")[0][4] == "W"


def test_the_err_segment_locates_the_field(pam):
    ack = pam.send(adt(patient=pid(sex="X")))
    (err,) = segment(ack, "ERR")
    assert err[2] == "PID^1^8^1"
    assert err[3].split("^")[0] == "103"


def test_a_latin9_message_is_read_with_the_charset_msh18_declares(pam):
    message = adt(charset="8859/15", patient=pid(names="HÉLÈNE^ŒDIPE^ŒDIPE^^^^L"))
    ack = pam.send(message.encode("iso-8859-15"))
    assert msa1(ack) == "AA", ack
    assert pam.identities()[0].traits.first_name == "ŒDIPE"


def test_bytes_that_are_not_the_declared_charset_are_an_error(pam):
    message = adt(patient=pid(names="HÉLÈNE^ANNE^ANNE^^^^L")).encode("latin-1")
    ack = pam.send(message)
    assert msa1(ack) == "AE"
    assert "PAM-MSH-11" in err_rules(ack)


def test_every_rule_is_declared_once_in_the_book_with_its_ack():
    for rule in rules.book:
        assert get(rule.id) is rule
        assert rules.ack_of(rule) in ("AA", "AE", "AR")
        assert rule.hint
    ins_rule = rules.INS_NOT_QUALIFIED
    assert "DPI.INS/va1.61" in ins_rule.rem and "RI.INS/va1.64" in ins_rule.rem


# --- the identities kept ---------------------------------------------------------------------------

def test_an_ins_sent_without_vali_is_not_kept(pam):
    pam.send(adt(patient=pid(status="PROV")))
    (identity,) = pam.identities()
    assert identity.ins is None
    assert [i.type for i in identity.identifiers] == ["PI"]


def test_a31_updates_the_traits_and_adds_the_ins(pam):
    pam.send(adt(patient=pid(ids=NO_INS, status="PROV", names="ECETINSI^PIERRE^^^^^L")))
    pam.send(adt("A31", control="MSG0002", patient=pid()))
    (identity,) = pam.identities()
    assert identity.ins.value == INS
    assert identity.traits.first_name == "PIERRE-ALAIN"
    assert identity.events == ["A28", "A31"]
    assert identity.status == ("VALI",)


def test_a47_replaces_the_identifier_named_in_mrg(pam):
    pam.send(adt())
    mrg = f"MRG|{IPP}^^^{IPP_AUTHORITY}^PI"
    new_ids = f"IPP9999^^^{IPP_AUTHORITY}^PI~{INS}^^^{INS_AUTHORITY}^INS"
    assert msa1(pam.send(adt("A47", control="MSG0002", mrg=mrg, patient=pid(ids=new_ids)))) == "AA"
    (identity,) = pam.identities()
    assert sorted(i.value for i in identity.identifiers) == sorted(["IPP9999", INS])


def test_a47_with_an_empty_ins_deletes_the_ins(pam):
    pam.send(adt())
    mrg = f"MRG|{INS}^^^{INS_AUTHORITY}^INS"
    ids = f'{IPP}^^^{IPP_AUTHORITY}^PI~""^^^{INS_AUTHORITY}^INS'
    ack = pam.send(adt("A47", control="MSG0002", mrg=mrg, patient=pid(ids=ids, status="PROV")))
    assert msa1(ack) == "AA", ack
    (identity,) = pam.identities()
    assert identity.ins is None
    assert [i.value for i in identity.identifiers] == [IPP]


def test_a40_merges_the_identity_named_in_mrg_into_the_survivor(pam):
    pam.send(adt(patient=pid(ids=f"IPP0001^^^{IPP_AUTHORITY}^PI", status="PROV")))
    pam.send(adt(control="MSG0002"))
    mrg = f"MRG|IPP0001^^^{IPP_AUTHORITY}^PI"
    assert msa1(pam.send(adt("A40", control="MSG0003", mrg=mrg))) == "AA"
    live = pam.identities()
    assert [i.merged_into for i in live] == [2, None]
    assert len(pam.service.store) == 1


def test_the_journal_keeps_message_ack_verdict_and_rules(pam):
    pam.send(adt(patient=pid(status="PROV")))
    (entry,) = pam.journal.entries(operation="ADT^A28")
    assert entry.request["body"]["text"].startswith("MSH|")
    assert "MSA|AE|MSG0001" in entry.response["body"]["text"]
    assert entry.meta["ack"] == "AE" and entry.meta["event"] == "A28"
    assert entry.rules == ["PAM-INS-01"]


def test_a_failure_of_the_mock_itself_is_answered_ar_and_the_listener_goes_on(pam, monkeypatch):
    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr("segur.mocks.pam.checks.check_content", broken)
    ack = pam.send(adt())
    assert msa1(ack) == "AR" and err_rules(ack) == ["PAM-INTERNAL-01"]
    monkeypatch.undo()
    assert msa1(pam.send(adt(control="MSG0002"))) == "AA"


def test_every_rule_names_a_code_of_hl7_table_0357():
    assert {rules.hl7_code_of(rule) for rule in rules.book} <= set(HL7_ERROR_TEXT)


def test_given_both_a_nia_and_a_nir_the_consumer_keeps_the_nir(pam):
    nia = "109076322088835^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS"
    ids = f"{IPP}^^^{IPP_AUTHORITY}^PI~{nia}~{INS}^^^{INS_AUTHORITY}^INS"
    assert msa1(pam.send(adt("A31", patient=pid(ids=ids)))) == "AA"
    (identity,) = pam.identities()
    assert identity.ins.value == INS
    assert [i.value for i in identity.identifiers if i.is_ins] == [INS]


@pytest.mark.needs_ref
def test_every_rem_id_the_rules_name_is_an_approved_requirement(shared_ref):
    rem = shared_ref.parent / "rem" / "requirements.csv"
    if not rem.is_file():
        pytest.skip(f"REM export not found at {rem}")
    with rem.open(encoding="utf-8", newline="") as handle:
        status = {row["id"]: row["status"] for row in csv.DictReader(handle)}
    named = {rem_id for rule in rules.book for rem_id in rule.rem}
    assert named and {rem_id: status.get(rem_id) for rem_id in named} == dict.fromkeys(named, "APPROVED")


def test_an_iti31_movement_is_read_for_its_patient(pam):
    ack = pam.send(adt("A01"))
    assert msa1(ack) == "AA", ack
    (identity,) = pam.identities()
    assert identity.events == ["A01"] and identity.ins.value == INS
