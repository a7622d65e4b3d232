"""pymap parses every appended message the same with the mock's faster line loops (`imap_parse`).

The structure pymap builds (`MessageContent.json`: header lines and folded headers, body lines,
nested parts) is compared with pymap's own implementation on messages made of the lines that
matter to it: boundaries at several depths (closed, unclosed, with trailing text), CRLF, bare LF
and bare CR line ends, blank lines, message/rfc822 parts, a last line without line end.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymap.mime import MessageBody, MessageContent

from segur.mocks.mssante import imap_parse


def _parse_with_pymaps_own(monkeypatch, raw: bytes):
    with monkeypatch.context() as patch:
        patch.setattr(MessageContent, "_find_lines", imap_parse.ORIGINALS["find_lines"])
        patch.setattr(MessageBody, "_find_parts", imap_parse.ORIGINALS["find_parts"])
        return MessageContent.parse(raw).json


LINES = [b"--b1", b"--b1--", b"--b1 x", b"--b1--x", b"--b2", b"--b2--", b"", b"Content-Type: text/plain",
         b"Content-Type: message/rfc822", b"Content-Type: multipart/mixed; boundary=b2", b"Subject: x",
         b"\tfolded", b"QUJDRA==", b"a\rb", b"--", b"x--b1"]
ENDS = [b"\r\n", b"\n", b"\r\n", b"\r"]
messages = st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from(ENDS)), max_size=40).map(
    lambda pairs: b"Subject: t\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
                  + b"".join(line + end for line, end in pairs))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=messages, cut=st.integers(min_value=0, max_value=3))
def test_the_fast_line_loops_build_pymaps_structure(monkeypatch, raw, cut):
    imap_parse.install()
    raw = raw[:len(raw) - cut]
    assert MessageContent.parse(raw).json == _parse_with_pymaps_own(monkeypatch, raw)


@pytest.mark.parametrize("data", [b"", b"\n", b"a", b"a\r\n", b"\r\n\r\n", b"a\rb\nc\r", b"x\r", b"\r",
                                  b"\n\n\r\n"])
def test_line_tuples_of_edge_cases(data):
    assert imap_parse.find_lines(data) == imap_parse.ORIGINALS["find_lines"](data)


def test_a_large_message_is_split_the_same(monkeypatch):
    part = b"--b1\r\nContent-Type: application/zip\r\n\r\n" + b"QUJD" * 19 + b"\r\n" * 2000
    head = b"Subject: t\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n"
    raw = head + part * 3 + b"--b1--\r\nend\r\n"
    imap_parse.install()
    assert MessageContent.parse(raw).json == _parse_with_pymaps_own(monkeypatch, raw)
