"""docs/proof.md's table of checks says what the code says: one row per check of the registry, with its
test's name, its REM ids per couloir and the seeded defects it is meant to catch."""

from __future__ import annotations

from pathlib import Path

from segur.scenarios.checks import CHECKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "proof.md"


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`") and cells[0].strip("`") in CHECKS:
            rows[cells[0].strip("`")] = cells
    return rows


def test_the_checks_table_lists_every_check_with_its_test_rem_ids_and_defects():
    rows = _rows()
    assert list(rows) == list(CHECKS)
    for check_id, check in CHECKS.items():
        _, test, _reads, ris, bio, _fails, defects = rows[check_id]
        assert test == f"`{check.test}`", check_id
        assert ris == ", ".join(check.rem["RIS"]), check_id
        assert bio == ", ".join(check.rem["BIO"]), check_id
        main = defects.split("(")[0]
        assert all(f"`{d}`" in main for d in check.defects), (check_id, defects)
        if not check.defects:
            assert main.strip() == "none", (check_id, defects)
