"""The Annuaire santé mock's rules: what a FHIR client gets refused for, and why.

Status codes and the API key header follow the ANS documentation of the FHIR API v2
("Bases de l'API": base URL `…/fhir/v2`, header `ESANTE-API-KEY`, 400/401/404…); every
refusal is a FHIR OperationOutcome (FHIR R4 §3.1.0 "RESTful API", §2.36 OperationOutcome).
"""

from segur.kernel import rules
from segur.kernel.rules import Rule

SOURCE = "ANS, Annuaire santé FHIR API v2 documentation (annuaire-sante-fhir-documentation); FHIR R4 RESTful API"

MISSING_KEY = Rule(
    "ANN-001", "fhir", "The request has no ESANTE-API-KEY header.",
    "La requête n'a pas d'en-tête ESANTE-API-KEY.",
    hint="Send your API key in the ESANTE-API-KEY header on every call.", source=SOURCE)
UNKNOWN_KEY = Rule(
    "ANN-002", "fhir", "The API key {key!r} is not one this directory accepts.",
    "La clé d'API {key!r} n'est pas acceptée par cet annuaire.",
    hint="Use a key from the mock's configuration (segur serve annuaire --api-key KEY).", source=SOURCE)
UNKNOWN_PARAMETER = Rule(
    "ANN-003", "fhir", "Search parameter {name!r} is not supported on {resource}.",
    "Le paramètre de recherche {name!r} n'est pas pris en charge sur {resource}.",
    hint="Supported parameters for {resource}: {supported}.", source=SOURCE)
BAD_PARAMETER_VALUE = Rule(
    "ANN-004", "fhir", "Parameter {name!r} has an invalid value {value!r}: {reason}.",
    "Le paramètre {name!r} a une valeur invalide {value!r} : {reason}.",
    hint="{how}", source=SOURCE)
UNKNOWN_RESOURCE = Rule(
    "ANN-005", "fhir", "{resource}/{id} does not exist.", "{resource}/{id} n'existe pas.",
    hint="Search first (e.g. Practitioner?identifier=https://rpps.esante.gouv.fr|<RPPS>) and use the id it returns.",
    source=SOURCE)
UNSUPPORTED_TYPE = Rule(
    "ANN-006", "fhir", "The directory serves no resource type {resource!r}.",
    "L'annuaire ne sert pas de ressource de type {resource!r}.",
    hint="Resource types served: Practitioner, PractitionerRole, Organization, HealthcareService, Device.",
    source=SOURCE)
READ_ONLY = Rule(
    "ANN-007", "fhir", "The directory is read-only: {method} is not allowed.",
    "L'annuaire est en lecture seule : {method} n'est pas autorisé.",
    hint="Use GET (or POST to _search) to search and read.", source=SOURCE)
UNSUPPORTED_INCLUDE = Rule(
    "ANN-008", "fhir", "{name}={value!r} is not supported on {resource}.",
    "{name}={value!r} n'est pas pris en charge sur {resource}.",
    hint="Supported: {supported}.", source=SOURCE)

ALL = (MISSING_KEY, UNKNOWN_KEY, UNKNOWN_PARAMETER, BAD_PARAMETER_VALUE, UNKNOWN_RESOURCE, UNSUPPORTED_TYPE,
       READ_ONLY, UNSUPPORTED_INCLUDE)
rules.register(*ALL)
