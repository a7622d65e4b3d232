"""What can go wrong, and the exit code each gives (the harness reads a non-zero exit as "not done")."""

from __future__ import annotations


class RisError(Exception):
    """The task could not be done; the report was not sent."""

    exit_code = 1


class ConfigError(RisError, ValueError):
    """The RIS cannot run with this configuration or this task file."""

    exit_code = 2


class IdentityNotQualified(RisError):
    """INSi did not answer 00: the RIS has no qualified INS and must not send the report with one. `codes`:
    what INSi answered (01 none, 02 several), empty when INSi was not asked."""

    def __init__(self, message: str, codes: list[str] | None = None):
        super().__init__(message)
        self.codes = list(codes or [])


class Refused(RisError):
    """A service refused what the RIS sent (XDS error, SMTP 5xx, DMP state)."""

    def __init__(self, message: str, rules: list[str] | None = None):
        super().__init__(message)
        self.rules = list(rules or [])


class ServiceUnavailable(RisError):
    """A service is down or failing (HTTP 5xx, SOAP fault, connection refused, SMTP 4xx): the report is kept
    in the outbox, to be sent again later."""

    exit_code = 3
