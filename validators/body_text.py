"""The text of a base64 element (an N1 body) as ASCII bytes, read once for the layers that need it.

Two layers read the megabyte of base64 an N1 document carries: the Schematron layer, to hand the packs
a placeholder instead (`schematron.body`), and the Ségur body rules, to decode the PDF
(`segur_rules.body`). Each read is lxml building a new string of the text (``.text``) and its encoding
to bytes: ~1.3 ms of CPU for a 1 MB PDF in a server, where the memory is not in the cache (measured
with `benchmarks/dmp_profile.py`). The bytes of the last few elements are kept, keyed by the identity of
the element object (held here, so that lxml hands the same proxy object back to the next layer), as the
Schematron runtime keeps Saxon's tree of the last documents. Only ASCII text is kept (the usual base64
body); anything else is None and each layer reads ``.text`` itself, as before.
"""

from __future__ import annotations

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
