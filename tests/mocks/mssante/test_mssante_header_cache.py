"""The checks' email policy parses a header value once (`checks._ParsedHeadersPolicy`): what a read gives is
what `email.policy.default` gives, the same object on the next read, and a header set again is parsed
again."""

from __future__ import annotations

import email
import email.policy

import pytest

from segur.mocks.mssante import checks

HEADERS = [
    ("Content-Type", "application/zip; name=IHE_XDM.ZIP"),
    ("Content-Type", "multipart/mixed;\r\n boundary=\"b1\""),
    ("Content-Type", "text/plain; charset=\"utf-8\"; format=flowed"),
    ("Content-Type", "not a type"),
    ("Content-Disposition", "attachment; filename*=utf-8''r%C3%A9sultat.pdf"),
    ("Subject", "=?utf-8?q?CR_d=27imagerie?= =?utf-8?b?w6k=?="),
    ("From", "Dr A <a@example.org>, broken <@>"),
    ("To", "b@example.org"),
    ("X-MSS-NIL", "1234"),
    ("Date", "not a date"),
]


def _message(policy) -> email.message.EmailMessage:
    raw = "".join(f"{name}: {value}\r\n" for name, value in HEADERS) + "\r\nbody\r\n"
    return email.message_from_bytes(raw.encode(), policy=policy)


def _seen(header) -> tuple:
    defects = sorted(type(d).__name__ for d in header.defects)
    return type(header).__name__, str(header), header.name, defects, dict(getattr(header, "params", {}) or {})


@pytest.mark.parametrize("index", range(len(HEADERS)))
def test_a_header_reads_as_with_the_default_policy_and_the_second_read_is_the_same_object(index):
    name = HEADERS[index][0]
    position = [n for n, _ in HEADERS[:index]].count(name)  # the how-manieth header of that name
    ours, plain = _message(checks.POLICY), _message(email.policy.default)
    first = ours.get_all(name)[position]
    assert _seen(first) == _seen(plain.get_all(name)[position])
    assert ours.get_all(name)[position] is first


def test_the_content_type_and_filename_helpers_agree_with_the_default_policy():
    ours, plain = _message(checks.POLICY), _message(email.policy.default)
    for _ in range(2):  # the second time from the kept headers
        assert ours.get_content_type() == plain.get_content_type()
        assert ours.get_filename() == plain.get_filename()
        assert ours.get_content_disposition() == plain.get_content_disposition()
        assert ours.get_param("name") == plain.get_param("name")


def test_a_header_set_again_is_parsed_again():
    message = _message(checks.POLICY)
    before = message["X-MSS-NIL"]
    message.replace_header("X-MSS-NIL", "5678")
    assert str(message["X-MSS-NIL"]) == "5678" and str(before) == "1234"


def test_two_messages_with_equal_headers_do_not_share_a_parse():
    first, second = _message(checks.POLICY), _message(checks.POLICY)
    assert first["Subject"] == second["Subject"] and first["Subject"] is not second["Subject"]


def test_only_a_bounded_number_of_headers_and_no_long_value_is_kept():
    long_value = "x" * (checks._MAX_CACHED + 1)
    message = email.message_from_bytes(f"Subject: {long_value}\r\n\r\n".encode(), policy=checks.POLICY)
    assert str(message["Subject"]) == long_value and message["Subject"] is not message["Subject"]
    for number in range(checks._KEEP_PARSED + 50):
        email.message_from_bytes(f"X-N: {number}\r\n\r\n".encode(), policy=checks.POLICY)["X-N"]
    assert len(checks._PARSED) == checks._KEEP_PARSED
