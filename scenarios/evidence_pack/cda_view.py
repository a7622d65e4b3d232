"""A CDA document as HTML a reviewer can read: header facts (patient, INS, author, custodian, dates,
codes), then the sections with their narrative text, or, for an N1 document, a link to its embedded file.

Kept apart from the evidence pack's page so that any other view (a web console) can reuse it. A CDA is
hostile input: it is parsed without DTDs, entities or network, and only the text of its nodes reaches the
page, escaped; the narrative block's elements are mapped onto a short list of harmless HTML tags, nothing
else (no attribute of the document is ever copied into markup).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from html import escape

from lxml import etree

NS = {"cda": "urn:hl7-org:v3"}

#: INS OIDs (docs/segur-rules.md, SEGUR-INS-001: ANS, Guide d'implémentation de l'INS)
INS_OIDS = {"1.2.250.1.213.1.4.8": "INS-NIR", "1.2.250.1.213.1.4.9": "INS-NIA",
            "1.2.250.1.213.1.4.10": "INS-NIR (test)", "1.2.250.1.213.1.4.11": "INS-NIR (demo)"}

#: the CDA narrative block elements shown, as the HTML tag that shows them (anything else: its text only)
NARRATIVE_TAGS = {"paragraph": "p", "list": "ul", "item": "li", "table": "table", "thead": "thead",
                  "tbody": "tbody", "tfoot": "tfoot", "tr": "tr", "th": "th", "td": "td",
                  "caption": "caption",
                  "br": "br", "content": "span", "sub": "sub", "sup": "sup"}


@dataclass
class CdaView:
    """What `render_cda` shows, and the embedded file of an N1 document (to be saved beside the page)."""

    html: str
    title: str = ""
    embedded: bytes | None = None
    embedded_type: str | None = None
    problems: list[str] = field(default_factory=list)


def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def parse(content: bytes):
    """The document's tree, parsed safely (no DTD, no entity expansion, no network); None if not XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(content, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def cda_date(value: str | None) -> str:
    """`20261206121724+0100` as `2026-12-06 12:17:24 +01:00` (a CDA TS, any precision)."""
    if not value:
        return ""
    digits, zone = value, ""
    for sign in "+-":
        if sign in value[4:]:
            cut = value.index(sign, 4)
            digits, zone = value[:cut], value[cut:]
            break
    parts = [digits[0:4], digits[4:6], digits[6:8]]
    date = "-".join(p for p in parts if p)
    time = ":".join(p for p in (digits[8:10], digits[10:12], digits[12:14]) if p)
    zone = f"{zone[:3]}:{zone[3:5]}" if len(zone) == 5 else zone
    return " ".join(p for p in (date, time, zone) if p)


def _first(node, path: str):
    found = node.xpath(path, namespaces=NS) if node is not None else []
    return found[0] if found else None


def _attr(node, path: str, name: str) -> str:
    found = _first(node, path)
    return (found.get(name) or "") if found is not None else ""


#: what a name part's qualifier says (CI-SIS: a patient's birth name and first birth first name are BR)
FAMILY_QUALIFIERS = {"BR": "birth name", "SP": "used name", "CL": "used name"}
GIVEN_QUALIFIERS = {"BR": "first name at birth", "CL": "used first name", "SP": "used first name"}


def person_name(node) -> str:
    """A CDA `name` as read aloud: `M Laurent CHEVALLIER`; with qualified parts (a patient's identity traits)
    each part says what it is: `PAT-TROIS (birth name); first names: DOMINIQUE MARIE; first name at
    birth: DOMINIQUE`."""
    if node is None:
        return ""
    parts = {tag: node.xpath(f"cda:{tag}", namespaces=NS) for tag in ("prefix", "given", "family")}
    if not any(p.get("qualifier") for p in parts["given"] + parts["family"]):
        name = " ".join(_text(p) for tag in ("prefix", "given", "family") for p in parts[tag])
        return name or _text(node)
    said = [f"{_text(f)} ({FAMILY_QUALIFIERS.get(f.get('qualifier') or '', 'name')})"
            for f in parts["family"]]
    plain = " ".join(_text(g) for g in parts["given"] if not g.get("qualifier"))
    if plain:
        said.append(f"first names: {plain}")
    said += [f"{GIVEN_QUALIFIERS.get(g.get('qualifier'), 'first name ' + g.get('qualifier'))}: {_text(g)}"
             for g in parts["given"] if g.get("qualifier")]
    return "; ".join(said)


def _text(node) -> str:
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


def _code(node) -> str:
    if node is None:
        return ""
    code, display, system = node.get("code"), node.get("displayName"), node.get("codeSystem")
    parts = (code, f"— {display}" if display else "", f"({system})" if system else "")
    return " ".join(p for p in parts if p)


def _ids(nodes) -> str:
    """`extension (root or its name)`; an id with a root only (a uniqueId) is that root."""
    return "; ".join(f"{n.get('extension')} ({INS_OIDS.get(n.get('root') or '', n.get('root') or '')})"
                     if n.get("extension") else (n.get("root") or "") for n in nodes)


def header_facts(root) -> list[tuple[str, str]]:
    """The header as (label, value) rows, in the order a reviewer checks them."""
    patient_role = _first(root, "cda:recordTarget/cda:patientRole")
    patient = _first(patient_role, "cda:patient")
    ins = [n for n in (patient_role.xpath("cda:id", namespaces=NS) if patient_role is not None else [])
           if n.get("root") in INS_OIDS]
    other_ids = [n for n in (patient_role.xpath("cda:id", namespaces=NS) if patient_role is not None else [])
                 if n.get("root") not in INS_OIDS]
    rows = [
        ("Title", _text(_first(root, "cda:title"))),
        ("Type (code)", _code(_first(root, "cda:code"))),
        ("Document id", _ids(root.xpath("cda:id", namespaces=NS))),
        ("Set id / version", f"{_ids(root.xpath('cda:setId', namespaces=NS))} / "
                             f"{_attr(root, 'cda:versionNumber', 'value')}"),
        ("Created", cda_date(_attr(root, "cda:effectiveTime", "value"))),
        ("Confidentiality", _code(_first(root, "cda:confidentialityCode"))),
        ("Patient", person_name(_first(patient, "cda:name"))),
        ("INS", _ids(ins) or "none (no patientRole/id under an INS OID)"),
        ("Other patient ids", _ids(other_ids)),
        ("Sex / born", f"{_attr(patient, 'cda:administrativeGenderCode', 'code')} / "
                       f"{cda_date(_attr(patient, 'cda:birthTime', 'value'))}"),
    ]
    for author in root.xpath("cda:author", namespaces=NS):
        assigned = _first(author, "cda:assignedAuthor")
        rows.append(("Author", ", ".join(p for p in (
            person_name(_first(assigned, "cda:assignedPerson/cda:name")),
            _ids(assigned.xpath("cda:id", namespaces=NS)) if assigned is not None else "",
            _code(_first(assigned, "cda:code")),
            _text(_first(assigned, "cda:representedOrganization/cda:name")),
            cda_date(_attr(author, "cda:time", "value"))) if p)))
    custodian = _first(root, "cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization")
    rows.append(("Custodian", ", ".join(p for p in (_text(_first(custodian, "cda:name")),
                                                    _ids(custodian.xpath("cda:id", namespaces=NS))
                                                    if custodian is not None else "") if p)))
    legal = _first(root, "cda:legalAuthenticator")
    if legal is not None:
        rows.append(("Legal authenticator", ", ".join(p for p in (
            person_name(_first(legal, "cda:assignedEntity/cda:assignedPerson/cda:name")),
            cda_date(_attr(legal, "cda:time", "value"))) if p)))
    event = _first(root, "cda:documentationOf/cda:serviceEvent")
    if event is not None:
        rows.append(("Act documented", ", ".join(p for p in (
            _code(_first(event, "cda:code")),
            cda_date(_attr(event, "cda:effectiveTime/cda:low", "value"))) if p)))
    return [(label, value) for label, value in rows if value.strip(" /")]


def narrative(node) -> str:
    """The narrative block as HTML: known elements mapped to harmless tags, text escaped, nothing else."""
    out = [e(node.text or "")]
    for child in node:
        tag = etree.QName(child).localname if isinstance(child.tag, str) else ""
        html_tag = NARRATIVE_TAGS.get(tag)
        if html_tag == "br":
            out.append("<br>")
        elif html_tag:
            out.append(f"<{html_tag}>{narrative(child)}</{html_tag}>")
        else:
            out.append(narrative(child))
        out.append(e(child.tail or ""))
    return "".join(out)


def sections(root) -> str:
    body = _first(root, "cda:component/cda:structuredBody")
    if body is None:
        return ""
    return "".join(_section(s, 4) for s in body.xpath("cda:component/cda:section", namespaces=NS))


def _section(section, level: int) -> str:
    title = _text(_first(section, "cda:title")) or "(untitled section)"
    code = _code(_first(section, "cda:code"))
    text = _first(section, "cda:text")
    inner = "".join(_section(s, min(level + 1, 6)) for s in section.xpath("cda:component/cda:section",
                                                                           namespaces=NS))
    return (f"<section class='cda-section'><h{level}>{e(title)}</h{level}>"
            + (f"<p class='muted'>{e(code)}</p>" if code else "")
            + (f"<div class='cda-text'>{narrative(text)}</div>" if text is not None else "")
            + inner + "</section>")


def embedded_file(root) -> tuple[bytes | None, str | None, str | None]:
    """The N1 body's file (bytes, media type), or else the first file a structured body embeds (the copy
    of the document an N3 report carries in an `observationMedia`), or a sentence saying why it is not
    readable."""
    body = _first(root, "cda:component/cda:nonXMLBody/cda:text")
    if body is None:
        body = _first(root, "cda:component/cda:structuredBody//cda:observationMedia/cda:value")
    if body is None:
        return None, None, None
    media = body.get("mediaType")
    if body.get("representation") != "B64":
        return None, media, f"nonXMLBody text has representation {body.get('representation')!r}, not B64"
    try:
        return base64.b64decode("".join((body.text or "").split()), validate=True), media, None
    except (binascii.Error, ValueError) as exc:
        return None, media, f"nonXMLBody text is not valid base64 ({exc})"


def render_cda(content: bytes, *, embedded_href: str | None = None) -> CdaView:
    """The HTML of one document. `embedded_href`: where the caller saves an N1 document's file (a link)."""
    root = parse(content)
    if root is None or etree.QName(root).localname != "ClinicalDocument":
        return CdaView("<p class='fail'>Not a readable CDA document (not XML, or not a ClinicalDocument): "
                       "see its file and its validation report.</p>", problems=["not a CDA document"])
    facts = header_facts(root)
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in facts)
    html = [f"<table class='cda-header'>{rows}</table>"]
    data, media, problem = embedded_file(root)
    if problem:
        html.append(f"<p class='fail'>Embedded file not readable: {e(problem)}</p>")
    elif data is not None:
        link = (f"<a href='{e(embedded_href)}'>{e(embedded_href.rsplit('/', 1)[-1])}</a>" if embedded_href
                else "not saved")
        what = ("N1 document: the body is an embedded file" if _first(root, "cda:component/cda:nonXMLBody")
                is not None else "The body embeds a file (observationMedia, a copy of the document)")
        html.append(f"<p>{what} ({e(media)}, {len(data)} bytes): {link}</p>")
    html.append(sections(root))
    return CdaView("".join(html), title=_text(_first(root, "cda:title")), embedded=data, embedded_type=media,
                   problems=[problem] if problem else [])
