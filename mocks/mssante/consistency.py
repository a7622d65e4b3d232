"""What an MSSanté message says twice and must say alike (issue 13): METADATA.XML against the CDA it
describes (formatCode, classCode, the patient of sourcePatientId/-Info and of the submission set), the
PDF copy against the PDF a CDA N1 embeds, and one document uniqueId across messages.

The code tables are the DMP mock's (`segur.mocks.dmp.valuesets`: ASS_A11 for the formatCode, ASS_X04
for the classCode), imported, so both mocks judge a document's metadata by the same facts. MSSanté
delivers what the DMP would refuse; these rules put it in the journal so the editor sees it.

The CDA side is the mock's one CDA model, `cda.CdaHeader` (read through the validator's safe parser);
the comparisons take plain values (`source_patient_mismatches`) and the checks fire the rules.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

from segur.kernel.findings import Finding
from segur.kernel.ins import INS_OIDS
from segur.mocks.dmp import valuesets
from segur.mocks.mssante import rules
from segur.mocks.mssante.cda import CdaHeader
from segur.validators.body_text import ASCII_WHITESPACE


def split_patient_id(patient_id: str | None) -> tuple[str | None, str | None]:
    """An HL7 v2 CX ``value^^^&oid&ISO[^type]`` as (value, oid); (value, None) without an authority."""
    if not patient_id:
        return None, None
    match = re.match(r"^([^\^]*)\^\^\^&([0-9.]+)&ISO", patient_id.strip())
    if match:
        return match[1], match[2]
    return patient_id.split("^", 1)[0], None


def _code_text(code: str | None, system: str | None) -> str:
    return f"{code} ({system})" if system else f"{code}"


def _same_code(code: str, scheme: str | None, expected: valuesets.Concept) -> bool:
    """The code of the table, and its system when METADATA.XML names one (codingScheme is optional)."""
    return code == expected.code and (not scheme or scheme == expected.system)


# ---------------------------------------------------------------------------- codes of METADATA.XML
def check_codes(doc, findings: list[Finding]) -> None:
    """formatCode (N1: the xds-sd code of the embedded media type; N3: ASS_A11 for its templateIds) and
    classCode (ASS_X04 for its typeCode), as the DMP mock's DMP-CDA-009 and DMP-CDA-003 decide."""
    meta = doc.metadata
    if meta.format_code:
        finding = _format_finding(doc)
        if finding is not None:
            findings.append(finding)
    if meta.class_code and meta.type_code:
        expected = valuesets.class_for_type(meta.type_code, meta.type_code_scheme or None)
        if expected is not None and not _same_code(meta.class_code, meta.class_code_scheme, expected):
            declared = _code_text(meta.class_code, meta.class_code_scheme)
            findings.append(rules.XDM_CLASSCODE.finding(location=doc.path, uri=doc.uri, declared=declared,
                                                        type_code=meta.type_code,
                                                        expected=_code_text(expected.code, expected.system)))


def _format_finding(doc) -> Finding | None:
    meta, cda = doc.metadata, doc.cda
    declared = _code_text(meta.format_code, meta.format_code_scheme)
    if cda.level == 1:
        expected = valuesets.format_code_for_n1(cda.n1_media_type or "")
        if expected is None or _same_code(meta.format_code, meta.format_code_scheme, expected):
            return None  # an embedded type ASS_A11 does not list: nothing to compare with
        return rules.XDM_FORMATCODE.finding(location=doc.path, uri=doc.uri, declared=declared,
                                            level="CDA N1", why=f"it embeds {cda.n1_media_type} (ASS_A11)",
                                            expected=_code_text(expected.code, expected.system))
    candidates = valuesets.format_codes_for_templates(cda.template_ids)
    if not candidates or any(_same_code(meta.format_code, meta.format_code_scheme, c) for c in candidates):
        return None
    expected = " or ".join(_code_text(c.code, c.system) for c in candidates)
    return rules.XDM_FORMATCODE.finding(location=doc.path, uri=doc.uri, declared=declared, level="CDA N3",
                                        expected=expected, why="its content-model templateId (ASS_A11)")


# ---------------------------------------------------------------------------- the patient
@dataclass(frozen=True)
class PatientMismatch:
    """A field of the document entry naming another patient than the CDA: what it says, what the CDA says."""

    field: str
    declared: str
    actual: str


def source_patient_mismatches(source_patient_id: str | None, source_patient_info: list[str],
                              cda: CdaHeader) -> list[PatientMismatch]:
    """sourcePatientId and sourcePatientInfo (PID-3 identifiers, PID-7 birth date) must name the CDA's
    patient. An identifier is compared only when the CDA has one under the same authority (the INS
    OIDs, or a local one such as an IPP in recordTarget/patientRole/id); names are not compared (PID-5
    may carry the used name). Plain values in, plain values out: the comparison, apart from its rule."""
    identifiers = [("sourcePatientId", source_patient_id)] if source_patient_id else []
    birth = None
    for line in source_patient_info:
        field, _, value = line.partition("|")
        field = field.strip().upper()
        if field == "PID-3":
            identifiers += [("sourcePatientInfo PID-3", cx) for cx in value.split("~") if cx.strip()]
        elif field == "PID-7":
            birth = value.strip()
    mismatches = []
    for name, cx in identifiers:
        actual = _other_patient(cx, cda)
        if actual is not None:
            mismatches.append(PatientMismatch(name, cx, actual))
    if birth and cda.birth_time:
        length = min(len(birth), len(cda.birth_time), 8)
        if birth[:length] != cda.birth_time[:length]:
            actual = f"birthTime {cda.birth_time}"
            mismatches.append(PatientMismatch("sourcePatientInfo PID-7", birth, actual))
    return mismatches


def check_source_patient(doc, findings: list[Finding]) -> None:
    """MSS-XDM-SOURCE-PATIENT for each field of the entry that names another patient than the CDA."""
    meta = doc.metadata
    for mismatch in source_patient_mismatches(meta.source_patient_id, meta.source_patient_info, doc.cda):
        findings.append(rules.XDM_SOURCE_PATIENT.finding(location=doc.path, uri=doc.uri,
                                                         field=mismatch.field, declared=mismatch.declared,
                                                         actual=mismatch.actual))


def _other_patient(cx: str, cda: CdaHeader) -> str | None:
    """What the CDA says instead, when the identifier `cx` names someone else; None when it agrees or
    cannot be compared."""
    value, oid = split_patient_id(cx)
    if not value or not oid:
        return None
    if oid in INS_OIDS:
        return None if cda.ins is None or value.strip().upper() == cda.ins.upper() else cda.patient_id
    same_authority = [v for o, v in cda.other_patient_ids if o == oid]
    if not same_authority or value.strip() in same_authority:
        return None
    return f"{' or '.join(same_authority)} ({oid})"


def check_submission_patient(doc, findings: list[Finding]) -> None:
    """The submission set's patientId is the documents' patient (once per METADATA.XML)."""
    declared = doc.metadata.submission_patient_id
    cda = doc.cda
    if not declared or cda.ins is None:
        return
    value, oid = split_patient_id(declared)
    if value == cda.ins and (not oid or oid == cda.ins_oid):
        return
    if any(f.rule == rules.XDM_SUBMISSION_PATIENT.id and declared in f.message for f in findings):
        return
    metadata_path = doc.path.rsplit("/", 1)[0] + "/METADATA.XML"
    findings.append(rules.XDM_SUBMISSION_PATIENT.finding(location=metadata_path, uri=doc.uri,
                                                         declared=declared, actual=cda.patient_id))


# ---------------------------------------------------------------------------- the PDF copy
def check_pdf_copies(documents, pdfs, findings: list[Finding]) -> None:
    """Each CDA embedding a PDF (a CDA N1's body, an N3's PDF copy) comes with that very PDF beside the
    archive, byte for byte. Only when the message has a PDF at all: without one, MSS-PDF-MISSING says it."""
    if not pdfs:
        return
    for doc in documents:
        if doc.cda is not None and any(_same_clean_text(pdf, doc.cda) for pdf in pdfs):
            continue  # the same bytes, known without decoding either
        embedded = doc.cda.embedded_pdf if doc.cda else None
        if not embedded:
            continue
        if any(pdf.content == embedded for pdf in pdfs):
            continue
        attached = ", ".join(f"{pdf.filename or 'PDF'}, SHA-1 {hashlib.sha1(pdf.content).hexdigest()}"
                             for pdf in pdfs)
        finding = rules.PDF_NOT_IDENTICAL.finding(location="attachments", uri=doc.uri, attached=attached,
                                                  embedded=hashlib.sha1(embedded).hexdigest())
        findings.append(finding)


def _same_clean_text(pdf, cda) -> bool:
    """Whether the attachment `pdf` is a clean base64 text (`checks.clean_base64`) equal to the first
    PDF text of `cda`, whitespace aside: both then decode strictly to the same bytes, and that text is
    the one `cda.embedded_pdf` decodes (the first that decodes)."""
    text = pdf.clean_text
    first = cda.pdf_texts[0] if cda.pdf_texts else None
    if text is None or not isinstance(first, bytes):
        return False
    return first == text or (len(first) > len(text) and first.translate(None, ASCII_WHITESPACE) == text)


# ---------------------------------------------------------------------------- across messages
class DocumentRegistry:
    """The documents one mock instance has delivered, by uniqueId: a later message reusing a uniqueId
    for another patient or other content is reported (the DMP refuses it; MSSanté lets it through).
    Cleared by the mock's reset; bounded (the oldest entries are forgotten first)."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._seen: dict[str, tuple[str | None, str, str]] = {}  # uniqueId → (patient, SHA-1, message id)
        self._lock = threading.Lock()

    def check_and_record(self, message_id: str, documents) -> list[Finding]:
        findings = []
        with self._lock:
            for doc in documents:
                unique_id = (doc.cda.unique_id if doc.cda else None) or doc.metadata.unique_id
                if not unique_id or doc.cda is None:
                    continue
                patient = doc.cda.ins or split_patient_id(doc.metadata.patient_id)[0]
                known = self._seen.get(unique_id)
                if known is None:
                    self._remember(unique_id, (patient, doc.sha1, message_id))
                    continue
                finding = _reuse_finding(unique_id, known, patient, doc)
                if finding is not None:
                    findings.append(finding)
        return findings

    def remember_stored(self, message_id: str, documents: list[dict]) -> None:
        """The documents of a message stored before a restart (as the store keeps them: dicts), so that a
        reuse is still reported after the mock restarts on its data folder."""
        with self._lock:
            for doc in documents:
                cda, metadata = doc.get("cda") or {}, doc.get("metadata") or {}
                unique_id = cda.get("unique_id") or metadata.get("unique_id")
                if unique_id and cda and unique_id not in self._seen:
                    patient = cda.get("ins") or split_patient_id(metadata.get("patient_id"))[0]
                    self._remember(unique_id, (patient, doc.get("sha1"), message_id))

    def _remember(self, unique_id: str, entry: tuple) -> None:
        if len(self._seen) >= self.limit:
            self._seen.pop(next(iter(self._seen)))
        self._seen[unique_id] = entry

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def _reuse_finding(unique_id: str, known: tuple, patient: str | None, doc) -> Finding | None:
    first_patient, first_sha1, first_message = known
    if patient != first_patient:
        what = f"another patient (INS {first_patient}, now {patient})"
        what_fr = f"un autre patient (INS {first_patient}, ici {patient})"
    elif doc.sha1 != first_sha1:
        what = f"other content (SHA-1 {first_sha1}, now {doc.sha1})"
        what_fr = f"un autre contenu (SHA-1 {first_sha1}, ici {doc.sha1})"
    else:
        return None  # the same document resent: allowed
    return rules.UNIQUEID_REUSED.finding(location=doc.path, unique_id=unique_id, first=first_message,
                                         what=what, what_fr=what_fr)
