"""One shape for every problem the harness reports, whoever found it.

The validator, each mock and the evidence report all speak in `Finding`s, so the same rule id
reads the same in the CLI, in a mock's journal and in the evidence pack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """A rule that fired, where, and how to fix it.

    `layer` says which check found it: ``xml`` (parsing), ``xsd``, ``schematron`` (an official
    pack), ``segur`` (the project's own rules), or a mock's own layer (``insi``, ``xds``,
    ``vihf``, ``smtp``, ``xdm``, ``fhir``…).
    """

    rule: str
    severity: Severity
    layer: str
    message: str
    line: int | None = None
    column: int | None = None
    xpath: str | None = None
    hint: str | None = None
    location: str | None = None  # free-form place outside a document (a header, a slot, an SMTP step)
    extra: dict = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        if not data["extra"]:
            del data["extra"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        data = dict(data)
        data["severity"] = Severity(data["severity"])
        return cls(**data)
