"""The Annuaire santé mock's state and domain rules: the directory built from the world, who may call,
reading and searching it. Resources are plain dicts (their FHIR JSON shape, `resources`); a search gives
a `SearchPage` — which resources, how many, where the next page starts — and `responses` renders it as
a Bundle. A request the directory refuses raises `SearchError` naming its rule. No HTTP here.

The search semantics are in `search` (parameters, FHIR R4 matching), `dates` (date prefixes) and
`paging` (the opaque page ids of the `next` links).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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

#: Where the API is published (ANS documentation v2, "Bases de l'API": `https://…/fhir/v2`).
BASE_PATH = "/fhir/v2"
#: Page size: 50 by default (ANS documentation v2, "Modificateurs des résultats": "La réponse renvoie par
#: défaut 50 éléments"); the real server refuses a _count above 50,000,000 (annuaire-sante-fhir-serveur,
#: SelectExpression.MAX_SELECT_COUNT = 5_000_0000), i.e. it has no practical maximum.
DEFAULT_COUNT = 50
MAX_COUNT = 50_000_000
UNKNOWN_PARAMETER_MODES = ("refuse", "fhir")

__all__ = ["BASE_PATH", "DEFAULT_COUNT", "MAX_COUNT", "AnnuaireModel", "SearchError", "SearchPage"]


@dataclass
class SearchPage:
    """One page of a search: what matched on it, what it includes, and how to go on."""

    resource_type: str
    params: dict[str, list[str]]  # the parameters the search used (ignored unknown ones left out)
    matches: list[dict]
    included: list[dict] = field(default_factory=list)
    total: int | None = None  # None: `_total=none`
    ignored: list[str] = field(default_factory=list)  # unknown parameters ignored (FHIR lenient reading)
    next_token: str | None = None  # the page id of the next page, when more results follow
    token: str | None = None  # the page id this page was asked with (None: the first page)


class AnnuaireModel:
    """The directory and its callers; `api_keys=None` accepts any non-empty key.

    `unknown_parameters`: "refuse" (as the real server) or "fhir" (ignored unless the client prefers
    strict handling, FHIR R4 §3.1.1.5)."""

    def __init__(self, world, api_keys: Iterable[str] | None = None, unknown_parameters: str = "refuse"):
        if unknown_parameters not in UNKNOWN_PARAMETER_MODES:
            raise ValueError(f"unknown_parameters must be one of {UNKNOWN_PARAMETER_MODES}")
        self.world = world
        self.unknown_parameters = unknown_parameters
        self.api_keys = frozenset(api_keys) if api_keys else None
        self.directory = build_directory(world)

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

    def search(self, resource_type: str, params: Mapping[str, list[str]],
               handling: str | None = None) -> SearchPage:
        """The first page of a search (`params`: each name mapped to its repeated values).

        `handling` is the client's `Prefer: handling=` (strict or lenient), honoured only when the
        mock follows FHIR for unknown parameters (`unknown_parameters="fhir"`)."""
        self.check_type(resource_type)
        ignored = self._ignored_parameters(resource_type, params, handling)
        used = {name: values for name, values in params.items() if name not in ignored}
        return self._page(resource_type, used, 0, ignored)

    def next_page(self, token: str | None) -> SearchPage:
        """The page a `next` link (`_page?id=<token>`) names."""
        resource_type, params, offset = paging.decode(token)
        self.check_type(resource_type)
        page = self._page(resource_type, params, offset, [])
        page.token = token
        return page

    def _ignored_parameters(self, resource_type: str, params, handling: str | None) -> list[str]:
        unknown = unknown_parameters(resource_type, params)
        lenient = self.unknown_parameters == "fhir" and handling != "strict"
        if unknown and not lenient:
            raise SearchError(rules.UNKNOWN_PARAMETER, name=unknown[0], resource=resource_type,
                              supported=", ".join(sorted(PARAMETERS[resource_type])))
        return unknown

    def _page(self, resource_type: str, params, offset: int, ignored: list[str]) -> SearchPage:
        supported = PARAMETERS[resource_type]
        predicates = [matcher(resource_type, name, values, supported)
                      for name, values in params.items() if name not in RESULT_PARAMETERS]
        count = _int_param(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        includes, revincludes = (_include_targets(resource_type, params.get(name, []), table, name)
                                 for name, table in (("_include", INCLUDES), ("_revinclude", REVINCLUDES)))

        matches = [r for r in self.directory[resource_type].values() if all(p(r) for p in predicates)]
        page = matches[offset:offset + count]
        more = count and offset + count < len(matches)
        total = None if params.get("_total", ["accurate"])[-1] == "none" else len(matches)
        next_token = paging.encode(resource_type, params, offset + count) if more else None
        included = self._included_all(page, includes, revincludes)
        return SearchPage(resource_type, dict(params), page, included, total, list(ignored), next_token)

    def _included_all(self, page: list[dict], includes: list, revincludes: list) -> list[dict]:
        seen = {(r["resourceType"], r["id"]) for r in page}
        found = []
        for resource in page:
            for extra in self._included(resource, includes, revincludes):
                key = (extra["resourceType"], extra["id"])
                if key not in seen:
                    seen.add(key)
                    found.append(extra)
        return found

    def _included(self, resource: dict, includes: list, revincludes: list) -> list[dict]:
        found = []
        for field_name in includes:
            reference = resource.get(field_name, {}).get("reference", "")
            target_type, _, target_id = reference.partition("/")
            target = self.directory.get(target_type, {}).get(target_id)
            if target:
                found.append(target)
        for source_type, field_name in revincludes:
            reference = f"{resource['resourceType']}/{resource['id']}"
            found.extend(r for r in self.directory[source_type].values()
                         if r.get(field_name, {}).get("reference") == reference)
        return found


def _int_param(params, name, default, low, high) -> int:
    raw = params.get(name)
    if not raw:
        return default
    value = raw[-1]
    if not value.isdigit() or (high is not None and int(value) > high) or int(value) < low:
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=value,
                          reason=f"must be an integer {bound}", how=f"e.g. {name}={default or 20}")
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
