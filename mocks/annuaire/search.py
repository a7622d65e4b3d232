"""FHIR R4 search over the directory's resources: the parameters the Annuaire santé API offers.

Semantics from FHIR R4 §3.1.1 "Search": string parameters match when a value starts with the
query after case and accent folding (`:exact` for an exact, case-sensitive match, `:contains`
for a substring); token parameters take `system|code`, `|code`, `system|` or `code`; reference
parameters take `Type/id` or `id`; a comma means OR, a repeated parameter means AND. The
parameter set per resource type is the one the Annuaire santé v2 CapabilityStatement declares
(ansforge/IG-fhir-annuaire, input/fsh/CapabilityStatement/AsServerDPCapabilityStatement.fsh),
restricted to what the test world has data for (docs/annuaire.md lists what is left out). What
happens to any other parameter is the caller's choice (`unknown_parameter` below): refused
(ANN-003), as the real server does, or ignored and reported, as FHIR R4 allows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from segur.kernel.findings import Finding
from segur.mocks.annuaire import rules
from segur.mocks.annuaire.dates import DateQueryError, date_predicate, parse_instant
from segur.mocks.annuaire.resources import DATA_TRACE_URL

STRING, TOKEN, REFERENCE, DATE, URI = "string", "token", "reference", "date", "uri"


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a string, as FHIR string search compares them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Param:
    kind: str
    values: Callable[[dict], list]  # string → [str]; token → [(system, code)]; reference → ["Type/id"]


class SearchError(ValueError):
    """A search the directory refuses; `rule` is the Rule to report, `context` fills its message."""

    def __init__(self, rule, **context):
        super().__init__(rule.message(**context))
        self.rule = rule
        self.context = context

    def finding(self) -> Finding:
        return self.rule.finding(**self.context)


def _names(resource: dict, part: str | None) -> list[str]:
    out: list[str] = []
    for name in resource.get("name", []) if isinstance(resource.get("name"), list) else []:
        if part in (None, "family") and name.get("family"):
            out.append(name["family"])
        if part in (None, "given"):
            out.extend(name.get("given", []))
        if part is None:
            out.extend(name.get("prefix", []) + name.get("suffix", []))
            if name.get("text"):
                out.append(name["text"])
    return out


def _identifiers(resource: dict) -> list[tuple[str, str]]:
    return [(i.get("system", ""), i.get("value", "")) for i in resource.get("identifier", [])]


def _mailboxes(resource: dict) -> list[str]:
    return [t["value"] for t in resource.get("telecom", []) if t.get("system") == "email"]


def _identifier_types(resource: dict) -> list[tuple[str, str]]:
    return [(c.get("system", ""), c.get("code", "")) for i in resource.get("identifier", [])
            for c in i.get("type", {}).get("coding", [])]


def _addresses(*parts: str) -> Callable[[dict], list[str]]:
    def extract(resource: dict) -> list[str]:
        out: list[str] = []
        for address in resource.get("address", []):
            for part in parts:
                value = address.get(part)
                out.extend(value if isinstance(value, list) else [value] if value else [])
        return out
    return extract


def _information_systems(resource: dict) -> list[tuple[str, str]]:
    """`systeme-information` of the as-ext-data-trace extension (in meta, as rs-as-core puts it)."""
    traces = [e for e in resource.get("meta", {}).get("extension", []) if e.get("url") == DATA_TRACE_URL]
    return [("", part["valueCode"]) for trace in traces for part in trace.get("extension", [])
            if part.get("url") == "systeme-information"]


def _last_updated(resource: dict) -> list:
    return [parse_instant(resource["meta"]["lastUpdated"])]


def _codings(*paths: str) -> Callable[[dict], list[tuple[str, str]]]:
    def extract(resource: dict) -> list[tuple[str, str]]:
        out = []
        for path in paths:
            for item in resource.get(path, []) or []:
                concept = item.get("code", item) if path == "qualification" else item
                out.extend((c.get("system", ""), c.get("code", "")) for c in concept.get("coding", []))
        return out
    return extract


def _active(resource: dict) -> list[tuple[str, str]]:
    return [("", "true" if resource.get("active", True) else "false")]


def _ref(field: str) -> Callable[[dict], list[str]]:
    return lambda r: [r[field]["reference"]] if field in r else []


COMMON = {"_id": Param(TOKEN, lambda r: [("", r["id"])]), "_lastUpdated": Param(DATE, _last_updated),
          "data-information-system": Param(TOKEN, _information_systems)}

PARAMETERS: dict[str, dict[str, Param]] = {
    "Practitioner": {
        **COMMON,
        "identifier": Param(TOKEN, _identifiers),
        "identifier-type": Param(TOKEN, _identifier_types),
        "family": Param(STRING, lambda r: _names(r, "family")),
        "given": Param(STRING, lambda r: _names(r, "given")),
        "name": Param(STRING, lambda r: _names(r, None)),
        "active": Param(TOKEN, _active),
        "mailbox-mss": Param(STRING, _mailboxes),
        "qualification-code": Param(TOKEN, _codings("qualification")),
    },
    "PractitionerRole": {
        **COMMON,
        "identifier": Param(TOKEN, _identifiers),
        "mailbox-mss": Param(STRING, _mailboxes),
        "practitioner": Param(REFERENCE, _ref("practitioner")),
        "organization": Param(REFERENCE, _ref("organization")),
        "active": Param(TOKEN, _active),
        "role": Param(TOKEN, _codings("code")),
    },
    "Organization": {
        **COMMON,
        "identifier": Param(TOKEN, _identifiers),
        "identifier-type": Param(TOKEN, _identifier_types),
        "name": Param(STRING, lambda r: [r.get("name", "")]),
        "active": Param(TOKEN, _active),
        "mailbox-mss": Param(STRING, _mailboxes),
        "type": Param(TOKEN, _codings("type")),
        "address": Param(STRING, _addresses("line", "city", "postalCode", "country", "text")),
        "address-city": Param(STRING, _addresses("city")),
        "address-line": Param(STRING, _addresses("line")),
        "address-postalcode": Param(STRING, _addresses("postalCode")),
        "partof": Param(REFERENCE, _ref("partOf")),
    },
    "HealthcareService": {
        **COMMON,
        "organization": Param(REFERENCE, _ref("providedBy")),
        "active": Param(TOKEN, _active),
        "identifier": Param(TOKEN, _identifiers),
        "service-category": Param(TOKEN, _codings("category")),
        "service-type": Param(TOKEN, _codings("type")),
        "characteristic": Param(TOKEN, _codings("characteristic")),
        "_profile": Param(URI, lambda r: r.get("meta", {}).get("profile", [])),
    },
    "Device": {
        **COMMON,
        "organization": Param(REFERENCE, _ref("owner")),
        "identifier": Param(TOKEN, _identifiers),
        "type": Param(TOKEN, _codings("type")),
        "status": Param(TOKEN, lambda r: [("", r.get("status", ""))]),
        "manufacturer": Param(STRING, lambda r: [r.get("manufacturer", "")]),
        "model": Param(STRING, lambda r: [r.get("modelNumber", "")]),
    },
}

#: `_include` targets per type: "Type:param" → (field holding the reference).
INCLUDES = {
    "PractitionerRole": {"PractitionerRole:practitioner": "practitioner",
                         "PractitionerRole:organization": "organization"},
    "Organization": {"Organization:partof": "partOf"},
    "HealthcareService": {"HealthcareService:organization": "providedBy"},
    "Device": {"Device:organization": "owner"},
}
#: `_revinclude` per type: "Type:param" → (source type, field of the source pointing here).
REVINCLUDES = {
    "Practitioner": {"PractitionerRole:practitioner": ("PractitionerRole", "practitioner")},
    "Organization": {"PractitionerRole:organization": ("PractitionerRole", "organization"),
                     "HealthcareService:organization": ("HealthcareService", "providedBy"),
                     "Device:organization": ("Device", "owner")},
}
#: The result parameters the real server reads (annuaire-sante-fhir-serveur, FhirRequestParser.SPECIAL_PARAMS,
#: less `_elements`, not simulated); `_offset` is not one of them.
RESULT_PARAMETERS = {"_count", "_include", "_revinclude", "_format", "_total", "_pretty"}


def unknown_parameters(resource_type: str, params) -> list[str]:
    """The parameter names in `params` this resource type does not support (modifiers aside)."""
    supported = PARAMETERS[resource_type]
    return [name for name in params
            if name not in RESULT_PARAMETERS and name.partition(":")[0] not in supported]


def _matches_string(values: list[str], query: str, modifier: str | None) -> bool:
    if modifier == "exact":
        return any(v == query for v in values)
    folded = fold(query)
    if modifier == "contains":
        return any(folded in fold(v) for v in values)
    return any(fold(v).startswith(folded) for v in values)


def _matches_token(values: list[tuple[str, str]], query: str) -> bool:
    if "|" in query:
        system, _, code = query.partition("|")
        if system and code:
            return (system, code) in values
        if system:
            return any(s == system for s, _ in values)
        return any(not s and c == code for s, c in values)
    return any(c == query for _, c in values)


def _matches_reference(values: list[str], query: str, target: str) -> bool:
    wanted = query if "/" in query else f"{target}/{query}"
    return wanted in values


REFERENCE_TARGET = {"practitioner": "Practitioner", "organization": "Organization", "partof": "Organization"}


def _date_test(name: str, value: str) -> Callable:
    try:
        return date_predicate(value)
    except DateQueryError as error:
        raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=value, reason=str(error),
                          how=f"e.g. {name}=ge2024-08-30") from error


def matcher(resource_type: str, name: str, raw_values: list[str], supported) -> Callable[[dict], bool]:
    """A predicate for one search parameter (AND over repeats, OR within a comma list)."""
    base, _, modifier = name.partition(":")
    param = supported.get(base)
    if param is None:
        raise SearchError(rules.UNKNOWN_PARAMETER, name=name, resource=resource_type,
                          supported=", ".join(sorted(supported)))
    if modifier and not (param.kind == STRING and modifier in ("exact", "contains")):
        raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=modifier,
                          reason=f"modifier :{modifier} is not supported on a {param.kind} parameter",
                          how="String parameters accept :exact and :contains; others take no modifier.")
    alternatives = [[v for v in raw.split(",") if v != ""] for raw in raw_values]
    for alternative in alternatives:
        if not alternative:
            raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value="", reason="the value is empty",
                              how="Give a value, or leave the parameter out.")
        if base == "active" and any(v not in ("true", "false") for v in alternative):
            raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=",".join(alternative),
                              reason="active takes true or false", how="Use active=true or active=false.")
        if base == "identifier":
            for v in alternative:
                if v.count("|") > 1:
                    raise SearchError(rules.BAD_PARAMETER_VALUE, name=name, value=v,
                                      reason="a token is system|value with at most one '|'",
                                      how="e.g. identifier=https://rpps.esante.gouv.fr|10003461033")

    date_tests = [[_date_test(name, v) for v in alternative] for alternative in alternatives] \
        if param.kind == DATE else []

    def predicate(resource: dict) -> bool:
        values = param.values(resource)
        if param.kind == DATE:
            return all(any(test(v) for test in tests for v in values) for tests in date_tests)
        for alternative in alternatives:
            if param.kind == STRING:
                ok = any(_matches_string(values, q, modifier or None) for q in alternative)
            elif param.kind == TOKEN:
                ok = any(_matches_token(values, q) for q in alternative)
            elif param.kind == URI:
                ok = any(q in values for q in alternative)
            else:
                target = REFERENCE_TARGET.get(base, base.capitalize())
                ok = any(_matches_reference(values, q, target) for q in alternative)
            if not ok:
                return False
        return True

    return predicate
