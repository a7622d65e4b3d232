"""The DMP's state and domain rules (moto's "backend"): registry, repository and DMP management, on plain
domain objects — no SOAP, no HTTP, no XML of the wire.

`DmpBackend` holds the store (SQLite, `storage.py`), the test world and the CDA validator, and runs each
transaction on what `responses.py` read from the wire: ITI-41 (`provide_and_register`: a `Submission` and
its documents' bytes), ITI-43 (`retrieve`: `DocumentRequest`s), ITI-18 (`stored_query`, in `queries.py`),
ITI-57 (`update`, in `updates.py`), TD0.2 (`td02`) and TD0.3 (`td03`). The caller comes as a `Call` whose
VIHF the wire already verified. Each answers an `Outcome` (findings, status, payload).

Every problem is a rule of `rules.py`, raised where it is checked; the DMP's checks on a submission's
metadata and CDA live in `metadata_rules.py`. `settle` applies the book's `supersedes` (a problem is
reported once) and the lenient mode (non-blocking errors become warnings).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from segur.fixtures.world import load_world
from segur.kernel import ins as ins_helpers
from segur.kernel.findings import Finding, Severity
from segur.mocks.dmp import queries, rules, updates
from segur.mocks.dmp.calls import STATUS_FAILURE, STATUS_PARTIAL, Call, DocumentRequest, Outcome, StoredQuery
from segur.mocks.dmp.cda_header import cda_set_id
from segur.mocks.dmp.digest import sha1_of
from segur.mocks.dmp.metadata_rules import DmpContext, DmpState, check_submission
from segur.mocks.dmp.rules import (
    XDS_41_007,
    XDS_41_008,
    XDS_41_009,
    XDS_41_010,
    XDS_41_011,
    XDS_41_012,
    XDS_41_013,
    XDS_41_015,
    XDS_41_016,
    XDS_41_017,
    XDS_43_001,
    XDS_43_002,
    XDS_43_003,
    XDS_PAT_001,
    XDS_PAT_002,
    XDS_PAT_003,
    XDS_PAT_004,
    XDS_PAT_005,
    XDS_PAT_006,
)
from segur.mocks.dmp.storage import Store
from segur.mocks.dmp.validation import ProcessValidator
from segur.mocks.dmp.visibility import is_author, visible
from segur.mocks.dmp.xds_metadata import (
    RELATIONSHIP_TYPES,
    RPLC,
    SIGNS,
    STATUS_APPROVED,
    STATUS_DEPRECATED,
    XFRM_RPLC,
    Cx,
    DocumentEntry,
    Submission,
)
from segur.validators import Validator
from segur.validators.segur_rules.pdf import pdf_problem

TD02_VALUES = ("VALIDE", "EXPIRE", "INTERDIT", "NON_EXISTE")  # DMP TD0.2 authorisation answers
ADMIN_HIDDEN = ("classifications", "external_identifiers", "slots")  # raw ebRIM pieces the admin view omits


class DmpBackend:
    """The DMP's registry, repository and management state, and its transactions.

    `config` is the service's `DmpConfig` (service.py): every setting, one list. `validator_pack` is
    the CDA pack (a directory, None: SEGUR_PACK / config, False: none); `validator` replaces the CDA
    validator (tests); `store` replaces the SQLite store of `data_dir` (a `PostgresDmpStore`).
    """

    def __init__(self, data_dir: str | Path, config, *, world=None, validator=None, validator_pack=None,
                 store=None):
        self.config = config
        self.store = store or Store(data_dir, synchronous="FULL" if config.power_safe else "NORMAL")
        self.world = world if world is not None else load_world()
        self.validator_pack = validator_pack
        self._validator = validator
        self._validator_lock = threading.Lock()

    @property
    def test_mode(self) -> bool:
        """The test INS OIDs (1.2.250.1.213.1.4.10/11) are accepted unless `production_oids`."""
        return not self.config.production_oids

    @property
    def home_community_id(self) -> str | None:
        return self.config.home_community_id or None

    # --- shared pieces ---------------------------------------------------------------------------
    @property
    def validator(self):
        if self._validator is None and self.config.validation:
            with self._validator_lock:
                if self._validator is None and self.config.validation_workers > 0:
                    self._validator = ProcessValidator(self.config.validation_workers, self.validator_pack,
                                                       max_size=self.config.max_document_size)
                elif self._validator is None:
                    self._validator = Validator(
                        pack=self.validator_pack, max_size=self.config.max_document_size)
        return self._validator

    def close(self) -> None:
        """Stop the validation workers (if any) and close the store."""
        closer = getattr(self._validator, "close", None)
        if closer is not None:
            closer()
        self.store.close()

    @staticmethod
    def caller_of(claims) -> str:
        if claims is None:
            return "anonymous"
        return getattr(claims, "caller", None) or getattr(claims, "structure_id", None) or "anonymous"

    def dmp_state(self, ins: str | None, patient) -> str:
        """OUVERT, FERME or INEXISTANT: the world's flags, overridden by faults and admin changes."""
        stored = self.store.dmp_state(ins) if ins else None
        if stored:
            return stored[0]
        if patient is None or not patient.has_dmp:
            return "INEXISTANT"
        return "FERME" if patient.dmp_closed else "OUVERT"

    def close_dmp(self, ins: str, reason: str = "fault") -> None:
        """A patient whose DMP becomes closed (fault kind `dmp_closed`, admin API); persisted."""
        self.store.set_dmp_state(ins, "FERME", reason)

    def authorisation_status(self, ins: str | None, patient, caller: str, now: datetime | None = None) -> str:
        """The TD0.2 answer for this caller: VALIDE, EXPIRE, INTERDIT or NON_EXISTE."""
        if patient is not None and patient.dmp_opposed:
            return "INTERDIT"
        if not ins or self.dmp_state(ins, patient) != "OUVERT":
            return "NON_EXISTE"
        stored = self.store.authorisation(ins, caller)
        if stored is None:
            return "NON_EXISTE"
        status, expires = stored
        if status == "VALIDE" and expires and datetime.fromisoformat(expires) <= (now or datetime.now(UTC)):
            return "EXPIRE"
        return status

    def access_findings(self, patient_id: str | None, call: Call, need_authorisation: bool) -> list[Finding]:
        """The patient/DMP checks every transaction on a patient goes through (XDS-PAT-*; on an ITI-41 the
        DMP's own patient rules, DMP-PAT-*, say more and supersede them)."""
        where = {"location": "patientId"}
        if not patient_id:
            return []
        cx = Cx.parse(patient_id)
        allowed = ins_helpers.PRODUCTION_OIDS | (ins_helpers.TEST_OIDS if self.test_mode else frozenset())
        if len(cx.id) != 15 or cx.assigning_authority not in allowed or cx.type_code != "NH":
            return [XDS_PAT_001.finding(patient_id=patient_id, **where)]
        vihf_patient = getattr(getattr(call.claims, "patient", None), "value", None)
        if vihf_patient and vihf_patient != cx.id:
            return [XDS_PAT_006.finding(vihf=vihf_patient, patient_id=patient_id, **where)]
        patient = self.world.patient_by_ins(cx.id)
        state = self.dmp_state(cx.id, patient)
        if patient is None or state == "INEXISTANT":
            return [XDS_PAT_002.finding(patient_id=patient_id, **where)]
        if state == "FERME":
            return [XDS_PAT_003.finding(patient_id=patient_id, **where)]
        caller = self.caller_of(call.claims)
        status = self.authorisation_status(cx.id, patient, caller, call.now)
        if status == "INTERDIT":
            return [XDS_PAT_004.finding(patient_id=patient_id, caller=caller, **where)]
        if need_authorisation and status != "VALIDE":
            return [XDS_PAT_005.finding(patient_id=patient_id, caller=caller, status=status, **where)]
        return []

    def settle(self, findings: list[Finding]) -> list[Finding]:
        """Report each problem once (the rules' `supersedes`); in lenient mode, turn non-blocking errors
        into warnings."""
        kept = rules.book.report_once(findings)
        if not self.config.lenient:
            return kept
        return [dataclasses.replace(f, severity=Severity.WARNING)
                if f.severity == Severity.ERROR and not rules.is_blocking(f) else f for f in kept]

    # --- ITI-41 -------------------------------------------------------------------------------------
    def provide_and_register(self, submission: Submission, documents: dict[str, bytes], call: Call, *,
                             wire_findings: list[Finding] = (), injected: Finding | None = None,
                             journal_seq: int | None = None) -> Outcome:
        """ITI-41: check everything, then store the submission atomically (or nothing).

        `documents`: each readable Document@id → its bytes; `wire_findings`: what reading the request
        found (ebRIM structure, MTOM parts)."""
        if injected is not None:
            return Outcome(findings=[injected], status=STATUS_FAILURE, verdict="fault-injected")
        outcome = Outcome(claims=call.claims)
        ss = submission.submission_set
        findings = list(call.vihf_findings) + list(wire_findings)
        findings += self._registry_duplicates(submission, documents)
        findings += self._document_checks(submission, documents)
        if ss is not None and ss.patient_id:
            findings += self.access_findings(ss.patient_id, call, self.config.authorisation_for_feed)
        findings += self._replacement_checks(submission, call.claims)
        findings += self._set_id_checks(submission, documents)
        reports: dict[str, object] = {}  # sha1 of a document → its validator Report
        findings += check_submission(submission, documents, call.claims, self._rules_context(call, reports))
        by_entry = {e.entry_uuid: _report_dict(reports.get(sha1_of(documents[e.entry_uuid])))
                    for e in submission.document_entries if e.entry_uuid in documents}
        outcome.findings = findings = self.settle(findings)
        outcome.meta = {"patient_id": ss.patient_id if ss else None,
                        "documents": [e.unique_id for e in submission.document_entries]}
        if outcome.errors:
            return outcome.refuse()
        try:
            self._store_submission(submission, documents, by_entry, journal_seq)
        except _Conflict as conflict:
            outcome.findings = findings + conflict.findings
            return outcome.refuse()
        outcome.verdict = "accepted-with-warnings" if findings else "accepted"
        outcome.meta["submission_set"] = ss.entry_uuid
        outcome.meta["entries"] = [e.entry_uuid for e in submission.document_entries]
        return outcome

    def validate_document(self, data: bytes, reports: dict | None = None):
        """The CDA validator's Report for these bytes (kept in `reports` by SHA-1), or None when validation
        is off."""
        validator = self.validator if self.config.validation else None
        if validator is None:
            return None
        digest = sha1_of(data)
        if reports is not None and digest in reports:
            return reports[digest]
        report = validator.validate(data, name=digest)
        if reports is not None:
            reports[digest] = report
        return report

    def _rules_context(self, call: Call, reports: dict) -> DmpContext:
        """The context `metadata_rules.check_submission` judges against: world, DMP state, authorisations."""

        def patient_state(patient) -> DmpState:
            state = self.dmp_state(patient.ins, patient)
            return DmpState(
                exists=state != "INEXISTANT", closed=state == "FERME", opposed=patient.dmp_opposed)

        def authorisation(caller, patient) -> str:
            return self.authorisation_status(patient.ins, patient, caller, call.now)

        validate = (lambda data: self.validate_document(data, reports)) if self.config.validation else None
        return DmpContext(world=self.world, patient_state=patient_state, authorisation=authorisation,
                          require_authorisation=self.config.authorisation_for_feed, test_mode=self.test_mode,
                          validate_document=validate, max_document_size=self.config.max_document_size)

    def _document_checks(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        """What the repository itself says of the bytes: too large to read (XDS-41-016), or not the type
        declared (XDS-41-013). Hash, size and pairing with the entries are `metadata_rules`' (XDS-003…006)."""
        findings: list[Finding] = []
        for entry in submission.document_entries:
            content = documents.get(entry.entry_uuid)
            if content is None:
                continue
            if self.oversized(content):
                findings.append(self._oversized_finding(entry.entry_uuid, content))
                continue
            findings += _content_findings(entry, content)
        return findings

    def oversized(self, content: bytes) -> bool:
        """Over the per-document limit: the document is refused unread (no hash check, no validation)."""
        return len(content) > self.config.max_document_size

    def _oversized_finding(self, entry_id: str, content: bytes) -> Finding:
        limit = self.config.max_document_size
        return XDS_41_016.finding(id=entry_id, size=len(content), limit=limit,
                                  limit_mib=f"{limit / 2**20:g}", location=f"Document[@id='{entry_id}']")

    def _registry_duplicates(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        """XDS-41-007/008/009: uniqueIds the registry already holds, the document's SHA-1 compared.

        Run before the write, and again when a concurrent submission wins the race to the same uniqueId,
        so a loser sending the same bytes hears "already there, unchanged", as a sequential resend does.
        """
        findings: list[Finding] = []
        ss = submission.submission_set
        if ss is not None and ss.unique_id and self.store.submission_set(unique_id=ss.unique_id):
            findings.append(XDS_41_007.finding(unique_id=ss.unique_id, location="SubmissionSet.uniqueId"))
        for entry in submission.document_entries:
            content = documents.get(entry.entry_uuid)
            if not entry.unique_id or content is None:
                continue
            known = self.store.document_sha1(entry.unique_id)
            if known is not None:
                rule = XDS_41_009 if known == sha1_of(content) else XDS_41_008
                findings.append(rule.finding(unique_id=entry.unique_id,
                                             location=f"DocumentEntry[@id='{entry.entry_uuid}']"))
        return findings

    def _replacement_checks(self, submission: Submission, claims) -> list[Finding]:
        findings: list[Finding] = []
        local = {e.entry_uuid for e in submission.document_entries}
        for assoc in submission.associations:
            if assoc.type not in RELATIONSHIP_TYPES or assoc.type == SIGNS or assoc.target in local:
                continue
            where = f"Association[@id='{assoc.entry_uuid}']"
            target = self.store.entry(assoc.target)
            if target is None:
                findings.append(XDS_41_010.finding(kind=assoc.kind, id=assoc.entry_uuid, target=assoc.target,
                                                   location=where))
                continue
            if target.availability_status != STATUS_APPROVED:
                findings.append(XDS_41_011.finding(id=assoc.entry_uuid, target=assoc.target,
                                                   status=target.availability_status.rsplit(":", 1)[-1],
                                                   location=where))
            source = submission.document_entry(assoc.source)
            if source is not None and source.patient_id and source.patient_id != target.patient_id:
                findings.append(XDS_41_012.finding(id=assoc.entry_uuid, target=assoc.target,
                                                   patient=target.patient_id, location=where))
            if claims is not None and assoc.type in (RPLC, XFRM_RPLC) and not is_author(target, claims):
                findings.append(XDS_41_015.finding(target=assoc.target, caller=self.caller_of(claims),
                                                   location=where))
        return findings

    def _set_id_checks(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        """XDS-41-017: a replacement (RPLC, XFRM_RPLC) is a new version of the same CDA document, so it keeps
        the replaced document's setId (HL7 CDA R2: setId is common to all versions of a document)."""
        findings: list[Finding] = []
        for assoc in submission.associations:
            if assoc.type not in (RPLC, XFRM_RPLC):
                continue
            new = documents.get(assoc.source)
            target = self.store.entry(assoc.target) if new is not None and not self.oversized(new) else None
            stored = self.store.document(target.unique_id) if target is not None else None
            old_set_id = cda_set_id(stored[0]) if stored is not None else None
            if old_set_id is None:
                continue  # not a CDA, no setId, or nothing to compare with (XDS-41-010 says why)
            new_set_id = cda_set_id(new)
            if new_set_id != old_set_id:
                findings.append(XDS_41_017.finding(id=assoc.source, set_id=new_set_id or "(none)",
                                                   target=assoc.target, old_set_id=old_set_id,
                                                   location=f"Association[@id='{assoc.entry_uuid}']"))
        return findings

    def _store_submission(self, submission: Submission, documents: dict[str, bytes], reports: dict,
                          journal_seq: int | None) -> None:
        mapping = submission.assign_uuids()
        documents = {mapping.get(k, k): v for k, v in documents.items()}
        reports = {mapping.get(k, k): v for k, v in reports.items()}
        ss = submission.submission_set
        for entry in submission.document_entries:
            content = documents[entry.entry_uuid]
            entry.hash = sha1_of(content)
            entry.size = len(content)
            entry.repository_unique_id = self.config.repository_unique_id
            entry.availability_status = STATUS_APPROVED
            entry.home_community_id = self.home_community_id
        try:
            with self.store.transaction() as db:
                self.store.insert_submission_set(db, ss, journal_seq)
                for entry in submission.document_entries:
                    content = documents[entry.entry_uuid]
                    self.store.insert_document(db, entry.unique_id, content, entry.mime_type, entry.hash)
                    self.store.insert_entry(db, entry, ss.entry_uuid, reports.get(entry.entry_uuid))
                for assoc in submission.associations:
                    self.store.insert_association(db, assoc, ss.entry_uuid)
                    replaces = assoc.type in (RPLC, XFRM_RPLC) and not submission.document_entry(assoc.target)
                    deprecated = replaces and self.store.set_entry_status(db, assoc.target, STATUS_APPROVED,
                                                                      STATUS_DEPRECATED)
                    if replaces and not deprecated:
                        raise _Conflict(XDS_41_011.finding(
                            id=assoc.entry_uuid, target=assoc.target,
                            status="no longer Approved (replaced concurrently)"))
        except sqlite3.IntegrityError as exc:
            # A concurrent submission registered the same uniqueId between the checks and this write: the
            # winner has committed, so the same comparison as before the write tells what the loser resent.
            clashes = self._registry_duplicates(submission, documents)
            if clashes:
                raise _Conflict(*clashes) from None
            if "submission_sets.unique_id" in str(exc):  # the winner is gone again (reset): say what clashed
                raise _Conflict(XDS_41_007.finding(unique_id=ss.unique_id)) from None
            raise _Conflict(XDS_41_008.finding(unique_id="(one of the documents)")) from None

    # --- ITI-43 -------------------------------------------------------------------------------------
    def retrieve(self, requests: list[DocumentRequest], call: Call,
                 injected: Finding | None = None) -> Outcome:
        """ITI-43: the documents asked for (Success, PartialSuccess or Failure)."""
        if injected is not None:
            return Outcome(findings=[injected], status=STATUS_FAILURE, verdict="fault-injected", payload=[])
        outcome = Outcome(payload=[], claims=call.claims)
        findings = list(call.vihf_findings)
        if not requests:
            findings.append(XDS_43_003.finding(detail="no DocumentRequest element",
                                               location="RetrieveDocumentSetRequest"))
        found = []
        for asked in requests:
            where = asked.where
            if not asked.unique_id:
                findings.append(XDS_43_003.finding(detail=f"{where} has no DocumentUniqueId", location=where))
                continue
            if asked.repository_unique_id != self.config.repository_unique_id:
                findings.append(XDS_43_001.finding(repository=asked.repository_unique_id or "(none)",
                                                   own=self.config.repository_unique_id, location=where))
                continue
            entries = self.store.entries_by_unique_id(asked.unique_id)
            stored = self.store.document(asked.unique_id)
            # The latest metadata version rules (ITI-57 may have masked it); not Deleted, masked only for its
            # authors.
            latest = max(entries, key=lambda e: e.version) if entries else None
            if stored is None or latest is None or not visible(latest, call.claims):
                findings.append(XDS_43_002.finding(unique_id=asked.unique_id, location=where))
                continue
            access = self.access_findings(latest.patient_id, call, need_authorisation=True)
            if access:
                findings += access
                continue
            content, mime = stored
            found.append({"repository": asked.repository_unique_id, "unique_id": asked.unique_id,
                          "mime_type": mime or latest.mime_type, "content": content,
                          "home": self.home_community_id})
        outcome.findings, outcome.payload = self.settle(findings), found
        if outcome.errors and found:
            outcome.status, outcome.verdict = STATUS_PARTIAL, "partial"
        elif outcome.errors:
            outcome.refuse()
        return outcome

    # --- ITI-18 / ITI-57 (logic in their own modules) -------------------------------------------------
    def stored_query(self, query: StoredQuery | None, call: Call, injected: Finding | None = None) -> Outcome:
        return queries.run_stored_query(self, query, call, injected)

    def update(self, submission: Submission, structural: list[Finding], call: Call,
               injected: Finding | None = None) -> Outcome:
        return updates.run_update(self, submission, structural, call, injected)

    # --- TD0.2 / TD0.3 --------------------------------------------------------------------------------
    def td02(self, ins: str, oid: str, call: Call) -> dict:
        """TD0.2: does this patient have a DMP, and is this caller authorised on it."""
        patient = self.world.patient_by_ins(ins)
        caller = self.caller_of(call.claims)
        state = self.dmp_state(ins, patient)
        status = self.authorisation_status(ins, patient, caller, call.now)
        answer = {"ins": ins, "oid": oid, "dmp": state, "autorisation": status, "caller": caller}
        if status == "INTERDIT":
            answer["raison"] = "Opposition du patient à l'accès des professionnels à son DMP"
        stored = self.store.authorisation(ins, caller)
        if stored and stored[1]:
            answer["dateFin"] = stored[1]
        return answer

    def td03(self, ins: str, oid: str, action: str, call: Call) -> dict:
        """TD0.3: add (AJOUT) or remove (SUPPRESSION) the caller's authorisation on the patient's DMP."""
        patient = self.world.patient_by_ins(ins)
        caller = self.caller_of(call.claims)
        state = self.dmp_state(ins, patient)
        before = self.authorisation_status(ins, patient, caller, call.now)
        if state != "OUVERT":
            return {"ins": ins, "oid": oid, "action": action, "resultat": "REFUSE", "dmp": state,
                    "raison": "Le patient n'a pas de DMP ouvert", "autorisation": before}
        if before == "INTERDIT":
            return {"ins": ins, "oid": oid, "action": action, "resultat": "REFUSE", "dmp": state,
                    "raison": "Opposition du patient", "autorisation": before}
        if action == "AJOUT":
            expires = (call.now or datetime.now(UTC)) + timedelta(days=self.config.authorisation_days)
            self.store.set_authorisation(ins, caller, "VALIDE", expires.isoformat())
        else:
            self.store.delete_authorisation(ins, caller)
        return {"ins": ins, "oid": oid, "action": action, "resultat": "OK", "dmp": state,
                "autorisation": self.authorisation_status(ins, patient, caller, call.now)}

    # --- admin ----------------------------------------------------------------------------------------
    def _admin_view(self, entry: DocumentEntry) -> dict:
        data = dataclasses.asdict(entry)
        for key in ADMIN_HIDDEN:
            data.pop(key, None)
        data["validation"] = self.store.validation_of(entry.entry_uuid)
        return data

    def documents_by_patient(self, patient_id: str | None = None) -> dict:
        """Per patient: each document entry's metadata, status and validation report (admin view)."""
        entries = self.store.entries_for_patient(patient_id) if patient_id else self.store.all_entries()
        result: dict[str, list] = {}
        for entry in entries:
            result.setdefault(entry.patient_id, []).append(self._admin_view(entry))
        return result

    def document_view(self, unique_id: str) -> dict | None:
        """One stored document by its uniqueId (admin view): patient, status, size, mimeType and every
        metadata version (ITI-57 keeps the uniqueId), each as `/_admin/documents` lists it; None if
        unknown."""
        entries = sorted(self.store.entries_by_unique_id(unique_id), key=lambda e: e.version)
        if not entries:
            return None
        current = next(
            (e for e in reversed(entries) if e.availability_status == STATUS_APPROVED), entries[-1])
        stored = self.store.document_info(unique_id) or {}
        return {"service": "dmp", "unique_id": unique_id, "patient": current.patient_id,
                "status": current.availability_status, "entry_uuid": current.entry_uuid,
                "mime_type": stored.get("mime_type", current.mime_type), "size": stored.get("size"),
                "sha1": stored.get("sha1"), "versions": [self._admin_view(e) for e in entries]}

    def reset(self) -> None:
        self.store.reset()


class _Conflict(Exception):
    """What a write found changed since the checks (a concurrent submission won): the findings to answer."""

    def __init__(self, *items: Finding):
        super().__init__("; ".join(item.message for item in items))
        self.findings = list(items)


def _report_dict(report) -> dict | None:
    if report is None:
        return None
    return {"valid": report.valid, "unreadable": report.unreadable,
            "findings": [f.to_dict() for f in report.findings], "profile": report.profile,
            "timings": report.timings, "layers": [layer.to_dict() for layer in getattr(report, "layers", [])]}


def _content_findings(entry: DocumentEntry, content: bytes) -> list[Finding]:
    """A document whose declared type its bytes contradict (a "PDF" that is not one, "XML" that is not
    XML)."""
    mime = (entry.mime_type or "").lower()
    where = f"DocumentEntry[@id='{entry.entry_uuid}']/@mimeType"
    if mime == "application/pdf":
        problem = pdf_problem(content)
        if problem:
            return [XDS_41_013.finding(id=entry.entry_uuid, declared="application/pdf", detail=problem,
                                       location=where)]
    elif mime in ("text/xml", "application/xml") and not content.lstrip().startswith(b"<"):
        return [XDS_41_013.finding(
            id=entry.entry_uuid, declared=mime, location=where,
            detail=f"it does not start with an XML tag (it starts with {content[:8]!r})")]
    return []
