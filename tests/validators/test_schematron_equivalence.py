"""The fast single-traversal compilation gives exactly the verdicts of the classic (ISO skeleton
shaped) one on the official ANS packs: same failed asserts and successful reports — assert
id/test, location, element index, message — in the same order, on every published example and
on mutated copies that do fire asserts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from segur.validators import packs as pack_dirs
from segur.validators import profiles
from segur.validators.schematron import compile_pack

pytestmark = pytest.mark.needs_ref

CDA = {"cda": "urn:hl7-org:v3"}
COMMON = "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch"
CR_IMG = "schematrons/CI-SIS_IMG-CR-IMG_2024.01.sch"
CR_BIO = "schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch"
ANATOMIC_SITE_PROCEDURE = "1.2.250.1.213.1.1.3.153"


@pytest.fixture(scope="module")
def packs(cda_pack: Path, tmp_path_factory) -> Callable:
    cache = tmp_path_factory.mktemp("schematron-cache")
    compiled: dict = {}

    def get(rel: str, mode: str):
        if (rel, mode) not in compiled:
            compiled[(rel, mode)] = compile_pack(cda_pack / rel, cache_dir=cache, mode=mode)
        return compiled[(rel, mode)]

    return get


def outcomes(pack, document: bytes) -> list[tuple]:
    return [
        (f.kind, f.pattern_id, f.assert_id, f.test, f.location, f.node_index, f.message, f.severity)
        for f in pack.run(document).failures
    ]


def assert_same(packs, rel: str, document: bytes) -> list[tuple]:
    fast, classic = outcomes(packs(rel, "fast"), document), outcomes(packs(rel, "classic"), document)
    assert fast == classic
    return fast


def examples(cda_pack: Path, pattern: str) -> list[Path]:
    found = sorted((cda_pack / "ExemplesCDA").glob(pattern))
    assert found, f"no example matches {pattern}"
    return found


def volet_pack_of(doc: Path, cda_pack: Path) -> str | None:
    """The volet pack `segur validate --profile auto` runs on the document (None for N1)."""
    chosen = profiles.select(etree.parse(str(doc)).getroot(), cda_pack, usable=pack_dirs.usable).volet
    return str(chosen.path.relative_to(cda_pack)) if chosen else None


def test_every_volet_pack_fast_equals_classic_on_all_94_examples(cda_pack, packs):
    """The whole verdict of each example's own volet pack (the pack `auto` picks), fast vs
    classic, on all 94 examples: the test that would have caught OPH-BRE's 4 false errors."""
    docs = examples(cda_pack, "*.xml")
    assert len(docs) == 94
    ran = set()
    for doc in docs:
        rel = volet_pack_of(doc, cda_pack)
        if rel:
            assert_same(packs, rel, doc.read_bytes())
            ran.add(rel)
    assert len(ran) > 40


def test_common_pack_fast_equals_classic_on_all_94_examples(cda_pack, packs):
    """Part of the default run (~8 s on the shared 2-core machine): a sample missed OPH-BRE."""
    docs = examples(cda_pack, "*.xml")
    assert len(docs) == 94
    fired = 0
    for doc in docs:
        fired += len(assert_same(packs, COMMON, doc.read_bytes()))
    # the published examples are not all clean (e.g. author specialties outside JDV_J01): the
    # comparison covers real failures, not only empty results
    assert fired > 0


@pytest.mark.parametrize("rel, pattern", [(CR_IMG, "IMG*.xml"), (CR_BIO, "BIO*.xml")])
def test_volet_pack_fast_equals_classic_on_its_examples(cda_pack, packs, rel, pattern):
    fired = 0
    for doc in examples(cda_pack, pattern):
        fired += len(assert_same(packs, rel, doc.read_bytes()))
    assert fired > 0


def test_official_examples_are_clean_where_ans_says_so(cda_pack, packs):
    """README facts: these pass their volet (N3 only) and the common pack with zero errors."""
    ex = cda_pack / "ExemplesCDA"
    cases = [
        ("IMG_CR_IMG_2024.01.xml", [CR_IMG, COMMON]),
        ("IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", [COMMON]),
        ("DOC_NON_STRUCTURE_CDA-R2-N1.xml", [COMMON]),
        ("BIO-CR-BIO_2024.01_TSH_1.xml", [CR_BIO, COMMON]),
    ]
    for name, rels in cases:
        for rel in rels:
            failures = packs(rel, "fast").run((ex / name).read_bytes()).failures
            errors = [f for f in failures if f.severity == "error"]
            assert errors == [], (name, rel, errors[:3])


def test_n1_document_forced_through_the_n3_volet_pack_fails_on_its_header(cda_pack, packs):
    doc = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
    got = assert_same(packs, CR_IMG, doc)
    assert {(kind, pattern) for kind, pattern, *_ in got} == {("assert", "Entete_IMG-CR-IMG")}
    assert sorted(m.split('"')[1] for *_, m, _sev in got) == [
        "1.2.250.1.213.1.1.1.45",
        "1.2.840.10008.9.1",
        "1.2.840.10008.9.20",
        "1.2.840.10008.9.21",
    ]


# ----------------------------------------------------------------------------- mutations


def _set(xpath: str, attr: str, value: str):
    def mutate(tree):
        nodes = tree.xpath(xpath, namespaces=CDA)
        assert nodes, xpath
        nodes[0].set(attr, value)

    return mutate


def _remove(xpath: str):
    def mutate(tree):
        nodes = tree.xpath(xpath, namespaces=CDA)
        assert nodes, xpath
        nodes[0].getparent().remove(nodes[0])

    return mutate


def _remove_all(xpath: str):
    def mutate(tree):
        nodes = tree.xpath(xpath, namespaces=CDA)
        assert nodes, xpath
        for node in nodes:
            node.getparent().remove(node)

    return mutate


IMG_MUTATIONS = {
    "remove the conclusion section": _remove(
        "//cda:component[cda:section/cda:templateId/@root='1.2.250.1.213.1.1.2.209']"
    ),
    "change the document code": _set("/cda:ClinicalDocument/cda:code", "code", "11502-2"),
    "break the conclusion section templateId": _set(
        "//cda:section/cda:templateId[@root='1.2.250.1.213.1.1.2.209']", "root", "1.2.250.1.213.1.1.2.999"
    ),
    "anatomic site outside its value set": _set(
        f"//cda:procedure[cda:templateId/@root='{ANATOMIC_SITE_PROCEDURE}']/cda:targetSiteCode", "code",
        "999999999"),
    "author specialty outside JDV_J01": _set("//cda:assignedAuthor/cda:code", "code", "G15_10/XX99"),
    "gender outside its value set": _set("//cda:patient/cda:administrativeGenderCode", "code", "Q"),
    "remove every documentationOf": _remove_all("/cda:ClinicalDocument/cda:documentationOf"),
}

BIO_MUTATIONS = {
    "change the document code": _set("/cda:ClinicalDocument/cda:code", "code", "18748-4"),
    "interpretation outside its value set": _set("//cda:interpretationCode", "code", "ZZ"),
    "break the first section templateId": _set("//cda:section/cda:templateId", "root", "9.9.9"),
    "remove an observation code": _remove("//cda:observation/cda:code"),
    "gender outside its value set": _set("//cda:patient/cda:administrativeGenderCode", "code", "Q"),
}


def _mutated(path: Path, mutate) -> bytes:
    tree = etree.parse(str(path))
    mutate(tree)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("name", sorted(IMG_MUTATIONS))
def test_mutated_cr_img_fires_and_fast_equals_classic(cda_pack, packs, name):
    path = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml"
    doc = _mutated(path, IMG_MUTATIONS[name])
    fired = assert_same(packs, CR_IMG, doc) + assert_same(packs, COMMON, doc)
    assert [f for f in fired if f[-1] == "error"], f"mutation {name!r} fired no error"


@pytest.mark.parametrize("name", sorted(BIO_MUTATIONS))
def test_mutated_cr_bio_fires_and_fast_equals_classic(cda_pack, packs, name):
    path = cda_pack / "ExemplesCDA" / "BIO-CR-BIO_2024.01_TSH_1.xml"
    doc = _mutated(path, BIO_MUTATIONS[name])
    fired = assert_same(packs, CR_BIO, doc) + assert_same(packs, COMMON, doc)
    assert [f for f in fired if f[-1] == "error"], f"mutation {name!r} fired no error"


def test_value_set_lookup_failure_names_the_code_and_the_value_set(cda_pack, packs):
    path = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml"
    doc = _mutated(path, IMG_MUTATIONS["anatomic site outside its value set"])
    got = [f for f in packs(CR_IMG, "fast").run(doc).failures if "999999999" in f.message]
    assert got, "the anatomic-site value-set assert did not fire"
    f = got[0]
    assert f.pattern_id.startswith("JDV_LocalisationAnatomique") and f.severity == "error"
    assert "../jeuxDeValeurs/JDV_LocalisationAnatomique_CISIS.xml" in f.message
    tree = etree.fromstring(doc)
    element = tree.xpath(f.location, namespaces=CDA)[0]
    assert etree.QName(element).localname == "targetSiteCode"
    assert list(tree.iter("*")).index(element) == f.node_index
