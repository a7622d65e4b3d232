"""What every Ségur check needs: the document, where its elements are, and one way to report."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from lxml import etree

from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule
from segur.validators.segur_rules.value_sets import UserValueSet

HL7 = "urn:hl7-org:v3"
NS = {"cda": HL7}


class T(NamedTuple):
    """A message detail in both languages: ``T("the key is wrong", "la clé est fausse")``.

    Passed as a context value ``name=T(...)``, it fills ``{name}`` in the English message and
    ``{name_fr}`` in the French one.
    """

    en: str
    fr: str


def join(parts: list[T], sep: str = "; ") -> T:
    return T(sep.join(p.en for p in parts), sep.join(p.fr for p in parts))


class LocatorLike(Protocol):
    """The part of `segur.validators.locate.Locator` the rules use."""

    def position(self, element: etree._Element) -> tuple[int | None, int | None]: ...

    def xpath(self, element: etree._Element) -> str: ...


class Document:
    """One CDA document under check, and the findings collected so far."""

    def __init__(self, tree: etree._ElementTree | etree._Element, locator: LocatorLike, profile: str | None,
                 pack_root: Path | None = None, value_sets: Mapping[str, UserValueSet] | None = None):
        self.root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        self.locator = locator
        self.profile = profile
        self.pack_root = pack_root  # the official pack, for the checks that read its value sets
        self.value_sets = dict(value_sets or {})  # the user's value sets, by role (see value_sets.py)
        self.findings: list[Finding] = []

    def xp(self, path: str, node: etree._Element | None = None) -> list:
        return (self.root if node is None else node).xpath(path, namespaces=NS)

    def first(self, path: str, node: etree._Element | None = None):
        found = self.xp(path, node)
        return found[0] if found else None

    def report(self, rule: Rule, element: etree._Element, severity: Severity | None = None,
               **context) -> None:
        """Record that `rule` fired on `element`, with its position, XPath and both messages."""
        flat = {}
        for key, value in context.items():
            if isinstance(value, T):
                flat[key], flat[f"{key}_fr"] = value.en, value.fr
            else:
                flat[key] = value
        context = flat
        line, column = self.locator.position(element)
        finding = rule.finding(severity=severity, line=line, column=column, xpath=self.locator.xpath(element),
                               **context)
        params = {k: str(v) for k, v in context.items()}
        extra = {"message_fr": rule.message("fr", **context), "params": params}
        if rule.extra.get("hint_fr"):
            extra["hint_fr"] = rule.extra["hint_fr"]
        if rule.rem:
            extra["rem"] = list(rule.rem)
        self.findings.append(dataclasses.replace(finding, extra=extra))


def is_cda(root: etree._Element) -> bool:
    return root.tag == f"{{{HL7}}}ClinicalDocument"
