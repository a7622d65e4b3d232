"""The couloirs LGC, DPI and PFI: their REM rows against the ANS working data, their suites' markers, their
plans (the 10/10/1 with the couloir's document kinds) and their reference products' drivers."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.fixtures.world import load_world
from segur.scenarios.checks import CHECKS
from segur.scenarios.driver import make_driver
from segur.scenarios.plan import COULOIRS, build_plan
from segur.scenarios.rem import approved_in_map, coverage
from segur.scenarios.suites import MODULES, SUITES

NEW = ("LGC", "DPI", "PFI")
#: an id of the couloir's own REM each couloir's proof covers (not a socle id picked by every REM)
OWN = {"LGC": "LGC.DMP.02", "DPI": "DPI.DMP/va1.05", "PFI": "MSS/CONF.23"}


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.mark.parametrize("couloir", NEW)
def test_every_approved_requirement_of_the_six_domains_of_the_couloir_is_in_the_catalogue(
        catalogue, shared_rem, couloir):
    listed = {r.id for r in catalogue if r.couloir == couloir}
    wanted = approved_in_map(shared_rem, couloir)
    assert wanted and wanted - listed == set()


@pytest.mark.parametrize("couloir", NEW)
def test_the_couloirs_suite_has_one_test_per_check_marked_with_its_ids(catalogue, couloir):
    module = importlib.import_module(f"segur.scenarios.{MODULES[couloir][:-3]}")
    tests = {name: obj for name, obj in vars(module).items() if name.startswith("test_") and callable(obj)}
    assert [obj.check_id for obj in tests.values()] == list(SUITES[couloir])
    known = {r.id for r in catalogue if r.couloir in (couloir, "SOCLE")}
    for obj in tests.values():
        ids = [i for mark in obj.pytestmark if mark.name == "rem" for i in mark.args]
        assert ids == CHECKS[obj.check_id].rem[couloir]
        assert set(ids) <= known, set(ids) - known
    assert module.pytestmark.name == "couloir" and module.pytestmark.args == (couloir,)


@pytest.mark.parametrize("couloir", NEW)
def test_rem_coverage_of_the_couloir_has_nothing_neither_covered_nor_out_of_scope(couloir):
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", couloir])
    assert result.exit_code == 0, result.output
    assert "neither: 0" in result.output
    found = coverage(couloir)
    assert OWN[couloir] in found.covered and found.out_of_scope and not found.neither
    nodes = [node for covering in found.covered.values() for node in covering]
    assert nodes and all(f"test_{couloir.lower()}_proof.py::" in node for node in nodes)


def test_rem_show_names_the_checks_of_each_new_couloir():
    shown = CliRunner().invoke(app, ["rem", "show", "MSS/CONF.23"]).output
    assert "[LGC]" in shown and "[PFI]" in shown
    assert "proved by check mss-professionals-xdm (LGC)" in shown
    assert "proved by check mss-professionals-xdm (PFI)" in shown


def test_an_unknown_couloir_is_refused_by_rem_coverage():
    result = CliRunner().invoke(app, ["rem", "coverage", "--couloir", "LGO"])
    assert result.exit_code == 2 and "LGC" in result.output


@pytest.mark.parametrize("couloir", NEW)
def test_the_full_plan_is_the_10_10_1_of_the_couloirs_documents(world, couloir):
    plan = build_plan(world, couloir, "full")
    counts = plan.counts()
    assert (counts["dmp"], counts["mss"], counts["citizen"]) == (10, 10, 1)
    kinds = COULOIRS[couloir].get("kinds") or (COULOIRS[couloir]["kind"],)
    sends = plan.of("dmp", "mss", "citizen")
    assert {p.task.kind for p in sends} == set(kinds)
    # a replacement and a retry carry the kind of the report they replace or send again
    replaced = plan.by_id(plan.by_id("replace-01").task.extra["replaces_task"])
    assert plan.by_id("replace-01").task.kind == replaced.task.kind
    assert plan.by_id("retry-01").task.kind == plan.by_id("outage-01").task.kind


def test_the_hospital_plan_sends_each_document_type_to_each_channel(world):
    plan = build_plan(world, "DPI", "full")
    for scenario in ("dmp", "mss"):
        assert {p.task.kind for p in plan.of(scenario)} == {"LDL-SES", "CRO", "ORDONNANCE"}


def test_the_lgc_report_is_signed_by_a_general_practitioner(world):
    plan = build_plan(world, "LGC", "small")
    author = plan.tasks[0].task.author
    assert author["professional"]["specialty_code"] == "SM54"
    assert {p.task.kind for p in plan.tasks} == {"VSM"}


@pytest.mark.parametrize("couloir", ("RIS", "BIO"))
def test_the_ris_and_bio_plans_keep_one_kind(world, couloir):
    plan = build_plan(world, couloir, "full")
    assert {p.task.kind for p in plan.tasks} == {COULOIRS[couloir]["kind"]}


@pytest.mark.parametrize("spec, name", [("reference-lgc", "reference-lgc"),
                                        ("reference-dpi:ldl-wrong-class", "reference-dpi:ldl-wrong-class"),
                                        ("reference-pfi:no-insi-call", "reference-pfi:no-insi-call")])
def test_the_reference_products_are_drivers(spec, name):
    assert make_driver(spec).name == name


def test_a_reference_product_refuses_another_products_own_defect():
    with pytest.raises(ValueError, match="another reference product's"):
        make_driver("reference-lgc:relay-drops-ins")
    with pytest.raises(ValueError, match="unknown defect"):
        make_driver("reference-dpi:no-such-defect")
    with pytest.raises(ValueError, match="reference-lgc"):
        make_driver("reference-xyz")


def test_docs_proof_lists_each_checks_rem_ids_for_the_new_couloirs():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "proof.md").read_text(encoding="utf-8")
    section = doc[doc.index("| check | REM ids LGC | REM ids DPI | REM ids PFI |"):]
    rows = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    listed = [check_id for check_id in CHECKS if any(check_id in SUITES[c] for c in NEW)]
    assert list(rows) == listed  # registry order
    for check_id in listed:
        expected = [(", ".join(CHECKS[check_id].rem[c]) or "—") if check_id in SUITES[c] else "not run"
                    for c in NEW]
        assert rows[check_id] == expected, check_id
