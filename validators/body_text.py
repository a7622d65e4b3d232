"""The text of a base64 element (an N1 body) as ASCII bytes, read once for the layers that need it.

Two layers read the megabyte of base64 an N1 document carries: the Schematron layer, to hand the packs
a placeholder instead (`schematron.body`), and the Ségur body rules, to decode the PDF
(`segur_rules.body`). Each read is lxml building a new string of the text (``.text``) and its encoding
to bytes: ~1.3 ms of CPU for a 1 MB PDF in a server, where the memory is not in the cache (measured
with `benchmarks/dmp_profile.py`). The bytes of the last few elements are kept, keyed by the identity of
the element object (held here, so that lxml hands the same proxy object back to the next layer), as the
Schematron runtime keeps Saxon's tree of the last documents. Only ASCII text is kept (the usual base64
body); anything else is None and each layer reads ``.text`` itself, as before.

`read_from_source` spares even that read when the document's own bytes are at hand (the validator's
parse keeps them): the N1 body is the last content of a CDA (`</text></nonXMLBody></component>
</ClinicalDocument>`), so when those end tags and whitespace alone follow it and its span holds no markup,
character reference or CR, the span's bytes are the element's text as lxml reads it, and slicing them costs a
copy instead of a string build and its encoding (~1 ms for a 1 MB PDF, measured with
`benchmarks/dmp_profile.py`). Any other shape is left to `ascii_text`'s read of ``.text``.

`decode_base64` is the strict decoding of such text (``base64.b64decode("".join(text.split()),
validate=True)``) without splitting a megabyte string into lines and joining them again.
"""

from __future__ import annotations

import base64
import binascii
import threading

from lxml import etree

CDA = "{urn:hl7-org:v3}"
_AFTER_NAME = (b" ", b"\t", b"\n", b"\r", b">")  # what may follow a start tag's name
_TAIL_MAX = 512  # bytes after the body's end tag: its ancestors' end tags and whitespace
_KEEP = 2  # the documents of two threads validating at once (a server's usual worst case here)
_kept: list[tuple[object, bytes | None]] = []
_lock = threading.Lock()


def ascii_text(element) -> bytes | None:
    """``element.text`` encoded, when it is a non-empty ASCII string; None otherwise (no text, or some
    non-ASCII character: the caller reads ``.text`` and decides). Never mutate the element's text between
    two calls: the bytes are kept by identity of the element object."""
    with _lock:
        for known, data in _kept:
            if known is element:
                return data
    text = element.text  # lxml builds a new string on every .text: once here
    data = text.encode("ascii") if text and text.isascii() else None
    _keep(element, data)
    return data


def read_from_source(data: bytes, tree) -> None:
    """Keeps, for `ascii_text`, the text of the CDA's N1 body read from `data` (the bytes `tree` was parsed
    from) when the bytes provably are that text (see the module doc); does nothing otherwise."""
    root = tree.getroot()
    bodies = root.findall(f"{CDA}component/{CDA}nonXMLBody")
    texts = bodies[0].findall(f"{CDA}text") if len(bodies) == 1 else []
    if len(texts) != 1 or len(texts[0]):
        return
    element = texts[0]
    chain = (element, bodies[0], bodies[0].getparent(), root)
    span = _last_content_span(data, chain)
    if span is None:
        return
    start, end = span
    if data.find(b"&", start, end) >= 0 or data.find(b"\r", start, end) >= 0:
        return  # a character reference, or end-of-line handling: the parsed text differs from the bytes
    raw = data[start:end]
    if raw and raw.isascii():
        _keep(element, raw)


def _last_content_span(data: bytes, chain) -> tuple[int, int] | None:
    """Offsets of the content of `chain[0]` in `data` when nothing but whitespace and the end tags of the
    chain (the element, then its ancestors up to the root) follows it, and no markup is inside it."""
    names = [(f"{e.prefix}:" if e.prefix else "") + etree.QName(e).localname for e in chain]
    end = data.rfind(b"</" + names[0].encode("utf-8"))
    if end < 0 or len(data) - end > _TAIL_MAX:
        return None
    if b"".join(data[end:].split()) != "".join(f"</{name}>" for name in names).encode("utf-8"):
        return None  # something else follows (a comment, a processing instruction, another element)
    start = data.rfind(b">", 0, end) + 1
    tag = data.rfind(b"<", 0, start)
    qname = names[0].encode("utf-8")
    after = tag + 1 + len(qname)
    if tag < 0 or data[tag + 1:after] != qname or data[after:after + 1] not in _AFTER_NAME:
        return None
    if data[start - 2:start] == b"/>" or data.find(b"<", start, end) >= 0:
        return None
    return start, end


def _keep(element, data: bytes | None) -> None:
    with _lock:
        _kept.insert(0, (element, data))
        del _kept[_KEEP:]


#: What ``str.split()`` drops from ASCII text (XML 1.0 allows only the first four in content).
ASCII_WHITESPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def decode_base64(raw: bytes) -> bytes | None:
    """``base64.b64decode("".join(text.split()), validate=True)`` for an ASCII `text` given as its bytes
    `raw` (`ascii_text`): the same strict decoding of the same characters, its whitespace removed by one
    ``translate`` (and not at all for a body on one line, the usual case). None when it does not decode,
    or when nothing is left once the whitespace is removed: the caller says why, or decodes the old way."""
    try:
        return base64.b64decode(raw, validate=True)  # one line without whitespace: the usual case
    except (binascii.Error, ValueError):
        pass
    stripped = raw.translate(None, ASCII_WHITESPACE)
    if not stripped or len(stripped) == len(raw):
        return None
    try:
        return base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return None
