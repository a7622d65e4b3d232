"""The documents of a proof run, whole, as files of the evidence pack (`documents/`).

Collected from the mocks while they still run, never from the run record (its bodies are dropped): each CDA
the DMP stored, as the product sent it (ITI-41), from the DMP mock's document store; a document the DMP
refused (so never stored) from the mock's journal of that ITI-41 request (read whole, also beyond the 512 KiB
a journal entry keeps: `observe.whole_request`), else listed as not collected;
each MSSanté message's `IHE_XDM.ZIP` and the CDA documents inside it, from the MSSanté mock's admin API
(`GET /_admin/messages/<id>?content=1&raw=1`). An N1 document's embedded file (the PDF) is saved beside it.
Whatever could not be collected is listed with the reason: the pack never drops a document silently.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import zipfile
from io import BytesIO
from pathlib import Path

from segur.scenarios.evidence_pack.cda_view import embedded_file, parse

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
    content = _dmp_content(stack, uid)
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


def _dmp_content(stack, uid: str | None) -> bytes | str:
    """The stored bytes, or why they cannot be had."""
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
    from segur.mocks.dmp.mtom import MtomError

    try:
        from segur.scenarios.observe import Admin, iti41_document_parts, read_iti41_request, whole_request

        endpoints = stack.endpoints() if hasattr(stack, "endpoints") else stack
        admin = Admin(endpoints)
        entries = admin.journal("dmp", since=int(seq) - 1)
    except Exception as exc:  # the pack says what it could not collect, whatever the reason
        return f"the DMP journal could not be read: {exc}"
    exchange = next((x for x in entries if x.get("seq") == int(seq)), None)
    exchange = whole_request(exchange, admin) if exchange else None  # beyond 512 KiB: read whole from the mock
    request = (exchange or {}).get("request") or {}
    body = request.get("body") or {}
    if not body.get("text") or body.get("truncated"):
        return f"the DMP journal does not hold that request whole ({body.get('unavailable') or 'no body'})"
    try:
        message = read_iti41_request(request)
    except MtomError as exc:
        return f"the journalled ITI-41 request is not readable: {exc}"
    for part in iti41_document_parts(message):
        if uid and uid.encode() in part[:8192]:
            return part
    return f"document {uid} not found in the journalled ITI-41 request"


def _mss_documents(stack, folder: Path, task_id: str, item: dict) -> list[dict]:
    base = {"service": "mssante", "task": task_id, "seq": item.get("seq"), "message_id": item.get("id"),
            "source": "MSSanté mock admin API (stored message)", "files": {}, "missing": []}
    validations = item.get("validation") or {}
    message = _mss_message(stack, item.get("id"))
    if isinstance(message, str):
        return [base | {"missing": [message], "unique_id": None}]
    stem = f"{task_id}-mss-{item.get('seq')}"
    xdm = _xdm_zip(message.get("raw") or "")
    files, missing = {}, []
    if isinstance(xdm, bytes):
        files["xdm"] = _write(folder, f"{stem}-IHE_XDM.ZIP", xdm)
    else:
        missing.append(xdm)
    entries = []
    for doc in message.get("documents") or []:
        uid = (doc.get("metadata") or {}).get("unique_id")
        entry = base | {"unique_id": uid, "files": dict(files), "missing": list(missing),
                        "validation": validations.get(uid), "xdm_path": doc.get("path")}
        if doc.get("content"):
            _save_cda(folder, f"{stem}-{uid}", doc["content"].encode("utf-8"), entry)
        else:
            entry["missing"].append("the message's XDM document had no readable content")
        entries.append(entry)
    return entries or [base | {"unique_id": None, "files": files,
                               "missing": missing + ["no CDA document found in the message's IHE_XDM.ZIP"]}]


def _mss_message(stack, message_id: str | None) -> dict | str:
    if not message_id:
        return "the message has no id: the MSSanté mock did not store it"
    endpoints = stack.endpoints() if hasattr(stack, "endpoints") else stack
    try:
        from segur.scenarios.observe import Admin

        copies = Admin(endpoints).call("mssante", f"messages/{message_id}?content=1&raw=1")["copies"]
    except Exception as exc:  # the pack says what it could not collect, whatever the reason
        return f"the MSSanté mock's admin API did not give message {message_id}: {exc}"
    return copies[0] if copies else f"the MSSanté mock holds no copy of message {message_id}"


def _xdm_zip(raw: str) -> bytes | str:
    """The message's IHE_XDM.ZIP attachment, or why it is not there."""
    if not raw:
        return "the stored message has no raw text"
    message = email.message_from_string(raw, policy=email.policy.default)
    for part in message.walk():
        if (part.get_filename() or "").upper() == "IHE_XDM.ZIP":
            data = part.get_payload(decode=True) or b""
            if zipfile.is_zipfile(BytesIO(data)):
                return data
            return "the IHE_XDM.ZIP attachment is not a zip file"
    return "the message has no IHE_XDM.ZIP attachment"


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
