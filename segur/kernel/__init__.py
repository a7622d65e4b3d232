"""The bottom layer: what every service and every check shares.

- `findings`, `rules`: a check's result and the catalogue of rules (ids, messages, hints, REM ids);
- `ins`, `pki`, `official_pack`: the INS, the test PKI, where the official CDA pack is;
- `service`, `config`: the shape every mock implements (config section, start/stop, endpoints);
- `server`, `admin`, `journal`, `faults`: a real socket, the `/_admin/` API, the journal of exchanges
  and fault injection, run by the kernel for every service.

Nothing here imports the mocks, validators or scenarios; they import it.
"""
