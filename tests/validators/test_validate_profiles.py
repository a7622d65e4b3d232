"""Profile `auto`: the volet pack chosen for each document, checked against the official packs and
examples."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from lxml import etree

from segur.validators import packs, profiles, validate
from segur.validators.profiles import VOLETS, UnknownProfile, select, volet_packs

SCH = "{http://purl.oclc.org/dsdl/schematron}"
# an assert on the volet's templateId: cda:templateId[@root = '1.2.250.1.213.1.1.1.<volet>']
VOLET_TEMPLATE_ASSERT = re.compile(r"^\s*cda:templateId\[@root\s*=\s*'(1\.2\.250\.1\.213\.1\.1\.1\.[\d.]+)'")


def _root(cda_pack: Path, name: str) -> etree._Element:
    return etree.parse(str(cda_pack / "ExemplesCDA" / name)).getroot()


@pytest.mark.parametrize("name, volet, why", [
    ("IMG_CR_IMG_2024.01.xml", "IMG-CR-IMG_2024.01", "templateId 1.2.250.1.213.1.1.1.45"),
    # no @extension: the version whose templateIds the document declares (its PDF-copy section is 2024.01's)
    ("BIO-CR-BIO_2024.01_TSH_1.xml", "BIO-CR-BIO_2024.01",
     "version 2024.01 chosen, not 2021.01: its pack knows the templateIds the document declares "
     "(1.2.250.1.213.1.1.2.243)"),
    # nothing tells 2021.01 from 2024.01 here: the latest, and the reason says how to choose another
    ("BIO-CR-BIO_2021.01_Electrophorese.xml", "BIO-CR-BIO_2024.01",
     "declares none of the templateIds that tell 2021.01, 2024.01 apart (1.2.250.1.213.1.1.2.128"),
    ("BIO-CR-BIO_2024.01_Electrophorese.xml", "BIO-CR-BIO_2024.01", "from templateId/@extension"),
    # BIO-CR-BIO_2023.01's includes are missing from the ANS repository: fall back to the latest usable.
    ("BIO-CR-BIO_2023.01_Electrophorese.xml", "BIO-CR-BIO_2024.01",
     "@extension 2023.01 has no usable pack; version 2024"),
    ("IMG-DA-IMG_2024.01_TEP_Thorax.xml", "IMG-DA-IMG_2024.01", "templateId"),
    ("SDM-MR_2022.01.xml", "SDM-MR_2022.01", "from templateId/@extension"),
    ("CSE-CS8_2025.01.xml", "CSE-CS8_2025.01", "from templateId/@extension"),
])
def test_auto_picks_the_volet_of_n3_examples(cda_pack, name, volet, why):
    selection = select(_root(cda_pack, name), cda_pack, "auto", packs.usable)
    assert selection.level == "N3"
    assert selection.volet is not None and selection.volet.name == volet
    assert why in selection.reason


@pytest.mark.parametrize("name", [
    "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", "DOC_NON_STRUCTURE_CDA-R2-N1.xml", "TLM-CR_2022.01.xml",
])
def test_n1_documents_get_only_the_common_pack(cda_pack, name):
    selection = select(_root(cda_pack, name), cda_pack, "auto", packs.usable)
    assert selection.level == "N1" and selection.volet is None
    assert "common pack only" in selection.reason


def test_loinc_code_is_used_when_no_volet_template_id(cda_pack):
    root = _root(cda_pack, "BIO-CR-BIO_2024.01_TSH_1.xml")
    for template in root.findall("{urn:hl7-org:v3}templateId"):
        if template.get("root") == "1.2.250.1.213.1.1.1.55":
            root.remove(template)
    selection = select(root, cda_pack, "auto", packs.usable)
    assert selection.volet.name == "BIO-CR-BIO_2024.01" and "LOINC code 11502-2" in selection.reason


def _without_template(root: etree._Element, template_root: str) -> etree._Element:
    for template in root.findall("{urn:hl7-org:v3}templateId"):
        if template.get("root") == template_root:
            root.remove(template)
    return root


def test_shared_loinc_code_without_template_id_runs_the_common_pack_only(cda_pack):
    root = _without_template(_root(cda_pack, "SDM-MR_2022.01.xml"), "1.2.250.1.213.1.1.1.30")
    selection = select(root, cda_pack, "auto", packs.usable)
    assert selection.volet is None and "shared by" in selection.reason and "--profile" in selection.reason


def test_cr_img_code_without_template_id_still_gets_the_cr_img_pack(cda_pack):
    """18748-4 is also the code of the breast-screening volets, but a Ségur CR-IMG is the one to hold it
    to."""
    root = _without_template(_root(cda_pack, "IMG_CR_IMG_2024.01.xml"), "1.2.250.1.213.1.1.1.45")
    selection = select(root, cda_pack, "auto", packs.usable)
    assert selection.volet is not None and selection.volet.name == "IMG-CR-IMG_2024.01"
    assert "LOINC code 18748-4 → the Ségur volet IMG-CR-IMG" in selection.reason


def test_n1_cr_img_stays_on_the_common_pack(cda_pack):
    """The N1 report has the same code but no structured body: its own templateIds, no volet pack."""
    n1 = _root(cda_pack, "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml")
    selection = select(n1, cda_pack, "auto", packs.usable)
    assert selection.volet is None and selection.level == "N1"


def test_single_usable_version_needs_no_choice(cda_pack):
    root = _root(cda_pack, "IMG_CR_IMG_2024.01.xml")
    next(t for t in root.findall("{urn:hl7-org:v3}templateId") if t.get("extension")).attrib.pop("extension")
    selection = select(root, cda_pack, "auto", packs.usable)
    assert selection.volet.name == "IMG-CR-IMG_2024.01"
    assert "latest usable version 2024.01" in selection.reason


@pytest.mark.slow
def test_official_img_pack_reports_the_missing_cr_img_template_id(cda_pack, tmp_path):
    """Before, such a document was checked with the common pack only and passed the Schematron layer."""
    root = _without_template(_root(cda_pack, "IMG_CR_IMG_2024.01.xml"), "1.2.250.1.213.1.1.1.45")
    document = tmp_path / "cr-img-without-template.xml"
    document.write_bytes(etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8"))
    report = validate(document, pack=cda_pack, layers=["xml", "schematron", "segur"])
    assert report.profile["volet"] == "IMG-CR-IMG_2024.01"
    pack_errors = [f for f in report.errors if f.layer == "schematron"]
    assert any("1.2.250.1.213.1.1.1.45" in f.message for f in pack_errors), [f.message for f in pack_errors]
    assert "SEGUR-VOLET-001" in {f.rule for f in report.errors}


def test_forced_profiles(cda_pack):
    root = _root(cda_pack, "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml")
    assert select(root, cda_pack, "IMG-CR-IMG").volet.name == "IMG-CR-IMG_2024.01"
    assert select(root, cda_pack, "CI-SIS_BIO-CR-BIO_2021.01.sch").volet.name == "BIO-CR-BIO_2021.01"
    assert select(root, cda_pack, "bio-cr-bio", packs.usable).volet.name == "BIO-CR-BIO_2024.01"
    assert select(root, cda_pack, "common").volet is None
    with pytest.raises(UnknownProfile, match="IMG-CR-IMG"):
        select(root, cda_pack, "IMG-CR-XXX")


def test_every_pack_file_name_is_understood(cda_pack):
    found = volet_packs(cda_pack)
    assert len(found) == len(list((cda_pack / "schematrons").glob("CI-SIS_*.sch")))
    families = {p.family for p in found}
    assert set(VOLETS) <= families | {"CSE-MDE"}


def test_table_agrees_with_the_template_ids_the_packs_assert(cda_pack):
    """Where a volet pack asserts a French document templateId on cda:ClinicalDocument, it is the table's."""
    checked = 0
    for pack in volet_packs(cda_pack):
        closure, _ = packs.closure_and_digest(pack.path)
        asserted = set()
        for path in closure.files:
            if path.suffix != ".sch":
                continue
            for rule in etree.parse(str(path)).iter(f"{SCH}rule"):
                if (rule.get("context") or "").strip() != "cda:ClinicalDocument":
                    continue
                for check in rule.iter(f"{SCH}assert"):
                    asserted |= set(VOLET_TEMPLATE_ASSERT.findall(check.get("test")))
        asserted.discard("1.2.250.1.213.1.1.1.1")  # the generic CI-SIS header template, in every document
        asserted.discard("1.2.250.1.213.1.1.1.5")  # the common CSE template (CS8/CS9/CS24)
        if asserted and pack.family in VOLETS:
            assert VOLETS[pack.family][0] in asserted, pack.name
            checked += 1
    assert checked >= 30


def test_table_agrees_with_every_example(cda_pack):
    """Each N3 example with a French volet templateId is routed to a pack of the volet its file is named
    after."""
    for path in sorted((cda_pack / "ExemplesCDA").glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        selection = select(root, cda_pack, "auto", packs.usable)
        if selection.volet is None or path.name.startswith("01_"):
            # 01_Modèles_contenus_CDA.xml demonstrates the common models and carries the VSM templateId.
            continue
        family = selection.volet.family.replace("EP-MED-DM", "eP-MED-DM")
        assert path.name.replace("IMG_CR_IMG", "IMG-CR-IMG").startswith(family), (path.name, selection)


def test_unusable_pack_is_detected(cda_pack):
    broken = cda_pack / "schematrons" / "CI-SIS_BIO-CR-BIO_2023.01.sch"
    closure, _ = packs.closure_and_digest(broken)
    assert not closure.usable and any("include" in m for m in closure.missing)
    good, digest = packs.closure_and_digest(cda_pack / "schematrons" / "CI-SIS_IMG-CR-IMG_2024.01.sch")
    assert good.usable and digest.startswith("sha256:")
    assert any(p.name == "JDV_ModaliteAcquisition_CISIS.xml" for p in good.files)


@pytest.mark.slow
def test_an_unversioned_2021_cr_bio_is_told_how_to_get_its_version(cda_pack, tmp_path):
    """Undecidable from its templateIds, it is held to 2024.01 (its PDF-copy section is missing); with
    the @extension the reason asks for, the 2021.01 pack applies and the example is VALID."""
    path = cda_pack / "ExemplesCDA" / "BIO-CR-BIO_2021.01_Electrophorese.xml"
    report = validate(path, pack=cda_pack)
    assert report.profile["volet"] == "BIO-CR-BIO_2024.01" and "give @extension" in report.profile["reason"]
    assert any("1.2.250.1.213.1.1.2.243" in f.message for f in report.errors)
    tree = etree.parse(str(path))
    tree.find("{urn:hl7-org:v3}templateId[@root='1.2.250.1.213.1.1.1.55']").set("extension", "2021.01")
    versioned = tmp_path / path.name
    tree.write(str(versioned), xml_declaration=True, encoding="UTF-8")
    report = validate(versioned, pack=cda_pack)
    assert report.profile["volet"] == "BIO-CR-BIO_2021.01"
    assert report.valid, [(f.rule, f.message) for f in report.errors]


# -- the pack folder's listing, kept between documents ---------------------------------------------------
def _aged(folder: Path, seconds: int = 3600) -> None:
    """Date the folder's last change `seconds` ago (out of the listing's racy window)."""
    stamp = folder.stat().st_mtime - seconds
    os.utime(folder, (stamp, stamp))


def test_the_pack_listing_is_kept_and_a_pack_file_added_later_is_listed(tmp_path):
    folder = tmp_path / "schematrons"
    folder.mkdir()
    (folder / "CI-SIS_IMG-CR-IMG_2024.01.sch").write_text("<schema/>")
    _aged(folder)
    assert [p.name for p in volet_packs(tmp_path)] == ["IMG-CR-IMG_2024.01"]
    assert [p.name for p in profiles._LISTINGS[folder][1]] == ["IMG-CR-IMG_2024.01"]
    (folder / "CI-SIS_IMG-CR-IMG_2025.01.sch").write_text("<schema/>")  # the folder changes: listed again
    assert [p.name for p in volet_packs(tmp_path)] == ["IMG-CR-IMG_2024.01", "IMG-CR-IMG_2025.01"]
    (folder / "CI-SIS_IMG-CR-IMG_2024.01.sch").unlink()
    assert [p.name for p in volet_packs(tmp_path)] == ["IMG-CR-IMG_2025.01"]


def test_a_folder_changed_within_the_racy_window_is_listed_every_time(tmp_path):
    folder = tmp_path / "schematrons"
    folder.mkdir()
    (folder / "CI-SIS_TLM-CR_2022.01.sch").write_text("<schema/>")
    assert [p.name for p in volet_packs(tmp_path)] == ["TLM-CR_2022.01"]
    assert folder not in profiles._LISTINGS  # its time stamp may not tell a change made in the same tick
    assert volet_packs(tmp_path / "missing") == []


def test_an_n1_document_in_auto_does_not_list_the_pack_folder(monkeypatch, tmp_path):
    def refuse(_root):
        raise AssertionError("listed")

    monkeypatch.setattr(profiles, "volet_packs", refuse)
    root = etree.fromstring(b'<ClinicalDocument xmlns="urn:hl7-org:v3"><component><nonXMLBody/></component>'
                            b"</ClinicalDocument>")
    chosen = select(root, tmp_path, "auto")
    assert chosen.volet is None and chosen.level == "N1" and "common pack only" in chosen.reason
