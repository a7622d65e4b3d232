"""The project's REM catalogue and the requirement coverage map.

`scenarios/data/requirements.csv` is the project's own list of the REM requirements it knows, one row per
(couloir, id): domain, status as in the ANS working data, a one-line summary in the project's words, and
either `tests` (the scenario suites prove it: a test carries the id in its `rem` marker) or `out-of-scope`
with the reason. A test checks it against `../shared/rem/requirements.csv` (ids exist for the couloir,
statuses agree, every APPROVED requirement of the six domains is listed).

`coverage(couloir)` answers, for the couloir's APPROVED requirements on INS, DMP, MSSanté, annuaire, CDA
and Pro Santé Connect (PSC): which tests cover each (read from the `rem` markers by collecting the couloir's
suites in-process), which are declared out of scope, and which are neither — the kind `segur rem coverage`
fails on. A requirement
covered only by the checks of an optional (PEUT) requirement a product claims (`capabilities/claims.py`) is
covered, with the note that a check proves it when the product claims it (`Coverage.optional`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest

from segur.scenarios.capabilities.claims import CHECKS as OPTIONAL_CHECKS
from segur.scenarios.capabilities.claims import COVERAGE_NOTE
from segur.scenarios.markers import couloir_of, requirement_ids
from segur.scenarios.suites import SCENARIOS_DIR, suite_paths, suite_plugins

DATA = Path(__file__).resolve().parent / "data" / "requirements.csv"
COULOIR_NAMES = {"RIS": "radiologie_RIS", "BIO": "biologie", "LGC": "medecine_de_ville_LGC",
                 "DPI": "hopital_DPI", "PFI": "hopital_PFI", "SOCLE": "socle_commun",
                 # the identity referential has no REM project of its own: its RI.* ids are socle rows
                 "RI": "socle_commun"}
DOMAINS = ("INS", "DMP", "MSSANTE", "ANNUAIRE", "CDA", "PSC")
SCOPES = ("tests", "out-of-scope")
FIELDS = ("couloir", "id", "domain", "status", "summary", "scope", "reason")


@dataclass(frozen=True)
class Requirement:
    couloir: str
    id: str
    domain: str
    status: str
    summary: str
    scope: str
    reason: str = ""


def shared_rem_path() -> Path:
    """Where the ANS working data is (`SEGUR_REM`, else `../shared/rem/requirements.csv` of the checkout)."""
    override = os.environ.get("SEGUR_REM")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "rem" / "requirements.csv"


def read_catalogue(path: str | os.PathLike = DATA) -> list[Requirement]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(FIELDS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [Requirement(**{k: (row.get(k) or "").strip() for k in FIELDS}) for row in reader]


@lru_cache(maxsize=4)
def _cached(path: str) -> dict:
    return {(r.couloir, r.id): r for r in read_catalogue(path)}


def load_catalogue(path: str | os.PathLike = DATA) -> dict[tuple[str, str], Requirement]:
    return _cached(str(path))


def read_shared(path: str | os.PathLike | None = None) -> list[dict]:
    with open(path or shared_rem_path(), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- markers of the suites --------------------------------------------------------------------------------
class _MarkerCollector:
    def __init__(self):
        self.items: list[tuple[str, list[str], str | None]] = []

    def pytest_collection_modifyitems(self, items):
        for item in items:
            self.items.append((item.nodeid, requirement_ids(item), couloir_of(item)))


def collect_markers(paths: list[str]) -> list[tuple[str, list[str], str | None]]:
    """(test id, REM ids, couloir) of every test in `paths`, from pytest's own collection (nothing runs)."""
    collector = _MarkerCollector()
    scenarios = str(SCENARIOS_DIR)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        # the suites' own plugins only, and no unraisable-exception plugin (two full gc.collect() a session)
        quiet = ["-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception", *suite_plugins()]
        code = pytest.main([*paths, "--collect-only", *quiet, "--rootdir", scenarios, "-c", os.devnull],
                           plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        tail = output.getvalue()[-2000:]
        raise RuntimeError(f"collecting {paths} failed (pytest exit code {int(code)}):\n{tail}")
    return collector.items


@dataclass
class Coverage:
    couloir: str
    covered: dict[str, list[str]] = field(default_factory=dict)  # id → test ids
    out_of_scope: dict[str, str] = field(default_factory=dict)  # id → reason
    neither: list[str] = field(default_factory=list)
    requirements: dict[str, Requirement] = field(default_factory=dict)
    #: REM ids on tests that the catalogue lacks
    unknown_markers: dict[str, list[str]] = field(default_factory=dict)
    #: covered ids whose every test judges an optional requirement a product claims → the note saying so
    optional: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.neither

    def to_dict(self) -> dict:
        return {"couloir": self.couloir, "covered": self.covered, "out_of_scope": self.out_of_scope,
                "neither": self.neither, "unknown_markers": self.unknown_markers, "optional": self.optional,
                "counts": {"covered": len(self.covered), "out_of_scope": len(self.out_of_scope),
                           "neither": len(self.neither), "total": len(self.requirements)}}


def in_coverage_map(req: Requirement, couloir: str) -> bool:
    """An APPROVED requirement of the couloir on one of the six domains the coverage map covers."""
    return req.couloir == couloir and req.status == "APPROVED" and req.domain in DOMAINS


def approved_in_map(shared_rows: list[dict], couloir: str) -> set[str]:
    """The ids the ANS working data (`read_shared`) has APPROVED for the couloir in the map's six domains:
    those the catalogue must list."""
    name = COULOIR_NAMES[couloir]
    return {row["id"] for row in shared_rows
            if row["couloir"] == name and row["status"] == "APPROVED" and row["domain"] in DOMAINS}


def coverage(couloir: str, catalogue_path: str | os.PathLike = DATA,
             paths: list[str] | None = None) -> Coverage:
    couloir = couloir.upper()
    catalogue = read_catalogue(catalogue_path)
    scope = {r.id: r for r in catalogue if in_coverage_map(r, couloir)}
    known = {r.id for r in catalogue if r.couloir in (couloir, "SOCLE")}
    result = Coverage(couloir, requirements=dict(sorted(scope.items())))
    for nodeid, ids, test_couloir in collect_markers(paths or suite_paths(couloir)):
        if test_couloir not in (None, couloir):
            continue
        for rem_id in ids:
            if rem_id in scope:
                result.covered.setdefault(rem_id, []).append(nodeid)
            elif rem_id not in known:
                result.unknown_markers.setdefault(rem_id, []).append(nodeid)
    optional_tests = {check.test for check in OPTIONAL_CHECKS}
    for rem_id, req in result.requirements.items():
        if rem_id in result.covered:
            if all(nodeid.split("::")[-1] in optional_tests for nodeid in result.covered[rem_id]):
                result.optional[rem_id] = COVERAGE_NOTE
            continue
        if req.scope == "out-of-scope" and req.reason:
            result.out_of_scope[rem_id] = req.reason
        else:
            result.neither.append(rem_id)
    return result
