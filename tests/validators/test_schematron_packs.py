"""The official packs load as published, known defects of the ANS data included."""

from __future__ import annotations

import pytest

from segur.validators.schematron import compile_pack, pack_info

pytestmark = pytest.mark.needs_ref


@pytest.mark.parametrize(
    "rel, sch_files, value_sets, missing",
    [
        # closure sizes as documented for the reference data (../shared/ref/README.md)
        ("schematrons/CI-SIS_IMG-CR-IMG_2024.01.sch", 27, 7, []),
        ("schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch", 12, 1, []),
        ("schematrons/CI-SIS_IMG-DA-IMG_2024.01.sch", 16, 9, []),
        (
            "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch",
            144,
            19,
            ["../../jeuxDeValeurs/JDV_ClinicalStatusCodes_CISIS.xml"],
        ),
    ],
)
def test_pack_closure_matches_the_published_layout(cda_pack, rel, sch_files, value_sets, missing):
    info = pack_info(cda_pack / rel)
    assert info["file_count"] == sch_files
    assert len(info["value_sets"]) == value_sets
    assert info["missing_files"] == missing
    assert info["query_binding"] == "xslt2" and info["version"] == (cda_pack / rel).name
    assert info["warnings"] == []


def test_ihe_pack_loads_despite_the_case_mismatched_include(cda_pack, tmp_path):
    """profils/IHE.sch includes E_directiveAnticipee_int.sch; the file is E_directiveanticipee_int.sch."""
    sch = cda_pack / "schematrons/profils/IHE.sch"
    info = pack_info(sch)
    assert info["include_fixups"] == [
        {
            "href": "../include/entrees/E_directiveAnticipee_int.sch",
            "used": "../include/entrees/E_directiveanticipee_int.sch",
        }
    ]
    assert info["file_count"] == 232
    doc = (cda_pack / "ExemplesCDA/IMG_CR_IMG_2024.01.xml").read_bytes()
    result = compile_pack(sch, cache_dir=tmp_path).run(doc)
    assert [f for f in result.failures if f.kind == "pack-error"] == []


def test_common_pack_runs_without_touching_its_missing_value_set(cda_pack, tmp_path):
    sch = cda_pack / "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch"
    pack = compile_pack(sch, cache_dir=tmp_path)
    for name in ("IMG_CR_IMG_2024.01.xml", "DOC_NON_STRUCTURE_CDA-R2-N1.xml", "BIO-CR-BIO_2024.01_TSH_1.xml"):
        result = pack.run((cda_pack / "ExemplesCDA" / name).read_bytes())
        assert result.failures == [], name


@pytest.mark.slow
def test_structuration_minimale_missing_doc_is_a_pack_error_not_a_crash(cda_pack, tmp_path, request):
    """Its rule on ClinicalDocument/code calls doc('include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml'),
    a file that never existed: that one assert reports a pack error (FODC0002), the rest runs."""
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("compiling the 126-file structurationMinimale pack takes 10-30 s: runs with -m slow")
    sch = cda_pack / "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch"
    assert pack_info(sch)["missing_files"] == ["include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml"]
    doc = (cda_pack / "ExemplesCDA/IMG_CR_IMG_2024.01.xml").read_bytes()
    result = compile_pack(sch, cache_dir=tmp_path).run(doc)
    errors = [f for f in result.failures if f.kind == "pack-error"]
    assert len(errors) == 1
    assert "FODC0002" in errors[0].message and "voc-1.2.250.1.213.1.1.5.471" in errors[0].message
    assert errors[0].location == "/hl7:ClinicalDocument[1]/hl7:code[1]"
