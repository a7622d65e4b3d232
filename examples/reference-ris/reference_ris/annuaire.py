"""Checking an MSSanté recipient in the Annuaire santé before sending (REM RIS ANN/va1.05: the system
must be able to look a correspondent's MSSanté address up in the directory).

The directory's FHIR API (ANS "API FHIR Annuaire Santé" v2, docs/annuaire.md): `Practitioner` and
`Organization` searched with `mailbox-mss:exact=<address>`, header `ESANTE-API-KEY`. Closed mailboxes
are not published, so an address the directory does not know is not sent to.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from .errors import ConfigError, Refused, ServiceUnavailable


def search(config, resource: str, params: dict) -> list[dict]:
    """The resources (matches and includes) of one directory search; `ServiceUnavailable` when the
    directory cannot answer, `Refused` when it refuses the search."""
    if not config.annuaire_fhir_base:
        raise ConfigError("missing configuration: annuaire_fhir_base (the Annuaire santé FHIR API)")
    url = f"{config.annuaire_fhir_base.rstrip('/')}/{resource}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"ESANTE-API-KEY": config.annuaire_api_key,
                                                   "Accept": "application/fhir+json"})
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            bundle = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise ServiceUnavailable(f"Annuaire santé: HTTP {exc.code}") from exc
        raise Refused(f"Annuaire santé refused the search: HTTP {exc.code} {exc.read()[:300]!r}") from exc
    except (OSError, ValueError) as exc:
        raise ServiceUnavailable(f"Annuaire santé unreachable: {exc}") from exc
    return [entry.get("resource") or {} for entry in bundle.get("entry") or []]


def find_mailbox(config, address: str) -> dict | None:
    """The directory entry publishing `address` ({"resource", "id", "name"}), or None. Raises
    `ServiceUnavailable` when the directory cannot be reached."""
    for resource in ("Practitioner", "Organization"):
        for found in search(config, resource, {"mailbox-mss:exact": address}):
            names = found.get("name")
            if isinstance(names, list) and names:
                name = " ".join(names[0].get("given", []) + [names[0].get("family", "")]).strip()
            else:
                name = names or ""
            return {"resource": resource, "id": found.get("id"), "name": name}
    return None


def check_recipient(config, address: str, step) -> None:
    """Refuse to send to an address the directory does not publish; go on (and say so) when the directory
    is not configured or not reachable: the directory is a help, not a gate for MSSanté itself."""
    if not config.annuaire_fhir_base:
        step(f"Annuaire santé not configured: {address} not checked")
        return
    try:
        found = find_mailbox(config, address)
    except ServiceUnavailable as exc:
        step(f"Annuaire santé unreachable ({exc}): {address} not checked")
        return
    if found is None:
        raise Refused(f"{address} is not an MSSanté address published in the Annuaire santé "
                      "(unknown or closed mailbox): not sent")
    step(f"Annuaire santé: {address} is {found['resource']}/{found['id']} {found['name']}".rstrip())
