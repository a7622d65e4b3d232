"""Safe parsing of an untrusted document: the `xml` layer.

A document handed to the harness may come from anyone (a DMP submission, an MSSanté
attachment), so parsing it must never read a file, open a socket, expand entities or take
unbounded time or memory. The defences, in order:

1. a size limit, checked before the bytes are read in full;
2. an expat pass over the prolog only (stops at the first element): any entity declaration
   (billion laughs, XXE) or external DTD is refused before anything is expanded or loaded;
3. lxml with ``resolve_entities=False, load_dtd=False, no_network=True`` and libxml2's default
   limits (``huge_tree=False``: 256 levels, 10,000,000 bytes per text node); as a second line of
   defence any DOCTYPE or entity node that reached the tree is refused.
4. a document refused only because one text node or attribute value is over libxml2's default
   10 MB (a CR-IMG N1 with a PDF above ~7 MB: its base64 is one text node) is parsed again in
   libxml2's large-document mode (``huge_tree=True``), and the project's own limits stay the
   defence: the size limit (1), no entities (2, 3), and the depth limit of 256 levels checked on
   the tree, since the large mode would allow 2048. A document over libxml2's hard limits even
   then (1,000,000,000 bytes per node) is ``XML-009``, which names the limit.

Each refusal is a finding of layer ``xml`` with a stable rule id; such a document is
*unreadable* (exit code 2), never a traceback.
"""

from __future__ import annotations

import os
import pyexpat
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from segur.kernel import rules
from segur.kernel.findings import Finding
from segur.kernel.rules import Rule

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
MAX_DEPTH = 256  # libxml2's default, kept when the large-document mode is used

LAYER = "xml"
_SRC = "OWASP XML External Entity Prevention Cheat Sheet; W3C XML 1.0 §2.8 (DTD), §4 (entities)"

XML_RULES = {
    rule.id: rule
    for rule in (
        Rule("XML-001", LAYER, "The document is not well-formed XML: {detail}",
             "Le document n'est pas un XML bien formé : {detail}",
             hint="Fix the XML syntax at the line and column given (unclosed tag, bad character, "
                  "wrong encoding).",
             source="W3C XML 1.0 §2.1"),
        Rule("XML-002", LAYER,
             "The document is {size} bytes, over the {limit}-byte limit; it was not parsed.",
             "Le document fait {size} octets, au-delà de la limite de {limit} octets ; "
             "il n'a pas été analysé.",
             hint="A CDA document is normally well under a few MB; raise the limit with --max-size if it is "
                  "legitimate.",
             source="project policy (issue 3: default limit 50 MB)"),
        Rule("XML-003", LAYER, "The document declares the entity '{name}'; entity declarations are refused "
             "(entity expansion, 'billion laughs').",
             "Le document déclare l'entité « {name} » ; les déclarations d'entités sont refusées "
             "(expansion d'entités, « billion laughs »).",
             hint="Remove the DOCTYPE and its entity declarations; a CDA document needs no DTD.",
             source=_SRC),
        Rule("XML-004", LAYER, "The document refers to an external resource '{target}' "
             "(external DTD or external entity, XXE); it is never loaded.",
             "Le document fait référence à une ressource externe « {target} » (DTD ou entité externe, XXE) ; "
             "elle n'est jamais chargée.",
             hint="Remove the DOCTYPE: CDA documents are validated against the CDA XSD, never a DTD.",
             source=_SRC),
        Rule("XML-005", LAYER,
             "The document carries a DOCTYPE with an internal DTD subset; DTDs are refused.",
             "Le document porte une DOCTYPE avec un sous-ensemble DTD interne ; les DTD sont refusées.",
             hint="Remove the DOCTYPE declaration; a CDA document needs no DTD.", source=_SRC),
        Rule("XML-006", LAYER, "The document nests elements too deeply to be processed safely: {detail}",
             "Le document imbrique les éléments trop profondément pour être traité sans risque : {detail}",
             hint=f"The limit is {MAX_DEPTH} levels and cannot be changed: a CDA document nests a few dozen "
                  "levels at most; check the generator.",
             source="libxml2 default depth limit"),
        Rule("XML-007", LAYER, "The input cannot be read: {detail}",
             "L'entrée ne peut pas être lue : {detail}",
             hint="Check the path and the file permissions.", source="project policy"),
        Rule("XML-008", LAYER, "The document is empty.", "Le document est vide.",
             hint="The file has no content; check that the export wrote the document.",
             source="W3C XML 1.0 §2.1"),
        Rule("XML-009", LAYER, "The document exceeds a hard limit of the XML parser "
             "(libxml2, large-document mode: 1,000,000,000 bytes per text node, attribute value or name): "
             "{detail}",
             "Le document dépasse une limite absolue de l'analyseur XML (libxml2, mode grands documents : "
             "1 000 000 000 octets par nœud texte, valeur d'attribut ou nom) : {detail}",
             hint="This limit cannot be raised (--max-size only bounds the file size): "
                  "no CDA document needs a node this large; reduce the embedded file.",
             source="libxml2 XML_MAX_HUGE_LENGTH"),
    )
}
rules.register(*XML_RULES.values())


def xml_finding(rule_id: str, lang: str = "en", **context) -> Finding:
    """A finding of one of the xml rules, with its message in the requested language."""
    rule = XML_RULES[rule_id]
    where = {k: context.pop(k) for k in ("line", "column", "xpath") if k in context}
    return Finding(rule=rule.id, severity=rule.severity, layer=LAYER, message=rule.message(lang, **context),
                   hint=rule.hint or None, extra={"params": {k: str(v) for k, v in context.items()}}, **where)


@dataclass
class ParsedDocument:
    """A document that passed the safe parser: its exact bytes and its lxml tree."""

    name: str
    data: bytes
    tree: etree._ElementTree
    size: int


@dataclass
class UnreadableDocument(Exception):
    """The document was refused or could not be parsed; `findings` says why."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    size: int | None = None

    def __str__(self) -> str:
        return "; ".join(f"{f.rule}: {f.message}" for f in self.findings)


def read_source(document, max_size: int = DEFAULT_MAX_SIZE, name: str | None = None,
                lang: str = "en") -> tuple[str, bytes]:
    """Bytes of a document given as a path, bytes or str, never reading more than `max_size` + 1 bytes."""
    if isinstance(document, bytes | bytearray | memoryview):
        data = bytes(document)
        label = name or "<bytes>"
    elif isinstance(document, str) and document.lstrip().startswith("<"):
        data = _encode_text(document)
        label = name or "<string>"
    elif isinstance(document, str | os.PathLike):
        path = Path(document)
        label = name or str(path)
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a directory")
            if size > max_size:
                raise _unreadable(label, size, "XML-002", lang, size=size, limit=max_size)
            with path.open("rb") as handle:
                data = handle.read(max_size + 1)
        except UnreadableDocument:
            raise
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise _unreadable(label, None, "XML-007", lang, detail=f"{path}: {detail}") from None
    else:
        raise TypeError(f"document must be a path, bytes or str, not {type(document).__name__}")
    if len(data) > max_size:
        raise _unreadable(label, len(data), "XML-002", lang, size=len(data), limit=max_size)
    return label, data


_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _encode_text(text: str) -> bytes:
    """Encode XML given as text in the encoding its declaration names (UTF-8 when none or unknown)."""
    match = _DECLARED_ENCODING.match(text)
    if match:
        try:
            return text.encode(match.group(1))
        except (LookupError, UnicodeEncodeError):
            pass
    return text.encode("utf-8")


class _PrologDone(Exception):
    pass


class _Refused(Exception):
    def __init__(self, finding: Finding):
        self.finding = finding


def _check_prolog(data: bytes, lang: str) -> None:
    """Refuse DTDs and entity declarations before any parser acts on them (expat, prolog only)."""
    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)

    def where() -> dict:
        line = parser.CurrentLineNumber
        return {"line": line, "column": parser.CurrentColumnNumber + 1 - (_bom(data) if line == 1 else 0)}

    def on_doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            raise _Refused(xml_finding("XML-004", lang, target=system_id or public_id, **where()))
        if has_internal_subset:
            # Entity declarations inside the subset are reported more precisely by on_entity;
            # remember the place and decide at the end of the subset.
            state["doctype"] = where()

    def on_doctype_end():
        if "doctype" in state:
            raise _Refused(xml_finding("XML-005", lang, **state["doctype"]))

    def on_entity(name, is_parameter, value, base, system_id, public_id, notation):
        label = f"%{name}" if is_parameter else name
        if system_id or public_id:
            target = f"{label} → {system_id or public_id}"
            raise _Refused(xml_finding("XML-004", lang, target=target, **where()))
        raise _Refused(xml_finding("XML-003", lang, name=label, **where()))

    def on_external(context, base, system_id, public_id):
        raise _Refused(xml_finding("XML-004", lang, target=system_id or public_id or "?", **where()))

    def on_start(name, attrs):
        raise _PrologDone()

    state: dict = {}
    parser.StartDoctypeDeclHandler = on_doctype
    parser.EndDoctypeDeclHandler = on_doctype_end
    parser.EntityDeclHandler = on_entity
    parser.ExternalEntityRefHandler = on_external
    parser.StartElementHandler = on_start
    try:
        parser.Parse(data, True)
    except (_PrologDone, pyexpat.ExpatError, ValueError):
        # Prolog accepted, or a syntax/encoding problem that lxml will report with more detail.
        return
    except _Refused as refused:
        raise UnreadableDocument("", [refused.finding]) from None


def _parser(huge: bool = False) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False,
                           huge_tree=huge, collect_ids=False, remove_comments=False)


def _first_error(parser: etree.XMLParser):
    errors = parser.error_log.filter_from_errors()
    return errors[0] if errors else None


def _is_node_size_limit(parser: etree.XMLParser) -> bool:
    """libxml2 refused a node over its default 10 MB (not the depth, which keeps its limit)."""
    entry = _first_error(parser)
    return entry is not None and entry.type_name == "ERR_RESOURCE_LIMIT" and "depth" not in entry.message


def _depth_over(root: etree._Element, limit: int = MAX_DEPTH) -> etree._Element | None:
    """The first element nested deeper than `limit` levels, else None (one walk, no recursion)."""
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > limit:
            return element
    return None


def _depth_finding(lang: str, line: int | None) -> Finding:
    return xml_finding("XML-006", lang, detail=f"more than {MAX_DEPTH} levels", line=line)


def _lxml_tree(label: str, data: bytes, lang: str) -> etree._ElementTree:
    """Parse with libxml2's default limits; again in large-document mode when only a node's size
    was refused, then holding the document to the project's depth limit."""
    parser = _parser()
    try:
        return etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        if not _is_node_size_limit(parser):
            raise UnreadableDocument(label, [_syntax_finding(exc, parser, data, lang)], len(data)) from None
    huge = _parser(huge=True)
    try:
        root = etree.fromstring(data, huge)
    except etree.XMLSyntaxError as exc:
        finding = _syntax_finding(exc, huge, data, lang)
        if _is_node_size_limit(huge):
            finding = xml_finding("XML-009", lang, detail=_first_error(huge).message, line=finding.line,
                                  column=finding.column)
        raise UnreadableDocument(label, [finding], len(data)) from None
    deep = _depth_over(root)
    if deep is not None:
        raise UnreadableDocument(label, [_depth_finding(lang, deep.sourceline)], len(data))
    return etree.ElementTree(root)


def _syntax_finding(exc: etree.XMLSyntaxError, parser: etree.XMLParser, data: bytes, lang: str) -> Finding:
    # The parser's own log holds this parse's errors only; the first one is the cause.
    errors = parser.error_log.filter_from_errors()
    entry = errors[0] if errors else None
    message = entry.message if entry is not None else str(exc)
    line = entry.line if entry is not None else (exc.position[0] if exc.position else None)
    column = entry.column if entry is not None else None
    if "Excessive depth" in message or "Maximum depth" in message:
        return _depth_finding(lang, line)
    # libxml2 columns count bytes and point past the offending token; expat reports the start of
    # the faulty construct in characters. Prefer expat's position when both agree on the line.
    expat_line, expat_column = _expat_error_position(data)
    if expat_line is not None and (line is None or expat_line == line):
        line, column = expat_line, expat_column
    return xml_finding("XML-001", lang, detail=message, line=line, column=column)


def _bom(data: bytes) -> int:
    """1 when the bytes start with a byte-order mark, which expat counts as a column and editors do not."""
    return 1 if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) else 0


def _expat_error_position(data: bytes) -> tuple[int | None, int | None]:
    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        return exc.lineno, exc.offset + 1 - (_bom(data) if exc.lineno == 1 else 0)
    except ValueError:
        pass
    return None, None


def _unreadable(label: str, read: int | None, rule_id: str, lang: str, /, **context) -> UnreadableDocument:
    """The refusal of a document of `read` bytes, for one reason (`context` fills the rule's message)."""
    return UnreadableDocument(label, [xml_finding(rule_id, lang, **context)], read)


def parse(document, max_size: int = DEFAULT_MAX_SIZE, name: str | None = None,
          lang: str = "en") -> ParsedDocument:
    """Read and safely parse a document; raises `UnreadableDocument` with findings when it cannot."""
    label, data = read_source(document, max_size=max_size, name=name, lang=lang)
    if not data.strip():
        raise UnreadableDocument(label, [xml_finding("XML-008", lang)], len(data))
    try:
        _check_prolog(data, lang)
    except UnreadableDocument as refused:
        refused.name, refused.size = label, len(data)
        raise
    try:
        tree = _lxml_tree(label, data, lang)
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise UnreadableDocument(label, [xml_finding("XML-001", lang, detail=str(exc))], len(data)) from None
    docinfo = tree.docinfo
    # Second line of defence: the expat prolog pass could not read this encoding, so check the tree.
    if docinfo.system_url or docinfo.public_id:
        target = docinfo.system_url or docinfo.public_id
        raise _unreadable(label, len(data), "XML-004", lang, target=target, line=1)
    if docinfo.internalDTD is not None:
        raise UnreadableDocument(label, [xml_finding("XML-005", lang, line=1)], len(data))
    for entity in tree.getroot().iter(etree.Entity):
        raise _unreadable(label, len(data), "XML-003", lang, name=entity.name, line=entity.sourceline)
    return ParsedDocument(name=label, data=data, tree=tree, size=len(data))
