"""The wire format of INSi: a hardened parser for its SOAP 1.2 requests and templated answers.

Requests are parsed with lxml under strict settings (no DTD, no entity expansion, no network, no
huge trees) after a DTD/entity pre-check, since SOAP 1.2 forbids a document type declaration.
Answers are built from string templates (escaped), not from an object model: the hot path of a
search is a parse, a dictionary look-up and one string join.

Names and namespaces are those of CNAM's WSDL `DESIR_ICIR_EXP_1.5.0.wsdl`; the SOAP actions are
read from the project's own WSDL (`wsdl/insi.wsdl`), which a test compares with CNAM's.

Requests become the plain query objects of `models`; a request the service refuses raises
`models.Refused` with the rule it breaks. Only `responses` uses this module.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from segur.mocks.insi import rules
from segur.mocks.insi.models import (
    OP_TRAITS,
    OP_VITALE,
    Matricule,
    Outcome,
    Refused,
    TraitsQuery,
    VitaleQuery,
)
from segur.mocks.insi.rules import FaultSpec

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_LPS = "urn:siram:lps:ctxlps"
NS_BAM = "urn:siram:bam:ctxbam"
NS_RECSANS = "http://www.cnamts.fr/INSiRecSans"
NS_RECVIT = "http://www.cnamts.fr/INSiRecVit"
NS_RESULTAT = "http://www.cnamts.fr/INSiResultat"
NS_SIRAM = "urn:siram"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
NS_WSAW = "http://www.w3.org/2006/02/addressing/wsdl"  # CNAM's WSDL (draft namespace)
NS_WSAM = "http://www.w3.org/2007/05/addressing/metadata"  # the mock's WSDL (W3C Recommendation)

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
WSDL_FILE = WSDL_DIR / "insi.wsdl"

#: The request element of each operation (CNAM WSDL, messages `rechercherInsAvec…`).
BODY_ELEMENTS = {
    OP_TRAITS: f"{{{NS_RECSANS}}}RECSANSVITALE",
    OP_VITALE: f"{{{NS_RECVIT}}}RECVITALE",
}
WSA_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"

#: Compte-rendu labels as CNAM's service writes them (recorded answers REP_CR01.xml, TEST_2.xx,
#: and the CR 02 answer in padoa/tlsi-ins `src/fixtures/insi-client.fixture.ts`).
CR_LABELS = {"00": "OK", "01": "Aucune identite trouvee", "02": "Plusieurs identites trouvees"}


def read_wsdl_actions(wsdl: Path = WSDL_FILE) -> dict[str, tuple[str, str]]:
    """operation → (input action, output action), from a WSDL's portType (wsaw:Action) and binding."""
    tree = etree.parse(str(wsdl), etree.XMLParser(resolve_entities=False, no_network=True))
    actions: dict[str, tuple[str, str]] = {}
    for op in tree.iterfind(f"{{{NS_WSDL}}}portType/{{{NS_WSDL}}}operation"):
        name = op.get("name")
        action_in, action_out = (_action(op.find(f"{{{NS_WSDL}}}{io}")) for io in ("input", "output"))
        actions[name] = (action_in, action_out)
    for op in tree.iterfind(f"{{{NS_WSDL}}}binding/{{{NS_WSDL}}}operation"):
        soap_op = op.find(f"{{{NS_WSDL_SOAP12}}}operation")
        if soap_op is not None and soap_op.get("soapAction") != actions[op.get("name")][0]:
            raise ValueError(f"{wsdl}: soapAction and wsaw:Action differ for {op.get('name')}")
    return actions


def _action(element) -> str | None:
    return element.get(f"{{{NS_WSAM}}}Action") or element.get(f"{{{NS_WSAW}}}Action")


ACTIONS = read_wsdl_actions()
OPERATION_BY_ACTION = {action_in: op for op, (action_in, _) in ACTIONS.items()}


# -- parsing -----------------------------------------------------------------------------------

_local = threading.local()
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype")


def _parser() -> etree.XMLParser:
    """One hardened parser per thread, so that no parser state is shared by concurrent requests."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=False, remove_pis=True, collect_ids=False)
        _local.parser = parser
    return parser


def parse_xml(body: bytes) -> etree._Element:
    """Parse a request body; refuse DTDs and entities outright (XXE, billion laughs)."""
    if any(marker in body for marker in _DTD_MARKERS):
        raise Refused(rules.SOAP_DTD)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise Refused(rules.SOAP_XML, error=str(exc)[:300]) from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise Refused(rules.SOAP_XML, error=str(exc)[:300]) from None
    if not _ascii_compatible(body):  # the byte scan above cannot see a DTD in UTF-16, UTF-32…
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise Refused(rules.SOAP_DTD)
    return root


_ASCII_DECLARATION = re.compile(rb"""
    ^(?:\xef\xbb\xbf)?\s*                                   # optional UTF-8 byte-order mark, blanks
    (?: <\?xml[^>]*?encoding\s*=\s*["'](?:utf-8|us-ascii|ascii|iso-8859-\d+)["'][^>]*\?>
      | <\?xml(?:(?!encoding)[^>])*\?>                       # a declaration without encoding: UTF-8
      | <(?!\?) )                                             # no declaration at all: UTF-8
    """, re.IGNORECASE | re.VERBOSE)


def _ascii_compatible(body: bytes) -> bool:
    """True when the body is in an ASCII-compatible encoding, so that a DTD would show as bytes."""
    return b"\x00" not in body and _ASCII_DECLARATION.match(body) is not None


@dataclass
class SoapRequest:
    """What the service reads from an envelope."""

    root: etree._Element
    body: etree._Element
    action: str | None = None
    message_id: str | None = None
    to: str | None = None
    lps: etree._Element | None = None
    bam: etree._Element | None = None
    security: bool = False
    unknown_headers: list[str] = field(default_factory=list)


def read_envelope(body: bytes) -> SoapRequest:
    root = parse_xml(body)
    if root.tag != f"{{{NS_SOAP12}}}Envelope":
        # SOAP 1.2 Part 1 §5.4.7: any root other than the SOAP 1.2 Envelope (a SOAP 1.1 one, a bare
        # request element…) is a VersionMismatch.
        raise Refused(rules.SOAP_VERSION, root=root.tag)
    header = body_el = None
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{{{NS_SOAP12}}}Header" and header is None and body_el is None:
            header = child
        elif child.tag == f"{{{NS_SOAP12}}}Body" and body_el is None:
            body_el = child
        else:
            raise Refused(rules.SOAP_ENVELOPE, problem=f"unexpected element {child.tag} in the Envelope")
    if body_el is None:
        raise Refused(rules.SOAP_ENVELOPE, problem="no Body")
    payload = [c for c in body_el if isinstance(c.tag, str)]
    if len(payload) != 1:
        raise Refused(rules.SOAP_ENVELOPE, problem=f"the Body holds {len(payload)} elements, not 1")
    request = SoapRequest(root=root, body=payload[0])
    if header is not None:
        for child in header:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in _WSA_SINGLE:
                # WS-Addressing 1.0 SOAP Binding §6.4.1: each of these at most once (InvalidCardinality)
                name = _WSA_SINGLE[tag]
                if getattr(request, name) is not None:
                    raise Refused(rules.WSA_CARDINALITY, header=f"wsa:{etree.QName(tag).localname}")
                setattr(request, name, (child.text or "").strip())
            elif tag == f"{{{NS_LPS}}}ContexteLPS":
                request.lps = child
            elif tag == f"{{{NS_BAM}}}ContexteBAM":
                request.bam = child
            elif tag == f"{{{NS_WSSE}}}Security":
                request.security = True
            else:
                request.unknown_headers.append(tag)
                targeted = child.get(_ROLE) in (None, *_ROLES_TARGETED)
                if targeted and child.get(_MUST_UNDERSTAND) in ("true", "1"):
                    raise Refused(rules.SOAP_MUSTUNDERSTAND, header=tag)
    return request


_WSA_SINGLE = {f"{{{NS_WSA}}}{name}": field_name
               for name, field_name in (("Action", "action"), ("MessageID", "message_id"), ("To", "to"))}
_MUST_UNDERSTAND = f"{{{NS_SOAP12}}}mustUnderstand"
_ROLE = f"{{{NS_SOAP12}}}role"
#: SOAP 1.2 Part 1 §2.2: the roles the ultimate receiver plays ("none" is never processed).
_ROLES_TARGETED = (f"{NS_SOAP12}/role/next", f"{NS_SOAP12}/role/ultimateReceiver")


_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def _by_tag(element: etree._Element) -> dict:
    """The first child of each tag (one pass over the children, cheaper than repeated find())."""
    children: dict = {}
    for child in element:
        children.setdefault(child.tag, child)
    return children


def _text(children: dict, tag: str) -> str | None:
    found = children.get(tag)
    return None if found is None else (found.text or "").strip()


_LPS_ID, _LPS_TEMPS, _LPS_LPS, _LPS_IDAM = (f"{{{NS_LPS}}}{n}" for n in ("Id", "Temps", "LPS", "IDAM"))
_BAM_ID, _BAM_TEMPS, _BAM_COUVERTURE = (f"{{{NS_BAM}}}{n}" for n in ("Id", "Temps", "COUVERTURE"))


def read_context_lps(lps: etree._Element | None) -> str:
    """Check the ContexteLPS header (CTXLPS v01_00) and return the software's IDAM."""
    if lps is None:
        raise Refused(rules.CTX_LPS, problem="is missing")
    if not lps.get("Version"):
        raise Refused(rules.CTX_LPS, problem="has no Version attribute")
    if lps.get("Nature") not in (None, "CTXLPS"):
        raise Refused(rules.CTX_LPS, problem=f"has Nature {lps.get('Nature')!r} instead of CTXLPS")
    children = _by_tag(lps)
    if not _text(children, _LPS_ID):
        raise Refused(rules.CTX_LPS, problem="has no Id")
    temps = _text(children, _LPS_TEMPS)
    if not temps or not _DATETIME.match(temps):
        raise Refused(rules.CTX_LPS, problem=f"has no valid Temps (xs:dateTime): {temps!r}")
    software = children.get(_LPS_LPS)
    idam = None if software is None else _text(_by_tag(software), _LPS_IDAM)
    if not idam:
        raise Refused(rules.CTX_LPS, problem="has no LPS/IDAM (the software authorisation number)")
    return idam


def check_context_bam(bam: etree._Element | None) -> None:
    """Check the ContexteBAM header (CTXBAM v01_02)."""
    if bam is None:
        raise Refused(rules.CTX_BAM, problem="is missing")
    if not bam.get("Version"):
        raise Refused(rules.CTX_BAM, problem="has no Version attribute")
    if bam.get("Nature") not in (None, "CTXBAM"):
        raise Refused(rules.CTX_BAM, problem=f"has Nature {bam.get('Nature')!r} instead of CTXBAM")
    children = _by_tag(bam)
    if not _text(children, _BAM_ID):
        raise Refused(rules.CTX_BAM, problem="has no Id")
    temps = _text(children, _BAM_TEMPS)
    if not temps or not _DATETIME.match(temps):
        raise Refused(rules.CTX_BAM, problem=f"has no valid Temps (xs:dateTime): {temps!r}")
    if _BAM_COUVERTURE not in children:
        raise Refused(rules.CTX_BAM, problem="has no COUVERTURE")


_TRAITS_CHILDREN = {"NomNaissance", "Prenom", "Sexe", "DateNaissance", "LieuNaissance"}
_VITALE_CHILDREN = {"MatriculeIndividu", "MatriculeOD", "NomNaissance", "DateNaissance", "RangNaissance"}


def _children(element: etree._Element, ns: str, allowed: set[str]) -> list[tuple[str, etree._Element]]:
    out = []
    prefix = f"{{{ns}}}"
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if not tag.startswith(prefix) or tag[len(prefix):] not in allowed:
            raise Refused(rules.BODY_OPERATION, element=tag, operation=f"{prefix} content")
        out.append((tag[len(prefix):], child))
    return out


def read_traits(element: etree._Element) -> TraitsQuery:
    values: dict[str, list[str]] = {}
    for name, child in _children(element, NS_RECSANS, _TRAITS_CHILDREN):
        values.setdefault(name, []).append((child.text or "").strip())
    one = {k: v[0] for k, v in values.items()}
    return TraitsQuery(one.get("NomNaissance"), tuple(values.get("Prenom", ())), one.get("Sexe"),
                       one.get("DateNaissance"), one.get("LieuNaissance"))


def _matricule(element: etree._Element) -> Matricule:
    children = _by_tag(element)
    parts = ("NumIdentifiant", "Cle", "TypeMatricule")
    return Matricule(*(_text(children, f"{{{NS_RECVIT}}}{name}") for name in parts))


def read_vitale(element: etree._Element) -> VitaleQuery:
    found: dict[str, etree._Element] = {}
    for name, child in _children(element, NS_RECVIT, _VITALE_CHILDREN):
        found.setdefault(name, child)

    def text(name):
        return None if name not in found else (found[name].text or "").strip()

    return VitaleQuery(
        _matricule(found["MatriculeIndividu"]) if "MatriculeIndividu" in found else None,
        _matricule(found["MatriculeOD"]) if "MatriculeOD" in found else None,
        text("NomNaissance"), text("DateNaissance"), text("RangNaissance"))


# -- answers -----------------------------------------------------------------------------------

def _el(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{escape(value)}</{name}>"


def render_ins(tag: str, nir: str, key: str | None, oid: str, start: str | None = None,
               end: str | None = None) -> str:
    """An `IdentifiantNationalSante` (INSACTIF / INSHISTO), children in the XSD's order."""
    return (f"<{tag}><IdIndividu>{_el('NumIdentifiant', nir)}{_el('Cle', key)}</IdIndividu>"
            f"{_el('OID', oid)}{_el('DateDeb', start)}{_el('DateFin', end)}</{tag}>")


def render_resultat(code: str, individu: str = "") -> str:
    """`RESULTAT` in the namespace of CNAM's answers (default namespace, as recorded)."""
    return (f'<RESULTAT xmlns="{NS_RESULTAT}"><CR><CodeCR>{code}</CodeCR>'
            f"<LibelleCR>{escape(CR_LABELS[code])}</LibelleCR></CR>{individu}</RESULTAT>")


def render_individu(active: str, history: list[str], tiq: dict[str, str | None]) -> str:
    tiq_xml = "".join(_el(name, tiq.get(name)) for name in
                      ("NomNaissance", "Prenom", "ListePrenom", "Sexe", "DateNaissance", "LieuNaissance"))
    return f"<INDIVIDU>{active}{''.join(history)}<TIQ>{tiq_xml}</TIQ></INDIVIDU>"


def render_outcome(outcome: Outcome) -> str:
    """The `RESULTAT` element of a search outcome: the CR, and for 00 the patient's INS and traits."""
    patient = outcome.patient
    if patient is None:
        return render_resultat(outcome.code)
    active = render_ins("INSACTIF", patient.nir, patient.nir_key, patient.oid)
    history = [render_ins("INSHISTO", e.nir, e.key, e.oid, e.start, e.end) for e in patient.ins_history]
    tiq = {
        "NomNaissance": patient.birth_name,
        "Prenom": patient.tiq_first_name or patient.first_name,
        "ListePrenom": patient.first_names,
        "Sexe": patient.sex,
        "DateNaissance": patient.birth_date,
        "LieuNaissance": patient.birth_place,
    }
    return render_resultat("00", render_individu(active, history, tiq))


def new_message_id() -> str:
    """A random (version 4) UUID as a URI; not for secrets, so `random` is enough and 20 times faster."""
    h = f"{random.getrandbits(128):032x}"
    return f"uuid:{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _wsa_headers(action: str, relates_to: str | None) -> str:
    relates = f"<wsa:RelatesTo>{escape(relates_to)}</wsa:RelatesTo>" if relates_to else ""
    return (f'<env:Header xmlns:wsa="{NS_WSA}"><wsa:Action>{escape(action)}</wsa:Action>'
            f"<wsa:MessageID>{new_message_id()}</wsa:MessageID>{relates}</env:Header>")


def envelope(payload: str, action: str, relates_to: str | None) -> bytes:
    """A SOAP 1.2 answer with its WS-Addressing headers (Action, MessageID, RelatesTo)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{NS_SOAP12}">'
            f"{_wsa_headers(action, relates_to)}<env:Body>{payload}</env:Body></env:Envelope>").encode()


# Where a fault's HTTP status comes from (the `fault_style` setting): CNAM's service (every fault, Sender
# ones included, comes with HTTP 500 — padoa/tlsi-ins `src/ins/insi-client.service.ts` reads a fault from
# a 500 answer, and its test against the qualification service, `src/ins/test/insi-client.test.ts` "fake
# IDAM", gets siram_100/desir_550 that way) or the SOAP 1.2 HTTP binding read strictly (Part 2 §7.5.2:
# Sender → 400).


def fault_http_status(spec: FaultSpec, style: str = "cnam") -> int:
    """HTTP 500 for every fault as CNAM answers; the strict SOAP 1.2 reading sends Sender faults with 400."""
    if spec.http_status is not None:
        return spec.http_status
    if style == "strict" and spec.code == "Sender":
        return 400
    return 500


#: The fault serialisation of CNAM's service as last recorded (padoa/tlsi-ins, commit e9d5c48 "fix unit
#: test due to changes in INSi reponse", `src/ins/utils/insi-helper.test.ts`): `soap:` on the Envelope,
#: `env:` on the Body which also declares `S:`, `S:` on the Fault and below, the reason's `xml:lang="en"`
#: (although the text is French), Code → Reason → Detail, no Header. tlsi-ins reads the raw text with
#: `<S:Subcode><S:Value>S:(.*)</S:Value>` and `<S:Text xml:lang="en">`, so the prefixes matter.
_FAULT_OPEN = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{NS_SOAP12}">'
               "{header}"
               f'<env:Body xmlns:S="{NS_SOAP12}" xmlns:env="{NS_SOAP12}">'
               '<S:Fault xmlns:ns4="http://schemas.xmlsoap.org/soap/envelope/"{wsa}>')
_FAULT_CLOSE = "</S:Fault></env:Body></soap:Envelope>"


def render_fault(spec: FaultSpec, *, relates_to: str | None = None, reason: str | None = None,
                 detail_text: str | None = None, problem_action: str | None = None,
                 problem_header: str | None = None, not_understood: str | None = None,
                 style: str = "cnam") -> bytes:
    """A SOAP 1.2 fault written as CNAM's service writes it (see `_FAULT_OPEN`): the ``siram_NNN``
    subcode a QName in the envelope namespace (``<S:Value>S:siram_100</S:Value>``), the detail a
    ``siram:Erreur`` whose ``messageID`` echoes the request's wsa:MessageID. The strict style adds the
    WS-Addressing headers the WS-A SOAP binding asks of a fault (Action, MessageID, RelatesTo)."""
    code = f"<S:Code><S:Value>S:{spec.code}</S:Value>{_subcodes(spec)}</S:Code>"
    text = f'<S:Reason><S:Text xml:lang="en">{escape(reason or spec.reason)}</S:Text></S:Reason>'
    detail = _fault_detail(spec, relates_to, detail_text, problem_action, problem_header)
    uses_wsa = ":" in (spec.subcode or "") or problem_action is not None or problem_header is not None
    wsa = f' xmlns:wsa="{NS_WSA}"' if uses_wsa else ""
    header = _fault_header(spec, relates_to, not_understood, style)
    return (_FAULT_OPEN.format(header=header, wsa=wsa) + code + text + detail + _FAULT_CLOSE).encode()


def _subcodes(spec: FaultSpec) -> str:
    if not spec.subcode:
        return ""
    subsub = f"<S:Subcode><S:Value>{spec.subsubcode}</S:Value></S:Subcode>" if spec.subsubcode else ""
    value = spec.subcode if ":" in spec.subcode else f"S:{spec.subcode}"
    return f"<S:Subcode><S:Value>{value}</S:Value>{subsub}</S:Subcode>"


def _fault_detail(spec: FaultSpec, relates_to: str | None, detail_text: str | None,
                  problem_action: str | None, problem_header: str | None) -> str:
    """`siram:Erreur` with its attributes in the order of the recorded desir_550 answer (code,
    messageID, severite), or a WS-Addressing problem detail."""
    if spec.detail_code:
        message_id = f" messageID={quoteattr(relates_to)}" if relates_to else ""
        return (f"<S:Detail><siram:Erreur code={quoteattr(spec.detail_code)}{message_id}"
                f' severite="{spec.severite}" xmlns:siram="{NS_SIRAM}">'
                f"{escape(detail_text or spec.detail_text or '')}</siram:Erreur></S:Detail>")
    if problem_action is not None:
        return (f"<S:Detail><wsa:ProblemAction><wsa:Action>{escape(problem_action)}</wsa:Action>"
                "</wsa:ProblemAction></S:Detail>")
    if problem_header is not None:
        return f"<S:Detail><wsa:ProblemHeaderQName>{problem_header}</wsa:ProblemHeaderQName></S:Detail>"
    return ""


def _fault_header(spec: FaultSpec, relates_to: str | None, not_understood: str | None, style: str) -> str:
    """No Header, as recorded, unless SOAP 1.2 needs one (Upgrade, NotUnderstood) or the strict style
    asks for the WS-Addressing headers of a fault."""
    blocks = ""
    if not_understood is not None:
        qname = etree.QName(not_understood)
        blocks += f'<soap:NotUnderstood xmlns:h="{qname.namespace}" qname="h:{qname.localname}"/>'
    if spec.code == "VersionMismatch":
        blocks += '<soap:Upgrade><soap:SupportedEnvelope qname="soap:Envelope"/></soap:Upgrade>'
    if style == "strict":
        relates = f"<wsa:RelatesTo>{escape(relates_to)}</wsa:RelatesTo>" if relates_to else ""
        blocks += (f'<wsa:Action xmlns:wsa="{NS_WSA}">{WSA_FAULT_ACTION}</wsa:Action>'
                   f'<wsa:MessageID xmlns:wsa="{NS_WSA}">{new_message_id()}</wsa:MessageID>'
                   + relates.replace("<wsa:RelatesTo>", f'<wsa:RelatesTo xmlns:wsa="{NS_WSA}">'))
    return f"<soap:Header>{blocks}</soap:Header>" if blocks else ""
