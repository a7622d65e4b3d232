"""The Validate page's work: a pasted or uploaded CDA, or each CDA of an IHE_XDM.ZIP, through the validator
(`segur.validators.api.validate`, the same findings as `segur validate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from segur.console.catalogue import explain_all
from segur.console.documents import SourceLine, Unavailable, is_zip, source_lines, xdm_documents
from segur.console.rules import EMPTY_UPLOAD, UNREADABLE_XDM
from segur.validators.api import validate


@dataclass
class Result:
    """One document's validation as the page shows it; `refused`: the upload itself could not be read."""

    name: str
    verdict: str
    findings: list[dict]
    layers: list[dict] = field(default_factory=list)
    lines: list[SourceLine] = field(default_factory=list)
    refused: bool = False


def validate_upload(data: bytes, name: str, pack=None) -> list[Result]:
    if not data.strip():
        return [_refused(name, EMPTY_UPLOAD.finding())]
    if is_zip(data):
        try:
            documents = xdm_documents(data)
        except Unavailable as exc:
            return [_refused(name, UNREADABLE_XDM.finding(reason=str(exc)))]
        return [_validated(f"{name}: {member}", content, pack) for member, content in documents]
    return [_validated(name, data, pack)]


def _validated(name: str, content: bytes, pack) -> Result:
    report = validate(content, pack=pack, name=name)
    findings = explain_all(report.findings)
    return Result(name, report.verdict, findings, [layer.to_dict() for layer in report.layers],
                  source_lines(content, findings))


def _refused(name: str, finding) -> Result:
    return Result(name, "REFUSED", explain_all([finding]), refused=True)
