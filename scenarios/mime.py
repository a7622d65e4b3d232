"""The judge's own reader of what went over the wire as MIME: a SOAP request with its MTOM/XOP parts
(ITI-41), and the parts of an e-mail message. The proof never reads a product's bytes with a mock's parser:
a mock that misreads a message must not make the judge misread it the same way.

Standards, read for the facts only: RFC 2046 §5.1.1 (a part starts after CRLF "--" boundary, the body ends
with "--" boundary "--"), RFC 2387 (multipart/related: the root is the `start` part, else the first), RFC
2392 (a `cid:` URL is the Content-ID, URL-encoded, without angle brackets), W3C XOP 1.0 and SOAP MTOM (a
document travels as a part named from the envelope by `xop:Include href="cid:…"`; IHE ITI TF-2x V.9 lets
it also travel inline, base64). E-mail messages are read with the standard library's `email` package.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import quopri
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from urllib.parse import unquote

#: the media types a bare (not multipart) SOAP request is sent with
SOAP_TYPES = ("application/soap+xml", "text/xml", "application/xml")
MAX_PARTS = 1000  # an ITI-41 has a handful of documents: a bound on hostile input


class UnreadableMime(ValueError):
    """A body the judge cannot split into its parts; the message says why."""


@dataclass
class SoapRequest:
    """An HTTP SOAP request as the judge reads it: the envelope, and the MTOM parts by Content-ID."""

    envelope: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)
    mtom: bool = False  # multipart/related rather than a bare envelope


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """`type/subtype` (lower case) and its parameters (names lower case, unquoted)."""
    header = Message()
    header["content-type"] = value or ""
    params = {name.lower(): text for name, text in (header.get_params() or [])[1:]}
    return header.get_content_type(), params


def bare_cid(value: str) -> str:
    """A Content-ID as a `cid:` URL names it: no angle brackets, no `cid:` prefix, URL escapes undone."""
    value = value.strip()
    if value.lower().startswith("cid:"):
        value = unquote(value[4:])
    return value.strip().removeprefix("<").removesuffix(">").strip()


def read_soap_request(content_type_header: str, body: bytes) -> SoapRequest:
    """Split a SOAP request body into its envelope and MTOM parts; raises `UnreadableMime`."""
    kind, params = content_type(content_type_header)
    if kind in SOAP_TYPES:
        return SoapRequest(envelope=body)
    if kind != "multipart/related":
        raise UnreadableMime(f"Content-Type {kind or '(none)'} is neither a SOAP envelope nor MTOM")
    if not params.get("boundary"):
        raise UnreadableMime("multipart/related without a boundary")
    parts = split_parts(body, params["boundary"])
    ids = [bare_cid(headers.get("content-id", "")) for headers, _content in parts]
    root = 0  # RFC 2387: without a start parameter, the root is the first part
    if params.get("start"):
        start = bare_cid(params["start"])
        if start not in ids:
            raise UnreadableMime(f"the start part <{start}> named in Content-Type is not in the body")
        root = ids.index(start)
    request = SoapRequest(envelope=parts[root][1], mtom=True)
    for index, (cid, (_headers, content)) in enumerate(zip(ids, parts, strict=True)):
        if index != root and cid:
            request.attachments[cid] = content
    return request


def split_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The (headers, decoded content) of each part of a multipart body; raises `UnreadableMime`."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    first = 0 if body.startswith(delimiter) else body.find(b"\r\n" + delimiter)
    if first < 0:
        raise UnreadableMime("the boundary of the Content-Type never occurs in the body")
    parts = []
    position = body.index(delimiter, first) + len(delimiter)
    while not body.startswith(b"--", position):
        begin = body.find(b"\r\n", position)
        end = body.find(b"\r\n" + delimiter, begin) if begin >= 0 else -1
        if end < 0:
            raise UnreadableMime("the body ends before its closing boundary (cut short?)")
        parts.append(_part(body[begin + 2:end]))
        if len(parts) > MAX_PARTS:
            raise UnreadableMime(f"more than {MAX_PARTS} MIME parts")
        position = end + 2 + len(delimiter)
    if not parts:
        raise UnreadableMime("the multipart body has no part")
    return parts


def _part(raw: bytes) -> tuple[dict[str, str], bytes]:
    """One part's headers (names lower case, folded lines joined) and its content, decoded."""
    head, separator, content = raw.partition(b"\r\n\r\n")
    if not separator:
        head, content = (b"", raw[2:]) if raw.startswith(b"\r\n") else (raw, b"")
    headers: dict[str, str] = {}
    name = ""
    for line in head.decode("latin-1").split("\r\n"):
        if line[:1] in (" ", "\t") and name:
            headers[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = value.strip()
    return headers, _decoded(content, headers.get("content-transfer-encoding", "binary").lower())


def _decoded(content: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableMime(f"a base64 part cannot be decoded: {exc}") from None
    if encoding == "quoted-printable":
        return quopri.decodestring(content)
    return content  # binary, 8bit, 7bit


def read_message(raw: bytes) -> EmailMessage:
    """An e-mail message (RFC 5322, MIME) as the standard library reads it."""
    return email.message_from_bytes(raw, policy=email.policy.default)
