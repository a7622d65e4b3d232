"""The Annuaire santé mock's backend: the directory built from the world, search, read, keys.

No HTTP here (that is app.py): this answers "what would the directory return for this query",
as plain dicts (FHIR JSON), or raises `SearchError` naming the rule a request breaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from segur.fixtures.world import World, load_world
from segur.mockkit import FaultBook, Journal
from segur.mocks.annuaire import rules
from segur.mocks.annuaire.resources import build_directory
from segur.mocks.annuaire.search import (
    INCLUDES,
    PARAMETERS,
    RESULT_PARAMETERS,
    REVINCLUDES,
    SearchError,
    matcher,
)

BASE_PATH = "/fhir/v2"
DEFAULT_COUNT = 50
MAX_COUNT = 1000


class AnnuaireMock:
    """Holds the directory and the test controls; `api_keys=None` accepts any non-empty key."""

    name = "annuaire"

    def __init__(self, world: World | None = None, api_keys: Iterable[str] | None = None):
        self.world = world or load_world()
        self.api_keys = frozenset(api_keys) if api_keys else None
        self.directory = build_directory(self.world)
        self.journal = Journal(self.name)
        self.faults = FaultBook()
        self.base_url = ""

    # -- admin hooks ---------------------------------------------------------------------------
    def endpoints(self) -> dict:
        return {"fhir_base": f"{self.base_url}{BASE_PATH}", "metadata": f"{self.base_url}{BASE_PATH}/metadata",
                "admin": f"{self.base_url}/_admin/", "api_key_header": "ESANTE-API-KEY"}

    def reset(self) -> None:
        self.directory = build_directory(self.world)

    # -- checks ----------------------------------------------------------------------------------
    def check_key(self, key: str | None) -> None:
        if not key:
            raise SearchError(rules.MISSING_KEY)
        if self.api_keys is not None and key not in self.api_keys:
            raise SearchError(rules.UNKNOWN_KEY, key=key)

    def check_type(self, resource_type: str) -> None:
        if resource_type not in self.directory:
            raise SearchError(rules.UNSUPPORTED_TYPE, resource=resource_type)

    # -- FHIR interactions -----------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> dict:
        self.check_type(resource_type)
        resource = self.directory[resource_type].get(resource_id)
        if resource is None:
            raise SearchError(rules.UNKNOWN_RESOURCE, resource=resource_type, id=resource_id)
        return resource

    def search(self, resource_type: str, params: Mapping[str, list[str]], self_url: str) -> dict:
        """A searchset Bundle for `params` (each name mapped to its repeated values)."""
        self.check_type(resource_type)
        supported = PARAMETERS[resource_type]
        predicates = [matcher(resource_type, name, values, supported)
                      for name, values in params.items() if name not in RESULT_PARAMETERS]
        count = _int_param(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        offset = _int_param(params, "_offset", 0, 0, None)
        includes = _include_targets(resource_type, params.get("_include", []), INCLUDES, "_include")
        revincludes = _include_targets(resource_type, params.get("_revinclude", []), REVINCLUDES, "_revinclude")

        matches = [r for r in self.directory[resource_type].values() if all(p(r) for p in predicates)]
        page = matches[offset:offset + count]
        entries = [self._entry(r, "match") for r in page]
        seen = {(r["resourceType"], r["id"]) for r in page}
        for resource in page:
            for extra in self._included(resource, includes, revincludes):
                key = (extra["resourceType"], extra["id"])
                if key not in seen:
                    seen.add(key)
                    entries.append(self._entry(extra, "include"))
        links = [{"relation": "self", "url": _page_url(self_url, params, offset)}]
        if offset + count < len(matches) and count:
            links.append({"relation": "next", "url": _page_url(self_url, params, offset + count)})
        if offset > 0:
            links.append({"relation": "previous", "url": _page_url(self_url, params, max(0, offset - count))})
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
            "type": "searchset",
            "total": len(matches),
            "link": links,
            "entry": entries,
        }

    def _included(self, resource: dict, includes: list, revincludes: list) -> list[dict]:
        found = []
        for field in includes:
            reference = resource.get(field, {}).get("reference", "")
            target_type, _, target_id = reference.partition("/")
            target = self.directory.get(target_type, {}).get(target_id)
            if target:
                found.append(target)
        for source_type, field in revincludes:
            reference = f"{resource['resourceType']}/{resource['id']}"
            found.extend(r for r in self.directory[source_type].values()
                         if r.get(field, {}).get("reference") == reference)
        return found

    def _entry(self, resource: dict, mode: str) -> dict:
        return {"fullUrl": f"{self.base_url}{BASE_PATH}/{resource['resourceType']}/{resource['id']}",
                "resource": resource, "search": {"mode": mode}}


def _int_param(params, name, default, low, high) -> int:
    raw = params.get(name)
    if not raw:
        return default
    value = raw[-1]
    if not value.isdigit() or (high is not None and int(value) > high) or int(value) < low:
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=value, reason=f"must be an integer {bound}",
                          how=f"e.g. {name}={default or 20}")
    return int(value)


def _include_targets(resource_type, values, table, name) -> list:
    allowed = table.get(resource_type, {})
    targets = []
    for raw in values:
        for value in raw.split(","):
            if value == "*" and allowed:
                targets.extend(allowed.values())
            elif value in allowed:
                targets.append(allowed[value])
            else:
                raise SearchError(rules.UNSUPPORTED_INCLUDE, name=name, value=value, resource=resource_type,
                                  supported=", ".join(sorted(allowed)) or "none")
    return targets


def _page_url(self_url: str, params: Mapping[str, list[str]], offset: int) -> str:
    from urllib.parse import urlencode

    pairs = [(k, v) for k, values in params.items() if k != "_offset" for v in values]
    if offset:
        pairs.append(("_offset", str(offset)))
    return self_url + ("?" + urlencode(pairs) if pairs else "")
