"""A small DMP client: XDS metadata from a CDA document, a signed VIHF, ITI-41/18/43/57 and TD0.2/TD0.3.

See `segur.mocks.dmp.client.api` for the whole API and docs/dmp.md ("Client").
"""

from .api import (
    CallerIdentity,
    Defects,
    DmpClient,
    QueryResult,
    RegistryResult,
    RetrievedDocument,
    RetrieveResult,
    status_urn,
)
from .metadata import Coded, DocumentMetadata, SubmissionSetMetadata, metadata_from_cda, submission_set_for
from .vihf import VihfDefects, VihfIdentity, build_vihf, security_header
from .wire import RegistryErrorItem, SoapFault

__all__ = [
    "CallerIdentity", "Coded", "Defects", "DmpClient", "DocumentMetadata", "QueryResult",
    "RegistryErrorItem", "RegistryResult", "RetrieveResult", "RetrievedDocument", "SoapFault",
    "SubmissionSetMetadata", "VihfDefects", "VihfIdentity", "build_vihf", "metadata_from_cda",
    "security_header", "status_urn", "submission_set_for",
]
