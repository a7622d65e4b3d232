"""The INS key rule, including the Corsica departments, against identities published by CNAM/ANS."""

import pytest

from segur.kernel import ins


def test_key_of_a_corsican_nir_reads_2a_as_19():
    # CNDA INSi test plan persona ADRTROIS DOMINIQUE, born in 2A020: NIR 297022A020778, key 78.
    assert ins.nir_key("297022A020778") == "78"


def test_key_of_the_ans_example_patient():
    # The test INS of the ANS CDA examples: 279035121518989.
    assert ins.nir_key("2790351215189") == "89"
    assert ins.is_valid_ins("279035121518989")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("279035121518988", "the key is 88"),
        ("27903512151898", "15 characters"),
        ("2790351215189AB", "must be digits"),
        ("979035121518989", "not a NIR/NIA"),
    ],
)
def test_malformed_ins_says_why(value, reason):
    assert reason in ins.ins_problem(value)


def test_xds_patient_id_round_trips():
    value = ins.Ins("279035121518989", ins.OID_NIR_TEST)
    assert value.xds_patient_id() == "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert ins.parse_xds_patient_id(value.xds_patient_id()) == value
    assert ins.parse_xds_patient_id("garbage") is None


def test_citizen_mailbox_is_the_ins_at_the_patient_domain():
    assert ins.Ins("279035121518989").citizen_mailbox == "279035121518989@patient.mssante.fr"
