"""The client's side of the wire: SOAP 1.2 envelopes, MTOM/XOP packaging, and reading the answers.

Written independently of the mock's own mtom.py/soap.py (only the standard library's MIME parser
and lxml), so the end-to-end tests are a real check that both sides agree on the format:
- SOAP 1.2 with WS-Addressing `Action` (mustUnderstand), `MessageID`, `To` (IHE ITI TF vol 2x
  appendix V); the VIHF in `wsse:Security` (its position in the ANS ITI-41 sample);
- MTOM (W3C SOAP MTOM, XOP 1.0): `multipart/related; type="application/xop+xml"; start=…;
  start-info="application/soap+xml"`, root part `application/xop+xml; type="application/soap+xml"`,
  documents as binary parts referred to by `<xop:Include href="cid:…"/>` (RFC 2392: the cid is
  URL-encoded, without angle brackets); or inline base64, which a receiver must also accept.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from urllib.parse import quote, unquote

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
XOP = "http://www.w3.org/2004/08/xop/include"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
STATUS_PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"

_SAFE_PARSER = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass
class Part:
    content_id: str
    content_type: str
    content: bytes


@dataclass
class Outgoing:
    """An HTTP request body ready to send."""

    content_type: str
    body: bytes
    envelope: bytes  # the SOAP envelope alone (for logs and tests)
    parts: list[Part] = field(default_factory=list)


def new_content_id(label: str = "doc") -> str:
    return f"{label}.{uuid.uuid4().hex}@segur-dmp-client"


def envelope(action: str, to: str, body: etree._Element, security: etree._Element | None = None,
             message_id: str | None = None) -> etree._Element:
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP12}}}Header")
    action_el = etree.SubElement(header, f"{{{WSA}}}Action")
    action_el.set(f"{{{SOAP12}}}mustUnderstand", "true")
    action_el.text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id or f"urn:uuid:{uuid.uuid4()}"
    etree.SubElement(header, f"{{{WSA}}}To").text = to
    if security is not None:
        header.append(security)
    etree.SubElement(env, f"{{{SOAP12}}}Body").append(body)
    return env


def attach(holder: etree._Element, content: bytes, parts: list[Part] | None, content_type: str,
           content_id: str | None = None) -> None:
    """Put `content` in `holder`: as an xop:Include to a new MIME part, or inline base64 when `parts` is
    None."""
    if parts is None:
        holder.text = base64.b64encode(content).decode("ascii")
        return
    cid = content_id or new_content_id()
    include = etree.SubElement(holder, f"{{{XOP}}}Include", nsmap={"xop": XOP})
    include.set("href", "cid:" + quote(cid, safe="@.-_~!$&'()*+,;=:"))
    parts.append(Part(cid, content_type, content))


def package(env: etree._Element, action: str, parts: list[Part] | None) -> Outgoing:
    """The HTTP body: MTOM multipart/related when `parts` is a list (even empty), a bare SOAP 1.2 message
    otherwise."""
    data = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    if parts is None:
        return Outgoing(f'application/soap+xml; charset=UTF-8; action="{action}"', data, data)
    boundary = "segur-client-" + secrets.token_hex(12)
    root_cid = new_content_id("root")
    chunks = [
        f"--{boundary}\r\n".encode(),
        ('Content-Type: application/xop+xml; charset=UTF-8; '
         f'type="application/soap+xml; action=\\"{action}\\""\r\n'
         f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_cid}>\r\n\r\n").encode(),
        data,
    ]
    for part in parts:
        chunks += [f"\r\n--{boundary}\r\n".encode(),
                   (f"Content-Type: {part.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                    f"Content-ID: <{part.content_id}>\r\n\r\n").encode(),
                   part.content]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    f'start="<{root_cid}>"; start-info="application/soap+xml"; action="{action}"')
    return Outgoing(content_type, b"".join(chunks), data, list(parts))


@dataclass
class Incoming:
    """An HTTP answer read: its SOAP envelope and MIME parts by Content-ID."""

    status: int
    envelope: etree._Element | None
    parts: dict[str, bytes]
    raw: bytes

    @property
    def body(self) -> etree._Element | None:
        if self.envelope is None:
            return None
        body = self.envelope.find(f"{{{SOAP12}}}Body")
        return next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None

    @property
    def action(self) -> str | None:
        if self.envelope is None:
            return None
        el = self.envelope.find(f"{{{SOAP12}}}Header/{{{WSA}}}Action")
        return el.text.strip() if el is not None and el.text else None

    def binary(self, element: etree._Element) -> bytes:
        """The bytes an element carries (xop:Include to a part, or inline base64)."""
        include = element.find(f"{{{XOP}}}Include")
        if include is not None:
            href = include.get("href", "")
            cid = href[4:] if href.lower().startswith("cid:") else href

            return self.parts[unquote(cid).strip("<>")]
        return base64.b64decode("".join("".join(element.itertext()).split()))


def read_answer(status: int, content_type: str, body: bytes) -> Incoming:
    """Read an HTTP answer (SOAP or MTOM); the envelope is None when the body is not SOAP (e.g. a 503
    text)."""
    main = (content_type or "").split(";")[0].strip().lower()
    parts: dict[str, bytes] = {}
    root_bytes = body
    if main == "multipart/related":
        message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=HTTP)
        payloads = list(message.iter_parts())
        start = (message.get_param("start") or "").strip("<>")
        root = next((p for p in payloads if (p.get("Content-ID") or "").strip().strip("<>") == start), None)
        root = root or (payloads[0] if payloads else None)
        for payload in payloads:
            cid = (payload.get("Content-ID") or "").strip().strip("<>")
            content = payload.get_payload(decode=True) or b""
            if payload is root:
                root_bytes = content
            elif cid:
                parts[cid] = content
    elif main not in ("application/soap+xml", "text/xml", "application/xml"):
        return Incoming(status, None, {}, body)
    try:
        env = etree.fromstring(root_bytes, etree.XMLParser(**_SAFE_PARSER))
    except etree.XMLSyntaxError:
        return Incoming(status, None, parts, body)
    return Incoming(status, env, parts, body)


@dataclass
class RegistryErrorItem:
    code: str
    context: str
    severity: str
    location: str | None = None

    @property
    def rule(self) -> str | None:
        """The harness rule id the mock puts first in codeContext ("[RULE-ID] message — hint")."""
        if self.context.startswith("[") and "]" in self.context:
            return self.context[1:self.context.index("]")]
        return None

    @property
    def is_error(self) -> bool:
        return self.severity.endswith("Error")


@dataclass
class SoapFault(Exception):
    """The service answered with a SOAP fault."""

    code: str
    subcode: str | None
    reason: str
    http_status: int
    rules: list[str] = field(default_factory=list)  # harness rule ids listed in the fault Detail

    def __str__(self) -> str:
        code = f"{self.code}/{self.subcode}" if self.subcode else self.code
        return f"SOAP fault {code} (HTTP {self.http_status}): {self.reason}"


def fault_of(answer: Incoming) -> SoapFault | None:
    body = answer.body
    if body is None or body.tag != f"{{{SOAP12}}}Fault":
        return None
    code = body.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value", default="").strip()
    subcode = body.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value", default=None)
    reason = body.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text", default="").strip()
    detail = body.find(f"{{{SOAP12}}}Detail")
    rules = [el.get("rule") for el in detail.iter() if isinstance(el.tag, str) and el.get("rule")] \
        if detail is not None else []
    return SoapFault(code, subcode.strip() if subcode else None, reason, answer.status, rules)


def registry_errors(element: etree._Element | None) -> list[RegistryErrorItem]:
    if element is None:
        return []
    return [RegistryErrorItem(e.get("errorCode", ""), e.get("codeContext", ""), e.get("severity", ""),
                              e.get("location")) for e in element.iter(f"{{{RS}}}RegistryError")]
