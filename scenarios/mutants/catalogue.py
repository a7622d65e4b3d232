"""The mutants, declared as data: one systematic change of what the reference RIS sends, per run.

Each `Mutant` names the field it changes (the report's table groups by it), the wire point of
`reference_ris.wire` where it acts, its operator (`operators.py`), the REM requirement(s) a product that
sends this breaks — or `harmless`, the reason a correct harness must let it pass —, and whether it is an
identity mutant (patient identity, INS, traits, recipient: the proof must kill every one). `scope` limits a
mutant to the tasks of some scenarios of the plan (`dmp-01` is scenario `dmp`…); empty: every task.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from segur.scenarios.observe import cda_header

from . import operators as op

#: REM ids, by what they govern (scenarios/data/requirements.csv)
CDA_INS = ("DOC/va1.02", "DOC/va1.04", "INS/va1.35")
CDA_DOC = ("RIS.DOC/va1.16",)
DMP_SEND = ("RIS.DMP/va1.13",)
DMP_REPLACE = ("RIS.DMP/va1.09",)
XDS_META = ("RIS.DMP/va1.10",)
XDM_PATIENT = ("MSS/CONF.24",)
XDM_DOC = ("MSS/CONF.23",)
INSI = ("INS/va1.35",)
DMP_TASKS = ("dmp", "replace", "retry", "vitale", "outage")
MSS_TASKS = ("mss", "citizen")
PATIENT_ID = "h:recordTarget/h:patientRole/h:id"
PATIENT = "h:recordTarget/h:patientRole/h:patient"
AUTHOR = "h:author/h:assignedAuthor"
CUSTODIAN = "h:custodian/h:assignedCustodian/h:representedCustodianOrganization"
LEGAL = "h:legalAuthenticator"
EVENT = "h:documentationOf/h:serviceEvent"


@dataclass(frozen=True)
class Mutant:
    id: str
    field: str
    point: str  # reference_ris.wire point: cda, xds, mime, recipient, envelope, insi-request
    operator: str  # what it does, in words
    apply: op.Operator
    requirements: tuple[str, ...] = ()
    harmless: str = ""  # why a correct harness lets it pass (then `requirements` is empty)
    identity: bool = False
    scope: tuple[str, ...] = ()

    def __post_init__(self):
        if bool(self.requirements) == bool(self.harmless):
            raise ValueError(f"mutant {self.id}: either the requirements it breaks or why it is harmless")


def _other_patient_ins(old, context):
    return context["others"].patient.ins


def _other_patient_xds(old, context):
    return context["others"].patient.xds_patient_id


def _other_professional_id(old, context):
    return context["others"].professional.idnps


def _fixed_id(old, context):
    return "1.2.250.1.999.1.1"


def _new_uuid_oid(old, context):
    return f"2.25.{uuid.uuid4().int}"


def _swap_test_and_production_oid(old, context):
    return op.OID_NIR if old == op.OID_NIR_TEST else op.OID_NIR_TEST


def _cda(id_, field, operator, apply, requirements=(), *, harmless="", identity=False, scope=()):
    return Mutant(id_, field, "cda", operator, apply, tuple(requirements), harmless, identity, tuple(scope))


CDA_MUTANTS = [
    # --- the patient: INS and traits (identity) -------------------------------------------------------------
    _cda("cda.ins.other-nir", "CDA recordTarget INS", "another NIR with a valid key",
         op.cda_attr(PATIENT_ID, "extension", lambda v, c: op.other_digit_ins(v)), CDA_INS, identity=True),
    _cda("cda.ins.other-patient", "CDA recordTarget INS", "the INS of another patient of the world",
         op.cda_attr(PATIENT_ID, "extension", _other_patient_ins), CDA_INS, identity=True),
    _cda("cda.ins.bad-key", "CDA recordTarget INS", "NIR key + 1",
         op.cda_attr(PATIENT_ID, "extension", lambda v, c: op.wrong_key_ins(v)), CDA_INS, identity=True),
    _cda("cda.ins.no-key", "CDA recordTarget INS", "the 13-character NIR without its key",
         op.cda_attr(PATIENT_ID, "extension", lambda v, c: v[:13]), CDA_INS, identity=True),
    _cda("cda.ins.oid", "CDA recordTarget INS OID", "NIR OID ↔ NIA OID",
         op.cda_attr(PATIENT_ID, "root", lambda v, c: op.other_ins_oid(v)), CDA_INS, identity=True),
    _cda("cda.ins.production-oid", "CDA recordTarget INS OID",
         "the production NIR OID for INSi's test NIR OID",
         op.cda_attr(PATIENT_ID, "root", _swap_test_and_production_oid), CDA_INS, identity=True),
    _cda("cda.ins.dropped", "CDA recordTarget INS", "the INS id left out",
         op.cda_drop(PATIENT_ID), CDA_INS, identity=True),
    # --- document ids and versions
    _cda("cda.id.same-for-all", "CDA id", "the same id in every report",
         op.cda_attr("h:id", "root", _fixed_id), DMP_SEND + CDA_DOC),
    _cda("cda.id.not-an-oid", "CDA id", "an id root that is not an OID",
         op.cda_attr("h:id", "root", "not-an-oid"), CDA_DOC),
    _cda("cda.id.other-unique", "CDA id", "another fresh UUID OID",
         op.cda_attr("h:id", "root", _new_uuid_oid),
         harmless="any unique OID is a valid document id (HL7 CDA R2: II root)"),
    _cda("cda.set-id.same-for-all", "CDA setId", "the same setId in every report (other reports replaced)",
         op.cda_attr("h:setId", "root", _fixed_id), DMP_SEND + DMP_REPLACE),
    _cda("cda.set-id.new-on-replace", "CDA setId", "a new setId in the replacing version",
         op.cda_attr("h:setId", "root", _new_uuid_oid), DMP_REPLACE, scope=("replace",)),
    _cda("cda.version.stays-1", "CDA versionNumber", "versionNumber 1 in the replacing version",
         op.cda_attr("h:versionNumber", "value", "1"), DMP_REPLACE, scope=("replace",)),
    _cda("cda.version.zero", "CDA versionNumber", "versionNumber 0",
         op.cda_attr("h:versionNumber", "value", "0"), CDA_DOC),
    _cda("cda.version.two-on-first", "CDA versionNumber", "versionNumber 2 on a first version",
         op.cda_attr("h:versionNumber", "value", "2"), DMP_REPLACE,
         scope=("dmp", "mss", "citizen", "vitale")),
    _cda("cda.replaces.other-id", "CDA relatedDocument",
         "RPLC of another document id than the earlier version",
         op.cda_attr("h:relatedDocument/h:parentDocument/h:id", "root", _new_uuid_oid), DMP_REPLACE,
         scope=("replace",)),
    _cda("cda.replaces.dropped", "CDA relatedDocument", "the RPLC relatedDocument left out",
         op.cda_drop("h:relatedDocument"), DMP_REPLACE, scope=("replace",)),
    # --- codes, dates, header
    _cda("cda.code.other-loinc", "CDA code", "another LOINC document type (11488-4)",
         op.cda_attr("h:code", "code", "11488-4"), CDA_DOC + XDS_META),
    _cda("cda.code.system", "CDA code", "codeSystem other than LOINC",
         op.cda_attr("h:code", "codeSystem", "2.16.840.1.113883.6.96"), CDA_DOC),
    _cda("cda.title.other", "CDA title", "another title text",
         op.cda_text("h:title", "Compte rendu"),
         harmless="the title is the producer's free text (CDA R2 header); XDS/XDM titles follow it"),
    _cda("cda.title.dropped", "CDA title", "title left out", op.cda_drop("h:title"), CDA_DOC),
    _cda("cda.effective-time.next-year", "CDA effectiveTime", "a year in the future",
         op.cda_attr("h:effectiveTime", "value", lambda v, c: op.next_year(v)), CDA_DOC),
    _cda("cda.effective-time.no-zone", "CDA effectiveTime", "date only, no time zone",
         op.cda_attr("h:effectiveTime", "value", lambda v, c: v[:8]), CDA_DOC),
    _cda("cda.confidentiality.unknown", "CDA confidentialityCode", "a code outside HL7 Confidentiality (X)",
         op.cda_attr("h:confidentialityCode", "code", "X"), CDA_DOC + XDS_META),
    _cda("cda.language.en", "CDA languageCode", "en-US", op.cda_attr("h:languageCode", "code", "en-US"),
         harmless="the Structuration minimale schematron (1.2.250.1.213.1.1.1.1-2017-12-13T103531.sch, "
                  "lines 190-195) checks only the syntax ll-CC; fr-FR is the strict reading"),
    _cda("cda.language.syntax", "CDA languageCode", "fr (no country: not ll-CC)",
         op.cda_attr("h:languageCode", "code", "fr"), CDA_DOC),
    _cda("cda.template.n1-dropped", "CDA templateId", "the CR-IMG template id left out",
         op.cda_drop("h:templateId[@root='1.3.6.1.4.1.19376.1.2.20']"), CDA_DOC),
    _cda("cda.realm.dropped", "CDA realmCode", "realmCode FR left out", op.cda_drop("h:realmCode"), CDA_DOC),
    _cda("cda.author.id", "CDA author", "another professional's IDNPS",
         op.cda_attr(f"{AUTHOR}/h:id", "extension", _other_professional_id), CDA_DOC + XDS_META),
    _cda("cda.author.id-root", "CDA author", "author id under a non-RPPS OID",
         op.cda_attr(f"{AUTHOR}/h:id", "root", "1.2.250.1.999"), CDA_DOC),
    _cda("cda.author.time.next-year", "CDA author", "author time a year in the future",
         op.cda_attr("h:author/h:time", "value", lambda v, c: op.next_year(v)), CDA_DOC),
    _cda("cda.author.specialty", "CDA author", "author code outside the RPPS specialties",
         op.cda_attr(f"{AUTHOR}/h:code", "code", "XXX"), CDA_DOC + XDS_META),
    _cda("cda.author.family", "CDA author", "another family name",
         op.cda_text(f"{AUTHOR}/h:assignedPerson/h:name/h:family", "MARTIN"), CDA_DOC),
    _cda("cda.author.organisation-id", "CDA author", "another structure id (IDNST)",
         op.cda_attr(f"{AUTHOR}/h:representedOrganization/h:id", "extension", "1999999999"),
         CDA_DOC + XDS_META),
    _cda("cda.author.dropped", "CDA author", "author left out", op.cda_drop("h:author"), CDA_DOC),
    _cda("cda.custodian.id", "CDA custodian", "another custodian id",
         op.cda_attr(f"{CUSTODIAN}/h:id", "extension", "1999999999"),
         harmless="the custodian keeps the document (HL7 CDA R2 header): a hosting structure may, not "
                  "necessarily the author's; the task's structure is the strict reading"),
    _cda("cda.custodian.id-dropped", "CDA custodian", "custodian organisation id left out",
         op.cda_drop(f"{CUSTODIAN}/h:id"), CDA_DOC),
    _cda("cda.custodian.dropped", "CDA custodian", "custodian left out", op.cda_drop("h:custodian"), CDA_DOC),
    _cda("cda.legal.dropped", "CDA legalAuthenticator", "legalAuthenticator left out", op.cda_drop(LEGAL),
         CDA_DOC),
    _cda("cda.legal.time.next-year", "CDA legalAuthenticator", "signature time a year in the future",
         op.cda_attr(f"{LEGAL}/h:time", "value", lambda v, c: op.next_year(v)), CDA_DOC),
    _cda("cda.event.time.next-year", "CDA serviceEvent", "act date a year in the future",
         op.cda_attr(f"{EVENT}/h:effectiveTime/h:low", "value", lambda v, c: op.next_year(v)), CDA_DOC),
    _cda("cda.event.code.dropped", "CDA serviceEvent", "the act code left out",
         op.cda_drop(f"{EVENT}/h:code"), CDA_DOC),
    _cda("cda.event.dropped", "CDA serviceEvent", "documentationOf left out",
         op.cda_drop("h:documentationOf"), CDA_DOC),
    # --- the PDF in the CDA
    _cda("cda.pdf.other-patient", "CDA PDF", "a well-formed PDF naming another patient",
         op.cda_pdf(op.other_patient_pdf), CDA_DOC + CDA_INS, identity=True),
    _cda("cda.pdf.truncated", "CDA PDF", "the PDF cut in half", op.cda_pdf(op.truncated_pdf), CDA_DOC),
    _cda("cda.pdf.not-pdf", "CDA PDF", "plain text instead of a PDF", op.cda_pdf(op.not_a_pdf), CDA_DOC),
]


#: the patient's traits in the CDA (identity): each mutant once per channel, since a channel that checks
#: them must not hide one that does not (a DMP-only product would send the wrong trait unseen)
TRAIT_MUTANTS = [
    ("cda.patient.family", "CDA patient birth name", "another birth name",
     op.cda_text(f"{PATIENT}/h:name/h:family", lambda v, c: op.other_name(v))),
    ("cda.patient.family-lowercase", "CDA patient birth name", "birth name in lower case",
     op.cda_text(f"{PATIENT}/h:name/h:family", lambda v, c: v.lower())),
    ("cda.patient.given-all", "CDA patient first names", "another list of first names",
     op.cda_text(f"{PATIENT}/h:name/h:given[not(@qualifier)]", "JEAN")),
    ("cda.patient.given-first", "CDA patient first names", "another birth first name (given BR)",
     op.cda_text(f"{PATIENT}/h:name/h:given[@qualifier='BR']", "JEAN")),
    ("cda.patient.sex", "CDA patient sex", "M ↔ F",
     op.cda_attr(f"{PATIENT}/h:administrativeGenderCode", "code", lambda v, c: op.other_sex(v))),
    ("cda.patient.birth-time", "CDA patient birth date", "one day later",
     op.cda_attr(f"{PATIENT}/h:birthTime", "value", lambda v, c: op.day_after(v))),
    ("cda.patient.birth-place", "CDA patient birth place", "another INSEE code",
     op.cda_text(f"{PATIENT}/h:birthplace/h:place/h:addr/h:county", "99100")),
]
CDA_MUTANTS += [_cda(f"{id_}.{channel}", field, f"{operator}, {label} reports only", apply, CDA_INS,
                     identity=True, scope=scope)
                for id_, field, operator, apply in TRAIT_MUTANTS
                for channel, label, scope in (("dmp", "DMP", DMP_TASKS), ("mss", "MSSanté", MSS_TASKS))]


def _xds(id_, field, operator, apply, requirements=XDS_META, *, harmless="", identity=False):
    return Mutant(id_, field, "xds", operator, apply, tuple(requirements), harmless, identity, DMP_TASKS)


def _coded_value(code, scheme=None):
    return op.coded(code, scheme)


#: the formatCode of a text document (IHE XDS-SD), in the IHE format code system
TEXT_FORMAT_CODE, IHE_FORMAT_SCHEME = "urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3"

XDS_MUTANTS = [
    _xds("xds.patient-id.other", "XDS patientId", "another patient's INS (entries and submission set)",
         op.xds(lambda ss, es, c: _set_patient(ss, es, c["others"].patient.xds_patient_id)),
         XDS_META + CDA_INS, identity=True),
    _xds("xds.patient-id.entry-only", "XDS patientId", "another patient's INS in the document entry only",
         op.xds_entry("patient_id", _other_patient_xds), XDS_META + CDA_INS, identity=True),
    _xds("xds.patient-id.submission-only", "XDS patientId",
         "another patient's INS in the submission set only",
         op.xds_submission("patient_id", _other_patient_xds), XDS_META + CDA_INS, identity=True),
    _xds("xds.patient-id.bare", "XDS patientId", "the INS without its assigning authority",
         op.xds(lambda ss, es, c: _set_patient(ss, es, es[0].patient_id.split("^")[0])), XDS_META,
         identity=True),
    _xds("xds.source-patient-id.other", "XDS sourcePatientId", "another patient's INS",
         op.xds_entry("source_patient_id", _other_patient_xds), XDS_META, identity=True),
    _xds("xds.source-patient-info.name", "XDS sourcePatientInfo", "PID-5 another birth name",
         op.xds_pid(5, op.pid5_family), XDS_META, identity=True),
    _xds("xds.source-patient-info.birth", "XDS sourcePatientInfo", "PID-7 one day later",
         op.xds_pid(7, lambda v, c: op.day_after(v)), XDS_META, identity=True),
    _xds("xds.source-patient-info.sex", "XDS sourcePatientInfo", "PID-8 M ↔ F",
         op.xds_pid(8, lambda v, c: op.other_sex(v)), XDS_META, identity=True),
    _xds("xds.class-code", "XDS classCode", "another class (10)",
         op.xds_entry("class_code", _coded_value("10"))),
    _xds("xds.type-code", "XDS typeCode", "another type than the CDA's (11488-4)",
         op.xds_entry("type_code", _coded_value("11488-4"))),
    _xds("xds.format-code", "XDS formatCode", "another format code",
         op.xds_entry("format_code", _coded_value(TEXT_FORMAT_CODE, IHE_FORMAT_SCHEME))),
    _xds("xds.confidentiality.dropped", "XDS confidentialityCode", "no confidentiality code",
         op.xds_entry("confidentiality_codes", lambda v, c: [])),
    _xds("xds.confidentiality.other", "XDS confidentialityCode", "R instead of the CDA's N",
         op.xds_entry("confidentiality_codes", lambda v, c: [type(v[0])("R", v[0].scheme, "")])),
    _xds("xds.facility-type", "XDS healthcareFacilityTypeCode", "a code outside the value set",
         op.xds_entry("healthcare_facility_type_code", _coded_value("XXX"))),
    _xds("xds.practice-setting", "XDS practiceSettingCode", "a code outside the value set",
         op.xds_entry("practice_setting_code", _coded_value("XXX"))),
    _xds("xds.hash", "XDS hash", "another SHA-1", op.xds_entry("hash", lambda v, c: "0" * 40)),
    _xds("xds.size", "XDS size", "size + 1", op.xds_entry("size", lambda v, c: v + 1)),
    _xds("xds.unique-id", "XDS uniqueId", "another id than the CDA's",
         op.xds_entry("unique_id", _new_uuid_oid)),
    _xds("xds.creation-time", "XDS creationTime", "a day later than the CDA's",
         op.xds_entry("creation_time", lambda v, c: op.day_after(v))),
    _xds("xds.service-start", "XDS serviceStartTime", "a year later",
         op.xds_entry("service_start_time", lambda v, c: op.next_year(v))),
    _xds("xds.service-stop", "XDS serviceStopTime", "a stop time a year before the start time",
         op.xds(lambda ss, es, c: _stop_before_start(es))),
    _xds("xds.language", "XDS languageCode", "en-US", op.xds_entry("language_code", lambda v, c: "en-US")),
    _xds("xds.title", "XDS title", "another title than the CDA's",
         op.xds_entry("title", lambda v, c: "Autre titre")),
    _xds("xds.author.person", "XDS author", "another professional in authorPerson",
         op.xds(lambda ss, es, c: _each_author(es, "person", lambda v: op.xcn_family(v, c)))),
    _xds("xds.author.specialty", "XDS author", "authorSpecialty outside the value set",
         op.xds(lambda ss, es, c: _each_author(es, "specialties", lambda v: ["XXX^Inconnu^1.2.250.1.999"]))),
    _xds("xds.author.dropped", "XDS author", "no author on the document entry",
         op.xds(lambda ss, es, c: _drop_authors(es))),
    _xds("xds.legal-authenticator", "XDS legalAuthenticator", "another professional",
         op.xds_entry("legal_authenticator", lambda v, c: op.xcn_family(v, c))),
    _xds("xds.content-type", "XDS submission set contentTypeCode", "a code outside the value set",
         op.xds_submission("content_type_code", _coded_value("XXX"))),
]


def _set_patient(ss, entries, value) -> bool:
    ss.patient_id = value
    for entry in entries:
        entry.patient_id = value
    return True


def _stop_before_start(entries) -> bool:
    done = False
    for entry in entries:
        if entry.service_start_time:
            entry.service_stop_time = f"{int(entry.service_start_time[:4]) - 1}{entry.service_start_time[4:]}"
            done = True
    return done


def _each_author(entries, field, new) -> bool:
    done = False
    for entry in entries:
        for author in entry.authors:
            if getattr(author, field):
                setattr(author, field, new(getattr(author, field)))
                done = True
    return done


def _drop_authors(entries) -> bool:
    done = any(entry.authors for entry in entries)
    for entry in entries:
        entry.authors = []
    return done


def _mime(id_, field, operator, apply, requirements=(), *, harmless="", identity=False, scope=MSS_TASKS):
    return Mutant(id_, field, "mime", operator, apply, tuple(requirements), harmless, identity, tuple(scope))


def _cda_of(document, context) -> dict:
    """The header facts of a CDA, as the proof's judge reads them (`observe.cda_header`)."""
    return cda_header(document)


def _subject_other_name(subject, context):
    head, _, rest = subject.partition("+")
    words = rest.split(" ")
    patient = context["task"].patient
    return head + "+" + " ".join(op.other_name(w) if w == patient["birth_name"] else w for w in words)


def _subject_no_birth_date(subject, context):
    return re.sub(r" \d{2}/\d{2}/\d{4}$", "", subject)


def _subject_other_birth_date(subject, context):
    return re.sub(r"(\d{2})/(\d{2})/(\d{4})$", lambda m: f"{int(m[1]) % 28 + 1:02d}/{m[2]}/{m[3]}", subject)


def _other_patient_id(document, context) -> str:
    return context["others"].patient.xds_patient_id


def _a_year_after_the_cda(document, context) -> str:
    return op.next_year(_cda_of(document, context)["effective_time"][:14])


MIME_MUTANTS = [
    _mime("mss.x-mss-ins.n", "X-MSS-INS", "N although the INS is qualified", op.header("X-MSS-INS", "N"),
          ("MSS/CONF.14",), identity=True),
    _mime("mss.x-mss-ins.dropped", "X-MSS-INS", "header left out",
          op.header("X-MSS-INS", None), ("MSS/CONF.14",)),
    _mime("mss.x-mss-codecda.other", "X-MSS-CODECDA", "another code than the CDA's",
          op.header("X-MSS-CODECDA", "11488-4"), ("MSS/CONF.15",)),
    _mime("mss.x-mss-codecda.dropped", "X-MSS-CODECDA", "header left out", op.header("X-MSS-CODECDA", None),
          ("MSS/CONF.15",)),
    _mime("mss.x-mss-nil.dropped", "X-MSS-NIL", "header left out",
          op.header("X-MSS-NIL", None), ("MSS/CONF.16",)),
    _mime("mss.x-mss-nil.malformed", "X-MSS-NIL", "not a 4-digit reference", op.header("X-MSS-NIL", "12A"),
          ("MSS/CONF.16",)),
    _mime("mss.subject.prefix", "Subject", "without the XDM/1.0/DDM+ prefix",
          op.header("Subject", lambda v, c: v.split("+", 1)[-1]), ("MSS/CONF.25",)),
    _mime("mss.subject.other-name", "Subject", "another patient name",
          op.header("Subject", _subject_other_name), ("MSS/CONF.25",), identity=True),
    _mime("mss.subject.other-birth-date", "Subject", "another birth date",
          op.header("Subject", _subject_other_birth_date), ("MSS/CONF.25",), identity=True),
    _mime("mss.subject.no-birth-date", "Subject", "birth date left out",
          op.header("Subject", _subject_no_birth_date),
          harmless="the birth date is optional in the subject (MSS/CONF.25: [<birth date>])"),
    _mime("mss.subject.dropped", "Subject", "no subject", op.header("Subject", None), ("MSS/CONF.25",)),
    _mime("mss.to.other", "To header", "another professional in To (envelope unchanged)",
          op.header("To", lambda v, c: c["others"].mailbox(v)), ("RIS.MSS/va1.29",), identity=True),
    _mime("mss.message-id.dropped", "Message-ID", "header left out", op.header("Message-ID", None),
          harmless="no Ségur requirement names Message-ID (RFC 5322 §3.6.4: SHOULD; servers add one)"),
    _mime("mss.body.other", "message body", "another body text",
          lambda m, c: (m.get_body(("plain",)).set_content("Autre texte.\n"), m)[1],
          harmless="the body is free text; the report travels in the IHE_XDM.ZIP"),
    _mime("mss.pdf.other-patient", "PDF attachment", "a PDF naming another patient",
          op.attachment("compte-rendu.pdf", op.other_patient_pdf), ("MSS/CONF.23",) + CDA_INS, identity=True),
    _mime("mss.pdf.truncated", "PDF attachment", "the PDF cut in half",
          op.attachment("compte-rendu.pdf", op.truncated_pdf), ("MSS/CONF.23",)),
    _mime("mss.pdf.not-pdf", "PDF attachment", "plain text instead of a PDF",
          op.attachment("compte-rendu.pdf", op.not_a_pdf), ("MSS/CONF.23",)),
    _mime("mss.xdm.truncated", "IHE_XDM.ZIP", "the zip cut in half",
          op.attachment("IHE_XDM.ZIP", lambda z, c: z[: len(z) // 2]), XDM_DOC),
    _mime("mss.xdm.renamed", "IHE_XDM.ZIP", "attached as archive.zip",
          op.attachment("IHE_XDM.ZIP", lambda z, c: z, rename="archive.zip"), XDM_DOC),
    _mime("mss.xdm.dropped", "IHE_XDM.ZIP", "no XDM attachment",
          op.attachment("IHE_XDM.ZIP", lambda z, c: None), XDM_DOC),
    _mime("mss.xdm.two-patients", "IHE_XDM.ZIP", "a second CDA for another patient in the archive",
          op.attachment("IHE_XDM.ZIP", op.xdm_add_other_patient_document), XDM_DOC + XDM_PATIENT,
          identity=True),
    _mime("xdm.patient-id.other", "XDM patientId", "another patient's INS",
          op.xdm_overrides(patient_id=_other_patient_id), XDM_PATIENT, identity=True),
    _mime("xdm.source-patient-id.other", "XDM sourcePatientId", "another patient's INS",
          op.xdm_overrides(source_patient_id=_other_patient_id), XDM_PATIENT, identity=True),
    _mime("xdm.source-patient-info.name", "XDM sourcePatientInfo", "PID-5 another birth name",
          op.xdm_metadata_text(r"PID-5\|([^^<]*)", lambda m, c: "PID-5|" + op.other_name(m[1])), XDM_PATIENT,
          identity=True),
    _mime("xdm.source-patient-info.birth", "XDM sourcePatientInfo", "PID-7 one day later",
          op.xdm_metadata_text(r"PID-7\|(\d{8})", lambda m, c: "PID-7|" + op.day_after(m[1])), XDM_PATIENT,
          identity=True),
    _mime("xdm.source-patient-info.sex", "XDM sourcePatientInfo", "PID-8 M ↔ F",
          op.xdm_metadata_text(r"PID-8\|([MF])", lambda m, c: "PID-8|" + op.other_sex(m[1])), XDM_PATIENT,
          identity=True),
    _mime("xdm.type-code", "XDM typeCode", "another type than the CDA's",
          op.xdm_overrides(type_code="11488-4"), XDM_DOC),
    _mime("xdm.class-code", "XDM classCode", "a class code outside the value set",
          op.xdm_overrides(class_code=("XXX", "1.2.250.1.213.1.1.4.1", "Inconnu")), XDM_DOC),
    _mime("xdm.format-code", "XDM formatCode", "another format code",
          op.xdm_overrides(format_code=("urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3", "Texte")),
          XDM_DOC),
    _mime("xdm.confidentiality", "XDM confidentialityCode", "a code outside HL7 Confidentiality",
          op.xdm_overrides(confidentiality="X"), XDM_DOC),
    _mime("xdm.hash", "XDM hash", "another SHA-1", op.xdm_overrides(hash="0" * 40), XDM_DOC),
    _mime("xdm.size", "XDM size", "size + 1", op.xdm_overrides(size=lambda d, c: len(d) + 1), XDM_DOC),
    _mime("xdm.unique-id", "XDM uniqueId", "another id than the CDA's",
          op.xdm_overrides(unique_id=lambda d, c: f"2.25.{uuid.uuid4().int}"), XDM_DOC),
    _mime("xdm.creation-time", "XDM creationTime", "a year later than the CDA's",
          op.xdm_overrides(creation_time=_a_year_after_the_cda), XDM_DOC),
]

RECIPIENT_MUTANTS = [
    Mutant("recipient.other-professional", "MSSanté recipient", "recipient", "another professional's mailbox",
           lambda r, c: c["others"].mailbox(r), ("RIS.MSS/va1.29",), identity=True, scope=("mss",)),
    Mutant("recipient.citizen-other-patient", "MSSanté recipient", "recipient",
           "another patient's Mon espace santé address",
           lambda r, c: f"{c['others'].patient.ins}@patient.mssante.fr", ("MSS/va1.19", "SC.MSS/va1.19"),
           identity=True, scope=("citizen",)),
    Mutant("recipient.citizen-nir-only", "MSSanté recipient", "recipient",
           "<NIR without key>@patient.mssante.fr", lambda r, c: r[:13] + r[15:],
           ("MSS/va1.19", "SC.MSS/va1.19"), identity=True, scope=("citizen",)),
    Mutant("envelope.rcpt.other", "SMTP envelope", "envelope",
           "RCPT TO another professional (To header right)",
           op.envelope_recipient(lambda r, c: c["others"].mailbox(r)), ("RIS.MSS/va1.29",), identity=True,
           scope=("mss",)),
    Mutant("envelope.sender.personal", "SMTP envelope", "envelope",
           "sent from the author's personal mailbox instead of the application mailbox",
           op.envelope_sender(lambda s, c: (c["task"].author.get("professional") or {}).get("mailbox")),
           ("RIS.MSS/va1.29", "MSS/va1.17"), scope=MSS_TASKS),
]

TRAITS = "rechercherInsAvecTraitsIdentite"
CARD = "rechercherInsAvecCarteVitale"


def _insi(id_, operator, apply, requirements=INSI, *, harmless="", identity=True):
    requirements = () if harmless else tuple(requirements)
    return Mutant(id_, "INSi request", "insi-request", operator, apply, requirements, harmless, identity)


def _other_patient_trait(name):
    def new(old, context):
        patient = context["others"].patient
        return {"NomNaissance": patient.birth_name, "Prenom": [patient.first_name], "Sexe": patient.sex,
                "DateNaissance": patient.birth_date}[name]
    return new


def _other_traits(arguments, context):
    if context.get("operation") != TRAITS:
        return None
    patient = context["others"].patient
    changed = dict(arguments, NomNaissance=patient.birth_name, Prenom=[patient.first_name], Sexe=patient.sex,
                   DateNaissance=patient.birth_date)
    changed.pop("LieuNaissance", None)
    return changed


def _other_card(arguments, context):
    if context.get("operation") != CARD:
        return None
    patient = context["others"].patient
    return dict(arguments, MatriculeIndividu={"NumIdentifiant": patient.nir, "Cle": patient.nir_key},
                DateNaissance=patient.birth_date, NomNaissance=patient.birth_name)


INSI_MUTANTS = [
    _insi("insi.traits.other-patient", "every trait of another patient (INSi answers 00 for them)",
          _other_traits),
    _insi("insi.traits.birth-name", "another birth name",
          op.insi_argument("NomNaissance", lambda v, c: op.other_name(v), operation=TRAITS)),
    _insi("insi.traits.first-name", "another first name",
          op.insi_argument("Prenom", lambda v, c: ["JEAN"], operation=TRAITS)),
    _insi("insi.traits.sex", "M ↔ F",
          op.insi_argument("Sexe", lambda v, c: op.other_sex(v), operation=TRAITS)),
    _insi("insi.traits.birth-date", "one day later",
          op.insi_argument("DateNaissance", lambda v, c: op.day_after(v), operation=TRAITS)),
    _insi("insi.traits.birth-place-dropped", "birth place left out",
          op.insi_argument("LieuNaissance", None, operation=TRAITS),
          harmless="the birth place is optional in the traits search (CNAM's INSi_RECSANS_INS.xsd: "
                   "LieuNaissance minOccurs=0); INSi answers 00 with the same identity"),
    _insi("insi.card.other-patient", "another patient's Vitale card (NIR, birth date, name)", _other_card,
          ("INS/va1.34", "INS/va1.35")),
    _insi("insi.card.birth-name-dropped", "birth name left out of the card search",
          op.insi_argument("NomNaissance", None, operation=CARD),
          harmless="the birth name is optional in the card search (CNAM's INSi_RECVITALE_INS.xsd: "
                   "NomNaissance minOccurs=0); INSi answers 00 with the same identity"),
]

MUTANTS: dict[str, Mutant] = {m.id: m for m in
                              CDA_MUTANTS + XDS_MUTANTS + MIME_MUTANTS + RECIPIENT_MUTANTS + INSI_MUTANTS}
