"""The Annuaire santé mock's rules: what a FHIR client gets refused for, and why.

Status codes and the API key header follow the ANS documentation of the FHIR API v2
("Bases de l'API": base URL `…/fhir/v2`, header `ESANTE-API-KEY`, 400/401/404…); every
refusal is a FHIR OperationOutcome (FHIR R4 §3.1.0 "RESTful API", §2.36 OperationOutcome) with the
HTTP status its rule names (`status`, 400 when not said).
"""

from segur.kernel.rules import RuleBook

SOURCE = ("ANS, Annuaire santé FHIR API v2 documentation (annuaire-sante-fhir-documentation); "
          "FHIR R4 RESTful API")
BOOK = RuleBook("fhir", source=SOURCE)

MISSING_KEY = BOOK.rule(
    "ANN-001", "The request has no ESANTE-API-KEY header.",
    message_fr="La requête n'a pas d'en-tête ESANTE-API-KEY.",
    hint="Send your API key in the ESANTE-API-KEY header on every call.", status=401)
UNKNOWN_KEY = BOOK.rule(
    "ANN-002", "The API key {key!r} is not one this directory accepts.",
    message_fr="La clé d'API {key!r} n'est pas acceptée par cet annuaire.",
    hint="Use a key from the mock's configuration (segur serve annuaire --api-key KEY).", status=401)
UNKNOWN_PARAMETER = BOOK.rule(
    "ANN-003", "Search parameter {name!r} is not supported on {resource}.",
    message_fr="Le paramètre de recherche {name!r} n'est pas pris en charge sur {resource}.",
    hint="Supported parameters for {resource}: {supported}.")
BAD_PARAMETER_VALUE = BOOK.rule(
    "ANN-004", "Parameter {name!r} has an invalid value {value!r}: {reason}.",
    message_fr="Le paramètre {name!r} a une valeur invalide {value!r} : {reason}.",
    hint="{how}")
UNKNOWN_RESOURCE = BOOK.rule(
    "ANN-005", "{resource}/{id} does not exist.", message_fr="{resource}/{id} n'existe pas.",
    hint="Search first (e.g. Practitioner?identifier=https://rpps.esante.gouv.fr|<RPPS>) and use the id "
         "it returns.", status=404)
UNSUPPORTED_TYPE = BOOK.rule(
    "ANN-006", "The directory serves no resource type {resource!r}.",
    message_fr="L'annuaire ne sert pas de ressource de type {resource!r}.",
    hint="Resource types served: Practitioner, PractitionerRole, Organization, HealthcareService, Device.",
    status=404)
READ_ONLY = BOOK.rule(
    "ANN-007", "The directory is read-only: {method} is not allowed.",
    message_fr="L'annuaire est en lecture seule : {method} n'est pas autorisé.",
    hint="Use GET (or POST to _search) to search and read.", status=405)
UNSUPPORTED_INCLUDE = BOOK.rule(
    "ANN-008", "{name}={value!r} is not supported on {resource}.",
    message_fr="{name}={value!r} n'est pas pris en charge sur {resource}.",
    hint="Supported: {supported}.")

ALL = tuple(BOOK)
