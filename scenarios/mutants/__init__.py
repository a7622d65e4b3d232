"""Mutation testing of the proof: the reference RIS sends one systematic mistake per run; the proof must fail.

`catalogue.MUTANTS` declares each mutant as data (id, field, wire point, operator, the REM requirements it
breaks, or `harmless` with the reason); `run.run_mutants` runs them against one shared stack of mocks with
the small plan; `report.write_report` writes the kill rates and every survivor to `docs/mutants.md`.
`segur proof-mutants` (`cli.py`) and `benchmarks/proof_mutants.py` run the whole catalogue.
"""
