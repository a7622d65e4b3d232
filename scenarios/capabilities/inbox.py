"""Receiving by MSSanté (issue 15 §4): the harness delivers reports to the product's mailbox, the product
reads it over IMAP and integrates them.

Tasks (couloirs RIS, BIO, LGC, DPI; a PFI only `inbox-receipt-01` and `inbox-01`, below), after the core's:
- `inbox-receipt-01` (`send-mss` with `extra["read_receipt"]`): a report sent asking the recipient for a
  read receipt — the message carries `Disposition-Notification-To` (REM MSS/UX.33);
- `inbox-01`…`inbox-03` (`read-inbox`): before each, the harness (`prepare`) sends to the product's
  mailbox (`extra["mailbox"]`, the mailbox it sends from) a message from another professional of the world,
  through the mock's SMTP like any sender (STARTTLS, AUTH as that professional's mailbox), so it is
  journalled and stored like any message: the subject, X-MSS-NIL/INS/CODECDA headers, the CDA (built with
  `fixtures/` builders) in an IHE_XDM.ZIP and its PDF beside it. `inbox-01` is a report for a patient the
  product qualified through INSi earlier in the proof (`X-MSS-INS: O`), asking a read receipt;
  `inbox-02` a report whose identity the sender could not qualify (`X-MSS-INS: N`, the CDA carries the
  sender's local patient id, no INS); `inbox-03` the report of `inbox-01` again, same CDA, in a new message;
  `inbox-04` (couloirs RIS and DPI) a lab's CR-BIO N3 for the same patient whose results the biologist
  interpreted as abnormal or critical (`ABNORMAL_RESULTS`: interpretationCode HH, L, A) beside one out of
  its reference range yet interpreted normal (REM MSS/UX.18: judge by the interpretationCode, not the
  low/high values); `inbox-05` (couloirs RIS and LGC, whose REM approves MSS/UX.25 and MSS/UX.31) a
  professional's message with no document, then the answer of the patient the product wrote to in
  `citizen-01`, from `<INS>@patient.mssante.fr` as Mon espace santé sends it (no X-MSS-* header, no traits in
  the task): the product reports each message's `origin` (`patient` / `professional`) and, for the patient's,
  the `usager` it shows (birth name, first first name, INS), compared with what the INS names in the world;
  `inbox-06` (couloir LGC, REM LGC.INS/va1.63) a report for a patient the product never met, qualified in
  the sender's identity domain (`X-MSS-INS: O`) under the INS that domain holds: for a patient of the world
  whose identity changed (a NIA replaced by a NIR: `Patient.ins_history`), the *earlier* INS. Such data
  "en provenance d'un autre domaine d'identification" must make the product call INSi to verify the
  identity (REM text; INS guide rules 52, 53, 55). INSi v1.5.0 has no verification operation
  (docs/insi.md, "Verifying an INS"): a verification is a search — by the traits, here those of the CDA's
  patient (no carte Vitale is read for a document received by mail), or by the card — and the INS INSi
  returns is compared. The product reports the document integrated under the identity INSi returned (the
  active INS, whose INSHISTO holds the received one), not under the CDA's word alone.
  The product reads its mailbox and reports, as JSON in its output, what it did with each message:
  `{"inbox": [{"message_id", "status", "documents", "patient_ins"}]}` (docs/sut.md), and for a CR-BIO the
  results it flagged abnormal: `"abnormal": [{"code": "<LOINC>", "interpretation": "<code>"}]`.
- the CDA of `inbox-01` carries its producer's stylesheet (REM CDA/INT.15): an `xml-stylesheet` processing
  instruction in its prolog (W3C "Associating Style Sheets with XML documents 1.0"; the ANS examples of
  ../shared/ref/cda/ExemplesCDA all carry one, `href="../FeuilleDeStyle/CDA-FO.xsl"`) naming `STYLE.XSL`, a
  file the package holds beside the document in its subset folder (IHE ITI TF-2 §3.32.4.1.2: a subset
  folder holds METADATA.XML and the files it describes; the PI's relative href resolves there). The
  stylesheet is written for each delivery (its bytes differ from one run to the next). The product reports
  what it stored: `"stored": [{"id": "<CDA id>", "sha256": "<of the CDA>", "stylesheet_sha256": "<of the
  stylesheet>"}]`, compared with the bytes the harness delivered.
- a PFI (couloir PFI: it relays documents for the hospital's systems, ../shared/ref/couloirs.md) reads its
  mailbox and names the documents of the IHE_XDM.ZIP it took in (`inbox-01`, "integrated" meaning taken in
  for the destination system); what it then hands to that system over HL7v2 (PFI.MSS/UX.01) is not
  observed here, nor is an INS matching, a duplicate or a read receipt asked of it.

The checks read the MSSanté mock's journal — the IMAP commands (`imap-starttls`, `imap-login`,
`imap-select`, `imap-fetch`…, docs/mssante.md) and the messages the product sent — and what the harness
itself delivered (`task["prepared"]`); the product's report is compared with what it fetched, never
believed alone.
"""

from __future__ import annotations

import hashlib
import io
import re
import smtplib
import ssl
import urllib.parse
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from lxml import etree
from lxml.builder import ElementMaker

from segur.fixtures.documents.builders import BioResult, build_cr_bio_n3_minimal, build_cr_img_n1
from segur.fixtures.documents.ids import local_patient_id
from segur.fixtures.documents.pdf import make_pdf
from segur.kernel.ins import CITIZEN_MAIL_DOMAIN, OID_NIA
from segur.kernel.tenants import tenant_login
from segur.mocks.dmp import valuesets
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, CheckResult, judged, reported_list, tasks
from segur.scenarios.mime import read_message
from segur.scenarios.names import fold_name
from segur.scenarios.observe import cda_header, document_facts, header_addresses, insi_traits

NAME = "inbox"
READ_ACTION = "read-inbox"
READ, RECEIPT = "inbox", "inbox-receipt"  # the scenarios: reading the mailbox; sending asking a receipt
#: what the harness expects the product to do with the message it delivered before a reading task
INTEGRATED, HELD, ALREADY = "integrated", "not-integrated", "already-integrated"
#: what the harness expects of `inbox-06`: an INS from another identity domain, verified with INSi before the
#: report is integrated under the identity INSi returned (REM LGC.INS/va1.63)
VERIFIED = "integrated-after-insi"
STATUSES = (INTEGRATED, HELD, ALREADY, "ignored")
#: what the harness expects of `inbox-05`: a patient's message and a professional's told apart, the patient
#: shown by the identity the INS names (REM MSS/UX.25, MSS/UX.31)
FROM_PATIENT = "patient-told-apart"
#: the origins the product reports per received message
PATIENT, PROFESSIONAL = "patient", "professional"
#: the couloirs whose REM approves MSS/UX.25 and MSS/UX.31 (their BIO, DPI and PFI rows are obsolete)
PATIENT_COULOIRS = ("RIS", "LGC")
#: the report another professional sends, by its specialty (radiology: CR-IMG, else a lab's CR-BIO): the
#: builder, its LOINC code and the label of the subject
RADIOLOGY = "SM44"
#: the producer's stylesheet: its file name in the subset folder (ISO 9660 8.3, as the XDM files), and the
#: pseudo-attributes of the processing instruction naming it (W3C xml-stylesheet 1.0, §1)
STYLESHEET = "STYLE.XSL"
_STYLESHEET_PI = f'type="text/xsl" href="{STYLESHEET}"'
REPORTS = {"CR-IMG": (build_cr_img_n1, "18748-4", "CR d'imagerie médicale"),
           "CR-BIO": (build_cr_bio_n3_minimal, "11502-2", "CR d'examens biologiques")}


def report_kind(reporter) -> str:
    return "CR-IMG" if reporter.specialty_code == RADIOLOGY else "CR-BIO"


#: HL7 v3 ObservationInterpretation (code system 2.16.840.1.113883.5.83,
#: terminology.hl7.org/CodeSystem-v3-ObservationInterpretation): the codes saying a result is abnormal (A),
#: critical (AA, HH, LL), high or low (H, L) or past a panic or hard limit (HU, LU, HX, LX); N is normal
ABNORMAL = frozenset({"A", "AA", "H", "HH", "HU", "HX", "L", "LL", "LU", "LX"})
#: the lab results of `inbox-04` (LOINC codes, units of the ANS examples ref/cda BIO-CR-BIO_2024.01_*.xml):
#: TSH critically high, urea low, eosinophils abnormal with no reference range, and total proteins below
#: their range yet interpreted normal by the biologist (REM MSS/UX.18: the interpretationCode decides)
ABNORMAL_RESULTS = (
    BioResult("3016-3", "Thyréostimuline [Arbitraire/Volume] Sérum/Plasma ; Numérique", "52.000", "m[IU]/L",
              "0.270", "4.200", "HH", "Thyréostimuline (TSH)"),
    BioResult("22664-7", "Urée [Moles/Volume] Sérum/Plasma ; Numérique", "1.9", "mmol/L", "2.5", "7.5", "L",
              "Urée"),
    BioResult("26450-7", "Polynucléaires éosinophiles/100 leucocytes [Fraction de nombres] Sang ; Numérique",
              "9.5", "%", None, None, "A", "Polynucléaires éosinophiles"),
    BioResult("2885-2", "Protéines [Masse/Volume] Sérum/Plasma ; Numérique", "63", "g/L", "64", "83", "N",
              "Protéines totales"),
)


#: RFC 8098 §3.2.6: Disposition: <action-mode>/<sending-mode>; <disposition-type>[/<modifier>]
_DISPOSITION = re.compile(r"^\s*(manual|automatic)-action\s*/\s*MDN-sent-(manually|automatically)\s*;\s*"
                          r"(displayed|deleted|dispatched|processed)\b", re.IGNORECASE)
MDN_REPORT_TYPE = "disposition-notification"
#: what the evidence shows of each message the product sent
SENT_BRIEF = ("seq", "id", "to", "content_type", "report_type")


# --- plan -------------------------------------------------------------------------------------------------
def _reporter(context: PlanContext):
    """The professional whose reports the product receives: the last open mailbox of the world's other
    professionals (the core's MSSanté tasks send to the first ones)."""
    return context.recipients[-1]


#: the couloirs whose REM asks to read a CR-BIO's abnormal results (MSS/UX.18; its BIO row is obsolete)
ABNORMAL_COULOIRS = ("RIS", "DPI")
#: the couloir that relays documents for others (reads its mailbox but keeps no patient file)
RELAY = "PFI"
#: the couloirs that keep a patient file: the PFI relays (inbox-01 only), so inbox-02/-03 are not its
FILING_COULOIRS = ("RIS", "BIO", "LGC", "DPI")
#: the couloirs whose REM asks an INSi verification of an INS received from another domain (LGC.INS/va1.63)
VERIFY_COULOIRS = ("LGC",)


def plan_inbox(context: PlanContext) -> None:
    """The tasks of the module doc; the patient is the one of the first DMP task, whom the product has
    qualified through INSi by then (REM MSS/UX.07: integrated automatically when the INS is qualified and
    matches strictly the system's qualified INS)."""
    couloir = context.couloir.upper()
    known = next(p for p in context.plan.tasks if p.scenario == "dmp")
    patient = context.world.patient_by_key(known.patient_key)
    others = [p for p in context.citizen_patients if p.key not in context.used_patients()]
    receipt_patient = (others or context.citizen_patients)[0]
    context.add("inbox-receipt-01", "send-mss", receipt_patient, RECEIPT, "delivered",
                recipient=context.recipients[0].mailbox, extra={"read_receipt": True})
    reporter = _reporter(context)
    base = {"mailbox": context.sender, "from": reporter.mailbox}
    if couloir == RELAY:  # takes the documents in for the hospital's systems: keeps no patient file
        context.add("inbox-01", READ_ACTION, patient, READ, INTEGRATED, extra={**base, "ins_qualified": True})
        return
    context.add("inbox-01", READ_ACTION, patient, READ, INTEGRATED,
                extra={**base, "ins_qualified": True, "read_receipt": True, "stylesheet": True})
    context.add("inbox-02", READ_ACTION, patient, READ, HELD, extra={**base, "ins_qualified": False})
    context.add("inbox-03", READ_ACTION, patient, READ, ALREADY, extra={**base, "again_of": "inbox-01"})
    if couloir in ABNORMAL_COULOIRS:
        context.add("inbox-04", READ_ACTION, patient, READ, INTEGRATED,
                    extra={**base, "ins_qualified": True, "abnormal_results": True})
    if couloir in PATIENT_COULOIRS:
        plan_patient_message(context, reporter)
    if couloir in VERIFY_COULOIRS:
        stranger = other_domain_patient(context)
        context.add("inbox-06", READ_ACTION, stranger, READ, VERIFIED, traits={},
                    extra={**base, "ins_qualified": True, "other_domain": True})


def other_domain_patient(context: PlanContext):
    """A patient the plan never names (the product never qualified them), one INSi finds alone (no homonym):
    the first who was known under a NIA before receiving a NIR (the sender's domain holds the NIA), else the
    first whose INS changed otherwise, else the first left."""
    used = context.used_patients()
    left = sorted((p for p in context.world.patients if p.key not in used and not p.homonym_group
                   and not p.deceased and not p.known_defects), key=lambda p: p.key)
    changed = [p for p in left if p.identity_changed and p.ins_history]
    return next((p for p in changed if p.ins_history[0].oid == OID_NIA), (changed or left)[0])


def received_ins(patient) -> tuple[str, str]:
    """(OID, INS) the other identity domain holds for the patient: the earlier INS when it changed."""
    if patient.ins_history:
        earlier = patient.ins_history[0]
        return earlier.oid, earlier.value
    return patient.oid, patient.ins


def plan_patient_message(context: PlanContext, reporter) -> None:
    """`inbox-05`: the patient the product wrote to at Mon espace santé (`citizen-01`) answers from that
    address while another professional writes too. Only a professional may open a conversation with a
    patient (ANS, esante-martinique.fr "messagerie sécurisée de santé citoyenne"; REM SC.MSS/CONF.21: the
    professional may forbid the answer with X-MSS-MES: FIN), so the patient answers the product's message.
    The task gives no traits (`traits={}`): the product names the patient from the INS of the address."""
    citizen = context.plan.by_id("citizen-01")
    writer = context.world.patient_by_key(citizen.patient_key)
    context.add("inbox-05", READ_ACTION, writer, READ, FROM_PATIENT, traits={},
                extra={"mailbox": context.sender, "from": writer.citizen_mailbox,
                       "professional": reporter.mailbox, "answers": citizen.task.id})


# --- prepare: the harness delivers -----------------------------------------------------------------------
def report_for(world, patient, reporter, *, qualified: bool, results: tuple[BioResult, ...] = (),
               ins: tuple[str, str] | None = None) -> tuple[bytes, bytes]:
    """The CDA the other professional sends and its PDF rendering (the report of its specialty, or a CR-BIO
    N3 holding `results` when some are given), with the patient's INS when the identity is qualified (`ins`:
    the (OID, INS) the sender's domain holds, when not the active one), else only the sender's local patient
    id (IPP)."""
    build, _code, label = REPORTS["CR-BIO" if results else report_kind(reporter)]
    organisation = world.organisation_of(reporter)
    options = {"results": results} if results else {}
    if not qualified:
        root, extension = local_patient_id(patient, organisation)
        options.update(ins_oid=root, ins_value=extension)
    elif ins is not None:
        options.update(ins_oid=ins[0], ins_value=ins[1])
    lines = [f"Patient : {patient.birth_name} {patient.first_names}", f"Né(e) le {patient.birth_date}",
             "Compte rendu envoyé par MSSanté (harnais Ségur)."]
    pdf = make_pdf(label, lines, author=reporter.display_name)
    return build(patient, reporter, organisation, pdf=pdf, **options), pdf


#: IHE ITI TF-3 §4.2.5: the ebRIM objectType, classification and identification schemes of XDS metadata
_DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
_SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
_SCHEMES = {"classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
            "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
            "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
            "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
            "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
            "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
            "contentTypeCode": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"}
_IDENTIFIERS = {"patientId": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
                "uniqueId": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
                "ss.patientId": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
                "ss.sourceId": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
                "ss.uniqueId": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"}
_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
_LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
#: the subset directory and document file of the one-document package the harness sends (ITI TF-2 §3.32.4.1.2)
_SUBSET, _DOCUMENT = "IHE_XDM/SUBSET01", "DOC0001.XML"


def _utc(value: str | None) -> str | None:
    """An HL7 TS with its offset as the XDS DTM in UTC (YYYYMMDDhhmmss); a date alone is kept as it is."""
    found = re.fullmatch(r"(\d{8})(\d{4}(?:\d{2})?)?(?:\.\d+)?([+-]\d{4})?", value or "")
    if not found:
        return None
    day, clock, zone = found.groups()
    if not clock:
        return day
    moment = datetime.strptime(day + clock.ljust(6, "0"), "%Y%m%d%H%M%S")
    if zone:
        offset = timedelta(hours=int(zone[:3]), minutes=int(zone[0] + zone[3:]))
        moment -= offset
    return moment.strftime("%Y%m%d%H%M%S")


def _metadata(cda: bytes, organisation) -> bytes:
    """The METADATA.XML of a one-document IHE XDM package (an ebRS SubmitObjectsRequest, ITI TF-3 §4.2): the
    document entry described from the CDA as the harness reads it (`observe.cda_header`, `document_facts`),
    the codes of the French XDS value sets (`segur.mocks.dmp.valuesets`: ASS_X04 class, ASS_A11 format), the
    submission set and their HasMember association."""
    header, facts = cda_header(cda), document_facts(cda)
    patient_id = f"{header['ins']}^^^&{header['ins_oid']}&ISO^NH" if header.get("ins") else None
    formats = valuesets.format_codes_for_templates(facts.get("template_ids") or [])
    n1 = valuesets.format_code_for_n1(header["n1_media_type"]) if header.get("n1_media_type") else None
    format_code = n1 or (formats[0] if formats else None)
    class_code = valuesets.class_for_type(header["code"], header.get("code_system"))
    def coded(concept):
        return (concept.code, concept.system, concept.display) if concept else None

    codes = {"typeCode": (header["code"], header.get("code_system"), header.get("code_display")),
             "classCode": coded(class_code), "formatCode": coded(format_code),
             "confidentialityCode": (facts.get("confidentiality") or "N", "2.16.840.1.113883.5.25", "Normal"),
             "healthcareFacilityTypeCode": (organisation.facility_type, valuesets.SYSTEM_SECTEUR_ACTIVITE,
                                            organisation.facility_type_display),
             "practiceSettingCode": (organisation.practice_setting, "1.2.250.1.213.1.1.4.9",
                                     organisation.practice_setting_display)}
    traits = [f"PID-5|{header['birth_name']}^{header['first_given']}^^^^^L",
              f"PID-7|{header['birth_time']}", f"PID-8|{header['sex']}"]
    slots = {"creationTime": [_utc(header.get("effective_time"))], "hash": [hashlib.sha1(cda).hexdigest()],
             "size": [str(len(cda))], "languageCode": [facts.get("language") or "fr-FR"],
             "serviceStartTime": [_utc(facts.get("service_start"))],
             "serviceStopTime": [_utc(facts.get("service_stop"))],
             "sourcePatientId": [patient_id], "sourcePatientInfo": traits, "URI": [_DOCUMENT]}
    rim = ElementMaker(namespace=_RIM, nsmap={"rim": _RIM})
    request = etree.Element(f"{{{_LCM}}}SubmitObjectsRequest", nsmap={"lcm": _LCM, "rim": _RIM})
    objects = etree.SubElement(request, f"{{{_RIM}}}RegistryObjectList")

    def slot(name, values):
        return rim.Slot(rim.ValueList(*[rim.Value(v) for v in values if v]), name=name)

    def named(text):
        return rim.Name(rim.LocalizedString(value=text or ""))

    def classified(obj, scheme, code):
        return rim.Classification(slot("codingScheme", [code[1]]), named(code[2] or code[0]),
                                  classificationScheme=_SCHEMES[scheme], classifiedObject=obj,
                                  id=f"urn:uuid:{uuid.uuid4()}", nodeRepresentation=code[0])

    def identified(obj, scheme, value, label):
        return rim.ExternalIdentifier(named(label), identificationScheme=_IDENTIFIERS[scheme],
                                      registryObject=obj, id=f"urn:uuid:{uuid.uuid4()}", value=value)

    document, package = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    entry = rim.ExtrinsicObject(*[slot(n, v) for n, v in slots.items() if any(v)], named(header.get("title")),
                                id=document, mimeType="text/xml", objectType=_DOCUMENT_ENTRY)
    entry.extend(classified(document, scheme, code) for scheme, code in codes.items() if code and code[0])
    if patient_id:
        entry.append(identified(document, "patientId", patient_id, "XDSDocumentEntry.patientId"))
    entry.append(identified(document, "uniqueId", header["unique_id"], "XDSDocumentEntry.uniqueId"))
    submission = rim.RegistryPackage(slot("submissionTime", [datetime.now(UTC).strftime("%Y%m%d%H%M%S")]),
                                     id=package)
    submission.append(classified(package, "contentTypeCode", codes["healthcareFacilityTypeCode"]))
    submission.append(rim.Classification(classifiedObject=package, classificationNode=_SUBMISSION_SET,
                                         id=f"urn:uuid:{uuid.uuid4()}"))
    if patient_id:
        submission.append(identified(package, "ss.patientId", patient_id, "XDSSubmissionSet.patientId"))
    submission.append(identified(package, "ss.sourceId", f"1.2.250.1.71.4.2.2.{organisation.finess}",
                                 "XDSSubmissionSet.sourceId"))
    submission.append(identified(package, "ss.uniqueId", f"2.25.{uuid.uuid4().int}",
                                 "XDSSubmissionSet.uniqueId"))
    member = rim.Association(slot("SubmissionSetStatus", ["Original"]), id=f"urn:uuid:{uuid.uuid4()}",
                             associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
                             sourceObject=package, targetObject=document)
    objects.extend([entry, submission, member])
    return etree.tostring(request, xml_declaration=True, encoding="UTF-8")


def producer_stylesheet(organisation) -> bytes:
    """The producer's display stylesheet (XSLT 1.0, written by the harness): the document's title, its
    patient and each section's title and narrative text. A comment names the producer and one delivery, so
    its bytes are new each time (a product cannot report a fixed digest)."""
    producer = organisation.name.replace("--", "- -")  # "--" may not appear in an XML comment
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Feuille de style du producteur : {producer} (harnais Ségur, envoi {uuid.uuid4()}) -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:h="urn:hl7-org:v3">
  <xsl:output method="html" encoding="UTF-8"/>
  <xsl:template match="/h:ClinicalDocument">
    <html><head><title><xsl:value-of select="h:title"/></title></head><body>
      <h1><xsl:value-of select="h:title"/></h1>
      <p><xsl:value-of select="h:recordTarget/h:patientRole/h:patient/h:name/h:family"/></p>
      <xsl:for-each select=".//h:section">
        <h2><xsl:value-of select="h:title"/></h2><div><xsl:value-of select="h:text"/></div>
      </xsl:for-each>
    </body></html>
  </xsl:template>
</xsl:stylesheet>
""".encode()


def with_stylesheet(cda: bytes) -> bytes:
    """The CDA with the `xml-stylesheet` processing instruction naming `STYLESHEET` in its prolog."""
    root = etree.fromstring(cda, etree.XMLParser(resolve_entities=False, no_network=True))
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", _STYLESHEET_PI))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def xdm_package(cda: bytes, organisation, sender: str, stylesheet: bytes | None = None) -> bytes:
    """The IHE_XDM.ZIP of one CDA, as IHE ITI TF-2 §3.32.4.1.2 lays it out: README.TXT and INDEX.HTM at the
    root, IHE_XDM/SUBSET01/METADATA.XML and the document DOC0001.XML beside it, and the producer's
    `stylesheet` (STYLE.XSL, which the CDA's xml-stylesheet instruction names) when there is one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.TXT", f"Envoi MSSanté de {sender} (harnais Ségur) : un document CDA, "
                                       f"{_SUBSET}/{_DOCUMENT}.\r\n")
        archive.writestr("INDEX.HTM", f'<html><body><a href="{_SUBSET}/{_DOCUMENT}">{_DOCUMENT}</a>'
                                      "</body></html>\r\n")
        archive.writestr(f"{_SUBSET}/METADATA.XML", _metadata(cda, organisation))
        archive.writestr(f"{_SUBSET}/{_DOCUMENT}", cda)
        if stylesheet is not None:
            archive.writestr(f"{_SUBSET}/{STYLESHEET}", stylesheet)
    return buffer.getvalue()


def message_for(sender: str, mailbox: str, package: bytes, pdf: bytes | None, patient, kind: str, *,
                qualified: bool, read_receipt: bool) -> EmailMessage:
    """A report by MSSanté as a conformant sender writes it (docs/mssante.md): subject
    `XDM/1.0/DDM+<label> <NAME> <first name> <dd/mm/yyyy>`, X-MSS-NIL, X-MSS-INS (O/N), X-MSS-CODECDA, the
    IHE_XDM.ZIP and the PDF beside it; `Disposition-Notification-To` when a read receipt is asked."""
    _build, code, label = REPORTS[kind]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mailbox
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    year, month, day = patient.birth_date.split("-")
    message["Subject"] = f"XDM/1.0/DDM+{label} {patient.birth_name} {patient.first_name} {day}/{month}/{year}"
    message["X-MSS-NIL"] = "1"
    message["X-MSS-INS"] = "O" if qualified else "N"
    message["X-MSS-CODECDA"] = code
    if read_receipt:
        message["Disposition-Notification-To"] = sender
    message.set_content("Bonjour,\n\nveuillez trouver ci-joint le compte rendu.\n\nCordialement\n")
    message.add_attachment(package, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    if pdf:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="compte-rendu.pdf")
    return message


def submit(endpoints, admin, sender: str, mailbox: str, message: EmailMessage) -> str | None:
    """Send `message` through the mock's SMTP as `sender` (STARTTLS when offered, the CA of the stack, the
    mock's password for every world mailbox, from its `/_admin/health`); the mock's id of the message."""
    mss = endpoints["mssante"]
    smtp = mss["smtp"]
    password = admin.health("mssante")["credentials"]["default_password"]
    with smtplib.SMTP(smtp["host"], int(smtp["port"]), timeout=30) as client:
        client.ehlo()
        if smtp.get("starttls"):
            client.starttls(context=ssl.create_default_context(cafile=mss.get("ca_file") or None))
            client.ehlo()
        client.login(tenant_login(sender, mss.get("tenant") or ""), password)  # a shared stack's tenant
        client.mail(sender)
        client.rcpt(mailbox)
        code, reply = client.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
    found = re.search(rb"queued as (\S+)", reply or b"")
    return found.group(1).decode() if code == 250 and found else None


def attachments_of(raw: bytes) -> tuple[bytes | None, bytes | None]:
    """The IHE_XDM.ZIP and the PDF of a stored message."""
    package = pdf = None
    for part in read_message(raw).iter_attachments():
        name = (part.get_filename() or "").upper()
        if name == "IHE_XDM.ZIP":
            package = part.get_payload(decode=True)
        elif name.endswith(".PDF"):
            pdf = part.get_payload(decode=True)
    return package, pdf


def cdas_of(package: bytes | None) -> list[bytes]:
    """The CDA documents of an IHE_XDM.ZIP (every XML file of it that is a ClinicalDocument; a stylesheet
    names the element too)."""
    if not package:
        return []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return [data for data in (archive.read(n) for n in sorted(archive.namelist())
                                  if n.upper().endswith(".XML"))
                if b"ClinicalDocument" in data[:4096]]


def stylesheet_of(package: bytes | None) -> bytes | None:
    """The producer's stylesheet the package holds beside its document (None: it holds none)."""
    if not package:
        return None
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        name = f"{_SUBSET}/{STYLESHEET}"
        return archive.read(name) if name in archive.namelist() else None


def earlier_delivery(admin, task_id: str) -> str:
    """The mock's id of the message the harness delivered for an earlier reading task."""
    query = urllib.parse.urlencode({"operation": "smtp-message", "task": task_id})
    for entry in admin.call("mssante", f"journal?{query}")["entries"]:
        mock_id = (entry.get("meta") or {}).get("id")
        if mock_id:
            return mock_id
    raise LookupError(f"the MSSanté mock journalled no message delivered for {task_id}")


def prepare_inbox(context: PrepareContext) -> dict:
    """Deliver the reading task's message (module doc); what was delivered, as the harness built it."""
    planned = context.planned
    task = planned.task
    if task.action != READ_ACTION:
        return {}
    extra = task.extra
    if extra.get("professional"):
        return prepare_patient_message(context)
    sender, mailbox = extra["from"], extra["mailbox"]
    patient = context.world.patient_by_key(planned.patient_key)
    reporter = next(p for p in context.world.professionals if p.mailbox == sender)
    again = extra.get("again_of")
    delivered = {"mock_id": None, "message_id": None, "from": sender, "to": mailbox, "again_of": again}
    try:
        if again:  # the same IHE_XDM.ZIP (the same CDA, byte for byte) in a new message
            package, pdf = attachments_of(context.admin.mss_raw(earlier_delivery(context.admin, again)))
            qualified = True
        else:
            qualified = bool(extra.get("ins_qualified"))
            results = ABNORMAL_RESULTS if extra.get("abnormal_results") else ()
            domain_ins = received_ins(patient) if extra.get("other_domain") else None
            cda, pdf = report_for(context.world, patient, reporter, qualified=qualified, results=results,
                                  ins=domain_ins)
            organisation = context.world.organisation_of(reporter)
            stylesheet = producer_stylesheet(organisation) if extra.get("stylesheet") else None
            if stylesheet is not None:
                cda = with_stylesheet(cda)
            package = xdm_package(cda, organisation, sender, stylesheet)
        kind = "CR-BIO" if extra.get("abnormal_results") else report_kind(reporter)
        message = message_for(sender, mailbox, package, pdf, patient, kind,
                              qualified=qualified, read_receipt=bool(extra.get("read_receipt")))
        delivered["mock_id"] = submit(context.endpoints, context.admin, sender, mailbox, message)
    except (OSError, smtplib.SMTPException, LookupError) as exc:  # the harness's failure, not the product's
        return {"delivered": {**delivered, "error": f"{type(exc).__name__}: {exc}"[:300]}}
    cdas, stylesheet = cdas_of(package), stylesheet_of(package)
    headers = [cda_header(c) for c in cdas]
    documents = [{"id": h.get("unique_id"), "ins": h.get("ins"), "ins_oid": h.get("ins_oid"),
                  "sha256": hashlib.sha256(c).hexdigest(), **patient_traits(h)}
                 for h, c in zip(headers, cdas, strict=True)]
    return {"delivered": {**delivered, "message_id": message["Message-ID"], "x_mss_ins": message["X-MSS-INS"],
                          "read_receipt": message["Disposition-Notification-To"], "documents": documents,
                          "stylesheet": {"name": f"{_SUBSET}/{STYLESHEET}",
                                         "sha256": hashlib.sha256(stylesheet).hexdigest()}
                          if stylesheet is not None else None,
                          "results": [r for c in cdas for r in lab_results(c)]}}


def patient_traits(header: dict) -> dict:
    """The CDA patient's traits an INSi search would carry (birth name, first birth first name, sex, birth
    date as INSi writes it, YYYY-MM-DD), read by the harness in the document it delivered."""
    birth = str(header.get("birth_time") or "")
    birth_date = f"{birth[:4]}-{birth[4:6]}-{birth[6:8]}" if len(birth) >= 8 else None
    return {"birth_name": header.get("birth_name"), "first_given": header.get("first_given"),
            "sex": header.get("sex"), "birth_date": birth_date}


def professional_note(sender: str, mailbox: str) -> EmailMessage:
    """A professional's message with no document: X-MSS-NIL as on every message an LPS sends (Réf. #2
    ECO.2.4.3), no X-MSS-INS nor X-MSS-CODECDA (set only with an IHE_XDM.ZIP, ECO.2.4.1/2)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mailbox
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message["Subject"] = "Demande d'avis"
    message["X-MSS-NIL"] = "1"
    message.set_content("Bonjour,\n\npouvez-vous me rappeler au sujet d'un patient commun ?\n")
    return message


def patient_answer(writer, mailbox: str, answered: dict | None) -> EmailMessage:
    """The patient's message from Mon espace santé: from `<INS>@patient.mssante.fr` (the address is all it
    says of the patient: REM MSS/UX.31 asks the product to show more than it), a reply to the product's
    message when the harness found it (In-Reply-To and References, RFC 5322 §3.6.4). No X-MSS-* header:
    Réf. #2 asks them of a professional's client; no public text says Mon espace santé adds one."""
    message = EmailMessage()
    message["From"] = writer.citizen_mailbox
    message["To"] = mailbox
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=CITIZEN_MAIL_DOMAIN)
    message["Subject"] = "Question sur mon compte rendu"
    if answered and answered.get("message_id"):
        message["In-Reply-To"] = answered["message_id"]
        message["References"] = answered["message_id"]
    message.set_content("Bonjour,\n\nmerci pour le compte rendu. Dois-je prendre rendez-vous ?\n")
    return message


def product_message(admin, task_id: str, address: str) -> dict | None:
    """The message the product sent to `address` in an earlier task (its Message-ID), from the MSSanté
    journal; None when it sent none there."""
    query = urllib.parse.urlencode({"operation": "smtp-message", "task": task_id})
    for entry in admin.call("mssante", f"journal?{query}")["entries"]:
        request, response = entry.get("request") or {}, entry.get("response") or {}
        if address.lower() in {a.lower() for a in response.get("delivered_to") or []}:
            return {"task": task_id, "message_id": request.get("message_id")}
    return None


def _sent(message: EmailMessage, mock_id: str | None, origin: str) -> dict:
    return {"mock_id": mock_id, "message_id": message["Message-ID"], "from": message["From"],
            "to": message["To"], "origin": origin}


def prepare_patient_message(context: PrepareContext) -> dict:
    """Deliver `inbox-05`'s two messages (a professional's, then the patient's answer) through the mock's
    SMTP, each logged in as its sender; what the INS of the patient's address names in the world."""
    extra = context.planned.task.extra
    writer = context.world.patient_by_key(context.planned.patient_key)
    mailbox = extra["mailbox"]
    usager = {"birth_name": writer.birth_name, "first_name": writer.first_names.split()[0],
              "ins": writer.ins}
    delivered = {"mock_id": None, "message_id": None, "from": writer.citizen_mailbox, "to": mailbox,
                 "origin": PATIENT, "usager": usager, "answers": None}
    try:
        note = professional_note(extra["professional"], mailbox)
        note_id = submit(context.endpoints, context.admin, extra["professional"], mailbox, note)
        alongside = [_sent(note, note_id, PROFESSIONAL)]
        answered = product_message(context.admin, extra["answers"], writer.citizen_mailbox)
        answer = patient_answer(writer, mailbox, answered)
        mock_id = submit(context.endpoints, context.admin, writer.citizen_mailbox, mailbox, answer)
    except (OSError, smtplib.SMTPException, LookupError) as exc:  # the harness's failure, not the product's
        return {"delivered": {**delivered, "error": f"{type(exc).__name__}: {exc}"[:300]}, "alongside": []}
    return {"delivered": {**delivered, **_sent(answer, mock_id, PATIENT), "answers": answered},
            "alongside": alongside}


_HL7 = {"h": "urn:hl7-org:v3"}
#: IHE PaLM Laboratory Observation (CR-BIO: FR-Resultat-examens-de-biologie), and its own interpretationCode
#: (not the one of its referenceRange, which says what the range is)
_LAB_OBSERVATION = "h:observation[h:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6']"


def lab_results(cda: bytes) -> list[dict]:
    """Each lab result of a CDA as the harness reads it: its LOINC code and the biologist's
    interpretationCode (None when it has none)."""
    root = etree.fromstring(cda, etree.XMLParser(resolve_entities=False, no_network=True))
    found = []
    for observation in root.xpath(f".//{_LAB_OBSERVATION}", namespaces=_HL7):
        code = observation.find("h:code", _HL7)
        interpretation = observation.find("h:interpretationCode", _HL7)
        found.append({"code": code.get("code") if code is not None else None,
                      "interpretation": interpretation.get("code") if interpretation is not None else None})
    return found


# --- observe: what the mock saw -------------------------------------------------------------------------
def _imap_brief(entry: dict) -> dict:
    """One IMAP command of the journal as the checks read it."""
    request, response = entry.get("request") or {}, entry.get("response") or {}
    client = entry.get("client") or {}
    command = request.get("command") or ("LOGIN" if entry["operation"] == "imap-login" else None)
    return {"seq": entry["seq"], "time": entry["time"], "operation": entry["operation"],
            "verdict": entry["verdict"], "command": command, "session": client.get("session"),
            "login": client.get("login") or request.get("login"),
            "tls": (client.get("tls") or {}).get("version"), "mailbox": request.get("mailbox"),
            "content": request.get("content"), "flags": request.get("flags"), "mode": request.get("mode"),
            "messages": [{k: m.get(k) for k in ("uid", "message_id", "mock_id")}
                         for m in response.get("messages") or []]}


def _addresses(message, name: str) -> list[str]:
    return [address.lower() for address in header_addresses(message, name)]


def sent_facts(raw: bytes) -> dict:
    """What the harness reads in a message the product sent (its own MIME reader): its type, the read
    receipt it asks for, and for an MDN (RFC 8098 §3: multipart/report; report-type=disposition-notification)
    the fields of its message/disposition-notification part."""
    message = read_message(raw)
    report_type = message.get_param("report-type")
    facts = {"content_type": message.get_content_type(),
             "report_type": report_type.lower() if isinstance(report_type, str) else None,
             "header_from": _addresses(message, "From"),
             "disposition_notification_to": _addresses(message, "Disposition-Notification-To"),
             "mdn": None}
    for part in message.walk():
        if part.get_content_type() != "message/disposition-notification":
            continue
        payload = part.get_payload()
        fields = payload[0] if isinstance(payload, list) and payload else None
        if fields is not None:
            facts["mdn"] = {name: str(fields.get(name) or "").strip() or None for name in
                            ("Original-Message-ID", "Final-Recipient", "Original-Recipient", "Disposition")}
        break
    return facts


def _sent_brief(entry: dict, admin) -> dict:
    request, response, meta = entry.get("request") or {}, entry.get("response") or {}, entry.get("meta") or {}
    brief = {"seq": entry["seq"], "time": entry["time"], "id": meta.get("id"), "verdict": entry["verdict"],
             "from": request.get("from"), "to": request.get("to") or [],
             "delivered_to": response.get("delivered_to") or [], "message_id": request.get("message_id")}
    if admin is not None and meta.get("id"):
        try:
            brief.update(sent_facts(admin.mss_raw(meta["id"])))
        except (OSError, LookupError, ValueError) as exc:
            brief["unread"] = f"{type(exc).__name__}: {exc}"
    return brief


def observe_inbox(context: ObserveContext) -> dict:
    """The task's IMAP commands (every session), the messages the product sent from its mailbox, and what
    the harness delivered."""
    task = context.task
    mailbox = ((task.get("extra") or {}).get("mailbox") or task.get("sender") or "").lower()
    entries = [e for e in context.journals.get("mssante", []) if context.in_task(e, "mssante")]
    imap = [_imap_brief(e) for e in entries if e["operation"].startswith("imap-")]
    sent = [_sent_brief(e, context.admin) for e in entries if e["operation"] == "smtp-message"
            and str((e.get("client") or {}).get("login") or "").lower() == mailbox]
    insi = [{"seq": e["seq"], "operation": e["operation"], "verdict": e["verdict"]}
            for e in context.journals.get("insi", []) if context.in_task(e, "insi")]
    facts = {"mailbox": mailbox, "delivered": context.prepared.get("delivered"), "imap": imap, "sent": sent,
             "alongside": context.prepared.get("alongside") or [], "insi": insi}
    if (task.get("extra") or {}).get("other_domain"):
        facts["insi_searches"] = insi_searches(context, (context.prepared.get("delivered") or {}))
    return facts


def insi_searches(context: ObserveContext, delivered: dict) -> list[dict]:
    """Every INSi search of the task, and every one of the run that names the delivered CDA's patient (by
    traits, or by a card carrying the NIR of the INS the CDA holds): when, in which task, what it carried
    and what INSi answered (code, active INS, the INS of its INSHISTO)."""
    documents = delivered.get("documents") or []
    found = []
    for entry in context.journals.get("insi", []):
        if not entry["operation"].startswith("rechercher"):
            continue
        sent, mine = insi_traits(entry), context.in_task(entry, "insi")
        names = [d for d in documents if names_patient(sent, d)]
        if not (mine or names):
            continue
        meta = entry.get("meta") or {}
        found.append({"seq": entry["seq"], "time": entry["time"], "task": entry.get("task"), "in_task": mine,
                      "operation": entry["operation"], "verdict": entry["verdict"],
                      "code": meta.get("code_cr"), "ins": meta.get("ins"), "oid": meta.get("oid"),
                      "traits": sent, "history": history_of(entry), "names_patient": bool(names)})
    return found


def names_patient(sent: dict, document: dict) -> bool:
    """An INSi search is about the CDA's patient: its birth name and birth date are the CDA's, or it is a
    card search carrying the NIR of the INS the CDA holds and the CDA's birth date."""
    same_birth = str(sent.get("birth_date") or "") == str(document.get("birth_date") or "")
    by_traits = fold_name(sent.get("birth_name")) == fold_name(document.get("birth_name")) and same_birth
    card = str(sent.get("vitale_nir") or "").upper()
    return by_traits or bool(card and card == str(document.get("ins") or "")[:13].upper() and same_birth)


def history_of(entry: dict) -> list[str]:
    """The INS of the INSHISTO elements of an INSi answer (INSi_RESULTAT.xsd), from the journalled body."""
    body = (entry.get("response") or {}).get("body") or {}
    text = body.get("text") or ""
    if body.get("encoding") != "text" or "INSHISTO" not in text:
        return []
    root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    found = []
    for histo in root.xpath("//*[local-name()='INSHISTO']"):
        number = histo.xpath(".//*[local-name()='NumIdentifiant']/text()")
        key = histo.xpath(".//*[local-name()='Cle']/text()")
        if number:
            found.append(number[0] + (key[0] if key else ""))
    return found


# --- the checks -----------------------------------------------------------------------------------------
def _seen(task: dict) -> dict:
    return (task.get("observed") or {}).get(NAME) or {"imap": [], "sent": [], "delivered": None}


def _tls(version: str | None) -> tuple[int, ...]:
    """`TLSv1.3` → (1, 3); `TLSv1` → (1, 0); nothing → ()."""
    found = re.fullmatch(r"TLSv(\d+)(?:\.(\d+))?", version or "")
    return (int(found.group(1)), int(found.group(2) or 0)) if found else ()


def fetched(task: dict) -> set[str]:
    """The Message-IDs whose content the product fetched over IMAP, after STARTTLS, in the task."""
    return {m["message_id"] for e in _seen(task)["imap"]
            if e["operation"] == "imap-fetch" and e["verdict"] == "ok" and e["content"] and e["tls"]
            for m in e["messages"] if m.get("message_id")}


def claims(task: dict) -> list[dict] | None:
    """What the product says it did with each message: the `inbox` list of its JSON (`reported_list`)."""
    return reported_list(task, "inbox")


def claim_for(task: dict, message_id: str | None) -> dict | None:
    return next((c for c in claims(task) or [] if c.get("message_id") == message_id), None)


def _documents(claim: dict) -> set[str]:
    return {str(d) for d in claim.get("documents") or []}


def _delivered(task: dict) -> dict:
    return _seen(task).get("delivered") or {}


def undelivered(task: dict) -> dict | None:
    """The blocker of a reading task whose message the harness could not deliver (its own failure: the
    checks cannot judge the product on it), else None."""
    delivered = _delivered(task)
    if delivered.get("mock_id") and delivered.get("message_id"):
        return None
    why = delivered.get("error") or "the mock gave no id for it"
    return {"check": None, "task": task["task"]["id"],
            "reason": f"the harness could not deliver its message to {delivered.get('to')}: {why}"}


def delivered_tasks(run: dict, blocked: list, wanted: Callable[[dict], bool]) -> Iterator[dict]:
    """The reading tasks `wanted` selects whose message the harness delivered; a selected task it could not
    deliver goes to `blocked` instead (`undelivered`: the checks cannot judge the product on it)."""
    for task in tasks(run, READ):
        if not wanted(task):
            continue
        blocker = undelivered(task)
        if blocker:
            blocked.append(blocker)
            continue
        yield task


def expecting(expect: str) -> Callable[[dict], bool]:
    """`delivered_tasks`' selection of the tasks planned with this `expect`."""
    return lambda task: task["expect"] == expect


def with_extra(name: str) -> Callable[[dict], bool]:
    """`delivered_tasks`' selection of the tasks whose `extra` sets `name`."""
    return lambda task: bool((task["task"].get("extra") or {}).get(name))


def _not_read(task: dict) -> str | None:
    """Why the task's delivered message cannot be judged as read (None: the product fetched it)."""
    delivered = _delivered(task)
    if delivered["message_id"] not in fetched(task):
        return (f"{task['task']['id']}: the message {delivered['message_id']} delivered to "
                f"{delivered['to']} was never fetched (content) over IMAP with STARTTLS in the task")
    return None


def _claim_problem(task: dict) -> tuple[dict | None, str | None]:
    """The product's word on the task's delivered message, or why there is none."""
    task_id, delivered = task["task"]["id"], _delivered(task)
    said = claims(task)
    if said is None:
        return None, (f"{task_id}: the product reported no JSON `inbox` list of what it did with its mail "
                      "(docs/sut.md)")
    claim = claim_for(task, delivered.get("message_id"))
    if claim is None:
        return None, f"{task_id}: the product does not say what it did with {delivered.get('message_id')}"
    return claim, None


def _unfetched_claims(task: dict) -> list[str]:
    """Messages the product says it integrated in the task that it did not fetch in the task."""
    read = fetched(task)
    return [f"{task['task']['id']}: the product says it integrated {c.get('message_id')}, which it did not "
            "fetch over IMAP in the task" for c in claims(task) or []
            if c.get("status") == INTEGRATED and c.get("message_id") not in read]


def check_imap_starttls(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, READ):
        task_id, seen = task["task"]["id"], _seen(task)
        imap, mailbox = seen["imap"], seen.get("mailbox")
        attempts = [e for e in imap if e["command"] in ("LOGIN", "AUTHENTICATE")
                    or e["operation"] == "imap-login"]
        logins = [e for e in imap if e["operation"] == "imap-login" and e["verdict"] == "ok"
                  and str(e["login"] or "").lower() == mailbox]
        selects = [e for e in imap if e["operation"] == "imap-select" and e["verdict"] == "ok"
                   and str(e["mailbox"] or "").upper() == "INBOX"]
        evidence.append({"task": task_id, "mailbox": mailbox,
                         "sessions": sorted({e["session"] for e in imap if e["session"]}),
                         "logins": [{k: e[k] for k in ("seq", "verdict", "command", "tls")}
                                    for e in attempts],
                         "selects": [e["seq"] for e in selects],
                         "fetched": sorted(fetched(task))})
        for attempt in attempts:
            if not attempt["tls"]:
                problems.append(f"{task_id}: IMAP {attempt['command']} #{attempt['seq']} sent before "
                                "STARTTLS (credentials in clear)")
            elif _tls(attempt["tls"]) < (1, 2):
                problems.append(f"{task_id}: IMAP {attempt['command']} #{attempt['seq']} over "
                                f"{attempt['tls']}, below TLS 1.2")
        if not logins:
            problems.append(f"{task_id}: no IMAP login to {mailbox} succeeded after STARTTLS")
        if not selects:
            problems.append(f"{task_id}: the INBOX was never selected over IMAP")
        harness = undelivered(task)
        if harness:
            blocked.append(harness)
        elif _not_read(task):
            problems.append(_not_read(task))
    return judged("inbox-imap-starttls", problems, evidence,
                  "every mailbox read: STARTTLS (TLS ≥ 1.2) before any login, then login, select, fetch",
                  blocked)


def check_xdm_integrated(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, READ):
        task_id, delivered = task["task"]["id"], _delivered(task)
        problems += _unfetched_claims(task)
        if task["expect"] != INTEGRATED:
            continue
        if undelivered(task):
            blocked.append(undelivered(task))
            continue
        claim, why = _claim_problem(task)
        expected = {d["id"] for d in delivered.get("documents") or []}
        ins = {d["ins"] for d in delivered.get("documents") or []}
        evidence.append({"task": task_id, "delivered": delivered, "fetched": sorted(fetched(task)),
                         "claim": claim})
        why = _not_read(task) or why
        if why:
            problems.append(why)
            continue
        if claim.get("status") != INTEGRATED:
            problems.append(f"{task_id}: the report in the IHE_XDM.ZIP of {delivered['message_id']} (INS "
                            f"qualified, X-MSS-INS: O) was not integrated (status {claim.get('status')!r})")
        elif _documents(claim) != expected:
            problems.append(f"{task_id}: the product says it integrated {sorted(_documents(claim))}, the "
                            f"IHE_XDM.ZIP it fetched holds {sorted(expected)}")
        elif {claim.get("patient_ins")} != ins:
            problems.append(f"{task_id}: integrated for INS {claim.get('patient_ins')}, the document's is "
                            f"{sorted(ins)}")
    return judged("inbox-xdm-integrated", problems, evidence,
                  "the CDA of a received IHE_XDM.ZIP with a qualified INS is integrated for that INS",
                  blocked)


def check_unqualified_held(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in delivered_tasks(run, blocked, expecting(HELD)):
        task_id, delivered = task["task"]["id"], _delivered(task)
        claim, why = _claim_problem(task)
        evidence.append({"task": task_id, "delivered": delivered, "claim": claim})
        why = _not_read(task) or why
        if why:
            problems.append(why)
        elif claim.get("status") in (INTEGRATED, ALREADY):
            problems.append(f"{task_id}: {delivered['message_id']} says X-MSS-INS: N (its CDA carries no "
                            f"INS) but the product integrated it automatically (for INS "
                            f"{claim.get('patient_ins')})")
    return judged("inbox-unqualified-held", problems, evidence,
                  "a received report whose INS is not qualified is not integrated automatically", blocked)


def check_no_duplicate(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    by_id = {t["task"]["id"]: t for t in run["tasks"]}
    for task in delivered_tasks(run, blocked, expecting(ALREADY)):
        task_id, delivered = task["task"]["id"], _delivered(task)
        first = by_id.get(delivered.get("again_of") or "")
        first_claim = claim_for(first, _delivered(first).get("message_id")) if first else None
        claim, why = _claim_problem(task)
        evidence.append({"task": task_id, "delivered": delivered, "claim": claim,
                         "first_delivery": {"task": first and first["task"]["id"], "claim": first_claim}})
        if not first_claim or first_claim.get("status") != INTEGRATED:
            blocked.append({"check": "inbox-xdm-integrated", "task": task_id,
                            "reason": "the first delivery of the document was not integrated"})
            continue
        why = _not_read(task) or why
        if why:
            problems.append(why)
        elif claim.get("status") != ALREADY:
            problems.append(f"{task_id}: the document {sorted(_documents(first_claim))} integrated in "
                            f"{first['task']['id']} came again in {delivered['message_id']}; the product did "
                            f"not recognise it as already integrated (status {claim.get('status')!r})")
        elif _documents(claim) != _documents(first_claim):
            problems.append(f"{task_id}: already integrated, says the product, but names "
                            f"{sorted(_documents(claim))}, not {sorted(_documents(first_claim))}")
    return judged("inbox-no-duplicate", problems, evidence,
                  "a document received again is recognised as already integrated, not duplicated", blocked)


def _is_mdn_for(sent: dict, message_id: str) -> bool:
    return sent.get("report_type") == MDN_REPORT_TYPE and \
        str((sent.get("mdn") or {}).get("Original-Message-ID") or "") == message_id


def check_mdn(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in tasks(run, READ):
        task_id, seen, delivered = task["task"]["id"], _seen(task), _delivered(task)
        if undelivered(task) and (task["task"].get("extra") or {}).get("read_receipt"):
            blocked.append(undelivered(task))
            continue
        asked = str(delivered.get("read_receipt") or "").lower()
        if not asked:
            continue
        mdns = [s for s in seen["sent"] if _is_mdn_for(s, delivered["message_id"])]
        evidence.append({"task": task_id, "asked_by": asked, "message": delivered["message_id"],
                         "mdns": mdns, "sent": [{k: s.get(k) for k in SENT_BRIEF} for s in seen["sent"]]})
        why = _not_read(task)
        if why:
            problems.append(why)
            continue
        if not mdns:
            problems.append(f"{task_id}: {delivered['message_id']} asked a read receipt "
                            f"(Disposition-Notification-To: {asked}); no MDN (multipart/report; report-type="
                            f"{MDN_REPORT_TYPE}, Original-Message-ID naming it) was sent back by SMTP")
            continue
        for mdn in mdns:
            fields = mdn["mdn"] or {}
            if asked not in {a.lower() for a in mdn["delivered_to"]}:
                problems.append(f"{task_id}: the MDN {mdn['id']} went to {mdn['to']}, not to {asked}")
            if not _DISPOSITION.match(fields.get("Disposition") or ""):
                problems.append(f"{task_id}: the MDN {mdn['id']} has no valid Disposition field (RFC 8098 "
                                f"§3.2.6): {fields.get('Disposition')!r}")
            if seen["mailbox"] not in str(fields.get("Final-Recipient") or "").lower():
                problems.append(f"{task_id}: the MDN {mdn['id']}'s Final-Recipient "
                                f"{fields.get('Final-Recipient')!r} does not name {seen['mailbox']}")
    return judged("inbox-mdn", problems, evidence,
                  "a received message asking a read receipt gets an MDN (RFC 8098) sent back by SMTP",
                  blocked)


def check_receipt_requested(run: dict) -> CheckResult:
    problems, evidence = [], []
    for task in tasks(run, RECEIPT):
        task_id, seen = task["task"]["id"], _seen(task)
        sender, recipient = str(task["task"].get("sender") or "").lower(), task["task"].get("recipient")
        sent = [s for s in seen["sent"] if recipient and recipient.lower() in
                {a.lower() for a in s["delivered_to"]}]
        evidence.append({"task": task_id, "messages": [{k: s.get(k) for k in (
            "seq", "id", "from", "delivered_to", "disposition_notification_to")} for s in sent]})
        if not sent:
            problems.append(f"{task_id}: no message from {sender} reached {recipient}")
        for message in sent:
            asked = message.get("disposition_notification_to") or []
            if not asked:
                problems.append(f"{task_id}: message {message['id']} asks no read receipt "
                                "(no Disposition-Notification-To)")
            elif sender not in asked:
                problems.append(f"{task_id}: message {message['id']} asks the read receipt for {asked}, not "
                                f"for its sender {sender}")
    return judged("inbox-receipt-requested", problems, evidence,
                  "a report sent asking a read receipt carries Disposition-Notification-To")


def _flags(claim: dict) -> set[tuple[str, str]] | None:
    """The results the product says it flagged, as (LOINC code, interpretation); None when unreadable."""
    said = claim.get("abnormal")
    if not isinstance(said, list) or not all(isinstance(r, dict) for r in said):
        return None
    return {(str(r.get("code")), str(r.get("interpretation"))) for r in said}


def check_abnormal_results(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in delivered_tasks(run, blocked, with_extra("abnormal_results")):
        task_id, delivered = task["task"]["id"], _delivered(task)
        results = delivered.get("results") or []
        expected = {(r["code"], r["interpretation"]) for r in results if r["interpretation"] in ABNORMAL}
        claim, why = _claim_problem(task)
        evidence.append({"task": task_id, "message": delivered["message_id"], "results": results,
                         "expected": sorted(expected), "claim": claim})
        why = _not_read(task) or why
        if why:
            problems.append(why)
            continue
        if claim.get("status") not in (INTEGRATED, ALREADY):
            blocked.append({"check": "inbox-xdm-integrated", "task": task_id,
                            "reason": "the lab report was not integrated: no result to flag"})
            continue
        flagged = _flags(claim)
        if flagged is None:
            problems.append(f"{task_id}: the product does not say which results of the CR-BIO in "
                            f"{delivered['message_id']} it flagged (no `abnormal` list)")
            continue
        for code, interpretation in sorted(expected - flagged):
            problems.append(f"{task_id}: result {code} interpreted {interpretation} by the biologist "
                            "(interpretationCode) was not flagged abnormal")
        in_document = {r["code"]: r["interpretation"] for r in results}
        for code, interpretation in sorted(flagged - expected):
            problems.append(f"{task_id}: result {code} flagged {interpretation}; the biologist's "
                            f"interpretationCode in the document is {in_document.get(code)!r}")
    return judged("inbox-abnormal-results", problems, evidence,
                  "the results of a received CR-BIO N3 interpreted abnormal or critical are the ones flagged",
                  blocked)


def _stored(claim: dict) -> dict[str, dict] | None:
    """What the product says it stored, by CDA id; None when it gives no readable `stored` list."""
    said = claim.get("stored")
    if not isinstance(said, list) or not all(isinstance(s, dict) for s in said):
        return None
    return {str(s.get("id")): s for s in said}


def check_stylesheet_stored(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in delivered_tasks(run, blocked, with_extra("stylesheet")):
        task_id, delivered = task["task"]["id"], _delivered(task)
        sheet = delivered.get("stylesheet") or {}
        claim, why = _claim_problem(task)
        evidence.append({"task": task_id, "message": delivered["message_id"], "stylesheet": sheet,
                         "documents": [{k: d.get(k) for k in ("id", "sha256")}
                                       for d in delivered.get("documents") or []],
                         "stored": claim and claim.get("stored")})
        why = _not_read(task) or why
        if why:
            problems.append(why)
            continue
        if claim.get("status") != INTEGRATED:
            blocked.append({"check": "inbox-xdm-integrated", "task": task_id,
                            "reason": "the report was not integrated: nothing stored to compare"})
            continue
        stored = _stored(claim)
        if stored is None:
            problems.append(f"{task_id}: the product does not say what it stored of "
                            f"{delivered['message_id']} (no `stored` list of the CDA's and the stylesheet's "
                            "SHA-256)")
            continue
        for document in delivered.get("documents") or []:
            kept = stored.get(str(document["id"]))
            if kept is None:
                problems.append(f"{task_id}: the product stored nothing under the CDA id {document['id']}")
                continue
            if kept.get("sha256") != document["sha256"]:
                problems.append(f"{task_id}: the CDA {document['id']} stored (SHA-256 "
                                f"{kept.get('sha256')}) is not the one delivered ({document['sha256']})")
            if not kept.get("stylesheet_sha256"):
                problems.append(f"{task_id}: the CDA {document['id']} was stored without its producer's "
                                f"stylesheet ({sheet.get('name')}, named by its xml-stylesheet instruction)")
            elif kept["stylesheet_sha256"] != sheet.get("sha256"):
                problems.append(f"{task_id}: the stylesheet stored with {document['id']} (SHA-256 "
                                f"{kept['stylesheet_sha256']}) is not the producer's the harness delivered "
                                f"({sheet.get('sha256')})")
    return judged("inbox-stylesheet-stored", problems, evidence,
                  "an imported CDA is stored with its producer's stylesheet, byte for byte as delivered",
                  blocked)


def _patient_tasks(run: dict) -> list[dict]:
    return [task for task in tasks(run, READ) if task["expect"] == FROM_PATIENT]


def _all_delivered(task: dict) -> list[dict]:
    """The messages the harness delivered for the task: the patient's, then the professional's beside it."""
    return [_delivered(task), *_seen(task).get("alongside", [])]


def _undelivered_any(task: dict) -> dict | None:
    """The blocker of a task one of whose messages the harness could not deliver, else None."""
    for message in _all_delivered(task):
        if not (message.get("mock_id") and message.get("message_id")):
            why = message.get("error") or "the mock gave no id for it"
            return {"check": None, "task": task["task"]["id"],
                    "reason": f"the harness could not deliver its message to {message.get('to')}: {why}"}
    return None


def _read_and_said(task: dict, message: dict) -> tuple[dict | None, str | None]:
    """The product's word on one delivered message, or why it cannot be judged (not fetched, not said)."""
    task_id = task["task"]["id"]
    if message["message_id"] not in fetched(task):
        return None, (f"{task_id}: the message {message['message_id']} from {message['from']} was never "
                      "fetched (content) over IMAP with STARTTLS in the task")
    if claims(task) is None:
        return None, (f"{task_id}: the product reported no JSON `inbox` list of what it did with its mail "
                      "(docs/sut.md)")
    claim = claim_for(task, message["message_id"])
    if claim is None:
        return None, f"{task_id}: the product does not say what it did with {message['message_id']}"
    return claim, None


def check_origin(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in _patient_tasks(run):
        if _undelivered_any(task):
            blocked.append(_undelivered_any(task))
            continue
        task_id, told = task["task"]["id"], []
        for message in _all_delivered(task):
            claim, why = _read_and_said(task, message)
            told.append({"message": message["message_id"], "from": message["from"],
                         "origin": message["origin"], "reported": claim and claim.get("origin")})
            if why:
                problems.append(why)
            elif claim.get("origin") not in (PATIENT, PROFESSIONAL):
                problems.append(f"{task_id}: the product does not say whether {message['message_id']} "
                                f"came from a patient or a professional (origin {claim.get('origin')!r})")
            elif claim["origin"] != message["origin"]:
                problems.append(f"{task_id}: {message['message_id']} from {message['from']} is reported "
                                f"from a {claim['origin']}; it came from a {message['origin']}")
        evidence.append({"task": task_id, "messages": told})
    return judged("inbox-origin", problems, evidence,
                  "a patient's message from Mon espace santé is told apart from a professional's", blocked)


def _same(shown, expected: str) -> bool:
    return isinstance(shown, str) and shown.strip().upper() == expected.strip().upper()


def check_patient_identity(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in _patient_tasks(run):
        if _undelivered_any(task):
            blocked.append(_undelivered_any(task))
            continue
        task_id, delivered, seen = task["task"]["id"], _delivered(task), _seen(task)
        claim, why = _read_and_said(task, delivered)
        expected = delivered["usager"]
        shown = claim.get("usager") if claim else None
        evidence.append({"task": task_id, "message": delivered["message_id"], "from": delivered["from"],
                         "expected": expected, "shown": shown,
                         "insi_calls": seen.get("insi", []),
                         "note": f"the product called INSi {len(seen.get('insi', []))} time(s) in the task"})
        if why:
            problems.append(why)
            continue
        if not isinstance(shown, dict):
            problems.append(f"{task_id}: the product does not say which usager it shows for "
                            f"{delivered['message_id']} (no `usager` with birth_name, first_name, ins): "
                            f"only the address {delivered['from']}?")
            continue
        for field, label in (("birth_name", "birth name"), ("first_name", "first first name"),
                             ("ins", "INS")):
            if not shown.get(field):
                problems.append(f"{task_id}: the usager shown for {delivered['message_id']} has no {label} "
                                f"(the INS of {delivered['from']} names {expected[field]})")
            elif not _same(shown[field], expected[field]):
                problems.append(f"{task_id}: the usager shown for {delivered['message_id']} has {label} "
                                f"{shown[field]!r}; the INS of {delivered['from']} names {expected[field]!r}")
    return judged("inbox-patient-identity", problems, evidence,
                  "a patient's message shows the birth name, first first name and INS its address's INS "
                  "names", blocked)


def _verification_problem(task: dict, claim: dict) -> str | None:
    """Why the integration of `inbox-06` is not one INSi verified (None: it is)."""
    task_id, delivered = task["task"]["id"], _delivered(task)
    documents = delivered.get("documents") or []
    # who each search names is judged again here, from what it carried (the record's flag is a convenience)
    searches = [s | {"names_patient": any(names_patient(s.get("traits") or {}, d) for d in documents)}
                for s in _seen(task).get("insi_searches") or []]
    started, ended = task.get("started") or "", task.get("ended") or "~"
    received = sorted({d["ins"] for d in documents if d.get("ins")})
    asked = [s for s in searches if s["in_task"] and s["names_patient"] and started <= s["time"] <= ended]
    if not asked:
        later = [s for s in searches if s["names_patient"] and s["time"] > ended]
        others = [s for s in searches if s["in_task"] and not s["names_patient"]]
        if later:
            return (f"{task_id}: INSi was asked about the received INS {received} only after the product "
                    f"reported the integration (search #{later[0]['seq']}, task {later[0]['task']})")
        if others:
            traits = others[0]["traits"]
            return (f"{task_id}: the product asked INSi about another patient ({traits.get('birth_name')} "
                    f"born {traits.get('birth_date')}, search #{others[0]['seq']}), not the CDA's patient")
        return (f"{task_id}: the product integrated the report carrying INS {received} from another identity "
                "domain without asking INSi to verify the identity (no search of the CDA's patient in the "
                "task)")
    confirmed = [s for s in asked if s["code"] == "00" and s.get("ins")]
    if not confirmed:
        codes = ", ".join(f"#{s['seq']} → {s['code']}" for s in asked)
        return f"{task_id}: integrated though INSi found no single identity for the CDA's patient ({codes})"
    returned = confirmed[-1]["ins"]
    if claim.get("patient_ins") != returned:
        return (f"{task_id}: integrated under INS {claim.get('patient_ins')} (the CDA's is {received}); INSi "
                f"returned {returned} (search #{confirmed[-1]['seq']}): the identity must be INSi's")
    return None


def check_insi_verify(run: dict) -> CheckResult:
    problems, evidence, blocked = [], [], []
    for task in delivered_tasks(run, blocked, expecting(VERIFIED)):
        task_id, delivered = task["task"]["id"], _delivered(task)
        claim, why = _claim_problem(task)
        evidence.append({"task": task_id, "delivered": delivered, "claim": claim,
                         "task_started": task.get("started"), "task_ended": task.get("ended"),
                         "insi_searches": _seen(task).get("insi_searches") or [], "world": task.get("world")})
        why = _not_read(task) or why
        if why:
            problems.append(why)
        elif claim.get("status") != INTEGRATED:
            problems.append(f"{task_id}: the report of {delivered['message_id']} (INS qualified in the "
                            f"sender's domain, X-MSS-INS: O) was not integrated after an INSi verification "
                            f"(status {claim.get('status')!r})")
        else:
            problem = _verification_problem(task, claim)
            if problem:
                problems.append(problem)
    summary = ("an INS received from another identity domain verified with INSi (a search naming the CDA's "
               "patient, in the task, before the report), the document integrated under INSi's identity")
    return judged("inbox-insi-verify", problems, evidence, summary, blocked)


RIS, BIO, LGC, DPI, PFI = "RIS", "BIO", "LGC", "DPI", "PFI"
CHECKS = (
    Check("inbox-imap-starttls", title="the mailbox is read over IMAP with STARTTLS (TLS ≥ 1.2)",
          test="test_the_mailbox_is_read_over_imap_with_starttls",
          doc=("Reading the mailbox: in each reading task the MSSanté journal shows STARTTLS (TLS 1.2 or "
               "above) before any LOGIN/AUTHENTICATE, a login to the product's mailbox, a SELECT of the "
               "INBOX and a FETCH of the content of the message the harness delivered."),
          rem={RIS: ["MSS/CONF.06"], BIO: ["MSS/CONF.06"], LGC: ["MSS/CONF.06"], DPI: [],
               PFI: ["MSS/CONF.06"]},
          reads=("mssante.imap", "inbox.delivered"), judge=check_imap_starttls,
          defects=("inbox-plain-imap",),
          hint=("Send STARTTLS (TLS 1.2 or later) before LOGIN or AUTHENTICATE on the IMAP connection, then "
                "log in to your mailbox, SELECT the INBOX and FETCH the message's content (MSS/CONF.06).")),
    Check("inbox-xdm-integrated", title="a received IHE_XDM.ZIP is recognised and its CDA integrated by INS",
          test="test_a_received_xdm_report_is_integrated_for_its_qualified_ins",
          doc=("Receiving a report: the message with an IHE_XDM.ZIP and a qualified INS (X-MSS-INS: O) the "
               "product fetched is reported integrated, with the CDA id the archive holds, for the INS the "
               "document carries; no message is said integrated that was not fetched in the task. For a "
               "PFI, integrated means taken in for the destination system (the HL7v2 hand-over is not "
               "observed)."),
          rem={RIS: ["MSS/UX.01", "MSS/UX.39", "MSS/UX.07"], BIO: [], LGC: ["MSS/UX.01", "MSS/UX.39"],
               DPI: ["MSS/UX.39", "MSS/UX.07"], PFI: ["MSS/UX.01"]},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_xdm_integrated,
          defects=("inbox-ignores-xdm",),
          hint=("Open the IHE_XDM.ZIP of each message fetched with X-MSS-INS: O, integrate its CDA under the "
                "INS the document carries, and report it integrated with the CDA id the archive holds "
                "(MSS/UX.01, MSS/UX.39).")),
    Check("inbox-unqualified-held", title="a received report whose INS is not qualified is not integrated "
          "automatically", test="test_a_received_report_without_a_qualified_ins_is_not_integrated",
          doc=("A message saying X-MSS-INS: N (its CDA names the patient by the sender's local id) is read "
               "but not integrated automatically: automatic integration needs a qualified INS that matches "
               "the product's own strictly."),
          rem={RIS: ["MSS/UX.07"], BIO: [], LGC: [], DPI: ["MSS/UX.07"], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_unqualified_held,
          defects=("inbox-integrates-unqualified",), couloirs=FILING_COULOIRS,
          hint=("Do not integrate automatically a received report whose X-MSS-INS is N (matching by birth "
                "name and birth date is not enough): automatic integration needs a qualified INS that "
                "matches one of your identities strictly (MSS/UX.07).")),
    Check("inbox-no-duplicate", title="a document received again is recognised as already integrated",
          test="test_a_document_received_again_is_not_integrated_twice",
          doc=("The same CDA (same id, same bytes) delivered again in a new message is fetched and reported "
               "already integrated, not integrated a second time."),
          rem={RIS: ["CDA/DD.04"], BIO: ["CDA/DD.04"], LGC: ["CDA/DD.04"], DPI: ["DPI.CDA/DD.04"], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_no_duplicate,
          defects=("inbox-duplicates",), couloirs=FILING_COULOIRS,
          hint=("Before integrating a received CDA, look its document id up among those already integrated: "
                "the same document delivered again is reported already integrated, not integrated twice "
                "(CDA/DD.04).")),
    Check("inbox-mdn", title="a read receipt asked is sent back (MDN, RFC 8098)",
          test="test_a_read_receipt_asked_is_sent_back",
          doc=("A received message with Disposition-Notification-To gets, by SMTP from the product's mailbox "
               "to that address, an MDN: multipart/report; report-type=disposition-notification whose "
               "disposition part names the message (Original-Message-ID), the mailbox (Final-Recipient) "
               "and a Disposition (RFC 8098 §3)."),
          rem={RIS: ["MSS/UX.34"], BIO: [], LGC: ["MSS/UX.34"], DPI: [], PFI: []},
          reads=("inbox.delivered", "inbox.sent"), judge=check_mdn, defects=("inbox-no-mdn",),
          couloirs=FILING_COULOIRS,
          hint=("Answer a received Disposition-Notification-To with an MDN sent by SMTP from your mailbox to "
                "that address: multipart/report; report-type=disposition-notification naming "
                "Original-Message-ID, Final-Recipient and a Disposition (RFC 8098 §3; MSS/UX.34).")),
    Check("inbox-receipt-requested", title="a report sent asking a read receipt carries "
          "Disposition-Notification-To", test="test_a_report_sent_asking_a_read_receipt_says_so",
          doc=("The send task asking a read receipt (extra read_receipt): the message that reached the "
               "recipient carries Disposition-Notification-To naming the sending mailbox (RFC 8098 §2.1)."),
          rem={RIS: ["MSS/UX.33"], BIO: [], LGC: ["MSS/UX.33"], DPI: [], PFI: ["MSS/UX.33"]},
          reads=("inbox.sent",), judge=check_receipt_requested, defects=("inbox-no-receipt-request",),
          hint=("When the user asks a read receipt, add to the message a Disposition-Notification-To header "
                "naming the sending mailbox (RFC 8098 §2.1; MSS/UX.33).")),
    Check("inbox-abnormal-results", title="the abnormal or critical results of a received CR-BIO N3 are "
          "flagged from the biologist's interpretationCode",
          test="test_the_abnormal_or_critical_results_of_a_received_lab_report_are_flagged",
          doc=("Task inbox-04 (RIS, DPI): the CR-BIO N3 the harness delivered holds results interpreted HH, "
               "L and A and one below its reference range yet interpreted N. The product's `abnormal` list "
               "for that message names exactly the results whose interpretationCode (HL7 "
               "ObservationInterpretation) says abnormal or critical, read by the harness in the document it "
               "delivered — not those outside their low/high values."),
          rem={RIS: ["MSS/UX.18"], BIO: [], LGC: [], DPI: ["MSS/UX.18"], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_abnormal_results,
          defects=("inbox-misses-abnormal",), couloirs=ABNORMAL_COULOIRS,
          hint=("Flag a received CR-BIO's results by each observation's interpretationCode (HL7 "
                "ObservationInterpretation: HH, L, A… abnormal or critical; N normal), not by comparing the "
                "value with its reference range (MSS/UX.18).")),
    Check("inbox-stylesheet-stored", title="an imported CDA is stored with its producer's stylesheet",
          test="test_an_imported_cda_is_stored_with_its_producers_stylesheet",
          doc=("Task inbox-01: the CDA the harness delivered names its producer's stylesheet (xml-stylesheet "
               "processing instruction, STYLE.XSL beside it in the IHE_XDM.ZIP's subset folder). The "
               "product integrates it and reports, under the CDA id, the SHA-256 of the CDA and of the "
               "stylesheet it stored; both equal the digests of the bytes the harness delivered."),
          rem={RIS: ["CDA/INT.15"], BIO: ["CDA/INT.15"], LGC: ["CDA/INT.15"], DPI: ["CDA/INT.15"], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_stylesheet_stored,
          defects=("inbox-drops-stylesheet",), couloirs=FILING_COULOIRS,
          hint=("Store a received CDA with the stylesheet its xml-stylesheet instruction names (the "
                "STYLE.XSL in the IHE_XDM.ZIP's subset folder), both byte for byte as delivered "
                "(CDA/INT.15).")),
    Check("inbox-origin", title="a patient's message from Mon espace santé is told apart from a "
          "professional's", test="test_a_patients_message_is_told_apart_from_a_professionals",
          doc=("Task inbox-05 (RIS, LGC): the harness delivers a professional's message, then the answer "
               "of the patient the product wrote to in citizen-01, from <INS>@patient.mssante.fr. The "
               "product fetches both and reports the `origin` of each: `patient` for the Mon espace santé "
               "address, `professional` for the other. The list screen is judged through this report."),
          rem={RIS: ["MSS/UX.25"], BIO: [], LGC: ["MSS/UX.25"], DPI: [], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "task.claims"), judge=check_origin,
          defects=("inbox-patient-as-professional",), couloirs=PATIENT_COULOIRS,
          hint=("Tell a patient's message from Mon espace santé (sent from <INS>@patient.mssante.fr) apart "
                "from a professional's, and report its origin as patient, not professional (MSS/UX.25).")),
    Check("inbox-patient-identity", title="a patient's message shows the usager's birth name, first first "
          "name and INS", test="test_a_patients_message_shows_the_identity_its_ins_names",
          doc=("Task inbox-05 (RIS, LGC): for the patient's message the product reports the `usager` it "
               "shows — birth_name, first_name (the first of the birth first names), ins — and they are "
               "those the INS of the sender's address names in the world. The task gives no traits: the "
               "product finds them among its own identities or through INSi (its INSi calls in the task "
               "are in the evidence). The message screen is judged through this report."),
          rem={RIS: ["MSS/UX.31"], BIO: [], LGC: ["MSS/UX.31"], DPI: [], PFI: []},
          reads=("mssante.imap", "inbox.delivered", "insi", "task.claims"), judge=check_patient_identity,
          defects=("inbox-patient-shows-address-only",), couloirs=PATIENT_COULOIRS,
          hint=("Show a patient's message under the usager its address's INS names (birth name, first of the "
                "birth first names, INS), found among your identities or through INSi, not the address alone "
                "(MSS/UX.31).")),
    Check("inbox-insi-verify", title="an INS received from another identity domain is verified with INSi",
          test="test_an_ins_received_from_another_domain_is_verified_with_insi_before_integration",
          doc=("Task inbox-06 (LGC): the harness delivers a report for a patient the product never met, "
               "qualified in the sender's domain under the INS that domain holds (the earlier INS of a "
               "patient whose NIA became a NIR). In the task, after the delivery and before the product "
               "reports, the INSi journal shows a search naming the CDA's patient (its traits, or a card "
               "with the CDA's NIR: INSi v1.5.0 has no verification operation, docs/insi.md) answered 00, "
               "and the product reports the document integrated under the INS INSi returned."),
          rem={RIS: [], BIO: [], LGC: ["LGC.INS/va1.63"], DPI: [], PFI: []},
          reads=("insi", "inbox.delivered", "inbox.insi_searches", "task.claims"), judge=check_insi_verify,
          defects=("inbox-no-insi-verify",), couloirs=VERIFY_COULOIRS,
          hint="on a received CDA whose INS you do not hold, search INSi with the CDA patient's traits and "
               "integrate under the INS INSi returns (its INSHISTO may hold the received one)"),
)

CAPABILITY = Capability(
    NAME, "receiving by MSSanté: the harness delivers reports to the product's mailbox, which reads it over "
          "IMAP with STARTTLS, integrates by INS, keeps the producer's stylesheet, recognises a duplicate, "
          "returns read receipts and tells a patient's message apart, naming the patient by the INS",
    scenarios=(READ, RECEIPT), plan=plan_inbox, prepare=prepare_inbox, observe=observe_inbox, checks=CHECKS,
    couloirs=(RIS, BIO, LGC, DPI, PFI))
