"""The client's command line against the running mock: send, find, retrieve, td02/td03."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from segur.fixtures.documents import build_cr_img_n1, read_ids
from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client.cli import client_app


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    running_dmp = pytest.importorskip("segur.mocks.dmp.testing").running_dmp
    world = load_world()
    pki_dir = tmp_path_factory.mktemp("pki")
    pki = TestPki.load_or_create(pki_dir)
    with running_dmp(tmp_path_factory.mktemp("data"), world=world, pki=pki, validator_pack=False) as dmp:
        yield world, pki_dir, dmp


def test_send_find_and_retrieve_from_the_command_line(setup, tmp_path):
    world, pki_dir, dmp = setup
    doctor = next(p for p in world.professionals if p.organisation == "750803447")
    patient = world.patient_by_key("pat-0005")
    document = build_cr_img_n1(patient, doctor, world.organisation_of(doctor))
    path = tmp_path / "cr.xml"
    path.write_bytes(document)
    common = ["--url", dmp.url, "--pki", str(pki_dir), "--rpps", doctor.rpps]
    runner = CliRunner()

    sent = runner.invoke(client_app, ["send", str(path), *common])
    assert sent.exit_code == 0, sent.output
    assert "status: Success" in sent.output

    runner.invoke(client_app, ["td03", patient.ins, "--oid", patient.oid, *common])
    found = runner.invoke(client_app, ["find", patient.ins, "--oid", patient.oid, "--json", *common])
    assert found.exit_code == 0, found.output
    rows = json.loads(found.output)
    assert read_ids(document).id in [r["uniqueId"] for r in rows]

    out = tmp_path / "back.xml"
    got = runner.invoke(client_app, ["retrieve", read_ids(document).id, "--ins", patient.ins,
                                      "--oid", patient.oid, "--out", str(out), *common])
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == document


def test_a_refused_send_exits_1_and_prints_the_errors(setup, tmp_path):
    world, pki_dir, dmp = setup
    doctor = next(p for p in world.professionals if p.organisation == "750803447")
    opposed = world.patient_by_key("pat-0008")
    path = tmp_path / "cr.xml"
    path.write_bytes(build_cr_img_n1(opposed, doctor, world.organisation_of(doctor)))
    result = CliRunner().invoke(client_app, ["send", str(path), "--url", dmp.url, "--pki", str(pki_dir)])
    assert result.exit_code == 1
    assert "status: Failure" in result.output and "XDS" in result.output


def test_an_unknown_professional_is_a_usage_error(setup, tmp_path):
    world, pki_dir, dmp = setup
    result = CliRunner().invoke(client_app, ["td02", "279035121518989", "--url", dmp.url,
                                             "--pki", str(pki_dir), "--rpps", "00000000000"])
    assert result.exit_code == 2 and "no professional" in result.output


def test_each_registry_error_printed_says_whether_it_is_a_warning_or_an_error(capsys):
    """An accepted document with a warning must not read like a refusal ("status: Success" then an error
    code)."""
    from types import SimpleNamespace

    from segur.mocks.dmp.client.cli import _print_result
    from segur.mocks.dmp.client.wire import RegistryErrorItem

    severity = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:"
    errors = [RegistryErrorItem("XDSRepositoryError", "[SEGUR-BODY-004] not PDF/A", severity + "Warning"),
              RegistryErrorItem("XDSRegistryError", "[VIHF-013] bad INS", severity + "Error")]
    result = SimpleNamespace(fault=None, status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success",
                             errors=errors)
    _print_result(result)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["status: Success", "  warning XDSRepositoryError: [SEGUR-BODY-004] not PDF/A",
                     "  error XDSRegistryError: [VIHF-013] bad INS"]
