"""The project's own Ségur rules for CDA documents: what a referencing reviewer checks that the
official CI-SIS packs let through (INS, professionals' ids, the N1 PDF, the header).

    findings = check_segur(tree, locator, profile=None, pack_root=None, value_sets=None)

`tree` is the parsed document, `locator` a `segur.validators.locate.Locator` (or anything with
``position(element) -> (line, column)`` and ``xpath(element) -> str``), `profile` an optional
volet name (``CR-IMG``, ``IMG-CR-IMG_2024.01``…) forcing which volet's document code applies,
`pack_root` the official pack directory, whose value sets some checks read (without it they say
they did not run), `value_sets` the user's value sets by role (`load_value_sets(["bio-results=FILE"])`):
the CR-BIO result codes are checked against the ``bio-results`` one when it is given.
Every finding has layer ``segur``, the rule's severity and hint, the element's line, column and
XPath, and ``extra["message_fr"]`` (the French message) and ``extra["rem"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lxml import etree

from segur.kernel.findings import Finding
from segur.validators.segur_rules import body, header, identity, professionals, results, volet
from segur.validators.segur_rules.catalogue import RULES, RULES_BY_ID
from segur.validators.segur_rules.context import Document, LocatorLike, is_cda
from segur.validators.segur_rules.value_sets import UserValueSet, ValueSetError, load_value_sets

__all__ = ["RULES", "RULES_BY_ID", "ValueSetError", "check_segur", "load_value_sets"]

_CHECKS = (identity.check, professionals.check, body.check, header.check, volet.check, results.check)


def check_segur(tree: etree._ElementTree | etree._Element, locator: LocatorLike,
                profile: str | None = None, pack_root: Path | None = None,
                value_sets: Mapping[str, UserValueSet] | None = None) -> list[Finding]:
    """All Ségur findings for one CDA document, in document order.

    A root that is not an HL7 ClinicalDocument gives no finding here: the XSD layer reports it.
    """
    doc = Document(tree, locator, profile, Path(pack_root) if pack_root else None, value_sets)
    if not is_cda(doc.root):
        return []
    for check in _CHECKS:
        check(doc)
    return sorted(doc.findings, key=lambda f: (f.line or 0, f.column or 0, f.rule))
