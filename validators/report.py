"""The result of validating one document: findings, what ran, what was skipped and why.

A verdict must be reproducible from what the report records, so besides the findings it names
every layer (ran / skipped / failed, with the reason), every Schematron pack that ran (name,
version, content digest) and how long each step took.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from segur.kernel.findings import Finding, Severity

# The layers, in the order they run. `xml` always runs; the others may be skipped.
LAYERS = ("xml", "structure", "xsd", "schematron", "segur")

# The layers that decide conformance (the official ANS XSD and Schematron packs): a document is
# VALID only when both ran; with no error but one of them not run, its verdict is PARTIAL.
CONFORMANCE_LAYERS = ("xsd", "schematron")

VERDICTS = ("VALID", "PARTIAL", "INVALID", "UNREADABLE")
EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass
class LayerRun:
    """One layer's status for one document: ``ran``, ``skipped`` (with why) or ``failed`` (it crashed)."""

    name: str
    status: str
    reason: str | None = None
    elapsed_ms: float | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "reason": self.reason,
                "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 2)}


@dataclass
class PackRun:
    """One official Schematron pack applied to the document."""

    name: str
    version: str | None
    role: str  # "common" (CI-SIS_ModelesDeContenusCDA) or "volet"
    path: str
    digest: str | None
    errors: int = 0
    warnings: int = 0
    elapsed_ms: float | None = None
    svrl: bytes | None = None  # kept only when asked (``--format svrl``)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "role": self.role, "path": self.path,
                "digest": self.digest, "errors": self.errors, "warnings": self.warnings,
                "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 2)}


@dataclass
class Report:
    """Everything one validation found about one document."""

    document: str
    findings: list[Finding] = field(default_factory=list)
    layers: list[LayerRun] = field(default_factory=list)
    packs: list[PackRun] = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    size: int | None = None
    unreadable: bool = False
    settings: dict = field(default_factory=dict)  # tool version, pack dir and its source, xsd digest, options

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    @property
    def valid(self) -> bool:
        """No error finding and the document could be read; warnings do not make it invalid.

        Kept with this meaning for the mocks and proof checks that accept or refuse a document on
        it; it says nothing of the layers that did not run: see `complete` and `verdict`."""
        return not self.unreadable and not self.errors

    @property
    def unchecked(self) -> list[str]:
        """The conformance layers (XSD, Schematron) that did not run, whatever the reason."""
        return [name for name in CONFORMANCE_LAYERS
                if (run := self.layer(name)) is None or run.status != "ran"]

    @property
    def complete(self) -> bool:
        """Both conformance layers ran on the document."""
        return not self.unreadable and not self.unchecked

    @property
    def conformant(self) -> bool:
        """VALID: readable, no error, and checked by the official XSD and Schematron."""
        return self.valid and self.complete

    @property
    def exit_code(self) -> int:
        return {"VALID": EXIT_VALID, "PARTIAL": EXIT_PARTIAL, "INVALID": EXIT_INVALID,
                "UNREADABLE": EXIT_UNREADABLE}[self.verdict]

    @property
    def verdict(self) -> str:
        """UNREADABLE, INVALID (an error), PARTIAL (no error, but XSD or Schematron did not run) or VALID."""
        if self.unreadable:
            return "UNREADABLE"
        if not self.valid:
            return "INVALID"
        return "VALID" if self.complete else "PARTIAL"

    def layer(self, name: str) -> LayerRun | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def layers_with_status(self, status: str) -> list[str]:
        return [layer.name for layer in self.layers if layer.status == status]

    def rule_counts(self, severity: Severity | None = Severity.ERROR) -> Counter:
        return Counter(f.rule for f in self.findings if severity is None or f.severity == severity)

    def to_dict(self) -> dict:
        return {
            "document": self.document,
            "verdict": self.verdict,
            "valid": self.valid,
            "complete": self.complete,
            "unchecked": self.unchecked if not self.unreadable else list(CONFORMANCE_LAYERS),
            "exit_code": self.exit_code,
            "size": self.size,
            "profile": self.profile,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [_finding_dict(f) for f in self.findings],
            "layers": [layer.to_dict() for layer in self.layers],
            "packs": [pack.to_dict() for pack in self.packs],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "settings": self.settings,
        }


def _finding_dict(finding: Finding) -> dict:
    data = {"rule": finding.rule, "severity": finding.severity.value, "layer": finding.layer,
            "message": finding.message, "line": finding.line, "column": finding.column,
            "xpath": finding.xpath, "hint": finding.hint}
    if finding.location:
        data["location"] = finding.location
    extra = {k: v for k, v in (finding.extra or {}).items() if k != "params"}
    if extra:
        data["extra"] = extra
    return data


@dataclass
class BatchSummary:
    """Totals over several reports, for the summary line and the JSON output."""

    documents: int = 0
    valid: int = 0
    partial: int = 0
    invalid: int = 0
    unreadable: int = 0
    errors_by_rule: Counter = field(default_factory=Counter)
    elapsed_s: float | None = None

    @classmethod
    def of(cls, reports: list[Report], elapsed_s: float | None = None) -> BatchSummary:
        summary = cls(elapsed_s=elapsed_s)
        for report in reports:
            summary.documents += 1
            verdict = report.verdict
            if verdict == "UNREADABLE":
                summary.unreadable += 1
            elif verdict == "INVALID":
                summary.invalid += 1
            elif verdict == "PARTIAL":
                summary.partial += 1
            else:
                summary.valid += 1
            summary.errors_by_rule.update(report.rule_counts())
        return summary

    @property
    def exit_code(self) -> int:
        """The worst document decides: unreadable (2) > invalid (1) > partial (3) > valid (0)."""
        if self.unreadable:
            return EXIT_UNREADABLE
        if self.invalid:
            return EXIT_INVALID
        return EXIT_PARTIAL if self.partial else EXIT_VALID

    def top_rules(self, n: int = 5) -> list[tuple[str, int]]:
        return self.errors_by_rule.most_common(n)

    def line(self) -> str:
        partial = f"{self.partial} partial (no error, not fully checked), " if self.partial else ""
        text = (f"{self.documents} document(s): {self.valid} valid, {partial}{self.invalid} invalid, "
                f"{self.unreadable} unreadable")
        if self.errors_by_rule:
            text += "; errors by rule: " + ", ".join(f"{rule} ×{count}" for rule, count in self.top_rules())
        if self.elapsed_s is not None:
            text += f" ({self.elapsed_s:.2f} s)"
        return text

    def to_dict(self) -> dict:
        return {"documents": self.documents, "valid": self.valid, "partial": self.partial,
                "invalid": self.invalid,
                "unreadable": self.unreadable, "errors_by_rule": dict(self.errors_by_rule.most_common()),
                "exit_code": self.exit_code,
                "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3)}
