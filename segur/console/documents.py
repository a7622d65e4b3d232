"""Documents as the console shows them: a DMP document's bytes and replacement chain, read back from the DMP
mock's journalled ITI-41 requests (its admin API serves metadata, not content), a message's IHE_XDM.ZIP,
and the CDA documents an uploaded XDM zip holds.

The journalled request is read with the proof's own reader (`segur.scenarios.observe`): one way to read
an ITI-41 from the wire in the project.
"""

from __future__ import annotations

import base64
import email
import email.policy
import zipfile
from dataclasses import dataclass
from io import BytesIO

from lxml import etree

from segur.console.peers import AdminApi, AdminError, ServiceDown
from segur.scenarios.observe import iti41_document_parts, read_iti41_request

#: ebRIM association type of a replacement (IHE ITI TF-3 §4.2.2: RPLC, the new entry replaces the target)
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
XDM_NAME = "IHE_XDM.ZIP"
#: an uploaded zip is hostile input: bounds on its members, read before inflating anything
MAX_XDM_MEMBERS = 200
MAX_XDM_MEMBER_BYTES = 20 * 1024 * 1024
MAX_XDM_TOTAL_BYTES = 60 * 1024 * 1024


class Unavailable(Exception):
    """What the console cannot show, and why (a plain sentence for the page)."""


@dataclass
class Submission:
    """One journalled ITI-41 request, read back: its documents, and the entries its RPLC associations
    replace."""

    seq: int
    content_type: str
    documents: list[bytes]
    replaces: list[str]
    envelope: bytes


def read_submission(admin: AdminApi, seq: int) -> Submission:
    try:
        data, content_type = admin.body("dmp", seq, "request")
    except (ServiceDown, AdminError) as exc:
        raise Unavailable(f"the DMP's journal did not give exchange {seq}: {exc}") from exc
    request = {"headers": {"Content-Type": content_type},
               "body": {"encoding": "base64", "text": base64.b64encode(data).decode("ascii")}}
    try:
        message = read_iti41_request(request)
    except Exception as exc:  # noqa: BLE001 — a product's broken request is data to show, whatever breaks
        raise Unavailable(f"the journalled ITI-41 request {seq} is not readable: {exc}") from exc
    return Submission(seq, content_type, iti41_document_parts(message), _replaced(message.envelope),
                      message.envelope)


def _replaced(envelope: bytes) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(envelope, parser)
    except (etree.XMLSyntaxError, ValueError):
        return []
    return [a.get("targetObject") for a in root.iter("{*}Association")
            if a.get("associationType") == RPLC and a.get("targetObject")]


def document_in(submission: Submission, unique_id: str) -> bytes:
    """The document `unique_id` among a submission's documents (its uniqueId is in the CDA's first bytes)."""
    wanted = unique_id.encode()
    for part in submission.documents:
        if wanted in part[:16384]:
            return part
    if len(submission.documents) == 1:
        return submission.documents[0]
    raise Unavailable(f"document {unique_id} is not among the documents of ITI-41 request {submission.seq}")


def replacement_chain(entries: list[dict], replaces: dict[str, list[str]]) -> dict[str, dict]:
    """Per entryUUID of one patient: the entry it replaces and the one replacing it, from the RPLC
    associations of the journalled submissions (`replaces`: new entryUUID → replaced entryUUIDs)."""
    chain = {entry["entry_uuid"]: {"replaces": None, "replaced_by": None} for entry in entries}
    for new, olds in replaces.items():
        for old in olds:
            if new in chain:
                chain[new]["replaces"] = old
            if old in chain:
                chain[old]["replaced_by"] = new
    return chain


def version_chain(entries: list[dict], links: dict[str, dict], entry_uuid: str) -> list[dict]:
    """The versions `entry_uuid` belongs to, first to last (a loop in the links stops the walk)."""
    by_uuid = {item["entry_uuid"]: item for item in entries}
    seen: set[str] = set()
    while links.get(entry_uuid, {}).get("replaces") in by_uuid and entry_uuid not in seen:
        seen.add(entry_uuid)
        entry_uuid = links[entry_uuid]["replaces"]
    chain, seen = [], set()
    while entry_uuid in by_uuid and entry_uuid not in seen:
        seen.add(entry_uuid)
        chain.append({**by_uuid[entry_uuid], **links.get(entry_uuid, {})})
        entry_uuid = links.get(entry_uuid, {}).get("replaced_by")
    return chain


def xdm_of_message(raw: str) -> bytes:
    """The IHE_XDM.ZIP attachment of a stored message (raw RFC 5322 text)."""
    if not raw:
        raise Unavailable("the stored message has no raw text")
    message = email.message_from_string(raw, policy=email.policy.default)
    for part in message.walk():
        if (part.get_filename() or "").upper() == XDM_NAME:
            return part.get_payload(decode=True) or b""
    raise Unavailable("the message has no IHE_XDM.ZIP attachment")


def headers_of_message(raw: str) -> list[tuple[str, str]]:
    """Every header of the message, in order (X-MSS-* included), as text."""
    message = email.message_from_string(raw or "", policy=email.policy.default)
    return [(name, str(value)) for name, value in message.items()]


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def xdm_documents(data: bytes) -> list[tuple[str, bytes]]:
    """The XML documents of an IHE_XDM.ZIP (IHE ITI TF-2 §3.32, ITI-32: IHE_XDM/<subset>/<doc>.XML beside
    METADATA.XML), bounded in count and size; raises `Unavailable` with the reason when it cannot."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unavailable(f"not a readable zip file ({exc})") from exc
    if len(members) > MAX_XDM_MEMBERS:
        raise Unavailable(f"the zip holds {len(members)} files (at most {MAX_XDM_MEMBERS} read)")
    if sum(m.file_size for m in members) > MAX_XDM_TOTAL_BYTES:
        raise Unavailable(f"the zip inflates to more than {MAX_XDM_TOTAL_BYTES} bytes")
    found = []
    for member in members:
        name = member.filename
        if member.is_dir() or not name.upper().endswith(".XML") or name.upper().endswith("METADATA.XML"):
            continue
        if member.file_size > MAX_XDM_MEMBER_BYTES:
            raise Unavailable(f"{name} inflates to {member.file_size} bytes (at most {MAX_XDM_MEMBER_BYTES})")
        try:
            found.append((name, archive.read(member)))
        except (zipfile.BadZipFile, RuntimeError, ValueError, OSError) as exc:
            raise Unavailable(f"{name} cannot be read from the zip ({exc})") from exc
    if not found:
        raise Unavailable("the zip holds no XML document besides METADATA.XML")
    return found


@dataclass(frozen=True)
class SourceLine:
    number: int
    text: str
    hit: bool


MAX_SOURCE_LINES = 20_000


def source_lines(content: bytes, findings: list[dict]) -> list[SourceLine]:
    """The document's lines, numbered, those a finding points at marked (`hit`)."""
    hits = {f.get("line") for f in findings if isinstance(f.get("line"), int)}
    text = content.decode("utf-8", "replace")
    return [SourceLine(n, line, n in hits) for n, line in enumerate(text.splitlines()[:MAX_SOURCE_LINES], 1)]
