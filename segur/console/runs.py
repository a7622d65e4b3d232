"""The evidence packs `segur proof` wrote (`--out`, default `evidence/`; `segur demo` writes one folder per
run under it), listed newest first with their verdict as the pack states it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from segur.scenarios.evidence_pack import load_evidence, verdict_label


@dataclass(frozen=True)
class Run:
    path: str  # relative to the evidence folder, "" for the folder itself
    verdict: str
    couloir: str
    sut: str
    written: float
    problem: str = ""

    @property
    def written_at(self) -> str:
        return datetime.fromtimestamp(self.written, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def evidence_runs(folder: Path) -> list[Run]:
    """Every pack (a folder with index.html) in `folder` and its subfolders, one level deep."""
    if not folder.is_dir():
        return []
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]
    runs = [_run(folder, pack) for pack in candidates if (pack / "index.html").is_file()]
    return sorted(runs, key=lambda run: run.written, reverse=True)


def _run(folder: Path, pack: Path) -> Run:
    relative = "" if pack == folder else pack.name
    written = (pack / "index.html").stat().st_mtime
    try:
        evidence = load_evidence(pack)
        meta = evidence.get("meta") or {}
        couloir, sut = str(meta.get("couloir") or ""), str(meta.get("sut") or "")
        return Run(relative, verdict_label(evidence), couloir, sut, written)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Run(relative, "unknown", "", "", written, f"evidence.json not readable: {exc}")
