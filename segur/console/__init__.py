"""The web console of a running harness: what every service saw, the documents, the mailboxes, the world,
a validator, the faults and the proof runs, in a browser (docs/console.md).

It sits in the shell, above the kernel, and is registered as a service (`segur.services`) so that
`segur up` starts it beside the mocks. It reads the other services only through their admin HTTP API
(`peers.AdminApi`): that works across processes, as the mocks do for any client.
"""
