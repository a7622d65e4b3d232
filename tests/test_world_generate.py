"""The world generator and the identity strategies: deterministic for a seed, valid keys always."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from segur.fixtures import strategies as fs
from segur.fixtures.identity import (
    finess_with_key,
    is_luhn_valid,
    is_valid_finess,
    is_valid_idnps,
    is_valid_rpps,
    luhn_digit,
    nir13,
)
from segur.fixtures.world import load_world
from segur.fixtures.world.generate import PATIENT_PLAN, generate_world, insi_text
from segur.kernel.ins import is_valid_ins, nir_key


def _assert_world_is_sound(world):
    seen_nir = set()
    for patient in world.patients:
        if not patient.known_defects:
            assert is_valid_ins(patient.ins), patient
            for entry in patient.ins_history:
                assert is_valid_ins(entry.value), entry
        assert patient.nir not in seen_nir
        seen_nir.add(patient.nir)
        assert patient.nir[0] == ("1" if patient.sex == "M" else "2")
        assert patient.nir[5:10].upper() == patient.birth_place.upper()
        assert patient.first_names == insi_text(patient.first_names)
    for professional in world.professionals:
        assert is_valid_idnps(professional.idnps)
    for organisation in world.organisations:
        assert is_valid_finess(organisation.finess)


def test_the_same_seed_gives_the_same_world():
    assert generate_world(25, 42).to_dict() == generate_world(25, 42).to_dict()


def test_another_seed_gives_other_people():
    one, two = generate_world(10, 1), generate_world(10, 2)
    assert [p.ins for p in one.patients] != [p.ins for p in two.patients]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_any_generated_world_has_valid_keys_and_unique_ids(n, seed):
    world = generate_world(n, seed)
    assert len(world.patients) == n
    _assert_world_is_sound(world)


def test_a_world_as_large_as_the_plan_covers_every_flag():
    world = generate_world(len(PATIENT_PLAN), 3)
    patients = world.patients
    assert len(world.homonym_groups()) == 2
    for flag in ("deceased", "dmp_closed", "dmp_opposed", "identity_changed", "mssante_refused"):
        assert any(getattr(p, flag) for p in patients), flag
    assert any(not p.has_dmp for p in patients)
    assert any(p.is_nia for p in patients)
    assert any(p.birth_place.startswith("99") for p in patients)
    assert {"2A", "2B"} <= {p.birth_place[:2] for p in patients}


def test_a_large_world_keeps_keys_valid_and_ids_unique():
    world = generate_world(600, 11)
    _assert_world_is_sound(world)
    assert len({p.ins for p in world.patients}) == 600


def test_with_personas_the_world_holds_the_cnda_and_ans_people():
    world = generate_world(5, 9, personas=True)
    assert world.patient_by_ins("297022A02077878") is not None
    assert world.patient_by_ins("279035121518989") is not None
    assert world.professional_by_idnps("801234560801") is not None


# -- identifier arithmetic ------------------------------------------------------------------------
def test_luhn_keys_match_the_ans_examples():
    assert is_valid_rpps("01234560801")  # author of the ANS CDA examples (IDNPS 801234560801)
    assert is_valid_finess("750803447")  # their organisation
    assert not is_valid_finess("750803448")
    assert finess_with_key("75080344") == "750803447"
    assert luhn_digit("7992739871") == "3" and is_luhn_valid("79927398713")  # the textbook example


def test_nir13_follows_the_insee_layout():
    assert nir13("F", "1997-02-26", "2A020", 778) == "297022A020778"
    assert nir_key(nir13("F", "1997-02-26", "2A020", 778)) == "78"  # ADRTROIS DOMINIQUE
    assert nir13("M", "1961-00-00", "99109", 12) == "161209910901 2".replace(" ", "")  # unknown month: 20


@settings(max_examples=60, deadline=None)
@given(fs.ins_values())
def test_strategy_ins_values_always_have_a_correct_key(ins):
    assert is_valid_ins(ins)


@settings(max_examples=40, deadline=None)
@given(fs.patients())
def test_strategy_patients_are_consistent(patient):
    assert is_valid_ins(patient.ins)
    assert patient.nir[5:10] == patient.birth_place
    assert patient.first_name == patient.first_names.split()[0]


@settings(max_examples=40, deadline=None)
@given(fs.professionals())
def test_strategy_professionals_have_valid_ids(professional):
    assert is_valid_idnps(professional.idnps)
    assert is_valid_finess(professional.organisation)


# -- the CLI ------------------------------------------------------------------------------------
def test_cli_generate_writes_a_world_that_loads(tmp_path):
    from segur.cli import app

    out = tmp_path / "w.json"
    result = CliRunner().invoke(app, ["world", "generate", "--patients", "30", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    world = load_world(out)
    assert len(world.patients) == 30 + 7
    result = CliRunner().invoke(app, ["world", "show", "--file", str(out), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert summary["patients"] == 37 and summary["flags"]["homonym_groups"] == 2


def test_cli_show_lists_tables_and_rejects_unknown_ones():
    from segur.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["world", "show", "patients"])
    assert result.exit_code == 0 and "297022A02077878" in result.output
    result = runner.invoke(app, ["world", "show", "mailboxes"])
    assert "279035121518989@patient.mssante.fr" in result.output
    result = runner.invoke(app, ["world", "show", "nonsense"])
    assert result.exit_code == 2


def test_cli_show_reports_an_unreadable_file(tmp_path):
    from segur.cli import app

    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["world", "show", "--file", str(bad)])
    assert result.exit_code == 2
