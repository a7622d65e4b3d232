"""The points where the reference RIS hands what it built to the wire, for mutation testing of the proof.

`tap(point, value, **context)` returns `value` unchanged unless a mutator is installed
(`segur.scenarios.mutants` sets `MUTATOR` to change one thing the RIS sends, one mutant at a time, and
checks that the proof catches it). Points: `insi-request` (the INSi search arguments), `cda` (the report's
bytes), `xds` (the DMP client's `Defects`, whose `mutate` may change the ITI-41 metadata), `recipient` (the
MSSanté address), `mime` (the `EmailMessage`), `envelope` (`(sender, recipient)` of the SMTP session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: `mutator(point, value, context) -> value`; None in normal use (the RIS sends what it built)
MUTATOR: Callable[[str, Any, dict], Any] | None = None


def tap(point: str, value: Any, **context: Any) -> Any:
    """`value`, or what the installed mutator makes of it."""
    return value if MUTATOR is None else MUTATOR(point, value, context)
