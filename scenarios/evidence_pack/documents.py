"""The documents of a proof run, whole, as files of the evidence pack (`documents/`).

Collected from the mocks while they still run, never from the run record (its bodies are dropped):
- each CDA the DMP stored, as the product sent it (ITI-41), from the DMP mock's admin API
  (`GET /_admin/documents/<uniqueId>/content`) or, a DMP mock without that route, its store in this process;
- a document the DMP refused (so never stored) from the mock's journal of that ITI-41 request (read whole,
  also beyond the 512 KiB a journal entry keeps: `observe.whole_request`), else listed as not collected;
- each MSSanté message's `IHE_XDM.ZIP` and the CDA documents inside it, read by the harness (`mime`,
  `zipfile`) from the message the MSSanté mock stored (`observe.Admin.mss_raw`).
An N1 document's embedded file (the PDF) is saved beside it.
Whatever could not be collected is listed with the reason: the pack never drops a document silently.
"""

from __future__ import annotations

import shutil
import urllib.parse
import zipfile
from io import BytesIO
from pathlib import Path

from segur.scenarios.checks import NO_REPORT_ACTIONS
from segur.scenarios.evidence_pack.cda_view import embedded_file, parse
from segur.scenarios.mime import UnreadableMime, read_message
from segur.scenarios.observe import (
    Admin,
    cda_header,
    iti41_document_parts,
    read_iti41_request,
    whole_request,
)

FOLDER = "documents"
EXTENSIONS = {"application/pdf": "pdf", "text/plain": "txt", "image/jpeg": "jpg", "image/png": "png",
              "text/rtf": "rtf"}


def safe_name(text: str) -> str:
    """A file name from an id: letters, digits, dot, dash only."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in str(text))[:80] or "document"


def collect_documents(stack, run: dict, out: str | Path) -> list[dict]:
    """Writes the run's documents under `out/documents/` (emptied first) and returns their manifest: one
    entry per document (or per message whose documents could not be read), with the pack-relative file
    paths, the validation report the mock made, and `missing` saying what could not be collected."""
    folder = Path(out) / FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    manifest: list[dict] = []
    reports = _dmp_reports(run)
    for task in run["tasks"]:
        task_id = task["task"]["id"]
        if task["task"].get("action") in NO_REPORT_ACTIONS:
            continue  # a task that sends no report (reading the mailbox…): its capability's evidence says
        for item in task["observed"].get("dmp") or []:
            for doc in item.get("documents") or []:
                manifest.append(_dmp_document(stack, folder, task_id, item, doc, reports))
        for item in task["observed"].get("mss") or []:
            manifest += _mss_documents(stack, folder, task_id, item)
    return manifest


def _dmp_reports(run: dict) -> dict:
    return {entry.get("unique_id"): entry.get("validation")
            for entries in (run.get("dmp_store") or {}).values() for entry in entries}


def _dmp_document(stack, folder: Path, task_id: str, item: dict, doc: dict, reports: dict) -> dict:
    uid = doc.get("unique_id")
    entry = {"service": "dmp", "task": task_id, "seq": item.get("seq"), "operation": item.get("operation"),
             "unique_id": uid, "source": "DMP mock document store (as received by ITI-41)",
             "validation": reports.get(uid) or _answer_report(item), "files": {}, "missing": []}
    content = _dmp_stored(stack, uid)
    if isinstance(content, str):
        journalled = _journalled_document(stack, item.get("seq"), uid)
        if isinstance(journalled, str):
            entry["missing"] += [content, journalled]
            return entry
        content = journalled
        entry["source"] = "DMP mock journal (the whole ITI-41 request; the DMP did not store the document)"
    _save_cda(folder, f"{task_id}-dmp-{item.get('seq')}-{uid}", content, entry)
    return entry


def _answer_report(item: dict) -> dict:
    """A document the DMP did not store has no stored report: its findings are those of the DMP's answer."""
    return {"valid": item.get("verdict") == "accepted", "layers": [], "findings": item.get("findings") or [],
            "source": "the DMP's answer to the ITI-41 request (the document was not stored)"}


def _dmp_stored(stack, uid: str | None) -> bytes | str:
    """The bytes the DMP stored, from its admin API (`GET /_admin/documents/<uniqueId>/content`), else from
    its store in this process (a DMP mock without that route), or why they cannot be had."""
    if uid:
        try:
            return _admin(stack).raw("dmp", f"documents/{urllib.parse.quote(uid, safe='')}/content")
        except (OSError, LookupError):
            pass  # no such route (an older DMP mock), or the document was not stored: as below
    return _dmp_content(stack, uid)


def _admin(stack) -> Admin:
    return Admin(stack.endpoints() if hasattr(stack, "endpoints") else stack)


def _dmp_content(stack, uid: str | None) -> bytes | str:
    """The stored bytes, from the DMP mock's store in this process, or why they cannot be had."""
    if not uid:
        return "the ITI-41 request named no document uniqueId"
    service = (getattr(stack, "services", None) or {}).get("dmp")
    store = getattr(getattr(getattr(service, "mock", None), "backend", None), "store", None)
    if store is None:
        return "the DMP mock does not run in this process: its admin API does not serve document content"
    found = store.document(uid)
    if found is None:
        return f"the DMP did not store document {uid} (the submission was refused)"
    return found[0]


def _journalled_document(stack, seq, uid: str | None) -> bytes | str:
    """The document `uid` from the journalled ITI-41 request `seq`, if the journal kept the body whole."""
    try:
        admin = _admin(stack)
        entries = admin.journal("dmp", since=int(seq) - 1)
    except Exception as exc:  # the pack says what it could not collect, whatever the reason
        return f"the DMP journal could not be read: {exc}"
    exchange = next((x for x in entries if x.get("seq") == int(seq)), None)
    # beyond 512 KiB, the body is read whole from the mock
    exchange = whole_request(exchange, admin) if exchange else None
    request = (exchange or {}).get("request") or {}
    body = request.get("body") or {}
    if not body.get("text") or body.get("truncated"):
        return f"the DMP journal does not hold that request whole ({body.get('unavailable') or 'no body'})"
    try:
        message = read_iti41_request(request)
    except UnreadableMime as exc:
        return f"the journalled ITI-41 request is not readable: {exc}"
    for part in iti41_document_parts(message):
        if uid and uid.encode() in part[:8192]:
            return part
    return f"document {uid} not found in the journalled ITI-41 request"


def _mss_documents(stack, folder: Path, task_id: str, item: dict) -> list[dict]:
    base = {"service": "mssante", "task": task_id, "seq": item.get("seq"), "message_id": item.get("id"),
            "source": "MSSanté mock admin API (stored message)", "files": {}, "missing": []}
    validations = item.get("validation") or {}
    raw = _mss_raw(stack, item.get("id"))
    if isinstance(raw, str):
        return [base | {"missing": [raw], "unique_id": None}]
    stem = f"{task_id}-mss-{item.get('seq')}"
    xdm = _xdm_zip(raw)
    files, missing = {}, []
    if isinstance(xdm, bytes):
        files["xdm"] = _write(folder, f"{stem}-IHE_XDM.ZIP", xdm)
    else:
        missing.append(xdm)
    entries = []
    for path, content in _xdm_cdas(xdm) if isinstance(xdm, bytes) else []:
        uid = cda_header(content).get("unique_id")
        entry = base | {"unique_id": uid, "files": dict(files), "missing": list(missing),
                        "validation": validations.get(uid), "xdm_path": path}
        _save_cda(folder, f"{stem}-{uid}", content, entry)
        entries.append(entry)
    return entries or [base | {"unique_id": None, "files": files,
                               "missing": missing + ["no CDA document found in the message's IHE_XDM.ZIP"]}]


def _mss_raw(stack, message_id: str | None) -> bytes | str:
    if not message_id:
        return "the message has no id: the MSSanté mock did not store it"
    try:
        return _admin(stack).mss_raw(message_id)
    except Exception as exc:  # the pack says what it could not collect, whatever the reason
        return f"the MSSanté mock's admin API did not give message {message_id}: {exc}"


def _xdm_zip(raw: bytes) -> bytes | str:
    """The message's IHE_XDM.ZIP attachment, or why it is not there."""
    if not raw:
        return "the stored message has no raw text"
    for part in read_message(raw).walk():
        if (part.get_filename() or "").upper() == "IHE_XDM.ZIP":
            data = part.get_payload(decode=True) or b""
            if zipfile.is_zipfile(BytesIO(data)):
                return data
            return "the IHE_XDM.ZIP attachment is not a zip file"
    return "the message has no IHE_XDM.ZIP attachment"


#: a file of the archive larger than this is not read (the MSSanté mock refuses such archives first)
MAX_FILE_BYTES = 30_000_000


def _xdm_cdas(xdm: bytes) -> list[tuple[str, bytes]]:
    """The CDA documents of an IHE_XDM.ZIP (path in the archive, bytes), in the archive's order."""
    try:
        archive = zipfile.ZipFile(BytesIO(xdm))
        return [(info.filename, data) for info in archive.infolist() if info.file_size < MAX_FILE_BYTES
                and not info.filename.upper().endswith("METADATA.XML")
                and b"ClinicalDocument" in (data := archive.read(info))[:4096]]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _save_cda(folder: Path, stem: str, content: bytes, entry: dict) -> None:
    stem = safe_name(stem)
    entry["files"]["cda"] = _write(folder, f"{stem}.xml", content)
    root = parse(content)
    if root is None:
        return
    data, media, problem = embedded_file(root)
    if problem:
        entry["missing"].append(f"embedded file: {problem}")
    elif data is not None:
        entry["files"]["embedded"] = _write(folder, f"{stem}.{EXTENSIONS.get(media or '', 'bin')}", data)


def _write(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return f"{FOLDER}/{name}"
