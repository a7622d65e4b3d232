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

from segur.kernel.findings import Finding, Severity
from segur.mocks.dmp import ebrim
from segur.mocks.dmp.protocol_rules import finding
from segur.mocks.dmp.soap import STATUS_FAILURE
from segur.mocks.dmp.storage import Store

VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
VISIBILITY_CODES = {"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "INVISIBLE_REPRESENTANTS_LEGAUX"}

A, DEP, ARCH, DEL = (ebrim.STATUS_APPROVED, ebrim.STATUS_DEPRECATED, ebrim.STATUS_ARCHIVED, ebrim.STATUS_DELETED)
ALLOWED_TRANSITIONS = {(A, DEP), (A, ARCH), (ARCH, A), (A, DEL), (ARCH, DEL), (DEP, DEL)}

_COMPARED = ("unique_id", "class_code", "type_code", "format_code", "healthcare_facility_type_code",
             "practice_setting_code", "event_codes", "authors", "legal_authenticator", "creation_time",
             "service_start_time", "service_stop_time", "language_code", "mime_type", "title", "comments",
             "source_patient_id", "reference_id_list", "object_type")


def _short(status: str) -> str:
    return status.rsplit(":", 1)[-1]


def _codes_key(codes) -> object:
    if isinstance(codes, list):
        return sorted((getattr(c, "code", None), getattr(c, "scheme", None)) if isinstance(c, ebrim.Code) else repr(c)
                      for c in codes)
    if isinstance(codes, ebrim.Code):
        return (codes.code, codes.scheme)
    return codes


def run_update(backend, request, security, call, injected=None):
    from segur.mocks.dmp.backend import Outcome

    if injected is not None:
        return Outcome(findings=[injected], status=STATUS_FAILURE, verdict="fault-injected")
    claims, findings = backend.check_vihf(security, call)
    findings = list(findings)
    submission, structural = ebrim.parse_submission(request)
    findings += [f for f in structural if f.rule != "XDS-EBRIM-010"]
    outcome = Outcome(claims=claims)
    status_changes = [a for a in submission.associations if a.type == ebrim.UPDATE_AVAILABILITY_STATUS]
    versions = [e for e in submission.document_entries if e.logical_id and e.logical_id.startswith("urn:uuid:")
                and e.logical_id != e.entry_uuid]
    plan: list[tuple] = []
    if submission.submission_set is None:
        pass  # XDS-EBRIM-002 already says so
    elif not status_changes and not versions:
        findings.append(finding("XDS-57-001", detail="neither an UpdateAvailabilityStatus association nor a new "
                                "DocumentEntry version (lid of a registered entry)", location="SubmitObjectsRequest"))
    for assoc in status_changes:
        plan += _status_change(backend, assoc, claims, call, findings)
    for entry in versions:
        plan += _new_version(backend, submission, entry, claims, call, findings)
    findings = backend.settle(findings)
    outcome.findings = findings
    outcome.meta = {"changes": [p[0] for p in plan]}
    if any(f.severity == Severity.ERROR for f in findings) or not plan:
        outcome.status, outcome.verdict = STATUS_FAILURE, "rejected"
        return outcome
    conflict = _apply(backend, submission, plan)
    if conflict is not None:
        outcome.findings = findings + [conflict]
        outcome.status, outcome.verdict = STATUS_FAILURE, "rejected"
        return outcome
    outcome.verdict = "accepted-with-warnings" if findings else "accepted"
    return outcome


def _status_change(backend, assoc, claims, call, findings: list[Finding]) -> list[tuple]:
    where = f"Association[@id='{assoc.entry_uuid}']"
    original = (assoc.slots.get("OriginalStatus") or [""])[0]
    new = (assoc.slots.get("NewStatus") or [""])[0]
    if not original or not new:
        findings.append(finding("XDS-57-001", detail="UpdateAvailabilityStatus needs the slots OriginalStatus and "
                                "NewStatus", location=where))
        return []
    target = backend.store.entry(assoc.target)
    if target is None or target.availability_status == DEL:
        findings.append(finding("XDS-57-002", target=assoc.target, location=where))
        return []
    access = backend.access_findings(target.patient_id, claims, call, need_authorisation=True)
    if access:
        findings += access
        return []
    if original != target.availability_status:
        findings.append(finding("XDS-57-003", declared=original, actual=target.availability_status, location=where))
        return []
    if (original, new) not in ALLOWED_TRANSITIONS:
        findings.append(finding("XDS-57-004", original=_short(original), new=_short(new), location=where))
        return []
    return [("status", target.entry_uuid, original, new, assoc)]


def _new_version(backend, submission, entry, claims, call, findings: list[Finding]) -> list[tuple]:
    where = f"DocumentEntry[@id='{entry.entry_uuid}']"
    history = backend.store.entries_by_logical_id(entry.logical_id)
    if not history:
        findings.append(finding("XDS-57-002", target=entry.logical_id, location=where))
        return []
    current = history[-1]
    access = backend.access_findings(current.patient_id, claims, call, need_authorisation=True)
    if access:
        findings += access
        return []
    member = next((a for a in submission.associations if a.type == ebrim.HAS_MEMBER and a.target == entry.entry_uuid),
                  None)
    previous = (member.slots.get("PreviousVersion") or [""])[0] if member else ""
    if not previous:
        findings.append(finding("XDS-57-001", detail="the HasMember association of a new version needs the slot "
                                "PreviousVersion", location=where))
        return []
    if previous != str(current.version) or current.availability_status != A:
        findings.append(finding("XDS-57-005", declared=previous, actual=current.version, target=entry.logical_id,
                                location=where))
        return []
    if entry.patient_id != current.patient_id:
        findings.append(finding("XDS-57-007", old=current.patient_id, new=entry.patient_id, location=where))
        return []
    changed = [name for name in _COMPARED if _codes_key(getattr(entry, name)) != _codes_key(getattr(current, name))]
    old_levels = sorted((c.code, c.scheme) for c in current.confidentiality_codes if c.scheme != VISIBILITY_SCHEME)
    new_levels = sorted((c.code, c.scheme) for c in entry.confidentiality_codes if c.scheme != VISIBILITY_SCHEME)
    if old_levels != new_levels:
        changed.append("confidentialityCode (HL7 level)")
    unknown = [c.code for c in entry.confidentiality_codes if c.scheme == VISIBILITY_SCHEME and c.code not in VISIBILITY_CODES]
    if unknown:
        changed.append(f"confidentialityCode {', '.join(unknown)}")
    if changed:
        findings.append(finding("XDS-57-006", fields=", ".join(changed), location=where))
        return []
    visibility = {c.code for c in entry.confidentiality_codes if c.scheme == VISIBILITY_SCHEME}
    if {"MASQUE_PS", "INVISIBLE_PATIENT"} <= visibility and not backend.options.allow_invisible_and_masked:
        findings.append(finding("XDS-57-008", location=where))
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
        Store.insert_submission_set(db, ss)
        for step in plan:
            if step[0] == "status":
                _, target, original, new, assoc = step
                if not Store.set_entry_status(db, target, original, new):
                    raise _Abort(finding("XDS-57-003", declared=original, actual="(changed concurrently)"))
            else:
                _, previous_uuid, current, entry = step
                entry.entry_uuid = mapping.get(entry.entry_uuid, entry.entry_uuid)
                entry.version = current.version + 1
                entry.availability_status = A
                entry.hash, entry.size = current.hash, current.size
                entry.repository_unique_id = current.repository_unique_id
                entry.home_community_id = current.home_community_id
                if not Store.set_entry_status(db, previous_uuid, A, DEP):
                    raise _Abort(finding("XDS-57-005", declared=current.version, actual="(changed concurrently)",
                                         target=entry.logical_id))
                Store.insert_entry(db, entry, ss.entry_uuid, backend.store.validation_of(previous_uuid))
        for assoc in submission.associations:
            if not assoc.entry_uuid.startswith("urn:uuid:"):
                assoc.entry_uuid = f"urn:uuid:{uuid.uuid4()}"
            Store.insert_association(db, assoc, ss.entry_uuid)
