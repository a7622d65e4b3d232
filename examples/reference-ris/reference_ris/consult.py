"""Consulting the patient's DMP (the `consult-dmp` task): the identity from INSi, TD0.2 (and TD0.3 when this
professional is not yet authorised), a multi-criteria FindDocuments (ITI-18), the retrieve of the documents
found (ITI-43) into the RIS's own store, whether the DMP holds a medical summary (typeCode SYNTH: its newest
creationTime is the date of its last update) and, for a document already integrated, whether the DMP holds a
newer version of it (GetDocuments by uniqueId, then GetAssociations for the RPLC that replaced it). What it
found is returned as JSON (`consultation`). The same code consults for the other couloirs' reference
products (`reference-lgc`, `reference-dpi`): the task's criteria name the documents of their kind.

The query and retrieve messages, and the reading of the DMP's answers (ebRIM, MTOM/XOP), are this module's
own (`XdsReader`); the signed VIHF and TD0.2/TD0.3 come from the RIS's DMP client (`dmp.client_for`).
Standards read for the facts: IHE ITI TF-2a §3.18 (stored query ids and parameters, quoted values),
§3.43 (RetrieveDocumentSet), ITI TF-3 §4.2.3 (ebRIM identifiers), W3C XOP 1.0 / SOAP MTOM.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from pathlib import Path
from urllib.parse import unquote

import requests
from lxml import etree

from segur.kernel.ins import Ins
from segur.mocks.dmp.client import DmpClient

from . import dmp
from .errors import Refused, ServiceUnavailable
from .report import author_of

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
ACTION_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
ACTION_RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
REPOSITORY_SLOT = "repositoryUniqueId"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
STATUS = "urn:oasis:names:tc:ebxml-regrep:StatusType:"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
VSM_TYPE = "SYNTH^^1.2.250.1.213.1.1.4.12"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass
class Entry:
    entry_uuid: str
    unique_id: str
    status: str
    title: str | None
    creation_time: str | None
    repository: str | None

    def brief(self) -> dict:
        return {"unique_id": self.unique_id, "title": self.title, "creation_time": self.creation_time}


@dataclass
class Consulted:
    """What `consult-dmp` did: the RIS's answer to the harness (`to_dict`), its `consultation` the report."""

    task_id: str
    ins: str
    consultation: dict
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ok": True, "task_id": self.task_id, "ins": self.ins, "detail": "DMP consulted",
                "consultation": self.consultation, "steps": self.steps}


class XdsReader:
    """ITI-18 and ITI-43 against the DMP's registry and repository, under the caller's signed VIHF."""

    def __init__(self, endpoints: dict, signer: DmpClient, patient: Ins, timeout: float = 30.0):
        self.endpoints, self.signer, self.patient, self.timeout = endpoints, signer, patient, timeout
        self.verify = signer.verify

    def _post(self, service: str, action: str, body: etree._Element) -> tuple[etree._Element, dict]:
        url = self.endpoints[service]
        envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
        header = etree.SubElement(envelope, f"{{{SOAP12}}}Header")
        action_el = etree.SubElement(header, f"{{{WSA}}}Action")
        action_el.set(f"{{{SOAP12}}}mustUnderstand", "true")
        action_el.text = action
        etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
        etree.SubElement(header, f"{{{WSA}}}To").text = url
        security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
        security.append(self.signer.vihf(self.patient))
        etree.SubElement(envelope, f"{{{SOAP12}}}Body").append(body)
        data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
        content_type = f'application/soap+xml; charset=UTF-8; action="{action}"'
        try:
            response = requests.post(url, data=data, headers={"Content-Type": content_type},
                                     timeout=self.timeout, verify=self.verify)
        except (requests.RequestException, OSError) as exc:
            raise ServiceUnavailable(f"DMP {action}: unreachable: {exc}") from exc
        root, parts = read_answer(response.headers.get("Content-Type", ""), response.content)
        if response.status_code >= 500:
            raise ServiceUnavailable(f"DMP {action}: HTTP {response.status_code}")
        fault = root.find(f".//{{{SOAP12}}}Fault") if root is not None else None
        if root is None or fault is not None:
            reason = "".join(fault.itertext()).strip() if fault is not None else response.text[:200]
            raise Refused(f"DMP {action} refused: HTTP {response.status_code} {reason}")
        return root.find(f"{{{SOAP12}}}Body")[0], parts

    def query(self, query_id: str, slots: dict[str, list[str]]) -> tuple[list[Entry], list[dict]]:
        request = etree.Element(f"{{{QUERY}}}AdhocQueryRequest", nsmap={"query": QUERY, "rim": RIM})
        etree.SubElement(request, f"{{{QUERY}}}ResponseOption", returnComposedObjects="true",
                         returnType="LeafClass")
        adhoc = etree.SubElement(request, f"{{{RIM}}}AdhocQuery", id=query_id)
        for name, values in slots.items():
            slot = etree.SubElement(adhoc, f"{{{RIM}}}Slot", name=name)
            holder = etree.SubElement(slot, f"{{{RIM}}}ValueList")
            for value in values:
                etree.SubElement(holder, f"{{{RIM}}}Value").text = value
        answer, _parts = self._post("registry", ACTION_QUERY, request)
        if answer.get("status") != SUCCESS:
            raise Refused(f"DMP ITI-18 refused: {'; '.join(_errors(answer)) or answer.get('status')}")
        associations = [{"type": a.get("associationType"), "source": a.get("sourceObject"),
                         "target": a.get("targetObject")} for a in answer.iter(f"{{{RIM}}}Association")]
        return _entries(answer), associations

    def find(self, type_codes, statuses, created_from=None, created_to=None) -> list[Entry]:
        slots = {"$XDSDocumentEntryPatientId": [f"'{self.patient.xds_patient_id()}'"],
                 "$XDSDocumentEntryStatus": [_listed(STATUS + s for s in statuses)],
                 "$XDSDocumentEntryTypeCode": [_listed(type_codes)]}
        if created_from:
            slots["$XDSDocumentEntryCreationTimeFrom"] = [created_from]
        if created_to:
            slots["$XDSDocumentEntryCreationTimeTo"] = [created_to]
        return self.query(FIND_DOCUMENTS, slots)[0]

    def by_unique_id(self, unique_id: str) -> list[Entry]:
        return self.query(GET_DOCUMENTS, {"$XDSDocumentEntryUniqueId": [_listed([unique_id])]})[0]

    def by_entry_uuid(self, entry_uuid: str) -> list[Entry]:
        return self.query(GET_DOCUMENTS, {"$XDSDocumentEntryEntryUUID": [_listed([entry_uuid])]})[0]

    def associations(self, entry_uuid: str) -> list[dict]:
        return self.query(GET_ASSOCIATIONS, {"$uuid": [_listed([entry_uuid])]})[1]

    def retrieve(self, entry: Entry) -> bytes:
        request = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetRequest", nsmap={"xdsb": XDSB})
        asked = etree.SubElement(request, f"{{{XDSB}}}DocumentRequest")
        etree.SubElement(asked, f"{{{XDSB}}}RepositoryUniqueId").text = entry.repository or ""
        etree.SubElement(asked, f"{{{XDSB}}}DocumentUniqueId").text = entry.unique_id
        answer, parts = self._post("repository", ACTION_RETRIEVE, request)
        for item in answer.iter(f"{{{XDSB}}}DocumentResponse"):
            if item.findtext(f"{{{XDSB}}}DocumentUniqueId") != entry.unique_id:
                continue
            holder = item.find(f"{{{XDSB}}}Document")
            include = holder.find(f"{{{XOP}}}Include") if holder is not None else None
            if include is not None:
                return parts[_cid(include.get("href", ""))]
            raise Refused(f"DMP ITI-43: document {entry.unique_id} came without its MTOM part")
        response = answer.find(f"{{{RS}}}RegistryResponse")
        why = "; ".join(_errors(response)) if response is not None else "no DocumentResponse"
        raise Refused(f"DMP ITI-43 did not return {entry.unique_id}: {why}")


def _listed(values) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


def _errors(element) -> list[str]:
    return [f"{e.get('errorCode')}: {e.get('codeContext')}" for e in element.iter(f"{{{RS}}}RegistryError")]


def _cid(href: str) -> str:
    value = unquote(href[4:] if href.lower().startswith("cid:") else href)
    return value.strip().strip("<>")


def read_answer(content_type: str, body: bytes) -> tuple[etree._Element | None, dict[str, bytes]]:
    """The SOAP envelope of an answer and its MTOM parts by Content-ID (a bare envelope has none)."""
    if not content_type.lower().startswith("multipart/"):
        return _xml(body), {}
    message = message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body, policy=HTTP)
    root, parts = None, {}
    for part in message.iter_parts():
        content = part.get_payload(decode=True) or b""
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        if root is None and b"Envelope" in content[:2048]:
            root = _xml(content)
        elif cid:
            parts[cid] = content
    return root, parts


def _xml(data: bytes):
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return None


def _entries(answer: etree._Element) -> list[Entry]:
    found = []
    for obj in answer.iter(f"{{{RIM}}}ExtrinsicObject"):
        unique = [e.get("value") for e in obj.findall(f"{{{RIM}}}ExternalIdentifier")
                  if e.get("identificationScheme") == UNIQUE_ID]
        name = obj.find(f"{{{RIM}}}Name/{{{RIM}}}LocalizedString")
        found.append(Entry(obj.get("id"), unique[0] if unique else "", obj.get("status") or "",
                           name.get("value") if name is not None else None, _slot(obj, "creationTime"),
                           _slot(obj, REPOSITORY_SLOT)))
    return found


def _slot(obj, name: str) -> str | None:
    for slot in obj.findall(f"{{{RIM}}}Slot"):
        if slot.get("name") == name:
            value = slot.find(f"{{{RIM}}}ValueList/{{{RIM}}}Value")
            return value.text if value is not None else None
    return None


# --- the task ---------------------------------------------------------------------------------------------
def consult(run) -> Consulted:
    """`consult-dmp` for a `core.Run`: search and integrate (consult-01), or show a stored document and look
    for its newer version (`extra.shows`)."""
    task, defect = run.task, run.defect
    identity = run.identity()
    ins = Ins(identity.ins, identity.oid)
    professional, organisation = author_of(task)
    if defect == "consult-structure-user":
        professional = run.default_signer()
        run.step(f"DMP: consulted under the structure's default user {professional.idnps} (defect)")
    client = dmp.client_for(run.config, professional, organisation)
    searching = not task.extra.get("shows_task")
    if defect == "consult-wrong-patient" and searching:
        other = run.other_patient(identity)
        ins = Ins(other.ins, other.oid)
        run.step(f"DMP: consulted with the patient context of {other.ins} (defect consult-wrong-patient)")
    status = {}
    if defect != "consult-no-td02":
        status = dmp.check_dmp(client, ins)
        run.step(f"DMP TD0.2: dmp={status.get('dmp')} autorisation={status.get('autorisation')}")
    if status.get("autorisation") != "VALIDE":
        answer = dmp.authorise(client, ins)
        run.step(f"DMP TD0.3: {answer.get('resultat')}")
    endpoints = run.config.dmp_endpoints
    reader = XdsReader(endpoints, client, ins, timeout=run.config.timeout)
    report = {"patient_ins": ins.value, "dmp": {"state": status.get("dmp"),
                                                "authorisation": status.get("autorisation")}}
    if searching:
        report.update(search(run, reader))
    else:
        report["shown"] = [show(run, reader, uid) for uid in task.extra.get("shows") or []]
    return Consulted(task.id, identity.ins, report, run.steps)


def search(run, reader: XdsReader) -> dict:
    criteria = run.task.extra.get("search") or {}
    dates = (criteria.get("creation_from"), criteria.get("creation_to"))
    if run.defect == "consult-search-no-dates":
        dates = (None, None)
        run.step("DMP ITI-18: searched without the creation dates (defect consult-search-no-dates)")
    found = reader.find(criteria.get("type_codes") or [], criteria.get("statuses") or ["Approved"], *dates)
    run.step(f"DMP ITI-18 FindDocuments: {len(found)} document(s)")
    integrated = []
    store = Path(run.config.state_dir) / "dmp-documents"
    for entry in found:
        if run.defect == "consult-reports-unretrieved":
            integrated.append({"unique_id": entry.unique_id, "sha256": None, "size": None})
            continue
        content = reader.retrieve(entry)
        store.mkdir(parents=True, exist_ok=True)
        (store / f"{entry.unique_id}.xml").write_bytes(content)
        integrated.append({"unique_id": entry.unique_id, "sha256": hashlib.sha256(content).hexdigest(),
                           "size": len(content)})
        run.step(f"DMP ITI-43: {entry.unique_id} integrated ({len(content)} bytes)")
    if run.defect == "consult-no-summary-lookup":
        summary = {"present": False, "unique_ids": []}
    else:
        held = reader.find([VSM_TYPE], ["Approved"])
        times = [e.creation_time for e in held if e.creation_time]
        updated = max(times, key=lambda t: t.ljust(14, "0")) if times else None  # XDS DTMs, UTC
        summary = {"present": bool(held), "unique_ids": [e.unique_id for e in held], "last_updated": updated}
        run.step(f"DMP ITI-18 medical summary: {f'yes, last updated {updated}' if held else 'none'}")
    return {"found": [e.brief() for e in found], "integrated": integrated, "medical_summary": summary}


def show(run, reader: XdsReader, unique_id: str) -> dict:
    """CDA/DD.05: before showing a stored document, ask the DMP whether a newer version replaced it."""
    stored = (Path(run.config.state_dir) / "dmp-documents" / f"{unique_id}.xml").is_file()
    entries = reader.by_unique_id(unique_id)
    newer = None
    if run.defect == "consult-ignores-newer-version":
        run.step(f"DMP ITI-18 {unique_id}: the newer version not looked for (defect)")
    else:
        newer = newest_version(reader, entries)
    run.step(f"DMP ITI-18 {unique_id}: newer version {newer or 'none'}")
    return {"unique_id": unique_id, "stored": stored, "newer_version": newer}


def newest_version(reader: XdsReader, entries: list[Entry]) -> str | None:
    """Follow the RPLC associations from a Deprecated entry to the Approved one that replaced it."""
    current = next(iter(entries), None)
    seen: set[str] = set()
    while current is not None and current.status.endswith("Deprecated") and current.entry_uuid not in seen:
        seen.add(current.entry_uuid)
        replacing = [a["source"] for a in reader.associations(current.entry_uuid)
                     if a["type"] == RPLC and a["target"] == current.entry_uuid]
        found = reader.by_entry_uuid(replacing[0]) if replacing else []
        current = found[0] if found else None
    first = entries[0].unique_id if entries else None
    return current.unique_id if current is not None and current.unique_id != first else None
