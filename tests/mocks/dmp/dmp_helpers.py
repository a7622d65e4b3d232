"""Request builders and an HTTP helper for the DMP mock's tests.

Metadata and the VIHF come from the project's DMP client (`segur.mocks.dmp.client`); this module
adds the transport: SOAP 1.2 envelopes with WS-Addressing, MTOM multipart bodies, and the ITI-18,
ITI-43, ITI-57 and TD0.2/TD0.3 request bodies — written here by hand so that each test can also
break them on purpose.
The fixtures every DMP test module shares (`world`, `pki`, `case`) are in tests/conftest.py.
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree

from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.ebrim import LCM, QUERY, RIM, RS, XDSB
from segur.mocks.dmp.mtom import normalise_cid, parse_content_type, split_multipart
from segur.mocks.dmp.responses import TD_NS
from segur.mocks.dmp.soap import SOAP12, WSA

ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"
TD02 = "urn:segur:harness:dmp:TD0.2"
TD03 = "urn:segur:harness:dmp:TD0.3"
XOP = "http://www.w3.org/2004/08/xop/include"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
NS = {"soap": SOAP12, "rs": RS, "rim": RIM, "query": QUERY, "xdsb": XDSB, "lcm": LCM, "td": TD_NS, "wsa": WSA}


def envelope(action: str, body, security=None, to: str | None = None) -> bytes:
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP12}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action").text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    if to:
        etree.SubElement(header, f"{{{WSA}}}To").text = to
    if security is not None:
        header.append(security)
    etree.SubElement(env, f"{{{SOAP12}}}Body").append(body)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def mtom(envelope_bytes: bytes, parts: list[tuple[str, bytes, str]], boundary: str = "segurTestBoundary42",
         action: str = ITI41) -> tuple[str, bytes]:
    """(Content-Type, body) of an MTOM request; `parts` are (content-id, bytes, content-type)."""
    root_headers = (f"--{boundary}\r\n"
                    "Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
                    "Content-Transfer-Encoding: binary\r\nContent-ID: <root@segur-test>\r\n\r\n")
    chunks = [root_headers.encode(), envelope_bytes]
    for cid, data, ctype in parts:
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"Content-ID: <{cid}>\r\n\r\n".encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    f'start="<root@segur-test>"; start-info="application/soap+xml"; action="{action}"')
    return content_type, b"".join(chunks)


def provide_and_register(submit_objects, documents: dict[str, bytes], inline: bool = False,
                         cids: dict[str, str] | None = None) -> tuple[object, list[tuple[str, bytes, str]]]:
    """The ITI-41 body element and its MTOM parts (none when `inline`: base64 in xdsb:Document)."""
    request = etree.Element(f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest", nsmap={"xdsb": XDSB})
    request.append(submit_objects)
    parts = []
    for doc_id, data in documents.items():
        document = etree.SubElement(request, f"{{{XDSB}}}Document", id=doc_id)
        if inline:
            document.text = base64.b64encode(data).decode()
            continue
        cid = (cids or {}).get(doc_id) or f"{uuid.uuid4().hex}@segur-test"
        include = etree.SubElement(document, f"{{{XOP}}}Include", nsmap={"xop": XOP})
        include.set("href", f"cid:{cid}")
        parts.append((cid, data, "text/xml"))
    return request, parts


def adhoc_query(query_id: str, params: dict[str, object], return_type: str = "LeafClass"):
    """AdhocQueryRequest; a param value is a str (quoted for you), a list (→ ('a','b')) or a raw `Raw`."""
    request = etree.Element(f"{{{QUERY}}}AdhocQueryRequest", nsmap={"query": QUERY, "rim": RIM})
    etree.SubElement(
        request, f"{{{QUERY}}}ResponseOption", returnComposedObjects="true", returnType=return_type)
    query = etree.SubElement(request, f"{{{RIM}}}AdhocQuery", id=query_id)
    for name, value in params.items():
        occurrences = value.occurrences if isinstance(value, Raw) else [value]
        for occurrence in occurrences:
            slot = etree.SubElement(query, f"{{{RIM}}}Slot", name=name)
            values = etree.SubElement(slot, f"{{{RIM}}}ValueList")
            if isinstance(occurrence, list):
                text = "(" + ",".join(f"'{v}'" for v in occurrence) + ")"
            elif isinstance(value, Raw):
                text = occurrence
            else:
                text = f"'{occurrence}'"
            etree.SubElement(values, f"{{{RIM}}}Value").text = text
    return request


@dataclass
class Raw:
    """Slot values written as given (several occurrences of the same Slot = AND)."""

    occurrences: list = field(default_factory=list)


def retrieve_request(repository: str, unique_ids: list[str]):
    request = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetRequest", nsmap={"xdsb": XDSB})
    for unique_id in unique_ids:
        item = etree.SubElement(request, f"{{{XDSB}}}DocumentRequest")
        etree.SubElement(item, f"{{{XDSB}}}RepositoryUniqueId").text = repository
        etree.SubElement(item, f"{{{XDSB}}}DocumentUniqueId").text = unique_id
    return request


def td_request(kind: str, ins: str, oid: str, action: str | None = None):
    tag = "TD02Request" if kind == "TD0.2" else "TD03Request"
    request = etree.Element(f"{{{TD_NS}}}{tag}", nsmap={"td": TD_NS})
    if action:
        request.set("action", action)
    etree.SubElement(request, f"{{{TD_NS}}}matriculeINS", valeur=ins, identifiantSysteme=oid)
    return request


def status_update(submission_set_xml, target: str, original: str, new: str):
    """ITI-57 SubmitObjectsRequest: a submission set + an UpdateAvailabilityStatus association."""
    request = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    objects = etree.SubElement(request, f"{{{RIM}}}RegistryObjectList")
    objects.append(submission_set_xml)
    assoc = etree.SubElement(objects, f"{{{RIM}}}Association", id="as-update",
                             associationType=xds_metadata.UPDATE_AVAILABILITY_STATUS,
                             sourceObject=submission_set_xml.get("id"), targetObject=target)
    for name, value in (("OriginalStatus", original), ("NewStatus", new)):
        slot = etree.SubElement(assoc, f"{{{RIM}}}Slot", name=name)
        etree.SubElement(etree.SubElement(slot, f"{{{RIM}}}ValueList"), f"{{{RIM}}}Value").text = value
    return request


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    root: object | None = None
    attachments: dict = field(default_factory=dict)

    def find(self, path: str):
        return None if self.root is None else self.root.find(path, NS)

    def findall(self, path: str):
        return [] if self.root is None else self.root.findall(path, NS)

    @property
    def registry_status(self) -> str | None:
        for path in (".//rs:RegistryResponse", ".//query:AdhocQueryResponse"):
            el = self.find(path)
            if el is not None:
                return el.get("status", "").rsplit(":", 1)[-1]
        return None

    @property
    def error_codes(self) -> list[str]:
        return [e.get("errorCode") for e in self.findall(".//rs:RegistryError")]

    @property
    def error_contexts(self) -> list[str]:
        return [e.get("codeContext") for e in self.findall(".//rs:RegistryError")]

    def rules(self) -> list[str]:
        """Rule ids named in codeContext ("[RULE] message")."""
        return [c[1:c.index("]")] for c in self.error_contexts if c and c.startswith("[")]

    @property
    def fault_reason(self) -> str | None:
        el = self.find(".//soap:Fault/soap:Reason/soap:Text")
        return el.text if el is not None else None

    @property
    def fault_code(self) -> str | None:
        el = self.find(".//soap:Fault/soap:Code/soap:Value")
        return el.text if el is not None else None


def post(url: str, content_type: str, body: bytes, headers: dict | None = None, timeout: float = 30,
         context=None) -> Answer:
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        ctype = response.getheader("Content-Type", "")
        status = response.status
    finally:
        conn.close()
    return parse_answer(status, ctype, data)


def parse_answer(status: int, content_type: str, data: bytes) -> Answer:
    answer = Answer(status, content_type, data)
    main, params = parse_content_type(content_type)
    envelope_bytes = data
    if main == "multipart/related":
        parts = split_multipart(data, params["boundary"])
        envelope_bytes = parts[0].content
        answer.attachments = {p.content_id: p.content for p in parts[1:]}
    if main in ("multipart/related", "application/soap+xml"):
        answer.root = etree.fromstring(envelope_bytes)
    return answer


def send(url: str, action: str, body, security=None, parts=None, as_mtom: bool = True,
         context=None) -> Answer:
    data = envelope(action, body, security)
    if as_mtom:
        content_type, payload = mtom(data, parts or [], action=action)
    else:
        content_type, payload = f'application/soap+xml; charset=UTF-8; action="{action}"', data
    return post(url, content_type, payload, context=context)


def retrieved_documents(answer: Answer) -> dict[str, bytes]:
    """DocumentUniqueId → bytes of an ITI-43 answer (xop:Include resolved, or inline base64)."""
    result = {}
    for doc in answer.findall(".//xdsb:DocumentResponse"):
        unique_id = doc.findtext("xdsb:DocumentUniqueId", namespaces=NS)
        document = doc.find("xdsb:Document", NS)
        include = document.find(f"{{{XOP}}}Include")
        if include is not None:
            result[unique_id] = answer.attachments[normalise_cid(include.get("href"))]
        else:
            result[unique_id] = base64.b64decode(document.text or "")
    return result


class DmpCase:
    """A caller of the test world (a radiology structure and its radiologist) and their patients.

    Builds signed VIHFs and ITI-41 requests for CR-IMG N1 documents made by `segur.fixtures`.
    """

    ORGANISATION = "org-radiologie-ambroise"

    def __init__(self, pki, world, issue_certificate: bool = True):
        from segur.mocks.dmp.client.vihf import VihfIdentity

        self.pki, self.world = pki, world
        self.organisation = next(o for o in world.organisations if o.key == self.ORGANISATION)
        self.author = next(p for p in world.professionals if p.organisation == self.organisation.finess)
        open_dmps = [p for p in world.patients if p.has_dmp and not p.dmp_closed and not p.dmp_opposed]
        self.patient, self.other_patient = open_dmps[0], open_dmps[1]
        name, idnst = self.organisation.name, self.organisation.idnst
        self.signer = (pki.issue_client("dmp-ambroise", name, name, idnst) if issue_certificate
                       else pki.client("dmp-ambroise"))
        self._identity_type = VihfIdentity

    def identity(self, patient=None, **changes):
        patient = patient or self.patient
        values = dict(structure_id=self.organisation.idnst, patient=patient.ins_object,
                      subject_nameid=self.author.idnps, subject_id=self.author.display_name,
                      sector=self.organisation.facility_type)
        values.update(changes)
        return self._identity_type(**values)

    def security(self, patient=None, defects=None, **changes):
        from segur.mocks.dmp.client.vihf import build_vihf, security_header

        return security_header(build_vihf(self.identity(patient, **changes), self.signer, defects=defects))

    @property
    def caller(self) -> str:
        return self.author.idnps

    def cda(self, patient=None, **options) -> bytes:
        from segur.fixtures.documents.builders import build_cr_img_n1

        return build_cr_img_n1(patient or self.patient, self.author, self.organisation, **options)

    def submission(self, documents: list[bytes], *, replaces: dict[str, str] | None = None, edit=None,
                   extra_confidentiality=()):
        """(SubmitObjectsRequest element, {entry id: bytes}) for these CDA documents."""
        from segur.mocks.dmp.client.metadata import (
            metadata_from_cda,
            submission_set_for,
            submit_objects_request,
        )

        extra = list(extra_confidentiality)
        entries = [metadata_from_cda(doc, entry_id=f"Document{i:02d}", extra_confidentiality=extra)
                   for i, doc in enumerate(documents, start=1)]
        if edit:
            edit(entries)
        ss = submission_set_for(entries)
        request = submit_objects_request(ss, entries, replaces=replaces)
        return request, {e.entry_id: doc for e, doc in zip(entries, documents, strict=True)}

    def iti41(self, url: str, documents: list[bytes] | None = None, *, patient=None, security="default",
              inline=False, replaces=None, edit=None, extra_confidentiality=(), mutate=None) -> Answer:
        documents = documents if documents is not None else [self.cda(patient)]
        request, by_id = self.submission(documents, replaces=replaces, edit=edit,
                                         extra_confidentiality=extra_confidentiality)
        if mutate:
            mutate(request)
        body, parts = provide_and_register(request, by_id, inline=inline)
        header = self.security(patient) if security == "default" else security
        return send(url, ITI41, body, header, parts)

    def find_documents(self, url: str, patient=None, statuses=(APPROVED,), return_type="LeafClass",
                       extra=None, security="default") -> Answer:
        patient = patient or self.patient
        params = {"$XDSDocumentEntryPatientId": patient.xds_patient_id,
                  "$XDSDocumentEntryStatus": list(statuses), **(extra or {})}
        header = self.security(patient) if security == "default" else security
        return send(
            url, ITI18, adhoc_query("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", params, return_type),
            header, as_mtom=False)

    def retrieve(self, url: str, repository: str, unique_ids: list[str], patient=None) -> Answer:
        return send(
            url, ITI43, retrieve_request(repository, unique_ids), self.security(patient), as_mtom=False)

    def td(self, url: str, kind: str, patient=None, action=None, security="default") -> Answer:
        patient = patient or self.patient
        header = self.security(patient) if security == "default" else security
        return send(
            url, TD02 if kind == "TD0.2" else TD03, td_request(kind, patient.ins, patient.oid, action),
            header, as_mtom=False)

    def authorise(self, running, patient=None) -> None:
        """Give the caller a valid authorisation on the patient's DMP (as TD0.3 AJOUT would)."""
        patient = patient or self.patient
        running.backend.store.set_authorisation(
            patient.ins, self.caller, "VALIDE", "2999-01-01T00:00:00+00:00")


# --- the mock as a separate process -----------------------------------------------------------------
@contextmanager
def served_dmp(data_dir, pki, *options: str,
               timeout: float = 30) -> Iterator[tuple[subprocess.Popen, int, list[str]]]:
    """`segur serve dmp` as a separate process on a free port: (process, port, its first output lines).

    Stopped with Ctrl-C (SIGINT) on exit if the test has not ended it otherwise.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "segur", "serve", "dmp", "--port", str(port), "--data", str(data_dir),
               "--pki", str(pki.directory), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        yield process, port, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
