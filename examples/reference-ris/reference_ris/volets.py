"""The documents of the other couloirs, for the reference products built on this code (`--sut reference-lgc`,
`reference-dpi`, `reference-pfi`): the LGC's volet de synthèse médicale (VSM, CDA R2 N3), the DPI's
lettre de liaison à la sortie, compte rendu opératoire and ordonnance de sortie (CDA R2 N1 with their PDF),
which a PFI relays for the DPI. The builders are the project's (`segur.fixtures.documents`); the codes are
those of ../shared/ref/couloirs.md (VSM: SYNTH of 1.2.250.1.213.1.1.4.12, Entete_VSM_2023.sch; the hospital
documents: LOINC of JDV_J07_XdsTypeCode_CISIS). The DMP metadata (classCode from ASS_X04, formatCode from
ASS_A11 or the N1 body's media type) is read from the CDA by the DMP client, as for the RIS's reports.

Seeded defects of these products (`defects.DEFECTS`), each applied here, where the mistake would live:
- `vsm-no-treatments`: the VSM leaves out its "Traitement au long cours" section, mandatory in the VSM volet;
- `ldl-wrong-class`: the lettre de liaison filed in the DMP with the classCode of a prescription (42), not
  the compte rendu class ASS_X04 gives its type;
- `relay-drops-ins`: the PFI relays the document with the hospital's local IPP where the DPI wrote the INS
  (its mapping rewrites the CDA's patient from the first PID-3 repetition, the IPP), while the XDS and XDM
  metadata it writes from the HL7 message still name the patient by the INS (`relayed`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from lxml import etree

from segur.fixtures.documents import (
    VSM_CODE,
    build_cro_n1,
    build_ldl_ses_n1,
    build_ordonnance_n1,
    build_vsm_n3,
)
from segur.fixtures.documents.hospital import CRO_CODE, LDL_SES_CODE, ORDONNANCE_CODE
from segur.fixtures.documents.pdf import make_pdf
from segur.kernel.ins import INS_OIDS
from segur.mocks.dmp.client import Coded

#: kind → (the document's code, as X-MSS-CODECDA and the typeCode carry it; its label in the subject)
CODES = {"CR-IMG": ("18748-4", "CR d'imagerie médicale"), "CR-BIO": ("11502-2", "CR d'examens biologiques"),
         "VSM": (VSM_CODE[0], "Synthèse médicale"), "LDL-SES": (LDL_SES_CODE[0], "Lettre de liaison"),
         "CRO": (CRO_CODE[0], "CR opératoire"), "ORDONNANCE": (ORDONNANCE_CODE[0], "Ordonnance")}
N1_BUILDERS = {"LDL-SES": build_ldl_ses_n1, "CRO": build_cro_n1, "ORDONNANCE": build_ordonnance_n1}
#: `ldl-wrong-class`: the classCode of a prescription (JDV_J57 / TRE_A03-ClasseDocument)
PRESCRIPTION_CLASS = ("42", "1.2.250.1.213.1.1.4.1", "Prescription")
#: the length of the stay a lettre de liaison reports (the letter is written at discharge)
STAY = dt.timedelta(days=3)


def handles(kind: str) -> bool:
    return kind == "VSM" or kind in N1_BUILDERS


def type_code(kind: str) -> str:
    return CODES[kind][0]


def label(kind: str) -> str:
    return CODES[kind][1]


def build(kind: str, patient, professional, organisation, options: dict, defect: str | None) -> bytes:
    """The document of `kind` for the patient, by the professional; `options` are `build_report`'s header
    options (ids, version, replaced document, INS overrides, PDF for the PDF defects)."""
    options = dict(options)
    if kind == "VSM":
        options.pop("pdf", None)  # an N3 VSM carries no PDF body
        omit = ("treatments",) if defect == "vsm-no-treatments" else ()
        return build_vsm_n3(patient, professional, organisation, omit_sections=omit, **options)
    pdf = options.pop("pdf", None)
    if kind == "LDL-SES":
        written = options.get("effective_time") or dt.datetime.now(ZoneInfo("Europe/Paris")).replace(
            microsecond=0)
        options.setdefault("effective_time", written)
        if isinstance(written, dt.datetime):
            options.update(admission=written - STAY, discharge=written)
    return N1_BUILDERS[kind](patient, professional, organisation, pdf, **options)


def class_code_defect(kind: str, defect: str | None):
    """For `ldl-wrong-class`: a change to the XDS entries giving the lettre de liaison a prescription's
    class (the DMP checks the class against ASS_X04); None otherwise."""
    if defect != "ldl-wrong-class" or kind != "LDL-SES":
        return None

    def wrong_class(_submission, entries):
        for entry in entries:
            entry.class_code = Coded(*PRESCRIPTION_CLASS)
    return wrong_class


HL7 = "{urn:hl7-org:v3}"


def rendering(document: bytes) -> bytes:
    """The PDF/A-1 rendering of a structured document that embeds no PDF (the VSM), sent beside its
    IHE_XDM.ZIP (LGC.MSS.02: the document and the PDF/A-1; MSS/CONF.26: the PDF made from the CDA): its
    title, the patient's birth name, first names and INS as the header carries them, then each section's
    title and text."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    title = root.findtext(f"{HL7}title") or "Document"
    patient = root.find(f"{HL7}recordTarget/{HL7}patientRole")
    ins = next((i.get("extension") for i in patient.iter(f"{HL7}id") if i.get("root") in INS_OIDS), "")
    name = patient.find(f"{HL7}patient/{HL7}name")
    family = next((f.text for f in name.iter(f"{HL7}family") if f.get("qualifier") == "BR"), None) \
        or name.findtext(f"{HL7}family") or ""
    given = " ".join(g.text or "" for g in name.iter(f"{HL7}given"))
    lines = [f"Patient : {family} {given}", f"INS : {ins}", ""]
    for section in root.iter(f"{HL7}section"):
        heading = section.findtext(f"{HL7}title")
        text = " ".join(" ".join(section.find(f"{HL7}text").itertext()).split()) \
            if section.find(f"{HL7}text") is not None else ""
        lines += [line for line in (heading, text[:400]) if line]
    return make_pdf(title, lines)


def relayed(document: bytes) -> bytes:
    """For `relay-drops-ins`: the document as the faulty PFI relays it, the INS of the patient's
    recordTarget replaced by the producing hospital's IPP (a 2.25 OID of the custodian's FINESS, as
    `segur.fixtures.documents.ids.local_patient_id` writes one)."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    role = root.find(f"{HL7}recordTarget/{HL7}patientRole")
    finess = next((i.get("extension") for i in root.iter(f"{HL7}id")
                   if i.getparent().tag == f"{HL7}representedCustodianOrganization"), "") or ""
    for element in list(role.iter(f"{HL7}id")):
        if element.get("root") in INS_OIDS:
            element.set("root", f"2.25.{int(hashlib.sha1(finess.encode()).hexdigest()[:30], 16)}")
            element.set("extension", f"IPP-{element.get('extension')[-6:]}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def send_relayed(client, document: bytes, defects) -> object:
    """For `relay-drops-ins`: ITI-41 with the XDS metadata of the document as the DPI sent it (the INS,
    taken from the HL7 message), carrying the relayed document without its INS."""
    submission, entries, _documents = client.prepare_submission(document)
    if defects.mutate is not None:
        defects.mutate(submission, entries)
    return client.send_submission(submission, entries, [relayed(document)], defects=defects)
