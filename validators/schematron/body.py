"""The document the Schematron layer sees: an N1 body's base64 text, or the base64 text of each
``observationMedia/value`` embedded in an N3 document, replaced by a short placeholder.

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

An N3 document carries its embedded files (a PDF copy of the report, images) in
``observationMedia/value`` (``representation="B64"``): 221 KB of the 344 KiB CR-IMG example, ~6.5 ms
of Saxon's tree. The audit of the packs for these (`schematron.audit`, run by the tests; docs/schematron.md)
finds no expression of the volet packs or the common pack that reads such a text or the string value of
an element containing it: the rules test the element, its attributes, and the media's ancestors for
existence and counts. `_media_spans` locates each one with the same guarantees as the N1 body (bytes
proved to be that element's whole content; see its doc); the placeholder keeps the element, its
attributes, a non-empty valid base64 text and every line break.

Disable both with ``SEGUR_SCHEMATRON_FULL_BODY=1`` (or ``Validator(schematron_full_body=True)``).
"""

from __future__ import annotations

from lxml import etree

from segur.validators.body_text import ascii_text

CDA_NS = "urn:hl7-org:v3"
MEDIA = f"{{{CDA_NS}}}observationMedia"
MEDIA_VALUE = f"{{{CDA_NS}}}value"
_AFTER_NAME = (b" ", b"\t", b"\n", b"\r", b">")  # what may follow an element name in a tag
PLACEHOLDER = b"AAAA"  # valid base64, non-empty
MIN_TEXT = 4096  # below this the tree costs nothing worth a substitution
_NOT_NEWLINE = bytes(b for b in range(256) if b not in (0x0A, 0x0D))


def schematron_view(data: bytes, tree: etree._ElementTree, *, media: bool = True) -> bytes:
    """`data` with the N1 body text (or, in an N3 document, each embedded ``observationMedia/value``
    base64 text when `media`) replaced by a placeholder, or `data` itself when it cannot be done safely
    (short or mixed content, bytes that do not match the parsed text)."""
    found = _n1_body_text(tree)
    if found is not None:
        span = _text_span(data, *found)
        spans = [span] if span is not None else []
    else:
        spans = _media_spans(data, tree) if media else []
    if not spans:
        return data
    pieces, done = [], 0
    for start, end in spans:
        pieces += (data[done:start], PLACEHOLDER, _line_breaks(data, start, end))
        done = end
    pieces.append(data[done:])
    return b"".join(pieces)


def _media_spans(data: bytes, tree: etree._ElementTree) -> list[tuple[int, int]]:
    """Byte offsets, in document order, of the text of each ``observationMedia/value`` that holds a long
    inline base64 text (``representation="B64"``, no child, the only ``value`` of its parent), each
    proved to be that element's content:

    - the bytes at the span are the text lxml parsed (ASCII, no ``<`` or ``&``; each ``\\n`` written
      ``\\r\\n`` in a CRLF document), found with ``find`` forward from the previous span; ``>``
      precedes them and ``</value`` (the element's qualified name) follows them, and a start tag
      ``<value …>`` (``rfind`` of ``<``, its name checked) opens them: no markup is inside;
    - the element's ``sourceline`` (libxml2 gives the line of the start tag's ``>``; its ``<`` is
      accepted too) is one of the lines that start tag spans, and no other ``<value`` is on those lines:
      a comment, CDATA section or processing instruction hiding a fake start tag would put the real one
      on the same lines, so the tag found is the element's own.

    A document with a CR that is not part of a CRLF is left whole; so is any element that fails a test
    (the others are still replaced)."""
    crlf = None  # whether the document's line breaks are CRLF, read at the first candidate only
    spans: list[tuple[int, int]] = []
    cursor, line = 0, 1  # `line` is the line number at `cursor`
    for element in tree.getroot().iter(MEDIA_VALUE):
        parent = element.getparent()
        if parent is None or parent.tag != MEDIA or len(element) or element.get("representation") != "B64":
            continue
        if len(parent.findall(MEDIA_VALUE)) != 1:
            continue  # two values: not a valid media, leave both
        text = element.text
        if not text or len(text) < MIN_TEXT or not text.isascii() or not element.sourceline:
            continue
        encoded = text.encode("ascii")
        if encoded.find(b"<") >= 0 or encoded.find(b"&") >= 0 or encoded.find(b"\r") >= 0:
            continue
        if crlf is None:
            crlf = data.find(b"\r") >= 0
            if crlf and data.count(b"\r") != data.count(b"\r\n"):
                return []  # a lone CR: XML end-of-line handling makes the parsed text differ otherwise
        if crlf:
            encoded = encoded.replace(b"\n", b"\r\n")
        qname = (f"{element.prefix}:value" if element.prefix else "value").encode("utf-8")
        found = _find_content(data, encoded, qname, cursor)
        if found is None:
            continue
        tag, start, end = found
        first = line + data.count(b"\n", cursor, tag)
        last = first + data.count(b"\n", tag, start)
        line_start = data.rfind(b"\n", 0, tag) + 1
        line_end = data.find(b"\n", start)
        line_end = len(data) if line_end < 0 else line_end
        alone = data.find(b"<" + qname, line_start, tag) < 0 and (
            line_end < end or data.find(b"<" + qname, end, line_end) < 0)
        if not first <= element.sourceline <= last or not alone:
            continue
        spans.append((start, end))
        cursor, line = end, last + data.count(b"\n", start, end)
    return spans


def _find_content(data: bytes, encoded: bytes, qname: bytes, cursor: int) -> tuple[int, int, int] | None:
    """``(start tag, content start, content end)`` of the first element named `qname` at or after
    `cursor` whose whole content is the bytes `encoded`; None if there is none."""
    probe = encoded[:64]
    start = data.find(probe, cursor)
    while start >= 0:
        end = start + len(encoded)
        after = end + 2 + len(qname)
        tag = data.rfind(b"<", cursor, start)
        name_end = tag + 1 + len(qname)
        closed = data.startswith(b"</" + qname, end) and data[after:after + 1] in _AFTER_NAME
        opened = tag >= 0 and data[tag + 1:name_end] == qname and data[name_end:name_end + 1] in _AFTER_NAME
        if data[start - 1:start] == b">" and closed and opened and data.startswith(encoded, start):
            return tag, start, end
        start = data.find(probe, start + 1)
    return None


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
