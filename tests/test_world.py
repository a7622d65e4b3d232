"""The shipped test world: contents, integrity, look-ups, and the CNDA INSi personas checked
field by field against the answers CNAM recorded (../shared/ref/insi/fixtures)."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from segur.fixtures.identity import is_valid_finess, is_valid_idnps, is_valid_rpps
from segur.fixtures.world import DEFAULT_WORLD_FILE, MAILBOX_KINDS, World, load_world
from segur.fixtures.world.generate import build_default_world
from segur.kernel.ins import INS_OIDS, OID_NIA, OID_NIR, OID_NIR_TEST, ins_problem

RESULTAT = "{http://www.cnamts.fr/INSiResultat}"


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


def test_the_shipped_world_loads_with_its_version_and_sizes(world):
    assert world.version == "2026.11.1"
    assert len(world.patients) >= 50
    assert 14 <= len(world.professionals) <= 20
    assert len(world.organisations) >= 6
    assert load_world() is world  # cached: every mock of a process shares one instance


def _without_faker_stamp(data: dict) -> dict:
    """The world minus the Faker version it records: that stamp says which Faker wrote the file, it is not data."""
    return data | {"metadata": {k: v for k, v in data["metadata"].items() if k != "faker"}}


def test_the_shipped_file_is_what_the_generator_produces(world):
    """world.json is reproducible: regenerating with the recorded seed gives the same data, whatever Faker
    release is installed in the range pyproject.toml allows (this test used to skip on any other release)."""
    from faker import VERSION

    regenerated = build_default_world().to_dict()
    assert _without_faker_stamp(regenerated) == _without_faker_stamp(world.to_dict()), (
        f"Faker {VERSION} generates another world than Faker {world.metadata.get('faker')}, which wrote "
        "world.json: pin faker in pyproject.toml to a release that reproduces it, or regenerate the file")


def test_every_flag_is_covered(world):
    patients = world.patients
    assert sum(p.deceased for p in patients) >= 1
    assert sum(p.dmp_closed for p in patients) >= 1
    assert sum(p.dmp_opposed for p in patients) >= 1
    assert sum(not p.has_dmp for p in patients) >= 1
    assert sum(p.identity_changed and p.ins_history != () for p in patients) >= 2
    assert sum(p.mssante_refused for p in patients) >= 1
    assert sum(p.oid == OID_NIA for p in patients) >= 2
    assert sum(p.birth_place.startswith("99") for p in patients) >= 2
    assert {p.birth_place[:2] for p in patients} >= {"2A", "2B"}
    assert sum(p.birth_date.endswith("-00-00") for p in patients) >= 1  # a "lunar" birth date
    assert sum(p.used_name not in (None, p.birth_name) for p in patients) >= 1
    assert sum(len(p.first_name_list) > 1 for p in patients) >= 5
    assert len(world.homonym_groups()) >= 2
    kinds = {m.kind for m in world.mailboxes}
    assert kinds == set(MAILBOX_KINDS)
    assert any(m.closed and m.kind == "PER" for m in world.mailboxes)
    assert any(m.closed and m.kind == "ORG" for m in world.mailboxes)


def test_every_ins_key_is_valid_except_the_recorded_defect(world):
    """All keys follow INSEE's rule; the one CNDA answer recorded with other keys is kept as
    recorded and says so in `known_defects`."""
    bad = {}
    for patient in world.patients:
        for value in [patient.ins, *(entry.value for entry in patient.ins_history)]:
            if ins_problem(value) is not None:
                bad.setdefault(patient.key, []).append(value)
    assert bad == {"cnda-2.08-hermann-gatien": ["181036322045660", "181036322045660", "281036322045610"]}
    assert all(p.known_defects for p in world.patients if p.key in bad)
    assert not [p.key for p in world.patients if p.known_defects and p.key not in bad]


def test_every_ins_oid_is_an_ins_namespace_and_generated_people_use_test_oids(world):
    for patient in world.patients:
        assert patient.oid in INS_OIDS
        if patient.source and patient.source.startswith("generated"):
            assert patient.oid in (OID_NIR_TEST, OID_NIA)


def test_professional_and_organisation_ids_have_valid_keys(world):
    for professional in world.professionals:
        assert is_valid_rpps(professional.rpps), professional
        assert is_valid_idnps(professional.idnps)
        assert professional.idnps == "8" + professional.rpps
        assert world.organisation_by_finess(professional.organisation) is not None
        assert professional.author_code.startswith(f"G15_{professional.profession_code}")
    for organisation in world.organisations:
        assert is_valid_finess(organisation.finess), organisation
        assert organisation.idnst == "1" + organisation.finess


def test_no_duplicate_keys_ins_or_mailboxes(world):
    def unique(values):
        values = list(values)
        return len(values) == len(set(values))

    assert unique(p.key for p in world.patients)
    assert unique(p.ins for p in world.patients)
    assert unique(p.nir for p in world.patients)
    assert unique(p.key for p in world.professionals)
    assert unique(p.rpps for p in world.professionals)
    assert unique(o.finess for o in world.organisations)
    assert unique(m.address.lower() for m in world.mailboxes)


def test_a_duplicate_ins_in_a_world_file_is_refused(world, tmp_path):
    data = world.to_dict()
    data["patients"].append(dict(data["patients"][-1], key="copy"))
    path = tmp_path / "w.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate patient INS"):
        load_world(path)


def test_an_unknown_field_or_format_in_a_world_file_is_refused(world, tmp_path):
    data = world.to_dict()
    data["patients"][0]["nickname"] = "Dodo"
    (tmp_path / "a.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown Patient fields"):
        load_world(tmp_path / "a.json")
    data = world.to_dict()
    data["format"] = 99
    (tmp_path / "b.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported world format"):
        load_world(tmp_path / "b.json")


def test_a_written_world_loads_back_identical(world, tmp_path):
    from segur.fixtures.world import dump_world

    dump_world(world, tmp_path / "copy.json")
    again = load_world(tmp_path / "copy.json")
    assert again.patients == world.patients
    assert again.professionals == world.professionals
    assert again.organisations == world.organisations
    assert again.mailboxes == world.mailboxes


# -- look-ups --------------------------------------------------------------------------------------
def test_patient_by_ins_finds_the_active_ins_only(world):
    adrtrois = world.patient_by_ins("297022A02077878")
    assert adrtrois is not None and adrtrois.birth_name == "ADRTROIS"
    assert world.patient_by_ins("297022a02077878") is adrtrois  # Corsica letters in either case
    assert world.patient_by_ins("297022A02077800") is None
    ecetinsi = world.patient_by_key("cnda-2.04-ecetinsi-pierre-alain")
    assert world.patient_by_ins("209076322083439") is None  # an earlier INS is not the active one
    assert world.patient_by_any_ins("209076322083439") is ecetinsi


def test_homonyms_make_a_search_return_several(world):
    for members in world.homonym_groups().values():
        assert len(members) >= 2
        first = members[0]
        found = world.find_patients(
            birth_name=first.birth_name, first_name=first.first_name, sex=first.sex, birth_date=first.birth_date
        )
        assert len(found) >= 2
        assert set(found) >= set(members)


def test_one_homonym_group_is_told_apart_by_the_birth_place_and_one_is_not(world):
    by_place = []
    for members in world.homonym_groups().values():
        first = members[0]
        found = world.find_patients(
            birth_name=first.birth_name, first_name=first.first_name, sex=first.sex,
            birth_date=first.birth_date, birth_place=first.birth_place,
        )
        by_place.append(len(found))
    assert 1 in by_place and any(n >= 2 for n in by_place)


def test_find_patients_compares_names_without_case_or_accents_and_filters_every_trait(world):
    assert [p.key for p in world.find_patients(birth_name="adrtrois", first_name="Dominique")] == [
        "cnda-adrtrois-dominique"
    ]
    assert world.find_patients(birth_name="ADRTROIS", first_name="DOMINIQUE", sex="M") == []
    assert world.find_patients(birth_name="ADRTROIS", birth_date="1997-02-27") == []
    tchitchi = world.find_patients(birth_name="Tchitchi", first_name="BELLA")
    assert [p.key for p in tchitchi] == ["cnda-tchitchi-catarina"]  # any of the birth first names
    assert world.find_patients(birth_name="TCHITCHI", first_name="CATARINA BELLA") == tchitchi
    assert world.find_patients(birth_name="NOBODY-HERE") == []


def test_professional_look_ups(world):
    bideault = world.professional_by_idnps("801234560801")
    assert bideault is not None and bideault.family_name == "BIDEAULT"
    assert world.professional_by_rpps("01234560801") is bideault
    assert world.professional_by_mailbox(bideault.mailbox.upper()) is bideault
    assert world.professional_by_idnps("01234560801") is None  # an RPPS is not an IDNPS
    assert world.professional_by_idnps("899999999999") is None
    assert world.organisation_of(bideault).name == "Centre de radiologie Ambroise"
    roles = {p.author_code for p in world.professionals}
    assert {"G15_10/SM44", "G15_10/SM03", "G15_10/SM54"} <= roles  # radiologists, biologists, GPs
    assert sum(p.author_code == "G15_10/SM44" for p in world.professionals) >= 3


def test_mailbox_look_ups_cover_every_kind(world):
    patient = world.patient_by_key("ans-cda-pat-trois-dominique")
    citizen = world.mailbox("279035121518989@patient.mssante.fr")
    assert citizen is not None and citizen.kind == "CITIZEN" and citizen.owner == patient.key
    assert patient.citizen_mailbox == "279035121518989@patient.mssante.fr"
    refusing = next(p for p in world.patients if p.mssante_refused)
    assert not world.mailbox(refusing.citizen_mailbox).accepts_messages
    dead = next(p for p in world.patients if p.deceased)
    assert world.mailbox(dead.citizen_mailbox).closed
    for organisation in world.organisations:
        for address in organisation.org_mailboxes:
            assert world.mailbox(address).kind == "ORG"
        for address in organisation.app_mailboxes:
            assert world.mailbox(address).kind == "APP"
    assert world.mailbox("nobody@nowhere.mssante.fr") is None
    assert world.professional_by_mailbox(citizen.address) is None


def test_the_ans_cda_example_patient_is_in_the_world(world):
    patient = world.patient_by_ins("279035121518989")
    assert patient.oid == OID_NIR_TEST
    assert (patient.birth_name, patient.first_names, patient.sex, patient.birth_date, patient.birth_place) == (
        "PAT-TROIS", "DOMINIQUE MARIE-LOUISE", "F", "1979-03-28", "51215"
    )


# -- CNDA personas against the recorded INSi answers --------------------------------------------
RECORDED = {
    "TEST_2.04_cas2.xml": "cnda-2.04-ecetinsi-pierre-alain",
    "TEST_2.05.xml": "cnda-2.05-provisoire-matricule",
    "TEST_2.08_cas1.xml": "cnda-2.08-corse-anthony",
    "TEST_2.08_cas2.xml": "cnda-2.08-hermann-gatien",
}


def _text(element, path):
    found = element.find(path)
    return None if found is None else found.text


@pytest.mark.needs_ref
@pytest.mark.parametrize("filename", sorted(RECORDED))
def test_cnda_persona_matches_the_recorded_insi_answer_field_by_field(world, shared_ref, filename):
    path = shared_ref / "insi" / "fixtures" / filename
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    individu = root.find(f".//{RESULTAT}INDIVIDU")
    patient = world.patient_by_key(RECORDED[filename])
    assert patient is not None
    assert filename in patient.source
    active = individu.find(f"{RESULTAT}INSACTIF")
    assert _text(active, f"{RESULTAT}IdIndividu/{RESULTAT}NumIdentifiant") == patient.nir
    assert _text(active, f"{RESULTAT}IdIndividu/{RESULTAT}Cle") == patient.nir_key
    assert _text(active, f"{RESULTAT}OID") == patient.oid
    tiq = individu.find(f"{RESULTAT}TIQ")
    assert _text(tiq, f"{RESULTAT}NomNaissance") == patient.birth_name
    assert _text(tiq, f"{RESULTAT}Prenom") == patient.tiq_first_name
    assert _text(tiq, f"{RESULTAT}ListePrenom") == patient.first_names
    assert _text(tiq, f"{RESULTAT}Sexe") == patient.sex
    assert _text(tiq, f"{RESULTAT}DateNaissance") == patient.birth_date
    assert _text(tiq, f"{RESULTAT}LieuNaissance") == patient.birth_place
    history = [
        (
            _text(h, f"{RESULTAT}IdIndividu/{RESULTAT}NumIdentifiant"),
            _text(h, f"{RESULTAT}IdIndividu/{RESULTAT}Cle"),
            _text(h, f"{RESULTAT}OID"),
            _text(h, f"{RESULTAT}DateDeb"),
            _text(h, f"{RESULTAT}DateFin"),
        )
        for h in individu.findall(f"{RESULTAT}INSHISTO")
    ]
    assert history == [(h.nir, h.key, h.oid, h.start, h.end) for h in patient.ins_history]


@pytest.mark.needs_ref
def test_every_recorded_answer_with_an_identity_has_its_persona(shared_ref):
    recorded = sorted(
        p.name for p in (shared_ref / "insi" / "fixtures").glob("*.xml")
        if b"<INDIVIDU>" in p.read_bytes()
    )
    assert recorded == sorted(RECORDED)


def test_the_issue_persona_adrtrois_dominique_has_exactly_its_traits(world):
    patient = world.patient_by_key("cnda-adrtrois-dominique")
    assert (patient.birth_name, patient.first_names, patient.sex, patient.birth_date, patient.birth_place) == (
        "ADRTROIS", "DOMINIQUE", "F", "1997-02-26", "2A020"
    )
    assert (patient.nir, patient.nir_key, patient.oid) == ("297022A020778", "78", OID_NIR)


def test_world_file_is_plain_json_with_a_version(world):
    raw = json.loads(DEFAULT_WORLD_FILE.read_text(encoding="utf-8"))
    assert raw["format"] == 1 and raw["version"] == world.version
