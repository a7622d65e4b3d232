"""Attachments decoded only when their bytes are needed (`checks.Attachment`, `checks.clean_base64`) and the
PDF a CDA carries decoded on first use (`cda.CdaHeader.embedded_pdf`): the same reports as decoding
everything at once, on every official example and on broken variants, while the PDF copy of an N1 that is
its CDA's PDF is decoded neither beside the archive nor in the CDA."""

from __future__ import annotations

import base64
import binascii
import email.policy
import re
from email._encoded_words import decode_b
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segur.fixtures.world import load_world
from segur.mocks.mssante import cda, checks
from segur.mocks.mssante.checks import Attachment, check_message, clean_base64
from segur.mocks.mssante.testing import mss_message
from segur.validators.body_text import decode_base64

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
texts = st.lists(st.sampled_from([bytes([c]) for c in ALPHABET[::7]] + [b"=", b"*", b" ", b"\n", b"-"]),
                 max_size=24).map(b"".join)


@given(data=st.binary(max_size=300))
def test_the_base64_of_any_bytes_is_clean_and_every_decoder_gives_them_back(data):
    text = base64.b64encode(data)
    assert clean_base64(text) == bool(data)
    if data:
        assert decode_b(text) == (data, []) and decode_base64(text) == data


@given(text=texts)
def test_a_clean_text_decodes_alike_strictly_leniently_and_in_the_validator(text):
    if clean_base64(text):
        strict = binascii.a2b_base64(text, strict_mode=True)
        assert strict and decode_b(text) == (strict, []) and decode_base64(text) == strict
    else:
        padding = len(text) - len(text.rstrip(b"="))
        assert not text or len(text) % 4 or text.translate(None, ALPHABET + b"=") or padding > 2 \
            or b"=" in text.rstrip(b"=")


@given(text=st.lists(st.sampled_from([b"Q", b"k", b"+", b"/", b"0", b"="]), max_size=24).map(b"".join))
def test_padding_alone_tells_a_clean_text_among_texts_of_the_alphabet(text):
    assert checks.padded(text) == clean_base64(text)


def test_the_mime_parse_marks_the_base64_bodies_it_set_aside_and_only_them(cr_img_n1):
    message = _with_pdf(cr_img_n1, b"%PDF-1.4\n" + bytes(range(256)) * 40)
    message.add_attachment(b"not a run", maintype="application", subtype="octet-stream", filename="short.bin")
    parsed, _ = checks.parse_message(message.as_bytes(policy=email.policy.SMTP))
    marks = {a.filename: a._alphabet_only for a in checks.attachments_of(parsed)}
    assert marks == {"IHE_XDM.ZIP": True, "compte-rendu.pdf": True, "short.bin": False}


@given(data=st.binary(max_size=6000), junk=st.sampled_from([b"", b"*", b"=", b"QQ"]))
def test_the_size_and_first_bytes_of_an_attachment_are_those_of_its_bytes(data, junk):
    text = base64.b64encode(data) + junk
    lazy = Attachment("a.bin", "application/octet-stream", base64_text=text)
    eager = decode_b(text)[0] or b""
    assert lazy.size == len(eager)
    assert [lazy.head(n) for n in (0, 1, 4, 5, 4096)] == [eager[:n] for n in (0, 1, 4, 5, 4096)]
    assert lazy.content == eager and lazy.size == len(eager)


def _report(raw: bytes, world) -> tuple:
    report = check_message(raw, login=PRO, recipients=[world.mailbox(PRO2)], world=world)
    package = report.package.to_dict() if report.package else None
    return [f.to_dict() for f in report.findings], report.attachments, package


def _same_reports(raw: bytes, world, monkeypatch) -> tuple:
    """The report of `raw`, asserted equal to the one of the old way: every attachment decoded (no text
    is ever clean, so nothing is known without decoding)."""
    lazy = _report(raw, world)
    with monkeypatch.context() as patch:
        patch.setattr(checks, "clean_base64", lambda text: False)
        patch.setattr(checks, "padded", lambda text: False)
        assert _report(raw, world) == lazy
    return lazy


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def examples(cda_pack) -> list[bytes]:
    return [path.read_bytes() for path in sorted((cda_pack / "ExemplesCDA").glob("*.xml"))]


def test_every_official_example_gets_the_report_of_the_old_way(world, examples, monkeypatch):
    compared = 0
    for document in examples:
        try:
            raw = mss_message(PRO, PRO2, [document]).as_bytes(policy=email.policy.SMTP)
        except Exception:  # noqa: BLE001 — an example the message builder cannot read (not a CDA)
            continue
        _same_reports(raw, world, monkeypatch)
        compared += 1
    assert compared >= 80


def _with_pdf(document: bytes, pdf: bytes | None, wrap: bool = False) -> EmailMessage:
    """A message carrying `document` with `pdf` beside it (else no PDF); `wrap`: the CDA's base64 body
    rewritten on lines of 76 characters."""
    if wrap:
        def wrapped(match: re.Match) -> bytes:
            text = match[2]
            return match[1] + b"\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + b"\n<"

        document, count = re.subn(rb"(representation=\"B64\"\s*>)\s*([A-Za-z0-9+/=]+)\s*<", wrapped, document)
        assert count == 1
    message = mss_message(PRO, PRO2, [document], pdf=False)
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="compte-rendu.pdf")
    return message


def _decodes(monkeypatch) -> list[str]:
    """What gets decoded from now on: "attachment" (`decode_b`) and "cda pdf" (`cda._decode_pdf`)."""
    seen: list[str] = []

    def attachment(text):
        seen.append("attachment")
        return decode_b(text)

    def cda_pdf(text):
        seen.append("cda pdf")
        return original(text)

    original = cda._decode_pdf
    monkeypatch.setattr(checks, "decode_b", attachment)
    monkeypatch.setattr(cda, "_decode_pdf", cda_pdf)
    return seen


@pytest.mark.parametrize("wrap", [False, True])
def test_the_pdf_copy_of_an_n1_is_decoded_neither_beside_the_archive_nor_in_the_cda(world, cr_img_n1, wrap,
                                                                                   monkeypatch):
    pdf = cda.read_cda_header(cr_img_n1).embedded_pdf
    raw = _with_pdf(cr_img_n1, pdf, wrap).as_bytes(policy=email.policy.SMTP)
    seen = _decodes(monkeypatch)
    _report(raw, world)
    assert seen == ["attachment"]  # the zip only
    seen.clear()
    findings, attachments, _ = _same_reports(raw, world, monkeypatch)
    assert seen == ["attachment", "attachment", "attachment", "cda pdf"]  # then the old way: all three
    assert "MSS-PDF-NOT-IDENTICAL" not in {f["rule"] for f in findings}
    assert attachments[-1] == {"filename": "compte-rendu.pdf", "content_type": "application/pdf",
                               "size": len(pdf), "kind": "pdf"}


@pytest.mark.parametrize("variant", ["another pdf", "one byte changed", "not base64", "no pdf"])
def test_a_pdf_copy_that_differs_is_decoded_and_reported_as_before(world, cr_img_n1, variant, monkeypatch):
    pdf = cda.read_cda_header(cr_img_n1).embedded_pdf
    copy = {"another pdf": b"%PDF-1.4\n%%EOF\n", "one byte changed": pdf[:-1] + b"\x00", "not base64": pdf,
            "no pdf": None}[variant]
    message = _with_pdf(cr_img_n1, copy)
    raw = message.as_bytes(policy=email.policy.SMTP)
    if variant == "not base64":  # a junk character in the body: not clean, decoded leniently as before
        body = raw.index(b"\r\n\r\n", raw.index(b"compte-rendu.pdf")) + 4
        raw = raw[:body] + b"*" + raw[body:]
        assert raw[body:body + 6] == b"*JVBER"
    findings, _, _ = _same_reports(raw, world, monkeypatch)
    rules = {f["rule"] for f in findings}
    assert ("MSS-PDF-NOT-IDENTICAL" in rules) == (variant in ("another pdf", "one byte changed"))
    assert ("MSS-PDF-MISSING" in rules) == (variant == "no pdf")


@pytest.fixture(scope="module")
def cr_img_n1(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
