"""`DmpClient`: feed and read a DMP (the mock, or any XDS.b service with the DMP's conventions).

    from segur.mocks.dmp.client import DmpClient, CallerIdentity
    client = DmpClient.for_mock(running.url, pki=pki, caller=CallerIdentity.of(professional, organisation))
    result = client.provide_and_register(cda_bytes)        # ITI-41 (TD2.1), MTOM, signed VIHF
    found = client.find_documents(patient.ins_object)        # ITI-18 FindDocuments (TD3.1)
    data = client.retrieve(found.entries[0])                 # ITI-43 (TD3.2), the same bytes
    client.update_status(found.entries[0], "Deprecated")     # ITI-57 (TD3.3)
    client.td02(patient.ins_object)                          # does the DMP exist, am I authorised

Seams for seeded defects: `Defects` (no VIHF, unsigned or altered VIHF, a wrong patientId, an unknown
formatCode, any metadata change through `mutate`, inline instead of MTOM, a broken cid) so tests and
users can check that the DMP refuses exactly what it should.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from lxml import etree

from segur.kernel.ins import Ins, parse_xds_patient_id
from segur.kernel.pki import CertFiles, TestPki

from .. import ebrim, xds_metadata
from ..ebrim import LCM, QUERY, RIM, XDSB
from ..vihf import PROFESSION_SYSTEM, CodedValue
from . import wire
from .metadata import (
    AuthorMetadata,
    Coded,
    DocumentMetadata,
    SubmissionSetMetadata,
    metadata_from_cda,
    new_oid,
    submission_set_for,
    submit_objects_request,
)
from .vihf import SPECIALTY_SYSTEM, VihfDefects, VihfIdentity, build_vihf, security_header

ACTION_ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ACTION_ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ACTION_ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ACTION_ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"
#: The harness's own TD0.2/TD0.3 messages (the DMP guide's wire format is not public; see docs/dmp.md).
ACTION_TD02 = "urn:segur:harness:dmp:TD0.2"
ACTION_TD03 = "urn:segur:harness:dmp:TD0.3"
TD_NS = "urn:segur:harness:dmp:td:1"
SERVICE_PATH = "/si-dmp-server/v2/services"
SERVICES = {"repository": ACTION_ITI41, "registry": ACTION_ITI18, "patients": ACTION_TD02,
            "habilitations": ACTION_TD03}

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_SUBMISSION_SET_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"

STATUS_PREFIX = {"Approved": "urn:oasis:names:tc:ebxml-regrep:StatusType:",
                 "Deprecated": "urn:oasis:names:tc:ebxml-regrep:StatusType:",
                 "Archived": "urn:asip:ci-sis:2010:StatusType:",
                 "Deleted": "urn:asip:ci-sis:2010:StatusType:"}
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"


def status_urn(status: str) -> str:
    """'Approved' → urn:oasis:…:StatusType:Approved; a full URN is returned as is."""
    return status if ":" in status else STATUS_PREFIX[status] + status


@dataclass
class CallerIdentity:
    """Who calls: the structure (its id goes in the VIHF and authorInstitution), the user, the software."""

    structure_id: str
    subject_nameid: str
    subject_id: str
    sector: str = "SA07"
    profession: tuple[str, str] = ("10", "Médecin")
    specialty: tuple[str, str] | None = ("SM44", "Radio-diagnostic et imagerie médicale (SM)")
    lps_name: str = "SEGUR-HARNESS-CLIENT"
    lps_version: str = "0.1.0"
    lps_homologation: str = "SEGUR-TEST-0001"

    @classmethod
    def of(cls, professional, organisation) -> CallerIdentity:
        """The caller for a world professional working in a world organisation."""
        specialty = None
        if professional.specialty_code:
            specialty = (professional.specialty_code, professional.author_display)
        return cls(structure_id=organisation.idnst, subject_nameid=professional.idnps,
                   subject_id=f"{professional.family_name} {professional.given_name}",
                   sector=organisation.facility_type, profession=(professional.profession_code,
                                                                  professional.profession_display),
                   specialty=specialty)

    def vihf_identity(self, patient: Ins | str) -> VihfIdentity:
        specialty = None
        if self.specialty:
            specialty = CodedValue(self.specialty[0], SPECIALTY_SYSTEM, self.specialty[1])
        return VihfIdentity(
            structure_id=self.structure_id, patient=patient, subject_nameid=self.subject_nameid,
            subject_id=self.subject_id, sector=self.sector,
            profession=CodedValue(self.profession[0], PROFESSION_SYSTEM, self.profession[1]),
            specialty=specialty,
            lps_name=self.lps_name, lps_version=self.lps_version, lps_homologation=self.lps_homologation)


@dataclass
class Defects:
    """Deliberate mistakes for negative tests (each a thing the DMP must refuse)."""

    no_vihf: bool = False
    vihf: VihfDefects | None = None  # unsigned, missing attribute, wrong version, expired…
    vihf_patient: Ins | str | None = None  # a VIHF resource-id for another patient
    tamper_vihf: Callable[[etree._Element], None] | None = None  # change the signed assertion afterwards
    patient_id: str | None = None  # written in the submission set and every entry
    format_code: Coded | None = None
    mutate: Callable[[SubmissionSetMetadata, list[DocumentMetadata]], None] | None = None
    inline: bool = False  # base64 in the envelope instead of MTOM parts (allowed: receivers must accept it)
    wrong_content_id: bool = False  # xop:Include pointing at a part that is not there
    drop_document: bool = False  # metadata without the document


@dataclass
class RegistryResult:
    """A RegistryResponse (ITI-41, ITI-57), or the SOAP fault that replaced it."""

    status: str | None
    errors: list[wire.RegistryErrorItem] = field(default_factory=list)
    fault: wire.SoapFault | None = None
    http_status: int = 200
    request: wire.Outgoing | None = None
    submission_set: SubmissionSetMetadata | None = None
    entries: list[DocumentMetadata] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None and self.status == wire.STATUS_SUCCESS

    @property
    def rules(self) -> list[str]:
        """The harness rule ids the DMP reported (from codeContext, or the fault's detail)."""
        if self.fault is not None:
            return list(self.fault.rules)
        return [e.rule for e in self.errors if e.rule]

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    def raise_for_status(self) -> RegistryResult:
        if self.fault is not None:
            raise self.fault
        if not self.ok:
            raise RuntimeError(f"DMP answered {self.status}: " + "; ".join(e.context for e in self.errors))
        return self


@dataclass
class QueryResult:
    status: str | None
    entries: list[xds_metadata.DocumentEntry] = field(default_factory=list)
    submission_sets: list[xds_metadata.SubmissionSet] = field(default_factory=list)
    associations: list[xds_metadata.Association] = field(default_factory=list)
    object_refs: list[str] = field(default_factory=list)
    errors: list[wire.RegistryErrorItem] = field(default_factory=list)
    fault: wire.SoapFault | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None and self.status == wire.STATUS_SUCCESS


@dataclass
class RetrievedDocument:
    repository_unique_id: str
    unique_id: str
    mime_type: str
    content: bytes


@dataclass
class RetrieveResult:
    status: str | None
    documents: list[RetrievedDocument] = field(default_factory=list)
    errors: list[wire.RegistryErrorItem] = field(default_factory=list)
    fault: wire.SoapFault | None = None


class DmpClient:
    """A DMP client over HTTP(S): one instance per caller (structure + user + software)."""

    def __init__(self, endpoints: dict[str, str] | str, *, signer: CertFiles | None, caller: CallerIdentity,
                 ca_file=None, client_cert: CertFiles | None = None, timeout: float = 30.0,
                 session: requests.Session | None = None):
        if isinstance(endpoints, str):
            base = endpoints.rstrip("/")
            endpoints = {name: f"{base}{SERVICE_PATH}/{name}" for name in SERVICES}
        self.endpoints = dict(endpoints)
        self.signer = signer
        self.caller = caller
        self.timeout = timeout
        self.session = session or requests.Session()
        # Passed on every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE (requests issue
        # #3829).
        self.verify = str(ca_file) if ca_file is not None else True
        self.cert = None
        if client_cert is not None:
            self.cert = (str(client_cert.cert_file), str(client_cert.key_file))
        self.last_request: wire.Outgoing | None = None
        self.last_answer: wire.Incoming | None = None

    @classmethod
    def for_mock(cls, base_url: str, *, pki: TestPki, caller: CallerIdentity, signer_name: str | None = None,
                 mtls: bool = False, **options) -> DmpClient:
        """A client of the harness's DMP mock: VIHF signed by a certificate of `pki` for the caller's
        structure.

        The signing certificate's OU is the caller's structure id (as in an IGC-Santé structure certificate);
        it is issued on first use as client `structure-<id>` of the PKI.
        """
        name = signer_name or f"structure-{caller.structure_id}"
        if not pki.client(name).cert_file.exists():
            pki.issue_client(name, f"Structure {caller.structure_id}", f"Structure {caller.structure_id}",
                             caller.structure_id)
        cert = pki.client(name)
        return cls(
            base_url, signer=cert, caller=caller,
            ca_file=pki.ca_file if base_url.startswith("https") else None, client_cert=cert if mtls else None,
            **options)

    # --- building blocks ------------------------------------------------------------------------------
    def vihf(self, patient: Ins | str, defects: VihfDefects | None = None, now: datetime | None = None):
        if self.signer is None:
            raise ValueError("this client has no signing certificate for the VIHF")
        return build_vihf(self.caller.vihf_identity(patient), self.signer, now=now, defects=defects)

    def _security(self, patient: Ins | str | None, defects: Defects | None):
        defects = defects or Defects()
        if defects.no_vihf or patient is None:
            return None
        assertion = self.vihf(defects.vihf_patient or patient, defects.vihf)
        if defects.tamper_vihf is not None:
            defects.tamper_vihf(assertion)
        return security_header(assertion)

    def post(self, service: str, action: str, body: etree._Element, security, parts: list[wire.Part] | None,
             ) -> wire.Incoming:
        """Send one SOAP request to an endpoint; the answer is read whatever its status."""
        url = self.endpoints[service]
        outgoing = wire.package(wire.envelope(action, url, body, security), action, parts)
        self.last_request = outgoing
        response = self.session.post(url, data=outgoing.body, headers={"Content-Type": outgoing.content_type},
                                     timeout=self.timeout, verify=self.verify, cert=self.cert)
        answer = wire.read_answer(
            response.status_code, response.headers.get("Content-Type", ""), response.content)
        self.last_answer = answer
        return answer

    # --- ITI-41 -----------------------------------------------------------------------------------------
    def prepare_submission(self, documents: list[bytes] | bytes, *, extra_confidentiality=(),
                           content_type: Coded | None = None):
        """(submission set, entries) for CDA documents, the author institution set to the caller's
        structure."""
        docs = [documents] if isinstance(documents, bytes | bytearray) else list(documents)
        extra = list(extra_confidentiality)
        entries = [metadata_from_cda(bytes(doc), entry_id=f"Document{i + 1:02d}", extra_confidentiality=extra)
                   for i, doc in enumerate(docs)]
        ss = submission_set_for(entries, content_type=content_type)
        ss.authors = ss.authors or [AuthorMetadata(person=None)]
        structure = self.caller.structure_id
        named = (x.split("^")[0] for a in entries[0].authors for x in a.institutions
                 if x.rsplit("^", 1)[-1] == structure)
        name = next(named, f"Structure {structure}")
        institution = f"{name}^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{self.caller.structure_id}"
        # The sending structure everywhere: the DMP wants the entries' authorInstitution to be the submission
        # set's (ANS 'Mapping XDS': "l'authorInstitution de la fiche et du lot doivent être identiques").
        for author in ss.authors + [a for entry in entries for a in entry.authors]:
            author.institutions = [institution]
        return ss, entries, docs

    def provide_and_register(self, documents: list[bytes] | bytes, *, defects: Defects | None = None,
                             replaces: dict[str, str] | None = None, extra_confidentiality=(),
                             content_type: Coded | None = None) -> RegistryResult:
        """ITI-41: send CDA documents with metadata built from them (TD2.1; TD2.2 with `replaces`)."""
        defects = defects or Defects()
        ss, entries, docs = self.prepare_submission(documents, extra_confidentiality=extra_confidentiality,
                                                    content_type=content_type)
        if defects.patient_id is not None:
            ss.patient_id = defects.patient_id
            for entry in entries:
                entry.patient_id = defects.patient_id
        if defects.format_code is not None:
            for entry in entries:
                entry.format_code = defects.format_code
        if defects.mutate is not None:
            defects.mutate(ss, entries)
        return self.send_submission(ss, entries, docs, defects=defects, replaces=replaces)

    def send_submission(self, ss: SubmissionSetMetadata, entries: list[DocumentMetadata],
                        documents: list[bytes], *, defects: Defects | None = None,
                        replaces: dict[str, str] | None = None) -> RegistryResult:
        """ITI-41 with metadata as given (built by `prepare_submission` or by hand)."""
        defects = defects or Defects()
        request = etree.Element(f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest", nsmap={"xdsb": XDSB})
        request.append(submit_objects_request(ss, entries, replaces=replaces))
        parts: list[wire.Part] | None = None if defects.inline else []
        for entry, data in zip(entries, documents, strict=True):
            if defects.drop_document:
                continue
            holder = etree.SubElement(request, f"{{{XDSB}}}Document", id=entry.entry_id)
            wire.attach(holder, data, parts, entry.mime_type)
            if defects.wrong_content_id and parts:
                holder[0].set("href", "cid:missing-part@segur-dmp-client")
        patient = Ins(*_ins_parts(ss.patient_id)) if _ins_parts(ss.patient_id) else ss.patient_id
        answer = self.post("repository", ACTION_ITI41, request, self._security(patient, defects), parts)
        result = _registry_result(answer)
        result.request, result.submission_set, result.entries = self.last_request, ss, entries
        return result

    def replace(self, previous: xds_metadata.DocumentEntry, document: bytes, **options) -> RegistryResult:
        """TD2.2: a new version of a registered document (RPLC association to its entryUUID)."""
        return self.provide_and_register(document, replaces={"Document01": previous.entry_uuid}, **options)

    # --- ITI-18 -----------------------------------------------------------------------------------------
    def query(self, query_id: str, slots: dict[str, list[str]], *, return_type: str = "LeafClass",
              patient: Ins | str | None = None, defects: Defects | None = None) -> QueryResult:
        request = etree.Element(f"{{{QUERY}}}AdhocQueryRequest", nsmap={"query": QUERY, "rim": RIM})
        etree.SubElement(
            request, f"{{{QUERY}}}ResponseOption", returnComposedObjects="true", returnType=return_type)
        adhoc = etree.SubElement(request, f"{{{RIM}}}AdhocQuery", id=query_id)
        for name, values in slots.items():
            slot = etree.SubElement(adhoc, f"{{{RIM}}}Slot", name=name)
            value_list = etree.SubElement(slot, f"{{{RIM}}}ValueList")
            for value in values:
                etree.SubElement(value_list, f"{{{RIM}}}Value").text = value
        answer = self.post("registry", ACTION_ITI18, request, self._security(patient, defects), None)
        return _query_result(answer)

    def find_documents(self, patient: Ins, statuses=("Approved",), return_type: str = "LeafClass",
                       extra_slots: dict[str, list[str]] | None = None,
                       defects: Defects | None = None) -> QueryResult:
        """FindDocuments for the patient (TD3.1), by availability status."""
        slots = {"$XDSDocumentEntryPatientId": [f"'{patient.xds_patient_id()}'"],
                 "$XDSDocumentEntryStatus": ["(" + ",".join(f"'{status_urn(s)}'" for s in statuses) + ")"]}
        slots.update(extra_slots or {})
        return self.query(FIND_DOCUMENTS, slots, return_type=return_type, patient=patient, defects=defects)

    def get_documents(self, patient: Ins, *, unique_ids=(), entry_uuids=(),
                      defects: Defects | None = None) -> QueryResult:
        slots = {}
        if unique_ids:
            slots["$XDSDocumentEntryUniqueId"] = ["(" + ",".join(f"'{u}'" for u in unique_ids) + ")"]
        if entry_uuids:
            slots["$XDSDocumentEntryEntryUUID"] = ["(" + ",".join(f"'{u}'" for u in entry_uuids) + ")"]
        return self.query(GET_DOCUMENTS, slots, patient=patient, defects=defects)

    def find_submission_sets(self, patient: Ins, statuses=("Approved",)) -> QueryResult:
        slots = {"$XDSSubmissionSetPatientId": [f"'{patient.xds_patient_id()}'"],
                 "$XDSSubmissionSetStatus": ["(" + ",".join(f"'{status_urn(s)}'" for s in statuses) + ")"]}
        return self.query(FIND_SUBMISSION_SETS, slots, patient=patient)

    def get_submission_set_and_contents(self, patient: Ins, unique_id: str) -> QueryResult:
        return self.query(GET_SUBMISSION_SET_AND_CONTENTS, {"$XDSSubmissionSetUniqueId": [f"'{unique_id}'"]},
                          patient=patient)

    def get_associations(self, patient: Ins, entry_uuids) -> QueryResult:
        return self.query(GET_ASSOCIATIONS, {"$uuid": ["(" + ",".join(f"'{u}'" for u in entry_uuids) + ")"]},
                          patient=patient)

    # --- ITI-43 -----------------------------------------------------------------------------------------
    def retrieve(self, entry: xds_metadata.DocumentEntry | None = None, *, unique_id: str | None = None,
                 repository_unique_id: str | None = None, patient: Ins | str | None = None,
                 defects: Defects | None = None) -> RetrieveResult:
        """ITI-43 (TD3.2): the document's bytes, MTOM."""
        if entry is not None:
            unique_id = unique_id or entry.unique_id
            repository_unique_id = repository_unique_id or entry.repository_unique_id
            patient = patient or (
                Ins(*_ins_parts(entry.patient_id)) if _ins_parts(entry.patient_id or "") else None)
        request = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetRequest", nsmap={"xdsb": XDSB})
        doc = etree.SubElement(request, f"{{{XDSB}}}DocumentRequest")
        etree.SubElement(doc, f"{{{XDSB}}}RepositoryUniqueId").text = repository_unique_id or ""
        etree.SubElement(doc, f"{{{XDSB}}}DocumentUniqueId").text = unique_id or ""
        answer = self.post("repository", ACTION_ITI43, request, self._security(patient, defects), [])
        fault = wire.fault_of(answer)
        if fault is not None or answer.body is None:
            return RetrieveResult(None, fault=fault or wire.SoapFault("(none)", None, answer.raw[:200].decode(
                "utf-8", "replace"), answer.status))
        response = answer.body.find(f"{{{wire.RS}}}RegistryResponse")
        result = RetrieveResult(response.get("status") if response is not None else None,
                                errors=wire.registry_errors(response))
        for item in answer.body.iter(f"{{{XDSB}}}DocumentResponse"):
            result.documents.append(RetrievedDocument(
                repository_unique_id=item.findtext(f"{{{XDSB}}}RepositoryUniqueId", default=""),
                unique_id=item.findtext(f"{{{XDSB}}}DocumentUniqueId", default=""),
                mime_type=item.findtext(f"{{{XDSB}}}mimeType", default=""),
                content=answer.binary(item.find(f"{{{XDSB}}}Document"))))
        return result

    # --- ITI-57 -----------------------------------------------------------------------------------------
    def _update_request(self, patient_id: str):
        request = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
        objects = etree.SubElement(request, f"{{{RIM}}}RegistryObjectList")
        ss = submission_set_for([_placeholder(patient_id)])
        package = etree.SubElement(objects, f"{{{RIM}}}RegistryPackage", id="SubmissionSet01")
        _slot(package, "submissionTime", [ss.submission_time])
        author = etree.SubElement(
            package, f"{{{RIM}}}Classification", classificationScheme=xds_metadata.SS_AUTHOR,
            classifiedObject="SubmissionSet01", id="cl-author", nodeRepresentation="")
        _slot(author, "authorPerson", [f"{self.caller.subject_nameid}^{self.caller.subject_id}^^^^^^^"
                                       "&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"])
        _slot(
            author, "authorInstitution",
            [f"Structure^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{self.caller.structure_id}"])
        content = etree.SubElement(
            package, f"{{{RIM}}}Classification", classificationScheme=xds_metadata.SS_CONTENT_TYPE_CODE,
            classifiedObject="SubmissionSet01", id="cl-content", nodeRepresentation=self.caller.sector)
        _slot(content, "codingScheme", ["1.2.250.1.71.4.2.4"])
        etree.SubElement(
            package, f"{{{RIM}}}Classification", classificationNode=xds_metadata.SUBMISSION_SET_NODE,
            classifiedObject="SubmissionSet01", id="cl-node")
        identifiers = ((xds_metadata.SS_UNIQUE_ID, new_oid()), (xds_metadata.SS_SOURCE_ID, ss.source_id),
                       (xds_metadata.SS_PATIENT_ID, patient_id))
        for scheme, value in identifiers:
            etree.SubElement(
                package, f"{{{RIM}}}ExternalIdentifier", id=f"ei-{scheme[-6:]}", identificationScheme=scheme,
                registryObject="SubmissionSet01", value=value)
        return request, objects

    def update_status(self, entry: xds_metadata.DocumentEntry, new_status: str, *,
                      defects: Defects | None = None, original_status: str | None = None) -> RegistryResult:
        """ITI-57 UpdateAvailabilityStatus (TD3.3: deprecate, archive, delete)."""
        request, objects = self._update_request(entry.patient_id)
        assoc = etree.SubElement(
            objects, f"{{{RIM}}}Association", id="as-status",
            associationType=xds_metadata.UPDATE_AVAILABILITY_STATUS, sourceObject="SubmissionSet01",
            targetObject=entry.entry_uuid)
        _slot(assoc, "OriginalStatus", [status_urn(original_status or entry.availability_status)])
        _slot(assoc, "NewStatus", [status_urn(new_status)])
        answer = self.post(
            "registry", ACTION_ITI57, request, self._security(_patient_of(entry), defects), None)
        return _registry_result(answer)

    def update_visibility(self, entry: xds_metadata.DocumentEntry, *, add=(), remove=(),
                          defects: Defects | None = None) -> RegistryResult:
        """ITI-57 metadata update (TD3.3): a new version of the entry whose only change is the visibility
        codes (MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX)."""
        request, objects = self._update_request(entry.patient_id)
        version = copy.deepcopy(entry)
        codes = [c for c in version.confidentiality_codes
                 if not (c.scheme == VISIBILITY_SCHEME and c.code in set(remove))]
        for code in add:
            if not any(c.scheme == VISIBILITY_SCHEME and c.code == code for c in codes):
                codes.append(xds_metadata.Code(code, VISIBILITY_SCHEME, code))
        version.confidentiality_codes = codes
        new_id = "DocumentEntry01"
        element = ebrim.leaf_class_document_entry(version)
        element.set("id", new_id)
        element.set("lid", entry.logical_id or entry.entry_uuid)
        for child in element.iter():
            for attr in ("classifiedObject", "registryObject"):
                if child.get(attr) == entry.entry_uuid:
                    child.set(attr, new_id)
            if child.tag in (f"{{{RIM}}}Classification", f"{{{RIM}}}ExternalIdentifier") and child.get("id"):
                child.set("id", "v-" + child.get("id").rsplit(":", 1)[-1])
        for attr in ("status", "home"):
            element.attrib.pop(attr, None)
        objects.insert(0, element)
        assoc = etree.SubElement(
            objects, f"{{{RIM}}}Association", id="as-version", associationType=xds_metadata.HAS_MEMBER,
            sourceObject="SubmissionSet01", targetObject=new_id)
        _slot(assoc, "SubmissionSetStatus", ["Original"])
        _slot(assoc, "PreviousVersion", [str(entry.version)])
        answer = self.post(
            "registry", ACTION_ITI57, request, self._security(_patient_of(entry), defects), None)
        return _registry_result(answer)

    # --- TD0.2 / TD0.3 ------------------------------------------------------------------------------------
    def td02(self, patient: Ins, *, defects: Defects | None = None) -> dict:
        """TD0.2: does the patient have a DMP, and is this caller authorised (VALIDE/EXPIRE/INTERDIT/
        NON_EXISTE)."""
        return self._td("patients", ACTION_TD02, "TD02Request", patient, None, defects)

    def td03(self, patient: Ins, action: str = "AJOUT", *, defects: Defects | None = None) -> dict:
        """TD0.3: add (AJOUT) or remove (SUPPRESSION) this caller's authorisation on the patient's DMP."""
        return self._td("habilitations", ACTION_TD03, "TD03Request", patient, action, defects)

    def _td(self, service, action, tag, patient: Ins, td_action, defects) -> dict:
        request = etree.Element(f"{{{TD_NS}}}{tag}", nsmap={"td": TD_NS})
        if td_action:
            request.set("action", td_action)
        etree.SubElement(
            request, f"{{{TD_NS}}}matriculeINS", valeur=patient.value, identifiantSysteme=patient.oid)
        answer = self.post(service, action, request, self._security(patient, defects), None)
        fault = wire.fault_of(answer)
        if fault is not None:
            raise fault
        if answer.body is None:
            raise wire.SoapFault("(none)", None, answer.raw[:200].decode("utf-8", "replace"), answer.status)
        return dict(answer.body.attrib)


# --- helpers ------------------------------------------------------------------------------------------
def _slot(parent, name: str, values) -> None:
    slot = etree.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    value_list = etree.SubElement(slot, f"{{{RIM}}}ValueList")
    for value in values:
        etree.SubElement(value_list, f"{{{RIM}}}Value").text = value


def _ins_parts(patient_id: str | None):

    parsed = parse_xds_patient_id(patient_id or "")
    return (parsed.value, parsed.oid) if parsed else None


def _patient_of(entry: xds_metadata.DocumentEntry):
    parts = _ins_parts(entry.patient_id)
    return Ins(*parts) if parts else entry.patient_id


def _placeholder(patient_id: str) -> DocumentMetadata:
    return DocumentMetadata(
        entry_id="x", unique_id="", patient_id=patient_id, source_patient_id="", source_patient_info=[],
        class_code=None, type_code=None, format_code=None, confidentiality_codes=[],
        healthcare_facility_type_code=None, practice_setting_code=None, authors=[], legal_authenticator=None,
        creation_time=None, service_start_time=None, service_stop_time=None, language_code=None, title=None)


def _registry_result(answer: wire.Incoming) -> RegistryResult:
    fault = wire.fault_of(answer)
    if fault is not None:
        return RegistryResult(None, fault=fault, http_status=answer.status)
    body = answer.body
    if body is None:
        return RegistryResult(
            None,
            fault=wire.SoapFault("(none)", None, answer.raw[:300].decode("utf-8", "replace"), answer.status),
            http_status=answer.status)
    return RegistryResult(body.get("status"), wire.registry_errors(body), http_status=answer.status)


def _query_result(answer: wire.Incoming) -> QueryResult:
    fault = wire.fault_of(answer)
    if fault is not None or answer.body is None:
        return QueryResult(None, fault=fault or wire.SoapFault("(none)", None, answer.raw[:300].decode(
            "utf-8", "replace"), answer.status))
    body = answer.body
    result = QueryResult(body.get("status"), errors=wire.registry_errors(body))
    objects = body.find(f"{{{RIM}}}RegistryObjectList")
    if objects is None:
        return result
    result.object_refs = [el.get("id") for el in objects.findall(f"{{{RIM}}}ObjectRef")]
    wrapper = etree.Element(f"{{{LCM}}}SubmitObjectsRequest")
    wrapper.append(copy.deepcopy(objects))
    submission, _ = ebrim.parse_submission(wrapper)  # the registry's objects, read with the same model
    result.entries = submission.document_entries
    result.associations = submission.associations
    packages = [el for el in objects.findall(f"{{{RIM}}}RegistryPackage")]
    if packages:
        for package in packages:
            single = etree.Element(f"{{{LCM}}}SubmitObjectsRequest")
            holder = etree.SubElement(single, f"{{{RIM}}}RegistryObjectList")
            holder.append(copy.deepcopy(package))
            parsed, _ = ebrim.parse_submission(single)
            if parsed.submission_set is not None:
                result.submission_sets.append(parsed.submission_set)
    return result


def now_utc() -> datetime:
    return datetime.now(UTC)
