"""The Annuaire santé mock's backend: the directory built from the world, search, read, keys.

No HTTP here (that is app.py): this answers "what would the directory return for this query",
as plain dicts (FHIR JSON), or raises `SearchError` naming the rule a request breaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from segur.fixtures.world import World, load_world
from segur.kernel.faults import FaultBook
from segur.kernel.journal import Journal
from segur.mocks.annuaire import paging, rules
from segur.mocks.annuaire.resources import build_directory
from segur.mocks.annuaire.search import (
    INCLUDES,
    PARAMETERS,
    RESULT_PARAMETERS,
    REVINCLUDES,
    SearchError,
    matcher,
    unknown_parameters,
)

BASE_PATH = "/fhir/v2"
#: Page size: 50 by default (ANS documentation v2, "Modificateurs des résultats": "La réponse renvoie par
#: défaut 50 éléments"); the real server refuses a _count above 50,000,000 (annuaire-sante-fhir-serveur,
#: SelectExpression.MAX_SELECT_COUNT = 5_000_0000), i.e. it has no practical maximum.
DEFAULT_COUNT = 50
MAX_COUNT = 50_000_000
UNKNOWN_PARAMETER_MODES = ("refuse", "fhir")


class AnnuaireMock:
    """Holds the directory and the test controls; `api_keys=None` accepts any non-empty key."""

    name = "annuaire"

    def __init__(self, world: World | None = None, api_keys: Iterable[str] | None = None,
                 unknown_parameters: str = "refuse"):
        if unknown_parameters not in UNKNOWN_PARAMETER_MODES:
            raise ValueError(f"unknown_parameters must be one of {UNKNOWN_PARAMETER_MODES}")
        self.world = world or load_world()
        self.unknown_parameters = unknown_parameters
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

    def search(self, resource_type: str, params: Mapping[str, list[str]], base_url: str,
               handling: str | None = None) -> dict:
        """A searchset Bundle for `params` (each name mapped to its repeated values).

        `handling` is the client's `Prefer: handling=` (strict or lenient), honoured only when the
        mock follows FHIR for unknown parameters (`unknown_parameters="fhir"`)."""
        self.check_type(resource_type)
        ignored = self._ignored_parameters(resource_type, params, handling)
        used = {name: values for name, values in params.items() if name not in ignored}
        return self._page(resource_type, used, 0, base_url, _self_url(base_url, resource_type, used), ignored)

    def next_page(self, token: str, base_url: str) -> tuple[str, dict]:
        """The page a `next` link (`_page?id=<token>`) names, with its resource type."""
        resource_type, params, offset = paging.decode(token)
        self.check_type(resource_type)
        self_url = f"{base_url}/_page?id={token}"
        return resource_type, self._page(resource_type, params, offset, base_url, self_url, [])

    def _ignored_parameters(self, resource_type: str, params, handling: str | None) -> list[str]:
        unknown = unknown_parameters(resource_type, params)
        lenient = self.unknown_parameters == "fhir" and handling != "strict"
        if unknown and not lenient:
            raise SearchError(rules.UNKNOWN_PARAMETER, name=unknown[0], resource=resource_type,
                              supported=", ".join(sorted(PARAMETERS[resource_type])))
        return unknown

    def _page(self, resource_type: str, params, offset: int, base_url: str, self_url: str,
              ignored: list[str]) -> dict:
        supported = PARAMETERS[resource_type]
        predicates = [matcher(resource_type, name, values, supported)
                      for name, values in params.items() if name not in RESULT_PARAMETERS]
        count = _int_param(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        includes = _include_targets(resource_type, params.get("_include", []), INCLUDES, "_include")
        revincludes = _include_targets(resource_type, params.get("_revinclude", []), REVINCLUDES, "_revinclude")

        matches = [r for r in self.directory[resource_type].values() if all(p(r) for p in predicates)]
        page = matches[offset:offset + count]
        entries = [self._entry(r, "match") for r in page]
        entries += self._included_entries(page, includes, revincludes)
        if ignored:
            outcome = ignored_outcome(resource_type, ignored)
            entries.append({"resource": outcome, "search": {"mode": "outcome"}})
        links = [{"relation": "self", "url": self_url}]
        if count and offset + count < len(matches):
            token = paging.encode(resource_type, params, offset + count)
            links.insert(0, {"relation": "next", "url": f"{base_url}/_page?id={token}"})
        bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                  "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="milliseconds")},
                  "type": "searchset", "link": links, "entry": entries}
        if params.get("_total", ["accurate"])[-1] != "none":
            bundle["total"] = len(matches)
        return bundle

    def _included_entries(self, page: list[dict], includes: list, revincludes: list) -> list[dict]:
        seen = {(r["resourceType"], r["id"]) for r in page}
        entries = []
        for resource in page:
            for extra in self._included(resource, includes, revincludes):
                key = (extra["resourceType"], extra["id"])
                if key not in seen:
                    seen.add(key)
                    entries.append(self._entry(extra, "include"))
        return entries

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


def _self_url(base_url: str, resource_type: str, params: Mapping[str, list[str]]) -> str:
    """The search as the server understood it (FHIR R4: only the parameters it used)."""
    pairs = [(k, v) for k, values in params.items() for v in values]
    return f"{base_url}/{resource_type}" + ("?" + urlencode(pairs) if pairs else "")


def ignored_outcome(resource_type: str, names: list[str]) -> dict:
    """The OperationOutcome entry (search.mode outcome) that says which parameters were ignored."""
    issues = []
    for name in names:
        finding = rules.UNKNOWN_PARAMETER.finding(name=name, resource=resource_type,
                                                  supported=", ".join(sorted(PARAMETERS[resource_type])))
        issues.append({"severity": "warning", "code": "not-supported", "details": {"text": finding.message},
                       "diagnostics": f"[{finding.rule}] {finding.message} Ignored (lenient handling). "
                                      f"Fix: {finding.hint}"})
    return {"resourceType": "OperationOutcome", "issue": issues}
