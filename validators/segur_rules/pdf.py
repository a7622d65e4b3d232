"""Just enough PDF reading to tell a real, complete PDF from something else, and to see PDF/A.

Not a PDF parser: the checks are the ones a reviewer does by hand (header, end-of-file marker,
objects present) plus the PDF/A identification schema in the XMP metadata (ISO 19005-1 §6.7.11:
a PDF/A file declares ``pdfaid:part`` and ``pdfaid:conformance`` in its metadata stream, which
may be stored compressed).
"""

from __future__ import annotations

import re
import zlib

from segur.validators.segur_rules.context import T

HEADER = b"%PDF-"
EOF_MARKER = b"%%EOF"

#: Name tokens of encryption and active content (ISO 19005-1 §6.1.3 forbids /Encrypt in the
#: trailer, §6.6.1 JavaScript and Launch actions, §6.1.x embedded files). Only long names are
#: looked for, so that a chance match inside compressed binary streams is negligible.
_ACTIVE = re.compile(rb"/(JavaScript|Launch|EmbeddedFile|Encrypt)(?![A-Za-z])")
_PDFAID_PART = re.compile(rb"pdfaid:part\s*(?:=\s*[\"']|>)\s*([0-9]+)")
_STREAM = re.compile(rb"<<(?P<dict>(?:(?!>>\s*stream).){0,2000}?)>>\s*stream\r?\n", re.DOTALL)


def pdf_problem(data: bytes) -> T | None:
    """Why these bytes are not a complete PDF file, or None."""
    if not data:
        return T("the decoded content is empty", "le contenu décodé est vide")
    # ISO 32000-1 §7.5.2: the header is the file's first line. Viewers tolerate leading junk;
    # a document meant for the DMP should not rely on that.
    if not data.startswith(HEADER):
        return T(f"it does not start with the '%PDF-' header (it starts with {data[:8]!r})",
                 f"il ne commence pas par l'en-tête '%PDF-' (il commence par {data[:8]!r})")
    if EOF_MARKER not in data[-1024:]:
        return T("it has no '%%EOF' marker at its end (truncated file?)",
                 "il n'a pas de marqueur '%%EOF' à la fin (fichier tronqué ?)")
    if b" obj" not in data and b"\nobj" not in data:
        return T("it contains no PDF object", "il ne contient aucun objet PDF")
    return None


def pdfa_part(data: bytes) -> int | None:
    """The PDF/A part (1, 2, 3, 4) declared in the XMP metadata, or None when none is declared."""
    match = _PDFAID_PART.search(data)
    if match:
        return int(match.group(1))
    for stream in _STREAM.finditer(data):
        header = stream.group("dict")
        if b"/Metadata" not in header or b"/FlateDecode" not in header:
            continue
        start = stream.end()
        end = data.find(b"endstream", start)
        if end < 0:
            continue
        try:
            xmp = zlib.decompressobj().decompress(data[start:end], 1_000_000)
        except zlib.error:
            continue
        match = _PDFAID_PART.search(xmp)
        if match:
            return int(match.group(1))
    return None


def active_content(data: bytes) -> list[str]:
    """The kinds of encryption or active content a PDF declares (``Encrypt``, ``JavaScript``…), sorted."""
    return sorted({match.decode() for match in _ACTIVE.findall(data)})
