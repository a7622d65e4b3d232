"""What reached the mocks: the evidence the checks judge, read from the mocks' admin APIs.

Nothing here asks the system under test anything. For each task, `observe_task` gathers from the
journals and stores of the mocks (through their `/_admin/` JSON APIs, so a stack started elsewhere by
`segur up` works as well as an in-process one):
- the INSi exchanges for the task's patient — searches of its traits, or of its Vitale card's NIR when the
  task gives one — (operation, code returned, INS and OID, time);
- the DMP submissions for the task (verdict, rule ids, patient id, the CDA header of each document read
  from the request on the wire, the stored entry's metadata, status and validation report);
- the MSSanté messages it sent (verdict, rule ids, sender, recipients, attachments, XDM metadata and CDA
  header of each document, the validator's report, the TLS session).

A task's exchanges are those the mocks tagged with its id (the runner sets it with `PUT /_admin/task`
before handing the task over: `TaskExchanges`); a mock that took no tag has them taken by the journal
sequence numbers read just before and just after the task ran (`marks`).

The judge reads with its own eyes: a request or message whole (`GET /_admin/journal/<seq>/body`,
`GET /_admin/messages/<id>/raw`, never a truncated journal entry), split with its own MIME/MTOM reader
(`scenarios/mime.py`), every XML parsed with the validator's safe parser; no mock's parser is used. The
observation is plain JSON: it goes as is into the evidence pack, and a reviewer can recompute the
verdicts from it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from email.utils import getaddresses

from lxml import etree
from pypdf import PdfReader

from segur.fixtures.world import load_world
from segur.kernel.ins import INS_OIDS
from segur.scenarios.mime import UnreadableMime, read_message, read_soap_request
from segur.scenarios.names import fold_name  # noqa: F401 - also read from here by editors' checks
from segur.validators import safe_xml

#: the services whose journals the judge reads (those the stack runs): the core's three first
SERVICES = ("insi", "dmp", "mssante", "annuaire", "psc", "pam", "igc")
#: the services whose exchanges are tagged with the task in force (`PUT /_admin/task`)
TAGGED_SERVICES = SERVICES
#: Request/response bodies are dropped from the recorded exchanges (sizes and hashes stay): the facts the
#: checks use are extracted from them first.
_BODY_KEYS = ("body",)


# --- admin API --------------------------------------------------------------------------------------------
ADMIN_TOKEN_ENV = "SEGUR_ADMIN_TOKEN"
#: marks, in a tenant's endpoints, a service every tenant shares (it serves no tenants: igc, PAM…)
SHARED_BY_TENANTS = "shared_by_tenants"


class _KeptAlive:
    """HTTP/1.1 connections to the mocks' admin APIs, one per server and thread, kept open between calls: a
    proof makes ~15 admin calls a task (its tag at both edges on each of the 7 mocks), and a new TCP
    connection each time (urllib's way) cost the proof and the mocks ~0.5 s of CPU a small proof. A
    connection the server closed meanwhile (its keep-alive timeout) is opened again once."""

    #: a kept connection found closed by the server when it is used again
    _STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
              http.client.CannotSendRequest, http.client.ResponseNotReady)

    def __init__(self):
        self._lock = threading.Lock()
        self._local = threading.local()
        self._every: list[http.client.HTTPConnection] = []

    @staticmethod
    def takes(url: str) -> bool:
        """Plain HTTP reached without a proxy (urllib's own reading of the environment's proxies)."""
        parts = urllib.parse.urlsplit(url)
        proxied = "http" in urllib.request.getproxies() and not urllib.request.proxy_bypass(parts.netloc)
        return parts.scheme == "http" and not proxied

    def send(self, method: str, url: str, data: bytes | None, headers: Mapping,
             timeout: float) -> bytes | None:
        """The answer's body; None for a redirection (left to urllib)."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        pool = self._local.__dict__.setdefault("pool", {})
        for attempt in (1, 2):
            connection = pool.get(parts.netloc)
            reused = connection is not None
            if connection is None:
                connection = pool[parts.netloc] = http.client.HTTPConnection(parts.hostname, parts.port,
                                                                            timeout=timeout)
                with self._lock:
                    self._every.append(connection)
            try:
                connection.request(method, target, body=data, headers=dict(headers))
                response = connection.getresponse()
                body = response.read()
            except self._STALE as exc:
                connection.close()
                del pool[parts.netloc]
                if reused and attempt == 1:
                    continue
                raise urllib.error.URLError(exc) from exc
            except TimeoutError:
                connection.close()
                del pool[parts.netloc]
                raise
            except OSError as exc:
                connection.close()
                del pool[parts.netloc]
                raise urllib.error.URLError(exc) from exc
            if 300 <= response.status < 400:
                return None
            if response.status >= 400:
                raise urllib.error.HTTPError(url, response.status, response.reason, response.headers,
                                             io.BytesIO(body))
            return body
        raise AssertionError("unreachable: the second attempt returns or raises")

    def close(self) -> None:
        with self._lock:
            every, self._every = self._every, []
        for connection in every:
            connection.close()
        self._local = threading.local()


class Admin:
    """The `/_admin/` JSON API of each mock, from the stack's endpoints; with `tenant`, that tenant's admin
    API on a shared instance (`/t/<tenant>/_admin/`, see segur.kernel.tenants). `token`: the shared
    instance's admin token (`[stack] admin_token`), sent as Bearer; by default the environment's
    `SEGUR_ADMIN_TOKEN`, so that every admin call of a proof carries it without reaching the product."""

    def __init__(self, endpoints: Mapping, timeout: float = 30.0, tenant: str = "", token: str | None = None):
        self.endpoints = endpoints
        self.timeout = timeout
        self.tenant = tenant
        token = os.environ.get(ADMIN_TOKEN_ENV, "") if token is None else token
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._connections = _KeptAlive()

    def base(self, service: str) -> str:
        try:
            url = self.endpoints[service]["admin"]
        except (KeyError, TypeError) as exc:
            raise LookupError(f"no admin endpoint for {service} in the stack's endpoints") from exc
        url = url.rstrip("/")
        if self.tenant and not self.shared(service):  # http://h:p/_admin → http://h:p/t/<tenant>/_admin
            root, _, admin = url.rpartition("/")
            url = f"{root}/t/{self.tenant}/{admin}"
        return url + "/"

    def call(self, service: str, path: str, method: str = "GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        raw = self._send(method, self.base(service) + path.lstrip("/"), data,
                         {"Content-Type": "application/json", **self.headers})
        return json.loads(raw) if raw else None

    def _send(self, method: str, url: str, data: bytes | None, headers: Mapping) -> bytes:
        """The body of the answer, over a kept-alive connection to the mock (`_KeptAlive`); an answer of 400
        or more raises `urllib.error.HTTPError`, a connection that fails `urllib.error.URLError`, as urllib
        does. Through urllib itself when a proxy is configured for the URL, or for a redirection."""
        if self._connections.takes(url):
            answer = self._connections.send(method, url, data, headers, self.timeout)
            if answer is not None:
                return answer
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read()

    def close(self) -> None:
        """Closes the connections kept alive to the mocks (a later call opens new ones)."""
        self._connections.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, what close() uses may be gone
            self.close()

    def journal(self, service: str, since: int = 0) -> list[dict]:
        return self.call(service, f"journal?since={since}")["entries"]

    def last_seq(self, service: str) -> int:
        entries = self.call(service, "journal?limit=1")["entries"]
        return entries[-1]["seq"] if entries else 0

    def marks(self, known: Mapping[str, int] | None = None) -> dict[str, int]:
        """Each service's last journal `seq`; `known`: those already read (by `tag`), not asked again."""
        known = known or {}
        return {service: known[service] if service in known else self.last_seq(service)
                for service in self.services()}

    def shared(self, service: str) -> bool:
        """A service serving no tenants, which a tenant's proof shares with the others (`tenant_endpoints`):
        its admin API is the instance's, and a tenant's proof never resets it."""
        return bool((self.endpoints.get(service) or {}).get(SHARED_BY_TENANTS))

    def services(self) -> list[str]:
        """The services of `SERVICES` the stack runs with an admin API."""
        return [service for service in SERVICES if "admin" in (self.endpoints.get(service) or {})]

    def add_fault(self, service: str, spec: dict) -> dict:
        return self.call(service, "faults", "POST", spec)

    def clear_faults(self, service: str) -> None:
        self.call(service, "faults", "DELETE")

    def reset(self) -> None:
        for service in self.services():
            if not (self.tenant and self.shared(service)):
                self.call(service, "reset", "POST", {})

    def dmp_documents(self, patient_id: str | None = None) -> dict:
        query = f"?patient={urllib.parse.quote(patient_id)}" if patient_id else ""
        return self.call("dmp", f"documents{query}")["patients"]

    def mss_message(self, message_id: str, raw: bool = False) -> list[dict]:
        """Every copy of a message; `raw` adds the stored message itself (the harness reads it too)."""
        query = "?raw=1" if raw else ""
        return self.call("mssante", f"messages/{urllib.parse.quote(message_id)}{query}")["copies"]

    def health(self, service: str) -> dict:
        return self.call(service, "health")

    def set_task(self, task_id: str | None) -> list[str]:
        """Tag what each mock journals from now on with the proof task (`PUT /_admin/task`; None clears
        it). Returns the services that took the tag: a task's exchanges are then selected by it."""
        return list(self.tag(task_id))

    def tag(self, task_id: str | None) -> dict[str, int | None]:
        """`set_task`, answering per service that took the tag its journal's last `seq` at that moment (None
        from a mock whose answer does not carry it): the proof's marks at the task's edges, in one call."""
        tagged = {}
        for service in TAGGED_SERVICES:
            if service not in self.services():
                continue
            try:
                answer = self.call(service, "task", "PUT", {"task": task_id})
            except urllib.error.HTTPError:  # a mock without the task API: its exchanges go by marks
                continue
            tagged[service] = (answer or {}).get("last_seq")
        return tagged

    def raw(self, service: str, path: str) -> bytes:
        """The bytes of one admin resource (a body, a document, a message), as the mock serves them."""
        return self._send("GET", self.base(service) + path.lstrip("/"), None, self.headers)

    def mss_raw(self, message_id: str) -> bytes:
        """The message as the MSSanté mock stored it, whole: `GET /_admin/messages/<id>/raw`, else (a mock
        without that route) the `raw` text of `GET /_admin/messages/<id>?raw=1`."""
        quoted = urllib.parse.quote(message_id)
        try:
            return self.raw("mssante", f"messages/{quoted}/raw")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        copies = self.mss_message(message_id, raw=True)
        if not copies or not copies[0].get("raw"):
            raise LookupError(f"the MSSanté mock holds no copy of message {message_id}")
        return copies[0]["raw"].encode("utf-8", "surrogateescape")

    def journal_body(self, service: str, seq: int, side: str = "request") -> bytes:
        """The whole body of one journalled exchange, as it was on the wire (the journal's entry keeps only
        its first 512 KiB): `GET /_admin/journal/<seq>/body`. Raises `urllib.error.HTTPError` (404 with the
        mock's reason) when the mock no longer has it."""
        return self.raw(service, f"journal/{int(seq)}/body?side={urllib.parse.quote(side)}")


# --- extraction helpers -----------------------------------------------------------------------------------
def _local(tree, name: str) -> str | None:
    found = tree.xpath(f"//*[local-name()='{name}']")
    return found[0].text if found and found[0].text is not None else None


def insi_traits(exchange: dict) -> dict:
    """The traits an INSi search carried, read from the journalled SOAP request."""
    body = (exchange.get("request") or {}).get("body") or {}
    text = body.get("text") or ""
    if body.get("encoding") != "text" or not text:
        return {}
    tree = _tree(text.encode("utf-8"))
    if tree is None:
        return {}
    firsts = [e.text for e in tree.xpath("//*[local-name()='Prenom']") if e.text]
    return {"birth_name": _local(tree, "NomNaissance"), "first_names": firsts, "sex": _local(tree, "Sexe"),
            "birth_date": _local(tree, "DateNaissance"), "birth_place": _local(tree, "LieuNaissance"),
            "vitale_nir": _local(tree, "NumIdentifiant")}


#: the identity traits of an INSi 00 answer (CNAM's TIQ element, INSi_RESULTAT.xsd; mocks/insi/soap.py)
_TIQ = {"birth_name": "NomNaissance", "first_name": "Prenom", "first_names": "ListePrenom", "sex": "Sexe",
        "birth_date": "DateNaissance", "birth_place": "LieuNaissance"}


def insi_returned(exchange: dict) -> dict:
    """The traits INSi returned (TIQ of the answer), read from the journalled SOAP response: the identity a
    document must then carry (empty when the answer has none or the journal kept no body)."""
    body = (exchange.get("response") or {}).get("body") or {}
    text = body.get("text") or ""
    if body.get("encoding") != "text" or body.get("truncated") or "TIQ" not in text:
        return {}
    tree = _tree(text.encode("utf-8"))
    tiq = tree.xpath("//*[local-name()='TIQ']") if tree is not None else []
    if not tiq:
        return {}
    found = {}
    for key, name in _TIQ.items():
        element = tiq[0].xpath(f"*[local-name()='{name}']")
        found[key] = element[0].text if element else None
    return found


def traits_match(sent: dict, patient: Mapping) -> bool:
    """An INSi search is for a task's patient when the birth name and birth date agree."""
    return (fold_name(sent.get("birth_name")) == fold_name(patient.get("birth_name"))
            and str(sent.get("birth_date") or "") == str(patient.get("birth_date") or ""))


def card_match(sent: dict, vitale: Mapping | None) -> bool:
    """A Vitale search is for a task's card when it carries the card's NIR and birth date."""
    if not vitale:
        return False
    return (str(sent.get("vitale_nir") or "").upper() == str(vitale.get("nir") or "").upper()
            and str(sent.get("birth_date") or "") == str(vitale.get("birth_date") or ""))


#: Why a document was not read when the harness itself could not get the request whole: its own limit, said
#: so.
HARNESS_LIMIT_NOTE = "a harness limit, not the product's fault"


def whole_request(exchange: dict, admin: Admin | None, service: str = "dmp") -> dict:
    """The exchange with its request body whole: when the journal's entry keeps only the first 512 KiB
    (`truncated`), the whole body is read back from the mock (`Admin.journal_body`). When the mock cannot
    give it (evicted from its bounded disk, mock gone), the body says why (`unavailable`)."""
    request = exchange.get("request") or {}
    body = request.get("body") or {}
    if not body.get("truncated"):  # whole already (or elided from memory: `truncated` too)
        return exchange
    if admin is None:
        why = "no admin API to read the whole body from"
        return _with_request_body(exchange, {**body, "unavailable": why})
    try:
        data = admin.journal_body(service, exchange["seq"], "request")
    except urllib.error.HTTPError as exc:
        return _with_request_body(exchange, {**body, "unavailable": _admin_error(exc)})
    except OSError as exc:
        return _with_request_body(exchange, {**body, "unavailable": f"the mock did not answer: {exc}"})
    return _with_request_body(exchange, _decoded_body(data))


def _admin_error(exc) -> str:
    try:
        return json.loads(exc.read())["error"]
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code} from the mock's admin API"


def _decoded_body(data: bytes) -> dict:
    """Bytes in the journal's body form (text when UTF-8, else base64), whole."""
    try:
        return {"encoding": "text", "text": data.decode("utf-8"), "size": len(data), "truncated": False,
                "read_whole": True}
    except UnicodeDecodeError:
        return {"encoding": "base64", "text": base64.b64encode(data).decode("ascii"), "size": len(data),
                "truncated": False, "read_whole": True}


def _with_request_body(exchange: dict, body: dict) -> dict:
    return {**exchange, "request": {**(exchange.get("request") or {}), "body": body}}


def _unread_note(body: dict) -> str:
    why = body.get("unavailable") or "the journal kept only part of it"
    return f"the harness could not read the request whole ({why}): {HARNESS_LIMIT_NOTE}; CDA not re-read"


def read_iti41_request(request: dict):
    """The journalled ITI-41 request (made whole first by `whole_request`) split into envelope and parts by
    the judge's own MIME reader (`mime.read_soap_request`); raises `UnreadableMime` when the wire body is
    not a readable SOAP/MTOM message."""
    body = request.get("body") or {}
    text = body.get("text") or ""
    raw = text.encode("utf-8") if body.get("encoding") == "text" else base64.b64decode(text)
    return read_soap_request((request.get("headers") or {}).get("Content-Type", ""), raw)


def iti41_document_parts(message) -> list[bytes]:
    """The documents an ITI-41 request carries: its MTOM parts, or its inline base64 `Document` elements."""
    if message.mtom:
        return list(message.attachments.values())
    tree = _tree(message.envelope)
    if tree is None:
        return []
    try:
        return [base64.b64decode(e.text or "") for e in tree.xpath("//*[local-name()='Document']")]
    except ValueError:
        return []


def cda_documents_of_iti41(exchange: dict) -> list[dict]:
    """The CDA headers of the documents an ITI-41 request carried (read from the journalled wire body, made
    whole first by `whole_request`)."""
    request = exchange.get("request") or {}
    body = request.get("body") or {}
    if body.get("truncated"):
        return [{"unreadable": _unread_note(body), "harness_limit": True}]
    if not body.get("text"):
        return []
    try:
        parts = iti41_document_parts(read_iti41_request(request))
    except UnreadableMime as exc:
        return [{"unreadable": str(exc)}]
    documents = []
    for content in parts:
        if b"ClinicalDocument" not in content[:4096]:
            continue
        info = cda_header(content)
        if "unreadable" in info:
            documents.append(info)
            continue
        info.update(_document_ids(content))
        info.update(document_facts(content))
        info["size"] = len(content)
        documents.append(info)
    return documents


def _ii(element) -> str | None:
    """An HL7 II as the XDS uniqueId writes it: root, or root^extension."""
    if element is None:
        return None
    root, ext = element.get("root"), element.get("extension")
    return f"{root}^{ext}" if ext else root


def _document_ids(content: bytes) -> dict:
    """What identifies one report across submissions: its setId and versionNumber (the id is in the header
    already), the document it replaces (relatedDocument RPLC), and the SHA-1 of its bytes (the same report
    kept and sent again has the same bytes; a report rebuilt has at least another id)."""
    ids = {"set_id": None, "version": None, "replaces": None, "sha1": hashlib.sha1(content).hexdigest()}
    tree = _tree(content)
    if tree is None:
        return ids
    ids["set_id"] = _ii(next(iter(tree.xpath("/*/*[local-name()='setId']")), None))
    version = tree.xpath("/*/*[local-name()='versionNumber']/@value")
    ids["version"] = str(version[0]) if version else None
    parent = tree.xpath("//*[local-name()='relatedDocument'][@typeCode='RPLC']"
                        "/*[local-name()='parentDocument']/*[local-name()='id']")
    ids["replaces"] = _ii(parent[0]) if parent else None
    return ids


#: XDSDocumentEntry.uniqueId's and .patientId's identificationSchemes (IHE ITI TF-3 Table 4.2.5.1-1)
_DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
_DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
_EXTERNAL_IDENTIFIER = re.compile(r"<(?:[\w.-]+:)?ExternalIdentifier\b[^>]*>")
_ATTRIBUTE = re.compile(r"""\b(identificationScheme|value)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def xds_unique_ids(exchange: dict) -> list[str]:
    """The XDSDocumentEntry.uniqueId values of an ITI-41 request, read from the SOAP envelope the journal
    kept. The envelope (the XDS metadata) comes before the documents on the wire, so this works even when
    the journal cut a large request before the CDA (`truncated`), where `cda_documents_of_iti41` cannot."""
    body = (exchange.get("request") or {}).get("body") or {}
    if body.get("encoding") != "text" or not body.get("text"):
        return []
    found = []
    for tag in _EXTERNAL_IDENTIFIER.findall(body["text"]):
        attributes = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
                      for m in _ATTRIBUTE.finditer(tag)}
        if attributes.get("identificationScheme") == _DE_UNIQUE_ID and attributes.get("value"):
            found.append(attributes["value"])
    return list(dict.fromkeys(found))


def strip_bodies(exchange: dict) -> dict:
    """An exchange as the evidence keeps it: bodies replaced by their size (the facts are extracted)."""
    kept = dict(exchange)
    for side in ("request", "response"):
        part = dict(kept.get(side) or {})
        for key in _BODY_KEYS:
            if isinstance(part.get(key), dict):
                part[key] = {"size": part[key].get("size"), "encoding": part[key].get("encoding"),
                             "truncated": part[key].get("truncated"),
                             **{k: part[key][k] for k in ("whole", "evicted") if k in part[key]}}
        kept[side] = part
    return kept


class TaskExchanges:
    """Which journalled exchanges are one task's doing: those the mock tagged with the task's id (the judge
    set it with `PUT /_admin/task` before handing the task over), or — a mock that took no tag — those
    journalled between the marks read just before and just after the task ran."""

    def __init__(self, task_id: str, before: Mapping, after: Mapping, tagged=()):
        self.task_id, self.before, self.after, self.tagged = task_id, before, after, set(tagged)

    def __call__(self, exchange: dict, service: str) -> bool:
        if service in self.tagged:
            return exchange.get("task") == self.task_id
        return self.before.get(service, 0) < exchange["seq"] <= self.after.get(service, 0)


# --- per task ---------------------------------------------------------------------------------------------
def observe_task(task: Mapping, before: Mapping, after: Mapping, journals: Mapping,
                 admin: Admin | None = None, dmp_store: Mapping | None = None, tagged=()) -> dict:
    """What the mocks saw while one task ran (see module doc). `task` is `Task.to_dict()`; `tagged` the
    services that tagged their exchanges with the task (`TaskExchanges`), the others go by the marks."""
    _in = TaskExchanges(task.get("id"), before, after, tagged)
    patient = task.get("patient") or {}
    insi = []
    for exchange in journals.get("insi", []):
        if not _in(exchange, "insi") or not exchange["operation"].startswith("rechercher"):
            continue
        sent = insi_traits(exchange)
        meta = exchange.get("meta") or {}
        insi.append({"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
                     "verdict": exchange["verdict"], "rules": exchange["rules"], "code": meta.get("code_cr"),
                     "ins": meta.get("ins"), "oid": meta.get("oid"), "traits": sent,
                     "returned": insi_returned(exchange),
                     "for_task_patient": traits_match(sent, patient) or card_match(sent, task.get("vitale"))})
    dmp = []
    for exchange in journals.get("dmp", []):
        if not _in(exchange, "dmp"):
            continue
        meta = exchange.get("meta") or {}
        item = {"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
                "verdict": exchange["verdict"], "rules": exchange["rules"],
                "findings": _findings(exchange), "patient_id": meta.get("patient_id"),
                "status": meta.get("status"),
                "http_status": (exchange.get("response") or {}).get("status")}
        if exchange["operation"] == "ITI-41":
            exchange = whole_request(exchange, admin)
            item["documents"] = cda_documents_of_iti41(exchange)
            item["xds_unique_ids"] = xds_unique_ids(exchange)
            item["unique_ids"] = meta.get("documents") or []
            item["entries"] = meta.get("entries") or []
            item.update(iti41_request_facts(exchange))
            stored = []
            for entry in (dmp_store or {}).get(meta.get("patient_id") or "", []):
                if entry.get("entry_uuid") in item["entries"]:
                    stored.append(_entry_summary(entry))
            item["stored"] = stored
        elif exchange["operation"] == "TD0.2":
            item["dmp_state"] = meta.get("dmp")
            item["autorisation"] = meta.get("autorisation")
        dmp.append(item)
    mss = [_mss_item(exchange, admin) for exchange in journals.get("mssante", [])
           if _in(exchange, "mssante") and exchange["operation"] == "smtp-message"]
    sessions = [{"seq": e["seq"], "time": e["time"], "verdict": e["verdict"], "rules": e["rules"],
                 "login": (e.get("client") or {}).get("login"),
                 "tls": (e.get("client") or {}).get("tls") or {}}
                for e in journals.get("mssante", [])
                if _in(e, "mssante") and e["operation"] == "smtp-session"]
    return {"insi": insi, "dmp": dmp, "mss": mss, "mss_sessions": sessions}


#: what a message's own reading says when the judge could not get the stored message
_MESSAGE_UNREAD = {"attached_pdfs": [], "xdm_documents": [], "header_to": None, "header_cc": None}


def _mss_item(exchange: dict, admin: Admin | None) -> dict:
    """One MSSanté message of a task: what the mock journalled (verdict, rules, envelope, TLS session), the
    validator's reports it stored, and what the judge reads in the stored message itself (`mss_message_facts`,
    from the whole raw copy: `Admin.mss_raw`)."""
    meta, request = exchange.get("meta") or {}, exchange.get("request") or {}
    response, client = exchange.get("response") or {}, exchange.get("client") or {}
    copies, read = [], dict(_MESSAGE_UNREAD)
    if admin is not None and meta.get("id"):
        try:
            copies = admin.mss_message(meta["id"])
            read = mss_message_facts(admin.mss_raw(meta["id"]))
        except (OSError, LookupError):
            pass
    # the mock files its validation reports by the document's place in the archive (`uri`)
    uri_to_uid = {d.get("uri"): (d.get("metadata") or {}).get("unique_id")
                  or (d.get("cda") or {}).get("unique_id") for d in meta.get("documents") or []}
    validation = {uri_to_uid.get(uri) or uri: _report_summary(report)
                  for copy in copies[:1] for uri, report in (copy.get("cda_reports") or {}).items()}
    return {"seq": exchange["seq"], "time": exchange["time"], "verdict": exchange["verdict"],
            "rules": exchange["rules"], "findings": _findings(exchange),
            "id": meta.get("id"), "from": request.get("from"), "to": request.get("to") or [],
            "subject": request.get("subject"), "attachments": request.get("attachments") or [],
            "delivered_to": response.get("delivered_to") or [], "bounced": response.get("bounced") or [],
            "reply": response.get("reply"), "tls": client.get("tls") or {}, "login": client.get("login"),
            "documents": meta.get("documents") or [], "validation": validation, **read}


def _findings(exchange: dict) -> list[dict]:
    return [{k: f.get(k) for k in ("rule", "severity", "message")} for f in exchange["findings"]]


def _entry_summary(entry: Mapping) -> dict:
    def code(value):
        if isinstance(value, Mapping):
            return {k: value.get(k) for k in ("code", "scheme", "display") if value.get(k) is not None}
        return value

    return {"entry_uuid": entry.get("entry_uuid"), "unique_id": entry.get("unique_id"),
            "patient_id": entry.get("patient_id"), "availability_status": entry.get("availability_status"),
            "logical_id": entry.get("logical_id"), "version": entry.get("version"),
            "class_code": code(entry.get("class_code")), "type_code": code(entry.get("type_code")),
            "format_code": code(entry.get("format_code")),
            "confidentiality_codes": [code(c) for c in entry.get("confidentiality_codes") or []],
            "healthcare_facility_type_code": code(entry.get("healthcare_facility_type_code")),
            "practice_setting_code": code(entry.get("practice_setting_code")),
            "creation_time": entry.get("creation_time"), "mime_type": entry.get("mime_type"),
            "source_patient_id": entry.get("source_patient_id"), "title": entry.get("title"),
            "authors": entry.get("authors"), "validation": _report_summary(entry.get("validation"))}


def _report_summary(report) -> dict | None:
    """The validator's report as the evidence keeps it: verdict, layers (ran/skipped and why), findings."""
    if not isinstance(report, Mapping):
        return None
    layers = []
    for layer in report.get("layers") or []:
        if isinstance(layer, Mapping):
            layers.append({k: layer.get(k) for k in ("name", "status", "reason") if k in layer})
    kept = ("rule", "severity", "message", "location", "line")
    findings = [{k: f.get(k) for k in kept if f.get(k) is not None}
                for f in report.get("findings") or [] if isinstance(f, Mapping)]
    return {"valid": report.get("valid"), "layers": layers, "findings": findings[:50],
            "findings_total": len(report.get("findings") or []), "profile": report.get("profile")}


# --- the whole run
def snapshot(admin: Admin, since: Mapping | None = None) -> dict:
    """Every journal entry since the marks, and the DMP's store, read once after the plan ran."""
    since = since or {}
    journals = {service: admin.journal(service, since.get(service, 0)) for service in admin.services()}
    return {"journals": journals, "dmp_store": admin.dmp_documents() if "dmp" in admin.endpoints else {}}


def wait_for_mss_sessions(admin: Admin, before: int, timeout: float = 3.0) -> None:
    """SMTP sessions are journalled when the connection closes: give the last one a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = admin.journal("mssante", before)
        messages = sum(1 for e in entries if e["operation"] == "smtp-message")
        sessions = sum(1 for e in entries if e["operation"] == "smtp-session")
        if sessions >= 1 or not messages:
            return
        time.sleep(0.05)


# --- the manual driver's question -------------------------------------------------------------------------
def expected_exchange(task, stack, since: Mapping | None = None, world=None) -> bool:
    """Has the exchange a task asks for reached the mocks? (the manual driver polls this)

    send-dmp / replace-dmp: an accepted ITI-41 for the patient's INS; send-mss: an accepted message to the
    recipient; send-citizen: an accepted message to `<INS>@patient.mssante.fr`. The patient's INS is the
    world's (the harness knows the world; the product had to ask INSi for it). `stack` is a `Stack` or
    its endpoints dict; `since` the journal marks before the task was announced."""
    endpoints = stack.endpoints() if hasattr(stack, "endpoints") else stack
    admin = Admin(endpoints)
    since = since or {}
    task = task.to_dict() if hasattr(task, "to_dict") else dict(task)
    world = world or load_world()
    traits = task["patient"]
    candidates = world.find_patients(birth_name=traits.get("birth_name"), sex=traits.get("sex"),
                                     birth_date=traits.get("birth_date"))
    insses = {p.ins for p in candidates}
    if task["action"] == "pam-send-dmp":  # no traits: the identity is the one the PAM feed gave
        return any(e["operation"] == "ITI-41" and e["verdict"].startswith("accepted")
                   for e in admin.journal("dmp", since.get("dmp", 0)))
    if task["action"] in ("send-dmp", "replace-dmp"):
        for exchange in admin.journal("dmp", since.get("dmp", 0)):
            patient = str((exchange.get("meta") or {}).get("patient_id") or "").split("^")[0]
            accepted = exchange["operation"] == "ITI-41" and exchange["verdict"].startswith("accepted")
            if accepted and patient in insses:
                return True
        return False
    wanted = {task["recipient"].lower()} if task["action"] == "send-mss" else {
        f"{ins}@patient.mssante.fr" for ins in insses}
    for exchange in admin.journal("mssante", since.get("mssante", 0)):
        if exchange["operation"] != "smtp-message":
            continue
        delivered = {a.lower() for a in (exchange.get("response") or {}).get("delivered_to") or []}
        if delivered & wanted:
            return True
    return False


# --- what the documents say (read by the harness itself from the bytes that reached the mocks) ------------
HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}


def _tree(data: bytes):
    """The XML root of bytes a product sent, or None when it is not XML."""
    try:
        return parse_xml(data)
    except safe_xml.UnreadableDocument:
        return None


#: the largest document the judge parses (the DMP and MSSanté mocks refuse larger ones first)
MAX_XML_BYTES = 50 * 1024 * 1024


def parse_xml(data: bytes):
    """Untrusted XML parsed with the validator's safe parser (`segur.validators.safe_xml`: no DTD, no
    entity, no network, large text nodes allowed: an N1 carries its PDF as one base64 text node), comments
    dropped so that no text is split by one. Raises `safe_xml.UnreadableDocument`."""
    root = safe_xml.parse(data, max_size=MAX_XML_BYTES).tree.getroot()
    etree.strip_tags(root, etree.Comment)
    return root


def _refusal(exc: safe_xml.UnreadableDocument) -> str:
    finding = exc.findings[0] if exc.findings else None
    return f"{finding.rule}: {finding.message}" if finding else "unreadable XML"


def _words(element) -> str | None:
    """An element's text with its blanks collapsed (None when it has none)."""
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def cda_header(content: bytes) -> dict:
    """The header facts of a CDA the checks compare (CI-SIS Structuration minimale): the document id as XDS
    writes it (root^extension), its code and title, effectiveTime, the INS (the recordTarget id under an
    INS OID) and the four reference traits (birth name: family BR; first given name: given BR, else the
    first word of the first given; birthTime; sex), whether those make a qualified INS (REM SC.MSS/CONF.14),
    and the level (1: a nonXMLBody, with its media type). `{"unreadable": why}` when it is not a CDA."""
    try:
        root = parse_xml(content)
    except safe_xml.UnreadableDocument as exc:
        return {"unreadable": f"NotXml: {_refusal(exc)}"}
    if root.tag != f"{{{HL7}}}ClinicalDocument":
        return {"unreadable": f"NotXml: the root element is {root.tag!r}, not a CDA ClinicalDocument"}
    code = root.find("h:code", NS)
    ins, ins_oid = next(((i.get("extension").strip(), i.get("root"))
                         for i in root.iterfind("h:recordTarget/h:patientRole/h:id", NS)
                         if i.get("root") in INS_OIDS and i.get("extension")), (None, None))
    patient = root.find("h:recordTarget/h:patientRole/h:patient", NS)
    names = patient.find("h:name", NS) if patient is not None else None
    families = names.findall("h:family", NS) if names is not None else []
    givens = names.findall("h:given", NS) if names is not None else []
    first_family = families[0] if families else None
    birth_family = next((f for f in families if f.get("qualifier") == "BR"), first_family)
    first_birth = next((g for g in givens if g.get("qualifier") == "BR"), None)
    if first_birth is not None:
        first_given = _words(first_birth)
    else:  # the first word of the first given name
        first_given = ((_words(givens[0]) if givens else None) or "").split(" ")[0] or None
    body = root.find("h:component/h:nonXMLBody", NS)
    header = {
        "unique_id": _ii(root.find("h:id", NS)),
        "code": code.get("code") if code is not None else None,
        "code_system": code.get("codeSystem") if code is not None else None,
        "code_display": code.get("displayName") if code is not None else None,
        "title": _words(root.find("h:title", NS)),
        "effective_time": _attribute(root, "h:effectiveTime", "value"),
        "ins": ins, "ins_oid": ins_oid,
        "birth_name": _words(birth_family), "first_given": first_given,
        "birth_time": _attribute(patient, "h:birthTime", "value"),
        "sex": _attribute(patient, "h:administrativeGenderCode", "code"),
        "level": 1 if body is not None else 3,
        "n1_media_type": _attribute(body, "h:text", "mediaType"),
    }
    traits = ("ins", "ins_oid", "birth_name", "first_given", "birth_time", "sex")
    header["qualified_ins"] = all(header[key] for key in traits)
    return header


def _attribute(element, path: str, name: str) -> str | None:
    found = element.find(path, NS) if element is not None else None
    return found.get(name) if found is not None else None


_PDF_TEXT_KEPT = 4000  # characters of a PDF's text the evidence keeps (the patient lines come first)


def pdf_facts(pdf: bytes) -> dict:
    """A PDF as the evidence keeps it: its SHA-1, size and extracted text (pypdf), so a check can ask whom it
    names and whether two copies are the same bytes. Read once per PDF: a report's PDF is seen in the DMP's
    copy, the XDM's and the attachment, and extracting its text is the slowest part of observing a task."""
    digest = hashlib.sha1(pdf).hexdigest()
    facts = _PDF_FACTS.get(digest)
    if facts is None:
        facts = _read_pdf(digest, pdf)
        if len(_PDF_FACTS) >= _PDF_FACTS_KEPT:
            _PDF_FACTS.clear()
        _PDF_FACTS[digest] = facts
    return dict(facts)


#: the facts of the PDFs read lately, by SHA-1
_PDF_FACTS: dict[str, dict] = {}
_PDF_FACTS_KEPT = 256


def _read_pdf(digest: str, pdf: bytes) -> dict:
    facts = {"sha1": digest, "size": len(pdf), "text": None}
    try:
        reader = PdfReader(io.BytesIO(pdf))
        facts["text"] = " ".join((page.extract_text() or "") for page in reader.pages)[:_PDF_TEXT_KEPT]
    except Exception as exc:  # noqa: BLE001 - a PDF the harness cannot read is itself evidence
        facts["error"] = f"{type(exc).__name__}: {exc}"
    return facts


def _embedded_pdfs(tree) -> list[bytes]:
    """The PDFs a CDA carries: the N1 nonXMLBody, or an N3 PDF copy (observationMedia value)."""
    found = []
    for element in tree.iter(f"{{{HL7}}}text", f"{{{HL7}}}value"):
        if element.get("mediaType") == "application/pdf" and element.get("representation") == "B64":
            try:
                found.append(base64.b64decode("".join((element.text or "").split()), validate=True))
            except (binascii.Error, ValueError):
                continue  # not base64: documents-valid says so (the validator's SEGUR-BODY rules)
    return found


def _first(tree, path: str) -> str | None:
    found = tree.xpath(path, namespaces={"h": HL7})
    return str(found[0]) if found else None


_SERVICE_EVENT = "/h:ClinicalDocument/h:documentationOf/h:serviceEvent"
_SERVICE_TIME = f"{_SERVICE_EVENT}/h:effectiveTime"


def document_facts(content: bytes) -> dict:
    """What the proof compares in a CDA beyond its header (read here, not by the mocks): its templateIds and
    N1 body media type (the formatCode it calls for), the author (id, time), the exam's date (serviceEvent),
    the confidentiality code and the embedded PDF(s) with their text."""
    tree = _tree(content)
    if tree is None:
        return {}
    authors = tree.xpath("/h:ClinicalDocument/h:author/h:assignedAuthor/h:id", namespaces={"h": HL7})
    return {
        "unique_id": _ii(next(iter(tree.xpath("/h:ClinicalDocument/h:id", namespaces={"h": HL7})), None)),
        "template_ids": tree.xpath("/h:ClinicalDocument/h:templateId/@root", namespaces={"h": HL7}),
        "body_media_type": _first(tree, "/h:ClinicalDocument/h:component/h:nonXMLBody/h:text/@mediaType"),
        "author_ids": [_ii(a) for a in authors],
        "author_time": _first(tree, "/h:ClinicalDocument/h:author/h:time/@value"),
        "service_start": _first(tree, f"{_SERVICE_TIME}/h:low/@value")
        or _first(tree, f"{_SERVICE_TIME}/@value"),
        "effective_time": _first(tree, "/h:ClinicalDocument/h:effectiveTime/@value"),
        "confidentiality": _first(tree, "/h:ClinicalDocument/h:confidentialityCode/@code"),
        "pdfs": [pdf_facts(pdf) for pdf in _embedded_pdfs(tree)],
        "patient_traits": patient_traits(tree),
        "title": _first(tree, "/h:ClinicalDocument/h:title/text()"),
        "language": _first(tree, "/h:ClinicalDocument/h:languageCode/@code"),
        "set_id_root": _first(tree, "/h:ClinicalDocument/h:setId/@root"),
        "service_stop": _first(tree, f"{_SERVICE_TIME}/h:high/@value"),
        "realm": _first(tree, "/h:ClinicalDocument/h:realmCode/@code"),
        "code": _first(tree, "/h:ClinicalDocument/h:code/@code"),
        "service_events": len(tree.xpath("/h:ClinicalDocument/h:documentationOf/h:serviceEvent",
                                         namespaces={"h": HL7})),
        "service_event_code": _first(tree, f"{_SERVICE_EVENT}/h:code/@code"),
        "author_family": _first(tree, f"{_AUTHOR}/h:assignedPerson/h:name/h:family/text()"),
        "author_organisation_id": _first(tree, f"{_AUTHOR}/h:representedOrganization/h:id/@extension"),
        "author_specialty": _first(tree, f"{_AUTHOR}/h:code/@code"),
        "custodian_id": _first(tree, f"{_CUSTODIAN}/h:id/@extension"),
        "custodian_root": _first(tree, f"{_CUSTODIAN}/h:id/@root"),
        "custodian_name": _first(tree, f"{_CUSTODIAN}/h:name/text()"),
    }


_AUTHOR = "/h:ClinicalDocument/h:author/h:assignedAuthor"
_CUSTODIAN = "/h:ClinicalDocument/h:custodian/h:assignedCustodian/h:representedCustodianOrganization"


_PATIENT = "/h:ClinicalDocument/h:recordTarget/h:patientRole/h:patient"


def patient_traits(tree) -> dict:
    """The patient's identity traits as the CDA writes them (CI-SIS: family BR, given without qualifier = the
    birth first names, given BR = the first of them, sex, birthTime, birthplace county = INSEE code)."""
    return {"birth_name": _first(tree, f"{_PATIENT}/h:name/h:family[@qualifier='BR']/text()"),
            "first_names": _first(tree, f"{_PATIENT}/h:name/h:given[not(@qualifier)]/text()"),
            "first_name": _first(tree, f"{_PATIENT}/h:name/h:given[@qualifier='BR']/text()"),
            "sex": _first(tree, f"{_PATIENT}/h:administrativeGenderCode/@code"),
            "birth_time": _first(tree, f"{_PATIENT}/h:birthTime/@value"),
            "birth_place": _first(tree, f"{_PATIENT}/h:birthplace/h:place/h:addr/h:county/text()")}


_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
_PATIENT_ID_VALUE = f"rim:ExternalIdentifier[@identificationScheme='{_DE_PATIENT_ID}']/@value"
_UNIQUE_ID_VALUE = f"rim:ExternalIdentifier[@identificationScheme='{_DE_UNIQUE_ID}']/@value"
#: XDSDocumentEntry classifications (IHE ITI TF-3 Table 4.2.5.1-1)
_DE_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
_DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
_DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"


#: single-valued XDSDocumentEntry slots the proof compares with the CDA (IHE ITI TF-3 Table 4.2.5.1-1)
_XDS_SLOTS = {"source_patient_id": "sourcePatientId", "language": "languageCode",
              "service_start": "serviceStartTime", "service_stop": "serviceStopTime",
              "creation_time": "creationTime"}


def _slot(obj, name: str) -> str | None:
    values = obj.xpath(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value/text()", namespaces={"rim": _RIM})
    return str(values[0]) if values else None


def _first_text(obj, path: str) -> str | None:
    values = obj.xpath(path, namespaces={"rim": _RIM})
    return str(values[0]) if values else None


_AUTHOR_SPECIALTIES = (f"rim:Classification[@classificationScheme='{_DE_AUTHOR}']"
                       "/rim:Slot[@name='authorSpecialty']/rim:ValueList/rim:Value/text()")


def xds_entries(envelope: bytes) -> list[dict]:
    """The document entries of an ITI-41 envelope as the harness reads them: uniqueId, sourcePatientInfo
    (PID-5 name, PID-7 birth date, PID-8 sex), formatCode and confidentialityCodes."""
    tree = _tree(envelope)
    if tree is None:
        return []
    ns = {"rim": _RIM}
    entries = []
    for obj in tree.xpath("//rim:ExtrinsicObject", namespaces=ns):
        info = obj.xpath("rim:Slot[@name='sourcePatientInfo']/rim:ValueList/rim:Value/text()", namespaces=ns)
        unique = obj.xpath(_UNIQUE_ID_VALUE, namespaces=ns)
        format_code = obj.xpath(f"rim:Classification[@classificationScheme='{_DE_FORMAT_CODE}']"
                                "/@nodeRepresentation", namespaces=ns)
        confidentiality = obj.xpath(f"rim:Classification[@classificationScheme='{_DE_CONFIDENTIALITY}']"
                                    "/@nodeRepresentation", namespaces=ns)
        entries.append({"unique_id": unique[0] if unique else None,
                        "source_patient_info": [str(v) for v in info],
                        **{key: _slot(obj, name) for key, name in _XDS_SLOTS.items()},
                        "title": _first_text(obj, "rim:Name/rim:LocalizedString/@value"),
                        "author_specialties": [str(v) for v in obj.xpath(_AUTHOR_SPECIALTIES, namespaces=ns)],
                        "format_code": format_code[0] if format_code else None,
                        "confidentiality_codes": [str(c) for c in confidentiality]})
    return entries


_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def vihf_subject(envelope: bytes) -> str | None:
    """The VIHF assertion's Subject NameID: the national id of the professional the DMP call acts for."""
    tree = _tree(envelope)
    if tree is None:
        return None
    found = tree.xpath("//saml:Assertion/saml:Subject/saml:NameID/text()", namespaces={"saml": _SAML})
    return str(found[0]).strip() if found else None


def _iti41_message(exchange: dict):
    """The journalled ITI-41 request split into envelope and parts; None: no body, cut by the journal, or
    not readable."""
    request = exchange.get("request") or {}
    body = request.get("body") or {}
    if not body.get("text") or body.get("truncated"):
        return None
    try:
        return read_iti41_request(request)
    except UnreadableMime:
        return None


def iti41_request_facts(exchange: dict) -> dict:
    """The XDS entries and the VIHF subject of a journalled ITI-41 (empty when the journal kept no body)."""
    message = _iti41_message(exchange)
    if message is None:
        return {"xds_entries": [], "vihf_subject": None}
    return {"xds_entries": xds_entries(message.envelope), "vihf_subject": vihf_subject(message.envelope)}


# --- an MSSanté message, read from the stored raw copy ----------------------------------------------------
_XDM_METADATA = re.compile(r"IHE_XDM/[^/]+/METADATA\.XML", re.IGNORECASE)


def _xdm_metadata_entries(raw: bytes) -> list[dict]:
    """uniqueId, patientId, formatCode, sourcePatientInfo, confidentialityCodes and creationTime of each
    document entry of an XDM METADATA.XML (ITI-32)."""
    tree = _tree(raw)
    if tree is None:
        return []
    ns = {"rim": _RIM}
    found = []
    for obj in tree.xpath("//rim:ExtrinsicObject", namespaces=ns):
        unique = obj.xpath(_UNIQUE_ID_VALUE, namespaces=ns)
        patient = obj.xpath(_PATIENT_ID_VALUE, namespaces=ns)
        fmt = obj.xpath(f"rim:Classification[@classificationScheme='{_DE_FORMAT_CODE}']/@nodeRepresentation",
                        namespaces=ns)
        info = obj.xpath("rim:Slot[@name='sourcePatientInfo']/rim:ValueList/rim:Value/text()", namespaces=ns)
        confidentiality = obj.xpath(f"rim:Classification[@classificationScheme='{_DE_CONFIDENTIALITY}']"
                                    "/@nodeRepresentation", namespaces=ns)
        found.append({"unique_id": unique[0] if unique else None,
                      "patient_id": patient[0] if patient else None, "format_code": fmt[0] if fmt else None,
                      "source_patient_info": [str(v) for v in info],
                      "confidentiality_codes": [str(c) for c in confidentiality],
                      "creation_time": _slot(obj, "creationTime")})
    return found


def mss_message_facts(raw: bytes) -> dict:
    """What the harness reads in a stored MSSanté message itself: the PDFs attached beside the XDM (SHA-1,
    text), and for each CDA of the IHE_XDM.ZIP its METADATA.XML entry (formatCode) and document facts."""
    message = read_message(raw)
    attached_pdfs, documents = [], []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True) or b""
        name = (part.get_filename() or "").lower()
        if content[:5] == b"%PDF-" or name.endswith(".pdf"):
            attached_pdfs.append({"filename": part.get_filename(), **pdf_facts(content)})
        elif content[:4] == b"PK\x03\x04":
            try:
                archive = zipfile.ZipFile(io.BytesIO(content))
                files = {n: archive.read(n) for n in archive.namelist()
                         if archive.getinfo(n).file_size < 30_000_000}
            except (zipfile.BadZipFile, OSError, ValueError):
                continue
            metadata = [e for n, data in files.items() if _XDM_METADATA.fullmatch(n)
                        for e in _xdm_metadata_entries(data)]
            by_uid = {e["unique_id"]: e for e in metadata}
            for name_, data in sorted(files.items()):
                if _XDM_METADATA.fullmatch(name_) or b"ClinicalDocument" not in data[:4096]:
                    continue
                facts = {**cda_header(data), **_document_ids(data), **document_facts(data)}
                entry = by_uid.get(facts.get("unique_id")) or {}
                documents.append({"path": name_, **facts, "xdm_patient_id": entry.get("patient_id"),
                                  "xdm_format_code": entry.get("format_code"),
                                  "xdm_source_patient_info": entry.get("source_patient_info") or [],
                                  "xdm_confidentiality_codes": entry.get("confidentiality_codes") or [],
                                  "xdm_creation_time": entry.get("creation_time")})
    return {"attached_pdfs": attached_pdfs, "xdm_documents": documents,
            "header_to": header_addresses(message, "To"), "header_cc": header_addresses(message, "Cc")}


def header_addresses(message, name: str) -> list[str]:
    """The addresses of a message header (To, Cc), as the reader's mail client shows them."""
    return [address for _, address in getaddresses([str(v) for v in message.get_all(name) or []]) if address]
