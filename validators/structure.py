"""The `structure` layer: the project's own checks of the CDA R2 header skeleton.

They run when no pack (hence no XSD) is available, so that a document is never judged by the
Ségur rules alone; with a pack the XSD checks the same things (and more), so only the root
check runs, as a gate for the layers after it. Cardinalities are those of
``POCD_MT000040.ClinicalDocument`` in the HL7 CDA R2 schema (ANS pack:
``infrastructure/cda/POCD_MT000040_extended_pharmacy.xsd``): typeId, id, code, effectiveTime,
confidentialityCode 1..1; recordTarget 1..*; author 1..*; custodian 1..1; component 1..1 with
exactly one of structuredBody / nonXMLBody.

The encoding check (``CDA-STRUCT-008``) runs with or without a pack: no XSD or Schematron sees
the encoding, and ANS requires UTF-8 ("L'encodage spécifié dans le prologue du document est
obligatoirement UTF-8", ANS IG document core, CDA general structure,
https://ansforge.github.io/IG-document-core/main/ig/ressourcesCDA-struc-gen.html).
"""

from __future__ import annotations

import re

from lxml import etree

from segur.kernel import rules
from segur.kernel.findings import Finding
from segur.kernel.rules import Rule
from segur.validators.locate import Locator

LAYER = "structure"
CDA_NS = "urn:hl7-org:v3"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
_ENCODING_SRC = ("ANS IG document core, CDA general structure, prologue "
                 "(https://ansforge.github.io/IG-document-core/main/ig/ressourcesCDA-struc-gen.html)")
_SRC = "HL7 CDA R2, POCD_MT000040.ClinicalDocument (infrastructure/cda/POCD_MT000040_extended_pharmacy.xsd)"

STRUCT_RULES = {
    rule.id: rule
    for rule in (
        Rule("CDA-STRUCT-001", LAYER,
             "The root element is {found}; a CDA document's root is ClinicalDocument in the namespace "
             "urn:hl7-org:v3.",
             "L'élément racine est {found} ; la racine d'un document CDA est ClinicalDocument dans l'espace "
             "de noms urn:hl7-org:v3.",
             hint='Start the document with <ClinicalDocument xmlns="urn:hl7-org:v3">.', source=_SRC),
        Rule("CDA-STRUCT-002", LAYER,
             'The document has no typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040".',
             'Le document n\'a pas de typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040".',
             hint='Add <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/> after realmCode.',
             source=_SRC),
        Rule("CDA-STRUCT-003", LAYER, "The document header has no {element} (required, {cardinality}).",
             "L'en-tête du document n'a pas d'élément {element} (obligatoire, {cardinality}).",
             hint="Add the {element} element at its place in the header (see the CDA R2 header order).",
             source=_SRC),
        Rule("CDA-STRUCT-004", LAYER,
             "The document has {count} {element} elements; CDA R2 allows exactly one.",
             "Le document a {count} éléments {element} ; CDA R2 en autorise exactement un.",
             hint="Keep a single {element}.", source=_SRC),
        Rule("CDA-STRUCT-005", LAYER,
             "The document component holds neither a structuredBody nor a nonXMLBody "
             "(exactly one is required).",
             "Le composant du document ne contient ni structuredBody ni nonXMLBody "
             "(exactement un est requis).",
             hint="An N1 document carries <nonXMLBody><text mediaType=\"application/pdf\" "
                  "representation=\"B64\">…</text></nonXMLBody>; an N3 document a structuredBody.",
             source=_SRC),
        Rule("CDA-STRUCT-007", LAYER,
             "The document is an XSLT stylesheet that embeds a ClinicalDocument at line {line} "
             "(a self-presenting document); the XSD, Schematron and Ségur layers did not run: "
             "they validate a document whose root is ClinicalDocument. "
             "Extract the embedded ClinicalDocument and validate it.",
             "Le document est une feuille de style XSLT qui embarque un ClinicalDocument en ligne {line} "
             "(document auto-présentable) ; les couches XSD, Schematron et Ségur n'ont pas été exécutées : "
             "elles valident un document dont la racine est ClinicalDocument. "
             "Extrayez le ClinicalDocument embarqué et validez-le.",
             hint="Copy the ClinicalDocument element of line {line} into a file of its own with its "
                  "namespace declarations, then validate that file, e.g. python3 -c \"import sys; "
                  "from lxml import etree; e = etree.parse(sys.argv[1]).xpath('//c:ClinicalDocument', "
                  "namespaces=dict(c='urn:hl7-org:v3'))[0]; sys.stdout.buffer.write(etree.tostring(e, "
                  "xml_declaration=True, encoding='UTF-8'))\" doc.xml > cda.xml && segur validate cda.xml. "
                  "To exchange the document, send the ClinicalDocument itself, "
                  "with at most an <?xml-stylesheet?> processing instruction for display.",
             source=_SRC),
        Rule("CDA-STRUCT-008", LAYER,
             "The document is encoded in {encoding}; ANS requires CDA documents to be encoded in UTF-8.",
             "Le document est encodé en {encoding} ; l'ANS impose l'encodage UTF-8 pour les documents CDA.",
             hint='Write the document in UTF-8 with the prologue <?xml version="1.0" encoding="UTF-8"?>: '
                  "re-encode the text, not only the declaration (e.g. iconv -f {encoding} -t UTF-8). A UTF-8 "
                  "byte-order mark is accepted; a document without declaration is UTF-8.",
             source=_ENCODING_SRC),
        Rule("CDA-STRUCT-006", LAYER, "recordTarget has no patientRole.",
             "recordTarget n'a pas de patientRole.",
             hint="Put the patient's identifiers and demographics in recordTarget/patientRole.", source=_SRC),
    )
}
rules.register(*STRUCT_RULES.values())


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _finding(rule_id: str, lang: str, where: dict | None = None, **context) -> Finding:
    rule = STRUCT_RULES[rule_id]
    return Finding(rule=rule.id, severity=rule.severity, layer=LAYER, message=rule.message(lang, **context),
                   hint=rule.hint.format_map(_Keep(context)) or None,
                   extra={"params": context}, **(where or {}))


_DECLARED = re.compile(rb"""^<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def document_encoding(data: bytes) -> str:
    """The encoding the bytes are in, as an XML parser determines it (XML 1.0 appendix F):
    byte-order mark, else the declaration, else UTF-8. (lxml's ``docinfo.encoding`` says UTF-8
    for a UTF-16 document without declaration, hence this.)"""
    if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        return "UTF-16"
    declared = _DECLARED.match(data.removeprefix(b"\xef\xbb\xbf"))
    return declared.group(1).decode("ascii") if declared else "UTF-8"


def check_encoding(data: bytes, lang: str = "en") -> list[Finding]:
    """ANS requires UTF-8 (``UTF8`` is accepted as a spelling of it)."""
    encoding = document_encoding(data)
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        return []
    return [_finding("CDA-STRUCT-008", lang, {"line": 1, "column": 1}, encoding=encoding)]


def check_root(tree: etree._ElementTree, locator: Locator, lang: str = "en") -> list[Finding]:
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.namespace == CDA_NS and qname.localname == "ClinicalDocument":
        return []
    if qname.namespace == XSL_NS:
        embedded = next(root.iter(f"{{{CDA_NS}}}ClinicalDocument"), None)
        if embedded is not None:
            where = locator.locate(embedded)
            return [_finding("CDA-STRUCT-007", lang, locator.locate(root), line=where["line"])]
    found = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
    return [_finding("CDA-STRUCT-001", lang, locator.locate(root), found=found)]


# (element, min, max) in header order; max None = unbounded.
_HEADER = (
    ("typeId", 1, 1), ("id", 1, 1), ("code", 1, 1), ("effectiveTime", 1, 1), ("confidentialityCode", 1, 1),
    ("recordTarget", 1, None), ("author", 1, None), ("custodian", 1, 1), ("component", 1, 1),
)


def check(tree: etree._ElementTree, locator: Locator, lang: str = "en") -> list[Finding]:
    """The full skeleton check (used when the XSD layer cannot run)."""
    findings = check_root(tree, locator, lang)
    if findings:
        return findings
    root = tree.getroot()
    root_where = locator.locate(root)
    for name, low, high in _HEADER:
        present = root.findall(f"{{{CDA_NS}}}{name}")
        cardinality = f"{low}..{'*' if high is None else high}"
        if len(present) < low:
            missing = _finding("CDA-STRUCT-003", lang, root_where, element=name, cardinality=cardinality)
            findings.append(missing)
        elif high is not None and len(present) > high:
            findings.append(_finding("CDA-STRUCT-004", lang, locator.locate(present[high]),
                                     element=name, count=len(present)))
    type_id = root.find(f"{{{CDA_NS}}}typeId")
    if type_id is not None and (type_id.get("root") != "2.16.840.1.113883.1.3"
                                or type_id.get("extension") != "POCD_HD000040"):
        findings.append(_finding("CDA-STRUCT-002", lang, locator.locate(type_id)))
    for target in root.findall(f"{{{CDA_NS}}}recordTarget"):
        if target.find(f"{{{CDA_NS}}}patientRole") is None:
            findings.append(_finding("CDA-STRUCT-006", lang, locator.locate(target)))
    component = root.find(f"{{{CDA_NS}}}component")
    if component is not None:
        bodies = [c for c in component if isinstance(c.tag, str)
                  and c.tag in (f"{{{CDA_NS}}}structuredBody", f"{{{CDA_NS}}}nonXMLBody")]
        if len(bodies) != 1:
            findings.append(_finding("CDA-STRUCT-005", lang, locator.locate(component)))
    return findings
