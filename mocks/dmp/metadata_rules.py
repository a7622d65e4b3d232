"""The DMP's checks on an ITI-41 submission: the patient, the codes, the metadata ↔ CDA consistency.

`check_submission` runs after the ebRIM parser (ebrim.py, whose XDS-EBRIM-* findings cover the IHE
structure and the attributes IHE requires) and after `verify_vihf`; it adds what the DMP demands on
top (rules DMP-PAT-*, DMP-CODE-*, DMP-CDA-*, XDS-001…010 and the VIHF ↔ metadata rules VIHF-019/020,
all in rules.py with their sources). It never raises on bad input and never decides severity
policy: lenient mode is the backend's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from segur.kernel import ins as ins_helpers
from segur.kernel.findings import Finding, Severity
from segur.validators import safe_xml

from . import rules, valuesets
from .cda_header import (
    CdaHeader,
    HeaderUnreadable,
    cda_time_to_xds,
    is_clinical_document,
    read_cda_header,
    read_header_root,
)
from .digest import sha1_of
from .patient_info import check_source_patient_info
from .rules import (
    DMP_CDA_001,
    DMP_CDA_002,
    DMP_CDA_003,
    DMP_CDA_004,
    DMP_CDA_005,
    DMP_CDA_006,
    DMP_CDA_007,
    DMP_CDA_008,
    DMP_CDA_009,
    DMP_CDA_010,
    DMP_CDA_011,
    DMP_CDA_012,
    DMP_CODE_001,
    DMP_CODE_002,
    DMP_CODE_003,
    DMP_CODE_004,
    DMP_CODE_005,
    DMP_CODE_006,
    DMP_CODE_007,
    DMP_CODE_008,
    DMP_CODE_009,
    DMP_CONF_001,
    DMP_PAT_001,
    DMP_PAT_002,
    DMP_PAT_003,
    DMP_PAT_004,
    DMP_PAT_005,
    DMP_PAT_006,
    DMP_PAT_007,
    VIHF_019,
    VIHF_020,
    XDS_001,
    XDS_002,
    XDS_003,
    XDS_004,
    XDS_005,
    XDS_006,
    XDS_007,
    XDS_008,
    XDS_009,
    XDS_010,
    XDS_011,
)
from .vihf import VihfClaims, check_ins_patient_id
from .visibility import VISIBILITY_EFFECTS, VISIBILITY_SCHEME
from .xds_metadata import Code, DocumentEntry, Submission, SubmissionSet, Xcn, Xon

OID_IDNPS = ins_helpers.OID_IDNPS
OID_IDNST = "1.2.250.1.71.4.2.2"

#: formatCodes of documents that are not CDA (DICOM KOS, XML signatures): no CDA consistency for them.
NON_CDA_FORMATS = {"1.2.840.10008.5.1.4.1.1.88.59", "http://www.w3.org/2000/09/xmldsig#",
                   "urn:ihe:iti:dsg:detached:2014"}

#: The national PS id (IDNPS) shapes: 8 + RPPS (11 digits), 0 + ADELI (9 characters), 3 + FINESS/local id
#: for a structure's staff (ANS "Annexe transverse - Source des données métier pour les professionnels").
_IDNPS = re.compile(r"^(8\d{11}|0[0-9A-Z]{9}|[345][0-9A-Z]{9,14}/[0-9A-Za-z-]{1,30})$")
_DTM = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?$")
_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")


@dataclass(frozen=True)
class DmpState:
    """What the DMP knows of one patient's record right now."""

    exists: bool = True
    closed: bool = False
    opposed: bool = False


@dataclass
class DmpContext:
    """The world the rules judge against, and the DMP's current state.

    `authorisation(caller, patient)` answers like TD0.2 (VALIDE, EXPIRE, INTERDIT, NON_EXISTE) for the
    caller (the VIHF NameID, else its structure). INTERDIT (the patient blocked this professional) is
    always refused; a missing or expired authorisation only when `require_authorisation` is set, since
    feeding a DMP needs none (REM DMP/CONF.05: "ne DOIT pas demander d'autorisation (TD0.3) pour
    l'alimentation").
    """

    world: object | None = None  # segur.fixtures.world.World
    # default: the world's has_dmp/dmp_closed/dmp_opposed
    patient_state: Callable[[object], DmpState] | None = None
    authorisation: Callable[[str, object], str] | None = None
    require_authorisation: bool = False
    test_mode: bool = True
    validate_document: Callable[[bytes], object] | None = None  # segur.validators.validate-like → Report
    max_document_size: int | None = None  # larger documents are the backend's XDS-41-016: not read here

    def state_of(self, patient) -> DmpState:
        if self.patient_state is not None:
            return self.patient_state(patient)
        return DmpState(
            exists=getattr(patient, "has_dmp", True), closed=getattr(patient, "dmp_closed", False),
            opposed=getattr(patient, "dmp_opposed", False))


def _where_ss(ss: SubmissionSet) -> str:
    return f"SubmissionSet '{ss.symbolic_id or ss.entry_uuid}'"


def _where_de(entry: DocumentEntry) -> str:
    return f"DocumentEntry '{entry.symbolic_id or entry.entry_uuid}'"


def _entry_key(entry: DocumentEntry) -> str:
    return entry.symbolic_id or entry.entry_uuid


def check_submission(submission: Submission, documents: dict[str, bytes], claims: VihfClaims | None,
                     context: DmpContext) -> list[Finding]:
    """Every DMP rule on one submission; `documents` maps a DocumentEntry id to the bytes received."""
    findings: list[Finding] = []
    ss = submission.submission_set
    if ss is not None:
        findings += _check_submission_set(ss, claims, context)
    findings += _check_unique_ids(submission)
    known_ids = set()
    for entry in submission.document_entries:
        known_ids.update({entry.entry_uuid, entry.symbolic_id} - {None})
        data = documents.get(entry.entry_uuid)
        if data is None and entry.symbolic_id:
            data = documents.get(entry.symbolic_id)
        findings += _check_entry(entry, ss, data, context)
    for doc_id in documents:
        if doc_id not in known_ids:
            findings.append(XDS_004.finding(location=f"Document[@id='{doc_id}']", entry=doc_id))
    return findings


# --- the submission set and the patient ------------------------------------------------------------------
def _check_submission_set(ss: SubmissionSet, claims: VihfClaims | None, context: DmpContext) -> list[Finding]:
    findings: list[Finding] = []
    where = _where_ss(ss)
    if ss.patient_id:
        findings += check_patient(ss.patient_id, where, claims, context)
    if ss.content_type_code is not None:
        findings += _check_code("contentTypeCode", ss.content_type_code, where, DMP_CODE_007)
    if ss.submission_time:
        findings += _check_dtm("submissionTime", ss.submission_time, where)
    if ss.unique_id and (not _OID.match(ss.unique_id) or len(ss.unique_id) > 64):
        findings.append(XDS_008.finding(
            location=f"{where}/uniqueId", attribute="uniqueId", where=where, value=ss.unique_id,
            kind="submission set uniqueId", detail="it must be an OID of at most 64 characters",
            fix="Use an OID under your organisation's root (e.g. <root>.<counter>)."))
    if ss.source_id and not _OID.match(ss.source_id):
        findings.append(XDS_008.finding(location=f"{where}/sourceId", attribute="sourceId", where=where,
                                        value=ss.source_id, kind="sourceId", detail="it must be an OID",
                                        fix="Use the OID that identifies your sending system."))
    if not any(a.person for a in ss.authors):
        findings.append(XDS_001.finding(location=f"{where}/author", where=where, attribute="authorPerson"))
    findings += _check_authors(ss.authors, where, persons_must_be_professionals=False)
    if claims is not None:
        if claims.resource_id and ss.patient_id and not _same_patient(claims.resource_id, ss.patient_id):
            findings.append(VIHF_019.finding(location=f"{where}/patientId", vihf=claims.resource_id,
                                             metadata=ss.patient_id))
        institutions = [Xon.parse(v) for a in ss.authors for v in a.institutions]
        named = any(x.id == claims.structure_id for x in institutions)
        if claims.structure_id and institutions and not named:
            value = next(v for a in ss.authors for v in a.institutions)
            findings.append(VIHF_020.finding(
                location=f"{where}/author/authorInstitution", value=value, where=where,
                structure=claims.structure_id))
    return findings


def _same_patient(a: str, b: str) -> bool:
    first, second = ins_helpers.parse_xds_patient_id(a), ins_helpers.parse_xds_patient_id(b)
    if first is None or second is None:
        return a.strip() == b.strip()
    return (first.value.upper(), first.oid) == (second.value.upper(), second.oid)


def check_patient(patient_id: str, where: str, claims: VihfClaims | None,
                  context: DmpContext) -> list[Finding]:
    """DMP-PAT-*: an INS of a known patient with an open DMP who has not opposed, the caller not blocked."""
    location = f"{where}/patientId"
    ins, problem = check_ins_patient_id(patient_id, context.test_mode)
    if ins is None:
        return [DMP_PAT_001.finding(location=location, value=patient_id, where=where)]
    if problem:
        refused_test_oid = ins.oid in ins_helpers.TEST_OIDS and not context.test_mode
        if ins.oid not in ins_helpers.INS_OIDS or refused_test_oid:
            mode = "" if ins.oid not in ins_helpers.INS_OIDS else " outside test mode"
            kind = ins_helpers.INS_OIDS.get(ins.oid, "not an INS OID")
            return [DMP_PAT_002.finding(
                location=location, value=patient_id, oid=ins.oid, kind=kind, mode=mode)]
        return [DMP_PAT_003.finding(location=location, value=patient_id, detail=problem)]
    world = context.world
    if world is None:
        return []
    patient = world.patient_by_ins(ins.value)
    test_oid = context.test_mode and ins.oid in ins_helpers.TEST_OIDS
    if patient is None or not (patient.oid == ins.oid or test_oid):
        return [DMP_PAT_004.finding(location=location, ins=ins.xds_patient_id())]
    state = context.state_of(patient)
    if not state.exists:
        return [DMP_PAT_005.finding(location=location, ins=ins.value, state="no DMP (TD0.2: NON_EXISTE)")]
    if state.closed:
        return [DMP_PAT_005.finding(location=location, ins=ins.value, state="a closed DMP")]
    if state.opposed:
        return [DMP_PAT_006.finding(location=location, ins=ins.value)]
    if context.authorisation is not None and claims is not None and claims.caller:
        status = context.authorisation(claims.caller, patient)
        if status == "INTERDIT" or (context.require_authorisation and status != "VALIDE"):
            return [DMP_PAT_007.finding(
                location=location, caller=claims.caller, ins=ins.value, status=status)]
    return []


# --- uniqueness, formats ---------------------------------------------------------------------------------
def _check_unique_ids(submission: Submission) -> list[Finding]:
    seen: dict[str, int] = {}
    ids = [submission.submission_set.unique_id] if submission.submission_set else []
    ids += [entry.unique_id for entry in submission.document_entries]
    for unique_id in ids:
        if unique_id:
            seen[unique_id] = seen.get(unique_id, 0) + 1
    return [XDS_007.finding(location="uniqueId", value=value) for value, count in seen.items() if count > 1]


def _check_dtm(attribute: str, value: str, where: str) -> list[Finding]:
    problem = None
    if not _DTM.match(value):
        problem = "a DTM is YYYY[MM[DD[hh[mm[ss]]]]] in UTC, digits only, no time zone"
    else:
        padded = value + "0101000000"[len(value) - 4:] if len(value) < 14 else value
        try:
            datetime.strptime(padded[:14], "%Y%m%d%H%M%S")
        except ValueError:
            problem = "it is not a real date and time"
    if problem is None:
        return []
    return [XDS_008.finding(
        location=f"{where}/{attribute}", attribute=attribute, where=where, value=value, kind="DTM",
        detail=problem, fix="Write UTC times as YYYYMMDDhhmmss, e.g. 20240105083000.")]


def _check_entry_unique_id(entry: DocumentEntry, where: str) -> list[Finding]:
    value = entry.unique_id or ""
    root, _, extension = value.partition("^")
    problem = None
    if len(value) > 128:
        problem = f"it has {len(value)} characters, over 128"
    elif not _OID.match(root) or len(root) > 64:
        problem = "its root must be an OID of at most 64 characters"
    elif "^" in value and not extension:
        problem = "the extension after ^ is empty"
    if problem is None:
        return []
    return [XDS_008.finding(location=f"{where}/uniqueId", attribute="uniqueId", where=where, value=value,
                            kind="document uniqueId", detail=problem,
                            fix="Use the CDA id: its root (an OID), or root^extension.")]


# --- coded values ---------------------------------------------------------------------------------------
def _check_code(attribute: str, code: Code, where: str, rule: rules.XdsRule) -> list[Finding]:
    value_set = valuesets.for_attribute(attribute)
    if not code.code or value_set.contains(code.code, code.scheme or None):
        return []
    systems = value_set.systems_of(code.code)
    hint_detail = (f"{code.code} exists in {value_set.published_as} under codingScheme {', '.join(systems)}"
                   if systems else f"code systems of the set: {', '.join(value_set.systems)}")
    return [rule.finding(
        location=f"{where}/{attribute}", code=code.code, system=code.scheme or "no codingScheme", where=where,
        basis=value_set.basis, hint_detail=hint_detail)]


def _check_codes(entry: DocumentEntry, where: str) -> list[Finding]:
    findings: list[Finding] = []
    for attribute, code, rule in (
        ("classCode", entry.class_code, DMP_CODE_001),
        ("typeCode", entry.type_code, DMP_CODE_002),
        ("formatCode", entry.format_code, DMP_CODE_003),
        ("healthcareFacilityTypeCode", entry.healthcare_facility_type_code, DMP_CODE_004),
        ("practiceSettingCode", entry.practice_setting_code, DMP_CODE_005),
    ):
        if code is not None:
            findings += _check_code(attribute, code, where, rule)
    for code in entry.confidentiality_codes:
        findings += _check_code("confidentialityCode", code, where, DMP_CODE_006)
    if entry.confidentiality_codes and not any(
            c.scheme == valuesets.SYSTEM_HL7_CONFIDENTIALITY and c.code in ("N", "R", "V")
            for c in entry.confidentiality_codes):
        findings.append(DMP_CODE_009.finding(location=f"{where}/confidentialityCode", where=where))
    status_set = valuesets.for_attribute("availabilityStatus")
    if entry.availability_status and not status_set.contains(entry.availability_status):
        findings.append(DMP_CODE_008.finding(
            location=f"{where}/@status", code=entry.availability_status, system="ExtrinsicObject@status",
            where=where, basis=status_set.basis,
            hint_detail="a Document Source normally leaves status out; the registry sets Approved"))
    return findings


def _check_visibility(entry: DocumentEntry, where: str) -> list[Finding]:
    """DMP-CONF-001 (warning): a document stored hidden from someone is worth seeing in the journal."""
    hiding = [c for c in entry.confidentiality_codes
              if c.scheme == VISIBILITY_SCHEME and c.code in VISIBILITY_EFFECTS]
    return [DMP_CONF_001.finding(location=f"{where}/confidentialityCode", entry=where, code=code.code,
                                 effect=VISIBILITY_EFFECTS[code.code][0],
                                 effect_fr=VISIBILITY_EFFECTS[code.code][1])
            for code in hiding]


# --- people and organisations ------------------------------------------------------------------------------
def _xcn_problem(value: str, must_be_professional: bool) -> str | None:
    xcn = Xcn.parse(value)
    if not xcn.id:
        return "the first component (the identifier) is empty"
    if not xcn.assigning_authority:
        return "the 9th component has no assigning authority OID (&1.2.250.1.71.4.2.1&ISO)"
    parts = value.split("^")
    if xcn.identifier_type == "" and len(parts) >= 14 and parts[13] == "IDNPS":
        return "IDNPS is in the 14th component; the identifier type code is the 13th (…^D^^^IDNPS)"
    if must_be_professional or xcn.identifier_type == "IDNPS":
        if xcn.assigning_authority != OID_IDNPS:
            return f"the assigning authority is {xcn.assigning_authority}, not the national PS id {OID_IDNPS}"
        if xcn.identifier_type != "IDNPS":
            return f"the identifier type (13th component) is {xcn.identifier_type or 'empty'}, not IDNPS"
        if not _IDNPS.match(xcn.id):
            return f"{xcn.id} is not a national PS id (8 + RPPS, 0 + ADELI, or 3/4/5 + structure id/local id)"
        return None
    if xcn.identifier_type not in ("IDNPS", "EI"):
        return (f"the identifier type (13th component) is {xcn.identifier_type or 'empty'}: IDNPS for a "
                "professional, EI for a device or software")
    return None


def _check_authors(authors, where: str, persons_must_be_professionals: bool) -> list[Finding]:
    findings: list[Finding] = []
    for author in authors:
        if author.person:
            problem = _xcn_problem(author.person, persons_must_be_professionals)
            if problem:
                findings.append(XDS_009.finding(
                    location=f"{where}/author/authorPerson", attribute="authorPerson", value=author.person,
                    where=where, detail=problem))
        for institution in author.institutions:
            xon = Xon.parse(institution)
            problem = None
            if not xon.name:
                problem = "the first component (the name) is empty"
            elif not xon.id:
                problem = "the 10th component (the structure id) is empty"
            elif not xon.assigning_authority:
                problem = "the 6th component has no assigning authority OID (&1.2.250.1.71.4.2.2&ISO)"
            if problem:
                findings.append(XDS_010.finding(
                    location=f"{where}/author/authorInstitution", value=institution, where=where,
                    detail=problem))
    return findings


def _check_same_institution(entry: DocumentEntry, ss: SubmissionSet, where: str) -> list[Finding]:
    """XDS-011: the DMP wants each entry's authorInstitution to be the submission set's (ANS 'Mapping XDS'
    note)."""
    expected = {Xon.parse(v).id for a in ss.authors for v in a.institutions if Xon.parse(v).id}
    if not expected:
        return []
    for author in entry.authors:
        for value in author.institutions:
            if Xon.parse(value).id not in expected:
                shown = next(v for a in ss.authors for v in a.institutions)
                return [XDS_011.finding(
                    location=f"{where}/author/authorInstitution", where=where, value=value, expected=shown)]
    return []


# --- one document entry ------------------------------------------------------------------------------------
def _check_entry(entry: DocumentEntry, ss: SubmissionSet | None, data: bytes | None,
                 context: DmpContext) -> list[Finding]:
    findings: list[Finding] = []
    where = _where_de(entry)
    # compared as written: the store files an entry under its patientId string (XDS-002 is also the one
    # report of what the repository's own check, XDS-41-005, used to say)
    if ss is not None and ss.patient_id and entry.patient_id and entry.patient_id != ss.patient_id:
        findings.append(XDS_002.finding(location=f"{where}/patientId", where=where, value=entry.patient_id,
                                        expected=ss.patient_id))
    findings += _check_codes(entry, where)
    findings += _check_visibility(entry, where)
    for attribute in ("creation_time", "service_start_time", "service_stop_time"):
        value = getattr(entry, attribute)
        if value:
            name = {"creation_time": "creationTime", "service_start_time": "serviceStartTime",
                    "service_stop_time": "serviceStopTime"}[attribute]
            findings += _check_dtm(name, value, where)
    if entry.unique_id:
        findings += _check_entry_unique_id(entry, where)
    if not any(a.person for a in entry.authors):
        findings.append(XDS_001.finding(location=f"{where}/author", where=where, attribute="authorPerson"))
    findings += _check_authors(entry.authors, where, persons_must_be_professionals=False)
    if ss is not None:
        findings += _check_same_institution(entry, ss, where)
    if not entry.legal_authenticator:
        findings.append(XDS_001.finding(location=f"{where}/legalAuthenticator", where=where,
                                        attribute="legalAuthenticator"))
    else:
        problem = _xcn_problem(entry.legal_authenticator, must_be_professional=True)
        if problem:
            findings.append(XDS_009.finding(
                location=f"{where}/legalAuthenticator", attribute="legalAuthenticator",
                value=entry.legal_authenticator, where=where, detail=problem))
    if not entry.title:
        findings.append(XDS_001.finding(location=f"{where}/title", where=where, attribute="title"))

    key = _entry_key(entry)
    if data is None:
        findings.append(XDS_003.finding(location=f"{where}", entry=key))
        return findings
    if context.max_document_size is not None and len(data) > context.max_document_size:
        return findings  # over the per-document limit: refused unread by the backend (XDS-41-016)
    # XDS hash is SHA-1 by definition (ITI TF-3 §4.2.3.2.10); computed once per document
    digest = sha1_of(data)
    if entry.hash and entry.hash.lower() != digest:
        findings.append(XDS_005.finding(
            location=f"{where}/hash", entry=key, value=entry.hash, expected=digest))
    if entry.size is not None and entry.size != len(data):
        findings.append(XDS_006.finding(
            location=f"{where}/size", entry=key, value=entry.size, expected=len(data)))

    format_code = entry.format_code.code if entry.format_code else ""
    if format_code in NON_CDA_FORMATS or (entry.mime_type or "").lower() == "application/dicom":
        return findings  # a KOS or a signature: the CDA rules do not apply
    if entry.mime_type and entry.mime_type.lower() != "text/xml":
        findings.append(DMP_CDA_011.finding(location=f"{where}/@mimeType", entry=key, value=entry.mime_type))
    findings += _check_document(entry, key, where, data, context)
    return findings


def _with_xds_code(finding: Finding, code: str = rules.XDS_REPOSITORY_ERROR) -> Finding:
    if "xds_code" in finding.extra:
        return finding
    return replace(finding, extra={**finding.extra, "xds_code": code})


def _check_document(entry: DocumentEntry, key: str, where: str, data: bytes,
                    context: DmpContext) -> list[Finding]:
    findings: list[Finding] = []
    report = context.validate_document(data) if context.validate_document is not None else None
    validator_findings = [] if report is None else [
        _with_xds_code(f) for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if report is not None and not getattr(report, "unreadable", False):
        # The validator parsed (and judged) the whole document: reading the header is enough here.
        try:
            root = read_header_root(data)
        except HeaderUnreadable as problem:
            findings.append(DMP_CDA_001.finding(
                location=where, entry=key, detail=f"its header cannot be read ({problem})"))
            return findings + validator_findings
    else:
        try:
            root = safe_xml.parse(data, name=key).tree.getroot()
        except safe_xml.UnreadableDocument as unreadable:
            if report is None:
                findings += [_with_xds_code(f) for f in unreadable.findings]
            findings.append(DMP_CDA_001.finding(location=where, entry=key, detail="it is not readable XML"))
            return findings + validator_findings
    if not is_clinical_document(root):
        findings.append(DMP_CDA_001.finding(
            location=where, entry=key,
            detail=f"its root element is {root.tag}, not {{urn:hl7-org:v3}}ClinicalDocument"))
        return findings + validator_findings
    findings += check_consistency(entry, read_cda_header(root), key, where)
    errors = [f for f in validator_findings if f.severity == Severity.ERROR]
    if errors:
        findings.append(DMP_CDA_012.finding(location=where, entry=key, count=len(errors)))
    return findings + validator_findings


def _code_text(code: str, system: str) -> str:
    return f"{code} ({system})" if system else code


def _xcn_id(value: str | None) -> str:
    return Xcn.parse(value).id if value else ""


def check_consistency(entry: DocumentEntry, header: CdaHeader, key: str, where: str) -> list[Finding]:
    """DMP-CDA-002…010: the metadata say what the CDA header says."""
    findings: list[Finding] = []
    if entry.type_code is not None and header.code is not None and (
            entry.type_code.code, entry.type_code.scheme) != (header.code.code, header.code.code_system):
        findings.append(DMP_CDA_002.finding(location=f"{where}/typeCode", entry=key,
                                            value=_code_text(entry.type_code.code, entry.type_code.scheme),
                                            expected=_code_text(header.code.code, header.code.code_system)))
    if entry.class_code is not None and entry.type_code is not None:
        expected = valuesets.class_for_type(entry.type_code.code, entry.type_code.scheme or None)
        declared = (entry.class_code.code, entry.class_code.scheme)
        if expected is not None and declared != (expected.code, expected.system):
            findings.append(DMP_CDA_003.finding(
                location=f"{where}/classCode", entry=key,
                value=_code_text(entry.class_code.code, entry.class_code.scheme),
                type_code=entry.type_code.code, expected=_code_text(expected.code, expected.system)))
    cda_ins = header.ins
    cda_patient_id = cda_ins.xds_patient_id() if cda_ins is not None else None
    if entry.patient_id and cda_ins is not None and not _same_patient(entry.patient_id, cda_patient_id):
        findings.append(DMP_CDA_004.finding(location=f"{where}/patientId", entry=key, value=entry.patient_id,
                                            expected=cda_ins.xds_patient_id()))
    elif entry.patient_id and cda_ins is None:
        findings.append(DMP_CDA_004.finding(location=f"{where}/patientId", entry=key, value=entry.patient_id,
                                            expected="(no INS in recordTarget/patientRole/id)"))
    if entry.unique_id and header.id_root and entry.unique_id != header.unique_id:
        findings.append(DMP_CDA_005.finding(location=f"{where}/uniqueId", entry=key, value=entry.unique_id,
                                            expected=header.unique_id))
    if entry.creation_time and header.effective_time:
        expected = cda_time_to_xds(header.effective_time)
        if expected is not None and not _same_time(entry.creation_time, expected, header.effective_time):
            findings.append(DMP_CDA_006.finding(
                location=f"{where}/creationTime", entry=key, value=entry.creation_time,
                cda=header.effective_time, expected=expected))
    if entry.legal_authenticator and header.legal_authenticator is not None:
        expected_id = header.legal_authenticator.id
        if _xcn_id(entry.legal_authenticator) != expected_id:
            findings.append(DMP_CDA_007.finding(location=f"{where}/legalAuthenticator", entry=key,
                                                value=entry.legal_authenticator, expected=expected_id))
    cda_author_ids = [a.id for a in header.authors]
    for author in entry.authors:
        if author.person and cda_author_ids and _xcn_id(author.person) not in cda_author_ids:
            findings.append(DMP_CDA_008.finding(location=f"{where}/author/authorPerson", entry=key,
                                                value=author.person, expected=", ".join(cda_author_ids)))
    if entry.format_code is not None:
        findings += _check_format(entry, header, key, where)
    if entry.confidentiality_codes and header.confidentiality is not None and not any(
            (c.code, c.scheme) == (header.confidentiality.code, header.confidentiality.code_system)
            for c in entry.confidentiality_codes):
        findings.append(DMP_CDA_010.finding(
            location=f"{where}/confidentialityCode", entry=key,
            expected=_code_text(header.confidentiality.code, header.confidentiality.code_system)))
    findings += check_source_patient_info(entry, header, key, where)
    return findings


def _same_time(metadata: str, expected_utc: str, cda_value: str) -> bool:
    """creationTime matches the CDA time in UTC; a truncation to at least the day is accepted."""
    if metadata == expected_utc:
        return True
    if len(metadata) >= 8 and len(metadata) < len(expected_utc) and expected_utc.startswith(metadata):
        return True
    # A CDA time without offset taken as written (some producers send local time without zone).
    return metadata == re.sub(r"[.+-].*$", "", cda_value)


def _check_format(entry: DocumentEntry, header: CdaHeader, key: str, where: str) -> list[Finding]:
    actual = (entry.format_code.code, entry.format_code.scheme)
    if header.is_n1:
        expected = valuesets.format_code_for_n1(header.n1_media_type or "")
        why = f"CDA N1 embedding {header.n1_media_type or 'an unknown media type'} (ASS_A11)"
        if expected is None:
            return [DMP_CDA_009.finding(
                location=f"{where}/formatCode", entry=key, value=_code_text(*actual), level="N1",
                expected="an xds-sd formatCode", why=why)]
        if actual != (expected.code, expected.system):
            return [DMP_CDA_009.finding(
                location=f"{where}/formatCode", entry=key, value=_code_text(*actual), level="N1",
                expected=_code_text(expected.code, expected.system), why=why)]
        return []
    candidates = valuesets.format_codes_for_templates(header.template_ids)
    if not candidates:
        return []  # no content model of ASS_A11 among the templateIds: nothing to compare with
    if actual not in {(c.code, c.system) for c in candidates}:
        return [DMP_CDA_009.finding(
            location=f"{where}/formatCode", entry=key, value=_code_text(*actual), level="N3",
            expected=" or ".join(_code_text(c.code, c.system) for c in candidates),
            why="its content-model templateId (ASS_A11)")]
    return []
