"""Where an element is in the user's file: line, column and a readable XPath.

lxml only knows the line of an element (``sourceline``). Developers fixing a CDA document want
the column too, so the locator runs a second, safe expat pass over the same bytes that records
the position of every start tag in document order. Expat reports, inside a start-element
callback, the position of the tag's ``<`` (line 1-based, column 0-based counted in characters),
and visits elements in the same order as lxml's ``tree.iter()`` restricted to elements; the
n-th start tag expat sees is therefore the n-th element of the tree. That index is also how the
Schematron engine reports a context node (``node_index``).

The expat pass is lazy (it only runs when a position is first asked for), so a valid document
pays nothing. It is safe: the bytes were already accepted by the safe parser (no DOCTYPE), and
the pass refuses DTDs and external entities anyway.

A `Locator` belongs to one document and one validation; it is not meant to be shared between
threads while it initialises (build one per document, which is what `validate()` does).
"""

from __future__ import annotations

import pyexpat

from lxml import etree

# Prefixes used in the XPaths we print. `cda` is the HL7 v3 namespace of every CDA element;
# the others are the extension namespaces that CDA_extended.xsd imports (see
# ../shared/ref/cda/infrastructure/cda/: sdtc, IHE lab, IHE pharmacy).
NAMESPACES: dict[str, str] = {
    "cda": "urn:hl7-org:v3",
    "sdtc": "urn:hl7-org:sdtc",
    "lab": "urn:oid:1.3.6.1.4.1.19376.1.3.2",
    "pharm": "urn:ihe:pharm:medication",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_PREFIX_OF = {uri: prefix for prefix, uri in NAMESPACES.items()}


class _Refused(Exception):
    """Raised from an expat handler to stop a pass over content we will not process."""


class Locator:
    """Maps elements of one parsed document to their place in the bytes the user gave."""

    def __init__(self, document_bytes: bytes, tree: etree._ElementTree | etree._Element):
        self._bytes = document_bytes
        self._root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        self._elements: list[etree._Element] | None = None
        self._index_of: dict[etree._Element, int] | None = None
        self._positions: list[tuple[int, int]] | None = None

    # -- element <-> index -------------------------------------------------------------------
    def _ensure_index(self) -> None:
        if self._elements is None:
            # Holding the proxies keeps their identity stable, so the dict lookups stay valid.
            self._elements = list(self._root.iter(etree.Element))
            self._index_of = {el: i for i, el in enumerate(self._elements)}

    def element_at(self, index: int) -> etree._Element:
        """The element at a 0-based document-order index (elements only)."""
        self._ensure_index()
        if index < 0 or index >= len(self._elements):
            raise IndexError(f"no element at index {index} (document has {len(self._elements)})")
        return self._elements[index]

    def index_of(self, element: etree._Element) -> int | None:
        """The 0-based document-order index of an element, or None if it is not in this tree."""
        self._ensure_index()
        return self._index_of.get(element)

    # -- positions ---------------------------------------------------------------------------
    def _ensure_positions(self) -> None:
        if self._positions is not None:
            return
        self._ensure_index()
        positions = _start_tag_positions(self._bytes)
        # If the two parsers disagree on the element count (they should not), columns are not
        # trustworthy: fall back to lxml's lines only.
        self._positions = positions if positions is not None and len(positions) == len(self._elements) else []

    def position(self, element: etree._Element) -> tuple[int | None, int | None]:
        """(line, column), 1-based, of the element's start tag ``<`` in the user's file.

        The column is None when it cannot be computed; the line then comes from lxml.
        """
        index = self.index_of(element)
        if index is None:
            return (getattr(element, "sourceline", None), None)
        return self.position_of_index(index)

    def position_of_index(self, index: int) -> tuple[int | None, int | None]:
        """(line, column), 1-based, of the element at a document-order index."""
        element = self.element_at(index)
        self._ensure_positions()
        if self._positions:
            return self._positions[index]
        return (element.sourceline, None)

    # -- xpath -------------------------------------------------------------------------------
    def xpath(self, element: etree._Element) -> str:
        """A readable prefixed XPath, e.g. ``/cda:ClinicalDocument/cda:recordTarget[1]/cda:patientRole[1]``.

        Every step below the root carries its position among same-named siblings, so the path
        selects exactly one element (prefixes are those of `NAMESPACES`).
        """
        steps = []
        node = element
        while node is not None:
            parent = node.getparent()
            name = _step_name(node)
            if parent is None:
                steps.append(name)
            else:
                position = 1
                for sibling in node.itersiblings(preceding=True):
                    if sibling.tag == node.tag:
                        position += 1
                steps.append(f"{name}[{position}]")
            node = parent
        return "/" + "/".join(reversed(steps))

    def xpath_of_index(self, index: int) -> str:
        return self.xpath(self.element_at(index))

    def locate(self, element: etree._Element) -> dict:
        """``{"line", "column", "xpath"}`` for an element: the keywords `Rule.finding()` takes."""
        line, column = self.position(element)
        return {"line": line, "column": column, "xpath": self.xpath(element)}


def _step_name(element: etree._Element) -> str:
    if not isinstance(element.tag, str):  # comment or processing instruction
        return "node()"
    qname = etree.QName(element)
    if qname.namespace is None:
        return qname.localname
    prefix = _PREFIX_OF.get(qname.namespace)
    return f"{prefix}:{qname.localname}" if prefix else f"Q{{{qname.namespace}}}{qname.localname}"


def _start_tag_positions(document: bytes) -> list[tuple[int, int]] | None:
    """Positions (line, 1-based column) of every start tag, in document order; None if expat fails.

    Safe by construction: a DOCTYPE, an entity declaration or an external entity stops the pass.
    """
    parser = pyexpat.ParserCreate()
    positions: list[tuple[int, int]] = []
    append = positions.append
    # Expat counts a byte-order mark as a column of the first line; an editor does not.
    bom = 1 if document.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) else 0

    def start(name, attrs):
        line = parser.CurrentLineNumber
        append((line, parser.CurrentColumnNumber + 1 - (bom if line == 1 else 0)))

    def refuse(*args):
        raise _Refused()

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    # Attribute values are not needed; skipping their dict construction keeps the pass cheap.
    parser.ordered_attributes = True
    try:
        parser.Parse(document, True)
    except (pyexpat.ExpatError, _Refused, ValueError):
        return None
    return positions
