"""The Ségur body rules decode the N1 base64 through a fast path for ASCII text (no split/join of a
megabyte string): exactly the old acceptance and the same findings, for every shape of body text."""

from __future__ import annotations

import base64

import pytest

from segur.validators.segur_rules import body
from segur.validators.segur_rules.context import Document

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
B64 = base64.b64encode(PDF).decode("ascii")


def old_decode(text: str) -> bytes | None:
    """The decoding before the fast path: drop every whitespace (str.split), strict base64."""
    payload = "".join(text.split())
    if not payload:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        return None


class _Element:
    tag = "{urn:hl7-org:v3}text"

    def __init__(self, text):
        self.text = text


def decode(text: str | None) -> tuple[bytes | None, list[str]]:
    doc = Document.__new__(Document)
    doc.findings = []
    doc.report = lambda rule, element, **context: doc.findings.append((rule.id, str(context.get("problem"))))
    return body._decode(doc, _Element(text), body.N1_BODY), doc.findings


CASES = {
    "one line": B64,
    "wrapped at 76 columns": "\n".join(B64[i:i + 76] for i in range(0, len(B64), 76)),
    "CRLF and indentation":
        "\r\n    " + "\r\n    ".join(B64[i:i + 64] for i in range(0, len(B64), 64)) + "\r\n  ",
    "tabs and spaces inside": B64[:100] + " \t " + B64[100:],
    "a non-breaking space inside (str.split drops it)": B64[:100] + "\u00a0" + B64[100:],
    "a character outside the alphabet": B64[:100] + "*" + B64[100:],
    "a non-ASCII letter": B64[:100] + "é" + B64[100:],
    "missing padding": B64.rstrip("=")[:-1],
    "data after the padding": B64 + "AAAA" if B64.endswith("=") else B64 + "=AAA",
    "url-safe alphabet": B64.replace("+", "-").replace("/", "_"),
    "empty": "",
    "whitespace only": " \n\t ",
    "no text": None,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fast_decoding_accepts_exactly_what_the_old_one_did(case):
    text = CASES[case]
    decoded, findings = decode(text)
    assert decoded == old_decode(text or "")
    assert (decoded is None) == bool(findings)
    assert all(rule == "SEGUR-BODY-002" for rule, _ in findings)


@pytest.mark.parametrize("case, problem", [
    ("a character outside the alphabet", "character '*' is not in the base64 alphabet"),
    ("a non-ASCII letter", "character 'é' is not in the base64 alphabet"),
    ("missing padding", "incorrect padding or length"),
    ("empty", "element is empty"),
    ("whitespace only", "element is empty"),
])
def test_a_body_that_does_not_decode_is_reported_with_the_same_reason(case, problem):
    _, findings = decode(CASES[case])
    assert len(findings) == 1 and problem in findings[0][1]


def test_the_usual_one_line_body_is_decoded_without_the_slow_path(monkeypatch):
    monkeypatch.setattr(body.base64, "b64decode", _count(body.base64.b64decode))
    decoded, _ = decode(B64)
    assert decoded == PDF and body.base64.b64decode.calls == [bytes]


def _count(function):
    def wrapper(payload, **kwargs):
        wrapper.calls.append(type(payload))
        return function(payload, **kwargs)
    wrapper.calls = []
    return wrapper
