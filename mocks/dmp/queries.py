"""ITI-18 Registry Stored Query: the five stored queries a DMP consumer uses, LeafClass or ObjectRef.

Query ids and parameters: IHE ITI TF vol 2a §3.18.4.1.2.3.7 (FindDocuments
urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d, FindSubmissionSets
urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9, GetDocuments urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4,
GetAssociations urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155, GetSubmissionSetAndContents
urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83). Parameter values (§3.18.4.1.2.3.5): strings in
single quotes, several values in one Value as ('a','b') or in several Values (OR); the same Slot
repeated is an AND (eventCodeList, confidentialityCode); coded values as 'code^^scheme';
times are DTM, "From" inclusive and "To" exclusive.

The DMP's visibility rules apply on top: a Deleted document is never returned; a document
masked from professionals (confidentialityCode MASQUE_PS, 1.2.250.1.213.1.1.4.13) is returned
only to one of its authors.
"""

from __future__ import annotations

import re

from segur.kernel.findings import Finding
from segur.mocks.dmp import xds_metadata
from segur.mocks.dmp.calls import STATUS_FAILURE, Call, Outcome, StoredQuery
from segur.mocks.dmp.rules import (
    XDS_18_001,
    XDS_18_002,
    XDS_18_003,
    XDS_18_004,
    XDS_18_005,
)
from segur.mocks.dmp.visibility import visible

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_SUBMISSION_SET_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
QUERY_NAMES = {
    FIND_DOCUMENTS: "FindDocuments", FIND_SUBMISSION_SETS: "FindSubmissionSets",
    GET_DOCUMENTS: "GetDocuments", GET_ASSOCIATIONS: "GetAssociations",
    GET_SUBMISSION_SET_AND_CONTENTS: "GetSubmissionSetAndContents",
}

#: The FindDocuments parameters holding codes of a single-valued attribute: (attribute, parameter suffix).
SINGLE_CODE_PARAMETERS = (
    ("class_code", "ClassCode"), ("type_code", "TypeCode"), ("practice_setting_code", "PracticeSettingCode"),
    ("healthcare_facility_type_code", "HealthcareFacilityTypeCode"), ("format_code", "FormatCode"))
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


class QueryError(Exception):
    def __init__(self, item: Finding):
        super().__init__(item.message)
        self.finding = item


class Parameters:
    """The Slots of an AdhocQuery: name → list of occurrences, each a list of values (unquoted)."""

    def __init__(self, raw_slots: dict[str, list[list[str]]], query_name: str):
        self.query = query_name
        self.slots: dict[str, list[list[str]]] = {}
        for name, occurrences in raw_slots.items():
            for texts in occurrences:
                values: list[str] = []
                for text in texts:
                    values.extend(_split_value(name, text.strip()))
                self.slots.setdefault(name, []).append(values)

    def has(self, name: str) -> bool:
        return name in self.slots

    def single(self, name: str, required: bool = False) -> str | None:
        if name not in self.slots:
            if required:
                raise QueryError(XDS_18_002.finding(query=self.query, parameter=name, location=name))
            return None
        values = [v for occurrence in self.slots[name] for v in occurrence]
        if len(values) != 1:
            raise QueryError(XDS_18_004.finding(parameter=name, value=repr(values)[:100],
                                                detail="exactly one value is expected", location=name))
        return values[0]

    def values(self, name: str, required: bool = False) -> list[str] | None:
        """All values of the parameter (OR), or None when absent."""
        if name not in self.slots:
            if required:
                raise QueryError(XDS_18_002.finding(query=self.query, parameter=name, location=name))
            return None
        return [v for occurrence in self.slots[name] for v in occurrence]

    def and_of_ors(self, name: str) -> list[list[str]] | None:
        return self.slots.get(name)

    def coded(self, name: str) -> list[tuple[str, str | None]] | None:
        """The codes of a parameter (OR), or None when absent."""
        return self.codes(self.values(name), name)

    def codes(self, values: list[str] | None, name: str) -> list[tuple[str, str | None]] | None:
        if values is None:
            return None
        result = []
        for value in values:
            parts = value.split("^")
            if not parts[0]:
                raise QueryError(XDS_18_004.finding(parameter=name, value=value, location=name,
                                                    detail="a code is written 'code^^codingScheme'"))
            result.append((parts[0], parts[2] if len(parts) > 2 and parts[2] else None))
        return result


def _split_value(name: str, text: str) -> list[str]:
    if text.startswith("(") and text.endswith(")"):
        inner = text[1:-1].strip()
        found = _QUOTED.findall(inner)
        if found:
            return [v.replace("''", "'") for v in found]
        return [v.strip() for v in inner.split(",") if v.strip()]
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return [text[1:-1].replace("''", "'")]
    if text and not text.lstrip("-").isdigit():
        raise QueryError(XDS_18_004.finding(parameter=name, value=text[:100],
                                            detail="a string value must be in single quotes", location=name))
    return [text] if text else []


def _dtm(value: str | None) -> str | None:
    if value is None:
        return None
    digits = value.strip()
    return (digits + "00000000000000")[:14] if digits.isdigit() else None


def _in_range(value: str | None, low: str | None, high: str | None) -> bool:
    if low is None and high is None:
        return True
    v = _dtm(value)
    if v is None:
        return False
    return (low is None or v >= _dtm(low)) and (high is None or v < _dtm(high))


def _code_match(code: xds_metadata.Code | None, wanted: list[tuple[str, str | None]]) -> bool:
    return code is not None and any(code.code == c and (s is None or code.scheme == s) for c, s in wanted)


def _like(pattern: str, value: str) -> bool:
    """SQL LIKE as ITI-18 uses it for author names: % any run, _ one character."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _authored_by(obj, patterns: list[str]) -> bool:
    """One of the object's authorPersons matches one of the AuthorPerson patterns."""
    return any(a.person and _like(p, a.person) for p in patterns for a in obj.authors)


def _timed(params: Parameters, prefix: str, attribute: str):
    low = params.single(f"{prefix}{attribute}From")
    high = params.single(f"{prefix}{attribute}To")
    for bound, name in ((low, f"{prefix}{attribute}From"), (high, f"{prefix}{attribute}To")):
        if bound is not None and _dtm(bound) is None:
            raise QueryError(XDS_18_004.finding(parameter=name, value=bound, location=name,
                                                detail="a time is a DTM (YYYY[MM[DD[hh[mm[ss]]]]])"))
    return low, high


def find_documents(backend, params: Parameters, call: Call) -> tuple[list, list[Finding]]:
    patient_id = params.single("$XDSDocumentEntryPatientId", required=True)
    statuses = params.values("$XDSDocumentEntryStatus", required=True)
    findings = backend.access_findings(patient_id, call, need_authorisation=True)
    if findings:
        return [], findings
    wanted_types = params.values("$XDSDocumentEntryType") or [xds_metadata.DOCUMENT_ENTRY_STABLE]
    single_codes = {attribute: params.coded(f"$XDSDocumentEntry{name}")
                    for attribute, name in SINGLE_CODE_PARAMETERS}
    multi_codes = {
        "event_codes": [params.codes(v, "$XDSDocumentEntryEventCodeList")
                        for v in params.and_of_ors("$XDSDocumentEntryEventCodeList") or []],
        "confidentiality_codes": [params.codes(v, "$XDSDocumentEntryConfidentialityCode")
                                  for v in params.and_of_ors("$XDSDocumentEntryConfidentialityCode") or []],
    }
    times = {attr: _timed(params, "$XDSDocumentEntry", name)
             for attr, name in (("creation_time", "CreationTime"), ("service_start_time", "ServiceStartTime"),
                                ("service_stop_time", "ServiceStopTime"))}
    authors = params.values("$XDSDocumentEntryAuthorPerson")
    result = []
    for entry in backend.store.entries_for_patient(patient_id):
        if entry.availability_status not in statuses or entry.object_type not in wanted_types:
            continue
        if any(wanted is not None and not _code_match(getattr(entry, attr), wanted)
               for attr, wanted in single_codes.items()):
            continue
        if any(not any(_code_match(code, wanted) for code in getattr(entry, attr))
               for attr, groups in multi_codes.items() for wanted in groups):
            continue
        if any(not _in_range(getattr(entry, attr), low, high) for attr, (low, high) in times.items()):
            continue
        if authors is not None and not _authored_by(entry, authors):
            continue
        if visible(entry, call.claims):
            result.append(entry)
    return result, []


def find_submission_sets(backend, params: Parameters, call: Call) -> tuple[list, list[Finding]]:
    patient_id = params.single("$XDSSubmissionSetPatientId", required=True)
    statuses = params.values("$XDSSubmissionSetStatus", required=True)
    findings = backend.access_findings(patient_id, call, need_authorisation=True)
    if findings:
        return [], findings
    sources = params.values("$XDSSubmissionSetSourceId")
    low, high = _timed(params, "$XDSSubmissionSet", "SubmissionTime")
    authors = params.values("$XDSSubmissionSetAuthorPerson")
    content_types = params.codes(
        params.values("$XDSSubmissionSetContentType"), "$XDSSubmissionSetContentType")
    result = []
    for ss in backend.store.submission_sets_for_patient(patient_id):
        if ss.availability_status not in statuses:
            continue
        if sources is not None and ss.source_id not in sources:
            continue
        if not _in_range(ss.submission_time, low, high):
            continue
        if authors is not None and not _authored_by(ss, authors):
            continue
        if content_types is not None and not _code_match(ss.content_type_code, content_types):
            continue
        result.append(ss)
    return result, []


def _exactly_one(params: Parameters, *names: str) -> str:
    present = [n for n in names if params.has(n)]
    if len(present) != 1:
        raise QueryError(
            XDS_18_003.finding(query=params.query, parameters=" or ".join(names), location=params.query))
    return present[0]


def get_documents(backend, params: Parameters, call: Call) -> tuple[list, list[Finding]]:
    which = _exactly_one(params, "$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId")
    wanted = params.values(which)
    entries = []
    for value in wanted:
        if which == "$XDSDocumentEntryEntryUUID":
            found = backend.store.entry(value)
            entries += [found] if found else []
        else:
            entries += backend.store.entries_by_unique_id(value)
    return _checked_entries(backend, entries, call)


def _checked_entries(backend, entries, call: Call):
    findings: list[Finding] = []
    allowed = []
    checked: dict[str, list[Finding]] = {}
    for entry in entries:
        if entry.patient_id not in checked:
            checked[entry.patient_id] = backend.access_findings(entry.patient_id, call,
                                                                need_authorisation=True)
            findings += checked[entry.patient_id]
        if not checked[entry.patient_id] and visible(entry, call.claims):
            allowed.append(entry)
    return allowed, findings


def get_associations(backend, params: Parameters, call: Call) -> tuple[list, list[Finding]]:
    uuids = params.values("$uuid", required=True)
    associations = backend.store.associations_touching(uuids)
    # Only associations whose documents the caller may see.
    entries = [backend.store.entry(u) for u in uuids]
    _, findings = _checked_entries(backend, [e for e in entries if e], call)
    return ([] if findings else associations), findings


def get_submission_set_and_contents(backend, params: Parameters, call: Call) -> tuple[list, list[Finding]]:
    which = _exactly_one(params, "$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId")
    value = params.single(which)
    ss = (backend.store.submission_set(entry_uuid=value) if which == "$XDSSubmissionSetEntryUUID"
          else backend.store.submission_set(unique_id=value))
    if ss is None:
        return [], []
    findings = backend.access_findings(ss.patient_id, call, need_authorisation=True)
    if findings:
        return [], findings
    formats = params.codes(params.values("$XDSDocumentEntryFormatCode"), "$XDSDocumentEntryFormatCode")
    confidentiality = [params.codes(v, "$XDSDocumentEntryConfidentialityCode")
                       for v in params.and_of_ors("$XDSDocumentEntryConfidentialityCode") or []]
    types = params.values("$XDSDocumentEntryType") or [xds_metadata.DOCUMENT_ENTRY_STABLE]
    members = set(backend.store.association_targets(ss.entry_uuid, (xds_metadata.HAS_MEMBER,)))
    entries = []
    for entry in backend.store.entries_in_submission_set(ss.entry_uuid):
        if entry.entry_uuid not in members or entry.object_type not in types:
            continue
        if not visible(entry, call.claims):
            continue
        if formats is not None and not _code_match(entry.format_code, formats):
            continue
        codes = entry.confidentiality_codes
        if any(not any(_code_match(c, wanted) for c in codes) for wanted in confidentiality):
            continue
        entries.append(entry)
    shown = {e.entry_uuid for e in entries}
    associations = [a for a in backend.store.associations_touching([ss.entry_uuid])
                    if a.type == xds_metadata.HAS_MEMBER and a.source == ss.entry_uuid and a.target in shown]
    return [ss, *entries, *associations], []


HANDLERS = {
    FIND_DOCUMENTS: find_documents, FIND_SUBMISSION_SETS: find_submission_sets, GET_DOCUMENTS: get_documents,
    GET_ASSOCIATIONS: get_associations, GET_SUBMISSION_SET_AND_CONTENTS: get_submission_set_and_contents,
}


def run_stored_query(backend, query: StoredQuery | None, call: Call,
                     injected: Finding | None = None) -> Outcome:
    """ITI-18 on an AdhocQuery read from the wire (None: it had no ResponseOption or no AdhocQuery)."""
    if injected is not None:
        return Outcome(
            findings=[injected], status=STATUS_FAILURE, verdict="fault-injected", payload=([], "LeafClass"))
    findings = list(call.vihf_findings)
    outcome = Outcome(claims=call.claims, payload=([], "LeafClass"))
    if query is None:
        findings.append(XDS_18_005.finding(detail="ResponseOption and AdhocQuery are required",
                                           location="AdhocQueryRequest"))
    else:
        name = QUERY_NAMES.get(query.query_id, query.query_id)
        outcome.meta = {"query": name, "returnType": query.return_type}
        if query.return_type not in ("LeafClass", "ObjectRef"):
            findings.append(XDS_18_005.finding(
                detail=f"returnType {query.return_type!r} is neither LeafClass nor ObjectRef",
                location="ResponseOption/@returnType"))
        elif query.query_id not in HANDLERS:
            findings.append(XDS_18_001.finding(
                query_id=query.query_id or "(none)", location="AdhocQuery/@id"))
        elif not Outcome(findings=backend.settle(findings)).errors:
            try:
                params = Parameters(query.slots, QUERY_NAMES[query.query_id])
                objects, query_findings = HANDLERS[query.query_id](backend, params, call)
                findings += query_findings
                outcome.payload = (objects, query.return_type)
                outcome.meta["count"] = len(objects)
            except QueryError as problem:
                findings.append(problem.finding)
    outcome.findings = backend.settle(findings)
    if outcome.errors:
        outcome.refuse()
        outcome.payload = ([], outcome.payload[1])
    return outcome
