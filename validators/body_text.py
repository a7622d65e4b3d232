"""The text of a base64 element (an N1 body) as ASCII bytes, read once for the layers that need it.

Two layers read the megabyte of base64 an N1 document carries: the Schematron layer, to hand the packs
a placeholder instead (`schematron.body`), and the Ségur body rules, to decode the PDF
(`segur_rules.body`). Each read is lxml building a new string of the text (``.text``) and its encoding
to bytes: ~1.3 ms of CPU for a 1 MB PDF in a server, where the memory is not in the cache (measured
with `benchmarks/dmp_profile.py`). The bytes of the last few elements are kept, keyed by the identity of
the element object (held here, so that lxml hands the same proxy object back to the next layer), as the
Schematron runtime keeps Saxon's tree of the last documents. Only ASCII text is kept (the usual base64
body); anything else is None and each layer reads ``.text`` itself, as before.

`decode_base64` is the strict decoding of such text (``base64.b64decode("".join(text.split()),
validate=True)``) without splitting a megabyte string into lines and joining them again.
"""

from __future__ import annotations

import base64
import binascii
import threading

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
    with _lock:
        _kept.insert(0, (element, data))
        del _kept[_KEEP:]
    return data


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
