"""SOAP 1.2 for the DMP mock: read an envelope safely, write answers, faults and RegistryResponses.

- W3C SOAP 1.2 part 1: envelope namespace, fault codes (`env:Sender`, `env:Receiver`,
  `env:VersionMismatch`, `env:MustUnderstand`), no DTD in a message (§5 "A SOAP message
  MUST NOT contain a Document Type Declaration").
- W3C WS-Addressing 1.0 SOAP binding: `wsa:Action`, `wsa:MessageID`, `wsa:RelatesTo` (IHE ITI
  TF vol 2x appendix V requires them), fault subcode `wsa:ActionNotSupported` (§6.4.1).
- ebXML RegRep 3.0 `rs:RegistryResponse` with `rs:RegistryErrorList` (IHE ITI TF vol 3
  §4.2.4: `errorCode`, `codeContext`, `location`, `severity` = …ErrorSeverityType:Error/Warning;
  status Success / Failure / urn:ihe:iti:2007:ResponseStatusType:PartialSuccess).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lxml import etree

from segur.kernel.findings import Finding, Severity
from segur.mocks.dmp.calls import STATUS_FAILURE, STATUS_PARTIAL, STATUS_SUCCESS
from segur.mocks.dmp.ebrim import RS
from segur.mocks.dmp.rules import (
    XDS_SOAP_001,
    XDS_SOAP_002,
    XDS_SOAP_003,
    XDS_SOAP_004,
    XDS_SOAP_005,
    XDS_SOAP_009,
    XdsRule,
    xds_code_of,
)

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XML_NS = "http://www.w3.org/XML/1998/namespace"

SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

UNDERSTOOD_HEADERS = {(WSA, name) for name in ("Action", "MessageID", "To", "ReplyTo", "From", "FaultTo",
                                               "RelatesTo")} | {(WSSE, "Security")}

_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                       huge_tree=False, remove_comments=False, collect_ids=False)


class SoapError(Exception):
    """An envelope-level problem answered with a SOAP fault: the rule it breaks and its context."""

    def __init__(self, rule: XdsRule, status: int = 400, **context):
        self.rule = rule
        self.status = status
        self.context = {k: str(v) for k, v in context.items()}
        super().__init__(rule.message(**self.context))

    def finding(self) -> Finding:
        return self.rule.finding(**self.context)


@dataclass
class Envelope:
    root: object
    header: object | None
    body: object  # the first element child of soap:Body
    action: str | None
    message_id: str | None
    security: object | None  # the wsse:Security header element, if any
    headers: list = field(default_factory=list)


def safe_parse(data: bytes):
    """Parse untrusted XML: no DTD, no entity, no network; raises SoapError."""
    if not data or not data.strip():
        raise SoapError(XDS_SOAP_001, detail="the message is empty")
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise SoapError(XDS_SOAP_002)
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise SoapError(XDS_SOAP_001, detail=str(exc)[:300]) from None
    except ValueError as exc:
        raise SoapError(XDS_SOAP_001, detail=str(exc)[:300]) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SoapError(XDS_SOAP_002)
    for _node in root.iter(etree.Entity):
        raise SoapError(XDS_SOAP_002)
    return root


def parse_envelope(data: bytes, content_type_action: str | None = None) -> Envelope:
    """Read a SOAP 1.2 envelope (the root MIME part for MTOM)."""
    root = safe_parse(data)
    if not isinstance(root.tag, str):
        raise SoapError(XDS_SOAP_003, detail="no root element")
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in (SOAP12, SOAP11):
        raise SoapError(XDS_SOAP_003, detail=f"the root element is {{{qname.namespace}}}{qname.localname}")
    if qname.namespace == SOAP11:
        raise SoapError(XDS_SOAP_003, detail="it is a SOAP 1.1 envelope")
    header = root.find(f"{{{SOAP12}}}Header")
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise SoapError(XDS_SOAP_004)
    payload = next((c for c in body if isinstance(c.tag, str)), None)
    if payload is None:
        raise SoapError(XDS_SOAP_004)
    headers = [h for h in header if isinstance(h.tag, str)] if header is not None else []
    for item in headers:
        must = (item.get(f"{{{SOAP12}}}mustUnderstand") or "").strip().lower()
        name = etree.QName(item)
        if must in ("true", "1") and (name.namespace, name.localname) not in UNDERSTOOD_HEADERS:
            raise SoapError(XDS_SOAP_009, header=f"{{{name.namespace}}}{name.localname}")
    action = _header_text(header, WSA, "Action") or content_type_action
    return Envelope(
        root=root, header=header, body=payload, action=action,
        message_id=_header_text(header, WSA, "MessageID"),
        security=header.find(f"{{{WSSE}}}Security") if header is not None else None, headers=headers)


def _header_text(header, ns: str, name: str) -> str | None:
    if header is None:
        return None
    el = header.find(f"{{{ns}}}{name}")
    return (el.text or "").strip() if el is not None and el.text else None


def envelope_bytes(action: str, body_element, relates_to: str | None = None) -> bytes:
    """A SOAP 1.2 envelope with WS-Addressing Action/MessageID/RelatesTo around `body_element`."""
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP12}}}Header")
    action_el = etree.SubElement(header, f"{{{WSA}}}Action")
    action_el.set(f"{{{SOAP12}}}mustUnderstand", "true")
    action_el.text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    if relates_to:
        etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
    body = etree.SubElement(env, f"{{{SOAP12}}}Body")
    body.append(body_element)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_bytes(rule: XdsRule, reason: str, relates_to: str | None = None, findings: list[Finding] = (),
                code: str | None = None, subcode: str | None = None) -> bytes:
    """A SOAP 1.2 fault for `rule`, with the findings in Detail.

    `code` defaults to the rule's `extra["fault"]` (else Sender); `subcode` is a QName such as
    ``wsa:ActionNotSupported`` (WS-Addressing SOAP binding §6.4) or ``wsse:InvalidSecurity`` (OASIS WSS 1.1
    §12).
    """
    if code is None:
        code = rule.extra.get("fault", "Sender")
    if rule is XDS_SOAP_005 and subcode is None:
        subcode = "wsa:ActionNotSupported"
    fault = etree.Element(f"{{{SOAP12}}}Fault", nsmap={"soap": SOAP12, "wsa": WSA, "wsse": WSSE})
    code_el = etree.SubElement(fault, f"{{{SOAP12}}}Code")
    etree.SubElement(code_el, f"{{{SOAP12}}}Value").text = f"soap:{code}"
    if subcode:
        sub = etree.SubElement(code_el, f"{{{SOAP12}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12}}}Value").text = subcode
    reason_el = etree.SubElement(fault, f"{{{SOAP12}}}Reason")
    text = etree.SubElement(reason_el, f"{{{SOAP12}}}Text")
    text.set(f"{{{XML_NS}}}lang", "en")
    text.text = f"[{rule.id}] {reason}"
    detail = etree.SubElement(fault, f"{{{SOAP12}}}Detail")
    for item in findings or ():
        finding_el = etree.SubElement(detail, "{urn:segur:harness:findings}finding",
                                      nsmap={"sg": "urn:segur:harness:findings"})
        finding_el.set("rule", item.rule)
        finding_el.set("severity", item.severity.value)
        finding_el.text = item.message + (f" — {item.hint}" if item.hint else "")
    return envelope_bytes("http://www.w3.org/2005/08/addressing/soap/fault", fault, relates_to)


def code_context(item: Finding) -> str:
    """What an editor reads in RegistryError@codeContext: rule id, message and how to fix it."""
    text = f"[{item.rule}] {item.message}"
    if item.hint:
        text += f" — {item.hint}"
    return text


def status_of(findings, partial: bool = False) -> str:
    if any(f.severity == Severity.ERROR for f in findings):
        return STATUS_PARTIAL if partial else STATUS_FAILURE
    return STATUS_SUCCESS


def registry_error_list(findings, default_code: str = "XDSRegistryError"):
    """An rs:RegistryErrorList for error and warning findings (None when there are none)."""
    shown = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if not shown:
        return None
    error_list = etree.Element(f"{{{RS}}}RegistryErrorList", nsmap={"rs": RS})
    worst = SEVERITY_ERROR if any(f.severity == Severity.ERROR for f in shown) else SEVERITY_WARNING
    error_list.set("highestSeverity", worst)
    for item in shown:
        error = etree.SubElement(error_list, f"{{{RS}}}RegistryError")
        error.set("errorCode", xds_code_of(item, default_code))
        error.set("codeContext", code_context(item))
        error.set("severity", SEVERITY_ERROR if item.severity == Severity.ERROR else SEVERITY_WARNING)
        location = item.location or item.xpath or ""
        if item.line:  # a finding inside a document (the CDA validator): say where in the file
            location += f" (line {item.line}" + (f", column {item.column})" if item.column else ")")
        if location:
            error.set("location", location.strip())
    return error_list


def registry_response(findings, status: str | None = None, default_code: str = "XDSRegistryError",
                      tag: str = "RegistryResponse"):
    """An rs:RegistryResponse whose status follows the findings unless given."""
    response = etree.Element(f"{{{RS}}}{tag}", nsmap={"rs": RS})
    response.set("status", status or status_of(findings))
    errors = registry_error_list(findings, default_code)
    if errors is not None:
        response.append(errors)
    return response
