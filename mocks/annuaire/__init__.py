"""The Annuaire santé mock: the directory's FHIR R4 API (`/fhir/v2`) served from the test world
(docs/annuaire.md).

Modules: `models` (the directory, keys, read and search), `resources` (the world as FHIR resources),
`search`, `dates`, `paging` (FHIR search semantics), `responses` (FHIR JSON and the HTTP app), `rules`
(the RuleBook), `service` (the kernel binding), `testing`.
"""
