"""The `xsd` layer: CDA R2 schema with the French extensions (``CDA_extended.xsd`` of the pack).

The schema is loaded once per process and pack (lxml ``XMLSchema``; loading takes ~60 ms,
validating a CR-IMG document ~2 ms). Its includes and imports are resolved from the pack
directory only: a resolver refuses anything that is not a local file, and the parser has
network access disabled. lxml's error log gives the line and column of each error; the XPath
comes from the locator.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from lxml import etree

from segur.kernel import rules
from segur.kernel.findings import Finding
from segur.kernel.rules import Rule
from segur.validators.locate import Locator

LAYER = "xsd"
XSD_RULE = Rule(
    "XSD-001", LAYER, "{detail}", "{detail}",
    hint="Compare the element with the CDA R2 schema (POCD_MT000040): element order, required "
         "attributes and datatypes; the line and column point at the offending element.",
    source="HL7 CDA R2 schema with ANS French extensions (infrastructure/cda/CDA_extended.xsd)",
)
XSD_LOAD_RULE = Rule(
    "XSD-002", LAYER, "The CDA schema of the pack cannot be loaded: {detail}",
    "Le schéma CDA du pack ne peut pas être chargé : {detail}",
    hint="Check the pack directory (infrastructure/cda/ must be complete).", source="project policy",
)
rules.register(XSD_RULE, XSD_LOAD_RULE)


class SchemaLoadError(RuntimeError):
    pass


class _LocalOnly(etree.Resolver):
    """Resolve schema includes from the pack directory; refuse everything else."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root.resolve()

    def resolve(self, system_url, public_id, context):
        if system_url and "://" in system_url and not system_url.startswith("file:"):
            raise SchemaLoadError(f"schema refers to a remote resource {system_url}; "
                                  f"only local files are loaded")
        path = Path(system_url.removeprefix("file://")) if system_url else None
        if path is not None and path.is_file() and not path.resolve().is_relative_to(self.root):
            raise SchemaLoadError(f"schema refers to {path}, outside the pack directory {self.root}")
        return None  # default local resolution


_SCHEMAS: dict[Path, etree.XMLSchema] = {}
_LOCK = threading.Lock()


def load_schema(xsd: Path) -> etree.XMLSchema:
    """The compiled schema for a pack's ``CDA_extended.xsd`` (cached per process)."""
    xsd = xsd.resolve()
    with _LOCK:
        schema = _SCHEMAS.get(xsd)
        if schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
            parser.resolvers.add(_LocalOnly(xsd.parent.parent))
            try:
                schema = etree.XMLSchema(etree.parse(str(xsd), parser))
            except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError, SchemaLoadError) as exc:
                raise SchemaLoadError(str(exc)) from None
            _SCHEMAS[xsd] = schema
    return schema


_NS_IN_MESSAGE = re.compile(r"\{urn:hl7-org:v3\}")


def _message(text: str) -> str:
    """lxml prints ``{urn:hl7-org:v3}name``; developers read ``cda:name``."""
    return _NS_IN_MESSAGE.sub("cda:", text)


def check(tree: etree._ElementTree, locator: Locator, schema: etree.XMLSchema,
          lang: str = "en") -> list[Finding]:
    """XSD findings with the line, column and XPath of the offending element."""
    # XMLSchema objects are not safe to use from several threads at once.
    with _LOCK:
        schema.validate(tree)
        log = list(schema.error_log)
    findings = []
    lines = _elements_by_line(tree) if log else {}
    for entry in log:
        element = _element_for(entry, tree, lines)
        line, column, xpath = entry.line, None, None
        if element is not None:
            line, column = locator.position(element)
            xpath = locator.xpath(element)
        elif entry.path:
            xpath = entry.path
        findings.append(Finding(rule=XSD_RULE.id, severity=XSD_RULE.severity, layer=LAYER,
                                message=_message(entry.message), line=line or entry.line, column=column,
                                xpath=xpath, hint=XSD_RULE.hint,
                                extra={"xsd_error": entry.type_name}))
    return findings


def _elements_by_line(tree: etree._ElementTree) -> dict[int, list[etree._Element]]:
    lines: dict[int, list[etree._Element]] = {}
    for element in tree.getroot().iter(etree.Element):
        lines.setdefault(element.sourceline, []).append(element)
    return lines


_ELEMENT_NAME = re.compile(r"Element '(?:\{([^}]*)\})?([^']+)'")


def _element_for(entry, tree, lines) -> etree._Element | None:
    """The element an error is about: its path from libxml2 when that resolves, else by line and name."""
    if entry.path:
        try:
            found = tree.xpath(entry.path)
        except etree.XPathError:
            found = []
        if len(found) == 1 and isinstance(found[0], etree._Element):
            return found[0]
    candidates = lines.get(entry.line, [])
    match = _ELEMENT_NAME.search(entry.message)
    if match:
        namespace, local = match.groups()
        local = local.split("'")[0]
        named = [e for e in candidates if etree.QName(e).localname == local
                 and (namespace is None or etree.QName(e).namespace == namespace)]
        if named:
            return named[0]
    return candidates[0] if len(candidates) == 1 else None
