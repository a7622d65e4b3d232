"""Mutation testing of the proof (docs/mutants.md): the catalogue, the operators, the verdicts, and a fixed
sample of mutants run against one shared stack — each one the current proof must fail.

The whole catalogue is `segur proof-mutants` (benchmarks/proof_mutants.py); the sample below holds only
mutants the proof kills today. When a hole listed in docs/mutants.md is closed, add its mutant here.
"""

from __future__ import annotations

import csv
from email.message import EmailMessage
from pathlib import Path

import pytest
from lxml import etree

from segur.kernel.ins import nir_key
from segur.scenarios.mutants import operators as op
from segur.scenarios.mutants.catalogue import MUTANTS, Mutant
from segur.scenarios.mutants.report import kill_rate, render, summary
from segur.scenarios.mutants.run import (
    ERROR,
    KILLED,
    NOT_APPLIED,
    SURVIVED,
    MutantResult,
    MutationBench,
    MutationRun,
    _Tally,
    make_mutator,
    wire_module,
)

ROOT = Path(__file__).resolve().parents[2]
HL7 = {"h": "urn:hl7-org:v3"}
#: one killed mutant per wire point and kind of field; every one must fail the current proof
SAMPLE = ("cda.ins.other-nir", "cda.patient.sex.dmp", "cda.version.stays-1", "cda.pdf.not-pdf",
          "xds.patient-id.other", "xds.hash", "mss.x-mss-ins.n", "mss.subject.prefix", "xdm.patient-id.other",
          "recipient.other-professional", "insi.traits.other-patient",
          # identity holes closed in round 2: traits vs INSi per channel, sourcePatientId/Info, the To: header
          "cda.patient.given-all.mss", "xds.source-patient-id.other", "xdm.source-patient-info.sex",
          "mss.to.other")
#: a harmless mutant the proof must pass
HARMLESS_SAMPLE = "insi.traits.birth-place-dropped"


class FakeTask:
    def __init__(self, task_id: str):
        self.id = task_id


@pytest.fixture(scope="module")
def others(world):
    return op.Others(world, frozenset())


@pytest.fixture(scope="module")
def report_cda(world):
    from segur.fixtures.documents import build_cr_img_n1

    patient = next(p for p in world.patients if p.has_dmp and not p.is_nia and not p.known_defects)
    professional = world.professionals[0]
    return patient, build_cr_img_n1(patient, professional, world.organisation_of(professional))


def _context(others, task_id="dmp-01", **more) -> dict:
    return {"task": FakeTask(task_id), "others": others, **more}


def _ins_of(document: bytes) -> str:
    return etree.fromstring(document).xpath("h:recordTarget/h:patientRole/h:id/@extension", namespaces=HL7)[0]


# --- the seam ----------------------------------------------------------------------------------------------
def test_without_a_mutator_the_wire_tap_returns_what_the_ris_built():
    wire = wire_module()
    assert wire.MUTATOR is None
    value = object()
    assert wire.tap("cda", value, task=None) is value


# --- the catalogue -----------------------------------------------------------------------------------------
def test_a_mutant_declares_the_requirements_it_breaks_or_why_it_is_harmless():
    with pytest.raises(ValueError, match="either the requirements"):
        Mutant("x", "f", "cda", "nothing", lambda v, c: v)
    with pytest.raises(ValueError, match="either the requirements"):
        Mutant("x", "f", "cda", "both", lambda v, c: v, ("DOC/va1.02",), harmless="because")


def test_every_requirement_a_mutant_names_is_in_the_rem_catalogue():
    with (ROOT / "scenarios" / "data" / "requirements.csv").open(encoding="utf-8") as handle:
        known = {row["id"] for row in csv.DictReader(handle)}
    named = {rem for mutant in MUTANTS.values() for rem in mutant.requirements}
    assert named <= known, named - known


def test_the_catalogue_mutates_every_wire_point_and_every_area_the_brief_names():
    points = {"cda", "xds", "mime", "recipient", "envelope", "insi-request"}
    assert {m.point for m in MUTANTS.values()} == points
    prefixes = {m.id.split(".")[0] for m in MUTANTS.values()}
    assert prefixes >= {"cda", "xds", "xdm", "mss", "recipient", "envelope", "insi"}
    assert len(MUTANTS) >= 100
    assert sum(m.identity for m in MUTANTS.values()) >= 30


# --- the operators -----------------------------------------------------------------------------------------
def test_another_nir_keeps_a_key_that_checks_so_only_the_world_can_tell():
    ins = "279035121518989"
    other = op.other_digit_ins(ins)
    assert other != ins and other[:9] == ins[:9] and nir_key(other[:13]) == other[13:]


def test_the_ins_mutant_changes_the_cda_patient_ins_and_nothing_else(report_cda, others):
    patient, document = report_cda
    mutated = MUTANTS["cda.ins.other-nir"].apply(document, _context(others))
    assert _ins_of(mutated) != patient.ins
    before = etree.tostring(etree.fromstring(document), method="c14n")
    after = etree.tostring(etree.fromstring(mutated), method="c14n")
    assert before.replace(patient.ins.encode(), _ins_of(mutated).encode()) == after


def test_an_operator_that_finds_no_field_changes_nothing(report_cda, others):
    _, document = report_cda
    assert op.cda_drop("h:noSuchElement")(document, _context(others)) is None
    message = EmailMessage()
    message["Subject"] = "XDM/1.0/DDM+x"
    assert op.header("X-MSS-INS", "N")(message, _context(others)) is None


def test_a_header_mutant_replaces_or_removes_the_header(others):
    message = EmailMessage()
    message["X-MSS-INS"] = "O"
    assert op.header("X-MSS-INS", "N")(message, _context(others))["X-MSS-INS"] == "N"
    assert "X-MSS-INS" not in op.header("X-MSS-INS", None)(message, _context(others))


# --- the mutator and the verdicts --------------------------------------------------------------------------
def _mutant(apply, *, point="cda", scope=()) -> Mutant:
    return Mutant("t", "f", point, "test", apply, ("DOC/va1.02",), scope=scope)


def test_the_mutator_acts_only_at_its_point_and_on_the_tasks_of_its_scope(others):
    tally = _Tally()
    mutate = make_mutator(_mutant(lambda v, c: v + "!", scope=("replace",)), others, tally)
    assert mutate("mime", "x", {"task": FakeTask("replace-01")}) == "x"
    assert mutate("cda", "x", {"task": FakeTask("dmp-01")}) == "x"
    assert mutate("cda", "x", {"task": FakeTask("replace-01")}) == "x!"
    assert tally.applied == 1


def test_a_field_never_found_leaves_the_mutant_not_applied(others):
    tally = _Tally()
    mutate = make_mutator(_mutant(lambda v, c: None), others, tally)
    assert mutate("cda", "x", {"task": FakeTask("dmp-01")}) == "x"
    assert tally.applied == 0 and not tally.errors


def test_an_operator_that_raises_is_an_error_and_the_ris_sends_the_original(others):
    def broken(value, context):
        raise KeyError("bug")

    tally = _Tally()
    assert make_mutator(_mutant(broken), others, tally)("cda", "x", {"task": FakeTask("dmp-01")}) == "x"
    assert tally.errors == ["KeyError: 'bug'"]


def _results() -> list[MutantResult]:
    governed = Mutant("g", "CDA recordTarget INS", "cda", "g", lambda v, c: v, ("DOC/va1.02",), identity=True)
    hole = Mutant("h", "XDS title", "xds", "h", lambda v, c: v, ("RIS.DMP/va1.10",))
    harmless = Mutant("ok", "CDA title", "cda", "ok", lambda v, c: v, harmless="free text")
    alarm = Mutant("alarm", "CDA title", "cda", "alarm", lambda v, c: v, harmless="free text")
    absent = Mutant("absent", "XDS serviceStopTime", "xds", "absent", lambda v, c: v, ("RIS.DMP/va1.10",))
    broken = Mutant("broken", "XDS hash", "xds", "broken", lambda v, c: v, ("RIS.DMP/va1.10",))
    return [MutantResult(governed, KILLED, {"ins-in-cda": "fail"}, 3), MutantResult(hole, SURVIVED, {}, 3),
            MutantResult(harmless, SURVIVED, {}, 3), MutantResult(alarm, KILLED, {"dmp-accepted": "fail"}, 3),
            MutantResult(absent, NOT_APPLIED), MutantResult(broken, ERROR, errors=["KeyError: 'x'"])]


def test_the_kill_rate_counts_applied_mutants_a_requirement_governs():
    assert kill_rate(_results()) == (1, 2)
    facts = summary(MutationRun(_results(), "RIS", "small", None, 10.0, 1.0, 1.0))
    assert (facts["identity_killed"], facts["identity_total"]) == (1, 1)
    assert (facts["false_alarms"], facts["not_applied"], facts["errors"]) == (1, 1, 1)


def test_the_report_counts_the_checks_of_the_registry_not_a_copy():
    from segur.scenarios.checks import CHECKS

    text = render(MutationRun(_results(), "RIS", "small", None, 10.0, 1.0, 1.0))
    assert f"the proof's {len(CHECKS)} checks recomputed" in text


def test_the_report_lists_every_survivor_and_every_false_alarm():
    text = render(MutationRun(_results(), "RIS", "small", None, 10.0, 1.0, 1.0))
    survivors = text.split("## Survivors")[1].split("## By field")[0]
    assert "`h`" in survivors and "`g`" not in survivors and "`ok`" not in survivors
    assert "**FAILS (false alarm)**: dmp-accepted" in text
    assert "| kill rate, overall | 1/2 (50 %) |" in text
    assert "| XDS title | 1 | 1 | 0 | 1 | 0/1 (0 %) |" in text


# --- the sample, against the real proof ------------------------------------------------------------------
@pytest.fixture(scope="module")
def bench():
    # the core plan: every wire point of the sample is sent there, in a quarter of the full small plan's time
    with MutationBench("RIS", "small", capabilities=()) as running:
        running.baseline()
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("mutant_id", SAMPLE)
def test_the_proof_kills_the_mutant(bench, mutant_id):
    result = bench.run(MUTANTS[mutant_id])
    assert result.status == KILLED, (result.status, result.errors)
    assert result.failing


@pytest.mark.slow
def test_the_proof_passes_a_harmless_mutant(bench):
    result = bench.run(MUTANTS[HARMLESS_SAMPLE])
    assert result.applied and result.status == SURVIVED, (result.status, result.failing)


def test_an_unknown_mutant_id_is_a_usage_error():
    from typer.testing import CliRunner

    from segur.cli import app

    result = CliRunner().invoke(app, ["proof-mutants", "--only", "cda.no-such-mutant", "--no-write"])
    assert result.exit_code == 2
    assert "unknown mutant(s): cda.no-such-mutant" in result.output


def test_the_report_was_regenerated_after_the_catalogue_changed():
    """docs/mutants.md is written by `segur proof-mutants`: every mutant of the catalogue has its row."""
    text = (ROOT / "docs" / "mutants.md").read_text(encoding="utf-8")
    every = text.split("## Every mutant")[1]
    missing = [m for m in MUTANTS if f"| `{m}` |" not in every]
    assert not missing, f"run segur proof-mutants to rewrite docs/mutants.md; missing: {missing}"
