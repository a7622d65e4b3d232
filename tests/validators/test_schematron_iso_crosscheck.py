"""Cross-check against an independent implementation: the ISO Schematron reference stylesheets
bundled with the installed lxml package (XSLT 1 skeleton: include, abstract expansion, SVRL),
run by libxslt. They are used from lxml at test time, not copied.

The XSLT 1 skeleton refuses ``queryBinding="xslt2"``, so the expanded schema is relabelled
``xslt`` before the last step; the CR-IMG and CR-BIO packs only use XPath that libxslt runs the
same way (the common pack does not: it uses XPath 2 functions libxslt lacks, so it is compared
with the classic mode instead, in test_schematron_equivalence.py).
"""

from __future__ import annotations

from pathlib import Path

import lxml.isoschematron as iso
import pytest
from lxml import etree

from segur.validators.schematron import compile_pack

pytestmark = pytest.mark.needs_ref

ISO = "{http://purl.oclc.org/dsdl/schematron}"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def _iso_resources() -> Path:
    folder = Path(iso.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"
    if not (folder / "iso_svrl_for_xslt1.xsl").is_file():
        pytest.skip("lxml was installed without its ISO Schematron stylesheets")
    return folder


def iso_reference(sch: Path) -> etree.XSLT:
    folder = _iso_resources()
    include, expand, svrl = (
        etree.XSLT(etree.parse(str(folder / name)))
        for name in ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt1.xsl")
    )
    schema = etree.parse(str(sch))
    for inc in schema.iter(ISO + "include"):  # libxslt wants a URI: "E_observationTNM _fr.sch"
        inc.set("href", inc.get("href").replace(" ", "%20"))
    expanded = expand(include(schema))
    expanded.getroot().set("queryBinding", "xslt")
    stylesheet = etree.fromstring(etree.tostring(svrl(expanded)), base_url=str(sch))
    return etree.XSLT(stylesheet)


def reference_outcomes(transform: etree.XSLT, path: Path) -> list[tuple]:
    tree = etree.parse(str(path))
    index = {e: i for i, e in enumerate(tree.iter("*"))}
    out = []
    for node in transform(tree).getroot().iter(SVRL + "failed-assert", SVRL + "successful-report"):
        target = tree.xpath(node.get("location"))[0]
        element = target if isinstance(target, etree._Element) else target.getparent()
        message = " ".join("".join(node.find(SVRL + "text").itertext()).split())
        out.append((" ".join(node.get("test").split()), index[element], message))
    return sorted(out)


@pytest.mark.parametrize(
    "rel, pattern",
    [("schematrons/CI-SIS_IMG-CR-IMG_2024.01.sch", "IMG*.xml"),
     ("schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch", "BIO*.xml")],
)
def test_fast_mode_agrees_with_the_iso_reference_skeleton(cda_pack, tmp_path, rel, pattern):
    sch = cda_pack / rel
    reference = iso_reference(sch)
    pack = compile_pack(sch, cache_dir=tmp_path, mode="fast")
    compared = fired = 0
    for path in sorted((cda_pack / "ExemplesCDA").glob(pattern)):
        ours = sorted(
            (" ".join(f.test.split()), f.node_index, f.message) for f in pack.run(path.read_bytes()).failures
        )
        assert ours == reference_outcomes(reference, path), path.name
        compared += 1
        fired += len(ours)
    assert compared >= 9 and fired > 0
