"""The CNAM INSi teleservice mock (SOAP 1.2): search for a patient's INS by identity traits or from
the Vitale card, on the shared test world; faults, journal and admin API for tests (docs/insi.md).

Modules: `models` (state and search rules), `soap` (the SOAP 1.2 codec), `responses` (the HTTP app),
`rules` (the RuleBook and the SOAP fault catalogue), `service` (the kernel binding), `testing`.
"""
