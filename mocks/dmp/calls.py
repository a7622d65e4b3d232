"""What passes between the wire (`responses.py`), the DMP's state (`models.py`) and the service: who
called, what a transaction decided, where the endpoints are. Plain data, no HTTP and no XML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from segur.kernel.findings import Finding, Severity

#: The endpoints, under the DMP test platform's service paths (see `responses.py`).
BASE = "/si-dmp-server/v2/services"
SERVICES = ("repository", "registry", "patients", "habilitations")

#: RegistryResponse statuses (ebXML RegRep 3.0; PartialSuccess: IHE ITI TF vol 3 §4.2.4).
STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
STATUS_PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"


@dataclass
class Call:
    """One transaction's caller, as the wire established it: the VIHF already verified."""

    transaction: str
    claims: object = None  # the VIHF's claims (`vihf.VihfClaims`) when its signature holds, else None
    vihf_findings: list[Finding] = field(default_factory=list)  # what the VIHF verification found
    client: dict = field(default_factory=dict)  # TLS client identity and address, for the journal
    now: datetime | None = None  # the clock the transaction judges expiry with (None: now)


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

    def refuse(self) -> Outcome:
        self.status, self.verdict = STATUS_FAILURE, "rejected"
        return self


@dataclass(frozen=True)
class DocumentRequest:
    """One document an ITI-43 asks for (`where`: its place in the request, for the error location)."""

    repository_unique_id: str
    unique_id: str
    where: str


@dataclass
class StoredQuery:
    """An ITI-18 AdhocQuery as read from the wire: its id, return type and raw parameter values
    (slot name → one list of Value texts per occurrence of the slot)."""

    query_id: str
    return_type: str
    slots: dict[str, list[list[str]]] = field(default_factory=dict)
