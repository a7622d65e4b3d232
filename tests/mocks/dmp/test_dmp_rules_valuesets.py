"""The DMP value sets are project data files that load, say where they come from, and hold what the DMP
uses."""

from __future__ import annotations

import json

import pytest

from segur.mocks.dmp import valuesets

ALL_KEYS = sorted(set(valuesets.BY_ATTRIBUTE.values()))


@pytest.mark.parametrize("key", ALL_KEYS)
def test_each_value_set_loads_with_its_source_version_and_status(key):
    value_set = valuesets.value_set(key)
    assert value_set.concepts
    assert value_set.source and value_set.version and value_set.date
    assert value_set.status in ("published", "fallback", "partial")
    if value_set.status != "published":
        assert value_set.note and value_set.published_as != value_set.name  # says what stands in for what


@pytest.mark.parametrize("key", ["ASS_X04", "ASS_A11"])
def test_each_concept_map_loads_with_its_source_and_version(key):
    table = valuesets.concept_map(key)
    assert table.mappings and table.source and table.version


def test_the_published_dmp_sets_are_the_ans_ones():
    assert valuesets.value_set("J57").status == "published"
    assert valuesets.value_set("J57").oid == "1.2.250.1.213.1.1.5.6"
    assert valuesets.value_set("J60").version == "20240927120000"
    assert len(valuesets.value_set("J60").concepts) == 62


@pytest.mark.parametrize("attribute, code, system, member", [
    ("classCode", "10", "1.2.250.1.213.1.1.4.1", True),
    ("classCode", "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", True),
    ("classCode", "10", "2.16.840.1.113883.6.1", False),
    ("formatCode", "urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", True),
    ("formatCode", "urn:asip:ci-sis:vsm:2012", "1.2.250.1.213.1.1.4.2.282", True),
    ("formatCode", "1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1", True),
    ("formatCode", "urn:asip:ci-sis:cva:2017", "1.2.250.1.213.1.1.4.2.282", False),  # J10 only, not J60
    ("typeCode", "18748-4", "2.16.840.1.113883.6.1", True),
    ("typeCode", "IMG-KOS", "1.2.250.1.213.1.1.4.12", True),
    ("healthcareFacilityTypeCode", "SA07", "1.2.250.1.71.4.2.4", True),
    ("practiceSettingCode", "AMBULATOIRE", "1.2.250.1.213.1.1.4.9", True),
    ("confidentialityCode", "INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13", True),
    ("contentTypeCode", "04", "1.2.250.1.213.2.2", True),
    ("contentTypeCode", "SA08", "1.2.250.1.71.4.2.4", True),
    ("availabilityStatus", "urn:asip:ci-sis:2010:StatusType:Archived", None, True),
])
def test_membership(attribute, code, system, member):
    assert valuesets.for_attribute(attribute).contains(code, system) is member


def test_the_type_to_class_table_gives_the_class_of_a_radiology_report_and_a_kos():
    assert valuesets.class_for_type("18748-4", "2.16.840.1.113883.6.1").code == "31"
    assert valuesets.class_for_type("11502-2", "2.16.840.1.113883.6.1").code == "10"
    assert valuesets.class_for_type("IMG-KOS", "1.2.250.1.213.1.1.4.12").code == "31"
    assert valuesets.class_for_type("00000-0") is None


def test_every_class_the_table_gives_is_in_the_dmp_class_set():
    classes = valuesets.for_attribute("classCode")
    for mapping in valuesets.concept_map("ASS_X04").mappings:
        # FEUILLE-DE-STYLE → 99 is outside J57 (a stylesheet is not a DMP document)
        if mapping.target != "99":
            assert classes.contains(mapping.target, mapping.target_system), mapping


def test_format_codes_come_from_the_content_model_or_the_embedded_media_type():
    assert [c.code for c in valuesets.format_codes_for_templates(["1.3.6.1.4.1.19376.1.3.3"])] == \
        ["urn:ihe:lab:xd-lab:2008"]
    assert valuesets.format_code_for_n1("application/pdf").code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert valuesets.format_code_for_n1("image/png") is None


def test_the_data_files_are_plain_json_that_a_user_can_read(tmp_path):
    for path in valuesets.DATA.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert {"key", "name", "version", "source"} <= set(data), path.name


def test_the_data_files_match_what_regenerate_builds_from_the_reference_copies(shared_ref, tmp_path,
                                                                               monkeypatch):
    from segur.mocks.dmp.data import regenerate

    monkeypatch.setattr(regenerate, "HERE", tmp_path)
    regenerate.main(shared_ref)
    for built in tmp_path.glob("*.json"):
        shipped = (valuesets.DATA / built.name).read_text(encoding="utf-8")
        assert built.read_text(encoding="utf-8") == shipped, built.name
