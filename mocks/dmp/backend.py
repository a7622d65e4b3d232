"""The DMP mock's backend: state and transaction logic, no HTTP (moto's "backend").

One `DmpBackend` holds the store (SQLite), the test world, the validator and the rule hooks, and
runs each transaction on already-parsed XML: ITI-41 (`provide_and_register`), ITI-18
(`stored_query`, in `queries.py`), ITI-43 (`retrieve`), ITI-57 (`update`, in `updates.py`),
TD0.2 (`td02`) and TD0.3 (`td03`). It answers with an `Outcome` (findings, status, payload);
`app.py` turns that into SOAP.

The DMP's *rules* come from the rules modules through `RuleHooks`: `vihf.verify_vihf` (every
transaction) and `metadata_rules.check_submission` (ITI-41). Where both this backend and those
rules check the same thing (missing document, hash, size, patient…), the rules' finding wins and
the backend's equivalent is dropped (`SUPERSEDED_BY`), so a problem is reported once.
"""

from __future__ import annotations

import dataclasses
import importlib
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from segur.kernel import ins as ins_helpers
from segur.kernel.findings import Finding, Severity
from segur.mocks.dmp import ebrim
from segur.mocks.dmp.cda_header import cda_set_id
from segur.mocks.dmp.digest import sha1_of
from segur.mocks.dmp.ebrim import XDSB, Cx, Submission
from segur.mocks.dmp.mtom import MissingPart, binary_content
from segur.mocks.dmp.protocol_rules import PROTOCOL_RULES, finding
from segur.mocks.dmp.soap import STATUS_FAILURE, STATUS_PARTIAL, STATUS_SUCCESS
from segur.mocks.dmp.storage import Store

DEFAULT_REPOSITORY_ID = "1.2.250.1.213.1.1.9.1"  # the mock repository's uniqueId (an OID under the DMP arc)
DEFAULT_HOME_COMMUNITY = None

DEFAULT_MAX_DOCUMENT_SIZE = 50 * 1024 * 1024  # the validator's own default (segur.validators.safe_xml)

VIHF_ERROR_STYLES = ("registry", "soap-fault")  # how ITI-18/41/43/57 answer a VIHF that does not pass

TD02_VALUES = ("VALIDE", "EXPIRE", "INTERDIT", "NON_EXISTE")  # DMP TD0.2 authorisation answers

# When the rules module reports the same problem, the backend's own finding is dropped.
SUPERSEDED_BY = {
    "XDS-41-001": ("XDS-003",), "XDS-41-002": ("XDS-004",), "XDS-41-003": ("XDS-005",),
    "XDS-41-004": ("XDS-006",), "XDS-41-005": ("XDS-002",), "XDS-41-006": ("XDS-007",),
    "XDS-EBRIM-005": ("XDS-001",),
    "XDS-PAT-001": ("DMP-PAT-001", "DMP-PAT-002", "DMP-PAT-003"),
    "XDS-PAT-002": ("DMP-PAT-004", "DMP-PAT-005"), "XDS-PAT-003": ("DMP-PAT-005",),
    "XDS-PAT-004": ("DMP-PAT-006",), "XDS-PAT-005": ("DMP-PAT-007",), "XDS-PAT-006": ("VIHF-019",),
}

# Problems that make storing the submission impossible or inconsistent: refused even in lenient mode.
BLOCKING = {
    "XDS-EBRIM-001", "XDS-EBRIM-002", "XDS-EBRIM-003", "XDS-EBRIM-004", "XDS-EBRIM-008", "XDS-EBRIM-009",
    "XDS-EBRIM-015", "XDS-41-001", "XDS-41-002", "XDS-41-006", "XDS-41-007", "XDS-41-008", "XDS-41-009",
    "XDS-41-010", "XDS-41-011", "XDS-41-012", "XDS-41-016", "XDS-MTOM-003", "XDS-MTOM-004", "XDS-MTOM-006",
    "XDS-PAT-001", "XDS-PAT-002", "XDS-PAT-003", "XDS-FAULT-001", "XDS-003", "XDS-004", "XDS-007",
    "DMP-PAT-001", "DMP-PAT-003", "DMP-PAT-004", "DMP-PAT-005",
}
_BLOCKING_ATTRIBUTES = {"uniqueId", "patientId"}


@dataclass
class Call:
    """Who called and how: what the protocol layer knows besides the message."""

    transaction: str
    environ: dict = field(default_factory=dict)  # the WSGI environ (TLS client identity, remote address)
    now: datetime | None = None
    vihf: tuple | None = None  # (claims, findings) when the SOAP layer already verified the VIHF

    @property
    def client(self) -> dict:
        keys = ("REMOTE_ADDR", "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN_O", "SSL_CLIENT_S_DN_OU")
        return {k: self.environ[k] for k in keys if self.environ.get(k)}


@dataclass
class Outcome:
    """What a transaction decided: findings, registry status and whatever the answer carries."""

    findings: list[Finding] = field(default_factory=list)
    status: str = STATUS_SUCCESS
    payload: object = None
    verdict: str = "accepted"
    meta: dict = field(default_factory=dict)
    claims: object = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]


class RuleHooks:
    """The rules modules' entry points, looked up once; a module not written yet contributes nothing."""

    def __init__(self, verify_vihf=None, check_submission=None, vihf_context_factory=None):
        self.verify_vihf = verify_vihf or _optional("segur.mocks.dmp.vihf", "verify_vihf")
        self.check_submission = check_submission or _optional("segur.mocks.dmp.metadata_rules", "check_submission")
        self.vihf_context_factory = vihf_context_factory or _optional("segur.mocks.dmp.vihf", "VihfContext")
        self.context_factory = _optional("segur.mocks.dmp.metadata_rules", "DmpContext") or _plain_context
        self.state_factory = _optional("segur.mocks.dmp.metadata_rules", "DmpState")

    def describe(self) -> dict:
        def name(fn):
            return f"{fn.__module__}.{fn.__qualname__}" if fn else None

        return {"verify_vihf": name(self.verify_vihf), "check_submission": name(self.check_submission)}


def _optional(module: str, attribute: str):
    try:
        return getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


@dataclass
class DmpOptions:
    lenient: bool = False  # record rule breaches as warnings and accept (editors' early integration)
    repository_unique_id: str = DEFAULT_REPOSITORY_ID
    home_community_id: str | None = DEFAULT_HOME_COMMUNITY
    validate_documents: bool = True  # run segur.validators on every CDA document received
    validator_pack: object = None  # passed to Validator(pack=…): a directory, None (env/config) or False
    test_mode: bool = True  # accept the test INS OIDs (1.2.250.1.213.1.4.10/11)
    require_vihf: bool = True  # every transaction needs a valid VIHF (the DMP's rule)
    authorisation_for_feed: bool = False  # REM DMP/CONF.05: feeding (ITI-41) needs no TD0.3
    allow_invisible_and_masked: bool = False  # DMP parameter cumul-invisible_patient-masque_ps (EX_2.1-1050)
    authorisation_days: int = 365  # validity of an authorisation added by TD0.3 in this mock
    trusted_ca_files: tuple = ()  # CAs whose certificates may sign a VIHF (the test PKI's CA)
    validation_workers: int = 0  # >0: validate documents in that many worker processes (throughput)
    synchronous: str = "NORMAL"  # SQLite WAL: NORMAL survives a crash of the mock; FULL also a power cut
    max_document_size: int = DEFAULT_MAX_DOCUMENT_SIZE  # bytes per document; larger ones are refused unread
    vihf_errors: str = "registry"  # a refused VIHF: RegistryResponse errors, or "soap-fault" (WS-Security 1.1 §12)

    def __post_init__(self):
        if self.vihf_errors not in VIHF_ERROR_STYLES:
            raise ValueError(f"vihf_errors must be one of {', '.join(VIHF_ERROR_STYLES)}, not {self.vihf_errors!r}")


class DmpBackend:
    def __init__(self, data_dir: str | Path, world=None, options: DmpOptions | None = None, hooks: RuleHooks | None = None,
                 validator=None):
        self.options = options or DmpOptions()
        self.store = Store(data_dir, synchronous=self.options.synchronous)
        self.world = world if world is not None else _load_world()
        self.hooks = hooks or RuleHooks()
        self._validator = validator
        self._validator_lock = threading.Lock()
        self._faulted_dmp: dict[str, str] = {}

    # --- shared pieces ---------------------------------------------------------------------------
    @property
    def validator(self):
        if self._validator is None and self.options.validate_documents:
            with self._validator_lock:
                if self._validator is None and self.options.validation_workers > 0:
                    from segur.mocks.dmp.validation import ProcessValidator

                    self._validator = ProcessValidator(self.options.validation_workers, self.options.validator_pack,
                                                       max_size=self.options.max_document_size)
                elif self._validator is None:
                    from segur.validators import Validator

                    self._validator = Validator(pack=self.options.validator_pack,
                                                max_size=self.options.max_document_size)
        return self._validator

    def close(self) -> None:
        """Stop the validation workers (if any) and close the store."""
        closer = getattr(self._validator, "close", None)
        if closer is not None:
            closer()
        self.store.close()

    def check_vihf(self, security, call: Call):
        """(claims, findings) from the rules' verify_vihf; without the hook, no claims and no findings."""
        if call.vihf is not None:
            return call.vihf
        if self.hooks.verify_vihf is None:
            return None, []
        factory = self.hooks.vihf_context_factory
        trusted = self.options.trusted_ca_files
        if factory is not None and hasattr(factory, "from_wsgi_environ"):
            context = factory.from_wsgi_environ(call.environ, trusted, test_mode=self.options.test_mode,
                                                now=call.now)
        else:
            context = {"environ": call.environ, "trusted_ca_files": trusted, "test_mode": self.options.test_mode}
        if not self.options.require_vihf and security is None:
            return None, []
        return self.hooks.verify_vihf(security, context)

    @staticmethod
    def caller_of(claims) -> str:
        if claims is None:
            return "anonymous"
        return getattr(claims, "caller", None) or getattr(claims, "structure_id", None) or "anonymous"

    def patient_for(self, patient_id: str | None):
        """(patient of the world or None, INS string or None) for an XDS patientId."""
        if not patient_id:
            return None, None
        cx = Cx.parse(patient_id)
        return (self.world.patient_by_ins(cx.id) if cx.id else None), cx.id or None

    def dmp_state(self, ins: str | None, patient) -> str:
        """OUVERT, FERME or INEXISTANT: the world's flags, overridden by faults and admin changes."""
        if ins and ins in self._faulted_dmp:
            return self._faulted_dmp[ins]
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

    def access_findings(self, patient_id: str | None, claims, call: Call, need_authorisation: bool) -> list[Finding]:
        """The patient/DMP checks every transaction on a patient goes through."""
        where = {"location": "patientId"}
        if not patient_id:
            return []
        cx = Cx.parse(patient_id)
        allowed = ins_helpers.PRODUCTION_OIDS | (ins_helpers.TEST_OIDS if self.options.test_mode else frozenset())
        if len(cx.id) != 15 or cx.assigning_authority not in allowed or cx.type_code != "NH":
            return [finding("XDS-PAT-001", patient_id=patient_id, **where)]
        vihf_patient = getattr(getattr(claims, "patient", None), "value", None)
        if vihf_patient and vihf_patient != cx.id:
            return [finding("XDS-PAT-006", vihf=vihf_patient, patient_id=patient_id, **where)]
        patient = self.world.patient_by_ins(cx.id)
        state = self.dmp_state(cx.id, patient)
        if patient is None or state == "INEXISTANT":
            return [finding("XDS-PAT-002", patient_id=patient_id, **where)]
        if state == "FERME":
            return [finding("XDS-PAT-003", patient_id=patient_id, **where)]
        caller = self.caller_of(claims)
        status = self.authorisation_status(cx.id, patient, caller, call.now)
        if status == "INTERDIT":
            return [finding("XDS-PAT-004", patient_id=patient_id, caller=caller, **where)]
        if need_authorisation and status != "VALIDE":
            return [finding("XDS-PAT-005", patient_id=patient_id, caller=caller, status=status, **where)]
        return []

    def settle(self, findings: list[Finding]) -> list[Finding]:
        """Drop superseded duplicates; in lenient mode, turn non-blocking errors into warnings."""
        present = {f.rule for f in findings}
        attributes = {((f.extra or {}).get("params") or {}).get("attribute") for f in findings if f.rule == "XDS-001"}
        kept = []
        for item in findings:
            rivals = SUPERSEDED_BY.get(item.rule, ())
            if item.rule == "XDS-EBRIM-005":
                if ((item.extra or {}).get("params") or {}).get("attribute") in attributes:
                    continue
            elif any(r in present for r in rivals):
                continue
            kept.append(item)
        if not self.options.lenient:
            return kept
        return [dataclasses.replace(f, severity=Severity.WARNING)
                if f.severity == Severity.ERROR and not self._blocking(f) else f for f in kept]

    @staticmethod
    def _blocking(item: Finding) -> bool:
        if item.rule in BLOCKING:
            return True
        if item.rule in ("XDS-EBRIM-005", "XDS-EBRIM-006", "XDS-001"):
            return ((item.extra or {}).get("params") or {}).get("attribute") in _BLOCKING_ATTRIBUTES
        return False

    # --- ITI-41 -------------------------------------------------------------------------------------
    def provide_and_register(self, request, attachments: dict[str, bytes], security, call: Call,
                             injected: Finding | None = None, journal_seq: int | None = None) -> Outcome:
        """ITI-41: check everything, then store the submission atomically (or nothing)."""
        outcome = Outcome()
        if injected is not None:
            outcome.findings = [injected]
            outcome.status, outcome.verdict = STATUS_FAILURE, "fault-injected"
            return outcome
        claims, vihf_findings = self.check_vihf(security, call)
        outcome.claims = claims
        submission, findings = ebrim.parse_submission(request)
        findings = list(vihf_findings) + findings
        documents, document_findings = self._documents(request, attachments, submission)
        findings += document_findings
        ss = submission.submission_set
        findings += self._submission_checks(submission, documents)
        if ss is not None and ss.patient_id:
            findings += self.access_findings(ss.patient_id, claims, call, self.options.authorisation_for_feed)
        findings += self._replacement_checks(submission, claims)
        findings += self._set_id_checks(submission, documents)
        reports: dict[str, object] = {}  # sha1 of a document → its validator Report
        if self.hooks.check_submission is not None and ss is not None:
            context = self._rules_context(call, claims, submission, reports)
            findings += list(self.hooks.check_submission(submission, documents, claims, context))
        else:
            findings += self._validator_findings(submission, documents, reports)
        by_entry = {e.entry_uuid: _report_dict(reports.get(sha1_of(documents[e.entry_uuid])))
                    for e in submission.document_entries if e.entry_uuid in documents}
        findings = self.settle(findings)
        outcome.findings = findings
        outcome.meta = {"patient_id": ss.patient_id if ss else None,
                        "documents": [e.unique_id for e in submission.document_entries]}
        if any(f.severity == Severity.ERROR for f in findings):
            outcome.status, outcome.verdict = STATUS_FAILURE, "rejected"
            return outcome
        try:
            self._store_submission(submission, documents, by_entry, journal_seq)
        except _Conflict as conflict:
            outcome.findings = findings + conflict.findings
            outcome.status, outcome.verdict = STATUS_FAILURE, "rejected"
            return outcome
        outcome.verdict = "accepted-with-warnings" if findings else "accepted"
        outcome.meta["submission_set"] = ss.entry_uuid
        outcome.meta["entries"] = [e.entry_uuid for e in submission.document_entries]
        return outcome

    def validate_document(self, data: bytes, reports: dict | None = None):
        """The CDA validator's Report for these bytes (kept in `reports` by SHA-1), or None when validation is off."""
        validator = self.validator if self.options.validate_documents else None
        if validator is None:
            return None
        digest = sha1_of(data)
        if reports is not None and digest in reports:
            return reports[digest]
        report = validator.validate(data, name=digest)
        if reports is not None:
            reports[digest] = report
        return report

    def _rules_context(self, call: Call, claims, submission: Submission, reports: dict):
        """The context the rules' check_submission judges against (their `DmpContext`)."""
        factory = self.hooks.context_factory
        state_type = self.hooks.state_factory

        def patient_state(patient):
            state = self.dmp_state(patient.ins, patient)
            return state_type(exists=state != "INEXISTANT", closed=state == "FERME", opposed=patient.dmp_opposed)

        def authorisation(caller, patient):
            return self.authorisation_status(patient.ins, patient, caller, call.now)

        validate = (lambda data: self.validate_document(data, reports)) if self.options.validate_documents else None
        return factory(world=self.world, patient_state=patient_state if state_type else None,
                       authorisation=authorisation, require_authorisation=self.options.authorisation_for_feed,
                       test_mode=self.options.test_mode, validate_document=validate,
                       **self._size_limit_for(factory))

    def _size_limit_for(self, factory) -> dict:
        """The per-document limit, for a rules context that knows it (the backend reports the breach)."""
        fields = getattr(factory, "__dataclass_fields__", {})
        return {"max_document_size": self.options.max_document_size} if "max_document_size" in fields else {}

    def _documents(self, request, attachments, submission: Submission) -> tuple[dict[str, bytes], list[Finding]]:
        """Document@id → bytes, from xop:Include parts or inline base64; problems as findings."""
        documents: dict[str, bytes] = {}
        findings: list[Finding] = []
        entry_ids = {e.entry_uuid for e in submission.document_entries}
        for element in request.findall(f"{{{XDSB}}}Document"):
            doc_id = element.get("id") or ""
            try:
                documents[doc_id] = binary_content(element, attachments)
            except MissingPart as problem:
                findings.append(finding(problem.rule, detail=f"Document '{doc_id}': {problem.detail}",
                                        location=f"Document[@id='{doc_id}']"))
                documents.setdefault(doc_id, None)
            if doc_id not in entry_ids:
                findings.append(finding("XDS-41-002", id=doc_id, location=f"Document[@id='{doc_id}']"))
        for entry in submission.document_entries:
            if entry.entry_uuid not in documents:
                findings.append(finding("XDS-41-001", id=entry.entry_uuid,
                                        location=f"DocumentEntry[@id='{entry.entry_uuid}']"))
        return {k: v for k, v in documents.items() if v is not None}, findings

    def _submission_checks(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        findings: list[Finding] = []
        ss = submission.submission_set
        seen: dict[str, int] = {}
        for unique_id in [ss.unique_id if ss else None] + [e.unique_id for e in submission.document_entries]:
            if unique_id:
                seen[unique_id] = seen.get(unique_id, 0) + 1
        for unique_id, count in seen.items():
            if count > 1:
                findings.append(finding("XDS-41-006", unique_id=unique_id, location="uniqueId"))
        findings += self._registry_duplicates(submission, documents)
        for entry in submission.document_entries:
            where = f"DocumentEntry[@id='{entry.entry_uuid}']"
            content = documents.get(entry.entry_uuid)
            if ss is not None and entry.patient_id and ss.patient_id and entry.patient_id != ss.patient_id:
                findings.append(finding("XDS-41-005", id=entry.entry_uuid, entry=entry.patient_id,
                                        submission=ss.patient_id, location=where))
            if content is None:
                continue
            if self.oversized(content):
                findings.append(self._oversized_finding(entry.entry_uuid, content))
                continue
            sha1 = sha1_of(content)
            if entry.hash and entry.hash.lower() != sha1:
                findings.append(finding("XDS-41-003", id=entry.entry_uuid, declared=entry.hash, actual=sha1,
                                        location=where + "/Slot[@name='hash']"))
            if entry.size is not None and entry.size != len(content):
                findings.append(finding("XDS-41-004", id=entry.entry_uuid, declared=entry.size, actual=len(content),
                                        location=where + "/Slot[@name='size']"))
            findings += _content_findings(entry, content)
        return findings

    def oversized(self, content: bytes) -> bool:
        """Over the per-document limit: the document is refused unread (no hash check, no validation)."""
        return len(content) > self.options.max_document_size

    def _oversized_finding(self, entry_id: str, content: bytes) -> Finding:
        limit = self.options.max_document_size
        return finding("XDS-41-016", id=entry_id, size=len(content), limit=limit, limit_mib=f"{limit / 2**20:g}",
                       location=f"Document[@id='{entry_id}']")

    def _registry_duplicates(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        """XDS-41-007/008/009: uniqueIds the registry already holds, the document's SHA-1 compared.

        Run before the write, and again when a concurrent submission wins the race to the same uniqueId,
        so a loser sending the same bytes hears "already there, unchanged", as a sequential resend does.
        """
        findings: list[Finding] = []
        ss = submission.submission_set
        if ss is not None and ss.unique_id and self.store.submission_set(unique_id=ss.unique_id):
            findings.append(finding("XDS-41-007", unique_id=ss.unique_id, location="SubmissionSet.uniqueId"))
        for entry in submission.document_entries:
            content = documents.get(entry.entry_uuid)
            known = self.store.document_sha1(entry.unique_id) if entry.unique_id and content is not None else None
            if known is not None:
                rule = "XDS-41-009" if known == sha1_of(content) else "XDS-41-008"
                findings.append(finding(rule, unique_id=entry.unique_id,
                                        location=f"DocumentEntry[@id='{entry.entry_uuid}']"))
        return findings

    def _replacement_checks(self, submission: Submission, claims) -> list[Finding]:
        findings: list[Finding] = []
        local = {e.entry_uuid for e in submission.document_entries}
        for assoc in submission.associations:
            if assoc.type not in ebrim.RELATIONSHIP_TYPES or assoc.type == ebrim.SIGNS:
                continue
            where = f"Association[@id='{assoc.entry_uuid}']"
            if assoc.target in local:
                continue
            target = self.store.entry(assoc.target)
            if target is None:
                findings.append(finding("XDS-41-010", kind=assoc.kind, id=assoc.entry_uuid, target=assoc.target,
                                        location=where))
                continue
            if target.availability_status != ebrim.STATUS_APPROVED:
                findings.append(finding("XDS-41-011", id=assoc.entry_uuid, target=assoc.target,
                                        status=target.availability_status.rsplit(":", 1)[-1], location=where))
            source = submission.document_entry(assoc.source)
            if source is not None and source.patient_id and source.patient_id != target.patient_id:
                findings.append(finding("XDS-41-012", id=assoc.entry_uuid, target=assoc.target,
                                        patient=target.patient_id, location=where))
            if claims is not None and assoc.type in (ebrim.RPLC, ebrim.XFRM_RPLC) and not _is_author(target, claims):
                findings.append(finding("XDS-41-015", target=assoc.target, caller=self.caller_of(claims),
                                        location=where))
        return findings

    def _set_id_checks(self, submission: Submission, documents: dict[str, bytes]) -> list[Finding]:
        """XDS-41-017: a replacement (RPLC, XFRM_RPLC) is a new version of the same CDA document, so it keeps
        the replaced document's setId (HL7 CDA R2: setId is common to all versions of a document)."""
        findings: list[Finding] = []
        for assoc in submission.associations:
            if assoc.type not in (ebrim.RPLC, ebrim.XFRM_RPLC):
                continue
            new = documents.get(assoc.source)
            target = self.store.entry(assoc.target) if new is not None and not self.oversized(new) else None
            stored = self.store.document(target.unique_id) if target is not None else None
            old_set_id = cda_set_id(stored[0]) if stored is not None else None
            if old_set_id is None:
                continue  # not a CDA, no setId, or nothing to compare with (XDS-41-010 says why)
            new_set_id = cda_set_id(new)
            if new_set_id != old_set_id:
                findings.append(finding("XDS-41-017", id=assoc.source, set_id=new_set_id or "(none)",
                                        target=assoc.target, old_set_id=old_set_id,
                                        location=f"Association[@id='{assoc.entry_uuid}']"))
        return findings

    def _validator_findings(self, submission: Submission, documents: dict[str, bytes], reports: dict) -> list[Finding]:
        """Without the rules module: the CDA validator's errors on each XML document, as registry errors."""
        findings: list[Finding] = []
        for entry in submission.document_entries:
            content = documents.get(entry.entry_uuid)
            if content is None or self.oversized(content) or not _is_cda_candidate(entry, content):
                continue
            report = self.validate_document(content, reports)
            if report is None:
                continue
            for item in report.findings:
                if item.severity != Severity.ERROR:
                    continue
                extra = {**(item.extra or {}), "xds_code": "XDSRepositoryError", "document": entry.unique_id}
                place = f"Document[@id='{entry.entry_uuid}']"
                if item.line:
                    place += f" line {item.line}" + (f" column {item.column}" if item.column else "")
                findings.append(dataclasses.replace(item, extra=extra, location=item.location or place))
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
            entry.repository_unique_id = self.options.repository_unique_id
            entry.availability_status = ebrim.STATUS_APPROVED
            entry.home_community_id = self.options.home_community_id
        try:
            with self.store.transaction() as db:
                Store.insert_submission_set(db, ss, journal_seq)
                for entry in submission.document_entries:
                    content = documents[entry.entry_uuid]
                    Store.insert_document(db, entry.unique_id, content, entry.mime_type, entry.hash)
                    Store.insert_entry(db, entry, ss.entry_uuid, reports.get(entry.entry_uuid))
                for assoc in submission.associations:
                    Store.insert_association(db, assoc, ss.entry_uuid)
                    replaces = assoc.type in (ebrim.RPLC, ebrim.XFRM_RPLC) and not submission.document_entry(assoc.target)
                    if replaces and not Store.set_entry_status(db, assoc.target, ebrim.STATUS_APPROVED,
                                                               ebrim.STATUS_DEPRECATED):
                        raise _Conflict(finding("XDS-41-011", id=assoc.entry_uuid, target=assoc.target,
                                                    status="no longer Approved (replaced concurrently)"))
        except sqlite3.IntegrityError as exc:
            # A concurrent submission registered the same uniqueId between the checks and this write: the
            # winner has committed, so the same comparison as before the write tells what the loser resent.
            clashes = self._registry_duplicates(submission, documents)
            if clashes:
                raise _Conflict(*clashes) from None
            if "submission_sets.unique_id" in str(exc):  # the winner is gone again (reset): say what clashed
                raise _Conflict(finding("XDS-41-007", unique_id=ss.unique_id)) from None
            raise _Conflict(finding("XDS-41-008", unique_id="(one of the documents)")) from None

    # --- ITI-43 -------------------------------------------------------------------------------------
    def retrieve(self, request, security, call: Call, injected: Finding | None = None) -> Outcome:
        """ITI-43: the documents asked for (Success, PartialSuccess or Failure)."""
        outcome = Outcome(payload=[])
        if injected is not None:
            return Outcome(findings=[injected], status=STATUS_FAILURE, verdict="fault-injected", payload=[])
        claims, findings = self.check_vihf(security, call)
        outcome.claims = claims
        requests = request.findall(f"{{{XDSB}}}DocumentRequest")
        if not requests:
            findings.append(finding("XDS-43-003", detail="no DocumentRequest element", location="RetrieveDocumentSetRequest"))
        found = []
        for index, item in enumerate(requests, start=1):
            repository = (item.findtext(f"{{{XDSB}}}RepositoryUniqueId") or "").strip()
            unique_id = (item.findtext(f"{{{XDSB}}}DocumentUniqueId") or "").strip()
            where = f"DocumentRequest[{index}]"
            if not unique_id:
                findings.append(finding("XDS-43-003", detail=f"{where} has no DocumentUniqueId", location=where))
                continue
            if repository != self.options.repository_unique_id:
                findings.append(finding("XDS-43-001", repository=repository or "(none)",
                                        own=self.options.repository_unique_id, location=where))
                continue
            entries = self.store.entries_by_unique_id(unique_id)
            stored = self.store.document(unique_id)
            from segur.mocks.dmp.queries import _visible

            # The latest metadata version rules (ITI-57 may have masked it); not Deleted, masked only for its authors.
            latest = max(entries, key=lambda e: e.version) if entries else None
            visible = [latest] if latest is not None and _visible(latest, claims) else []
            if stored is None or not visible:
                findings.append(finding("XDS-43-002", unique_id=unique_id, location=where))
                continue
            access = self.access_findings(visible[-1].patient_id, claims, call, need_authorisation=True)
            if access:
                findings += access
                continue
            content, mime = stored
            found.append({"repository": repository, "unique_id": unique_id, "mime_type": mime or visible[-1].mime_type,
                          "content": content, "home": self.options.home_community_id})
        findings = self.settle(findings)
        outcome.findings, outcome.payload = findings, found
        has_errors = any(f.severity == Severity.ERROR for f in findings)
        if has_errors and found:
            outcome.status, outcome.verdict = STATUS_PARTIAL, "partial"
        elif has_errors:
            outcome.status, outcome.verdict = STATUS_FAILURE, "rejected"
        return outcome

    # --- ITI-18 / ITI-57 (logic in their own modules) -------------------------------------------------
    def stored_query(self, request, security, call: Call, injected: Finding | None = None) -> Outcome:
        from segur.mocks.dmp.queries import run_stored_query

        return run_stored_query(self, request, security, call, injected)

    def update(self, request, security, call: Call, injected: Finding | None = None) -> Outcome:
        from segur.mocks.dmp.updates import run_update

        return run_update(self, request, security, call, injected)

    # --- TD0.2 / TD0.3 --------------------------------------------------------------------------------
    def td02(self, ins: str, oid: str, claims, call: Call) -> dict:
        """TD0.2: does this patient have a DMP, and is this caller authorised on it."""
        patient = self.world.patient_by_ins(ins)
        caller = self.caller_of(claims)
        state = self.dmp_state(ins, patient)
        status = self.authorisation_status(ins, patient, caller, call.now)
        answer = {"ins": ins, "oid": oid, "dmp": state, "autorisation": status, "caller": caller}
        if status == "INTERDIT":
            answer["raison"] = "Opposition du patient à l'accès des professionnels à son DMP"
        stored = self.store.authorisation(ins, caller)
        if stored and stored[1]:
            answer["dateFin"] = stored[1]
        return answer

    def td03(self, ins: str, oid: str, action: str, claims, call: Call) -> dict:
        """TD0.3: add (AJOUT) or remove (SUPPRESSION) the caller's authorisation on the patient's DMP."""
        patient = self.world.patient_by_ins(ins)
        caller = self.caller_of(claims)
        state = self.dmp_state(ins, patient)
        before = self.authorisation_status(ins, patient, caller, call.now)
        if state != "OUVERT":
            return {"ins": ins, "oid": oid, "action": action, "resultat": "REFUSE", "dmp": state,
                    "raison": "Le patient n'a pas de DMP ouvert", "autorisation": before}
        if before == "INTERDIT":
            return {"ins": ins, "oid": oid, "action": action, "resultat": "REFUSE", "dmp": state,
                    "raison": "Opposition du patient", "autorisation": before}
        if action == "AJOUT":
            expires = (call.now or datetime.now(UTC)) + timedelta(days=self.options.authorisation_days)
            self.store.set_authorisation(ins, caller, "VALIDE", expires.isoformat())
        else:
            self.store.delete_authorisation(ins, caller)
        return {"ins": ins, "oid": oid, "action": action, "resultat": "OK", "dmp": state,
                "autorisation": self.authorisation_status(ins, patient, caller, call.now)}

    # --- admin ----------------------------------------------------------------------------------------
    def documents_by_patient(self, patient_id: str | None = None) -> dict:
        """Per patient: each document entry's metadata, status and validation report (admin view)."""
        entries = self.store.entries_for_patient(patient_id) if patient_id else self.store.all_entries()
        result: dict[str, list] = {}
        for entry in entries:
            data = dataclasses.asdict(entry)
            for key in ("classifications", "external_identifiers", "slots"):
                data.pop(key, None)
            data["validation"] = self.store.validation_of(entry.entry_uuid)
            result.setdefault(entry.patient_id, []).append(data)
        return result

    def document_view(self, unique_id: str) -> dict | None:
        """One stored document by its uniqueId (admin view): patient, status, size, mimeType and every
        metadata version (ITI-57 keeps the uniqueId), each as `/_admin/documents` lists it; None if unknown."""
        entries = sorted(self.store.entries_by_unique_id(unique_id), key=lambda e: e.version)
        if not entries:
            return None
        versions = []
        for entry in entries:
            data = dataclasses.asdict(entry)
            for key in ("classifications", "external_identifiers", "slots"):
                data.pop(key, None)
            data["validation"] = self.store.validation_of(entry.entry_uuid)
            versions.append(data)
        current = next((e for e in reversed(entries) if e.availability_status == ebrim.STATUS_APPROVED), entries[-1])
        stored = self.store.document_info(unique_id)
        return {"service": "dmp", "unique_id": unique_id, "patient": current.patient_id,
                "status": current.availability_status, "entry_uuid": current.entry_uuid,
                "mime_type": stored["mime_type"] if stored else current.mime_type,
                "size": stored["size"] if stored else None, "sha1": stored["sha1"] if stored else None,
                "versions": versions}

    def reset(self) -> None:
        self.store.reset()
        self._faulted_dmp.clear()


class _Conflict(Exception):
    """What a write found changed since the checks (a concurrent submission won): the findings to answer."""

    def __init__(self, *items: Finding):
        super().__init__("; ".join(item.message for item in items))
        self.findings = list(items)


def _plain_context(**kwargs) -> dict:
    return kwargs


def _report_dict(report) -> dict | None:
    if report is None:
        return None
    return {"valid": report.valid, "unreadable": report.unreadable, "findings": [f.to_dict() for f in report.findings],
            "profile": report.profile, "timings": report.timings,
            "layers": [layer.to_dict() for layer in getattr(report, "layers", [])]}


def _load_world():
    from segur.fixtures.world import load_world

    return load_world()


def _is_cda_candidate(entry, content: bytes) -> bool:
    mime = (entry.mime_type or "").lower()
    return mime in ("text/xml", "application/xml", "application/hl7-v3+xml") or content.lstrip()[:1] == b"<"


def _content_findings(entry, content: bytes) -> list[Finding]:
    """A document whose declared type its bytes contradict (a "PDF" that is not one, "XML" that is not XML)."""
    from segur.validators.segur_rules.pdf import pdf_problem

    mime = (entry.mime_type or "").lower()
    where = f"DocumentEntry[@id='{entry.entry_uuid}']/@mimeType"
    if mime == "application/pdf":
        problem = pdf_problem(content)
        if problem:
            return [finding("XDS-41-013", id=entry.entry_uuid, declared="application/pdf", detail=problem,
                            location=where)]
    elif mime in ("text/xml", "application/xml") and not content.lstrip().startswith(b"<"):
        return [finding("XDS-41-013", id=entry.entry_uuid, declared=mime,
                        detail=f"it does not start with an XML tag (it starts with {content[:8]!r})", location=where)]
    return []


def _is_author(entry, claims) -> bool:
    """EX_2.1-1140: the caller is one of the document's authors (person, else institution)."""
    person = getattr(claims, "subject_nameid", None)
    structure = getattr(claims, "structure_id", None)
    for author in entry.authors:
        if person and author.person and ebrim.Xcn.parse(author.person).id == person:
            return True
        if structure and any(ebrim.Xon.parse(i).id == structure for i in author.institutions):
            return True
    return bool(entry.legal_authenticator and person and ebrim.Xcn.parse(entry.legal_authenticator).id == person)


assert set(SUPERSEDED_BY) <= set(PROTOCOL_RULES)
