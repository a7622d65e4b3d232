"""The PDF a CDA carries, as the MSSanté checks read it (`cda._pdf_of`): decoded through the validator's
fast path for ASCII text, exactly what the plain ``"".join(text.split())`` + strict base64 gave."""

from __future__ import annotations

import base64
import binascii

import pytest
from lxml import etree

from segur.mocks.mssante import cda

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
B64 = base64.b64encode(PDF).decode("ascii")
TEXTS = {
    "one line": B64,
    "wrapped at 76 columns": "\n".join(B64[i:i + 76] for i in range(0, len(B64), 76)),
    "CRLF and indentation": "\r\n    " + "\r\n    ".join(B64[i:i + 64] for i in range(0, len(B64), 64)),
    "tabs and spaces inside": B64[:100] + " \t " + B64[100:],
    "a non-breaking space (non-ASCII)": B64[:100] + "\u00a0" + B64[100:],
    "a character outside the alphabet": B64[:100] + "*" + B64[100:],
    "missing padding": B64.rstrip("=")[:-1],
    "data after the padding": B64 + "AAAA" if B64.endswith("=") else B64 + "=AAA",
    "whitespace only": " \n ",
    "empty": "",
}


def _old(text: str | None) -> bytes | None:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _element(text: str) -> etree._Element:
    element = etree.Element("{urn:hl7-org:v3}text", mediaType="application/pdf", representation="B64")
    element.text = text or None
    return element


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_the_embedded_pdf_is_what_the_plain_decoding_gave(case):
    text = TEXTS[case]
    assert cda._pdf_of(_element(text)) == _old(text)


def test_a_body_that_is_not_a_base64_pdf_gives_none():
    element = _element(B64)
    element.set("representation", "TXT")
    assert cda._pdf_of(element) is None and cda._pdf_of(None) is None
    assert cda._pdf_of(_element(B64)) == PDF
