"""The project's REM catalogue against the ANS working data, and `segur rem coverage` / `show`."""

from __future__ import annotations

import csv
import importlib

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.scenarios.checks import CHECKS
from segur.scenarios.rem import (
    COULOIR_NAMES,
    DATA,
    SCOPES,
    approved_in_map,
    coverage,
)
from segur.scenarios.suites import SUITES


def test_catalogue_rows_are_well_formed(catalogue):
    keys = [(r.couloir, r.id) for r in catalogue]
    assert len(keys) == len(set(keys))
    for row in catalogue:
        assert row.couloir in COULOIR_NAMES and row.scope in SCOPES and row.summary
        if row.scope == "out-of-scope":
            assert len(row.reason) > 15, row.id


def test_every_catalogue_id_exists_for_its_couloir_with_the_same_status_and_domain(catalogue, shared_rem):
    for row in catalogue:
        matches = [s for s in shared_rem if s["id"] == row.id and s["couloir"] == COULOIR_NAMES[row.couloir]]
        assert matches, f"{row.couloir} {row.id} is not in the REM data"
        statuses = {s["status"] for s in matches}
        assert row.status in statuses, (row.id, row.status, statuses)
        assert row.domain in {s["domain"] for s in matches}, row.id


@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_every_approved_requirement_of_the_six_domains_is_in_the_catalogue(catalogue, shared_rem, couloir):
    listed = {r.id for r in catalogue if r.couloir == couloir}
    wanted = approved_in_map(shared_rem, couloir)
    assert wanted - listed == set()


def test_summaries_are_the_projects_own_words(catalogue, shared_rem):
    texts = {s["id"]: (s["text"] + " " + s["title"]).lower() for s in shared_rem}
    for row in catalogue:
        assert row.summary.lower().rstrip(".") not in texts.get(row.id, ""), row.id


def _suite_tests(module_name: str) -> dict[str, tuple[list[str], str | None]]:
    """test name → (REM ids of its `rem` markers, the check it runs), from the suite module as pytest sees
    it."""
    module = importlib.import_module(f"segur.scenarios.{module_name}")
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("test_") and callable(obj):
            ids = [i for mark in getattr(obj, "pytestmark", []) if mark.name == "rem" for i in mark.args]
            found[name] = (ids, getattr(obj, "check_id", None))
    return found


@pytest.mark.parametrize("couloir, suite", [("RIS", "test_ris_proof"), ("BIO", "test_bio_proof")])
def test_each_suite_has_one_test_per_check_marked_with_its_rem_ids(catalogue, couloir, suite):
    tests = _suite_tests(suite)
    checks = {check_id: ids for ids, check_id in tests.values()}
    assert len(checks) == len(tests) and set(checks) == set(SUITES[couloir])
    known = {r.id for r in catalogue if r.couloir in (couloir, "SOCLE")}
    for check_id, ids in checks.items():
        assert ids == CHECKS[check_id].rem[couloir], check_id
        assert set(ids) <= known, set(ids) - known
    # every couloir names a check's test alike (JUnit, allure history and -k stay stable across couloirs)
    assert {name: check_id for name, (_, check_id) in tests.items()} == {
        CHECKS[check_id].test: check_id for check_id in SUITES[couloir]}


@pytest.mark.parametrize("couloir", ["RIS", "BIO"])
def test_coverage_is_complete_and_exits_zero(couloir):
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", couloir])
    assert result.exit_code == 0, result.output
    assert "neither: 0" in result.output
    found = coverage(couloir)
    assert found.covered and found.out_of_scope and not found.neither
    assert "RIS.DMP/va1.13" in found.covered if couloir == "RIS" else "MSS/CONF.23" in found.covered


def _rows() -> list[dict]:
    with open(DATA, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_coverage_exits_one_when_a_requirement_is_neither_covered_nor_out_of_scope(tmp_path):
    rows = _rows()
    for row in rows:
        if row["couloir"] == "RIS" and row["id"] == "MSS/CONF.17":
            row["scope"], row["reason"] = "tests", ""
    broken = tmp_path / "catalogue.csv"
    with open(broken, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", "RIS", "--catalogue", str(broken)])
    assert result.exit_code == 1
    assert "NEITHER       MSS/CONF.17" in result.output


def test_an_out_of_scope_entry_without_a_reason_is_not_out_of_scope(tmp_path):
    rows = _rows()
    for row in rows:
        if row["couloir"] == "BIO" and row["id"] == "MSS/CONF.17":
            row["reason"] = ""
    broken = tmp_path / "catalogue.csv"
    with open(broken, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert coverage("BIO", broken).neither == ["MSS/CONF.17"]


def test_coverage_as_json_and_rem_show():
    result = CliRunner().invoke(app, ["rem", "coverage", "-c", "RIS", "--json"])
    assert result.exit_code == 0 and '"neither": []' in result.output
    shown = CliRunner().invoke(app, ["rem", "show", "RIS.DMP/va1.13"])
    assert shown.exit_code == 0
    assert "proved by check dmp-accepted" in shown.output
    missing = CliRunner().invoke(app, ["rem", "show", "NOPE/1"])
    assert missing.exit_code == 2


def test_rem_show_lists_the_proving_checks_under_each_couloirs_row():
    """INS/va1.34 is picked by the RIS, BIO and LGC REMs: each row names the checks of its couloir."""
    shown = CliRunner().invoke(app, ["rem", "show", "INS/va1.34"]).output
    blocks = {block.split("]", 1)[0]: block for block in shown.split("INS/va1.34  [")[1:]}
    assert set(blocks) == {"RIS", "BIO", "LGC"}
    assert "proved by check insi-vitale-search (RIS)" in blocks["RIS"] and "(BIO)" not in blocks["RIS"]
    assert "proved by check insi-vitale-search (BIO)" in blocks["BIO"] and "(RIS)" not in blocks["BIO"]
    assert "proved by check insi-vitale-search (LGC)" in blocks["LGC"] and "(RIS)" not in blocks["LGC"]
    only_ris = CliRunner().invoke(app, ["rem", "show", "INS/va1.34", "-c", "RIS"]).output
    assert "[BIO]" not in only_ris and "(RIS)" in only_ris and "BIO" not in only_ris


@pytest.mark.parametrize("couloir, wanted", [("RIS", {"PSC.01", "PSC.02", "PSC.08", "PSC.10"}),
                                             ("DPI", {"PSC.01", "PSC.02", "PSC.08"}),
                                             ("PFI", {"PSC.01", "PSC.02"})])
def test_the_psc_domain_is_the_maps_sixth_and_each_of_its_requirements_is_covered_or_out_of_scope(
        shared_rem, couloir, wanted):
    assert {i for i in approved_in_map(shared_rem, couloir) if i.startswith("PSC.")} == wanted
    found = coverage(couloir)
    assert {i for i in found.requirements if i.startswith("PSC.")} == wanted
    assert "PSC.01" in found.covered and "PSC.02" in found.out_of_scope
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", couloir])
    assert "APPROVED requirements (INS, DMP, MSSANTE, ANNUAIRE, CDA, PSC)" in result.output
