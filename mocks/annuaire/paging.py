"""Paging links as the real Annuaire santé server writes them: `[base]/_page?id=<opaque id>`.

The real server (ansforge/annuaire-sante-fhir-serveur: FhirBundleBuilder.getFooter,
FhirResourceServlet.searchNextPage) answers a search with a `next` link to `[base]/_page?id=…`,
an id it stores server-side, and a `self` link; no `previous`, `first` or `last`. The mock's id
carries the search itself (resource type, parameters, position), base64url-encoded, so it needs
no server-side store and still works after a restart. Clients must treat it as opaque and just
follow `next`.
"""

from __future__ import annotations

import base64
import binascii
import json

from segur.mocks.annuaire import rules
from segur.mocks.annuaire.search import SearchError


def encode(resource_type: str, params: dict[str, list[str]], offset: int) -> str:
    """The opaque page id of the search `params` on `resource_type` from result `offset`."""
    text = json.dumps({"type": resource_type, "params": params, "offset": offset}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str | None) -> tuple[str, dict[str, list[str]], int]:
    """The search a page id stands for; an id the mock did not write is a bad `id` value (ANN-004)."""
    try:
        padded = (token or "") + "=" * (-len(token or "") % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        resource_type, params, offset = data["type"], data["params"], data["offset"]
        valid = (isinstance(resource_type, str) and isinstance(offset, int) and offset >= 0
                 and isinstance(params, dict)
                 and all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in params.values()))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not token or not valid:
        raise SearchError(rules.BAD_PARAMETER_VALUE, name="id", value=(token or "")[:80],
                          reason="not a page id this server gave",
                          how="Follow the next link of a search Bundle as is.")
    return resource_type, params, offset
