"""The document the Schematron layer sees: an N1 body's base64 text replaced by a short placeholder.

Saxon builds a tree of the whole document before a pack runs; for an N1 document most of it is
the base64 text of ``nonXMLBody/text`` (a 1 MB PDF: ~1.4 MB of text, ~10 ms of tree building in
the DMP server thread). No rule of the official packs reads that text's content: checked on the
59 volet packs, the common pack ``CI-SIS_ModelesDeContenusCDA`` and ``structurationMinimale``
(1,798 rules; no context matching ``nonXMLBody``, its ``text`` or an ancestor uses the string
value of that text, ``text()`` below it, ``string(/)`` or ``//text()``; no global ``let`` does; see
docs/schematron.md). A pack may test the element, its attributes or that it is not empty, so the
placeholder keeps the element, its attributes and a non-empty text.

The substitution only happens when it is provably the same element: the raw bytes between the
``<text …>`` start tag and its ``</text>`` end tag, found with ``rfind`` from the last
``nonXMLBody`` of the file, must decode to exactly the text lxml read (no child element, comment,
CDATA section or character reference in between); otherwise the document is handed unchanged.
The placeholder keeps every line break of the span, so everything after the body stays on the
same line (findings are located on the original document anyway, by element index). The XSD
and the Ségur rules always see the real document.

Disable it with ``SEGUR_SCHEMATRON_FULL_BODY=1`` (or ``Validator(schematron_full_body=True)``).
"""

from __future__ import annotations

from lxml import etree

from segur.validators.body_text import ascii_text

CDA_NS = "urn:hl7-org:v3"
PLACEHOLDER = b"AAAA"  # valid base64, non-empty
MIN_TEXT = 4096  # below this the tree costs nothing worth a substitution
_NOT_NEWLINE = bytes(b for b in range(256) if b not in (0x0A, 0x0D))


def schematron_view(data: bytes, tree: etree._ElementTree) -> bytes:
    """`data` with the N1 body text replaced by a placeholder, or `data` itself when it cannot be
    done safely (not N1, short or mixed content, bytes that do not match the parsed text)."""
    found = _n1_body_text(tree)
    if found is None:
        return data
    span = _text_span(data, *found)
    if span is None:
        return data
    start, end = span
    return b"".join((data[:start], PLACEHOLDER, _line_breaks(data, start, end), data[end:]))


def _line_breaks(data: bytes, start: int, end: int) -> bytes:
    """The CR and LF bytes of ``data[start:end]`` in their order. A body on one line (or a few) is
    the usual case: a few ``find`` calls (memchr) are ~20 times cheaper than ``count`` over 1 MB."""
    if data.find(b"\r", start, end) >= 0:
        return data[start:end].translate(None, _NOT_NEWLINE)
    count, position = 0, data.find(b"\n", start, end)
    while position >= 0 and count < 16:
        count += 1
        position = data.find(b"\n", position + 1, end)
    if position >= 0:  # many lines (base64 wrapped at 64 or 76 columns)
        count = data.count(b"\n", start, end)
    return b"\n" * count


def _n1_body_text(tree: etree._ElementTree) -> tuple[etree._Element, bytes] | None:
    """The ``component/nonXMLBody/text`` element of a CDA root and its text in UTF-8, when it holds only a
    long text. An ASCII text is read through `body_text.ascii_text`, which the Ségur body rules read
    again without a second copy of the megabyte."""
    root = tree.getroot()
    body = root.find(f"{{{CDA_NS}}}component/{{{CDA_NS}}}nonXMLBody")
    if body is None:
        return None
    found = body.findall(f"{{{CDA_NS}}}text")
    if len(found) != 1:
        return None
    element = found[0]
    if len(element):
        return None  # children: a reference, a comment, a processing instruction
    encoded = ascii_text(element)  # ASCII: as many characters as bytes
    if encoded is None:
        text = element.text
        if text is None or len(text) < MIN_TEXT:
            return None  # nothing worth replacing
        encoded = text.encode("utf-8")
    elif len(encoded) < MIN_TEXT:
        return None
    return element, encoded


def _text_span(data: bytes, element: etree._Element, encoded: bytes) -> tuple[int, int] | None:
    """Byte offsets of the element's content in `data`, verified against the parsed text (`encoded`: its
    UTF-8 bytes), compared in place when the span has no CR (no copy of the megabyte)."""
    qname = (f"{element.prefix}:text" if element.prefix else "text").encode("utf-8")  # prefix: any XML name
    body_end = data.rfind(b"nonXMLBody")
    end = data.rfind(b"</" + qname, 0, body_end)
    after_name = end + 2 + len(qname)
    if body_end < 0 or end < 0 or data[after_name:after_name + 1] not in (b">", b" ", b"\t", b"\n", b"\r"):
        return None
    start = data.rfind(b">", 0, end) + 1
    tag = data.rfind(b"<", 0, start)
    name_end = tag + 1 + len(qname)
    if tag < 0 or data[tag + 1:name_end] != qname or data[name_end] not in b" \t\r\n>":
        return None
    if data[start - 2:start] == b"/>":
        return None  # an empty element
    if data.find(b"\r", start, end) >= 0:  # XML end-of-line handling: the parsed text has \n for \r\n and \r
        raw = data[start:end].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        same = raw == encoded
    else:
        same = end - start == len(encoded) and data.startswith(encoded, start)
    if not same:
        return None  # a character reference, CDATA, other encoding or another element: leave it
    return start, end
