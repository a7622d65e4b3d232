"""The rules of the test PKI service: what it refuses on its admin API."""

from __future__ import annotations

from segur.kernel.rules import RuleBook

BOOK = RuleBook("igc", source="RFC 5280 §5 (CRL); the harness's test PKI")

UNKNOWN_CERTIFICATE = BOOK.rule(
    "IGC-001", "No certificate named {name!r} in the test PKI.",
    hint="Name 'server', 'revoked-server' or 'client:NAME' with NAME one of: {clients}.")
UNKNOWN_REASON = BOOK.rule(
    "IGC-002", "Unknown revocation reason {reason!r}.",
    hint="Use an RFC 5280 §5.3.1 reason: {reasons}.")
