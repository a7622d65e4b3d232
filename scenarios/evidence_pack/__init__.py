"""The evidence pack of a proof run: `evidence.json` (everything), `index.html` (for a reviewer).

`verdict.py` builds the evidence from what the check tests recorded and says the verdict, `html.py` renders
`index.html`, `documents.py` collects the documents whole, `cda_view.py` renders a CDA for a human reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from segur.scenarios.evidence_pack.html import render
from segur.scenarios.evidence_pack.verdict import (
    FORMAT,
    JUDGED,
    UNDER_REVIEW_NOTE,
    WITHOUT_PACK,
    annotate_junit,
    build_evidence,
    check_status,
    not_claimed_lines,
    official_checks_ran,
    problem_lines,
    recompute_verdict,
    requirement_counts,
    requirement_verdict,
    requirements_note,
    verdict_label,
    verdict_of,
)

__all__ = ["FORMAT", "JUDGED", "UNDER_REVIEW_NOTE", "WITHOUT_PACK", "annotate_junit", "build_evidence",
           "check_status", "load_evidence", "not_claimed_lines", "official_checks_ran", "problem_lines",
           "recompute_verdict", "requirement_counts", "requirement_verdict", "requirements_note",
           "verdict_label", "verdict_of", "write_pack"]


def write_pack(evidence: dict, out: str | os.PathLike) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence.json").write_text(json.dumps(evidence, indent=1, ensure_ascii=False, default=str),
                                       encoding="utf-8")
    (out / "index.html").write_text(render(evidence, pack_dir=out), encoding="utf-8")
    return out


def load_evidence(path: str | os.PathLike) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "evidence.json"
    return json.loads(path.read_text(encoding="utf-8"))
