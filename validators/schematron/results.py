"""What a pack run returns: failures (failed asserts, successful reports, pack errors) and SVRL."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"


def severity_of(role: str | None) -> str:
    """SVRL role → severity, as the ANS tool reads it: no role, error, fatal (and any unknown
    role) are errors; warning → warning; info/information → info."""
    r = (role or "").strip().lower()
    if r in ("warning", "warn"):
        return "warning"
    if r in ("info", "information", "informational"):
        return "info"
    return "error"


@dataclass(frozen=True)
class SchematronFailure:
    """One outcome of a pack on a document.

    ``kind`` is ``assert`` (a failed assert), ``report`` (a successful report) or
    ``pack-error`` (the check could not be evaluated: e.g. ``doc()`` of a file missing from the
    pack; ``message`` then carries the XPath error code and description).
    ``location`` is an XPath using the pack's own prefixes (``/cda:ClinicalDocument[1]/…``);
    ``node_index`` is the 0-based index of the context element (the parent element for an
    attribute) in document order over elements (lxml ``tree.iter()`` order over elements), or
    None for the document node / a whole-run error.
    """

    pack: str
    pattern_id: str | None
    rule_context: str | None
    assert_id: str | None
    test: str | None
    kind: str
    role: str | None
    severity: str
    message: str
    location: str | None
    node_index: int | None
    # Extras (not needed by every caller): stable ordering keys and SVRL attributes.
    pattern_index: int | None = None
    check_index: int | None = None
    rule_id: str | None = None
    see: str | None = None
    flag: str | None = None
    diagnostics: tuple[tuple[str, str], ...] = ()  # (diagnostic id, text)

    @property
    def key(self) -> tuple:
        """What identifies an outcome independently of run order (used to compare runs)."""
        return (self.kind, self.pattern_id, self.assert_id, self.test, self.location, self.message)


@dataclass
class SchematronResult:
    pack: str
    failures: list[SchematronFailure]
    elapsed_ms: float
    meta: dict = field(default_factory=dict, repr=False)  # title, version, phase, patterns, namespaces

    @property
    def errors(self) -> list[SchematronFailure]:
        return [f for f in self.failures if f.severity == "error"]

    @cached_property
    def svrl(self) -> bytes:
        """An ISO SVRL document. For speed the run does not record every rule firing: a
        ``fired-rule`` is written only before the outcomes it produced."""
        s = f"{{{SVRL_NS}}}"
        root = etree.Element(s + "schematron-output", nsmap={"svrl": SVRL_NS})
        for attr in ("title", "schemaVersion", "phase"):
            if self.meta.get(attr):
                root.set(attr, self.meta[attr])
        for prefix, uri in self.meta.get("namespaces", []):
            etree.SubElement(root, s + "ns-prefix-in-attribute-values", prefix=prefix, uri=uri)
        by_pattern: dict[int | None, list[SchematronFailure]] = {}
        for f in self.failures:
            by_pattern.setdefault(f.pattern_index, []).append(f)
        patterns = self.meta.get("patterns", [])
        for index, pattern_id in enumerate(patterns):
            ap = etree.SubElement(root, s + "active-pattern")
            if pattern_id:
                ap.set("id", pattern_id)
                ap.set("name", pattern_id)
            last_rule = None
            for f in by_pattern.get(index, []):
                rule_key = (f.rule_context, f.node_index, f.location)
                if rule_key != last_rule:
                    fr = etree.SubElement(root, s + "fired-rule", context=f.rule_context or "")
                    if f.rule_id:
                        fr.set("id", f.rule_id)
                    last_rule = rule_key
                _svrl_outcome(root, s, f)
        for f in by_pattern.get(None, []):  # whole-run errors
            _svrl_outcome(root, s, f)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _svrl_outcome(root, s: str, f: SchematronFailure) -> None:
    tag = "successful-report" if f.kind == "report" else "failed-assert"
    el = etree.SubElement(root, s + tag, test=f.test or "", location=f.location or "/")
    if f.assert_id:
        el.set("id", f.assert_id)
    if f.kind == "pack-error":
        el.set("role", "error")
        el.set("flag", "pack-error")
    elif f.role:
        el.set("role", f.role)
    if f.flag and f.kind != "pack-error":
        el.set("flag", f.flag)
    if f.see:
        el.set("see", f.see)
    for diag_id, text in f.diagnostics:  # SVRL: diagnostic-reference* then text
        etree.SubElement(el, s + "diagnostic-reference", diagnostic=diag_id).text = text
    etree.SubElement(el, s + "text").text = f.message
