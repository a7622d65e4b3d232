"""Documented defects: the official ANS examples, each mutated to break exactly one Ségur rule.

The tests use this catalogue (every rule must have at least one mutant), and
``python -m segur.validators.segur_rules.measure`` runs the official packs on the same mutants to
measure what they let through. A mutant is a `Case`: the base example, an lxml mutation, the
element the finding must point at, and why it is a defect.

Bases are the official examples with their N1 PDF swapped for a PDF/A one (the PDF copy embedded
in ``BIO-CR-BIO_2024.01_TSH_1.xml``), so that a base passes every Ségur rule, warnings included.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from segur.kernel import ins
from segur.validators.segur_rules.context import HL7

NS = {"cda": HL7}
EXAMPLES = {
    "img_n1": "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml",
    "img_n3": "IMG_CR_IMG_2024.01.xml",
    "bio_n3": "BIO-CR-BIO_2024.01_TSH_1.xml",
    "doc_n1": "DOC_NON_STRUCTURE_CDA-R2-N1.xml",
}


def parse(data: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    return etree.fromstring(data, parser).getroottree()


def load_originals(pack_dir: Path) -> dict[str, bytes]:
    return {key: (Path(pack_dir) / "ExemplesCDA" / name).read_bytes() for key, name in EXAMPLES.items()}


def pdfa_base64(originals: dict[str, bytes]) -> str:
    """A real PDF/A-1b: the lab report copy embedded in the official CR-BIO example."""
    root = parse(originals["bio_n3"]).getroot()
    media = root.xpath("//cda:observationMedia/cda:value[@mediaType='application/pdf']", namespaces=NS)[0]
    return "".join(media.text.split())


def clean_bases(originals: dict[str, bytes]) -> dict[str, bytes]:
    """The official examples cleared of the two Ségur *warnings* they carry: the N1 bodies get a
    PDF/A, and the encounter start time of DOC_NON_STRUCTURE (``20200701134745``) its zone."""
    out = dict(originals)
    pdfa = pdfa_base64(originals)
    for key in ("img_n1", "doc_n1"):
        root = parse(originals[key]).getroot()
        root.find(f"{{{HL7}}}component/{{{HL7}}}nonXMLBody/{{{HL7}}}text").text = pdfa
        for low in root.xpath("cda:componentOf/cda:encompassingEncounter/cda:effectiveTime/cda:low"
                              "[@value='20200701134745']", namespaces=NS):
            low.set("value", "20200701134745+0200")
        out[key] = etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")
    return out


RESULT_CODE = "//cda:observation[cda:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6']/cda:code"
SVS = "urn:ihe:iti:svs:2008"


def example_result_codes(pack_dir: Path) -> set[tuple[str, str]]:
    """(code, codeSystem) of every lab result of the official examples: the stand-in for ANS's
    "JDV Circuit de la biologie", which the pack does not ship (see docs/segur-rules.md)."""
    codes = set()
    for path in sorted((Path(pack_dir) / "ExemplesCDA").glob("*.xml")):
        for code in parse(path.read_bytes()).getroot().xpath(RESULT_CODE, namespaces=NS):
            if code.get("code") and code.get("codeSystem"):
                codes.add((code.get("code"), code.get("codeSystem")))
    return codes


def svs_value_set(codes, oid: str = "1.2.250.1.999.1", name: str = "test biology result codes") -> bytes:
    """An IHE SVS RetrieveValueSetResponse, as the pack's jeuxDeValeurs/ files are written."""
    root = etree.Element(f"{{{SVS}}}RetrieveValueSetResponse", nsmap={None: SVS})
    value_set = etree.SubElement(root, f"{{{SVS}}}ValueSet", id=oid, displayName=name)
    concepts = etree.SubElement(value_set, f"{{{SVS}}}ConceptList")
    for code, system in sorted(codes):
        etree.SubElement(concepts, f"{{{SVS}}}Concept", code=code, codeSystem=system)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# -- mutation helpers ---------------------------------------------------------------------------------
def el(root, path: str):
    found = root.xpath(path, namespaces=NS)
    assert found, f"test setup: {path} not found"
    return found[0]


def set_attr(path: str, name: str, value: str) -> Callable:
    def mutate(root):
        el(root, path).set(name, value)
    return mutate


def remove(path: str) -> Callable:
    def mutate(root):
        node = el(root, path)
        node.getparent().remove(node)
    return mutate


def set_text(path: str, text: str) -> Callable:
    def mutate(root):
        el(root, path).text = text
    return mutate


def chain(*mutations: Callable) -> Callable:
    def mutate(root):
        for m in mutations:
            m(root)
    return mutate


def add_second_ins(root):
    first = el(root, "cda:recordTarget/cda:patientRole/cda:id[@root='1.2.250.1.213.1.4.10']")
    other = copy.deepcopy(first)
    other.set("extension", ins.with_key("2790351215190"))
    first.addnext(other)


def duplicate_record_target(root):
    target = el(root, "cda:recordTarget")
    target.addnext(copy.deepcopy(target))


def add_replacement(parent_root: str) -> Callable:
    """Add relatedDocument RPLC where the CDA schema puts it (before authorization/componentOf/component)."""
    def mutate(root):
        related = etree.fromstring(f'<relatedDocument xmlns="{HL7}" typeCode="RPLC"><parentDocument>'
                                   f'<id root="{parent_root}"/></parentDocument></relatedDocument>')
        after = root.xpath("cda:authorization|cda:componentOf|cda:component", namespaces=NS)[0]
        after.addprevious(related)
    return mutate


def append_to_pdf(tail: bytes) -> Callable:
    """Append bytes (e.g. an incremental update) to the N1 body's PDF."""
    def mutate(root):
        text = el(root, N1_TEXT)
        data = base64.b64decode("".join(text.text.split()))
        text.text = base64.b64encode(data + tail).decode()
    return mutate


def use_non_pdfa_body(pdf_source: str):
    """Put back the official (non PDF/A) PDF of an N1 example (done by `mutated_bytes`)."""
    def mutate(root):
        pass
    mutate.source = pdf_source
    return mutate


PATIENT = "cda:recordTarget/cda:patientRole"
INS_ID = f"{PATIENT}/cda:id[@root='1.2.250.1.213.1.4.10']"
IPP_ID = f"{PATIENT}/cda:id[@root='1.2.3.4.567.8.9.10']"
N1_TEXT = "cda:component/cda:nonXMLBody/cda:text"
PDF_COPY = "(//cda:observationMedia/cda:value[@mediaType='application/pdf'])[1]"
AUTHOR_ID = "cda:author[1]/cda:assignedAuthor/cda:id[@root='1.2.250.1.71.4.2.1']"
LEGAL_ID = "cda:legalAuthenticator/cda:assignedEntity/cda:id"
TSH_CODE = "(//cda:observation[cda:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6']/cda:code)[1]"
CR_IMG_TEMPLATE = "cda:templateId[@root='1.2.250.1.213.1.1.1.45']"
CR_BIO_TEMPLATE = "cda:templateId[@root='1.2.250.1.213.1.1.1.55']"
GENDER = f"{PATIENT}/cda:patient/cda:administrativeGenderCode"
CITIZEN_MAILTO = f"{PATIENT}/cda:telecom[starts-with(@value, 'mailto:')]"
LEGAL = "cda:legalAuthenticator/cda:assignedEntity"
LEGAL_TIME = "cda:legalAuthenticator/cda:time"
EFFECTIVE = "cda:effectiveTime"
ACT_START = "cda:documentationOf[1]/cda:serviceEvent/cda:effectiveTime/cda:low"
ENCOUNTER_TIME = "cda:componentOf/cda:encompassingEncounter/cda:effectiveTime"
PARENT_ID = "cda:relatedDocument/cda:parentDocument/cda:id"


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Case:
    rule: str
    base: str
    mutate: Callable
    target: str  # XPath (from the root) of the element the finding must point at
    why: str
    profile: str | None = None
    without_pack: bool = False  # run the Ségur rules without the pack (its value sets unread)
    without_value_sets: bool = False  # run them without the user's biology value set


MUTANTS: list[Case] = [
    Case("SEGUR-INS-001", "img_n1", remove(INS_ID), PATIENT, "INS removed"),
    Case("SEGUR-INS-002", "img_n1", set_attr(INS_ID, "extension", "27903512151898"), INS_ID, "truncated INS"),
    Case("SEGUR-INS-002", "bio_n3", set_attr(INS_ID, "extension", "2790351215 8989"), INS_ID,
         "INS with a space"),
    Case("SEGUR-INS-003", "img_n1", set_attr(INS_ID, "extension", "279035121518988"), INS_ID,
         "wrong NIR key"),
    Case("SEGUR-INS-004", "img_n3", add_second_ins, f"{PATIENT}/cda:id[2]", "two different INS"),
    Case("SEGUR-INS-005", "img_n1", set_attr(INS_ID, "root", "1.2.250.1.213.1.4.2"), f"{PATIENT}/cda:id[1]",
         "INS under the retired INS-C OID"),
    Case("SEGUR-INS-005", "bio_n3", set_attr(INS_ID, "root", "1.2.3.4.567.8.9.10"), f"{PATIENT}/cda:id[1]",
         "INS under the IPP's OID"),
    Case("SEGUR-INS-006", "img_n1", set_attr(GENDER, "code", "M"), INS_ID, "INS of a woman, sex M"),
    Case("SEGUR-INS-007", "img_n1",
         set_attr(CITIZEN_MAILTO, "value", "mailto:" + ins.with_key("2790351215190") + "@patient.mssante.fr"),
         f"{PATIENT}/cda:telecom[3]", "citizen address of another INS"),
    Case("SEGUR-PAT-001", "img_n3", duplicate_record_target, "cda:recordTarget[2]", "two patients"),
    Case("SEGUR-PAT-002", "img_n1", set_attr(f"{PATIENT}/cda:patient/cda:birthTime", "value", "19790332"),
         f"{PATIENT}/cda:patient/cda:birthTime", "31+1 March"),
    Case("SEGUR-PAT-002", "doc_n1", remove(f"{PATIENT}/cda:patient/cda:birthTime"), f"{PATIENT}/cda:patient",
         "no birth date"),
    Case("SEGUR-PAT-003", "bio_n3", remove(GENDER),
         f"{PATIENT}/cda:patient", "no sex"),
    Case("SEGUR-PAT-004", "img_n1", remove(f"{PATIENT}/cda:patient/cda:name/cda:family[@qualifier='BR']"),
         f"{PATIENT}/cda:patient", "no birth name"),
    Case("SEGUR-PS-001", "img_n1", set_attr(AUTHOR_ID, "root", "1.2.250.1.71.4.2.2"),
         "cda:author[1]/cda:assignedAuthor", "author identified by a structure OID"),
    Case("SEGUR-PS-002", "img_n3", set_attr(LEGAL_ID, "root", "1.2.250.1.71"), LEGAL,
         "legal authenticator under a truncated OID"),
    Case("SEGUR-PS-002", "img_n1", chain(set_attr(LEGAL_ID, "root", "1.2.250.1.213.1.4.10"),
                                         set_attr(LEGAL_ID, "extension", "279035121518989")),
         LEGAL, "radiology report endorsed by the patient"),
    Case("SEGUR-PS-003", "img_n1", set_attr(AUTHOR_ID, "extension", "01234560801"), AUTHOR_ID,
         "RPPS without its 8 prefix"),
    Case("SEGUR-BODY-001", "img_n1", set_attr(N1_TEXT, "mediaType", "text/plain"), N1_TEXT,
         "text/plain body"),
    Case("SEGUR-BODY-002", "doc_n1", set_text(N1_TEXT, "JVBERi0xLjUN*&^%"), N1_TEXT, "not base64"),
    Case("SEGUR-BODY-002", "bio_n3", set_text(PDF_COPY, "JVBERi0xLjQK!!!"), PDF_COPY,
         "CR-BIO PDF copy not base64"),
    Case("SEGUR-BODY-003", "bio_n3", set_text(PDF_COPY, _base64(b"%PDF-1.4 truncated")), PDF_COPY,
         "CR-BIO PDF copy truncated"),
    Case("SEGUR-BODY-003", "img_n1", set_text(N1_TEXT, _base64(b"Hello, this is not a PDF")), N1_TEXT,
         "base64 of plain text"),
    Case("SEGUR-BODY-004", "img_n1", use_non_pdfa_body("img_n1"), N1_TEXT,
         "the example's own PDF is not PDF/A"),
    Case("SEGUR-BODY-006", "doc_n1", append_to_pdf(b"\n99 0 obj\n<< /S /JavaScript /JS (app.alert(1)) "
                                                   b">>\nendobj\n%%EOF\n"),
         N1_TEXT, "PDF with JavaScript"),
    Case("SEGUR-BODY-005", "img_n1", remove("cda:templateId[@root='1.3.6.1.4.1.19376.1.2.20']"),
         "cda:component/cda:nonXMLBody", "N1 body without the N1 templateId"),
    Case("SEGUR-CODE-001", "img_n1", set_attr("cda:code", "codeSystem", "2.16.840.1.113883.6.96"), "cda:code",
         "document code outside the DMP typeCodes"),
    Case("SEGUR-CODE-002", "img_n3", set_attr("cda:code", "code", "11502-2"), "cda:code",
         "CR-IMG declared, lab report code"),
    Case("SEGUR-CODE-002", "img_n1", lambda root: None, "cda:code",
         "N1 radiology report forced to the CR-BIO volet", profile="CR-BIO"),
    Case("SEGUR-CODE-003", "bio_n3", set_attr(TSH_CODE, "code", "3016-4"), TSH_CODE,
         "TSH result coded 3016-4, check digit wrong: no such LOINC"),
    Case("SEGUR-CODE-003", "bio_n3", set_attr(TSH_CODE, "codeSystem", "2.16.840.1.113883.6.96"), TSH_CODE,
         "lab result under SNOMED CT instead of LOINC"),
    Case("SEGUR-CODE-004", "bio_n3", set_attr(TSH_CODE, "code", "24627-2"), TSH_CODE,
         "lab result coded with an imaging code (CT chest)"),
    Case("SEGUR-CODE-004", "bio_n3", set_attr(TSH_CODE, "code", "18748-4"), TSH_CODE,
         "lab result coded as a document type (18748-4, CR-IMG)"),
    Case("SEGUR-CODE-005", "bio_n3", lambda root: None, TSH_CODE, "CR-BIO checked without a pack",
         without_pack=True),
    Case("SEGUR-CODE-005", "bio_n3", lambda root: None, TSH_CODE,
         "CR-BIO checked without the biology value set", without_value_sets=True),
    Case("SEGUR-CODE-006", "bio_n3", set_attr(TSH_CODE, "code", "2951-2"), TSH_CODE,
         "TSH result coded 2951-2 (sodium), not in the value set"),
    Case("SEGUR-TITLE-001", "img_n3", remove("cda:title"), ".", "imaging report without a title"),
    Case("SEGUR-TITLE-001", "img_n1", set_text("cda:title", " \n "), "cda:title", "blank title"),
    Case("SEGUR-VOLET-001", "img_n3", remove(CR_IMG_TEMPLATE), "cda:code",
         "N3 CR-IMG without its volet templateId"),
    Case("SEGUR-VOLET-001", "bio_n3", remove(CR_BIO_TEMPLATE), "cda:code",
         "N3 CR-BIO without its volet templateId"),
    Case("SEGUR-TIME-001", "img_n1", set_attr(EFFECTIVE, "value", "20210108111700"), EFFECTIVE,
         "no time zone"),
    Case("SEGUR-TIME-001", "bio_n3", set_attr("cda:author/cda:time", "value", "20210104160527"),
         "cda:author/cda:time", "author time without zone"),
    Case("SEGUR-TIME-002", "img_n3", set_attr(EFFECTIVE, "value", "20210108"), EFFECTIVE, "day precision"),
    Case("SEGUR-TIME-002", "bio_n3", set_attr(EFFECTIVE, "value", "2021010816+0100"), EFFECTIVE,
         "hour precision"),
    Case("SEGUR-TIME-002", "img_n1", set_attr(EFFECTIVE, "value", "20210108+0100"), EFFECTIVE,
         "day precision with a zone (the XSD refuses it too)"),
    Case("SEGUR-TIME-003", "img_n1", set_attr(LEGAL_TIME, "value", "20211308111700+0100"), LEGAL_TIME,
         "month 13"),
    Case("SEGUR-TIME-003", "doc_n1", set_attr(EFFECTIVE, "value", "29181201120000+0100"), EFFECTIVE,
         "year 2918"),
    Case("SEGUR-TIME-003", "img_n3", set_attr(ACT_START, "value", "20210132102500+0100"), ACT_START,
         "act started on 32 January"),
    Case("SEGUR-TIME-003", "img_n1", set_attr(f"{ENCOUNTER_TIME}/cda:high", "value", "20210108092500+0100"),
         f"{ENCOUNTER_TIME}/cda:high", "encounter ends before it starts"),
    Case("SEGUR-TIME-004", "img_n1", set_attr(ACT_START, "value", "20210108102500"), ACT_START,
         "act start time without zone"),
    Case("SEGUR-TIME-004", "bio_n3", set_attr(f"{ENCOUNTER_TIME}/cda:low", "value", "2021010416"),
         f"{ENCOUNTER_TIME}/cda:low", "encounter hour without zone"),
    Case("SEGUR-VER-001", "img_n1", set_attr("cda:id", "root", "CR-2024-0001"), "cda:id",
         "id root not an OID"),
    Case("SEGUR-VER-002", "bio_n3", set_attr("cda:setId", "root", "LOT-2024-0001"), "cda:setId",
         "setId root is an HL7 RUID, neither OID nor UUID"),
    Case("SEGUR-VER-002", "bio_n3", set_attr("cda:setId", "root", "1.2.250.1.213.1.1.1.55.02024"),
         "cda:setId", "OID with a leading zero arc"),
    Case("SEGUR-VER-003", "img_n1", set_attr("cda:versionNumber", "value", "0"), "cda:versionNumber",
         "version 0"),
    Case("SEGUR-VER-004", "img_n1", remove("cda:relatedDocument"), "cda:versionNumber", "v2 without RPLC"),
    Case("SEGUR-VER-005", "img_n1", set_attr(PARENT_ID, "root", "1.2.250.1.213.1.1.1.45.2024.2.1"), PARENT_ID,
         "replaces itself"),
    Case("SEGUR-VER-005", "doc_n1", add_replacement("1.2.3.4"), PARENT_ID, "RPLC on a version 1"),
    Case("SEGUR-CONF-001", "img_n1", set_attr("cda:confidentialityCode", "code", "L"),
         "cda:confidentialityCode", "L is in the HL7 value set, not in the DMP's"),
]


def build(case: Case, bases: dict, originals: dict) -> bytes:
    """The mutated document's bytes."""
    root = parse(bases[case.base]).getroot()
    source = getattr(case.mutate, "source", None)
    if source is not None:
        original = parse(originals[source]).getroot()
        el(root, N1_TEXT).text = el(original, N1_TEXT).text
    else:
        case.mutate(root)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


