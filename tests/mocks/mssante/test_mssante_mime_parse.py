"""`checks.parse_bytes` (base64 runs set aside while parsing) gives the same message as the stdlib parser.

Same structure, headers, payloads, preambles, epilogues and defects — the defects are what the
MSS-MIME-MALFORMED rule reports, so any difference would change a verdict. Messages are built
from lines that matter to the stdlib's feed parser: boundaries (closed or not, nested), headers,
blank lines, continuation lines, bare CR and LF, message/rfc822 and message/delivery-status parts,
and runs of base64 lines (the ones set aside) in every position: part bodies, right after headers
with no blank line, preambles, epilogues, nested messages.
"""

from __future__ import annotations

import base64
import email
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segur.fixtures.documents import build_cr_img_n1, make_pdf
from segur.fixtures.world import load_world
from segur.mocks.mssante import checks
from segur.mocks.mssante.testing import mss_message


def _shape(message) -> list:
    shape = []
    for part in message.walk():
        payload = part.get_payload()
        shape.append((
            part.get_content_type(), [(k, str(v)) for k, v in part.raw_items()],
            sorted(type(d).__name__ for d in part.defects),
            payload if isinstance(payload, str) else None,
            part.preamble if part.is_multipart() else None, part.epilogue if part.is_multipart() else None,
        ))
    return shape


def _plain(raw: bytes):
    return email.message_from_bytes(raw, policy=checks.POLICY)


def _run(lines: int, width: int = 76, seed: int = 0) -> bytes:
    data = bytes((seed + i * 7) % 256 for i in range(lines * width))
    text = base64.b64encode(data)[: lines * width]
    return b"\r\n".join(text[i:i + width] for i in range(0, len(text), width))


LINES = [
    b"--b1", b"--b1--", b"--b2", b"--b2--", b"", b"", b"Content-Type: application/zip; name=IHE_XDM.ZIP",
    b"Content-Transfer-Encoding: base64", b"Content-Type: text/plain", b"Content-Type: message/rfc822",
    b"Content-Type: message/delivery-status", b"Content-Type: multipart/mixed; boundary=b2",
    b"Content-Disposition: attachment; filename=IHE_XDM.ZIP", b"Subject: inner", b"\tcontinued", b"junk line",
    b"From someone", b"abc\rdef", b"a\nb", b"QUJD", b"==", _run(40), _run(33, 4, 3),
    _run(64, 76, 9) + b"\r\n-",
    b"\r\n" + _run(40), b"\r\n" + _run(33, 4, 3) + b"\r\n", b"\r\n" + _run(50, 60, 5) + b"\r\nQQ==",
    b"\r\n" + _run(45, 76, 2) + b"\r\n\r\n",  # blank lines before a boundary (as Python's generator writes)
]
messages = st.lists(st.sampled_from(LINES), max_size=30).map(
    lambda lines: b"From: a@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
                  b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" + b"\r\n".join(lines) + b"\r\n")


@settings(max_examples=300, deadline=None)
@given(raw=messages)
def test_parse_bytes_gives_the_stdlib_message(raw):
    assert _shape(checks.parse_bytes(raw)) == _shape(_plain(raw))


@settings(max_examples=100, deadline=None)
@given(raw=messages, cut=st.integers(min_value=0, max_value=10_000))
def test_truncated_messages_too(raw, cut):
    raw = raw[: len(raw) * cut // 10_000]
    assert _shape(checks.parse_bytes(raw)) == _shape(_plain(raw))


def test_an_mssante_message_with_a_large_xdm_parses_the_same_and_its_attachment_decodes(cr_img_message):
    raw = cr_img_message
    assert checks._base64_runs(raw)
    fast = checks.parse_bytes(raw)
    assert _shape(fast) == _shape(_plain(raw))
    fast_zip = [a for a in checks.attachments_of(fast) if a.kind == "zip"]
    plain_zip = [a for a in checks.attachments_of(_plain(raw)) if a.kind == "zip"]
    assert fast_zip and fast_zip[0].content == plain_zip[0].content


@pytest.mark.parametrize("body", [
    b"--b1\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + _run(40) + b"\r\n\r\n--b1--\r\n",  # a part body
    _run(40) + b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nx\r\n--b1--\r\n",  # the preamble
    b"--b1\r\n\r\nx\r\n--b1--\r\n\r\n" + _run(33, 8) + b"\r\n",  # the epilogue
    b"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + _run(50) + b"\r\n--b1--\r\n",  # a nested message
    b"--b1\r\nContent-Type: application/zip\r\n\r\n" + _run(40) + b"\r\n--b1\r\n\r\n" + _run(35, 64, 4)
    + b"\r\n--b1--",  # two runs, no final line end
])
def test_runs_are_set_aside_wherever_the_stdlib_only_collects_lines(body):
    raw = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" + body
    assert checks._base64_runs(raw)
    assert _shape(checks.parse_bytes(raw)) == _shape(_plain(raw))


@pytest.mark.parametrize("run", [
    _run(40).replace(b"\r\n", b"\n"),  # LF line ends
    _run(40)[:200] + b"\r\n" + _run(40)[200:],  # one line of another width
    _run(40)[:300] + b"\r" + _run(40)[300:],  # a bare CR
    _run(40)[:388] + b"\r" + _run(40)[390:391] + b"\n" + _run(40)[391:],  # CR and LF apart, same counts
    _run(40)[:300] + b"\r\n\r\n" + _run(40)[300:],  # a blank line inside
    _run(40)[:300] + b"-" + _run(40)[300:],  # a character outside the alphabet
    _run(20),  # too short to bother
])
def test_other_bodies_are_parsed_the_plain_way(run):
    raw = (b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\r\n" + run
           + b"\r\n--b1--\r\n")
    assert checks._base64_runs(raw) == []
    assert _shape(checks.parse_bytes(raw)) == _shape(_plain(raw))


def test_a_message_holding_the_token_prefix_parses_the_same():
    raw = b"From: a@example.org\r\nContent-Type: text/plain\r\nX-Note: SegurRun\r\n\r\n" + _run(40) + b"\r\n"
    assert checks._base64_runs(raw)
    assert _shape(checks.parse_bytes(raw)) == _shape(_plain(raw))


@pytest.fixture(scope="module")
def cr_img_message():

    world = load_world()
    sender = "jacques.bideault@radiologie-ambroise.mssante.fr"
    author = world.professional_by_mailbox(sender)
    patient = world.patient_by_key("pat-0007")
    pdf = make_pdf("CR", [f"ligne {i} " + "x" * 80 for i in range(3000)])
    cda = build_cr_img_n1(patient, author, world.organisation_of(author), pdf)
    return mss_message(sender, "laurent.chevallier@ch-toulouse.mssante.fr", [cda]).as_bytes(policy=SMTP)
