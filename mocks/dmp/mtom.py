"""MTOM/XOP: read a multipart/related SOAP request and write one, without trusting the input.

XDS.b sends documents as MIME parts of a `multipart/related; type="application/xop+xml"` body,
referred to from the SOAP envelope by `<xop:Include href="cid:…"/>` (W3C XOP 1.0 §3, W3C SOAP
MTOM; IHE ITI TF vol 2x appendix V.9 requires MTOM for ITI-41/ITI-43 and says a receiver must
also accept the document inline, base64 in the element — "optimized or not").

The parser follows RFC 2046 §5.1.1 (boundary delimiters: CRLF "--" boundary, closing "--"
boundary "--") and RFC 2392 (cid: URLs are the Content-ID, URL-encoded, without angle
brackets). Every problem raises `MtomError` with the rule it breaks; nothing here can raise anything else.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import secrets
import uuid
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote

from segur.mocks.dmp.rules import (
    XDS_MTOM_001,
    XDS_MTOM_002,
    XDS_MTOM_003,
    XDS_MTOM_004,
    XDS_MTOM_005,
    XDS_MTOM_006,
    XDS_SOAP_008,
    XdsRule,
)

XOP_NS = "http://www.w3.org/2004/08/xop/include"
XOP_INCLUDE = f"{{{XOP_NS}}}Include"

MAX_PARTS = 1000  # a DMP submission has a handful of documents; this bounds the work on hostile input
MAX_HEADER_BYTES = 16 * 1024


class MtomError(Exception):
    """A body that cannot be read as MTOM/XOP; `rule` is the rule it breaks, `detail` says why."""

    def __init__(self, rule: XdsRule, detail: str):
        super().__init__(f"{rule.id}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass
class Part:
    """One MIME part: its headers (lower-cased names) and its decoded content."""

    headers: dict[str, str]
    content: bytes

    @property
    def content_id(self) -> str | None:
        raw = self.headers.get("content-id")
        return normalise_cid(raw) if raw else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream")


@dataclass
class SoapMessage:
    """What came over HTTP: the SOAP envelope bytes and the attachments by Content-ID."""

    envelope: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)
    attachment_types: dict[str, str] = field(default_factory=dict)
    mtom: bool = False  # multipart/related (MTOM or SwA) rather than a bare SOAP envelope
    root_content_type: str = ""


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """`type/subtype` (lower-cased) and its parameters (names lower-cased, quotes removed)."""
    message = Message()
    message["content-type"] = value or ""
    main = message.get_content_type()
    params = {k.lower(): v for k, v in (message.get_params() or [])[1:]}
    return main, params


def normalise_cid(value: str) -> str:
    """The bare Content-ID: without angle brackets, a ``cid:`` prefix or URL escapes."""
    value = value.strip()
    if value.lower().startswith("cid:"):
        value = unquote(value[4:])
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


def read_http_body(content_type: str, body: bytes) -> SoapMessage:
    """Split an HTTP request body into its SOAP envelope and attachments."""
    main, params = parse_content_type(content_type)
    if main in ("application/soap+xml", "text/xml", "application/xml"):
        return SoapMessage(envelope=body, root_content_type=main)
    if main != "multipart/related":
        raise MtomError(XDS_SOAP_008, f"Content-Type {main or '(none)'} is not a SOAP 1.2 or MTOM body")
    boundary = params.get("boundary")
    if not boundary:
        raise MtomError(XDS_MTOM_001, "multipart/related without a boundary parameter")
    parts = split_multipart(body, boundary)
    start = params.get("start")
    root = None
    if start:
        wanted = normalise_cid(start)
        root = next((p for p in parts if p.content_id == wanted), None)
        if root is None:
            raise MtomError(
                XDS_MTOM_002, f"the start part <{wanted}> named in Content-Type is not in the body")
    else:
        root = parts[0]  # RFC 2387 §3.2: without start, the root is the first part
    root_type, _ = parse_content_type(root.content_type)
    if root_type not in ("application/xop+xml", "application/soap+xml", "text/xml"):
        raise MtomError(XDS_MTOM_002, f"the root part has Content-Type {root_type}, not application/xop+xml")
    message = SoapMessage(envelope=root.content, mtom=True, root_content_type=root_type)
    for part in parts:
        if part is root:
            continue
        cid = part.content_id
        if not cid:
            raise MtomError(XDS_MTOM_001, "an attachment part has no Content-ID header")
        if cid in message.attachments:
            raise MtomError(XDS_MTOM_001, f"two parts carry the Content-ID <{cid}>")
        message.attachments[cid] = part.content
        message.attachment_types[cid] = part.content_type
    return message


def split_multipart(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body (RFC 2046 §5.1.1); raises `MtomError` on any structural fault."""
    if not 1 <= len(boundary) <= 70:
        raise MtomError(XDS_MTOM_001, "the boundary must be 1 to 70 characters (RFC 2046)")
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        first = body.find(b"\r\n" + delimiter)
        if first < 0:
            raise MtomError(XDS_MTOM_001, "the boundary given in Content-Type never occurs in the body")
        position = first + 2 + len(delimiter)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", position):
            break  # closing delimiter
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise MtomError(XDS_MTOM_001, "a boundary delimiter is not followed by CRLF")
        start = line_end + 2
        next_delimiter = body.find(b"\r\n" + delimiter, start)
        if next_delimiter < 0:
            raise MtomError(XDS_MTOM_001, "the body ends without the closing boundary delimiter (truncated?)")
        parts.append(_read_part(body, start, next_delimiter))  # the content is copied once, nothing else
        if len(parts) > MAX_PARTS:
            raise MtomError(XDS_MTOM_001, f"more than {MAX_PARTS} MIME parts")
        position = next_delimiter + 2 + len(delimiter)
    if not parts:
        raise MtomError(XDS_MTOM_001, "the multipart body has no part")
    return parts


def _read_part(body: bytes, start: int, end: int) -> Part:
    """The part in body[start:end] (headers, blank line, content), read in place."""
    if body.startswith(b"\r\n", start, end):
        header_block, content = b"", body[start + 2:end]
    else:
        header_end = body.find(b"\r\n\r\n", start, end)
        if header_end < 0:
            raise MtomError(XDS_MTOM_001, "a MIME part has no blank line between its headers and its content")
        header_block, content = body[start:header_end], body[header_end + 4:end]
    if len(header_block) > MAX_HEADER_BYTES:
        raise MtomError(XDS_MTOM_001, "a MIME part's headers are too long")
    headers: dict[str, str] = {}
    last = None
    for line in header_block.decode("latin-1").split("\r\n"):
        if line[:1] in (" ", "\t") and last:  # folded header (RFC 5322 §2.2.3)
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise MtomError(XDS_MTOM_001, f"malformed MIME header line {line[:60]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    encoding = headers.get("content-transfer-encoding", "binary").lower()
    if encoding in ("binary", "8bit", "7bit"):
        decoded = content
    elif encoding == "base64":
        try:
            decoded = base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MtomError(XDS_MTOM_005, f"a base64 part cannot be decoded: {exc}") from None
    elif encoding == "quoted-printable":
        decoded = quopri.decodestring(content)
    else:
        raise MtomError(XDS_MTOM_005, f"unsupported Content-Transfer-Encoding {encoding!r}")
    return Part(headers, decoded)


class MissingPart(Exception):
    """An xop:Include points at no attachment (or the inline content is not base64)."""

    def __init__(self, rule: XdsRule, detail: str):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def binary_content(element, attachments: dict[str, bytes]) -> bytes:
    """The bytes an element carries: through its xop:Include child, or inline base64 text."""
    include = element.find(XOP_INCLUDE)
    if include is not None:
        href = include.get("href") or ""
        if not href.lower().startswith("cid:"):
            raise MissingPart(XDS_MTOM_004, f"xop:Include href {href!r} is not a cid: URL")
        cid = normalise_cid(href)
        if cid not in attachments:
            raise MissingPart(
                XDS_MTOM_003, f"xop:Include refers to cid:{cid}, which is not a part of the message")
        return attachments[cid]
    text = "".join(element.itertext())
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MissingPart(XDS_MTOM_006, f"the inline content is not valid base64: {exc}") from None


@dataclass
class Attachment:
    content_id: str
    content_type: str
    content: bytes


def new_content_id() -> str:
    return f"{uuid.uuid4().hex}@segur-dmp-mock"


def write_mtom(envelope: bytes, attachments: list[Attachment],
               action: str | None = None) -> tuple[str, bytes]:
    """An MTOM multipart/related body: (Content-Type header value, body bytes)."""
    boundary = "MIMEBoundary_" + secrets.token_hex(16)
    root_cid = "root." + new_content_id()
    start_info = "application/soap+xml" + (f'; action="{action}"' if action else "")
    root_type = f'application/xop+xml; charset=UTF-8; type="{start_info.replace(chr(34), chr(92) + chr(34))}"'
    chunks = [
        f"--{boundary}\r\n".encode(),
        (f"Content-Type: {root_type}\r\nContent-Transfer-Encoding: binary\r\n"
         f"Content-ID: <{root_cid}>\r\n\r\n").encode(),
        envelope,
    ]
    for item in attachments:
        chunks.append(f"\r\n--{boundary}\r\n".encode())
        chunks.append(f"Content-Type: {item.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                      f"Content-ID: <{item.content_id}>\r\n\r\n".encode())
        chunks.append(item.content)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    f'start="<{root_cid}>"; start-info="application/soap+xml"')
    if action:
        content_type += f'; action="{action}"'
    return content_type, b"".join(chunks)
