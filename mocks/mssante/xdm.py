"""IHE XDM packages (the ``IHE_XDM.ZIP`` attachment of an MSSanté message): build them, read them safely.

Layout (IHE ITI TF-2 §3.32.4.1.2, "Distribute Document Set on Media"; Gazelle assertions
ITI32-003…008): at the root ``README.TXT`` and ``INDEX.HTM``; an ``IHE_XDM`` directory with one
sub-directory per submission set (``SUBSET01``…), each holding ``METADATA.XML`` (an ebRIM
``SubmitObjectsRequest``, ITI TF-3 §4) and the documents it describes (``DOC0001.XML``…; the
``URI`` slot of each document entry names its file). The document entry carries the ``hash``
(SHA-1, hex) and ``size`` of the file, its ``uniqueId`` and ``patientId`` (external identifiers)
and its ``typeCode`` (classification) — the values the MSSanté checks compare with the CDA.
The UUIDs below are the ITI TF-3 §4.2.5 identification/classification schemes (the same values
appear in the ANS DMP ITI-41 example, ../shared/ref/xds/DRIM-M_ITI-41_KOS_DMP.xml).

`read_xdm` never trusts the zip: sizes and ratios are checked from the central directory *and*
while inflating (a lying header cannot exceed the limits), entry names with ``..``, absolute
paths, drive letters or control characters are ignored, encrypted entries are not read,
duplicates are reported, and any zip-level error becomes a finding — it never raises.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import re
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from xml.sax.saxutils import quoteattr

from segur.kernel.findings import Finding
from segur.kernel.rules import Rule
from segur.mocks.mssante import rules
from segur.mocks.mssante.cda import CdaHeader, NotXml, parse_xml, read_cda_header
from segur.mocks.mssante.consistency import (
    check_codes,
    check_source_patient,
    check_submission_patient,
    split_patient_id,
)

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

# ITI TF-3 §4.2.5 (identification and classification schemes)
DOC_ENTRY_OBJECT_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
DOC_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DOC_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DOC_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DOC_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DOC_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DOC_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DOC_FACILITY_TYPE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DOC_PRACTICE_SETTING = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
SS_CLASSIFICATION = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"

REGISTRY_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
CONTENT_TYPE_SCHEME = "1.2.250.1.213.1.1.4.2"  # the default contentTypeCode's coding scheme
SOURCE_ID = "1.2.250.1.213.1.1.9"  # the submission set's default sourceId
#: `build_xdm` overrides of coded fields → their classification scheme
CODED_OVERRIDES = {"class_code": DOC_CLASS_CODE, "format_code": DOC_FORMAT_CODE,
                   "facility_type_code": DOC_FACILITY_TYPE, "practice_setting_code": DOC_PRACTICE_SETTING}

ZIP_NAME = "IHE_XDM.ZIP"


@dataclass(frozen=True)
class XdmLimits:
    """What `read_xdm` accepts before extracting anything (zip bomb and resource limits)."""

    max_zip_bytes: int = 30 * 1024 * 1024
    max_entries: int = 1000
    max_entry_bytes: int = 50 * 1024 * 1024  # one uncompressed file
    max_total_bytes: int = 100 * 1024 * 1024  # all uncompressed files together
    max_ratio: float = 200.0  # uncompressed / compressed, for files over `ratio_floor` bytes
    ratio_floor: int = 1024 * 1024
    max_name_length: int = 255


@dataclass
class DocumentMetadata:
    """One XDS document entry of METADATA.XML (what ITI-32 readers use)."""

    entry_id: str = ""
    uri: str | None = None
    mime_type: str | None = None
    hash: str | None = None
    size: str | None = None
    unique_id: str | None = None
    patient_id: str | None = None
    source_patient_id: str | None = None
    type_code: str | None = None
    type_code_scheme: str | None = None
    class_code: str | None = None
    class_code_scheme: str | None = None
    format_code: str | None = None
    format_code_scheme: str | None = None
    source_patient_info: list[str] = field(default_factory=list)  # "PID-3|…", "PID-5|…", "PID-7|…" lines
    submission_patient_id: str | None = None  # the SubmissionSet's patientId (one per METADATA.XML)
    title: str | None = None
    creation_time: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", [])}


@dataclass
class XdmDocument:
    """A document of the package: where it is, its bytes, its metadata and (when CDA) its header."""

    subset: str
    uri: str
    path: str
    content: bytes
    metadata: DocumentMetadata
    cda: CdaHeader | None = None

    @functools.cached_property
    def sha1(self) -> str:  # computed once: it is compared with METADATA.XML, then reported and stored
        return hashlib.sha1(self.content).hexdigest()

    def to_dict(self, with_content: bool = False) -> dict:
        data = {"subset": self.subset, "uri": self.uri, "path": self.path, "size": len(self.content),
                "sha1": self.sha1, "metadata": self.metadata.to_dict(),
                "cda": self.cda.to_dict() if self.cda else None}
        if with_content:
            data["content"] = self.content.decode("utf-8", "replace")
        return data


@dataclass
class XdmPackage:
    """What `read_xdm` found: the files, the documents and every problem (`findings`)."""

    entries: list[str] = field(default_factory=list)
    readme: bytes | None = None
    index: bytes | None = None
    subsets: list[str] = field(default_factory=list)
    documents: list[XdmDocument] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True  # False when the zip itself could not be opened or was refused whole

    @property
    def valid(self) -> bool:
        return self.readable and not any(f.is_error for f in self.findings)

    @property
    def patients(self) -> list[str]:
        """Distinct patient INS values of the documents (CDA first, else METADATA.XML patientId)."""
        found: list[str] = []
        for doc in self.documents:
            ins = doc.cda.ins if doc.cda and doc.cda.ins else _ins_of(doc.metadata.patient_id)
            if ins and ins not in found:
                found.append(ins)
        return found

    def report(self, rule: Rule, location: str = ZIP_NAME, **context) -> None:
        """A problem of the archive, at `location` (an entry's path, else the archive itself)."""
        self.findings.append(rule.finding(location=location, **context))

    def refuse_whole(self, why: str) -> None:
        """Not extracted at all (zip bomb protection)."""
        self.readable = False
        self.report(rules.XDM_BOMB, detail=why)

    def to_dict(self, with_content: bool = False) -> dict:
        return {"readable": self.readable, "valid": self.valid, "entries": self.entries,
                "subsets": self.subsets, "documents": [d.to_dict(with_content) for d in self.documents],
                "findings": [f.to_dict() for f in self.findings]}


def _ins_of(patient_id: str | None) -> str | None:
    return patient_id.split("^", 1)[0].strip() if patient_id else None


# ------------------------------------------------------------------------------------------ reading
_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe_name(name: str, limits: XdmLimits) -> str | None:
    """Why an entry name is refused, or None when it is a safe relative path."""
    if not name:
        return "empty name"
    if len(name) > limits.max_name_length:
        return f"longer than {limits.max_name_length} characters"
    if any(ord(c) < 32 for c in name):
        return "control character in the name"
    if "\\" in name:
        return "backslash in the name"
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute path"
    if any(part == ".." for part in name.split("/")):
        return "'..' component (path traversal)"
    return None


def read_xdm(data: bytes, limits: XdmLimits | None = None, *, read_cda: bool = True) -> XdmPackage:
    """Read an IHE_XDM.ZIP without trusting it; problems are findings of the returned package."""
    limits = limits or XdmLimits()
    package = XdmPackage()
    if len(data) > limits.max_zip_bytes:
        package.refuse_whole(f"the archive is {len(data)} bytes, over {limits.max_zip_bytes}")
        return package
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # noqa: BLE001 — any zip-level failure is a finding, never a crash
        package.readable = False
        package.report(rules.XDM_NOT_ZIP, detail=f"{type(exc).__name__}: {exc}"[:300])
        return package
    with archive:
        files = _select_entries(infos, limits, package)
        if files is None:
            return package
        _read_layout(archive, files, limits, package, read_cda)
    return package


def _select_entries(infos, limits: XdmLimits, package: XdmPackage) -> dict[str, zipfile.ZipInfo] | None:
    """Check names, counts, sizes and ratios from the central directory; None = refused whole."""
    if len(infos) > limits.max_entries:
        package.refuse_whole(f"{len(infos)} entries, over {limits.max_entries}")
        return None
    declared_total = sum(max(i.file_size, 0) for i in infos)
    if declared_total > limits.max_total_bytes:
        package.refuse_whole(f"{declared_total} bytes once extracted, over {limits.max_total_bytes}")
        return None
    counts = Counter(i.filename.upper() for i in infos if not i.is_dir())
    files: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        package.entries.append(name)
        if info.is_dir():
            continue
        problem = _unsafe_name(name, limits)
        if problem:
            package.report(rules.XDM_PATH, name=name[:120], detail=problem)
            continue
        key = name.upper()
        if key in files:
            continue
        if counts[key] > 1:
            package.report(rules.XDM_DUPLICATE, name=name, count=counts[key])
        if info.flag_bits & 0x1:
            package.report(rules.XDM_ENCRYPTED, name=name)
            continue
        too_big = _too_big(info, limits)
        if too_big:
            package.report(rules.XDM_BOMB, detail=f"entry {name} {too_big}")
            continue
        files[key] = info
    return files


def _too_big(info: zipfile.ZipInfo, limits: XdmLimits) -> str | None:
    """Why an entry is not inflated at all, judged from its declared sizes (None: it may be)."""
    if info.file_size > limits.max_entry_bytes:
        return f"is {info.file_size} bytes once extracted, over {limits.max_entry_bytes}"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
        return f"inflates {ratio:.0f} times"
    return None


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XdmLimits, budget: list[int],
             package: XdmPackage) -> bytes | None:
    """Inflate one entry, never past its declared size or the remaining total budget."""
    cap = min(info.file_size, limits.max_entry_bytes, budget[0])
    try:
        with archive.open(info) as stream:
            data = stream.read(cap + 1)
    except Exception as exc:  # noqa: BLE001 — bad CRC, unsupported method, truncated data…
        package.report(rules.XDM_NOT_ZIP, detail=f"entry {info.filename}: {type(exc).__name__}: {exc}"[:300])
        return None
    if len(data) > cap:
        package.report(rules.XDM_BOMB,
                       detail=f"entry {info.filename} inflates past its declared size or the total limit")
        return None
    budget[0] -= len(data)
    return data


def _read_layout(archive, files, limits, package: XdmPackage, read_cda: bool) -> None:
    budget = [limits.max_total_bytes]
    if "README.TXT" in files:
        package.readme = _extract(archive, files["README.TXT"], limits, budget, package)
    else:
        package.report(rules.XDM_README)
    if "INDEX.HTM" in files:
        package.index = _extract(archive, files["INDEX.HTM"], limits, budget, package)
    else:
        package.report(rules.XDM_INDEX)
    metadata_keys = sorted(k for k in files if re.fullmatch(r"IHE_XDM/[^/]+/METADATA\.XML", k))
    if not metadata_keys:
        package.report(rules.XDM_NO_SUBSET)
        return
    for key in metadata_keys:
        subset_dir = key.rsplit("/", 1)[0]
        path = files[key].filename
        subset = path.split("/")[1]
        package.subsets.append(subset)
        raw = _extract(archive, files[key], limits, budget, package)
        if raw is None:
            continue
        try:
            entries = parse_metadata(raw)
        except NotXml as exc:
            package.report(rules.XDM_METADATA, path, path=path, detail=str(exc))
            continue
        for meta in entries:
            _read_document(archive, files, subset_dir, subset, meta, limits, budget, package, read_cda)
    if not package.documents and not any(f.rule == rules.XDM_DOC_MISSING.id for f in package.findings):
        package.report(rules.XDM_NO_DOCUMENT)


def _read_document(archive, files, subset_dir, subset, meta: DocumentMetadata, limits, budget, package,
                   read_cda: bool) -> None:
    uri = (meta.uri or "").strip()
    key = f"{subset_dir}/{uri}".upper()
    if not uri or _unsafe_name(uri, limits) or key not in files:
        package.report(rules.XDM_DOC_MISSING, uri=uri or f"(no URI slot on {meta.entry_id})")
        return
    content = _extract(archive, files[key], limits, budget, package)
    if content is None:
        return
    where = files[key].filename
    doc = XdmDocument(subset, uri, where, content, meta)
    package.documents.append(doc)
    if meta.hash is not None and meta.hash.strip().lower() != doc.sha1:
        package.report(rules.XDM_HASH, where, uri=uri, declared=meta.hash, actual=doc.sha1)
    if meta.size is not None and meta.size.strip() != str(len(content)):
        package.report(rules.XDM_SIZE, where, uri=uri, declared=meta.size, actual=len(content))
    if not read_cda:
        return
    try:
        doc.cda = read_cda_header(content)
    except NotXml as exc:
        package.report(rules.XDM_NOT_CDA, where, uri=uri, detail=str(exc))
        return
    compare_with_cda(doc, package.findings)


def compare_with_cda(doc: XdmDocument, findings: list[Finding]) -> None:
    """METADATA.XML must say what the CDA says (ITI TF-3 §4.2.3.2; CI-SIS CDA header ↔ XDS metadata)."""
    cda, meta, where = doc.cda, doc.metadata, doc.path
    if cda is None:
        return
    if meta.unique_id is not None and cda.unique_id and meta.unique_id.strip() != cda.unique_id:
        findings.append(rules.XDM_UNIQUEID.finding(location=where, uri=doc.uri, declared=meta.unique_id,
                                                   actual=cda.unique_id))
    declared_ins, declared_oid = split_patient_id(meta.patient_id)
    other_oid = declared_oid and declared_oid != cda.ins_oid
    if meta.patient_id is not None and (declared_ins != cda.ins or other_oid):
        findings.append(rules.XDM_PATIENT.finding(location=where, uri=doc.uri, declared=meta.patient_id,
                                                  actual=cda.patient_id or "(no INS in the CDA)"))
    other_scheme = meta.type_code_scheme and cda.code_system and meta.type_code_scheme != cda.code_system
    if meta.type_code is not None and cda.code and (meta.type_code != cda.code or other_scheme):
        findings.append(rules.XDM_TYPECODE.finding(location=where, uri=doc.uri,
                                                   declared=f"{meta.type_code} ({meta.type_code_scheme})",
                                                   actual=f"{cda.code} ({cda.code_system})"))
    check_codes(doc, findings)
    check_source_patient(doc, findings)
    check_submission_patient(doc, findings)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_metadata(data: bytes) -> list[DocumentMetadata]:
    """The document entries of a METADATA.XML (ebRIM 3.0; namespace-tolerant, by local names)."""
    root = parse_xml(data)
    entries = []
    for obj in root.iter():
        if _local(obj.tag) != "ExtrinsicObject":
            continue
        meta = DocumentMetadata(entry_id=obj.get("id", ""), mime_type=obj.get("mimeType"))
        for child in obj:
            name = _local(child.tag)
            if name == "Slot":
                values = [v.text or "" for v in child.iter() if _local(v.tag) == "Value"]
                _slot(meta, child.get("name", ""), values)
            elif name == "ExternalIdentifier":
                scheme, value = child.get("identificationScheme"), child.get("value")
                if scheme == DOC_UNIQUE_ID:
                    meta.unique_id = value
                elif scheme == DOC_PATIENT_ID:
                    meta.patient_id = value
            elif name == "Classification":
                scheme = child.get("classificationScheme")
                code = child.get("nodeRepresentation")
                coding = _coding_scheme(child)
                if scheme == DOC_TYPE_CODE:
                    meta.type_code, meta.type_code_scheme = code, coding
                elif scheme == DOC_CLASS_CODE:
                    meta.class_code, meta.class_code_scheme = code, coding
                elif scheme == DOC_FORMAT_CODE:
                    meta.format_code, meta.format_code_scheme = code, coding
            elif name == "Name":
                title = next((s.get("value") for s in child if _local(s.tag) == "LocalizedString"), None)
                meta.title = title
        entries.append(meta)
    submission_patient = _submission_patient_id(root)
    for meta in entries:
        meta.submission_patient_id = submission_patient
    return entries


def _coding_scheme(classification) -> str | None:
    """The value of a Classification's ``codingScheme`` slot."""
    slots = (s for s in classification if _local(s.tag) == "Slot" and s.get("name") == "codingScheme")
    return next((v.text for s in slots for v in s.iter() if _local(v.tag) == "Value"), None)


def _submission_patient_id(root) -> str | None:
    """XDSSubmissionSet.patientId: the ExternalIdentifier of scheme SS_PATIENT_ID (ITI TF-3 §4.2.5)."""
    for element in root.iter():
        is_identifier = _local(element.tag) == "ExternalIdentifier"
        if is_identifier and element.get("identificationScheme") == SS_PATIENT_ID:
            return element.get("value")
    return None


def _slot(meta: DocumentMetadata, name: str, values: list[str]) -> None:
    first = values[0].strip() if values else None
    if name == "hash":
        meta.hash = first
    elif name == "size":
        meta.size = first
    elif name == "URI":
        # ITI TF-3: a long URI may be split over several values ("1|part", "2|part")
        if len(values) > 1 and all(re.match(r"^\d+\|", v) for v in values):
            meta.uri = "".join(v.split("|", 1)[1] for v in sorted(values, key=lambda v: int(v.split("|")[0])))
        else:
            meta.uri = first
    elif name == "sourcePatientId":
        meta.source_patient_id = first
    elif name == "sourcePatientInfo":
        meta.source_patient_info = [v.strip() for v in values if v.strip()]
    elif name == "creationTime":
        meta.creation_time = first


# ------------------------------------------------------------------------------------------ writing
def _slot_xml(name: str, *values: str) -> str:
    vals = "".join(f"<rim:Value>{html.escape(v, quote=False)}</rim:Value>" for v in values)
    return f'<rim:Slot name={quoteattr(name)}><rim:ValueList>{vals}</rim:ValueList></rim:Slot>'


def _name_xml(text: str | None) -> str:
    if not text:
        return ""
    return f'<rim:Name><rim:LocalizedString charset="UTF-8" value={quoteattr(text)}/></rim:Name>'


def _classification(scheme: str, obj: str, ident: str, code: str, coding: str | None,
                    display: str | None) -> str:
    slot = _slot_xml("codingScheme", coding) if coding else ""
    return (f'<rim:Classification classificationScheme="{scheme}" classifiedObject="{obj}" id="{ident}" '
            f'objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification" '
            f'nodeRepresentation={quoteattr(code)}>{slot}{_name_xml(display)}</rim:Classification>')


def _external_id(scheme: str, obj: str, ident: str, value: str, label: str) -> str:
    return (f'<rim:ExternalIdentifier identificationScheme="{scheme}" registryObject="{obj}" id="{ident}" '
            f'objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier" '
            f'value={quoteattr(value)}>{_name_xml(label)}</rim:ExternalIdentifier>')


def _document_entry(index: int, content: bytes, cda: CdaHeader | None, meta: dict) -> tuple[str, str]:
    """The ExtrinsicObject of one document and its file name (DOC0001.XML…)."""
    uri = meta.get("uri") or f"DOC{index:04d}.XML"
    obj = f"Document{index:02d}"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    unique_id = meta.get("unique_id", cda.unique_id if cda else None) or f"2.25.{uuid.uuid4().int}"
    patient_id = meta.get("patient_id", cda.patient_id if cda else None)
    parts = [_slot_xml("hash", meta.get("hash", hashlib.sha1(content).hexdigest())),
             _slot_xml("size", str(meta.get("size", len(content)))),
             _slot_xml("URI", uri),
             _slot_xml("creationTime", meta.get("creation_time") or _creation_time(cda) or now),
             _slot_xml("languageCode", meta.get("language") or (cda and cda.language) or "fr-FR")]
    source_patient_id = meta.get("source_patient_id", (cda.patient_id if cda else None) or patient_id)
    if source_patient_id:
        parts.append(_slot_xml("sourcePatientId", source_patient_id))
    info = meta.get("source_patient_info", _source_patient_info(cda))
    if info:
        parts.append(_slot_xml("sourcePatientInfo", *info))
    parts.append(_name_xml(meta.get("title", cda.title if cda else None)))
    type_code = meta.get("type_code", cda.code if cda else None)
    if type_code:
        parts.append(_classification(DOC_TYPE_CODE, obj, f"{obj}-type", type_code,
                                     meta.get("type_code_scheme", cda.code_system if cda else None),
                                     meta.get("type_display", cda.code_display if cda else None)))
    for key, scheme in CODED_OVERRIDES.items():
        if meta.get(key):
            code, coding, display = _coded(meta[key])
            parts.append(_classification(scheme, obj, f"{obj}-{key}", code, coding, display))
    confidentiality = meta.get("confidentiality", cda.confidentiality if cda else None)
    if confidentiality:
        parts.append(_classification(DOC_CONFIDENTIALITY, obj, f"{obj}-conf", confidentiality,
                                     "2.16.840.1.113883.5.25", None))
    parts.append(_external_id(DOC_UNIQUE_ID, obj, f"{obj}-uid", unique_id, "XDSDocumentEntry.uniqueId"))
    if patient_id:
        parts.append(_external_id(DOC_PATIENT_ID, obj, f"{obj}-pid", patient_id,
                                  "XDSDocumentEntry.patientId"))
    mime = meta.get("mime_type", "text/xml")
    xml = (f'<rim:ExtrinsicObject id="{obj}" mimeType={quoteattr(mime)} objectType="{DOC_ENTRY_OBJECT_TYPE}" '
           f'status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved">{"".join(parts)}</rim:ExtrinsicObject>')
    return xml, uri


def _coded(value) -> tuple[str, str | None, str | None]:
    """An override of a coded field: a code, or ``(code, codingScheme[, display])``."""
    if isinstance(value, list | tuple):
        code, coding, display = (list(value) + [None, None])[:3]
        return code, coding, display
    return value, None, None


_HL7_TS = re.compile(r"^(?P<digits>\d{4}(?:\d{2}){0,5})(?:\.\d{1,4})?(?P<offset>[+-]\d{4})?$")


def utc_dtm(value: str | None) -> str | None:
    """An HL7 TS (``YYYYMMDD[HHMM[SS]][.f][±ZZZZ]``) as an XDS DTM: in UTC, to the same precision, without
    fractions or offset (ITI TF-3 §4.2.3.1.7 (DTM) and §4.2.3.2.6 (creationTime): "in UTC"). A time without
    an offset, or a date, cannot be moved and is kept as written; None when `value` is not a TS."""
    match = _HL7_TS.match(value.strip()) if value else None
    if match is None:
        return None
    digits, offset = match["digits"], match["offset"]
    if offset is None or len(digits) <= 8:
        return digits
    try:
        local = datetime.strptime(digits.ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    sign = 1 if offset[0] == "+" else -1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return local.replace(tzinfo=zone).astimezone(UTC).strftime("%Y%m%d%H%M%S")[:len(digits)]


def _creation_time(cda: CdaHeader | None) -> str | None:
    """creationTime is the CDA effectiveTime (CI-SIS mapping), in UTC; a value that is no HL7 TS is
    copied as it is (a document broken on purpose keeps its fault visible in the metadata)."""
    if not cda or not cda.effective_time:
        return None
    return utc_dtm(cda.effective_time) or cda.effective_time[:14]


def _source_patient_info(cda: CdaHeader | None) -> list[str]:
    """sourcePatientInfo lines (HL7 v2 PID fields) from the CDA: birth name, birth date, sex."""
    if not cda or not cda.birth_name:
        return []
    info = [f"PID-5|{cda.birth_name}^{cda.first_given or ''}^^^^^L"]
    if cda.birth_time:
        info.append(f"PID-7|{cda.birth_time}")
    if cda.sex:
        info.append(f"PID-8|{cda.sex}")
    return info


def build_metadata(entries: list[str], patient_id: str | None, submission: dict) -> bytes:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    ss_parts = [_slot_xml("submissionTime", submission.get("submission_time", now))]
    if submission.get("intended_recipient"):
        ss_parts.append(_slot_xml("intendedRecipient", *submission["intended_recipient"]))
    ss_parts.append(_name_xml(submission.get("title", "Envoi MSSanté")))
    content_type = quoteattr(submission.get("content_type", "04"))
    content_type_scheme = submission.get("content_type_scheme", CONTENT_TYPE_SCHEME)
    ss_parts.append(f'<rim:Classification classificationScheme="{SS_CONTENT_TYPE}" '
                    f'classifiedObject="SubmissionSet01" id="ss-content" nodeRepresentation={content_type}>'
                    f'{_slot_xml("codingScheme", content_type_scheme)}</rim:Classification>')
    ss_parts.append(_external_id(SS_UNIQUE_ID, "SubmissionSet01", "ss-uid",
                                 submission.get("unique_id", f"2.25.{uuid.uuid4().int}"),
                                 "XDSSubmissionSet.uniqueId"))
    ss_parts.append(_external_id(SS_SOURCE_ID, "SubmissionSet01", "ss-src",
                                 submission.get("source_id", SOURCE_ID), "XDSSubmissionSet.sourceId"))
    if patient_id:
        ss_parts.append(_external_id(SS_PATIENT_ID, "SubmissionSet01", "ss-pid", patient_id,
                                     "XDSSubmissionSet.patientId"))
    package = (f'<rim:RegistryPackage id="SubmissionSet01" objectType="{REGISTRY_PACKAGE}">'
               f'{"".join(ss_parts)}</rim:RegistryPackage>'
               f'<rim:Classification classifiedObject="SubmissionSet01" '
               f'classificationNode="{SS_CLASSIFICATION}" id="ss-node"/>')
    associations = "".join(
        f'<rim:Association associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" '
        f'sourceObject="SubmissionSet01" targetObject="Document{i:02d}" id="assoc{i:02d}">'
        f'{_slot_xml("SubmissionSetStatus", "Original")}</rim:Association>'
        for i in range(1, len(entries) + 1))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" xmlns:rim="{RIM}"><rim:RegistryObjectList>'
           f'{package}{"".join(entries)}{associations}</rim:RegistryObjectList>'
           '</lcm:SubmitObjectsRequest>\n')
    return xml.encode("utf-8")


def build_xdm(documents: list[tuple[bytes, dict | None]], *, submission: dict | None = None,
              readme: str | None = None, index: bool = True, subset: str = "SUBSET01",
              extra_files: dict[str, bytes] | None = None, omit: tuple[str, ...] = ()) -> bytes:
    """Build an IHE_XDM.ZIP for CDA documents; metadata is read from each CDA unless given.

    `documents`: ``[(cda_bytes, overrides)]``; overrides (all optional) set or falsify metadata:
    ``uri``, ``hash``, ``size``, ``unique_id``, ``patient_id``, ``type_code``, ``type_code_scheme``,
    ``title``, ``class_code``/``format_code``/``facility_type_code``/``practice_setting_code`` (a code or
    ``(code, codingScheme, display)``), ``mime_type``, ``confidentiality``, ``source_patient_id``,
    ``source_patient_info`` (a list of ``PID-n|value`` lines), ``creation_time``; `submission` may set
    ``patient_id``. `omit` leaves out ``README.TXT``/``INDEX.HTM``/``METADATA.XML`` (for negative tests);
    `extra_files` adds raw entries.
    """
    submission = dict(submission or {})
    entries, files, headers = [], [], []
    for number, (content, overrides) in enumerate(documents, start=1):
        try:
            cda = read_cda_header(content)
        except NotXml:
            cda = None
        xml, uri = _document_entry(number, content, cda, dict(overrides or {}))
        entries.append(xml)
        files.append((uri, content))
        headers.append(cda)
    first_patient = next((h.patient_id for h in headers if h and h.patient_id), None)
    patient_id = submission.get("patient_id") or first_patient
    metadata = build_metadata(entries, patient_id, submission)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if "README.TXT" not in omit:
            archive.writestr("README.TXT", (readme or _readme(files, submission)).encode("utf-8"))
        if index and "INDEX.HTM" not in omit:
            archive.writestr("INDEX.HTM", _index(files, headers, subset).encode("utf-8"))
        if "METADATA.XML" not in omit:
            archive.writestr(f"IHE_XDM/{subset}/METADATA.XML", metadata)
        for uri, content in files:
            archive.writestr(f"IHE_XDM/{subset}/{uri}", content)
        for name, content in (extra_files or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _readme(files, submission: dict) -> str:
    author = submission.get("author", "Ségur conformance harness (segur.mocks.mssante.xdm)")
    lines = [f"IHE XDM media created by: {author}",
             f"Created: {datetime.now(UTC).isoformat(timespec='seconds')}",
             "Layout: IHE ITI TF-2 §3.32 (Distribute Document Set on Media).",
             "Open INDEX.HTM in a browser to list the documents; IHE_XDM/SUBSET01/METADATA.XML holds their",
             "XDS metadata. Documents:"]
    lines += [f"  - {uri} ({len(content)} bytes)" for uri, content in files]
    return "\r\n".join(lines) + "\r\n"


def _index(files, headers, subset: str) -> str:
    rows = "".join(
        f'<li><a href="IHE_XDM/{subset}/{html.escape(uri)}">{html.escape((h and h.title) or uri)}</a></li>'
        for (uri, _), h in zip(files, headers, strict=True))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<title>IHE XDM</title></head><body><h1>Documents</h1><ul>' + rows + "</ul></body></html>\n")
