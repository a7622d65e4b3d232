"""ITI-57 Update Document Set, limited to what the DMP's TD3.3 allows.

Two shapes (IHE ITI TF vol 3 §4.2.4 / XDS Metadata Update, ITI TF vol 2b §3.57.4.1.3):
- a SubmissionSet plus an `UpdateAvailabilityStatus` association (source: the SubmissionSet,
  target: the DocumentEntry's entryUUID, slots OriginalStatus/NewStatus) — deprecate, archive,
  unarchive, delete (statuses of JDV_J52: ebXML Approved/Deprecated, CI-SIS Archived/Deleted);
- a new version of a DocumentEntry (same `lid`, HasMember association with the slot
  PreviousVersion) — for the DMP only the visibility may change: the confidentialityCode
  values MASQUE_PS (masked from professionals), INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX of
  1.2.250.1.213.1.1.4.13. The previous version becomes Deprecated; the document bytes stay.
"""

from __future__ import annotations

import uuid

from segur.kernel.findings import Finding
from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.calls import STATUS_FAILURE, Call, Outcome
from segur.mocks.dmp.rules import (
    XDS_57_001,
    XDS_57_002,
    XDS_57_003,
    XDS_57_004,
    XDS_57_005,
    XDS_57_006,
    XDS_57_007,
    XDS_57_008,
    XDS_EBRIM_010,
)
from segur.mocks.dmp.visibility import VISIBILITY_CODES, VISIBILITY_SCHEME
from segur.mocks.dmp.xds_metadata import Submission

A, DEP = xds_metadata.STATUS_APPROVED, xds_metadata.STATUS_DEPRECATED
ARCH, DEL = xds_metadata.STATUS_ARCHIVED, xds_metadata.STATUS_DELETED
ALLOWED_TRANSITIONS = {(A, DEP), (A, ARCH), (ARCH, A), (A, DEL), (ARCH, DEL), (DEP, DEL)}

_COMPARED = ("unique_id", "class_code", "type_code", "format_code", "healthcare_facility_type_code",
             "practice_setting_code", "event_codes", "authors", "legal_authenticator", "creation_time",
             "service_start_time", "service_stop_time", "language_code", "mime_type", "title", "comments",
             "source_patient_id", "reference_id_list", "object_type")


def _short(status: str) -> str:
    return status.rsplit(":", 1)[-1]


def _codes_key(codes) -> object:
    if isinstance(codes, list):
        return sorted((c.code, c.scheme) if isinstance(c, xds_metadata.Code) else repr(c) for c in codes)
    if isinstance(codes, xds_metadata.Code):
        return (codes.code, codes.scheme)
    return codes


def _is_new_version(entry) -> bool:
    """A DocumentEntry whose lid is a registered entry's entryUUID: a new metadata version of it."""
    lid = entry.logical_id
    return bool(lid) and lid.startswith("urn:uuid:") and lid != entry.entry_uuid


def run_update(backend, submission: Submission, structural: list[Finding], call: Call,
               injected: Finding | None = None) -> Outcome:
    """ITI-57 on a submission read from the wire; `structural`: what reading its ebRIM found (a new version
    is no HasMember of the submission set as an ITI-41 entry is: XDS-EBRIM-010 does not apply)."""
    if injected is not None:
        return Outcome(findings=[injected], status=STATUS_FAILURE, verdict="fault-injected")
    findings = list(call.vihf_findings)
    findings += [f for f in structural if f.rule != XDS_EBRIM_010.id]
    outcome = Outcome(claims=call.claims)
    status_changes = [a for a in submission.associations if a.type == xds_metadata.UPDATE_AVAILABILITY_STATUS]
    versions = [e for e in submission.document_entries if _is_new_version(e)]
    plan: list[tuple] = []
    if submission.submission_set is None:
        pass  # XDS-EBRIM-002 already says so
    elif not status_changes and not versions:
        findings.append(XDS_57_001.finding(
            detail="neither an UpdateAvailabilityStatus association nor a new DocumentEntry version (lid "
                   "of a registered entry)", location="SubmitObjectsRequest"))
    for assoc in status_changes:
        plan += _status_change(backend, assoc, call, findings)
    for entry in versions:
        plan += _new_version(backend, submission, entry, call, findings)
    outcome.findings = findings = backend.settle(findings)
    outcome.meta = {"changes": [p[0] for p in plan]}
    if outcome.errors or not plan:
        return outcome.refuse()
    conflict = _apply(backend, submission, plan)
    if conflict is not None:
        outcome.findings = findings + [conflict]
        return outcome.refuse()
    outcome.verdict = "accepted-with-warnings" if findings else "accepted"
    return outcome


def _status_change(backend, assoc, call: Call, findings: list[Finding]) -> list[tuple]:
    where = f"Association[@id='{assoc.entry_uuid}']"
    original = (assoc.slots.get("OriginalStatus") or [""])[0]
    new = (assoc.slots.get("NewStatus") or [""])[0]
    if not original or not new:
        findings.append(XDS_57_001.finding(
            detail="UpdateAvailabilityStatus needs the slots OriginalStatus and NewStatus", location=where))
        return []
    target = backend.store.entry(assoc.target)
    if target is None or target.availability_status == DEL:
        findings.append(XDS_57_002.finding(target=assoc.target, location=where))
        return []
    access = backend.access_findings(target.patient_id, call, need_authorisation=True)
    if access:
        findings += access
        return []
    if original != target.availability_status:
        findings.append(XDS_57_003.finding(
            declared=original, actual=target.availability_status, location=where))
        return []
    if (original, new) not in ALLOWED_TRANSITIONS:
        findings.append(XDS_57_004.finding(original=_short(original), new=_short(new), location=where))
        return []
    return [("status", target.entry_uuid, original, new, assoc)]


def _new_version(backend, submission, entry, call: Call, findings: list[Finding]) -> list[tuple]:
    where = f"DocumentEntry[@id='{entry.entry_uuid}']"
    history = backend.store.entries_by_logical_id(entry.logical_id)
    if not history:
        findings.append(XDS_57_002.finding(target=entry.logical_id, location=where))
        return []
    current = history[-1]
    access = backend.access_findings(current.patient_id, call, need_authorisation=True)
    if access:
        findings += access
        return []
    members = (a for a in submission.associations if a.type == xds_metadata.HAS_MEMBER)
    member = next((a for a in members if a.target == entry.entry_uuid), None)
    previous = (member.slots.get("PreviousVersion") or [""])[0] if member else ""
    if not previous:
        findings.append(XDS_57_001.finding(detail="the HasMember association of a new version needs the slot "
                                           "PreviousVersion", location=where))
        return []
    if previous != str(current.version) or current.availability_status != A:
        findings.append(XDS_57_005.finding(declared=previous, actual=current.version, target=entry.logical_id,
                                           location=where))
        return []
    if entry.patient_id != current.patient_id:
        findings.append(XDS_57_007.finding(old=current.patient_id, new=entry.patient_id, location=where))
        return []
    changed = [name for name in _COMPARED
               if _codes_key(getattr(entry, name)) != _codes_key(getattr(current, name))]
    old_levels = sorted(
        (c.code, c.scheme) for c in current.confidentiality_codes if c.scheme != VISIBILITY_SCHEME)
    new_levels = sorted(
        (c.code, c.scheme) for c in entry.confidentiality_codes if c.scheme != VISIBILITY_SCHEME)
    if old_levels != new_levels:
        changed.append("confidentialityCode (HL7 level)")
    visibility_codes = [c.code for c in entry.confidentiality_codes if c.scheme == VISIBILITY_SCHEME]
    unknown = [code for code in visibility_codes if code not in VISIBILITY_CODES]
    if unknown:
        changed.append(f"confidentialityCode {', '.join(unknown)}")
    if changed:
        findings.append(XDS_57_006.finding(fields=", ".join(changed), location=where))
        return []
    visibility = {c.code for c in entry.confidentiality_codes if c.scheme == VISIBILITY_SCHEME}
    if {"MASQUE_PS", "INVISIBLE_PATIENT"} <= visibility and not backend.config.allow_invisible_and_masked:
        findings.append(XDS_57_008.finding(location=where))
        return []
    return [("version", current.entry_uuid, current, entry)]


class _Abort(Exception):
    def __init__(self, item: Finding):
        super().__init__(item.message)
        self.finding = item


def _apply(backend, submission, plan) -> Finding | None:
    """Write the whole update in one transaction; a concurrent change aborts it (nothing written)."""
    try:
        _write(backend, submission, plan)
    except _Abort as abort:
        return abort.finding
    return None


def _write(backend, submission, plan) -> None:
    mapping = submission.assign_uuids()
    ss = submission.submission_set
    with backend.store.transaction() as db:
        backend.store.insert_submission_set(db, ss)
        for step in plan:
            if step[0] == "status":
                _, target, original, new, assoc = step
                if not backend.store.set_entry_status(db, target, original, new):
                    raise _Abort(XDS_57_003.finding(declared=original, actual="(changed concurrently)"))
            else:
                _, previous_uuid, current, entry = step
                entry.entry_uuid = mapping.get(entry.entry_uuid, entry.entry_uuid)
                entry.version = current.version + 1
                entry.availability_status = A
                entry.hash, entry.size = current.hash, current.size
                entry.repository_unique_id = current.repository_unique_id
                entry.home_community_id = current.home_community_id
                if not backend.store.set_entry_status(db, previous_uuid, A, DEP):
                    raise _Abort(XDS_57_005.finding(declared=current.version, actual="(changed concurrently)",
                                                    target=entry.logical_id))
                report = backend.store.validation_of(previous_uuid)
                backend.store.insert_entry(db, entry, ss.entry_uuid, report)
        for assoc in submission.associations:
            if not assoc.entry_uuid.startswith("urn:uuid:"):
                assoc.entry_uuid = f"urn:uuid:{uuid.uuid4()}"
            backend.store.insert_association(db, assoc, ss.entry_uuid)
